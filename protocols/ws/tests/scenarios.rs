//! Scenario tests of `sansnet-ws` through its public API: hand-built frames into one
//! `Connection`, or two `Connection`s wired in memory, checked against RFC 6455 and
//! docs/node-semantics.md#ws-handshake, #ws-framing, #ws-closing, #ws-ready-state.
#![allow(
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation is a test failure"
)]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use sansnet_http1::{
    BodyFraming, Headers, Request, RequestId, ResponseBody, ResponseHead, Version,
};
use sansnet_ws::handshake::{ClientHandshake, accept, accept_key};
use sansnet_ws::{
    Action, Config, Connection, Error, HandshakeError, Message, ProtocolError, ReadyState, Role,
    UsageError, WsEvent,
};

// ---- harness --------------------------------------------------------------------------------

const FIN: u8 = 0x80;
const CONT: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;
const KEY: [u8; 4] = [0x37, 0xFA, 0x21, 0x3D];

/// Deterministic entropy: a counter, so every masking key differs.
fn entropy() -> Box<dyn sansnet_ws::Entropy + Send> {
    let mut counter = 0u8;
    Box::new(move |buf: &mut [u8]| {
        for b in buf {
            counter = counter.wrapping_add(29);
            *b = counter;
        }
    })
}

fn server_with(config: Config) -> Connection {
    Connection::new(Role::Server, config, Box::new(|_: &mut [u8]| {}))
}

fn server() -> Connection {
    server_with(Config::default())
}

fn client_with(config: Config) -> Connection {
    Connection::new(Role::Client, config, entropy())
}

fn client() -> Connection {
    client_with(Config::default())
}

/// One frame: `b0` is FIN | RSV | opcode, the length in its minimal form, masked with `mask`.
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

/// A frame as a client sends it (masked).
fn cf(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, Some(KEY), payload)
}

/// A frame as a server sends it (unmasked).
fn sf(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, None, payload)
}

fn close_body(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut v = code.to_be_bytes().to_vec();
    v.extend_from_slice(reason);
    v
}

/// Feeds `bytes`, returns the events that came out.
fn feed(conn: &mut Connection, now: Instant, bytes: &[u8]) -> Vec<WsEvent> {
    let mut buf = BytesMut::from(bytes);
    conn.handle_input(now, &mut buf);
    events(conn)
}

/// Appends `bytes` to `buf` (which keeps what the machine did not consume yet) and feeds it.
fn feed_more(
    conn: &mut Connection,
    now: Instant,
    buf: &mut BytesMut,
    bytes: &[u8],
) -> Vec<WsEvent> {
    buf.extend_from_slice(bytes);
    conn.handle_input(now, buf);
    events(conn)
}

fn events(conn: &mut Connection) -> Vec<WsEvent> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

fn actions(conn: &mut Connection) -> Vec<Action> {
    std::iter::from_fn(|| conn.poll_action()).collect()
}

/// Everything queued for the wire.
fn wire(conn: &mut Connection, now: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = conn.pop_transmit(now) {
        out.extend_from_slice(&chunk);
    }
    out
}

/// A frame parsed back from the wire, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Frame {
    fin: bool,
    opcode: u8,
    mask: Option<[u8; 4]>,
    payload: Vec<u8>,
}

/// Parses well-formed frames (what our machines write); fails on a truncated one.
fn frames(mut bytes: &[u8]) -> Vec<Frame> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let b0 = bytes[0];
        let b1 = bytes[1];
        let (len, mut at) = match b1 & 0x7F {
            126 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
            127 => (
                usize::try_from(u64::from_be_bytes(bytes[2..10].try_into().unwrap())).unwrap(),
                10,
            ),
            n => (usize::from(n), 2),
        };
        let mask = (b1 & 0x80 != 0).then(|| {
            let key: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
            at += 4;
            key
        });
        let mut payload = bytes[at..at + len].to_vec();
        if let Some(key) = mask {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        out.push(Frame {
            fin: b0 & 0x80 != 0,
            opcode: b0 & 0x0F,
            mask,
            payload,
        });
        bytes = &bytes[at + len..];
    }
    out
}

fn close_event(code: u16, reason: &str, was_clean: bool) -> WsEvent {
    WsEvent::Close {
        code,
        reason: reason.to_string(),
        was_clean,
    }
}

/// Feeds `bytes` to a fresh connection of `role` and asserts it fails with `error`: the
/// `Error` event, then `Close` last (not clean), a Close frame with `code` on the wire (masked
/// from a client), `Action::Shutdown`, and nothing read afterwards (RFC 6455 §7.1.7).
fn assert_fails(role: Role, config: Config, bytes: &[u8], error: ProtocolError, code: u16) {
    let now = Instant::now();
    let mut conn = match role {
        Role::Server => server_with(config),
        Role::Client => client_with(config),
    };
    let got = feed(&mut conn, now, bytes);
    assert!(got.len() >= 2, "{role:?} {bytes:02x?}: {got:?}");
    assert_eq!(
        got[got.len() - 2],
        WsEvent::Error(Error::Protocol(error)),
        "{role:?} {bytes:02x?}: {got:?}"
    );
    assert!(
        matches!(
            got.last(),
            Some(WsEvent::Close {
                was_clean: false,
                ..
            })
        ),
        "{got:?}"
    );
    let sent = frames(&wire(&mut conn, now));
    let last = sent.last().expect("a Close frame");
    assert_eq!(last.opcode, CLOSE, "{sent:?}");
    assert_eq!(last.payload[..2], code.to_be_bytes(), "{sent:?}");
    assert_eq!(last.mask.is_some(), role == Role::Client, "{sent:?}");
    assert_eq!(actions(&mut conn), vec![Action::Shutdown]);
    assert_eq!(conn.ready_state(), ReadyState::Closed);
    // Nothing more is processed (RFC 6455 §7.1.7).
    let more = match role {
        Role::Server => cf(FIN | TEXT, b"late"),
        Role::Client => sf(FIN | TEXT, b"late"),
    };
    assert_eq!(feed(&mut conn, now, &more), vec![]);
    conn.handle_eof(now);
    assert_eq!(events(&mut conn), vec![]);
    assert!(wire(&mut conn, now).is_empty());
}

// ---- masking (docs/node-semantics.md#ws-masking, #ws-mask-direction; RFC 6455 §5.1, §5.3)
// --------------------------------------------

/// docs/node-semantics.md#ws-masking, RFC 6455 §5.3: every client frame is masked with a fresh key;
/// server frames are not masked.
#[test]
fn open_send_client_masks_each_frame_with_fresh_key_server_never() {
    let now = Instant::now();
    let mut c = client();
    let mut s = server();
    for text in ["one", "two", "three"] {
        c.send(now, Message::text(text)).unwrap();
        s.send(now, Message::text(text)).unwrap();
    }
    c.ping(now, Bytes::from_static(b"p")).unwrap();
    let sent = frames(&wire(&mut c, now));
    assert_eq!(sent.len(), 4);
    let keys: Vec<[u8; 4]> = sent.iter().map(|f| f.mask.expect("masked")).collect();
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            assert_ne!(a, b, "a masking key was reused: {keys:?}");
        }
    }
    assert_eq!(sent[0].payload, b"one");
    let sent = frames(&wire(&mut s, now));
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|f| f.mask.is_none()), "{sent:?}");
}

