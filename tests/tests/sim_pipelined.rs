//! Pipelined requests cut by a reset, on the seeded simulator's terms (`sansnet_testkit::sim::Rng`):
//! a raw client stack writes several pipelined requests at once to an HTTP server stack, the
//! bytes move in seeded pieces, and at a seeded point one side's socket is reset
//! (`ECONNRESET`). Whatever the seed, the server answers each request at most once and in
//! order, the client sees a prefix of the answers in order, each byte of it right, and both
//! sockets close exactly once with nothing after (RFC 9112 §9.3.2, Node docs `net.md` ›
//! `Event: 'close'`).
//!
//! CI runs 200 seeds; one seed alone: `SIM_SEED=<seed> cargo test -p sansnet-testkit --test
//! sim_pipelined`; more: `SIM_SEEDS=<n>`.

use std::io::{ErrorKind, IoSlice};
use std::time::Instant;

use bytes::Bytes;
use sansnet_http1::{Response, ServerConfig, ServerEvent};
use sansnet_stack::{Acceptor, Connection, Event};
use sansnet_tcp::{SocketConfig, SocketEvent};
use sansnet_testkit::sim::Rng;

const REQUESTS: usize = 5;

/// One side's socket as the runtime sees it: the bytes it wrote, not yet delivered.
#[derive(Default)]
struct Wire {
    bytes: Vec<u8>,
    fin: bool,
}

/// Writes what `conn` offers (a seeded number of bytes at a time) into `wire`.
fn write(conn: &mut Connection, now: Instant, wire: &mut Wire, rng: &mut Rng) -> bool {
    let mut moved = false;
    loop {
        let mut slices = [IoSlice::new(&[]); 16];
        let n = conn.transmit_chunks(&mut slices);
        let Some(first) = slices[..n].first() else {
            break;
        };
        let take = first.len().min(rng.size(64).max(1));
        wire.bytes.extend_from_slice(&first[..take]);
        conn.advance_transmit(now, take);
        moved = true;
    }
    while let Some(action) = conn.poll_action() {
        moved = true;
        if matches!(
            action,
            sansnet_core::Action::Shutdown | sansnet_core::Action::Close { .. }
        ) {
            wire.fin = true;
        }
    }
    moved
}

/// Delivers a seeded piece of `wire` to `conn`.
fn deliver(
    conn: &mut Connection,
    now: Instant,
    wire: &mut Wire,
    eof_given: &mut bool,
    rng: &mut Rng,
) -> bool {
    if !conn.wants_read() {
        return false;
    }
    if !wire.bytes.is_empty() {
        let take = rng.size(wire.bytes.len()).max(1);
        let piece: Vec<u8> = wire.bytes.drain(..take).collect();
        conn.handle_input(now, &piece);
        return true;
    }
    if wire.fin && !*eof_given {
        *eof_given = true;
        conn.handle_eof(now);
        return true;
    }
    false
}

/// What one side saw.
#[derive(Default)]
struct Seen {
    closes: usize,
    after_close: bool,
    answered: Vec<u64>,
    data: Vec<u8>,
}

