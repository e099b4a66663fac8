//! Properties of `ClientConnection` over random response streams and random bytes (public API
//! only): chunking invariance, `Close` once and last, and the round trip through our
//! `ServerConnection`.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "helpers outside #[test] fail the property by panicking"
)]

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use sansnet_http1::{
    Action, ClientConfig, ClientConnection, ClientEvent, ClientRequest, RequestId, Response,
    ServerConfig, ServerConnection, ServerEvent,
};
use sansnet_testkit::splits;

// ---- generators -------------------------------------------------------------------------

/// Header names the generators leave to the framing and connection handling they choose.
const RESERVED: [&str; 9] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "expect",
    "upgrade",
    "trailer",
    "keep-alive",
    "te",
];

/// A chunk extension: name and optional value.
type Extension = (String, Option<String>);

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,11}"
}

fn header_name() -> impl Strategy<Value = String> {
    token().prop_filter("reserved", |name| {
        !RESERVED.iter().any(|r| name.eq_ignore_ascii_case(r))
    })
}

/// A field value without leading or trailing whitespace (receivers trim it).
fn header_value() -> impl Strategy<Value = String> {
    "[!-~]([ !-~]{0,14}[!-~])?"
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((header_name(), header_value()), 0..4)
}

fn extension() -> impl Strategy<Value = Extension> {
    (token(), prop::option::of(token()))
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=max)
}

/// How a generated response delimits its body.
#[derive(Debug, Clone)]
enum Body {
    Length(Vec<u8>),
    /// Non-empty chunks with extensions, and the trailers.
    Chunked {
        chunks: Vec<(Vec<u8>, Vec<Extension>)>,
        trailers: Vec<(String, String)>,
    },
    /// Read until close (only the last response).
    UntilClose(Vec<u8>),
    /// A 204 or 304 with a misleading `Content-Length`.
    Bodiless {
        status: u16,
        claimed: u16,
    },
}

#[derive(Debug, Clone)]
struct Resp {
    /// 1xx (not 100/101) sent before the final response.
    interim: Vec<u16>,
    status: u16,
    http10: bool,
    close: bool,
    headers: Vec<(String, String)>,
    body: Body,
}

impl Resp {
    fn body_bytes(&self) -> Vec<u8> {
        match &self.body {
            Body::Length(b) | Body::UntilClose(b) => b.clone(),
            Body::Chunked { chunks, .. } => chunks.iter().flat_map(|(d, _)| d.clone()).collect(),
            Body::Bodiless { .. } => Vec::new(),
        }
    }

    fn final_status(&self) -> u16 {
        match self.body {
            Body::Bodiless { status, .. } => status,
            _ => self.status,
        }
    }
}

fn body(last: bool) -> BoxedStrategy<Body> {
    let chunked = (
        prop::collection::vec(
            (
                prop::collection::vec(any::<u8>(), 1..40),
                prop::collection::vec(extension(), 0..2),
            ),
            0..4,
        ),
        headers(),
    )
        .prop_map(|(chunks, trailers)| Body::Chunked { chunks, trailers });
    let bodiless = (prop::sample::select(vec![204_u16, 304]), 0_u16..100)
        .prop_map(|(status, claimed)| Body::Bodiless { status, claimed });
    if last {
        prop_oneof![
            bytes(80).prop_map(Body::Length),
            chunked,
            bytes(80).prop_map(Body::UntilClose),
            bodiless,
        ]
        .boxed()
    } else {
        prop_oneof![bytes(80).prop_map(Body::Length), chunked, bodiless].boxed()
    }
}

fn resp(last: bool) -> impl Strategy<Value = Resp> {
    (
        prop::collection::vec(prop::sample::select(vec![102_u16, 103]), 0..3),
        prop::sample::select(vec![200_u16, 201, 299, 404, 500]),
        any::<bool>(),
        any::<bool>(),
        headers(),
        body(last),
    )
        .prop_map(
            move |(interim, status, http10, close, headers, body)| Resp {
                interim,
                status,
                // Only the last response may end the connection.
                http10: http10 && last,
                close: close && last,
                headers,
                body,
            },
        )
}

