//! The public HTTP client and WebSocket commands of [`EventLoop`]: thin wrappers over the
//! sans-I/O [`sansnet_stack::Endpoint`], plus the runtime's half of the endpoint's
//! requests (open a socket, put a request on a connection, close one).

use std::io;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use sansnet_http1::{Agent, AgentConfig, ClientRequest, Origin, PoolRequestId};
use sansnet_stack::{EndpointAction, EndpointEvent, RequestOptions};
use sansnet_tcp::Address;
use sansnet_tls::rustls::ClientConfig as ClientTlsConfig;

use crate::event::Event;
use crate::event_loop::{Entry, EventLoop};
use crate::tcp::SocketEntry;
use sansnet_stack::SocketId;

impl EventLoop {
    /// Accepts the WebSocket asked for by an `upgrade` request on `socket` (the `Upgrade`
    /// event's request and head): writes the 101 and runs a `sansnet_ws::Connection` on the
    /// socket, whose events arrive as [`Event::Ws`]. A request that is not a valid WebSocket
    /// handshake gets 400 (or 426) and the socket is closed. permessage-deflate is agreed to
    /// when offered and `config.deflate` allows it (`ws_command(socket, |c, _|
    /// Ok(c.deflate_enabled()))` tells). Returns the chosen subprotocol.
    pub fn ws_accept(
        &mut self,
        socket: SocketId,
        request: &sansnet_http1::Request,
        head: Bytes,
        protocols: &[&str],
        config: sansnet_ws::Config,
    ) -> Result<Option<String>, sansnet_ws::Error> {
        let now = Instant::now();
        let Some(Entry::Socket(entry)) = self.entries.get_mut(&socket.0) else {
            return Err(sansnet_ws::UsageError::Closed.into());
        };
        let result = entry.conn.accept_ws(now, request, head, protocols, config);
        self.service(socket.0, now);
        result
    }

    /// `new WebSocket(ws://host:port/path)`: an upgrade request on a connection of its own,
    /// offering permessage-deflate per `config.deflate`; [`Event::WsOpen`] or
    /// [`Event::WsOpenFailed`] follows.
    pub fn ws_connect(
        &mut self,
        origin: Origin,
        path: &str,
        protocols: &[&str],
        config: sansnet_ws::Config,
    ) -> PoolRequestId {
        let now = Instant::now();
        let entropy = Box::new(sansnet_os::entropy::fill);
        let id = self
            .endpoint
            .ws_connect(now, origin, path, protocols, config, entropy);
        self.endpoint_actions(now);
        id
    }

    /// `ws.send(message)`: `Ok(false)` at the high-water mark (`Drain` follows).
    pub fn ws_send(
        &mut self,
        socket: SocketId,
        message: sansnet_ws::Message,
    ) -> Result<bool, sansnet_ws::Error> {
        self.ws_command(socket, |conn, now| conn.send(now, message))
    }

    /// `ws.close(code, reason)`.
    pub fn ws_close(
        &mut self,
        socket: SocketId,
        code: Option<u16>,
        reason: &str,
    ) -> Result<(), sansnet_ws::Error> {
        self.ws_command(socket, |conn, now| conn.close(now, code, reason))
    }

    /// Runs any command on the WebSocket machine of `socket` (`ping`, `terminate`, getters),
    /// then the drain rule.
    pub fn ws_command<T>(
        &mut self,
        socket: SocketId,
        command: impl FnOnce(&mut sansnet_ws::Connection, Instant) -> Result<T, sansnet_ws::Error>,
    ) -> Result<T, sansnet_ws::Error> {
        let now = Instant::now();
        let Some(Entry::Socket(entry)) = self.entries.get_mut(&socket.0) else {
            return Err(sansnet_ws::UsageError::Closed.into());
        };
        let Some(ws) = entry.conn.ws_mut() else {
            return Err(sansnet_ws::UsageError::Closed.into());
        };
        let result = command(ws, now);
        self.service(socket.0, now);
        result
    }

    /// Replaces the HTTP client's agent (`new http.Agent(config)`); requests in progress on
    /// the old one are not affected only if there are none, so call it first.
    pub fn set_agent(&mut self, config: AgentConfig) {
        self.endpoint.set_agent(config);
    }

    /// The TLS settings of `https:` requests and `wss:` connections from now on (Node's
    /// `https.request({ca, cert, key, rejectUnauthorized})`), built with
    /// `sansnet_tls::ClientOptions::build`. Without it they verify servers against Mozilla's
    /// root certificates, as Node does with its bundled CA store. Every `https:`/`wss:`
    /// connection uses this one configuration, so they share its session cache, as the
    /// connections of Node's `https.Agent` share its `maxCachedSessions` sessions: a new
    /// connection to a server seen before resumes its session.
    pub fn set_https_config(&mut self, tls: Arc<ClientTlsConfig>) {
        self.endpoint.set_https_config(tls);
    }

