//! `sansnet_tokio::NetStream`: a connection as a `tokio::io` byte stream, its bytes
//! through the socket machine (and TLS beneath it): `tokio::io::copy` against Node's `net`
//! both ways, `shutdown` as `socket.end()` (Node sees its `'end'`), and a TLS connect to
//! Node's `tls` echo server.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use common::tokio_runtime as runtime;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Json, random_bytes, run_bounded, sha256, start_peer_server};
use sansnet_stack::Connection;
use sansnet_tcp::SocketConfig;
use sansnet_testkit::certs::{PemDir, TestCa, Usage};
use sansnet_testkit::peers;
use sansnet_tls::ClientOptions;
use sansnet_tokio::{NetStream, Socket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How long one test's exchange may take.
const LIMIT: Duration = Duration::from_secs(60);

/// Node's `net` echo server: prints its port, echoes every connection (`pipe` ends its side
/// at the client's `'end'`).
const NODE_ECHO: &str = r"
const net = require('node:net');
const server = net.createServer((socket) => socket.pipe(socket));
server.listen(0, '127.0.0.1', () => console.log(String(server.address().port)));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
";

/// Node's `net` server that counts what a connection sends and, at its `'end'`, answers
/// `end N` and ends too.
const NODE_COUNT_TO_END: &str = r"
const net = require('node:net');
const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  let n = 0;
  socket.on('data', (d) => { n += d.length; });
  socket.on('end', () => socket.end(`end ${n}`));
});
server.listen(0, '127.0.0.1', () => console.log(String(server.address().port)));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
";

/// Node's `net` client: sends 1 MiB then its FIN, prints how many bytes came back and whether
/// they are the same.
const NODE_CLIENT: &str = r"
const net = require('node:net');
const crypto = require('node:crypto');
const data = crypto.randomBytes(1 << 20);
const chunks = [];
const socket = net.connect(Number(process.argv[1]), '127.0.0.1', () => socket.end(data));
socket.on('data', (d) => chunks.push(d));
socket.on('close', () => {
  const got = Buffer.concat(chunks);
  console.log(JSON.stringify({ length: got.length, same: got.equals(data) }));
});
socket.on('error', (e) => { console.error(e); process.exit(1); });
";

fn node_server(script: &str, what: &str) -> common::PeerServer {
    start_peer_server(
        Command::new(peers::node()).args(["-e", script]),
        what,
        |line| line.trim().parse().ok(),
    )
}

/// Writes `data` with `tokio::io::copy` and shuts down on one task while reading the stream
/// to its end with `tokio::io::copy` on another; returns what was read.
async fn copy_both_ways(stream: NetStream, data: bytes::Bytes) -> Vec<u8> {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let write = tokio::spawn(async move {
        let written = tokio::io::copy(&mut &data[..], &mut writer).await.unwrap();
        writer.shutdown().await.unwrap();
        written
    });
    let mut got = Vec::new();
    tokio::io::copy(&mut reader, &mut got).await.unwrap();
    assert_eq!(write.await.unwrap(), 1 << 20);
    got
}

/// Node docs `net.md` › `socket.write()`, `Event: 'end'`: 1 MiB through `tokio::io::copy`
/// into a stream from `Socket::connect` and back from Node's `net` echo, read with
/// `tokio::io::copy` on another task; the echo ends only once our `shutdown` gave it its
/// `'end'`, so the read reaching its end shows the `end()` arrived.
fn copy_to_node_echo(multi: bool) {
    let node = node_server(NODE_ECHO, "the Node net echo server");
    let addr = node.addr();
    runtime(multi).block_on(async {
        let conn = Connection::connect(Instant::now(), SocketConfig::default());
        let stream = NetStream::new(Socket::connect(conn, addr).await);
        let data = random_bytes(1 << 20, 21);
        let got = tokio::time::timeout(LIMIT, copy_both_ways(stream, data.clone()))
            .await
            .unwrap();
        assert_eq!(got.len(), data.len());
        assert_eq!(sha256(&got), sha256(&data));
    });
    let _ = node.stop();
}

#[test]
fn tokio_stream_copy_to_node_echo_current_thread() {
    copy_to_node_echo(false);
}

#[test]
fn tokio_stream_copy_to_node_echo_multi_thread() {
    copy_to_node_echo(true);
}

