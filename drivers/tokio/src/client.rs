//! The HTTP/1.1 client: `sansnet_stack::Endpoint` (Node's `http.request` with its Agent)
//! shared by the tasks of its connections, one task per connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use sansnet_http1::{AgentConfig, ClientRequest, Origin, PoolRequestId, ResponseHead};
use sansnet_stack::{
    ClientError, ClientRequestEvent, Connection, Endpoint, EndpointAction, EndpointEvent,
    RequestOptions, SocketId, WsOpenError,
};
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc, oneshot};

use crate::Socket;
use crate::driver::{Io, Pending, Ticket};
use crate::net::Stream;

/// Why a request gave no response, or its body no end.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// The request could not be made: a URL that is not `http[s]://host[:port][/path]`
    /// (`ERR_INVALID_URL`, `ERR_INVALID_PROTOCOL`: `sansnet_http1::Origin::parse_url`), an
    /// invalid head, a write after its end.
    Http(sansnet_http1::Error),
    /// The request failed: Node's `'error'` on the request (refused, reset, `socket hang
    /// up`, a malformed response, ...).
    Failed(ClientError),
    /// The client's runtime dropped the request (its runtime shut down).
    Dropped,
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Http(error) => error.fmt(f),
            Self::Failed(error) => error.fmt(f),
            Self::Dropped => f.write_str("the request was dropped"),
        }
    }
}

impl std::error::Error for RequestError {}

/// A request's events, each with its ticket (see `driver::Pending`).
type RequestEvents = mpsc::UnboundedReceiver<(ClientRequestEvent, Option<Ticket>)>;

/// The HTTP/1.1 client: Node's `http.request()` through one `http.Agent` (pooling,
/// keep-alive, Node's defaults). Cheap to clone: clones share the agent. Requests need a
/// tokio runtime with the IO and time drivers.
#[derive(Debug, Clone)]
pub struct Client {
    shared: Arc<Mutex<Shared>>,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

/// The endpoint and the stacks of its connections, shared by the tasks.
#[derive(Debug)]
struct Shared {
    endpoint: Endpoint,
    sockets: HashMap<SocketId, Slot>,
    requests: HashMap<PoolRequestId, mpsc::UnboundedSender<(ClientRequestEvent, Option<Ticket>)>>,
    /// WebSocket handshakes in progress, and who waits for `'open'`.
    ws: HashMap<PoolRequestId, oneshot::Sender<WsOpened>>,
    next_socket: u64,
    /// Wakes the agent's timer task when its deadline may have changed (or the client went).
    timer: Arc<Notify>,
    timer_started: bool,
}

/// What a WebSocket handshake came to: its connection and the subprotocol chosen, or why it
/// failed.
type WsOpened = Result<(Socket, Option<String>), WsOpenError>;

/// One connection of the agent: its stack, and how to wake its task.
#[derive(Debug)]
struct Slot {
    conn: Connection,
    wake: Arc<Notify>,
    pending: Arc<Pending>,
    /// A WebSocket opened on this connection: it goes to whoever waits, with the
    /// subprotocol, once its task gives up the connection.
    ws: Option<(oneshot::Sender<WsOpened>, Option<String>)>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.timer.notify_one();
    }
}

impl Client {
    /// A client with the settings of Node's global agent (`keepAlive`, idle sockets closed
    /// after 5 s).
    pub fn new() -> Self {
        Self::with_agent(AgentConfig::global())
    }

    /// A client whose agent has `config` (`new http.Agent(config)`).
    pub fn with_agent(config: AgentConfig) -> Self {
        let shared = Shared {
            endpoint: Endpoint::new(config),
            sockets: HashMap::new(),
            requests: HashMap::new(),
            ws: HashMap::new(),
            next_socket: 0,
            timer: Arc::new(Notify::new()),
            timer_started: false,
        };
        Self {
            shared: Arc::new(Mutex::new(shared)),
        }
    }

