//! Scenarios of `ClientConnection`, one rule per test, driven by hand through the public API
//! (`docs/node-semantics.md#http-body-length`, `#http-client`).
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fail the test by panicking"
)]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use sansnet_http1::{
    Action, ClientConfig, ClientConnection, ClientEvent, ClientRequest, Error, Headers,
    ProtocolError, RequestId, ResponseBody, ResponseHead, UsageError, Version,
};

// ---- harness ----------------------------------------------------------------------------

/// A client connection, the driver's read buffer, and everything it produced so far.
struct Client {
    conn: ClientConnection,
    now: Instant,
    start: Instant,
    input: BytesMut,
    events: Vec<ClientEvent>,
    actions: Vec<Action>,
    wire: Vec<u8>,
}

impl Client {
    fn new(config: ClientConfig) -> Self {
        let now = Instant::now();
        Self {
            conn: ClientConnection::new(now, config),
            now,
            start: now,
            input: BytesMut::new(),
            events: Vec::new(),
            actions: Vec::new(),
            wire: Vec::new(),
        }
    }

    fn default() -> Self {
        Self::new(ClientConfig::default())
    }

    /// `send_request`, then drain.
    fn send(&mut self, request: ClientRequest) -> RequestId {
        let id = self.conn.send_request(self.now, request).unwrap();
        self.drain();
        id
    }

    /// A request with `Host: a` and no body, ended at once.
    fn request(&mut self, method: &'static str, target: &'static str) -> RequestId {
        let id = self.send(ClientRequest::new(method, target).header("Host", "a"));
        self.end(id, None).unwrap();
        id
    }

    fn get(&mut self) -> RequestId {
        self.request("GET", "/")
    }

    fn write(&mut self, id: RequestId, data: &'static [u8]) -> Result<(), Error> {
        let result = self.conn.write(self.now, id, Bytes::from_static(data));
        self.drain();
        result
    }

    fn end(&mut self, id: RequestId, data: Option<&'static [u8]>) -> Result<(), Error> {
        let result = self.conn.end(self.now, id, data.map(Bytes::from_static));
        self.drain();
        result
    }

    /// Appends `bytes` to the read buffer, hands it to the machine and drains its outputs.
    fn feed(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
        self.conn.handle_input(self.now, &mut self.input);
        self.drain();
    }

    fn eof(&mut self) {
        self.conn.handle_eof(self.now);
        self.drain();
    }

    /// Moves the clock to `start + at` and fires the timer.
    fn timeout_at(&mut self, at: Duration) {
        self.now = self.start + at;
        self.conn.handle_timeout(self.now);
        self.drain();
    }

    /// Writes everything queued, then collects events and actions (the drain rule).
    fn drain(&mut self) {
        while let Some(chunk) = self.conn.pop_transmit(self.now) {
            self.wire.extend_from_slice(&chunk);
        }
        self.events
            .extend(std::iter::from_fn(|| self.conn.poll_event()));
        self.actions
            .extend(std::iter::from_fn(|| self.conn.poll_action()));
    }

    /// The request bytes written since the last call, as text.
    fn take_wire(&mut self) -> String {
        String::from_utf8(std::mem::take(&mut self.wire)).unwrap()
    }

    fn take_events(&mut self) -> Vec<ClientEvent> {
        std::mem::take(&mut self.events)
    }
}

/// A short name per event, for order checks: `Response(200)`, `Data(abc)`, `End`, ...
fn names(events: &[ClientEvent]) -> Vec<String> {
    events
        .iter()
        .map(|event| match event {
            ClientEvent::Continue { .. } => "Continue".to_owned(),
            ClientEvent::Information(head) => format!("Information({})", head.status),
            ClientEvent::Response(head) => format!("Response({})", head.status),
            ClientEvent::Chunk { size, .. } => format!("Chunk({size})"),
            ClientEvent::Data { data, .. } => {
                format!("Data({})", String::from_utf8_lossy(data))
            }
            ClientEvent::End { .. } => "End".to_owned(),
            ClientEvent::Upgrade { response, .. } => format!("Upgrade({})", response.status),
            ClientEvent::Connect { response, .. } => format!("Connect({})", response.status),
            ClientEvent::Timeout => "Timeout".to_owned(),
            ClientEvent::Error { .. } => "Error".to_owned(),
            ClientEvent::Close => "Close".to_owned(),
            _ => format!("{event:?}"),
        })
        .collect()
}

/// The response heads among `events`.
fn responses(events: &[ClientEvent]) -> Vec<ResponseHead> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Response(head) => Some(head.clone()),
            _ => None,
        })
        .collect()
}

/// The body bytes of `id` among `events`.
fn body(events: &[ClientEvent], id: RequestId) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Data { id: of, data } if *of == id => Some(&data[..]),
            _ => None,
        })
        .collect::<Vec<_>>()
        .concat()
}

