//! `sansnet-http1` benches: a request through the server connection machine (parse, the
//! `Request` event, `respond`, the response bytes out) beside bare `httparse` on the same
//! bytes, the floor any Rust HTTP/1.1 server stands on.
//!
//! Groups: one browser GET, one minimal GET, a pipelined batch of minimal GETs, and a 1 MiB
//! chunked upload (for that one the floor is `httparse`'s head and chunk-size parsers with the
//! same buffer copy and splits).
#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;
use std::time::{Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sansnet_benches::data::{
    BROWSER_GET, MINIMAL_GET, PIPELINE_DEPTH, RESPONSE_BODY, UPLOAD_CHUNK, UPLOAD_SIZE,
    chunked_upload, pipelined,
};
use sansnet_http1::{Response, ServerConfig, ServerConnection, ServerEvent};

/// Header slots `httparse` gets: the 32 the server machine parses with first (its stack
/// array; a head with more fields is parsed again with room for all), so the floor does the
/// same parsing work on the same bytes.
const MAX_HEADERS: usize = 32;

fn bytes(n: usize) -> Throughput {
    Throughput::Bytes(u64::try_from(n).unwrap_or(u64::MAX))
}

/// A keep-alive connection with Node's defaults and the `Date` header cached.
fn connection() -> (ServerConnection, Instant) {
    let now = Instant::now();
    let mut conn = ServerConnection::new(now, ServerConfig::default());
    conn.set_date(SystemTime::now());
    (conn, now)
}

/// Feeds `input`, answers every request with `RESPONSE_BODY`, drains the response bytes;
/// returns how many requests were answered and how many response bytes left.
fn serve(
    conn: &mut ServerConnection,
    now: Instant,
    buf: &mut BytesMut,
    input: &[u8],
) -> (usize, usize) {
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
            .expect("a fresh request takes a response");
            answered += 1;
        }
    }
    let mut out = 0;
    while let Some(chunk) = conn.pop_transmit(now) {
        out += black_box(chunk).len();
    }
    (answered, out)
}

/// Parses every head in `input` with `httparse`; returns how many.
fn httparse_all(mut input: &[u8]) -> usize {
    let mut count = 0;
    while !input.is_empty() {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(input) {
            Ok(httparse::Status::Complete(n)) => {
                black_box(&request);
                input = &input[n..];
                count += 1;
            }
            Ok(httparse::Status::Partial) | Err(_) => break,
        }
    }
    count
}

/// One request, one response: `(name, bytes)` pairs, each its own group.
fn single_request(c: &mut Criterion) {
    for (name, input) in [("browser_get", BROWSER_GET), ("minimal_get", MINIMAL_GET)] {
        let mut group = c.benchmark_group(format!("http1/{name}"));
        group.throughput(bytes(input.len()));
        group.bench_with_input(
            BenchmarkId::new("sansnet", input.len()),
            input,
            |b, input| {
                let (mut conn, now) = connection();
                let mut buf = BytesMut::with_capacity(4096);
                b.iter(|| {
                    let (answered, out) = serve(&mut conn, now, &mut buf, input);
                    assert!(answered == 1 && out > 0, "one request, one response");
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("httparse", input.len()),
            input,
            |b, input| {
                b.iter(|| {
                    assert_eq!(httparse_all(black_box(input)), 1, "one request");
                });
            },
        );
        group.finish();
    }
}

/// `PIPELINE_DEPTH` minimal GETs in one read.
fn pipelined_batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("http1/pipelined_minimal_get");
    let input = pipelined(MINIMAL_GET, PIPELINE_DEPTH);
    group.throughput(bytes(input.len()));
    group.bench_with_input(
        BenchmarkId::new("sansnet", PIPELINE_DEPTH),
        &input,
        |b, input| {
            let (mut conn, now) = connection();
            let mut buf = BytesMut::with_capacity(4096);
            b.iter(|| {
                let (answered, _) = serve(&mut conn, now, &mut buf, input);
                assert_eq!(answered, PIPELINE_DEPTH, "every pipelined request answered");
            });
        },
    );
    group.bench_with_input(
        BenchmarkId::new("httparse", PIPELINE_DEPTH),
        &input,
        |b, input| {
            b.iter(|| {
                assert_eq!(
                    httparse_all(black_box(input)),
                    PIPELINE_DEPTH,
                    "every head parsed"
                );
            });
        },
    );
    group.finish();
}

/// A 1 MiB chunked POST in one buffer: `Data` events drained, then the response.
fn chunked_upload_group(c: &mut Criterion) {
    let mut group = c.benchmark_group("http1/chunked_upload");
    let input = chunked_upload(UPLOAD_SIZE, UPLOAD_CHUNK);
    group.throughput(bytes(input.len()));
    group.bench_with_input(
        BenchmarkId::new("sansnet", UPLOAD_SIZE),
        &input,
        |b, input| {
            let (mut conn, now) = connection();
            let mut buf = BytesMut::with_capacity(input.len());
            b.iter(|| {
                buf.extend_from_slice(input);
                conn.handle_input(now, &mut buf);
                let mut id = None;
                let mut body = 0;
                while let Some(event) = conn.poll_event() {
                    match event {
                        ServerEvent::Request(request) => id = Some(request.id),
                        ServerEvent::Data { data, .. } => body += black_box(data).len(),
                        _ => {}
                    }
                }
                assert_eq!(body, UPLOAD_SIZE, "the whole body arrived");
                let id = id.expect("one request");
                conn.respond(now, id, Response::new(204), Bytes::new())
                    .expect("a fresh request takes a response");
                while let Some(chunk) = conn.pop_transmit(now) {
                    black_box(chunk);
                }
            });
        },
    );
    group.bench_with_input(
        BenchmarkId::new("httparse", UPLOAD_SIZE),
        &input,
        |b, input| {
            let mut buf = BytesMut::with_capacity(input.len());
            b.iter(|| {
                buf.extend_from_slice(input);
                let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
                let mut request = httparse::Request::new(&mut headers);
                let head = match request.parse(&buf) {
                    Ok(httparse::Status::Complete(n)) => n,
                    Ok(httparse::Status::Partial) | Err(_) => 0,
                };
                assert!(head > 0, "the head parses");
                let _ = buf.split_to(head);
                let mut body = 0;
                while let Ok(httparse::Status::Complete((n, size))) =
                    httparse::parse_chunk_size(&buf)
                {
                    let _ = buf.split_to(n);
                    let size = usize::try_from(size).unwrap_or(usize::MAX);
                    if size == 0 {
                        let _ = buf.split_to(2);
                        break;
                    }
                    body += black_box(buf.split_to(size).freeze()).len();
                    let _ = buf.split_to(2);
                }
                assert_eq!(body, UPLOAD_SIZE, "the whole body parsed");
                assert!(buf.is_empty(), "everything consumed");
            });
        },
    );
    group.finish();
}

criterion_group!(
    benches,
    single_request,
    pipelined_batch,
    chunked_upload_group
);
criterion_main!(benches);