/// Node docs `net.md` › `Event: 'end'` and `allowHalfOpen`: `shutdown()` is `socket.end()`:
/// Node's half-open server sees its `'end'` after every byte, answers how many came, and
/// ends; the stream reads that answer, then 0.
#[test]
fn tokio_stream_shutdown_is_end() {
    let node = node_server(NODE_COUNT_TO_END, "the Node net counting server");
    let addr = node.addr();
    runtime(false).block_on(async {
        let conn = Connection::connect(Instant::now(), SocketConfig::default());
        let mut stream = NetStream::new(Socket::connect(conn, addr).await);
        let run = async {
            stream.write_all(&random_bytes(100_000, 22)).await.unwrap();
            stream.shutdown().await.unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            answer
        };
        let answer = tokio::time::timeout(LIMIT, run).await.unwrap();
        assert_eq!(answer, "end 100000");
        let error = stream.write_all(b"more").await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
    });
    let _ = node.stop();
}

/// Node's `net` client against an echo written with `tokio::io::copy` over the stream of a
/// accepted connection, half-open (Node's `allowHalfOpen`: the peer's
/// `end` leaves our side open, as a `TcpStream`'s does) so the echo ends its side itself
/// with `shutdown` once it read to the end.
#[test]
fn tokio_stream_node_client_against_copy_echo() {
    runtime(true).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port().to_string();
        let client = tokio::task::spawn_blocking(move || {
            run_bounded(
                Command::new(peers::node()).args(["-e", NODE_CLIENT, &port]),
                LIMIT,
                "the Node net client",
            )
        });
        let (tcp, _) = listener.accept().await.unwrap();
        let mut config = SocketConfig::default();
        config.allow_half_open = true;
        let conn = Connection::accepted(Instant::now(), config);
        let stream = NetStream::new(Socket::new(conn, tcp));
        let echo = async {
            let (mut reader, mut writer) = tokio::io::split(stream);
            let copied = tokio::io::copy(&mut reader, &mut writer).await.unwrap();
            writer.shutdown().await.unwrap();
            copied
        };
        let copied = tokio::time::timeout(LIMIT, echo).await.unwrap();
        assert_eq!(copied, 1 << 20);
        let out = client.await.unwrap();
        assert!(out.status.success(), "node failed: {}", out.stderr);
        assert_eq!(
            out.stdout_text().trim(),
            r#"{"length":1048576,"same":true}"#
        );
    });
}

/// Node docs `tls.md` › `tls.connect()`: a TLS client connection (`sansnet-tls` beneath the
/// socket machine, verified against the test CA for `localhost`) as a `NetStream` against
/// Node's `tls` echo server (tests/peers/tls_node_server.mjs): 1 MiB through
/// `tokio::io::copy` and back; `shutdown` sends `close_notify` and the FIN, and Node's echo
/// ends too.
#[test]
fn tokio_stream_tls_to_node_tls_echo() {
    let ca = TestCa::new("sansnet tokio stream CA");
    let leaf = ca.leaf(&["localhost"], Usage::Server);
    let dir = PemDir::new("tokio-stream-tls");
    let cert = dir.write("server.pem", &leaf.chain_pem);
    let key = dir.write("server.key", &leaf.key_pem);
    let node = start_peer_server(
        Command::new(peers::node())
            .arg(peers::scripts_dir().join("tls_node_server.mjs"))
            .arg(&cert)
            .arg(&key),
        "the Node https/tls server",
        |line| u16::try_from(Json::parse(line).ok()?.get("tls").num()).ok(),
    );
    let addr = node.addr();
    let tls = ClientOptions {
        ca: Some(sansnet_tls::certificates_from_pem(ca.cert_pem.as_bytes()).unwrap()),
        ..ClientOptions::default()
    }
    .build()
    .unwrap();
    runtime(false).block_on(async {
        let now = Instant::now();
        let conn = Connection::connect(now, SocketConfig::default()).with_tls_client(
            now,
            Arc::clone(&tls),
            "localhost",
        );
        let stream = NetStream::new(Socket::connect(conn, addr).await);
        let data = random_bytes(1 << 20, 23);
        let got = tokio::time::timeout(LIMIT, copy_both_ways(stream, data.clone()))
            .await
            .unwrap();
        assert_eq!(got.len(), data.len());
        assert_eq!(sha256(&got), sha256(&data));
    });
    let log = node.stop();
    assert!(
        log.contains(r#"tls secureConnection {"authorized":false"#),
        "Node saw the TLS connection: {log}"
    );
    drop(dir);
}
