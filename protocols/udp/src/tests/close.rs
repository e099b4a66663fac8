//! `close()` and what follows it (Node docs `dgram.md` › `Event: 'close'`).

use std::io::ErrorKind;

use super::harness::*;
use crate::{Action, Error, Family, SocketEvent, UsageError};

/// Node docs `dgram.md` › `Event: 'close'`: `close()` queues `Action::Close` and emits `'close'`,
/// last.
#[test]
fn bound_close_emits_close_last() {
    let mut socket = socket_bound(Family::Udp4);
    socket.close(now()).unwrap();
    let drained = drain(&mut socket);
    assert_eq!(drained.actions, [Action::Close]);
    assert_eq!(drained.events, [SocketEvent::Close]);
    assert!(socket.is_closed());
    assert!(!socket.wants_read());
    assert_eq!(socket.local_address(), None);
}

/// Node docs `dgram.md` › `Event: 'close'`: an unbound socket closes too; a bind not yet taken by
/// the driver is withdrawn.
#[test]
fn binding_close_replaces_pending_bind() {
    let mut socket = socket_unbound(Family::Udp4);
    socket.bind(now(), None).unwrap();
    socket.close(now()).unwrap();
    let drained = drain(&mut socket);
    assert_eq!(drained.actions, [Action::Close]);
    assert_eq!(drained.events, [SocketEvent::Close]);
}

/// Node docs `dgram.md` › `Event: 'close'`: no `'message'` (or any event) follows `'close'`; late
/// driver outcomes are ignored.
#[test]
fn closed_inputs_are_ignored() {
    let mut socket = socket_bound(Family::Udp4);
    socket.close(now()).unwrap();
    drain(&mut socket);
    socket.handle_datagram(now(), payload(4), addr(PEER_V4));
    socket.handle_bound(now(), addr(LOCAL_V4));
    socket.handle_bind_error(now(), ErrorKind::AddrInUse);
    socket.handle_connected(now());
    socket.handle_io_error(now(), ErrorKind::ConnectionRefused);
    let drained = drain(&mut socket);
    assert!(drained.events.is_empty());
    assert!(drained.actions.is_empty());
}

/// Node docs `dgram.md` › `Event: 'close'`: after `close()` every command throws
/// `ERR_SOCKET_DGRAM_NOT_RUNNING`, `close()` itself included, and changes nothing.
#[test]
fn closed_commands_not_running() {
    let mut socket = socket_bound(Family::Udp4);
    socket.close(now()).unwrap();
    drain(&mut socket);
    let not_running = Error::Usage(UsageError::NotRunning);
    let send = assert_rejected(&mut socket, |s| s.send(now(), payload(1), 0, 1, 9, None));
    assert_eq!(send, not_running);
    assert_eq!(send.code(), "ERR_SOCKET_DGRAM_NOT_RUNNING");
    assert_eq!(
        assert_rejected(&mut socket, |s| s.close(now())),
        not_running
    );
    assert_eq!(
        assert_rejected(&mut socket, |s| s.bind(now(), None)),
        not_running
    );
    assert_eq!(
        assert_rejected(&mut socket, |s| s.connect(now(), addr(PEER_V4))),
        not_running
    );
    assert_eq!(
        assert_rejected(&mut socket, |s| s.disconnect(now())),
        not_running
    );
}

/// Node docs `dgram.md` › `Event: 'close'`, `socket.send()`: sends still pending at `close()`
/// (waiting for the bind, queued, or handed to the driver) each get one failed result, in send
/// order, before `'close'`.
#[test]
fn bound_close_fails_pending_sends_before_close() {
    let mut socket = socket_bound(Family::Udp4);
    let in_flight = socket.send(now(), payload(1), 0, 1, 9, None).unwrap();
    assert_eq!(drain(&mut socket).transmits.len(), 1);
    let queued = socket.send(now(), payload(1), 0, 1, 9, None).unwrap();
    socket.close(now()).unwrap();
    socket.handle_sent(now(), in_flight, Ok(1)); // too late: already reported
    let not_running = Err(Error::Usage(UsageError::NotRunning));
    let drained = drain(&mut socket);
    assert!(drained.transmits.is_empty());
    assert_eq!(
        drained.events,
        [
            SocketEvent::Sent {
                id: in_flight,
                result: not_running.clone()
            },
            SocketEvent::Sent {
                id: queued,
                result: not_running
            },
            SocketEvent::Close,
        ]
    );
    assert_eq!(socket.queued_datagrams(), 0);
}

/// Node docs `dgram.md` › `socket.send()`, `Event: 'close'`: a send waiting for its implicit bind
/// is dropped by `close()`.
#[test]
fn binding_close_fails_waiting_send() {
    let mut socket = socket_unbound(Family::Udp4);
    let id = socket.send(now(), payload(1), 0, 1, 9, None).unwrap();
    socket.close(now()).unwrap();
    let drained = drain(&mut socket);
    assert!(drained.transmits.is_empty());
    assert_eq!(drained.actions, [Action::Close]);
    assert_eq!(
        drained.events,
        [
            SocketEvent::Sent {
                id,
                result: Err(Error::Usage(UsageError::NotRunning))
            },
            SocketEvent::Close,
        ]
    );
}
