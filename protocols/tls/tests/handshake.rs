//! Handshakes between our client and server in memory: data both ways, what is negotiated,
//! each typed failure, SNI, mutual TLS, close_notify against truncation, the handshake timeout.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::time::{Duration, Instant};

use bytes::BytesMut;
use common::{Ca, Pair, Setup, connected, error_of, events, plaintext, transmit};
use rcgen::date_time_ymd;
use sansnet_tls::{
    ClientAuth, ClientOptions, Error, Identity, Protocol, READ_LIMIT, ServerOptions, TlsConnection,
    TlsEvent,
};

/// A handshake reports `secureConnect` on both sides with what was negotiated, and data
/// written before and after it arrives in order both ways (Node docs `tls.md` ›
/// `Event: 'secureConnection'`, Node docs `tls.md` › `Event: 'secureConnect'`).
#[test]
fn handshake_then_data_both_ways() {
    let setup = Setup::new(&["example.test"]);
    let mut pair = setup.pair("example.test");
    assert!(pair.client.is_handshaking());
    assert_eq!(pair.client.write(Instant::now(), b"early "), 6);
    pair.drive();
    let client_events = events(&mut pair.client);
    let server_events = events(&mut pair.server);
    let [TlsEvent::SecureConnect(client_info)] = &client_events[..] else {
        panic!("{client_events:?}")
    };
    let [TlsEvent::SecureConnect(server_info)] = &server_events[..] else {
        panic!("{server_events:?}")
    };
    assert_eq!(client_info.protocol, Protocol::Tls13);
    assert_eq!(client_info.protocol.to_string(), "TLSv1.3");
    assert!(
        client_info.cipher_suite.starts_with("TLS13_"),
        "{}",
        client_info.cipher_suite
    );
    assert_eq!(client_info.cipher_suite, server_info.cipher_suite);
    assert_eq!(client_info.server_name.as_deref(), Some("example.test"));
    assert_eq!(server_info.server_name.as_deref(), Some("example.test"));
    assert_eq!(client_info.peer_certificates, setup.server.identity.chain);
    assert!(server_info.peer_certificates.is_empty());
    assert_eq!(client_info.alpn, None);
    assert!(!pair.client.is_handshaking() && !pair.server.is_handshaking());
    assert_eq!(pair.client.poll_timeout(), None);

    assert_eq!(pair.server.write(Instant::now(), b"pong"), 4);
    assert_eq!(pair.client.write(Instant::now(), b"ping"), 4);
    pair.drive();
    assert_eq!(plaintext(&mut pair.server), b"early ping");
    assert_eq!(plaintext(&mut pair.client), b"pong");
}

/// A second connection on the same client configuration (which resumes the session from the
/// first one's ticket) reports the same negotiated details, peer certificates included; only
/// `session_reused` differs.
#[test]
fn second_connection_same_config_same_info() {
    let setup = Setup::new(&["example.test"]);
    let server = setup.server.build().unwrap();
    let client = setup.client.build().unwrap();
    let mut infos = Vec::new();
    for _ in 0..2 {
        let mut pair = Pair::new(server.clone(), client.clone(), "example.test");
        pair.drive();
        assert!(connected(&events(&mut pair.client)));
        assert!(connected(&events(&mut pair.server)));
        assert_eq!(pair.client.write(Instant::now(), b"again"), 5);
        pair.drive();
        assert_eq!(plaintext(&mut pair.server), b"again");
        infos.push(pair.client.info().unwrap().clone());
    }
    assert!(!infos[0].session_reused && infos[1].session_reused);
    infos[1].session_reused = false;
    assert_eq!(infos[0], infos[1]);
    assert_eq!(infos[1].peer_certificates, setup.server.identity.chain);
}

/// TLS 1.2 works too when the client offers only it; `getProtocol()` says `TLSv1.2`.
#[test]
fn tls12_only_client_negotiates_tls12() {
    let mut setup = Setup::new(&["example.test"]);
    setup.tls12 = true;
    let mut pair = setup.pair("example.test");
    assert_eq!(pair.server.write(Instant::now(), b"hi"), 2);
    pair.drive();
    let info = pair.client.info().expect("connected").clone();
    assert_eq!(info.protocol, Protocol::Tls12);
    assert_eq!(info.protocol.to_string(), "TLSv1.2");
    assert!(
        info.cipher_suite.starts_with("TLS_ECDHE_"),
        "{}",
        info.cipher_suite
    );
    assert_eq!(plaintext(&mut pair.client), b"hi");
}

