//! Running `sansnet_tcp` machines over OS sockets: one entry per connection and per server.
//!
//! Each `service` call is one round of the contract's drain rule: write what the machine
//! offers, carry out its actions, read while it wants to read, then hand its events on.

use std::io::{self, IoSlice};
use std::time::Instant;

use bytes::BytesMut;
use mio::{Registry, Token};
use sansnet_tcp::{Action, Admission, ConnectionId, Server, ServerAction, Socket, SocketEvent};

use crate::client::ClientLayer;
use crate::http::HttpLayer;
use crate::net::{Listener, Reserve, Stream};
use crate::tls::TlsLayer;
use crate::ws::WsLayer;
use crate::{Event, ServerId, SocketId};

/// How many bytes one read asks the OS for: the size of the event loop's scratch buffer.
pub(crate) const READ_CHUNK: usize = 64 * 1024;
/// How many slices one vectored write gathers.
const MAX_SLICES: usize = 64;

/// What the OS said of a socket in one poll.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Readiness {
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// The peer closed its side or the socket failed: reads go on until they say so.
    pub(crate) closed: bool,
}

/// One connection: the OS stream and its machine.
#[derive(Debug)]
pub(crate) struct SocketEntry {
    pub(crate) machine: Socket,
    pub(crate) stream: Stream,
    /// The server that accepted it, told when it closes.
    pub(crate) server: Option<ServerId>,
    /// Waiting for the OS to finish `connect`.
    pub(crate) connecting: bool,
    /// The OS said readable and no read has returned `WouldBlock` (or fewer bytes than
    /// asked for) since.
    pub(crate) readable: bool,
    /// The OS reported the peer's FIN or an error: a short read does not mean drained.
    closed_seen: bool,
    /// Events handed to the event loop that the application has not taken yet. Nothing more
    /// is read while there are any: the application answers one read's events before the
    /// next read (or the peer's FIN) reaches the machine, as Node runs `'data'` listeners
    /// before it reads on. So an echo written in answer to `data` goes out before the FIN
    /// that the machine sends after `end`.
    pub(crate) undelivered: usize,
    /// The HTTP server machine riding on this connection, for sockets an HTTP server
    /// accepted.
    pub(crate) http: Option<Box<HttpLayer>>,
    /// The HTTP client machine, for connections the agent opened.
    pub(crate) client: Option<Box<ClientLayer>>,
    /// The WebSocket machine, once the HTTP machine handed the connection over.
    pub(crate) ws: Option<Box<WsLayer>>,
    /// An HTTP command ran and the drain rule is owed before the loop next waits (the
    /// entry is in the loop's `again` queue once).
    pub(crate) flush_due: bool,
    /// The TLS machine between the OS stream and `machine`, for TLS connections.
    pub(crate) tls: Option<Box<TlsLayer>>,
    /// Bytes read and not yet consumed (plaintext, or ciphertext for a TLS connection). It
    /// holds exactly what was read: reads land in the event loop's one scratch buffer and are
    /// copied here, so an idle connection holds no buffer at all.
    read_buf: BytesMut,
    eof: bool,
    eof_reported: bool,
}

impl SocketEntry {
    pub(crate) fn new(machine: Socket, stream: Stream, server: Option<ServerId>) -> Self {
        Self {
            connecting: server.is_none(),
            machine,
            stream,
            server,
            readable: true,
            closed_seen: false,
            undelivered: 0,
            http: None,
            client: None,
            ws: None,
            flush_due: false,
            tls: None,
            read_buf: BytesMut::new(),
            eof: false,
            eof_reported: false,
        }
    }

    /// Readiness from the OS. During a connect, checks whether it finished.
    pub(crate) fn on_ready(&mut self, now: Instant, readiness: Readiness) {
        let Readiness {
            readable,
            writable,
            closed,
        } = readiness;
        if readable {
            self.readable = true;
        }
        self.closed_seen |= closed;
        if self.connecting && (writable || readable) {
            match self.stream.finish_connect() {
                Ok(true) => {
                    self.connecting = false;
                    self.machine.handle_connected(now);
                }
                Ok(false) => {}
                Err(e) => {
                    self.connecting = false;
                    io_failed(&mut self.machine, self.tls.as_deref_mut(), now, e.kind());
                }
            }
        }
    }

