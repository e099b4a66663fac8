//! Session resumption between our client and server in memory (Node docs `tls.md` ›
//! `Session resumption`, Node docs `tls.md` › `tlsSocket.isSessionReused()`): the first
//! connection on a pair of configurations is a full handshake, the next ones resume (TLS 1.3
//! tickets, TLS 1.2 tickets and session IDs) and say so on both sides; the client's
//! `maxCachedSessions` bounds what it remembers, and each way of turning resumption off works.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{Pair, Setup, connected, events, plaintext};
use sansnet_tls::rustls::client::Resumption;
use sansnet_tls::rustls::{ClientConfig, ServerConfig};
use sansnet_tls::{ClientOptions, HandshakeInfo, Protocol, ServerOptions};

/// One connection on `server` and `client` to `host`: the handshake, a byte each way (which
/// also carries the server's TLS 1.3 tickets to the client), and what each side reported.
fn connect(
    server: &Arc<ServerConfig>,
    client: &Arc<ClientConfig>,
    host: &str,
) -> (HandshakeInfo, HandshakeInfo) {
    let mut pair = Pair::new(server.clone(), client.clone(), host);
    assert_eq!(pair.client.write(Instant::now(), b"c"), 1);
    assert_eq!(pair.server.write(Instant::now(), b"s"), 1);
    pair.drive();
    assert!(connected(&events(&mut pair.client)), "client connected");
    assert!(connected(&events(&mut pair.server)), "server connected");
    assert_eq!(plaintext(&mut pair.server), b"c");
    assert_eq!(plaintext(&mut pair.client), b"s");
    (
        pair.client.info().unwrap().clone(),
        pair.server.info().unwrap().clone(),
    )
}

/// `session_reused` of the client and of the server for one connection.
fn reused(server: &Arc<ServerConfig>, client: &Arc<ClientConfig>, host: &str) -> (bool, bool) {
    let (c, s) = connect(server, client, host);
    (c.session_reused, s.session_reused)
}

/// A TLS 1.2-only client (the one `Setup` builds for `tls12`) with an in-memory session
/// cache.
fn tls12_client(setup: &Setup) -> Arc<ClientConfig> {
    let mut config = (*setup.client_config()).clone();
    config.resumption = Resumption::in_memory_sessions(64);
    Arc::new(config)
}

/// TLS 1.3 with the defaults (tickets on, `maxCachedSessions` 100): the first connection is a
/// full handshake on both sides, the next ones resume on both sides, with the same protocol,
/// suite, SNI and the peer certificates of the session they resumed.
#[test]
fn tls13_second_connection_resumes_on_both_sides() {
    let setup = Setup::new(&["example.test"]);
    let server = setup.server.build().unwrap();
    let client = setup.client.build().unwrap();
    let (c1, s1) = connect(&server, &client, "example.test");
    assert_eq!(c1.protocol, Protocol::Tls13);
    assert!(!c1.session_reused, "first connection: full handshake");
    assert!(!s1.session_reused, "first connection: full handshake");
    for round in 2..=4 {
        let (c, s) = connect(&server, &client, "example.test");
        assert!(c.session_reused, "client, connection {round}");
        assert!(s.session_reused, "server, connection {round}");
        assert_eq!(c.protocol, Protocol::Tls13);
        assert_eq!(c.cipher_suite, c1.cipher_suite);
        assert_eq!(c.server_name.as_deref(), Some("example.test"));
        assert_eq!(s.server_name.as_deref(), Some("example.test"));
        assert_eq!(c.peer_certificates, setup.server.identity.chain);
    }
}

/// TLS 1.2: resumed with a ticket (RFC 5077) when the server has no session cache, and with a
/// session ID (RFC 5246 §7.4.1.2) from the server's session cache when tickets are off.
#[test]
fn tls12_resumes_with_tickets_and_with_session_ids() {
    let mut setup = Setup::new(&["example.test"]);
    setup.tls12 = true;
    let mut tickets_only = setup.server.clone();
    tickets_only.session_cache = 0;
    let server = tickets_only.build().unwrap();
    let client = tls12_client(&setup);
    let (c1, s1) = connect(&server, &client, "example.test");
    assert_eq!(c1.protocol, Protocol::Tls12);
    assert!(!c1.session_reused && !s1.session_reused);
    let (c2, s2) = connect(&server, &client, "example.test");
    assert_eq!(c2.protocol, Protocol::Tls12);
    assert!(c2.session_reused, "client resumed with a ticket");
    assert!(s2.session_reused, "server resumed with a ticket");
    assert_eq!(c2.peer_certificates, setup.server.identity.chain);

    let mut ids_only = setup.server.clone();
    ids_only.session_tickets = false;
    let server = ids_only.build().unwrap();
    let client = tls12_client(&setup);
    assert_eq!(reused(&server, &client, "example.test"), (false, false));
    assert_eq!(
        reused(&server, &client, "example.test"),
        (true, true),
        "resumed with the session ID"
    );
}

