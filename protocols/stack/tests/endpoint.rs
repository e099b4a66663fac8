//! The HTTP client endpoint with no sockets: a test runtime carries out what the endpoint
//! asks (open a connection, put a request on it, close it), joining each client stack to a
//! server stack with in-memory links. Keep-alive reuse through the agent (Node's
//! `req.reusedSocket`), `http:` and `https:` origins, and a WebSocket opened with
//! `ws_connect`; the same events for every cut of the bytes.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use common::{Record, Side, serve, tls_configs};
use proptest::prelude::*;
use sansnet_http1::{AgentConfig, ClientRequest, Origin, PoolRequestId};
use sansnet_stack::{
    ClientRequestEvent, Endpoint, EndpointAction, EndpointEvent, Event, RequestOptions, SocketId,
};
use sansnet_testkit::link::Link;
use sansnet_ws::{Message, WsEvent};

/// One connection the runtime opened: the endpoint's client stack and its peer.
struct Pair {
    socket: SocketId,
    client: Side,
    server: Side,
    to_server: Link,
    to_client: Link,
    server_record: Record,
}

/// The test runtime.
struct Runtime {
    endpoint: Endpoint,
    pairs: Vec<Pair>,
    server_tls: Arc<sansnet_tls::rustls::ServerConfig>,
    max_write: usize,
    max_read: usize,
    /// What the client application saw.
    record: Record,
    /// The application's next step, by the index of the request that ended.
    done: usize,
}

impl Runtime {
    fn new(max_write: usize, max_read: usize) -> Self {
        let (server_tls, client_tls) = tls_configs();
        let mut endpoint = Endpoint::new(AgentConfig {
            keep_alive: true,
            ..AgentConfig::default()
        });
        endpoint.set_https_config(client_tls);
        Self {
            endpoint,
            pairs: Vec::new(),
            server_tls,
            max_write,
            max_read,
            record: Record::default(),
            done: 0,
        }
    }

    fn pair(&mut self, socket: SocketId) -> Option<&mut Pair> {
        self.pairs.iter_mut().find(|p| p.socket == socket)
    }

    /// Carries out the endpoint's actions.
    fn actions(&mut self, now: Instant) -> bool {
        let mut moved = false;
        while let Some(action) = self.endpoint.poll_action() {
            moved = true;
            match action {
                EndpointAction::Open {
                    connection,
                    origin,
                    stack,
                } => {
                    let socket = SocketId(self.pairs.len() as u64 + 1);
                    let tls = (origin.scheme == "https").then(|| self.server_tls.clone());
                    let mut client = Side::new(*stack);
                    client.conn.handle_connected(now);
                    self.pairs.push(Pair {
                        socket,
                        client,
                        server: Side::new(common::server(now, tls)),
                        to_server: Link::new(1 << 20, self.max_write),
                        to_client: Link::new(1 << 20, self.max_write),
                        server_record: Record::default(),
                    });
                    self.endpoint.handle_opened(now, connection, Ok(socket));
                }
                EndpointAction::Assign {
                    request,
                    socket,
                    reused,
                } => {
                    let pair = self.pairs.iter_mut().find(|p| p.socket == socket);
                    let conn = pair.map(|p| &mut p.client.conn);
                    self.endpoint.assign(now, request, socket, reused, conn);
                }
                EndpointAction::Close { socket } => {
                    if let Some(pair) = self.pair(socket) {
                        pair.client.conn.socket_mut().destroy(now);
                    }
                }
                _ => {}
            }
        }
        moved
    }

    /// Runs everything until nothing moves.
    fn settle(&mut self, now: Instant) {
        for _ in 0..100_000 {
            let mut moved = self.actions(now);
            let max_read = self.max_read;
            for pair in &mut self.pairs {
                moved |= pair
                    .client
                    .round(now, &mut pair.to_server, &mut pair.to_client, max_read);
                moved |= self
                    .endpoint
                    .handle_connection(now, pair.socket, &mut pair.client.conn);
                while let Some(event) = pair.client.conn.poll_event() {
                    moved = true;
                    match event {
                        Event::Ws(WsEvent::Message(Message::Text(data))) => {
                            self.record.data("ws message", &data);
                            let ws = pair.client.conn.ws_mut().unwrap();
                            ws.close(now, Some(1000), "bye").unwrap();
                        }
                        Event::Ws(WsEvent::Close { code, .. }) => {
                            self.record.note(format!("ws close {code}"));
                        }
                        _ => {}
                    }
                }
                moved |= pair
                    .server
                    .round(now, &mut pair.to_client, &mut pair.to_server, max_read);
                serve(now, &mut pair.server, &mut pair.server_record);
            }
            while let Some(event) = self.endpoint.poll_event() {
                moved = true;
                self.application(now, event);
            }
            if !moved {
                return;
            }
        }
        panic!("the runtime does not settle");
    }

