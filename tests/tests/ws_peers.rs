//! WebSocket against real peers on loopback: Python `websockets` and Node's `ws` package as
//! clients of the demo's `/ws` echo and `/chat` broadcast and as servers for our
//! `EventLoop::ws_connect`, plus refused handshakes over a raw TCP stream (RFC 6455;
//! docs/node-semantics.md#ws-handshake, #ws-framing, #ws-closing, #ws-ready-state). Every run
//! negotiates permessage-deflate (RFC 7692, docs/node-semantics.md#permessage-deflate), and each
//! test shows that compressed frames went over the wire: the peer counts frames with RSV1, or its
//! socket read far fewer bytes than the compressible messages hold.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{
    Json, PeerServer, WAIT, peer_report, run_bounded, start_http_demo, start_peer_server,
};
use sansnet_http1::Origin;
use sansnet_mio::{Event, EventLoop};
use sansnet_testkit::peers;
use sansnet_ws::{Message, WsEvent};

/// How long one peer script may run.
const PEER_TIMEOUT: Duration = Duration::from_secs(60);

/// `node tests/peers/SCRIPT` with NODE_PATH pointing at the `ws` package (installed on first
/// use).
fn node_script(script: &str) -> Command {
    let mut command = Command::new(peers::node());
    command
        .env("NODE_PATH", peers::node_ws())
        .arg(peers::scripts_dir().join(script));
    command
}

/// `python3 tests/peers/SCRIPT`, with `websockets` (installed on first use).
fn python_script(script: &str) -> Command {
    let mut command = Command::new(peers::python_websockets());
    command.arg(peers::scripts_dir().join(script));
    command
}

fn port_from_json(line: &str) -> Option<u16> {
    let json = Json::parse(line).ok()?;
    u16::try_from(json.get("port").num()).ok()
}

/// What our client saw talking to an echo server.
struct ClientRun {
    echoed: Vec<Message>,
    close: WsEvent,
}

/// 100 KiB of repetitive text: compresses to about a kilobyte.
fn compressible() -> Message {
    Message::text("sansnet permessage-deflate ".repeat(100 * 1024 / 27))
}

/// Our client (`ws_connect`, permessage-deflate offered by default) against the echo server
/// `server`: checks the extension was agreed, sends a text, a 300 KiB binary and a 100 KiB
/// compressible text message and a Ping, waits for the echoes and the Pong, closes with 1000,
/// and returns what came back and the `Close` event.
fn our_client_against(server: &PeerServer) -> ClientRun {
    let mut ev = EventLoop::new().unwrap();
    let origin = Origin::new("http", "127.0.0.1", server.port);
    let request = ev.ws_connect(origin, "/", &[], sansnet_ws::Config::default());
    let text = Message::text("hello from sansnet");
    let blob = Message::Binary(common::random_bytes(300 * 1024, 7));
    let mut socket = None;
    let mut echoed = Vec::new();
    let mut pong = false;
    let mut closing = false;
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "timed out: echoed {}, pong {pong}",
            echoed.len()
        );
        let Some(event) = ev.next_event(Some(left)).unwrap() else {
            continue;
        };
        match event {
            Event::WsOpen {
                request: r,
                socket: s,
                protocol,
            } if r == request => {
                assert_eq!(protocol, None);
                socket = Some(s);
                let deflate = ev.ws_command(s, |c, _| Ok(c.deflate_enabled())).unwrap();
                assert!(deflate, "RFC 7692 §7.1: permessage-deflate was not agreed");
                ev.ws_send(s, text.clone()).unwrap();
                ev.ws_send(s, blob.clone()).unwrap();
                ev.ws_send(s, compressible()).unwrap();
                ev.ws_command(s, |c, now| c.ping(now, Bytes::from_static(b"ping!")))
                    .unwrap();
            }
            Event::WsOpenFailed { error, .. } => panic!("the WebSocket did not open: {error}"),
            Event::Ws { socket: s, event } if Some(s) == socket => match event {
                WsEvent::Message(m) => echoed.push(m),
                WsEvent::Pong(data) => {
                    assert_eq!(
                        &data[..],
                        b"ping!",
                        "RFC 6455 §5.5.2: the Pong carries the Ping's data"
                    );
                    pong = true;
                }
                WsEvent::Close { .. } => {
                    return ClientRun {
                        echoed,
                        close: event,
                    };
                }
                WsEvent::Error(e) => panic!("protocol error from the peer: {e}"),
                _ => {}
            },
            _ => {}
        }
        if let Some(s) = socket
            && !closing
            && echoed.len() == 3
            && pong
        {
            closing = true;
            ev.ws_close(s, Some(1000), "sansnet done").unwrap();
        }
    }
}

