//! What a server stack decides for every runtime: the socket settings of an HTTP server's
//! connections (`Acceptor::with_http`), and the answer to an `upgrade` request
//! (`Connection::accept_ws`): a WebSocket (RFC 6455 section 4.2.2) or a rejection (section
//! 4.2.1).

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

use std::io::IoSlice;
use std::time::Instant;

use bytes::Bytes;
use sansnet_core::Action;
use sansnet_http1::ServerEvent;
use sansnet_stack::{Connection, Event};
use sansnet_tcp::SocketConfig;
use sansnet_ws::{Config, Error, HandshakeError, Message, WsEvent};

const UPGRADE: &str = "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
                       Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";

/// A plain HTTP server stack fed `request`; returns it with the `upgrade` event's request and
/// head.
fn upgraded(request: &[u8]) -> (Connection, sansnet_http1::Request, Bytes) {
    let now = Instant::now();
    // Node's server with an `upgrade` listener.
    let config = sansnet_http1::ServerConfig {
        upgrade: true,
        ..sansnet_http1::ServerConfig::default()
    };
    let mut conn = Connection::accepted(now, SocketConfig::default()).serve_http(now, config);
    conn.handle_input(now, request);
    conn.drive(now, true);
    while let Some(event) = conn.poll_event() {
        if let Event::Http(ServerEvent::Upgrade { request, head }) = event {
            return (conn, request, head);
        }
    }
    panic!("no upgrade event");
}

/// Everything the stack has to write, taken out.
fn written(conn: &mut Connection) -> Vec<u8> {
    let now = Instant::now();
    let mut out = Vec::new();
    loop {
        conn.drive(now, true);
        let mut slices = [IoSlice::new(&[]); 16];
        let n = conn.transmit_chunks(&mut slices);
        let bytes: usize = slices[..n].iter().map(|s| s.len()).sum();
        if bytes == 0 {
            return out;
        }
        for slice in &slices[..n] {
            out.extend_from_slice(slice);
        }
        conn.advance_transmit(now, bytes);
    }
}

/// Feeds `request` to an HTTP server stack, answers it with `status` and `body`, and returns
/// what the stack writes.
fn answered(
    conn: &mut Connection,
    now: Instant,
    request: &[u8],
    status: u16,
    body: &'static [u8],
) -> Vec<u8> {
    conn.handle_input(now, request);
    conn.drive(now, true);
    let mut id = None;
    while let Some(event) = conn.poll_event() {
        if let Event::Http(ServerEvent::Request(request)) = event {
            id = Some(request.id);
        }
    }
    let http = conn.http_mut().unwrap();
    let response = sansnet_http1::Response::new(status);
    http.respond(
        now,
        id.expect("a request"),
        response,
        Bytes::from_static(body),
    )
    .unwrap();
    written(conn)
}

