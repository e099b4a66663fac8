//! Scenarios of `ServerConnection`, one rule per test, driven by hand through the public API
//! (`docs/node-semantics.md#http-server`).
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test helpers outside #[test] fail the test by panicking"
)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use sansnet_http1::{
    Action, BodyFraming, Error, Headers, ProtocolError, RawHeaders, Request, RequestId, Response,
    ServerConfig, ServerConnection, ServerEvent, UsageError, Version,
};

// ---- harness ----------------------------------------------------------------------------

/// What an HTTP/1.1 keep-alive response carries with the default settings
/// (docs/node-semantics.md#http-keepalive-header).
const KEEP_ALIVE: &str = "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n";

/// A connection, the driver's read buffer, and everything it produced so far.
struct Conn {
    conn: ServerConnection,
    now: Instant,
    start: Instant,
    input: BytesMut,
    events: Vec<ServerEvent>,
    actions: Vec<Action>,
    wire: Vec<u8>,
}

impl Conn {
    fn new(config: ServerConfig) -> Self {
        let now = Instant::now();
        Self {
            conn: ServerConnection::new(now, config),
            now,
            start: now,
            input: BytesMut::new(),
            events: Vec::new(),
            actions: Vec::new(),
            wire: Vec::new(),
        }
    }

    /// The default settings without `Date`, so response bytes are exact.
    fn quiet() -> Self {
        Self::new(quiet())
    }

    /// Appends `bytes` to the read buffer, hands it to the machine and drains its outputs.
    fn feed(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
        self.conn.handle_input(self.now, &mut self.input);
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

    fn respond(&mut self, id: u64, status: u16, body: &'static [u8]) {
        self.conn
            .respond(
                self.now,
                RequestId(id),
                Response::new(status),
                Bytes::from_static(body),
            )
            .unwrap();
        self.drain();
    }

    fn write(&mut self, id: u64, data: &'static [u8]) -> bool {
        let below = self
            .conn
            .write(self.now, RequestId(id), Bytes::from_static(data))
            .unwrap();
        self.drain();
        below
    }

    fn end(&mut self, id: u64, data: Option<&'static [u8]>) {
        self.conn
            .end(self.now, RequestId(id), data.map(Bytes::from_static))
            .unwrap();
        self.drain();
    }

    fn take_events(&mut self) -> Vec<ServerEvent> {
        std::mem::take(&mut self.events)
    }

    fn take_actions(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.actions)
    }

    fn take_wire(&mut self) -> String {
        String::from_utf8(std::mem::take(&mut self.wire)).unwrap()
    }
}

fn quiet() -> ServerConfig {
    ServerConfig {
        send_date: false,
        ..ServerConfig::default()
    }
}

fn request(event: &ServerEvent) -> &Request {
    match event {
        ServerEvent::Request(request) => request,
        other => panic!("expected Request, got {other:?}"),
    }
}

fn data(id: u64, bytes: &'static [u8]) -> ServerEvent {
    ServerEvent::Data {
        id: RequestId(id),
        data: Bytes::from_static(bytes),
    }
}

fn end_event(id: u64, end: usize) -> ServerEvent {
    ServerEvent::End {
        id: RequestId(id),
        trailers: RawHeaders::new(),
        end: u64::try_from(end).unwrap(),
    }
}

/// The ids of the `Request` events, in order.
fn request_ids(events: &[ServerEvent]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Request(r) => Some(r.id.0),
            _ => None,
        })
        .collect()
}

fn count_close(events: &[ServerEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, ServerEvent::Close))
        .count()
}

/// Feeds `input` to a fresh connection and checks Node's default client-error answer: exactly
/// `ClientError(expected)` then `Close`, the reply bytes on the wire, and `Shutdown`.
fn assert_client_error(config: ServerConfig, input: &[u8], expected: ProtocolError, reply: &str) {
    let mut c = Conn::new(config);
    c.feed(input);
    assert_eq!(
        c.take_events(),
        vec![
            ServerEvent::ClientError(Error::Protocol(expected)),
            ServerEvent::Close
        ],
        "input {:?}",
        String::from_utf8_lossy(input)
    );
    assert_eq!(c.take_wire(), reply);
    assert_eq!(c.take_actions(), vec![Action::Shutdown]);
    assert!(!c.conn.wants_read());
    assert!(c.conn.is_closed());
}

const BAD_REQUEST: &str = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";

// ---- request bodies ---------------------------------------------------------------------

/// RFC 9112 §6.3 items 6–7: a request with neither `Content-Length` nor `Transfer-Encoding` has no
/// body: `Request` then `End` at once.
#[test]
fn head_without_body_headers_emits_request_then_end() {
    let mut c = Conn::quiet();
    let input = b"GET /x?y=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
    c.feed(input);
    let events = c.take_events();
    assert_eq!(events.len(), 2);
    let r = request(&events[0]);
    assert_eq!(r.id, RequestId(0));
    assert_eq!(&r.method[..], b"GET");
    assert_eq!(&r.target[..], b"/x?y=1");
    assert_eq!(r.version, Version::Http11);
    assert_eq!(r.framing, BodyFraming::None);
    assert!(r.keep_alive);
    assert!(!r.expect_continue);
    assert_eq!(r.start, 0);
    assert_eq!(r.head_end, u64::try_from(input.len()).unwrap());
    assert_eq!(
        r.headers,
        Headers::new()
            .with("Host", "example.com")
            .with("Accept", "*/*")
    );
    assert_eq!(events[1], end_event(0, input.len()));
    assert!(c.input.is_empty());
    assert!(c.take_wire().is_empty());
}

/// docs/node-semantics.md#http-body-invalid-length, RFC 9112 §6.3 item 5: a `Content-Length` body
/// arrives as `Request`, `Data`..., `End`, in that order, split as it was read.
#[test]
fn head_content_length_body_emits_request_data_end() {
    let mut c = Conn::quiet();
    let head = b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n";
    let mut first = head.to_vec();
    first.extend_from_slice(b"hel");
    c.feed(&first);
    c.feed(b"lo");
    let events = c.take_events();
    assert_eq!(events.len(), 4, "{events:?}");
    let r = request(&events[0]);
    assert_eq!(r.framing, BodyFraming::ContentLength(5));
    assert_eq!(r.head_end, u64::try_from(head.len()).unwrap());
    assert_eq!(events[1], data(0, b"hel"));
    assert_eq!(events[2], data(0, b"lo"));
    assert_eq!(events[3], end_event(0, head.len() + 5));
    assert!(c.input.is_empty());
}

/// RFC 9112 §6.3 item 3, §7.1: a chunked body arrives as `Data` per chunk, and `End` carries the
/// trailers (names as sent, values trimmed).
#[test]
fn head_chunked_body_with_trailers_emits_data_then_end_with_trailers() {
    let mut c = Conn::quiet();
    let input: &[u8] = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;name=val\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\nX-Other:  def \r\n\r\n";
    c.feed(input);
    let events = c.take_events();
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(request(&events[0]).framing, BodyFraming::Chunked);
    assert_eq!(events[1], data(0, b"hello"));
    assert_eq!(events[2], data(0, b" world"));
    assert_eq!(
        events[3],
        ServerEvent::End {
            id: RequestId(0),
            trailers: Headers::new()
                .with("X-Checksum", "abc")
                .with("X-Other", "def")
                .into(),
            end: u64::try_from(input.len()).unwrap(),
        }
    );
    assert!(c.input.is_empty());
}

