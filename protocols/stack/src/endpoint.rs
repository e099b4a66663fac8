//! `Endpoint`: the HTTP client of one runtime (Node's `http.request` with its `http.Agent`, and
//! `new WebSocket(url)`) as one sans-I/O value, beside the [`Connection`]s it opens.
//!
//! The endpoint owns the agent's pool bookkeeping and the requests; the runtime owns the
//! connections and their sockets. The endpoint asks the runtime for what it cannot do itself
//! ([`EndpointAction`]: open a socket to an origin, put a request on a connection, close a
//! connection) and takes back what happened on its connections
//! ([`Endpoint::handle_connection`]), as quinn-proto's `Endpoint` is to its `Connection`s.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use sansnet_http1::{
    Agent, AgentAction, AgentConfig, ClientConfig, ClientEvent, ClientRequest, ConnectionId,
    Origin, PoolRequestId,
};
use sansnet_tcp::SocketConfig;
use sansnet_tls::TlsConnection;
use sansnet_tls::rustls::ClientConfig as TlsConfig;
use sansnet_ws::handshake::ClientHandshake;

use crate::{
    ClientError, ClientLayer, ClientRequestEvent, Connection, Note, RequestOptions, SocketId,
    WsOpenError,
};

/// What the endpoint asks of its runtime; carry each out when polled
/// ([`Endpoint::poll_action`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum EndpointAction {
    /// Open a TCP connection to `origin` (resolving its host) and drive `stack` on it; then
    /// tell [`Endpoint::handle_opened`] which socket it is, or that it failed.
    Open {
        /// The agent's name for the connection.
        connection: ConnectionId,
        /// Where to connect.
        origin: Origin,
        /// The connection's machines (TLS for `https:`, the socket, the HTTP client).
        stack: Box<Connection>,
    },
    /// Put `request` on connection `socket`: call [`Endpoint::assign`] with it.
    Assign {
        /// The request.
        request: PoolRequestId,
        /// Its connection.
        socket: SocketId,
        /// Node's `req.reusedSocket`.
        reused: bool,
    },
    /// Destroy connection `socket` (the agent's idle timeout, or a one-off connection done).
    Close {
        /// The connection.
        socket: SocketId,
    },
}

/// What the endpoint tells the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "events live for one turn of the loop; boxing would allocate per HTTP event"
)]
pub enum EndpointEvent {
    /// An event of a request made with [`Endpoint::request`].
    Request {
        /// Which request.
        request: PoolRequestId,
        /// The event.
        event: ClientRequestEvent,
    },
    /// `'open'`: the WebSocket asked for with [`Endpoint::ws_connect`] is up on `socket`,
    /// whose stack now runs it.
    WsOpen {
        /// The id `ws_connect` returned.
        request: PoolRequestId,
        /// The connection.
        socket: SocketId,
        /// The subprotocol the server chose.
        protocol: Option<String>,
    },
    /// The WebSocket asked for with [`Endpoint::ws_connect`] could not be opened.
    WsOpenFailed {
        /// The id `ws_connect` returned.
        request: PoolRequestId,
        /// Why.
        error: WsOpenError,
    },
}

/// A request: what the application asked for, kept until it is over so that it can be sent
/// again on a fresh connection when that is safe.
#[derive(Debug)]
struct Pending {
    head: ClientRequest,
    body: Vec<Bytes>,
    ended: bool,
    config: ClientConfig,
    /// The connection carrying it, once assigned.
    socket: Option<SocketId>,
}

/// A WebSocket client waiting for its 101.
struct WsPending {
    handshake: ClientHandshake,
    config: sansnet_ws::Config,
    entropy: Box<dyn sansnet_ws::Entropy + Send>,
}

impl std::fmt::Debug for WsPending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsPending")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The HTTP client endpoint (see the module docs).
#[derive(Debug)]
pub struct Endpoint {
    agent: Agent,
    requests: HashMap<PoolRequestId, Pending>,
    /// The agent's connections and the sockets carrying them.
    pooled: HashMap<ConnectionId, SocketId>,
    ws_pending: HashMap<PoolRequestId, WsPending>,
    /// WebSocket clients answered, whose remaining request events are swallowed.
    ws_done: HashSet<PoolRequestId>,
    /// The TLS settings of `https:` and `wss:` connections.
    https: Option<Arc<TlsConfig>>,
    actions: VecDeque<EndpointAction>,
    events: VecDeque<EndpointEvent>,
}

