//! `EventLoop`: the mio `Poll`, the entries it serves, the timers, and the application API.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::net::UnixStream;
use mio::{Events, Interest, Poll, Token};
use sansnet_http1::{
    Agent, AgentAction, AgentConfig, ClientConfig, ClientEvent, ClientRequest,
    ConnectionId as PooledConnection, Origin, PoolRequestId,
};
use sansnet_tcp::{Address, ConnectionId, Server, ServerConfig, Socket, SocketConfig};
use sansnet_tls::TlsConnection;
use sansnet_tls::rustls::{ClientConfig as ClientTlsConfig, ServerConfig as ServerTlsConfig};
use sansnet_udp::SendId;

use sansnet_stack::{ClientLayer, Connection, Note};

use crate::ids::{IdMap, IdSet};
use crate::net::{Reserve, Stream};
use crate::tcp::{Readiness, ServerEntry, SocketEntry};
use crate::timers::Timers;
use crate::udp::UdpEntry;
use crate::{ClientError, ClientRequestEvent, Event, ServerId, SocketId, UdpId};

/// The mio token of an entry id. Ids count up from 1 and become tokens as they are.
#[allow(
    clippy::cast_possible_truncation,
    reason = "ids are allocated one by one from 1"
)]
pub(crate) fn token(id: u64) -> usize {
    id as usize
}

#[derive(Debug)]
enum Entry {
    Server(Box<ServerEntry>),
    Socket(Box<SocketEntry>),
    Udp(Box<UdpEntry>),
    Signal { stream: UnixStream, signal: i32 },
}

/// A single-threaded event loop that owns sockets and timers and runs sansnet's machines.
///
/// The application asks for servers, connections and datagram sockets, then pulls [`Event`]s
/// with [`EventLoop::next_event`] and answers them with commands (`write`, `end`, `send`, ...).
/// Every command runs the machine's drain rule at once: bytes go to the OS, actions are
/// carried out, events are queued for the next `next_event`.
#[derive(Debug)]
pub struct EventLoop {
    poll: Poll,
    mio_events: Events,
    next_id: u64,
    entries: IdMap<u64, Entry>,
    timers: Timers,
    /// Entries to serve again without waiting for readiness: a datagram socket that spent
    /// its receive budget, a stream socket whose events the application has all taken.
    again: VecDeque<u64>,
    events: VecDeque<Event>,
    /// The HTTP client's connection pool.
    agent: Agent,
    /// HTTP client requests not yet over.
    requests: IdMap<PoolRequestId, PendingRequest>,
    /// The agent's connections and the socket entries carrying them.
    pooled: IdMap<PooledConnection, u64>,
    /// WebSocket clients waiting for their 101: the handshake to check it with.
    ws_pending: IdMap<PoolRequestId, (sansnet_ws::handshake::ClientHandshake, sansnet_ws::Config)>,
    /// WebSocket clients answered, whose remaining request events are swallowed.
    ws_done: IdSet<PoolRequestId>,
    /// The TLS settings of `https:` requests and `wss:` connections (Node's
    /// `https.globalAgent` options); Mozilla's root certificates unless replaced.
    https: Option<Arc<ClientTlsConfig>>,
    /// Every socket reads into this buffer; only the bytes that arrived are kept.
    scratch: Vec<u8>,
    /// The descriptor held back for when `accept` runs out of them.
    reserve: Reserve,
}

/// The timer id of the agent (entry ids start at 1).
const AGENT_TIMER: u64 = 0;

/// An HTTP client request: what the application asked for, kept until it is over so that it
/// can be sent again on a fresh connection when that is safe.
#[derive(Debug)]
struct PendingRequest {
    head: ClientRequest,
    body: Vec<Bytes>,
    ended: bool,
    config: ClientConfig,
    /// The socket entry carrying it, once assigned.
    socket: Option<u64>,
}

/// Options of [`EventLoop::http_request`].
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// Node's `agent: false`: a connection of its own, closed after the response.
    pub one_off: bool,
    /// Settings of the client machine (timeouts, `continue_timeout`).
    pub client: ClientConfig,
}

