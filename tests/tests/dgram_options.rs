//! `dgram` socket options through the driver over loopback, with Node's own `dgram` as the
//! peer (`tests/peers/dgram_options.mjs`): broadcast to `127.255.255.255` and multicast to
//! `239.255.0.1` on the loopback interface, in both directions, and the OS's refusals
//! arriving as `'error'`.
//!
//! The loopback set-up, checked on Linux without touching routing: broadcasts to
//! `127.255.255.255:P` reach a socket bound to `0.0.0.0:P` (not one bound to `127.0.0.1:P`);
//! multicast reaches a socket bound to `0.0.0.0:P` that joined the group on `127.0.0.1` when
//! the sender sets `IP_MULTICAST_IF` to `127.0.0.1` (no multicast route on `lo` is needed).
//!
//! A missing Node fails these tests (`peers::node` panics); they never skip.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;

use bytes::Bytes;
use common::{ChildGuard, Json, WAIT, lines_on_thread, next};
use sansnet_mio::{Event, EventLoop, UdpId};
use sansnet_testkit::peers;
use sansnet_udp::{
    Error, Family, MulticastInterface, RemoteInfo, SocketConfig, SocketEvent, SocketOption,
};

const BROADCAST: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 255, 255, 255));
const GROUP: IpAddr = IpAddr::V4(Ipv4Addr::new(239, 255, 0, 1));
const LO: MulticastInterface = MulticastInterface::V4(Ipv4Addr::LOCALHOST);

/// `tests/peers/dgram_options.mjs`, killed on drop, and the port it bound.
struct NodePeer {
    _guard: ChildGuard,
    lines: Receiver<String>,
    port: u16,
}

impl NodePeer {
    fn start(mode: &str, our_port: u16) -> Self {
        let child = Command::new(peers::node())
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/peers/dgram_options.mjs"
            ))
            .arg(mode)
            .arg(our_port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start node");
        let mut guard = ChildGuard {
            child,
            name: format!("node dgram_options.mjs {mode}"),
        };
        let lines = lines_on_thread(guard.child.stdout.take().expect("stdout is piped"));
        let mut peer = Self {
            _guard: guard,
            lines,
            port: 0,
        };
        let port = peer.line("the Node socket's port").get("port").num();
        peer.port = u16::try_from(port).unwrap();
        assert_ne!(peer.port, 0);
        peer
    }

    /// The next JSON line Node prints; a test failure if none comes or Node failed.
    fn line(&self, what: &str) -> Json {
        let line = self
            .lines
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("no line from Node within {WAIT:?} for {what}: {e}"));
        let json =
            Json::parse(&line).unwrap_or_else(|e| panic!("bad JSON from Node ({e}): {line}"));
        if let Json::Obj(map) = &json {
            assert!(!map.contains_key("fatal"), "Node failed: {line}");
        }
        json
    }

    /// Node's report of a datagram it received: its text and the sender's port.
    fn received(&self, what: &str) -> (String, u16) {
        let json = self.line(what);
        let port = u16::try_from(json.get("port").num()).unwrap();
        (json.get("received").str().to_owned(), port)
    }
}

fn udp_event(ev: &mut EventLoop, what: &str) -> (UdpId, SocketEvent) {
    match next(ev, what) {
        Event::Udp { socket, event } => (socket, event),
        other => panic!("expected a dgram event for {what}, got {other:?}"),
    }
}

/// A udp4 socket bound to `0.0.0.0:0` (where broadcasts and group traffic arrive).
fn bound_any(ev: &mut EventLoop) -> (UdpId, SocketAddr) {
    let socket = ev.udp_socket(SocketConfig::new(Family::Udp4));
    ev.udp_bind(socket, Some(SocketAddr::from(([0, 0, 0, 0], 0))))
        .unwrap();
    match udp_event(ev, "listening") {
        (id, SocketEvent::Listening { address }) if id == socket => (socket, address),
        other => panic!("expected listening, got {other:?}"),
    }
}

/// Sends `data` to `address:port` and waits for its result.
fn send(
    ev: &mut EventLoop,
    socket: UdpId,
    data: &'static [u8],
    port: u16,
    address: IpAddr,
) -> Result<usize, Error> {
    let id = ev
        .udp_send(socket, Bytes::from_static(data), port, Some(address))
        .unwrap();
    match udp_event(ev, "the send's result") {
        (s, SocketEvent::Sent { id: sent, result }) if s == socket && sent == id => result,
        other => panic!("expected the send's result, got {other:?}"),
    }
}