/// docs/node-semantics.md#ws-mask-direction, RFC 6455 §5.1: a server fails the connection on an
/// unmasked frame (1002).
#[test]
fn server_unmasked_frame_fails_1002() {
    assert_fails(
        Role::Server,
        Config::default(),
        &sf(FIN | TEXT, b"hi"),
        ProtocolError::UnmaskedFrameFromClient,
        1002,
    );
    // Control frames too.
    assert_fails(
        Role::Server,
        Config::default(),
        &sf(FIN | PING, b""),
        ProtocolError::UnmaskedFrameFromClient,
        1002,
    );
}

/// docs/node-semantics.md#ws-mask-direction, RFC 6455 §5.1: a client fails the connection on a
/// masked frame (1002, sent masked).
#[test]
fn client_masked_frame_fails_1002() {
    assert_fails(
        Role::Client,
        Config::default(),
        &cf(FIN | BINARY, b"hi"),
        ProtocolError::MaskedFrameFromServer,
        1002,
    );
}

/// RFC 6455 §7.1.5, docs/node-semantics.md#ws-close-status-report (and `WsEvent::Close`'s doc):
/// after failing the connection no Close frame was received, so the close code reported to the
/// application is 1006, as the `ws` package and browsers report it; the 1002 goes on the wire only.
#[test]
fn server_protocol_error_close_event_reports_1006() {
    let now = Instant::now();
    let mut s = server();
    let got = feed(&mut s, now, &sf(FIN | TEXT, b"hi"));
    assert_eq!(
        got,
        vec![
            WsEvent::Error(Error::Protocol(ProtocolError::UnmaskedFrameFromClient)),
            close_event(1006, "", false),
        ]
    );
}

/// RFC 6455 §7.1.7, `Connection::handle_input`'s contract ("consumes every byte it parses (all of
/// them once reading stopped)"): the bytes after a frame that fails the connection, in the
/// same read, are consumed by that same call.
#[test]
fn server_failure_consumes_rest_of_read() {
    let now = Instant::now();
    let mut s = server();
    let mut bytes = sf(FIN | TEXT, b"unmasked");
    bytes.extend(cf(FIN | TEXT, b"more after it"));
    let mut buf = BytesMut::from(&bytes[..]);
    s.handle_input(now, &mut buf);
    assert!(!s.wants_read());
    assert_eq!(
        buf.len(),
        0,
        "{} bytes left in the buffer after reading stopped",
        buf.len()
    );
}

// ---- header rules (docs/node-semantics.md#ws-rsv-bits to #ws-length-encoding,
// #ws-control-frame-limits) -----------------------------------------------------

/// docs/node-semantics.md#ws-rsv-bits, RFC 6455 §5.2: any RSV bit without an extension fails
/// with 1002.
#[test]
fn server_rsv_bits_fail_1002() {
    for rsv in 1..=7u8 {
        assert_fails(
            Role::Server,
            Config::default(),
            &cf(FIN | rsv << 4 | TEXT, b"x"),
            ProtocolError::ReservedBitsSet,
            1002,
        );
        assert_fails(
            Role::Client,
            Config::default(),
            &sf(FIN | rsv << 4 | PING, b""),
            ProtocolError::ReservedBitsSet,
            1002,
        );
    }
}

/// docs/node-semantics.md#ws-reserved-opcode, RFC 6455 §5.2: reserved opcodes 0x3-0x7 and 0xB-0xF
/// fail with 1002, from the first byte alone.
#[test]
fn server_reserved_opcodes_fail_1002() {
    for op in (0x3..=0x7u8).chain(0xB..=0xF) {
        assert_fails(
            Role::Server,
            Config::default(),
            &cf(FIN | op, b"x"),
            ProtocolError::ReservedOpcode,
            1002,
        );
        assert_fails(
            Role::Server,
            Config::default(),
            &[FIN | op],
            ProtocolError::ReservedOpcode,
            1002,
        );
    }
}

/// docs/node-semantics.md#ws-length-encoding, RFC 6455 §5.2: a 64-bit length with its top bit set
/// fails with 1002 as soon as that byte is seen.
#[test]
fn server_64bit_length_top_bit_fails_1002() {
    let mut bytes = vec![FIN | BINARY, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0];
    bytes.extend_from_slice(&KEY);
    assert_fails(
        Role::Server,
        Config::default(),
        &bytes,
        ProtocolError::InvalidLength,
        1002,
    );
    assert_fails(
        Role::Server,
        Config::default(),
        &bytes[..3],
        ProtocolError::InvalidLength,
        1002,
    );
}

/// RFC 6455 §5.2: the 16-bit and 64-bit length forms are read (a non-minimal one is accepted from
/// the peer; only senders must be minimal).
#[test]
fn server_extended_lengths_parse() {
    let now = Instant::now();
    let mut s = server();
    let payload = vec![7u8; 300];
    let mut bytes = vec![FIN | BINARY, 0x80 | 127];
    bytes.extend_from_slice(&300u64.to_be_bytes());
    bytes.extend_from_slice(&KEY);
    bytes.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    assert_eq!(
        feed(&mut s, now, &bytes),
        vec![WsEvent::Message(Message::Binary(Bytes::from(payload)))]
    );
}

/// docs/node-semantics.md#ws-control-frame-limits, RFC 6455 §5.5: a control frame over 125 bytes
/// fails with 1002.
#[test]
fn server_control_frame_over_125_fails_1002() {
    for op in [PING, PONG, CLOSE] {
        assert_fails(
            Role::Server,
            Config::default(),
            &cf(FIN | op, &[b'a'; 126]),
            ProtocolError::ControlFrameTooLarge,
            1002,
        );
    }
}

/// docs/node-semantics.md#ws-control-frame-limits, RFC 6455 §5.5: a fragmented control frame (FIN
/// = 0) fails with 1002.
#[test]
fn server_fragmented_control_frame_fails_1002() {
    for op in [PING, PONG, CLOSE] {
        assert_fails(
            Role::Server,
            Config::default(),
            &cf(op, b""),
            ProtocolError::FragmentedControlFrame,
            1002,
        );
    }
}

/// RFC 6455 §5.5: exactly 125 bytes is allowed and the Pong echoes all of them.
#[test]
fn server_ping_of_125_bytes_answered() {
    let now = Instant::now();
    let mut s = server();
    let data = [b'z'; 125];
    assert_eq!(
        feed(&mut s, now, &cf(FIN | PING, &data)),
        vec![WsEvent::Ping(Bytes::copy_from_slice(&data))]
    );
    assert_eq!(wire(&mut s, now), sf(FIN | PONG, &data));
}