impl Default for Endpoint {
    fn default() -> Self {
        Self::new(AgentConfig::default())
    }
}

impl Endpoint {
    /// An endpoint whose agent has `config` (`new http.Agent(config)`).
    pub fn new(config: AgentConfig) -> Self {
        Self {
            agent: Agent::new(config),
            requests: HashMap::new(),
            pooled: HashMap::new(),
            ws_pending: HashMap::new(),
            ws_done: HashSet::new(),
            https: None,
            actions: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Replaces the agent; requests in progress on the old one are only unaffected if there
    /// are none, so call it first.
    pub fn set_agent(&mut self, config: AgentConfig) {
        self.agent = Agent::new(config);
    }

    /// The TLS settings of `https:` requests and `wss:` connections from now on; without it
    /// they verify servers against Mozilla's root certificates, as Node does with its bundled
    /// CA store. Every connection shares this configuration and so its session cache.
    pub fn set_https_config(&mut self, tls: Arc<TlsConfig>) {
        self.https = Some(tls);
    }

    /// The agent, for its counts (`queued`, `busy`, `free`).
    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    /// Whether any request is still in progress.
    pub fn is_idle(&self) -> bool {
        self.requests.is_empty()
    }

    /// `http.request(options)`: a request to `origin` through the agent. Add the body with
    /// [`Endpoint::write`]. `Host` is added when missing (without the scheme's default port),
    /// and `Connection` as Node's agent sets it (Node docs `http.md` › `new Agent()`).
    pub fn request(
        &mut self,
        now: Instant,
        origin: Origin,
        mut head: ClientRequest,
        options: RequestOptions,
    ) -> PoolRequestId {
        if !head.headers.contains("host") {
            head.headers.append("Host", origin.host_header());
        }
        if !head.headers.contains("connection") {
            head.headers
                .append("Connection", self.agent.connection_header(options.one_off));
        }
        let request = self.agent.request(now, origin, options.one_off);
        let pending = Pending {
            head,
            body: Vec::new(),
            ended: false,
            config: options.client,
            socket: None,
        };
        self.requests.insert(request, pending);
        self.agent_actions(now, None);
        request
    }

    /// `new WebSocket(origin + path)`: an upgrade request on a connection of its own,
    /// offering permessage-deflate per `config.deflate`; `entropy` makes the handshake key
    /// and then the masks. [`EndpointEvent::WsOpen`] or [`EndpointEvent::WsOpenFailed`]
    /// follows.
    pub fn ws_connect(
        &mut self,
        now: Instant,
        origin: Origin,
        path: &str,
        protocols: &[&str],
        config: sansnet_ws::Config,
        mut entropy: Box<dyn sansnet_ws::Entropy + Send>,
    ) -> PoolRequestId {
        let handshake =
            ClientHandshake::new(&mut *entropy, protocols).with_deflate(config.deflate.clone());
        let head = handshake.request(&origin.host_header(), path);
        let options = RequestOptions {
            one_off: true,
            ..RequestOptions::default()
        };
        let id = self.request(now, origin, head, options);
        let pending = WsPending {
            handshake,
            config,
            entropy,
        };
        self.ws_pending.insert(id, pending);
        if let Some(pending) = self.requests.get_mut(&id) {
            pending.ended = true;
        }
        id
    }

    /// The connection carrying `request`, once it has one: the runtime passes that
    /// connection's stack to [`Endpoint::write`].
    pub fn socket_of(&self, request: PoolRequestId) -> Option<SocketId> {
        self.requests.get(&request).and_then(|p| p.socket)
    }

    /// `req.write(data)` (and `req.end()` with `end`): kept for a retry, and written now if
    /// the request is on `conn` (the stack of [`Endpoint::socket_of`]).
    pub fn write(
        &mut self,
        now: Instant,
        request: PoolRequestId,
        data: Option<Bytes>,
        end: bool,
        conn: Option<&mut Connection>,
    ) -> Result<(), sansnet_http1::Error> {
        let Some(pending) = self.requests.get_mut(&request) else {
            return Err(sansnet_http1::UsageError::UnknownRequest.into());
        };
        if pending.ended {
            return Err(sansnet_http1::UsageError::WriteAfterEnd.into());
        }
        if let Some(data) = &data {
            pending.body.push(data.clone());
        }
        pending.ended |= end;
        let Some(client) = conn.and_then(Connection::client_mut) else {
            return Ok(());
        };
        let (Some(http), Some((_, id))) = (&mut client.conn, client.current) else {
            return Ok(());
        };
        match (data, end) {
            (data, true) => http.end(now, id, data),
            (Some(data), false) => http.write(now, id, data),
            (None, false) => Ok(()),
        }
    }

    /// The runtime opened the socket of [`EndpointAction::Open`] for `connection` as `socket`,
    /// or failed to (`ENOTFOUND`, `EMFILE`, ...).
    pub fn handle_opened(
        &mut self,
        now: Instant,
        connection: ConnectionId,
        socket: Result<SocketId, ErrorKind>,
    ) {
        match socket {
            Ok(socket) => {
                self.pooled.insert(connection, socket);
            }
            Err(kind) => self.agent.handle_connect_failed(now, connection, kind),
        }
        self.agent_actions(now, None);
    }

    /// Puts `request` on `conn`, the stack of `socket` ([`EndpointAction::Assign`]); `None`
    /// if that connection is gone.
    pub fn assign(
        &mut self,
        now: Instant,
        request: PoolRequestId,
        socket: SocketId,
        reused: bool,
        conn: Option<&mut Connection>,
    ) {
        let client = conn.and_then(Connection::client_mut);
        let (Some(client), Some(pending)) = (client, self.requests.get_mut(&request)) else {
            self.finish(now, request, Some(ClientError::Io(ErrorKind::NotConnected)));
            return;
        };
        pending.socket = Some(socket);
        if let Some(http) = &mut client.conn
            && http.config() != &pending.config
        {
            // The request's own settings (`timeout`, `continue_timeout`, limits) apply to it,
            // whatever the connection's earlier requests asked for; a pooled connection is
            // idle when it is assigned, so a fresh machine loses nothing.
            *http = sansnet_http1::ClientConnection::new(now, pending.config.clone());
        }
        let started = client.start(
            now,
            request,
            pending.head.clone(),
            &pending.body,
            pending.ended,
        );
        self.emit(now, request, ClientRequestEvent::Socket { socket, reused });
        if let Err(error) = started {
            self.finish(now, request, Some(ClientError::Http(error)));
        }
    }

    /// After each round of the runtime on connection `socket`, whose stack is `conn`: acts on
    /// what happened on it (its client notes). Returns whether anything did: the runtime then
    /// runs the connection's drain rule again.
    pub fn handle_connection(
        &mut self,
        now: Instant,
        socket: SocketId,
        conn: &mut Connection,
    ) -> bool {
        let mut handled = false;
        while let Some(client) = conn.client_mut() {
            let Some(note) = client.notes.pop_front() else {
                break;
            };
            handled = true;
            let connection = client.connection;
            let current = client.current;
            let reusable = client.conn.as_ref().is_some_and(|c| c.is_reusable());
            let request = current.map(|(request, _)| request);
            match note {
                // The request is assigned now, before whatever the same read brought (a TLS
                // handshake failure must reach it as its error).
                Note::Connected => self.agent.handle_connected(now, connection),
                Note::ConnectFailed(kind) => {
                    self.pooled.remove(&connection);
                    self.agent.handle_connect_failed(now, connection, kind);
                }
                Note::Http(event) => {
                    let Some(request) = request else {
                        continue;
                    };
                    self.http_event(now, socket, conn, connection, request, reusable, event);
                }
                Note::SocketError(error) => {
                    client.current = None;
                    self.fail(now, connection, request, ClientError::from(error));
                }
                Note::Closed => {
                    client.current = None;
                    let error = sansnet_http1::ProtocolError::ConnectionClosedBeforeResponse;
                    self.fail(now, connection, request, ClientError::Http(error.into()));
                    self.pooled.remove(&connection);
                    self.agent.handle_closed(now, connection);
                }
            }
            self.agent_actions(now, Some((socket, &mut *conn)));
        }
        handled
    }

    /// The next thing for the runtime to do.
    pub fn poll_action(&mut self) -> Option<EndpointAction> {
        self.actions.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        self.events.pop_front()
    }

    /// The agent's next deadline (idle sockets to close).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.agent.poll_timeout()
    }

    /// Time passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.agent.handle_timeout(now);
        self.agent_actions(now, None);
    }

