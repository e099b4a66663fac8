//! Fuzz `sansnet_http1::ClientConnection` with raw bytes as the server's response stream after
//! requests picked by the first input byte, fed whole and at fuzzed cuts, and assert the same
//! events, `Close` once and last, and bounded output.
#![no_main]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use sansnet_http1::{Action, ClientConfig, ClientConnection, ClientEvent, ClientRequest};

/// The request kinds the low three bits of the first byte select.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Get,
    Head,
    /// `end(data)`: `Content-Length`.
    Post,
    /// `write` then `end`: chunked.
    PostChunked,
    /// `Expect: 100-continue`, body held (only one such request can be in flight).
    PostExpect,
    Connect,
    /// `Connection: upgrade`.
    GetUpgrade,
    Delete,
}

const KINDS: [Kind; 8] = [
    Kind::Get,
    Kind::Head,
    Kind::Post,
    Kind::PostChunked,
    Kind::PostExpect,
    Kind::Connect,
    Kind::GetUpgrade,
    Kind::Delete,
];

/// The settings and requests the first input byte selects.
#[derive(Debug, Clone)]
struct Setup {
    kind: Kind,
    requests: usize,
    eof: bool,
    config: ClientConfig,
}

fn setup(bits: u8) -> Setup {
    let bit = |n: u8| bits & (1 << n) != 0;
    Setup {
        kind: KINDS[usize::from(bits & 7)],
        requests: 1 + usize::from(bits >> 6),
        eof: bit(5),
        config: ClientConfig {
            chunk_events: bit(3),
            max_header_size: if bit(4) { 128 } else { 16 * 1024 },
            max_chunk_extensions: 64,
            continue_timeout: Some(Duration::from_secs(1)),
            timeout: Some(Duration::from_secs(5)),
        },
    }
}

/// What one run produced, normalized so runs over different cuts compare.
#[derive(Debug, Default, PartialEq, Eq)]
struct Log {
    /// Events with adjacent `Data` of one request merged and hand-over heads emptied.
    events: Vec<ClientEvent>,
    /// Events as emitted, before merging.
    raw_events: usize,
    wire: Vec<u8>,
    actions: Vec<Action>,
    /// Hand-over heads followed by what was left in the buffer (only after a hand-over).
    handed: Vec<u8>,
}

impl Log {
    fn push(&mut self, event: ClientEvent) {
        assert!(
            !self.events.contains(&ClientEvent::Close),
            "event after Close: {event:?}"
        );
        self.raw_events += 1;
        match (self.events.last_mut(), event) {
            (Some(ClientEvent::Data { id: prev, data }), ClientEvent::Data { id, data: next })
                if *prev == id =>
            {
                let mut joined = BytesMut::from(&data[..]);
                joined.extend_from_slice(&next);
                *data = joined.freeze();
            }
            (_, ClientEvent::Upgrade { response, head }) => {
                self.handed.extend_from_slice(&head);
                self.events.push(ClientEvent::Upgrade {
                    response,
                    head: Bytes::new(),
                });
            }
            (_, ClientEvent::Connect { response, head }) => {
                self.handed.extend_from_slice(&head);
                self.events.push(ClientEvent::Connect {
                    response,
                    head: Bytes::new(),
                });
            }
            (_, event) => self.events.push(event),
        }
    }
}

struct Driver {
    conn: ClientConnection,
    now: Instant,
    buf: BytesMut,
    log: Log,
}

impl Driver {
    fn new(setup: &Setup) -> Self {
        let now = Instant::now();
        let mut driver = Self {
            conn: ClientConnection::new(now, setup.config.clone()),
            now,
            buf: BytesMut::new(),
            log: Log::default(),
        };
        for _ in 0..setup.requests {
            if !driver.send(setup.kind) {
                break;
            }
            driver.settle();
        }
        driver
    }

