//! Properties of `ServerConnection` over random request streams, random bytes and random
//! response writes (public API only): chunking invariance, bounded buffers and output, and
//! the response framing round trip.
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
    Action, Headers, RequestId, Response, ServerConfig, ServerConnection, ServerEvent,
};
use sansnet_testkit::splits;

// ---- request streams --------------------------------------------------------------------

/// Header names the generator leaves to the framing it chooses.
const RESERVED: [&str; 7] = [
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "expect",
    "upgrade",
    "trailer",
];

/// A chunk extension: name and optional value (a token or a quoted-string).
type Extension = (String, Option<String>);

#[derive(Debug, Clone)]
enum Body {
    None,
    Length(Vec<u8>),
    /// Non-empty chunks with their extensions, how the size is spelled, and the trailers.
    Chunked {
        chunks: Vec<(Vec<u8>, Vec<Extension>, bool, usize)>,
        last_extensions: Vec<Extension>,
        trailers: Vec<(String, String)>,
    },
}

#[derive(Debug, Clone)]
struct Req {
    method: &'static str,
    target: String,
    http10: bool,
    connection: Option<&'static str>,
    expect_continue: bool,
    headers: Vec<(String, String)>,
    body: Body,
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,11}"
}

fn header_name() -> impl Strategy<Value = String> {
    token().prop_filter("reserved header", |n| {
        !RESERVED.contains(&n.to_ascii_lowercase().as_str())
    })
}

fn header_value() -> impl Strategy<Value = String> {
    "[!-~]([ -~]{0,16}[!-~])?|"
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((header_name(), header_value()), 0..4)
}

fn extension() -> impl Strategy<Value = Extension> {
    (
        token(),
        prop::option::of(prop_oneof![token(), "\"[a-z ]{0,6}\""]),
    )
}

fn body(http10: bool) -> BoxedStrategy<Body> {
    let length = prop::collection::vec(any::<u8>(), 0..64).prop_map(Body::Length);
    if http10 {
        return prop_oneof![Just(Body::None), length].boxed();
    }
    let chunk = (
        prop::collection::vec(any::<u8>(), 1..40),
        prop::collection::vec(extension(), 0..3),
        any::<bool>(),
        0..3usize,
    );
    let chunked = (
        prop::collection::vec(chunk, 0..5),
        prop::collection::vec(extension(), 0..2),
        headers(),
    )
        .prop_map(|(chunks, last_extensions, trailers)| Body::Chunked {
            chunks,
            last_extensions,
            trailers,
        });
    prop_oneof![Just(Body::None), length, chunked].boxed()
}

fn req() -> impl Strategy<Value = Req> {
    let method = prop::sample::select(vec![
        "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "M-SEARCH",
    ]);
    let target = "/[A-Za-z0-9/._~?=&%-]{0,24}";
    (
        method,
        target,
        any::<bool>(),
        0..3u8,
        any::<bool>(),
        headers(),
    )
        .prop_flat_map(
            |(method, target, http10, connection, expect_continue, headers)| {
                body(http10).prop_map(move |body| Req {
                    method,
                    target: target.clone(),
                    http10,
                    connection: match (connection, http10) {
                        (0, _) => None,
                        (1, _) | (2, true) => Some("keep-alive"),
                        _ => Some("close"),
                    },
                    expect_continue,
                    headers: headers.clone(),
                    body,
                })
            },
        )
}

fn put_extensions(out: &mut Vec<u8>, extensions: &[Extension]) {
    for (name, value) in extensions {
        out.push(b';');
        out.extend_from_slice(name.as_bytes());
        if let Some(value) = value {
            out.push(b'=');
            out.extend_from_slice(value.as_bytes());
        }
    }
}