/// 1 to 4 responses; only the last may close or be close-delimited.
fn responses() -> impl Strategy<Value = Vec<Resp>> {
    (prop::collection::vec(resp(false), 0..3), resp(true)).prop_map(|(mut list, last)| {
        list.push(last);
        list
    })
}

fn encode(resp: &Resp, out: &mut Vec<u8>) {
    let version = if resp.http10 { "HTTP/1.0" } else { "HTTP/1.1" };
    for status in &resp.interim {
        out.extend_from_slice(
            format!("{version} {status} Info\r\nX-I: {status}\r\n\r\n").as_bytes(),
        );
    }
    out.extend_from_slice(format!("{version} {} Some Reason\r\n", resp.final_status()).as_bytes());
    for (name, value) in &resp.headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if resp.close {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if resp.http10 && !matches!(resp.body, Body::UntilClose(_)) {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    match &resp.body {
        Body::Length(data) => {
            out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", data.len()).as_bytes());
            out.extend_from_slice(data);
        }
        Body::UntilClose(data) => {
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(data);
        }
        Body::Bodiless { claimed, .. } => {
            out.extend_from_slice(format!("Content-Length: {claimed}\r\n\r\n").as_bytes());
        }
        Body::Chunked { chunks, trailers } => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for (data, extensions) in chunks {
                out.extend_from_slice(format!("{:x}", data.len()).as_bytes());
                for (name, value) in extensions {
                    out.extend_from_slice(format!(";{name}").as_bytes());
                    if let Some(value) = value {
                        out.extend_from_slice(format!("={value}").as_bytes());
                    }
                }
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n");
            for (name, value) in trailers {
                out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        }
    }
}

// ---- running ----------------------------------------------------------------------------

/// The requests a run sends before the response bytes arrive.
#[derive(Debug, Clone)]
struct Setup {
    methods: Vec<&'static str>,
    /// Requests offer `Connection: upgrade`.
    upgrade: bool,
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    events: Vec<ClientEvent>,
    actions: Vec<Action>,
    /// What the machine left in the read buffer, hand-over `head`s first.
    rest: Bytes,
}

/// Merges adjacent `Data` of one request (h11 `normalize_data_events`) and moves hand-over
/// `head`s out of their events.
fn normalize(events: Vec<ClientEvent>, heads: &mut Vec<u8>) -> Vec<ClientEvent> {
    let mut out: Vec<ClientEvent> = Vec::new();
    for event in events {
        match (out.last_mut(), event) {
            (Some(ClientEvent::Data { id: prev, data }), ClientEvent::Data { id, data: next })
                if *prev == id =>
            {
                let mut joined = BytesMut::from(&data[..]);
                joined.extend_from_slice(&next);
                *data = joined.freeze();
            }
            (_, ClientEvent::Upgrade { response, head }) => {
                heads.extend_from_slice(&head);
                out.push(ClientEvent::Upgrade {
                    response,
                    head: Bytes::new(),
                });
            }
            (_, ClientEvent::Connect { response, head }) => {
                heads.extend_from_slice(&head);
                out.push(ClientEvent::Connect {
                    response,
                    head: Bytes::new(),
                });
            }
            (_, event) => out.push(event),
        }
    }
    out
}

/// Sends the setup's requests (each ended at once), then feeds `pieces`, then FIN if `eof`.
fn run(setup: &Setup, config: &ClientConfig, pieces: &[&[u8]], eof: bool) -> Outcome {
    let now = Instant::now();
    let mut conn = ClientConnection::new(now, config.clone());
    let mut events = Vec::new();
    let mut actions = Vec::new();
    let mut drain = |conn: &mut ClientConnection| {
        while conn.pop_transmit(now).is_some() {}
        events.extend(std::iter::from_fn(|| conn.poll_event()));
        actions.extend(std::iter::from_fn(|| conn.poll_action()));
    };
    for method in &setup.methods {
        let target = if *method == "CONNECT" { "a:443" } else { "/" };
        let mut request = ClientRequest::new(*method, target).header("Host", "a");
        if setup.upgrade {
            request = request
                .header("Connection", "upgrade")
                .header("Upgrade", "x");
        }
        let id = conn.send_request(now, request).unwrap();
        conn.end(now, id, None).unwrap();
        drain(&mut conn);
    }
    let mut buf = BytesMut::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        conn.handle_input(now, &mut buf);
        drain(&mut conn);
    }
    if eof {
        conn.handle_eof(now);
        drain(&mut conn);
    }
    let mut rest = Vec::new();
    let events = normalize(events, &mut rest);
    rest.extend_from_slice(&buf);
    Outcome {
        events,
        actions,
        rest: Bytes::from(rest),
    }
}

/// `Close` at most once, and nothing after it.
fn check_close_last(events: &[ClientEvent]) -> Result<(), TestCaseError> {
    let closes = events.iter().filter(|e| **e == ClientEvent::Close).count();
    prop_assert!(closes <= 1, "Close {} times: {:?}", closes, events);
    if closes == 1 {
        prop_assert_eq!(
            events.last(),
            Some(&ClientEvent::Close),
            "events after Close"
        );
    }
    Ok(())
}

fn chunked_config() -> ClientConfig {
    ClientConfig {
        chunk_events: true,
        ..ClientConfig::default()
    }
}

// ---- (a) chunking invariance ------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// Contract ("events do not depend on how the bytes were chunked"): 1-4 pipelined
    /// responses with random framing, bodies, 1xx and trailers, fed whole, at every two-way
    /// split (short streams) or random cuts, and byte at a time, give the same events
    /// (adjacent `Data` merged); and the events say what the stream says
    /// (docs/node-semantics.md#http-body-length, #http-client-1xx).
    #[test]
    fn valid_responses_any_chunking_same_events(
        list in responses(),
        eof in any::<bool>(),
        cut_sets in prop::collection::vec(splits::cut_offsets(2048, 12), 4),
    ) {
        let mut stream = Vec::new();
        for r in &list {
            encode(r, &mut stream);
        }
        let setup = Setup { methods: vec!["GET"; list.len() + 1], upgrade: false };
        let config = chunked_config();
        let whole = run(&setup, &config, &[&stream], eof);

        // The events match the stream.
        prop_assert!(
            !whole.events.iter().any(|e| matches!(e, ClientEvent::Error { .. })) || eof,
            "error on a valid stream: {:?}", whole.events
        );
        let finals: Vec<(RequestId, u16)> = whole.events.iter().filter_map(|e| match e {
            ClientEvent::Response(h) => Some((h.id, h.status)),
            _ => None,
        }).collect();
        let want: Vec<(RequestId, u16)> = list
            .iter()
            .enumerate()
            .map(|(i, r)| (RequestId(i as u64), r.final_status()))
            .collect();
        prop_assert_eq!(&finals, &want);
        let informations = whole.events.iter()
            .filter(|e| matches!(e, ClientEvent::Information(_))).count();
        prop_assert_eq!(informations, list.iter().map(|r| r.interim.len()).sum::<usize>());
        for (i, r) in list.iter().enumerate() {
            let id = RequestId(i as u64);
            let data: Vec<u8> = whole.events.iter().filter_map(|e| match e {
                ClientEvent::Data { id: of, data } if *of == id => Some(data.to_vec()),
                _ => None,
            }).flatten().collect();
            prop_assert_eq!(&data, &r.body_bytes(), "body of response {}", i);
            let end = whole.events.iter().find_map(|e| match e {
                ClientEvent::End { id: of, trailers, .. } if *of == id => Some(trailers.clone()),
                _ => None,
            });
            let complete = !matches!(r.body, Body::UntilClose(_)) || eof;
            prop_assert_eq!(end.is_some(), complete, "End of response {}", i);
            if let (Some(trailers), Body::Chunked { trailers: sent, .. }) = (end, &r.body) {
                let got: Vec<(String, String)> = trailers
                    .iter()
                    .map(|(n, v)| {
                        (String::from_utf8_lossy(n).into_owned(), String::from_utf8_lossy(v).into_owned())
                    })
                    .collect();
                prop_assert_eq!(&got, sent);
            }
        }
        let last = list.last().unwrap();
        let closes = last.close || matches!(last.body, Body::UntilClose(_));
        if closes && (eof || !matches!(last.body, Body::UntilClose(_))) {
            prop_assert_eq!(whole.events.last(), Some(&ClientEvent::Close));
            prop_assert!(whole.actions.contains(&Action::Shutdown));
        }
        check_close_last(&whole.events)?;

        // Any chunking gives the same outcome.
        if stream.len() <= 400 {
            for pieces in splits::two_way(&stream) {
                prop_assert_eq!(&run(&setup, &config, &pieces, eof), &whole, "pieces {:?}", pieces);
            }
        }
        for cuts in &cut_sets {
            let pieces = splits::at_cuts(&stream, cuts);
            prop_assert_eq!(&run(&setup, &config, &pieces, eof), &whole, "cuts {:?}", cuts);
        }
        let bytes = splits::byte_at_a_time(&stream);
        prop_assert_eq!(&run(&setup, &config, &bytes, eof), &whole, "byte at a time");
    }
}

// ---- (b) random bytes -------------------------------------------------------------------

/// Byte soup from HTTP-ish fragments and random bytes.
fn soup() -> impl Strategy<Value = Vec<u8>> {
    let fragment = prop_oneof![
        prop::sample::select(vec![
            &b"HTTP/1.1 "[..],
            b"HTTP/1.0 ",
            b"HTTP/2 ",
            b"200 OK",
            b"100 Continue",
            b"101 Switching",
            b"103",
            b"204",
            b"304 ",
            b"999",
            b"\r\n",
            b"\r\n\r\n",
            b"\n",
            b"\r",
            b"Content-Length: ",
            b"Content-Length: 3\r\n",
            b"Transfer-Encoding: chunked\r\n",
            b"Transfer-Encoding: gzip\r\n",
            b"Connection: close\r\n",
            b"Connection: upgrade\r\nUpgrade: x\r\n",
            b"5\r\nhello\r\n",
            b"0\r\n\r\n",
            b"0;a=\"b\"\r\nT: v\r\n\r\n",
            b"ffffffffffffffffff\r\n",
            b": ",
            b"X-A: b\r\n",
            b"12",
        ])
        .prop_map(<[u8]>::to_vec),
        bytes(6),
    ];
    prop::collection::vec(fragment, 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 768, ..ProptestConfig::default() })]

    /// Panics section ("never, on any input"): random bytes after random requests never
    /// panic, `Close` comes at most once and last, nothing follows a hand-over, the body is
    /// never larger than the input, and random cuts give the same outcome.
    #[test]
    fn any_bytes_no_panic_close_last_and_chunking_invariant(
        input in prop_oneof![soup(), bytes(300)],
        methods in prop::collection::vec(
            prop::sample::select(vec!["GET", "HEAD", "POST", "CONNECT", "DELETE"]), 0..4),
        upgrade in any::<bool>(),
        eof in any::<bool>(),
        chunk_events in any::<bool>(),
        max_header_size in prop::sample::select(vec![64_usize, 16 * 1024]),
        cuts in splits::cut_offsets(400, 16),
    ) {
        let setup = Setup { methods, upgrade };
        let config = ClientConfig { chunk_events, max_header_size, ..ClientConfig::default() };
        let whole = run(&setup, &config, &[&input], eof);
        check_close_last(&whole.events)?;
        if let Some(at) = whole.events.iter().position(|e| {
            matches!(e, ClientEvent::Upgrade { .. } | ClientEvent::Connect { .. })
        }) {
            prop_assert_eq!(at, whole.events.len() - 1, "events after a hand-over");
            prop_assert_eq!(whole.actions.last(), Some(&Action::HandOver));
        }
        let data: usize = whole.events.iter().map(|e| match e {
            ClientEvent::Data { data, .. } => data.len(),
            _ => 0,
        }).sum();
        prop_assert!(data <= input.len());
        let errors = whole.events.iter().filter(|e| matches!(e, ClientEvent::Error { .. })).count();
        prop_assert!(errors <= 1);

        let pieces = splits::at_cuts(&input, &cuts);
        prop_assert_eq!(&run(&setup, &config, &pieces, eof), &whole, "cuts {:?}", cuts);
        let bytes = splits::byte_at_a_time(&input);
        prop_assert_eq!(&run(&setup, &config, &bytes, eof), &whole, "byte at a time");
    }
}

