//! An HTTPS client stack and an HTTPS server stack, joined by in-memory links
//! (`sansnet_testkit::link`), with no sockets: keep-alive requests, a `100-continue` upload, a
//! WebSocket upgrade with permessage-deflate and a CONNECT tunnel. Every run records what each
//! side's application saw; the record is the same whatever sizes the links cut the bytes into
//! (proptest), and equal to the one written down here from Node's behaviour.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::time::Instant;

use bytes::Bytes;
use common::{Record, Side, serve, tls_configs};
use proptest::prelude::*;
use sansnet_http1::{ClientConfig, ClientEvent, ClientRequest, ConnectionId, PoolRequestId};
use sansnet_stack::{ClientLayer, Connection, Event, Note};
use sansnet_tcp::{SocketConfig, SocketEvent};
use sansnet_testkit::link::Link;
use sansnet_tls::TlsConnection;
use sansnet_ws::{Message, Role, WsEvent};

/// Runs `client` against an HTTPS server stack until both settle; `max_write` and
/// `max_read` cut the bytes; `app` is the client application, given each note.
fn run(
    max_write: usize,
    max_read: usize,
    mut app: impl FnMut(Instant, &mut Connection, Note, &mut Record),
    start: impl FnOnce(Instant, &mut Connection),
) -> (Record, Record) {
    let now = Instant::now();
    let (server_tls, client_tls) = tls_configs();
    let server = common::server(now, Some(server_tls));
    let client = Connection::connect(now, SocketConfig::default())
        .with_tls(
            now,
            TlsConnection::client(client_tls, "localhost").unwrap(),
            false,
        )
        .serve_client(ClientLayer::new(ConnectionId(1), ClientConfig::default()));
    let (mut server, mut client) = (Side::new(server), Side::new(client));
    let (mut to_server, mut to_client) =
        (Link::new(1 << 20, max_write), Link::new(1 << 20, max_write));
    let (mut server_record, mut client_record) = (Record::default(), Record::default());
    client.conn.handle_connected(now);
    start(now, &mut client.conn);
    for _ in 0..100_000 {
        let mut moved = client.round(now, &mut to_server, &mut to_client, max_read);
        while let Some(event) = client.conn.poll_event() {
            moved = true;
            match event {
                Event::Socket(SocketEvent::Data(data)) => client_record.data("tunnel", &data),
                Event::Ws(WsEvent::Message(Message::Text(data) | Message::Binary(data))) => {
                    client_record.data("ws message", &data);
                    let ws = client.conn.ws_mut().unwrap();
                    ws.close(now, Some(1000), "").unwrap();
                }
                Event::Ws(WsEvent::Close { code, .. }) => {
                    client_record.note(format!("ws close {code}"));
                }
                _ => {}
            }
        }
        let notes: Vec<Note> = client
            .conn
            .client_mut()
            .map(|c| c.notes.drain(..).collect())
            .unwrap_or_default();
        for note in notes {
            moved = true;
            app(now, &mut client.conn, note, &mut client_record);
        }
        moved |= server.round(now, &mut to_client, &mut to_server, max_read);
        serve(now, &mut server, &mut server_record);
        if !moved {
            return (server_record, client_record);
        }
    }
    panic!("the stacks do not settle");
}

fn request(method: &'static str, target: &'static str) -> ClientRequest {
    ClientRequest::new(method, target).header("Host", "localhost")
}

/// Two keep-alive GETs, then a POST with `Expect: 100-continue` whose body goes after the
/// server's `100 Continue` (Node docs `http.md` › `Event: 'checkContinue'`, `'continue'`).
fn keep_alive(max_write: usize, max_read: usize) -> (Record, Record) {
    let mut sent = 0u64;
    run(
        max_write,
        max_read,
        move |now, conn, note, record| match note {
            Note::Connected => {
                let client = conn.client_mut().unwrap();
                client
                    .start(now, PoolRequestId(1), request("GET", "/one"), &[], true)
                    .unwrap();
                sent = 1;
            }
            Note::Http(ClientEvent::Response(head)) => {
                record.note(format!("status {}", head.status))
            }
            Note::Http(ClientEvent::Information(head)) => {
                record.note(format!("information {}", head.status));
            }
            Note::Http(ClientEvent::Data { data, .. }) => record.data("body", &data),
            Note::Http(ClientEvent::Continue { id }) => {
                record.note("continue");
                let client = conn.client_mut().unwrap();
                let http = client.conn.as_mut().unwrap();
                http.write(now, id, Bytes::from_static(b"upload ")).unwrap();
                http.end(now, id, Some(Bytes::from_static(b"done")))
                    .unwrap();
            }
            Note::Http(ClientEvent::End { .. }) => {
                record.note("end");
                let client = conn.client_mut().unwrap();
                sent += 1;
                let next = match sent {
                    2 => request("GET", "/two"),
                    3 => request("POST", "/upload")
                        .header("Expect", "100-continue")
                        .header("Content-Length", "11"),
                    _ => return,
                };
                client
                    .start(now, PoolRequestId(sent), next, &[], sent != 3)
                    .unwrap();
            }
            other => record.note(format!("{other:?}")),
        },
        |_, _| {},
    )
}

