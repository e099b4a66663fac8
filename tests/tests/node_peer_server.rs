//! Node.js as the SERVER our driver connects to: Node 20's own `net` and `dgram` modules (peers
//! no one here wrote) serve a TCP echo, a half-open TCP server and a UDP echo over loopback,
//! started from `tests/peers/net_dgram_server.mjs`; `sansnet_mio::EventLoop` is the client.
//!
//! A missing Node fails these tests (`peers::node` panics); they never skip.

#![allow(
    clippy::panic,
    reason = "helpers outside #[test] fns fail the test by panicking, with a message"
)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{random_bytes, sha256};
use sansnet_mio::{Event, EventLoop, SocketId, UdpId};
use sansnet_tcp::{Address, SocketConfig, SocketEvent};
use sansnet_testkit::peers;
use sansnet_udp::{Family, SocketEvent as UdpEvent};

/// How long any single wait for an event or a line from Node may take.
const WAIT: Duration = Duration::from_secs(10);
const ECHO_BYTES: usize = 8 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// The Node servers, stopped when this is dropped: closing Node's stdin makes it exit; a Node
/// that does not exit within a second is killed.
#[derive(Debug)]
struct NodeServer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    echo: u16,
    half_open: u16,
    udp: u16,
}

impl NodeServer {
    fn start() -> Self {
        let script = peers::scripts_dir().join("net_dgram_server.mjs");
        let mut child = Command::new(peers::node())
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start node");
        let stdin = child.stdin.take();
        let lines = lines_of(child.stdout.take().expect("node stdout is piped"));
        let mut server = Self {
            child,
            stdin,
            lines,
            echo: 0,
            half_open: 0,
            udp: 0,
        };
        let ports = server.line("the Node servers' ports");
        server.echo = json_port(&ports, "echo");
        server.half_open = json_port(&ports, "half_open");
        server.udp = json_port(&ports, "udp");
        server
    }