fn encode(req: &Req, out: &mut Vec<u8>) {
    let version = if req.http10 { "HTTP/1.0" } else { "HTTP/1.1" };
    out.extend_from_slice(
        format!("{} {} {version}\r\nHost: h\r\n", req.method, req.target).as_bytes(),
    );
    for (name, value) in &req.headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if let Some(connection) = req.connection {
        out.extend_from_slice(format!("Connection: {connection}\r\n").as_bytes());
    }
    if req.expect_continue {
        out.extend_from_slice(b"Expect: 100-continue\r\n");
    }
    match &req.body {
        Body::None => out.extend_from_slice(b"\r\n"),
        Body::Length(data) => {
            out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", data.len()).as_bytes());
            out.extend_from_slice(data);
        }
        Body::Chunked {
            chunks,
            last_extensions,
            trailers,
        } => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            for (data, extensions, upper, zeros) in chunks {
                let size = if *upper {
                    format!("{}{:X}", "0".repeat(*zeros), data.len())
                } else {
                    format!("{}{:x}", "0".repeat(*zeros), data.len())
                };
                out.extend_from_slice(size.as_bytes());
                put_extensions(out, extensions);
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
            }
            out.push(b'0');
            put_extensions(out, last_extensions);
            out.extend_from_slice(b"\r\n");
            for (name, value) in trailers {
                out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
        }
    }
}

fn stream() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(req(), 1..=5).prop_map(|reqs| {
        let mut out = Vec::new();
        for req in &reqs {
            encode(req, &mut out);
        }
        Bytes::from(out)
    })
}

// ---- running a connection ---------------------------------------------------------------

/// Everything one run produced, normalized so that runs over different chunkings compare.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Outcome {
    /// Events with adjacent `Data` of one request merged, and the `head` of `Connect` and
    /// `Upgrade` emptied (it depends on the chunking; see `handed_over`).
    events: Vec<ServerEvent>,
    wire: Bytes,
    actions: Vec<Action>,
    /// Bytes the machine took from the buffer, not counting a hand-over `head`.
    consumed: usize,
    /// A hand-over `head` followed by what was left in the buffer; else what was left.
    rest: Bytes,
}

/// Merges adjacent `Data` of one request (h11 `normalize_data_events`) and moves each
/// hand-over `head` out of its event.
fn normalize(events: Vec<ServerEvent>, heads: &mut Vec<u8>) -> Vec<ServerEvent> {
    let mut out: Vec<ServerEvent> = Vec::new();
    for event in events {
        match (out.last_mut(), event) {
            (Some(ServerEvent::Data { id: prev, data }), ServerEvent::Data { id, data: next })
                if *prev == id =>
            {
                let mut joined = BytesMut::from(&data[..]);
                joined.extend_from_slice(&next);
                *data = joined.freeze();
            }
            (_, ServerEvent::Connect { request, head }) => {
                heads.extend_from_slice(&head);
                out.push(ServerEvent::Connect {
                    request,
                    head: Bytes::new(),
                });
            }
            (_, ServerEvent::Upgrade { request, head }) => {
                heads.extend_from_slice(&head);
                out.push(ServerEvent::Upgrade {
                    request,
                    head: Bytes::new(),
                });
            }
            (_, event) => out.push(event),
        }
    }
    out
}

/// Drains the machine: transmit first, then events, then actions.
fn drain(
    conn: &mut ServerConnection,
    now: Instant,
    events: &mut Vec<ServerEvent>,
    wire: &mut Vec<u8>,
    actions: &mut Vec<Action>,
) {
    while let Some(chunk) = conn.pop_transmit(now) {
        wire.extend_from_slice(&chunk);
    }
    events.extend(std::iter::from_fn(|| conn.poll_event()));
    actions.extend(std::iter::from_fn(|| conn.poll_action()));
}