/// The next datagram `socket` receives.
fn message(ev: &mut EventLoop, socket: UdpId, what: &str) -> (Bytes, RemoteInfo) {
    match udp_event(ev, what) {
        (s, SocketEvent::Message { data, rinfo }) if s == socket => (data, rinfo),
        other => panic!("expected a message for {what}, got {other:?}"),
    }
}

/// Node docs `dgram.md` › `socket.setBroadcast()`: without it the kernel refuses a send to a
/// broadcast address (`EACCES`); with it our socket and Node's exchange broadcasts to
/// `127.255.255.255` both ways.
#[test]
fn broadcast_both_ways_with_node() {
    let mut ev = EventLoop::new().unwrap();
    let (ours, our_addr) = bound_any(&mut ev);

    let refused = send(&mut ev, ours, b"too early", 9, BROADCAST).unwrap_err();
    assert_eq!(refused, Error::Io(ErrorKind::PermissionDenied));
    assert_eq!(refused.code(), "EACCES");

    ev.udp_command(ours, |s, now| s.set_broadcast(now, true))
        .unwrap();
    let node = NodePeer::start("broadcast", our_addr.port());
    assert_eq!(
        send(&mut ev, ours, b"from sansnet", node.port, BROADCAST),
        Ok(12)
    );
    let (text, from) = node.received("our broadcast at Node");
    assert_eq!(text, "from sansnet");
    assert_eq!(from, our_addr.port());

    let (data, rinfo) = message(&mut ev, ours, "Node's broadcast");
    assert_eq!(&data[..], b"from node");
    assert_eq!(rinfo.port, node.port);
    assert_eq!(node.line("Node's send").get("sent").str(), "from node");
}

/// Node docs `dgram.md` › `socket.addMembership()`, `socket.setMulticastInterface()`,
/// `socket.setMulticastLoopback()`, `socket.dropMembership()`: our socket and Node's exchange
/// group datagrams for 239.255.0.1 on the loopback interface both ways: ours reaches Node's
/// membership, then Node leaves the group and its answer reaches ours (Linux hands group
/// datagrams to every socket bound to `0.0.0.0` on the port while any socket on the host is
/// a member, `ip(7)` › `IP_MULTICAST_ALL`, so only one side is a member at a time). After our
/// `dropMembership()` (and a unicast datagram telling Node to go on) no socket is a member:
/// Node's next group datagram does not reach us, while its unicast marker sent after it does.
#[test]
fn multicast_both_ways_with_node_and_drop_membership() {
    let mut ev = EventLoop::new().unwrap();
    let (ours, our_addr) = bound_any(&mut ev);
    ev.udp_command(ours, |s, now| {
        s.add_membership(now, GROUP, Some(LO))?;
        s.set_multicast_interface(now, LO)?;
        s.set_multicast_loopback(now, true)?;
        s.set_multicast_ttl(now, 1)
    })
    .unwrap();

    let node = NodePeer::start("multicast", our_addr.port());
    assert_eq!(
        send(&mut ev, ours, b"from sansnet", node.port, GROUP),
        Ok(12)
    );
    let (text, from) = node.received("our group datagram at Node");
    assert_eq!(text, "from sansnet");
    assert_eq!(from, our_addr.port());
    let (data, rinfo) = message(&mut ev, ours, "Node's group datagram");
    assert_eq!(&data[..], b"from node");
    assert_eq!(rinfo.port, node.port);
    assert_eq!(node.line("Node's send").get("sent").str(), "from node");

    ev.udp_command(ours, |s, now| s.drop_membership(now, GROUP, Some(LO)))
        .unwrap();
    let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
    assert_eq!(send(&mut ev, ours, b"again", node.port, local), Ok(5));
    assert_eq!(node.received("our unicast datagram").0, "again");
    let (data, rinfo) = message(&mut ev, ours, "Node's marker");
    assert_eq!(
        &data[..],
        b"marker",
        "the group datagram sent before the marker arrived after dropMembership()"
    );
    assert_eq!(rinfo.port, node.port);
    assert_eq!(node.line("Node's send").get("sent").str(), "after drop");
    assert_eq!(node.line("Node's marker").get("sent").str(), "marker");
}

