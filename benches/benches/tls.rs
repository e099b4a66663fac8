//! TLS handshake benches: a full TLS 1.3 handshake beside a resumed one (a session ticket,
//! RFC 8446 §2.2), both through the `sansnet-tls` machines in memory, client and server, until
//! the server's tickets have reached the client.
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use sansnet_benches::tls::{Peers, handshake};

/// Full versus resumed TLS 1.3 handshakes (ECDSA P-256 certificate, X25519).
fn handshakes(c: &mut Criterion) {
    let peers = Peers::new().expect("bench peers");
    assert_eq!(handshake(&peers.server, &peers.full), Some(false));
    assert_eq!(handshake(&peers.server, &peers.resuming), Some(false));
    assert_eq!(handshake(&peers.server, &peers.resuming), Some(true));
    let mut group = c.benchmark_group("tls/handshake_tls13");
    group.bench_function("sansnet_full", |b| {
        b.iter(|| handshake(&peers.server, &peers.full));
    });
    group.bench_function("sansnet_resumed", |b| {
        b.iter(|| handshake(&peers.server, &peers.resuming));
    });
    group.finish();
}

criterion_group!(benches, handshakes);
criterion_main!(benches);