/// Feeds `pieces` one read each, whatever `wants_read` says (the machine leaves what it does
/// not take in the buffer), then FIN if `eof`; the application never answers.
fn run(config: &ServerConfig, pieces: &[&[u8]], eof: bool) -> (Outcome, ServerConnection) {
    let now = Instant::now();
    let mut conn = ServerConnection::new(now, config.clone());
    let mut buf = BytesMut::new();
    let (mut events, mut wire, mut actions) = (Vec::new(), Vec::new(), Vec::new());
    let mut fed = 0;
    for piece in pieces {
        buf.extend_from_slice(piece);
        fed += piece.len();
        conn.handle_input(now, &mut buf);
        drain(&mut conn, now, &mut events, &mut wire, &mut actions);
    }
    if eof {
        conn.handle_eof(now);
        drain(&mut conn, now, &mut events, &mut wire, &mut actions);
    }
    let mut rest = Vec::new();
    let events = normalize(events, &mut rest);
    let consumed = fed - buf.len() - rest.len();
    rest.extend_from_slice(&buf);
    let outcome = Outcome {
        events,
        wire: Bytes::from(wire),
        actions,
        consumed,
        rest: Bytes::from(rest),
    };
    (outcome, conn)
}

/// `Close` at most once, and nothing after it.
fn check_close_last(events: &[ServerEvent]) -> Result<(), TestCaseError> {
    if let Some(first) = events.iter().position(|e| *e == ServerEvent::Close) {
        prop_assert_eq!(first, events.len() - 1, "events after Close: {:?}", events);
    }
    Ok(())
}

fn quiet() -> ServerConfig {
    ServerConfig {
        send_date: false,
        ..ServerConfig::default()
    }
}

// ---- (a) chunking invariance ------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Contract ("events do not depend on how the bytes were chunked"),
    /// docs/node-semantics.md#http-pipelining: a pipelined stream of valid requests fed whole, at
    /// every two-way split (short streams) or at random cuts, and byte at a time gives the same
    /// events (adjacent `Data` merged), the same bytes consumed and left, and the same response
    /// bytes (the 100s).
    #[test]
    fn valid_stream_any_chunking_same_events(
        stream in stream(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        eof in any::<bool>(),
    ) {
        let config = quiet();
        let (whole, _) = run(&config, &[&stream], eof);
        prop_assert!(
            whole.events.iter().all(|e| !matches!(e, ServerEvent::ClientError(_))),
            "a valid stream was rejected: {:?}\n{}", whole.events, String::from_utf8_lossy(&stream)
        );
        let offsets: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        let (cut, _) = run(&config, &splits::at_cuts(&stream, &offsets), eof);
        prop_assert_eq!(&cut, &whole, "cuts {:?}", offsets);
        let (bytes, _) = run(&config, &splits::byte_at_a_time(&stream), eof);
        prop_assert_eq!(&bytes, &whole, "byte at a time");
        if stream.len() <= 256 {
            for pieces in splits::two_way(&stream) {
                let (two, _) = run(&config, &pieces, eof);
                prop_assert_eq!(&two, &whole, "split {}", pieces[0].len());
            }
        }
    }
}

// ---- (b) arbitrary bytes ----------------------------------------------------------------

/// Fragments of HTTP that random soup is made of, so it reaches deep states.
const FRAGMENTS: [&[u8]; 28] = [
    b"GET / HTTP/1.1\r\n",
    b"POST /p HTTP/1.1\r\n",
    b"HEAD / HTTP/1.0\r\n",
    b"CONNECT h:1 HTTP/1.1\r\n",
    b"Host: h\r\n",
    b"Host: h\r\n",
    b"Content-Length: 3\r\n",
    b"Content-Length: 0\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Connection: close\r\n",
    b"Connection: keep-alive\r\n",
    b"Connection: upgrade\r\nUpgrade: ws\r\n",
    b"Expect: 100-continue\r\n",
    b"Expect: x\r\n",
    b"X: y\r\n",
    b"\r\n",
    b"\r\n",
    b"\n",
    b"\r",
    b" ",
    b"abc",
    b"5\r\nhello\r\n",
    b"1;e=v\r\nx\r\n",
    b"0\r\n\r\n",
    b"0\r\nT: v\r\n\r\n",
    b"zz\r\n",
    b":",
    b"\0",
];

fn soup() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(prop::sample::select(FRAGMENTS.to_vec()), 0..40)
        .prop_map(|parts| Bytes::from(parts.concat()))
}