/// A server certificate from a CA the client does not trust: `UNABLE_TO_VERIFY_LEAF_SIGNATURE`
/// on the client (Node docs `tls.md` › `Event: 'secureConnect'`), and the client's alert on the
/// server.
#[test]
fn client_unknown_ca_is_unknown_issuer() {
    let setup = Setup::new(&["example.test"]);
    let other = Ca::new("someone else");
    let client = ClientOptions {
        ca: Some(vec![other.cert.clone()]),
        ..Default::default()
    };
    let mut pair = Pair::new(
        setup.server.build().unwrap(),
        client.build().unwrap(),
        "example.test",
    );
    pair.drive();
    let client_events = events(&mut pair.client);
    assert_eq!(client_events, vec![TlsEvent::Error(Error::UnknownIssuer)]);
    assert_eq!(
        Error::UnknownIssuer.code(),
        "UNABLE_TO_VERIFY_LEAF_SIGNATURE"
    );
    let server_error = error_of(&events(&mut pair.server)).expect("server error");
    assert_eq!(server_error, Error::AlertReceived("unknown_ca".into()));
    assert_eq!(server_error.code(), "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA");
    // After the error, nothing more comes out and writes are refused.
    assert_eq!(pair.client.write(Instant::now(), b"x"), 0);
    assert!(!pair.client.is_handshaking());
    assert_eq!(pair.client.poll_timeout(), None);
}

/// `ca: None` trusts nothing: every server is unknown.
#[test]
fn client_without_ca_trusts_nothing() {
    let setup = Setup::new(&["example.test"]);
    let mut pair = Pair::new(
        setup.server.build().unwrap(),
        ClientOptions::default().build().unwrap(),
        "example.test",
    );
    pair.drive();
    assert_eq!(
        error_of(&events(&mut pair.client)),
        Some(Error::UnknownIssuer)
    );
}

/// A self-signed server certificate that is not trusted: Node's `DEPTH_ZERO_SELF_SIGNED_CERT`
/// (Node docs `tls.md` › `Event: 'secureConnect'`); trusting that very certificate as a CA makes it
/// pass.
#[test]
fn client_self_signed_certificate() {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["example.test".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let identity =
        Identity::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes()).unwrap();
    let server = ServerOptions::new(identity).build().unwrap();
    for ca in [None, Some(vec![Ca::new("other").cert])] {
        let client = ClientOptions {
            ca,
            ..Default::default()
        };
        let mut pair = Pair::new(server.clone(), client.build().unwrap(), "example.test");
        pair.drive();
        let error = error_of(&events(&mut pair.client)).unwrap();
        assert_eq!(error, Error::SelfSigned);
        assert_eq!(error.code(), "DEPTH_ZERO_SELF_SIGNED_CERT");
        assert_eq!(
            error_of(&events(&mut pair.server)),
            Some(Error::AlertReceived("certificate_unknown".into()))
        );
    }
    let client = ClientOptions {
        ca: Some(vec![cert.der().clone()]),
        ..Default::default()
    };
    let mut pair = Pair::new(server, client.build().unwrap(), "example.test");
    pair.drive();
    assert!(connected(&events(&mut pair.client)));
}

/// `rejectUnauthorized: false` accepts a certificate for another name from an unknown CA.
#[test]
fn insecure_client_accepts_anything() {
    let setup = Setup::new(&["other.test"]);
    let client = ClientOptions {
        insecure_skip_verify: true,
        ..Default::default()
    };
    let mut pair = Pair::new(
        setup.server.build().unwrap(),
        client.build().unwrap(),
        "example.test",
    );
    pair.drive();
    assert!(connected(&events(&mut pair.client)));
    assert!(connected(&events(&mut pair.server)));
}

