//! A raw `sansnet_stack::Connection` driven by the task that awaits it (`sansnet_tokio::Socket`,
//! accepted or connected): Node's `net` module on the other end, both ways, on both runtimes, over TCP
//! and over Unix domain sockets (and `serve` on a Unix socket, with Node's `http` client).
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

use common::tokio_runtime as runtime;

use std::process::Command;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::{random_bytes, run_bounded, sha256, start_peer_server, unix_path};
use sansnet_stack::{Connection, Event};
use sansnet_tcp::{Address, SocketConfig, SocketEvent};
use sansnet_testkit::peers;
use sansnet_tokio::{Request, Response, Socket};
use tokio::net::{TcpListener, UnixListener};

/// Node's `net` client: connects to the port or Unix socket path in its argument, sends 1 MiB
/// and its FIN at once, prints how many bytes came back and whether they are the same.
const NODE_CLIENT: &str = r"
const net = require('node:net');
const crypto = require('node:crypto');
const data = crypto.randomBytes(1 << 20);
const chunks = [];
const target = process.argv[1];
const options = /^[0-9]+$/.test(target) ? { port: Number(target), host: '127.0.0.1' } : { path: target };
const socket = net.connect(options, () => socket.end(data));
socket.on('data', (d) => chunks.push(d));
socket.on('close', () => {
  const got = Buffer.concat(chunks);
  const same = crypto.createHash('sha256').update(got).digest('hex') ===
    crypto.createHash('sha256').update(data).digest('hex');
  console.log(JSON.stringify({ length: got.length, same }));
});
socket.on('error', (e) => { console.error(e); process.exit(1); });
";

/// Node's `net` echo server: listens on the Unix socket path in its argument (or a TCP port
/// without one), prints its port (`0` for a path), echoes every connection.
const NODE_ECHO: &str = r"
const net = require('node:net');
const server = net.createServer((socket) => socket.pipe(socket));
const listening = () => console.log(String(server.address().port || 0));
if (process.argv[1]) server.listen(process.argv[1], listening);
else server.listen(0, '127.0.0.1', listening);
setTimeout(() => process.exit(3), 60000).unref();
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
";