    // ---- internals -----------------------------------------------------------------------

    #[allow(
        clippy::too_many_arguments,
        reason = "one call site; the arguments are what the note concerns"
    )]
    fn http_event(
        &mut self,
        now: Instant,
        socket: SocketId,
        conn: &mut Connection,
        connection: ConnectionId,
        request: PoolRequestId,
        reusable: bool,
        event: ClientEvent,
    ) {
        let event = match event {
            ClientEvent::Continue { .. } => ClientRequestEvent::Continue,
            ClientEvent::Information(head) => ClientRequestEvent::Information(head),
            ClientEvent::Response(head) => {
                if let Some(client) = conn.client_mut() {
                    client.keep_alive_hint = head.keep_alive_timeout();
                }
                ClientRequestEvent::Response(head)
            }
            ClientEvent::Data { data, .. } => ClientRequestEvent::Data(data),
            ClientEvent::End { trailers, .. } => {
                let hint = conn.client_mut().and_then(|client| {
                    client.current = None;
                    client.keep_alive_hint.take()
                });
                self.emit(now, request, ClientRequestEvent::End(trailers));
                self.finish(now, request, None);
                self.agent
                    .handle_done_with_hint(now, connection, reusable, hint);
                return;
            }
            ClientEvent::Upgrade { response, head } => {
                let event = ClientRequestEvent::Upgrade {
                    socket,
                    response,
                    head,
                };
                return self.hand_over(now, conn, connection, request, event);
            }
            ClientEvent::Connect { response, head } => {
                let event = ClientRequestEvent::Connect {
                    socket,
                    response,
                    head,
                };
                return self.hand_over(now, conn, connection, request, event);
            }
            ClientEvent::Timeout => ClientRequestEvent::Timeout,
            ClientEvent::Error {
                error, retryable, ..
            } => {
                if let Some(client) = conn.client_mut() {
                    client.current = None;
                }
                if !self.agent.handle_failed(now, connection, retryable) {
                    self.finish(now, request, Some(ClientError::Http(error)));
                }
                return;
            }
            _ => return,
        };
        self.emit(now, request, event);
    }

    /// A failure of the connection carrying `request` (if any): retried by the agent when it
    /// may be, otherwise the request's error.
    fn fail(
        &mut self,
        now: Instant,
        connection: ConnectionId,
        request: Option<PoolRequestId>,
        error: ClientError,
    ) {
        if let Some(request) = request
            && !self.agent.handle_failed(now, connection, false)
        {
            self.finish(now, request, Some(error));
        }
    }

    /// After `Upgrade`/`Connect`: the connection leaves the pool; a WebSocket client's stack
    /// runs its WebSocket, any other's is a raw socket for the application.
    fn hand_over(
        &mut self,
        now: Instant,
        conn: &mut Connection,
        connection: ConnectionId,
        request: PoolRequestId,
        event: ClientRequestEvent,
    ) {
        self.requests.remove(&request);
        if let Some(client) = conn.client_mut() {
            client.current = None;
        }
        if let (Some(ws), ClientRequestEvent::Upgrade { response, head, .. }) =
            (self.ws_pending.get(&request), &event)
            && let Ok(opened) = ws.handshake.open(response)
            && let Some(ws) = self.ws_pending.remove(&request)
        {
            let config = crate::ws_config(ws.config);
            let machine = sansnet_ws::Connection::new(sansnet_ws::Role::Client, config, ws.entropy)
                .with_deflate(opened.deflate);
            conn.start_ws(now, machine, head.clone());
            self.ws_done.insert(request);
            if let ClientRequestEvent::Upgrade { socket, .. } = &event {
                self.events.push_back(EndpointEvent::WsOpen {
                    request,
                    socket: *socket,
                    protocol: opened.protocol,
                });
            }
        } else if self.ws_pending.contains_key(&request) {
            // Not a valid answer to the handshake: the socket goes with the failure.
            conn.socket_mut().destroy(now);
        }
        // Reading resumes now that the new owner is in place.
        conn.release();
        self.emit(now, request, event);
        self.emit(now, request, ClientRequestEvent::Close);
        self.pooled.remove(&connection);
        self.agent.handle_closed(now, connection);
    }

    /// Emits `Error` (if any) and `Close` for `request` and forgets it.
    fn finish(&mut self, now: Instant, request: PoolRequestId, error: Option<ClientError>) {
        if self.requests.remove(&request).is_none() {
            return;
        }
        if let Some(error) = error {
            self.emit(now, request, ClientRequestEvent::Error(error));
        }
        self.emit(now, request, ClientRequestEvent::Close);
    }

    /// Hands a request's event to the application, or to the WebSocket handshake waiting for
    /// it.
    fn emit(&mut self, _now: Instant, request: PoolRequestId, event: ClientRequestEvent) {
        if let Some(ws) = self.ws_pending.get(&request) {
            let error = match &event {
                ClientRequestEvent::Upgrade { response, .. } => match ws.handshake.open(response) {
                    Ok(_) => return,
                    Err(error) => WsOpenError::Handshake(error),
                },
                ClientRequestEvent::Response(response) => WsOpenError::Handshake(
                    sansnet_ws::HandshakeError::NotSwitching(response.status),
                ),
                ClientRequestEvent::Error(error) => WsOpenError::Request(error.clone()),
                _ => return,
            };
            self.ws_pending.remove(&request);
            self.ws_done.insert(request);
            self.events
                .push_back(EndpointEvent::WsOpenFailed { request, error });
        } else if self.ws_done.contains(&request) {
            // The rest of a WebSocket client's request (its close, a refused body) is the
            // endpoint's business, not the application's.
            if event == ClientRequestEvent::Close {
                self.ws_done.remove(&request);
            }
        } else {
            self.events
                .push_back(EndpointEvent::Request { request, event });
        }
    }

    /// Carries out what the agent asks: open, assign, close, fail. An assignment to the
    /// connection in hand (`here`) is made at once, before anything else that connection
    /// reported is looked at; others wait for the runtime.
    fn agent_actions(&mut self, now: Instant, mut here: Option<(SocketId, &mut Connection)>) {
        while let Some(action) = self.agent.poll_action() {
            match action {
                AgentAction::Connect { connection, origin } => {
                    match self.open(now, connection, &origin) {
                        Ok(stack) => self.actions.push_back(EndpointAction::Open {
                            connection,
                            origin,
                            stack: Box::new(stack),
                        }),
                        Err(kind) => self.agent.handle_connect_failed(now, connection, kind),
                    }
                }
                AgentAction::Assign {
                    request,
                    connection,
                    reused,
                } => match self.pooled.get(&connection) {
                    Some(&socket) => match &mut here {
                        Some((at, conn)) if *at == socket => {
                            self.assign(now, request, socket, reused, Some(&mut **conn));
                        }
                        _ => self.actions.push_back(EndpointAction::Assign {
                            request,
                            socket,
                            reused,
                        }),
                    },
                    None => {
                        self.finish(now, request, Some(ClientError::Io(ErrorKind::NotConnected)))
                    }
                },
                AgentAction::Close { connection } => {
                    if let Some(&socket) = self.pooled.get(&connection) {
                        self.actions.push_back(EndpointAction::Close { socket });
                    }
                }
                AgentAction::Fail { request, error } => {
                    self.finish(now, request, Some(ClientError::Io(error)));
                }
                _ => {}
            }
        }
    }

    /// The stack of a new pooled connection to `origin`.
    fn open(
        &mut self,
        now: Instant,
        connection: ConnectionId,
        origin: &Origin,
    ) -> Result<Connection, ErrorKind> {
        let mut config = SocketConfig::default();
        config.no_delay = true;
        if self.agent.config().keep_alive {
            config.keep_alive = Some(self.agent.config().keep_alive_initial_delay);
        }
        let mut stack = Connection::connect(now, config);
        if origin.scheme == "https" {
            let tls = TlsConnection::client(self.https_config()?, &origin.host)
                .map_err(|_| ErrorKind::InvalidInput)?;
            stack = stack.with_tls(now, tls, false);
        }
        Ok(stack.serve_client(ClientLayer::new(connection, ClientConfig::default())))
    }

    fn https_config(&mut self) -> Result<Arc<TlsConfig>, ErrorKind> {
        if let Some(config) = &self.https {
            return Ok(config.clone());
        }
        let config = sansnet_tls::ClientOptions::with_mozilla_roots()
            .build()
            .map_err(|_| ErrorKind::InvalidInput)?;
        self.https = Some(config.clone());
        Ok(config)
    }
}