/// A certificate for another name: `ERR_TLS_CERT_ALTNAME_INVALID`.
#[test]
fn client_name_mismatch() {
    let setup = Setup::new(&["other.test"]);
    let mut pair = setup.pair("example.test");
    pair.drive();
    let error = error_of(&events(&mut pair.client)).unwrap();
    assert_eq!(error, Error::NameMismatch);
    assert_eq!(error.code(), "ERR_TLS_CERT_ALTNAME_INVALID");
    assert!(!connected(&events(&mut pair.server)));
}

/// An expired certificate: `CERT_HAS_EXPIRED`.
#[test]
fn client_expired_certificate() {
    let ca = Ca::new("ca");
    let identity = ca.leaf_with(&["example.test"], |p| {
        p.not_before = date_time_ymd(2000, 1, 1);
        p.not_after = date_time_ymd(2001, 1, 1);
    });
    let client = ClientOptions {
        ca: Some(vec![ca.cert.clone()]),
        ..Default::default()
    };
    let server = ServerOptions::new(identity).build().unwrap();
    let mut pair = Pair::new(server, client.build().unwrap(), "example.test");
    pair.drive();
    let error = error_of(&events(&mut pair.client)).unwrap();
    assert_eq!(error, Error::Expired);
    assert_eq!(error.code(), "CERT_HAS_EXPIRED");
}

/// A certificate valid only from 2999: `CERT_NOT_YET_VALID`.
#[test]
fn client_not_yet_valid_certificate() {
    let ca = Ca::new("ca");
    let identity = ca.leaf_with(&["example.test"], |p| {
        p.not_before = date_time_ymd(2999, 1, 1);
        p.not_after = date_time_ymd(3000, 1, 1);
    });
    let client = ClientOptions {
        ca: Some(vec![ca.cert.clone()]),
        ..Default::default()
    };
    let server = ServerOptions::new(identity).build().unwrap();
    let mut pair = Pair::new(server, client.build().unwrap(), "example.test");
    pair.drive();
    let error = error_of(&events(&mut pair.client)).unwrap();
    assert_eq!(error, Error::NotYetValid);
    assert_eq!(error.code(), "CERT_NOT_YET_VALID");
}

/// ALPN on both sides picks the server's first protocol the client offered.
#[test]
fn alpn_negotiates_http11() {
    let mut setup = Setup::new(&["example.test"]);
    setup.server.alpn = vec![b"http/1.1".to_vec()];
    setup.client.alpn = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let mut pair = setup.pair("example.test");
    pair.drive();
    assert_eq!(
        pair.client.info().unwrap().alpn.as_deref(),
        Some(&b"http/1.1"[..])
    );
    assert_eq!(
        pair.server.info().unwrap().alpn.as_deref(),
        Some(&b"http/1.1"[..])
    );
}

/// ALPN on both sides with nothing in common: the server sends `no_application_protocol`
/// (RFC 7301 §3.2, docs/node-semantics.md#node20-alpn-mismatch) and the client reports that alert.
#[test]
fn alpn_mismatch_is_no_application_protocol() {
    let mut setup = Setup::new(&["example.test"]);
    setup.server.alpn = vec![b"http/1.1".to_vec()];
    setup.client.alpn = vec![b"h2".to_vec()];
    let mut pair = setup.pair("example.test");
    pair.drive();
    assert_eq!(
        events(&mut pair.server),
        vec![TlsEvent::Error(Error::NoApplicationProtocol)]
    );
    let client_error = error_of(&events(&mut pair.client)).unwrap();
    assert_eq!(
        client_error,
        Error::AlertReceived("no_application_protocol".into())
    );
    assert_eq!(
        client_error.code(),
        "ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL"
    );
}

/// ALPN on one side only: no ALPN, the handshake succeeds.
#[test]
fn alpn_on_one_side_only_is_ignored() {
    let mut setup = Setup::new(&["example.test"]);
    setup.server.alpn = vec![b"http/1.1".to_vec()];
    let mut pair = setup.pair("example.test");
    pair.drive();
    assert_eq!(pair.client.info().unwrap().alpn, None);
}