// ---- message size (RFC 6455 §7.4.1)
// ----------------------------------------------------------------

/// docs/node-semantics.md#ws-message-limit, RFC 6455 §7.4.1: a message over `max_payload` fails
/// with 1009, from its header, whether in one frame or summed over fragments.
#[test]
fn server_message_over_max_payload_fails_1009() {
    let config = Config {
        max_payload: 10,
        ..Config::default()
    };
    assert_fails(
        Role::Server,
        config.clone(),
        &cf(FIN | BINARY, &[0; 11]),
        ProtocolError::MessageTooBig,
        1009,
    );
    // Only the header is needed to know.
    assert_fails(
        Role::Server,
        config.clone(),
        &cf(FIN | BINARY, &[0; 11])[..6],
        ProtocolError::MessageTooBig,
        1009,
    );
    let mut bytes = cf(BINARY, &[0; 6]);
    bytes.extend(cf(FIN | CONT, &[0; 5]));
    assert_fails(
        Role::Server,
        config.clone(),
        &bytes,
        ProtocolError::MessageTooBig,
        1009,
    );
    // Exactly the limit passes.
    let now = Instant::now();
    let mut s = server_with(config);
    let mut bytes = cf(BINARY, &[1; 6]);
    bytes.extend(cf(FIN | CONT, &[1; 4]));
    assert_eq!(
        feed(&mut s, now, &bytes),
        vec![WsEvent::Message(Message::Binary(Bytes::from(vec![
            1u8;
            10
        ])))]
    );
}

// ---- fragmentation (docs/node-semantics.md#ws-fragmentation to #ws-control-between-fragments,
// #ws-any-fragmentation) -------------------------------------------------------

/// docs/node-semantics.md#ws-fragmentation, #ws-control-between-fragments, RFC 6455 §5.4: a
/// fragmented message with a Ping and a Pong between its fragments: the control frames are handled
/// at once, the message arrives whole.
#[test]
fn server_fragments_with_control_frames_between() {
    let now = Instant::now();
    let mut s = server();
    let mut bytes = cf(TEXT, b"Hel");
    bytes.extend(cf(FIN | PING, b"p1"));
    bytes.extend(cf(CONT, b"lo, "));
    bytes.extend(cf(FIN | PONG, b"q"));
    bytes.extend(cf(CONT, b""));
    bytes.extend(cf(FIN | CONT, b"world"));
    assert_eq!(
        feed(&mut s, now, &bytes),
        vec![
            WsEvent::Ping(Bytes::from_static(b"p1")),
            WsEvent::Pong(Bytes::from_static(b"q")),
            WsEvent::Message(Message::text("Hello, world")),
        ]
    );
    assert_eq!(wire(&mut s, now), sf(FIN | PONG, b"p1"));
}

/// RFC 6455 §5.4: a fragmented binary message from the server side, fed one byte at a time.
#[test]
fn client_fragmented_binary_byte_at_a_time() {
    let now = Instant::now();
    let mut c = client();
    let mut bytes = sf(BINARY, &[1, 2]);
    bytes.extend(sf(CONT, &[3]));
    bytes.extend(sf(FIN | CONT, &[4, 5]));
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for b in &bytes {
        got.extend(feed_more(&mut c, now, &mut buf, &[*b]));
    }
    assert_eq!(
        got,
        vec![WsEvent::Message(Message::Binary(Bytes::from_static(&[
            1, 2, 3, 4, 5
        ])))]
    );
}

/// RFC 6455 §5.4: a Close between fragments is handled there: the partial message is dropped.
#[test]
fn server_close_between_fragments() {
    let now = Instant::now();
    let mut s = server();
    let mut bytes = cf(TEXT, b"part");
    bytes.extend(cf(FIN | CLOSE, &close_body(1000, b"")));
    assert_eq!(feed(&mut s, now, &bytes), vec![close_event(1000, "", true)]);
}

/// docs/node-semantics.md#ws-continuation-order, RFC 6455 §5.4: a continuation with no message open
/// fails with 1002.
#[test]
fn server_continuation_without_start_fails_1002() {
    assert_fails(
        Role::Server,
        Config::default(),
        &cf(FIN | CONT, b"x"),
        ProtocolError::UnexpectedContinuation,
        1002,
    );
    // Also after a complete message.
    let mut bytes = cf(FIN | TEXT, b"done");
    bytes.extend(cf(CONT, b"x"));
    let now = Instant::now();
    let mut s = server();
    let got = feed(&mut s, now, &bytes);
    assert_eq!(got[0], WsEvent::Message(Message::text("done")));
    assert_eq!(
        got[1],
        WsEvent::Error(Error::Protocol(ProtocolError::UnexpectedContinuation))
    );
}

/// docs/node-semantics.md#ws-continuation-order, RFC 6455 §5.4: a new text or binary frame while a
/// message is open fails with 1002.
#[test]
fn server_new_data_frame_mid_message_fails_1002() {
    for op in [TEXT, BINARY] {
        let mut bytes = cf(BINARY, b"a");
        bytes.extend(cf(FIN | op, b"b"));
        assert_fails(
            Role::Server,
            Config::default(),
            &bytes,
            ProtocolError::ExpectedContinuation,
            1002,
        );
    }
}

// ---- UTF-8 (docs/node-semantics.md#ws-utf8-message, #ws-utf8-fail-fast)
// -----------------------------------------------------------------

/// RFC 6455 §8.1: UTF-8 split across fragments (and across frame reads) is valid as a whole.
#[test]
fn server_utf8_split_across_fragments_valid() {
    let now = Instant::now();
    let mut s = server();
    let text = "κόσμε €𝄞";
    let bytes_of = text.as_bytes();
    let mut bytes = Vec::new();
    let cuts = [1, 3, 7, 9];
    let mut start = 0;
    for (i, cut) in cuts
        .iter()
        .chain(std::iter::once(&bytes_of.len()))
        .enumerate()
    {
        let op = if i == 0 { TEXT } else { CONT };
        let fin = if *cut == bytes_of.len() { FIN } else { 0 };
        bytes.extend(cf(fin | op, &bytes_of[start..*cut]));
        start = *cut;
    }
    assert_eq!(
        feed(&mut s, now, &bytes),
        vec![WsEvent::Message(Message::text(text))]
    );
}

