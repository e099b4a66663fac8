//! Instruction counts for whole HTTP/1.1 cycles through the machines, beside bare `httparse` on
//! the same bytes, for callgrind (the criterion bench `http1` times the server cycles; on a
//! shared machine instruction counts are the steadier measure).
//!
//! ```text
//! cargo build --profile bench -p sansnet-benches --example http1_instr
//! valgrind --tool=callgrind --toggle-collect='http1_instr::run' \
//!     target/release/examples/http1_instr server_minimal
//! ```
//!
//! The argument names the cycle: `server_minimal`, `server_browser` (a request in, `Request`,
//! `respond`, the response bytes out), `server_pipelined` (16 minimal GETs in one read, all
//! answered), `client_cycle` (a GET out through `pop_transmit`, a `Content-Length` response in,
//! its events out), `httparse_minimal`, `httparse_browser`, `httparse_pipelined` (the request
//! heads parsed), `httparse_response` (the response head parsed). Each runs 10,000 times after
//! 100 warm-up runs, all inside `run`, so the instructions callgrind counts there, divided by
//! 10,100, are one cycle's (for `server_pipelined`, divide by 16 more for one request's).
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    missing_docs,
    reason = "a measuring tool: a failed run is a bug to see at once"
)]

use std::hint::black_box;
use std::time::{Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use sansnet_benches::data::{BROWSER_GET, MINIMAL_GET, PIPELINE_DEPTH, RESPONSE_BODY, pipelined};
use sansnet_http1::{
    ClientConfig, ClientConnection, ClientEvent, ClientRequest, Response, ServerConfig,
    ServerConnection, ServerEvent,
};

/// Runs per measurement (after `WARM_UP` more).
const RUNS: usize = 10_000;
const WARM_UP: usize = 100;

/// The response the client cycle reads.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\
Date: Tue, 14 Nov 2023 22:13:20 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\
Content-Length: 13\r\n\r\nhello, world\n";

fn server_cycle(
    conn: &mut ServerConnection,
    now: Instant,
    buf: &mut BytesMut,
    input: &[u8],
) -> usize {
    buf.extend_from_slice(input);
    conn.handle_input(now, buf);
    let mut answered = 0;
    while let Some(event) = conn.poll_event() {
        if let ServerEvent::Request(request) = event {
            conn.respond(
                now,
                request.id,
                Response::new(200).header("Content-Type", "text/plain"),
                Bytes::from_static(RESPONSE_BODY),
            )
            .unwrap();
            answered += 1;
        }
    }
    while let Some(chunk) = conn.pop_transmit(now) {
        black_box(chunk);
    }
    answered
}

fn client_cycle(conn: &mut ClientConnection, now: Instant, buf: &mut BytesMut) -> usize {
    let request = ClientRequest::new(Bytes::from_static(b"GET"), Bytes::from_static(b"/")).header(
        Bytes::from_static(b"Host"),
        Bytes::from_static(b"example.com"),
    );
    let id = conn.send_request(now, request).unwrap();
    conn.end(now, id, None).unwrap();
    while let Some(chunk) = conn.pop_transmit(now) {
        black_box(chunk);
    }
    buf.extend_from_slice(RESPONSE);
    conn.handle_input(now, buf);
    let mut body = 0;
    while let Some(event) = conn.poll_event() {
        if let ClientEvent::Data { data, .. } = event {
            body += data.len();
        }
    }
    assert!(conn.is_reusable());
    body
}

fn httparse_requests(mut input: &[u8]) -> usize {
    let mut count = 0;
    while !input.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(input) {
            Ok(httparse::Status::Complete(n)) => {
                black_box(&request);
                input = &input[n..];
                count += 1;
            }
            _ => break,
        }
    }
    count
}

fn httparse_response(input: &[u8]) -> usize {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let status = response.parse(input).unwrap();
    black_box(&response);
    match status {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => 0,
    }
}

/// Every measured run; callgrind's `--toggle-collect` names this function.
#[inline(never)]
fn run(op: &str) -> usize {
    let now = Instant::now();
    let mut buf = BytesMut::with_capacity(4096);
    let mut server = ServerConnection::new(now, ServerConfig::default());
    server.set_date(SystemTime::UNIX_EPOCH);
    let mut client = ClientConnection::new(now, ClientConfig::default());
    let batch = pipelined(MINIMAL_GET, PIPELINE_DEPTH);
    let mut total = 0;
    for _ in 0..RUNS + WARM_UP {
        total += match op {
            "server_minimal" => server_cycle(&mut server, now, &mut buf, MINIMAL_GET),
            "server_browser" => server_cycle(&mut server, now, &mut buf, BROWSER_GET),
            "server_pipelined" => server_cycle(&mut server, now, &mut buf, &batch),
            "client_cycle" => client_cycle(&mut client, now, &mut buf),
            "httparse_minimal" => httparse_requests(black_box(MINIMAL_GET)),
            "httparse_browser" => httparse_requests(black_box(BROWSER_GET)),
            "httparse_pipelined" => httparse_requests(black_box(&batch)),
            "httparse_response" => httparse_response(black_box(RESPONSE)),
            other => panic!("unknown operation {other}"),
        };
    }
    total
}

fn main() {
    let op = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "server_minimal".into());
    println!("{op}: {}", run(&op));
}
