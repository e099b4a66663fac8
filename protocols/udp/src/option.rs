//! Socket options: [`SocketOption`], the request [`Action::SetOption`](crate::Action::SetOption)
//! carries to the driver, and [`MulticastInterface`].

use std::net::{IpAddr, Ipv4Addr};

/// The interface multicast traffic uses: Node's `multicastInterface` string argument,
/// already parsed.
///
/// Node takes an IPv4 address for udp4 (`'127.0.0.1'`) and an IPv6 scope for udp6
/// (`'::%eth1'`, `'::%2'`) (Node docs `dgram.md` › `socket.setMulticastInterface()`); the
/// scope is given here as its interface index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MulticastInterface {
    /// An IPv4 interface, named by one of its addresses (`IP_MULTICAST_IF`,
    /// `imr_interface`); `0.0.0.0` lets the kernel choose.
    V4(Ipv4Addr),
    /// An IPv6 interface, named by its index (`IPV6_MULTICAST_IF`, `ipv6mr_interface`); 0
    /// lets the kernel choose.
    V6(u32),
}

impl MulticastInterface {
    /// Whether this names an IPv6 interface.
    pub fn is_ipv6(self) -> bool {
        matches!(self, Self::V6(_))
    }
}

/// One socket option for the driver to set with `setsockopt(2)`: what a `dgram.Socket`
/// option method asks of the OS once its arguments passed Node's checks.
///
/// On failure the driver reports
/// [`Socket::handle_option_error`](crate::Socket::handle_option_error) with the same value;
/// success is not reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketOption {
    /// `setBroadcast(flag)`: `SO_BROADCAST`.
    Broadcast(bool),
    /// `setTTL(ttl)`: `IP_TTL` (udp4) or `IPV6_UNICAST_HOPS` (udp6); 1 to 255.
    Ttl(u8),
    /// `setMulticastTTL(ttl)`: `IP_MULTICAST_TTL` or `IPV6_MULTICAST_HOPS`; 0 to 255.
    MulticastTtl(u8),
    /// `setMulticastLoopback(flag)`: `IP_MULTICAST_LOOP` or `IPV6_MULTICAST_LOOP`.
    MulticastLoopback(bool),
    /// `setMulticastInterface(iface)`: `IP_MULTICAST_IF` or `IPV6_MULTICAST_IF`.
    MulticastInterface(MulticastInterface),
    /// `addMembership(group[, iface])`: `IP_ADD_MEMBERSHIP` or `IPV6_JOIN_GROUP`; no
    /// interface lets the kernel choose.
    AddMembership {
        /// The multicast group.
        group: IpAddr,
        /// The interface to join on.
        interface: Option<MulticastInterface>,
    },
    /// `dropMembership(group[, iface])`: `IP_DROP_MEMBERSHIP` or `IPV6_LEAVE_GROUP`.
    DropMembership {
        /// The multicast group.
        group: IpAddr,
        /// The interface it was joined on.
        interface: Option<MulticastInterface>,
    },
    /// `addSourceSpecificMembership(source, group[, iface])`: `IP_ADD_SOURCE_MEMBERSHIP`.
    AddSourceSpecificMembership {
        /// The only sender whose datagrams to the group are received.
        source: IpAddr,
        /// The multicast group.
        group: IpAddr,
        /// The interface to join on.
        interface: Option<MulticastInterface>,
    },
    /// `dropSourceSpecificMembership(source, group[, iface])`: `IP_DROP_SOURCE_MEMBERSHIP`.
    DropSourceSpecificMembership {
        /// The sender of the membership.
        source: IpAddr,
        /// The multicast group.
        group: IpAddr,
        /// The interface it was joined on.
        interface: Option<MulticastInterface>,
    },
    /// `setRecvBufferSize(size)`: `SO_RCVBUF`, in bytes (the kernel doubles it); never 0.
    RecvBufferSize(u32),
    /// `setSendBufferSize(size)`: `SO_SNDBUF`, in bytes (the kernel doubles it); never 0.
    SendBufferSize(u32),
}

impl SocketOption {
    /// The name of the Node method that asked for this option (Node's `syscall` in the
    /// error it throws), such as `"addMembership"`.
    pub fn node_method(&self) -> &'static str {
        match self {
            Self::Broadcast(_) => "setBroadcast",
            Self::Ttl(_) => "setTTL",
            Self::MulticastTtl(_) => "setMulticastTTL",
            Self::MulticastLoopback(_) => "setMulticastLoopback",
            Self::MulticastInterface(_) => "setMulticastInterface",
            Self::AddMembership { .. } => "addMembership",
            Self::DropMembership { .. } => "dropMembership",
            Self::AddSourceSpecificMembership { .. } => "addSourceSpecificMembership",
            Self::DropSourceSpecificMembership { .. } => "dropSourceSpecificMembership",
            Self::RecvBufferSize(_) => "setRecvBufferSize",
            Self::SendBufferSize(_) => "setSendBufferSize",
        }
    }

    /// Whether this sets a buffer size (Node reports those failures as
    /// `ERR_SOCKET_BUFFER_SIZE`).
    pub fn is_buffer_size(&self) -> bool {
        matches!(self, Self::RecvBufferSize(_) | Self::SendBufferSize(_))
    }
}
