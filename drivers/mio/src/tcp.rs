//! Running `sansnet_tcp` machines over OS sockets: one entry per connection and per server.
//!
//! Each `service` call is one round of the contract's drain rule: write what the machine
//! offers, carry out its actions, read while it wants to read, then hand its events on.

use std::time::Instant;

use mio::Registry;
use sansnet_os::listen::{self, Reserve};
use sansnet_os::{Read, drain, socket};
use sansnet_tcp::{Server, ServerAction};

use sansnet_stack::{Acceptor, Connection, Event as StackEvent};

use crate::event::{Event, ServerId};
use crate::net::{Io, Listener, Stream};
use sansnet_stack::SocketId;

/// How many bytes one read asks the OS for: the size of the event loop's scratch buffer.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

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
        self.readable |= readiness.readable;
        self.closed_seen |= readiness.closed;
        if self.connecting && (readiness.writable || readiness.readable) {
            match socket::finish_connect(&self.stream) {
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
            let buf: &mut [u8] = if self.readable { scratch } else { &mut [] };
            let mut io = Io(&mut self.stream, registry);
            let round = drain::round(&mut self.conn, now, &mut io, buf, caught_up);
            match round.read {
                // A read that did not fill the buffer emptied the socket's queue (as tokio
                // takes it): the next edge says when more arrives, saving the read that would
                // only say `WouldBlock`. Not once the peer's FIN or an error was reported: that
                // edge has passed, so read on until it shows.
                Some(Read::Bytes(n)) if n < scratch.len() && !self.closed_seen => {
                    self.readable = false;
                }
                Some(Read::Blocked) => self.readable = false,
                _ => {}
            }
            let mut moved = round.moved;
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
            if !moved {
                return self.conn.is_closed();
            }
        }
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
                            l.register(registry, crate::event::token(id.0))?;
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

    /// Accepts every pending connection (`sansnet_os::listen::accept_all`); returns the
    /// admitted ones with the ids the machine was told.
    pub(crate) fn accept(
        &mut self,
        now: Instant,
        next_id: impl FnMut() -> u64,
        reserve: &mut Reserve,
    ) -> Vec<(u64, Stream)> {
        let Some(listener) = &self.listener else {
            return Vec::new();
        };
        listen::accept_all(&mut self.machine, now, reserve, next_id, || {
            listener.accept()
        })
    }
}
