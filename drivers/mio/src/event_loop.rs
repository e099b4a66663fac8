//! `EventLoop`: the mio `Poll`, the entries it serves, the timers, and the application API.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::net::UnixStream;
use mio::{Events, Interest, Poll};
use sansnet_tcp::{Address, ConnectionId, Server, ServerConfig, Socket, SocketConfig};
use sansnet_tls::rustls::{ClientConfig as ClientTlsConfig, ServerConfig as ServerTlsConfig};
use sansnet_udp::SendId;

use sansnet_stack::{Acceptor, Connection, Endpoint};

use crate::event::{Event, IdMap, ServerId, UdpId, token};
use crate::net::Stream;
use crate::tcp::{Readiness, ServerEntry, SocketEntry};
use crate::udp::UdpEntry;
use sansnet_os::listen::Reserve;
use sansnet_os::signal;
use sansnet_os::timers::Deadlines;
use sansnet_stack::SocketId;

#[derive(Debug)]
pub(crate) enum Entry {
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
    pub(crate) poll: Poll,
    mio_events: Events,
    next_id: u64,
    pub(crate) entries: IdMap<u64, Entry>,
    pub(crate) timers: Deadlines,
    /// Entries to serve again without waiting for readiness: a datagram socket that spent
    /// its receive budget, a stream socket whose events the application has all taken.
    pub(crate) again: VecDeque<u64>,
    pub(crate) events: VecDeque<Event>,
    /// The HTTP client: the agent, its requests and WebSocket clients.
    pub(crate) endpoint: Endpoint,
    /// Every socket reads into this buffer; only the bytes that arrived are kept.
    scratch: Vec<u8>,
    /// The descriptor held back for when `accept` runs out of them.
    reserve: Reserve,
}

/// The timer id of the agent (entry ids start at 1).
pub(crate) const AGENT_TIMER: u64 = 0;

impl EventLoop {
    /// A loop with nothing in it.
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            poll: Poll::new()?,
            mio_events: Events::with_capacity(1024),
            next_id: 1,
            entries: IdMap::default(),
            timers: Deadlines::default(),
            again: VecDeque::new(),
            events: VecDeque::new(),
            endpoint: Endpoint::default(),
            scratch: vec![0; crate::tcp::READ_CHUNK],
            reserve: Reserve::default(),
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
    /// Sockets get `TCP_NODELAY` and are half-open, as Node's (`Acceptor::with_http`).
    pub fn listen_http(
        &mut self,
        address: Address,
        config: ServerConfig,
        http: sansnet_http1::ServerConfig,
    ) -> ServerId {
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
        config: ServerConfig,
        http: sansnet_http1::ServerConfig,
        tls: Arc<ServerTlsConfig>,
    ) -> ServerId {
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
        let mut acceptor = Acceptor::new(config.socket.clone());
        if let Some(tls) = tls {
            acceptor = acceptor.with_tls(tls);
        }
        if let Some(http) = http {
            acceptor = acceptor.with_http(http);
        }
        let mut server = Server::new(config);
        // A new server is idle, so listen cannot fail.
        let _ = server.listen(Instant::now(), address);
        let entry = ServerEntry::new(server, acceptor);
        self.entries.insert(id.0, Entry::Server(Box::new(entry)));
        self.service(id.0, Instant::now());
        id
    }