// ---- (c) round trip ---------------------------------------------------------------------

/// How a generated request sends its body.
#[derive(Debug, Clone)]
enum Send {
    /// `end(None)`.
    Empty,
    /// `end(Some(data))`: `Content-Length` set by the machine.
    EndData(Vec<u8>),
    /// `write` each piece, then `end(last)`: chunked.
    Chunked(Vec<Vec<u8>>, Option<Vec<u8>>),
    /// A user `Content-Length`, then `write` each piece and `end(None)`.
    UserLength(Vec<Vec<u8>>),
}

#[derive(Debug, Clone)]
struct Req {
    method: &'static str,
    target: String,
    headers: Vec<(String, String)>,
    send: Send,
}

impl Req {
    fn body(&self) -> Vec<u8> {
        match &self.send {
            Send::Empty => Vec::new(),
            Send::EndData(data) => data.clone(),
            Send::Chunked(pieces, last) => pieces.iter().chain(last).flatten().copied().collect(),
            Send::UserLength(pieces) => pieces.concat(),
        }
    }
}

fn pieces() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(bytes(40), 0..4)
}

fn req() -> impl Strategy<Value = Req> {
    let method = prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
    (
        method,
        "/[a-z0-9/?=&%._-]{0,20}",
        headers(),
        0..4_u8,
        bytes(60),
        pieces(),
        prop::option::of(bytes(20)),
    )
        .prop_map(|(method, target, headers, kind, data, pieces, last)| {
            let bodiless = matches!(method, "GET" | "DELETE" | "OPTIONS");
            let send = match kind {
                0 => Send::Empty,
                1 => Send::EndData(data),
                // A bodiless method has no body framing for `write`: give it a length.
                2 if !bodiless => Send::Chunked(pieces, last),
                _ => Send::UserLength(pieces),
            };
            Req {
                method,
                target,
                headers,
                send,
            }
        })
}

