//! One event loop serving 10,000 concurrent keep-alive connections: the demo answers a
//! request on every one of them, then a second request on each, over the same connections
//! (Node docs: http.md › server.keepAliveTimeout; the connections stay open between the two).

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::start_http_demo;

/// How many connections, at most (fewer if this process may not open that many descriptors).
const CONNECTIONS: usize = 10_000;

/// Reads one response with a `Content-Length` body from `tcp`; returns its status line and
/// body.
fn read_response(tcp: &mut TcpStream) -> (String, Vec<u8>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or_else(|| panic!("no Content-Length in {head}"));
            if got.len() >= end + 4 + length {
                let status = head.lines().next().unwrap_or_default().to_owned();
                return (status, got[end + 4..end + 4 + length].to_vec());
            }
        }
        let n = tcp.read(&mut buf).unwrap();
        assert!(n > 0, "the connection closed mid-response: {got:?}");
        got.extend_from_slice(&buf[..n]);
    }
}

/// 10,000 connections (or as many as the descriptor limit allows, stated) each get two
/// answers to `GET /hello`, the second on the same connection as the first.
#[test]
fn demo_serves_ten_thousand_keep_alive_connections() {
    let count = CONNECTIONS.min(common::descriptor_limit().saturating_sub(500));
    assert!(
        count >= 1000,
        "the descriptor limit allows only {count} connections"
    );
    println!("{count} connections");
    let demo = start_http_demo("many-connections");
    let start = Instant::now();
    let mut conns: Vec<TcpStream> = (0..count)
        .map(|_| {
            let tcp = TcpStream::connect(demo.addr()).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            tcp
        })
        .collect();
    for round in 0..2 {
        for tcp in &mut conns {
            tcp.write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .unwrap();
        }
        for (i, tcp) in conns.iter_mut().enumerate() {
            let (status, body) = read_response(tcp);
            assert!(
                status.starts_with("HTTP/1.1 200"),
                "round {round}, connection {i}: {status}"
            );
            assert_eq!(body, b"hello world", "round {round}, connection {i}");
        }
    }
    println!(
        "{count} connections, two requests each, in {:?}",
        start.elapsed()
    );
}
