//! `Agent`: Node's `http.Agent`, the per-origin connection pool, as a sans-I/O machine.
//!
//! The agent owns no socket. The application asks for a request to an [`Origin`]
//! ([`Agent::request`]); the agent answers with [`AgentAction`]s: which connection to open,
//! which connection carries which request, which connection to close, which request could not
//! get one. The driver reports what happened to each connection (`handle_connected`,
//! `handle_connect_failed`, `handle_done`, `handle_failed`, `handle_closed`) and time
//! (`handle_timeout`). After every input or command: carry out each [`Agent::poll_action`]
//! until `None`, then re-arm the timer from [`Agent::poll_timeout`].
//!
//! # Rules (`docs/node-semantics.md#http-agent`)
//!
//! - A request takes a free pooled connection of its origin if there is one (`Lifo`: the most
//!   recently freed, `Fifo`: the least recently freed); else one is opened while
//!   busy + connecting of that origin is below `max_sockets` and all pooled connections are
//!   below `max_total_sockets`; else it waits (docs/node-semantics.md#agent-add-request,
//!   #agent-scheduling).
//! - A connection that connects carries the oldest waiting request of its origin (Node hands
//!   it to the request that caused it; here every waiting request is in one queue, which is
//!   the same order). With no request waiting any more it is pooled or closed as below.
//! - A finished connection goes first to the oldest waiting request of its origin
//!   (docs/node-semantics.md#agent-free-to-queue); else it is pooled if `keep_alive`, the response
//!   allowed keep-alive and fewer than `max_free_sockets` are free for the origin, with the idle
//!   deadline; else closed (docs/node-semantics.md#http-client-close-after, #agent-free-event,
//!   #agent-pool-free,
//!   #agent-pooled-keepalive).
//! - A connection that closes leaves the pool; if requests wait, a new one is opened for them
//!   (Node source `lib/_http_agent.js` › `removeSocket`). When capacity frees up, the waiting
//!   request that is oldest across all origins is served first (Node scans its other origins only
//!   when the freeing origin has nobody waiting, and marks its own order a TODO).
//! - `one_off` requests (Node's `agent: false`, Node docs `http.md` › `Class: http.Agent`) get a
//!   connection of their own that counts against no limit, is never pooled, and is closed when the
//!   request is done.
//!
//! One divergence from Node: Node counts free sockets against `maxTotalSockets` and leaves a
//! request waiting while idle sockets of other origins fill the total (until they time out,
//! forever without a timeout). Here an idle pooled connection (the least recently freed) is
//! closed to make room for it.
//!
//! Every queue holds only what the application asked for: at most one waiting entry per
//! request, at most one connection being opened per waiting request.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::ErrorKind;
use std::time::{Duration, Instant};

/// Scheme, host and port: the pool key.
///
/// Node's `agent.getName()` is `host:port[:localAddress][:family]`
/// (docs/node-semantics.md#agent-name); the agent here keys by scheme too, so `http` and `https`
/// connections to one host never mix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    /// `"http"` or `"https"`.
    pub scheme: String,
    /// The host name or address, as the application gave it.
    pub host: String,
    /// The port.
    pub port: u16,
}

impl Origin {
    /// An origin from its parts.
    pub fn new(scheme: impl Into<String>, host: impl Into<String>, port: u16) -> Self {
        Self {
            scheme: scheme.into(),
            host: host.into(),
            port,
        }
    }

    /// Node's `agent.getName()` for this origin: `host:port` (docs/node-semantics.md#agent-name).
    pub fn name(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The port a URL of this scheme has when it names none: 443 for `https` (and `wss`), 80
    /// otherwise.
    pub fn default_port(&self) -> u16 {
        match self.scheme.as_str() {
            "https" | "wss" => 443,
            _ => 80,
        }
    }

    /// `http[s]://host[:port][/path][?query]` (`http.request(url)`) into the origin and the
    /// request-target (`/` when the URL has no path; a fragment is not sent, as with Node's
    /// `new URL()`). An IPv6 host is written in brackets and kept without them; the port
    /// defaults to the scheme's.
    ///
    /// # Errors
    ///
    /// `ERR_INVALID_URL` ([`crate::UsageError::InvalidUrl`]) for a URL that does not parse (no
    /// `scheme://`, an empty host, userinfo, a bad port); `ERR_INVALID_PROTOCOL`
    /// ([`crate::UsageError::InvalidProtocol`]) for a scheme other than `http` and `https`.
    pub fn parse_url(url: &str) -> Result<(Self, String), crate::Error> {
        Self::parse(url, false)
    }

    /// [`Origin::parse_url`] for `new WebSocket(url)`: `ws://` and `wss://` too, whose
    /// handshake request is an `http`/`https` one (the `ws` package takes `http:` and `https:`
    /// URLs as well).
    ///
    /// # Errors
    ///
    /// As [`Origin::parse_url`], with `ws` and `wss` accepted.
    pub fn parse_ws_url(url: &str) -> Result<(Self, String), crate::Error> {
        Self::parse(url, true)
    }

    fn parse(url: &str, ws: bool) -> Result<(Self, String), crate::Error> {
        use crate::UsageError::{InvalidProtocol, InvalidUrl};
        let (scheme, rest) = url.split_once("://").ok_or(InvalidUrl)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => "http",
            "https" => "https",
            "ws" if ws => "http",
            "wss" if ws => "https",
            _ => return Err(InvalidProtocol.into()),
        };
        let rest = rest.split('#').next().unwrap_or_default();
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('?') => (&rest[..i], format!("/{}", &rest[i..])),
            Some(i) => (&rest[..i], rest[i..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']').ok_or(InvalidUrl)?;
                (host, after.strip_prefix(':'))
            }
            None => match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if host.is_empty() || host.contains(['@', ' ', '[', ']']) {
            return Err(InvalidUrl.into());
        }
        let mut origin = Self::new(scheme, host, 0);
        origin.port = match port {
            Some(port) => port.parse().map_err(|_| InvalidUrl)?,
            None => origin.default_port(),
        };
        Ok((origin, target))
    }