    /// One drain-rule round, repeated until nothing moves; returns whether the machine
    /// closed (the entry is then removed and its server told).
    pub(crate) fn service(
        &mut self,
        id: SocketId,
        now: Instant,
        registry: &Registry,
        out: &mut std::collections::VecDeque<Event>,
        scratch: &mut [u8],
    ) -> bool {
        let mut closed = false;
        self.flush_due = false;
        let mut rounds = 0u32;
        loop {
            // Every round moved bytes, events or state; each read waits for the application
            // to take its events, so a few rounds settle any input. A round count this high
            // is a loop that makes no progress (a write retried without new readiness): a bug.
            rounds += 1;
            debug_assert!(
                rounds < 10_000,
                "socket {id:?}: the drain rule does not settle"
            );
            let mut moved = self.flush(now);
            while let Some(action) = self.machine.poll_action() {
                moved = true;
                self.apply(now, action, registry);
            }
            let held = self.client.as_ref().is_some_and(|c| c.hold);
            if !self.connecting && self.undelivered == 0 && !held && self.machine.wants_read() {
                moved |= self.read(now, scratch);
            }
            if let Some(tls) = &mut self.tls {
                let (settled, delivered) = tls.settle(id, out);
                moved |= settled;
                self.undelivered += delivered;
            }
            while let Some(event) = self.machine.poll_event() {
                moved = true;
                closed |= matches!(event, SocketEvent::Close { .. });
                let event = match (&mut self.http, &mut self.client) {
                    _ if self.ws.is_some() => {
                        match self.ws.as_mut().map(|ws| ws.intercept(now, event)) {
                            Some(Some(event)) => event,
                            _ => continue,
                        }
                    }
                    (Some(http), _) => match http.intercept(now, event) {
                        Some(event) => event,
                        None => continue,
                    },
                    (None, Some(client)) => match client.intercept(now, event) {
                        Some(event) => event,
                        None => continue,
                    },
                    (None, None) => event,
                };
                self.undelivered += 1;
                out.push_back(Event::Socket { socket: id, event });
            }
            if let Some(http) = &mut self.http {
                let (pumped, delivered) = http.pump(now, id, &mut self.machine, out);
                moved |= pumped;
                self.undelivered += delivered;
            }
            if let Some(client) = &mut self.client {
                moved |= client.pump(now, &mut self.machine);
            }
            if let Some(ws) = &mut self.ws {
                let taken = self.undelivered == 0;
                let (pumped, delivered) = ws.pump(now, id, &mut self.machine, out, taken);
                moved |= pumped;
                self.undelivered += delivered;
            }
            if !moved {
                return closed;
            }
        }
    }

    /// Writes what the machine offers until it is empty or the OS would block; through the
    /// TLS machine for a TLS connection.
    fn flush(&mut self, now: Instant) -> bool {
        if self.tls.is_some() {
            return self.flush_tls(now);
        }
        let mut moved = false;
        while self.machine.wants_write() {
            let result = {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let n = self.machine.transmit_chunks(&mut slices);
                self.stream.write_vectored(&slices[..n])
            };
            match wrote(result) {
                Wrote::Bytes(0) => {}
                Wrote::Bytes(n) => {
                    self.machine.advance_transmit(now, n);
                    moved = true;
                }
                Wrote::Blocked => break,
                Wrote::Failed(kind) => {
                    io_failed(&mut self.machine, None, now, kind);
                    return true;
                }
            }
        }
        moved
    }