/// Node 20 throws `addMembership EADDRINUSE` for a group joined twice, `dropMembership
/// EADDRNOTAVAIL` for one not joined and `setMulticastInterface EADDRNOTAVAIL` for an address
/// no interface has; the driver gets the same refusals from the OS and they arrive as
/// `'error'`, naming the option. The socket keeps working.
#[test]
fn refused_options_arrive_as_errors() {
    let mut ev = EventLoop::new().unwrap();
    let (ours, our_addr) = bound_any(&mut ev);
    let join = SocketOption::AddMembership {
        group: GROUP,
        interface: Some(LO),
    };
    let nowhere = MulticastInterface::V4(Ipv4Addr::new(198, 51, 100, 1));
    let cases: [(SocketOption, ErrorKind, &str); 3] = [
        (join, ErrorKind::AddrInUse, "EADDRINUSE"),
        (
            SocketOption::DropMembership {
                group: IpAddr::V4(Ipv4Addr::new(239, 255, 0, 2)),
                interface: Some(LO),
            },
            ErrorKind::AddrNotAvailable,
            "EADDRNOTAVAIL",
        ),
        (
            SocketOption::MulticastInterface(nowhere),
            ErrorKind::AddrNotAvailable,
            "EADDRNOTAVAIL",
        ),
    ];
    ev.udp_command(ours, |s, now| s.add_membership(now, GROUP, Some(LO)))
        .unwrap();
    ev.udp_command(ours, |s, now| s.add_membership(now, GROUP, Some(LO)))
        .unwrap();
    ev.udp_command(ours, |s, now| {
        s.drop_membership(now, IpAddr::V4(Ipv4Addr::new(239, 255, 0, 2)), Some(LO))
    })
    .unwrap();
    ev.udp_command(ours, |s, now| s.set_multicast_interface(now, nowhere))
        .unwrap();
    for (option, kind, code) in cases {
        match udp_event(&mut ev, option.node_method()) {
            (s, SocketEvent::Error(error)) if s == ours => {
                assert_eq!(error, Error::SocketOption { option, kind });
                assert_eq!(error.code(), code);
            }
            other => panic!(
                "expected {} to fail with {code}, got {other:?}",
                option.node_method()
            ),
        }
    }
    // The options that the OS takes give no event; the socket still sends and receives.
    ev.udp_command(ours, |s, now| {
        s.set_ttl(now, 1)?;
        s.set_multicast_ttl(now, 0)?;
        s.set_multicast_loopback(now, false)?;
        s.set_broadcast(now, false)
    })
    .unwrap();
    let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
    assert_eq!(send(&mut ev, ours, b"self", our_addr.port(), local), Ok(4));
    assert_eq!(&message(&mut ev, ours, "our own datagram").0[..], b"self");
}

/// Node docs `dgram.md` › `socket.setRecvBufferSize()`, `socket.getRecvBufferSize()` (and the
/// send variants): the getters read what the OS holds, which on Linux is twice the size set
/// (`socket(7)` › `SO_RCVBUF`); before the bind both throw `ERR_SOCKET_BUFFER_SIZE`, as in
/// Node 20.
#[test]
fn buffer_sizes_set_and_read_back() {
    let mut ev = EventLoop::new().unwrap();
    let unbound = ev.udp_socket(SocketConfig::new(Family::Udp4));
    let early = ev.udp_recv_buffer_size(unbound).unwrap_err();
    assert_eq!(early.code(), "ERR_SOCKET_BUFFER_SIZE");
    assert_eq!(
        ev.udp_send_buffer_size(unbound).unwrap_err().code(),
        "ERR_SOCKET_BUFFER_SIZE"
    );
    let set = ev
        .udp_command(unbound, |s, now| s.set_recv_buffer_size(now, 4096))
        .unwrap_err();
    assert_eq!(set.code(), "ERR_SOCKET_BUFFER_SIZE");

    let (ours, _) = bound_any(&mut ev);
    ev.udp_command(ours, |s, now| s.set_recv_buffer_size(now, 65_536))
        .unwrap();
    ev.udp_command(ours, |s, now| s.set_send_buffer_size(now, 32_768))
        .unwrap();
    assert_eq!(ev.udp_recv_buffer_size(ours), Ok(131_072));
    assert_eq!(ev.udp_send_buffer_size(ours), Ok(65_536));
    ev.udp_close(ours).unwrap();
    assert_eq!(
        ev.udp_recv_buffer_size(ours).unwrap_err().code(),
        "ERR_SOCKET_DGRAM_NOT_RUNNING"
    );
}