    /// Sends one request; false when the machine refuses it (a request still in progress).
    fn send(&mut self, kind: Kind) -> bool {
        let (method, target) = match kind {
            Kind::Get | Kind::GetUpgrade => ("GET", "/"),
            Kind::Head => ("HEAD", "/"),
            Kind::Post | Kind::PostChunked | Kind::PostExpect => ("POST", "/p"),
            Kind::Connect => ("CONNECT", "a:443"),
            Kind::Delete => ("DELETE", "/d"),
        };
        let mut request = ClientRequest::new(method, target).header("Host", "a");
        match kind {
            Kind::GetUpgrade => {
                request = request
                    .header("Connection", "upgrade")
                    .header("Upgrade", "x");
            }
            Kind::PostExpect => {
                request = request
                    .header("Expect", "100-continue")
                    .header("Content-Length", "4");
            }
            _ => {}
        }
        let Ok(id) = self.conn.send_request(self.now, request) else {
            return false;
        };
        let body = Bytes::from_static(b"body");
        let sent = match kind {
            Kind::Post => self.conn.end(self.now, id, Some(body)),
            Kind::PostChunked | Kind::PostExpect => self
                .conn
                .write(self.now, id, body)
                .and_then(|()| self.conn.end(self.now, id, None)),
            _ => self.conn.end(self.now, id, None),
        };
        sent.expect("a fresh request takes its body");
        true
    }

    /// The drain rule.
    fn settle(&mut self) {
        while let Some(chunk) = self.conn.pop_transmit(self.now) {
            self.log.wire.extend_from_slice(&chunk);
        }
        while let Some(event) = self.conn.poll_event() {
            self.log.push(event);
        }
        self.log
            .actions
            .extend(std::iter::from_fn(|| self.conn.poll_action()));
    }

    fn run(mut self, pieces: &[&[u8]], eof: bool) -> Log {
        for piece in pieces {
            self.buf.extend_from_slice(piece);
            self.conn.handle_input(self.now, &mut self.buf);
            self.settle();
        }
        if eof {
            self.conn.handle_eof(self.now);
            self.settle();
        }
        self.conn
            .handle_timeout(self.now + Duration::from_secs(86_400));
        self.settle();
        self.conn.destroy(self.now);
        self.settle();
        let mut log = self.log;
        if log.actions.contains(&Action::HandOver) {
            log.handed.extend_from_slice(&self.buf);
        }
        log
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((bits, cut_data, stream)) = sansnet_fuzz::header(data, 16) else {
        return;
    };
    let pieces = sansnet_fuzz::pieces(stream, sansnet_fuzz::positions(cut_data, stream.len()));

    let setup = setup(bits);
    let whole = Driver::new(&setup).run(&[stream], setup.eof);
    let cut = Driver::new(&setup).run(&pieces, setup.eof);

    // Exactly one `Close`, last, unless the connection was handed over (then none).
    let closes = whole
        .events
        .iter()
        .filter(|e| **e == ClientEvent::Close)
        .count();
    let handed_over = whole.actions.contains(&Action::HandOver);
    assert_eq!(closes, usize::from(!handed_over), "{:?}", whole.events);
    if !handed_over {
        assert_eq!(whole.events.last(), Some(&ClientEvent::Close));
    }
    assert!(whole.actions.len() <= 2, "actions {:?}", whole.actions);
    // Bounded output: the body never exceeds the input, and events stay proportional to it
    // (one per piece of input at most, plus a few fixed ones).
    let body: usize = whole
        .events
        .iter()
        .map(|e| match e {
            ClientEvent::Data { data, .. } => data.len(),
            _ => 0,
        })
        .sum();
    assert!(
        body <= stream.len(),
        "{body} body bytes from {}",
        stream.len()
    );
    assert!(
        whole.raw_events <= stream.len() + 8,
        "{} events for {} input bytes",
        whole.raw_events,
        stream.len()
    );
    // The requests are fixed: what goes out is their bytes and a held body at most.
    assert!(
        whole.wire.len() <= 4 * 128,
        "{} request bytes",
        whole.wire.len()
    );
    assert_eq!(
        Log {
            raw_events: 0,
            ..whole
        },
        Log {
            raw_events: 0,
            ..cut
        },
        "cut at {:?}",
        pieces.iter().map(|p| p.len()).collect::<Vec<_>>()
    );
});
