//! `send()`: argument checks, implicit bind, sizes, results and the queue bound
//! (docs/node-semantics.md#dgram-implicit-bind, #dgram-offset-length to #dgram-max-size).

use std::io::ErrorKind;
use std::net::IpAddr;

use super::harness::*;
use crate::{Action, Error, Family, SendId, Socket, SocketConfig, SocketEvent, UsageError};

/// Node docs `dgram.md` › `socket.send()`: `send()` on an unbound socket binds it to all
/// interfaces, port 0; the datagram leaves only once bound, and `'listening'` comes before the
/// send's result.
#[test]
fn unbound_send_binds_implicitly_listening_before_sent() {
    let mut socket = socket_unbound(Family::Udp4);
    let id = socket.send(now(), payload(4), 0, 4, 41234, None).unwrap();
    let drained = drain(&mut socket);
    assert!(
        drained.transmits.is_empty(),
        "nothing leaves before the bind"
    );
    assert_eq!(drained.actions, [Action::Bind(addr("0.0.0.0:0"))]);
    assert!(drained.events.is_empty());
    assert_eq!(socket.queued_datagrams(), 1);

    socket.handle_bound(now(), addr(LOCAL_V4));
    let drained = drain(&mut socket);
    assert_eq!(drained.transmits.len(), 1);
    assert_eq!(drained.transmits[0].id, id);
    assert_eq!(drained.transmits[0].destination, addr("127.0.0.1:41234"));
    socket.handle_sent(now(), id, Ok(4));
    let events = drain(&mut socket).events;
    assert_eq!(
        drained.events,
        [SocketEvent::Listening {
            address: addr(LOCAL_V4)
        }]
    );
    assert_eq!(events, [SocketEvent::Sent { id, result: Ok(4) }]);
    assert_eq!(socket.queued_datagrams(), 0);
}

/// Node docs `dgram.md` › `socket.send()`: further sends while the implicit bind is in progress do
/// not bind again, and all leave in send order once bound.
#[test]
fn binding_send_again_binds_once_keeps_order() {
    let mut socket = socket_unbound(Family::Udp6);
    let ids: Vec<SendId> = (0..3)
        .map(|i| socket.send(now(), payload(i), 0, i, 7, None).unwrap())
        .collect();
    assert_eq!(ids, [SendId(0), SendId(1), SendId(2)]);
    assert_eq!(drain(&mut socket).actions, [Action::Bind(addr("[::]:0"))]);
    socket.handle_bound(now(), addr(LOCAL_V6));
    let sent: Vec<SendId> = drain(&mut socket).transmits.iter().map(|d| d.id).collect();
    assert_eq!(sent, ids);
}

/// Node source `lib/dgram.js` › `sliceBuffer`: `offset > len` throws `ERR_BUFFER_OUT_OF_BOUNDS` and
/// changes nothing (no implicit bind either).
#[test]
fn unbound_send_offset_past_end_out_of_bounds() {
    let mut socket = socket_unbound(Family::Udp4);
    let error = assert_rejected(&mut socket, |s| s.send(now(), payload(4), 5, 0, 9, None));
    assert_eq!(
        error,
        Error::Usage(UsageError::OffsetOutOfBounds { offset: 5, len: 4 })
    );
    assert_eq!(error.code(), "ERR_BUFFER_OUT_OF_BOUNDS");
}

/// Node source `lib/dgram.js` › `sliceBuffer`: `offset + length > len` throws
/// `ERR_BUFFER_OUT_OF_BOUNDS`, including when the sum overflows.
#[test]
fn bound_send_length_past_end_out_of_bounds() {
    let mut socket = socket_bound(Family::Udp4);
    let error = assert_rejected(&mut socket, |s| s.send(now(), payload(4), 1, 4, 9, None));
    assert_eq!(
        error,
        Error::Usage(UsageError::LengthOutOfBounds {
            offset: 1,
            length: 4,
            len: 4
        })
    );
    assert_eq!(error.code(), "ERR_BUFFER_OUT_OF_BOUNDS");
    let error = assert_rejected(&mut socket, |s| {
        s.send(now(), payload(4), 2, usize::MAX, 9, None)
    });
    assert_eq!(error.code(), "ERR_BUFFER_OUT_OF_BOUNDS");
}