/// SNI picks the certificate for the name the client sent; an unknown name or an IP literal
/// (which sends no SNI: Node docs `tls.md` › `tls.connect()` (`servername`)) gets the default one;
/// `*.` names match one label.
#[test]
fn sni_picks_the_right_certificate() {
    let ca = Ca::new("ca");
    let default = ca.leaf(&["default.test", "127.0.0.1"]);
    let a = ca.leaf(&["a.test"]);
    let b = ca.leaf(&["b.test"]);
    let wild = ca.leaf(&["*.wild.test"]);
    let mut server = ServerOptions::new(default.clone());
    server.sni = vec![
        ("a.test".into(), a.clone()),
        ("B.TEST".into(), b.clone()),
        ("*.wild.test".into(), wild.clone()),
    ];
    let server = server.build().unwrap();
    let client = ClientOptions {
        ca: Some(vec![ca.cert.clone()]),
        ..Default::default()
    }
    .build()
    .unwrap();
    let cases = [
        ("a.test", &a, Some("a.test")),
        ("b.test", &b, Some("b.test")),
        ("x.wild.test", &wild, Some("x.wild.test")),
        ("default.test", &default, Some("default.test")),
        ("127.0.0.1", &default, None),
    ];
    for (host, expected, sni) in cases {
        let mut pair = Pair::new(server.clone(), client.clone(), host);
        pair.drive();
        let client_events = events(&mut pair.client);
        assert!(connected(&client_events), "{host}: {client_events:?}");
        let info = pair.client.info().unwrap();
        assert_eq!(info.peer_certificates[0], expected.chain[0], "{host}");
        assert_eq!(info.server_name.as_deref(), sni, "{host}");
        assert_eq!(
            pair.server.info().unwrap().server_name.as_deref(),
            sni,
            "{host}"
        );
    }
    // An unknown name gets the default certificate, which then fails the name check.
    let mut pair = Pair::new(server, client, "c.test");
    pair.drive();
    assert_eq!(
        error_of(&events(&mut pair.client)),
        Some(Error::NameMismatch)
    );
}

/// An IP literal is verified against the certificate's IP SANs, with or without brackets.
#[test]
fn ip_literal_verifies_ip_san() {
    let setup = Setup::new(&["::1", "127.0.0.1"]);
    for host in ["127.0.0.1", "::1", "[::1]"] {
        let mut pair = setup.pair(host);
        pair.drive();
        assert!(connected(&events(&mut pair.client)), "{host}");
        assert_eq!(pair.server.info().unwrap().server_name, None, "{host}");
    }
    let mut pair = setup.pair("127.0.0.2");
    pair.drive();
    assert_eq!(
        error_of(&events(&mut pair.client)),
        Some(Error::NameMismatch)
    );
}

/// Mutual TLS: a client certificate from the required CA is accepted, and the server sees it
/// (Node docs `tls.md` › `tls.createServer()` (`requestCert`)).
#[test]
fn mtls_good_client_certificate_accepted() {
    let mut setup = Setup::new(&["example.test"]).require_client_cert();
    let client_identity = setup.ca.leaf(&["client.test"]);
    setup.client.identity = Some(client_identity.clone());
    let mut pair = setup.pair("example.test");
    pair.drive();
    assert!(connected(&events(&mut pair.client)));
    assert!(connected(&events(&mut pair.server)));
    assert_eq!(
        pair.server.info().unwrap().peer_certificates,
        client_identity.chain
    );
    assert_eq!(pair.client.write(Instant::now(), b"authenticated"), 13);
    pair.drive();
    assert_eq!(plaintext(&mut pair.server), b"authenticated");
}

/// Mutual TLS without a client certificate: the server fails with `CertificateRequired` and
/// alerts the client. (In TLS 1.3 the client finishes its side first, as with OpenSSL.)
#[test]
fn mtls_without_certificate_refused() {
    let setup = Setup::new(&["example.test"]).require_client_cert();
    let mut pair = setup.pair("example.test");
    pair.drive();
    let server_events = events(&mut pair.server);
    assert_eq!(
        server_events,
        vec![TlsEvent::Error(Error::CertificateRequired)]
    );
    let client_events = events(&mut pair.client);
    assert_eq!(
        error_of(&client_events),
        Some(Error::AlertReceived("certificate_required".into()))
    );
    assert_eq!(
        Error::AlertReceived("certificate_required".into()).code(),
        "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED"
    );
}