/// TLS 1.3 with tickets off still resumes from the server's session cache (stateful tickets);
/// with the cache at 0 too, every handshake is a full one, in TLS 1.3 and TLS 1.2.
#[test]
fn server_without_tickets_or_cache_never_resumes() {
    let setup = Setup::new(&["example.test"]);
    let mut options = setup.server.clone();
    options.session_tickets = false;
    let server = options.build().unwrap();
    let client = setup.client.build().unwrap();
    assert_eq!(reused(&server, &client, "example.test"), (false, false));
    assert_eq!(reused(&server, &client, "example.test"), (true, true));

    options.session_cache = 0;
    let server = options.build().unwrap();
    for _ in 0..3 {
        assert_eq!(reused(&server, &client, "example.test"), (false, false));
    }
    let mut tls12 = Setup::new(&["example.test"]);
    tls12.tls12 = true;
    tls12.server.session_tickets = false;
    tls12.server.session_cache = 0;
    let server = tls12.server.build().unwrap();
    let client = tls12_client(&tls12);
    for _ in 0..3 {
        let (c, s) = connect(&server, &client, "example.test");
        assert_eq!(c.protocol, Protocol::Tls12);
        assert!(!c.session_reused && !s.session_reused);
    }
}

/// Node's `maxCachedSessions: 0` (Node docs `https.md` › `new Agent([options])`): the client
/// remembers nothing, so every connection is a full handshake.
#[test]
fn max_cached_sessions_zero_disables_resumption() {
    let setup = Setup::new(&["example.test"]);
    let server = setup.server.build().unwrap();
    let client = ClientOptions {
        max_cached_sessions: 0,
        ..setup.client.clone()
    }
    .build()
    .unwrap();
    for _ in 0..3 {
        assert_eq!(reused(&server, &client, "example.test"), (false, false));
    }
}

/// `maxCachedSessions` counts servers, as Node's agent counts sessions (one per origin): with 2,
/// sessions with two names are kept, and a third name pushes out the oldest one (Node evicts
/// the oldest entry too).
#[test]
fn max_cached_sessions_counts_servers_and_drops_the_oldest() {
    let setup = Setup::new(&["a.test", "b.test", "c.test"]);
    let server = setup.server.build().unwrap();
    let client = ClientOptions {
        max_cached_sessions: 2,
        ..setup.client.clone()
    }
    .build()
    .unwrap();
    assert_eq!(reused(&server, &client, "a.test"), (false, false));
    assert_eq!(reused(&server, &client, "b.test"), (false, false));
    assert_eq!(reused(&server, &client, "a.test"), (true, true));
    assert_eq!(reused(&server, &client, "b.test"), (true, true));
    assert_eq!(reused(&server, &client, "c.test"), (false, false));
    assert_eq!(reused(&server, &client, "c.test"), (true, true));
    assert_eq!(reused(&server, &client, "b.test"), (true, true));
    assert_eq!(
        reused(&server, &client, "a.test"),
        (false, false),
        "a.test, the oldest, was dropped for c.test"
    );
    // A cache of 100 keeps 100 names.
    let names: Vec<String> = (0..100).map(|i| format!("n{i}.test")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let setup = Setup::new(&refs);
    let server = setup.server.build().unwrap();
    let client = setup.client.build().unwrap();
    for name in &refs {
        assert_eq!(reused(&server, &client, name), (false, false));
    }
    for name in &refs {
        assert_eq!(reused(&server, &client, name), (true, true), "{name}");
    }
}

/// A ticket from another server (another `build`, so other ticket keys) is declined: the
/// handshake falls back to a full one and succeeds.
#[test]
fn ticket_from_another_server_gives_a_full_handshake() {
    let setup = Setup::new(&["example.test"]);
    let first = setup.server.build().unwrap();
    let second = setup.server.build().unwrap();
    let client = setup.client.build().unwrap();
    assert_eq!(reused(&first, &client, "example.test"), (false, false));
    assert_eq!(reused(&second, &client, "example.test"), (false, false));
    assert_eq!(reused(&second, &client, "example.test"), (true, true));
}

/// `ServerOptions::new` turns tickets and the session cache on, and `ClientOptions` remembers
/// Node's 100 sessions by default.
#[test]
fn defaults_are_nodes() {
    let setup = Setup::new(&["example.test"]);
    assert!(setup.server.session_tickets);
    assert_eq!(
        setup.server.session_cache,
        sansnet_tls::DEFAULT_SERVER_SESSION_CACHE
    );
    assert_eq!(ClientOptions::default().max_cached_sessions, 100);
    assert_eq!(sansnet_tls::DEFAULT_MAX_CACHED_SESSIONS, 100);
    let fresh = ServerOptions::new(setup.server.identity.clone());
    assert!(fresh.session_tickets && fresh.session_cache > 0);
}
