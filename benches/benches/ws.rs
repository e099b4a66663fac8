//! `sansnet-ws` benches: masked client frames through a server connection (decode) and
//! server frames out of it (encode), beside `tungstenite` (its `WebSocketContext` over an
//! in-memory stream), `fastwebsockets` (its `WebSocket` over an in-memory tokio stream, its
//! futures polled to completion by hand: the stream is always ready), `nexus-web` (its sans-I/O
//! `FrameReader`/`FrameWriter`) and a plain copy of the payload, the physical floor.
//!
//! Groups: `decode_small`/`decode_large` (the frame bytes copied into the reader's buffer, as
//! a socket read does, then parsed, unmasked and delivered), `unmask` (the same frame already
//! in the read buffer, so only parsing, unmasking in place and delivery are timed, beside
//! `fastwebsockets::unmask` and `memcpy` of the payload: unmasking against the copy it
//! replaces), and `encode`.
//!
//! What each row delivers, so that rows compare like with like:
//! - decode, `sansnet`: an owned `Message` (a `Bytes` split off the read buffer) through the
//!   event queue (`handle_input`, `poll_event`), dropped in the timed loop; `sansnet-lent`: the
//!   message lent as a slice of the read buffer (`handle_input_with`), the work `nexus-web`
//!   does (`FrameReader::read` copies into its buffer, `next` lends a `Message<'_>`) and
//!   `fastwebsockets` does (`read_frame` lends its buffer); `tungstenite` returns an owned
//!   `Message` (a `Vec` per message). Readers' buffers have the same capacity
//!   ([`READ_BUFFER`]).
//! - encode, `sansnet`: `send` of a `Bytes` (a clone of the caller's) into the connection's
//!   queue (bufferedAmount, the high-water mark), then `pop_transmit` until empty;
//!   `sansnet-lent`: the same with the payload lent (`send_binary`), copied into the frame.
//!   `nexus-web` writes the frame into the caller's slice and keeps no queue (ordering with
//!   control frames and backpressure are the caller's); `fastwebsockets` writes the header
//!   into its buffer and the payload with it, vectored, into the stream; `tungstenite` copies
//!   into its write buffer and flushes into a `Vec`. Large `sansnet` payloads (above 256 B) are
//!   queued without a copy, so its 64 KiB and 1 MiB rows copy nothing where the others copy.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::future::Future;
use std::hint::black_box;
use std::io::{Read, Write};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use sansnet_benches::data::{WS_LARGE_SIZES, WS_MASK, WS_SMALL_SIZES, masked_frame, payload};
use sansnet_ws::{Config, Connection, Message, Received, Role, WsEvent};
use tungstenite::protocol::{Role as TRole, WebSocketContext};

/// The read buffer's capacity, ours and nexus-web's alike: a reader copies each frame in
/// behind the last and reclaims the consumed front only when the capacity runs out, so both
/// pay the same (rare) compaction. (Before 2026-12-03 ours had exactly one frame's capacity
/// and reclaimed on every copy, about 35 instructions per frame nexus-web did not pay.)
const READ_BUFFER: usize = 4 * 1024 * 1024;

fn bytes(n: usize) -> Throughput {
    Throughput::Bytes(u64::try_from(n).unwrap_or(u64::MAX))
}

fn server() -> (Connection, Instant) {
    let now = Instant::now();
    let conn = Connection::new(Role::Server, Config::default(), Box::new(|_: &mut [u8]| {}));
    (conn, now)
}

/// An in-memory duplex stream for tungstenite: reads from `input`, writes into `output`.
struct Duplex<'a> {
    input: &'a [u8],
    output: Vec<u8>,
}

impl Read for Duplex<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Duplex<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.output.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs a future whose I/O is always ready to completion on this thread.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// An in-memory tokio stream for fastwebsockets: reads hand out `frame` over and over, at most
/// up to the end of the current copy (one frame per read, as `sansnet` and `tungstenite` get
/// it); writes are counted and dropped.
struct Loop {
    frame: &'static [u8],
    at: usize,
    written: usize,
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
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.written += buf.len();
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let n = bufs.iter().map(|b| b.len()).sum();
        self.written += n;
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A fastwebsockets server over a [`Loop`] of `frame` (leaked: one per bench function).
fn fastwebsockets_server(frame: &[u8]) -> fastwebsockets::WebSocket<Loop> {
    let frame: &'static [u8] = Box::leak(frame.to_vec().into_boxed_slice());
    let mut ws = fastwebsockets::WebSocket::after_handshake(
        Loop {
            frame,
            at: 0,
            written: 0,
        },
        fastwebsockets::Role::Server,
    );
    ws.set_max_message_size(100 * 1024 * 1024);
    ws
}

fn tungstenite_server() -> WebSocketContext {
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(100 * 1024 * 1024))
        .max_frame_size(Some(100 * 1024 * 1024));
    WebSocketContext::new(TRole::Server, Some(config))
}

