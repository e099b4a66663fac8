//! Slowloris: many connections that send one header byte a second. Each is answered with 408
//! and closed when `headersTimeout` runs out (Node docs: http.md › server.headersTimeout),
//! while a well-behaved client on the same server keeps getting its answers at once.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sansnet_http1::{Response, ServerEvent};
use sansnet_mio::{Event, EventLoop};
use sansnet_tcp::Address;

/// How many slow connections, at most (fewer if the descriptor limit is low: each takes two
/// descriptors in this process, the client's and the server's).
const SLOW: usize = 1000;
/// The server's `headersTimeout`, short for the test.
const HEADERS_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest a well-behaved request may wait for its answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);

/// An HTTP server on its own thread, answering every request with `200 ok`; returns its port
/// and the flag that stops it.
fn serve() -> (u16, Arc<AtomicBool>, std::thread::JoinHandle<()>) {
    let (port_tx, port_rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let handle = std::thread::spawn(move || {
        let mut ev = EventLoop::new().unwrap();
        ev.listen_http(
            Address::Tcp(common::loopback_any()),
            sansnet_tcp::ServerConfig::default(),
            sansnet_http1::ServerConfig {
                headers_timeout: Some(HEADERS_TIMEOUT),
                ..sansnet_http1::ServerConfig::default()
            },
        );
        while !stopped.load(Ordering::Relaxed) {
            let Some(event) = ev.next_event(Some(Duration::from_millis(50))).unwrap() else {
                continue;
            };
            match event {
                Event::Server {
                    event:
                        sansnet_tcp::ServerEvent::Listening {
                            address: Address::Tcp(a),
                        },
                    ..
                } => port_tx.send(a.port()).unwrap(),
                Event::Http {
                    socket,
                    event: ServerEvent::Request(request),
                } => {
                    let _ = ev.respond(
                        socket,
                        request.id,
                        Response::new(200),
                        Bytes::from_static(b"ok"),
                    );
                }
                _ => {}
            }
        }
    });
    (port_rx.recv_timeout(common::WAIT).unwrap(), stop, handle)
}

/// One `GET /` on a fresh connection; how long the answer took.
fn timed_get(port: u16) -> Duration {
    let start = Instant::now();
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok"),
        "{answer}"
    );
    start.elapsed()
}

/// Up to 1,000 connections send a request head one byte a second; each gets 408 and is
/// closed once `headersTimeout` (2 s) has run, none later than two seconds after it; meanwhile a
/// normal client's requests are each answered within a second.
#[test]
fn slow_headers_are_cut_at_headers_timeout_and_others_are_served() {
    let slow = SLOW.min(common::descriptor_limit().saturating_sub(200) / 2);
    assert!(
        slow >= 100,
        "the descriptor limit allows only {slow} slow connections"
    );
    println!("{slow} slow connections");
    let (port, stop, server) = serve();
    let head = b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    // The server's clock for each connection starts at its accept, which comes after this
    // point: measured from here, no close may come before `headersTimeout`, however long the
    // connects take on a loaded machine.
    let connecting = Instant::now();
    let mut conns: Vec<TcpStream> = (0..slow)
        .map(|_| {
            let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
            tcp.set_nonblocking(true).unwrap();
            tcp
        })
        .collect();
    let started = connecting;
    println!("connected in {:?}", connecting.elapsed());
    let mut closed_at: Vec<Option<Duration>> = vec![None; slow];
    let mut answers: Vec<Vec<u8>> = vec![Vec::new(); slow];
    let mut slowest_answer = Duration::ZERO;
    let mut sent = 0;
    while closed_at.iter().any(Option::is_none) {
        let elapsed = started.elapsed();
        assert!(
            elapsed < HEADERS_TIMEOUT + Duration::from_secs(10),
            "{} slow connections still open after {elapsed:?}",
            closed_at.iter().filter(|c| c.is_none()).count()
        );
        // One more header byte a second on every connection still open.
        if elapsed >= Duration::from_secs(sent) && usize::try_from(sent).unwrap() < head.len() {
            let byte = &head[usize::try_from(sent).unwrap()..][..1];
            for (tcp, closed) in conns.iter_mut().zip(&closed_at) {
                if closed.is_none() {
                    // The server may have closed it already: the read below tells.
                    let _ = tcp.write(byte);
                }
            }
            sent += 1;
        }
        for ((tcp, closed), answer) in conns.iter_mut().zip(&mut closed_at).zip(&mut answers) {
            if closed.is_some() {
                continue;
            }
            let mut buf = [0u8; 256];
            match tcp.read(&mut buf) {
                Ok(0) => *closed = Some(started.elapsed()),
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                    *closed = Some(started.elapsed());
                }
                Err(e) => panic!("reading a slow connection: {e}"),
            }
        }
        slowest_answer = slowest_answer.max(timed_get(port));
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();

    let first = closed_at.iter().flatten().min().unwrap();
    let last = closed_at.iter().flatten().max().unwrap();
    println!(
        "slow connections closed between {first:?} and {last:?}; slowest normal answer {slowest_answer:?}"
    );
    assert!(
        *first >= HEADERS_TIMEOUT - Duration::from_millis(100),
        "a slow connection was closed after {first:?}, before headersTimeout ({HEADERS_TIMEOUT:?})"
    );
    assert!(
        *last <= HEADERS_TIMEOUT + Duration::from_secs(2),
        "a slow connection lasted {last:?}, past headersTimeout ({HEADERS_TIMEOUT:?})"
    );
    for answer in &answers {
        assert!(
            answer.starts_with(b"HTTP/1.1 408"),
            "each slow connection gets 408 before the close: {:?}",
            String::from_utf8_lossy(answer)
        );
    }
    assert!(
        slowest_answer < ANSWER_WITHIN,
        "a normal request waited {slowest_answer:?} for its answer"
    );
}