/// RFC 9112 §7.1: chunk sizes are hex of any length (leading zeros) and extensions are reported
/// with `chunk_events`.
#[test]
fn chunked_size_with_leading_zeros_and_extensions_is_accepted() {
    let mut c = Conn::new(ServerConfig {
        chunk_events: true,
        ..quiet()
    });
    c.feed(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
        00000000000000000000000000000A;a=1;b=\"q v\";c\r\n0123456789\r\n0\r\n\r\n",
    );
    let events = c.take_events();
    assert_eq!(events.len(), 5, "{events:?}");
    assert_eq!(
        events[1],
        ServerEvent::Chunk {
            id: RequestId(0),
            size: 10,
            extensions: vec![
                (Bytes::from_static(b"a"), Some(Bytes::from_static(b"1"))),
                (
                    Bytes::from_static(b"b"),
                    Some(Bytes::from_static(b"\"q v\""))
                ),
                (Bytes::from_static(b"c"), None),
            ],
        }
    );
    assert_eq!(events[2], data(0, b"0123456789"));
    assert!(matches!(events[3], ServerEvent::Chunk { size: 0, .. }));
    assert!(matches!(events[4], ServerEvent::End { .. }));
}

/// Node docs `http.md` › `server.maxHeadersCount`: header lines past `maxHeadersCount` are dropped
/// silently, not rejected.
#[test]
fn head_over_max_headers_count_drops_extra_lines() {
    let mut c = Conn::new(ServerConfig {
        max_headers_count: 2,
        ..quiet()
    });
    c.feed(b"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
    let events = c.take_events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        request(&events[0]).headers,
        Headers::new().with("Host", "x").with("A", "1")
    );
}

// ---- keep-alive -------------------------------------------------------------------------

