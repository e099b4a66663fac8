//! Fuzz the connection stack as a server runs it: arbitrary bytes from a peer into a
//! `sansnet_stack::Connection` made by an `Acceptor` for an HTTP server (with `upgrade` and
//! `connect` listeners), whole and at fuzzer-chosen cuts, with an application that answers
//! every request, accepts every WebSocket (echoing its messages) and turns every CONNECT into
//! an echoing tunnel; then the peer's FIN. Asserts no panic, the same record of events and the
//! same bytes out for any cut, and bounded output and buffering.
#![no_main]

use std::io::IoSlice;
use std::time::Instant;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sansnet_core::Action;
use sansnet_http1::{Response, ServerConfig, ServerEvent};
use sansnet_stack::{Acceptor, Connection, Event};
use sansnet_tcp::{SocketConfig, SocketEvent};
use sansnet_ws::WsEvent;

/// What one run produced, compared across cuts: the application's events (the bytes of
/// consecutive data events joined, since their cut follows the input's) and the wire.
#[derive(Debug, Default, PartialEq, Eq)]
struct Log {
    events: Vec<Entry>,
    wire: Vec<u8>,
    actions: Vec<Action>,
}

/// One entry of the record.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    /// An event, as it reads.
    Note(String),
    /// The bytes of consecutive data events of one kind.
    Data(&'static str, Vec<u8>),
}

impl Log {
    fn note(&mut self, note: String) {
        self.events.push(Entry::Note(note));
    }

    fn data(&mut self, what: &'static str, data: &[u8]) {
        match self.events.last_mut() {
            Some(Entry::Data(kind, bytes)) if *kind == what => bytes.extend_from_slice(data),
            _ => self.events.push(Entry::Data(what, data.to_vec())),
        }
    }
}

/// One drain-rule round and the application's answers; returns whether anything moved.
fn round(conn: &mut Connection, now: Instant, log: &mut Log) -> bool {
    let mut moved = false;
    loop {
        let mut slices = [IoSlice::new(&[]); 16];
        let n = conn.transmit_chunks(&mut slices);
        if n == 0 {
            break;
        }
        let written: usize = slices[..n].iter().map(|s| s.len()).sum();
        for slice in &slices[..n] {
            log.wire.extend_from_slice(slice);
        }
        conn.advance_transmit(now, written);
        moved = true;
    }
    while let Some(action) = conn.poll_action() {
        log.actions.push(action);
        moved = true;
    }
    moved |= conn.drive(now, true);
    while let Some(event) = conn.poll_event() {
        moved = true;
        match event {
            Event::Http(ServerEvent::End { id, .. }) => {
                log.note(format!("end {}", id.0));
                if let Some(http) = conn.http_mut() {
                    // Err only for requests not owed a response.
                    let _ = http.respond(now, id, Response::new(200), Bytes::from_static(b"ok"));
                }
            }
            Event::Http(ServerEvent::Upgrade { request, head }) => {
                log.note(format!("upgrade {:?}", request.target));
                let accepted =
                    conn.accept_ws(now, &request, head.clone(), &[], sansnet_ws::Config::default());
                if accepted.is_err() {
                    // What came with the head is the raw socket's first data.
                    log.data("tunnel ", &head);
                }
            }
            Event::Http(ServerEvent::Connect { head, .. }) => {
                log.note("connect".into());
                log.data("tunnel ", &head);
                let socket = conn.socket_mut();
                let _ = socket.write(now, Bytes::from_static(b"HTTP/1.1 200 OK\r\n\r\n"));
                let _ = socket.write(now, head);
            }
            Event::Http(ServerEvent::Data { data, .. }) => log.data("body ", &data),
            Event::Http(ServerEvent::Drain) => {}
            Event::Http(other) => log.note(format!("{other:?}")),
            Event::Ws(WsEvent::Message(message)) => {
                log.note(format!("ws {message:?}"));
                if let Some(ws) = conn.ws_mut() {
                    let _ = ws.send(now, message);
                }
            }
            Event::Ws(WsEvent::Drain) => {}
            Event::Ws(other) => log.note(format!("ws {other:?}")),
            Event::Socket(SocketEvent::Data(data)) => {
                log.data("tunnel ", &data);
                let _ = conn.socket_mut().write(now, data);
            }
            // When the write side drains or finishes depends on when the runtime writes, not
            // on the input: left out of the comparison.
            Event::Socket(SocketEvent::Finish | SocketEvent::Drain) => {}
            other => log.note(format!("{other:?}")),
        }
    }
    moved
}

/// Runs `data` in `pieces`, then the peer's FIN.
fn run(pieces: &[&[u8]]) -> Log {
    let now = Instant::now();
    let config = ServerConfig {
        upgrade: true,
        connect: true,
        ..ServerConfig::default()
    };
    let acceptor = Acceptor::new(SocketConfig::default()).with_http(config);
    let mut conn = acceptor.accept(now);
    let mut log = Log::default();
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    let settle = |conn: &mut Connection, log: &mut Log| {
        let mut rounds = 0;
        while round(conn, now, log) {
            rounds += 1;
            assert!(rounds < 10_000, "the stack does not settle");
        }
    };
    // The runtime reads only while the stack wants to; what it could not deliver waits (a
    // real peer's bytes wait in the kernel), and is dropped if the stack never reads again.
    for piece in pieces {
        settle(&mut conn, &mut log);
        if !conn.wants_read() {
            break;
        }
        conn.handle_input(now, piece);
    }
    settle(&mut conn, &mut log);
    conn.handle_eof(now);
    settle(&mut conn, &mut log);
    // Echoes and answers: bounded by what came in, plus the small fixed replies.
    assert!(
        log.wire.len() <= 4 * total + 64 * 1024,
        "{} bytes out for {total} in",
        log.wire.len()
    );
    log
}

fuzz_target!(|data: &[u8]| {
    let Some((_, cut_words, stream)) = sansnet_fuzz::header(data, 8) else {
        return;
    };
    let whole = run(&[stream]);
    let cuts = sansnet_fuzz::positions(cut_words, stream.len());
    let pieces = sansnet_fuzz::pieces(stream, cuts);
    if pieces.len() > 1 {
        assert_eq!(
            run(&pieces),
            whole,
            "cut at {:?}",
            pieces.iter().map(|p| p.len()).collect::<Vec<_>>()
        );
    }
});