    /// The next line Node prints, or a test failure naming `what`.
    fn line(&self, what: &str) -> String {
        self.lines
            .recv_timeout(WAIT)
            .unwrap_or_else(|e| panic!("no line from Node within {WAIT:?} for {what}: {e}"))
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `stream` on a thread, sending each line down the returned channel.
fn lines_of(stream: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The whole number after `"key":` in a flat JSON line such as `{"echo":41234,...}`.
fn json_port(line: &str, key: &str) -> u16 {
    let pattern = format!("\"{key}\":");
    let start = line
        .find(&pattern)
        .unwrap_or_else(|| panic!("no {key:?} in Node's line {line:?}"))
        + pattern.len();
    let digits: String = line[start..]
        .chars()
        .skip_while(|c| c.is_whitespace())
        .take_while(char::is_ascii_digit)
        .collect();
    let port: u16 = digits
        .parse()
        .unwrap_or_else(|_| panic!("bad {key:?} port in Node's line {line:?}"));
    assert_ne!(port, 0, "Node reported port 0 for {key:?}");
    port
}

/// The string after `"key":` in a flat JSON line such as `{"half_open_received":"hi"}` (no
/// escapes expected).
fn json_str<'a>(line: &'a str, key: &str) -> &'a str {
    let pattern = format!("\"{key}\":\"");
    let start = line
        .find(&pattern)
        .unwrap_or_else(|| panic!("no {key:?} in Node's line {line:?}"))
        + pattern.len();
    let len = line[start..]
        .find('"')
        .unwrap_or_else(|| panic!("unterminated {key:?} in Node's line {line:?}"));
    &line[start..start + len]
}

/// The next event, waiting at most [`WAIT`]; a timeout fails the test naming `what`.
fn next(ev: &mut EventLoop, what: &str) -> Event {
    match ev.next_event(Some(WAIT)) {
        Ok(Some(event)) => event,
        Ok(None) => panic!("no event within {WAIT:?} (or nothing left to wait on) while {what}"),
        Err(e) => panic!("the event loop failed while {what}: {e}"),
    }
}

/// The next event of stream socket `id`; any other event fails the test.
fn next_socket(ev: &mut EventLoop, id: SocketId, what: &str) -> SocketEvent {
    match next(ev, what) {
        Event::Socket { socket, event } if socket == id => event,
        other => panic!("unexpected event while {what}: {other:?}"),
    }
}

/// The next event of datagram socket `id`; any other event fails the test.
fn next_udp(ev: &mut EventLoop, id: UdpId, what: &str) -> UdpEvent {
    match next(ev, what) {
        Event::Udp { socket, event } if socket == id => event,
        other => panic!("unexpected event while {what}: {other:?}"),
    }
}

fn loopback(port: u16) -> Address {
    Address::Tcp(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// docs/node-semantics.md#net-connect-ready, #net-data-order, #net-end-after-data,
/// #net-write-backpressure, #net-drain, #net-close-once, #net-close-order: 8 MiB through Node's
/// `socket.pipe(socket)` echo, written in 64 KiB chunks that honor `write() == false` by waiting
/// for `Drain`; the echo is the same bytes, and the socket sees `Connect`, `Ready`, ..., `Finish`,
/// ..., `End`, `Close(false)`.
#[test]
fn echo_8_mib_through_node_with_backpressure() {
    let node = NodeServer::start();
    let mut ev = EventLoop::new().expect("event loop");
    let id = ev.connect(loopback(node.echo), SocketConfig::default());
    let sent = random_bytes(ECHO_BYTES, 0x8_0000_5eed);

    let mut received = Vec::with_capacity(ECHO_BYTES);
    let mut events = Vec::new();
    let mut offset = 0;
    let mut waiting_for_drain = false;
    let (mut falses, mut drains) = (0, 0);
    let mut ended = false;
    loop {
        let what = format!(
            "echoing through Node (sent {offset} of {ECHO_BYTES}, received {}, events {events:?})",
            received.len()
        );
        let event = next_socket(&mut ev, id, &what);
        match &event {
            SocketEvent::Data(data) => {
                received.extend_from_slice(data);
                continue;
            }
            SocketEvent::Connect => {}
            SocketEvent::Drain => {
                assert!(
                    waiting_for_drain,
                    "Node docs net.md › Event: 'drain': 'drain' only after a write() that returned false"
                );
                waiting_for_drain = false;
                drains += 1;
            }
            SocketEvent::Close { .. } => {
                events.push(event);
                break;
            }
            _ => {}
        }
        let pump = matches!(event, SocketEvent::Connect | SocketEvent::Drain);
        events.push(event);
        if pump {
            while offset < ECHO_BYTES {
                let end = (offset + CHUNK).min(ECHO_BYTES);
                let below_mark = ev
                    .write(id, sent.slice(offset..end))
                    .expect("Node docs net.md › socket.write(): write() accepts the data");
                offset = end;
                if !below_mark {
                    falses += 1;
                    waiting_for_drain = true;
                    break;
                }
            }
            if offset == ECHO_BYTES && !waiting_for_drain && !ended {
                ev.end(id, None).expect("end");
                ended = true;
            }
        }
    }

    assert!(ended, "the whole payload was written and ended");
    assert_eq!(
        received.len(),
        ECHO_BYTES,
        "Node docs net.md › Event: 'data': every byte comes back"
    );
    assert_eq!(
        sha256(&received),
        sha256(&sent),
        "Node docs net.md › Event: 'data': same bytes, same order"
    );
    assert!(
        falses >= 1,
        "Node docs net.md › socket.write(): write() returned false at the high-water mark at least once"
    );
    assert_eq!(
        drains, falses,
        "Node docs net.md › Event: 'drain': every write() that returned false was followed by one Drain"
    );
    let non_drain: Vec<&SocketEvent> = events
        .iter()
        .filter(|e| !matches!(e, SocketEvent::Drain))
        .collect();
    assert_eq!(
        non_drain,
        [
            &SocketEvent::Connect,
            &SocketEvent::Ready,
            &SocketEvent::Finish,
            &SocketEvent::End,
            &SocketEvent::Close { had_error: false },
        ],
        "docs/node-semantics.md#net-connect-ready, #net-end-after-data, #net-close-once, #net-close-order: connect, ready, finish (our FIN), end (Node's FIN after all \
         data), close(false); all events: {events:?}"
    );
    assert!(
        events.ends_with(&[SocketEvent::End, SocketEvent::Close { had_error: false }]),
        "Node docs net.md › Event: 'end', Event: 'close': the events end with End, Close(false): {events:?}"
    );
}

/// docs/node-semantics.md#net-half-open, #net-end, #net-end-closes-by-default, #net-close-once:
/// Node's server has `allowHalfOpen: true`; we (default config) write "hi" and end; Node still
/// answers "late reply" after our FIN, then ends: we see `Finish`, then exactly "late reply", then
/// `End` and `Close(false)`.
#[test]
fn node_half_open_server_replies_after_our_fin() {
    let node = NodeServer::start();
    let mut ev = EventLoop::new().expect("event loop");
    let id = ev.connect(loopback(node.half_open), SocketConfig::default());

    let mut received = Vec::new();
    // Non-data events, with `Data` marked once per run of data events.
    let mut events: Vec<String> = Vec::new();
    loop {
        let event = next_socket(
            &mut ev,
            id,
            &format!("talking to Node's half-open server: {events:?}"),
        );
        match event {
            SocketEvent::Connect => {
                events.push("Connect".into());
                ev.write(id, Bytes::from_static(b"hi")).expect("write hi");
                ev.end(id, None).expect("end");
            }
            SocketEvent::Data(data) => {
                received.extend_from_slice(&data);
                if events.last().map(String::as_str) != Some("Data") {
                    events.push("Data".into());
                }
            }
            SocketEvent::Close { had_error } => {
                events.push(format!("Close({had_error})"));
                break;
            }
            other => events.push(format!("{other:?}")),
        }
    }

    assert_eq!(
        json_str(
            &node.line("what Node's half-open server read"),
            "half_open_received"
        ),
        "hi",
        "Node read our bytes before our FIN"
    );
    assert_eq!(
        received, b"late reply",
        "Node docs net.md › Event: 'end', socket.end(): the peer may still send to us after our end()"
    );
    assert_eq!(
        events,
        ["Connect", "Ready", "Finish", "Data", "End", "Close(false)"],
        "Node docs net.md › Event: 'end', socket.end(), Event: 'close': our FIN (Finish), then Node's late reply, then its FIN, then close"
    );
}

/// Node docs `net.md` › `socket.connect()`, `Event: 'error'`, `Event: 'close'`: connecting to a
/// port nobody listens on emits `Error(ECONNREFUSED)` instead of `Connect`, then `Close(true)`, and
/// nothing after it.
#[test]
fn connect_refused() {
    let (_guard, refused) = common::refused_address();
    let port = refused.port();
    let mut ev = EventLoop::new().expect("event loop");
    let id = ev.connect(loopback(port), SocketConfig::default());
    match next_socket(&mut ev, id, "waiting for the refused connect's error") {
        SocketEvent::Error(error) => {
            assert_eq!(
                error.code(),
                "ECONNREFUSED",
                "Node docs net.md › socket.connect(): the error's code"
            );
        }
        other => panic!(
            "Node docs net.md › socket.connect(): expected Error(ECONNREFUSED) first, got {other:?}"
        ),
    }
    assert_eq!(
        next_socket(&mut ev, id, "waiting for Close after the error"),
        SocketEvent::Close { had_error: true },
        "Node docs net.md › Event: 'error': 'error' is followed directly by 'close'(true)"
    );
    match ev.next_event(Some(Duration::from_millis(200))) {
        Ok(None) => {}
        other => {
            panic!("Node docs net.md › Event: 'close': nothing may follow 'close', got {other:?}")
        }
    }
}

/// docs/node-semantics.md#dgram-implicit-bind, #dgram-message, #dgram-send-error, #dgram-close:
/// `send()` on an unbound udp4 socket to Node's dgram echo binds it implicitly (`Listening`),
/// completes (`Sent(Ok(len))`), and the echo arrives whole as one `Message` from Node's port with
/// `rinfo` filled in; `close()` then emits `Close`.
#[test]
fn udp_send_unbound_to_node_echo() {
    let node = NodeServer::start();
    let mut ev = EventLoop::new().expect("event loop");
    let id = ev.udp_socket(sansnet_udp::SocketConfig::new(Family::Udp4));
    let payload = random_bytes(1200, 0xd6_7a);
    let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let send_id = ev
        .udp_send(id, payload.clone(), node.udp, Some(localhost))
        .expect("send accepted");

    match next_udp(&mut ev, id, "waiting for the implicit bind") {
        UdpEvent::Listening { address } => {
            assert!(
                address.is_ipv4(),
                "Node docs dgram.md › socket.send(): a udp4 socket binds IPv4"
            );
            assert_ne!(
                address.port(),
                0,
                "docs/node-semantics.md#dgram-implicit-bind: bound to a random port"
            );
        }
        other => {
            panic!("Node docs dgram.md › socket.send(): expected Listening first, got {other:?}")
        }
    }
    match next_udp(&mut ev, id, "waiting for the send's completion") {
        UdpEvent::Sent { id: done, result } => {
            assert_eq!(
                done, send_id,
                "Node docs dgram.md › socket.send(): the completion names our send"
            );
            assert_eq!(
                result,
                Ok(payload.len()),
                "Node docs dgram.md › socket.send(): the whole datagram was sent"
            );
        }
        other => panic!("Node docs dgram.md › socket.send(): expected Sent, got {other:?}"),
    }
    match next_udp(&mut ev, id, "waiting for Node's echo") {
        UdpEvent::Message { data, rinfo } => {
            assert_eq!(
                data, payload,
                "Node docs dgram.md › Event: 'message': the echo arrives whole"
            );
            assert_eq!(rinfo.address, localhost, "rinfo.address");
            assert_eq!(rinfo.port, node.udp, "rinfo.port is Node's port");
            assert_eq!(rinfo.family, Family::Udp4, "rinfo.family");
            assert_eq!(
                rinfo.size,
                payload.len(),
                "Node docs dgram.md › Event: 'message': rinfo.size"
            );
        }
        other => panic!("Node docs dgram.md › Event: 'message': expected Message, got {other:?}"),
    }
    ev.udp_close(id).expect("close");
    assert_eq!(
        next_udp(&mut ev, id, "waiting for Close"),
        UdpEvent::Close,
        "Node docs dgram.md › Event: 'close': close() emits Close"
    );
}
