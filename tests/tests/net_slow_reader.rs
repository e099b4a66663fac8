//! A client that sends to the demo's echo routes without reading the echo: the demo stops
//! reading until the echo drains, as Node's `req.pipe(res)` does (Node docs: stream.md ›
//! readable.pipe(): "the flow of data will be automatically managed so that the destination
//! Writable stream is not overwhelmed"), so its memory stays bounded; once the client reads,
//! the echo completes, byte for byte.
//!
//! - `POST /echo` with 96 MiB of body: pause the request at the response's high-water mark
//!   (`write` returned false), resume on `drain`;
//! - `/ws` with 96 MiB in 64 KiB messages: pause while `bufferedAmount` is past the
//!   high-water mark (`send` returned false), resume on `drain`;
//! - `GET /download?bytes=N` for 96 MiB, not read for a while: the demo writes while `write`
//!   returns true and goes on at `drain`, so it holds about one high-water mark.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::start_http_demo;

/// How much each client sends.
const TOTAL: usize = 96 << 20;
/// One write of the client (and one WebSocket message).
const CHUNK: usize = 64 << 10;
/// How much the demo's resident memory may grow while the client does not read: the socket
/// machine's and the protocol machine's high-water marks (16 KiB each), the read buffer, and
/// allocator slack; far below the 96 MiB it would hold if it read on regardless.
const RSS_GROWTH: usize = 8 << 20;

/// The resident set of process `pid` in bytes (`VmRSS` in `/proc/PID/status`; proc(5)).
fn rss(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib << 10
}

/// Byte `i` of the stream the clients send.
fn pattern(i: usize) -> u8 {
    u8::try_from(i % 251).expect("below 251")
}

/// Writes `frames` (each paired with how many payload bytes it carries) on a thread, counting
/// payload bytes sent; waits until the writes stall (the demo stopped reading) and checks the
/// demo's memory then; then reads `expect` bytes of answer with `read_answer` and returns
/// them.
fn stall_then_drain(
    pid: u32,
    stream: TcpStream,
    frames: impl Iterator<Item = (Vec<u8>, usize)> + Send + 'static,
    mut read_answer: impl FnMut(&mut TcpStream) -> Vec<u8>,
) -> Vec<u8> {
    let baseline = rss(pid);
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let mut writer = stream.try_clone().unwrap();
    writer
        .set_write_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let writing = std::thread::spawn(move || {
        for (frame, payload) in frames {
            writer.write_all(&frame).unwrap();
            counter.fetch_add(payload, Ordering::SeqCst);
        }
    });
    // The writes stall once the demo stops reading: no progress for half a second.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = usize::MAX;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = sent.load(Ordering::SeqCst);
        if now == last || now == TOTAL || Instant::now() > deadline {
            break;
        }
        last = now;
    }
    let stalled_at = sent.load(Ordering::SeqCst);
    let grown = rss(pid).saturating_sub(baseline);
    assert!(
        stalled_at < TOTAL,
        "the client sent all {TOTAL} bytes without reading: the demo read on regardless \
         (its RSS grew by {grown} bytes)"
    );
    assert!(
        grown < RSS_GROWTH,
        "the demo's RSS grew by {grown} bytes while the client did not read \
         ({stalled_at} bytes sent)"
    );
    println!("the demo's RSS grew by {grown} bytes; the client stalled after {stalled_at} bytes");
    let mut reader = stream;
    reader
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let answer = read_answer(&mut reader);
    writing.join().unwrap();
    answer
}

