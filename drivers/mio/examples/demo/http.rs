//! The demo's HTTP routes, and the CONNECT tunnel to loopback targets.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::Bytes;
use sansnet_http1::{BodyFraming, Request, RequestId, Response, ServerEvent};
use sansnet_mio::{EventLoop, SocketId};
use sansnet_tcp::{Address, SocketConfig, SocketEvent};

const PAGE: &str = "<!doctype html>
<html lang=\"en\">
<head><meta charset=\"utf-8\"><title>sansnet</title></head>
<body>
<h1>sansnet</h1>
<p>Node's network stack as sans-I/O state machines, served by a single-threaded mio loop.</p>
<ul>
<li><a href=\"/hello\">/hello</a>: hello world</li>
<li><code>curl --data-binary @file http://127.0.0.1:8080/echo</code>: the body echoed back</li>
</ul>
</body>
</html>
";

/// The HTTP machine settings of the demo: Node's defaults, with a `connect` listener.
pub(crate) fn config() -> sansnet_http1::ServerConfig {
    sansnet_http1::ServerConfig {
        connect: true,
        ..Default::default()
    }
}

/// What a raw socket is to the HTTP side of the demo.
#[derive(Debug, Clone, Copy)]
enum Tunnel {
    /// A client whose CONNECT is waiting for the upstream connection.
    Client { upstream: SocketId },
    /// The upstream connection of a CONNECT, connecting, with the client it serves.
    Upstream { client: SocketId },
    /// One end of an open tunnel.
    Open { peer: SocketId },
}

/// The state of the demo's HTTP side: echo requests in flight and tunnels.
#[derive(Debug, Default)]
pub(crate) struct Http {
    /// `/echo` requests whose bodies are being streamed back.
    echoes: HashSet<(SocketId, RequestId)>,
    tunnels: HashMap<SocketId, Tunnel>,
    /// Bytes read past a CONNECT head, to forward once the upstream is connected.
    pending_head: HashMap<SocketId, Bytes>,
}

impl Http {
    /// Whether `socket` is a tunnel end the HTTP side handles.
    pub(crate) fn owns(&self, socket: SocketId) -> bool {
        self.tunnels.contains_key(&socket)
    }

    pub(crate) fn on_http(&mut self, ev: &mut EventLoop, socket: SocketId, event: ServerEvent) {
        match event {
            ServerEvent::Request(request) => self.route(ev, socket, &request),
            ServerEvent::Data { id, data } if self.echoes.contains(&(socket, id)) => {
                let _ = ev.http_command(socket, |conn, now| conn.write(now, id, data));
            }
            ServerEvent::End { id, .. } if self.echoes.remove(&(socket, id)) => {
                let _ = ev.http_command(socket, |conn, now| conn.end(now, id, None));
            }
            ServerEvent::Connect { request, head } => self.connect(ev, socket, &request, head),
            _ => {}
        }
    }

    fn route(&mut self, ev: &mut EventLoop, socket: SocketId, request: &Request) {
        let method = &request.method[..];
        let path = request
            .target
            .split(|&b| b == b'?')
            .next()
            .unwrap_or_default();
        let id = request.id;
        let text = |status: u16, body: &'static str| {
            (
                Response::new(status).header("Content-Type", "text/plain; charset=utf-8"),
                Bytes::from_static(body.as_bytes()),
            )
        };
        let (response, body) = match (method, path) {
            (b"GET" | b"HEAD", b"/hello") => text(200, "hello world"),
            (b"GET" | b"HEAD", b"/") => (
                Response::new(200).header("Content-Type", "text/html; charset=utf-8"),
                Bytes::from_static(PAGE.as_bytes()),
            ),
            (b"POST" | b"PUT", b"/echo") => {
                let mut response =
                    Response::new(200).header("Content-Type", "application/octet-stream");
                if let BodyFraming::ContentLength(n) = request.framing {
                    response = response.header("Content-Length", n.to_string());
                }
                // The body streams back as it arrives; `End` finishes the response.
                self.echoes.insert((socket, id));
                let _ = ev.http_command(socket, |conn, _| conn.send_response(id, response));
                return;
            }
            (_, b"/hello" | b"/" | b"/echo") => text(405, "method not allowed\n"),
            _ => text(404, "not found\n"),
        };
        let _ = ev.respond(socket, id, response, body);
    }

    /// CONNECT: a tunnel to a loopback target, 403 for anything else.
    fn connect(&mut self, ev: &mut EventLoop, client: SocketId, request: &Request, head: Bytes) {
        let target = std::str::from_utf8(&request.target)
            .ok()
            .and_then(loopback_target);
        let Some(target) = target else {
            self.tunnels.insert(client, Tunnel::Open { peer: client });
            let reply = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            let _ = ev.end(client, Some(Bytes::from_static(reply.as_bytes())));
            return;
        };
        let upstream = ev.connect(Address::Tcp(target), SocketConfig::default());
        self.tunnels.insert(client, Tunnel::Client { upstream });
        self.tunnels.insert(upstream, Tunnel::Upstream { client });
        self.pending_head.insert(upstream, head);
        // Hold the client's bytes until the upstream is there.
        ev.pause(client);
    }

    pub(crate) fn on_socket(&mut self, ev: &mut EventLoop, socket: SocketId, event: SocketEvent) {
        let Some(&role) = self.tunnels.get(&socket) else {
            return;
        };
        match (role, event) {
            (Tunnel::Upstream { client }, SocketEvent::Connect) => {
                self.tunnels.insert(socket, Tunnel::Open { peer: client });
                self.tunnels.insert(client, Tunnel::Open { peer: socket });
                let established = "HTTP/1.1 200 Connection Established\r\n\r\n";
                let _ = ev.write(client, Bytes::from_static(established.as_bytes()));
                if let Some(head) = self.pending_head.remove(&socket)
                    && !head.is_empty()
                {
                    let _ = ev.write(socket, head);
                }
                ev.resume(client);
            }
            (Tunnel::Upstream { client }, SocketEvent::Error(_)) => {
                let reply =
                    "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                let _ = ev.end(client, Some(Bytes::from_static(reply.as_bytes())));
                ev.resume(client);
            }
            (Tunnel::Open { peer }, SocketEvent::Data(data)) if peer != socket => {
                if let Ok(false) = ev.write(peer, data) {
                    ev.pause(socket);
                }
            }
            (Tunnel::Open { peer }, SocketEvent::Drain) if peer != socket => ev.resume(peer),
            (Tunnel::Open { peer }, SocketEvent::End) if peer != socket => {
                let _ = ev.end(peer, None);
            }
            (role, SocketEvent::Close { .. }) => {
                self.tunnels.remove(&socket);
                self.pending_head.remove(&socket);
                let peer = match role {
                    Tunnel::Client { upstream } => upstream,
                    Tunnel::Upstream { client } => client,
                    Tunnel::Open { peer } => peer,
                };
                if peer != socket && self.tunnels.contains_key(&peer) {
                    ev.destroy(peer);
                }
            }
            _ => {}
        }
    }
}

/// `host:port` if it names a loopback address (the only targets the demo tunnels to). Only IP
/// literals and `localhost` are accepted, so no name is ever looked up.
fn loopback_target(authority: &str) -> Option<SocketAddr> {
    let addr = match authority.strip_prefix("localhost:") {
        Some(port) => SocketAddr::from((Ipv4Addr::LOCALHOST, port.parse::<u16>().ok()?)),
        None => authority.parse().ok()?,
    };
    let loopback = match addr.ip() {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => ip.is_loopback(),
    };
    loopback.then_some(addr)
}
