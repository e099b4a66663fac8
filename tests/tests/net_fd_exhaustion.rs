//! A server that runs out of file descriptors (`accept` failing with `EMFILE`) keeps its
//! listener and serves again once descriptors free up, as Node's does: the mio driver's demo,
//! and sansnet-tokio's `serve` (the `tokio-chat` example).
//!
//! libuv, under Node's `net` and `http` servers, answers `EMFILE`/`ENFILE` from `accept` by
//! closing a descriptor it keeps in reserve, accepting each waiting connection and closing it
//! at once, then taking the reserve back (Node source `deps/uv/src/unix/stream.c`,
//! `uv__emfile_trick`): the clients that came while no descriptor was free are closed, and the queue is empty again.
//! Without that, the connections left in the queue (and every one behind them) waited forever,
//! because an edge-triggered poller says nothing more about a queue it already reported.

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
use std::time::Duration;

use common::{PeerServer, demo_binary, start_peer_server, tokio_chat_binary};

/// The descriptor limit the demo runs under (its own listeners, the poller, the signal pipe
/// and the standard streams take about a dozen).
const LIMIT: u32 = 40;
/// Clients connecting at once: twice the limit.
const CLIENTS: usize = 80;

/// `GET /hello` on a fresh connection; the whole answer (the request asks for `close`).
fn get_hello(port: u16) -> String {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    if let Err(e) = tcp.read_to_end(&mut answer) {
        panic!(
            "no answer to GET /hello within 10 s ({e}); got {:?}",
            String::from_utf8_lossy(&answer)
        );
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// While no descriptor is free, a client that comes is closed at once with the reserve's help,
/// not left waiting in the queue until others leave.
fn closed_at_once(port: u16, round: usize) {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // The request may meet a closed socket already.
    let _ = tcp.write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let mut answer = [0u8; 64];
    match tcp.read(&mut answer) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!(
            "round {round}: out of descriptors, a new client must be closed at once, not {other:?}"
        ),
    }
}

/// `server` under `ulimit -n 40`: 80 clients connect at once and hold their connections; one
/// more is closed at once; then they all leave, and a new `GET /hello` is answered. Twice over, so that the second exhaustion finds
/// the listener in working order too.
fn serves_again_after_running_out_of_descriptors(server: PeerServer) {
    for round in 0..2 {
        let clients: Vec<TcpStream> = (0..CLIENTS)
            .map(|_| TcpStream::connect(("127.0.0.1", server.port)).unwrap())
            .collect();
        // Let the server accept what it can and hit the limit.
        std::thread::sleep(Duration::from_millis(500));
        closed_at_once(server.port, round);
        drop(clients);
        std::thread::sleep(Duration::from_millis(500));
        let answer = get_hello(server.port);
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.contains("hello"),
            "round {round}: GET /hello after the descriptors ran out:\n{answer}"
        );
    }
    let log = server.stop();
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
}

/// A shell that lowers the descriptor limit to [`LIMIT`] and runs `binary` under it.
fn limited(binary: std::path::PathBuf) -> Command {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("ulimit -n {LIMIT} && exec \"$0\" \"$@\""))
        .arg(binary);
    command
}

/// The port of a `listening http ADDR` line.
fn http_port(line: &str) -> Option<u16> {
    let address = line.strip_prefix("listening http ")?;
    address
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|a| a.port())
}

#[test]
fn demo_serves_again_after_running_out_of_descriptors() {
    let mut command = limited(demo_binary());
    command
        .args(["--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0"])
        .args(["--http", "127.0.0.1:0", "--https", "127.0.0.1:0"])
        .arg("--unix")
        .arg(common::unix_path("fd-exhaustion"));
    let demo = start_peer_server(&mut command, "the demo under ulimit -n 40", http_port);
    serves_again_after_running_out_of_descriptors(demo);
}

/// sansnet-tokio's `serve` closes the clients waiting when `accept` fails with `EMFILE`
/// (`sansnet_os::listen::Reserve`), as libuv does.
#[test]
fn tokio_serve_serves_again_after_running_out_of_descriptors() {
    let mut command = limited(tokio_chat_binary());
    command.args(["--http", "127.0.0.1:0"]);
    let chat = start_peer_server(&mut command, "tokio-chat under ulimit -n 40", http_port);
    serves_again_after_running_out_of_descriptors(chat);
}
