//! `sansnet-udp` benches: the cost the dgram machine adds per datagram, beside a floor that
//! only moves the same `Bytes`.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::collections::VecDeque;
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sansnet_benches::data::{DATAGRAM_SIZES, payload};
use sansnet_udp::{Socket, SocketConfig, SocketEvent};

fn bound() -> (Socket, Instant) {
    let now = Instant::now();
    let mut socket = Socket::new(SocketConfig::default());
    socket.bind(now, None).expect("a new socket binds");
    while socket.poll_action().is_some() {}
    socket.handle_bound(now, SocketAddr::from(([127, 0, 0, 1], 41234)));
    while socket.poll_event().is_some() {}
    (socket, now)
}

/// One datagram in: `handle_datagram`, one `Message` out.
fn receive(c: &mut Criterion) {
    let mut group = c.benchmark_group("udp/receive");
    let from = SocketAddr::from(([127, 0, 0, 1], 5000));
    for size in DATAGRAM_SIZES {
        let data = Bytes::from(payload(size));
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("sansnet", size), &data, |b, data| {
            let (mut socket, now) = bound();
            b.iter(|| {
                socket.handle_datagram(now, data.clone(), from);
                let event = socket.poll_event();
                assert!(
                    matches!(event, Some(SocketEvent::Message { .. })),
                    "one message event"
                );
                black_box(event)
            });
        });
        group.bench_with_input(BenchmarkId::new("floor", size), &data, |b, data| {
            let mut queue = VecDeque::new();
            b.iter(|| {
                queue.push_back((data.clone(), from));
                black_box(queue.pop_front())
            });
        });
    }
    group.finish();
}

/// One datagram out: `send`, `poll_transmit`, `handle_sent`, the `Sent` event.
fn send(c: &mut Criterion) {
    let mut group = c.benchmark_group("udp/send");
    for size in DATAGRAM_SIZES {
        let data = Bytes::from(payload(size));
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("sansnet", size), &data, |b, data| {
            let (mut socket, now) = bound();
            b.iter(|| {
                let len = data.len();
                let id = socket
                    .send(now, data.clone(), 0, len, 5000, None)
                    .expect("valid send");
                let datagram = socket.poll_transmit().expect("bound: sent at once");
                socket.handle_sent(now, id, Ok(black_box(datagram.data.len())));
                black_box(socket.poll_event())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, receive, send);
criterion_main!(benches);