/// The echo application: each `data` written back; returns the event names in order.
async fn echo(mut socket: Socket) -> Vec<&'static str> {
    let mut seen = Vec::new();
    while let Some(event) = socket.next_event().await {
        let Event::Socket(event) = event else {
            continue;
        };
        match event {
            SocketEvent::Data(data) => {
                if seen.last() != Some(&"data") {
                    seen.push("data");
                }
                let written = socket.conn_mut().socket_mut().write(Instant::now(), data);
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

/// Node's `net` client against an echo on an accepted `sansnet_tokio::Socket`.
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
        let socket = Socket::new(conn, stream);
        let seen = tokio::time::timeout(Duration::from_secs(60), echo(socket))
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

/// `Socket::connect` to Node's `net` echo server: `connect`, 1 MiB out with `end`,
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
        let data = random_bytes(1 << 20, 11);
        let mut got = BytesMut::new();
        let mut seen = Vec::new();
        let run = async {
            let mut socket = Socket::connect(conn, addr).await;
            while let Some(event) = socket.next_event().await {
                match event {
                    Event::Socket(SocketEvent::Connect) => {
                        seen.push("connect");
                        let end = socket.conn_mut().socket_mut();
                        end.end(Instant::now(), Some(data.clone())).unwrap();
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

/// A Unix socket path in the temp dir, removed when dropped (whether the test passed or not).
struct TempSocket(std::path::PathBuf);

impl TempSocket {
    fn new(name: &str) -> Self {
        Self(unix_path(name))
    }

    fn arg(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// docs/node-semantics.md#unix-sockets: Node's `net` client over a Unix socket path against an
/// echo on a `sansnet_tokio::Socket` over a `UnixStream`; `setNoDelay` and `setKeepAlive`
/// do nothing on it, as in Node (Node docs `net.md` › `socket.setNoDelay([noDelay])`), so the
/// events are those of the TCP echo and end without an error.
#[test]
fn tokio_net_unix_node_client() {
    let path = TempSocket::new("tokio-net-unix-spawn");
    runtime(false).block_on(async {
        let listener = UnixListener::bind(&path.0).unwrap();
        let target = path.arg();
        let client = tokio::task::spawn_blocking(move || {
            run_bounded(
                Command::new(peers::node()).args(["-e", NODE_CLIENT, &target]),
                Duration::from_secs(60),
                "the Node net client",
            )
        });
        let (stream, _) = listener.accept().await.unwrap();
        let conn = Connection::accepted(Instant::now(), SocketConfig::default());
        let mut socket = Socket::new(conn, stream);
        socket.conn_mut().socket_mut().set_no_delay(true);
        let keep_alive = Some(Duration::from_secs(1));
        socket.conn_mut().socket_mut().set_keep_alive(keep_alive);
        let seen = tokio::time::timeout(Duration::from_secs(60), echo(socket))
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

/// docs/node-semantics.md#unix-sockets, Node docs `net.md` › `socket.setTimeout()` and
/// `Event: 'drain'`: `Socket::connect` to Node's `net` echo server on a Unix socket
/// path: `connect`, 1 MiB written at once (`write` returns false above the high-water mark,
/// then `drain`), the same 1 MiB back, `timeout` once idle (it does not close; the
/// application ends the socket), then `end` and `close`.
#[test]
fn tokio_net_unix_connect_to_node_echo() {
    let path = TempSocket::new("tokio-net-unix-connect");
    let node = start_peer_server(
        Command::new(peers::node()).args(["-e", NODE_ECHO, &path.arg()]),
        "the Node net echo server",
        // A Unix server has no port: it prints 0 once listening; any other line is not it.
        |line| (line.trim() == "0").then_some(1),
    );
    runtime(false).block_on(async {
        let conn = Connection::connect(Instant::now(), SocketConfig::default());
        let data = random_bytes(1 << 20, 12);
        let mut got = BytesMut::new();
        let mut seen = Vec::new();
        let run = async {
            let mut socket = Socket::connect(conn, Address::Unix(path.0.clone())).await;
            while let Some(event) = socket.next_event().await {
                let Event::Socket(event) = event else {
                    continue;
                };
                match event {
                    SocketEvent::Connect => {
                        seen.push("connect");
                        let (socket, now) = (socket.conn_mut().socket_mut(), Instant::now());
                        socket.set_no_delay(true);
                        socket.set_timeout(now, Some(Duration::from_millis(100)));
                        let written = socket.write(now, data.clone());
                        assert_eq!(written, Ok(false), "1 MiB is above the high-water mark");
                    }
                    SocketEvent::Drain => seen.push("drain"),
                    SocketEvent::Data(chunk) => got.extend_from_slice(&chunk),
                    // An idle moment before every byte is back (a loaded machine) is not the
                    // one this waits for.
                    SocketEvent::Timeout if got.len() == data.len() => {
                        seen.push("timeout");
                        let (socket, now) = (socket.conn_mut().socket_mut(), Instant::now());
                        socket.set_timeout(now, None);
                        socket.end(now, None).unwrap();
                    }
                    SocketEvent::End => seen.push("end"),
                    SocketEvent::Close { had_error } => {
                        assert!(!had_error);
                        seen.push("close");
                    }
                    SocketEvent::Error(error) => panic!("error: {error:?}"),
                    _ => {}
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .unwrap();
        assert_eq!(seen, ["connect", "drain", "timeout", "end", "close"]);
        assert_eq!(got.len(), data.len());
        assert_eq!(sha256(&got), sha256(&data));
    });
    let _ = node.stop();
}

/// Node's `http` client with a keep-alive agent over a Unix socket (`socketPath`): two
/// requests on one connection.
const NODE_HTTP_UNIX_CLIENT: &str = r"
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true });
const get = (path) => new Promise((resolve, reject) => {
  http.get({ socketPath: process.argv[1], path, agent }, (res) => {
    const chunks = [];
    res.on('data', (d) => chunks.push(d));
    res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString(),
      reused: res.req.reusedSocket }));
  }).on('error', reject);
});
(async () => {
  const results = [await get('/a'), await get('/b')];
  agent.destroy();
  console.log(JSON.stringify(results));
})().catch((e) => { console.error(e); process.exit(1); });
";

/// docs/node-semantics.md#unix-unlink-on-close: `serve` on a `UnixListener` answers Node's
/// `http` client over the socket path (keep-alive: the second request reuses the
/// connection), `Server::address` is the path, and `close()` unlinks the socket file.
#[test]
fn tokio_net_unix_serve_node_http_client() {
    let path = TempSocket::new("tokio-net-unix-serve");
    runtime(false).block_on(async {
        let listener = UnixListener::bind(&path.0).unwrap();
        let server = sansnet_tokio::serve(listener, |request: Request| async move {
            Response::new(200).body(format!("hello {}", request.target()))
        })
        .unwrap();
        assert_eq!(server.address(), &Address::Unix(path.0.clone()));
        let target = path.arg();
        let out = tokio::task::spawn_blocking(move || {
            run_bounded(
                Command::new(peers::node()).args(["-e", NODE_HTTP_UNIX_CLIENT, &target]),
                Duration::from_secs(60),
                "the Node http client",
            )
        })
        .await
        .unwrap();
        assert!(out.status.success(), "node failed: {}", out.stderr);
        assert_eq!(
            out.stdout_text().trim(),
            r#"[{"status":200,"body":"hello /a","reused":false},{"status":200,"body":"hello /b","reused":true}]"#
        );
        assert!(path.0.exists(), "the socket file exists while serving");
        tokio::time::timeout(Duration::from_secs(10), server.close())
            .await
            .unwrap();
        assert!(!path.0.exists(), "close() unlinks the socket file");
    });
}

/// A reader that stops reading holds its peer back instead of buffering: a `Socket` whose
/// application awaits nothing reads nothing, so a peer sending 32 MiB is stopped by TCP's
/// window (the OS buffers hold a few MiB) until the application reads again, and then every
/// byte arrives.
#[test]
fn tokio_socket_that_is_not_awaited_holds_its_peer_back() {
    const TOTAL: usize = 32 << 20;
    runtime(false).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = sent.clone();
        let peer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let chunk = vec![9u8; 64 * 1024];
            while counter.load(std::sync::atomic::Ordering::Relaxed) < TOTAL {
                tcp.write_all(&chunk).await.unwrap();
                counter.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
            }
            tcp.shutdown().await.unwrap();
        });
        let (stream, _) = listener.accept().await.unwrap();
        let conn = Connection::accepted(Instant::now(), SocketConfig::default());
        let mut socket = Socket::new(conn, stream);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let held = sent.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            held < TOTAL / 2,
            "the peer sent {held} bytes to a socket no one read"
        );
        let mut got = 0;
        let read = async {
            while let Some(event) = socket.next_event().await {
                match event {
                    Event::Socket(SocketEvent::Data(data)) => got += data.len(),
                    Event::Socket(SocketEvent::Error(error)) => panic!("error: {error:?}"),
                    _ => {}
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(60), read)
            .await
            .unwrap();
        assert_eq!(got, TOTAL);
        peer.await.unwrap();
    });
}

/// A peer that resets the connection (RST: `SO_LINGER` 0) ends a `Socket` once, with
/// `ECONNRESET` and `close(true)` (Node docs `net.md` › `Event: 'error'`, `Event: 'close'`),
/// after which `next_event` gives `None` at once, with no loop left waiting on it.
#[test]
fn tokio_socket_reset_by_its_peer_ends_once() {
    runtime(false).block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tcp = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let conn = Connection::accepted(Instant::now(), SocketConfig::default());
        let mut socket = Socket::new(conn, stream);
        // Something to write when the reset comes: a reply that cannot go out any more.
        let reply = bytes::Bytes::from(vec![1u8; 8 << 20]);
        let _ = socket.conn_mut().socket_mut().write(Instant::now(), reply);
        socket2::SockRef::from(&tcp)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(tcp);
        let mut ends = Vec::new();
        let run = async {
            while let Some(event) = socket.next_event().await {
                match event {
                    Event::Socket(SocketEvent::Error(error)) => ends.push(error.code()),
                    Event::Socket(SocketEvent::Close { had_error }) => {
                        ends.push(if had_error {
                            "close(true)"
                        } else {
                            "close(false)"
                        });
                    }
                    _ => {}
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .unwrap();
        assert_eq!(ends.len(), 2, "{ends:?}");
        assert!(["ECONNRESET", "EPIPE"].contains(&ends[0]), "{ends:?}");
        assert_eq!(ends[1], "close(true)");
        assert!(socket.next_event().await.is_none());
    });
}