/// Sends `req` on `conn`.
fn send(conn: &mut ClientConnection, now: Instant, req: &Req) -> Result<RequestId, TestCaseError> {
    let mut request = ClientRequest::new(req.method, req.target.clone()).header("Host", "example");
    for (name, value) in &req.headers {
        request = request.header(name.clone(), value.clone());
    }
    if let Send::UserLength(pieces) = &req.send {
        request = request.header("Content-Length", pieces.concat().len().to_string());
    }
    let id = conn
        .send_request(now, request)
        .map_err(|e| TestCaseError::fail(format!("{e}")))?;
    let fail = |e: sansnet_http1::Error| TestCaseError::fail(format!("{e}"));
    match &req.send {
        Send::Empty => conn.end(now, id, None).map_err(fail)?,
        Send::EndData(data) => conn
            .end(now, id, Some(Bytes::from(data.clone())))
            .map_err(fail)?,
        Send::Chunked(pieces, last) => {
            for piece in pieces {
                conn.write(now, id, Bytes::from(piece.clone()))
                    .map_err(fail)?;
            }
            conn.end(now, id, last.clone().map(Bytes::from))
                .map_err(fail)?;
        }
        Send::UserLength(pieces) => {
            for piece in pieces {
                conn.write(now, id, Bytes::from(piece.clone()))
                    .map_err(fail)?;
            }
            conn.end(now, id, None).map_err(fail)?;
        }
    }
    Ok(id)
}

