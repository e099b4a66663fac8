//! The demo on two event loops (`--workers 2`, one thread each on a `SO_REUSEPORT` listener, as
//! Node's `cluster` runs one process per core): both loops serve fresh connections, and SIGTERM
//! closes every loop's servers the way Node's `server.close()` does (docs/node-semantics.md#net-server-close,
//! #node20-server-close-idle): new connections are refused, idle keep-alive connections close
//! at once, requests in flight finish, and the demo exits 0.
//!
//! The demo tags each routed response with `X-Worker: I` when it runs several workers, which is
//! how these tests tell the loops apart.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{HttpDemo, start_http_demo_with};

/// How long any single read or connect may block.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Fresh connections in the load test, and the client threads making them.
const CONNECTIONS: usize = 1_000;
const CLIENT_THREADS: usize = 4;

fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream
}

/// Reads a response head (through the blank line), byte by byte so nothing after it is taken.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).unwrap();
        assert_eq!(
            n, 1,
            "the connection ended inside a response head: {head:?}"
        );
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// The value of header `name` in `head` (case-insensitive name).
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// The worker index a response head names in `X-Worker`.
fn worker_of(head: &str) -> usize {
    header(head, "X-Worker")
        .unwrap_or_else(|| panic!("no X-Worker header with --workers 2:\n{head}"))
        .parse()
        .unwrap()
}

/// Whether the peer ends the connection (EOF, or a reset) within `within`.
fn ends_within(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(n) => panic!("unexpected bytes after the response: {:?}", &buf[..n]),
        Err(e) if e.kind() == ErrorKind::ConnectionReset => true,
        Err(_) => false,
    }
}

/// `GET /hello` on a fresh connection (`Connection: close`): the worker that answered.
fn hello_once(addr: SocketAddr) -> usize {
    let mut stream = connect(addr);
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8(response).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.ends_with("\r\n\r\nhello world"), "{text}");
    worker_of(&text)
}

fn sigterm(demo: &HttpDemo) {
    let pid = demo.guard.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success(), "kill -TERM {pid}");
}

/// 1,000 `GET /hello` on fresh connections from 4 client threads: every one is answered, and
/// both workers answer some (Linux picks a `SO_REUSEPORT` listener by a hash of the
/// connection's addresses and ports, so each gets about half). SIGTERM then ends the demo with
/// status 0.
#[test]
fn two_workers_both_serve_fresh_connections() {
    let mut demo = start_http_demo_with("workers-load", &["--workers", "2"]);
    let addr = demo.addr();
    let started = Instant::now();
    let threads: Vec<_> = (0..CLIENT_THREADS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut counts = [0usize; 2];
                for _ in 0..CONNECTIONS / CLIENT_THREADS {
                    let worker = hello_once(addr);
                    assert!(worker < 2, "X-Worker {worker} with --workers 2");
                    counts[worker] += 1;
                }
                counts
            })
        })
        .collect();
    let mut counts = [0usize; 2];
    for thread in threads {
        let [a, b] = thread.join().unwrap();
        counts[0] += a;
        counts[1] += b;
    }
    println!(
        "{CONNECTIONS} GET /hello in {:?}: worker 0 answered {}, worker 1 answered {}",
        started.elapsed(),
        counts[0],
        counts[1]
    );
    assert_eq!(counts[0] + counts[1], CONNECTIONS);
    assert!(
        counts.iter().all(|&n| n > 0),
        "both workers must serve: {counts:?}"
    );

    sigterm(&demo);
    let status = demo.guard.wait_timeout(Duration::from_secs(5));
    assert!(
        status.is_some_and(|s| s.success()),
        "SIGTERM must end the demo with exit status 0, got {status:?}"
    );
}

/// A `POST /echo` whose body is still coming, with the response head already read.
struct Upload {
    stream: TcpStream,
    worker: usize,
    sent: Vec<u8>,
}

const CHUNK: usize = 1024;
const CHUNKS: usize = 5;
const CHUNK_INTERVAL: Duration = Duration::from_millis(100);

/// Opens connections with `open` until both workers hold at least one (at most 64 tries, and
/// with about even odds per connection, both are reached within a few); returns them all.
fn on_both_workers<T>(what: &str, mut open: impl FnMut() -> T, worker: fn(&T) -> usize) -> Vec<T> {
    let mut held = Vec::new();
    for _ in 0..64 {
        held.push(open());
        let mut seen = [false; 2];
        for item in &held {
            seen[worker(item)] = true;
        }
        if seen == [true, true] {
            return held;
        }
    }
    panic!("64 {what} all went to one worker");
}