/// docs/node-semantics.md#ws-utf8-message, #ws-utf8-fail-fast, RFC 6455 §8.1 (Autobahn 6.4.x):
/// invalid UTF-8 fails with 1007 as soon as the bad byte arrives, before the frame (or message) is
/// complete, even across fragments.
#[test]
fn server_invalid_utf8_fails_1007_at_first_bad_byte() {
    // In one frame: "ab" then 0xFF, 10 bytes declared, only 3 sent.
    let whole = cf(FIN | TEXT, b"ab\xffcdefghi");
    let header_len = 6;
    assert_fails(
        Role::Server,
        Config::default(),
        &whole[..header_len + 3],
        ProtocolError::InvalidUtf8,
        1007,
    );
    // Across fragments: 0xF4 ends frame 1, 0x90 (above U+10FFFF) opens frame 2, which is
    // unfinished.
    let mut bytes = cf(TEXT, b"a\xf4");
    let second = cf(FIN | CONT, b"\x90\x80\x80zzzz");
    bytes.extend_from_slice(&second[..header_len + 1]);
    assert_fails(
        Role::Server,
        Config::default(),
        &bytes,
        ProtocolError::InvalidUtf8,
        1007,
    );
    // The same, fed one byte at a time: the error comes with the 0x90 byte.
    let now = Instant::now();
    let mut s = server();
    let mut buf = BytesMut::new();
    for (i, b) in bytes.iter().enumerate() {
        let got = feed_more(&mut s, now, &mut buf, &[*b]);
        if i + 1 < bytes.len() {
            assert_eq!(got, vec![], "byte {i}");
        } else {
            assert_eq!(
                got.first(),
                Some(&WsEvent::Error(Error::Protocol(ProtocolError::InvalidUtf8)))
            );
        }
    }
    // A client checks too.
    assert_fails(
        Role::Client,
        Config::default(),
        &sf(FIN | TEXT, b"\xed\xa0\x80"),
        ProtocolError::InvalidUtf8,
        1007,
    );
}

/// RFC 6455 §8.1: a text message ending inside a sequence fails with 1007 at its end.
#[test]
fn server_truncated_utf8_at_message_end_fails_1007() {
    let mut bytes = cf(TEXT, b"ok");
    bytes.extend(cf(FIN | CONT, b"\xce"));
    assert_fails(
        Role::Server,
        Config::default(),
        &bytes,
        ProtocolError::InvalidUtf8,
        1007,
    );
}

/// RFC 6455 §8.1: binary messages are not checked.
#[test]
fn server_binary_not_utf8_checked() {
    let now = Instant::now();
    let mut s = server();
    assert_eq!(
        feed(&mut s, now, &cf(FIN | BINARY, b"\xff\xfe")),
        vec![WsEvent::Message(Message::Binary(Bytes::from_static(
            b"\xff\xfe"
        )))]
    );
}

// ---- ping / pong (RFC 6455 §5.5.2, §5.5.3)
// -----------------------------------------------------------

/// docs/node-semantics.md#ws-ping-pong, RFC 6455 §5.5.2: a Ping is answered with a Pong carrying
/// the same data, both roles (the client's Pong masked).
#[test]
fn open_ping_answered_with_same_data() {
    let now = Instant::now();
    let mut s = server();
    assert_eq!(
        feed(&mut s, now, &cf(FIN | PING, b"hello")),
        vec![WsEvent::Ping(Bytes::from_static(b"hello"))]
    );
    assert_eq!(wire(&mut s, now), sf(FIN | PONG, b"hello"));
    let mut c = client();
    assert_eq!(
        feed(&mut c, now, &sf(FIN | PING, b"")),
        vec![WsEvent::Ping(Bytes::new())]
    );
    let sent = frames(&wire(&mut c, now));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].opcode, PONG);
    assert!(sent[0].mask.is_some());
    assert!(sent[0].payload.is_empty());
}

/// `autoPong: false`: the Ping is reported, nothing is sent.
#[test]
fn open_ping_without_auto_pong_not_answered() {
    let now = Instant::now();
    let mut s = server_with(Config {
        auto_pong: false,
        ..Config::default()
    });
    assert_eq!(
        feed(&mut s, now, &cf(FIN | PING, b"x")),
        vec![WsEvent::Ping(Bytes::from_static(b"x"))]
    );
    assert!(wire(&mut s, now).is_empty());
}

/// docs/node-semantics.md#ws-unsolicited-pong, RFC 6455 §5.5.3: an unsolicited Pong is accepted and
/// gets no reply.
#[test]
fn open_unsolicited_pong_accepted() {
    let now = Instant::now();
    let mut s = server();
    assert_eq!(
        feed(&mut s, now, &cf(FIN | PONG, b"hb")),
        vec![WsEvent::Pong(Bytes::from_static(b"hb"))]
    );
    assert!(wire(&mut s, now).is_empty());
    assert_eq!(s.ready_state(), ReadyState::Open);
}

// ---- close payloads (docs/node-semantics.md#ws-close-body to #ws-close-codes-valid)
// ---------------------------------------------------------

/// docs/node-semantics.md#ws-close-body, RFC 6455 §5.5.1: a 1-byte Close body fails with 1002.
#[test]
fn server_close_one_byte_body_fails_1002() {
    assert_fails(
        Role::Server,
        Config::default(),
        &cf(FIN | CLOSE, &[0x03]),
        ProtocolError::InvalidClosePayload,
        1002,
    );
}

/// docs/node-semantics.md#ws-close-codes-unsendable to #ws-close-codes-invalid (Autobahn 7.9.x):
/// invalid received codes fail with 1002.
#[test]
fn server_close_invalid_codes_fail_1002() {
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000,
    ] {
        assert_fails(
            Role::Server,
            Config::default(),
            &cf(FIN | CLOSE, &close_body(code, b"")),
            ProtocolError::InvalidCloseCode,
            1002,
        );
    }
}

/// Autobahn 7.7.1–7.7.13; RFC 6455 §5.5.1 (Autobahn 7.7.x): a valid code gets a clean Close echoing
/// it; the server reports it and closes TCP first (RFC 6455 §7.1.1).
#[test]
fn server_close_valid_codes_echoed() {
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
    ] {
        let now = Instant::now();
        let mut s = server();
        assert_eq!(
            feed(&mut s, now, &cf(FIN | CLOSE, &close_body(code, b"why"))),
            vec![close_event(code, "why", true)],
            "{code}"
        );
        let sent = frames(&wire(&mut s, now));
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].opcode, CLOSE);
        assert_eq!(sent[0].payload[..2], code.to_be_bytes(), "{code}");
        assert_eq!(actions(&mut s), vec![Action::Shutdown]);
    }
}

/// RFC 6455 §5.5.1, §8.1 (Autobahn 7.5.1): a Close reason that is not UTF-8 fails with 1007.
#[test]
fn server_close_reason_invalid_utf8_fails_1007() {
    assert_fails(
        Role::Server,
        Config::default(),
        &cf(FIN | CLOSE, &close_body(1000, b"ok\xff")),
        ProtocolError::InvalidUtf8,
        1007,
    );
}

// ---- closing handshake (docs/node-semantics.md#ws-close-reply to #ws-api-close-args)
// ------------------------------------------------------

