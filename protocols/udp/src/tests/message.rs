//! `'message'` and `rinfo` (Node docs `dgram.md` › `Event: 'message'`).

use super::harness::*;
use crate::{Family, RemoteInfo, SocketEvent};

/// Node docs `dgram.md` › `Event: 'message'`: a datagram from an IPv4 peer is one `'message'` with
/// `rinfo{address, family, port, size}`.
#[test]
fn bound_datagram_v4_message_with_rinfo() {
    let mut socket = socket_bound(Family::Udp4);
    socket.handle_datagram(now(), payload(5), addr(PEER_V4));
    let rinfo = RemoteInfo {
        address: addr(PEER_V4).ip(),
        family: Family::Udp4,
        port: 40001,
        size: 5,
    };
    assert_eq!(
        drain(&mut socket).events,
        [SocketEvent::Message {
            data: payload(5),
            rinfo
        }]
    );
    assert_eq!(rinfo.family.node_name(), "IPv4");
    assert_eq!(rinfo.socket_addr(), addr(PEER_V4));
}

/// Node docs `dgram.md` › `Event: 'message'`: on udp6 the family comes from the sender's address,
/// IPv4-mapped included.
#[test]
fn bound_datagram_v6_message_with_rinfo() {
    let mut socket = socket_bound(Family::Udp6);
    socket.handle_datagram(now(), payload(3), addr("[2001:db8::7]:9000"));
    socket.handle_datagram(now(), payload(2), addr("[::ffff:192.0.2.1]:9001"));
    let events = drain(&mut socket).events;
    let rinfos: Vec<RemoteInfo> = events
        .iter()
        .filter_map(|event| match event {
            SocketEvent::Message { rinfo, .. } => Some(*rinfo),
            _ => None,
        })
        .collect();
    assert_eq!(
        rinfos,
        [
            RemoteInfo {
                address: "2001:db8::7".parse().unwrap(),
                family: Family::Udp6,
                port: 9000,
                size: 3
            },
            RemoteInfo {
                address: "::ffff:192.0.2.1".parse().unwrap(),
                family: Family::Udp6,
                port: 9001,
                size: 2
            },
        ]
    );
    assert_eq!(rinfos[0].family.node_name(), "IPv6");
}

/// Node docs `dgram.md` › `Event: 'message'`: one `'message'` per datagram, never merged or split,
/// empty ones included.
#[test]
fn bound_datagrams_one_message_each() {
    let mut socket = socket_bound(Family::Udp4);
    let sizes = [3, 0, 65_507, 1];
    for size in sizes {
        socket.handle_datagram(now(), payload(size), addr(PEER_V4));
    }
    let events = drain(&mut socket).events;
    let got: Vec<usize> = events
        .iter()
        .map(|event| match event {
            SocketEvent::Message { data, rinfo } => {
                assert_eq!(data.len(), rinfo.size);
                data.len()
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(got, sizes);
}

/// Node docs `dgram.md` › `socket.bind()`, `Event: 'message'`: nothing is received before the
/// socket is bound.
#[test]
fn unbound_datagram_is_ignored() {
    let mut socket = socket_unbound(Family::Udp4);
    socket.bind(now(), None).unwrap();
    socket.handle_datagram(now(), payload(1), addr(PEER_V4));
    assert!(drain(&mut socket).events.is_empty());
}