fn assert_echo_run(run: &ClientRun, server_log: &str) {
    assert_eq!(run.echoed.len(), 3);
    assert!(
        run.echoed[2] == compressible(),
        "the compressible echo differs"
    );
    assert_eq!(run.echoed[0], Message::text("hello from sansnet"));
    let Message::Binary(data) = &run.echoed[1] else {
        panic!("the binary message came back as text");
    };
    assert!(
        data == &common::random_bytes(300 * 1024, 7),
        "the 300 KiB echo differs ({} bytes)",
        data.len()
    );
    // RFC 6455 §7.1.1: the server closes TCP after the closing handshake; the client sees a clean
    // close with the server's echo of 1000.
    assert!(
        matches!(
            run.close,
            WsEvent::Close {
                code: 1000,
                was_clean: true,
                ..
            }
        ),
        "{:?}\nserver log:\n{server_log}",
        run.close
    );
    assert!(
        server_log.contains("closed 1000"),
        "the server saw our Close 1000: {server_log}"
    );
}

/// docs/node-semantics.md#ws-framing, #ws-close-reply to #ws-tcp-close-order: Python `websockets`
/// as a client of the demo's `/ws` echo: text, a 1 MiB binary message, a message in three
/// fragments, a Ping, and a clean close 1000.
#[test]
fn python_client_against_demo_echo() {
    let demo = start_http_demo("ws_python_client");
    let out = run_bounded(
        python_script("ws_python_client.py").arg(format!("ws://127.0.0.1:{}/ws", demo.port)),
        PEER_TIMEOUT,
        "the Python websockets client",
    );
    let report = peer_report(&out, "the Python websockets client");
    assert_eq!(report.get("text").str(), "hello from python");
    assert_eq!(report.get("binary_len").num(), 1 << 20);
    assert!(report.get("binary_same").bool(), "the 1 MiB echo differs");
    assert_eq!(
        report.get("fragmented").str(),
        "frag-ment-ed",
        "RFC 6455 §5.4"
    );
    assert!(
        report.get("pong").bool(),
        "RFC 6455 §5.5.2: no Pong for the Ping"
    );
    // RFC 7692 §7.1, §6: the demo agreed to `websockets`' offer and sent the 1 MiB echo compressed.
    assert_eq!(report.get("extensions").str(), "permessage-deflate");
    assert!(
        report.get("compressed_in").num() >= 1,
        "no compressed frame reached Python"
    );
    assert_eq!(
        report.get("close_code").num(),
        1000,
        "RFC 6455 §5.5.1: Close echoed"
    );
}