/// docs/node-semantics.md#ws-after-close, RFC 6455 §5.5.1: after our Close no data frame (nor Ping)
/// is sent, and the message is still counted in `bufferedAmount` (WHATWG WebSockets › `send()`).
#[test]
fn closing_send_transmits_nothing() {
    let now = Instant::now();
    let mut c = client();
    c.close(now, Some(1000), "bye").unwrap();
    let before = c.buffered_amount();
    assert_eq!(
        c.send(now, Message::text("late")),
        Err(Error::Usage(UsageError::Closed))
    );
    assert_eq!(
        c.ping(now, Bytes::new()),
        Err(Error::Usage(UsageError::Closed))
    );
    assert_eq!(c.buffered_amount(), before + 4);
    let sent = frames(&wire(&mut c, now));
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].opcode, CLOSE);
    assert_eq!(sent[0].payload, close_body(1000, b"bye"));
}

/// RFC 6455 §5.5.1: data received after the peer's Close is discarded (server and client).
#[test]
fn closing_data_after_peer_close_discarded() {
    let now = Instant::now();
    let mut s = server();
    let mut bytes = cf(FIN | CLOSE, &close_body(1000, b""));
    bytes.extend(cf(FIN | TEXT, b"after"));
    bytes.extend(cf(FIN | PING, b"p"));
    assert_eq!(feed(&mut s, now, &bytes), vec![close_event(1000, "", true)]);
    assert_eq!(frames(&wire(&mut s, now)).len(), 1);

    let mut c = client();
    let mut bytes = sf(FIN | CLOSE, &close_body(1001, b"away"));
    bytes.extend(sf(FIN | TEXT, b"after"));
    bytes.extend(sf(FIN | PING, b"p"));
    assert_eq!(feed(&mut c, now, &bytes), vec![]);
    let sent = frames(&wire(&mut c, now));
    assert_eq!(sent.len(), 1, "only the echoed Close: {sent:?}");
    assert_eq!(sent[0].payload[..2], 1001u16.to_be_bytes());
    c.handle_eof(now);
    assert_eq!(events(&mut c), vec![close_event(1001, "away", true)]);
}

/// docs/node-semantics.md#ws-close-status-report, RFC 6455 §7.1.5: a Close with no status is
/// reported as 1005 and echoed with an empty body.
#[test]
fn server_statusless_close_reports_1005() {
    let now = Instant::now();
    let mut s = server();
    assert_eq!(
        feed(&mut s, now, &cf(FIN | CLOSE, b"")),
        vec![close_event(1005, "", true)]
    );
    let sent = frames(&wire(&mut s, now));
    assert_eq!(sent.len(), 1);
    assert!(sent[0].payload.is_empty(), "{sent:?}");
}

/// RFC 6455 §7.1.5: TCP ending with no Close frame reports 1006, not clean, both roles; also in the
/// middle of a frame.
#[test]
fn open_eof_without_close_reports_1006() {
    let now = Instant::now();
    for mut conn in [server(), client()] {
        let partial = cf(FIN | TEXT, b"unfinished");
        if conn.role() == Role::Server {
            feed(&mut conn, now, &partial[..8]);
        }
        conn.handle_eof(now);
        assert_eq!(events(&mut conn), vec![close_event(1006, "", false)]);
        assert_eq!(actions(&mut conn), vec![Action::Close { reset: false }]);
        assert_eq!(conn.ready_state(), ReadyState::Closed);
        conn.handle_eof(now);
        assert_eq!(events(&mut conn), vec![], "Close comes once");
    }
}

/// RFC 6455 §7.1.5: our Close sent, then EOF without the peer's Close: 1006, not clean.
#[test]
fn closing_eof_before_peer_close_reports_1006() {
    let now = Instant::now();
    let mut c = client();
    c.close(now, Some(1000), "").unwrap();
    c.handle_eof(now);
    assert_eq!(events(&mut c), vec![close_event(1006, "", false)]);
}

/// docs/node-semantics.md#ws-tcp-close-order, RFC 6455 §7.1.1: a client-started closing handshake
/// between two machines: the server echoes and shuts TCP down first, the client waits for EOF and
/// then closes.
#[test]
fn closing_client_started_server_closes_tcp_first() {
    let now = Instant::now();
    let mut c = client();
    let mut s = server();
    c.close(now, Some(4001), "done").unwrap();
    assert_eq!(c.ready_state(), ReadyState::Closing);
    let to_server = wire(&mut c, now);
    assert_eq!(
        feed(&mut s, now, &to_server),
        vec![close_event(4001, "done", true)]
    );
    assert_eq!(s.ready_state(), ReadyState::Closed);
    assert_eq!(
        actions(&mut s),
        vec![],
        "the FIN waits for the close frame queued before it (sansnet_core::Action)"
    );
    let to_client = wire(&mut s, now);
    assert_eq!(actions(&mut s), vec![Action::Shutdown]);
    assert_eq!(frames(&to_client)[0].payload[..2], 4001u16.to_be_bytes());
    assert_eq!(feed(&mut c, now, &to_client), vec![]);
    assert_eq!(
        actions(&mut c),
        vec![],
        "the client waits for the server's FIN"
    );
    assert_eq!(c.ready_state(), ReadyState::Closing);
    c.handle_eof(now);
    let got = events(&mut c);
    assert!(
        matches!(
            got.as_slice(),
            [WsEvent::Close {
                code: 4001,
                was_clean: true,
                ..
            }]
        ),
        "{got:?}"
    );
    assert_eq!(actions(&mut c), vec![Action::Close { reset: false }]);
    assert_eq!(c.ready_state(), ReadyState::Closed);
}

/// RFC 6455 §7.1.1: a server-started closing handshake: the client echoes and waits; the server
/// closes TCP as soon as the echo arrives.
#[test]
fn closing_server_started_handshake() {
    let now = Instant::now();
    let mut c = client();
    let mut s = server();
    s.close(now, Some(1000), "restart").unwrap();
    assert_eq!(actions(&mut s), vec![]);
    let to_client = wire(&mut s, now);
    assert_eq!(feed(&mut c, now, &to_client), vec![]);
    assert_eq!(c.ready_state(), ReadyState::Closing);
    let to_server = wire(&mut c, now);
    assert_eq!(frames(&to_server)[0].payload[..2], 1000u16.to_be_bytes());
    let got = feed(&mut s, now, &to_server);
    assert!(
        matches!(
            got.as_slice(),
            [WsEvent::Close {
                code: 1000,
                was_clean: true,
                ..
            }]
        ),
        "{got:?}"
    );
    assert_eq!(actions(&mut s), vec![Action::Shutdown]);
    c.handle_eof(now);
    assert_eq!(events(&mut c), vec![close_event(1000, "restart", true)]);
    assert_eq!(actions(&mut c), vec![Action::Close { reset: false }]);
}