/// The one `Error` event: `(id, error, retryable)`.
fn error(events: &[ClientEvent]) -> (Option<RequestId>, Error, bool) {
    let errors: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Error {
                id,
                error,
                retryable,
            } => Some((*id, error.clone(), *retryable)),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "one Error expected in {events:?}");
    errors[0].clone()
}

fn protocol(error: ProtocolError) -> Error {
    Error::Protocol(error)
}

fn usage(error: UsageError) -> Error {
    Error::Usage(error)
}

// ---- request framing (124) --------------------------------------------------------------

/// docs/node-semantics.md#http-client-default-chunked: GET, HEAD, DELETE, OPTIONS and TRACE ended
/// without data carry no body framing.
#[test]
fn idle_bodiless_method_end_sends_no_framing() {
    for method in ["GET", "HEAD", "DELETE", "OPTIONS", "TRACE"] {
        let mut c = Client::default();
        c.request(method, "/x");
        assert_eq!(
            c.take_wire(),
            format!("{method} /x HTTP/1.1\r\nHost: a\r\n\r\n")
        );
    }
}

/// docs/node-semantics.md#http-client-default-chunked: CONNECT is not chunked by default and
/// carries no `Content-Length`.
#[test]
fn idle_connect_end_sends_no_framing() {
    let mut c = Client::default();
    let id =
        c.send(ClientRequest::new("CONNECT", "example.com:443").header("Host", "example.com:443"));
    c.end(id, None).unwrap();
    assert_eq!(
        c.take_wire(),
        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
    );
}

/// docs/node-semantics.md#http-client-default-chunked: a GET that ends with data gets a
/// `Content-Length` for it.
#[test]
fn idle_get_end_with_data_sets_content_length() {
    let mut c = Client::default();
    let id = c.send(ClientRequest::new("GET", "/").header("Host", "a"));
    c.end(id, Some(b"q")).unwrap();
    assert_eq!(
        c.take_wire(),
        "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nq"
    );
}

/// docs/node-semantics.md#http-client-default-chunked: `end(data)` with nothing written before sets
/// `Content-Length` on a POST.
#[test]
fn idle_post_end_with_data_sets_content_length() {
    let mut c = Client::default();
    let id = c.send(ClientRequest::new("POST", "/p").header("Host", "a"));
    assert_eq!(
        c.take_wire(),
        "",
        "the head waits for the first write or the end"
    );
    c.end(id, Some(b"hello")).unwrap();
    assert_eq!(
        c.take_wire(),
        "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
    );
}

/// docs/node-semantics.md#http-client-default-chunked: a POST ended without data says
/// `Content-Length: 0`.
#[test]
fn idle_post_end_without_data_sets_zero_length() {
    let mut c = Client::default();
    c.request("POST", "/p");
    assert_eq!(
        c.take_wire(),
        "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"
    );
}

/// docs/node-semantics.md#http-client-default-chunked: a POST written to before its end is chunked
/// and ends with the 0-size chunk.
#[test]
fn idle_post_write_then_end_sends_chunked() {
    let mut c = Client::default();
    let id = c.send(ClientRequest::new("POST", "/p").header("Host", "a"));
    c.write(id, b"abc").unwrap();
    c.write(id, b"0123456789abcdef").unwrap();
    c.end(id, Some(b"z")).unwrap();
    assert_eq!(
        c.take_wire(),
        "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
         3\r\nabc\r\n10\r\n0123456789abcdef\r\n1\r\nz\r\n0\r\n\r\n"
    );
}

/// docs/node-semantics.md#http-client-default-chunked: a user `Content-Length` is honoured: no
/// chunking, the bytes go as written.
#[test]
fn idle_user_content_length_is_honoured() {
    let mut c = Client::default();
    let id = c.send(
        ClientRequest::new("PUT", "/u")
            .header("Host", "a")
            .header("Content-Length", "5"),
    );
    c.write(id, b"hel").unwrap();
    c.end(id, Some(b"lo")).unwrap();
    assert_eq!(
        c.take_wire(),
        "PUT /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
    );
    assert_eq!(c.conn.in_flight(), 1);
}

/// docs/node-semantics.md#http-client-default-chunked: body bytes beyond the user's
/// `Content-Length` are refused, and nothing of them leaves.
#[test]
fn sending_body_beyond_content_length_is_usage_error() {
    let mut c = Client::default();
    let id = c.send(
        ClientRequest::new("POST", "/u")
            .header("Host", "a")
            .header("Content-Length", "5"),
    );
    c.write(id, b"hel").unwrap();
    assert_eq!(
        c.write(id, b"lo!"),
        Err(usage(UsageError::ContentLengthMismatch))
    );
    assert_eq!(
        c.end(id, Some(b"lo!")),
        Err(usage(UsageError::ContentLengthMismatch))
    );
    c.end(id, Some(b"lo")).unwrap();
    assert_eq!(
        c.take_wire(),
        "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
    );
    assert!(
        c.events.is_empty(),
        "a caller fault is no event: {:?}",
        c.events
    );
}