    /// The `Host` header Node's client sends for this origin when the application set none:
    /// the host, in brackets if it is an IPv6 address, and `:port` unless the port is the
    /// scheme's default (Node source `lib/_http_client.js` › `ClientRequest`, which compares
    /// with the agent's `defaultPort`: 80 for `http`, 443 for `https`; RFC 9110 §7.2).
    pub fn host_header(&self) -> String {
        let bracket = self.host.contains(':') && !self.host.starts_with('[');
        let host = if bracket {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == self.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// A request made through the agent; assigned by [`Agent::request`], counting up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PoolRequestId(pub u64);

/// A connection the agent asked for; assigned by the agent, counting up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

/// Which free connection a request takes (Node's `scheduling`, Node docs `http.md` ›
/// `new Agent()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheduling {
    /// `'lifo'`: the most recently freed (Node's default since v15.6).
    #[default]
    Lifo,
    /// `'fifo'`: the least recently freed (Node's default before v15.6).
    Fifo,
}

/// Settings of an [`Agent`]; the defaults are Node's `new http.Agent()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    /// `keepAlive`: keep finished connections in the pool for later requests (default false;
    /// Node's global agent has it true since v19).
    pub keep_alive: bool,
    /// `keepAliveMsecs`: the initial delay of the TCP keep-alive the driver sets on pooled
    /// connections (1 s, Node docs `http.md` › `agent.keepSocketAlive()`).
    pub keep_alive_initial_delay: Duration,
    /// `maxSockets`: connections per origin, busy or connecting; `None` is Node's `Infinity`
    /// (the default since Node 0.12; Node 0.10 and earlier used 5). `Some(0)` counts as 1,
    /// the least Node accepts.
    pub max_sockets: Option<usize>,
    /// `maxTotalSockets`: pooled connections over all origins; `None` is `Infinity`.
    /// `Some(0)` counts as 1.
    pub max_total_sockets: Option<usize>,
    /// `maxFreeSockets`: idle connections kept per origin (256).
    pub max_free_sockets: usize,
    /// `timeout`: how long a pooled connection may stay idle before it is closed; `None` (the
    /// default) keeps it until the server closes it. Node's global agent uses 5 s.
    pub free_socket_timeout: Option<Duration>,
    /// `scheduling` (lifo).
    pub scheduling: Scheduling,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            keep_alive: false,
            keep_alive_initial_delay: Duration::from_secs(1),
            max_sockets: None,
            max_total_sockets: None,
            max_free_sockets: 256,
            free_socket_timeout: None,
            scheduling: Scheduling::Lifo,
        }
    }
}

impl AgentConfig {
    /// The settings of Node's `http.globalAgent` (v19 and later): keep-alive with a 5 s idle
    /// timeout.
    pub fn global() -> Self {
        Self {
            keep_alive: true,
            free_socket_timeout: Some(Duration::from_secs(5)),
            ..Self::default()
        }
    }
}

/// What the agent asks the driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgentAction {
    /// Open a connection to `origin`; report [`Agent::handle_connected`] or
    /// [`Agent::handle_connect_failed`].
    Connect {
        /// The new connection.
        connection: ConnectionId,
        /// Where to.
        origin: Origin,
    },
    /// Send request `request` on `connection` (already connected). The request's `'socket'`
    /// event happens here.
    Assign {
        /// The request.
        request: PoolRequestId,
        /// The connection that carries it.
        connection: ConnectionId,
        /// The connection carried an earlier request (Node's `req.reusedSocket`, RFC 9112 §9.3.1).
        reused: bool,
    },
    /// Close this connection: an idle pooled one timed out or was over `max_free_sockets`, or
    /// a one-off or not-kept-alive one finished. The agent has already forgotten it.
    Close {
        /// The connection.
        connection: ConnectionId,
    },
    /// The request could not get a connection (its connect failed): report this error to the
    /// application. The agent has forgotten the request.
    Fail {
        /// The request.
        request: PoolRequestId,
        /// Why, as the driver reported it.
        error: ErrorKind,
    },
}

/// Node's `http.Agent`: a pool of connections per [`Origin`].
#[derive(Debug)]
pub struct Agent {
    config: AgentConfig,
    next_request: u64,
    next_connection: u64,
    /// Counts up each time a connection is freed; orders free connections across origins.
    next_free_seq: u64,
    /// Every request not yet done, failed or cancelled.
    requests: BTreeMap<PoolRequestId, PendingRequest>,
    /// Every connection not yet closed or forgotten.
    connections: BTreeMap<ConnectionId, Connection>,
    /// INVARIANT: the counters of each pool match the states of its pooled connections, and a
    /// pool with nothing in it is removed.
    pools: BTreeMap<Origin, Pool>,
    /// INVARIANT: one entry per free connection with a deadline.
    deadlines: BTreeSet<(Instant, ConnectionId)>,
    /// Pooled (not one-off) connections in any state.
    pooled_total: usize,
    actions: VecDeque<AgentAction>,
}

#[derive(Debug)]
struct PendingRequest {
    origin: Origin,
    /// Retried after a reused connection failed: it waits for a connection opened for it.
    fresh_only: bool,
    state: RequestState,
}

#[derive(Debug, Clone, Copy)]
enum RequestState {
    /// Waiting in its origin's queue.
    Queued,
    /// A one-off request whose own connection is being opened.
    OneOff(ConnectionId),
    /// Carried by a connection.
    Assigned(ConnectionId),
}

#[derive(Debug)]
struct Connection {
    origin: Origin,
    one_off: bool,
    /// It has carried a request.
    used: bool,
    state: ConnectionState,
}

#[derive(Debug, Clone, Copy)]
enum ConnectionState {
    /// Being opened; a one-off connection holds its request (`None` once cancelled).
    Connecting { request: Option<PoolRequestId> },
    /// Carrying `request`.
    Busy {
        request: PoolRequestId,
        reused: bool,
    },
    /// Idle in the pool since free sequence number `seq`.
    Free { seq: u64, deadline: Option<Instant> },
}

#[derive(Debug, Default)]
struct Pool {
    /// Waiting requests, oldest first (Node's `agent.requests[name]`).
    queue: VecDeque<PoolRequestId>,
    connecting: usize,
    busy: usize,
    /// Free connections, least recently freed first (Node's `agent.freeSockets[name]`).
    free: VecDeque<ConnectionId>,
}

impl Pool {
    fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.connecting == 0 && self.busy == 0 && self.free.is_empty()
    }
}