    /// The TLS flush: plaintext into the TLS machine, its ciphertext to the OS, then the FIN
    /// the socket machine asked for, or the destroy a TLS failure calls for.
    fn flush_tls(&mut self, now: Instant) -> bool {
        let Some(tls) = &mut self.tls else {
            return false;
        };
        if self.connecting {
            return false;
        }
        let mut moved = false;
        loop {
            moved |= tls.encrypt(now, &mut self.machine);
            let result = {
                let mut slices = [IoSlice::new(&[]); crate::tls::MAX_SLICES];
                let n = tls.fill(&mut slices);
                if n == 0 {
                    break;
                }
                self.stream.write_vectored(&slices[..n])
            };
            match wrote(result) {
                Wrote::Bytes(n) => {
                    tls.advance(n);
                    moved |= n > 0;
                }
                Wrote::Blocked => break,
                Wrote::Failed(kind) => {
                    io_failed(&mut self.machine, Some(tls), now, kind);
                    return true;
                }
            }
        }
        if tls.take_fin() {
            moved = true;
            match self.stream.shutdown_write() {
                Err(e) if e.kind() != io::ErrorKind::NotConnected => {
                    io_failed(&mut self.machine, Some(tls), now, e.kind());
                }
                _ => {}
            }
        }
        moved | tls.fail(now, &mut self.machine)
    }

    fn apply(&mut self, now: Instant, action: Action, registry: &Registry) {
        let result = match action {
            // Over TLS the FIN follows `close_notify` (see `flush_tls`).
            Action::Shutdown if self.tls.is_some() => {
                if let Some(tls) = &mut self.tls {
                    tls.shut_down();
                }
                Ok(())
            }
            Action::Shutdown => match self.stream.shutdown_write() {
                // The peer is already gone; the next read reports how.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
                other => other,
            },
            Action::Close { reset } => {
                if reset {
                    let _ = self.stream.set_reset_on_close();
                }
                self.stream.deregister(registry);
                Ok(())
            }
            Action::SetNoDelay(on) => self.stream.set_no_delay(on),
            Action::SetKeepAlive(delay) => self.stream.set_keep_alive(delay),
            _ => Ok(()),
        };
        if let Err(e) = result {
            io_failed(&mut self.machine, self.tls.as_deref_mut(), now, e.kind());
        }
    }

    /// Feeds kept bytes, or reads once (into `scratch`, keeping only what arrived); reports
    /// EOF once every byte before it was consumed.
    fn read(&mut self, now: Instant, scratch: &mut [u8]) -> bool {
        // Kept bytes first; a TLS machine may also hold plaintext from earlier input.
        if (!self.read_buf.is_empty() || self.tls.is_some()) && self.feed(now) {
            return true;
        }
        let mut moved = false;
        while self.readable && !self.eof && !moved {
            match self.stream.read(scratch) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.read_buf.extend_from_slice(&scratch[..n]);
                    self.feed(now);
                    moved = true;
                    // A read that did not fill the buffer emptied the socket's queue (as
                    // tokio takes it): the next edge says when more arrives, saving the
                    // read that would only say `WouldBlock`. Not once the peer's FIN or an
                    // error was reported: that edge has passed, so read on until it shows.
                    if n < scratch.len() && !self.closed_seen {
                        self.readable = false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable = false,
                Err(e) => {
                    io_failed(&mut self.machine, self.tls.as_deref_mut(), now, e.kind());
                    return true;
                }
            }
        }
        // The peer's `close_notify`: its end, after every byte before it was taken.
        if !moved
            && self.read_buf.is_empty()
            && let Some(tls) = &mut self.tls
            && tls.take_peer_end()
        {
            self.machine.handle_eof(now);
            return true;
        }
        if self.eof && self.read_buf.is_empty() && !self.eof_reported && !moved {
            self.eof_reported = true;
            match &mut self.tls {
                Some(tls) => tls.conn.handle_eof(now),
                None => self.machine.handle_eof(now),
            }
            moved = true;
        }
        moved
    }

    /// Hands `read_buf` to the machine (through the TLS machine for a TLS connection);
    /// returns whether any of it was taken.
    fn feed(&mut self, now: Instant) -> bool {
        match &mut self.tls {
            Some(tls) => tls.feed(now, &mut self.read_buf, &mut self.machine),
            None => {
                self.machine.handle_read(now, &mut self.read_buf);
                true
            }
        }
    }
}

/// What one write to the OS came to.
enum Wrote {
    /// This many bytes went (0 after an interrupted call: try again).
    Bytes(usize),
    /// The OS takes no more now.
    Blocked,
    /// The write failed (`EPIPE`, `ECONNRESET`, ...): the connection is over.
    Failed(io::ErrorKind),
}

