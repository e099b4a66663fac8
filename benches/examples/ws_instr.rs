//! Instruction counts for one small WebSocket decode and encode, ours beside `nexus-web` and
//! `fastwebsockets`, for callgrind (the criterion benches time the same operations; on a
//! shared machine instruction counts are the steadier measure).
//!
//! ```text
//! cargo build --profile bench -p sansnet-benches --example ws_instr
//! valgrind --tool=callgrind --toggle-collect='ws_instr::sansnet_decode' \
//!     target/release/examples/ws_instr sansnet_decode 40
//! ```
//!
//! The first argument names the operation (`sansnet_decode`, `sansnet_decode_lent`,
//! `nexus_decode`, `fws_decode`, `sansnet_encode`, `sansnet_encode_lent`, `nexus_encode`,
//! `fws_encode`), the second the payload size (40 by
//! default). Each runs 10,000 times after 100 untimed warm-up runs, so the instructions
//! callgrind counts in the toggled function, divided by 10,100, are one operation's.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    missing_docs,
    reason = "a measuring tool: a failed run is a bug to see at once"
)]

use std::future::Future;
use std::hint::black_box;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use sansnet_benches::data::{WS_MASK, masked_frame, payload};
use sansnet_ws::{Config, Connection, Message, Received, Role, WsEvent};

/// Runs per measurement (after `WARM_UP` more).
const RUNS: usize = 10_000;
const WARM_UP: usize = 100;
/// The read buffer's capacity, ours and nexus-web's alike (as in `benches/ws.rs`).
const READ_BUFFER: usize = 4 * 1024 * 1024;

fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// Hands out `frame` over and over, one copy per read; writes are dropped.
struct Loop {
    frame: &'static [u8],
    at: usize,
}

