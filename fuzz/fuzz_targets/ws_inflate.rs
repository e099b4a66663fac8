//! Fuzz the permessage-deflate inflate path of `sansnet_ws::Connection` (RFC 7692): fuzzed
//! DEFLATE payloads in frames with RSV1 (fragmented, with control frames between), fed whole
//! and at fuzzed cuts, give the same events and output, `Close` once and last, and never
//! inflate past `max_payload` (RFC 7692 §8); and the same bytes sent as a message through a
//! compressing machine come back unchanged.
#![no_main]

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use sansnet_ws::deflate::Agreed;
use sansnet_ws::{Config, Connection, Message, Role, WsEvent};

const KEY: [u8; 4] = [0x11, 0x22, 0x33, 0x44];

/// Settings from the first byte: role, limit, streaming, context rule, window bits.
fn connection(bits: u8, role: Role) -> Connection {
    let config = Config {
        max_payload: if bits & 2 != 0 { 300 } else { 1 << 20 },
        streaming: bits & 4 != 0,
        ..Config::default()
    };
    let agreed = Agreed {
        server_no_context_takeover: bits & 8 != 0,
        client_no_context_takeover: bits & 8 != 0,
        server_max_window_bits: 8 + (bits >> 5),
        client_max_window_bits: 8 + (bits >> 5),
        threshold: usize::from(bits & 16) * 8,
        level: 6,
    };
    let mut counter = 0u8;
    let entropy = move |buf: &mut [u8]| {
        for b in buf {
            counter = counter.wrapping_add(97);
            *b = counter;
        }
    };
    Connection::new(role, config, Box::new(entropy)).with_deflate(Some(agreed))
}

fn role(bits: u8) -> Role {
    if bits & 1 == 0 {
        Role::Server
    } else {
        Role::Client
    }
}

/// Frames from `data`: each takes a control byte (FIN, RSV1, opcode pick), a length byte and
/// that many payload bytes, masked towards a server.
fn frames(data: &[u8], to: Role) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = data;
    while let [control, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (payload, next) = tail.split_at(n);
        rest = next;
        let opcode = [0x0, 0x1, 0x2, 0x0, 0x9, 0xA, 0x0, 0x2][usize::from(control & 7)];
        let fin = if opcode >= 0x8 { 0x80 } else { control & 0x80 };
        let rsv1 = if opcode >= 0x8 { 0 } else { control & 0x40 };
        let payload = if opcode >= 0x8 {
            &payload[..n.min(125)]
        } else {
            payload
        };
        out.push(fin | rsv1 | opcode);
        let masked = if to == Role::Server { 0x80 } else { 0 };
        match payload.len() {
            n @ 0..=125 => out.push(masked | n as u8),
            n => {
                out.push(masked | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
        }
        if to == Role::Server {
            out.extend_from_slice(&KEY);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
        } else {
            out.extend_from_slice(payload);
        }
    }
    out
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Log {
    events: Vec<WsEvent>,
    wire: Vec<u8>,
}

fn run(bits: u8, pieces: &[&[u8]]) -> Log {
    let now = Instant::now();
    let limit = if bits & 2 != 0 { 300 } else { 1 << 20 };
    let mut conn = connection(bits, role(bits));
    let mut log = Log::default();
    let mut buf = BytesMut::new();
    for piece in pieces.iter().copied().chain(std::iter::once(&[][..])) {
        buf.extend_from_slice(piece);
        conn.handle_input(now, &mut buf);
        while let Some(chunk) = conn.pop_transmit(now) {
            log.wire.extend_from_slice(&chunk);
        }
        while let Some(event) = conn.poll_event() {
            match &event {
                WsEvent::Message(m) => assert!(m.data().len() <= limit),
                WsEvent::Fragment { data, .. } => assert!(data.len() <= limit),
                _ => {}
            }
            // Streamed pieces are merged up to their message's end.
            match (log.events.last_mut(), event) {
                (_, WsEvent::Drain) => {}
                (
                    Some(WsEvent::Fragment {
                        data,
                        fin: last @ false,
                        ..
                    }),
                    WsEvent::Fragment {
                        data: next, fin, ..
                    },
                ) => {
                    let mut joined = BytesMut::from(&data[..]);
                    joined.extend_from_slice(&next);
                    *data = joined.freeze();
                    *last = fin;
                }
                (_, event) => log.events.push(event),
            }
        }
    }
    conn.handle_eof(now);
    log.events.extend(std::iter::from_fn(|| conn.poll_event()));
    log.events.retain(|e| *e != WsEvent::Drain);
    log
}

fuzz_target!(|data: &[u8]| {
    let Some((bits, cut_data, body)) = sansnet_fuzz::header(data, 8) else {
        return;
    };

    // Round trip: the body as one message through a compressing sender.
    let now = Instant::now();
    let from = role(bits);
    let to = if from == Role::Server {
        Role::Client
    } else {
        Role::Server
    };
    let mut sender = connection(bits & !6, from);
    let mut receiver = connection(bits & !6, to);
    let message = Message::Binary(Bytes::copy_from_slice(body));
    for _ in 0..2 {
        sender.send(now, message.clone()).expect("open");
        let mut wire = BytesMut::new();
        while let Some(chunk) = sender.pop_transmit(now) {
            wire.extend_from_slice(&chunk);
        }
        receiver.handle_input(now, &mut wire);
        assert_eq!(
            receiver.poll_event(),
            Some(WsEvent::Message(message.clone()))
        );
    }

    // Fuzzed DEFLATE in frames, whole and at cuts.
    let stream = frames(body, role(bits));
    let pieces = sansnet_fuzz::pieces(&stream, sansnet_fuzz::positions(cut_data, stream.len()));
    let mut whole = run(bits, &[&stream]);
    let closes = whole
        .events
        .iter()
        .filter(|e| matches!(e, WsEvent::Close { .. }))
        .count();
    assert_eq!(closes, 1, "{:?}", whole.events);
    assert!(matches!(whole.events.last(), Some(WsEvent::Close { .. })));
    let mut cut = run(bits, &pieces);
    if bits & 4 != 0 {
        // Streaming: a piece delivered before an `Error` depends on the reads (documented in
        // `Config::streaming`); drop the unfinished piece before comparing.
        for log in [&mut whole, &mut cut] {
            if let Some(at) = log
                .events
                .iter()
                .position(|e| matches!(e, WsEvent::Error(_)))
                && at > 0
                && matches!(log.events[at - 1], WsEvent::Fragment { fin: false, .. })
            {
                log.events.remove(at - 1);
            }
        }
    }
    assert_eq!(
        whole,
        cut,
        "cut at {:?}",
        pieces.iter().map(|p| p.len()).collect::<Vec<_>>()
    );
});
