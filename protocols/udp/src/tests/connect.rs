//! `connect()`, `disconnect()` and connected sockets (Node docs `dgram.md` › `socket.connect()`).

use std::io::ErrorKind;

use super::harness::*;
use crate::{Action, Error, Family, SocketEvent, UsageError};

/// Node docs `dgram.md` › `socket.connect()`: `connect()` on a bound socket asks the driver to
/// connect; `'connect'` follows its report, and `remoteAddress()` is set only then.
#[test]
fn bound_connect_then_connected_emits_connect() {
    let mut socket = socket_bound(Family::Udp4);
    socket.connect(now(), addr(PEER_V4)).unwrap();
    let drained = drain(&mut socket);
    assert_eq!(drained.actions, [Action::Connect(addr(PEER_V4))]);
    assert!(drained.events.is_empty());
    assert_eq!(socket.remote_address(), None);
    socket.handle_connected(now());
    assert_eq!(drain(&mut socket).events, [SocketEvent::Connect]);
    assert_eq!(socket.remote_address(), Some(addr(PEER_V4)));
    socket.handle_connected(now()); // a second report is ignored
    assert!(drain(&mut socket).events.is_empty());
}

/// Node docs `dgram.md` › `socket.connect()`, `socket.send()`: `connect()` on an unbound socket
/// binds it first: `'listening'`, then the connect, then `'connect'`.
#[test]
fn unbound_connect_binds_then_connects() {
    let mut socket = socket_unbound(Family::Udp4);
    socket.connect(now(), addr(PEER_V4)).unwrap();
    assert_eq!(
        drain(&mut socket).actions,
        [Action::Bind(addr("0.0.0.0:0"))]
    );
    socket.handle_bound(now(), addr(LOCAL_V4));
    let drained = drain(&mut socket);
    assert_eq!(drained.actions, [Action::Connect(addr(PEER_V4))]);
    socket.handle_connected(now());
    let mut events = drained.events;
    events.extend(drain(&mut socket).events);
    assert_eq!(
        events,
        [
            SocketEvent::Listening {
                address: addr(LOCAL_V4)
            },
            SocketEvent::Connect
        ]
    );
}

/// Node docs `dgram.md` › `socket.connect()`: `connect()` during an explicit bind waits for it.
#[test]
fn binding_connect_waits_for_bind() {
    let mut socket = socket_unbound(Family::Udp4);
    socket.bind(now(), None).unwrap();
    drain(&mut socket);
    socket.connect(now(), addr(PEER_V4)).unwrap();
    assert!(drain(&mut socket).actions.is_empty());
    socket.handle_bound(now(), addr(LOCAL_V4));
    assert_eq!(drain(&mut socket).actions, [Action::Connect(addr(PEER_V4))]);
}

/// Node docs `dgram.md` › `socket.connect()`: connecting twice (connected, connecting, or waiting
/// for the bind) throws `ERR_SOCKET_DGRAM_IS_CONNECTED`.
#[test]
fn connected_connect_again_already_connected() {
    let mut connected = socket_connected();
    let error = assert_rejected(&mut connected, |s| s.connect(now(), addr(STRANGER_V4)));
    assert_eq!(error, Error::Usage(UsageError::AlreadyConnected));
    assert_eq!(error.code(), "ERR_SOCKET_DGRAM_IS_CONNECTED");

    let mut connecting = socket_bound(Family::Udp4);
    connecting.connect(now(), addr(PEER_V4)).unwrap();
    let error = assert_rejected(&mut connecting, |s| s.connect(now(), addr(PEER_V4)));
    assert_eq!(error.code(), "ERR_SOCKET_DGRAM_IS_CONNECTED");

    let mut waiting = socket_unbound(Family::Udp4);
    waiting.connect(now(), addr(PEER_V4)).unwrap();
    let error = assert_rejected(&mut waiting, |s| s.connect(now(), addr(PEER_V4)));
    assert_eq!(error.code(), "ERR_SOCKET_DGRAM_IS_CONNECTED");
}

/// Node docs `dgram.md` › `socket.connect()`: `connect()` to port 0 throws `ERR_SOCKET_BAD_PORT`.
#[test]
fn unbound_connect_port_zero_bad_port() {
    let mut socket = socket_unbound(Family::Udp4);
    let error = assert_rejected(&mut socket, |s| s.connect(now(), addr("127.0.0.1:0")));
    assert_eq!(error.code(), "ERR_SOCKET_BAD_PORT");
}

/// Node docs `dgram.md` › `socket.connect()`: on a connected socket `send()` must omit port and
/// address; the datagram goes to the peer.
#[test]
fn connected_send_goes_to_peer_and_rejects_an_address() {
    let mut socket = socket_connected();
    let error = assert_rejected(&mut socket, |s| s.send(now(), payload(1), 0, 1, 9, None));
    assert_eq!(error, Error::Usage(UsageError::AlreadyConnected));
    let error = assert_rejected(&mut socket, |s| {
        s.send(now(), payload(1), 0, 1, 0, Some(addr(PEER_V4).ip()))
    });
    assert_eq!(error.code(), "ERR_SOCKET_DGRAM_IS_CONNECTED");

    socket.send(now(), payload(2), 0, 2, 0, None).unwrap();
    assert_eq!(drain(&mut socket).transmits[0].destination, addr(PEER_V4));
}