/// Runs one seed; returns how many whole answers the client read.
fn run(seed: u64) -> Result<usize, String> {
    let mut rng = Rng::new(seed);
    let now = Instant::now();
    let mut client = Connection::connect(now, SocketConfig::default());
    client.handle_connected(now);
    let acceptor = Acceptor::new(SocketConfig::default()).with_http(ServerConfig {
        send_date: false,
        ..ServerConfig::default()
    });
    let mut server = acceptor.accept(now);
    let mut pipelined = Vec::new();
    for i in 0..REQUESTS {
        pipelined.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes());
    }
    client
        .socket_mut()
        .write(now, Bytes::from(pipelined))
        .map_err(|e| e.to_string())?;
    let (mut up, mut down) = (Wire::default(), Wire::default());
    let (mut client_eof, mut server_eof) = (false, false);
    let (mut c, mut s) = (Seen::default(), Seen::default());
    // The reset: after this many steps, on this side.
    let reset_at = rng.below(60);
    let reset_server = rng.chance(1, 2);
    for step in 0..100_000u64 {
        let mut moved = false;
        if step == reset_at {
            let victim = if reset_server {
                &mut server
            } else {
                &mut client
            };
            victim.handle_io_error(now, ErrorKind::ConnectionReset);
            // The peer of a reset socket reads the reset next.
            let (other, wire) = if reset_server {
                (&mut client, &mut down)
            } else {
                (&mut server, &mut up)
            };
            wire.bytes.clear();
            other.handle_io_error(now, ErrorKind::ConnectionReset);
            moved = true;
        }
        moved |= write(&mut client, now, &mut up, &mut rng);
        moved |= write(&mut server, now, &mut down, &mut rng);
        moved |= deliver(&mut server, now, &mut up, &mut server_eof, &mut rng);
        moved |= deliver(&mut client, now, &mut down, &mut client_eof, &mut rng);
        moved |= server.drive(now, true);
        moved |= client.drive(now, true);
        while let Some(event) = server.poll_event() {
            moved = true;
            s.after_close |= s.closes > 0;
            match event {
                Event::Http(ServerEvent::End { id, .. }) => {
                    if s.answered.contains(&id.0) {
                        return Err(format!("request {} ended twice", id.0));
                    }
                    s.answered.push(id.0);
                    if let Some(http) = server.http_mut() {
                        let body = Bytes::from(format!("answer {}.", id.0));
                        http.respond(now, id, Response::new(200), body)
                            .map_err(|e| e.to_string())?;
                    }
                }
                Event::Socket(SocketEvent::Close { .. }) => s.closes += 1,
                _ => {}
            }
        }
        while let Some(event) = client.poll_event() {
            moved = true;
            c.after_close |= c.closes > 0;
            match event {
                Event::Socket(SocketEvent::Data(data)) => c.data.extend_from_slice(&data),
                Event::Socket(SocketEvent::Close { .. }) => c.closes += 1,
                _ => {}
            }
        }
        if !moved && step > reset_at {
            break;
        }
    }
    if c.closes != 1 || s.closes != 1 || c.after_close || s.after_close {
        return Err(format!(
            "closes: client {} server {} (events after close: {} {})",
            c.closes, s.closes, c.after_close, s.after_close
        ));
    }
    if s.answered != (0..s.answered.len() as u64).collect::<Vec<_>>() {
        return Err(format!("requests ended out of order: {:?}", s.answered));
    }
    // The client's bytes are a prefix of the answers in order.
    let mut expected = Vec::new();
    for i in 0..REQUESTS {
        expected.extend_from_slice(
            format!("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: {}\r\n\r\nanswer {i}.", format!("answer {i}.").len()).as_bytes(),
        );
    }
    if !expected.starts_with(&c.data) {
        return Err(format!(
            "the client read bytes that are not the answers in order: {:?}",
            String::from_utf8_lossy(&c.data)
        ));
    }
    Ok(String::from_utf8_lossy(&c.data)
        .matches("HTTP/1.1 200 OK")
        .count())
}

#[test]
fn pipelined_requests_cut_by_a_reset() {
    let seeds: Vec<u64> = match std::env::var("SIM_SEED") {
        Ok(seed) => vec![seed.parse().expect("SIM_SEED is a number")],
        Err(_) => {
            let n = std::env::var("SIM_SEEDS")
                .map_or(200, |n| n.parse().expect("SIM_SEEDS is a number"));
            (0..n).collect()
        }
    };
    let many = seeds.len() > 1;
    let mut answers = [0usize; REQUESTS + 1];
    for seed in seeds {
        match run(seed) {
            Ok(n) => answers[n.min(REQUESTS)] += 1,
            Err(failure) => panic!(
                "seed {seed}: {failure}\nrerun: SIM_SEED={seed} cargo test -p sansnet-testkit --test sim_pipelined"
            ),
        }
    }
    // The seeds cut the exchange everywhere: before any answer, between answers, after all.
    if many {
        assert!(
            answers[0] > 0
                && answers[REQUESTS] > 0
                && answers[1..REQUESTS].iter().sum::<usize>() > 0,
            "seeds by whole answers read: {answers:?}"
        );
    }
}