/// docs/node-semantics.md#http-client-default-chunked: `end(data)` longer than the user's
/// `Content-Length` is refused too.
#[test]
fn idle_end_beyond_content_length_is_usage_error() {
    let mut c = Client::default();
    let id = c.send(
        ClientRequest::new("POST", "/u")
            .header("Host", "a")
            .header("Content-Length", "2"),
    );
    assert_eq!(
        c.end(id, Some(b"abc")),
        Err(usage(UsageError::ContentLengthMismatch))
    );
    assert!(!c.wire.ends_with(b"abc"));
}

// ---- Expect: 100-continue (119, 120) ----------------------------------------------------

fn expect_request() -> ClientRequest {
    ClientRequest::new("POST", "/e")
        .header("Host", "a")
        .header("Content-Length", "5")
        .header("Expect", "100-continue")
}

const EXPECT_HEAD: &str =
    "POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";

/// RFC 9110 §10.1.1: with `Expect: 100-continue` the head leaves at once and the body waits for
/// `100 Continue`.
#[test]
fn awaiting_continue_100_releases_held_body() {
    let mut c = Client::default();
    let id = c.send(expect_request());
    assert_eq!(c.take_wire(), EXPECT_HEAD);
    c.write(id, b"hel").unwrap();
    c.end(id, Some(b"lo")).unwrap();
    assert_eq!(c.take_wire(), "", "the body is held");
    c.feed(b"HTTP/1.1 100 Continue\r\n\r\n");
    assert!(matches!(c.events[0], ClientEvent::Continue { id: of } if of == id));
    assert_eq!(c.take_wire(), "hello");
    c.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let events = c.take_events();
    assert_eq!(body(&events, id), b"ok");
    assert!(matches!(events.last(), Some(ClientEvent::End { .. })));
    assert!(c.conn.is_reusable());
}

