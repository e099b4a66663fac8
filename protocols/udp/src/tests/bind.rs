//! `bind()`, the `'listening'` event and bind failures (docs/node-semantics.md#dgram-bind,
//! #dgram-bind-error).

use std::io::ErrorKind;

use super::harness::*;
use crate::{Action, Error, Family, SocketEvent, UsageError};

/// Node docs `dgram.md` › `socket.bind()`: `bind()` with no address binds all interfaces on port 0
/// and `'listening'` is emitted once the driver reports the bind, never inside the call.
#[test]
fn unbound_bind_then_bound_listening() {
    let mut socket = socket_unbound(Family::Udp4);
    assert!(!socket.wants_read());
    socket.bind(now(), None).unwrap();
    let drained = drain(&mut socket);
    assert_eq!(drained.actions, [Action::Bind(addr("0.0.0.0:0"))]);
    assert!(
        drained.events.is_empty(),
        "'listening' must wait for the bind"
    );
    assert_eq!(socket.local_address(), None);

    socket.handle_bound(now(), addr(LOCAL_V4));
    let drained = drain(&mut socket);
    assert_eq!(
        drained.events,
        [SocketEvent::Listening {
            address: addr(LOCAL_V4)
        }]
    );
    assert_eq!(socket.local_address(), Some(addr(LOCAL_V4)));
    assert!(socket.wants_read());
    assert_eq!(socket.poll_timeout(), None);
}

/// Node docs `dgram.md` › `socket.bind()`: `bind(port, address)` binds exactly there; udp6 with no
/// address binds `[::]:0`.
#[test]
fn unbound_bind_with_address_binds_there() {
    let mut v4 = socket_unbound(Family::Udp4);
    v4.bind(now(), Some(addr("127.0.0.1:5353"))).unwrap();
    assert_eq!(
        drain(&mut v4).actions,
        [Action::Bind(addr("127.0.0.1:5353"))]
    );

    let mut v6 = socket_unbound(Family::Udp6);
    v6.bind(now(), None).unwrap();
    assert_eq!(drain(&mut v6).actions, [Action::Bind(addr("[::]:0"))]);
}

/// Node docs `dgram.md` › `socket.bind()`: binding a bound or binding socket fails with
/// `ERR_SOCKET_ALREADY_BOUND` and changes nothing.
#[test]
fn bound_bind_again_already_bound() {
    let mut bound = socket_bound(Family::Udp4);
    let error = assert_rejected(&mut bound, |s| s.bind(now(), None));
    assert_eq!(error, Error::Usage(UsageError::AlreadyBound));
    assert_eq!(error.code(), "ERR_SOCKET_ALREADY_BOUND");

    let mut binding = socket_unbound(Family::Udp4);
    binding.bind(now(), None).unwrap();
    let error = assert_rejected(&mut binding, |s| s.bind(now(), Some(addr(LOCAL_V4))));
    assert_eq!(error.code(), "ERR_SOCKET_ALREADY_BOUND");
    assert_eq!(drain(&mut binding).actions.len(), 1, "one bind only");
}

/// Node docs `dgram.md` › `socket.bind()`, `socket.send()`: the implicit bind of `send()` counts: a
/// later `bind()` is already bound.
#[test]
fn implicitly_binding_bind_already_bound() {
    let mut socket = socket_unbound(Family::Udp4);
    socket
        .send(now(), payload(3), 0, 3, 9, None)
        .expect("send binds implicitly");
    let error = assert_rejected(&mut socket, |s| s.bind(now(), None));
    assert_eq!(error.code(), "ERR_SOCKET_ALREADY_BOUND");
}

/// Node docs `dgram.md` › `socket.bind()`: a bind failure emits `'error'` (no `'listening'`) and
/// the socket may bind again.
#[test]
fn binding_bind_error_reports_and_allows_rebind() {
    let mut socket = socket_unbound(Family::Udp4);
    socket.bind(now(), Some(addr(LOCAL_V4))).unwrap();
    drain(&mut socket);
    socket.handle_bind_error(now(), ErrorKind::AddrInUse);
    let drained = drain(&mut socket);
    assert_eq!(
        drained.events,
        [SocketEvent::Error(Error::Io(ErrorKind::AddrInUse))]
    );
    assert_eq!(Error::Io(ErrorKind::AddrInUse).code(), "EADDRINUSE");
    assert_eq!(socket.local_address(), None);
    assert!(!socket.wants_read());

    socket.bind(now(), Some(addr("127.0.0.1:40005"))).unwrap();
    assert_eq!(
        drain(&mut socket).actions,
        [Action::Bind(addr("127.0.0.1:40005"))]
    );
    socket.handle_bound(now(), addr("127.0.0.1:40005"));
    assert!(matches!(
        drain(&mut socket).events[..],
        [SocketEvent::Listening { .. }]
    ));
}

/// Node docs `dgram.md` › `socket.bind()`, `socket.send()`: when the implicit bind fails, `'error'`
/// comes first, then every send that waited for the bind fails with the same error, in send order.
#[test]
fn binding_bind_error_fails_queued_sends() {
    let mut socket = socket_unbound(Family::Udp4);
    let first = socket.send(now(), payload(1), 0, 1, 9, None).unwrap();
    let second = socket.send(now(), payload(2), 0, 2, 9, None).unwrap();
    drain(&mut socket);
    socket.handle_bind_error(now(), ErrorKind::PermissionDenied);
    let failed = Err(Error::Io(ErrorKind::PermissionDenied));
    assert_eq!(
        drain(&mut socket).events,
        [
            SocketEvent::Error(Error::Io(ErrorKind::PermissionDenied)),
            SocketEvent::Sent {
                id: first,
                result: failed.clone()
            },
            SocketEvent::Sent {
                id: second,
                result: failed
            },
        ]
    );
    assert_eq!(socket.queued_datagrams(), 0);
}

/// Node docs `dgram.md` › `socket.bind()`: outcomes the driver reports out of turn are ignored.
#[test]
fn unbound_stray_outcomes_are_ignored() {
    let mut socket = socket_unbound(Family::Udp4);
    socket.handle_bound(now(), addr(LOCAL_V4));
    socket.handle_bind_error(now(), ErrorKind::AddrInUse);
    socket.handle_connected(now());
    socket.handle_datagram(now(), payload(4), addr(PEER_V4));
    let drained = drain(&mut socket);
    assert!(drained.events.is_empty() && drained.actions.is_empty());
    assert_eq!(socket.local_address(), None);

    let mut bound = socket_bound(Family::Udp4);
    bound.handle_bound(now(), addr(PEER_V4));
    bound.handle_bind_error(now(), ErrorKind::AddrInUse);
    assert!(drain(&mut bound).events.is_empty());
    assert_eq!(bound.local_address(), Some(addr(LOCAL_V4)));
}
