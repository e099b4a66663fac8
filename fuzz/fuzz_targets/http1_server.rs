//! Fuzz `sansnet_http1::ServerConnection` with raw request bytes fed whole and at fuzzed cuts,
//! answering every request, and assert the same events, bounded output and bounded buffering.
#![no_main]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use sansnet_http1::{Action, Response, ServerConfig, ServerConnection, ServerEvent};

/// The settings the first input byte selects, one bit each.
fn config(bits: u8) -> ServerConfig {
    let bit = |n: u8| bits & (1 << n) != 0;
    ServerConfig {
        check_continue: bit(0),
        upgrade: bit(1),
        connect: bit(2),
        chunk_events: bit(3),
        require_host_header: !bit(4),
        max_header_size: if bit(5) { 256 } else { 16 * 1024 },
        max_pipelined: if bit(6) { 1 } else { 32 },
        max_requests_per_socket: bit(7).then_some(2),
        max_chunk_extensions: 64,
        send_date: false,
        ..ServerConfig::default()
    }
}

/// What one run produced, normalized so runs over different cuts compare.
#[derive(Debug, Default, PartialEq, Eq)]
struct Log {
    /// Events with adjacent `Data` of one request merged and hand-over heads emptied.
    events: Vec<ServerEvent>,
    wire: Vec<u8>,
    actions: Vec<Action>,
    /// Hand-over heads followed by what was left in the buffer (only after a hand-over).
    handed: Vec<u8>,
}

impl Log {
    fn push(&mut self, event: ServerEvent) {
        assert!(
            !self.events.contains(&ServerEvent::Close),
            "event after Close: {event:?}"
        );
        match (self.events.last_mut(), event) {
            (Some(ServerEvent::Data { id: prev, data }), ServerEvent::Data { id, data: next })
                if *prev == id =>
            {
                let mut joined = BytesMut::from(&data[..]);
                joined.extend_from_slice(&next);
                *data = joined.freeze();
            }
            (_, ServerEvent::Connect { request, head }) => {
                self.handed.extend_from_slice(&head);
                self.events.push(ServerEvent::Connect {
                    request,
                    head: Bytes::new(),
                });
            }
            (_, ServerEvent::Upgrade { request, head }) => {
                self.handed.extend_from_slice(&head);
                self.events.push(ServerEvent::Upgrade {
                    request,
                    head: Bytes::new(),
                });
            }
            (_, event) => self.events.push(event),
        }
    }
}

struct Driver {
    conn: ServerConnection,
    config: ServerConfig,
    now: Instant,
    buf: BytesMut,
    log: Log,
}

impl Driver {
    fn new(config: ServerConfig) -> Self {
        let now = Instant::now();
        Self {
            conn: ServerConnection::new(now, config.clone()),
            config,
            now,
            buf: BytesMut::new(),
            log: Log::default(),
        }
    }

    fn input(&mut self) {
        self.conn.handle_input(self.now, &mut self.buf);
        if self.conn.wants_read() {
            assert!(
                self.buf.len() <= self.config.max_header_size,
                "{} bytes left while the machine wants more",
                self.buf.len()
            );
        }
    }

    /// The drain rule, with an application that answers each request once its body ended, and
    /// a driver that hands leftover bytes back whenever the machine wants to read again.
    fn settle(&mut self) {
        let mut fed_back = false;
        loop {
            let seen = self.log.events.len();
            while let Some(chunk) = self.conn.pop_transmit(self.now) {
                self.log.wire.extend_from_slice(&chunk);
            }
            let mut ended = Vec::new();
            while let Some(event) = self.conn.poll_event() {
                if let ServerEvent::End { id, .. } = &event {
                    ended.push(*id);
                }
                self.log.push(event);
            }
            self.log
                .actions
                .extend(std::iter::from_fn(|| self.conn.poll_action()));
            if fed_back && self.log.events.len() == seen {
                // Handing the leftover back parsed nothing: the machine waits for bytes.
                break;
            }
            fed_back = false;
            for id in &ended {
                // Err only for requests not owed a response (answered by the machine, handed
                // over, or dropped with the connection).
                let _ =
                    self.conn
                        .respond(self.now, *id, Response::new(200), Bytes::from_static(b"ok"));
            }
            if !ended.is_empty() {
                continue;
            }
            if !self.conn.wants_read() || self.buf.is_empty() {
                break;
            }
            self.input();
            fed_back = true;
        }
    }

    fn run(mut self, pieces: &[&[u8]]) -> Log {
        for piece in pieces {
            self.buf.extend_from_slice(piece);
            self.input();
            self.settle();
        }
        self.conn.handle_eof(self.now);
        self.settle();
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

    let config = config(bits);
    let whole = Driver::new(config.clone()).run(&[stream]);
    let cut = Driver::new(config).run(&pieces);

    // Exactly one `Close`, last, unless the connection was handed over (then none).
    let closes = whole
        .events
        .iter()
        .filter(|e| **e == ServerEvent::Close)
        .count();
    let handed_over = whole.actions.contains(&Action::HandOver);
    assert_eq!(closes, usize::from(!handed_over), "{:?}", whole.events);
    // Every byte written answers bytes read: a response of about 90 bytes per request of at
    // least 16, a 100 or an error reply.
    assert!(
        whole.wire.len() <= 8 * stream.len() + 256,
        "{} response bytes for {} input bytes",
        whole.wire.len(),
        stream.len()
    );
    assert_eq!(
        whole,
        cut,
        "cut at {:?}",
        pieces.iter().map(|p| p.len()).collect::<Vec<_>>()
    );
});
