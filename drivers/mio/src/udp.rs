//! Running a `sansnet_udp` machine over an OS datagram socket.
//!
//! `connect()` is kept in the machine, which filters datagrams by peer and addresses sends to
//! it; the OS socket stays unconnected, so `disconnect()` needs no `AF_UNSPEC` connect.
//!
//! Socket options ([`Action::SetOption`]) are set with socket2 on the bound socket; a
//! failure goes back to the machine, which emits it as `'error'`.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use bytes::BytesMut;
use mio::net::UdpSocket;
use mio::{Interest, Registry, Token};
use sansnet_udp::{Action, Datagram, MulticastInterface, Socket, SocketEvent, SocketOption};
use socket2::SockRef;

use crate::event::{Event, UdpId};

/// The largest UDP payload, so no datagram is ever truncated on receive.
const MAX_DATAGRAM: usize = 64 * 1024;
/// Datagrams one socket may receive per service before others get a turn.
const RECV_BUDGET: usize = 64;

/// One datagram socket: its machine and, once bound, its OS socket.
#[derive(Debug)]
pub(crate) struct UdpEntry {
    pub(crate) machine: Socket,
    socket: Option<UdpSocket>,
    pub(crate) readable: bool,
    /// A datagram the OS would not take yet (`WouldBlock`); sent before any other.
    blocked: Option<Datagram>,
    recv_buf: BytesMut,
}

impl UdpEntry {
    pub(crate) fn new(machine: Socket) -> Self {
        Self {
            machine,
            socket: None,
            readable: false,
            blocked: None,
            recv_buf: BytesMut::new(),
        }
    }

    /// One drain-rule round, repeated until nothing moves; returns (closed, again).
    pub(crate) fn service(
        &mut self,
        id: UdpId,
        now: Instant,
        registry: &Registry,
        out: &mut VecDeque<Event>,
    ) -> (bool, bool) {
        let mut closed = false;
        let mut again = false;
        loop {
            let mut moved = false;
            while let Some(action) = self.machine.poll_action() {
                moved = true;
                self.apply(id, now, action, registry);
            }
            moved |= self.transmit(now);
            if self.machine.wants_read() {
                let (received, more) = self.receive(now);
                moved |= received;
                again |= more;
            }
            while let Some(event) = self.machine.poll_event() {
                moved = true;
                closed |= matches!(event, SocketEvent::Close);
                out.push_back(Event::Udp { socket: id, event });
            }
            if !moved {
                return (closed, again && !closed);
            }
        }
    }

    fn apply(&mut self, id: UdpId, now: Instant, action: Action, registry: &Registry) {
        match action {
            Action::Bind(address) => {
                let bound = crate::net::bind_udp(address, self.machine.config().reuse_address)
                    .and_then(|mut socket| {
                        let token = Token(crate::ids::token(id.0));
                        registry.register(
                            &mut socket,
                            token,
                            Interest::READABLE | Interest::WRITABLE,
                        )?;
                        let local = socket.local_addr()?;
                        Ok((socket, local))
                    });
                match bound {
                    Ok((socket, local)) => {
                        self.socket = Some(socket);
                        self.readable = true;
                        self.machine.handle_bound(now, local);
                    }
                    Err(e) => self.machine.handle_bind_error(now, e.kind()),
                }
            }
            Action::Connect(_) => self.machine.handle_connected(now),
            Action::Close => {
                if let Some(mut socket) = self.socket.take() {
                    let _ = mio::event::Source::deregister(&mut socket, registry);
                }
                self.blocked = None;
            }
            Action::SetOption(option) => {
                let result = match &self.socket {
                    Some(socket) => set_option(socket, option),
                    None => Err(io::Error::from_raw_os_error(libc::EBADF)),
                };
                if let Err(e) = result {
                    self.machine.handle_option_error(now, option, e.kind());
                }
            }
            _ => {}
        }
    }

    /// `getRecvBufferSize()` (`recv`) or `getSendBufferSize()`: `SO_RCVBUF` or `SO_SNDBUF`
    /// as the OS reports it (Linux doubles the size set).
    pub(crate) fn buffer_size(&self, recv: bool) -> Result<usize, sansnet_udp::Error> {
        let Some(socket) = &self.socket else {
            return Err(if self.machine.is_closed() {
                sansnet_udp::UsageError::NotRunning
            } else {
                sansnet_udp::UsageError::BufferSizeNotBound
            }
            .into());
        };
        let socket = SockRef::from(socket);
        let size = if recv {
            socket.recv_buffer_size()
        } else {
            socket.send_buffer_size()
        };
        size.map_err(|e| sansnet_udp::Error::Io(e.kind()))
    }