impl Agent {
    /// An agent with no connections.
    pub fn new(config: AgentConfig) -> Self {
        Self {
            config,
            next_request: 0,
            next_connection: 0,
            next_free_seq: 0,
            requests: BTreeMap::new(),
            connections: BTreeMap::new(),
            pools: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            pooled_total: 0,
            actions: VecDeque::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// The `Connection` header a request through this agent sends (Node docs `http.md` ›
    /// `new Agent()`, `Class: http.Agent`): `"close"` for a one-off request or when `keep_alive` is
    /// off and `max_sockets` is unlimited, else `"keep-alive"`.
    pub fn connection_header(&self, one_off: bool) -> &'static str {
        if one_off || (!self.config.keep_alive && self.config.max_sockets.is_none()) {
            "close"
        } else {
            "keep-alive"
        }
    }

    /// `http.request(...)` through this agent. `one_off` is Node's `agent: false`: a fresh
    /// connection just for this request (not counted against the limits, never pooled, closed
    /// after).
    pub fn request(&mut self, now: Instant, origin: Origin, one_off: bool) -> PoolRequestId {
        let _ = now; // This input sets no deadline; `now` is taken for the contract.
        let id = PoolRequestId(self.next_request);
        self.next_request = self.next_request.wrapping_add(1);
        if one_off {
            let connection = self.new_connection_id();
            self.connections.insert(
                connection,
                Connection {
                    origin: origin.clone(),
                    one_off: true,
                    used: false,
                    state: ConnectionState::Connecting { request: Some(id) },
                },
            );
            self.requests.insert(
                id,
                PendingRequest {
                    origin: origin.clone(),
                    fresh_only: true,
                    state: RequestState::OneOff(connection),
                },
            );
            self.actions
                .push_back(AgentAction::Connect { connection, origin });
            return id;
        }
        self.requests.insert(
            id,
            PendingRequest {
                origin: origin.clone(),
                fresh_only: false,
                state: RequestState::Queued,
            },
        );
        if let Some(connection) = self.pick_free(&origin) {
            self.assign(id, connection);
        } else {
            self.pools.entry(origin).or_default().queue.push_back(id);
            self.open_for_waiting();
        }
        id
    }

    /// Drop a request that is still waiting (the application aborted it); no-op once it is
    /// assigned or unknown. A connection already being opened for it still opens, then serves
    /// the next waiting request or is pooled or closed (Node emits `'free'` on it).
    pub fn cancel(&mut self, now: Instant, request: PoolRequestId) {
        let _ = now; // This input sets no deadline; `now` is taken for the contract.
        let Some(pending) = self.requests.get(&request) else {
            return;
        };
        match pending.state {
            RequestState::Assigned(_) => return,
            RequestState::Queued => {
                let origin = pending.origin.clone();
                self.remove_queued(&origin, request);
            }
            RequestState::OneOff(connection) => {
                if let Some(conn) = self.connections.get_mut(&connection) {
                    conn.state = ConnectionState::Connecting { request: None };
                }
            }
        }
        self.requests.remove(&request);
        self.open_for_waiting();
    }

    /// The connection is open: it carries the oldest waiting request of its origin, or, with
    /// none waiting, is pooled or closed. Unknown or not-connecting connections are ignored.
    pub fn handle_connected(&mut self, now: Instant, connection: ConnectionId) {
        let Some(conn) = self.connections.get(&connection) else {
            return;
        };
        let ConnectionState::Connecting { request } = conn.state else {
            return;
        };
        if conn.one_off {
            match request {
                Some(request) => self.assign(request, connection),
                None => self.close(connection),
            }
            return;
        }
        let origin = conn.origin.clone();
        match self.pop_queued(&origin, true) {
            Some(request) => self.assign(request, connection),
            None => self.release(now, connection, true, None),
        }
        self.open_for_waiting();
    }

    /// The connect failed: the request waiting longest for this origin (for a one-off
    /// connection, its own request) gets [`AgentAction::Fail`]; if other requests wait and
    /// capacity allows, another connection is opened for them.
    pub fn handle_connect_failed(
        &mut self,
        now: Instant,
        connection: ConnectionId,
        error: ErrorKind,
    ) {
        let _ = now; // This input sets no deadline; `now` is taken for the contract.
        let Some(conn) = self.connections.get(&connection) else {
            return;
        };
        let ConnectionState::Connecting { request } = conn.state else {
            return;
        };
        let one_off = conn.one_off;
        let origin = conn.origin.clone();
        self.remove_connection(connection);
        let failed = if one_off {
            request
        } else {
            self.pop_queued(&origin, true)
        };
        if let Some(request) = failed {
            self.requests.remove(&request);
            self.actions.push_back(AgentAction::Fail { request, error });
        }
        self.open_for_waiting();
    }

    /// The request on `connection` is finished (response ended and body sent, Node source
    /// `lib/_http_client.js` › `responseKeepAlive`). `reusable`: the HTTP machine says the
    /// connection may carry another request. Then the oldest waiting request of the origin gets it
    /// (`Assign` with `reused`, docs/node-semantics.md#agent-free-to-queue); else it is pooled if
    /// `keep_alive`, `reusable` and fewer than `max_free_sockets` are free for the origin (Node
    /// docs `http.md` › `agent.maxFreeSockets`, `agent.keepSocketAlive()`); else `Close` (Node
    /// source `lib/_http_client.js` › `responseOnEnd`).
    pub fn handle_done(&mut self, now: Instant, connection: ConnectionId, reusable: bool) {
        self.handle_done_with_hint(now, connection, reusable, None);
    }

    /// [`Agent::handle_done`] with the response's `Keep-Alive: timeout=N` as `Some(N s)`
    /// (Node source `lib/_http_agent.js` › `keepSocketAlive`): a pooled connection then times out
    /// after N − 1 s if that is sooner than `free_socket_timeout`, and is not pooled at all if N −
    /// 1 s is zero. (Node applies the hint only when the agent has a `timeout`; here it applies
    /// always.)
    pub fn handle_done_with_hint(
        &mut self,
        now: Instant,
        connection: ConnectionId,
        reusable: bool,
        keep_alive_timeout: Option<Duration>,
    ) {
        let Some(conn) = self.connections.get_mut(&connection) else {
            return;
        };
        let ConnectionState::Busy { request, .. } = conn.state else {
            return;
        };
        conn.used = true;
        let one_off = conn.one_off;
        let origin = conn.origin.clone();
        self.requests.remove(&request);
        if one_off {
            self.close(connection);
            return;
        }
        let next = if reusable {
            self.pop_queued(&origin, false)
        } else {
            None
        };
        match next {
            Some(next) => self.assign(next, connection),
            None => self.release(now, connection, reusable, keep_alive_timeout),
        }
        self.open_for_waiting();
    }

    /// The request on `connection` failed. If `retryable` (the HTTP machine says: idempotent
    /// and no byte of the response arrived) and the connection had been reused (RFC 9112 §9.3.1),
    /// the request goes back to the front of its origin's queue, to be retried on a fresh
    /// connection, and this returns true; otherwise false (the driver reports the error). The
    /// connection is forgotten either way (the driver closes it).
    pub fn handle_failed(
        &mut self,
        now: Instant,
        connection: ConnectionId,
        retryable: bool,
    ) -> bool {
        let _ = now; // This input sets no deadline; `now` is taken for the contract.
        let Some(conn) = self.connections.get(&connection) else {
            return false;
        };
        let ConnectionState::Busy { request, reused } = conn.state else {
            return false;
        };
        let retry = retryable && reused && !conn.one_off;
        let origin = conn.origin.clone();
        self.remove_connection(connection);
        if retry {
            if let Some(pending) = self.requests.get_mut(&request) {
                pending.fresh_only = true;
                pending.state = RequestState::Queued;
            }
            self.pools
                .entry(origin)
                .or_default()
                .queue
                .push_front(request);
        } else {
            self.requests.remove(&request);
        }
        self.open_for_waiting();
        retry
    }

    /// The connection closed (by the server, an error, or our `Close`). It leaves the pool
    /// (Node source `lib/_http_agent.js` › `removeSocket`); a request it carried is forgotten (the
    /// driver reports it); if requests wait and capacity allows, a new connection is opened. A
    /// one-off connection that closes before it connected fails its request with
    /// `ConnectionAborted`. Unknown connections are ignored.
    pub fn handle_closed(&mut self, now: Instant, connection: ConnectionId) {
        let _ = now; // This input sets no deadline; `now` is taken for the contract.
        let Some(conn) = self.remove_connection(connection) else {
            return;
        };
        match conn.state {
            ConnectionState::Connecting { request } => {
                if let (true, Some(request)) = (conn.one_off, request) {
                    self.requests.remove(&request);
                    self.actions.push_back(AgentAction::Fail {
                        request,
                        error: ErrorKind::ConnectionAborted,
                    });
                }
            }
            ConnectionState::Busy { request, .. } => {
                self.requests.remove(&request);
            }
            ConnectionState::Free { .. } => {}
        }
        self.open_for_waiting();
    }

    /// Time passed: free connections at or past their deadline get `Close` (Node docs `http.md` ›
    /// `agent.keepSocketAlive()`).
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(deadline, connection)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.close(connection);
        }
        self.open_for_waiting();
    }

    /// The next thing for the driver to do.
    pub fn poll_action(&mut self) -> Option<AgentAction> {
        self.actions.pop_front()
    }

    /// When to call [`Agent::handle_timeout`]: the earliest idle deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(deadline, _)| deadline)
    }

    /// Requests waiting for a connection of `origin` (Node's `agent.requests[name].length`;
    /// here it includes those a connection is being opened for). One-off requests are not
    /// counted.
    pub fn queued(&self, origin: &Origin) -> usize {
        self.pools.get(origin).map_or(0, |pool| pool.queue.len())
    }

    /// Pooled connections of `origin` carrying a request or connecting (Node's
    /// `agent.sockets[name].length`).
    pub fn busy(&self, origin: &Origin) -> usize {
        self.pools
            .get(origin)
            .map_or(0, |pool| pool.busy + pool.connecting)
    }

    /// Idle pooled connections of `origin` (Node's `agent.freeSockets[name].length`).
    pub fn free(&self, origin: &Origin) -> usize {
        self.pools.get(origin).map_or(0, |pool| pool.free.len())
    }

    /// Pooled connections over all origins, busy, connecting or free (Node's
    /// `agent.totalSocketCount`); one-off connections are not counted.
    pub fn total_sockets(&self) -> usize {
        self.pooled_total
    }

    /// Which connection carries `request`, if it is assigned.
    pub fn connection_of(&self, request: PoolRequestId) -> Option<ConnectionId> {
        match self.requests.get(&request)?.state {
            RequestState::Assigned(connection) => Some(connection),
            RequestState::Queued | RequestState::OneOff(_) => None,
        }
    }

    fn new_connection_id(&mut self) -> ConnectionId {
        let id = ConnectionId(self.next_connection);
        self.next_connection = self.next_connection.wrapping_add(1);
        id
    }

    fn max_sockets(&self) -> usize {
        self.config.max_sockets.map_or(usize::MAX, |n| n.max(1))
    }

    fn max_total_sockets(&self) -> usize {
        self.config
            .max_total_sockets
            .map_or(usize::MAX, |n| n.max(1))
    }

    /// The free connection of `origin` a request would take (Node docs `http.md` › `new Agent()`).
    fn pick_free(&self, origin: &Origin) -> Option<ConnectionId> {
        let free = &self.pools.get(origin)?.free;
        match self.config.scheduling {
            Scheduling::Lifo => free.back().copied(),
            Scheduling::Fifo => free.front().copied(),
        }
    }

    /// Take the oldest waiting request of `origin`; with `fresh` false, skip those waiting for
    /// a fresh connection.
    fn pop_queued(&mut self, origin: &Origin, fresh: bool) -> Option<PoolRequestId> {
        let pool = self.pools.get_mut(origin)?;
        let requests = &self.requests;
        let index = pool
            .queue
            .iter()
            .position(|id| fresh || requests.get(id).is_some_and(|pending| !pending.fresh_only))?;
        let request = pool.queue.remove(index);
        if pool.is_empty() {
            self.pools.remove(origin);
        }
        request
    }

    fn remove_queued(&mut self, origin: &Origin, request: PoolRequestId) {
        if let Some(pool) = self.pools.get_mut(origin) {
            pool.queue.retain(|id| *id != request);
            if pool.is_empty() {
                self.pools.remove(origin);
            }
        }
    }

    /// `request` (waiting) goes onto `connection` (connecting or free).
    fn assign(&mut self, request: PoolRequestId, connection: ConnectionId) {
        let Some(conn) = self.connections.get(&connection) else {
            return;
        };
        let reused = conn.used;
        self.set_state(connection, ConnectionState::Busy { request, reused });
        if let Some(pending) = self.requests.get_mut(&request) {
            pending.state = RequestState::Assigned(connection);
        }
        self.actions.push_back(AgentAction::Assign {
            request,
            connection,
            reused,
        });
    }

    /// A pooled connection nobody waits for: pool it or close it
    /// (docs/node-semantics.md#agent-pool-free to #agent-keepalive-hint).
    fn release(
        &mut self,
        now: Instant,
        connection: ConnectionId,
        reusable: bool,
        keep_alive_timeout: Option<Duration>,
    ) {
        let Some(conn) = self.connections.get(&connection) else {
            return;
        };
        let free = self.free(&conn.origin);
        let timeout = match keep_alive_timeout {
            None => Some(self.config.free_socket_timeout),
            Some(hint) => {
                let hint = hint.saturating_sub(Duration::from_secs(1));
                match self.config.free_socket_timeout {
                    _ if hint.is_zero() => None,
                    Some(agent) if agent <= hint => Some(Some(agent)),
                    _ => Some(Some(hint)),
                }
            }
        };
        match timeout {
            Some(timeout)
                if self.config.keep_alive && reusable && free < self.config.max_free_sockets =>
            {
                let seq = self.next_free_seq;
                self.next_free_seq = self.next_free_seq.wrapping_add(1);
                let deadline = timeout.and_then(|timeout| now.checked_add(timeout));
                self.set_state(connection, ConnectionState::Free { seq, deadline });
            }
            _ => self.close(connection),
        }
    }

    /// Open connections for waiting requests no connection is being opened for, oldest
    /// request first across origins, while the limits allow (Node source `lib/_http_agent.js` ›
    /// `addRequest`, `removeSocket`).
    fn open_for_waiting(&mut self) {
        let max_sockets = self.max_sockets();
        let max_total = self.max_total_sockets();
        loop {
            let active: usize = self
                .pools
                .values()
                .map(|pool| pool.busy + pool.connecting)
                .sum();
            if active >= max_total {
                return;
            }
            let mut best: Option<(PoolRequestId, &Origin)> = None;
            for (origin, pool) in &self.pools {
                if pool.busy + pool.connecting >= max_sockets {
                    continue;
                }
                let Some(&uncovered) = pool.queue.get(pool.connecting) else {
                    continue;
                };
                if best.is_none_or(|(oldest, _)| uncovered < oldest) {
                    best = Some((uncovered, origin));
                }
            }
            let Some((_, origin)) = best else {
                return;
            };
            let origin = origin.clone();
            if let Some(pool) = self.pools.get(&origin)
                && pool.busy + pool.connecting + pool.free.len() >= max_sockets
                && let Some(&idle) = pool.free.front()
            {
                self.close(idle);
            }
            if self.pooled_total >= max_total
                && let Some(idle) = self.least_recently_freed()
            {
                self.close(idle);
            }
            let connection = self.new_connection_id();
            self.connections.insert(
                connection,
                Connection {
                    origin: origin.clone(),
                    one_off: false,
                    used: false,
                    state: ConnectionState::Connecting { request: None },
                },
            );
            self.pooled_total += 1;
            self.pools.entry(origin.clone()).or_default().connecting += 1;
            self.actions
                .push_back(AgentAction::Connect { connection, origin });
        }
    }

    fn least_recently_freed(&self) -> Option<ConnectionId> {
        self.pools
            .values()
            .filter_map(|pool| pool.free.front())
            .filter_map(|id| match self.connections.get(id)?.state {
                ConnectionState::Free { seq, .. } => Some((seq, *id)),
                ConnectionState::Connecting { .. } | ConnectionState::Busy { .. } => None,
            })
            .min()
            .map(|(_, id)| id)
    }

    /// Forget `connection` and tell the driver to close it.
    fn close(&mut self, connection: ConnectionId) {
        if self.remove_connection(connection).is_some() {
            self.actions.push_back(AgentAction::Close { connection });
        }
    }

    /// Move a connection to `state`, keeping the pool counters and deadlines in step.
    fn set_state(&mut self, connection: ConnectionId, state: ConnectionState) {
        let Some(conn) = self.connections.get_mut(&connection) else {
            return;
        };
        let old = std::mem::replace(&mut conn.state, state);
        if conn.one_off {
            return;
        }
        let pool = self.pools.entry(conn.origin.clone()).or_default();
        unaccount(pool, &mut self.deadlines, connection, old);
        account(pool, &mut self.deadlines, connection, state);
    }

    /// Forget `connection`, keeping the pool counters and deadlines in step.
    fn remove_connection(&mut self, connection: ConnectionId) -> Option<Connection> {
        let conn = self.connections.remove(&connection)?;
        if !conn.one_off {
            self.pooled_total = self.pooled_total.saturating_sub(1);
            if let Some(pool) = self.pools.get_mut(&conn.origin) {
                unaccount(pool, &mut self.deadlines, connection, conn.state);
                if pool.is_empty() {
                    self.pools.remove(&conn.origin);
                }
            }
        }
        Some(conn)
    }
}

