//! Heap allocations per request in steady state: a counting global allocator watches
//! keep-alive requests go through `ServerConnection` (request bytes in, `Request` event out,
//! response in, response bytes drained through `transmit_chunks` as the driver does) and
//! through `ClientConnection` (request out through `transmit_chunks`, response bytes in, its
//! events out) after a warm-up, and the count must not grow with the number of requests: it
//! is zero.
//!
//! This file is its own test binary so that its `#[global_allocator]` sees only its own code;
//! allocations are counted per thread, so the test harness's other threads do not count.
#![allow(
    unsafe_code,
    reason = "a counting global allocator is an `unsafe impl GlobalAlloc` forwarding to `System`"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::IoSlice;
use std::time::{Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use sansnet_http1::{
    ClientConfig, ClientConnection, ClientEvent, ClientRequest, Response, ServerConfig,
    ServerConnection, ServerEvent,
};

/// Counts the allocations (and reallocations) made by the current thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: every method forwards to `System` with the caller's own arguments, so `System`'s
// guarantees are ours; the counting touches only a const-initialised thread-local `Cell`,
// which neither allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `alloc`'s contract, which is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: `ptr` came from this allocator, that is from `System`, with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, that is from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A browser navigation: 12 header fields, as in the benches.
const BROWSER_GET: &[u8] = b"GET /articles/2024/sans-io-network-stacks?ref=home HTTP/1.1\r\n\
Host: www.example.com\r\n\
Connection: keep-alive\r\n\
Upgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: navigate\r\n\
Sec-Fetch-Dest: document\r\n\
Referer: https://www.example.com/\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: session=4f2a9c1be07d43a1; theme=dark\r\n\
\r\n";

/// A small POST with a `Content-Length` body.
const SMALL_POST: &[u8] =
    b"POST /api/items HTTP/1.1\r\nHost: example.com\r\nContent-Length: 11\r\n\r\n{\"id\": 42}\n";

/// One server connection, its read buffer, and the time it runs at.
struct Server {
    conn: ServerConnection,
    buf: BytesMut,
    now: Instant,
    /// Answer with two `write`s and an `end` (a chunked response) instead of one `end(body)`.
    streamed: bool,
}

impl Server {
    fn new() -> Self {
        let now = Instant::now();
        let mut conn = ServerConnection::new(now, ServerConfig::default());
        conn.set_date(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000));
        Self {
            conn,
            buf: BytesMut::with_capacity(4096),
            now,
            streamed: false,
        }
    }

    /// Feeds `request` as one read, answers it as an application would (a header, a body), and
    /// writes every response byte out through `transmit_chunks`/`advance_transmit`; returns
    /// the response bytes written.
    fn exchange(&mut self, request: &[u8]) -> usize {
        self.buf.extend_from_slice(request);
        self.conn.handle_input(self.now, &mut self.buf);
        let mut written = self.drain();
        let mut answered = 0;
        let mut body = 0;
        while let Some(event) = self.conn.poll_event() {
            match event {
                ServerEvent::Request(request) => {
                    assert!(request.headers.get("host").is_some());
                    self.conn
                        .send_response(
                            self.now,
                            request.id,
                            Response::new(200).header("Content-Type", "text/plain"),
                        )
                        .expect("a fresh request takes a response");
                    if self.streamed {
                        for piece in [&b"hello, "[..], &b"world\n"[..]] {
                            self.conn
                                .write(self.now, request.id, Bytes::from_static(piece))
                                .expect("the body is written");
                        }
                        self.conn
                            .end(self.now, request.id, None)
                            .expect("the response ends");
                    } else {
                        self.conn
                            .end(
                                self.now,
                                request.id,
                                Some(Bytes::from_static(b"hello, world\n")),
                            )
                            .expect("the response ends");
                    }
                    answered += 1;
                }
                ServerEvent::Data { data, .. } => body += data.len(),
                other => assert!(
                    matches!(other, ServerEvent::End { .. }),
                    "unexpected event {other:?}"
                ),
            }
        }
        written += self.drain();
        assert_eq!(answered, 1, "one request, one response");
        assert!(self.buf.is_empty(), "the whole request was consumed");
        assert!(body <= 11);
        assert!(self.conn.wants_read() && !self.conn.is_closed());
        written
    }

    /// Writes what is queued, as the driver does: a vectored write of every chunk.
    fn drain(&mut self) -> usize {
        let mut written = 0;
        loop {
            let mut slices = [IoSlice::new(&[]); 16];
            let filled = self.conn.transmit_chunks(&mut slices);
            let n: usize = slices[..filled].iter().map(|s| s.len()).sum();
            if n == 0 {
                return written;
            }
            self.conn.advance_transmit(self.now, n);
            written += n;
        }
    }
}