impl tokio::io::AsyncRead for Loop {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let rest = &self.frame[self.at..];
        let n = rest.len().min(buf.remaining());
        buf.put_slice(&rest[..n]);
        self.at = (self.at + n) % self.frame.len().max(1);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Loop {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn fws(frame: &[u8]) -> fastwebsockets::WebSocket<Loop> {
    let frame: &'static [u8] = Box::leak(frame.to_vec().into_boxed_slice());
    let mut ws = fastwebsockets::WebSocket::after_handshake(
        Loop { frame, at: 0 },
        fastwebsockets::Role::Server,
    );
    ws.set_max_message_size(100 * 1024 * 1024);
    ws
}

#[inline(never)]
fn sansnet_decode(conn: &mut Connection, now: Instant, buf: &mut BytesMut, frame: &[u8]) -> usize {
    buf.extend_from_slice(frame);
    conn.handle_input(now, buf);
    match conn.poll_event() {
        Some(WsEvent::Message(Message::Binary(m))) => black_box(m).len(),
        other => panic!("one frame, one message: {other:?}"),
    }
}

#[inline(never)]
fn sansnet_decode_lent(
    conn: &mut Connection,
    now: Instant,
    buf: &mut BytesMut,
    frame: &[u8],
) -> usize {
    buf.extend_from_slice(frame);
    let mut len = None;
    conn.handle_input_with(now, buf, |_, received| match received {
        Received::Binary(m) => len = Some(black_box(m).len()),
        other => panic!("one frame, one message: {other:?}"),
    });
    len.unwrap()
}

#[inline(never)]
fn nexus_decode(reader: &mut nexus_web::ws::FrameReader, frame: &[u8]) -> usize {
    reader.read(frame).unwrap();
    match reader.next() {
        Ok(Some(nexus_web::ws::Message::Binary(m))) => black_box(m).len(),
        _ => panic!("one frame, one message"),
    }
}

#[inline(never)]
fn fws_decode(ws: &mut fastwebsockets::WebSocket<Loop>) -> usize {
    let frame = block_on(ws.read_frame()).unwrap();
    black_box(frame.payload.len())
}

#[inline(never)]
fn sansnet_encode(conn: &mut Connection, now: Instant, data: &Bytes) -> usize {
    let _ = conn.send(now, Message::Binary(data.clone()));
    let mut out = 0;
    while let Some(chunk) = conn.pop_transmit(now) {
        out += black_box(chunk).len();
    }
    out
}

#[inline(never)]
fn sansnet_encode_lent(conn: &mut Connection, now: Instant, data: &[u8]) -> usize {
    let _ = conn.send_binary(now, data);
    let mut out = 0;
    while let Some(chunk) = conn.pop_transmit(now) {
        out += black_box(chunk).len();
    }
    out
}

#[inline(never)]
fn nexus_encode(writer: &mut nexus_web::ws::FrameWriter, data: &[u8], dst: &mut [u8]) -> usize {
    let n = writer.encode_binary(data, dst);
    black_box(&dst[..n]);
    n
}

#[inline(never)]
fn fws_encode(ws: &mut fastwebsockets::WebSocket<Loop>, data: &[u8]) -> usize {
    let frame = fastwebsockets::Frame::binary(fastwebsockets::Payload::Borrowed(data));
    block_on(ws.write_frame(frame)).unwrap();
    data.len()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "sansnet_decode".into());
    let size: usize = args.next().map_or(40, |s| s.parse().unwrap());
    let data = payload(size);
    let frame = masked_frame(&data, WS_MASK);
    let now = Instant::now();
    let mut total = 0usize;
    let start = Instant::now();
    match which.as_str() {
        "sansnet_decode" => {
            let mut conn =
                Connection::new(Role::Server, Config::default(), Box::new(|_: &mut [u8]| {}));
            let mut buf = BytesMut::with_capacity(READ_BUFFER);
            for _ in 0..RUNS + WARM_UP {
                total += sansnet_decode(&mut conn, now, &mut buf, &frame);
            }
        }
        "sansnet_decode_lent" => {
            let mut conn =
                Connection::new(Role::Server, Config::default(), Box::new(|_: &mut [u8]| {}));
            let mut buf = BytesMut::with_capacity(READ_BUFFER);
            for _ in 0..RUNS + WARM_UP {
                total += sansnet_decode_lent(&mut conn, now, &mut buf, &frame);
            }
        }
        "nexus_decode" => {
            let mut reader = nexus_web::ws::FrameReader::builder()
                .role(nexus_web::ws::Role::Server)
                .buffer_capacity(READ_BUFFER)
                .max_frame_size(100 * 1024 * 1024)
                .max_message_size(100 * 1024 * 1024)
                .build();
            for _ in 0..RUNS + WARM_UP {
                total += nexus_decode(&mut reader, &frame);
            }
        }
        "fws_decode" => {
            let mut ws = fws(&frame);
            for _ in 0..RUNS + WARM_UP {
                total += fws_decode(&mut ws);
            }
        }
        "sansnet_encode" => {
            let mut conn =
                Connection::new(Role::Server, Config::default(), Box::new(|_: &mut [u8]| {}));
            let data = Bytes::from(data);
            for _ in 0..RUNS + WARM_UP {
                total += sansnet_encode(&mut conn, now, &data);
            }
        }
        "sansnet_encode_lent" => {
            let mut conn =
                Connection::new(Role::Server, Config::default(), Box::new(|_: &mut [u8]| {}));
            for _ in 0..RUNS + WARM_UP {
                total += sansnet_encode_lent(&mut conn, now, &data);
            }
        }
        "nexus_encode" => {
            let mut writer = nexus_web::ws::FrameWriter::new(nexus_web::ws::Role::Server);
            let mut dst = vec![0u8; writer.max_encoded_len(size)];
            for _ in 0..RUNS + WARM_UP {
                total += nexus_encode(&mut writer, &data, &mut dst);
            }
        }
        "fws_encode" => {
            let mut ws = fws(b"");
            for _ in 0..RUNS + WARM_UP {
                total += fws_encode(&mut ws, &data);
            }
        }
        other => panic!("unknown operation {other}"),
    }
    let per = start.elapsed().as_nanos() / (RUNS + WARM_UP) as u128;
    println!("{which} {size} B: {per} ns per run (wall, indicative), {total} bytes");
}
