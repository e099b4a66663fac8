//! `sansnet-tcp` benches: the cost the socket machine adds on top of moving the bytes.
//!
//! Each group has `sansnet` (the machine) beside `floor` (the same byte movement with no
//! machine: a `BytesMut` split or a `VecDeque` of `Bytes`), so the report shows the overhead.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::collections::VecDeque;
use std::hint::black_box;
use std::io::IoSlice;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sansnet_benches::data::{READ_SIZES, payload};
use sansnet_tcp::{Socket, SocketConfig, SocketEvent};

fn established() -> (Socket, Instant) {
    let now = Instant::now();
    let mut socket = Socket::connect(now, SocketConfig::default());
    socket.handle_connected(now);
    while socket.poll_event().is_some() {}
    while socket.poll_action().is_some() {}
    (socket, now)
}

/// One read: bytes in, one `Data` event out.
fn read_to_data(c: &mut Criterion) {
    let mut group = c.benchmark_group("tcp/read_to_data");
    for size in READ_SIZES {
        let input = payload(size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("sansnet", size), &input, |b, input| {
            let (mut socket, now) = established();
            let mut buf = BytesMut::with_capacity(64 * 1024);
            b.iter(|| {
                buf.extend_from_slice(input);
                socket.handle_input(now, &mut buf);
                let event = socket.poll_event();
                assert!(
                    matches!(event, Some(SocketEvent::Data(_))),
                    "one read, one data event"
                );
                black_box(event)
            });
        });
        group.bench_with_input(BenchmarkId::new("floor", size), &input, |b, input| {
            let mut buf = BytesMut::with_capacity(64 * 1024);
            b.iter(|| {
                buf.extend_from_slice(input);
                black_box(buf.split().freeze())
            });
        });
    }
    group.finish();
}

/// One write: `write`, gather the slices, report them written.
fn write_to_transmit(c: &mut Criterion) {
    let mut group = c.benchmark_group("tcp/write_to_transmit");
    for size in READ_SIZES {
        let data = Bytes::from(payload(size));
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("sansnet", size), &data, |b, data| {
            let (mut socket, now) = established();
            b.iter(|| {
                let _ = socket.write(now, data.clone());
                let written: usize = {
                    let mut slices = [IoSlice::new(&[]); 8];
                    let n = socket.transmit_chunks(&mut slices);
                    slices[..n].iter().map(|s| black_box(s.len())).sum()
                };
                socket.advance_transmit(now, written);
                while socket.poll_event().is_some() {}
            });
        });
        group.bench_with_input(BenchmarkId::new("floor", size), &data, |b, data| {
            let mut queue: VecDeque<Bytes> = VecDeque::new();
            b.iter(|| {
                queue.push_back(data.clone());
                black_box(queue.pop_front())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, read_to_data, write_to_transmit);
criterion_main!(benches);