    fn transmit(&mut self, now: Instant) -> bool {
        let mut moved = false;
        let Some(socket) = &self.socket else {
            return false;
        };
        while let Some(datagram) = self.blocked.take().or_else(|| self.machine.poll_transmit()) {
            match socket.send_to(&datagram.data, datagram.destination) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.blocked = Some(datagram);
                    break;
                }
                result => {
                    moved = true;
                    self.machine
                        .handle_sent(now, datagram.id, result.map_err(|e| e.kind()));
                }
            }
        }
        moved
    }

    /// Receives until the OS would block or the budget is spent; returns (moved, more).
    fn receive(&mut self, now: Instant) -> (bool, bool) {
        let mut moved = false;
        let Some(socket) = &self.socket else {
            return (false, false);
        };
        for _ in 0..RECV_BUDGET {
            if !self.readable || !self.machine.wants_read() {
                return (moved, false);
            }
            self.recv_buf.resize(MAX_DATAGRAM, 0);
            match socket.recv_from(&mut self.recv_buf) {
                Ok((n, from)) => {
                    let data = self.recv_buf.split_to(n).freeze();
                    self.machine.handle_datagram(now, data, from);
                    moved = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.machine.handle_io_error(now, e.kind());
                    return (true, false);
                }
            }
        }
        (moved, self.readable)
    }
}

/// Carries out one [`Action::SetOption`] with `setsockopt(2)`, choosing the IPv4 or IPv6
/// option the way libuv does: TTL, multicast TTL and loopback by the socket's family, the
/// interface and memberships by the family of the address given.
fn set_option(socket: &UdpSocket, option: SocketOption) -> io::Result<()> {
    let ipv6 = socket.local_addr()?.is_ipv6();
    let socket = SockRef::from(socket);
    match option {
        SocketOption::Broadcast(flag) => socket.set_broadcast(flag),
        SocketOption::Ttl(ttl) if ipv6 => socket.set_unicast_hops_v6(u32::from(ttl)),
        SocketOption::Ttl(ttl) => socket.set_ttl_v4(u32::from(ttl)),
        SocketOption::MulticastTtl(ttl) if ipv6 => socket.set_multicast_hops_v6(u32::from(ttl)),
        SocketOption::MulticastTtl(ttl) => socket.set_multicast_ttl_v4(u32::from(ttl)),
        SocketOption::MulticastLoopback(flag) if ipv6 => socket.set_multicast_loop_v6(flag),
        SocketOption::MulticastLoopback(flag) => socket.set_multicast_loop_v4(flag),
        SocketOption::MulticastInterface(MulticastInterface::V4(address)) => {
            socket.set_multicast_if_v4(&address)
        }
        SocketOption::MulticastInterface(MulticastInterface::V6(index)) => {
            socket.set_multicast_if_v6(index)
        }
        SocketOption::AddMembership { group, interface } => match group {
            IpAddr::V4(group) => socket.join_multicast_v4(&group, &interface_v4(interface)),
            IpAddr::V6(group) => socket.join_multicast_v6(&group, interface_v6(interface)),
        },
        SocketOption::DropMembership { group, interface } => match group {
            IpAddr::V4(group) => socket.leave_multicast_v4(&group, &interface_v4(interface)),
            IpAddr::V6(group) => socket.leave_multicast_v6(&group, interface_v6(interface)),
        },
        SocketOption::AddSourceSpecificMembership {
            source: IpAddr::V4(source),
            group: IpAddr::V4(group),
            interface,
        } => socket.join_ssm_v4(&source, &group, &interface_v4(interface)),
        SocketOption::DropSourceSpecificMembership {
            source: IpAddr::V4(source),
            group: IpAddr::V4(group),
            interface,
        } => socket.leave_ssm_v4(&source, &group, &interface_v4(interface)),
        // socket2 has no `MCAST_JOIN_SOURCE_GROUP` for IPv6.
        SocketOption::AddSourceSpecificMembership { .. }
        | SocketOption::DropSourceSpecificMembership { .. } => {
            Err(io::Error::from(io::ErrorKind::Unsupported))
        }
        SocketOption::RecvBufferSize(size) => socket.set_recv_buffer_size(to_usize(size)),
        SocketOption::SendBufferSize(size) => socket.set_send_buffer_size(to_usize(size)),
        _ => Err(io::Error::from(io::ErrorKind::Unsupported)),
    }
}

/// The IPv4 interface of a membership: the one given, or `INADDR_ANY` (the kernel picks).
fn interface_v4(interface: Option<MulticastInterface>) -> Ipv4Addr {
    match interface {
        Some(MulticastInterface::V4(address)) => address,
        Some(MulticastInterface::V6(_)) | None => Ipv4Addr::UNSPECIFIED,
    }
}

/// The IPv6 interface index of a membership: the one given, or 0 (the kernel picks).
fn interface_v6(interface: Option<MulticastInterface>) -> u32 {
    match interface {
        Some(MulticastInterface::V6(index)) => index,
        Some(MulticastInterface::V4(_)) | None => 0,
    }
}

/// A buffer size for socket2, which takes `usize` (the machine keeps them within `i32`).
fn to_usize(size: u32) -> usize {
    usize::try_from(size).unwrap_or(usize::MAX)
}
