//! WebSocket opening-handshake benches: the `Sec-WebSocket-Accept` computation
//! (base64(SHA-1(key + GUID))) of `sansnet-ws` beside `tungstenite`'s `derive_accept_key`.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sansnet_benches::data::{WS_ACCEPT, WS_KEY};

/// The RFC 6455 §1.3 sample key to its accept value.
fn accept_key(c: &mut Criterion) {
    assert_eq!(sansnet_ws::handshake::accept_key(WS_KEY), WS_ACCEPT);
    assert_eq!(tungstenite::handshake::derive_accept_key(WS_KEY), WS_ACCEPT);
    let mut group = c.benchmark_group("handshake/accept_key");
    group.throughput(Throughput::Bytes(
        u64::try_from(WS_KEY.len()).unwrap_or(u64::MAX),
    ));
    group.bench_with_input(
        BenchmarkId::new("sansnet", WS_KEY.len()),
        WS_KEY,
        |b, key| {
            b.iter(|| sansnet_ws::handshake::accept_key(black_box(key)));
        },
    );
    group.bench_with_input(
        BenchmarkId::new("tungstenite", WS_KEY.len()),
        WS_KEY,
        |b, key| {
            b.iter(|| tungstenite::handshake::derive_accept_key(black_box(key)));
        },
    );
    group.finish();
}

criterion_group!(benches, accept_key);
criterion_main!(benches);
