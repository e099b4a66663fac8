//! The demo's HTTP routes, its WebSocket endpoints (`/ws` echo, `/chat` broadcast), and the
//! CONNECT tunnel to loopback targets.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::Bytes;
use sansnet_http1::{BodyFraming, Request, RequestId, Response, ServerEvent, reason_phrase};
use sansnet_mio::{EventLoop, SocketId};
use sansnet_tcp::{Address, SocketConfig, SocketEvent};
use sansnet_ws::WsEvent;

/// The chat page at `/` (also served by sansnet-tokio's `tokio-chat` example).
const PAGE: &str = include_str!("page.html");

/// The HTTP machine settings of the demo: Node's defaults, with `connect` and `upgrade`
/// listeners.
pub(crate) fn config() -> sansnet_http1::ServerConfig {
    sansnet_http1::ServerConfig {
        connect: true,
        upgrade: true,
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
    /// Open WebSockets and whether each is a `/chat` member (else a `/ws` echo).
    sockets: HashMap<SocketId, bool>,
    /// Connections not read while their echo (HTTP or WebSocket) waits to drain.
    paused: HashSet<SocketId>,
    /// `/download` responses still streaming: the request and the bytes left to send.
    downloads: HashMap<SocketId, (RequestId, u64)>,
    /// With `--workers` above 1, this worker's index, sent as `X-Worker` on every routed response
    /// (not on a 101 or a CONNECT's 200).
    worker: Option<usize>,
}

/// The most `/download` sends (1 GiB).
const MAX_DOWNLOAD: u64 = 1 << 30;
/// One write of a `/download` body (byte i of the body is i mod 256).
const DOWNLOAD_CHUNK: usize = 64 * 1024;

impl Http {
    /// The HTTP side of one worker; `worker` is its index when there are several.
    pub(crate) fn new(worker: Option<usize>) -> Self {
        Self {
            worker,
            ..Self::default()
        }
    }

    /// `response` with the `X-Worker` header when there are several workers.
    fn tagged(&self, response: Response) -> Response {
        match self.worker {
            Some(index) => response.header("X-Worker", index.to_string()),
            None => response,
        }
    }

    /// Whether `socket` is a tunnel end the HTTP side handles.
    pub(crate) fn owns(&self, socket: SocketId) -> bool {
        self.tunnels.contains_key(&socket)
    }

    pub(crate) fn on_http(&mut self, ev: &mut EventLoop, socket: SocketId, event: ServerEvent) {
        match event {
            ServerEvent::Request(request) => self.route(ev, socket, &request),
            // What `req.pipe(res)` does in Node: stop reading the request while the response
            // is past its high-water mark, read again on its `drain`.
            ServerEvent::Data { id, data } if self.echoes.contains(&(socket, id)) => {
                if let Ok(false) = ev.http_command(socket, |conn, now| conn.write(now, id, data)) {
                    self.pause(ev, socket);
                }
            }
            ServerEvent::Drain => {
                self.resume(ev, socket);
                self.download(ev, socket);
            }
            ServerEvent::Close => {
                self.paused.remove(&socket);
                self.downloads.remove(&socket);
            }
            ServerEvent::End { id, .. } if self.echoes.remove(&(socket, id)) => {
                let _ = ev.http_command(socket, |conn, now| conn.end(now, id, None));
            }
            ServerEvent::Connect { request, head } => self.connect(ev, socket, &request, head),
            ServerEvent::Upgrade { request, head } => self.upgrade(ev, socket, &request, head),
            _ => {}
        }
    }

    /// An upgrade request: a WebSocket on `/ws` or `/chat` (a chat room per worker: with
    /// `--workers`, a message reaches the members on the same worker only); any other upgrade is answered as
    /// the plain request it also is, and the connection closes after it.
    fn upgrade(&mut self, ev: &mut EventLoop, socket: SocketId, request: &Request, head: Bytes) {
        let path = request
            .target
            .split(|&b| b == b'?')
            .next()
            .unwrap_or_default();
        let websocket = request
            .headers
            .get("upgrade")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"websocket"));
        if websocket && (path == b"/ws" || path == b"/chat") {
            let config = sansnet_ws::Config::default();
            if ev.ws_accept(socket, request, head, &[], config).is_ok() {
                self.sockets.insert(socket, path == b"/chat");
            }
            return;
        }
        let (status, content_type, body) = static_route(&request.method, path);
        let reply = format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{}",
            reason_phrase(status),
            body.len(),
            if &request.method[..] == b"HEAD" {
                ""
            } else {
                body
            },
        );
        let _ = ev.end(socket, Some(Bytes::from(reply)));
    }

    /// A WebSocket event: `/ws` echoes, `/chat` broadcasts to every member.
    pub(crate) fn on_ws(&mut self, ev: &mut EventLoop, socket: SocketId, event: WsEvent) {
        match event {
            WsEvent::Message(message) => {
                if self.sockets.get(&socket) == Some(&true) {
                    let members: Vec<SocketId> = self
                        .sockets
                        .iter()
                        .filter(|(_, chat)| **chat)
                        .map(|(s, _)| *s)
                        .collect();
                    for member in members {
                        let _ = ev.ws_send(member, message.clone());
                    }
                } else if let Ok(false) = ev.ws_send(socket, message) {
                    // `bufferedAmount` past the high-water mark: read no more messages to echo
                    // until it drains.
                    self.pause(ev, socket);
                }
            }
            WsEvent::Drain => self.resume(ev, socket),
            WsEvent::Close { .. } => {
                self.sockets.remove(&socket);
                self.paused.remove(&socket);
            }
            _ => {}
        }
    }

    /// Sends more of the `/download` on `socket` until the response is past its high-water
    /// mark (then its `drain` calls this again) or complete: a download holds about one
    /// high-water mark of memory, however slowly the client reads.
    fn download(&mut self, ev: &mut EventLoop, socket: SocketId) {
        let Some((id, left)) = self.downloads.get_mut(&socket) else {
            return;
        };
        let id = *id;
        while *left > 0 {
            let n = usize::try_from(*left).map_or(DOWNLOAD_CHUNK, |l| l.min(DOWNLOAD_CHUNK));
            *left -= u64::try_from(n).unwrap_or(0);
            // Made afresh for each write, as a file's contents would be read.
            let chunk: Bytes = (0..n)
                .map(|i| u8::try_from(i % 256).unwrap_or_default())
                .collect();
            let wrote = ev.http_command(socket, |conn, now| {
                if *left == 0 {
                    conn.end(now, id, Some(chunk)).map(|()| true)
                } else {
                    conn.write(now, id, chunk)
                }
            });
            if !matches!(wrote, Ok(true)) {
                break;
            }
        }
        if *left == 0 {
            self.downloads.remove(&socket);
        }
    }

    /// Stops reading `socket` until its echo drains: `req.pause()` on an HTTP connection, the
    /// socket's `pause()` under a WebSocket.
    fn pause(&mut self, ev: &mut EventLoop, socket: SocketId) {
        if !self.paused.insert(socket) {
            return;
        }
        if self.sockets.contains_key(&socket) {
            ev.pause(socket);
        } else {
            let _ = ev.http_command(socket, |conn, _| {
                conn.pause();
                Ok(())
            });
        }
    }

    /// The echo on `socket` drained: read again if it was paused for it.
    fn resume(&mut self, ev: &mut EventLoop, socket: SocketId) {
        if !self.paused.remove(&socket) {
            return;
        }
        if self.sockets.contains_key(&socket) {
            ev.resume(socket);
        } else {
            let _ = ev.http_command(socket, |conn, _| {
                conn.resume();
                Ok(())
            });
        }
    }

    /// Going away (1001) for every WebSocket, at shutdown.
    pub(crate) fn close_all(&mut self, ev: &mut EventLoop) {
        for socket in self.sockets.keys().copied().collect::<Vec<_>>() {
            let _ = ev.ws_close(socket, Some(1001), "server shutting down");
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
        if matches!((method, path), (b"POST" | b"PUT", b"/echo")) {
            let mut response =
                Response::new(200).header("Content-Type", "application/octet-stream");
            if let BodyFraming::ContentLength(n) = request.framing {
                response = response.header("Content-Length", n.to_string());
            }
            let response = self.tagged(response);
            // The body streams back as it arrives; `End` finishes the response.
            self.echoes.insert((socket, id));
            let _ = ev.http_command(socket, |conn, now| conn.send_response(now, id, response));
            return;
        }
        if method == b"GET" && path == b"/download" {
            let query = request.target.splitn(2, |&b| b == b'?').nth(1);
            let bytes = query
                .and_then(|q| q.strip_prefix(b"bytes="))
                .and_then(|n| std::str::from_utf8(n).ok()?.parse::<u64>().ok())
                .filter(|&n| n <= MAX_DOWNLOAD);
            if let Some(bytes) = bytes {
                let response = self.tagged(
                    Response::new(200)
                        .header("Content-Type", "application/octet-stream")
                        .header("Content-Length", bytes.to_string()),
                );
                let _ = ev.http_command(socket, |conn, now| conn.send_response(now, id, response));
                self.downloads.insert(socket, (id, bytes));
                self.download(ev, socket);
                return;
            }
        }
        let (status, content_type, body) = static_route(method, path);
        let response = self.tagged(Response::new(status).header("Content-Type", content_type));
        let body = Bytes::from_static(body.as_bytes());
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

/// The fixed routes: status, content type and body for `method` on `path`.
fn static_route(method: &[u8], path: &[u8]) -> (u16, &'static str, &'static str) {
    const TEXT: &str = "text/plain; charset=utf-8";
    match (method, path) {
        (b"GET" | b"HEAD", b"/hello") => (200, TEXT, "hello world"),
        (b"GET" | b"HEAD", b"/") => (200, "text/html; charset=utf-8", PAGE),
        (b"GET", b"/download") => (400, TEXT, "ask for /download?bytes=N, N at most 2^30\n"),
        (_, b"/hello" | b"/" | b"/echo" | b"/download") => (405, TEXT, "method not allowed\n"),
        _ => (404, TEXT, "not found\n"),
    }
}
