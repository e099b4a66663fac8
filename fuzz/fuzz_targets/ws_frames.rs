//! Fuzz `sansnet_ws::Connection` with raw frame bytes in either role (the first byte picks the
//! role and settings), fed whole and at fuzzed cuts: the same events and output, `Close` once
//! and last, and output bounded by the input; fed whole with the direct path for whole
//! messages forced off, the same again; read through `handle_input_with` (whole messages
//! lent), whole and cut, the same again.
#![no_main]

use std::time::{Duration, Instant};

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use sansnet_ws::{Action, Config, Connection, Role, WsEvent};

/// What one run produced.
#[derive(Debug, Default, PartialEq, Eq)]
struct Log {
    events: Vec<WsEvent>,
    wire: Vec<u8>,
    actions: Vec<Action>,
}

fn connection(bits: u8, fast: bool) -> Connection {
    let role = if bits & 1 == 0 {
        Role::Server
    } else {
        Role::Client
    };
    let config = Config {
        max_payload: if bits & 2 != 0 { 64 } else { 1 << 20 },
        streaming: bits & 4 != 0,
        auto_pong: bits & 8 == 0,
        high_water_mark: 256,
        ..Config::default()
    };
    let mut counter = 0u8;
    let entropy = move |buf: &mut [u8]| {
        for b in buf {
            counter = counter.wrapping_add(97);
            *b = counter;
        }
    };
    let mut conn = Connection::new(role, config, Box::new(entropy));
    conn.set_fast_path(fast);
    conn
}

fn settle(conn: &mut Connection, now: Instant, log: &mut Log) {
    while let Some(chunk) = conn.pop_transmit(now) {
        log.wire.extend_from_slice(&chunk);
    }
    while let Some(event) = conn.poll_event() {
        record(log, event);
    }
    log.actions
        .extend(std::iter::from_fn(|| conn.poll_action()));
}

fn record(log: &mut Log, event: WsEvent) {
    assert!(
        !log.events
            .iter()
            .any(|e| matches!(e, WsEvent::Close { .. })),
        "event after Close: {event:?}"
    );
    // `Drain` depends on how much was written per turn, not on the input's cuts; streamed
    // pieces are merged up to their message's end.
    match (log.events.last_mut(), event) {
        (_, WsEvent::Drain) => {}
        (
            Some(WsEvent::Fragment {
                text,
                data,
                fin: false,
            }),
            WsEvent::Fragment {
                text: next_text,
                data: next,
                fin,
            },
        ) if *text == next_text => {
            let mut joined = BytesMut::from(&data[..]);
            joined.extend_from_slice(&next);
            *data = joined.freeze();
            if fin && let Some(WsEvent::Fragment { fin: last, .. }) = log.events.last_mut() {
                *last = true;
            }
        }
        (_, event) => log.events.push(event),
    }
}

/// How the input is read: `handle_input` (then `poll_event`), or `handle_input_with` with
/// whole messages lent (copied here to compare).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reader {
    Owned,
    Lent,
}

fn run(bits: u8, fast: bool, pieces: &[&[u8]]) -> Log {
    run_with(Reader::Owned, bits, fast, pieces)
}

fn run_with(reader: Reader, bits: u8, fast: bool, pieces: &[&[u8]]) -> Log {
    let now = Instant::now();
    let mut conn = connection(bits, fast);
    let mut log = Log::default();
    let mut buf = BytesMut::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        match reader {
            Reader::Owned => conn.handle_input(now, &mut buf),
            Reader::Lent => {
                let mut got = Vec::new();
                conn.handle_input_with(now, &mut buf, |_, received| {
                    got.push(received.into_event());
                });
                assert_eq!(conn.poll_event(), None, "every event was handed over");
                for event in got {
                    record(&mut log, event);
                }
            }
        }
        // While reading, unparsed bytes stay below one frame header (14) or one control
        // payload (125 + 14). (Once reading stopped, `handle_input` should consume all: that
        // contract is checked by `tests/scenarios.rs`, not here, so fuzzing goes on past it.)
        if conn.wants_read() {
            assert!(buf.len() <= 139, "{} bytes held", buf.len());
        }
        settle(&mut conn, now, &mut log);
    }
    conn.handle_eof(now);
    settle(&mut conn, now, &mut log);
    conn.handle_timeout(now + Duration::from_secs(86_400));
    settle(&mut conn, now, &mut log);
    log
}

fuzz_target!(|data: &[u8]| {
    let Some((bits, cut_data, stream)) = sansnet_fuzz::header(data, 16) else {
        return;
    };
    let pieces = sansnet_fuzz::pieces(stream, sansnet_fuzz::positions(cut_data, stream.len()));

    let mut whole = run(bits, true, &[stream]);
    assert_eq!(
        whole,
        run(bits, false, &[stream]),
        "direct path vs general path"
    );
    assert_eq!(
        whole,
        run_with(Reader::Lent, bits, true, &[stream]),
        "messages lent vs owned"
    );
    assert_eq!(
        run_with(Reader::Lent, bits, true, &pieces),
        run(bits, true, &pieces),
        "messages lent vs owned, cut"
    );
    let closes = whole
        .events
        .iter()
        .filter(|e| matches!(e, WsEvent::Close { .. }))
        .count();
    assert_eq!(closes, 1, "{:?}", whole.events);
    assert!(matches!(whole.events.last(), Some(WsEvent::Close { .. })));
    assert_eq!(whole.actions.len(), 1, "{:?}", whole.actions);
    // Output answers input: Pongs echo Pings (a 2-byte Ping can cost a 6-byte masked Pong), one Close frame.
    assert!(
        whole.wire.len() <= 3 * stream.len() + 256,
        "{} bytes written for {} read",
        whole.wire.len(),
        stream.len()
    );
    let mut cut = run(bits, true, &pieces);
    if bits & 4 != 0 {
        // Streaming: the valid start of a frame that turns out to be bad UTF-8 is delivered
        // when it came in an earlier read, and not when the bad byte came in the same read; the
        // unfinished message's piece before `Error` is dropped before comparing.
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
