//! [`Socket`]: one `dgram.Socket`, its queues, and the four kinds of method.

use std::collections::{BTreeSet, VecDeque};
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use bytes::Bytes;

use crate::config::{Family, SocketConfig};
use crate::error::{Error, UsageError};
use crate::event::{Action, Datagram, RemoteInfo, SendId, SocketEvent};
use crate::state::{ConnectStep, State};

/// Node's `dgram.Socket` as a state machine: commands in, actions, datagrams and events out.
///
/// See the [crate documentation](crate) for the contract and an example.
#[derive(Debug)]
pub struct Socket {
    config: SocketConfig,
    state: State,
    /// The id the next accepted `send()` gets.
    next_id: u64,
    /// Accepted datagrams not yet taken by the driver, in send order.
    /// INVARIANT: `queue.len() + in_flight.len() <= config.max_queued_datagrams`.
    queue: VecDeque<Datagram>,
    /// Datagrams the driver took from `poll_transmit` and has not reported yet.
    /// INVARIANT: every id here is lower than every id in `queue`.
    in_flight: BTreeSet<SendId>,
    actions: VecDeque<Action>,
    events: VecDeque<SocketEvent>,
}

impl Socket {
    /// An unbound socket, as `dgram.createSocket(options)` returns.
    pub fn new(config: SocketConfig) -> Self {
        Self {
            config,
            state: State::Unbound,
            next_id: 0,
            queue: VecDeque::new(),
            in_flight: BTreeSet::new(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    // Getters.

    /// The settings the socket was created with (the driver reads `reuse_address` here).
    pub fn config(&self) -> &SocketConfig {
        &self.config
    }

    /// `'udp4'` or `'udp6'`.
    pub fn family(&self) -> Family {
        self.config.family
    }

    /// `address()`: the bound local address; `None` before [`SocketEvent::Listening`] and
    /// after `close()`.
    pub fn local_address(&self) -> Option<SocketAddr> {
        self.state.local()
    }

    /// `remoteAddress()`: the connected peer; `None` unless [`SocketEvent::Connect`] was
    /// emitted and the socket has not disconnected or closed since.
    pub fn remote_address(&self) -> Option<SocketAddr> {
        self.state.connected_peer()
    }

    /// Whether `close()` was called.
    pub fn is_closed(&self) -> bool {
        self.state.is_closed()
    }

    /// `getSendQueueCount()`: accepted datagrams still awaiting their [`SocketEvent::Sent`],
    /// whether queued here or handed to the driver. Never above
    /// [`SocketConfig::max_queued_datagrams`].
    pub fn queued_datagrams(&self) -> usize {
        self.queue.len() + self.in_flight.len()
    }

    /// Whether the driver should read from the OS socket: true while bound and not closed.
    ///
    /// Changes after [`Socket::handle_bound`] and [`Socket::close`].
    pub fn wants_read(&self) -> bool {
        self.state.is_bound()
    }
}

/// Commands and inputs. `dgram` keeps no timers, so none of them reads `now`: it is taken so
/// every sansnet machine has the same shape (DESIGN.md).
#[expect(
    unused_variables,
    reason = "`now` is part of the common contract; dgram has no timers"
)]
impl Socket {
    // Commands: return `Err` and change nothing, or act and return `Ok`.

    /// `bind(port, address)`: binds to `address`, or to the family's unspecified address and
    /// port 0 (the OS picks) when `None` (Node docs `dgram.md` › `socket.bind()`).
    ///
    /// Queues [`Action::Bind`]; [`SocketEvent::Listening`] follows
    /// [`Socket::handle_bound`].
    ///
    /// # Errors
    ///
    /// [`UsageError::AlreadyBound`] if bound or binding (also after an implicit bind by
    /// `send()` or `connect()`), [`UsageError::NotRunning`] after `close()` (Node docs `dgram.md` ›
    /// `socket.bind()`).
    pub fn bind(&mut self, now: Instant, address: Option<SocketAddr>) -> Result<(), Error> {
        self.state.bind()?;
        let address = address.unwrap_or_else(|| self.any_address());
        self.actions.push_back(Action::Bind(address));
        Ok(())
    }