/// A valid stream with a few bytes replaced, inserted or removed.
fn mutated() -> impl Strategy<Value = Bytes> {
    (
        stream(),
        prop::collection::vec((0..3u8, any::<prop::sample::Index>(), any::<u8>()), 1..4),
    )
        .prop_map(|(stream, edits)| {
            let mut stream = stream.to_vec();
            for (kind, at, byte) in edits {
                let len = stream.len();
                match kind {
                    0 if len > 0 => stream[at.index(len)] = byte,
                    1 => stream.insert(at.index(len + 1), byte),
                    _ if len > 0 => {
                        stream.remove(at.index(len));
                    }
                    _ => {}
                }
            }
            Bytes::from(stream)
        })
}

fn any_config() -> impl Strategy<Value = ServerConfig> {
    (
        (32..1024usize, 1..4usize, 4..64usize),
        prop::option::of(1..4u32),
        any::<[bool; 6]>(),
    )
        .prop_map(
            |((head, pipelined, extensions), max_requests, flags)| ServerConfig {
                max_header_size: head,
                max_pipelined: pipelined,
                max_chunk_extensions: extensions,
                max_requests_per_socket: max_requests,
                check_continue: flags[0],
                upgrade: flags[1],
                connect: flags[2],
                chunk_events: flags[3],
                require_host_header: flags[4],
                send_date: flags[5],
                ..ServerConfig::default()
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    /// Contract and `# Panics`, docs/node-semantics.md#http-max-header-size,
    /// #http-read-backpressure: on any bytes (random, HTTP soup, or a mutated valid stream), with
    /// any limits, while the application never answers:
    /// - nothing panics;
    /// - whole and cut input give the same events, actions and response bytes, and (unless a
    ///   client error stopped parsing) the same consumed and left-over bytes;
    /// - at most one `Close`, nothing after it, and after `destroy` exactly one, last (none
    ///   after a hand-over);
    /// - the response bytes are at most `4 * consumed + 128` (every reply the machine writes
    ///   on its own, 100, 417, 503 or the one client-error reply, answers input it consumed);
    /// - a driver that reads only while `wants_read()` is never left holding more than
    ///   `max_header_size` bytes while the machine wants more, and never more than
    ///   `max_header_size` + one read once it paused.
    #[test]
    fn any_bytes_no_panic_bounded_and_chunking_invariant(
        config in any_config(),
        stream in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..512).prop_map(Bytes::from),
            soup(),
            mutated(),
        ],
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        eof in any::<bool>(),
    ) {
        let (whole, mut conn) = run(&config, &[&stream], eof);
        check_close_last(&whole.events)?;
        prop_assert!(
            whole.wire.len() <= 4 * whole.consumed + 128,
            "{} response bytes for {} consumed", whole.wire.len(), whole.consumed
        );
        let offsets: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        let (mut cut, _) = run(&config, &splits::at_cuts(&stream, &offsets), eof);
        if whole.events.iter().any(|e| matches!(e, ServerEvent::ClientError(_))) {
            // After a client error nothing more is parsed, and how far into the bad bytes
            // the parser got (a chunked decoder keeps what it has read) may vary.
            cut.consumed = whole.consumed;
            cut.rest = whole.rest.clone();
        }
        prop_assert_eq!(&cut, &whole, "cuts {:?}", offsets);

        let before = whole.events.iter().filter(|e| **e == ServerEvent::Close).count();
        conn.destroy(Instant::now());
        let mut events = whole.events.clone();
        events.extend(std::iter::from_fn(|| conn.poll_event()));
        check_close_last(&events)?;
        let closes = events.iter().filter(|e| **e == ServerEvent::Close).count();
        // A hand-over ends the machine without `Close`: the transport is the application's.
        let handed_over = whole.actions.contains(&Action::HandOver);
        prop_assert_eq!(closes, usize::from(!handed_over), "closes before destroy: {}", before);

        // A driver that honours `wants_read`, reading at most `read` bytes at a time.
        let read = 64;
        let now = Instant::now();
        let mut conn = ServerConnection::new(now, config.clone());
        let mut buf = BytesMut::new();
        let mut sink = (Vec::new(), Vec::new(), Vec::new());
        for piece in stream.chunks(read) {
            if !conn.wants_read() {
                break;
            }
            buf.extend_from_slice(piece);
            conn.handle_input(now, &mut buf);
            drain(&mut conn, now, &mut sink.0, &mut sink.1, &mut sink.2);
            if conn.wants_read() {
                prop_assert!(
                    buf.len() <= config.max_header_size,
                    "{} bytes left while reading, limit {}", buf.len(), config.max_header_size
                );
            }
            prop_assert!(buf.len() <= config.max_header_size + read);
        }
        check_close_last(&sink.0)?;
    }
}