/// docs/node-semantics.md#http-persistence, #http-keepalive-header: HTTP/1.1 persists by default;
/// the response says `keep-alive` with `Keep-Alive: timeout=5` and the connection stays open.
#[test]
fn idle_http11_request_response_keeps_connection_alive() {
    let mut c = Conn::quiet();
    c.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.respond(0, 200, b"ok");
    assert_eq!(
        c.take_wire(),
        format!("HTTP/1.1 200 OK\r\n{KEEP_ALIVE}Content-Length: 2\r\n\r\nok")
    );
    assert!(c.take_actions().is_empty());
    assert_eq!(count_close(&c.take_events()), 0);
    assert!(c.conn.wants_read());
    c.feed(b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(request_ids(&c.take_events()), vec![1]);
}

/// docs/node-semantics.md#http-keepalive-header: `Keep-Alive: timeout=` is
/// `floor(keepAliveTimeout / 1000)`.
#[test]
fn idle_keep_alive_timeout_setting_sets_keep_alive_header() {
    let mut c = Conn::new(ServerConfig {
        keep_alive_timeout: Some(Duration::from_millis(65_900)),
        ..quiet()
    });
    c.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.respond(0, 200, b"");
    assert_eq!(
        c.take_wire(),
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=65\r\n\
         Content-Length: 0\r\n\r\n"
    );
}

/// RFC 9112 §9.3: HTTP/1.0 without `keep-alive` closes after the response (`Shutdown`, then
/// `Close`).
#[test]
fn idle_http10_request_closes_after_response() {
    let mut c = Conn::quiet();
    c.feed(b"GET / HTTP/1.0\r\n\r\n");
    let events = c.take_events();
    assert!(!request(&events[0]).keep_alive);
    assert_eq!(request(&events[0]).version, Version::Http10);
    assert!(c.take_actions().is_empty());
    c.respond(0, 200, b"ok");
    assert_eq!(
        c.take_wire(),
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    );
    assert_eq!(c.take_actions(), vec![Action::Shutdown]);
    assert_eq!(c.take_events(), vec![ServerEvent::Close]);
}

/// docs/node-semantics.md#http-persistence, #http-keepalive-header: HTTP/1.0 with
/// `Connection: keep-alive` persists.
#[test]
fn idle_http10_keep_alive_request_keeps_connection_alive() {
    let mut c = Conn::quiet();
    c.feed(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert!(request(&c.take_events()[0]).keep_alive);
    c.respond(0, 200, b"ok");
    assert_eq!(
        c.take_wire(),
        format!("HTTP/1.1 200 OK\r\n{KEEP_ALIVE}Content-Length: 2\r\n\r\nok")
    );
    assert!(c.take_actions().is_empty());
    assert!(c.conn.wants_read());
}

/// docs/node-semantics.md#http10-close-delimited: a streamed response to HTTP/1.0 is
/// close-delimited (no `Content-Length`, no chunked) and says `Connection: close`.
#[test]
fn idle_http10_streamed_response_is_close_delimited() {
    let mut c = Conn::quiet();
    c.feed(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    c.conn
        .send_response(c.now, RequestId(0), Response::new(200))
        .unwrap();
    c.write(0, b"abc");
    c.end(0, Some(b"de"));
    assert_eq!(
        c.take_wire(),
        "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabcde"
    );
    assert_eq!(c.take_actions(), vec![Action::Shutdown]);
    assert_eq!(count_close(&c.take_events()), 1);
}

/// RFC 9112 §9.3: `Connection: close` from the client closes after the response.
#[test]
fn idle_request_connection_close_closes_after_response() {
    let mut c = Conn::quiet();
    c.feed(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(!request(&c.take_events()[0]).keep_alive);
    assert!(!c.conn.wants_read());
    c.respond(0, 200, b"ok");
    assert_eq!(
        c.take_wire(),
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    );
    assert_eq!(c.take_actions(), vec![Action::Shutdown]);
    assert_eq!(c.take_events(), vec![ServerEvent::Close]);
}

/// RFC 9112 §9.3: `Connection: close` set by the application closes after the response.
#[test]
fn idle_response_connection_close_closes_after_response() {
    let mut c = Conn::quiet();
    c.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.take_events();
    c.conn
        .respond(
            c.now,
            RequestId(0),
            Response::new(200).header("Connection", "close"),
            Bytes::from_static(b"ok"),
        )
        .unwrap();
    c.drain();
    assert_eq!(
        c.take_wire(),
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    );
    assert_eq!(c.take_actions(), vec![Action::Shutdown]);
    assert_eq!(c.take_events(), vec![ServerEvent::Close]);
}

/// docs/node-semantics.md#http-data-after-close: bytes after a `Connection: close` request are
/// never parsed as a request; they stay in the driver's buffer.
#[test]
fn connection_close_request_following_bytes_are_never_parsed() {
    let mut c = Conn::quiet();
    let second = b"GET /evil HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut input = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec();
    input.extend_from_slice(second);
    c.feed(&input);
    assert_eq!(request_ids(&c.take_events()), vec![0]);
    assert_eq!(&c.input[..], &second[..]);
    c.respond(0, 200, b"");
    c.feed(b"");
    let events = c.take_events();
    assert!(request_ids(&events).is_empty(), "{events:?}");
    assert_eq!(events, vec![ServerEvent::Close]);
    assert_eq!(c.take_actions(), vec![Action::Shutdown]);
}

// ---- pipelining -------------------------------------------------------------------------

/// docs/node-semantics.md#http-pipelining, #http-response-order: three pipelined requests in one
/// read are all emitted at once; answered out of order, their responses leave in request order,
/// each held until the earlier ones finish.
#[test]
fn idle_three_pipelined_requests_answered_out_of_order_leave_in_order() {
    let mut c = Conn::quiet();
    c.feed(
        b"GET /0 HTTP/1.1\r\nHost: x\r\n\r\nGET /1 HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /2 HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let events = c.take_events();
    assert_eq!(request_ids(&events), vec![0, 1, 2]);
    let targets: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Request(r) => Some(r.target.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(targets, vec!["/0", "/1", "/2"]);
    c.respond(2, 200, b"two");
    c.respond(1, 200, b"one");
    assert!(c.take_wire().is_empty());
    assert_eq!(c.conn.pending_responses(), 3);
    c.respond(0, 200, b"zero");
    assert_eq!(
        c.take_wire(),
        format!(
            "HTTP/1.1 200 OK\r\n{KEEP_ALIVE}Content-Length: 4\r\n\r\nzero\
             HTTP/1.1 200 OK\r\n{KEEP_ALIVE}Content-Length: 3\r\n\r\none\
             HTTP/1.1 200 OK\r\n{KEEP_ALIVE}Content-Length: 3\r\n\r\ntwo"
        )
    );
    assert_eq!(c.conn.pending_responses(), 0);
    assert!(c.take_actions().is_empty());
}

/// RFC 9112 §9.3.2: a later response streamed while an earlier one is still open is held whole and
/// follows it.
#[test]
fn pipelined_streamed_later_response_is_held_until_earlier_finishes() {
    let mut c = Conn::quiet();
    c.feed(b"GET /0 HTTP/1.1\r\nHost: x\r\n\r\nGET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    c.conn
        .send_response(c.now, RequestId(0), Response::new(200))
        .unwrap();
    c.write(0, b"a");
    c.conn
        .send_response(c.now, RequestId(1), Response::new(200))
        .unwrap();
    c.write(1, b"b");
    c.end(1, None);
    let first = c.take_wire();
    assert_eq!(
        first,
        format!("HTTP/1.1 200 OK\r\n{KEEP_ALIVE}Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n")
    );
    c.end(0, None);
    assert_eq!(
        c.take_wire(),
        format!(
            "0\r\n\r\nHTTP/1.1 200 OK\r\n{KEEP_ALIVE}Transfer-Encoding: chunked\r\n\r\n\
             1\r\nb\r\n0\r\n\r\n"
        )
    );
}

/// docs/node-semantics.md#http-read-backpressure: reading pauses once `max_pipelined` requests wait
/// for responses (the rest stays in the driver's buffer) and resumes as responses finish.
#[test]
fn pipelined_at_max_pipelined_pauses_reading_until_a_response_finishes() {
    let mut c = Conn::new(ServerConfig {
        max_pipelined: 2,
        ..quiet()
    });
    let third = b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut input =
        b"GET /0 HTTP/1.1\r\nHost: x\r\n\r\nGET /1 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    input.extend_from_slice(third);
    c.feed(&input);
    assert_eq!(request_ids(&c.take_events()), vec![0, 1]);
    assert!(!c.conn.wants_read());
    assert_eq!(&c.input[..], &third[..]);
    c.respond(1, 200, b"");
    assert!(
        !c.conn.wants_read(),
        "request 1 answered, still held behind 0"
    );
    c.respond(0, 200, b"");
    assert!(c.conn.wants_read());
    c.feed(b"");
    assert_eq!(request_ids(&c.take_events()), vec![2]);
    assert!(c.input.is_empty());
}

/// docs/node-semantics.md#http-read-backpressure: reading pauses while queued response bytes are at
/// the high-water mark; `write` returns false, and `Drain` comes when they are written.
#[test]
fn streaming_response_at_high_water_mark_pauses_reading_until_drain() {
    let now = Instant::now();
    let mut conn = ServerConnection::new(
        now,
        ServerConfig {
            high_water_mark: 64,
            ..quiet()
        },
    );
    let second = b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut input = BytesMut::from(&b"GET /0 HTTP/1.1\r\nHost: x\r\n\r\n"[..]);
    conn.handle_input(now, &mut input);
    while conn.poll_event().is_some() {}
    conn.send_response(now, RequestId(0), Response::new(200))
        .unwrap();
    assert!(
        !conn
            .write(now, RequestId(0), Bytes::from(vec![b'a'; 100]))
            .unwrap()
    );
    assert!(!conn.wants_read());
    input.extend_from_slice(second);
    conn.handle_input(now, &mut input);
    assert_eq!(conn.poll_event(), None);
    assert_eq!(&input[..], &second[..]);
    while conn.pop_transmit(now).is_some() {}
    assert_eq!(conn.poll_event(), Some(ServerEvent::Drain));
    assert!(conn.wants_read());
    conn.handle_input(now, &mut input);
    assert!(matches!(conn.poll_event(), Some(ServerEvent::Request(r)) if r.id == RequestId(1)));
}

/// `req.pause()` and `req.resume()` (Node docs: stream.md › readable.pause(), and
/// readable.pipe(), which pauses the source while the destination is full): while paused the
/// machine parses nothing (the rest of the body stays in the driver's buffer) and asks the
/// driver not to read; `resume` goes on from where it stopped, and nothing is lost.
#[test]
fn body_paused_by_the_application_waits_in_the_buffer_until_resume() {
    let mut c = Conn::quiet();
    let head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n";
    let mut first = head.to_vec();
    first.extend_from_slice(b"01234");
    c.feed(&first);
    let events = c.take_events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1], data(0, b"01234"));

    c.conn.pause();
    assert!(c.conn.is_paused());
    assert!(
        !c.conn.wants_read(),
        "a paused connection asks the driver not to read"
    );
    c.feed(b"56789GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(c.take_events(), [], "nothing is parsed while paused");
    assert_eq!(&c.input[..5], b"56789");

    c.conn.resume();
    assert!(!c.conn.is_paused());
    assert!(c.conn.wants_read());
    c.feed(b"");
    let events = c.take_events();
    assert_eq!(events[0], data(0, b"56789"));
    assert_eq!(events[1], end_event(0, head.len() + 10));
    assert_eq!(request(&events[2]).target, &b"/next"[..]);
}

// ---- maxRequestsPerSocket ---------------------------------------------------------------

/// docs/node-semantics.md#http-keepalive-header, #http-max-requests-per-socket: with
/// `maxRequestsPerSocket = 2` the first response says `max=2`, the second carries
/// `Connection: close` without ending the connection (Node's `_last` stays false), and a request
/// that still comes gets `DropRequest`, 503 and the close.
#[test]
fn max_requests_per_socket_nth_response_carries_connection_close() {
    let mut c = Conn::new(ServerConfig {
        max_requests_per_socket: Some(2),
        ..quiet()
    });
    c.feed(b"GET /0 HTTP/1.1\r\nHost: x\r\n\r\n");
    c.respond(0, 200, b"");
    assert_eq!(
        c.take_wire(),
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5, max=2\r\n\
         Content-Length: 0\r\n\r\n"
    );
    assert!(c.take_actions().is_empty());
    c.feed(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    c.respond(1, 200, b"");
    assert_eq!(
        c.take_wire(),
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    assert!(
        c.take_actions().is_empty(),
        "the connection stays, as in Node"
    );
    c.feed(b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
    let events = c.take_events();
    assert!(
        matches!(events.iter().rev().nth(1), Some(ServerEvent::DropRequest(r)) if &r.target[..] == b"/2"),
        "{events:?}"
    );
    assert_eq!(count_close(&events), 1);
    assert_eq!(
        c.take_wire(),
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(c.take_actions(), vec![Action::Shutdown]);
}

/// Node docs `http.md` › `server.maxRequestsPerSocket`: a request pipelined past
/// `maxRequestsPerSocket` emits `DropRequest` (never `Request`) and gets 503 after the N-th
/// response, as Node's `parserOnIncoming` does.
#[test]
fn max_requests_per_socket_pipelined_extra_request_emits_drop_request_and_503() {
    let mut c = Conn::new(ServerConfig {
        max_requests_per_socket: Some(2),
        ..quiet()
    });
    c.feed(
        b"GET /0 HTTP/1.1\r\nHost: x\r\n\r\nGET /1 HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /2 HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let events = c.take_events();
    assert_eq!(request_ids(&events), vec![0, 1], "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ServerEvent::DropRequest(r) if r.id == RequestId(2))),
        "no DropRequest for the third request: {events:?}"
    );
    c.respond(0, 200, b"");
    c.respond(1, 200, b"");
    assert_eq!(
        c.take_wire(),
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5, max=2\r\n\
         Content-Length: 0\r\n\r\n\
         HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n\
         HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
}

// ---- Expect -----------------------------------------------------------------------------

/// Node docs `http.md` › `Event: 'checkContinue'`: without a `checkContinue` listener,
/// `100 Continue` goes out at once, before the application answers, and `Request` is emitted.
#[test]
fn expect_continue_without_listener_queues_100_then_emits_request() {
    let mut c = Conn::quiet();
    c.feed(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    let events = c.take_events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(request(&events[0]).expect_continue);
    assert_eq!(c.take_wire(), "HTTP/1.1 100 Continue\r\n\r\n");
    c.feed(b"abc");
    assert_eq!(c.take_events(), vec![data(0, b"abc"), end_event(0, 72)]);
    c.respond(0, 200, b"ok");
    assert_eq!(
        c.take_wire(),
        format!("HTTP/1.1 200 OK\r\n{KEEP_ALIVE}Content-Length: 2\r\n\r\nok")
    );
}

/// Node docs `http.md` › `Event: 'checkContinue'`, `response.writeContinue()`: with a listener,
/// `CheckContinue` replaces `Request`, nothing is written until `send_continue`, which writes
/// the 100.
#[test]
fn expect_continue_with_listener_emits_check_continue_and_send_continue_writes_100() {
    let mut c = Conn::new(ServerConfig {
        check_continue: true,
        ..quiet()
    });
    c.feed(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    let events = c.take_events();
    assert_eq!(events.len(), 1, "{events:?}");
    let ServerEvent::CheckContinue(r) = &events[0] else {
        panic!("expected CheckContinue, got {events:?}");
    };
    assert!(r.expect_continue);
    assert!(c.take_wire().is_empty());
    c.conn.send_continue(c.now, RequestId(0)).unwrap();
    c.drain();
    assert_eq!(c.take_wire(), "HTTP/1.1 100 Continue\r\n\r\n");
    c.feed(b"abc");
    assert_eq!(c.take_events(), vec![data(0, b"abc"), end_event(0, 72)]);
    c.respond(0, 200, b"");
    assert_eq!(
        c.take_wire(),
        format!("HTTP/1.1 200 OK\r\n{KEEP_ALIVE}Content-Length: 0\r\n\r\n")
    );
    assert!(c.take_actions().is_empty());
}

/// Node docs `http.md` › `response.writeContinue()`: a final response sent to a `CheckContinue`
/// request without a prior 100 makes the connection close after it (Node's `writeHead` clears
/// `shouldKeepAlive`).
#[test]
fn check_continue_final_response_without_100_closes_after_response() {
    let mut c = Conn::new(ServerConfig {
        check_continue: true,
        ..quiet()
    });
    c.feed(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    c.take_events();
    c.respond(0, 413, b"");
    assert_eq!(
        c.take_wire(),
        "HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(c.take_actions(), vec![Action::Shutdown]);
    assert_eq!(count_close(&c.take_events()), 1);
}

/// Node docs `http.md` › `Event: 'checkExpectation'`: an `Expect` other than `100-continue` gets
/// 417 without `Request`; its body is skipped and the connection carries on.
#[test]
fn expect_other_value_answers_417_without_request() {
    let mut c = Conn::quiet();
    c.feed(
        b"PUT / HTTP/1.1\r\nHost: x\r\nExpect: the-unexpected\r\nContent-Length: 3\r\n\r\nabc\
          GET /next HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let events = c.take_events();
    assert_eq!(request_ids(&events), vec![1], "{events:?}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ServerEvent::Data { id, .. } if *id == RequestId(0)))
    );
    let wire = c.take_wire();
    assert!(
        wire.starts_with("HTTP/1.1 417 Expectation Failed\r\n"),
        "{wire}"
    );
    assert!(wire.contains("Content-Length: 0\r\n\r\n"), "{wire}");
    assert!(!wire.contains("Connection: close"), "{wire}");
    c.respond(1, 200, b"");
    assert!(c.take_actions().is_empty());
}

/// RFC 9110 §10.1.1, §15.2: `Expect: 100-continue` on HTTP/1.0 is ignored: `Request` (not
/// `CheckContinue`), no 100, and no 1xx of any kind is written to it.
#[test]
fn http10_expect_continue_is_ignored_and_gets_no_1xx() {
    let mut c = Conn::new(ServerConfig {
        check_continue: true,
        ..quiet()
    });
    c.feed(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
    let events = c.take_events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(!request(&events[0]).expect_continue);
    c.conn.send_continue(c.now, RequestId(0)).unwrap();
    c.conn
        .send_informational(c.now, RequestId(0), &Response::new(102))
        .unwrap();
    c.drain();
    assert!(c.take_wire().is_empty());

    let mut c = Conn::quiet();
    c.feed(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
    assert_eq!(request_ids(&c.take_events()), vec![0]);
    assert!(c.take_wire().is_empty());
}

// ---- CONNECT and Upgrade ----------------------------------------------------------------

/// docs/node-semantics.md#http-connect-event, #http-upgrade-head: CONNECT with a listener emits
/// `Connect` with exactly the bytes after the head, asks for `HandOver`, and writes nothing.
#[test]
fn connect_with_listener_hands_over_with_bytes_after_head() {
    let mut c = Conn::new(ServerConfig {
        connect: true,
        ..quiet()
    });
    c.feed(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n\x16\x03\x01GET / HTTP/1.1\r\n");
    let events = c.take_events();
    assert_eq!(events.len(), 1, "{events:?}");
    let ServerEvent::Connect { request, head } = &events[0] else {
        panic!("expected Connect, got {events:?}");
    };
    assert_eq!(&request.method[..], b"CONNECT");
    assert_eq!(&request.target[..], b"example.com:443");
    assert_eq!(&head[..], b"\x16\x03\x01GET / HTTP/1.1\r\n");
    assert!(c.input.is_empty());
    assert_eq!(c.take_actions(), vec![Action::HandOver]);
    assert!(c.take_wire().is_empty());
    assert!(!c.conn.wants_read());
    c.feed(b"more tunnel bytes");
    assert!(c.take_events().is_empty());
    assert_eq!(&c.input[..], b"more tunnel bytes");
}

/// docs/node-semantics.md#http-upgrade-head: `head` may be empty.
#[test]
fn connect_with_listener_and_nothing_after_head_has_empty_head() {
    let mut c = Conn::new(ServerConfig {
        connect: true,
        ..quiet()
    });
    c.feed(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    let events = c.take_events();
    assert!(
        matches!(&events[..], [ServerEvent::Connect { head, .. }] if head.is_empty()),
        "{events:?}"
    );
    assert_eq!(c.take_actions(), vec![Action::HandOver]);
}

/// Node docs `http.md` › `Event: 'connect'`: CONNECT without a listener destroys the connection
/// with no response.
#[test]
fn connect_without_listener_destroys_without_response() {
    let mut c = Conn::quiet();
    c.feed(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    assert_eq!(c.take_events(), vec![ServerEvent::Close]);
    assert_eq!(c.take_actions(), vec![Action::Close { reset: false }]);
    assert!(c.take_wire().is_empty());
}

/// docs/node-semantics.md#http-upgrade-event, #http-upgrade-head: an upgrade request with a
/// listener emits `Upgrade` (not `Request`) with the bytes after the request, and hands the
/// connection over.
#[test]
fn upgrade_with_listener_hands_over_with_bytes_after_head() {
    let mut c = Conn::new(ServerConfig {
        upgrade: true,
        ..quiet()
    });
    c.feed(
        b"GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
    );
    let events = c.take_events();
    assert!(request_ids(&events).is_empty(), "{events:?}");
    let Some(ServerEvent::Upgrade { request, head }) = events.last() else {
        panic!("expected Upgrade last, got {events:?}");
    };
    assert_eq!(&request.target[..], b"/chat");
    assert_eq!(&head[..], b"\x81\x05hello");
    assert_eq!(c.take_actions(), vec![Action::HandOver]);
    assert!(c.take_wire().is_empty());
    assert!(c.input.is_empty());
}

/// Node docs `http.md` › `Event: 'upgrade'`: without an `upgrade` listener, an upgrade request is
/// an ordinary request.
#[test]
fn upgrade_without_listener_is_an_ordinary_request() {
    let mut c = Conn::quiet();
    c.feed(b"GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    let events = c.take_events();
    assert_eq!(request_ids(&events), vec![0]);
    assert!(matches!(events[1], ServerEvent::End { .. }));
    assert!(c.take_actions().is_empty());
    c.respond(0, 200, b"");
    assert!(c.take_wire().starts_with("HTTP/1.1 200 OK\r\n"));
    assert!(c.conn.wants_read());
}

/// RFC 9110 §7.8: `Upgrade` on HTTP/1.0 is ignored even with a listener.
#[test]
fn upgrade_in_http10_is_an_ordinary_request() {
    let mut c = Conn::new(ServerConfig {
        upgrade: true,
        ..quiet()
    });
    c.feed(b"GET / HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    assert_eq!(request_ids(&c.take_events()), vec![0]);
    assert!(c.take_actions().is_empty());
}

// ---- client errors ----------------------------------------------------------------------

/// docs/node-semantics.md#http-duplicate-content-length: `Content-Length` with `Transfer-Encoding`
/// gets 400 and close.
#[test]
fn head_content_length_with_transfer_encoding_gets_400() {
    assert_client_error(
        quiet(),
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
        ProtocolError::ContentLengthWithTransferEncoding,
        BAD_REQUEST,
    );
}

/// docs/node-semantics.md#http-duplicate-content-length: a second `Content-Length` line gets 400
/// even when equal.
#[test]
fn head_duplicate_content_length_gets_400() {
    assert_client_error(
        quiet(),
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        ProtocolError::DuplicateContentLength,
        BAD_REQUEST,
    );
}

/// RFC 9112 §6.3 item 4: a `Transfer-Encoding` that does not end in `chunked` gets 400 and close.
#[test]
fn head_transfer_encoding_not_ending_in_chunked_gets_400() {
    for te in ["gzip", "chunked, gzip", "chunked, chunked", ""] {
        assert_client_error(
            quiet(),
            format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {te}\r\n\r\n").as_bytes(),
            ProtocolError::InvalidTransferEncoding,
            BAD_REQUEST,
        );
    }
}

/// RFC 9112 §6.3 item 5: a `Content-Length` that is not one decimal number gets 400 and close.
#[test]
fn head_invalid_content_length_gets_400() {
    for cl in [
        "3a",
        "+3",
        "-1",
        "3, 3",
        "0x10",
        "",
        "99999999999999999999999",
    ] {
        assert_client_error(
            quiet(),
            format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {cl}\r\n\r\n").as_bytes(),
            ProtocolError::InvalidContentLength,
            BAD_REQUEST,
        );
    }
}

/// RFC 9112 §5.1, §5.2, §2.2: a line ending in a bare LF gets 400 and close.
#[test]
fn head_bare_lf_gets_400() {
    assert_client_error(
        quiet(),
        b"GET / HTTP/1.1\nHost: x\n\n",
        ProtocolError::BareLineFeed,
        BAD_REQUEST,
    );
    assert_client_error(
        quiet(),
        b"GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n",
        ProtocolError::BareLineFeed,
        BAD_REQUEST,
    );
}

/// RFC 9112 §5.1, §5.2, §2.2: a bare CR gets 400 and close.
#[test]
fn head_bare_cr_gets_400() {
    let mut c = Conn::quiet();
    c.feed(b"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n");
    let events = c.take_events();
    assert!(
        matches!(&events[..], [ServerEvent::ClientError(e), ServerEvent::Close] if e.status_hint() == Some(400)),
        "{events:?}"
    );
    assert_eq!(c.take_wire(), BAD_REQUEST);
}

/// RFC 9112 §5.1, §5.2, §2.2: whitespace between a field name and the colon gets 400 and close.
#[test]
fn head_space_before_colon_gets_400() {
    assert_client_error(
        quiet(),
        b"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
        ProtocolError::InvalidHead,
        BAD_REQUEST,
    );
}

/// RFC 9112 §5.1, §5.2, §2.2: an obs-fold line gets 400 and close.
#[test]
fn head_obs_fold_gets_400() {
    assert_client_error(
        quiet(),
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n  b\r\n\r\n",
        ProtocolError::InvalidHead,
        BAD_REQUEST,
    );
}

/// Node docs `http.md` › `http.createServer()`: an HTTP/1.1 request without `Host` gets 400 and
/// close.
#[test]
fn head_http11_without_host_gets_400() {
    assert_client_error(
        quiet(),
        b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
        ProtocolError::InvalidHost,
        BAD_REQUEST,
    );
}

/// RFC 9112 §3.2: several `Host` lines or an invalid `Host` value get 400 and close.
#[test]
fn head_duplicate_or_invalid_host_gets_400() {
    for hosts in [
        "Host: a\r\nHost: a\r\n",
        "Host: a\r\nHost: b\r\n",
        "Host: a b\r\n",
        "Host: a/b\r\n",
        "Host: a:8x\r\n",
        "Host: [::1\r\n",
    ] {
        assert_client_error(
            quiet(),
            format!("GET / HTTP/1.1\r\n{hosts}\r\n").as_bytes(),
            ProtocolError::InvalidHost,
            BAD_REQUEST,
        );
    }
}

/// Node docs `http.md` › `http.createServer()`: `require_host_header: false` accepts an HTTP/1.1
/// request without `Host`, and HTTP/1.0 never needs one.
#[test]
fn head_without_host_is_accepted_when_not_required_or_http10() {
    let mut c = Conn::new(ServerConfig {
        require_host_header: false,
        ..quiet()
    });
    c.feed(b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(request_ids(&c.take_events()), vec![0]);
    let mut c = Conn::quiet();
    c.feed(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(request_ids(&c.take_events()), vec![0]);
}

/// docs/node-semantics.md#http-max-header-size, #http-client-error-default: a head over
/// `maxHeaderSize` (16 KiB) gets 431, whether it is still coming or complete.
#[test]
fn head_over_max_header_size_gets_431() {
    let reply = "HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n";
    let mut unfinished = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    unfinished.extend(std::iter::repeat_n(b'a', 17 * 1024));
    assert_client_error(quiet(), &unfinished, ProtocolError::HeadTooLarge, reply);
    let mut complete = unfinished.clone();
    complete.extend_from_slice(b"\r\n\r\n");
    assert_client_error(quiet(), &complete, ProtocolError::HeadTooLarge, reply);
    // Fed in pieces, the limit trips once the buffered part passes it.
    let mut c = Conn::quiet();
    for piece in unfinished.chunks(1000) {
        c.feed(piece);
        if c.conn.wants_read() {
            assert!(c.input.len() <= 16 * 1024);
        }
    }
    assert_eq!(
        c.take_events(),
        vec![
            ServerEvent::ClientError(Error::Protocol(ProtocolError::HeadTooLarge)),
            ServerEvent::Close
        ]
    );
}

/// Node source `lib/_http_server.js` › `socketOnError`; RFC 9112 §7.1: chunk extensions longer than
/// the limit get 413 and close (after the response the application owes for the request, per
/// `ClientError`'s contract).
#[test]
fn chunked_extensions_over_limit_get_413() {
    let mut c = Conn::quiet();
    let mut input = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;".to_vec();
    input.extend(std::iter::repeat_n(b'e', 17 * 1024));
    c.feed(&input);
    let events = c.take_events();
    assert_eq!(request_ids(&events), vec![0]);
    assert_eq!(
        events[1..],
        [ServerEvent::ClientError(Error::Protocol(
            ProtocolError::ChunkExtensionsTooLarge
        ))]
    );
    c.end(0, None);
    let wire = c.take_wire();
    assert!(
        wire.ends_with("HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\n\r\n"),
        "{wire}"
    );
    assert_eq!(c.take_actions(), vec![Action::Shutdown]);
    assert_eq!(c.take_events(), vec![ServerEvent::Close]);
}

/// RFC 9112 §7.1: a chunk size that is not hex, or overflows, gets a 400 client error.
#[test]
fn chunked_invalid_size_gets_400() {
    for size in ["zz", "-1", " 5", "ffffffffffffffffff"] {
        let mut c = Conn::quiet();
        c.feed(
            format!("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\n")
                .as_bytes(),
        );
        let events = c.take_events();
        assert_eq!(
            events[1..],
            [ServerEvent::ClientError(Error::Protocol(
                ProtocolError::InvalidChunkSize
            ))],
            "size {size:?}"
        );
        c.end(0, None);
        assert!(c.take_wire().ends_with(BAD_REQUEST));
        assert_eq!(c.take_events(), vec![ServerEvent::Close]);
    }
}

// ---- timeouts ---------------------------------------------------------------------------

/// Node docs `http.md` › `server.headersTimeout`: a head still incomplete at `headersTimeout` gets
/// 408 at exactly the deadline.
#[test]
fn head_partial_at_headers_timeout_gets_408() {
    let mut c = Conn::quiet();
    c.feed(b"GET / HTTP/1.1\r\nHo");
    let deadline = c.start + Duration::from_secs(60);
    assert_eq!(c.conn.poll_timeout(), Some(deadline));
    c.timeout_at(Duration::from_secs(60) - Duration::from_nanos(1));
    assert!(c.take_events().is_empty());
    assert!(c.take_wire().is_empty());
    c.timeout_at(Duration::from_secs(60));
    assert_eq!(
        c.take_events(),
        vec![
            ServerEvent::ClientError(Error::Protocol(ProtocolError::RequestTimeout)),
            ServerEvent::Close
        ]
    );
    assert_eq!(
        c.take_wire(),
        "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(c.take_actions(), vec![Action::Shutdown]);
    assert_eq!(c.conn.poll_timeout(), None);
}

/// Node docs `http.md` › `server.headersTimeout`: a body still incomplete at `requestTimeout` is a
/// 408 client error at exactly the deadline.
#[test]
fn body_partial_at_request_timeout_gets_408() {
    let mut c = Conn::new(ServerConfig {
        request_timeout: Some(Duration::from_secs(100)),
        ..quiet()
    });
    c.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    assert_eq!(request_ids(&c.take_events()), vec![0]);
    assert_eq!(
        c.conn.poll_timeout(),
        Some(c.start + Duration::from_secs(100))
    );
    c.timeout_at(Duration::from_secs(100) - Duration::from_nanos(1));
    assert!(c.take_events().is_empty());
    c.timeout_at(Duration::from_secs(100));
    assert_eq!(
        c.take_events(),
        vec![ServerEvent::ClientError(Error::Protocol(
            ProtocolError::RequestTimeout
        ))]
    );
    c.end(0, None);
    assert!(
        c.take_wire()
            .ends_with("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n")
    );
    assert_eq!(c.take_events(), vec![ServerEvent::Close]);
}

/// Node docs `http.md` › `server.keepAliveTimeout`: after the last response, an idle keep-alive
/// connection is destroyed at exactly `keepAliveTimeout`.
#[test]
fn idle_keep_alive_timeout_destroys_connection() {
    let mut c = Conn::quiet();
    c.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.now = c.start + Duration::from_secs(1);
    c.respond(0, 200, b"");
    c.take_events();
    c.take_wire();
    assert_eq!(
        c.conn.poll_timeout(),
        Some(c.start + Duration::from_secs(6))
    );
    c.timeout_at(Duration::from_secs(6) - Duration::from_nanos(1));
    assert!(c.take_events().is_empty());
    assert!(c.take_actions().is_empty());
    c.timeout_at(Duration::from_secs(6));
    assert_eq!(c.take_events(), vec![ServerEvent::Close]);
    assert_eq!(c.take_actions(), vec![Action::Close { reset: false }]);
    assert!(c.take_wire().is_empty());
}

/// Node docs `http.md` › `server.keepAliveTimeout`: `keepAliveTimeout` of none (Node's 0) disables
/// the idle close.
#[test]
fn idle_without_keep_alive_timeout_stays_open() {
    let mut c = Conn::new(ServerConfig {
        keep_alive_timeout: None,
        headers_timeout: None,
        ..quiet()
    });
    c.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.respond(0, 200, b"");
    assert_eq!(
        c.take_wire(),
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(c.conn.poll_timeout(), None);
    c.timeout_at(Duration::from_secs(3600));
    assert_eq!(count_close(&c.take_events()), 0);
}

// ---- response framing -------------------------------------------------------------------

/// docs/node-semantics.md#http-auto-content-length: `end(data)` before the head was sent gives
/// `Content-Length` of `data`; `end()` gives 0.
#[test]
fn response_end_before_head_sent_sets_content_length() {
    let mut c = Conn::quiet();
    c.feed(b"GET /0 HTTP/1.1\r\nHost: x\r\n\r\nGET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    c.conn
        .send_response(c.now, RequestId(0), Response::new(200))
        .unwrap();
    c.end(0, Some(b"hello"));
    c.end(1, None);
    assert_eq!(
        c.take_wire(),
        format!(
            "HTTP/1.1 200 OK\r\n{KEEP_ALIVE}Content-Length: 5\r\n\r\nhello\
             HTTP/1.1 200 OK\r\n{KEEP_ALIVE}Content-Length: 0\r\n\r\n"
        )
    );
}

/// docs/node-semantics.md#http-auto-chunked, #http-trailers: `write` before `end` makes an HTTP/1.1
/// response chunked; `end` sends the zero chunk and the trailers.
#[test]
fn response_write_then_end_is_chunked_with_zero_chunk_and_trailers() {
    let mut c = Conn::quiet();
    c.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.conn
        .send_response(
            c.now,
            RequestId(0),
            Response::new(200).header("Trailer", "X-Sum"),
        )
        .unwrap();
    assert!(c.write(0, b"abc"));
    assert!(c.write(0, b""));
    assert!(c.write(0, b"defghijklmnopqrs"));
    c.conn
        .end_with_trailers(
            c.now,
            RequestId(0),
            Some(Bytes::from_static(b"!")),
            Headers::new().with("X-Sum", "20"),
        )
        .unwrap();
    c.drain();
    assert_eq!(
        c.take_wire(),
        format!(
            "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\n{KEEP_ALIVE}Transfer-Encoding: chunked\r\n\r\n\
             3\r\nabc\r\n10\r\ndefghijklmnopqrs\r\n1\r\n!\r\n0\r\nX-Sum: 20\r\n\r\n"
        )
    );
    assert!(
        c.conn
            .write(c.now, RequestId(0), Bytes::from_static(b"x"))
            .is_err()
    );
}

/// Node docs `http.md` › `response.addTrailers()`: trailers on a response whose head would not be
/// chunked are refused, and nothing changes.
#[test]
fn response_trailers_on_unchunked_response_are_usage_error() {
    let mut c = Conn::quiet();
    c.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.conn
        .send_response(c.now, RequestId(0), Response::new(200))
        .unwrap();
    assert_eq!(
        c.conn.end_with_trailers(
            c.now,
            RequestId(0),
            Some(Bytes::from_static(b"x")),
            Headers::new().with("X-Sum", "1"),
        ),
        Err(Error::Usage(UsageError::TrailersNotAllowed))
    );
    c.drain();
    assert!(c.take_wire().is_empty());
    c.end(0, Some(b"x"));
    assert!(c.take_wire().ends_with("Content-Length: 1\r\n\r\nx"));
}

/// Node docs `http.md` › `response.write()`; RFC 9112 §6.3 items 1–2: a response to HEAD has no
/// body bytes, whether ended with data or streamed.
#[test]
fn head_request_response_has_no_body_bytes() {
    let mut c = Conn::quiet();
    c.feed(b"HEAD /0 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    c.respond(0, 200, b"hello");
    let first = c.take_wire();
    assert!(first.ends_with("\r\n\r\n"), "{first}");
    assert!(!first.contains("hello"), "{first}");
    c.conn
        .send_response(c.now, RequestId(1), Response::new(200))
        .unwrap();
    c.write(1, b"streamed");
    c.end(1, None);
    let second = c.take_wire();
    assert!(second.starts_with("HTTP/1.1 200 OK\r\n"), "{second}");
    assert!(second.ends_with("\r\n\r\n"), "{second}");
    assert!(!second.contains("streamed"), "{second}");
    assert!(!second.contains("\r\n0\r\n"), "{second}");
    assert!(c.take_actions().is_empty());
}

/// RFC 9110 §8.6: 204 and 304 have no body; 204 carries neither `Content-Length` nor
/// `Transfer-Encoding`, even when the application set them.
#[test]
fn response_204_and_304_have_no_body_and_204_no_framing_headers() {
    let mut c = Conn::quiet();
    c.feed(b"GET /0 HTTP/1.1\r\nHost: x\r\n\r\nGET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    c.conn
        .respond(
            c.now,
            RequestId(0),
            Response::new(204)
                .header("Content-Length", "5")
                .header("Transfer-Encoding", "chunked"),
            Bytes::from_static(b"hello"),
        )
        .unwrap();
    c.drain();
    assert_eq!(
        c.take_wire(),
        format!("HTTP/1.1 204 No Content\r\n{KEEP_ALIVE}\r\n")
    );
    c.conn
        .send_response(c.now, RequestId(1), Response::new(304))
        .unwrap();
    c.write(1, b"body");
    c.end(1, None);
    let wire = c.take_wire();
    assert!(wire.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{wire}");
    assert!(wire.ends_with("\r\n\r\n"), "{wire}");
    assert!(!wire.contains("body"), "{wire}");
    assert!(!wire.contains("Transfer-Encoding"), "{wire}");
}

/// Node docs `http.md` › `response.sendDate`: `Date` comes from `set_date` in IMF-fixdate, unless
/// `sendDate` is off or the application set one.
#[test]
fn response_date_header_comes_from_set_date() {
    let mut c = Conn::new(ServerConfig::default());
    c.conn
        .set_date(UNIX_EPOCH + Duration::from_secs(784_111_777));
    c.feed(b"GET /0 HTTP/1.1\r\nHost: x\r\n\r\nGET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    c.respond(0, 200, b"");
    assert_eq!(
        c.take_wire(),
        format!(
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n{KEEP_ALIVE}\
             Content-Length: 0\r\n\r\n"
        )
    );
    c.conn
        .respond(
            c.now,
            RequestId(1),
            Response::new(200).header("Date", "mine"),
            Bytes::new(),
        )
        .unwrap();
    c.drain();
    let wire = c.take_wire();
    assert_eq!(wire.matches("Date:").count(), 1, "{wire}");
    assert!(wire.contains("Date: mine\r\n"), "{wire}");

    let mut c = Conn::quiet();
    c.conn.set_date(SystemTime::now());
    c.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.respond(0, 200, b"");
    assert!(!c.take_wire().contains("Date"));
}

/// docs/node-semantics.md#http-status-range: `writeHead` accepts 100-999 only (1xx is not a final
/// status) and a refused head changes nothing; a missing reason phrase uses the standard one.
#[test]
fn response_invalid_status_is_usage_error_and_changes_nothing() {
    let mut c = Conn::quiet();
    c.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    for status in [0, 99, 100, 199, 1000] {
        assert_eq!(
            c.conn
                .send_response(c.now, RequestId(0), Response::new(status)),
            Err(Error::Usage(UsageError::InvalidStatus)),
            "status {status}"
        );
    }
    assert_eq!(
        c.conn.send_response(
            c.now,
            RequestId(0),
            Response::new(200).header("X", "a\r\nb")
        ),
        Err(Error::Usage(UsageError::InvalidHeader))
    );
    c.drain();
    assert!(c.take_wire().is_empty());
    c.respond(0, 404, b"");
    assert!(c.take_wire().starts_with("HTTP/1.1 404 Not Found\r\n"));
}

/// Node source `lib/_http_server.js` › `writeHead`: a custom reason phrase goes out as given.
#[test]
fn response_custom_reason_phrase_goes_out_as_given() {
    let mut c = Conn::quiet();
    c.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut response = Response::new(599);
    response.reason = Some(Bytes::from_static(b"Very Custom"));
    c.conn
        .respond(c.now, RequestId(0), response, Bytes::new())
        .unwrap();
    c.drain();
    assert!(c.take_wire().starts_with("HTTP/1.1 599 Very Custom\r\n"));
}

// ---- end of input -----------------------------------------------------------------------

/// RFC 9112 §9.6 (`handle_eof`): requests complete before FIN still get their responses; then the
/// connection shuts down.
#[test]
fn pipelined_complete_requests_then_eof_are_still_answered() {
    let mut c = Conn::quiet();
    c.feed(b"GET /0 HTTP/1.1\r\nHost: x\r\n\r\nGET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
    c.eof();
    let events = c.take_events();
    assert_eq!(request_ids(&events), vec![0, 1]);
    assert_eq!(count_close(&events), 0);
    assert!(c.take_actions().is_empty());
    c.respond(1, 200, b"one");
    c.respond(0, 200, b"zero");
    let wire = c.take_wire();
    assert!(
        wire.find("zero").unwrap() < wire.find("one").unwrap(),
        "{wire}"
    );
    assert_eq!(c.take_actions(), vec![Action::Shutdown]);
    assert_eq!(c.take_events(), vec![ServerEvent::Close]);
}

/// RFC 9112 §9.6 (`handle_eof`): a body cut short by FIN is a client error
/// (`HPE_INVALID_EOF_STATE`).
#[test]
fn body_cut_by_eof_is_client_error() {
    let mut c = Conn::quiet();
    c.feed(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    c.take_events();
    c.eof();
    assert_eq!(
        c.take_events(),
        vec![ServerEvent::ClientError(Error::Protocol(
            ProtocolError::UnexpectedEof
        ))]
    );
    c.end(0, None);
    assert!(c.take_wire().ends_with(BAD_REQUEST));
    assert_eq!(c.take_events(), vec![ServerEvent::Close]);
}

/// RFC 9112 §9.6 (`handle_eof`): a head cut short by FIN is a client error with Node's 400.
#[test]
fn head_partial_then_eof_is_client_error() {
    let mut c = Conn::quiet();
    c.feed(b"GET / HTTP/1.1\r\nHos");
    c.eof();
    assert_eq!(
        c.take_events(),
        vec![
            ServerEvent::ClientError(Error::Protocol(ProtocolError::UnexpectedEof)),
            ServerEvent::Close
        ]
    );
    assert_eq!(c.take_wire(), BAD_REQUEST);
    assert_eq!(c.take_actions(), vec![Action::Shutdown]);
}

/// docs/node-semantics.md#http-client-fin, #http-lingering-close: FIN on an idle connection closes
/// it without an error.
#[test]
fn idle_eof_closes_without_error() {
    let mut c = Conn::quiet();
    c.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    c.respond(0, 200, b"");
    c.take_events();
    c.take_wire();
    c.eof();
    assert_eq!(c.take_events(), vec![ServerEvent::Close]);
    assert_eq!(c.take_actions(), vec![Action::Shutdown]);
    assert!(c.take_wire().is_empty());
}

// ---- split invariance of the rules above (found by tests/properties.rs) -----------------

/// Events of a fresh connection fed `pieces`, one read each (the application never answers).
fn events_of(config: &ServerConfig, pieces: &[&[u8]]) -> Vec<ServerEvent> {
    let mut c = Conn::new(config.clone());
    for piece in pieces {
        c.feed(piece);
    }
    c.take_events()
}

/// Node docs `http.md` › `http.maxHeaderSize`; RFC 9112 §5.1, §5.2, §2.2 and the contract: a head
/// that passes `maxHeaderSize` before its first bad byte gets 431 whether or not the bad byte is
/// already buffered.
#[test]
fn head_over_limit_before_bare_cr_gets_431_whatever_the_split() {
    let config = ServerConfig {
        max_header_size: 32,
        ..quiet()
    };
    let head: &[u8] = b"GET / HTTP/1.1\r\nHost: h\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaa\rb\r\n\r\n";
    let expected = vec![
        ServerEvent::ClientError(Error::Protocol(ProtocolError::HeadTooLarge)),
        ServerEvent::Close,
    ];
    assert_eq!(events_of(&config, &[&head[..33], &head[33..]]), expected);
    assert_eq!(events_of(&config, &[head]), expected, "whole");
}

/// RFC 9112 §5.1, §5.2, §2.2 and the contract: the error of a bad head line does not depend on
/// bytes after the head (here a bare LF in what would be the body).
#[test]
fn head_invalid_line_then_bare_lf_later_same_error_whatever_the_split() {
    let input: &[u8] = b"GET / HTTP/1.1\r\nHost: h\r\n\x89\r\n\r\nab\ncd";
    let expected = vec![
        ServerEvent::ClientError(Error::Protocol(ProtocolError::InvalidHead)),
        ServerEvent::Close,
    ];
    assert_eq!(events_of(&quiet(), &[&input[..31], &input[31..]]), expected);
    assert_eq!(events_of(&quiet(), &[input]), expected, "whole");
}

/// RFC 9112 §5.1, §5.2, §2.2 and the contract: a head already known to be bad is rejected at once,
/// even when the buffer happens to end in CR.
#[test]
fn head_invalid_line_with_input_ending_in_cr_is_rejected_at_once() {
    let input: &[u8] = b"GET / HTTP/1.1\r\nHost: h\r\n\x89\r\n\r\nab\r";
    let expected = vec![
        ServerEvent::ClientError(Error::Protocol(ProtocolError::InvalidHead)),
        ServerEvent::Close,
    ];
    assert_eq!(events_of(&quiet(), &[&input[..31], &input[31..]]), expected);
    assert_eq!(events_of(&quiet(), &[input]), expected, "whole");
}

/// Node docs `http.md` › `Event: 'checkExpectation'` and the contract: the skipped body of a 417'd
/// `Connection: close` request gives the same events whether it arrives with the head or after it.
#[test]
fn expect_other_closing_request_with_bad_body_same_events_whatever_the_split() {
    let head: &[u8] = b"POST / HTTP/1.1\r\nHost: h\r\nExpect: x\r\nConnection: close\r\n\
        Transfer-Encoding: chunked\r\n\r\n";
    let mut whole = head.to_vec();
    whole.extend_from_slice(b"zz\r\n");
    let split = events_of(&quiet(), &[head, b"zz\r\n"]);
    assert!(request_ids(&split).is_empty());
    assert_eq!(events_of(&quiet(), &[&whole]), split);
}

/// docs/node-semantics.md#http-read-backpressure, #http-check-expectation: a request the machine
/// answers itself (417) frees its pipelining slot within the same input, so the next buffered
/// request is parsed without waiting for more bytes.
#[test]
fn pipelined_after_417_at_max_pipelined_next_request_is_parsed_in_same_input() {
    let mut c = Conn::new(ServerConfig {
        max_pipelined: 1,
        ..quiet()
    });
    c.feed(b"GET /a HTTP/1.1\r\nHost: h\r\nExpect: x\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(
        c.take_wire()
            .starts_with("HTTP/1.1 417 Expectation Failed\r\n")
    );
    let events = c.take_events();
    assert_eq!(request_ids(&events), vec![1], "{events:?}");
    assert!(c.input.is_empty());
}

/// RFC 9112 §5.1, §5.2, §2.2 and the contract: a bare LF before the request line is the first
/// fault, whatever follows it and however the bytes were split.
#[test]
fn head_leading_bare_lf_same_error_whatever_the_split() {
    let expected = vec![
        ServerEvent::ClientError(Error::Protocol(ProtocolError::BareLineFeed)),
        ServerEvent::Close,
    ];
    assert_eq!(events_of(&quiet(), &[b"\n", b"\x02"]), expected);
    assert_eq!(events_of(&quiet(), &[b"\n\x02"]), expected, "whole");
    assert_eq!(events_of(&quiet(), &[b"\nn\n"]), expected, "whole");
}
