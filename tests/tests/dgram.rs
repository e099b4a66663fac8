//! `dgram` through the driver over loopback: `rinfo`, implicit bind, `EMSGSIZE`, `close`,
//! and `connect` filtering.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use common::{loopback_any, next};
use sansnet_mio::{Event, EventLoop, UdpId};
use sansnet_udp::{Error, Family, SocketConfig, SocketEvent};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn udp_event(ev: &mut EventLoop, what: &str) -> (UdpId, SocketEvent) {
    match next(ev, what) {
        Event::Udp { socket, event } => (socket, event),
        other => panic!("expected a dgram event for {what}, got {other:?}"),
    }
}

fn bound(ev: &mut EventLoop) -> (UdpId, SocketAddr) {
    let socket = ev.udp_socket(SocketConfig::new(Family::Udp4));
    ev.udp_bind(socket, Some(loopback_any())).unwrap();
    match udp_event(ev, "listening") {
        (id, SocketEvent::Listening { address }) if id == socket => (socket, address),
        other => panic!("expected listening, got {other:?}"),
    }
}

/// Node docs `dgram.md` › `socket.bind()`, `socket.send()`, `Event: 'message'`: a bound socket
/// receives one `message` per datagram, never merged, with `rinfo` naming the sender's address,
/// family, port and size; the sender, never bound, was bound implicitly by its first send
/// (`listening` first).
#[test]
fn message_rinfo_names_the_implicitly_bound_sender() {
    let mut ev = EventLoop::new().unwrap();
    let (receiver, receiver_addr) = bound(&mut ev);
    assert_ne!(receiver_addr.port(), 0, "port 0 picks a port");
    let sender = ev.udp_socket(SocketConfig::new(Family::Udp4));
    let first = ev.udp_send(
        sender,
        Bytes::from_static(b"one"),
        receiver_addr.port(),
        None,
    );
    let second = ev.udp_send(
        sender,
        Bytes::from_static(b"second"),
        receiver_addr.port(),
        None,
    );
    let (first, second) = (first.unwrap(), second.unwrap());

    let mut sender_port = None;
    let mut sent = Vec::new();
    let mut messages = Vec::new();
    while messages.len() < 2 || sent.len() < 2 {
        let (socket, event) = udp_event(&mut ev, "datagrams");
        match event {
            SocketEvent::Listening { address } => {
                assert_eq!(socket, sender);
                assert!(
                    sent.is_empty(),
                    "listening comes before any send completes (Node docs dgram.md › socket.send())"
                );
                sender_port = Some(address.port());
            }
            SocketEvent::Sent { id, result } => {
                assert_eq!(socket, sender);
                sent.push((id, result));
            }
            SocketEvent::Message { data, rinfo } => {
                assert_eq!(socket, receiver);
                messages.push((data, rinfo));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(sent, vec![(first, Ok(3)), (second, Ok(6))]);
    let sender_port = sender_port.expect("implicit bind emitted listening");
    assert_eq!(messages.len(), 2, "one message per datagram");
    for ((data, rinfo), expected) in messages.iter().zip([&b"one"[..], &b"second"[..]]) {
        assert_eq!(&data[..], expected);
        assert_eq!(
            rinfo.address, LOCALHOST,
            "an empty address sends to 127.0.0.1 (Node docs dgram.md › socket.send())"
        );
        assert_eq!(rinfo.family, Family::Udp4);
        assert_eq!(rinfo.family.node_name(), "IPv4");
        assert_eq!(rinfo.port, sender_port);
        assert_eq!(rinfo.size, expected.len());
    }
}

/// Node docs `dgram.md` › `Note about UDP datagram size`: 65508 bytes on udp4 fail with EMSGSIZE
/// through the send's completion and never reach the wire; 65507 bytes arrive whole.
#[test]
fn oversize_datagram_gives_emsgsize_and_the_limit_passes() {
    let mut ev = EventLoop::new().unwrap();
    let (receiver, receiver_addr) = bound(&mut ev);
    let (sender, _) = bound(&mut ev);
    let too_big = ev.udp_send(
        sender,
        Bytes::from(vec![1u8; 65_508]),
        receiver_addr.port(),
        None,
    );
    let too_big = too_big.unwrap();
    let max = ev.udp_send(
        sender,
        Bytes::from(vec![2u8; 65_507]),
        receiver_addr.port(),
        None,
    );
    let max = max.unwrap();
    let mut results = Vec::new();
    let mut received = Vec::new();
    while results.len() < 2 || received.is_empty() {
        match udp_event(&mut ev, "send results") {
            (_, SocketEvent::Sent { id, result }) => results.push((id, result)),
            (socket, SocketEvent::Message { data, rinfo }) => {
                assert_eq!(socket, receiver);
                assert_eq!(rinfo.size, data.len());
                received.push(data.len());
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let (id, result) = &results[0];
    assert_eq!(*id, too_big);
    let error = result.clone().unwrap_err();
    assert!(matches!(error, Error::MessageTooLarge { size: 65_508, .. }));
    assert_eq!(error.code(), "EMSGSIZE");
    assert_eq!(results[1], (max, Ok(65_507)));
    assert_eq!(
        received,
        vec![65_507],
        "only the datagram within the limit arrived"
    );
}

/// Node docs `dgram.md` › `Event: 'close'`: after `close()` the socket emits `close`, no `message`
/// follows, and `send` fails with ERR_SOCKET_DGRAM_NOT_RUNNING.
#[test]
fn closed_socket_gets_no_message_and_send_fails() {
    let mut ev = EventLoop::new().unwrap();
    let (receiver, receiver_addr) = bound(&mut ev);
    let (sender, _) = bound(&mut ev);
    ev.udp_close(receiver).unwrap();
    assert_eq!(udp_event(&mut ev, "close"), (receiver, SocketEvent::Close));
    let id = ev.udp_send(
        sender,
        Bytes::from_static(b"anyone?"),
        receiver_addr.port(),
        None,
    );
    let id = id.unwrap();
    assert_eq!(
        udp_event(&mut ev, "sent"),
        (sender, SocketEvent::Sent { id, result: Ok(7) })
    );
    assert_eq!(
        ev.next_event(Some(Duration::from_millis(200))).unwrap(),
        None,
        "no message"
    );
    let err = ev
        .udp_send(receiver, Bytes::from_static(b"x"), 9, None)
        .unwrap_err();
    assert_eq!(err.code(), "ERR_SOCKET_DGRAM_NOT_RUNNING");
}

/// Node docs `dgram.md` › `socket.connect()`: a connected socket emits `connect`, sends without a
/// port to its peer, and only its peer's datagrams arrive.
#[test]
fn connected_socket_hears_only_its_peer() {
    let mut ev = EventLoop::new().unwrap();
    let (peer, peer_addr) = bound(&mut ev);
    let (stranger, _) = bound(&mut ev);
    let (connected, connected_addr) = bound(&mut ev);
    ev.udp_command(connected, |socket, now| socket.connect(now, peer_addr))
        .unwrap();
    assert_eq!(
        udp_event(&mut ev, "connect"),
        (connected, SocketEvent::Connect)
    );
    let id = ev
        .udp_send(connected, Bytes::from_static(b"to peer"), 0, None)
        .unwrap();
    let mut got_sent = false;
    let mut peer_got = None;
    while !(got_sent && peer_got.is_some()) {
        match udp_event(&mut ev, "connected send") {
            (s, SocketEvent::Sent { id: sent, result }) if s == connected => {
                assert_eq!((sent, result), (id, Ok(7)));
                got_sent = true;
            }
            (s, SocketEvent::Message { data, rinfo }) if s == peer => {
                assert_eq!(rinfo.port, connected_addr.port());
                peer_got = Some(data);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(peer_got.as_deref(), Some(&b"to peer"[..]));
    ev.udp_send(
        stranger,
        Bytes::from_static(b"ignored"),
        connected_addr.port(),
        None,
    )
    .unwrap();
    ev.udp_send(
        peer,
        Bytes::from_static(b"welcome"),
        connected_addr.port(),
        None,
    )
    .unwrap();
    let mut messages = Vec::new();
    while let Some(event) = ev.next_event(Some(Duration::from_millis(300))).unwrap() {
        if let Event::Udp {
            socket,
            event: SocketEvent::Message { data, rinfo },
        } = event
        {
            assert_eq!(socket, connected);
            messages.push((data, rinfo.port));
        }
    }
    assert_eq!(
        messages,
        vec![(Bytes::from_static(b"welcome"), peer_addr.port())]
    );
}

/// Node docs `dgram.md` › `socket.bind()`: binding a port that is in use emits `error`
/// (EADDRINUSE); the socket may bind again elsewhere.
#[test]
fn bind_to_used_port_emits_error_and_rebind_works() {
    let mut ev = EventLoop::new().unwrap();
    let (_first, first_addr) = bound(&mut ev);
    let second = ev.udp_socket(SocketConfig::new(Family::Udp4));
    ev.udp_bind(second, Some(first_addr)).unwrap();
    match udp_event(&mut ev, "bind error") {
        (id, SocketEvent::Error(error)) => {
            assert_eq!(id, second);
            assert_eq!(error.code(), "EADDRINUSE");
        }
        other => panic!("expected error, got {other:?}"),
    }
    ev.udp_bind(second, Some(loopback_any())).unwrap();
    assert!(
        matches!(udp_event(&mut ev, "rebind"), (id, SocketEvent::Listening { .. }) if id == second)
    );
    assert_eq!(
        ev.udp_bind(second, None).unwrap_err().code(),
        "ERR_SOCKET_ALREADY_BOUND"
    );
}
