//! Property tests of `sansnet-ws` through its public API (proptest): round trips for every
//! length form, chunking invariance both ways, and no panic with `Close` at most once and
//! last on arbitrary input (RFC 6455 §5.2-§5.4; docs/node-semantics.md#ws-masking,
//! #ws-length-encoding, #ws-fragmentation, #ws-any-fragmentation).
#![allow(
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation is a test failure"
)]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use sansnet_ws::{Config, Connection, Message, Role, WsEvent};

fn entropy() -> Box<dyn sansnet_ws::Entropy + Send> {
    let mut counter = 0u8;
    Box::new(move |buf: &mut [u8]| {
        for b in buf {
            counter = counter.wrapping_add(53);
            *b = counter;
        }
    })
}

fn machine(role: Role) -> Connection {
    Connection::new(role, Config::default(), entropy())
}

fn drain_wire(conn: &mut Connection, now: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = conn.pop_transmit(now) {
        out.extend_from_slice(&chunk);
    }
    out
}

/// Feeds `stream` cut at `cuts` (sorted, deduplicated, in range) with a buffer kept across
/// reads, then EOF; returns the events (without `Drain`) and what was written.
fn run(role: Role, stream: &[u8], cuts: &[usize]) -> (Vec<WsEvent>, Vec<u8>) {
    let now = Instant::now();
    let mut conn = machine(role);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    let mut wire = Vec::new();
    let mut start = 0;
    for end in cuts.iter().copied().chain(std::iter::once(stream.len())) {
        buf.extend_from_slice(&stream[start..end]);
        start = end;
        conn.handle_input(now, &mut buf);
        wire.extend(drain_wire(&mut conn, now));
        events.extend(std::iter::from_fn(|| conn.poll_event()));
    }
    conn.handle_eof(now);
    conn.handle_timeout(now + Duration::from_secs(3600));
    wire.extend(drain_wire(&mut conn, now));
    events.extend(std::iter::from_fn(|| conn.poll_event()));
    events.retain(|e| *e != WsEvent::Drain);
    (events, wire)
}

/// Close exactly once and last (after EOF).
fn assert_close_once_last(events: &[WsEvent]) -> Result<(), TestCaseError> {
    let closes = events
        .iter()
        .filter(|e| matches!(e, WsEvent::Close { .. }))
        .count();
    prop_assert_eq!(closes, 1, "{:?}", events);
    let last_is_close = matches!(events.last(), Some(WsEvent::Close { .. }));
    prop_assert!(last_is_close, "Close is not last: {:?}", events);
    Ok(())
}