fn nexus_reader() -> nexus_web::ws::FrameReader {
    nexus_web::ws::FrameReader::builder()
        .role(nexus_web::ws::Role::Server)
        .buffer_capacity(READ_BUFFER)
        .max_frame_size(100 * 1024 * 1024)
        .max_message_size(100 * 1024 * 1024)
        .build()
}

/// One masked binary frame in, one `Message` out.
fn decode(c: &mut Criterion, name: &str, sizes: &[usize]) {
    let mut group = c.benchmark_group(format!("ws/decode_{name}"));
    for &size in sizes {
        let data = payload(size);
        let frame = masked_frame(&data, WS_MASK);
        group.throughput(bytes(size));
        group.bench_with_input(BenchmarkId::new("sansnet", size), &frame, |b, frame| {
            let (mut conn, now) = server();
            let mut buf = BytesMut::with_capacity(READ_BUFFER);
            b.iter(|| {
                buf.extend_from_slice(frame);
                conn.handle_input(now, &mut buf);
                let event = conn.poll_event();
                assert!(
                    matches!(&event, Some(WsEvent::Message(Message::Binary(m))) if m.len() == size),
                    "one frame, one message"
                );
                black_box(event)
            });
        });
        group.bench_with_input(
            BenchmarkId::new("sansnet-lent", size),
            &frame,
            |b, frame| {
                let (mut conn, now) = server();
                let mut buf = BytesMut::with_capacity(READ_BUFFER);
                b.iter(|| {
                    buf.extend_from_slice(frame);
                    let mut len = None;
                    conn.handle_input_with(now, &mut buf, |_, received| {
                        if let Received::Binary(m) = received {
                            len = Some(black_box(m).len());
                        }
                    });
                    assert_eq!(len, Some(size), "one frame, one message");
                });
            },
        );
        group.bench_with_input(BenchmarkId::new("tungstenite", size), &frame, |b, frame| {
            let mut ws = tungstenite_server();
            b.iter(|| {
                let mut stream = Duplex {
                    input: frame,
                    output: Vec::new(),
                };
                let message = ws.read(&mut stream);
                assert!(
                    matches!(&message, Ok(tungstenite::Message::Binary(m)) if m.len() == size),
                    "one frame, one message"
                );
                black_box(message)
            });
        });
        group.bench_with_input(
            BenchmarkId::new("fastwebsockets", size),
            &frame,
            |b, frame| {
                let mut ws = fastwebsockets_server(frame);
                b.iter(|| {
                    let frame = block_on(ws.read_frame());
                    assert!(
                        matches!(&frame, Ok(f) if f.opcode == fastwebsockets::OpCode::Binary && f.payload.len() == size),
                        "one frame, one message"
                    );
                    black_box(frame.is_ok())
                });
            },
        );
        group.bench_with_input(BenchmarkId::new("nexus-web", size), &frame, |b, frame| {
            let mut reader = nexus_reader();
            b.iter(|| {
                assert!(reader.read(frame).is_ok(), "the frame fits the buffer");
                let message = reader.next();
                assert!(
                    matches!(&message, Ok(Some(nexus_web::ws::Message::Binary(m))) if m.len() == size),
                    "one frame, one message"
                );
                black_box(message.is_ok());
            });
        });
        group.bench_with_input(BenchmarkId::new("memcpy", size), &data, |b, data| {
            let mut dst = vec![0u8; data.len()];
            b.iter(|| {
                dst.copy_from_slice(black_box(data));
                black_box(&dst);
            });
        });
    }
    group.finish();
}

fn decode_small(c: &mut Criterion) {
    decode(c, "small", &WS_SMALL_SIZES);
}

fn decode_large(c: &mut Criterion) {
    decode(c, "large", &WS_LARGE_SIZES);
}

