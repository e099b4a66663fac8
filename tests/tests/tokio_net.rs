//! A raw `sansnet_stack::Connection` in a task of its own (`sansnet_tokio::spawn` and
//! `connect`): Node's `net` module on the other end, both ways, on both runtimes.
//!
//! The echo answers each `data` event with a write; the peer sends 1 MiB and its FIN at
//! once, so the echo is whole only if the FIN reaches the socket machine after the writes
//! that answer the data before it (the socket machine, not half-open, ends its side at the
//! FIN): the drain rule's "read on only once the application took every event".
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::{random_bytes, run_bounded, sha256, start_peer_server};
use sansnet_stack::{Connection, Event};
use sansnet_tcp::{SocketConfig, SocketEvent};
use sansnet_testkit::peers;
use sansnet_tokio::{Events, Handle};
use tokio::net::TcpListener;

/// Node's `net` client: sends 1 MiB and its FIN at once, prints how many bytes came back and
/// their SHA-256.
const NODE_CLIENT: &str = r"
const net = require('node:net');
const crypto = require('node:crypto');
const data = crypto.randomBytes(1 << 20);
const chunks = [];
const socket = net.connect(Number(process.argv[1]), '127.0.0.1', () => socket.end(data));
socket.on('data', (d) => chunks.push(d));
socket.on('close', () => {
  const got = Buffer.concat(chunks);
  const same = crypto.createHash('sha256').update(got).digest('hex') ===
    crypto.createHash('sha256').update(data).digest('hex');
  console.log(JSON.stringify({ length: got.length, same }));
});
socket.on('error', (e) => { console.error(e); process.exit(1); });
";

/// Node's `net` echo server: prints its port, echoes every connection.
const NODE_ECHO: &str = r"
const net = require('node:net');
const server = net.createServer((socket) => socket.pipe(socket));
server.listen(0, '127.0.0.1', () => console.log(String(server.address().port)));
setTimeout(() => process.exit(3), 60000).unref();
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
";

fn runtime(multi: bool) -> tokio::runtime::Runtime {
    let mut builder = if multi {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2);
        builder
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().unwrap()
}

/// The echo application: each `data` written back; returns the event names in order.
async fn echo(handle: Handle, mut events: Events) -> Vec<&'static str> {
    let mut seen = Vec::new();
    while let Some(event) = events.recv().await {
        let Event::Socket(event) = event else {
            continue;
        };
        match event {
            SocketEvent::Data(data) => {
                if seen.last() != Some(&"data") {
                    seen.push("data");
                }
                let written = handle
                    .run(move |conn, now| conn.socket_mut().write(now, data))
                    .await
                    .unwrap();
                written.unwrap();
            }
            SocketEvent::End => seen.push("end"),
            SocketEvent::Finish => seen.push("finish"),
            SocketEvent::Close { had_error } => {
                assert!(!had_error);
                seen.push("close");
            }
            SocketEvent::Error(error) => panic!("error: {error:?}"),
            _ => {}
        }
    }
    seen
}

/// Node's `net` client against an echo driven by `sansnet_tokio::spawn`.
fn node_client_against_spawned_echo(multi: bool) {
    runtime(multi).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port().to_string();
        let client = tokio::task::spawn_blocking(move || {
            run_bounded(
                Command::new(peers::node()).args(["-e", NODE_CLIENT, &port]),
                Duration::from_secs(60),
                "the Node net client",
            )
        });
        let (stream, _) = listener.accept().await.unwrap();
        let conn = Connection::accepted(Instant::now(), SocketConfig::default());
        let (handle, events) = sansnet_tokio::spawn(conn, stream);
        let seen = tokio::time::timeout(Duration::from_secs(60), echo(handle, events))
            .await
            .unwrap();
        assert_eq!(seen, ["data", "end", "finish", "close"]);
        let out = client.await.unwrap();
        assert!(out.status.success(), "node failed: {}", out.stderr);
        assert_eq!(
            out.stdout_text().trim(),
            r#"{"length":1048576,"same":true}"#
        );
    });
}

#[test]
fn tokio_net_node_client_current_thread() {
    node_client_against_spawned_echo(false);
}

#[test]
fn tokio_net_node_client_multi_thread() {
    node_client_against_spawned_echo(true);
}

/// `sansnet_tokio::connect` to Node's `net` echo server: `connect`, 1 MiB out with `end`,
/// the same 1 MiB back, then `end` and `close`.
#[test]
fn tokio_net_connect_to_node_echo() {
    let node = start_peer_server(
        Command::new(peers::node()).args(["-e", NODE_ECHO]),
        "the Node net echo server",
        |line| line.trim().parse().ok(),
    );
    let addr = node.addr();
    runtime(false).block_on(async {
        let conn = Connection::connect(Instant::now(), SocketConfig::default());
        let (handle, mut events) = sansnet_tokio::connect(conn, addr);
        let data = random_bytes(1 << 20, 11);
        let mut got = BytesMut::new();
        let mut seen = Vec::new();
        let run = async {
            while let Some(event) = events.recv().await {
                match event {
                    Event::Socket(SocketEvent::Connect) => {
                        seen.push("connect");
                        let data = data.clone();
                        handle
                            .run(move |conn, now| conn.socket_mut().end(now, Some(data)))
                            .await
                            .unwrap()
                            .unwrap();
                    }
                    Event::Socket(SocketEvent::Data(chunk)) => got.extend_from_slice(&chunk),
                    Event::Socket(SocketEvent::End) => seen.push("end"),
                    Event::Socket(SocketEvent::Close { had_error }) => {
                        assert!(!had_error);
                        seen.push("close");
                    }
                    Event::Socket(SocketEvent::Error(error)) => panic!("error: {error:?}"),
                    _ => {}
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .unwrap();
        assert_eq!(seen, ["connect", "end", "close"]);
        assert_eq!(got.len(), data.len());
        assert_eq!(sha256(&got), sha256(&data));
    });
    let _ = node.stop();
}