/// Mutual TLS with a certificate from another CA: the server reports the unknown issuer and
/// the client gets an alert; no plaintext reaches the server.
#[test]
fn mtls_wrong_ca_certificate_refused() {
    let mut setup = Setup::new(&["example.test"]).require_client_cert();
    let other = Ca::new("other");
    setup.client.identity = Some(other.leaf(&["client.test"]));
    let mut pair = setup.pair("example.test");
    pair.client.write(Instant::now(), b"secret");
    pair.drive();
    assert_eq!(
        events(&mut pair.server),
        vec![TlsEvent::Error(Error::UnknownIssuer)]
    );
    assert!(plaintext(&mut pair.server).is_empty());
    let client_error = error_of(&events(&mut pair.client)).unwrap();
    assert!(
        matches!(client_error, Error::AlertReceived(_)),
        "{client_error:?}"
    );
}

/// `requestCert` with `rejectUnauthorized: false`-like optional auth accepts a client
/// without a certificate.
#[test]
fn mtls_optional_accepts_anonymous_client() {
    let mut setup = Setup::new(&["example.test"]);
    setup.server.client_auth = ClientAuth::Optional(vec![setup.ca.cert.clone()]);
    let mut pair = setup.pair("example.test");
    pair.drive();
    assert!(connected(&events(&mut pair.server)));
    assert!(pair.server.info().unwrap().peer_certificates.is_empty());
}

/// `close_notify` ends the peer's readable side like a FIN (RFC 9112 §9.8): `End`, after all data;
/// a FIN after it is no error. The closing side's later writes take 0.
#[test]
fn close_notify_is_end_not_error() {
    let setup = Setup::new(&["example.test"]);
    let mut pair = setup.pair("example.test");
    pair.drive();
    events(&mut pair.client);
    events(&mut pair.server);
    assert_eq!(pair.client.write(Instant::now(), b"last words"), 10);
    pair.client.close(Instant::now());
    pair.client.close(Instant::now());
    assert_eq!(pair.client.write(Instant::now(), b"more"), 0);
    pair.drive();
    assert_eq!(plaintext(&mut pair.server), b"last words");
    assert_eq!(events(&mut pair.server), vec![TlsEvent::End]);
    pair.server.handle_eof(pair.now);
    assert_eq!(events(&mut pair.server), vec![]);
    // The server may still answer (half-close), then closes too.
    assert_eq!(pair.server.write(Instant::now(), b"bye"), 3);
    pair.server.close(Instant::now());
    pair.drive();
    assert_eq!(plaintext(&mut pair.client), b"bye");
    assert_eq!(events(&mut pair.client), vec![TlsEvent::End]);
}

/// A FIN without `close_notify` is a truncation, reported as an error, never a clean end
/// (RFC 9112 §9.8, docs/node-semantics.md#http-client-no-close-notify); data before it is still
/// delivered.
#[test]
fn fin_without_close_notify_is_truncated() {
    let setup = Setup::new(&["example.test"]);
    let mut pair = setup.pair("example.test");
    pair.drive();
    events(&mut pair.server);
    pair.client.write(Instant::now(), b"partial");
    pair.drive();
    pair.server.handle_eof(pair.now);
    assert_eq!(plaintext(&mut pair.server), b"partial");
    let server_events = events(&mut pair.server);
    assert_eq!(server_events, vec![TlsEvent::Error(Error::Truncated)]);
    assert_eq!(Error::Truncated.code(), "ECONNRESET");
    // A FIN during the handshake is a truncation too.
    let mut pair = setup.pair("example.test");
    let hello = transmit(&mut pair.client);
    pair.server
        .handle_input(pair.now, &mut BytesMut::from(&hello[..]));
    pair.server.handle_eof(pair.now);
    assert_eq!(
        events(&mut pair.server),
        vec![TlsEvent::Error(Error::Truncated)]
    );
}

/// A close_notify written before the handshake finishes goes out after the data written
/// before it, once the handshake is done.
#[test]
fn close_before_handshake_keeps_order() {
    let setup = Setup::new(&["example.test"]);
    let mut pair = setup.pair("example.test");
    pair.client.write(Instant::now(), b"request");
    pair.client.close(Instant::now());
    pair.drive();
    assert_eq!(plaintext(&mut pair.server), b"request");
    let server_events = events(&mut pair.server);
    assert!(connected(&server_events));
    assert_eq!(server_events.last(), Some(&TlsEvent::End));
}