/// docs/node-semantics.md#http-client-expect, #http-client-default-chunked: a held chunked body
/// leaves, framed, after `100 Continue`.
#[test]
fn awaiting_continue_100_releases_held_chunked_body() {
    let mut c = Client::default();
    let id = c.send(
        ClientRequest::new("POST", "/e")
            .header("Host", "a")
            .header("Expect", "100-continue"),
    );
    assert_eq!(
        c.take_wire(),
        "POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    c.write(id, b"ab").unwrap();
    c.end(id, None).unwrap();
    assert_eq!(c.take_wire(), "");
    c.feed(b"HTTP/1.1 100 Continue\r\n\r\n");
    assert_eq!(c.take_wire(), "2\r\nab\r\n0\r\n\r\n");
}

/// RFC 9110 §10.1.1: a final response while the body is held: the body is never sent and the
/// connection is not reused (the server may still read it as a request).
#[test]
fn awaiting_continue_final_response_drops_body_and_closes() {
    let mut c = Client::default();
    let id = c.send(expect_request());
    c.end(id, Some(b"hello")).unwrap();
    c.take_wire();
    c.feed(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(names(&c.events), ["Response(417)", "End", "Close"]);
    assert_eq!(c.take_wire(), "", "the held body never leaves");
    assert_eq!(c.actions, [Action::Shutdown]);
    assert!(!c.conn.is_reusable());
    assert!(
        c.conn
            .send_request(c.now, ClientRequest::new("GET", "/"))
            .is_err()
    );
}

/// RFC 9110 §10.1.1: `continue_timeout` sends the held body when no 100 came, without any event.
#[test]
fn awaiting_continue_timeout_releases_held_body() {
    let mut c = Client::new(ClientConfig {
        continue_timeout: Some(Duration::from_secs(1)),
        ..ClientConfig::default()
    });
    let id = c.send(expect_request());
    c.end(id, Some(b"hello")).unwrap();
    assert_eq!(c.take_wire(), EXPECT_HEAD);
    assert_eq!(
        c.conn.poll_timeout(),
        Some(c.start + Duration::from_secs(1))
    );
    c.timeout_at(Duration::from_millis(999));
    assert_eq!(c.take_wire(), "");
    c.timeout_at(Duration::from_secs(1));
    assert_eq!(c.take_wire(), "hello");
    assert!(c.events.is_empty(), "{:?}", c.events);
    assert_eq!(c.conn.poll_timeout(), None);
    c.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(names(&c.events), ["Response(200)", "End"]);
    assert!(c.conn.is_reusable());
}

/// RFC 9110 §10.1.1: without `continue_timeout` the body waits for the server, as in Node.
#[test]
fn awaiting_continue_without_timeout_holds_body() {
    let mut c = Client::default();
    let id = c.send(expect_request());
    c.end(id, Some(b"hello")).unwrap();
    c.take_wire();
    assert_eq!(c.conn.poll_timeout(), None);
    c.timeout_at(Duration::from_secs(3600));
    assert_eq!(c.take_wire(), "");
}

// ---- 1xx (119) --------------------------------------------------------------------------

/// Node docs `http.md` › `Event: 'information'`: any number of 1xx other than 100 and 101 come as
/// `Information`, then the final response.
#[test]
fn awaiting_response_several_1xx_emit_information() {
    let mut c = Client::default();
    let id = c.get();
    c.feed(
        b"HTTP/1.1 102 Processing\r\n\r\n\
          HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n\
          HTTP/1.1 103 Early Hints\r\nLink: </b.js>; rel=preload\r\n\r\n\
          HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    );
    assert_eq!(
        names(&c.events),
        [
            "Information(102)",
            "Information(103)",
            "Information(103)",
            "Response(200)",
            "Data(ok)",
            "End"
        ]
    );
    let ClientEvent::Information(hints) = &c.events[1] else {
        unreachable!()
    };
    assert_eq!(hints.id, id);
    assert_eq!(hints.reason, "Early Hints");
    assert_eq!(hints.headers.get("link").unwrap(), b"</a.css>; rel=preload");
    assert_eq!(hints.body, ResponseBody::None);
    assert!(c.conn.is_reusable());
}

/// Node docs `http.md` › `Event: 'information'`: a 100 emits `Continue`, and (like every 1xx
/// except 101) `Information` after it, as Node emits `'continue'` then `'information'`.
#[test]
fn awaiting_response_100_emits_continue_then_information() {
    let mut c = Client::default();
    let id = c.get();
    c.feed(b"HTTP/1.1 100 Continue\r\nX-A: 1\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
    assert_eq!(
        names(&c.events),
        ["Continue", "Information(100)", "Response(204)", "End"]
    );
    let ClientEvent::Information(info) = &c.events[1] else {
        unreachable!()
    };
    assert_eq!((info.id, info.status), (id, 100));
    assert_eq!(info.headers.get("x-a").unwrap(), b"1");
}

// ---- upgrade and CONNECT (121, 122) -----------------------------------------------------

/// Node docs `http.md` › `Event: 'upgrade'`: a 101 to a request offering an upgrade emits `Upgrade`
/// with the bytes after the head, and the connection is handed over.
#[test]
fn upgrade_request_101_emits_upgrade_and_hands_over() {
    let mut c = Client::default();
    let id = c.send(
        ClientRequest::new("GET", "/chat")
            .header("Host", "a")
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket"),
    );
    c.end(id, None).unwrap();
    c.feed(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x02hi");
    c.feed(b"later");
    let events = c.take_events();
    assert_eq!(names(&events), ["Upgrade(101)"]);
    let ClientEvent::Upgrade { response, head } = &events[0] else {
        unreachable!()
    };
    assert_eq!(response.id, id);
    assert_eq!(response.headers.get("upgrade").unwrap(), b"websocket");
    assert!(!response.keep_alive);
    assert_eq!(&head[..], b"\x81\x02hi");
    assert_eq!(
        &c.input[..],
        b"later",
        "bytes after the hand-over stay with the driver"
    );
    assert_eq!(c.actions, [Action::HandOver]);
    assert!(c.conn.is_closed());
    assert!(!c.conn.is_reusable());
}

/// Node docs `http.md` › `Event: 'information'`, `Event: 'upgrade'`: a 101 is never `Information`.
/// To a request that offered no upgrade (a server fault, RFC 9110 §7.8) it is either handed over as
/// Node does or rejected, and the bytes after it are never parsed as HTTP.
#[test]
fn awaiting_response_unsolicited_101_is_not_information() {
    let mut c = Client::default();
    c.get();
    c.feed(b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\nPRI * HTTP/2.0\r\n");
    let names = names(&c.events);
    assert!(
        names == ["Upgrade(101)"] || names == ["Error", "Close"],
        "{names:?}"
    );
}

/// Node docs `http.md` › `Event: 'upgrade'`: a non-101 answer to an upgrade offer is an ordinary
/// response.
#[test]
fn upgrade_request_200_is_plain_response() {
    let mut c = Client::default();
    let id = c.send(
        ClientRequest::new("GET", "/chat")
            .header("Host", "a")
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket"),
    );
    c.end(id, None).unwrap();
    c.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(names(&c.events), ["Response(200)", "Data(abc)", "End"]);
    assert!(c.actions.is_empty());
    assert!(c.conn.is_reusable());
}

/// Node docs `http.md` › `Event: 'connect'`: any response to CONNECT emits `Connect`, whatever its
/// status, with the bytes after the head; the connection is handed over.
#[test]
fn connect_any_status_emits_connect_and_hands_over() {
    for (status, rest) in [(200_u16, &b"\x16\x03\x01"[..]), (407, &b"abc"[..])] {
        let mut c = Client::default();
        let id = c.request("CONNECT", "example.com:443");
        let mut input = format!("HTTP/1.1 {status} X\r\nContent-Length: 3\r\n\r\n").into_bytes();
        input.extend_from_slice(rest);
        c.feed(&input);
        let events = c.take_events();
        assert_eq!(names(&events), [format!("Connect({status})")]);
        let ClientEvent::Connect { response, head } = &events[0] else {
            unreachable!()
        };
        assert_eq!(response.id, id);
        assert_eq!(&head[..], rest);
        assert_eq!(c.actions, [Action::HandOver]);
        assert!(c.conn.is_closed());
    }
}

// ---- bodiless responses (109, 125) ------------------------------------------------------

/// docs/node-semantics.md#http-client-bodiless, #http-body-none: a response to HEAD has no body
/// whatever its headers say; the next pipelined response follows right after its head.
#[test]
fn head_request_response_is_bodiless() {
    let mut c = Client::default();
    let head = c.request("HEAD", "/");
    let get = c.get();
    c.feed(
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n\
          HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    );
    assert_eq!(
        names(&c.events),
        ["Response(200)", "End", "Response(200)", "Data(hi)", "End"]
    );
    let heads = responses(&c.events);
    assert_eq!((heads[0].id, heads[0].body), (head, ResponseBody::None));
    assert_eq!((heads[1].id, heads[1].body), (get, ResponseBody::Chunked));
    let ClientEvent::End { end, .. } = c.events[1] else {
        unreachable!()
    };
    assert_eq!(end, heads[0].head_end);
    assert!(c.conn.is_reusable());
}

/// docs/node-semantics.md#http-client-bodiless, #http-body-none: 304 and 204 responses have no body
/// whatever their headers say.
#[test]
fn awaiting_response_304_and_204_are_bodiless() {
    for status in ["304 Not Modified", "204 No Content"] {
        let mut c = Client::default();
        c.get();
        c.get();
        c.feed(
            format!(
                "HTTP/1.1 {status}\r\nContent-Length: 10\r\n\r\n\
                 HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
            )
            .as_bytes(),
        );
        let code = &status[..3];
        assert_eq!(
            names(&c.events),
            [
                format!("Response({code})"),
                "End".into(),
                "Response(200)".into(),
                "Data(x)".into(),
                "End".into()
            ]
        );
        assert_eq!(responses(&c.events)[0].body, ResponseBody::None);
        assert!(c.conn.is_reusable());
    }
}

// ---- body length (109-113) --------------------------------------------------------------

/// RFC 9112 §6.3 items 6–7, §6.3 item 5: a `Content-Length` body arrives as `Data` and ends after
/// that many bytes.
#[test]
fn awaiting_response_content_length_body_then_end() {
    let mut c = Client::default();
    let id = c.get();
    c.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello");
    assert_eq!(names(&c.events), ["Response(200)", "Data(hello)"]);
    let head = responses(&c.events)[0].clone();
    assert_eq!(head.body, ResponseBody::ContentLength(11));
    assert_eq!(head.version, Version::Http11);
    assert!(head.keep_alive);
    assert!(!c.conn.is_reusable(), "the response is not over yet");
    c.feed(b" world");
    assert_eq!(body(&c.events, id), b"hello world");
    let Some(ClientEvent::End { end, trailers, .. }) = c.events.last() else {
        panic!("no End: {:?}", c.events)
    };
    assert_eq!(*end, head.head_end + 11);
    assert!(trailers.is_empty());
    assert!(c.conn.is_reusable());
}

/// RFC 9112 §6.3 item 3: a chunked body is decoded and its trailers come with `End`.
#[test]
fn awaiting_response_chunked_body_with_trailers() {
    let mut c = Client::new(ClientConfig {
        chunk_events: true,
        ..ClientConfig::default()
    });
    let id = c.get();
    c.feed(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nTrailer: X-Sum\r\n\r\n\
          5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: abc\r\nX-Two: 2\r\n\r\n",
    );
    assert_eq!(
        names(&c.events),
        [
            "Response(200)",
            "Chunk(5)",
            "Data(hello)",
            "Chunk(6)",
            "Data( world)",
            "Chunk(0)",
            "End"
        ]
    );
    assert_eq!(responses(&c.events)[0].body, ResponseBody::Chunked);
    assert_eq!(body(&c.events, id), b"hello world");
    let Some(ClientEvent::End { trailers, .. }) = c.events.last() else {
        unreachable!()
    };
    let want: Headers = [("X-Sum", "abc"), ("X-Two", "2")].into_iter().collect();
    assert_eq!(trailers, &want);
    assert!(c.conn.is_reusable());
}

/// RFC 9112 §6.3 item 3 (Node rejects): `Transfer-Encoding` with `Content-Length` is fatal in a
/// response.
#[test]
fn awaiting_response_te_with_content_length_is_error() {
    let mut c = Client::default();
    c.get();
    c.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n");
    let (_, err, retryable) = error(&c.events);
    assert_eq!(
        err,
        protocol(ProtocolError::ContentLengthWithTransferEncoding)
    );
    assert!(!retryable);
    assert_eq!(names(&c.events), ["Error", "Close"]);
    assert_eq!(c.actions, [Action::Close { reset: false }]);
}

/// RFC 9112 §6.3 items 6–7: a response with neither header is close-delimited and completes at EOF.
#[test]
fn awaiting_response_no_framing_reads_until_close() {
    let mut c = Client::default();
    let id = c.get();
    c.feed(b"HTTP/1.1 200 OK\r\n\r\nsome");
    c.feed(b" bytes\r\n\r\nHTTP/1.1 200 OK\r\n\r\n");
    let head = responses(&c.events)[0].clone();
    assert_eq!(head.body, ResponseBody::UntilClose);
    assert!(!head.keep_alive);
    assert!(!names(&c.events).contains(&"End".to_owned()));
    c.eof();
    assert_eq!(
        body(&c.events, id),
        b"some bytes\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"
    );
    let names = names(&c.events);
    assert_eq!(names[names.len() - 2..], ["End", "Close"]);
    assert!(!names.contains(&"Error".to_owned()));
    assert_eq!(c.actions, [Action::Shutdown]);
}

/// RFC 9112 §6.3 item 4: a `Transfer-Encoding` that does not end in chunked is read until close.
#[test]
fn awaiting_response_te_not_chunked_reads_until_close() {
    let mut c = Client::default();
    let id = c.get();
    c.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    assert_eq!(responses(&c.events)[0].body, ResponseBody::UntilClose);
    c.eof();
    assert_eq!(body(&c.events, id), b"5\r\nhello\r\n0\r\n\r\n");
    assert!(matches!(c.events.last(), Some(ClientEvent::Close)));
    assert!(!names(&c.events).contains(&"Error".to_owned()));
}

/// RFC 9112 §6.3 item 5: an invalid or conflicting `Content-Length` is fatal in a response.
#[test]
fn awaiting_response_invalid_content_length_is_error() {
    for value in ["1x", "-1", "5, 6", "99999999999999999999999"] {
        let mut c = Client::default();
        c.get();
        c.feed(format!("HTTP/1.1 200 OK\r\nContent-Length: {value}\r\n\r\nhello").as_bytes());
        let (_, err, retryable) = error(&c.events);
        assert!(
            matches!(
                err,
                Error::Protocol(
                    ProtocolError::InvalidContentLength | ProtocolError::DuplicateContentLength
                )
            ),
            "{value}: {err:?}"
        );
        assert!(!retryable, "{value}");
        assert!(
            !names(&c.events).iter().any(|n| n.starts_with("Response")),
            "{value}"
        );
        assert!(
            matches!(c.events.last(), Some(ClientEvent::Close)),
            "{value}"
        );
    }
}

// ---- keep-alive (128) -------------------------------------------------------------------

/// Node source `lib/_http_client.js` › `responseOnEnd`: `Connection: close` from the server: not
/// reusable, `Shutdown` and `Close` after the response's end.
#[test]
fn awaiting_response_connection_close_shuts_down_after_end() {
    let mut c = Client::default();
    c.get();
    c.feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\no");
    assert!(!responses(&c.events)[0].keep_alive);
    assert!(c.actions.is_empty(), "nothing closes before the end");
    c.feed(b"kHTTP/1.1 200 OK\r\n");
    assert_eq!(
        names(&c.events),
        ["Response(200)", "Data(o)", "Data(k)", "End", "Close"]
    );
    assert_eq!(c.actions, [Action::Shutdown]);
    assert!(!c.conn.is_reusable());
    assert!(!c.conn.wants_read());
}

/// Node source `lib/_http_client.js` › `responseOnEnd`: an HTTP/1.0 response without keep-alive
/// closes after the response.
#[test]
fn awaiting_response_http10_shuts_down_after_end() {
    let mut c = Client::default();
    c.get();
    c.feed(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let head = responses(&c.events)[0].clone();
    assert_eq!(head.version, Version::Http10);
    assert!(!head.keep_alive);
    assert_eq!(
        names(&c.events),
        ["Response(200)", "Data(ok)", "End", "Close"]
    );
    assert_eq!(c.actions, [Action::Shutdown]);
    assert!(!c.conn.is_reusable());
}

/// Node source `lib/_http_client.js` › `responseOnEnd`: HTTP/1.0 with `Connection: keep-alive` and
/// HTTP/1.1 by default keep the connection.
#[test]
fn awaiting_response_keep_alive_is_reusable() {
    for input in [
        &b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    ] {
        let mut c = Client::default();
        c.get();
        c.feed(input);
        assert!(responses(&c.events)[0].keep_alive);
        assert!(c.actions.is_empty());
        assert!(c.conn.is_reusable());
        c.get();
        assert_eq!(c.conn.in_flight(), 1);
    }
}

/// Node source `lib/_http_client.js` › `responseOnEnd`: a request that says `Connection: close`
/// closes after its response.
#[test]
fn awaiting_response_request_close_shuts_down_after_end() {
    let mut c = Client::default();
    let id = c.send(
        ClientRequest::new("GET", "/")
            .header("Host", "a")
            .header("Connection", "close"),
    );
    c.end(id, None).unwrap();
    c.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert!(!responses(&c.events)[0].keep_alive);
    assert_eq!(names(&c.events), ["Response(200)", "End", "Close"]);
    assert_eq!(c.actions, [Action::Shutdown]);
}

// ---- EOF and retries (116, 117, 130) ----------------------------------------------------

/// RFC 9112 §9.3.1: EOF before any byte of the response of a GET: retryable.
#[test]
fn awaiting_response_eof_before_any_byte_get_is_retryable() {
    let mut c = Client::default();
    let id = c.get();
    c.eof();
    let (of, err, retryable) = error(&c.events);
    assert_eq!(of, Some(id));
    assert_eq!(err, protocol(ProtocolError::ConnectionClosedBeforeResponse));
    assert!(retryable);
    assert_eq!(names(&c.events), ["Error", "Close"]);
    assert_eq!(c.actions, [Action::Close { reset: false }]);
}

/// RFC 9112 §9.3.1: EOF before any byte of the response of a POST: not retryable (not idempotent).
#[test]
fn awaiting_response_eof_before_any_byte_post_is_not_retryable() {
    let mut c = Client::default();
    let id = c.send(ClientRequest::new("POST", "/").header("Host", "a"));
    c.end(id, Some(b"x")).unwrap();
    c.eof();
    let (of, err, retryable) = error(&c.events);
    assert_eq!(of, Some(id));
    assert_eq!(err, protocol(ProtocolError::ConnectionClosedBeforeResponse));
    assert!(!retryable);
}

/// RFC 9112 §9.3.1: once a byte of the response came, EOF is not retryable.
#[test]
fn awaiting_response_eof_inside_head_is_not_retryable() {
    let mut c = Client::default();
    c.get();
    c.feed(b"HTTP/1.1 2");
    c.eof();
    let (_, _, retryable) = error(&c.events);
    assert!(!retryable);
    assert!(matches!(c.events.last(), Some(ClientEvent::Close)));
}

/// Node docs `http.md` › `http.request()`; RFC 9112 §9.3.1: EOF inside a `Content-Length` or
/// chunked body is an error, not retryable.
#[test]
fn awaiting_response_eof_mid_body_is_error() {
    for input in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    ] {
        let mut c = Client::default();
        let id = c.get();
        c.feed(input);
        c.eof();
        let (of, err, retryable) = error(&c.events);
        assert_eq!(of, Some(id));
        assert_eq!(err, protocol(ProtocolError::UnexpectedEof));
        assert!(!retryable);
        let names = names(&c.events);
        assert!(!names.contains(&"End".to_owned()), "{names:?}");
        assert_eq!(names[names.len() - 2..], ["Error", "Close"]);
    }
}

/// RFC 9112 §9.3.1: the second of two pipelined GETs is retryable when the connection closes after
/// the first response.
#[test]
fn pipelined_eof_after_first_response_second_is_retryable() {
    let mut c = Client::default();
    c.get();
    let second = c.get();
    c.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    c.eof();
    let (of, _, retryable) = error(&c.events);
    assert_eq!(of, Some(second));
    assert!(retryable);
}

/// Node docs `http.md` › `http.request()`: EOF with nothing in flight closes quietly.
#[test]
fn idle_eof_closes_without_error() {
    let mut c = Client::default();
    c.get();
    c.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    c.eof();
    assert_eq!(names(&c.events), ["Response(200)", "End", "Close"]);
    assert_eq!(c.actions, [Action::Shutdown]);
}

/// A response with no request waiting for it is an error.
#[test]
fn idle_unsolicited_response_is_error() {
    let mut c = Client::default();
    c.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    let (of, err, _) = error(&c.events);
    assert_eq!(of, None);
    assert_eq!(err, protocol(ProtocolError::UnsolicitedResponse));
    assert!(matches!(c.events.last(), Some(ClientEvent::Close)));
}

// ---- timeout (126) ----------------------------------------------------------------------

/// Node docs `http.md` › `Event: 'timeout'`: the `timeout` option emits `Timeout` only: nothing is
/// aborted or closed.
#[test]
fn awaiting_response_timeout_emits_timeout_only() {
    let mut c = Client::new(ClientConfig {
        timeout: Some(Duration::from_secs(5)),
        ..ClientConfig::default()
    });
    let id = c.get();
    assert_eq!(
        c.conn.poll_timeout(),
        Some(c.start + Duration::from_secs(5))
    );
    c.timeout_at(Duration::from_secs(4));
    assert!(c.events.is_empty());
    c.timeout_at(Duration::from_secs(5));
    assert_eq!(names(&c.events), ["Timeout"]);
    assert!(c.actions.is_empty());
    assert!(!c.conn.is_closed());
    assert_eq!(c.conn.in_flight(), 1);
    c.take_events();
    c.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    assert_eq!(body(&c.events, id), b"ok");
    assert!(c.conn.is_reusable());
    // Activity re-arms the timer.
    assert_eq!(c.conn.poll_timeout(), Some(c.now + Duration::from_secs(5)));
}

// ---- pipelining -------------------------------------------------------------------------

/// Pipelined requests are answered in order: each response goes to the oldest request.
#[test]
fn pipelined_requests_matched_to_responses_in_order() {
    let mut c = Client::default();
    let a = c.get();
    let b = c.request("HEAD", "/b");
    let post = c.send(ClientRequest::new("POST", "/c").header("Host", "a"));
    c.write(post, b"x").unwrap();
    c.end(post, None).unwrap();
    assert_eq!(c.conn.in_flight(), 3);
    c.feed(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na\
          HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n\
          HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nc\r\n0\r\n\r\n",
    );
    let heads = responses(&c.events);
    let ids: Vec<RequestId> = heads.iter().map(|h| h.id).collect();
    assert_eq!(ids, [a, b, post]);
    assert_eq!(body(&c.events, a), b"a");
    assert_eq!(body(&c.events, b), b"");
    assert_eq!(body(&c.events, post), b"c");
    let ends: Vec<RequestId> = c
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::End { id, .. } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(ends, [a, b, post]);
    assert_eq!(c.conn.in_flight(), 0);
    assert!(c.conn.is_reusable());
}

/// Node source `lib/_http_client.js` › `responseOnEnd`: a response that ends while its request's
/// body is still being sent must not leave the connection reusable with the body cut short: either
/// the rest of the body can still be sent (Node keeps the request writable) or the connection is
/// closed after the response.
#[test]
fn sending_body_early_response_keeps_framing_in_step() {
    for chunked in [false, true] {
        let mut c = Client::default();
        let mut request = ClientRequest::new("POST", "/").header("Host", "a");
        if !chunked {
            request = request.header("Content-Length", "10");
        }
        let id = c.send(request);
        c.write(id, b"hello").unwrap();
        c.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(names(&c.events)[..2], ["Response(200)", "End"]);
        let finished = c.write(id, b"world").is_ok() && c.end(id, None).is_ok();
        assert!(
            finished || (!c.conn.is_reusable() && c.actions.contains(&Action::Shutdown)),
            "chunked={chunked}: body cut short (finished={finished}) yet reusable={} \
             actions={:?}; wire so far: {:?}",
            c.conn.is_reusable(),
            c.actions,
            String::from_utf8_lossy(&c.wire)
        );
    }
}

/// A request cannot start while the previous one's body is still being sent.
#[test]
fn sending_body_next_request_is_usage_error() {
    let mut c = Client::default();
    let id = c.send(ClientRequest::new("POST", "/").header("Host", "a"));
    c.write(id, b"x").unwrap();
    assert_eq!(
        c.conn.send_request(c.now, ClientRequest::new("GET", "/")),
        Err(usage(UsageError::RequestInProgress))
    );
    c.end(id, None).unwrap();
    c.get();
    assert_eq!(c.conn.in_flight(), 2);
}

/// Response heads carry their offsets in the connection's byte stream; stray CRLFs between
/// responses are skipped.
#[test]
fn pipelined_offsets_follow_the_byte_stream() {
    let mut c = Client::default();
    c.get();
    c.get();
    c.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na\r\nHTTP/1.1 204 No Content\r\n\r\n");
    let heads = responses(&c.events);
    assert_eq!((heads[0].start, heads[0].head_end), (0, 38));
    assert_eq!((heads[1].start, heads[1].head_end), (41, 68));
    let ends: Vec<u64> = c
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::End { end, .. } => Some(*end),
            _ => None,
        })
        .collect();
    assert_eq!(ends, [39, 68]);
}