// ---- (c) response framing round trip ----------------------------------------------------

/// How the application sends one response.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// `respond(200, body)`: `Content-Length`.
    Whole,
    /// `send_response`, `write` each piece, `end()`: chunked.
    Streamed,
    /// `send_response`, `write` all but the last piece, `end(last)`.
    EndWithData,
    /// `Content-Length` set by the application, then `write`s and `end()`.
    UserLength,
    /// Streamed, ended with trailers.
    Trailers,
}

#[derive(Debug, Clone)]
struct Plan {
    mode: Mode,
    pieces: Vec<Vec<u8>>,
}

impl Plan {
    fn body(&self) -> Vec<u8> {
        self.pieces.concat()
    }

    /// The commands, in order: 0 is the head, 1..=n the writes, n+1 the end.
    fn steps(&self) -> usize {
        match self.mode {
            Mode::Whole => 1,
            _ => self.pieces.len() + 2,
        }
    }
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        prop_oneof![
            Just(Mode::Whole),
            Just(Mode::Streamed),
            Just(Mode::EndWithData),
            Just(Mode::UserLength),
            Just(Mode::Trailers),
        ],
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..48), 0..6),
    )
        .prop_map(|(mode, pieces)| Plan { mode, pieces })
}

/// Carries out step `step` of `plan` for request `id`.
fn act(conn: &mut ServerConnection, now: Instant, id: RequestId, plan: &Plan, step: usize) {
    let n = plan.pieces.len();
    match (plan.mode, step) {
        (Mode::Whole, _) => conn
            .respond(now, id, Response::new(200), Bytes::from(plan.body()))
            .unwrap(),
        (Mode::UserLength, 0) => conn
            .send_response(
                now,
                id,
                Response::new(200).header("Content-Length", plan.body().len().to_string()),
            )
            .unwrap(),
        (Mode::Trailers, 0) => conn
            .send_response(
                now,
                id,
                Response::new(200).header("Transfer-Encoding", "chunked"),
            )
            .unwrap(),
        (_, 0) => conn.send_response(now, id, Response::new(200)).unwrap(),
        (Mode::EndWithData, s) if s == n && n > 0 => {}
        (Mode::EndWithData, s) if s == n + 1 && n > 0 => conn
            .end(now, id, Some(Bytes::from(plan.pieces[n - 1].clone())))
            .unwrap(),
        (Mode::Trailers, s) if s == n + 1 => conn
            .end_with_trailers(now, id, None, Headers::new().with("X-Len", n.to_string()))
            .unwrap(),
        (_, s) if s == n + 1 => conn.end(now, id, None).unwrap(),
        (_, s) => {
            conn.write(now, id, Bytes::from(plan.pieces[s - 1].clone()))
                .unwrap();
        }
    }
}

/// Reads one CRLF-terminated line at `wire[*at..]`.
fn line<'a>(wire: &'a [u8], at: &mut usize) -> &'a [u8] {
    let start = *at;
    let len = wire[start..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or_else(|| panic!("no CRLF after {start}"));
    *at = start + len + 2;
    &wire[start..start + len]
}