/// Node docs `dgram.md` › `socket.send()`; Node source `lib/dgram.js` › `sliceBuffer`: an exact fit
/// is fine, and the datagram is exactly the `offset..offset + length` slice; an empty slice at the
/// end is a valid empty datagram.
#[test]
fn bound_send_slice_exact_fit_sends_the_slice() {
    let mut socket = socket_bound(Family::Udp4);
    let data = payload(10);
    socket.send(now(), data.clone(), 3, 7, 9, None).unwrap();
    socket.send(now(), data.clone(), 2, 3, 9, None).unwrap();
    socket.send(now(), data.clone(), 10, 0, 9, None).unwrap();
    let transmits = drain(&mut socket).transmits;
    assert_eq!(transmits[0].data, data.slice(3..10));
    assert_eq!(transmits[1].data, data.slice(2..5));
    assert!(transmits[2].data.is_empty());
}

/// Node docs `dgram.md` › `socket.send()`: port 0 on an unconnected socket throws
/// `ERR_SOCKET_BAD_PORT`, with no bind.
#[test]
fn unbound_send_port_zero_bad_port() {
    let mut socket = socket_unbound(Family::Udp4);
    let error = assert_rejected(&mut socket, |s| s.send(now(), payload(1), 0, 1, 0, None));
    assert_eq!(error, Error::Usage(UsageError::BadPort));
    assert_eq!(error.code(), "ERR_SOCKET_BAD_PORT");
}

/// Node docs `dgram.md` › `socket.send()`: no address sends to `127.0.0.1` on udp4 and `::1` on
/// udp6; a given address is used as is.
#[test]
fn bound_send_without_address_goes_to_loopback() {
    let mut v4 = socket_bound(Family::Udp4);
    v4.send(now(), payload(1), 0, 1, 53, None).unwrap();
    let given: IpAddr = "192.0.2.1".parse().unwrap();
    v4.send(now(), payload(1), 0, 1, 53, Some(given)).unwrap();
    let transmits = drain(&mut v4).transmits;
    assert_eq!(transmits[0].destination, addr("127.0.0.1:53"));
    assert_eq!(transmits[1].destination, addr("192.0.2.1:53"));

    let mut v6 = socket_bound(Family::Udp6);
    v6.send(now(), payload(1), 0, 1, 53, None).unwrap();
    assert_eq!(drain(&mut v6).transmits[0].destination, addr("[::1]:53"));
}

/// Node docs `dgram.md` › `socket.send()`: the send's result is what the driver reports, bytes or
/// the OS error.
#[test]
fn bound_send_result_is_reported_once() {
    let mut socket = socket_bound(Family::Udp4);
    let ok = socket.send(now(), payload(3), 0, 3, 9, None).unwrap();
    let bad = socket.send(now(), payload(3), 0, 3, 9, None).unwrap();
    drain(&mut socket);
    socket.handle_sent(now(), bad, Err(ErrorKind::NetworkUnreachable));
    socket.handle_sent(now(), ok, Ok(3));
    socket.handle_sent(now(), ok, Ok(3)); // a second report is ignored
    socket.handle_sent(now(), SendId(99), Ok(3)); // so is an unknown id
    let events = drain(&mut socket).events;
    assert_eq!(
        events,
        [
            SocketEvent::Sent {
                id: bad,
                result: Err(Error::Io(ErrorKind::NetworkUnreachable))
            },
            SocketEvent::Sent {
                id: ok,
                result: Ok(3)
            },
        ]
    );
    assert_eq!(
        Error::Io(ErrorKind::NetworkUnreachable).code(),
        "ENETUNREACH"
    );
}

