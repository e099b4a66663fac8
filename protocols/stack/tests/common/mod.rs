//! The in-memory harness shared by the stack's tests: a side (a stack driven over
//! `sansnet_testkit::link::Link`s, as a runtime would drive it over a socket), a record of
//! what an application saw, and a server application.

#![allow(
    dead_code,
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: each test file uses a different part of the kit, and a failed expectation is a test failure"
)]

use std::io::IoSlice;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use sansnet_core::Action;
use sansnet_http1::{Response, ServerConfig, ServerEvent};
use sansnet_stack::{Connection, Event};
use sansnet_tcp::{SocketConfig, SocketEvent};
use sansnet_testkit::certs::{TestCa, Usage};
use sansnet_testkit::link::Link;
use sansnet_tls::{ClientOptions, Identity, ServerOptions, TlsConnection};
use sansnet_ws::{Message, WsEvent};

/// What one side's application saw, in order; the bytes of consecutive `data` events joined,
/// since how they are cut depends on the link.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Record(pub(crate) Vec<String>);

impl Record {
    pub(crate) fn note(&mut self, what: impl Into<String>) {
        self.0.push(what.into());
    }

    pub(crate) fn data(&mut self, what: &str, data: &[u8]) {
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
pub(crate) struct Side {
    pub(crate) conn: Connection,
    eof_given: bool,
    closed: bool,
}

impl Side {
    pub(crate) fn new(conn: Connection) -> Self {
        Self {
            conn,
            eof_given: false,
            closed: false,
        }
    }

    /// One round of the drain rule against the links; returns whether anything moved.
    pub(crate) fn round(
        &mut self,
        now: Instant,
        out: &mut Link,
        inbound: &mut Link,
        max_read: usize,
    ) -> bool {
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

pub(crate) fn tls_configs() -> (
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
pub(crate) fn serve(now: Instant, side: &mut Side, record: &mut Record) {
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
                http.send_continue(now, request.id).unwrap();
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
                side.conn
                    .accept_ws(now, &request, head, &[], sansnet_ws::Config::default())
                    .unwrap();
                let ws = side.conn.ws_mut().unwrap();
                record.note(format!("deflate={}", ws.deflate_enabled()));
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

/// A server stack: an HTTP server (with `upgrade`, `connect` and `checkContinue` listeners)
/// above the socket, under TLS when `tls` is given.
pub(crate) fn server(
    now: Instant,
    tls: Option<Arc<sansnet_tls::rustls::ServerConfig>>,
) -> Connection {
    let config = ServerConfig {
        upgrade: true,
        connect: true,
        check_continue: true,
        ..ServerConfig::default()
    };
    let mut server = Connection::accepted(now, SocketConfig::default());
    if let Some(tls) = tls {
        server = server.with_tls(now, TlsConnection::server(tls).unwrap(), true);
    }
    server.serve_http(now, config)
}
