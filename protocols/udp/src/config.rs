//! Socket settings ([`SocketConfig`]) and the address family ([`Family`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The largest UDP payload over IPv4: 65535 - 8 (UDP header) - 20 (IPv4 header).
const MAX_DATAGRAM_UDP4: usize = 65_507;
/// The largest UDP payload over IPv6 without jumbograms: 65535 - 8 (UDP header).
const MAX_DATAGRAM_UDP6: usize = 65_527;
/// Default bound on datagrams awaiting completion.
const MAX_QUEUED_DATAGRAMS: usize = 1024;

/// The socket type passed to Node's `dgram.createSocket()`: `'udp4'` or `'udp6'`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Family {
    /// `'udp4'`: IPv4.
    #[default]
    Udp4,
    /// `'udp6'`: IPv6 (and IPv4-mapped addresses).
    Udp6,
}

impl Family {
    /// The address `bind()` uses when none is given: `0.0.0.0` or `::`.
    pub fn unspecified(self) -> IpAddr {
        match self {
            Self::Udp4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Self::Udp6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }

    /// The address `send()` uses when none is given: `127.0.0.1` or `::1` (Node docs `dgram.md` ›
    /// `socket.send()`).
    pub fn loopback(self) -> IpAddr {
        match self {
            Self::Udp4 => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Self::Udp6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        }
    }

    /// The family an address belongs to, as in Node's `rinfo.family` (`'IPv4'` or `'IPv6'`).
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(_) => Self::Udp4,
            IpAddr::V6(_) => Self::Udp6,
        }
    }

    /// Node's name for the family in `rinfo.family` and `address().family`.
    pub fn node_name(self) -> &'static str {
        match self {
            Self::Udp4 => "IPv4",
            Self::Udp6 => "IPv6",
        }
    }
}

/// Settings for one [`Socket`](crate::Socket), Node's `dgram.createSocket(options)`.
///
/// Build it with [`SocketConfig::new`] (or `..SocketConfig::new(family)` in a struct literal)
/// and change the fields that differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketConfig {
    /// `type`: `'udp4'` or `'udp6'`.
    pub family: Family,
    /// The largest payload [`Socket::send`](crate::Socket::send) accepts; longer ones fail with
    /// `EMSGSIZE`. Default 65507 for udp4, 65527 for udp6 (Node docs `dgram.md` ›
    /// `Note about UDP datagram size`).
    pub max_datagram_size: usize,
    /// `reuseAddr`: the driver sets `SO_REUSEADDR` before binding. Default false.
    pub reuse_address: bool,
    /// How many datagrams may await completion (queued for bind, waiting for the driver, or
    /// handed to it and not yet reported); further sends fail with `ENOBUFS`. Default 1024;
    /// 0 means no datagram is ever accepted. Node's own queue is unbounded.
    pub max_queued_datagrams: usize,
}

impl SocketConfig {
    /// The defaults for `family`.
    pub fn new(family: Family) -> Self {
        Self {
            family,
            max_datagram_size: match family {
                Family::Udp4 => MAX_DATAGRAM_UDP4,
                Family::Udp6 => MAX_DATAGRAM_UDP6,
            },
            reuse_address: false,
            max_queued_datagrams: MAX_QUEUED_DATAGRAMS,
        }
    }
}

impl Default for SocketConfig {
    /// The defaults for `'udp4'`.
    fn default() -> Self {
        Self::new(Family::Udp4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Node docs `dgram.md` › `Note about UDP datagram size`: 65507 bytes is the IPv4 payload
    /// limit.
    #[test]
    fn defaults_follow_the_family() {
        let v4 = SocketConfig::default();
        assert_eq!(v4.family, Family::Udp4);
        assert_eq!(v4.max_datagram_size, 65_507);
        assert!(!v4.reuse_address);
        assert_eq!(v4.max_queued_datagrams, 1024);
        assert_eq!(SocketConfig::new(Family::Udp6).max_datagram_size, 65_527);
    }

    /// Node docs `dgram.md` › `socket.send()`: the empty address is the family's loopback.
    #[test]
    fn family_addresses() {
        assert_eq!(Family::Udp4.loopback().to_string(), "127.0.0.1");
        assert_eq!(Family::Udp6.loopback().to_string(), "::1");
        assert_eq!(Family::Udp4.unspecified().to_string(), "0.0.0.0");
        assert_eq!(Family::Udp6.unspecified().to_string(), "::");
        assert_eq!(Family::of(Family::Udp6.loopback()), Family::Udp6);
        assert_eq!(Family::Udp4.node_name(), "IPv4");
    }
}