/// RFC 6455 §7.1.1: a client whose server never closes TCP closes it itself after `close_timeout`.
#[test]
fn closing_client_close_timeout() {
    let now = Instant::now();
    let timeout = Duration::from_secs(2);
    let mut c = client_with(Config {
        close_timeout: timeout,
        ..Config::default()
    });
    feed(&mut c, now, &sf(FIN | CLOSE, &close_body(1000, b"")));
    assert_eq!(c.poll_timeout(), Some(now + timeout));
    c.handle_timeout(now + timeout - Duration::from_millis(1));
    assert_eq!(events(&mut c), vec![]);
    assert_eq!(actions(&mut c), vec![]);
    c.handle_timeout(now + timeout);
    let got = events(&mut c);
    assert!(
        matches!(got.as_slice(), [WsEvent::Close { code: 1000, .. }]),
        "{got:?}"
    );
    assert_eq!(actions(&mut c), vec![Action::Close { reset: false }]);
    assert_eq!(c.poll_timeout(), None);
}

/// RFC 6455 §7.1.1: our Close never answered: after `close_timeout` TCP is closed, 1006, not clean.
#[test]
fn closing_unanswered_close_times_out_1006() {
    let now = Instant::now();
    let mut s = server();
    s.close(now, Some(1000), "").unwrap();
    let deadline = s.poll_timeout().expect("a close timer");
    assert_eq!(deadline, now + Config::default().close_timeout);
    s.handle_timeout(deadline);
    assert_eq!(events(&mut s), vec![close_event(1006, "", false)]);
    assert_eq!(actions(&mut s), vec![Action::Close { reset: false }]);
}

/// docs/node-semantics.md#ws-api-close-args (WHATWG `close()`): codes other than 1000 and 3000-4999
/// and reasons over 123 bytes are refused and change nothing; the limits themselves pass.
#[test]
fn open_app_close_code_and_reason_checked() {
    let now = Instant::now();
    for code in [0u16, 999, 1001, 1002, 1005, 1006, 1011, 2999, 5000] {
        let mut c = client();
        assert_eq!(
            c.close(now, Some(code), ""),
            Err(Error::Usage(UsageError::InvalidCloseCode)),
            "{code}"
        );
        assert_eq!(c.ready_state(), ReadyState::Open);
        assert!(wire(&mut c, now).is_empty());
    }
    let mut c = client();
    assert_eq!(
        c.close(now, Some(1000), &"a".repeat(124)),
        Err(Error::Usage(UsageError::CloseReasonTooLong))
    );
    assert_eq!(
        c.close(now, Some(4000), &"é".repeat(62)),
        Err(Error::Usage(UsageError::CloseReasonTooLong))
    );
    assert_eq!(c.ready_state(), ReadyState::Open);
    for code in [1000u16, 3000, 4999] {
        let mut c = client();
        c.close(now, Some(code), &"r".repeat(123)).unwrap();
        let sent = frames(&wire(&mut c, now));
        assert_eq!(sent[0].payload.len(), 125);
    }
    // No code: an empty body.
    let mut c = client();
    c.close(now, None, "").unwrap();
    assert!(frames(&wire(&mut c, now))[0].payload.is_empty());
    // Ping/pong payloads over 125 bytes are refused.
    assert_eq!(
        client().ping(now, Bytes::from(vec![0; 126])),
        Err(Error::Usage(UsageError::ControlPayloadTooLarge))
    );
}

// ---- readyState, bufferedAmount (docs/node-semantics.md#ws-ready-state)
// --------------------------------------------

/// WHATWG WebSockets › `readyState`: OPEN -> CLOSING -> CLOSED, never back; commands after CLOSED
/// fail.
#[test]
fn ready_state_transitions_never_go_back() {
    let now = Instant::now();
    let mut s = server();
    assert_eq!(s.ready_state(), ReadyState::Open);
    s.close(now, Some(1000), "").unwrap();
    assert_eq!(s.ready_state(), ReadyState::Closing);
    // A second close is a no-op while closing.
    s.close(now, Some(1000), "").unwrap();
    assert_eq!(s.ready_state(), ReadyState::Closing);
    feed(&mut s, now, &cf(FIN | PING, b"still"));
    assert_eq!(s.ready_state(), ReadyState::Closing);
    feed(&mut s, now, &cf(FIN | CLOSE, &close_body(1000, b"")));
    assert_eq!(s.ready_state(), ReadyState::Closed);
    assert_eq!(
        s.close(now, Some(1000), ""),
        Err(Error::Usage(UsageError::Closed))
    );
    assert_eq!(
        s.send(now, Message::text("x")),
        Err(Error::Usage(UsageError::Closed))
    );
    s.handle_eof(now);
    s.handle_timeout(now + Duration::from_secs(3600));
    assert_eq!(s.ready_state(), ReadyState::Closed);
    assert!(ReadyState::Connecting < ReadyState::Open);
}

/// docs/node-semantics.md#ws-buffered-amount: `bufferedAmount` counts application bytes not yet
/// written, without framing, and falls as the writes complete; `send` returns false at the
/// high-water mark and `Drain` follows.
#[test]
fn open_buffered_amount_counts_payload_bytes() {
    let now = Instant::now();
    let mut c = client_with(Config {
        high_water_mark: 1000,
        ..Config::default()
    });
    assert_eq!(
        c.send(now, Message::Binary(Bytes::from(vec![0; 100]))),
        Ok(true)
    );
    assert_eq!(c.send(now, Message::text("abc")), Ok(true));
    assert_eq!(c.buffered_amount(), 103);
    assert_eq!(
        c.send(now, Message::Binary(Bytes::from(vec![0; 2000]))),
        Ok(false)
    );
    assert_eq!(c.buffered_amount(), 2103);
    let total = wire(&mut c, now).len();
    assert_eq!(total, (6 + 100) + (6 + 3) + (8 + 2000));
    assert_eq!(c.buffered_amount(), 0);
    assert_eq!(events(&mut c), vec![WsEvent::Drain]);
}

/// WHATWG WebSockets › `send()`: after closing began, `send` adds to `bufferedAmount` and it never
/// resets, also once CLOSED.
#[test]
fn closed_send_still_adds_to_buffered_amount() {
    let now = Instant::now();
    let mut s = server();
    s.close(now, Some(1000), "").unwrap();
    wire(&mut s, now);
    assert_eq!(s.buffered_amount(), 0);
    let _ = s.send(now, Message::text("12345"));
    assert_eq!(s.buffered_amount(), 5);
    feed(&mut s, now, &cf(FIN | CLOSE, &close_body(1000, b"")));
    assert_eq!(s.ready_state(), ReadyState::Closed);
    let _ = s.send(now, Message::Binary(Bytes::from_static(b"xy")));
    assert_eq!(s.buffered_amount(), 7);
    wire(&mut s, now);
    assert_eq!(s.buffered_amount(), 7);
}

// ---- two machines (RFC 6455 §5.4) --------------------------------------------------------------

