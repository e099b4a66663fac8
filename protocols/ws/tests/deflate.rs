//! Scenario tests of permessage-deflate (RFC 7692) through the public API: the handshake's
//! negotiation end to end, RSV1 rules, the sync-flush tail, context takeover, the size limit
//! while inflating (zip bombs), streaming, one message at a time and `bufferedAmount`
//! (docs/node-semantics.md#ws-buffered-amount, #permessage-deflate). Compressed input is made with
//! flate2 directly, not with our codec.
#![cfg(feature = "deflate")]
#![allow(
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation is a test failure"
)]

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use sansnet_http1::{
    BodyFraming, Headers, Request, RequestId, ResponseBody, ResponseHead, Version,
};
use sansnet_ws::deflate::Agreed;
use sansnet_ws::handshake::{ClientHandshake, accept_key, accept_with};
use sansnet_ws::{
    Config, Connection, DeflateConfig, Error, HandshakeError, Message, ProtocolError, Role, WsEvent,
};

const KEY: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];
const RSV1: u8 = 0x40;

fn entropy() -> Box<dyn sansnet_ws::Entropy + Send> {
    let mut counter = 0u8;
    Box::new(move |buf: &mut [u8]| {
        for b in buf {
            counter = counter.wrapping_add(29);
            *b = counter;
        }
    })
}

fn agreed(snct: bool, cnct: bool, bits: u8, threshold: usize) -> Agreed {
    Agreed {
        server_no_context_takeover: snct,
        client_no_context_takeover: cnct,
        server_max_window_bits: bits,
        client_max_window_bits: bits,
        threshold,
        level: 6,
    }
}

fn machine(role: Role, config: Config, a: Agreed) -> Connection {
    Connection::new(role, config, entropy()).with_deflate(Some(a))
}

fn frame(b0: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b0];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(m | n as u8),
        n @ 126..=0xFFFF => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// Raw DEFLATE with a sync flush and the `00 00 FF FF` tail removed (RFC 7692 §7.2.1).
fn deflate(c: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    let mut input = data;
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(4096);
        }
        let before = c.total_in();
        c.compress_vec(input, &mut out, FlushCompress::Sync)
            .unwrap();
        input = &input[(c.total_in() - before) as usize..];
        if input.is_empty() && out.len() < out.capacity() {
            break;
        }
    }
    if !out.ends_with(&[0, 0, 0xFF, 0xFF]) {
        // Nothing flushed (an empty message right after a flush): RFC 7692 §7.2.3.6.
        return vec![0x00];
    }
    out.truncate(out.len() - 4);
    out
}

fn fresh() -> Compress {
    Compress::new(Compression::default(), false)
}

fn feed(conn: &mut Connection, bytes: &[u8]) -> Vec<WsEvent> {
    let now = Instant::now();
    let mut buf = BytesMut::from(bytes);
    conn.handle_input(now, &mut buf);
    std::iter::from_fn(|| conn.poll_event()).collect()
}

fn wire(conn: &mut Connection) -> Vec<u8> {
    let now = Instant::now();
    let mut out = Vec::new();
    while let Some(chunk) = conn.pop_transmit(now) {
        out.extend_from_slice(&chunk);
    }
    out
}

/// The payload of the single frame in `bytes` from a server (unmasked).
fn payload_of(bytes: &[u8]) -> &[u8] {
    match bytes[1] & 0x7F {
        126 => &bytes[4..],
        127 => &bytes[10..],
        _ => &bytes[2..],
    }
}

fn inflate_all(payload: &[u8]) -> Vec<u8> {
    let mut d = Decompress::new(false);
    let mut input = payload.to_vec();
    input.extend_from_slice(&[0, 0, 0xFF, 0xFF]);
    let mut out = Vec::with_capacity(1 << 20);
    d.decompress_vec(&input, &mut out, FlushDecompress::Sync)
        .unwrap();
    out
}