    /// The TLS settings of `https:` requests from now on (Node's `https.request({ca, cert,
    /// key, rejectUnauthorized})`), built with `sansnet_tls::ClientOptions::build`; without it
    /// servers are verified against Mozilla's root certificates, as Node does with its
    /// bundled CA store. Every `https:` connection shares it and so its session cache.
    pub fn set_https_config(&self, tls: Arc<sansnet_tls::rustls::ClientConfig>) {
        lock(&self.shared).endpoint.set_https_config(tls);
    }

    /// `http.get(url)` / `https.get(url)`: a GET of an `http[s]://host[:port][/path]` URL.
    pub async fn get(&self, url: &str) -> Result<ClientResponse, RequestError> {
        let (origin, path) = Origin::parse_url(url).map_err(RequestError::Http)?;
        self.request(origin, ClientRequest::new("GET", path), None)
            .await
    }

    /// `http.request(options)` with the whole body (`req.end(body)`): resolves with the
    /// response head (Node's `'response'`); read the body from the [`ClientResponse`]. `Host`
    /// and `Connection` are added as Node adds them.
    pub async fn request(
        &self,
        origin: Origin,
        head: ClientRequest,
        body: Option<Bytes>,
    ) -> Result<ClientResponse, RequestError> {
        let (tx, mut events) = mpsc::unbounded_channel();
        self.start(|shared, now| {
            let id = shared
                .endpoint
                .request(now, origin, head, RequestOptions::default());
            shared.requests.insert(id, tx);
            shared.endpoint.write(now, id, body, true, None)
        })
        .map_err(RequestError::Http)?;
        loop {
            let Some((event, ticket)) = events.recv().await else {
                return Err(RequestError::Dropped);
            };
            match event {
                // The head counts as taken once the body is asked for, like a chunk.
                ClientRequestEvent::Response(head) => {
                    return Ok(ClientResponse {
                        head,
                        events,
                        ended: false,
                        last: ticket,
                    });
                }
                ClientRequestEvent::Error(error) => return Err(RequestError::Failed(error)),
                ClientRequestEvent::Close => return Err(RequestError::Dropped),
                _ => {}
            }
        }
    }
}

impl Client {
    /// Runs `start` on the endpoint (a request made, say), then carries out what it asks.
    fn start<T>(&self, start: impl FnOnce(&mut Shared, Instant) -> T) -> T {
        let mut shared = lock(&self.shared);
        let now = Instant::now();
        let started = start(&mut shared, now);
        if !shared.timer_started {
            shared.timer_started = true;
            let timer = shared.timer.clone();
            tokio::spawn(agent_timer(Arc::downgrade(&self.shared), timer));
        }
        shared.process(now, &self.shared);
        started
    }

    /// The WebSocket handshake of `Endpoint::ws_connect` on a connection of its own (see
    /// [`crate::ws_connect`]): the connection once the server's 101 was verified.
    pub(crate) async fn ws_connect(
        &self,
        origin: Origin,
        path: &str,
        protocols: &[&str],
        config: sansnet_ws::Config,
    ) -> Result<(Socket, Option<String>), Option<WsOpenError>> {
        let (tx, opened) = oneshot::channel();
        self.start(|shared, now| {
            let entropy = Box::new(sansnet_os::entropy::fill);
            let endpoint = &mut shared.endpoint;
            let id = endpoint.ws_connect(now, origin, path, protocols, config, entropy);
            shared.ws.insert(id, tx);
        });
        opened.await.map_err(|_| None)?.map_err(Some)
    }
}

/// A response (Node's `IncomingMessage` on the client): its head, then its body.
#[derive(Debug)]
pub struct ClientResponse {
    head: ResponseHead,
    events: RequestEvents,
    ended: bool,
    /// The chunk returned last counts as not taken until the next call: what the
    /// application does in answer to it goes before the connection reads on.
    last: Option<Ticket>,
}