/// A handshake that does not finish in `handshakeTimeout` fails with
/// `ERR_TLS_HANDSHAKE_TIMEOUT` (Node docs `tls.md` › `tls.createServer()` (`handshakeTimeout`));
/// the deadline counts from the first input.
#[test]
fn handshake_timeout_fires_at_deadline() {
    let setup = Setup::new(&["example.test"]);
    let mut server = TlsConnection::server(setup.server.build().unwrap()).unwrap();
    assert_eq!(
        server.poll_timeout(),
        None,
        "no clock before the first input"
    );
    let start = Instant::now();
    server.set_handshake_timeout(Duration::from_secs(2));
    server.handle_timeout(start);
    let deadline = server.poll_timeout().unwrap();
    assert_eq!(deadline, start + Duration::from_secs(2));
    server.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(server.poll_event(), None);
    server.handle_timeout(deadline);
    assert_eq!(
        server.poll_event(),
        Some(TlsEvent::Error(Error::HandshakeTimeout))
    );
    assert_eq!(server.poll_timeout(), None);
    assert_eq!(Error::HandshakeTimeout.code(), "ERR_TLS_HANDSHAKE_TIMEOUT");
    // The default is Node's 120 s; zero disables it.
    let mut server = TlsConnection::server(setup.server.build().unwrap()).unwrap();
    server.handle_timeout(start);
    assert_eq!(
        server.poll_timeout(),
        Some(start + Duration::from_secs(120))
    );
    server.set_handshake_timeout(Duration::ZERO);
    assert_eq!(server.poll_timeout(), None);
}

/// A finished handshake has no deadline: the timer does nothing.
#[test]
fn handshake_timeout_not_after_secure_connect() {
    let setup = Setup::new(&["example.test"]);
    let mut pair = setup.pair("example.test");
    pair.drive();
    events(&mut pair.server);
    assert_eq!(pair.server.poll_timeout(), None);
    pair.server
        .handle_timeout(pair.now + Duration::from_secs(1000));
    assert_eq!(events(&mut pair.server), vec![]);
}

/// Bytes that are not TLS make the server fail with a protocol error and queue an alert;
/// later input is discarded, nothing panics.
#[test]
fn garbage_to_server_is_protocol_error_with_alert() {
    let setup = Setup::new(&["example.test"]);
    let mut server = TlsConnection::server(setup.server.build().unwrap()).unwrap();
    let now = Instant::now();
    let mut input = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"[..]);
    server.handle_input(now, &mut input);
    let error = error_of(&events(&mut server)).unwrap();
    assert!(matches!(error, Error::Protocol(_)), "{error:?}");
    assert_eq!(error.code(), "ERR_SSL_PROTOCOL_ERROR");
    let alert = transmit(&mut server);
    assert_eq!(alert.first(), Some(&0x15), "an alert record: {alert:?}");
    let mut more = BytesMut::from(&b"more"[..]);
    server.handle_input(now, &mut more);
    assert!(more.is_empty());
    assert_eq!(server.poll_event(), None);
    assert_eq!(server.read_plaintext(), None);
}

/// A peer that keeps sending while nothing reads the plaintext: `handle_input` stops taking
/// ciphertext near `READ_LIMIT` instead of growing without bound, and takes the rest once the
/// plaintext is read.
#[test]
fn unread_plaintext_bounds_input() {
    let setup = Setup::new(&["example.test"]);
    let mut pair = setup.pair("example.test");
    pair.drive();
    let chunk = vec![7u8; 16 * 1024];
    let mut wire = BytesMut::new();
    let mut sent = 0;
    for _ in 0..16 {
        sent += pair.client.write(Instant::now(), &chunk);
        wire.extend_from_slice(&transmit(&mut pair.client));
    }
    assert_eq!(sent, 16 * chunk.len());
    let total = wire.len();
    pair.server.handle_input(pair.now, &mut wire);
    assert!(!wire.is_empty(), "all {total} bytes taken");
    assert!(!pair.server.wants_read());
    let mut received = plaintext(&mut pair.server).len();
    assert!(
        (READ_LIMIT..READ_LIMIT + 40 * 1024).contains(&received),
        "{received}"
    );
    while !wire.is_empty() {
        pair.server.handle_input(pair.now, &mut wire);
        received += plaintext(&mut pair.server).len();
    }
    assert_eq!(received, sent);
}

