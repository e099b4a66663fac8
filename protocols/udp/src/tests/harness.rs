//! Fixtures and helpers for the scenario tests: the drain rule, one fixture per state.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use sansnet_testkit::clock::Clock;

use crate::{Action, Datagram, Error, Family, Socket, SocketConfig, SocketEvent};

/// The local address the fake OS binds IPv4 sockets to.
pub(crate) const LOCAL_V4: &str = "127.0.0.1:40000";
/// The IPv4 peer most tests talk to.
pub(crate) const PEER_V4: &str = "127.0.0.1:40001";
/// Another IPv4 host, never connected to.
pub(crate) const STRANGER_V4: &str = "10.0.0.9:40002";
/// The local address the fake OS binds IPv6 sockets to.
pub(crate) const LOCAL_V6: &str = "[::1]:40000";

/// Parses a test address.
pub(crate) fn addr(text: &str) -> SocketAddr {
    text.parse().expect("test addresses are valid")
}

/// Some fixed instant; dgram never reads it.
pub(crate) fn now() -> Instant {
    Clock::new().now()
}

/// Everything the outputs held, drained in the contract's order.
#[derive(Debug, Default)]
pub(crate) struct Drained {
    pub(crate) transmits: Vec<Datagram>,
    pub(crate) actions: Vec<Action>,
    pub(crate) events: Vec<SocketEvent>,
}

/// Drains `poll_transmit`, then `poll_action`, then `poll_event`, each until `None`.
pub(crate) fn drain(socket: &mut Socket) -> Drained {
    let mut drained = Drained::default();
    while let Some(datagram) = socket.poll_transmit() {
        drained.transmits.push(datagram);
    }
    while let Some(action) = socket.poll_action() {
        drained.actions.push(action);
    }
    while let Some(event) = socket.poll_event() {
        drained.events.push(event);
    }
    drained
}

/// Runs a command that must fail, and checks it changed nothing (STYLE 3.5).
pub(crate) fn assert_rejected<T: std::fmt::Debug>(
    socket: &mut Socket,
    command: impl FnOnce(&mut Socket) -> Result<T, Error>,
) -> Error {
    let before = format!("{socket:?}");
    let error = command(socket).expect_err("the command must fail");
    assert_eq!(
        format!("{socket:?}"),
        before,
        "a failed command changed the socket"
    );
    error
}

/// A fresh, unbound socket.
pub(crate) fn socket_unbound(family: Family) -> Socket {
    Socket::new(SocketConfig::new(family))
}

/// A socket bound explicitly and drained: at [`LOCAL_V4`] or [`LOCAL_V6`].
pub(crate) fn socket_bound(family: Family) -> Socket {
    let mut socket = socket_unbound(family);
    socket.bind(now(), None).expect("an unbound socket binds");
    let local = match family {
        Family::Udp4 => addr(LOCAL_V4),
        Family::Udp6 => addr(LOCAL_V6),
    };
    socket.handle_bound(now(), local);
    let drained = drain(&mut socket);
    assert_eq!(drained.events, [SocketEvent::Listening { address: local }]);
    socket
}

/// An IPv4 socket bound and connected to [`PEER_V4`], drained.
pub(crate) fn socket_connected() -> Socket {
    let mut socket = socket_bound(Family::Udp4);
    socket
        .connect(now(), addr(PEER_V4))
        .expect("a bound socket connects");
    socket.handle_connected(now());
    let drained = drain(&mut socket);
    assert_eq!(drained.actions, [Action::Connect(addr(PEER_V4))]);
    assert_eq!(drained.events, [SocketEvent::Connect]);
    socket
}

/// `len` bytes counting up from 0.
pub(crate) fn payload(len: usize) -> Bytes {
    (0..len)
        .map(|i| u8::try_from(i % 251).expect("below 251"))
        .collect()
}