impl ClientResponse {
    /// `res.statusCode`.
    pub fn status(&self) -> u16 {
        self.head.status
    }

    /// The first value of header `name` (any case).
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a [u8]> {
        self.head.headers.get(name)
    }

    /// The whole head as the HTTP machine parsed it.
    pub fn head(&self) -> &ResponseHead {
        &self.head
    }

    /// The next chunk of the body (`'data'`); `Ok(None)` at its `'end'`. The connection
    /// reads on only once the chunks handed on were taken.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, RequestError> {
        self.last = None;
        while !self.ended {
            let Some((event, ticket)) = self.events.recv().await else {
                return Err(RequestError::Dropped);
            };
            match event {
                ClientRequestEvent::Data(data) => {
                    self.last = ticket;
                    return Ok(Some(data));
                }
                ClientRequestEvent::End(_) => self.ended = true,
                ClientRequestEvent::Error(error) => return Err(RequestError::Failed(error)),
                ClientRequestEvent::Close => return Err(RequestError::Dropped),
                _ => {}
            }
        }
        Ok(None)
    }

    /// The whole body.
    pub async fn bytes(&mut self) -> Result<Bytes, RequestError> {
        let mut all = BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            all.extend_from_slice(&chunk);
        }
        Ok(all.freeze())
    }
}

impl Shared {
    /// Carries out what the endpoint asks (open, assign, close) and hands its events to the
    /// requests.
    fn process(&mut self, now: Instant, this: &Arc<Mutex<Self>>) {
        while let Some(action) = self.endpoint.poll_action() {
            match action {
                EndpointAction::Open {
                    connection,
                    origin,
                    stack,
                } => {
                    let socket = SocketId(self.next_socket);
                    self.next_socket += 1;
                    let slot = Slot {
                        conn: *stack,
                        wake: Arc::new(Notify::new()),
                        pending: Arc::new(Pending::default()),
                        ws: None,
                    };
                    let task = pooled(
                        this.clone(),
                        socket,
                        slot.wake.clone(),
                        slot.pending.clone(),
                        origin,
                    );
                    self.sockets.insert(socket, slot);
                    self.endpoint.handle_opened(now, connection, Ok(socket));
                    tokio::spawn(task);
                }
                EndpointAction::Assign {
                    request,
                    socket,
                    reused,
                } => {
                    let slot = self.sockets.get_mut(&socket);
                    if let Some(slot) = &slot {
                        slot.wake.notify_one();
                    }
                    let conn = slot.map(|slot| &mut slot.conn);
                    self.endpoint.assign(now, request, socket, reused, conn);
                }
                EndpointAction::Close { socket } => {
                    if let Some(slot) = self.sockets.get_mut(&socket) {
                        slot.conn.socket_mut().destroy(now);
                        slot.wake.notify_one();
                    }
                }
                _ => {}
            }
        }
        while let Some(event) = self.endpoint.poll_event() {
            let (request, event) = match event {
                EndpointEvent::Request { request, event } => (request, event),
                EndpointEvent::WsOpen {
                    request,
                    socket,
                    protocol,
                } => {
                    if let Some(open) = self.ws.remove(&request)
                        && let Some(slot) = self.sockets.get_mut(&socket)
                    {
                        slot.ws = Some((open, protocol));
                    }
                    continue;
                }
                EndpointEvent::WsOpenFailed { request, error } => {
                    if let Some(open) = self.ws.remove(&request) {
                        let _ = open.send(Err(error));
                    }
                    continue;
                }
                _ => continue,
            };
            let ticket = self
                .endpoint
                .socket_of(request)
                .and_then(|socket| self.sockets.get(&socket))
                .map(|slot| slot.pending.ticket());
            let last = matches!(event, ClientRequestEvent::Close);
            if let Some(tx) = self.requests.get(&request) {
                let _ = tx.send((event, ticket));
            }
            if last {
                self.requests.remove(&request);
            }
        }
        self.timer.notify_one();
    }
}

