//! The demo's HTTP/1.1 server seen through a raw `std::net::TcpStream`: pipelining, the
//! default `'clientError'` replies (400, 431) and the close after them, `Expect:
//! 100-continue`, HTTP/1.0 without keep-alive, HEAD, and CONNECT tunnels.
//!
//! Each test starts the demo on port 0 (`common::start_http_demo`), writes exact bytes and
//! parses the responses itself, so nothing between the test and the wire is forgiving.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use common::{HttpDemo, random_bytes, start_http_demo};

/// How long any read on the raw connection may block.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The body of `GET /hello`.
const HELLO: &[u8] = b"hello world";

/// A parsed response head.
#[derive(Debug)]
struct Head {
    version: String,
    status: u16,
    reason: String,
    /// Names lower-cased, values trimmed, in wire order.
    headers: Vec<(String, String)>,
}

impl Head {
    /// The value of the only `name` header (lower-case name), if there is one.
    fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.headers.iter().filter(|(n, _)| n == name);
        let first = values.next().map(|(_, v)| v.as_str());
        assert!(values.next().is_none(), "two {name} headers in {self:?}");
        first
    }

    /// Whether a `Connection` header lists `token`.
    fn connection_has(&self, token: &str) -> bool {
        self.header("connection")
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }
}

/// A response: head and decoded body.
#[derive(Debug)]
struct Response {
    head: Head,
    body: Vec<u8>,
}