    /// `send(msg, offset, length, port, address)`: sends `data[offset..offset + length]` as one
    /// datagram (docs/node-semantics.md#dgram-message to #dgram-max-size).
    ///
    /// On an unconnected socket `port` must be non-zero and `address` `None` means the
    /// family's loopback (Node docs `dgram.md` › `socket.send()`). On a connected socket both must
    /// be omitted (`0` and `None`) and the datagram goes to the peer (Node docs `dgram.md` ›
    /// `socket.connect()`). An unbound socket is bound to the family's unspecified address and port
    /// 0 first, and the datagram waits for [`Socket::handle_bound`] (Node docs `dgram.md` ›
    /// `socket.send()`).
    ///
    /// The returned [`SendId`] gets exactly one [`SocketEvent::Sent`], before
    /// [`SocketEvent::Close`]. Failures Node reports through the callback come that way too:
    /// [`Error::MessageTooLarge`] (`EMSGSIZE`) for more than
    /// [`SocketConfig::max_datagram_size`] bytes, once bound (Node docs `dgram.md` ›
    /// `Note about UDP datagram size`); [`Error::SendQueueFull`] (`ENOBUFS`) beyond
    /// [`SocketConfig::max_queued_datagrams`].
    ///
    /// # Errors
    ///
    /// Checked in Node's order, each leaving the socket unchanged:
    /// [`UsageError::OffsetOutOfBounds`] if `offset > data.len()` and
    /// [`UsageError::LengthOutOfBounds`] if `offset + length > data.len()` (Node source
    /// `lib/dgram.js` › `sliceBuffer`); [`UsageError::AlreadyConnected`] for a port or address on a
    /// connected socket (Node docs `dgram.md` › `socket.connect()`); [`UsageError::BadPort`] for
    /// port 0 on an unconnected one; [`UsageError::NotRunning`] after `close()` (Node docs
    /// `dgram.md` › `Event: 'close'`).
    pub fn send(
        &mut self,
        now: Instant,
        data: Bytes,
        offset: usize,
        length: usize,
        port: u16,
        address: Option<IpAddr>,
    ) -> Result<SendId, Error> {
        let len = data.len();
        if offset > len {
            return Err(UsageError::OffsetOutOfBounds { offset, len }.into());
        }
        let end = offset.checked_add(length).filter(|&end| end <= len).ok_or(
            UsageError::LengthOutOfBounds {
                offset,
                length,
                len,
            },
        )?;
        let destination = match self.state.connected_peer() {
            Some(peer) => {
                if port != 0 || address.is_some() {
                    return Err(UsageError::AlreadyConnected.into());
                }
                peer
            }
            None => {
                if port == 0 {
                    return Err(UsageError::BadPort.into());
                }
                SocketAddr::new(
                    address.unwrap_or_else(|| self.config.family.loopback()),
                    port,
                )
            }
        };
        if self.state.is_closed() {
            return Err(UsageError::NotRunning.into());
        }

        let id = SendId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        if self.state.bind_implicitly() {
            self.actions.push_back(Action::Bind(self.any_address()));
        }
        let data = data.slice(offset..end);
        let limit = self.config.max_datagram_size;
        if self.state.is_bound() && data.len() > limit {
            let size = data.len();
            self.fail(id, Error::MessageTooLarge { size, limit });
        } else if self.queued_datagrams() >= self.config.max_queued_datagrams {
            let limit = self.config.max_queued_datagrams;
            self.fail(id, Error::SendQueueFull { limit });
        } else {
            self.queue.push_back(Datagram {
                id,
                destination,
                data,
            });
        }
        Ok(id)
    }