/// A WebSocket upgrade offering permessage-deflate; one message echoed, then the client's
/// close (RFC 6455 §4, RFC 7692 §5).
fn websocket(max_write: usize, max_read: usize) -> (Record, Record) {
    let mut entropy = |buf: &mut [u8]| buf.fill(7);
    let handshake = sansnet_ws::handshake::ClientHandshake::new(&mut entropy, &[])
        .with_deflate(sansnet_ws::DeflateConfig::default());
    run(
        max_write,
        max_read,
        move |now, conn, note, record| match note {
            Note::Connected => {
                let client = conn.client_mut().unwrap();
                let head = handshake.request("localhost", "/chat");
                client
                    .start(now, PoolRequestId(1), head, &[], true)
                    .unwrap();
            }
            Note::Http(ClientEvent::Upgrade { response, head }) => {
                let opened = handshake.open(&response).unwrap();
                record.note(format!("open deflate={}", opened.deflate.is_some()));
                let config = sansnet_stack::ws_config(sansnet_ws::Config::default());
                let mut ws = sansnet_ws::Connection::new(
                    Role::Client,
                    config,
                    Box::new(|buf: &mut [u8]| buf.fill(3)),
                )
                .with_deflate(opened.deflate);
                ws.send(now, Message::Text(Bytes::from_static(b"hello hello hello")))
                    .unwrap();
                conn.start_ws(now, ws, head);
                conn.release();
            }
            other => record.note(format!("{other:?}")),
        },
        |_, _| {},
    )
}