/// RFC 6455 §5.4: messages of every kind both ways between two machines, with the 16-bit and
/// 64-bit length forms.
#[test]
fn pair_messages_both_ways() {
    let now = Instant::now();
    let mut c = client();
    let mut s = server();
    let messages = [
        Message::text(""),
        Message::text("héllo"),
        Message::Binary(Bytes::from(vec![0xAB; 126])),
        Message::Binary(Bytes::from(vec![0xCD; 65_535])),
        Message::Binary(Bytes::from(vec![0xEF; 65_536])),
    ];
    for m in &messages {
        c.send(now, m.clone()).unwrap();
        s.send(now, m.clone()).unwrap();
    }
    let to_s = wire(&mut c, now);
    let to_c = wire(&mut s, now);
    let want: Vec<WsEvent> = messages.iter().cloned().map(WsEvent::Message).collect();
    let got_s: Vec<WsEvent> = feed(&mut s, now, &to_s)
        .into_iter()
        .filter(|e| *e != WsEvent::Drain)
        .collect();
    let got_c: Vec<WsEvent> = feed(&mut c, now, &to_c)
        .into_iter()
        .filter(|e| *e != WsEvent::Drain)
        .collect();
    // Compared as a whole, but never printed in full.
    assert!(got_s == want, "server got {} events", got_s.len());
    assert!(got_c == want, "client got {} events", got_c.len());
}

// ---- opening handshake (docs/node-semantics.md#ws-server-request-check to #ws-client-unoffered)
// ------------------------------------------------------