/// `write` takes at most rustls's buffer before the handshake and after it, and more once the
/// ciphertext was sent.
#[test]
fn write_is_bounded() {
    let setup = Setup::new(&["example.test"]);
    let mut pair = setup.pair("example.test");
    let big = vec![1u8; 1 << 20];
    let before = pair.client.write(Instant::now(), &big);
    assert!(before > 0 && before <= 64 * 1024, "{before}");
    pair.drive();
    let after = pair.client.write(Instant::now(), &big);
    assert!(after > 0 && after <= 80 * 1024, "{after}");
    assert!(pair.client.wants_write());
    assert_eq!(
        pair.client.write(Instant::now(), &big),
        0,
        "full until transmitted"
    );
    transmit(&mut pair.client);
    assert!(pair.client.write(Instant::now(), &big) > 0);
}

/// Moves what `from` has to send into `to` through `transmit_chunks` and `advance_transmit`,
/// as a driver's vectored writes would, taking at most `step` bytes per write.
fn write_in_steps(from: &mut TlsConnection, to: &mut TlsConnection, step: usize, now: Instant) {
    let mut wire = BytesMut::new();
    loop {
        let mut slices = [std::io::IoSlice::new(&[]); 4];
        let n = from.transmit_chunks(&mut slices);
        let mut took = 0;
        for slice in &slices[..n] {
            let want = (step - took).min(slice.len());
            wire.extend_from_slice(&slice[..want]);
            took += want;
            if took == step {
                break;
            }
        }
        if took == 0 {
            break;
        }
        from.advance_transmit(Instant::now(), took);
    }
    assert!(!from.wants_write(), "everything was written");
    to.handle_input(now, &mut wire);
}

/// `transmit_chunks` and `advance_transmit` read the same queue as `poll_transmit`: a
/// handshake and a message whose ciphertext leaves in writes of 7 bytes (partial writes, as
/// the OS makes them) arrive whole.
#[test]
fn partial_writes_through_transmit_chunks() {
    let setup = Setup::new(&["example.test"]);
    let mut pair = setup.pair("example.test");
    let now = pair.now;
    for _ in 0..4 {
        write_in_steps(&mut pair.client, &mut pair.server, 7, now);
        write_in_steps(&mut pair.server, &mut pair.client, 7, now);
    }
    assert!(
        connected(&events(&mut pair.client)),
        "the client finished its handshake"
    );
    assert!(
        connected(&events(&mut pair.server)),
        "the server finished its handshake"
    );
    assert_eq!(
        pair.client
            .write(Instant::now(), b"hello through partial writes"),
        28
    );
    write_in_steps(&mut pair.client, &mut pair.server, 7, now);
    assert_eq!(plaintext(&mut pair.server), b"hello through partial writes");
}

/// Configuration faults: a key that does not match its certificate, an invalid host name.
#[test]
fn config_errors() {
    let ca = Ca::new("ca");
    let a = ca.leaf(&["a.test"]);
    let b = ca.leaf(&["b.test"]);
    let mismatched = Identity {
        chain: a.chain.clone(),
        key: b.key.clone_key(),
    };
    let error = ServerOptions::new(mismatched).build().unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error:?}");
    assert_eq!(error.code(), "ERR_INVALID_ARG_VALUE");
    let empty = Identity {
        chain: Vec::new(),
        key: a.key.clone_key(),
    };
    assert!(matches!(
        ServerOptions::new(empty).build(),
        Err(Error::Config(_))
    ));
    let client = ClientOptions::default().build().unwrap();
    assert!(matches!(
        TlsConnection::client(client, "not a host!"),
        Err(Error::Config(_))
    ));
    let required = ServerOptions {
        client_auth: ClientAuth::Required(Vec::new()),
        ..ServerOptions::new(a)
    };
    assert!(matches!(required.build(), Err(Error::Config(_))));
}