fn upgrade_request(extensions: &[&'static str]) -> Request {
    let mut headers = Headers::new()
        .with("Host", "server.example.com")
        .with("Upgrade", "websocket")
        .with("Connection", "Upgrade")
        .with("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .with("Sec-WebSocket-Version", "13");
    for e in extensions {
        headers.append("Sec-WebSocket-Extensions", *e);
    }
    Request {
        id: RequestId(0),
        method: Bytes::from_static(b"GET"),
        target: Bytes::from_static(b"/chat"),
        version: Version::Http11,
        headers: headers.into(),
        framing: BodyFraming::None,
        keep_alive: true,
        expect_continue: false,
        start: 0,
        head_end: 0,
    }
}

fn response_head(hs: &ClientHandshake, extensions: Option<&str>) -> ResponseHead {
    let mut headers = Headers::new()
        .with("Upgrade", "websocket")
        .with("Connection", "Upgrade")
        .with("Sec-WebSocket-Accept", accept_key(hs.key().as_bytes()));
    if let Some(e) = extensions {
        headers.append("Sec-WebSocket-Extensions", e.to_string());
    }
    ResponseHead {
        id: RequestId(0),
        status: 101,
        reason: Bytes::from_static(b"Switching Protocols"),
        version: Version::Http11,
        headers: headers.into(),
        body: ResponseBody::None,
        keep_alive: false,
        start: 0,
        head_end: 0,
    }
}

/// The `Sec-WebSocket-Extensions` line of a 101, if any.
fn extensions_line(response: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(response).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Extensions: "))
        .map(str::to_string)
}

/// RFC 7692 §5, §7.1: our client's offer, answered by our server, opens both ends with
/// the same parameters, and the 101 carries the answer.
#[test]
fn handshake_client_offer_server_answer_agree() {
    let mut e = entropy();
    let client_cfg = DeflateConfig {
        client_no_context_takeover: true,
        server_max_window_bits: Some(12),
        ..DeflateConfig::default()
    };
    let hs = ClientHandshake::new(&mut *e, &[]).with_deflate(client_cfg);
    let request = hs.request("server.example.com", "/chat");
    let offer = request
        .headers
        .get("sec-websocket-extensions")
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap();
    assert_eq!(
        offer,
        "permessage-deflate; client_no_context_takeover; server_max_window_bits=12; \
         client_max_window_bits"
    );
    let leaked: &'static str = Box::leak(offer.into_boxed_str());
    let accepted =
        accept_with(&upgrade_request(&[leaked]), &[], &DeflateConfig::default()).unwrap();
    let answer = extensions_line(&accepted.response).unwrap();
    assert_eq!(answer, "permessage-deflate; server_max_window_bits=12");
    let opened = hs.open(&response_head(&hs, Some(&answer))).unwrap();
    let server_side = accepted.deflate.unwrap();
    let client_side = opened.deflate.unwrap();
    assert_eq!(server_side.server_max_window_bits, 12);
    assert_eq!(client_side.server_max_window_bits, 12);
    // The client keeps its promise not to take over context; the server, not having asked,
    // keeps its inflater's window (which decodes either way).
    assert!(client_side.client_no_context_takeover);
    assert!(!server_side.client_no_context_takeover);
}

/// RFC 7692 §5: a server with the extension off (or no offer) sends no extension header, and
/// `accept` (without settings) declines too.
#[test]
fn handshake_declined_without_offer_or_when_disabled() {
    let none = accept_with(&upgrade_request(&[]), &[], &DeflateConfig::default()).unwrap();
    assert_eq!(
        (extensions_line(&none.response), none.deflate),
        (None, None)
    );
    let off = accept_with(
        &upgrade_request(&["permessage-deflate"]),
        &[],
        &DeflateConfig::disabled(),
    )
    .unwrap();
    assert_eq!((extensions_line(&off.response), off.deflate), (None, None));
    let plain =
        sansnet_ws::handshake::accept(&upgrade_request(&["permessage-deflate"]), &[]).unwrap();
    assert_eq!(plain.deflate, None);
}

/// RFC 7692 §7: a 101 with a bad permessage-deflate answer fails the client's handshake; one
/// that was not offered at all is an unrequested extension.
#[test]
fn handshake_client_fails_on_bad_answer() {
    let mut e = entropy();
    let hs = ClientHandshake::new(&mut *e, &[]).with_deflate(DeflateConfig::default());
    for bad in [
        "permessage-deflate; unknown",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    ] {
        assert_eq!(
            hs.open(&response_head(&hs, Some(bad))),
            Err(HandshakeError::InvalidExtensionResponse),
            "{bad}"
        );
    }
    let plain = ClientHandshake::new(&mut *e, &[]);
    assert_eq!(
        plain.open(&response_head(&plain, Some("permessage-deflate"))),
        Err(HandshakeError::UnrequestedProtocolOrExtension)
    );
    let opened = hs.open(&response_head(&hs, None)).unwrap();
    assert_eq!(opened.deflate, None);
}

/// RFC 7692 §7.2.1, §6, docs/node-semantics.md#deflate-rsv1, #deflate-sync-flush: a message at the
/// threshold goes out as one frame with RSV1 whose payload, tail restored, inflates to the message;
/// a shorter one goes plain.
#[test]
fn send_compresses_at_threshold_with_rsv1() {
    let now = Instant::now();
    let mut server = machine(
        Role::Server,
        Config::default(),
        agreed(false, false, 15, 1024),
    );
    let big = "a".repeat(1024);
    server.send(now, Message::text(big.clone())).unwrap();
    let out = wire(&mut server);
    assert_eq!(out[0], 0x80 | RSV1 | 0x1);
    assert!(out.len() < 100, "{} bytes", out.len());
    assert_eq!(inflate_all(payload_of(&out)), big.as_bytes());
    server.send(now, Message::text("a".repeat(1023))).unwrap();
    let out = wire(&mut server);
    assert_eq!(out[0], 0x81);
    assert_eq!(out.len(), 2 + 2 + 1023);
}

/// RFC 7692 §7.2.3.1, §7.2.1: the RFC's "Hello" frame (RSV1, `f2 48 cd c9 c9 07 00`)
/// arrives as "Hello", masked to a server and plain to a client.
#[test]
fn receive_rfc_hello_example() {
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let mut server = machine(Role::Server, Config::default(), agreed(false, false, 15, 0));
    assert_eq!(
        feed(&mut server, &frame(0x80 | RSV1 | 0x1, Some(KEY), &hello)),
        [WsEvent::Message(Message::text("Hello"))]
    );
    let mut client = machine(Role::Client, Config::default(), agreed(false, false, 15, 0));
    assert_eq!(
        feed(&mut client, &frame(0x80 | RSV1 | 0x1, None, &hello)),
        [WsEvent::Message(Message::text("Hello"))]
    );
}

/// RFC 7692 §7.2.3.1, §6: a compressed message fragmented across frames (RSV1 on the
/// first only), with a Ping between the fragments, inflates whole.
#[test]
fn receive_fragmented_compressed_message_with_ping_inside() {
    let mut client = machine(Role::Client, Config::default(), agreed(false, false, 15, 0));
    let data: Vec<u8> = (0..3000u32).flat_map(|i| (i % 97).to_le_bytes()).collect();
    let z = deflate(&mut fresh(), &data);
    let (a, rest) = z.split_at(z.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    let mut bytes = frame(RSV1 | 0x2, None, a);
    bytes.extend(frame(0x89, None, b"hi"));
    bytes.extend(frame(0x00, None, b));
    bytes.extend(frame(0x80, None, c));
    assert_eq!(
        feed(&mut client, &bytes),
        [
            WsEvent::Ping(Bytes::from_static(b"hi")),
            WsEvent::Message(Message::Binary(Bytes::from(data)))
        ]
    );
}

/// RFC 7692 §6, docs/node-semantics.md#deflate-rsv1: RSV1 on a continuation or a control frame, or
/// with no agreed extension, fails the connection with 1002.
#[test]
fn rsv1_where_not_allowed_fails_1002() {
    let cases: [(&str, Vec<u8>, bool); 4] = [
        (
            "continuation",
            {
                let mut b = frame(0x01, None, b"a");
                b.extend(frame(0x80 | RSV1, None, b"b"));
                b
            },
            true,
        ),
        ("ping", frame(0x80 | RSV1 | 0x9, None, b""), true),
        ("close", frame(0x80 | RSV1 | 0x8, None, &[0x03, 0xE8]), true),
        (
            "not agreed",
            frame(
                0x80 | RSV1 | 0x1,
                None,
                &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
            ),
            false,
        ),
    ];
    for (name, bytes, with) in cases {
        let mut client = Connection::new(Role::Client, Config::default(), entropy())
            .with_deflate(with.then(|| agreed(false, false, 15, 0)));
        let events = feed(&mut client, &bytes);
        assert_eq!(
            events.first(),
            Some(&WsEvent::Error(Error::Protocol(
                ProtocolError::ReservedBitsSet
            ))),
            "{name}: {events:?}"
        );
        let out = wire(&mut client);
        assert_eq!(
            &out[6..8],
            &[0x03 ^ out[2], 0xEA ^ out[3]],
            "{name}: close 1002"
        );
    }
    // RSV2 and RSV3 stay reserved under permessage-deflate.
    let mut client = machine(Role::Client, Config::default(), agreed(false, false, 15, 0));
    let events = feed(&mut client, &frame(0x80 | 0x20 | 0x1, None, b"x"));
    assert_eq!(
        events.first(),
        Some(&WsEvent::Error(Error::Protocol(
            ProtocolError::ReservedBitsSet
        )))
    );
}

/// RFC 7692 §8, RFC 6455 §7.4.1, docs/node-semantics.md#deflate-bomb (zip bomb): 1 MiB of zeros in
/// about 1 KiB of DEFLATE against a 64 KiB limit fails with 1009 before more than the limit is
/// inflated.
#[test]
fn zip_bomb_fails_1009_while_inflating() {
    let bomb = deflate(&mut fresh(), &vec![0u8; 1 << 20]);
    assert!(bomb.len() < 2048, "{} bytes", bomb.len());
    for streaming in [false, true] {
        let config = Config {
            max_payload: 64 * 1024,
            streaming,
            ..Config::default()
        };
        let mut client = machine(Role::Client, config, agreed(false, false, 15, 0));
        let events = feed(&mut client, &frame(0x80 | RSV1 | 0x2, None, &bomb));
        let fragments: usize = events
            .iter()
            .map(|e| match e {
                WsEvent::Fragment { data, .. } => data.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(fragments, 0, "nothing is delivered past the limit");
        assert_eq!(
            events,
            [
                WsEvent::Error(Error::Protocol(ProtocolError::MessageTooBig)),
                WsEvent::Close {
                    code: 1006,
                    reason: String::new(),
                    was_clean: false
                }
            ]
        );
        let out = wire(&mut client);
        assert_eq!(out[0], 0x88);
        assert_eq!(&out[6..8], &[0x03 ^ out[2], 0xF1 ^ out[3]], "close 1009");
    }
    // The limit counts the inflated size: exactly max_payload inflated bytes pass.
    let config = Config {
        max_payload: 5000,
        ..Config::default()
    };
    let mut client = machine(Role::Client, config, agreed(false, false, 15, 0));
    let exact = deflate(&mut fresh(), &[7u8; 5000]);
    assert_eq!(
        feed(&mut client, &frame(0x80 | RSV1 | 0x2, None, &exact)),
        [WsEvent::Message(Message::Binary(Bytes::from(vec![
            7u8;
            5000
        ])))]
    );
}

/// RFC 7692 §7.2.2: bytes that are not DEFLATE fail the connection with 1007.
#[test]
fn invalid_deflate_data_fails_1007() {
    let mut client = machine(Role::Client, Config::default(), agreed(false, false, 15, 0));
    let events = feed(&mut client, &frame(0x80 | RSV1 | 0x2, None, &[0xFF; 8]));
    assert_eq!(
        events.first(),
        Some(&WsEvent::Error(Error::Protocol(
            ProtocolError::InvalidCompressedData
        )))
    );
    let out = wire(&mut client);
    assert_eq!(&out[6..8], &[0x03 ^ out[2], 0xEF ^ out[3]], "close 1007");
}

/// RFC 6455 §8.1 under RFC 7692: a compressed text message that inflates to invalid UTF-8
/// fails with 1007.
#[test]
fn compressed_invalid_utf8_fails_1007() {
    let mut client = machine(Role::Client, Config::default(), agreed(false, false, 15, 0));
    let z = deflate(&mut fresh(), b"ok \xFF\xFE");
    let events = feed(&mut client, &frame(0x80 | RSV1 | 0x1, None, &z));
    assert_eq!(
        events.first(),
        Some(&WsEvent::Error(Error::Protocol(ProtocolError::InvalidUtf8)))
    );
}

/// RFC 7692 §7.1.1, docs/node-semantics.md#deflate-context-takeover: with context takeover a
/// repeated message shrinks on the wire; with `server_no_context_takeover` every copy costs the
/// same. Our client inflates both.
#[test]
fn context_takeover_kept_or_reset() {
    let now = Instant::now();
    let text = "the quick brown fox jumps over the lazy dog; ".repeat(40);
    for nct in [false, true] {
        let a = agreed(nct, nct, 15, 0);
        let mut server = machine(Role::Server, Config::default(), a);
        let mut client = machine(Role::Client, Config::default(), a);
        let mut sizes = Vec::new();
        for _ in 0..3 {
            server.send(now, Message::text(text.clone())).unwrap();
            let out = wire(&mut server);
            sizes.push(out.len());
            assert_eq!(
                feed(&mut client, &out),
                [WsEvent::Message(Message::text(text.clone()))]
            );
        }
        if nct {
            assert!(sizes.iter().all(|s| *s == sizes[0]), "{sizes:?}");
        } else {
            assert!(sizes[1] < sizes[0] / 2, "{sizes:?}");
        }
    }
}

/// RFC 7692 §7.1.1 from the receiving side: a peer that keeps its context (back-references into the
/// previous message) is decoded when we agreed to takeover.
#[test]
fn receive_with_peer_context_takeover() {
    let mut c = fresh();
    let first = deflate(&mut c, b"Hello");
    let second = deflate(&mut c, b"Hello");
    assert_eq!(second, [0xf2, 0x00, 0x11, 0x00, 0x00], "RFC 7692 §7.2.3.2");
    let mut client = machine(Role::Client, Config::default(), agreed(false, false, 15, 0));
    let mut bytes = frame(0x80 | RSV1 | 0x1, None, &first);
    bytes.extend(frame(0x80 | RSV1 | 0x1, None, &second));
    assert_eq!(
        feed(&mut client, &bytes),
        [
            WsEvent::Message(Message::text("Hello")),
            WsEvent::Message(Message::text("Hello"))
        ]
    );
}

/// docs/node-semantics.md#ws-buffered-amount: `bufferedAmount` counts the application's bytes, not
/// the compressed ones.
#[test]
fn buffered_amount_counts_application_bytes() {
    let now = Instant::now();
    let mut server = machine(Role::Server, Config::default(), agreed(false, false, 15, 0));
    server.send(now, Message::text("x".repeat(10_000))).unwrap();
    assert_eq!(server.buffered_amount(), 10_000);
    let out = wire(&mut server);
    assert!(out.len() < 200);
    assert_eq!(server.buffered_amount(), 0);
}

/// `Config::streaming`: a compressed message arrives as inflated fragments, the last with
/// `fin`, the same bytes in total.
#[test]
fn streaming_delivers_inflated_fragments() {
    let config = Config {
        streaming: true,
        ..Config::default()
    };
    let mut client = machine(Role::Client, config, agreed(false, false, 15, 0));
    let data = b"streamed ".repeat(500);
    let z = deflate(&mut fresh(), &data);
    let (a, b) = z.split_at(z.len() / 2);
    let mut bytes = frame(RSV1 | 0x1, None, a);
    bytes.extend(frame(0x80, None, b));
    let events = feed(&mut client, &bytes);
    let mut got = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let WsEvent::Fragment { text, data, fin } = e else {
            panic!("{e:?}");
        };
        assert!(*text);
        assert_eq!(*fin, i + 1 == events.len());
        got.extend_from_slice(data);
    }
    assert_eq!(got, data);
}

/// `Config::message_at_a_time`: the machine stops after each inflated message and leaves the
/// next frame in the buffer.
#[test]
fn message_at_a_time_stops_after_each_inflated_message() {
    let now = Instant::now();
    let config = Config {
        message_at_a_time: true,
        ..Config::default()
    };
    let mut client = machine(Role::Client, config, agreed(false, false, 15, 0));
    let mut c = fresh();
    let mut bytes = frame(0x80 | RSV1 | 0x1, None, &deflate(&mut c, b"one"));
    let second = frame(0x80 | RSV1 | 0x1, None, &deflate(&mut c, b"two"));
    bytes.extend(&second);
    let mut buf = BytesMut::from(&bytes[..]);
    client.handle_input(now, &mut buf);
    assert_eq!(
        client.poll_event(),
        Some(WsEvent::Message(Message::text("one")))
    );
    assert_eq!(client.poll_event(), None);
    assert_eq!(&buf[..], &second[..]);
    client.handle_input(now, &mut buf);
    assert_eq!(
        client.poll_event(),
        Some(WsEvent::Message(Message::text("two")))
    );
}

/// RFC 7692 §6: control frames are never compressed: a Ping, a Pong and a Close from a machine
/// with permessage-deflate carry RSV1 = 0 and their plain payload.
#[test]
fn control_frames_never_compressed() {
    let now = Instant::now();
    let mut server = machine(Role::Server, Config::default(), agreed(false, false, 15, 0));
    server.ping(now, Bytes::from_static(b"ping")).unwrap();
    server.close(now, Some(1000), "bye").unwrap();
    let out = wire(&mut server);
    assert_eq!(&out[..6], &[0x89, 4, b'p', b'i', b'n', b'g']);
    assert_eq!(&out[6..], &[0x88, 5, 0x03, 0xE8, b'b', b'y', b'e']);
    let mut client = machine(Role::Client, Config::default(), agreed(false, false, 15, 0));
    let events = feed(&mut client, &frame(0x89, None, b"abc"));
    assert_eq!(events, [WsEvent::Ping(Bytes::from_static(b"abc"))]);
    let pong = wire(&mut client);
    assert_eq!(pong[0], 0x8A, "auto pong without RSV1");
}

/// RFC 7692 §7.1.2.1, §7.1: an agreed 8-bit window still compresses (zlib with 9 bits,
/// whose matches reach at most 250 bytes back; `ws_peers.rs` inflates it with zlib's 8-bit
/// window) and round-trips through our inflater, with context takeover.
#[test]
fn window_bits_8_compresses_and_round_trips() {
    let now = Instant::now();
    let a = agreed(false, false, 8, 0);
    let mut server = machine(Role::Server, Config::default(), a);
    let mut client = machine(Role::Client, Config::default(), a);
    let text = "abcdefgh".repeat(200);
    for _ in 0..2 {
        server.send(now, Message::text(text.clone())).unwrap();
        let out = wire(&mut server);
        assert!(payload_of(&out).len() < text.len() / 4, "{}", out.len());
        assert_eq!(
            feed(&mut client, &out),
            [WsEvent::Message(Message::text(text.clone()))]
        );
    }
}