fn wrote(result: io::Result<usize>) -> Wrote {
    match result {
        Ok(0) => Wrote::Blocked,
        Ok(n) => Wrote::Bytes(n),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Wrote::Bytes(0),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Wrote::Blocked,
        Err(e) => Wrote::Failed(e.kind()),
    }
}

/// An OS error on a connection (a failed connect, read, write or shutdown): the socket
/// machine ends with it (`error`, then `close(true)`, as Node reports it), and the TLS
/// ciphertext waiting to go is dropped, as the socket machine drops its own queue, so nothing
/// tries to write to the failed socket again.
fn io_failed(machine: &mut Socket, tls: Option<&mut TlsLayer>, now: Instant, kind: io::ErrorKind) {
    machine.handle_io_error(now, kind);
    if let Some(tls) = tls {
        tls.abandon();
    }
}

/// One server: its machine and, while listening, its listener.
#[derive(Debug)]
pub(crate) struct ServerEntry {
    pub(crate) machine: Server,
    listener: Option<Listener>,
    /// For an HTTP server: the settings of the HTTP machine each connection gets.
    pub(crate) http: Option<sansnet_http1::ServerConfig>,
    /// For a TLS server: the settings of the TLS machine each connection gets.
    pub(crate) tls: Option<std::sync::Arc<sansnet_tls::rustls::ServerConfig>>,
    /// For a TLS server: how long each connection's handshake may take (Node docs `tls.md` ›
    /// `tls.createServer()` (`handshakeTimeout`)).
    pub(crate) handshake_timeout: std::time::Duration,
}

impl ServerEntry {
    pub(crate) fn new(machine: Server, http: Option<sansnet_http1::ServerConfig>) -> Self {
        Self {
            machine,
            listener: None,
            http,
            tls: None,
            handshake_timeout: sansnet_tls::DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }

    /// Carries out the machine's actions and hands its events on.
    pub(crate) fn service(
        &mut self,
        id: ServerId,
        now: Instant,
        registry: &Registry,
        out: &mut std::collections::VecDeque<Event>,
    ) {
        while let Some(action) = self.machine.poll_action() {
            match action {
                ServerAction::Listen {
                    address,
                    backlog,
                    reuse_port,
                } => {
                    let bound =
                        Listener::bind(&address, backlog, reuse_port).and_then(|(mut l, bound)| {
                            l.register(registry, Token(crate::event_loop::token(id.0)))?;
                            Ok((l, bound))
                        });
                    match bound {
                        Ok((listener, bound)) => {
                            self.listener = Some(listener);
                            self.machine.handle_listening(now, bound);
                        }
                        Err(e) => self.machine.handle_listen_error(now, e.kind()),
                    }
                }
                ServerAction::CloseListener => {
                    if let Some(listener) = self.listener.take() {
                        listener.close(registry);
                    }
                }
                _ => {}
            }
        }
        while let Some(event) = self.machine.poll_event() {
            out.push_back(Event::Server { server: id, event });
        }
    }

    /// Accepts every pending connection; returns the admitted ones with the ids the machine
    /// was told. Out of descriptors, the waiting connections are closed with the help of
    /// `reserve`, so the queue never keeps connections that no readiness will announce again.
    pub(crate) fn accept(
        &mut self,
        now: Instant,
        mut next_id: impl FnMut() -> u64,
        reserve: &mut Reserve,
    ) -> Vec<(u64, Stream)> {
        let mut admitted = Vec::new();
        let Some(listener) = &self.listener else {
            return admitted;
        };
        loop {
            match listener.accept() {
                Ok(stream) => {
                    let id = next_id();
                    match self.machine.handle_accept(now, ConnectionId(id)) {
                        Admission::Accept => admitted.push((id, stream)),
                        Admission::Drop => drop(stream),
                    }
                }
                // A connection reset while it waited: the next one may be fine (libuv ignores
                // it too).
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(e) if Reserve::exhausted(&e) => {
                    reserve.reject_waiting(listener);
                    return admitted;
                }
                // WouldBlock: all taken. Others (ENOBUFS, ENOMEM) are transient; Node retries
                // on the next readiness too.
                Err(_) => return admitted,
            }
        }
    }
}
