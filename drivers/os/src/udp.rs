//! Datagram sockets: binding, and the options of `dgram` as libuv sets them.
//!
//! `connect()` is kept in the machine (`sansnet_udp::Socket`), which filters datagrams by
//! peer and addresses sends to it; the OS socket stays unconnected, so `disconnect()` needs
//! no `AF_UNSPEC` connect.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::time::Instant;

use bytes::BytesMut;
use sansnet_udp::{Datagram, MulticastInterface, Socket, SocketOption};
use socket2::{Domain, Protocol, SockRef, Type};

/// The largest UDP payload: a receive buffer this large never truncates a datagram.
pub const MAX_DATAGRAM: usize = 64 * 1024;

/// Datagrams one socket may receive per [`Datagrams::receive`] before others get a turn.
pub const RECV_BUDGET: usize = 64;

/// The datagram half of the drain rule for one `sansnet_udp::Socket`: its datagrams out to
/// the OS and in from it, with a datagram the OS would not take kept to go first.
#[derive(Debug, Default)]
pub struct Datagrams {
    /// A datagram the OS would not take yet (`WouldBlock`); sent before any other.
    blocked: Option<Datagram>,
    buf: BytesMut,
}

impl Datagrams {
    /// Sends what `machine` offers with `send_to` until the OS would block, telling the
    /// machine each result (`'error'` or the send callback's); returns whether any went.
    pub fn transmit(
        &mut self,
        machine: &mut Socket,
        now: Instant,
        mut send_to: impl FnMut(&[u8], SocketAddr) -> io::Result<usize>,
    ) -> bool {
        let mut moved = false;
        while let Some(datagram) = self.blocked.take().or_else(|| machine.poll_transmit()) {
            match send_to(&datagram.data, datagram.destination) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.blocked = Some(datagram);
                    break;
                }
                result => {
                    moved = true;
                    machine.handle_sent(now, datagram.id, result.map_err(|e| e.kind()));
                }
            }
        }
        moved
    }

    /// Receives with `recv_from` while `readable` and `machine` wants to read, at most
    /// [`RECV_BUDGET`] datagrams; `readable` is cleared when the OS has none left. Returns
    /// (whether any arrived, whether the budget ran out with more to read).
    pub fn receive(
        &mut self,
        machine: &mut Socket,
        now: Instant,
        readable: &mut bool,
        mut recv_from: impl FnMut(&mut [u8]) -> io::Result<(usize, SocketAddr)>,
    ) -> (bool, bool) {
        let mut moved = false;
        for _ in 0..RECV_BUDGET {
            if !*readable || !machine.wants_read() {
                return (moved, false);
            }
            self.buf.resize(MAX_DATAGRAM, 0);
            match recv_from(&mut self.buf) {
                Ok((n, from)) => {
                    machine.handle_datagram(now, self.buf.split_to(n).freeze(), from);
                    moved = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => *readable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    machine.handle_io_error(now, e.kind());
                    return (true, false);
                }
            }
        }
        (moved, *readable)
    }

    /// Forgets a datagram waiting for the OS (the socket closed).
    pub fn clear(&mut self) {
        self.blocked = None;
    }
}

/// Binds a non-blocking UDP socket (with `SO_REUSEADDR` if asked: `dgram.createSocket`'s
/// `reuseAddr`).
pub fn bind(address: SocketAddr, reuse_address: bool) -> io::Result<std::net::UdpSocket> {
    let socket = socket2::Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    if reuse_address {
        socket.set_reuse_address(true)?;
    }
    socket.bind(&address.into())?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// `getRecvBufferSize()` (`recv`) or `getSendBufferSize()`: `SO_RCVBUF` or `SO_SNDBUF` as the
/// OS reports it (Linux doubles the size set).
pub fn buffer_size(socket: &impl AsFd, recv: bool) -> io::Result<usize> {
    let socket = SockRef::from(socket);
    if recv {
        socket.recv_buffer_size()
    } else {
        socket.send_buffer_size()
    }
}

/// Carries out one `sansnet_udp::Action::SetOption` with `setsockopt(2)`, choosing the IPv4 or IPv6
/// option the way libuv does: TTL, multicast TTL and loopback by the socket's family, the
/// interface and memberships by the family of the address given.
pub fn set_option(socket: &impl AsFd, option: SocketOption) -> io::Result<()> {
    let socket = SockRef::from(socket);
    let ipv6 = socket.local_addr()?.is_ipv6();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_follow_the_family_of_the_socket() {
        let v4 = bind(([127, 0, 0, 1], 0).into(), false).unwrap();
        set_option(&v4, SocketOption::Ttl(9)).unwrap();
        assert_eq!(v4.ttl().unwrap(), 9);
        set_option(&v4, SocketOption::Broadcast(true)).unwrap();
        assert!(v4.broadcast().unwrap());
        set_option(&v4, SocketOption::RecvBufferSize(65536)).unwrap();
        // Linux doubles what was asked for.
        assert_eq!(buffer_size(&v4, true).unwrap(), 131_072);
        let v6 = bind((std::net::Ipv6Addr::LOCALHOST, 0).into(), false).unwrap();
        set_option(&v6, SocketOption::Ttl(11)).unwrap();
        assert_eq!(SockRef::from(&v6).unicast_hops_v6().unwrap(), 11);
    }
}