#[test]
fn a_valid_upgrade_gets_101_with_deflate_and_the_frames_read_past_the_head() {
    let request = format!(
        "{UPGRADE}Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: chat, superchat\r\n\
         Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    );
    // A masked text frame "hi" arrived with the head (RFC 6455 section 5.3, mask 0).
    let mut input = request.into_bytes();
    input.extend_from_slice(&[0x81, 0x82, 0, 0, 0, 0, b'h', b'i']);
    let (mut conn, request, head) = upgraded(&input);
    assert_eq!(&head[..], &[0x81, 0x82, 0, 0, 0, 0, b'h', b'i']);

    let protocol = conn
        .accept_ws(
            Instant::now(),
            &request,
            head,
            &["superchat"],
            Config::default(),
        )
        .unwrap();
    assert_eq!(protocol.as_deref(), Some("superchat"));
    let out = String::from_utf8(written(&mut conn)).unwrap();
    assert!(
        out.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{out}"
    );
    // RFC 6455 section 1.3's example key and its accept value.
    assert!(out.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{out}");
    assert!(out.contains("permessage-deflate"), "{out}");
    assert!(conn.ws_mut().unwrap().deflate_enabled());
    let mut got = None;
    while let Some(event) = conn.poll_event() {
        if let Event::Ws(WsEvent::Message(Message::Text(text))) = event {
            got = Some(text);
        }
    }
    assert_eq!(got.as_deref(), Some(&b"hi"[..]));
}

#[test]
fn an_invalid_key_gets_400_a_typed_error_and_the_end_of_the_socket() {
    let (mut conn, request, head) =
        upgraded(format!("{UPGRADE}Sec-WebSocket-Key: short\r\n\r\n").as_bytes());
    let error = conn
        .accept_ws(Instant::now(), &request, head, &[], Config::default())
        .unwrap_err();
    assert_eq!(error, Error::Handshake(HandshakeError::InvalidKey));
    let out = String::from_utf8(written(&mut conn)).unwrap();
    assert!(out.starts_with("HTTP/1.1 400 "), "{out}");
    assert!(conn.ws_mut().is_none());
    let mut fin = false;
    while let Some(action) = conn.poll_action() {
        fin |= action == Action::Shutdown;
    }
    assert!(fin, "no FIN after the rejection");
}

#[test]
fn another_version_gets_426_naming_13() {
    let request = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                   Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    let (mut conn, request, head) = upgraded(request.as_bytes());
    let error = conn
        .accept_ws(Instant::now(), &request, head, &[], Config::default())
        .unwrap_err();
    assert_eq!(error, Error::Handshake(HandshakeError::UnsupportedVersion));
    let out = String::from_utf8(written(&mut conn)).unwrap();
    assert!(out.starts_with("HTTP/1.1 426 "), "{out}");
    assert!(out.contains("Sec-WebSocket-Version: 13"), "{out}");
}

/// Node's HTTP server sockets: `TCP_NODELAY` and half-open (`Acceptor::with_http`), whatever
/// the runtime; a raw `net.Server`'s keep the settings given.
#[test]
fn an_http_acceptor_makes_nodelay_half_open_sockets() {
    let now = Instant::now();
    let http = sansnet_stack::Acceptor::new(SocketConfig::default())
        .with_http(sansnet_http1::ServerConfig::default());
    let mut conn = http.accept(now);
    assert!(conn.socket().config().allow_half_open);
    conn.drive(now, true);
    let actions: Vec<Action> = std::iter::from_fn(|| conn.poll_action()).collect();
    assert!(actions.contains(&Action::SetNoDelay(true)), "{actions:?}");

    let raw = sansnet_stack::Acceptor::new(SocketConfig::default()).accept(now);
    assert!(!raw.socket().config().allow_half_open);
    assert!(!raw.socket().config().no_delay);
}

/// docs/node-semantics.md#http-lingering-close: after a `Connection: close` response the
/// server sends its FIN and reads on, dropping what comes, until the client's FIN, but for
/// [`std::time::Duration::from_secs(2)`] at most: a client that never closes cannot keep the socket (and a
/// graceful `server.close()` waiting for it) forever.
#[test]
fn lingering_close_ends_at_the_linger_deadline_without_the_clients_fin() {
    let t0 = Instant::now();
    let mut conn = Connection::accepted(t0, SocketConfig::default())
        .serve_http(t0, sansnet_http1::ServerConfig::default());
    let request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let out = answered(&mut conn, t0, request, 200, b"bye");
    assert!(
        out.ends_with(b"\r\n\r\nbye"),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    let mut actions = Vec::new();
    while let Some(action) = conn.poll_action() {
        actions.push(action);
    }
    assert!(
        actions.contains(&Action::Shutdown),
        "the FIN after the response: {actions:?}"
    );
    conn.drive(t0, true);
    // Lingering: the client's late bytes are read and dropped, the socket stays.
    conn.handle_input(t0, b"GET /late HTTP/1.1\r\n\r\n");
    while conn.drive(t0, true) {}
    while let Some(event) = conn.poll_event() {
        assert!(
            !matches!(event, Event::Http(ServerEvent::Request(_))),
            "the late bytes reach no one"
        );
    }
    assert!(!conn.is_closed(), "the socket lingers for the client's FIN");
    let deadline = conn.poll_timeout().expect("a linger deadline");
    // From the FIN's `finish` (`written` runs on the clock).
    let linger = sansnet_stack::LINGER;
    assert!(deadline >= t0 + linger && deadline <= Instant::now() + linger);
    let early = deadline - std::time::Duration::from_millis(1);
    conn.handle_timeout(early);
    while conn.drive(early, true) {}
    assert!(!conn.is_closed(), "not before the deadline");
    conn.handle_timeout(deadline);
    while conn.drive(deadline, true) {}
    let mut actions = Vec::new();
    while let Some(action) = conn.poll_action() {
        actions.push(action);
    }
    assert_eq!(actions, [Action::Close { reset: false }]);
    assert!(conn.is_closed());
}

/// `Connection::refresh_date` reads the wall clock once per wall-clock second, not per round:
/// RFC 9110 §6.6.1, the `Date` header has one-second precision.
#[test]
fn the_wall_clock_is_read_once_per_second_for_the_date() {
    let t0 = Instant::now();
    let mut conn = Connection::accepted(t0, SocketConfig::default())
        .serve_http(t0, sansnet_http1::ServerConfig::default());
    // 2026-12-03T17:00:00.750Z: a quarter of a second left in this second.
    let wall = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_796_317_200_750);
    let reads = std::cell::Cell::new(0);
    let refresh = |conn: &mut Connection, at: Instant| {
        conn.refresh_date(at, || {
            reads.set(reads.get() + 1);
            wall + (at - t0)
        });
    };
    refresh(&mut conn, t0);
    refresh(&mut conn, t0 + std::time::Duration::from_millis(100));
    refresh(&mut conn, t0 + std::time::Duration::from_millis(249));
    assert_eq!(reads.get(), 1, "one read within the second");
    refresh(&mut conn, t0 + std::time::Duration::from_millis(250));
    refresh(&mut conn, t0 + std::time::Duration::from_millis(900));
    assert_eq!(reads.get(), 2, "read again once the second is over");
    // The date the responses carry is the one read last: 17:00:01.
    let request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    let out = String::from_utf8(answered(&mut conn, t0, request, 204, b"")).unwrap();
    assert!(
        out.contains("Date: Thu, 03 Dec 2026 17:00:01 GMT\r\n"),
        "{out}"
    );
}
