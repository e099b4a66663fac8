//! What comes out of a [`Socket`](crate::Socket): events for the application, actions and
//! datagrams for the driver.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;

use crate::config::Family;
use crate::error::Error;
use crate::option::SocketOption;

/// Identifies one accepted [`Socket::send`](crate::Socket::send), so its completion
/// ([`SocketEvent::Sent`]) can be matched to it: the role of Node's `send()` callback.
///
/// Ids count up from 0 in send order on each socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SendId(pub u64);

/// Node's `rinfo`: where a datagram came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RemoteInfo {
    /// `rinfo.address`: the sender's address.
    pub address: IpAddr,
    /// `rinfo.family`: the family of `address` (Node's `'IPv4'` or `'IPv6'`).
    pub family: Family,
    /// `rinfo.port`: the sender's port.
    pub port: u16,
    /// `rinfo.size`: the datagram's length in bytes.
    pub size: usize,
}

impl RemoteInfo {
    /// The sender's address and port.
    pub fn socket_addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }
}

/// One datagram for the driver to put on the wire, taken from
/// [`Socket::poll_transmit`](crate::Socket::poll_transmit).
///
/// The driver sends `data` whole to `destination` (on a connected socket `destination` is the
/// connected peer, so `send` and `send_to` are equivalent) and reports the outcome with
/// [`Socket::handle_sent`](crate::Socket::handle_sent) and this `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// The send this datagram belongs to.
    pub id: SendId,
    /// Where it goes.
    pub destination: SocketAddr,
    /// The payload: exactly the `offset..offset + length` slice given to `send()`.
    pub data: Bytes,
}

/// Something the driver must do to the OS socket, taken from
/// [`Socket::poll_action`](crate::Socket::poll_action).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Create the OS socket if needed and bind it to this address (port 0: the OS picks one;
    /// apply [`SocketConfig::reuse_address`](crate::SocketConfig::reuse_address) first). Report
    /// [`Socket::handle_bound`](crate::Socket::handle_bound) with the actual local address, or
    /// [`Socket::handle_bind_error`](crate::Socket::handle_bind_error).
    Bind(SocketAddr),
    /// `connect(2)` the bound socket to this peer. Report
    /// [`Socket::handle_connected`](crate::Socket::handle_connected), or the failure through
    /// [`Socket::handle_io_error`](crate::Socket::handle_io_error).
    Connect(SocketAddr),
    /// Dissolve the socket's association with its peer (`connect(2)` with `AF_UNSPEC`). Nothing
    /// is reported back.
    Disconnect,
    /// Close the OS socket, if there is one, and stop polling it. Nothing is reported back.
    Close,
    /// Set this option on the bound OS socket (`setsockopt(2)`). Report a failure with
    /// [`Socket::handle_option_error`](crate::Socket::handle_option_error); success is not
    /// reported.
    SetOption(SocketOption),
}

/// What the socket tells the application, in Node's emit order, taken from
/// [`Socket::poll_event`](crate::Socket::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocketEvent {
    /// `'listening'`: the socket is bound to `address`, explicitly or by the first `send()` or
    /// `connect()` (Node docs `dgram.md` › `socket.bind()`, `socket.send()`).
    Listening {
        /// The local address the OS bound, with the port it picked.
        address: SocketAddr,
    },
    /// `'connect'`: `connect()` completed; only the peer's datagrams arrive from now on
    /// (Node docs `dgram.md` › `socket.connect()`).
    Connect,
    /// `'message'`: one datagram arrived, whole (Node docs `dgram.md` › `Event: 'message'`).
    Message {
        /// The payload.
        data: Bytes,
        /// Where it came from.
        rinfo: RemoteInfo,
    },
    /// The `send()` callback: exactly once for every [`SendId`] that `send()` returned, with
    /// the bytes sent or the error (Node docs `dgram.md` › `socket.send()`,
    /// `Note about UDP datagram size`), and always before [`SocketEvent::Close`].
    Sent {
        /// The send this completes.
        id: SendId,
        /// The bytes the OS took, or why the datagram was not sent.
        result: Result<usize, Error>,
    },
    /// `'error'`: a bind failure (Node docs `dgram.md` › `socket.bind()`), a connect failure, or a
    /// socket-level error the driver reported. Send failures are not repeated here: they are in
    /// [`SocketEvent::Sent`].
    Error(Error),
    /// `'close'`: the socket is closed; always the last event (Node docs `dgram.md` ›
    /// `Event: 'close'`).
    Close,
}