/// Parses one response at `wire[*at..]`: its body and trailers.
fn parse_response(wire: &[u8], at: &mut usize) -> (Vec<u8>, Vec<(String, String)>) {
    let mut fields = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut fields);
    let httparse::Status::Complete(head_len) = response.parse(&wire[*at..]).unwrap() else {
        panic!("incomplete response head at {at}");
    };
    assert_eq!(response.code, Some(200));
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| std::str::from_utf8(h.value).unwrap().to_owned())
    };
    let length = header("content-length");
    let chunked = header("transfer-encoding").is_some_and(|te| te == "chunked");
    assert!(!(length.is_some() && chunked), "both framings");
    *at += head_len;
    if let Some(length) = length {
        let n: usize = length.parse().unwrap();
        let body = wire[*at..*at + n].to_vec();
        *at += n;
        return (body, Vec::new());
    }
    assert!(chunked, "an HTTP/1.1 response without framing");
    let mut body = Vec::new();
    loop {
        let size_line = line(wire, at);
        let size = usize::from_str_radix(std::str::from_utf8(size_line).unwrap(), 16).unwrap();
        if size == 0 {
            break;
        }
        body.extend_from_slice(&wire[*at..*at + size]);
        *at += size;
        assert_eq!(line(wire, at), b"", "chunk data not followed by CRLF");
    }
    let mut trailers = Vec::new();
    loop {
        let field = line(wire, at);
        if field.is_empty() {
            return (body, trailers);
        }
        let text = std::str::from_utf8(field).unwrap();
        let (name, value) = text.split_once(": ").unwrap();
        trailers.push((name.to_owned(), value.to_owned()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// docs/node-semantics.md#http-response-order, #http-auto-content-length, #http-auto-chunked,
    /// #http-trailers: responses to 1-4 pipelined requests, written in random pieces through
    /// `respond`, `write`, `end` and `end_with_trailers` and interleaved across requests in any
    /// order, parse back (httparse heads, our chunked reader) in request order to the same bodies
    /// and trailers, with no byte left over.
    #[test]
    fn response_pieces_parse_back_to_the_same_bodies(
        plans in prop::collection::vec(plan(), 1..=4),
        order_seed in prop::collection::vec(any::<prop::sample::Index>(), 0..64),
        transmit_each in any::<bool>(),
    ) {
        let now = Instant::now();
        let mut conn = ServerConnection::new(now, quiet());
        let mut input = BytesMut::new();
        for i in 0..plans.len() {
            input.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes());
        }
        conn.handle_input(now, &mut input);
        prop_assert!(input.is_empty());
        // A random interleaving that keeps each request's own steps in order.
        let mut queue: Vec<usize> = plans
            .iter()
            .enumerate()
            .flat_map(|(i, p)| std::iter::repeat_n(i, p.steps()))
            .collect();
        let mut order = Vec::with_capacity(queue.len());
        for (k, seed) in order_seed.iter().enumerate() {
            if queue.is_empty() || k >= 64 {
                break;
            }
            order.push(queue.remove(seed.index(queue.len())));
        }
        order.extend(queue);
        let mut next_step = vec![0; plans.len()];
        let mut wire = Vec::new();
        for i in order {
            let id = RequestId(u64::try_from(i).unwrap());
            act(&mut conn, now, id, &plans[i], next_step[i]);
            next_step[i] += 1;
            if transmit_each {
                while let Some(chunk) = conn.pop_transmit(now) {
                    wire.extend_from_slice(&chunk);
                }
            }
        }
        while let Some(chunk) = conn.pop_transmit(now) {
            wire.extend_from_slice(&chunk);
        }
        let mut at = 0;
        for (i, plan) in plans.iter().enumerate() {
            let (body, trailers) = parse_response(&wire, &mut at);
            prop_assert_eq!(body, plan.body(), "body of response {}", i);
            if let Mode::Trailers = plan.mode {
                prop_assert_eq!(
                    trailers,
                    vec![("X-Len".to_owned(), plan.pieces.len().to_string())]
                );
            } else {
                prop_assert!(trailers.is_empty());
            }
        }
        prop_assert_eq!(at, wire.len(), "bytes after the last response");
        prop_assert_eq!(conn.pending_responses(), 0);
        let events: Vec<_> = std::iter::from_fn(|| conn.poll_event()).collect();
        prop_assert!(!events.contains(&ServerEvent::Close), "{:?}", events);
    }
}