/// Allocations made by `count` exchanges of `request`.
fn allocations_for(server: &mut Server, request: &[u8], count: usize) -> u64 {
    let before = allocations();
    for _ in 0..count {
        assert!(server.exchange(request) > 0);
    }
    allocations() - before
}

/// No allocation per message in steady state: after a warm-up, 10,000
/// keep-alive requests (browser GETs with 12 fields, and small POSTs with a body; answered with
/// a `Content-Length` body, and the GETs also with a chunked one) allocate no more than 1,000
/// do, and in fact nothing at all.
#[test]
fn keep_alive_requests_allocate_nothing_in_steady_state() {
    for (request, streamed) in [
        (BROWSER_GET, false),
        (SMALL_POST, false),
        (BROWSER_GET, true),
    ] {
        let mut server = Server::new();
        server.streamed = streamed;
        allocations_for(&mut server, request, 100);
        let thousand = allocations_for(&mut server, request, 1_000);
        let ten_thousand = allocations_for(&mut server, request, 10_000);
        assert!(
            ten_thousand <= thousand,
            "allocations grow with requests: {thousand} for 1,000, {ten_thousand} for 10,000"
        );
        assert_eq!(
            (thousand, ten_thousand),
            (0, 0),
            "allocations in steady state for {:?} (streamed: {streamed})",
            String::from_utf8_lossy(&request[..16])
        );
    }
}

/// Sixteen pipelined GETs answered together, their answers queued before any is written
/// (`pipeline_flush`'s case): the heads share arena buffers, about one allocation for a batch
/// of answers, not one or two per answer (a new buffer for each head while the earlier heads
/// were still queued).
#[test]
fn pipelined_answers_share_their_head_buffers() {
    const BATCH: usize = 16;
    const BATCHES: u64 = 200;
    let get = b"GET /item HTTP/1.1\r\nHost: example.com\r\n\r\n";
    let batch: Vec<u8> = get.repeat(BATCH);
    let mut server = Server::new();
    let run = |server: &mut Server| {
        server.buf.extend_from_slice(&batch);
        server.conn.handle_input(server.now, &mut server.buf);
        let mut answered = 0;
        while let Some(event) = server.conn.poll_event() {
            if let ServerEvent::Request(request) = event {
                let response = Response::new(200).header("Content-Type", "text/plain");
                let body = Bytes::from_static(b"hello, world\n");
                server
                    .conn
                    .respond(server.now, request.id, response, body)
                    .expect("a fresh request takes a response");
                answered += 1;
            }
        }
        assert_eq!(answered, BATCH);
        assert!(server.drain() > 0);
    };
    for _ in 0..10 {
        run(&mut server);
    }
    let before = allocations();
    for _ in 0..BATCHES {
        run(&mut server);
    }
    let made = allocations() - before;
    assert!(
        made <= 2 * BATCHES,
        "{made} allocations for {BATCHES} batches of {BATCH} pipelined answers"
    );
}

/// The counter works: a `Vec` and a fresh connection allocate (so zero above means zero).
#[test]
fn the_counter_sees_allocations() {
    let before = allocations();
    let v: Vec<u8> = Vec::with_capacity(std::hint::black_box(64));
    drop(std::hint::black_box(v));
    let mut server = Server::new();
    server.exchange(BROWSER_GET);
    assert!(allocations() - before >= 2);
}

/// A keep-alive response with a `Content-Length` body, as a server answers a GET.
const LENGTH_RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\
Date: Tue, 14 Nov 2023 22:13:20 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\
Content-Length: 13\r\n\r\nhello, world\n";

