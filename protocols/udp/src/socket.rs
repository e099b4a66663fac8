//! [`Socket`]: one `dgram.Socket`, its queues, and the four kinds of method.

use std::collections::{BTreeSet, VecDeque};
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use bytes::Bytes;

use crate::config::{Family, SocketConfig};
use crate::error::{Error, UsageError};
use crate::event::{Action, Datagram, RemoteInfo, SendId, SocketEvent};
use crate::option::{MulticastInterface, SocketOption};
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

    // Socket options (Node docs `dgram.md` › `socket.setBroadcast()` to
    // `socket.setTTL()`): each checks its arguments as Node does, then needs a bound socket,
    // and queues one `Action::SetOption`. Checked in Node's order: `close()` first, the
    // arguments next, the bind last.

    /// `setBroadcast(flag)`: lets `send()` reach broadcast addresses (`SO_BROADCAST`; Node
    /// docs `dgram.md` › `socket.setBroadcast()`). Queues [`Action::SetOption`].
    ///
    /// # Errors
    ///
    /// [`UsageError::NotRunning`] after `close()`, [`UsageError::NotBound`] (`EBADF`) before
    /// [`SocketEvent::Listening`].
    pub fn set_broadcast(&mut self, now: Instant, flag: bool) -> Result<(), Error> {
        self.set_option(SocketOption::Broadcast(flag))
    }

    /// `setTTL(ttl)`: the unicast TTL (hop limit) of outgoing datagrams (Node docs `dgram.md`
    /// › `socket.setTTL()`). Queues [`Action::SetOption`].
    ///
    /// # Errors
    ///
    /// [`UsageError::NotRunning`] after `close()`; [`UsageError::BadTtl`] (`EINVAL`) unless
    /// `ttl` is 1 to 255; [`UsageError::NotBound`] (`EBADF`) before
    /// [`SocketEvent::Listening`].
    pub fn set_ttl(&mut self, now: Instant, ttl: u32) -> Result<(), Error> {
        self.check_running()?;
        let valid = u8::try_from(ttl).ok().filter(|&ttl| ttl != 0);
        let ttl = valid.ok_or(UsageError::BadTtl { ttl })?;
        self.set_option(SocketOption::Ttl(ttl))
    }

    /// `setMulticastTTL(ttl)`: the TTL of outgoing multicast datagrams (Node docs `dgram.md`
    /// › `socket.setMulticastTTL()`; 0 keeps them on the host). Queues
    /// [`Action::SetOption`].
    ///
    /// # Errors
    ///
    /// [`UsageError::NotRunning`] after `close()`; [`UsageError::BadMulticastTtl`]
    /// (`EINVAL`) above 255; [`UsageError::NotBound`] (`EBADF`) before
    /// [`SocketEvent::Listening`].
    pub fn set_multicast_ttl(&mut self, now: Instant, ttl: u32) -> Result<(), Error> {
        self.check_running()?;
        let ttl = u8::try_from(ttl).map_err(|_| UsageError::BadMulticastTtl { ttl })?;
        self.set_option(SocketOption::MulticastTtl(ttl))
    }

    /// `setMulticastLoopback(flag)`: whether this host receives its own multicast datagrams
    /// (Node docs `dgram.md` › `socket.setMulticastLoopback()`). Queues
    /// [`Action::SetOption`].
    ///
    /// # Errors
    ///
    /// [`UsageError::NotRunning`] after `close()`, [`UsageError::NotBound`] (`EBADF`) before
    /// [`SocketEvent::Listening`].
    pub fn set_multicast_loopback(&mut self, now: Instant, flag: bool) -> Result<(), Error> {
        self.set_option(SocketOption::MulticastLoopback(flag))
    }

    /// `setMulticastInterface(iface)`: the interface outgoing multicast datagrams leave by
    /// (Node docs `dgram.md` › `socket.setMulticastInterface()`). Queues
    /// [`Action::SetOption`]. An address that is no interface's fails in the driver
    /// (`EADDRNOTAVAIL`, through [`Socket::handle_option_error`]).
    ///
    /// # Errors
    ///
    /// [`UsageError::NotRunning`] after `close()`; [`UsageError::Ipv6OnUdp4`]
    /// (`ENOPROTOOPT`) for an IPv6 interface on udp4; [`UsageError::NotBound`] (`EBADF`)
    /// before [`SocketEvent::Listening`].
    pub fn set_multicast_interface(
        &mut self,
        now: Instant,
        interface: MulticastInterface,
    ) -> Result<(), Error> {
        self.check_running()?;
        if interface.is_ipv6() && self.config.family == Family::Udp4 {
            return Err(UsageError::Ipv6OnUdp4.into());
        }
        self.set_option(SocketOption::MulticastInterface(interface))
    }

    /// `addMembership(group[, iface])`: joins a multicast group, on `interface` or one the
    /// kernel picks (Node docs `dgram.md` › `socket.addMembership()`). Queues
    /// [`Action::SetOption`]; joining twice fails in the driver (`EADDRINUSE`).
    ///
    /// Node lets libuv bind an unbound socket to `0.0.0.0:0` here, without `'listening'`,
    /// and its later `bind()` then fails with `EINVAL`; this machine asks for the bind
    /// first instead ([`UsageError::NotBound`]), as a socket that joins in its `bind()`
    /// callback does.
    ///
    /// # Errors
    ///
    /// [`UsageError::NotRunning`] after `close()`; then the arguments as
    /// [`Socket::add_source_specific_membership`] checks its group and interface; then
    /// [`UsageError::NotBound`] (`EBADF`) before [`SocketEvent::Listening`].
    pub fn add_membership(
        &mut self,
        now: Instant,
        group: IpAddr,
        interface: Option<MulticastInterface>,
    ) -> Result<(), Error> {
        self.check_running()?;
        self.check_group(None, group, interface)?;
        self.set_option(SocketOption::AddMembership { group, interface })
    }

    /// `dropMembership(group[, iface])`: leaves a group joined with
    /// [`Socket::add_membership`] (Node docs `dgram.md` › `socket.dropMembership()`).
    /// Queues [`Action::SetOption`]; leaving a group not joined fails in the driver
    /// (`EADDRNOTAVAIL`).
    ///
    /// # Errors
    ///
    /// As [`Socket::add_membership`].
    pub fn drop_membership(
        &mut self,
        now: Instant,
        group: IpAddr,
        interface: Option<MulticastInterface>,
    ) -> Result<(), Error> {
        self.check_running()?;
        self.check_group(None, group, interface)?;
        self.set_option(SocketOption::DropMembership { group, interface })
    }

    /// `addSourceSpecificMembership(source, group[, iface])`: joins `group` for datagrams
    /// from `source` only (Node docs `dgram.md` › `socket.addSourceSpecificMembership()`).
    /// Queues [`Action::SetOption`].
    ///
    /// # Errors
    ///
    /// In this order: [`UsageError::NotRunning`] after `close()`;
    /// [`UsageError::MixedFamilies`] (`EINVAL`) if `source` or `interface` is not of
    /// `group`'s family; [`UsageError::Ipv6OnUdp4`] (`ENOPROTOOPT`) for an IPv6 group on
    /// udp4; [`UsageError::NotMulticast`] (`EINVAL`) if `group` is not a multicast address;
    /// [`UsageError::NotBound`] (`EBADF`) before [`SocketEvent::Listening`].
    pub fn add_source_specific_membership(
        &mut self,
        now: Instant,
        source: IpAddr,
        group: IpAddr,
        interface: Option<MulticastInterface>,
    ) -> Result<(), Error> {
        self.check_running()?;
        self.check_group(Some(source), group, interface)?;
        self.set_option(SocketOption::AddSourceSpecificMembership {
            source,
            group,
            interface,
        })
    }

    /// `dropSourceSpecificMembership(source, group[, iface])`: leaves a membership made
    /// with [`Socket::add_source_specific_membership`] (Node docs `dgram.md` ›
    /// `socket.dropSourceSpecificMembership()`). Queues [`Action::SetOption`].
    ///
    /// # Errors
    ///
    /// As [`Socket::add_source_specific_membership`].
    pub fn drop_source_specific_membership(
        &mut self,
        now: Instant,
        source: IpAddr,
        group: IpAddr,
        interface: Option<MulticastInterface>,
    ) -> Result<(), Error> {
        self.check_running()?;
        self.check_group(Some(source), group, interface)?;
        self.set_option(SocketOption::DropSourceSpecificMembership {
            source,
            group,
            interface,
        })
    }

    /// `setRecvBufferSize(size)`: `SO_RCVBUF` in bytes (Node docs `dgram.md` ›
    /// `socket.setRecvBufferSize()`). Queues [`Action::SetOption`]; a size of 0 is accepted
    /// and changes nothing, as in Node (libuv reads the size instead).
    ///
    /// # Errors
    ///
    /// In this order: [`UsageError::NotRunning`] after `close()`;
    /// [`UsageError::BadBufferSize`] (`ERR_SOCKET_BAD_BUFFER_SIZE`) above `u32::MAX`;
    /// [`UsageError::BufferSizeTooLarge`] (`ERR_SOCKET_BUFFER_SIZE`) above `i32::MAX`;
    /// [`UsageError::BufferSizeNotBound`] (`ERR_SOCKET_BUFFER_SIZE`) before
    /// [`SocketEvent::Listening`].
    pub fn set_recv_buffer_size(&mut self, now: Instant, size: usize) -> Result<(), Error> {
        self.set_buffer_size(size, SocketOption::RecvBufferSize)
    }

    /// Whether `getRecvBufferSize()` / `getSendBufferSize()` may ask the OS now (Node docs
    /// `dgram.md` › `socket.getRecvBufferSize()`): the runtime reads the size from the OS
    /// socket once this is `Ok`.
    ///
    /// # Errors
    ///
    /// [`UsageError::NotRunning`] after `close()`; [`UsageError::BufferSizeNotBound`]
    /// (`ERR_SOCKET_BUFFER_SIZE`) before [`SocketEvent::Listening`], as Node 20.
    pub fn check_get_buffer_size(&self) -> Result<(), Error> {
        self.check_running()?;
        if !self.state.is_bound() {
            return Err(UsageError::BufferSizeNotBound.into());
        }
        Ok(())
    }

    /// `setSendBufferSize(size)`: `SO_SNDBUF` in bytes (Node docs `dgram.md` ›
    /// `socket.setSendBufferSize()`), checked as [`Socket::set_recv_buffer_size`].
    ///
    /// # Errors
    ///
    /// As [`Socket::set_recv_buffer_size`].
    pub fn set_send_buffer_size(&mut self, now: Instant, size: usize) -> Result<(), Error> {
        self.set_buffer_size(size, SocketOption::SendBufferSize)
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

    /// The OS refused the option of an [`Action::SetOption`] (`EADDRINUSE` for a group
    /// joined twice, `EADDRNOTAVAIL` for an unknown interface, ...).
    ///
    /// Node throws these from the option method itself; the driver applies options after the
    /// command returned, so the failure comes here and is emitted as [`SocketEvent::Error`]
    /// with [`Error::SocketOption`], whose code is Node's (`ERR_SOCKET_BUFFER_SIZE` for
    /// buffer sizes). Nothing else changes. Ignored after `close()`.
    pub fn handle_option_error(&mut self, now: Instant, option: SocketOption, kind: ErrorKind) {
        if self.state.is_closed() {
            return;
        }
        self.events
            .push_back(SocketEvent::Error(Error::SocketOption { option, kind }));
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

    /// `ERR_SOCKET_DGRAM_NOT_RUNNING` after `close()`.
    fn check_running(&self) -> Result<(), UsageError> {
        if self.state.is_closed() {
            Err(UsageError::NotRunning)
        } else {
            Ok(())
        }
    }

    /// Queues `option` if the socket is running and bound.
    fn set_option(&mut self, option: SocketOption) -> Result<(), Error> {
        self.check_running()?;
        if !self.state.is_bound() {
            return Err(UsageError::NotBound.into());
        }
        self.actions.push_back(Action::SetOption(option));
        Ok(())
    }

    /// The argument checks of the membership commands, in the order the kernel and libuv
    /// make them (`uv_udp_set_membership`, `uv_udp_set_source_membership`).
    fn check_group(
        &self,
        source: Option<IpAddr>,
        group: IpAddr,
        interface: Option<MulticastInterface>,
    ) -> Result<(), UsageError> {
        let mixed_source = source.is_some_and(|source| source.is_ipv6() != group.is_ipv6());
        let mixed_interface =
            interface.is_some_and(|interface| interface.is_ipv6() != group.is_ipv6());
        if mixed_source || mixed_interface {
            return Err(UsageError::MixedFamilies);
        }
        if group.is_ipv6() && self.config.family == Family::Udp4 {
            return Err(UsageError::Ipv6OnUdp4);
        }
        if !group.is_multicast() {
            return Err(UsageError::NotMulticast { group });
        }
        Ok(())
    }

    /// The checks of `setRecvBufferSize()` and `setSendBufferSize()` (Node source
    /// `lib/dgram.js` › `bufferSize` and `src/udp_wrap.cc` › `BufferSize`).
    fn set_buffer_size(
        &mut self,
        size: usize,
        option: fn(u32) -> SocketOption,
    ) -> Result<(), Error> {
        self.check_running()?;
        let bytes = u32::try_from(size).map_err(|_| UsageError::BadBufferSize { size })?;
        if i32::try_from(bytes).is_err() {
            return Err(UsageError::BufferSizeTooLarge { size }.into());
        }
        if !self.state.is_bound() {
            return Err(UsageError::BufferSizeNotBound.into());
        }
        if bytes != 0 {
            self.actions.push_back(Action::SetOption(option(bytes)));
        }
        Ok(())
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