    /// The client application: two requests to an `http:` origin one after the other, one to
    /// an `https:` origin, then a WebSocket.
    fn application(&mut self, now: Instant, event: EndpointEvent) {
        match event {
            EndpointEvent::Request { request, event } => match event {
                ClientRequestEvent::Socket { socket, reused } => {
                    self.record
                        .note(format!("{} socket {} reused={reused}", request.0, socket.0));
                }
                ClientRequestEvent::Response(head) => {
                    self.record
                        .note(format!("{} status {}", request.0, head.status));
                }
                ClientRequestEvent::Data(data) => self.record.data("body", &data),
                ClientRequestEvent::End(_) => self.record.note(format!("{} end", request.0)),
                ClientRequestEvent::Close => {
                    self.record.note(format!("{} close", request.0));
                    self.done += 1;
                    match self.done {
                        1 => {
                            get(&mut self.endpoint, now, "http", "/second");
                        }
                        2 => {
                            get(&mut self.endpoint, now, "https", "/secure");
                        }
                        3 => {
                            let origin = Origin::new("http", "localhost", 8080);
                            let entropy = Box::new(|buf: &mut [u8]| buf.fill(9));
                            self.endpoint.ws_connect(
                                now,
                                origin,
                                "/chat",
                                &[],
                                sansnet_ws::Config::default(),
                                entropy,
                            );
                        }
                        _ => {}
                    }
                }
                other => self.record.note(format!("{} {other:?}", request.0)),
            },
            EndpointEvent::WsOpen {
                request, socket, ..
            } => {
                self.record
                    .note(format!("{} ws open on {}", request.0, socket.0));
                let pair = self.pair(socket).unwrap();
                let ws = pair.client.conn.ws_mut().unwrap();
                ws.send(now, Message::Text(Bytes::from_static(b"hi there")))
                    .unwrap();
            }
            other => self.record.note(format!("{other:?}")),
        }
    }
}

fn get(endpoint: &mut Endpoint, now: Instant, scheme: &str, path: &'static str) -> PoolRequestId {
    let port = if scheme == "https" { 8443 } else { 8080 };
    let origin = Origin::new(scheme, "localhost", port);
    let head = ClientRequest::new("GET", path);
    let id = endpoint.request(now, origin, head, RequestOptions::default());
    let _ = endpoint.write(now, id, None, true, None);
    id
}

/// Runs the whole script with the bytes cut to `max_write`/`max_read`; returns what the
/// client application saw and what each server saw.
fn script(max_write: usize, max_read: usize) -> (Record, Vec<Record>) {
    let now = Instant::now();
    let mut runtime = Runtime::new(max_write, max_read);
    get(&mut runtime.endpoint, now, "http", "/first");
    runtime.settle(now);
    let servers = runtime.pairs.into_iter().map(|p| p.server_record).collect();
    (runtime.record, servers)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn keep_alive_reuse_https_and_a_websocket_through_the_endpoint() {
    let (client, servers) = script(usize::MAX, 1 << 16);
    assert_eq!(
        client.0,
        strings(&[
            "0 socket 1 reused=false",
            "0 status 200",
            "body answer 0",
            "0 end",
            "0 close",
            // The same keep-alive connection, now reused (Node's `req.reusedSocket`).
            "1 socket 1 reused=true",
            "1 status 200",
            "body answer 1",
            "1 end",
            "1 close",
            // Another origin: a connection of its own, under TLS.
            "2 socket 2 reused=false",
            "2 status 200",
            "body answer 0",
            "2 end",
            "2 close",
            // `agent: false` for a WebSocket: a fresh connection, not the pooled one.
            "3 ws open on 3",
            "ws message hi there",
            "ws close 1000",
        ])
    );
    assert_eq!(servers.len(), 3);
    assert_eq!(
        servers[0].0,
        strings(&["request GET /first", "end", "request GET /second", "end"])
    );
    assert_eq!(
        servers[1].0,
        strings(&["secure alpn=None", "request GET /secure", "end"])
    );
    assert_eq!(
        servers[2].0,
        strings(&[
            "end",
            "upgrade head=0",
            "deflate=true",
            "ws message hi there",
            "ws close 1000",
        ])
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The same events for every cut of the bytes.
    #[test]
    fn the_same_events_for_every_cut(max_write in 1usize..600, max_read in 1usize..600) {
        prop_assert_eq!(script(max_write, max_read), script(usize::MAX, 1 << 16));
    }
}