fn cuts_for(len: usize, raw: &[usize]) -> Vec<usize> {
    let mut cuts: Vec<usize> = raw.iter().map(|c| c % (len + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// A frame with FIN | opcode, the minimal length form, masked with `mask` if given.
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

/// One unit of traffic: a message (split into `fragments` frames, with a Ping after the
/// first), or a lone Ping or Pong.
#[derive(Debug, Clone)]
enum Unit {
    Message {
        text: bool,
        data: Vec<u8>,
        fragments: usize,
        ping_inside: bool,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

fn unit() -> impl Strategy<Value = Unit> {
    prop_oneof![
        4 => (
            any::<bool>(),
            "\\PC{0,80}",
            prop::collection::vec(any::<u8>(), 0..300),
            1usize..5,
            any::<bool>()
        )
            .prop_map(|(text, s, bin, fragments, ping_inside)| Unit::Message {
                text,
                data: if text { s.into_bytes() } else { bin },
                fragments,
                ping_inside,
            }),
        1 => prop::collection::vec(any::<u8>(), 0..126).prop_map(Unit::Ping),
        1 => prop::collection::vec(any::<u8>(), 0..126).prop_map(Unit::Pong),
    ]
}

/// The bytes a peer of `receiver` sends for `units` (masked towards a server, RFC 6455 §5.3), and
/// the events `receiver` must report for them.
fn encode(units: &[Unit], receiver: Role, key: [u8; 4]) -> (Vec<u8>, Vec<WsEvent>) {
    let mask = (receiver == Role::Server).then_some(key);
    let mut bytes = Vec::new();
    let mut want = Vec::new();
    for unit in units {
        match unit {
            Unit::Message {
                text,
                data,
                fragments,
                ping_inside,
            } => {
                let n = (*fragments).min(data.len().max(1));
                let size = data.len().div_ceil(n).max(1);
                let pieces: Vec<&[u8]> = if data.is_empty() {
                    vec![&[][..]]
                } else {
                    data.chunks(size).collect()
                };
                for (i, piece) in pieces.iter().enumerate() {
                    let op = match (i, text) {
                        (0, true) => 0x1,
                        (0, false) => 0x2,
                        _ => 0x0,
                    };
                    let fin = if i + 1 == pieces.len() { 0x80 } else { 0 };
                    bytes.extend(frame(fin | op, mask, piece));
                    if i == 0 && *ping_inside && pieces.len() > 1 {
                        bytes.extend(frame(0x89, mask, b"in"));
                        want.push(WsEvent::Ping(Bytes::from_static(b"in")));
                    }
                }
                let data = Bytes::from(data.clone());
                want.push(WsEvent::Message(if *text {
                    Message::Text(data)
                } else {
                    Message::Binary(data)
                }));
            }
            Unit::Ping(data) => {
                bytes.extend(frame(0x89, mask, data));
                want.push(WsEvent::Ping(Bytes::from(data.clone())));
            }
            Unit::Pong(data) => {
                bytes.extend(frame(0x8A, mask, data));
                want.push(WsEvent::Pong(Bytes::from(data.clone())));
            }
        }
    }
    (bytes, want)
}

fn sized_payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..=125),
        (126usize..=65_535).prop_map(|n| (0..n).map(|i| (i * 7 % 251) as u8).collect()),
        (65_536usize..=70_000).prop_map(|n| (0..n).map(|i| (i * 13 % 251) as u8).collect()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// RFC 6455 §5.2, docs/node-semantics.md#ws-length-encoding, #ws-any-fragmentation: what one
    /// machine sends, the other parses back to the same message, both ways, for all three length
    /// forms, and the header uses the minimal form.
    #[test]
    fn prop_round_trip_every_length_form(payload in sized_payload(), text in any::<bool>()) {
        let now = Instant::now();
        let message = if text {
            Message::text(String::from_utf8_lossy(&payload).into_owned())
        } else {
            Message::Binary(Bytes::from(payload))
        };
        for (from, to) in [(Role::Client, Role::Server), (Role::Server, Role::Client)] {
            let mut sender = machine(from);
            let mut receiver = machine(to);
            let _ = sender.send(now, message.clone()).unwrap();
            let wire = drain_wire(&mut sender, now);
            let len = message.data().len();
            let len7 = wire[1] & 0x7F;
            let want7 = match len { 0..=125 => len as u8, 126..=65_535 => 126, _ => 127 };
            prop_assert_eq!(len7, want7);
            prop_assert_eq!(wire[1] & 0x80 != 0, from == Role::Client);
            let mut buf = BytesMut::from(&wire[..]);
            receiver.handle_input(now, &mut buf);
            let got: Vec<WsEvent> = std::iter::from_fn(|| receiver.poll_event()).collect();
            prop_assert!(got == vec![WsEvent::Message(message.clone())], "{} events", got.len());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// RFC 6455 §5.4, docs/node-semantics.md#ws-fragmentation, #ws-control-between-fragments,
    /// #ws-any-fragmentation (events do not depend on chunking): random messages, fragmented, with
    /// Pings between fragments, to a server and to a client, give the same events and the same
    /// output fed whole, byte at a time, at every two-way split and at random cuts.
    #[test]
    fn prop_chunking_invariance(
        units in prop::collection::vec(unit(), 0..6),
        key in any::<[u8; 4]>(),
        raw_cuts in prop::collection::vec(any::<usize>(), 0..12),
        close in any::<bool>(),
    ) {
        for role in [Role::Server, Role::Client] {
            let (mut stream, mut want) = encode(&units, role, key);
            let mask = (role == Role::Server).then_some(key);
            if close {
                stream.extend(frame(0x88, mask, &[0x03, 0xE8]));
            }
            let (events, wire) = run(role, &stream, &[]);
            // The expected messages and pings come first, then Close.
            let closes_clean = close;
            want.push(WsEvent::Close {
                code: if closes_clean { 1000 } else { 1006 },
                reason: String::new(),
                was_clean: closes_clean,
            });
            prop_assert_eq!(&events, &want);
            assert_close_once_last(&events)?;
            let byte_cuts: Vec<usize> = (1..stream.len()).collect();
            prop_assert_eq!(run(role, &stream, &byte_cuts), (events.clone(), wire.clone()));
            let cuts = cuts_for(stream.len(), &raw_cuts);
            prop_assert_eq!(run(role, &stream, &cuts), (events.clone(), wire.clone()));
            if stream.len() <= 600 {
                for cut in 1..stream.len() {
                    prop_assert_eq!(
                        run(role, &stream, &[cut]),
                        (events.clone(), wire.clone()),
                        "cut at {}", cut
                    );
                }
            }
        }
    }

    /// RFC 6455 §7.1.7, "a panic is a bug": arbitrary bytes (raw, or frames with random header
    /// bits) into a server or client never panic; `Close` comes exactly once (after EOF) and last,
    /// and the verdict does not depend on chunking.
    #[test]
    fn prop_random_input_close_once_and_last(
        raw in prop::collection::vec(any::<u8>(), 0..400),
        heads in prop::collection::vec(
            (any::<u8>(), any::<bool>(), prop::collection::vec(any::<u8>(), 0..140)),
            0..6,
        ),
        raw_cuts in prop::collection::vec(any::<usize>(), 0..10),
        client in any::<bool>(),
    ) {
        let role = if client { Role::Client } else { Role::Server };
        let mut stream = Vec::new();
        for (b0, masked, payload) in &heads {
            stream.extend(frame(*b0, masked.then_some([1, 2, 3, 4]), payload));
        }
        stream.extend_from_slice(&raw);
        let (events, wire) = run(role, &stream, &[]);
        assert_close_once_last(&events)?;
        let cuts = cuts_for(stream.len(), &raw_cuts);
        prop_assert_eq!(run(role, &stream, &cuts), (events, wire));
    }
}

/// permessage-deflate (RFC 7692): round trips of random messages through our sender and
/// receiver, and chunking invariance of compressed, fragmented input made by an independent
/// encoder (flate2), with and without context takeover (docs/node-semantics.md#deflate-rsv1 to
/// #deflate-bomb).
#[cfg(feature = "deflate")]
mod deflate {
    use flate2::{Compress, Compression, FlushCompress};
    use sansnet_ws::deflate::Agreed;

    use super::*;

    fn agreed(nct: bool, bits: u8, threshold: usize) -> Agreed {
        Agreed {
            server_no_context_takeover: nct,
            client_no_context_takeover: nct,
            server_max_window_bits: bits,
            client_max_window_bits: bits,
            threshold,
            level: 6,
        }
    }

    fn machine(role: Role, config: Config, a: Agreed) -> Connection {
        Connection::new(role, config, entropy()).with_deflate(Some(a))
    }

    /// Raw DEFLATE, sync flush, tail removed (RFC 7692 §7.2.1).
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
            // zlib flushes nothing for an empty message right after a flush: send the empty
            // stored block's first byte (RFC 7692 §7.2.3.6).
            return vec![0x00];
        }
        out.truncate(out.len() - 4);
        out
    }

    /// Compressible data: runs and repeats of a small alphabet, or raw bytes.
    fn message_data() -> impl Strategy<Value = (bool, Vec<u8>)> {
        prop_oneof![
            ("[a-d ]{0,40}", 1usize..80).prop_map(|(s, n)| (true, s.repeat(n).into_bytes())),
            "\\PC{0,200}".prop_map(|s| (true, s.into_bytes())),
            prop::collection::vec(any::<u8>(), 0..2000).prop_map(|b| (false, b)),
        ]
    }

    fn feed_cut(conn: &mut Connection, stream: &[u8], cuts: &[usize]) -> Vec<WsEvent> {
        let now = Instant::now();
        let mut buf = BytesMut::new();
        let mut events = Vec::new();
        let mut start = 0;
        for end in cuts.iter().copied().chain(std::iter::once(stream.len())) {
            buf.extend_from_slice(&stream[start..end]);
            start = end;
            conn.handle_input(now, &mut buf);
            while conn.pop_transmit(now).is_some() {}
            events.extend(std::iter::from_fn(|| conn.poll_event()));
        }
        conn.handle_eof(now);
        events.extend(std::iter::from_fn(|| conn.poll_event()));
        events.retain(|e| *e != WsEvent::Drain);
        events
    }

    fn as_message(text: bool, data: Vec<u8>) -> Message {
        if text {
            Message::Text(Bytes::from(data))
        } else {
            Message::Binary(Bytes::from(data))
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// docs/node-semantics.md#deflate-rsv1 to #deflate-context-takeover: what our sender
        /// compresses (RSV1 on messages at or above the threshold, none below), our receiver
        /// inflates back, both ways, for every window size and both context rules, whole and at
        /// random cuts.
        #[test]
        fn prop_deflate_round_trip(
            messages in prop::collection::vec(message_data(), 1..6),
            nct in any::<bool>(),
            bits in 8u8..=15,
            threshold in 0usize..1500,
            raw_cuts in prop::collection::vec(any::<usize>(), 0..12),
        ) {
            let now = Instant::now();
            let a = agreed(nct, bits, threshold);
            for (from, to) in [(Role::Client, Role::Server), (Role::Server, Role::Client)] {
                let mut sender = machine(from, Config::default(), a);
                let mut stream = Vec::new();
                let mut want = Vec::new();
                for (text, data) in &messages {
                    let message = as_message(*text, data.clone());
                    let _ = sender.send(now, message.clone()).unwrap();
                    let bytes = drain_wire(&mut sender, now);
                    prop_assert_eq!(bytes[0] & 0x40 != 0, data.len() >= threshold);
                    stream.extend(bytes);
                    want.push(WsEvent::Message(message));
                }
                want.push(WsEvent::Close { code: 1006, reason: String::new(), was_clean: false });
                let mut receiver = machine(to, Config::default(), a);
                prop_assert_eq!(&feed_cut(&mut receiver, &stream, &[]), &want);
                let cuts = cuts_for(stream.len(), &raw_cuts);
                let mut receiver = machine(to, Config::default(), a);
                prop_assert_eq!(&feed_cut(&mut receiver, &stream, &cuts), &want);
            }
        }

        /// docs/node-semantics.md#ws-any-fragmentation, #deflate-rsv1 to #deflate-context-takeover:
        /// compressed messages from an independent encoder, fragmented across frames (RSV1 on the
        /// first only) with Pings between fragments, mixed with uncompressed ones, give the same
        /// events whole, byte at a time and at random cuts.
        #[test]
        fn prop_deflate_chunking_invariance(
            messages in prop::collection::vec(
                (message_data(), any::<bool>(), 1usize..5, any::<bool>()),
                1..5,
            ),
            nct in any::<bool>(),
            raw_cuts in prop::collection::vec(any::<usize>(), 0..12),
        ) {
            let a = agreed(nct, 15, 0);
            let mut c = Compress::new(Compression::default(), false);
            let mut stream = Vec::new();
            let mut want = Vec::new();
            for ((text, data), compress, fragments, ping_inside) in &messages {
                let payload = if *compress {
                    let z = deflate(&mut c, data);
                    if nct {
                        c.reset();
                    }
                    z
                } else {
                    data.clone()
                };
                let n = (*fragments).min(payload.len().max(1));
                let size = payload.len().div_ceil(n).max(1);
                let pieces: Vec<&[u8]> = if payload.is_empty() {
                    vec![&[][..]]
                } else {
                    payload.chunks(size).collect()
                };
                for (i, piece) in pieces.iter().enumerate() {
                    let op = match (i, text) {
                        (0, true) => 0x1,
                        (0, false) => 0x2,
                        _ => 0x0,
                    };
                    let rsv1 = if i == 0 && *compress { 0x40 } else { 0 };
                    let fin = if i + 1 == pieces.len() { 0x80 } else { 0 };
                    stream.extend(frame(fin | rsv1 | op, None, piece));
                    if i == 0 && *ping_inside && pieces.len() > 1 {
                        stream.extend(frame(0x89, None, b"in"));
                        want.push(WsEvent::Ping(Bytes::from_static(b"in")));
                    }
                }
                want.push(WsEvent::Message(as_message(*text, data.clone())));
            }
            want.push(WsEvent::Close { code: 1006, reason: String::new(), was_clean: false });
            let mut whole = machine(Role::Client, Config::default(), a);
            prop_assert_eq!(&feed_cut(&mut whole, &stream, &[]), &want);
            let mut bytewise = machine(Role::Client, Config::default(), a);
            let byte_cuts: Vec<usize> = (1..stream.len()).collect();
            prop_assert_eq!(&feed_cut(&mut bytewise, &stream, &byte_cuts), &want);
            let mut cut = machine(Role::Client, Config::default(), a);
            let cuts = cuts_for(stream.len(), &raw_cuts);
            prop_assert_eq!(&feed_cut(&mut cut, &stream, &cuts), &want);
        }

        /// RFC 6455 §7.1.7; RFC 7692 §8: arbitrary frames with RSV1 and random payloads into a
        /// machine with permessage-deflate and a small limit never panic; `Close` comes once and
        /// last, and the events do not depend on chunking.
        #[test]
        fn prop_deflate_random_input(
            heads in prop::collection::vec(
                (any::<u8>(), prop::collection::vec(any::<u8>(), 0..200)),
                0..6,
            ),
            raw_cuts in prop::collection::vec(any::<usize>(), 0..10),
            limit in 0usize..3000,
        ) {
            let config = Config { max_payload: limit, ..Config::default() };
            let mut stream = Vec::new();
            for (b0, payload) in &heads {
                stream.extend(frame(*b0, None, payload));
            }
            let mut whole = machine(Role::Client, config.clone(), agreed(false, 15, 0));
            let events = feed_cut(&mut whole, &stream, &[]);
            assert_close_once_last(&events)?;
            let mut cut = machine(Role::Client, config, agreed(false, 15, 0));
            let cuts = cuts_for(stream.len(), &raw_cuts);
            prop_assert_eq!(feed_cut(&mut cut, &stream, &cuts), events);
        }
    }
}

/// The twin of the direct path for whole messages: the same connection with it on and forced
/// off ([`Connection::set_fast_path`]).
mod fast_path {
    use super::*;

    /// Settings that change which path a frame takes or what it delivers.
    #[derive(Debug, Clone)]
    struct Settings {
        role: Role,
        max_payload: usize,
        streaming: bool,
        message_at_a_time: bool,
        deflate: bool,
    }

    /// `max_payload`: the default, or a few bytes either side of one frame's payload length
    /// (`near` picks the frame), so frames land on both sides of the limit.
    fn settings(lengths: Vec<usize>) -> impl Strategy<Value = Settings> {
        (
            any::<bool>(),
            prop_oneof![
                1 => Just(None),
                2 => (any::<prop::sample::Index>(), -2i64..=2).prop_map(Some),
            ],
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                move |(client, near, streaming, message_at_a_time, deflate)| Settings {
                    role: if client { Role::Client } else { Role::Server },
                    max_payload: match near {
                        None => 100 * 1024 * 1024,
                        Some((index, delta)) => {
                            let len = lengths[index.index(lengths.len())] as i64;
                            (len + delta).max(0) as usize
                        }
                    },
                    streaming,
                    message_at_a_time,
                    deflate,
                },
            )
    }

    fn connection(s: &Settings, fast: bool) -> Connection {
        let config = Config {
            max_payload: s.max_payload,
            streaming: s.streaming,
            message_at_a_time: s.message_at_a_time,
            ..Config::default()
        };
        // Without the `deflate` feature `with_deflate` leaves it off.
        let mut conn = Connection::new(s.role, config, entropy()).with_deflate(
            s.deflate.then_some(sansnet_ws::deflate::Agreed {
                server_no_context_takeover: false,
                client_no_context_takeover: false,
                server_max_window_bits: 15,
                client_max_window_bits: 15,
                threshold: 1024,
                level: 6,
            }),
        );
        conn.set_fast_path(fast);
        conn
    }

    /// How a test reads: `handle_input` then `poll_event`, or `handle_input_with` (messages
    /// lent, copied here into owned events to compare).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Reader {
        Owned,
        Lent,
    }

    /// One read through `reader`: the events it gave.
    fn read(
        reader: Reader,
        conn: &mut Connection,
        now: Instant,
        buf: &mut BytesMut,
    ) -> Vec<WsEvent> {
        match reader {
            Reader::Owned => {
                conn.handle_input(now, buf);
                std::iter::from_fn(|| conn.poll_event()).collect()
            }
            Reader::Lent => {
                let mut events = Vec::new();
                conn.handle_input_with(now, buf, |_, received| events.push(received.into_event()));
                // Nothing is left queued.
                assert_eq!(conn.poll_event(), None);
                events
            }
        }
    }

    /// Everything observable after each read: the events, the bytes written, and the bytes
    /// left in the read buffer; the input is read as a driver does (again while a read makes
    /// progress, as `message_at_a_time` asks), then EOF.
    fn observe(
        s: &Settings,
        fast: bool,
        stream: &[u8],
        cuts: &[usize],
    ) -> Vec<(Vec<WsEvent>, Vec<u8>, Vec<u8>)> {
        observe_with(Reader::Owned, s, fast, stream, cuts)
    }

    /// [`observe`], reading through `reader`.
    fn observe_with(
        reader: Reader,
        s: &Settings,
        fast: bool,
        stream: &[u8],
        cuts: &[usize],
    ) -> Vec<(Vec<WsEvent>, Vec<u8>, Vec<u8>)> {
        let now = Instant::now();
        let mut conn = connection(s, fast);
        let mut buf = BytesMut::new();
        let mut steps = Vec::new();
        let mut start = 0;
        for end in cuts.iter().copied().chain(std::iter::once(stream.len())) {
            buf.extend_from_slice(&stream[start..end]);
            start = end;
            for _ in 0..=stream.len() {
                let before = buf.len();
                let events = read(reader, &mut conn, now, &mut buf);
                let progressed = buf.len() != before || !events.is_empty();
                steps.push((events, drain_wire(&mut conn, now), buf.to_vec()));
                if !progressed {
                    break;
                }
            }
        }
        conn.handle_eof(now);
        let events: Vec<WsEvent> = std::iter::from_fn(|| conn.poll_event()).collect();
        steps.push((events, drain_wire(&mut conn, now), buf.to_vec()));
        steps
    }

    /// A frame the direct path may or may not take: first byte among the plain final data
    /// frames (most often), fragments, controls, RSV bits and reserved opcodes; masked or not;
    /// text that is valid UTF-8 or not, or binary; the 16-bit and 64-bit length forms now and
    /// then (also non-minimal), and a 64-bit length with its top bit set.
    fn any_frame() -> impl Strategy<Value = (Vec<u8>, usize)> {
        (
            prop_oneof![
                6 => prop::sample::select(vec![0x81u8, 0x82]),
                2 => prop::sample::select(vec![0x01u8, 0x02, 0x00, 0x80, 0x89, 0x8A, 0x88, 0xC1, 0xC2, 0xA1, 0x91]),
                1 => any::<u8>(),
            ],
            prop_oneof![4 => Just(true), 1 => Just(false)],
            prop_oneof![
                "\\PC{0,60}".prop_map(String::into_bytes),
                prop::collection::vec(any::<u8>(), 0..200),
                (126usize..600).prop_map(|n| (0..n).map(|i| (i % 120) as u8).collect()),
            ],
            any::<[u8; 4]>(),
            0u8..10,
        )
            .prop_map(|(b0, masked, payload, key, form)| {
                let mask = masked.then_some(key);
                let len = payload.len();
                let bytes = if form == 0 && payload.len() <= 125 {
                    // The 16-bit form for a short length (non-minimal, still accepted).
                    let mut out = vec![b0, if masked { 0xFE } else { 0x7E }];
                    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
                    let framed = frame(b0, mask, &payload);
                    out.extend_from_slice(&framed[2..]);
                    out
                } else if form == 1 {
                    // The 64-bit form for any length here (non-minimal, still accepted).
                    let mut out = vec![b0, if masked { 0xFF } else { 0x7F }];
                    out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
                    let framed = frame(b0, mask, &payload);
                    let header = if payload.len() <= 125 { 2 } else { 4 };
                    out.extend_from_slice(&framed[header..]);
                    out
                } else if form == 2 && payload.len() > 8 {
                    // A 64-bit length with the top bit set (RFC 6455 §5.2: an error), its
                    // "payload" following.
                    let mut out = vec![b0, if masked { 0xFF } else { 0x7F }, 0x80];
                    out.extend_from_slice(&payload);
                    out
                } else {
                    frame(b0, mask, &payload)
                };
                (bytes, len)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// RFC 6455 §5.2-§5.4, §8.1, docs/node-semantics.md#ws-any-fragmentation: random frames
        /// under random settings, read whole and at random cuts, give the same events, the same
        /// output and the same unread bytes with the direct path on and forced off.
        #[test]
        fn prop_fast_path_twin(
            (frames, s) in prop::collection::vec(any_frame(), 1..6).prop_flat_map(|frames| {
                let lengths: Vec<usize> = frames.iter().map(|(_, len)| *len).collect();
                (Just(frames), settings(lengths))
            }),
            raw_cuts in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let stream: Vec<u8> = frames.iter().flat_map(|(bytes, _)| bytes.iter().copied()).collect();
            for cuts in [Vec::new(), cuts_for(stream.len(), &raw_cuts)] {
                let fast = observe(&s, true, &stream, &cuts);
                let general = observe(&s, false, &stream, &cuts);
                prop_assert_eq!(fast, general, "cuts {:?}", cuts);
            }
        }

        /// RFC 6455 §5.2-§5.4, §8.1: the same through `handle_input_with`: messages lent where
        /// they came whole, everything else owned, in the order, with the output and the unread
        /// bytes of the general path alone (`handle_input`, direct path off).
        #[test]
        fn prop_lent_messages_twin(
            (frames, s) in prop::collection::vec(any_frame(), 1..6).prop_flat_map(|frames| {
                let lengths: Vec<usize> = frames.iter().map(|(_, len)| *len).collect();
                (Just(frames), settings(lengths))
            }),
            raw_cuts in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let stream: Vec<u8> = frames.iter().flat_map(|(bytes, _)| bytes.iter().copied()).collect();
            for cuts in [Vec::new(), cuts_for(stream.len(), &raw_cuts)] {
                let lent = observe_with(Reader::Lent, &s, true, &stream, &cuts);
                let general = observe(&s, false, &stream, &cuts);
                prop_assert_eq!(lent, general, "cuts {:?}", cuts);
            }
        }
    }
}