/// A raw client connection with its read buffer.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT)
            .unwrap_or_else(|e| panic!("cannot connect to the demo at {addr}: {e}"));
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("writing {} bytes failed: {e}", bytes.len()));
    }

    /// One read into the buffer; the count, 0 at end of stream.
    fn fill(&mut self, what: &str) -> usize {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                n
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!(
                    "timed out ({READ_TIMEOUT:?}) waiting for {what}; have {:?}",
                    String::from_utf8_lossy(&self.buf)
                )
            }
            Err(e) => panic!(
                "read failed ({e}, {:?}) waiting for {what}; have {:?}",
                e.kind(),
                String::from_utf8_lossy(&self.buf)
            ),
        }
    }

    /// Takes exactly `n` bytes off the stream.
    fn take(&mut self, n: usize, what: &str) -> Vec<u8> {
        while self.buf.len() < n {
            assert_ne!(self.fill(what), 0, "end of stream in the middle of {what}");
        }
        self.buf.drain(..n).collect()
    }

    /// Takes one CRLF-terminated line (without the CRLF).
    fn line(&mut self, what: &str) -> String {
        loop {
            if let Some(at) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.take(at + 2, what);
                return String::from_utf8(line[..at].to_vec())
                    .unwrap_or_else(|_| panic!("{what}: a line that is not UTF-8"));
            }
            assert_ne!(self.fill(what), 0, "end of stream in the middle of {what}");
        }
    }

    fn head(&mut self, what: &str) -> Head {
        let status_line = self.line(what);
        let mut parts = status_line.splitn(3, ' ');
        let (Some(version), Some(status), reason) = (parts.next(), parts.next(), parts.next())
        else {
            panic!("{what}: bad status line {status_line:?}");
        };
        let status = status
            .parse()
            .unwrap_or_else(|_| panic!("{what}: bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let line = self.line(what);
            if line.is_empty() {
                break;
            }
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("{what}: bad header line {line:?}"));
            assert_eq!(name, name.trim(), "{what}: whitespace around a header name");
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        Head {
            version: version.to_owned(),
            status,
            reason: reason.unwrap_or_default().to_owned(),
            headers,
        }
    }

    /// Reads one final response (interim 1xx responses are an error here) to a request whose
    /// method was `method`.
    fn response(&mut self, method: &str, what: &str) -> Response {
        let head = self.head(what);
        assert!(
            head.status >= 200,
            "{what}: unexpected interim response {head:?}"
        );
        let no_body = method == "HEAD" || head.status == 204 || head.status == 304;
        let chunked = head
            .header("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"));
        let body = if no_body {
            Vec::new()
        } else if chunked {
            assert!(
                head.header("content-length").is_none(),
                "{what}: Content-Length with chunked in {head:?}"
            );
            self.chunked_body(what)
        } else if let Some(length) = head.header("content-length") {
            let length: usize = length
                .parse()
                .unwrap_or_else(|_| panic!("{what}: bad Content-Length {length:?}"));
            self.take(length, what)
        } else {
            self.read_until_close(what)
        };
        Response { head, body }
    }

    fn chunked_body(&mut self, what: &str) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let size_line = self.line(what);
            let size = size_line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16)
                .unwrap_or_else(|_| panic!("{what}: bad chunk-size line {size_line:?}"));
            if size == 0 {
                // Trailers, then the blank line.
                while !self.line(what).is_empty() {}
                return body;
            }
            body.extend_from_slice(&self.take(size, what));
            assert_eq!(
                self.take(2, what),
                b"\r\n",
                "{what}: chunk not followed by CRLF"
            );
        }
    }

    /// Everything until the server closes.
    fn read_until_close(&mut self, what: &str) -> Vec<u8> {
        while self.fill(what) != 0 {}
        std::mem::take(&mut self.buf)
    }

    /// Asserts that the server closes the connection with nothing more to read.
    fn expect_close(&mut self, what: &str) {
        let rest = self.read_until_close(what);
        assert!(
            rest.is_empty(),
            "{what}: bytes after the response: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }
}

/// A one-request round trip on a fresh connection: the request bytes, then one response.
fn exchange(demo: &HttpDemo, request: &[u8], method: &str, what: &str) -> (Conn, Response) {
    let mut conn = Conn::open(demo.addr());
    conn.send(request);
    let response = conn.response(method, what);
    (conn, response)
}

/// docs/node-semantics.md#http-pipelining, #http-response-order: three pipelined GETs in one write
/// are all answered, in request order, on the same connection (which stays open: HTTP/1.1 persists,
/// RFC 9112 §9.3).
#[test]
fn idle_three_pipelined_gets_answered_in_order() {
    let demo = start_http_demo("http-raw-pipeline");
    let mut conn = Conn::open(demo.addr());
    conn.send(
        b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /nope HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /hello?again HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let first = conn.response("GET", "the first response");
    let second = conn.response("GET", "the second response");
    let third = conn.response("GET", "the third response");
    for (response, status, body) in [
        (&first, 200, HELLO),
        (&second, 404, &b"not found\n"[..]),
        (&third, 200, HELLO),
    ] {
        assert_eq!(response.head.version, "HTTP/1.1");
        assert_eq!(
            response.head.status, status,
            "RFC 9112 §9.3.2: order: {response:?}"
        );
        assert_eq!(
            response.body, body,
            "docs/node-semantics.md#http-response-order: order: {response:?}"
        );
        assert_eq!(
            response.head.header("content-length"),
            Some(body.len().to_string().as_str()),
            "docs/node-semantics.md#http-auto-content-length: a body known at end() gets Content-Length"
        );
        assert!(
            response.head.connection_has("keep-alive"),
            "docs/node-semantics.md#http-persistence, #http-keepalive-header: HTTP/1.1 persists: {response:?}"
        );
    }
    // Still open: a fourth request on the same connection is answered too.
    conn.send(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let fourth = conn.response("GET", "the fourth response");
    assert_eq!((fourth.head.status, &fourth.body[..]), (200, HELLO));
    assert!(
        fourth.head.connection_has("close"),
        "RFC 9112 §9.3: {fourth:?}"
    );
    conn.expect_close(
        "docs/node-semantics.md#http-persistence: the close after `Connection: close`",
    );
}

/// docs/node-semantics.md#http-max-header-size, #http-client-error-default: a request head over
/// `maxHeaderSize` (16 KiB; here a 20 KiB header) gets `431 Request Header Fields Too Large` with
/// `Connection: close`, then the server closes.
#[test]
fn head_oversized_header_gets_431_and_close() {
    let demo = start_http_demo("http-raw-431");
    let mut request = b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', 20 * 1024));
    request.extend_from_slice(b"\r\n\r\n");
    let (mut conn, response) = exchange(&demo, &request, "GET", "the 431");
    assert_eq!(
        response.head.status, 431,
        "docs/node-semantics.md#http-max-header-size, #http-client-error-default: {response:?}"
    );
    assert_eq!(response.head.reason, "Request Header Fields Too Large");
    assert!(
        response.head.connection_has("close"),
        "Node source lib/_http_server.js › socketOnError: {response:?}"
    );
    conn.expect_close("Node source lib/_http_server.js › socketOnError: the close after the 431");
}

/// docs/node-semantics.md#http-duplicate-content-length: `Content-Length` together with
/// `Transfer-Encoding: chunked` (a smuggling vector) gets 400 with `Connection: close`, and the
/// connection closes; the body is never parsed as a request.
#[test]
fn head_content_length_with_chunked_gets_400_and_close() {
    let demo = start_http_demo("http-raw-clte");
    let request = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
                    Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    let (mut conn, response) = exchange(&demo, request, "POST", "the 400");
    assert_eq!(
        response.head.status, 400,
        "docs/node-semantics.md#http-duplicate-content-length: {response:?}"
    );
    assert_eq!(response.head.reason, "Bad Request");
    assert!(
        response.head.connection_has("close"),
        "Node source lib/_http_server.js › socketOnError: {response:?}"
    );
    conn.expect_close("docs/node-semantics.md#http-client-error-default, #http-duplicate-content-length: the close after the 400 (no smuggled GET answered)");
}

/// Node docs `http.md` › `http.createServer()`; RFC 9112 §3.2: an HTTP/1.1 request without `Host`
/// gets 400 with `Connection: close`.
#[test]
fn head_http11_without_host_gets_400() {
    let demo = start_http_demo("http-raw-nohost");
    let (mut conn, response) = exchange(&demo, b"GET /hello HTTP/1.1\r\n\r\n", "GET", "the 400");
    assert_eq!(
        response.head.status, 400,
        "Node docs http.md › http.createServer(): {response:?}"
    );
    assert!(
        response.head.connection_has("close"),
        "Node docs http.md › http.createServer(): {response:?}"
    );
    conn.expect_close("Node docs http.md › http.createServer(): the close after the 400");
}

/// RFC 9112 §5.1, §5.2, §2.2: a request line ended by a bare LF (no CR) gets 400 and close, never a
/// guess.
#[test]
fn head_bare_lf_request_line_gets_400() {
    let demo = start_http_demo("http-raw-bare-lf");
    let (mut conn, response) = exchange(
        &demo,
        b"GET /hello HTTP/1.1\nHost: x\r\n\r\n",
        "GET",
        "the 400",
    );
    assert_eq!(
        response.head.status, 400,
        "RFC 9112 §5.1, §5.2, §2.2: {response:?}"
    );
    assert!(
        response.head.connection_has("close"),
        "Node source lib/_http_server.js › socketOnError: {response:?}"
    );
    conn.expect_close("Node source lib/_http_server.js › socketOnError; RFC 9112 §5.1, §5.2, §2.2: the close after the 400");
}

/// Node docs `http.md` › `Event: 'checkContinue'`: `Expect: 100-continue` with no `'checkContinue'`
/// listener: `HTTP/1.1 100 Continue` arrives before any body byte is sent, then the final response
/// echoes the body.
#[test]
fn head_expect_continue_interim_before_body() {
    let demo = start_http_demo("http-raw-continue");
    let body = random_bytes(64 * 1024, 87);
    let mut conn = Conn::open(demo.addr());
    conn.send(
        format!(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    // Nothing of the body is sent yet: the interim response must come on its own.
    let interim = conn.head("the interim 100 Continue");
    assert_eq!(
        (
            interim.version.as_str(),
            interim.status,
            interim.reason.as_str()
        ),
        ("HTTP/1.1", 100, "Continue"),
        "Node docs http.md › Event: 'checkContinue': {interim:?}"
    );
    assert!(
        conn.buf.is_empty(),
        "Node docs http.md › Event: 'checkContinue': nothing but the 100 before the body: {:?}",
        String::from_utf8_lossy(&conn.buf)
    );
    conn.send(&body);
    let response = conn.response("POST", "the echo");
    assert_eq!(response.head.status, 200, "{response:?}");
    assert_eq!(
        response.head.header("content-length"),
        Some(body.len().to_string().as_str())
    );
    assert!(
        response.body == body[..],
        "the echo differs from the body sent"
    );
}

/// docs/node-semantics.md#http-persistence, #http10-close-delimited: an HTTP/1.0 request without
/// `Connection: keep-alive` gets a response with `Connection: close`, and the server closes after
/// it.
#[test]
fn head_http10_without_keep_alive_closes_after_response() {
    let demo = start_http_demo("http-raw-http10");
    let (mut conn, response) =
        exchange(&demo, b"GET /hello HTTP/1.0\r\n\r\n", "GET", "the response");
    assert_eq!(response.head.status, 200, "{response:?}");
    assert!(
        response.head.connection_has("close"),
        "docs/node-semantics.md#http-persistence, #http10-close-delimited: {response:?}"
    );
    assert!(
        !response.head.connection_has("keep-alive"),
        "RFC 9112 §9.3: {response:?}"
    );
    assert_eq!(
        response.head.header("transfer-encoding"),
        None,
        "an HTTP/1.0 client cannot read chunked"
    );
    assert_eq!(response.body, HELLO);
    conn.expect_close("RFC 9112 §9.3: the close after an HTTP/1.0 response");
}

/// Node docs `http.md` › `response.write()`; RFC 9112 §6.3 items 1–2: a response to HEAD carries no
/// body: a GET pipelined behind it is parsed from the byte right after the HEAD response's blank
/// line.
#[test]
fn head_request_response_has_no_body() {
    let demo = start_http_demo("http-raw-head");
    let mut conn = Conn::open(demo.addr());
    conn.send(b"HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = conn.response("HEAD", "the HEAD response");
    assert_eq!(head.head.status, 200, "{head:?}");
    if let Some(length) = head.head.header("content-length") {
        assert_eq!(length, "11", "RFC 9110 §8.6: the length GET would have");
    }
    let get = conn.response("GET", "the GET after HEAD");
    assert_eq!(
        (get.head.status, &get.body[..]),
        (200, HELLO),
        "Node docs http.md › response.write(): no body bytes after the HEAD response's head: {get:?}"
    );
}

/// How the loopback target of a tunnel answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Echoes each read at once, then ends at end of stream.
    Echo,
    /// Reads until end of stream, then sends everything back and ends (a request/response
    /// protocol that needs the client's half-close, as `nc -N` clients do).
    ReplyAfterEnd,
}

/// A loopback TCP server on port 0 serving one connection on a thread as `target` says;
/// every wait is bounded.
fn target_listener(target: Target) -> SocketAddr {
    let listener = TcpListener::bind(common::loopback_any()).unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    thread::spawn(move || {
        let deadline = Instant::now() + common::WAIT;
        let mut stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(5));
                }
                Err(_) => return,
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(common::WAIT)).unwrap();
        let mut chunk = [0u8; 16 * 1024];
        let mut kept = Vec::new();
        while let Ok(n @ 1..) = stream.read(&mut chunk) {
            match target {
                Target::Echo => {
                    if stream.write_all(&chunk[..n]).is_err() {
                        return;
                    }
                }
                Target::ReplyAfterEnd => kept.extend_from_slice(&chunk[..n]),
            }
        }
        // End of stream (or a timeout): reply if we kept the bytes, then end our side too.
        if stream.write_all(&kept).is_ok() {
            let _ = stream.shutdown(Shutdown::Write);
        }
    });
    addr
}

/// Opens a CONNECT tunnel through the demo to a fresh loopback `target`, sending `early` in
/// the same write as the CONNECT head; checks the 200 reply (Node docs `http.md` ›
/// `Event: 'connect'`; RFC 9110 §9.3.6) and, for an echo target, that `early` comes back first
/// (docs/node-semantics.md#http-upgrade-head).
fn open_tunnel(demo: &HttpDemo, target: Target, early: &[u8]) -> Conn {
    let authority = target_listener(target);
    let mut conn = Conn::open(demo.addr());
    let mut request =
        format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n").into_bytes();
    request.extend_from_slice(early);
    conn.send(&request);
    let head = conn.head("the CONNECT reply");
    assert_eq!(
        head.status, 200,
        "Node docs http.md › Event: 'connect': {head:?}"
    );
    assert_eq!(
        head.header("content-length"),
        None,
        "RFC 9110 §9.3.6: {head:?}"
    );
    assert_eq!(
        head.header("transfer-encoding"),
        None,
        "docs/node-semantics.md#http-connect-tunnel: {head:?}"
    );
    if target == Target::Echo {
        assert_eq!(
            conn.take(early.len(), "the echo of the bytes sent with the head"),
            early,
            "docs/node-semantics.md#http-upgrade-head: the bytes after the CONNECT head are the tunnel's first bytes"
        );
    }
    conn
}

/// Writes `payload` into the tunnel on a thread (then FIN if `fin`), while the caller reads.
fn write_on_thread(conn: &Conn, payload: &[u8], fin: bool) -> thread::JoinHandle<()> {
    let mut stream = conn.stream.try_clone().unwrap();
    let payload = payload.to_vec();
    thread::spawn(move || {
        stream.write_all(&payload).unwrap();
        if fin {
            stream.shutdown(Shutdown::Write).unwrap();
        }
    })
}

/// docs/node-semantics.md#http-connect-event, #http-upgrade-head, #http-connect-tunnel: CONNECT to
/// a loopback target: `200` with no `Content-Length` or `Transfer-Encoding`, then a tunnel: the
/// bytes sent with the CONNECT head (`head`) and 256 KiB after them come back through the target's
/// echo; our FIN after the echo closes the tunnel.
#[test]
fn connect_loopback_target_tunnels_bytes() {
    let demo = start_http_demo("http-raw-connect");
    let mut conn = open_tunnel(&demo, Target::Echo, b"early bytes");
    let payload = random_bytes(256 * 1024, 93);
    let writer = write_on_thread(&conn, &payload, false);
    let echoed = conn.take(payload.len(), "the echo through the tunnel");
    assert!(echoed == payload[..], "the tunnel changed the bytes");
    writer.join().unwrap();
    conn.stream.shutdown(Shutdown::Write).unwrap();
    conn.expect_close("the target's FIN, carried back through the tunnel");
}

/// docs/node-semantics.md#http-upgrade-head, #net-half-open, #net-end: after CONNECT the socket is
/// the application's, and Node's HTTP server sockets are `allowHalfOpen: true`
/// (`net.Server.call(this, { allowHalfOpen: true })` in `_http_server.js`), so a Node tunnel
/// (`sock.pipe(up); up.pipe(sock)`) still carries the target's reply after the client's FIN. The
/// target here answers only after end of stream (a request/response protocol over the tunnel), so
/// the reply can only come back through a half-open tunnel: 256 KiB and our FIN go in, all 256 KiB
/// must come back before the close.
#[test]
fn connect_tunnel_client_half_close_still_gets_reply() {
    let demo = start_http_demo("http-raw-connect-half");
    let mut conn = open_tunnel(&demo, Target::ReplyAfterEnd, b"early bytes");
    let payload = random_bytes(256 * 1024, 26);
    let writer = write_on_thread(&conn, &payload, true);
    let reply = conn.read_until_close("the reply through the tunnel, then the close");
    writer.join().unwrap();
    let mut expected = b"early bytes".to_vec();
    expected.extend_from_slice(&payload);
    assert_eq!(
        reply.len(),
        expected.len(),
        "Node docs net.md › Event: 'end', socket.end(): after our FIN the tunnel must still carry the target's reply back \
         (Node's HTTP sockets are allowHalfOpen); got {} of {} bytes",
        reply.len(),
        expected.len()
    );
    assert!(reply == expected, "the tunnel changed the bytes");
}

/// RFC 9110 §9.3.6: CONNECT to a target the demo does not tunnel to (192.0.2.1:80, TEST-NET-1,
/// never contacted) gets an ordinary non-2xx response (403) and the connection closes.
#[test]
fn connect_non_loopback_target_gets_403() {
    let demo = start_http_demo("http-raw-connect-403");
    let (mut conn, response) = exchange(
        &demo,
        b"CONNECT 192.0.2.1:80 HTTP/1.1\r\nHost: 192.0.2.1:80\r\n\r\n",
        "CONNECT",
        "the 403",
    );
    assert_eq!(response.head.status, 403, "{response:?}");
    assert!(response.body.is_empty(), "{response:?}");
    conn.expect_close("the close after the 403");
}