/// A keep-alive response with a chunked body (two chunks and the last chunk).
const CHUNKED_RESPONSE: &[u8] = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\
Transfer-Encoding: chunked\r\n\r\n7\r\n{\"id\": \r\n3\r\n42}\r\n0\r\n\r\n";

/// How the client sends its request.
#[derive(Debug, Clone, Copy)]
enum ClientBody {
    /// A GET: the head alone.
    None,
    /// A POST whose body is written in two pieces, so it goes chunked.
    Chunked,
}

/// One client connection, its read buffer, and the time it runs at.
struct Client {
    conn: ClientConnection,
    buf: BytesMut,
    now: Instant,
}

impl Client {
    fn new() -> Self {
        let now = Instant::now();
        Self {
            conn: ClientConnection::new(now, ClientConfig::default()),
            buf: BytesMut::with_capacity(4096),
            now,
        }
    }

    /// Sends a request (built from static bytes, as an application that reuses its values
    /// does), writes it out through `transmit_chunks`, feeds `response` as one read and takes
    /// every event; returns the request bytes written.
    fn exchange(&mut self, body: ClientBody, response: &[u8]) -> usize {
        let request = match body {
            ClientBody::None => ClientRequest::new(
                Bytes::from_static(b"GET"),
                Bytes::from_static(b"/articles/2024?ref=home"),
            ),
            ClientBody::Chunked => ClientRequest::new(
                Bytes::from_static(b"POST"),
                Bytes::from_static(b"/api/items"),
            )
            .header(
                Bytes::from_static(b"Content-Type"),
                Bytes::from_static(b"application/json"),
            ),
        }
        .header(
            Bytes::from_static(b"Host"),
            Bytes::from_static(b"example.com"),
        )
        .header(Bytes::from_static(b"Accept"), Bytes::from_static(b"*/*"));
        let id = self
            .conn
            .send_request(self.now, request)
            .expect("an idle keep-alive connection takes a request");
        if let ClientBody::Chunked = body {
            for piece in [&b"{\"id\": "[..], &b"42}"[..]] {
                self.conn
                    .write(self.now, id, Bytes::from_static(piece))
                    .expect("the body is written");
            }
        }
        self.conn.end(self.now, id, None).expect("the request ends");
        let written = self.drain();

        self.buf.extend_from_slice(response);
        self.conn.handle_input(self.now, &mut self.buf);
        let (mut heads, mut body, mut ends) = (0, 0, 0);
        let mut unexpected = None;
        while let Some(event) = self.conn.poll_event() {
            match event {
                ClientEvent::Response(head) => {
                    assert!(head.status == 200 || head.status == 201);
                    assert!(head.keep_alive);
                    assert!(head.headers.get("content-type").is_some());
                    heads += 1;
                }
                ClientEvent::Data { data, .. } => body += data.len(),
                ClientEvent::End { trailers, .. } => {
                    assert!(trailers.is_empty());
                    ends += 1;
                }
                other => unexpected = Some(other),
            }
        }
        assert_eq!(unexpected, None, "only the response's events");
        assert_eq!((heads, ends), (1, 1), "one response, complete");
        assert!(body == 13 || body == 10, "the body arrived: {body}");
        assert!(self.buf.is_empty(), "the whole response was consumed");
        assert!(self.conn.is_reusable(), "the connection is kept");
        written
    }

    /// Writes what is queued, as the driver does: a vectored write of every chunk.
    fn drain(&mut self) -> usize {
        let mut written = 0;
        loop {
            let mut slices = [IoSlice::new(&[]); 16];
            let filled = self.conn.transmit_chunks(&mut slices);
            let n: usize = slices[..filled].iter().map(|s| s.len()).sum();
            if n == 0 {
                return written;
            }
            self.conn.advance_transmit(self.now, n);
            written += n;
        }
    }
}

/// Allocations made by `count` client exchanges.
fn client_allocations_for(
    client: &mut Client,
    body: ClientBody,
    response: &[u8],
    count: usize,
) -> u64 {
    let before = allocations();
    for _ in 0..count {
        assert!(client.exchange(body, response) > 0);
    }
    allocations() - before
}

/// No allocation per request or response on the client in steady state: after a warm-up,
/// 10,000 keep-alive exchanges through one `ClientConnection` (a GET answered with a
/// `Content-Length` body, and a POST sent chunked answered with a chunked body) allocate
/// nothing: the request heads and chunk-size lines are written into a reused buffer, the
/// response head is taken apart into offsets, the chunked decoder is reused.
#[test]
fn client_keep_alive_requests_allocate_nothing_in_steady_state() {
    for (body, response) in [
        (ClientBody::None, LENGTH_RESPONSE),
        (ClientBody::Chunked, CHUNKED_RESPONSE),
    ] {
        let mut client = Client::new();
        client_allocations_for(&mut client, body, response, 100);
        let thousand = client_allocations_for(&mut client, body, response, 1_000);
        let ten_thousand = client_allocations_for(&mut client, body, response, 10_000);
        assert_eq!(
            (thousand, ten_thousand),
            (0, 0),
            "client allocations in steady state for {body:?}"
        );
    }
}

/// The client's chunked request is framed as it should be (so the test above measures the real
/// path): the head says chunked, each piece goes with its hex size line, the last chunk ends it.
#[test]
fn client_chunked_request_is_framed() {
    let mut client = Client::new();
    let now = client.now;
    let request = ClientRequest::new("POST", "/").header("Host", "h");
    let id = client.conn.send_request(now, request).unwrap();
    client
        .conn
        .write(now, id, Bytes::from(vec![b'x'; 26]))
        .unwrap();
    client.conn.end(now, id, None).unwrap();
    let mut wire = Vec::new();
    while let Some(chunk) = client.conn.pop_transmit(now) {
        wire.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(wire).unwrap();
    assert!(
        text.contains("Transfer-Encoding: chunked\r\n\r\n1a\r\n"),
        "{text:?}"
    );
    assert!(
        text.ends_with(&format!("{}\r\n0\r\n\r\n", "x".repeat(26))),
        "{text:?}"
    );
}