fn unaccount(
    pool: &mut Pool,
    deadlines: &mut BTreeSet<(Instant, ConnectionId)>,
    connection: ConnectionId,
    state: ConnectionState,
) {
    match state {
        ConnectionState::Connecting { .. } => pool.connecting = pool.connecting.saturating_sub(1),
        ConnectionState::Busy { .. } => pool.busy = pool.busy.saturating_sub(1),
        ConnectionState::Free { deadline, .. } => {
            pool.free.retain(|id| *id != connection);
            if let Some(deadline) = deadline {
                deadlines.remove(&(deadline, connection));
            }
        }
    }
}

fn account(
    pool: &mut Pool,
    deadlines: &mut BTreeSet<(Instant, ConnectionId)>,
    connection: ConnectionId,
    state: ConnectionState,
) {
    match state {
        ConnectionState::Connecting { .. } => pool.connecting += 1,
        ConnectionState::Busy { .. } => pool.busy += 1,
        ConnectionState::Free { deadline, .. } => {
            pool.free.push_back(connection);
            if let Some(deadline) = deadline {
                deadlines.insert((deadline, connection));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::ErrorKind;
    use std::time::{Duration, Instant};

    use super::{Agent, AgentAction, AgentConfig, ConnectionId, Origin, PoolRequestId, Scheduling};

    fn origin() -> Origin {
        Origin::new("http", "example.com", 80)
    }

    /// WHATWG URL as Node's `http.request(url)` and `new WebSocket(url)` read it.
    #[test]
    fn urls_parse_into_origin_and_target() {
        let parsed = |url| {
            let (origin, target) = Origin::parse_url(url).unwrap();
            (origin.scheme, origin.host, origin.port, target)
        };
        let expect = |scheme: &str, host: &str, port, target: &str| {
            (scheme.to_owned(), host.to_owned(), port, target.to_owned())
        };
        assert_eq!(
            parsed("http://127.0.0.1:8080/a?b"),
            expect("http", "127.0.0.1", 8080, "/a?b")
        );
        assert_eq!(
            parsed("https://localhost"),
            expect("https", "localhost", 443, "/")
        );
        assert_eq!(
            parsed("HTTP://x?q=1#frag"),
            expect("http", "x", 80, "/?q=1")
        );
        assert_eq!(
            parsed("http://[::1]:81/p#f"),
            expect("http", "::1", 81, "/p")
        );
        assert_eq!(parsed("http://[::1]/"), expect("http", "::1", 80, "/"));
        let (origin, target) = Origin::parse_ws_url("wss://h:9001/runCase?case=1").unwrap();
        assert_eq!((origin.scheme.as_str(), origin.port), ("https", 9001));
        assert_eq!(target, "/runCase?case=1");
        assert_eq!(Origin::parse_ws_url("ws://h").unwrap().0.port, 80);

        let code = |r: Result<(Origin, String), crate::Error>| r.unwrap_err().code();
        assert_eq!(code(Origin::parse_url("ws://x/")), "ERR_INVALID_PROTOCOL");
        assert_eq!(code(Origin::parse_url("ftp://x/")), "ERR_INVALID_PROTOCOL");
        for bad in [
            "x/y",
            "http://:80/",
            "http://x:port/",
            "http://x:65536/",
            "http://u@x/",
            "http://[::1/",
            "http://::1/",
        ] {
            assert_eq!(code(Origin::parse_url(bad)), "ERR_INVALID_URL", "{bad}");
        }
    }

    fn drain(agent: &mut Agent) -> Vec<AgentAction> {
        std::iter::from_fn(|| agent.poll_action()).collect()
    }

    /// Node's client omits the port from `Host` exactly when it is the scheme's default
    /// (`lib/_http_client.js` › `ClientRequest`): an `https` request to 443 sends no `:443`
    /// (it used to), one to 80 keeps `:80`; IPv6 literals get their brackets.
    #[test]
    fn host_header_omits_only_the_schemes_default_port() {
        let host = |scheme, host, port| Origin::new(scheme, host, port).host_header();
        assert_eq!(host("http", "example.com", 80), "example.com");
        assert_eq!(host("http", "example.com", 443), "example.com:443");
        assert_eq!(host("http", "example.com", 8080), "example.com:8080");
        assert_eq!(host("https", "example.com", 443), "example.com");
        assert_eq!(host("https", "example.com", 80), "example.com:80");
        assert_eq!(host("https", "127.0.0.1", 8443), "127.0.0.1:8443");
        assert_eq!(host("http", "::1", 8080), "[::1]:8080");
        assert_eq!(host("https", "::1", 443), "[::1]");
        assert_eq!(host("http", "[::1]", 8080), "[::1]:8080");
    }

    fn connect(connection: u64) -> AgentAction {
        AgentAction::Connect {
            connection: ConnectionId(connection),
            origin: origin(),
        }
    }

    fn assign(request: u64, connection: u64, reused: bool) -> AgentAction {
        AgentAction::Assign {
            request: PoolRequestId(request),
            connection: ConnectionId(connection),
            reused,
        }
    }

    fn close(connection: u64) -> AgentAction {
        AgentAction::Close {
            connection: ConnectionId(connection),
        }
    }

    /// One request carried to completion on a fresh connection `connection`; returns its id.
    fn serve_one(agent: &mut Agent, now: Instant) -> (PoolRequestId, ConnectionId) {
        let request = agent.request(now, origin(), false);
        let actions = drain(agent);
        let [AgentAction::Connect { connection, .. }] = actions[..] else {
            panic!("expected one Connect, got {actions:?}");
        };
        agent.handle_connected(now, connection);
        assert_eq!(
            drain(agent),
            vec![AgentAction::Assign {
                request,
                connection,
                reused: false
            }]
        );
        (request, connection)
    }

    fn keep_alive() -> AgentConfig {
        AgentConfig {
            keep_alive: true,
            ..AgentConfig::default()
        }
    }

    /// docs/node-semantics.md#agent-add-request, #agent-free-to-queue: ten requests with
    /// `max_sockets` 2 use exactly two connections, each serving its requests oldest first.
    #[test]
    fn limited_ten_requests_two_connections_in_order() {
        let now = Instant::now();
        let mut agent = Agent::new(AgentConfig {
            max_sockets: Some(2),
            ..AgentConfig::default()
        });
        for _ in 0..10 {
            agent.request(now, origin(), false);
        }
        assert_eq!(drain(&mut agent), vec![connect(0), connect(1)]);
        assert_eq!((agent.queued(&origin()), agent.busy(&origin())), (10, 2));
        agent.handle_connected(now, ConnectionId(0));
        agent.handle_connected(now, ConnectionId(1));
        let mut carried: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        let mut connects = 2;
        let mut actions = drain(&mut agent);
        assert_eq!(actions, vec![assign(0, 0, false), assign(1, 1, false)]);
        let mut order = Vec::new();
        while !actions.is_empty() {
            let mut next = Vec::new();
            for action in actions {
                match action {
                    AgentAction::Assign {
                        request,
                        connection,
                        reused,
                    } => {
                        assert_eq!(reused, request.0 >= 2);
                        order.push(request.0);
                        carried.entry(connection.0).or_default().push(request.0);
                        assert!(agent.busy(&origin()) <= 2);
                        agent.handle_done(now, connection, true);
                        next.extend(drain(&mut agent));
                    }
                    AgentAction::Connect { .. } => connects += 1,
                    AgentAction::Close { .. } => {}
                    other => panic!("unexpected {other:?}"),
                }
            }
            actions = next;
        }
        assert_eq!(connects, 2);
        assert_eq!(order, (0..10).collect::<Vec<_>>());
        assert_eq!(carried[&0], vec![0, 2, 4, 6, 8]);
        assert_eq!(carried[&1], vec![1, 3, 5, 7, 9]);
        assert_eq!(agent.total_sockets(), 0);
    }

    /// RFC 9112 §9.3.1; Node docs `http.md` › `agent.maxFreeSockets`: with `keep_alive` a finished
    /// connection is pooled and the next request reuses it (`reused` true) without a new Connect.
    #[test]
    fn keep_alive_done_free_connection_reused() {
        let now = Instant::now();
        let mut agent = Agent::new(keep_alive());
        let (_, connection) = serve_one(&mut agent, now);
        agent.handle_done(now, connection, true);
        assert_eq!(drain(&mut agent), vec![]);
        assert_eq!((agent.free(&origin()), agent.busy(&origin())), (1, 0));
        let request = agent.request(now, origin(), false);
        assert_eq!(
            drain(&mut agent),
            vec![assign(request.0, connection.0, true)]
        );
        assert_eq!(agent.connection_of(request), Some(connection));
        assert_eq!((agent.free(&origin()), agent.busy(&origin())), (0, 1));
    }

    /// Node docs `http.md` › `agent.maxFreeSockets`: without `keep_alive` a finished connection
    /// nobody waits for is closed.
    #[test]
    fn no_keep_alive_done_closed() {
        let now = Instant::now();
        let mut agent = Agent::new(AgentConfig::default());
        let (_, connection) = serve_one(&mut agent, now);
        agent.handle_done(now, connection, true);
        assert_eq!(drain(&mut agent), vec![close(connection.0)]);
        assert_eq!((agent.free(&origin()), agent.total_sockets()), (0, 0));
    }

    /// Node source `lib/_http_client.js` › `responseOnEnd`: a response that did not keep alive
    /// closes the connection even with `keep_alive`, and a waiting request gets a new connection
    /// instead.
    #[test]
    fn keep_alive_done_not_reusable_closed() {
        let now = Instant::now();
        let mut agent = Agent::new(AgentConfig {
            max_sockets: Some(1),
            ..keep_alive()
        });
        let (_, connection) = serve_one(&mut agent, now);
        let waiting = agent.request(now, origin(), false);
        assert_eq!(drain(&mut agent), vec![]);
        agent.handle_done(now, connection, false);
        assert_eq!(drain(&mut agent), vec![close(0), connect(1)]);
        agent.handle_connected(now, ConnectionId(1));
        assert_eq!(drain(&mut agent), vec![assign(waiting.0, 1, false)]);
    }

    /// Frees connections 0 and 1 (0 first) and returns the agent.
    fn two_free(scheduling: Scheduling) -> (Agent, Instant) {
        let now = Instant::now();
        let mut agent = Agent::new(AgentConfig {
            scheduling,
            ..keep_alive()
        });
        agent.request(now, origin(), false);
        agent.request(now, origin(), false);
        assert_eq!(drain(&mut agent), vec![connect(0), connect(1)]);
        agent.handle_connected(now, ConnectionId(0));
        agent.handle_connected(now, ConnectionId(1));
        drain(&mut agent);
        agent.handle_done(now, ConnectionId(0), true);
        agent.handle_done(now, ConnectionId(1), true);
        assert_eq!(drain(&mut agent), vec![]);
        assert_eq!(agent.free(&origin()), 2);
        (agent, now)
    }

    /// Node docs `http.md` › `new Agent()`: `Lifo` takes the most recently freed connection.
    #[test]
    fn lifo_request_takes_most_recently_freed() {
        let (mut agent, now) = two_free(Scheduling::Lifo);
        agent.request(now, origin(), false);
        assert_eq!(drain(&mut agent), vec![assign(2, 1, true)]);
    }

    /// Node docs `http.md` › `new Agent()`: `Fifo` takes the least recently freed connection.
    #[test]
    fn fifo_request_takes_least_recently_freed() {
        let (mut agent, now) = two_free(Scheduling::Fifo);
        agent.request(now, origin(), false);
        assert_eq!(drain(&mut agent), vec![assign(2, 0, true)]);
    }

    /// Node docs `http.md` › `agent.maxFreeSockets`: connections freed beyond `max_free_sockets`
    /// are closed.
    #[test]
    fn max_free_sockets_extra_freed_closed() {
        let now = Instant::now();
        let mut agent = Agent::new(AgentConfig {
            max_free_sockets: 1,
            ..keep_alive()
        });
        agent.request(now, origin(), false);
        agent.request(now, origin(), false);
        drain(&mut agent);
        agent.handle_connected(now, ConnectionId(0));
        agent.handle_connected(now, ConnectionId(1));
        drain(&mut agent);
        agent.handle_done(now, ConnectionId(0), true);
        agent.handle_done(now, ConnectionId(1), true);
        assert_eq!(drain(&mut agent), vec![close(1)]);
        assert_eq!(agent.free(&origin()), 1);
    }

    /// Node docs `http.md` › `agent.keepSocketAlive()`: an idle pooled connection is closed exactly
    /// at its deadline.
    #[test]
    fn free_timeout_reached_closed_at_deadline() {
        let now = Instant::now();
        let timeout = Duration::from_secs(5);
        let mut agent = Agent::new(AgentConfig {
            free_socket_timeout: Some(timeout),
            ..keep_alive()
        });
        let (_, connection) = serve_one(&mut agent, now);
        assert_eq!(agent.poll_timeout(), None);
        let freed = now + Duration::from_secs(1);
        agent.handle_done(freed, connection, true);
        assert_eq!(agent.poll_timeout(), Some(freed + timeout));
        agent.handle_timeout(freed + timeout - Duration::from_nanos(1));
        assert_eq!(drain(&mut agent), vec![]);
        agent.handle_timeout(freed + timeout);
        assert_eq!(drain(&mut agent), vec![close(connection.0)]);
        assert_eq!((agent.poll_timeout(), agent.free(&origin())), (None, 0));
    }

    /// Node docs `http.md` › `agent.keepSocketAlive()`: a pooled connection taken again loses its
    /// deadline.
    #[test]
    fn free_reused_deadline_cleared() {
        let now = Instant::now();
        let mut agent = Agent::new(AgentConfig {
            free_socket_timeout: Some(Duration::from_secs(5)),
            ..keep_alive()
        });
        let (_, connection) = serve_one(&mut agent, now);
        agent.handle_done(now, connection, true);
        agent.request(now, origin(), false);
        drain(&mut agent);
        assert_eq!(agent.poll_timeout(), None);
        agent.handle_timeout(now + Duration::from_secs(60));
        assert_eq!(drain(&mut agent), vec![]);
    }

    /// Node source `lib/_http_agent.js` › `keepSocketAlive`: `Keep-Alive: timeout=N` shortens the
    /// idle timeout to N - 1 s, and N = 1 forbids pooling.
    #[test]
    fn keep_alive_hint_done_shortens_or_forbids_pooling() {
        let now = Instant::now();
        let mut agent = Agent::new(AgentConfig {
            free_socket_timeout: Some(Duration::from_secs(5)),
            ..keep_alive()
        });
        let (_, first) = serve_one(&mut agent, now);
        agent.handle_done_with_hint(now, first, true, Some(Duration::from_secs(3)));
        assert_eq!(agent.poll_timeout(), Some(now + Duration::from_secs(2)));
        agent.request(now, origin(), false);
        drain(&mut agent);
        agent.handle_done_with_hint(now, first, true, Some(Duration::from_secs(1)));
        assert_eq!(drain(&mut agent), vec![close(first.0)]);
    }

    /// RFC 9112 §9.3.1: a retryable request that failed on a reused connection goes back to the
    /// queue and is assigned to a fresh connection, not to another pooled one.
    #[test]
    fn reused_failed_retryable_retried_on_fresh_connection() {
        let (mut agent, now) = two_free(Scheduling::Lifo);
        let request = agent.request(now, origin(), false);
        assert_eq!(drain(&mut agent), vec![assign(request.0, 1, true)]);
        assert!(agent.handle_failed(now, ConnectionId(1), true));
        assert_eq!(drain(&mut agent), vec![connect(2)]);
        assert_eq!(
            (agent.queued(&origin()), agent.connection_of(request)),
            (1, None)
        );
        agent.handle_connected(now, ConnectionId(2));
        assert_eq!(drain(&mut agent), vec![assign(request.0, 2, false)]);
        assert_eq!(agent.free(&origin()), 1);
    }

    /// RFC 9112 §9.3.1: no retry on a fresh connection, nor for a request that is not retryable.
    #[test]
    fn failed_fresh_or_not_retryable_not_retried() {
        let now = Instant::now();
        let mut agent = Agent::new(keep_alive());
        let (request, connection) = serve_one(&mut agent, now);
        assert!(!agent.handle_failed(now, connection, true));
        assert_eq!(drain(&mut agent), vec![]);
        assert_eq!(agent.connection_of(request), None);
        assert_eq!(agent.total_sockets(), 0);

        let (_, connection) = serve_one(&mut agent, now);
        agent.handle_done(now, connection, true);
        let request = agent.request(now, origin(), false);
        assert_eq!(
            drain(&mut agent),
            vec![assign(request.0, connection.0, true)]
        );
        assert!(!agent.handle_failed(now, connection, false));
        assert_eq!(drain(&mut agent), vec![]);
        assert_eq!((agent.queued(&origin()), agent.total_sockets()), (0, 0));
    }

    /// Node source `lib/_http_agent.js` › `addRequest`, `removeSocket`: a failed connect fails the
    /// oldest waiting request, and another connection is opened for the rest.
    #[test]
    fn connecting_connect_failed_oldest_fails_and_reconnects() {
        let now = Instant::now();
        let mut agent = Agent::new(AgentConfig {
            max_sockets: Some(1),
            ..AgentConfig::default()
        });
        for _ in 0..3 {
            agent.request(now, origin(), false);
        }
        assert_eq!(drain(&mut agent), vec![connect(0)]);
        agent.handle_connect_failed(now, ConnectionId(0), ErrorKind::ConnectionRefused);
        assert_eq!(
            drain(&mut agent),
            vec![
                AgentAction::Fail {
                    request: PoolRequestId(0),
                    error: ErrorKind::ConnectionRefused
                },
                connect(1)
            ]
        );
        assert_eq!(agent.queued(&origin()), 2);
        agent.handle_connected(now, ConnectionId(1));
        assert_eq!(drain(&mut agent), vec![assign(1, 1, false)]);
    }

    /// Node source `lib/_http_agent.js` › `addRequest`, `removeSocket`: `max_total_sockets` holds
    /// across origins; freed capacity goes to the other origin's waiting request, closing an idle
    /// connection to make room.
    #[test]
    fn total_limited_other_origin_waits_then_served() {
        let now = Instant::now();
        let other = Origin::new("https", "other.example", 443);
        let mut agent = Agent::new(AgentConfig {
            max_total_sockets: Some(1),
            ..keep_alive()
        });
        let first = agent.request(now, origin(), false);
        let second = agent.request(now, other.clone(), false);
        assert_eq!(drain(&mut agent), vec![connect(0)]);
        assert_eq!((agent.queued(&other), agent.total_sockets()), (1, 1));
        agent.handle_connected(now, ConnectionId(0));
        assert_eq!(drain(&mut agent), vec![assign(first.0, 0, false)]);
        agent.handle_done(now, ConnectionId(0), true);
        assert_eq!(
            drain(&mut agent),
            vec![
                close(0),
                AgentAction::Connect {
                    connection: ConnectionId(1),
                    origin: other.clone()
                }
            ]
        );
        assert_eq!(agent.total_sockets(), 1);
        agent.handle_connected(now, ConnectionId(1));
        assert_eq!(drain(&mut agent), vec![assign(second.0, 1, false)]);
    }

    /// Node source `lib/_http_agent.js` › `removeSocket`: a connection that closes leaves the pool
    /// and a waiting request gets a new one.
    #[test]
    fn busy_closed_waiting_request_gets_new_connection() {
        let now = Instant::now();
        let mut agent = Agent::new(AgentConfig {
            max_sockets: Some(1),
            ..keep_alive()
        });
        let (first, connection) = serve_one(&mut agent, now);
        let waiting = agent.request(now, origin(), false);
        assert_eq!(drain(&mut agent), vec![]);
        agent.handle_closed(now, connection);
        assert_eq!(drain(&mut agent), vec![connect(1)]);
        assert_eq!(agent.connection_of(first), None);
        agent.handle_connected(now, ConnectionId(1));
        assert_eq!(drain(&mut agent), vec![assign(waiting.0, 1, false)]);
        agent.handle_done(now, ConnectionId(1), true);
        agent.handle_closed(now, ConnectionId(1));
        assert_eq!((agent.free(&origin()), agent.total_sockets()), (0, 0));
        assert_eq!(drain(&mut agent), vec![]);
    }

    /// Node docs `http.md` › `Class: http.Agent`: a one-off request opens its own connection past
    /// the limits, is never pooled and sends `Connection: close`.
    #[test]
    fn one_off_request_own_connection_closed_after() {
        let now = Instant::now();
        let mut agent = Agent::new(AgentConfig {
            max_sockets: Some(1),
            max_total_sockets: Some(1),
            ..keep_alive()
        });
        serve_one(&mut agent, now);
        let one_off = agent.request(now, origin(), true);
        assert_eq!(drain(&mut agent), vec![connect(1)]);
        assert_eq!((agent.busy(&origin()), agent.total_sockets()), (1, 1));
        assert_eq!(agent.queued(&origin()), 0);
        agent.handle_connected(now, ConnectionId(1));
        assert_eq!(drain(&mut agent), vec![assign(one_off.0, 1, false)]);
        agent.handle_done(now, ConnectionId(1), true);
        assert_eq!(drain(&mut agent), vec![close(1)]);
        assert_eq!(agent.free(&origin()), 0);
        assert_eq!(agent.connection_header(true), "close");
    }

    /// Node docs `http.md` › `Class: http.Agent`: a one-off connect failure fails its own request
    /// and opens nothing else.
    #[test]
    fn one_off_connect_failed_own_request_fails() {
        let now = Instant::now();
        let mut agent = Agent::new(AgentConfig::default());
        let one_off = agent.request(now, origin(), true);
        drain(&mut agent);
        agent.handle_connect_failed(now, ConnectionId(0), ErrorKind::TimedOut);
        assert_eq!(
            drain(&mut agent),
            vec![AgentAction::Fail {
                request: one_off,
                error: ErrorKind::TimedOut
            }]
        );
    }

    /// Node source `lib/_http_agent.js` › `addRequest`: a cancelled waiting request is never
    /// assigned; cancelling an assigned one does nothing; a connection opened for a cancelled
    /// request is pooled when it connects.
    #[test]
    fn queued_cancel_never_assigned() {
        let now = Instant::now();
        let mut agent = Agent::new(AgentConfig {
            max_sockets: Some(1),
            ..keep_alive()
        });
        let first = agent.request(now, origin(), false);
        let second = agent.request(now, origin(), false);
        assert_eq!(drain(&mut agent), vec![connect(0)]);
        agent.cancel(now, first);
        assert_eq!(agent.queued(&origin()), 1);
        agent.handle_connected(now, ConnectionId(0));
        assert_eq!(drain(&mut agent), vec![assign(second.0, 0, false)]);
        agent.cancel(now, second);
        assert_eq!(agent.connection_of(second), Some(ConnectionId(0)));

        let third = agent.request(now, origin(), false);
        agent.cancel(now, third);
        assert_eq!(agent.queued(&origin()), 0);
        agent.handle_done(now, ConnectionId(0), true);
        assert_eq!(drain(&mut agent), vec![]);
        assert_eq!(agent.free(&origin()), 1);

        let mut agent = Agent::new(keep_alive());
        let request = agent.request(now, origin(), false);
        agent.cancel(now, request);
        assert_eq!(drain(&mut agent), vec![connect(0)]);
        agent.handle_connected(now, ConnectionId(0));
        assert_eq!(drain(&mut agent), vec![]);
        assert_eq!(agent.free(&origin()), 1);
        let request = agent.request(now, origin(), false);
        assert_eq!(drain(&mut agent), vec![assign(request.0, 0, false)]);
    }

    /// Node docs `http.md` › `Class: http.Agent`: a cancelled one-off request's connection is
    /// closed when it connects.
    #[test]
    fn one_off_cancel_connection_closed_on_connect() {
        let now = Instant::now();
        let mut agent = Agent::new(keep_alive());
        let request = agent.request(now, origin(), true);
        drain(&mut agent);
        agent.cancel(now, request);
        agent.handle_connected(now, ConnectionId(0));
        assert_eq!(drain(&mut agent), vec![close(0)]);
    }

    /// Node docs `http.md` › `new Agent()`: `Connection: close` only without keep-alive and with
    /// unlimited sockets.
    #[test]
    fn connection_header_follows_keep_alive_and_max_sockets() {
        assert_eq!(
            Agent::new(AgentConfig::default()).connection_header(false),
            "close"
        );
        let limited = AgentConfig {
            max_sockets: Some(5),
            ..AgentConfig::default()
        };
        assert_eq!(Agent::new(limited).connection_header(false), "keep-alive");
        assert_eq!(
            Agent::new(AgentConfig::global()).connection_header(false),
            "keep-alive"
        );
        assert_eq!(Origin::new("http", "h", 8080).name(), "h:8080");
    }
}
