//! Running `sansnet_tcp` machines over OS sockets: one entry per connection and per server.
//!
//! Each `service` call is one round of the contract's drain rule: write what the machine
//! offers, carry out its actions, read while it wants to read, then hand its events on.

use std::io::{self, IoSlice};
use std::time::{Instant, SystemTime};

use mio::{Registry, Token};
use sansnet_tcp::{Action, Admission, ConnectionId, Server, ServerAction};

use sansnet_stack::{Acceptor, Connection, Event as StackEvent};

use crate::event::{Event, ServerId};
use crate::net::{Listener, Reserve, Stream};
use sansnet_stack::SocketId;

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

/// One connection: the OS stream and its stack of machines.
#[derive(Debug)]
pub(crate) struct SocketEntry {
    pub(crate) conn: Connection,
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
    /// next read (or the peer's FIN) reaches the machines, as Node runs `'data'` listeners
    /// before it reads on. So an echo written in answer to `data` goes out before the FIN
    /// that the socket machine sends after `end`.
    pub(crate) undelivered: usize,
    /// A command ran and the drain rule is owed before the loop next waits (the entry is in
    /// the loop's `again` queue once).
    pub(crate) flush_due: bool,
}

impl SocketEntry {
    pub(crate) fn new(conn: Connection, stream: Stream, server: Option<ServerId>) -> Self {
        Self {
            connecting: server.is_none(),
            conn,
            stream,
            server,
            readable: true,
            closed_seen: false,
            undelivered: 0,
            flush_due: false,
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
                    self.conn.handle_connected(now);
                }
                Ok(false) => {}
                Err(e) => {
                    self.connecting = false;
                    self.conn.handle_io_error(now, e.kind());
                }
            }
        }
    }

    /// One drain-rule round, repeated until nothing moves; returns whether the socket
    /// closed (the entry is then removed and its server told).
    pub(crate) fn service(
        &mut self,
        id: SocketId,
        now: Instant,
        registry: &Registry,
        out: &mut std::collections::VecDeque<Event>,
        scratch: &mut [u8],
    ) -> bool {
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
            let caught_up = self.undelivered == 0;
            let mut moved = caught_up && self.conn.wants_read() && self.read(now, scratch);
            moved |= self.conn.drive(now, caught_up);
            while let Some(event) = self.conn.poll_stack_event() {
                moved = true;
                let event = match event {
                    StackEvent::Socket(event) => Event::Socket { socket: id, event },
                    StackEvent::Http(event) => Event::Http { socket: id, event },
                    StackEvent::Ws(event) => Event::Ws { socket: id, event },
                    StackEvent::Secure(info) => Event::Secure { socket: id, info },
                    _ => continue,
                };
                self.undelivered += 1;
                out.push_back(event);
            }
            while let Some(event) = self.conn.poll_http_event() {
                moved = true;
                self.undelivered += 1;
                out.push_back(Event::Http { socket: id, event });
            }
            // What `drive` moved into the socket goes out in the same round.
            moved |= self.flush(now);
            while let Some(action) = self.conn.poll_action() {
                moved = true;
                self.apply(now, action, registry);
            }
            if !moved {
                return self.conn.is_closed();
            }
        }
    }

    /// Writes what the stack offers until it is empty or the OS would block.
    fn flush(&mut self, now: Instant) -> bool {
        let mut moved = false;
        while self.conn.wants_write() {
            let result = {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let n = self.conn.transmit_chunks(&mut slices);
                self.stream.write_vectored(&slices[..n])
            };
            match wrote(result) {
                Wrote::Bytes(0) => {}
                Wrote::Bytes(n) => {
                    self.conn.advance_transmit(now, n);
                    moved = true;
                }
                Wrote::Blocked => break,
                Wrote::Failed(kind) => {
                    self.conn.handle_io_error(now, kind);
                    return true;
                }
            }
        }
        moved
    }

    fn apply(&mut self, now: Instant, action: Action, registry: &Registry) {
        let result = match action {
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
            self.conn.handle_io_error(now, e.kind());
        }
    }

    /// Reads once from the OS into `scratch` and hands the stack what arrived.
    fn read(&mut self, now: Instant, scratch: &mut [u8]) -> bool {
        while self.readable {
            match self.stream.read(scratch) {
                Ok(0) => {
                    self.conn.handle_eof(now);
                    return true;
                }
                Ok(n) => {
                    self.conn.set_date(SystemTime::now());
                    self.conn.handle_input(now, &scratch[..n]);
                    // A read that did not fill the buffer emptied the socket's queue (as
                    // tokio takes it): the next edge says when more arrives, saving the
                    // read that would only say `WouldBlock`. Not once the peer's FIN or an
                    // error was reported: that edge has passed, so read on until it shows.
                    if n < scratch.len() && !self.closed_seen {
                        self.readable = false;
                    }
                    return true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable = false,
                Err(e) => {
                    self.conn.handle_io_error(now, e.kind());
                    return true;
                }
            }
        }
        false
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

/// One server: its machine, while listening its listener, and the stack each connection it
/// accepts gets.
#[derive(Debug)]
pub(crate) struct ServerEntry {
    pub(crate) machine: Server,
    listener: Option<Listener>,
    pub(crate) acceptor: Acceptor,
}

impl ServerEntry {
    pub(crate) fn new(machine: Server, acceptor: Acceptor) -> Self {
        Self {
            machine,
            listener: None,
            acceptor,
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
                            l.register(registry, Token(crate::ids::token(id.0)))?;
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