    /// The HTTP client's agent, for its counts (`queued`, `busy`, `free`).
    pub fn agent(&self) -> &Agent {
        self.endpoint.agent()
    }

    /// `http.request(options)`: a request to `origin` through the agent. Add the body with
    /// [`EventLoop::http_write`] and finish with [`EventLoop::http_end`]; events arrive as
    /// [`Event::HttpClient`]. `Host` is added when missing, and `Connection` as Node's agent
    /// sets it (Node docs `http.md` › `new Agent()`, `Class: http.Agent`).
    pub fn http_request(
        &mut self,
        origin: Origin,
        head: ClientRequest,
        options: RequestOptions,
    ) -> PoolRequestId {
        let now = Instant::now();
        let id = self.endpoint.request(now, origin, head, options);
        self.endpoint_actions(now);
        id
    }

    /// `req.write(data)`: buffered until the request has a connection.
    pub fn http_write(
        &mut self,
        request: PoolRequestId,
        data: Bytes,
    ) -> Result<(), sansnet_http1::Error> {
        self.client_body(request, Some(data), false)
    }

    /// `req.end([data])`.
    pub fn http_end(
        &mut self,
        request: PoolRequestId,
        data: Option<Bytes>,
    ) -> Result<(), sansnet_http1::Error> {
        self.client_body(request, data, true)
    }

    fn client_body(
        &mut self,
        request: PoolRequestId,
        data: Option<Bytes>,
        end: bool,
    ) -> Result<(), sansnet_http1::Error> {
        let now = Instant::now();
        let socket = self.endpoint.socket_of(request);
        let conn = match socket.and_then(|s| self.entries.get_mut(&s.0)) {
            Some(Entry::Socket(entry)) => Some(&mut entry.conn),
            _ => None,
        };
        let result = self.endpoint.write(now, request, data, end, conn);
        if let Some(socket) = socket {
            self.service(socket.0, now);
        }
        result
    }

    /// Carries out what the endpoint asks, and hands its events to the application.
    pub(crate) fn endpoint_actions(&mut self, now: Instant) {
        while let Some(action) = self.endpoint.poll_action() {
            match action {
                EndpointAction::Open {
                    connection,
                    origin,
                    stack,
                } => {
                    let opened = self.open_pooled(&origin, *stack);
                    self.endpoint.handle_opened(now, connection, opened);
                }
                EndpointAction::Assign {
                    request,
                    socket,
                    reused,
                } => {
                    let conn = match self.entries.get_mut(&socket.0) {
                        Some(Entry::Socket(entry)) => Some(&mut entry.conn),
                        _ => None,
                    };
                    self.endpoint.assign(now, request, socket, reused, conn);
                    self.service(socket.0, now);
                }
                EndpointAction::Close { socket } => self.destroy(socket),
                _ => {}
            }
        }
        while let Some(event) = self.endpoint.poll_event() {
            self.events.push_back(match event {
                EndpointEvent::Request { request, event } => Event::HttpClient { request, event },
                EndpointEvent::WsOpen {
                    request,
                    socket,
                    protocol,
                } => Event::WsOpen {
                    request,
                    socket,
                    protocol,
                },
                EndpointEvent::WsOpenFailed { request, error } => {
                    Event::WsOpenFailed { request, error }
                }
                _ => continue,
            });
        }
        self.timers
            .set(crate::event_loop::AGENT_TIMER, self.endpoint.poll_timeout());
    }

    /// Opens the socket of a pooled connection (only IP literals and `localhost` resolve
    /// without a lookup; other names go through the system resolver).
    fn open_pooled(
        &mut self,
        origin: &Origin,
        stack: sansnet_stack::Connection,
    ) -> Result<SocketId, io::ErrorKind> {
        use std::net::ToSocketAddrs;
        let addr = (origin.host.as_str(), origin.port)
            .to_socket_addrs()
            .map_err(|_| io::ErrorKind::NotFound)?
            .next()
            .ok_or(io::ErrorKind::NotFound)?;
        let id = SocketId(self.allocate());
        let stream = self
            .stream_to(&Address::Tcp(addr), id)
            .map_err(|e| e.kind())?;
        let entry = SocketEntry::new(stack, stream, None);
        self.entries.insert(id.0, Entry::Socket(Box::new(entry)));
        self.again.push_back(id.0);
        Ok(id)
    }
}