/// SIGTERM with, on each worker, an idle keep-alive connection and a `POST /echo` whose body
/// is streaming in: listeners close (a new connection is refused), the idle connections close
/// at once, each upload keeps streaming and gets its whole echo before its connection closes,
/// and the demo exits 0 as soon as the last connection is closed, well before its 3 s grace
/// period would destroy anything.
#[test]
fn sigterm_closes_every_worker_and_lets_in_flight_requests_finish() {
    let mut demo = start_http_demo_with("workers-close", &["--workers", "2"]);
    let addr = demo.addr();

    let idle = on_both_workers(
        "keep-alive connections",
        || {
            let mut stream = connect(addr);
            stream
                .write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .unwrap();
            let head = read_head(&mut stream);
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            assert_eq!(header(&head, "Content-Length"), Some("11"), "{head}");
            let mut body = [0u8; 11];
            stream.read_exact(&mut body).unwrap();
            assert_eq!(&body, b"hello world");
            let worker = worker_of(&head);
            (stream, worker)
        },
        |(_, worker)| *worker,
    );
    let mut uploads = on_both_workers(
        "uploads",
        || {
            let mut stream = connect(addr);
            let head = format!(
                "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
                CHUNK * CHUNKS
            );
            stream.write_all(head.as_bytes()).unwrap();
            let first = vec![b'0'; CHUNK];
            stream.write_all(&first).unwrap();
            // The demo answers the head at once and echoes the body as it arrives.
            let head = read_head(&mut stream);
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            let worker = worker_of(&head);
            Upload {
                stream,
                worker,
                sent: first,
            }
        },
        |upload| upload.worker,
    );
    println!(
        "in flight at SIGTERM: {} idle keep-alive connections, {} uploads (workers {:?})",
        idle.len(),
        uploads.len(),
        uploads.iter().map(|u| u.worker).collect::<Vec<_>>()
    );

    sigterm(&demo);
    let signalled = Instant::now();

    // `server.close()` closes idle keep-alive connections at once, on every worker. The client
    // closes its side on that end, as curl or Node's agent does (the demo's HTTP sockets are
    // half-open, so until then the connection is still open).
    for (mut stream, worker) in idle {
        assert!(
            ends_within(&mut stream, Duration::from_secs(2)),
            "worker {worker}: an idle keep-alive connection stays open after SIGTERM"
        );
    }
    // And stops accepting: once both listeners are closed, a connection is refused.
    let deadline = signalled + Duration::from_secs(2);
    loop {
        match TcpStream::connect_timeout(&addr, IO_TIMEOUT) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => break,
            Err(e) => panic!("connect after SIGTERM: {e}"),
            Ok(_) => {
                assert!(
                    Instant::now() < deadline,
                    "the demo still accepts connections 2 s after SIGTERM"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    // The uploads keep streaming after the signal and finish.
    for round in 1..CHUNKS {
        std::thread::sleep(CHUNK_INTERVAL);
        for upload in &mut uploads {
            let chunk = vec![b'0' + u8::try_from(round).unwrap(); CHUNK];
            upload
                .stream
                .write_all(&chunk)
                .unwrap_or_else(|e| panic!("worker {}: upload cut: {e}", upload.worker));
            upload.sent.extend_from_slice(&chunk);
        }
    }
    for mut upload in uploads {
        let mut echoed = vec![0u8; CHUNK * CHUNKS];
        upload
            .stream
            .read_exact(&mut echoed)
            .unwrap_or_else(|e| panic!("worker {}: echo cut: {e}", upload.worker));
        assert!(
            echoed == upload.sent,
            "worker {}: the echo differs from the upload",
            upload.worker
        );
        assert!(
            ends_within(&mut upload.stream, Duration::from_secs(2)),
            "worker {}: the connection stays open after its last response",
            upload.worker
        );
    }

    let status = demo.guard.wait_timeout(Duration::from_secs(10));
    let took = signalled.elapsed();
    println!("exit status {status:?}, {took:?} after SIGTERM");
    assert!(
        status.is_some_and(|s| s.success()),
        "SIGTERM must end the demo with exit status 0, got {status:?}"
    );
    // The demo destroys connections still open 3 s after the signal; every one here closed
    // before that, so the demo had no need to.
    assert!(
        took < Duration::from_millis(2_500),
        "the demo took {took:?} to exit: it waited for its grace period, not for the requests"
    );
}
