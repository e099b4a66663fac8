//! Properties of the TLS machine through its public API: chunking invariance under random
//! cuts (with HTTP on top), no panic and one error at most on arbitrary or corrupted input,
//! and sane event sequences under arbitrary interleavings of commands and inputs.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::{Setup, Split, Transcript, error_of, events, https_exchange, plaintext, transmit};
use proptest::prelude::*;
use sansnet_tls::{READ_LIMIT, TlsConnection, TlsEvent};

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| Setup::new(&["example.test"]))
}

fn whole() -> &'static Transcript {
    static WHOLE: OnceLock<Transcript> = OnceLock::new();
    WHOLE.get_or_init(|| https_exchange(setup(), &Split::Whole))
}

/// A real first flight of our client (its ClientHello).
fn client_hello() -> &'static [u8] {
    static HELLO: OnceLock<Vec<u8>> = OnceLock::new();
    HELLO.get_or_init(|| {
        let mut pair = setup().pair("example.test");
        transmit(&mut pair.client)
    })
}

/// Feeds `bytes` to a fresh server in `sizes` pieces, then EOF; checks the server's
/// invariants and returns its events.
fn feed_server(bytes: &[u8], sizes: Vec<usize>) -> Vec<TlsEvent> {
    let now = Instant::now();
    let mut server = TlsConnection::server(setup().server.build().unwrap()).unwrap();
    let mut pending = BytesMut::new();
    let mut out = Vec::new();
    for piece in Split::Sizes(sizes).pieces(bytes) {
        pending.extend_from_slice(piece);
        server.handle_input(now, &mut pending);
        out.extend(events(&mut server));
        plaintext(&mut server);
        transmit(&mut server);
        assert!(pending.len() <= bytes.len());
    }
    server.handle_eof(now);
    out.extend(events(&mut server));
    assert!(server.read_plaintext().is_none());
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Chunking invariance through the stack: any cut of every ciphertext delivery gives the
    /// same TLS and HTTP events as whole delivery.
    #[test]
    fn random_cuts_give_same_events(sizes in prop::collection::vec(1usize..400, 1..6)) {
        let cut = https_exchange(setup(), &Split::Sizes(sizes));
        let whole = whole();
        prop_assert_eq!(&cut.client_tls, &whole.client_tls);
        prop_assert_eq!(&cut.server_tls, &whole.server_tls);
        prop_assert_eq!(&cut.server_http, &whole.server_http);
        prop_assert_eq!(&cut.client_http, &whole.client_http);
    }

    /// Arbitrary bytes to a server: no panic, at most one error, and never a `SecureConnect`
    /// (there is no handshake to finish without a client); EOF makes an error if none came.
    #[test]
    fn arbitrary_bytes_to_server(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        sizes in prop::collection::vec(1usize..300, 1..5),
    ) {
        let events = feed_server(&bytes, sizes);
        prop_assert!(error_of(&events).is_some());
        prop_assert!(!events.iter().any(|e| matches!(e, TlsEvent::SecureConnect(_))));
        prop_assert_eq!(events.len(), 1);
    }

    /// A real ClientHello with bytes changed or cut: no panic, exactly one error in the end,
    /// the same events for any cut of the input.
    #[test]
    fn corrupted_client_hello_to_server(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        truncate in any::<prop::sample::Index>(),
        sizes in prop::collection::vec(1usize..300, 1..5),
    ) {
        let mut hello = client_hello().to_vec();
        for (at, value) in flips {
            let at = at.index(hello.len());
            hello[at] ^= value;
        }
        hello.truncate(truncate.index(hello.len() + 1));
        let cut = feed_server(&hello, sizes);
        let whole = feed_server(&hello, vec![usize::MAX]);
        prop_assert_eq!(cut.len(), 1);
        prop_assert_eq!(cut, whole);
    }

    /// Any interleaving of writes, closes, deliveries, EOFs and timer firings: at most one
    /// error per side, `SecureConnect` at most once and first, nothing after an error,
    /// `End` at most once, plaintext only after `SecureConnect`, bounded buffers.
    #[test]
    fn arbitrary_operations_keep_event_order(ops in prop::collection::vec(op(), 1..30)) {
        let mut pair = setup().pair("example.test");
        let mut client_events = Vec::new();
        let mut server_events = Vec::new();
        let mut received = [0usize; 2];
        let mut now = pair.now;
        for op in ops {
            match op {
                Op::Write(side, len) => {
                    let conn = if side { &mut pair.client } else { &mut pair.server };
                    conn.write(Instant::now(), &vec![b'a'; len]);
                }
                Op::Close(side) => if side { pair.client.close(Instant::now()) } else { pair.server.close(Instant::now()) },
                Op::Drive(sizes) => pair.drive_with(&Split::Sizes(sizes)),
                Op::Eof(side) => if side {
                    pair.client.handle_eof(now)
                } else {
                    pair.server.handle_eof(now)
                },
                Op::Tick(secs) => {
                    now += Duration::from_secs(secs);
                    pair.client.handle_timeout(now);
                    pair.server.handle_timeout(now);
                }
            }
            for (i, (conn, log)) in [
                (&mut pair.client, &mut client_events),
                (&mut pair.server, &mut server_events),
            ]
            .into_iter()
            .enumerate()
            {
                let new = events(conn);
                let bytes = plaintext(conn).len();
                if bytes > 0 {
                    prop_assert!(
                        log.iter().chain(&new).any(|e| matches!(e, TlsEvent::SecureConnect(_)))
                    );
                }
                received[i] += bytes;
                log.extend(new);
            }
        }
        for log in [&client_events, &server_events] {
            let errors = log.iter().filter(|e| matches!(e, TlsEvent::Error(_))).count();
            prop_assert!(errors <= 1, "{:?}", log);
            if let Some(at) = log.iter().position(|e| matches!(e, TlsEvent::Error(_))) {
                prop_assert_eq!(at, log.len() - 1, "events after an error: {:?}", log);
            }
            let secure = log.iter().filter(|e| matches!(e, TlsEvent::SecureConnect(_))).count();
            prop_assert!(secure <= 1);
            if secure == 1 {
                prop_assert!(matches!(log[0], TlsEvent::SecureConnect(_)), "{:?}", log);
            }
            prop_assert!(log.iter().filter(|e| **e == TlsEvent::End).count() <= 1);
        }
        prop_assert!(received.iter().all(|r| *r <= 30 * 70_000 + READ_LIMIT));
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// `true`: the client.
    Write(bool, usize),
    Close(bool),
    Drive(Vec<usize>),
    Eof(bool),
    Tick(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<bool>(), 0usize..70_000).prop_map(|(s, n)| Op::Write(s, n)),
        any::<bool>().prop_map(Op::Close),
        prop::collection::vec(1usize..2000, 1..4).prop_map(Op::Drive),
        prop::collection::vec(1usize..2000, 1..4).prop_map(Op::Drive),
        any::<bool>().prop_map(Op::Eof),
        (0u64..200).prop_map(Op::Tick),
    ]
}