/// docs/node-semantics.md#ws-client-key to #ws-masking, #ws-close-reply to #ws-tcp-close-order: our
/// client against a Python `websockets` echo server: the handshake, masked frames it accepts, the
/// echoes, a Pong, and a clean close 1000.
#[test]
fn our_client_against_python_server() {
    let server = start_peer_server(
        &mut python_script("ws_python_server.py"),
        "the Python websockets server",
        port_from_json,
    );
    let run = our_client_against(&server);
    std::thread::sleep(Duration::from_millis(200));
    let log = server.stop();
    assert_echo_run(&run, &log);
    // RFC 7692 §6: the 300 KiB and 100 KiB messages (at or above the 1024-byte threshold) came
    // compressed, with RSV1; the short text did not need to.
    let compressed = log
        .split("compressed_in=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<u32>().ok());
    assert!(
        compressed.is_some_and(|n| n >= 2),
        "Python saw no compressed frames from our client: {log}"
    );
}

/// docs/node-semantics.md#ws-framing, #ws-close-reply to #ws-tcp-close-order: Node's `ws` as a
/// client of the demo's `/ws` echo: text stays text, a 1 MiB binary message, a Ping answered with
/// its data, a clean close 1000.
#[test]
fn node_client_against_demo_echo() {
    let demo = start_http_demo("ws_node_client");
    let out = run_bounded(
        node_script("ws_node_client.mjs")
            .arg("echo")
            .arg(format!("ws://127.0.0.1:{}/ws", demo.port)),
        PEER_TIMEOUT,
        "the Node ws client",
    );
    let report = peer_report(&out, "the Node ws client");
    assert_eq!(report.get("text").str(), "hello from node");
    assert!(!report.get("text_is_binary").bool());
    assert_eq!(report.get("binary_len").num(), 1 << 20);
    assert!(report.get("binary_same").bool(), "the 1 MiB echo differs");
    assert_eq!(report.get("pong").str(), "node ping", "RFC 6455 §5.5.2");
    // RFC 7692 §7.1, §7.2.1: `ws` offered permessage-deflate, the demo agreed, and the periodic 1
    // MiB echo crossed the socket compressed (uncompressed it would be over 1 MiB).
    assert_eq!(report.get("extensions").str(), "permessage-deflate");
    let read = report.get("bytes_read").num();
    assert!(read < 256 * 1024, "{read} bytes read for a 1 MiB echo");
    assert_eq!(report.get("close_code").num(), 1000, "RFC 6455 §5.5.1");
}

/// The demo's `/chat`: a message from one Node `ws` client reaches both connected clients.
#[test]
fn node_clients_chat_broadcast_reaches_both() {
    let demo = start_http_demo("ws_node_chat");
    let out = run_bounded(
        node_script("ws_node_client.mjs")
            .arg("chat")
            .arg(format!("ws://127.0.0.1:{}/chat", demo.port)),
        PEER_TIMEOUT,
        "the Node ws chat clients",
    );
    let report = peer_report(&out, "the Node ws chat clients");
    assert_eq!(report.get("a").str(), "broadcast from a");
    assert_eq!(report.get("b").str(), "broadcast from a");
}

/// docs/node-semantics.md#ws-client-key to #ws-masking, #ws-close-reply to #ws-tcp-close-order: our
/// client against a Node `ws` echo server.
#[test]
fn our_client_against_node_server() {
    let server = start_peer_server(
        &mut node_script("ws_node_server.mjs"),
        "the Node ws server",
        port_from_json,
    );
    let run = our_client_against(&server);
    std::thread::sleep(Duration::from_millis(200));
    let log = server.stop();
    assert_echo_run(&run, &log);
    // RFC 7692 §7.1, §7.2.1: `ws` (perMessageDeflate on) agreed, and the 100 KiB compressible
    // message crossed compressed: the socket read less than the random 300 KiB plus 20 KiB.
    assert!(
        log.contains("extensions=permessage-deflate"),
        "`ws` did not agree to permessage-deflate: {log}"
    );
    let read = log
        .split("bytes_read=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    assert!(
        read < 320 * 1024,
        "{read} bytes read: not compressed
{log}"
    );
}

/// RFC 7692 §7.1.2.1, §7.1: with `server_max_window_bits=8` agreed, our compressor (zlib-rs
/// with 9 bits, as zlib and Node do) only makes matches a 256-byte window holds: Python's zlib
/// inflates every message with `wbits=-8`, context kept across messages, at levels 1, 6 and 9,
/// for data that repeats at distances around 256.
#[test]
fn window_bits_8_output_inflates_with_zlib_8_bit_window() {
    use std::io::Write as _;
    use std::process::Stdio;

    let now = Instant::now();
    let mut input = String::new();
    for level in [1, 6, 9] {
        let agreed = sansnet_ws::deflate::Agreed {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 8,
            client_max_window_bits: 8,
            threshold: 0,
            level,
        };
        let mut server = sansnet_ws::Connection::new(
            sansnet_ws::Role::Server,
            sansnet_ws::Config::default(),
            Box::new(|_: &mut [u8]| {}),
        )
        .with_deflate(Some(agreed));
        input.push_str(&format!("{level}\n"));
        for distance in [
            100, 200, 249, 250, 251, 255, 256, 257, 300, 400, 511, 512, 600,
        ] {
            let base = common::random_bytes(distance, distance as u64);
            let message: Vec<u8> = base.iter().copied().cycle().take(distance * 6).collect();
            server
                .send(now, Message::Binary(Bytes::from(message.clone())))
                .unwrap();
            let mut frame = Vec::new();
            while let Some(chunk) = server.pop_transmit(now) {
                frame.extend_from_slice(&chunk);
            }
            assert_eq!(frame[0], 0xC2, "one compressed binary frame");
            let start = match frame[1] & 0x7F {
                126 => 4,
                127 => 10,
                _ => 2,
            };
            let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
            input.push_str(&format!("{} {}\n", hex(&frame[start..]), hex(&message)));
        }
    }
    let mut child = Command::new(peers::python())
        .arg(peers::scripts_dir().join("zlib_inflate_window8.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = Json::parse(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(report.get("messages").num(), 39);
    assert_eq!(
        report.get("ok").num(),
        39,
        "zlib with an 8-bit window: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Sends `request` to the demo on a raw TCP stream and returns everything it answers until it
/// closes (bounded by [`WAIT`]).
fn raw_exchange(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// docs/node-semantics.md#ws-key-16-bytes, #ws-version-13, RFC 6455 §4.2.1-4.2.2: the demo refuses
/// a handshake without a key with 400 and one of version 12 with 426 and
/// `Sec-WebSocket-Version: 13`, then closes; a valid one gets the 101 with the RFC's accept value.
#[test]
fn demo_refuses_invalid_handshakes() {
    let demo = start_http_demo("ws_bad_handshake");
    let head = |extra: &str| {
        format!(
            "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\n{extra}\r\n",
            demo.port
        )
    };
    let missing_key = raw_exchange(demo.port, &head("Sec-WebSocket-Version: 13\r\n"));
    assert!(
        missing_key.starts_with("HTTP/1.1 400 "),
        "RFC 6455 §4.2.1: {missing_key:?}"
    );
    let v12 = raw_exchange(
        demo.port,
        &head("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n"),
    );
    assert!(v12.starts_with("HTTP/1.1 426 "), "RFC 6455 §4.4: {v12:?}");
    assert!(
        v12.to_ascii_lowercase()
            .contains("\r\nsec-websocket-version: 13\r\n"),
        "RFC 6455 §4.4: {v12:?}"
    );
    // A valid one, for contrast (RFC 6455 §1.3): read just the head.
    let mut stream = TcpStream::connect(("127.0.0.1", demo.port)).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
        .write_all(
            head("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
                .as_bytes(),
        )
        .unwrap();
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).unwrap();
        assert_eq!(n, 1, "the demo closed mid-head: {got:?}");
        got.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 101 "), "{text}");
    assert!(
        text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{text}"
    );
}