    /// Runs a command on the HTTP machine of connection `socket` (`send_response`, `write`,
    /// `end`, `send_continue`, ...). The drain rule runs before the loop next waits for the
    /// OS, not at once: the answers to pipelined requests given in one go leave in one
    /// vectored write, as hyper batches them and Node corks them.
    #[inline]
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
    #[inline]
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
            entry.acceptor.set_handshake_timeout(timeout);
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
        self.connect_with(address, Connection::connect(Instant::now(), config))
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
        let now = Instant::now();
        let conn = Connection::connect(now, config).with_tls_client(now, tls, host);
        self.connect_with(address, conn)
    }

    fn connect_with(&mut self, address: Address, mut conn: Connection) -> SocketId {
        let now = Instant::now();
        let id = SocketId(self.allocate());
        // A TLS session that could not be made has failed the socket already.
        let stream = (!conn.is_closed()).then(|| self.stream_to(&address, id));
        match stream {
            Some(Ok(stream)) => {
                let entry = SocketEntry::new(conn, stream, None);
                self.entries.insert(id.0, Entry::Socket(Box::new(entry)));
                self.service(id.0, now);
            }
            failed => {
                let machine = conn.socket_mut();
                if let Some(Err(e)) = failed {
                    machine.handle_io_error(now, e.kind());
                }
                while let Some(event) = machine.poll_event() {
                    self.events.push_back(Event::Socket { socket: id, event });
                }
            }
        }
        id
    }

    /// Starts a connect to `address` polled as entry `id`.
    pub(crate) fn stream_to(&self, address: &Address, id: SocketId) -> io::Result<Stream> {
        let mut stream = Stream::connect(address)?;
        stream.register(self.poll.registry(), token(id.0))?;
        Ok(stream)
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
        self.on_socket(id, |socket, now| socket.destroy(now));
    }

    /// `socket.pause()`: stop reading.
    pub fn pause(&mut self, id: SocketId) {
        self.on_socket(id, |socket, _| socket.pause());
    }

    /// `socket.resume()`: read again.
    pub fn resume(&mut self, id: SocketId) {
        self.on_socket(id, |socket, now| socket.resume(now));
    }

    /// `socket.setTimeout(ms)`; `None` or zero disables it.
    pub fn set_timeout(&mut self, id: SocketId, timeout: Option<Duration>) {
        self.on_socket(id, |socket, now| socket.set_timeout(now, timeout));
    }

    /// `socket.setNoDelay(no_delay)`.
    pub fn set_no_delay(&mut self, id: SocketId, no_delay: bool) {
        self.on_socket(id, |socket, _| socket.set_no_delay(no_delay));
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

    /// A command that cannot fail, on a socket that may be gone.
    fn on_socket(&mut self, id: SocketId, command: impl FnOnce(&mut Socket, Instant)) {
        let _ = self.socket_command(id, |socket, now| {
            command(socket, now);
            Ok(())
        });
    }

    /// The socket machine, for its getters (`bytes_read()`, `buffer_size()`, ...); `None` once
    /// it has closed.
    pub fn socket(&self, id: SocketId) -> Option<&Socket> {
        self.socket_entry(id).map(|entry| entry.conn.socket())
    }

    /// `socket.remoteAddress` / `remotePort` (or the peer's path for Unix sockets).
    pub fn peer_address(&self, id: SocketId) -> Option<Address> {
        self.socket_entry(id)?.stream.peer_address()
    }

    /// `socket.localAddress` / `localPort`.
    pub fn local_address(&self, id: SocketId) -> Option<Address> {
        self.socket_entry(id)?.stream.local_address()
    }

    fn socket_entry(&self, id: SocketId) -> Option<&SocketEntry> {
        match self.entries.get(&id.0) {
            Some(Entry::Socket(entry)) => Some(entry),
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
        self.udp_buffer_size(id, true)
    }

    /// `socket.getSendBufferSize()`: `SO_SNDBUF` as the OS reports it.
    ///
    /// # Errors
    ///
    /// As [`EventLoop::udp_recv_buffer_size`].
    pub fn udp_send_buffer_size(&self, id: UdpId) -> Result<usize, sansnet_udp::Error> {
        self.udp_buffer_size(id, false)
    }

    fn udp_buffer_size(&self, id: UdpId, recv: bool) -> Result<usize, sansnet_udp::Error> {
        match self.entries.get(&id.0) {
            Some(Entry::Udp(entry)) => entry.buffer_size(recv),
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
        let mut stream = UnixStream::from_std(signal::pipe(signal)?);
        let id = self.allocate();
        self.poll
            .registry()
            .register(&mut stream, token(id), Interest::READABLE)?;
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
            if self.entries.is_empty() && self.endpoint.is_idle() {
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
                self.endpoint.handle_timeout(now);
                self.endpoint_actions(now);
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
                let acceptor = match self.entries.get(&id) {
                    Some(Entry::Server(entry)) => entry.acceptor.clone(),
                    _ => return,
                };
                for (socket_id, mut stream) in admitted {
                    if stream
                        .register(self.poll.registry(), token(socket_id))
                        .is_err()
                    {
                        // A connection that cannot be polled is closed at once.
                        self.connection_closed(ServerId(id), socket_id, now);
                        continue;
                    }
                    let conn = acceptor.accept(now);
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
            Some(Entry::Signal { stream, signal }) if signal::arrived(&*stream) => {
                self.events.push_back(Event::Signal(*signal));
            }
            _ => {}
        }
    }

    /// Runs the drain rule of entry `id`, re-arms its timer, and removes it once closed.
    pub(crate) fn service(&mut self, id: u64, now: Instant) {
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
                let closed = entry.service(
                    SocketId(id),
                    now,
                    registry,
                    &mut self.events,
                    &mut self.scratch,
                );
                // A pooled HTTP client connection: the endpoint acts on what happened on it.
                let client = entry.conn.client_mut().is_some();
                if client
                    && self
                        .endpoint
                        .handle_connection(now, SocketId(id), &mut entry.conn)
                    && !closed
                {
                    self.again.push_back(id);
                }
                if closed {
                    let server = entry.server;
                    self.entries.remove(&id);
                    self.timers.remove(id);
                    if let Some(server) = server {
                        self.connection_closed(server, id, now);
                    }
                } else {
                    self.timers.set(id, entry.conn.poll_timeout());
                }
                if client {
                    self.endpoint_actions(now);
                }
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

    /// What the TLS handshake of `socket` settled (protocol, cipher suite, ALPN, SNI, the
    /// peer's certificates, whether the session was resumed: `isSessionReused()`), once it is
    /// done.
    pub fn tls_info(&self, socket: SocketId) -> Option<&sansnet_tls::HandshakeInfo> {
        self.socket_entry(socket)?.conn.tls()?.info()
    }

    pub(crate) fn allocate(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}