/// CONNECT: after the 200, the socket is the application's on both sides: a byte tunnel
/// (Node docs `http.md` › `Event: 'connect'`).
fn tunnel(max_write: usize, max_read: usize) -> (Record, Record) {
    run(
        max_write,
        max_read,
        move |now, conn, note, record| match note {
            Note::Connected => {
                let client = conn.client_mut().unwrap();
                let head = request("CONNECT", "localhost:9");
                client
                    .start(now, PoolRequestId(1), head, &[], true)
                    .unwrap();
            }
            Note::Http(ClientEvent::Connect { response, head }) => {
                record.note(format!("connected {} head={}", response.status, head.len()));
                conn.release();
                conn.socket_mut()
                    .write(now, Bytes::from_static(b"through the tunnel"))
                    .unwrap();
            }
            other => record.note(format!("{other:?}")),
        },
        |_, _| {},
    )
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn keep_alive_and_continue_over_https() {
    let (server, client) = keep_alive(usize::MAX, 1 << 16);
    assert_eq!(
        server.0,
        strings(&[
            "secure alpn=None",
            "request GET /one",
            "end",
            "request GET /two",
            "end",
            "checkContinue",
            "body upload done",
            "end",
        ])
    );
    assert_eq!(
        client.0,
        strings(&[
            "status 200",
            "body answer 0",
            "end",
            "status 200",
            "body answer 1",
            "end",
            "continue",
            "information 100",
            "status 200",
            "body answer 2",
            "end",
        ])
    );
}

#[test]
fn websocket_upgrade_with_deflate_over_https() {
    let (server, client) = websocket(usize::MAX, 1 << 16);
    assert_eq!(
        server.0,
        strings(&[
            "secure alpn=None",
            "end",
            "upgrade head=0",
            "deflate=true",
            "ws message hello hello hello",
            "ws close 1000",
        ])
    );
    assert_eq!(
        client.0,
        strings(&[
            "open deflate=true",
            "ws message hello hello hello",
            "ws close 1000"
        ])
    );
}

#[test]
fn connect_tunnel_over_https() {
    let (server, client) = tunnel(usize::MAX, 1 << 16);
    assert_eq!(
        server.0,
        strings(&[
            "secure alpn=None",
            "connect localhost:9 head=",
            "tunnel through the tunnel",
        ])
    );
    assert_eq!(
        client.0,
        strings(&["connected 200 head=0", "tunnel through the tunnel"])
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The same record for every cut of the bytes, in both directions.
    #[test]
    fn the_same_events_for_every_cut(max_write in 1usize..600, max_read in 1usize..600) {
        prop_assert_eq!(keep_alive(max_write, max_read), keep_alive(usize::MAX, 1 << 16));
        prop_assert_eq!(websocket(max_write, max_read), websocket(usize::MAX, 1 << 16));
        prop_assert_eq!(tunnel(max_write, max_read), tunnel(usize::MAX, 1 << 16));
    }
}

/// Regression (found by the simulator, `tests/tests/sim_continue.rs`): the keep-alive timer
/// of an HTTP server counts from the last byte written, not from when the response was queued,
/// so a response still draining to a slow reader is not cut off by `keepAliveTimeout`.
#[test]
fn keep_alive_timeout_waits_for_a_slow_reader_to_take_the_response() {
    use std::io::IoSlice;
    use std::time::Duration;

    let start = Instant::now();
    let config = sansnet_http1::ServerConfig {
        keep_alive_timeout: Some(Duration::from_secs(5)),
        ..sansnet_http1::ServerConfig::default()
    };
    let mut server = Connection::accepted(start, SocketConfig::default()).serve_http(start, config);
    server.handle_input(start, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    server.drive(start, true);
    let body = Bytes::from(vec![b'x'; 64 * 1024]);
    let mut answered = false;
    let mut written = 0;
    let mut closed = false;
    let mut closed_at = None;
    // The reader takes 1 KiB a second (the whole response takes over a minute) and stops
    // reading for 20 s in the middle.
    let mut last_write = start;
    for second in 0..120u64 {
        let now = start + Duration::from_secs(second);
        if server.poll_timeout().is_some_and(|t| t <= now) {
            server.handle_timeout(now);
        }
        server.drive(now, true);
        while let Some(event) = server.poll_event() {
            if let Event::Http(sansnet_http1::ServerEvent::End { id, .. }) = event {
                let http = server.http_mut().unwrap();
                let response = sansnet_http1::Response::new(200);
                http.respond(now, id, response, body.clone()).unwrap();
                answered = true;
            }
            if let Event::Socket(SocketEvent::Close { .. }) = event {
                closed = true;
                closed_at = Some(now);
            }
        }
        server.drive(now, true);
        while let Some(action) = server.poll_action() {
            if matches!(action, sansnet_core::Action::Close { .. }) {
                closed = true;
                closed_at = Some(now);
            }
        }
        if closed {
            break;
        }
        let mut slices = [IoSlice::new(&[]); 16];
        let n = server.transmit_chunks(&mut slices);
        let available: usize = slices[..n].iter().map(|s| s.len()).sum();
        let take = if (30..50).contains(&second) {
            0
        } else {
            available.min(1024)
        };
        if take > 0 {
            server.advance_transmit(now, take);
            written += take;
            last_write = now;
        }
    }
    assert!(answered);
    assert!(
        written > body.len(),
        "the response was cut at {written} bytes by the keep-alive timeout"
    );
    // Once the last byte is written, the idle connection closes after `keepAliveTimeout`.
    assert_eq!(closed_at, Some(last_write + Duration::from_secs(5)));
}

/// Regression (found by the simulator, `tests/tests/sim_tls.rs`): a TLS connection destroyed
/// after the peer's `close_notify` asks for nothing after its `Close` (it used to ask for the
/// FIN of its own `close_notify` reply after it).
#[test]
fn no_shutdown_after_close_under_tls() {
    use sansnet_core::Action;
    use std::io::IoSlice;

    fn pass(now: Instant, from: &mut Connection, to: &mut Connection) {
        let mut slices = [IoSlice::new(&[]); 16];
        let n = from.transmit_chunks(&mut slices);
        let bytes: Vec<u8> = slices[..n].iter().flat_map(|s| s.iter().copied()).collect();
        from.advance_transmit(now, bytes.len());
        if !bytes.is_empty() {
            to.handle_input(now, &bytes);
        }
    }

    let now = Instant::now();
    let (server_tls, client_tls) = tls_configs();
    let mut server = sansnet_stack::Acceptor::new(SocketConfig::default())
        .with_tls(server_tls)
        .accept(now);
    let mut client = Connection::connect(now, SocketConfig::default()).with_tls(
        now,
        TlsConnection::client(client_tls, "localhost").unwrap(),
        true,
    );
    client.handle_connected(now);
    let mut client_actions = Vec::new();
    for round in 0..50 {
        client.drive(now, true);
        server.drive(now, true);
        while client.poll_event().is_some() {}
        while server.poll_event().is_some() {}
        pass(now, &mut client, &mut server);
        pass(now, &mut server, &mut client);
        client.drive(now, true);
        server.drive(now, true);
        while server.poll_action().is_some() {}
        while let Some(action) = client.poll_action() {
            client_actions.push(action);
        }
        if round == 10 {
            // The handshake is done: the server ends (close_notify, FIN).
            server.socket_mut().end(now, None).unwrap();
        }
        if round == 20 {
            client.socket_mut().destroy(now);
        }
    }
    let close = client_actions
        .iter()
        .position(|a| matches!(a, Action::Close { .. }))
        .expect("the destroy closes the socket");
    assert!(
        client_actions[close + 1..].is_empty(),
        "actions after the close: {client_actions:?}"
    );
}