const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The parts of an upgrade request a test changes before it is handed over (a received
/// request's headers are read-only).
struct Draft {
    method: Bytes,
    version: Version,
    headers: Headers,
}

fn upgrade_request(edit: impl FnOnce(&mut Draft)) -> Request {
    let headers = Headers::new()
        .with("Host", "server.example.com")
        .with("Upgrade", "websocket")
        .with("Connection", "Upgrade")
        .with("Sec-WebSocket-Key", SAMPLE_KEY)
        .with("Origin", "http://example.com")
        .with("Sec-WebSocket-Version", "13");
    let mut draft = Draft {
        method: Bytes::from_static(b"GET"),
        version: Version::Http11,
        headers,
    };
    edit(&mut draft);
    Request {
        id: RequestId(0),
        method: draft.method,
        target: Bytes::from_static(b"/chat"),
        version: draft.version,
        headers: draft.headers.into(),
        framing: BodyFraming::None,
        keep_alive: true,
        expect_continue: false,
        start: 0,
        head_end: 0,
    }
}

fn set_header(request: &mut Draft, name: &'static str, value: Option<&'static str>) {
    request.headers.remove(name);
    if let Some(value) = value {
        request.headers.append(name, value);
    }
}

fn rejected(request: &Request) -> (HandshakeError, String) {
    let r = accept(request, &[]).expect_err("must be refused");
    (r.error, String::from_utf8(r.response.to_vec()).unwrap())
}

/// docs/node-semantics.md#ws-accept, RFC 6455 §1.3: the accept value of the RFC's own example.
#[test]
fn handshake_accept_key_rfc_example() {
    assert_eq!(
        accept_key(SAMPLE_KEY.as_bytes()),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

/// RFC 6455 §4.2.1, §1.3, §4.2.2: a valid request gets the 101 with `Upgrade`, `Connection`
/// and the accept value.
#[test]
fn handshake_accept_valid_request() {
    let accepted = accept(&upgrade_request(|_| {}), &[]).unwrap();
    let text = String::from_utf8(accepted.response.to_vec()).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{text}"
    );
    let lower = text.to_ascii_lowercase();
    assert!(lower.contains("\r\nupgrade: websocket\r\n"), "{text}");
    assert!(lower.contains("\r\nconnection: upgrade\r\n"), "{text}");
    assert!(
        text.contains("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\n"));
    assert!(!lower.contains("sec-websocket-protocol"), "{text}");
    assert_eq!(accepted.protocol, None);
}

/// RFC 6455 §4.2.1: the `Upgrade` and `Connection` tokens are matched case-insensitively, within
/// lists.
#[test]
fn handshake_accept_tokens_case_insensitive() {
    let request = upgrade_request(|r| {
        set_header(r, "Upgrade", Some("WebSocket"));
        set_header(r, "Connection", Some("keep-alive, UPGRADE"));
    });
    assert!(accept(&request, &[]).is_ok());
}

/// docs/node-semantics.md#ws-server-request-check, RFC 6455 §4.2.1: not GET, not HTTP/1.1, no
/// `websocket` in `Upgrade`, no `upgrade` in `Connection`, no `Host`: 400.
#[test]
fn handshake_accept_refuses_bad_requests_400() {
    let cases: Vec<(Request, HandshakeError)> = vec![
        (
            upgrade_request(|r| r.method = Bytes::from_static(b"POST")),
            HandshakeError::MethodNotGet,
        ),
        (
            upgrade_request(|r| r.version = Version::Http10),
            HandshakeError::VersionNotHttp11,
        ),
        (
            upgrade_request(|r| set_header(r, "Upgrade", Some("h2c"))),
            HandshakeError::MissingUpgrade,
        ),
        (
            upgrade_request(|r| set_header(r, "Upgrade", None)),
            HandshakeError::MissingUpgrade,
        ),
        (
            upgrade_request(|r| set_header(r, "Connection", Some("keep-alive"))),
            HandshakeError::MissingConnectionUpgrade,
        ),
    ];
    for (request, want) in cases {
        let (error, response) = rejected(&request);
        assert_eq!(error, want);
        assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
    }
}

/// docs/node-semantics.md#ws-server-request-check, RFC 6455 §4.2.1 item 2: a request without `Host`
/// is refused with 400.
#[test]
fn handshake_accept_refuses_missing_host_400() {
    let request = upgrade_request(|r| set_header(r, "Host", None));
    let outcome = accept(&request, &[]);
    let Err(rejected) = outcome else {
        panic!("a handshake without Host was accepted: {outcome:?}");
    };
    assert!(rejected.response.starts_with(b"HTTP/1.1 400 "));
}

/// docs/node-semantics.md#ws-key-16-bytes, RFC 6455 §4.2.1: a key that is missing or does not
/// decode to 16 bytes: 400.
#[test]
fn handshake_accept_refuses_bad_keys_400() {
    for key in [
        None,
        Some(""),
        Some("abc"),
        Some("not base64 at all!!!!!!!"),
        Some("AAAAAAAAAAAAAAAAAAAA"),         // 15 bytes
        Some("AAAAAAAAAAAAAAAAAAAAAAAAAA=="), // 19 bytes
        Some("AAAAAAAAAAAAAAAAAAAAAAA="),     // 17 bytes
    ] {
        let request = upgrade_request(|r| set_header(r, "Sec-WebSocket-Key", key));
        let (error, response) = rejected(&request);
        assert_eq!(error, HandshakeError::InvalidKey, "{key:?}");
        assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
    }
    // 16 bytes of zeros is fine.
    let request =
        upgrade_request(|r| set_header(r, "Sec-WebSocket-Key", Some("AAAAAAAAAAAAAAAAAAAAAA==")));
    assert!(accept(&request, &[]).is_ok());
}

/// RFC 6455 §4.4, §4.2.2: a version other than 13 gets 426 with
/// `Sec-WebSocket-Version: 13`.
#[test]
fn handshake_accept_wrong_version_426() {
    for version in ["12", "8", "14", "13, 8"] {
        let request = upgrade_request(|r| set_header(r, "Sec-WebSocket-Version", Some(version)));
        let (error, response) = rejected(&request);
        assert_eq!(error, HandshakeError::UnsupportedVersion);
        assert!(response.starts_with("HTTP/1.1 426 "), "{response}");
        assert!(
            response
                .to_ascii_lowercase()
                .contains("\r\nsec-websocket-version: 13\r\n"),
            "{response}"
        );
        assert_eq!(
            Error::Handshake(HandshakeError::UnsupportedVersion).status_hint(),
            Some(426)
        );
    }
}

/// docs/node-semantics.md#ws-subprotocol-select, RFC 6455 §4.2.2: at most one subprotocol, one the
/// client listed, in the server's order of preference; none when nothing matches.
#[test]
fn handshake_accept_subprotocol_choice() {
    let request = upgrade_request(|r| {
        r.headers
            .append("Sec-WebSocket-Protocol", "chat, superchat");
        r.headers.append("Sec-WebSocket-Protocol", "v2.json");
    });
    let accepted = accept(&request, &["superchat", "chat"]).unwrap();
    assert_eq!(accepted.protocol.as_deref(), Some("superchat"));
    let text = String::from_utf8(accepted.response.to_vec()).unwrap();
    assert!(
        text.contains("\r\nSec-WebSocket-Protocol: superchat\r\n"),
        "{text}"
    );
    assert_eq!(text.matches("Sec-WebSocket-Protocol").count(), 1);
    let accepted = accept(&request, &["v2.json"]).unwrap();
    assert_eq!(accepted.protocol.as_deref(), Some("v2.json"));
    let accepted = accept(&request, &["mqtt"]).unwrap();
    assert_eq!(accepted.protocol, None);
    assert!(!String::from_utf8_lossy(&accepted.response).contains("Sec-WebSocket-Protocol"));
}

/// A change to a response's headers.
type HeaderEdit = Box<dyn FnOnce(&mut Headers)>;

fn response_head(handshake: &ClientHandshake, edit: impl FnOnce(&mut Headers)) -> ResponseHead {
    let mut headers = Headers::new()
        .with("Upgrade", "websocket")
        .with("Connection", "Upgrade")
        .with(
            "Sec-WebSocket-Accept",
            accept_key(handshake.key().as_bytes()),
        );
    edit(&mut headers);
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

/// docs/node-semantics.md#ws-client-key, RFC 6455 §4.1: each client key is a fresh 16-byte nonce,
/// base64; the request carries the handshake headers.
#[test]
fn handshake_client_key_and_request() {
    let mut counter = 0u8;
    let mut entropy = move |buf: &mut [u8]| {
        for b in buf {
            counter = counter.wrapping_add(1);
            *b = counter;
        }
    };
    let a = ClientHandshake::new(&mut entropy, &["chat"]);
    let b = ClientHandshake::new(&mut entropy, &[]);
    assert_ne!(a.key(), b.key());
    assert_eq!(a.key().len(), 24);
    assert!(a.key().ends_with("=="));
    // The server accepts what the client builds.
    let request = upgrade_request(|r| {
        set_header(r, "Sec-WebSocket-Key", None);
        r.headers.append("Sec-WebSocket-Key", a.key().to_string());
    });
    let accepted = accept(&request, &[]).unwrap();
    assert!(String::from_utf8_lossy(&accepted.response).contains(&accept_key(a.key().as_bytes())),);
    let built = format!("{:?}", a.request("example.com:8080", "/chat"));
    for needle in [
        "Upgrade",
        "websocket",
        "Sec-WebSocket-Version",
        "13",
        "chat",
    ] {
        assert!(built.contains(needle), "{needle} missing from {built}");
    }
}

/// docs/node-semantics.md#ws-non-101 to #ws-client-unoffered, RFC 6455 §4.1: the client checks the
/// server's answer.
#[test]
fn handshake_client_verify() {
    let mut entropy = |buf: &mut [u8]| buf.fill(7);
    let hs = ClientHandshake::new(&mut entropy, &["chat"]);
    assert_eq!(hs.verify(&response_head(&hs, |_| {})), Ok(None));
    assert_eq!(
        hs.verify(&response_head(&hs, |h| {
            h.append("Sec-WebSocket-Protocol", "chat");
        })),
        Ok(Some("chat".to_string()))
    );
    // Case-insensitive tokens.
    assert_eq!(
        hs.verify(&response_head(&hs, |h| {
            h.remove("Upgrade");
            h.append("Upgrade", "WEBSOCKET");
            h.remove("Connection");
            h.append("Connection", "keep-alive, upgrade");
        })),
        Ok(None)
    );
    // RFC 6455 §4.1: not a 101.
    for status in [200u16, 302, 401, 426] {
        let mut head = response_head(&hs, |_| {});
        head.status = status;
        assert_eq!(hs.verify(&head), Err(HandshakeError::NotSwitching(status)));
    }
    // RFC 6455 §4.1.
    let bad: Vec<(HeaderEdit, HandshakeError)> = vec![
        (
            Box::new(|h: &mut Headers| h.remove("Upgrade")),
            HandshakeError::InvalidUpgradeResponse,
        ),
        (
            Box::new(|h: &mut Headers| {
                h.remove("Upgrade");
                h.append("Upgrade", "h2c");
            }),
            HandshakeError::InvalidUpgradeResponse,
        ),
        (
            Box::new(|h: &mut Headers| {
                h.remove("Connection");
                h.append("Connection", "keep-alive");
            }),
            HandshakeError::InvalidUpgradeResponse,
        ),
        (
            Box::new(|h: &mut Headers| h.remove("Sec-WebSocket-Accept")),
            HandshakeError::AcceptMismatch,
        ),
        (
            Box::new(|h: &mut Headers| {
                h.remove("Sec-WebSocket-Accept");
                h.append("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
            }),
            HandshakeError::AcceptMismatch,
        ),
        // RFC 6455 §4.1.
        (
            Box::new(|h: &mut Headers| h.append("Sec-WebSocket-Extensions", "permessage-deflate")),
            HandshakeError::UnrequestedProtocolOrExtension,
        ),
        (
            Box::new(|h: &mut Headers| h.append("Sec-WebSocket-Protocol", "superchat")),
            HandshakeError::UnrequestedProtocolOrExtension,
        ),
    ];
    for (i, (edit, want)) in bad.into_iter().enumerate() {
        assert_eq!(hs.verify(&response_head(&hs, edit)), Err(want), "case {i}");
    }
    // A client that offered nothing refuses any subprotocol.
    let none = ClientHandshake::new(&mut entropy, &[]);
    assert_eq!(
        none.verify(&response_head(&none, |h| {
            h.append("Sec-WebSocket-Protocol", "chat");
        })),
        Err(HandshakeError::UnrequestedProtocolOrExtension)
    );
}