    /// `connect(port, address)`: associates the socket with one peer (Node docs `dgram.md` ›
    /// `socket.connect()`).
    ///
    /// Binds an unbound socket first (as [`Socket::send`] does), then queues
    /// [`Action::Connect`]; [`SocketEvent::Connect`] follows [`Socket::handle_connected`].
    /// Until then the socket is not connected: `send()` still needs a port.
    ///
    /// # Errors
    ///
    /// [`UsageError::BadPort`] for port 0, [`UsageError::NotRunning`] after `close()`,
    /// [`UsageError::AlreadyConnected`] if connected or connecting.
    pub fn connect(&mut self, now: Instant, address: SocketAddr) -> Result<(), Error> {
        if address.port() == 0 {
            return Err(UsageError::BadPort.into());
        }
        match self.state.connect(address)? {
            ConnectStep::Bind => self.actions.push_back(Action::Bind(self.any_address())),
            ConnectStep::AwaitBind => {}
            ConnectStep::Connect => self.actions.push_back(Action::Connect(address)),
        }
        Ok(())
    }

    /// `disconnect()`: ends the association made by `connect()`; datagrams from anyone arrive
    /// again and `send()` needs a port again. Queues [`Action::Disconnect`]; no event.
    ///
    /// # Errors
    ///
    /// [`UsageError::NotConnected`] unless connected (a connect still in progress does not
    /// count), [`UsageError::NotRunning`] after `close()`.
    pub fn disconnect(&mut self, now: Instant) -> Result<(), Error> {
        self.state.disconnect()?;
        self.actions.push_back(Action::Disconnect);
        Ok(())
    }

    /// `close()`: closes the socket (Node docs `dgram.md` › `Event: 'close'`).
    ///
    /// Every send still awaiting its result gets [`SocketEvent::Sent`] with
    /// [`UsageError::NotRunning`], in send order; then [`Action::Close`] is queued (replacing
    /// any action not yet taken) and [`SocketEvent::Close`] is the last event. Later inputs
    /// are ignored and later commands fail.
    ///
    /// Node differs in one case: while sends wait for an implicit bind, its `close()` is
    /// deferred until the bind completes and those sends have gone out. Here they fail at once,
    /// so `close()` is always immediate.
    ///
    /// # Errors
    ///
    /// [`UsageError::NotRunning`] if already closed.
    pub fn close(&mut self, now: Instant) -> Result<(), Error> {
        self.state.close()?;
        let not_running = Error::Usage(UsageError::NotRunning);
        let pending = std::mem::take(&mut self.in_flight)
            .into_iter()
            .chain(std::mem::take(&mut self.queue).into_iter().map(|d| d.id));
        for id in pending {
            self.events.push_back(SocketEvent::Sent {
                id,
                result: Err(not_running.clone()),
            });
        }
        self.actions.clear();
        self.actions.push_back(Action::Close);
        self.events.push_back(SocketEvent::Close);
        Ok(())
    }

    // Inputs: what the driver observed. Never fail; ignored when they do not fit the state.

    /// The driver bound the socket to `local` (with the port the OS picked).
    ///
    /// Emits [`SocketEvent::Listening`]; then queues [`Action::Connect`] if `connect()` was
    /// waiting, fails queued datagrams over the size limit with `EMSGSIZE`, and makes the
    /// others available from [`Socket::poll_transmit`]. Ignored unless binding.
    pub fn handle_bound(&mut self, now: Instant, local: SocketAddr) {
        let Some(connect) = self.state.bound(local) else {
            return;
        };
        self.events
            .push_back(SocketEvent::Listening { address: local });
        if let Some(peer) = connect {
            self.actions.push_back(Action::Connect(peer));
        }
        let limit = self.config.max_datagram_size;
        for datagram in std::mem::take(&mut self.queue) {
            let size = datagram.data.len();
            if size > limit {
                self.fail(datagram.id, Error::MessageTooLarge { size, limit });
            } else {
                self.queue.push_back(datagram);
            }
        }
    }

    /// The driver could not bind (`EADDRINUSE`, `EACCES`, ...) (Node docs `dgram.md` ›
    /// `socket.bind()`).
    ///
    /// Emits [`SocketEvent::Error`], then a failed [`SocketEvent::Sent`] with the same error
    /// for every datagram that was waiting for the bind. The socket is unbound again: `bind()`
    /// may be called again, and a `connect()` that was waiting is forgotten. Ignored unless
    /// binding.
    pub fn handle_bind_error(&mut self, now: Instant, kind: ErrorKind) {
        if !self.state.bind_failed() {
            return;
        }
        self.events.push_back(SocketEvent::Error(Error::Io(kind)));
        for datagram in std::mem::take(&mut self.queue) {
            self.fail(datagram.id, Error::Io(kind));
        }
    }

