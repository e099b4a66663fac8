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

use std::io::IoSlice;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use sansnet_core::Action;
use sansnet_http1::{
    ClientConfig, ClientEvent, ClientRequest, ConnectionId, PoolRequestId, Response, ServerConfig,
    ServerEvent,
};
use sansnet_stack::{ClientLayer, Connection, Event, Note};
use sansnet_tcp::{SocketConfig, SocketEvent};
use sansnet_testkit::certs::{TestCa, Usage};
use sansnet_testkit::link::Link;
use sansnet_tls::{ClientOptions, Identity, ServerOptions, TlsConnection};
use sansnet_ws::{Message, Role, WsEvent};

/// What one side's application saw, in order; the bytes of consecutive `data` events joined,
/// since how they are cut depends on the link.
#[derive(Debug, Default, PartialEq, Eq)]
struct Record(Vec<String>);

impl Record {
    fn note(&mut self, what: impl Into<String>) {
        self.0.push(what.into());
    }

    fn data(&mut self, what: &str, data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        if let Some(last) = self.0.last_mut()
            && let Some(rest) = last.strip_prefix(&format!("{what} "))
        {
            *last = format!("{what} {rest}{text}");
        } else {
            self.0.push(format!("{what} {text}"));
        }
    }
}

/// One side: its stack, the link it writes into, and what its runtime did.
struct Side {
    conn: Connection,
    eof_given: bool,
    closed: bool,
}

impl Side {
    fn new(conn: Connection) -> Self {
        Self {
            conn,
            eof_given: false,
            closed: false,
        }
    }

    /// One round of the drain rule against the links; returns whether anything moved.
    fn round(&mut self, now: Instant, out: &mut Link, inbound: &mut Link, max_read: usize) -> bool {
        let mut moved = false;
        loop {
            let mut slices = [IoSlice::new(&[]); 16];
            let n = self.conn.transmit_chunks(&mut slices);
            if n == 0 || self.closed {
                break;
            }
            let written = out.write_vectored(&slices[..n]);
            if written == 0 {
                break;
            }
            self.conn.advance_transmit(now, written);
            moved = true;
        }
        while let Some(action) = self.conn.poll_action() {
            moved = true;
            match action {
                Action::Shutdown => out.shutdown(),
                Action::Close { .. } => {
                    out.shutdown();
                    self.closed = true;
                }
                _ => {}
            }
        }
        if !self.closed && self.conn.wants_read() {
            let mut buf = BytesMut::new();
            if inbound.read(&mut buf, max_read) > 0 {
                self.conn.handle_input(now, &buf);
                moved = true;
            } else if inbound.at_eof() && !self.eof_given {
                self.eof_given = true;
                self.conn.handle_eof(now);
                moved = true;
            }
        }
        moved | self.conn.drive(now, true)
    }
}

fn tls_configs() -> (
    Arc<sansnet_tls::rustls::ServerConfig>,
    Arc<sansnet_tls::rustls::ClientConfig>,
) {
    let ca = TestCa::new("sansnet stack test CA");
    let leaf = ca.leaf(&["localhost"], Usage::Server);
    let identity = Identity::from_pem(leaf.chain_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap();
    let server = ServerOptions::new(identity).build().unwrap();
    let client = ClientOptions {
        ca: Some(sansnet_tls::certificates_from_pem(ca.cert_pem.as_bytes()).unwrap()),
        ..ClientOptions::default()
    }
    .build()
    .unwrap();
    (server, client)
}

/// The server application: answers requests, accepts WebSockets (echoing each message) and
/// tunnels (echoing each byte).
fn serve(now: Instant, side: &mut Side, record: &mut Record) {
    while let Some(event) = side.conn.poll_event() {
        match event {
            Event::Secure(info) => record.note(format!("secure alpn={:?}", info.alpn)),
            Event::Http(ServerEvent::Request(request)) => {
                record.note(format!(
                    "request {} {}",
                    String::from_utf8_lossy(&request.method),
                    String::from_utf8_lossy(&request.target)
                ));
            }
            Event::Http(ServerEvent::CheckContinue(request)) => {
                record.note("checkContinue");
                let http = side.conn.http_mut().unwrap();
                http.send_continue(request.id).unwrap();
            }
            Event::Http(ServerEvent::Data { data, .. }) => record.data("body", &data),
            Event::Http(ServerEvent::End { id, .. }) => {
                record.note("end");
                // Not for a request that handed the socket over.
                if let Some(http) = side.conn.http_mut() {
                    let body = Bytes::from(format!("answer {}", id.0));
                    http.respond(now, id, Response::new(200), body).unwrap();
                }
            }
            Event::Http(ServerEvent::Upgrade { request, head }) => {
                record.note(format!("upgrade head={}", head.len()));
                let accepted = sansnet_ws::handshake::accept_with(
                    &request,
                    &[],
                    &sansnet_ws::DeflateConfig::default(),
                )
                .unwrap();
                record.note(format!("deflate={}", accepted.deflate.is_some()));
                let config = sansnet_stack::ws_config(sansnet_ws::Config::default());
                let ws = sansnet_ws::Connection::server(config, accepted.response)
                    .with_deflate(accepted.deflate);
                side.conn.start_ws(now, ws, head);
            }
            Event::Http(ServerEvent::Connect { request, head }) => {
                record.note(format!(
                    "connect {} head={}",
                    String::from_utf8_lossy(&request.target),
                    String::from_utf8_lossy(&head)
                ));
                let socket = side.conn.socket_mut();
                socket
                    .write(
                        now,
                        Bytes::from_static(b"HTTP/1.1 200 Connection Established\r\n\r\n"),
                    )
                    .unwrap();
                socket.write(now, head).unwrap();
            }
            Event::Http(ServerEvent::Close) => record.note("http close"),
            Event::Http(_) => {}
            Event::Ws(WsEvent::Message(message)) => {
                let (Message::Text(data) | Message::Binary(data)) = &message;
                record.data("ws message", data);
                let ws = side.conn.ws_mut().unwrap();
                ws.send(now, message).unwrap();
            }
            Event::Ws(WsEvent::Close { code, .. }) => record.note(format!("ws close {code}")),
            Event::Ws(_) => {}
            Event::Socket(SocketEvent::Data(data)) => {
                record.data("tunnel", &data);
                side.conn.socket_mut().write(now, data).unwrap();
            }
            Event::Socket(SocketEvent::End) => record.note("socket end"),
            Event::Socket(SocketEvent::Close { had_error }) => {
                record.note(format!("socket close error={had_error}"));
            }
            Event::Socket(_) | _ => {}
        }
    }
}

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
    let config = ServerConfig {
        upgrade: true,
        connect: true,
        check_continue: true,
        ..ServerConfig::default()
    };
    let server = Connection::accepted(now, SocketConfig::default())
        .with_tls(now, TlsConnection::server(server_tls).unwrap(), true)
        .serve_http(now, config);
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