/// `POST /echo` with 96 MiB that the client does not read until the demo has stopped reading.
#[test]
fn echo_upload_without_reading_stays_bounded() {
    let demo = start_http_demo("slow-reader-echo");
    let stream = TcpStream::connect(("127.0.0.1", demo.port)).unwrap();
    let head = format!("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: {TOTAL}\r\n\r\n");
    let frames = std::iter::once((head.into_bytes(), 0)).chain((0..TOTAL / CHUNK).map(|c| {
        let chunk: Vec<u8> = (c * CHUNK..(c + 1) * CHUNK).map(pattern).collect();
        (chunk, CHUNK)
    }));
    let answer = stall_then_drain(demo.guard.child.id(), stream, frames, |reader| {
        let mut answer = Vec::with_capacity(TOTAL + 1024);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let end = answer.windows(4).position(|w| w == b"\r\n\r\n");
            if let Some(end) = end
                && answer.len() >= end + 4 + TOTAL
            {
                return answer.split_off(end + 4);
            }
            let n = reader.read(&mut buf).unwrap();
            assert!(n > 0, "the echo ended early after {} bytes", answer.len());
            answer.extend_from_slice(&buf[..n]);
        }
    });
    assert_eq!(answer.len(), TOTAL);
    assert!(
        answer.iter().enumerate().all(|(i, &b)| b == pattern(i)),
        "the echo differs from what was sent"
    );
}

/// 96 MiB in 64 KiB binary messages to `/ws`, echoes not read until the demo stopped reading.
#[test]
fn ws_echo_without_reading_stays_bounded() {
    let demo = start_http_demo("slow-reader-ws");
    let mut stream = TcpStream::connect(("127.0.0.1", demo.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(
            b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              Sec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{head:?}");
    // Masked binary frames of 65536 bytes: one past the 16-bit length form, so the 64-bit
    // form (127), RFC 6455 §5.2.
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let frames = (0..TOTAL / CHUNK).map(move |c| {
        let mut frame = vec![0x82, 0x80 | 127];
        frame.extend_from_slice(&u64::try_from(CHUNK).unwrap().to_be_bytes());
        frame.extend_from_slice(&mask);
        frame.extend((0..CHUNK).map(|i| pattern(c * CHUNK + i) ^ mask[i % 4]));
        (frame, CHUNK)
    });
    let answer = stall_then_drain(demo.guard.child.id(), stream, frames, |reader| {
        // The server's frames are unmasked: 0x82, 127, 8-byte length, payload.
        let mut answer = Vec::with_capacity(TOTAL);
        while answer.len() < TOTAL {
            let mut header = [0u8; 10];
            reader.read_exact(&mut header).unwrap();
            assert_eq!(header[..2], [0x82, 127], "an unfragmented binary echo");
            let len = u64::from_be_bytes(header[2..].try_into().unwrap());
            let start = answer.len();
            answer.resize(start + usize::try_from(len).unwrap(), 0);
            reader.read_exact(&mut answer[start..]).unwrap();
        }
        answer
    });
    assert_eq!(answer.len(), TOTAL);
    assert!(
        answer.iter().enumerate().all(|(i, &b)| b == pattern(i)),
        "the echo differs from what was sent"
    );
}

/// `GET /download` of 96 MiB, not read for a second: the demo's memory stays bounded; then the
/// whole body arrives, byte for byte.
#[test]
fn download_without_reading_stays_bounded() {
    let demo = start_http_demo("slow-reader-download");
    let pid = demo.guard.child.id();
    let baseline = rss(pid);
    let mut stream = TcpStream::connect(("127.0.0.1", demo.port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let request = format!("GET /download?bytes={TOTAL} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let grown = rss(pid).saturating_sub(baseline);
    println!("the demo's RSS grew by {grown} bytes while the download was not read");
    assert!(
        grown < RSS_GROWTH,
        "the demo's RSS grew by {grown} bytes while the client did not read"
    );
    let mut got = Vec::with_capacity(TOTAL + 1024);
    let mut buf = vec![0u8; 1 << 20];
    let body_start = loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the download ended early after {} bytes", got.len());
        got.extend_from_slice(&buf[..n]);
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    assert!(got.starts_with(b"HTTP/1.1 200"), "{:?}", &got[..body_start]);
    while got.len() < body_start + TOTAL {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the download ended early after {} bytes", got.len());
        got.extend_from_slice(&buf[..n]);
    }
    let body = &got[body_start..];
    assert_eq!(body.len(), TOTAL);
    assert!(
        body.iter()
            .enumerate()
            .all(|(i, &b)| usize::from(b) == i % 256),
        "the download differs from byte i = i mod 256"
    );
}