impl EventLoop {
    /// A loop with nothing in it.
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            poll: Poll::new()?,
            mio_events: Events::with_capacity(1024),
            next_id: 1,
            entries: IdMap::default(),
            timers: Timers::default(),
            again: VecDeque::new(),
            events: VecDeque::new(),
            agent: Agent::new(AgentConfig::default()),
            requests: IdMap::default(),
            pooled: IdMap::default(),
            ws_pending: IdMap::default(),
            ws_done: IdSet::default(),
            https: None,
            scratch: vec![0; crate::tcp::READ_CHUNK],
            reserve: Reserve::new(),
        })
    }

    // ---- servers ------------------------------------------------------------------------

    /// `net.createServer(config).listen(address)`: a TCP address or a Unix socket path.
    ///
    /// `Listening` (or `Error`, e.g. `EADDRINUSE`) arrives through [`EventLoop::next_event`],
    /// never from this call (Node docs `net.md` › `server.listen()`).
    pub fn listen(&mut self, address: Address, config: ServerConfig) -> ServerId {
        self.listen_with(address, config, None, None)
    }

    /// `http.createServer().listen(address)`: every accepted connection runs a
    /// `sansnet_http1::ServerConnection` with `http`, and its events arrive as [`Event::Http`].
    /// Sockets get `TCP_NODELAY`, as Node's HTTP sockets do (Node docs `http.md` ›
    /// `Event: 'connection'`), and are half-open.
    pub fn listen_http(
        &mut self,
        address: Address,
        mut config: ServerConfig,
        http: sansnet_http1::ServerConfig,
    ) -> ServerId {
        config.socket.no_delay = true;
        // Node's `http.Server` is a half-open `net.Server`: the HTTP machine ends the socket
        // itself after the client's FIN (once its responses are out), and a socket handed
        // over by CONNECT or Upgrade stays writable after the client half-closes.
        config.socket.allow_half_open = true;
        self.listen_with(address, config, Some(http), None)
    }

    /// `tls.createServer(options).listen(address)`: every accepted connection runs a TLS
    /// machine with `tls` (see `sansnet_tls::ServerOptions`) under its socket machine, so the
    /// application reads and writes plaintext. [`Event::Secure`] (`'secureConnection'`)
    /// follows the handshake; a failed handshake ends the socket with its TLS error
    /// (Node's `'tlsClientError'`, Node docs `tls.md` › `Event: 'secureConnection'`).
    pub fn listen_tls(
        &mut self,
        address: Address,
        config: ServerConfig,
        tls: Arc<ServerTlsConfig>,
    ) -> ServerId {
        self.listen_with(address, config, None, Some(tls))
    }

    /// `https.createServer(options).listen(address)`: [`EventLoop::listen_http`] over TLS
    /// (Node docs `https.md` › `Class: https.Server`). Offer ALPN `http/1.1` in `tls` to match
    /// Node's HTTPS server.
    pub fn listen_https(
        &mut self,
        address: Address,
        mut config: ServerConfig,
        http: sansnet_http1::ServerConfig,
        tls: Arc<ServerTlsConfig>,
    ) -> ServerId {
        config.socket.no_delay = true;
        config.socket.allow_half_open = true;
        self.listen_with(address, config, Some(http), Some(tls))
    }

    fn listen_with(
        &mut self,
        address: Address,
        config: ServerConfig,
        http: Option<sansnet_http1::ServerConfig>,
        tls: Option<Arc<ServerTlsConfig>>,
    ) -> ServerId {
        let id = ServerId(self.allocate());
        let mut server = Server::new(config);
        // A new server is idle, so listen cannot fail.
        let _ = server.listen(Instant::now(), address);
        let mut entry = ServerEntry::new(server, http);
        entry.tls = tls;
        self.entries.insert(id.0, Entry::Server(Box::new(entry)));
        self.service(id.0, Instant::now());
        id
    }

    /// Runs a command on the HTTP machine of connection `socket` (`send_response`, `write`,
    /// `end`, `send_continue`, ...). The drain rule runs before the loop next waits for the
    /// OS, not at once: the answers to pipelined requests given in one go leave in one
    /// vectored write, as hyper batches them and Node corks them.
    pub fn http_command<T>(
        &mut self,
        socket: SocketId,
        command: impl FnOnce(
            &mut sansnet_http1::ServerConnection,
            Instant,
        ) -> Result<T, sansnet_http1::Error>,
    ) -> Result<T, sansnet_http1::Error> {
        let now = Instant::now();
        let Some(Entry::Socket(entry)) = self.entries.get_mut(&socket.0) else {
            return Err(sansnet_http1::UsageError::Closed.into());
        };
        let Some(http) = entry.conn.http_mut() else {
            return Err(sansnet_http1::UsageError::Closed.into());
        };
        let result = command(http, now);
        if !entry.flush_due {
            entry.flush_due = true;
            self.again.push_back(socket.0);
        }
        result
    }

    /// `res.writeHead(status, headers); res.end(body)` for request `id` on `socket`.
    pub fn respond(
        &mut self,
        socket: SocketId,
        id: sansnet_http1::RequestId,
        response: sansnet_http1::Response,
        body: Bytes,
    ) -> Result<(), sansnet_http1::Error> {
        self.http_command(socket, |conn, now| conn.respond(now, id, response, body))
    }

    /// `server.close()`: stop accepting; `Close` once every accepted connection has closed.
    pub fn close_server(&mut self, id: ServerId) -> Result<(), sansnet_tcp::Error> {
        let now = Instant::now();
        let Some(Entry::Server(entry)) = self.entries.get_mut(&id.0) else {
            return Err(sansnet_tcp::UsageError::ServerNotRunning.into());
        };
        entry.machine.close(now)?;
        // Since v19 Node's `http.Server.close()` also closes idle keep-alive connections
        // (docs/node-semantics.md#node20-server-close-idle, #http-server-close); busy ones close
        // after their current response.
        let http_connections: Vec<u64> = self
            .entries
            .iter()
            .filter_map(|(&socket, entry)| match entry {
                Entry::Socket(e) if e.server == Some(id) => Some(socket),
                _ => None,
            })
            .collect();
        for socket in http_connections {
            if let Some(Entry::Socket(entry)) = self.entries.get_mut(&socket)
                && let Some(http) = entry.conn.http_mut()
            {
                http.close_when_idle(now);
            }
            self.service(socket, now);
        }
        self.service(id.0, now);
        Ok(())
    }

    /// Node's `handshakeTimeout` of TLS server `id` (default 120 s; zero: none): a
    /// connection whose handshake has not finished that long after it was accepted is
    /// destroyed with `ERR_TLS_HANDSHAKE_TIMEOUT` (Node docs `tls.md` › `tls.createServer()`
    /// (`handshakeTimeout`)). Applies to connections accepted from now on.
    pub fn set_handshake_timeout(&mut self, id: ServerId, timeout: Duration) {
        if let Some(Entry::Server(entry)) = self.entries.get_mut(&id.0) {
            entry.handshake_timeout = timeout;
        }
    }

    /// The server machine, for its getters (`address()`, `connections()`).
    pub fn server(&self, id: ServerId) -> Option<&Server> {
        match self.entries.get(&id.0) {
            Some(Entry::Server(entry)) => Some(&entry.machine),
            _ => None,
        }
    }

    // ---- sockets ------------------------------------------------------------------------

    /// `net.connect(address)`: `Connect` or `Error` (e.g. `ECONNREFUSED`) follows.
    pub fn connect(&mut self, address: Address, config: SocketConfig) -> SocketId {
        self.connect_with(address, config, None)
    }

    /// `tls.connect({host, port, ...})`: a TCP connection with a TLS client machine under its
    /// socket machine. `host` is the name the server's certificate must carry and the SNI
    /// sent (none for an IP literal, Node docs `tls.md` › `tls.connect()` (`servername`)); `tls`
    /// comes from `sansnet_tls::ClientOptions::build`. `Connect` comes when TCP is up, then
    /// [`Event::Secure`] (`'secureConnect'`) after the handshake; a certificate that does not
    /// verify ends the socket with its TLS error instead (Node docs `tls.md` ›
    /// `Event: 'secureConnect'`). Writes made before the handshake finished go out after it.
    /// The session cache lives in `tls`: connections given the same `Arc` resume each other's
    /// sessions (`session_reused` in [`Event::Secure`]), as Node's `tls.connect({session})`
    /// does by hand.
    pub fn connect_tls(
        &mut self,
        address: Address,
        config: SocketConfig,
        tls: Arc<ClientTlsConfig>,
        host: &str,
    ) -> SocketId {
        match TlsConnection::client(tls, host) {
            Ok(conn) => self.connect_with(address, config, Some(conn)),
            Err(error) => {
                let id = SocketId(self.allocate());
                let mut machine = Socket::connect(Instant::now(), config);
                machine.destroy_with_error(Instant::now(), sansnet_stack::tls_error(&error));
                while let Some(event) = machine.poll_event() {
                    self.events.push_back(Event::Socket { socket: id, event });
                }
                id
            }
        }
    }

    fn connect_with(
        &mut self,
        address: Address,
        config: SocketConfig,
        tls: Option<TlsConnection>,
    ) -> SocketId {
        let now = Instant::now();
        let id = SocketId(self.allocate());
        let mut conn = Connection::connect(now, config);
        if let Some(tls) = tls {
            conn = conn.with_tls(now, tls, true);
        }
        let stream = Stream::connect(&address).and_then(|mut stream| {
            stream.register(self.poll.registry(), Token(token(id.0)))?;
            Ok(stream)
        });
        match stream {
            Ok(stream) => {
                let entry = SocketEntry::new(conn, stream, None);
                self.entries.insert(id.0, Entry::Socket(Box::new(entry)));
                self.service(id.0, now);
            }
            Err(e) => {
                let machine = conn.socket_mut();
                machine.handle_io_error(now, e.kind());
                while let Some(event) = machine.poll_event() {
                    self.events.push_back(Event::Socket { socket: id, event });
                }
            }
        }
        id
    }

    /// `socket.write(data)`: `Ok(false)` at the high-water mark; `Drain` follows.
    pub fn write(&mut self, id: SocketId, data: Bytes) -> Result<bool, sansnet_tcp::Error> {
        self.socket_command(id, |socket, now| socket.write(now, data))
    }

    /// `socket.end([data])`.
    pub fn end(&mut self, id: SocketId, data: Option<Bytes>) -> Result<(), sansnet_tcp::Error> {
        self.socket_command(id, |socket, now| socket.end(now, data))
    }

    /// `socket.destroy()`.
    pub fn destroy(&mut self, id: SocketId) {
        let _ = self.socket_command(id, |socket, now| {
            socket.destroy(now);
            Ok(())
        });
    }

    /// `socket.pause()`: stop reading.
    pub fn pause(&mut self, id: SocketId) {
        let _ = self.socket_command(id, |socket, _| {
            socket.pause();
            Ok(())
        });
    }

    /// `socket.resume()`: read again.
    pub fn resume(&mut self, id: SocketId) {
        let _ = self.socket_command(id, |socket, now| {
            socket.resume(now);
            Ok(())
        });
    }

    /// `socket.setTimeout(ms)`; `None` or zero disables it.
    pub fn set_timeout(&mut self, id: SocketId, timeout: Option<Duration>) {
        let _ = self.socket_command(id, |socket, now| {
            socket.set_timeout(now, timeout);
            Ok(())
        });
    }

    /// `socket.setNoDelay(no_delay)`.
    pub fn set_no_delay(&mut self, id: SocketId, no_delay: bool) {
        let _ = self.socket_command(id, |socket, _| {
            socket.set_no_delay(no_delay);
            Ok(())
        });
    }

    /// Runs any command on the socket machine, then its drain rule. Commands on a socket that
    /// is gone fail with `ERR_STREAM_DESTROYED`.
    pub fn socket_command<T>(
        &mut self,
        id: SocketId,
        command: impl FnOnce(&mut Socket, Instant) -> Result<T, sansnet_tcp::Error>,
    ) -> Result<T, sansnet_tcp::Error> {
        let now = Instant::now();
        let Some(Entry::Socket(entry)) = self.entries.get_mut(&id.0) else {
            return Err(sansnet_tcp::UsageError::Destroyed.into());
        };
        let result = command(entry.conn.socket_mut(), now);
        self.service(id.0, now);
        result
    }

    /// The socket machine, for its getters (`bytes_read()`, `buffer_size()`, ...); `None` once
    /// it has closed.
    pub fn socket(&self, id: SocketId) -> Option<&Socket> {
        match self.entries.get(&id.0) {
            Some(Entry::Socket(entry)) => Some(entry.conn.socket()),
            _ => None,
        }
    }

    /// `socket.remoteAddress` / `remotePort` (or the peer's path for Unix sockets).
    pub fn peer_address(&self, id: SocketId) -> Option<Address> {
        match self.entries.get(&id.0) {
            Some(Entry::Socket(entry)) => entry.stream.peer_address(),
            _ => None,
        }
    }

    /// `socket.localAddress` / `localPort`.
    pub fn local_address(&self, id: SocketId) -> Option<Address> {
        match self.entries.get(&id.0) {
            Some(Entry::Socket(entry)) => entry.stream.local_address(),
            _ => None,
        }
    }

    // ---- datagram sockets ---------------------------------------------------------------

    /// `dgram.createSocket(config)`: an unbound socket; bind it with [`EventLoop::udp_bind`]
    /// or let the first send bind it.
    pub fn udp_socket(&mut self, config: sansnet_udp::SocketConfig) -> UdpId {
        let id = UdpId(self.allocate());
        let entry = UdpEntry::new(sansnet_udp::Socket::new(config));
        self.entries.insert(id.0, Entry::Udp(Box::new(entry)));
        id
    }

    /// `socket.bind(address)`: `Listening` (or `Error`) follows.
    pub fn udp_bind(
        &mut self,
        id: UdpId,
        address: Option<SocketAddr>,
    ) -> Result<(), sansnet_udp::Error> {
        self.udp_command(id, |socket, now| socket.bind(now, address))
    }

    /// `socket.send(data, offset, length, port, address)`: `Sent` follows with the result.
    pub fn udp_send(
        &mut self,
        id: UdpId,
        data: Bytes,
        port: u16,
        address: Option<IpAddr>,
    ) -> Result<SendId, sansnet_udp::Error> {
        let length = data.len();
        self.udp_command(id, |socket, now| {
            socket.send(now, data, 0, length, port, address)
        })
    }

    /// `socket.close()`: `Close` follows; no `Message` after it.
    pub fn udp_close(&mut self, id: UdpId) -> Result<(), sansnet_udp::Error> {
        self.udp_command(id, |socket, now| socket.close(now))
    }

    /// `socket.getRecvBufferSize()`: `SO_RCVBUF` as the OS reports it (Linux doubles what
    /// `setRecvBufferSize()` asked for). Set it with [`EventLoop::udp_command`] and
    /// [`sansnet_udp::Socket::set_recv_buffer_size`].
    ///
    /// # Errors
    ///
    /// `ERR_SOCKET_BUFFER_SIZE` ([`sansnet_udp::UsageError::BufferSizeNotBound`]) before the
    /// bind, as Node 20; `ERR_SOCKET_DGRAM_NOT_RUNNING` once closed.
    pub fn udp_recv_buffer_size(&self, id: UdpId) -> Result<usize, sansnet_udp::Error> {
        match self.entries.get(&id.0) {
            Some(Entry::Udp(entry)) => entry.buffer_size(true),
            _ => Err(sansnet_udp::UsageError::NotRunning.into()),
        }
    }

    /// `socket.getSendBufferSize()`: `SO_SNDBUF` as the OS reports it.
    ///
    /// # Errors
    ///
    /// As [`EventLoop::udp_recv_buffer_size`].
    pub fn udp_send_buffer_size(&self, id: UdpId) -> Result<usize, sansnet_udp::Error> {
        match self.entries.get(&id.0) {
            Some(Entry::Udp(entry)) => entry.buffer_size(false),
            _ => Err(sansnet_udp::UsageError::NotRunning.into()),
        }
    }

    /// Runs any command on the datagram socket machine, then its drain rule. The socket
    /// options go through here, for example `setBroadcast(true)`:
    /// `ev.udp_command(id, |socket, now| socket.set_broadcast(now, true))`; the driver sets
    /// the option before this returns, and an option the OS refuses comes back as
    /// [`sansnet_udp::SocketEvent::Error`].
    pub fn udp_command<T>(
        &mut self,
        id: UdpId,
        command: impl FnOnce(&mut sansnet_udp::Socket, Instant) -> Result<T, sansnet_udp::Error>,
    ) -> Result<T, sansnet_udp::Error> {
        let now = Instant::now();
        let Some(Entry::Udp(entry)) = self.entries.get_mut(&id.0) else {
            return Err(sansnet_udp::UsageError::NotRunning.into());
        };
        let result = command(&mut entry.machine, now);
        self.service(id.0, now);
        result
    }

    /// The datagram socket machine, for its getters; `None` once it has closed.
    pub fn udp(&self, id: UdpId) -> Option<&sansnet_udp::Socket> {
        match self.entries.get(&id.0) {
            Some(Entry::Udp(entry)) => Some(&entry.machine),
            _ => None,
        }
    }

    // ---- signals ------------------------------------------------------------------------

    /// Reports `signal` (e.g. `SIGINT`, `SIGTERM`) as [`Event::Signal`] instead of its
    /// default action.
    pub fn watch_signal(&mut self, signal: i32) -> io::Result<()> {
        let (read, write) = std::os::unix::net::UnixStream::pair()?;
        read.set_nonblocking(true)?;
        write.set_nonblocking(true)?;
        signal_hook::low_level::pipe::register(signal, write)?;
        let mut stream = UnixStream::from_std(read);
        let id = self.allocate();
        self.poll
            .registry()
            .register(&mut stream, Token(token(id)), Interest::READABLE)?;
        self.entries.insert(id, Entry::Signal { stream, signal });
        Ok(())
    }

    // ---- running ------------------------------------------------------------------------

    /// The next event, waiting up to `timeout` (`None`: until there is one). `Ok(None)` when
    /// the time ran out, or at once when nothing is left that could produce an event.
    pub fn next_event(&mut self, timeout: Option<Duration>) -> io::Result<Option<Event>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if let Some(event) = self.events.pop_front() {
                if let Event::Socket { socket, .. }
                | Event::Http { socket, .. }
                | Event::Ws { socket, .. }
                | Event::Secure { socket, .. } = &event
                {
                    self.delivered(socket.0);
                }
                return Ok(Some(event));
            }
            if self.entries.is_empty() && self.requests.is_empty() {
                return Ok(None);
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            self.run_once(left)?;
            if left == Some(Duration::ZERO) && self.events.is_empty() {
                return Ok(None);
            }
        }
    }

    /// One turn: wait for readiness (at most `timeout`, less if a timer is due), then serve
    /// the ready entries, the due timers and the entries owed another turn.
    pub fn run_once(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let now = Instant::now();
        let mut wait = timeout;
        if !self.again.is_empty() || !self.events.is_empty() {
            wait = Some(Duration::ZERO);
        }
        if let Some(at) = self.timers.next() {
            let until = at.saturating_duration_since(now);
            wait = Some(wait.map_or(until, |w| w.min(until)));
        }
        match self.poll.poll(&mut self.mio_events, wait) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            other => other?,
        }
        let ready: Vec<(u64, Readiness)> = self
            .mio_events
            .iter()
            .map(|e| {
                let closed = e.is_read_closed() || e.is_error();
                let readiness = Readiness {
                    readable: e.is_readable() || closed,
                    writable: e.is_writable() || e.is_write_closed() || e.is_error(),
                    closed,
                };
                (e.token().0 as u64, readiness)
            })
            .collect();
        let now = Instant::now();
        for (id, readiness) in ready {
            self.on_ready(id, now, readiness);
        }
        while let Some(id) = self.timers.pop_due(now) {
            if id == AGENT_TIMER {
                self.agent.handle_timeout(now);
                self.agent_actions(now);
                continue;
            }
            // Only stream sockets arm timers: dgram sockets and servers have none.
            if let Some(Entry::Socket(entry)) = self.entries.get_mut(&id) {
                entry.conn.handle_timeout(now);
                self.service(id, now);
            }
        }
        for id in std::mem::take(&mut self.again) {
            self.service(id, now);
        }
        Ok(())
    }

    fn on_ready(&mut self, id: u64, now: Instant, readiness: Readiness) {
        match self.entries.get_mut(&id) {
            Some(Entry::Server(entry)) => {
                let mut next = self.next_id;
                let admitted = entry.accept(
                    now,
                    || {
                        let id = next;
                        next += 1;
                        id
                    },
                    &mut self.reserve,
                );
                self.next_id = next;
                // `Connection` events come before anything the new sockets emit.
                self.service(id, now);
                let (config, http, tls, handshake_timeout) = match self.entries.get(&id) {
                    Some(Entry::Server(entry)) => (
                        entry.machine.config().socket.clone(),
                        entry.http.clone(),
                        entry.tls.clone(),
                        entry.handshake_timeout,
                    ),
                    _ => return,
                };
                for (socket_id, mut stream) in admitted {
                    if stream
                        .register(self.poll.registry(), Token(token(socket_id)))
                        .is_err()
                    {
                        // A connection that cannot be polled is closed at once.
                        self.connection_closed(ServerId(id), socket_id, now);
                        continue;
                    }
                    let mut conn = Connection::accepted(now, config.clone());
                    if let Some(tls) = &tls {
                        match TlsConnection::server(tls.clone()) {
                            Ok(mut tls) => {
                                tls.set_handshake_timeout(handshake_timeout);
                                conn = conn.with_tls(now, tls, true);
                            }
                            Err(error) => conn
                                .socket_mut()
                                .destroy_with_error(now, sansnet_stack::tls_error(&error)),
                        }
                    }
                    if let Some(http) = &http {
                        conn = conn.serve_http(now, http.clone());
                    }
                    let entry = SocketEntry::new(conn, stream, Some(ServerId(id)));
                    self.entries
                        .insert(socket_id, Entry::Socket(Box::new(entry)));
                    self.service(socket_id, now);
                }
            }
            Some(Entry::Socket(entry)) => {
                entry.on_ready(now, readiness);
                self.service(id, now);
            }
            Some(Entry::Udp(entry)) => {
                entry.readable |= readiness.readable;
                self.service(id, now);
            }
            Some(Entry::Signal { stream, signal }) => {
                let signal = *signal;
                let mut buf = [0u8; 64];
                let mut got = false;
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    got = true;
                }
                if got {
                    self.events.push_back(Event::Signal(signal));
                }
            }
            None => {}
        }
    }

    /// Runs the drain rule of entry `id`, re-arms its timer, and removes it once closed.
    fn service(&mut self, id: u64, now: Instant) {
        let registry = self.poll.registry();
        match self.entries.get_mut(&id) {
            Some(Entry::Server(entry)) => {
                entry.service(ServerId(id), now, registry, &mut self.events);
                // Not listening and no connection left: it emitted `Close` or `Error` and can
                // produce nothing more.
                if !entry.machine.is_listening() && entry.machine.connections() == 0 {
                    self.entries.remove(&id);
                }
            }
            Some(Entry::Socket(entry)) => {
                if entry.service(
                    SocketId(id),
                    now,
                    registry,
                    &mut self.events,
                    &mut self.scratch,
                ) {
                    let server = entry.server;
                    if entry.conn.client_mut().is_some() {
                        self.client_notes(id, now);
                    }
                    self.entries.remove(&id);
                    self.timers.set(id, None);
                    if let Some(server) = server {
                        self.connection_closed(server, id, now);
                    }
                } else {
                    self.timers.set(id, entry.conn.poll_timeout());
                }
                self.client_notes(id, now);
            }
            Some(Entry::Udp(entry)) => {
                let (closed, again) = entry.service(UdpId(id), now, registry, &mut self.events);
                if again {
                    self.again.push_back(id);
                }
                if closed {
                    self.entries.remove(&id);
                }
            }
            Some(Entry::Signal { .. }) | None => {}
        }
    }

    /// The application took one of socket `id`'s events; once it has taken them all, the
    /// socket may read again (see `SocketEntry::undelivered`).
    fn delivered(&mut self, id: u64) {
        if let Some(Entry::Socket(entry)) = self.entries.get_mut(&id) {
            entry.undelivered = entry.undelivered.saturating_sub(1);
            if entry.undelivered == 0 {
                self.again.push_back(id);
            }
        }
    }

    fn connection_closed(&mut self, server: ServerId, connection: u64, now: Instant) {
        if let Some(Entry::Server(entry)) = self.entries.get_mut(&server.0) {
            entry
                .machine
                .handle_connection_closed(now, ConnectionId(connection));
            self.service(server.0, now);
        }
    }

    // ---- WebSocket ------------------------------------------------------------------------

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
        match sansnet_ws::handshake::accept_with(request, protocols, &config.deflate) {
            Ok(accepted) => {
                let config = sansnet_stack::ws_config(config);
                let conn = sansnet_ws::Connection::server(config, accepted.response)
                    .with_deflate(accepted.deflate);
                entry.conn.start_ws(now, conn, head);
                self.service(socket.0, now);
                Ok(accepted.protocol)
            }
            Err(rejected) => {
                let _ = entry.conn.socket_mut().end(now, Some(rejected.response));
                self.service(socket.0, now);
                Err(rejected.error.into())
            }
        }
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
        let mut entropy = crate::entropy::os_entropy;
        let handshake = sansnet_ws::handshake::ClientHandshake::new(&mut entropy, protocols)
            .with_deflate(config.deflate.clone());
        let request = handshake.request(&origin.host_header(), path);
        let options = RequestOptions {
            one_off: true,
            ..RequestOptions::default()
        };
        let id = self.http_request(origin, request, options);
        self.ws_pending.insert(id, (handshake, config));
        let _ = self.http_end(id, None);
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

    /// A WebSocket client's request got its answer: open the WebSocket or report why not.
    fn ws_answer(&mut self, now: Instant, request: PoolRequestId, event: &ClientRequestEvent) {
        let Some((handshake, config)) = self.ws_pending.get(&request) else {
            return;
        };
        if matches!(
            event,
            ClientRequestEvent::Upgrade { .. }
                | ClientRequestEvent::Response(_)
                | ClientRequestEvent::Error(_)
        ) {
            self.ws_done.insert(request);
        }
        match event {
            ClientRequestEvent::Upgrade {
                socket,
                response,
                head,
            } => {
                let outcome = handshake.open(response);
                let config = config.clone();
                self.ws_pending.remove(&request);
                match outcome {
                    Ok(opened) => {
                        let protocol = opened.protocol;
                        if let Some(Entry::Socket(entry)) = self.entries.get_mut(&socket.0) {
                            let conn = sansnet_ws::Connection::new(
                                sansnet_ws::Role::Client,
                                sansnet_stack::ws_config(config),
                                Box::new(crate::entropy::os_entropy),
                            )
                            .with_deflate(opened.deflate);
                            entry.conn.start_ws(now, conn, head.clone());
                        }
                        self.events.push_back(Event::WsOpen {
                            request,
                            socket: *socket,
                            protocol,
                        });
                        self.service(socket.0, now);
                    }
                    Err(error) => {
                        let error = sansnet_ws::Error::from(error).to_string();
                        self.events
                            .push_back(Event::WsOpenFailed { request, error });
                        self.destroy(*socket);
                    }
                }
            }
            ClientRequestEvent::Response(response) => {
                self.ws_pending.remove(&request);
                let error = sansnet_ws::Error::from(sansnet_ws::HandshakeError::NotSwitching(
                    response.status,
                ));
                self.events.push_back(Event::WsOpenFailed {
                    request,
                    error: error.to_string(),
                });
            }
            ClientRequestEvent::Error(error) => {
                self.ws_pending.remove(&request);
                self.events.push_back(Event::WsOpenFailed {
                    request,
                    error: error.to_string(),
                });
            }
            _ => {}
        }
    }

    // ---- HTTP client ----------------------------------------------------------------------

    /// Replaces the HTTP client's agent (`new http.Agent(config)`); requests in progress on
    /// the old one are not affected only if there are none, so call it first.
    pub fn set_agent(&mut self, config: AgentConfig) {
        self.agent = Agent::new(config);
    }

    /// The TLS settings of `https:` requests and `wss:` connections from now on (Node's
    /// `https.request({ca, cert, key, rejectUnauthorized})`), built with
    /// `sansnet_tls::ClientOptions::build`. Without it they verify servers against Mozilla's
    /// root certificates, as Node does with its bundled CA store. Every `https:`/`wss:`
    /// connection uses this one configuration, so they share its session cache, as the
    /// connections of Node's `https.Agent` share its `maxCachedSessions` sessions: a new
    /// connection to a server seen before resumes its session.
    pub fn set_https_config(&mut self, tls: Arc<ClientTlsConfig>) {
        self.https = Some(tls);
    }

    fn https_config(&mut self) -> Result<Arc<ClientTlsConfig>, io::ErrorKind> {
        if let Some(config) = &self.https {
            return Ok(config.clone());
        }
        let config = sansnet_tls::ClientOptions::with_mozilla_roots()
            .build()
            .map_err(|_| io::ErrorKind::InvalidInput)?;
        self.https = Some(config.clone());
        Ok(config)
    }

    /// What the TLS handshake of `socket` settled (protocol, cipher suite, ALPN, SNI, the
    /// peer's certificates, whether the session was resumed: `isSessionReused()`), once it is
    /// done.
    pub fn tls_info(&self, socket: SocketId) -> Option<&sansnet_tls::HandshakeInfo> {
        match self.entries.get(&socket.0) {
            Some(Entry::Socket(entry)) => entry.conn.tls().and_then(|t| t.info()),
            _ => None,
        }
    }

    /// The HTTP client's agent, for its counts (`queued`, `busy`, `free`).
    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    /// `http.request(options)`: a request to `origin` through the agent. Add the body with
    /// [`EventLoop::http_write`] and finish with [`EventLoop::http_end`]; events arrive as
    /// [`Event::HttpClient`]. `Host` is added when missing, and `Connection` as Node's agent
    /// sets it (Node docs `http.md` › `new Agent()`, `Class: http.Agent`).
    pub fn http_request(
        &mut self,
        origin: Origin,
        mut head: ClientRequest,
        options: RequestOptions,
    ) -> PoolRequestId {
        let now = Instant::now();
        if !head.headers.contains("host") {
            head.headers.append("Host", origin.host_header());
        }
        if !head.headers.contains("connection") {
            head.headers
                .append("Connection", self.agent.connection_header(options.one_off));
        }
        let request = self.agent.request(now, origin, options.one_off);
        let pending = PendingRequest {
            head,
            body: Vec::new(),
            ended: false,
            config: options.client,
            socket: None,
        };
        self.requests.insert(request, pending);
        self.agent_actions(now);
        request
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
        let Some(socket) = pending.socket else {
            return Ok(());
        };
        let Some(Entry::Socket(entry)) = self.entries.get_mut(&socket) else {
            return Ok(());
        };
        let Some(client) = entry.conn.client_mut() else {
            return Ok(());
        };
        let (Some(conn), Some((_, id))) = (&mut client.conn, client.current) else {
            return Ok(());
        };
        let result = match (data, end) {
            (data, true) => conn.end(now, id, data),
            (Some(data), false) => conn.write(now, id, data),
            (None, false) => Ok(()),
        };
        self.service(socket, now);
        result
    }

    /// Carries out what the agent asks: open, assign, close, fail.
    fn agent_actions(&mut self, now: Instant) {
        while let Some(action) = self.agent.poll_action() {
            match action {
                AgentAction::Connect { connection, origin } => {
                    if let Err(kind) = self.open_pooled(now, connection, &origin) {
                        self.agent.handle_connect_failed(now, connection, kind);
                    }
                }
                AgentAction::Assign {
                    request,
                    connection,
                    reused,
                } => {
                    self.assign(now, request, connection, reused);
                }
                AgentAction::Close { connection } => {
                    if let Some(&socket) = self.pooled.get(&connection) {
                        self.destroy(SocketId(socket));
                    }
                }
                AgentAction::Fail { request, error } => {
                    self.finish_request(request, Some(ClientError::Io(error)));
                }
                _ => {}
            }
        }
        self.timers.set(AGENT_TIMER, self.agent.poll_timeout());
    }

    /// Opens the socket of a pooled connection (only IP literals and `localhost` resolve
    /// without a lookup; other names go through the system resolver).
    fn open_pooled(
        &mut self,
        now: Instant,
        connection: PooledConnection,
        origin: &Origin,
    ) -> Result<(), io::ErrorKind> {
        use std::net::ToSocketAddrs;
        let addr = (origin.host.as_str(), origin.port)
            .to_socket_addrs()
            .map_err(|_| io::ErrorKind::NotFound)?
            .next()
            .ok_or(io::ErrorKind::NotFound)?;
        let id = self.allocate();
        let mut config = SocketConfig::default();
        config.no_delay = true;
        if self.agent.config().keep_alive {
            config.keep_alive = Some(self.agent.config().keep_alive_initial_delay);
        }
        let mut conn = Connection::connect(now, config);
        let mut stream = Stream::connect(&Address::Tcp(addr)).map_err(|e| e.kind())?;
        stream
            .register(self.poll.registry(), Token(token(id)))
            .map_err(|e| e.kind())?;
        if origin.scheme == "https" {
            let tls = TlsConnection::client(self.https_config()?, &origin.host)
                .map_err(|_| io::ErrorKind::InvalidInput)?;
            conn = conn.with_tls(now, tls, false);
        }
        let conn = conn.serve_client(ClientLayer::new(connection, ClientConfig::default()));
        let entry = SocketEntry::new(conn, stream, None);
        self.entries.insert(id, Entry::Socket(Box::new(entry)));
        self.pooled.insert(connection, id);
        self.service(id, now);
        Ok(())
    }

    fn assign(
        &mut self,
        now: Instant,
        request: PoolRequestId,
        connection: PooledConnection,
        reused: bool,
    ) {
        let Some(&socket) = self.pooled.get(&connection) else {
            self.finish_request(request, Some(ClientError::Io(io::ErrorKind::NotConnected)));
            return;
        };
        let Some(pending) = self.requests.get_mut(&request) else {
            return;
        };
        pending.socket = Some(socket);
        let (head, body, ended) = (pending.head.clone(), pending.body.clone(), pending.ended);
        let config = pending.config.clone();
        let Some(Entry::Socket(entry)) = self.entries.get_mut(&socket) else {
            return;
        };
        let Some(client) = entry.conn.client_mut() else {
            return;
        };
        if let Some(conn) = &mut client.conn
            && conn.config() != &config
        {
            // The request's own settings (`timeout`, `continue_timeout`, limits) apply to it,
            // whatever the connection's earlier requests asked for; a pooled connection is
            // idle when it is assigned, so a fresh machine loses nothing.
            *conn = sansnet_http1::ClientConnection::new(now, config);
        }
        let started = client.start(now, request, head, &body, ended);
        let event = ClientRequestEvent::Socket {
            socket: SocketId(socket),
            reused,
        };
        self.client_event(now, request, event);
        if let Err(error) = started {
            self.finish_request(request, Some(ClientError::Http(error)));
        }
        self.service(socket, now);
    }

    /// Emits `Error` (if any) and `Close` for `request` and forgets it.
    fn finish_request(&mut self, request: PoolRequestId, error: Option<ClientError>) {
        if self.requests.remove(&request).is_none() {
            return;
        }
        let now = Instant::now();
        if let Some(error) = error {
            self.client_event(now, request, ClientRequestEvent::Error(error));
        }
        self.client_event(now, request, ClientRequestEvent::Close);
    }

    /// Hands a client request's event to the application, or to the WebSocket handshake
    /// waiting for it.
    fn client_event(&mut self, now: Instant, request: PoolRequestId, event: ClientRequestEvent) {
        if self.ws_pending.contains_key(&request) {
            self.ws_answer(now, request, &event);
        } else if self.ws_done.contains(&request) {
            // The rest of a WebSocket client's request (its close, a refused body) is the
            // driver's business, not the application's.
            if event == ClientRequestEvent::Close {
                self.ws_done.remove(&request);
            }
        } else {
            self.events.push_back(Event::HttpClient { request, event });
        }
    }

    /// Acts on what happened on client connection `id`.
    fn client_notes(&mut self, id: u64, now: Instant) {
        loop {
            let Some(Entry::Socket(entry)) = self.entries.get_mut(&id) else {
                return;
            };
            let Some(client) = entry.conn.client_mut() else {
                return;
            };
            let Some(note) = client.notes.pop_front() else {
                break;
            };
            let connection = client.connection;
            let current = client.current;
            let reusable = client.conn.as_ref().is_some_and(|c| c.is_reusable());
            match note {
                Note::Connected => {
                    // The request is assigned now, before whatever the same read brought
                    // (a TLS handshake failure must reach it as its error).
                    self.agent.handle_connected(now, connection);
                    self.agent_actions(now);
                }
                Note::ConnectFailed(kind) => {
                    self.pooled.remove(&connection);
                    self.agent.handle_connect_failed(now, connection, kind);
                }
                Note::Http(event) => {
                    let Some((request, _)) = current else {
                        continue;
                    };
                    let socket = SocketId(id);
                    match event {
                        ClientEvent::Continue { .. } => {
                            self.client_event(now, request, ClientRequestEvent::Continue);
                        }
                        ClientEvent::Information(head) => {
                            self.client_event(now, request, ClientRequestEvent::Information(head));
                        }
                        ClientEvent::Response(head) => {
                            client.keep_alive_hint = head.keep_alive_timeout();
                            self.client_event(now, request, ClientRequestEvent::Response(head));
                        }
                        ClientEvent::Data { data, .. } => {
                            self.client_event(now, request, ClientRequestEvent::Data(data));
                        }
                        ClientEvent::End { trailers, .. } => {
                            client.current = None;
                            let hint = client.keep_alive_hint.take();
                            self.client_event(now, request, ClientRequestEvent::End(trailers));
                            self.finish_request(request, None);
                            self.agent
                                .handle_done_with_hint(now, connection, reusable, hint);
                        }
                        ClientEvent::Upgrade { response, head } => {
                            let event = ClientRequestEvent::Upgrade {
                                socket,
                                response,
                                head,
                            };
                            self.hand_over_client(id, now, connection, request, event);
                        }
                        ClientEvent::Connect { response, head } => {
                            let event = ClientRequestEvent::Connect {
                                socket,
                                response,
                                head,
                            };
                            self.hand_over_client(id, now, connection, request, event);
                        }
                        ClientEvent::Timeout => {
                            self.client_event(now, request, ClientRequestEvent::Timeout);
                        }
                        ClientEvent::Error {
                            error, retryable, ..
                        } => {
                            client.current = None;
                            if !self.agent.handle_failed(now, connection, retryable) {
                                self.finish_request(request, Some(ClientError::Http(error)));
                            }
                        }
                        _ => {}
                    }
                }
                Note::SocketError(error) => {
                    if let Some((request, _)) = current {
                        client.current = None;
                        if !self.agent.handle_failed(now, connection, false) {
                            self.finish_request(request, Some(ClientError::from(error)));
                        }
                    }
                }
                Note::Closed => {
                    if let Some((request, _)) = current {
                        client.current = None;
                        let error = sansnet_http1::ProtocolError::ConnectionClosedBeforeResponse;
                        if !self.agent.handle_failed(now, connection, false) {
                            self.finish_request(request, Some(ClientError::Http(error.into())));
                        }
                    }
                    self.pooled.remove(&connection);
                    self.agent.handle_closed(now, connection);
                }
            }
        }
        self.agent_actions(now);
    }

    /// After `Upgrade`/`Connect`: the socket leaves the pool and becomes a raw socket.
    fn hand_over_client(
        &mut self,
        id: u64,
        now: Instant,
        connection: PooledConnection,
        request: PoolRequestId,
        event: ClientRequestEvent,
    ) {
        self.requests.remove(&request);
        if let Some(Entry::Socket(entry)) = self.entries.get_mut(&id) {
            if let Some(client) = entry.conn.client_mut() {
                client.current = None;
            }
            // Reading resumes once the new owner is in place: a WebSocket machine attached
            // by `ws_answer` (inside `client_event`), or the application.
            entry.conn.release();
        }
        self.client_event(now, request, event);
        self.client_event(now, request, ClientRequestEvent::Close);
        self.pooled.remove(&connection);
        self.agent.handle_closed(now, connection);
        self.again.push_back(id);
    }

    fn allocate(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}