    /// The driver connected the socket to the peer of [`Action::Connect`].
    ///
    /// Emits [`SocketEvent::Connect`] (Node docs `dgram.md` › `socket.connect()`). Ignored unless
    /// connecting.
    pub fn handle_connected(&mut self, now: Instant) {
        if self.state.connected() {
            self.events.push_back(SocketEvent::Connect);
        }
    }

    /// A datagram arrived from `from`.
    ///
    /// Emits one [`SocketEvent::Message`] for it, whole (Node docs `dgram.md` ›
    /// `Event: 'message'`). Ignored unless bound, and on a connected socket when `from` is not the
    /// peer (Node docs `dgram.md` › `socket.connect()`).
    pub fn handle_datagram(&mut self, now: Instant, data: Bytes, from: SocketAddr) {
        if !self.state.accepts_from(from) {
            return;
        }
        let rinfo = RemoteInfo {
            address: from.ip(),
            family: Family::of(from.ip()),
            port: from.port(),
            size: data.len(),
        };
        self.events.push_back(SocketEvent::Message { data, rinfo });
    }

    /// The driver finished sending the datagram `id` it took from [`Socket::poll_transmit`]:
    /// the bytes the OS took, or its error (`EMSGSIZE` from the OS arrives here too).
    ///
    /// Emits [`SocketEvent::Sent`] (Node docs `dgram.md` › `socket.send()`). Ignored for an id that
    /// is not in flight (never transmitted, already reported, or failed by `close()`).
    pub fn handle_sent(&mut self, now: Instant, id: SendId, result: Result<usize, ErrorKind>) {
        if self.in_flight.remove(&id) {
            self.events.push_back(SocketEvent::Sent {
                id,
                result: result.map_err(Error::Io),
            });
        }
    }

    /// A socket-level error the driver saw outside a bind or a send (for example a failed
    /// `connect(2)`, or `ECONNREFUSED` from an ICMP error on a connected socket).
    ///
    /// Emits [`SocketEvent::Error`]; a connect in progress is abandoned (the socket is
    /// unconnected again). Ignored after `close()`.
    pub fn handle_io_error(&mut self, now: Instant, kind: ErrorKind) {
        if self.state.is_closed() {
            return;
        }
        self.state.connect_failed();
        self.events.push_back(SocketEvent::Error(Error::Io(kind)));
    }
}

impl Socket {
    // Outputs: drain after every input or command, in this order.

    /// The next datagram to put on the wire; the driver reports each with
    /// [`Socket::handle_sent`].
    ///
    /// `None` until bound (datagrams wait for [`Socket::handle_bound`]) and after `close()`.
    /// Changes after [`Socket::send`] and [`Socket::handle_bound`].
    pub fn poll_transmit(&mut self) -> Option<Datagram> {
        if !self.state.is_bound() {
            return None;
        }
        let datagram = self.queue.pop_front()?;
        self.in_flight.insert(datagram.id);
        Some(datagram)
    }

    /// The next thing the driver must do to the OS socket.
    ///
    /// Changes after [`Socket::bind`], [`Socket::send`], [`Socket::connect`],
    /// [`Socket::disconnect`], [`Socket::close`] and [`Socket::handle_bound`].
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next event for the application, in the order they happened.
    ///
    /// Changes after any input or command. Nothing follows [`SocketEvent::Close`].
    pub fn poll_event(&mut self) -> Option<SocketEvent> {
        self.events.pop_front()
    }

    /// When [`Socket`] next needs the time: never, since `dgram` has no timers. Kept so every
    /// sansnet machine is driven the same way.
    pub fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// The family's unspecified address with port 0: where implicit binds go.
    fn any_address(&self) -> SocketAddr {
        SocketAddr::new(self.config.family.unspecified(), 0)
    }

    /// Reports send `id` as failed with `error`.
    fn fail(&mut self, id: SendId, error: Error) {
        self.events.push_back(SocketEvent::Sent {
            id,
            result: Err(error),
        });
    }
}