/// Node docs `dgram.md` › `socket.connect()`: until `'connect'` the socket is not connected, so
/// `send()` still needs a port (Node checks `connectState === CONNECTED`).
#[test]
fn connecting_send_needs_a_port() {
    let mut socket = socket_bound(Family::Udp4);
    socket.connect(now(), addr(PEER_V4)).unwrap();
    let error = assert_rejected(&mut socket, |s| s.send(now(), payload(1), 0, 1, 0, None));
    assert_eq!(error, Error::Usage(UsageError::BadPort));
}

/// Node docs `dgram.md` › `socket.connect()`: a connected socket only delivers its peer's
/// datagrams.
#[test]
fn connected_datagram_from_other_peer_is_ignored() {
    let mut socket = socket_connected();
    socket.handle_datagram(now(), payload(1), addr(STRANGER_V4));
    socket.handle_datagram(now(), payload(2), addr(PEER_V4));
    let events = drain(&mut socket).events;
    assert_eq!(events.len(), 1);
    assert!(matches!(
        &events[0],
        SocketEvent::Message { rinfo, .. } if rinfo.socket_addr() == addr(PEER_V4)
    ));
}

/// Node docs `dgram.md` › `socket.connect()`: a failed OS connect emits `'error'` and leaves the
/// socket unconnected, so it may connect again.
#[test]
fn connecting_io_error_reports_and_disconnects() {
    let mut socket = socket_bound(Family::Udp4);
    socket.connect(now(), addr(PEER_V4)).unwrap();
    drain(&mut socket);
    socket.handle_io_error(now(), ErrorKind::HostUnreachable);
    assert_eq!(
        drain(&mut socket).events,
        [SocketEvent::Error(Error::Io(ErrorKind::HostUnreachable))]
    );
    socket.handle_connected(now());
    assert!(
        drain(&mut socket).events.is_empty(),
        "the connect was abandoned"
    );
    socket.connect(now(), addr(PEER_V4)).unwrap();
    assert_eq!(drain(&mut socket).actions, [Action::Connect(addr(PEER_V4))]);
}

/// Node docs `dgram.md` › `socket.connect()`: an error on a connected socket (ICMP port
/// unreachable) is an `'error'`; the socket stays connected.
#[test]
fn connected_io_error_reports_and_stays_connected() {
    let mut socket = socket_connected();
    socket.handle_io_error(now(), ErrorKind::ConnectionRefused);
    let events = drain(&mut socket).events;
    assert_eq!(
        events,
        [SocketEvent::Error(Error::Io(ErrorKind::ConnectionRefused))]
    );
    assert_eq!(
        Error::Io(ErrorKind::ConnectionRefused).code(),
        "ECONNREFUSED"
    );
    assert_eq!(socket.remote_address(), Some(addr(PEER_V4)));
}

/// Node docs `dgram.md` › `socket.connect()`: `disconnect()` asks the driver to dissolve the
/// association; datagrams from anyone arrive again and `send()` needs a port again.
#[test]
fn connected_disconnect_accepts_everyone_again() {
    let mut socket = socket_connected();
    socket.disconnect(now()).unwrap();
    assert_eq!(drain(&mut socket).actions, [Action::Disconnect]);
    assert_eq!(socket.remote_address(), None);
    socket.handle_datagram(now(), payload(1), addr(STRANGER_V4));
    assert_eq!(drain(&mut socket).events.len(), 1);
    socket.send(now(), payload(1), 0, 1, 9, None).unwrap();
    assert_eq!(
        drain(&mut socket).transmits[0].destination,
        addr("127.0.0.1:9")
    );
}

/// Node docs `dgram.md` › `socket.connect()`: `disconnect()` on a socket that is not connected
/// (unbound, bound, or still connecting) throws `ERR_SOCKET_DGRAM_NOT_CONNECTED`.
#[test]
fn unconnected_disconnect_not_connected() {
    let mut unbound = socket_unbound(Family::Udp4);
    let error = assert_rejected(&mut unbound, |s| s.disconnect(now()));
    assert_eq!(error, Error::Usage(UsageError::NotConnected));
    assert_eq!(error.code(), "ERR_SOCKET_DGRAM_NOT_CONNECTED");

    let mut connecting = socket_bound(Family::Udp4);
    connecting.connect(now(), addr(PEER_V4)).unwrap();
    let error = assert_rejected(&mut connecting, |s| s.disconnect(now()));
    assert_eq!(error.code(), "ERR_SOCKET_DGRAM_NOT_CONNECTED");
}