/// One request as the server saw it: method, target, headers, body.
type Seen = (Bytes, Bytes, Vec<(Bytes, Bytes)>, Vec<u8>);

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Round trip (h11 `ConnectionPair`), docs/node-semantics.md#http-client-default-chunked: what
    /// our client sends, our server parses back to the same method, target, headers (plus the
    /// framing header the client chose) and body; the server's echo comes back to the client as the
    /// same body, in order.
    #[test]
    fn client_requests_parse_back_on_the_server(
        reqs in prop::collection::vec(req(), 1..4),
        cuts in splits::cut_offsets(1024, 8),
    ) {
        let now = Instant::now();
        let mut client = ClientConnection::new(now, ClientConfig::default());
        let mut ids = Vec::new();
        let mut wire = Vec::new();
        for req in &reqs {
            ids.push(send(&mut client, now, req)?);
            while let Some(chunk) = client.pop_transmit(now) {
                wire.extend_from_slice(&chunk);
            }
        }

        // The server reads the requests, cut anywhere, and echoes each body.
        let mut server = ServerConnection::new(now, ServerConfig { send_date: false, ..ServerConfig::default() });
        let mut seen: Vec<Seen> = Vec::new();
        let mut reply = Vec::new();
        let mut buf = BytesMut::new();
        for piece in splits::at_cuts(&wire, &cuts).into_iter().chain(std::iter::once(&b""[..])) {
            buf.extend_from_slice(piece);
            // Answering may let the server read on: repeat until it stops making progress.
            loop {
                server.handle_input(now, &mut buf);
                let mut answered = false;
                while let Some(event) = server.poll_event() {
                    match event {
                        ServerEvent::Request(r) => seen.push((
                            r.method.clone(),
                            r.target.clone(),
                            r.headers.to_headers().iter().map(|(n, v)| (n.clone(), v.clone())).collect(),
                            Vec::new(),
                        )),
                        ServerEvent::Data { data, .. } => {
                            seen.last_mut().unwrap().3.extend_from_slice(&data);
                        }
                        ServerEvent::End { id, .. } => {
                            let body = Bytes::from(seen.last().unwrap().3.clone());
                            server.respond(now, id, Response::new(200), body).unwrap();
                            answered = true;
                        }
                        other => prop_assert!(false, "unexpected server event {:?}", other),
                    }
                }
                while let Some(chunk) = server.pop_transmit(now) {
                    reply.extend_from_slice(&chunk);
                }
                if !answered {
                    break;
                }
            }
        }
        prop_assert!(buf.is_empty(), "server left {:?}", buf);
        prop_assert_eq!(seen.len(), reqs.len());
        for (req, (method, target, headers, body)) in reqs.iter().zip(&seen) {
            prop_assert_eq!(&method[..], req.method.as_bytes());
            prop_assert_eq!(&target[..], req.target.as_bytes());
            let mut want: Vec<(Bytes, Bytes)> = vec![(Bytes::from("Host"), Bytes::from("example"))];
            want.extend(req.headers.iter().map(|(n, v)| (Bytes::from(n.clone()), Bytes::from(v.clone()))));
            if let Send::UserLength(pieces) = &req.send {
                want.push((Bytes::from("Content-Length"), Bytes::from(pieces.concat().len().to_string())));
            }
            prop_assert_eq!(&headers[..want.len()], &want[..]);
            for (name, _) in &headers[want.len()..] {
                prop_assert!(
                    name.eq_ignore_ascii_case(b"content-length")
                        || name.eq_ignore_ascii_case(b"transfer-encoding"),
                    "unexpected header {:?}", name
                );
            }
            prop_assert_eq!(body, &req.body());
        }

        // The echoes come back, in order.
        let mut buf = BytesMut::from(&reply[..]);
        client.handle_input(now, &mut buf);
        let mut bodies: Vec<(RequestId, Vec<u8>)> = Vec::new();
        while let Some(event) = client.poll_event() {
            match event {
                ClientEvent::Response(head) => {
                    prop_assert_eq!(head.status, 200);
                    bodies.push((head.id, Vec::new()));
                }
                ClientEvent::Data { id, data } => {
                    let last = bodies.last_mut().unwrap();
                    prop_assert_eq!(last.0, id);
                    last.1.extend_from_slice(&data);
                }
                ClientEvent::End { .. } => {}
                other => prop_assert!(false, "unexpected client event {:?}", other),
            }
        }
        let want: Vec<(RequestId, Vec<u8>)> = ids.iter().copied().zip(reqs.iter().map(Req::body)).collect();
        prop_assert_eq!(bodies, want);
        prop_assert!(client.is_reusable());
    }
}