/// The task of one pooled connection: connects, then runs the drain rule with the endpoint.
async fn pooled(
    shared: Arc<Mutex<Shared>>,
    socket: SocketId,
    wake: Arc<Notify>,
    pending: Arc<Pending>,
    origin: Origin,
) {
    let mut io = Io::new(None);
    let connected = open(&origin).await;
    if let Some(slot) = lock(&shared).sockets.get_mut(&socket) {
        io.connected(&mut slot.conn, connected.map(Stream::Tcp));
    }
    loop {
        let want = {
            let mut guard = lock(&shared);
            let this = &mut *guard;
            let now = Instant::now();
            loop {
                let Some(slot) = this.sockets.get_mut(&socket) else {
                    return;
                };
                // A WebSocket's events wait in the stack for its application: nothing more
                // is read or decoded until it took them.
                let caught_up = pending.caught_up() && slot.ws.is_none();
                let mut moved = io.round(now, &mut slot.conn, caught_up);
                // After a WebSocket's 101 its events are its application's. A raw socket
                // after another `Upgrade` or a `CONNECT` is not offered by this client yet.
                while slot.ws.is_none() && slot.conn.poll_event().is_some() {
                    moved = true;
                }
                if this.endpoint.handle_connection(now, socket, &mut slot.conn) {
                    // At once: a WebSocket's `'open'` gives its events somewhere to go.
                    this.process(now, &shared);
                    moved = true;
                }
                if !moved {
                    break;
                }
            }
            let Some(slot) = this.sockets.get_mut(&socket) else {
                return;
            };
            let closed = slot.conn.is_closed();
            let want = io.want(&slot.conn);
            // The WebSocket is up: the connection is its alone from now on.
            let handed = slot.conn.ws_mut().is_some() && slot.ws.is_some();
            let slot = (closed || handed).then(|| this.sockets.remove(&socket));
            this.process(now, &shared);
            match slot {
                Some(slot) => Err(slot.filter(|_| handed)),
                None => Ok(want),
            }
        };
        let want = match want {
            Ok(want) => want,
            Err(Some(Slot {
                conn,
                ws: Some((open, protocol)),
                ..
            })) => {
                let _ = open.send(Ok((Socket::from_parts(conn, io), protocol)));
                return;
            }
            Err(_) => return,
        };
        tokio::select! {
            biased;
            () = wake.notified() => {}
            () = std::future::poll_fn(|cx| io.poll_wait(cx, want, Some(&pending))) => {}
        }
    }
}

/// Connects to `origin`'s host, trying its addresses in turn (`localhost` may name `::1`
/// first); a name that does not resolve is `ENOTFOUND`, as the mio driver reports it.
pub(crate) async fn open(origin: &Origin) -> std::io::Result<TcpStream> {
    let not_found = || std::io::Error::from(std::io::ErrorKind::NotFound);
    let addrs = tokio::net::lookup_host((origin.host.as_str(), origin.port))
        .await
        .map_err(|_| not_found())?;
    let mut last = not_found();
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last = error,
        }
    }
    Err(last)
}

/// The agent's timer (idle sockets to close): sleeps until the endpoint's deadline.
async fn agent_timer(shared: Weak<Mutex<Shared>>, wake: Arc<Notify>) {
    loop {
        let deadline = match shared.upgrade() {
            Some(shared) => lock(&shared).endpoint.poll_timeout(),
            None => return,
        };
        let deadline = deadline.map(tokio::time::Instant::from_std);
        tokio::select! {
            () = async {
                if let Some(deadline) = deadline {
                    tokio::time::sleep_until(deadline).await;
                }
            }, if deadline.is_some() => {
                let Some(shared) = shared.upgrade() else { return };
                let mut guard = lock(&shared);
                let now = Instant::now();
                guard.endpoint.handle_timeout(now);
                guard.process(now, &shared);
            }
            () = wake.notified() => {}
        }
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}