/// A masked frame already in the read buffer: parse, unmask in place, `Message` out; beside
/// fastwebsockets' public `unmask` on a payload already in its buffer, and a copy of the
/// payload. Each row refills its buffer untimed and times one operation with `Instant`, so the
/// rows carry the same clock overhead (about 20 ns, small beside 64 KiB).
fn unmask(c: &mut Criterion) {
    let mut group = c.benchmark_group("ws/unmask");
    for size in [WS_SMALL_SIZES[2], WS_LARGE_SIZES[0], WS_LARGE_SIZES[1]] {
        let data = payload(size);
        let frame = masked_frame(&data, WS_MASK);
        group.throughput(bytes(size));
        group.bench_with_input(BenchmarkId::new("sansnet", size), &frame, |b, frame| {
            let (mut conn, now) = server();
            let mut buf = BytesMut::with_capacity(frame.len());
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    buf.extend_from_slice(frame);
                    let start = Instant::now();
                    conn.handle_input(now, &mut buf);
                    let event = conn.poll_event();
                    total += start.elapsed();
                    assert!(
                        matches!(&event, Some(WsEvent::Message(Message::Binary(m))) if m.len() == size),
                        "one frame, one message"
                    );
                }
                total
            });
        });
        group.bench_with_input(
            BenchmarkId::new("sansnet-lent", size),
            &frame,
            |b, frame| {
                let (mut conn, now) = server();
                let mut buf = BytesMut::with_capacity(frame.len());
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        buf.extend_from_slice(frame);
                        let mut len = None;
                        let start = Instant::now();
                        conn.handle_input_with(now, &mut buf, |_, received| {
                            if let Received::Binary(m) = received {
                                len = Some(black_box(m).len());
                            }
                        });
                        total += start.elapsed();
                        assert_eq!(len, Some(size), "one frame, one message");
                    }
                    total
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("fastwebsockets", size),
            &data,
            |b, data| {
                let mut work = data.clone();
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        work.copy_from_slice(data);
                        let start = Instant::now();
                        fastwebsockets::unmask(black_box(&mut work), WS_MASK);
                        total += start.elapsed();
                    }
                    total
                });
            },
        );
        group.bench_with_input(BenchmarkId::new("memcpy", size), &data, |b, data| {
            let mut dst = vec![0u8; data.len()];
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    dst.copy_from_slice(black_box(data));
                    black_box(&dst);
                    total += start.elapsed();
                }
                total
            });
        });
    }
    group.finish();
}

/// One binary message out: `send`, then every frame byte taken.
fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("ws/encode");
    for size in WS_SMALL_SIZES.into_iter().chain(WS_LARGE_SIZES) {
        let data = Bytes::from(payload(size));
        group.throughput(bytes(size));
        group.bench_with_input(BenchmarkId::new("sansnet", size), &data, |b, data| {
            let (mut conn, now) = server();
            b.iter(|| {
                let _ = conn.send(now, Message::Binary(data.clone()));
                let mut out = 0;
                while let Some(chunk) = conn.pop_transmit(now) {
                    out += black_box(chunk).len();
                }
                assert!(out > size, "header and payload out");
            });
        });
        group.bench_with_input(BenchmarkId::new("sansnet-lent", size), &data, |b, data| {
            let (mut conn, now) = server();
            b.iter(|| {
                let _ = conn.send_binary(now, data);
                let mut out = 0;
                while let Some(chunk) = conn.pop_transmit(now) {
                    out += black_box(chunk).len();
                }
                assert!(out > size, "header and payload out");
            });
        });
        group.bench_with_input(BenchmarkId::new("tungstenite", size), &data, |b, data| {
            let mut ws = tungstenite_server();
            let mut stream = Duplex {
                input: &[],
                output: Vec::with_capacity(size + 14),
            };
            b.iter(|| {
                stream.output.clear();
                let sent = ws.write(&mut stream, tungstenite::Message::Binary(data.clone()));
                let flushed = ws.flush(&mut stream);
                assert!(sent.is_ok() && flushed.is_ok(), "the frame is written");
                assert!(stream.output.len() > size, "header and payload out");
                black_box(&stream.output);
            });
        });
        group.bench_with_input(
            BenchmarkId::new("fastwebsockets", size),
            &data,
            |b, data| {
                let mut ws = fastwebsockets_server(b"");
                b.iter(|| {
                    let frame =
                        fastwebsockets::Frame::binary(fastwebsockets::Payload::Borrowed(data));
                    let sent = block_on(ws.write_frame(frame));
                    assert!(sent.is_ok(), "the frame is written");
                });
            },
        );
        group.bench_with_input(BenchmarkId::new("nexus-web", size), &data, |b, data| {
            let mut writer = nexus_web::ws::FrameWriter::new(nexus_web::ws::Role::Server);
            let mut dst = vec![0u8; writer.max_encoded_len(size)];
            b.iter(|| {
                let n = writer.encode_binary(data, &mut dst);
                assert!(n > size, "header and payload out");
                black_box(&dst[..n]);
            });
        });
        group.bench_with_input(BenchmarkId::new("memcpy", size), &data, |b, data| {
            let mut dst = vec![0u8; data.len()];
            b.iter(|| {
                dst.copy_from_slice(black_box(data));
                black_box(&dst);
            });
        });
    }
    group.finish();
}

criterion_group!(benches, decode_small, decode_large, unmask, encode);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