/// Node docs `dgram.md` › `Note about UDP datagram size`: 65507 bytes go out on udp4; 65508 fail
/// with `EMSGSIZE` through the send's result (no throw, no `'error'`) and never reach the wire.
#[test]
fn bound_send_over_65507_fails_emsgsize() {
    let mut socket = socket_bound(Family::Udp4);
    let data = payload(65_508);
    let fits = socket
        .send(now(), data.clone(), 0, 65_507, 9, None)
        .unwrap();
    let over = socket.send(now(), data, 0, 65_508, 9, None).unwrap();
    let drained = drain(&mut socket);
    assert_eq!(drained.transmits.len(), 1);
    assert_eq!(drained.transmits[0].id, fits);
    assert_eq!(drained.transmits[0].data.len(), 65_507);
    let too_large = Error::MessageTooLarge {
        size: 65_508,
        limit: 65_507,
    };
    assert_eq!(too_large.code(), "EMSGSIZE");
    assert_eq!(
        drained.events,
        [SocketEvent::Sent {
            id: over,
            result: Err(too_large)
        }]
    );
}

/// Node docs `dgram.md` › `Note about UDP datagram size`, `socket.send()`: an oversize send on an
/// unbound socket still binds; its `EMSGSIZE` follows `'listening'`. udp6 allows 65527 bytes.
#[test]
fn unbound_send_oversize_fails_after_listening() {
    let mut socket = socket_unbound(Family::Udp6);
    let fits = socket
        .send(now(), payload(65_527), 0, 65_527, 9, None)
        .unwrap();
    let over = socket
        .send(now(), payload(65_528), 0, 65_528, 9, None)
        .unwrap();
    drain(&mut socket);
    socket.handle_bound(now(), addr(LOCAL_V6));
    let drained = drain(&mut socket);
    assert_eq!(drained.transmits.len(), 1);
    assert_eq!(drained.transmits[0].id, fits);
    assert_eq!(
        drained.events,
        [
            SocketEvent::Listening {
                address: addr(LOCAL_V6)
            },
            SocketEvent::Sent {
                id: over,
                result: Err(Error::MessageTooLarge {
                    size: 65_528,
                    limit: 65_527
                })
            },
        ]
    );
}

/// Node docs `dgram.md` › `socket.send()`: sends beyond `max_queued_datagrams` (counting datagrams
/// handed to the driver and not yet reported) are accepted and fail with `ENOBUFS`.
#[test]
fn bound_send_beyond_queue_bound_fails_enobufs() {
    let mut config = SocketConfig::new(Family::Udp4);
    config.max_queued_datagrams = 2;
    let mut socket = Socket::new(config);
    let first = socket.send(now(), payload(1), 0, 1, 9, None).unwrap();
    let second = socket.send(now(), payload(1), 0, 1, 9, None).unwrap();
    let third = socket.send(now(), payload(1), 0, 1, 9, None).unwrap();
    assert_eq!(socket.queued_datagrams(), 2);
    let full = Err(Error::SendQueueFull { limit: 2 });
    assert_eq!(
        drain(&mut socket).events,
        [SocketEvent::Sent {
            id: third,
            result: full.clone()
        }]
    );
    assert_eq!(Error::SendQueueFull { limit: 2 }.code(), "ENOBUFS");

    socket.handle_bound(now(), addr(LOCAL_V4));
    assert_eq!(drain(&mut socket).transmits.len(), 2);
    assert_eq!(socket.queued_datagrams(), 2, "in flight still counts");
    let fourth = socket.send(now(), payload(1), 0, 1, 9, None).unwrap();
    socket.handle_sent(now(), first, Ok(1));
    let fifth = socket.send(now(), payload(1), 0, 1, 9, None).unwrap();
    let drained = drain(&mut socket);
    assert_eq!(drained.transmits.len(), 1);
    assert_eq!(drained.transmits[0].id, fifth);
    assert_eq!(
        drained.events,
        [
            SocketEvent::Sent {
                id: fourth,
                result: full
            },
            SocketEvent::Sent {
                id: first,
                result: Ok(1)
            },
        ]
    );
    socket.handle_sent(now(), second, Ok(1));
    socket.handle_sent(now(), fifth, Ok(1));
    assert_eq!(socket.queued_datagrams(), 0);
}
