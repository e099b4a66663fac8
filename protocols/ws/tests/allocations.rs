//! Heap allocations per message in steady state: a counting global allocator watches
//! WebSocket messages go through a server-role `Connection` (masked client frames in, `Message`
//! events out, the same payload echoed back, the frames drained through `transmit_chunks` as
//! the driver does) after a warm-up, and the count must not grow with the number of messages:
//! it is zero.
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
use std::time::Instant;

use bytes::BytesMut;
use sansnet_ws::{Config, Connection, Received, Role, WsEvent};

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

/// The client's masking key for every frame.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// One final, masked frame of `opcode` carrying `data`, as a client sends it (RFC 6455 §5.2).
fn masked_frame(opcode: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    match data.len() {
        len @ 0..=125 => out.push(0x80 | u8::try_from(len).expect("at most 125")),
        len => {
            out.push(0x80 | 126);
            out.extend_from_slice(&u16::try_from(len).expect("a 16-bit length").to_be_bytes());
        }
    }
    out.extend_from_slice(&MASK);
    out.extend(data.iter().zip(MASK.iter().cycle()).map(|(b, m)| b ^ m));
    out
}

/// A server connection, its read buffer, and the time it runs at.
struct Server {
    conn: Connection,
    buf: BytesMut,
    now: Instant,
}

impl Server {
    fn new() -> Self {
        Self::with(None)
    }

    /// A server with permessage-deflate agreed (RFC 7692) but a threshold above every message
    /// here, so nothing is compressed either way.
    #[cfg(feature = "deflate")]
    fn deflate_unused() -> Self {
        Self::with(Some(sansnet_ws::deflate::Agreed {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            threshold: 64 * 1024,
            level: 6,
        }))
    }

    fn with(deflate: Option<sansnet_ws::deflate::Agreed>) -> Self {
        let config = Config {
            message_at_a_time: false,
            ..Config::default()
        };
        let conn = Connection::new(Role::Server, config, Box::new(|_: &mut [u8]| {}))
            .with_deflate(deflate);
        Self {
            conn,
            buf: BytesMut::with_capacity(4096),
            now: Instant::now(),
        }
    }

    /// Feeds `frame` as one read, echoes the message it carries, and writes every byte out
    /// through `transmit_chunks`/`advance_transmit`; returns the bytes written.
    fn echo(&mut self, frame: &[u8]) -> usize {
        self.buf.extend_from_slice(frame);
        self.conn.handle_input(self.now, &mut self.buf);
        let mut echoed = 0;
        while let Some(event) = self.conn.poll_event() {
            let WsEvent::Message(message) = event else {
                unreachable!("only messages arrive here: {event:?}");
            };
            assert!(
                self.conn
                    .send(self.now, message)
                    .expect("the connection is open")
            );
            echoed += 1;
        }
        assert_eq!(echoed, 1, "one frame, one message");
        assert!(self.buf.is_empty(), "the whole frame was consumed");
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

impl Server {
    /// [`Server::echo`] through `handle_input_with`: the message lent, echoed with
    /// `send_text`/`send_binary` inside the callback.
    fn echo_lent(&mut self, frame: &[u8]) -> usize {
        self.buf.extend_from_slice(frame);
        let now = self.now;
        let mut echoed = 0;
        self.conn
            .handle_input_with(now, &mut self.buf, |conn, received| {
                let sent = match received {
                    Received::Text(text) => conn.send_text(now, text),
                    Received::Binary(data) => conn.send_binary(now, data),
                    other => unreachable!("only whole messages arrive here: {other:?}"),
                };
                assert!(sent.expect("the connection is open"));
                echoed += 1;
            });
        assert_eq!(echoed, 1, "one frame, one message");
        assert!(self.buf.is_empty(), "the whole frame was consumed");
        let mut written = 0;
        while let Some(chunk) = self.conn.pop_transmit(now) {
            written += chunk.len();
        }
        written
    }
}

/// Allocations made by `count` echoes of `frame`.
fn allocations_for(server: &mut Server, frame: &[u8], count: usize) -> u64 {
    let before = allocations();
    for _ in 0..count {
        assert!(server.echo(frame) > 0);
    }
    allocations() - before
}

/// No allocation per message in steady state: after a warm-up, 10,000
/// echoed messages (text and binary, 40 B to 4 KiB) allocate no more than 1,000 do, and in
/// fact nothing at all: payloads are split from the read buffer and unmasked in place; sent
/// back, a small one is copied next to its header in the connection's reused frame arena, a
/// larger one is queued as the same `Bytes`.
#[test]
fn echoed_messages_allocate_nothing_in_steady_state() {
    assert_no_allocations(Server::new);
}

/// The same with permessage-deflate agreed but unused (every message below the threshold, no
/// RSV1): the codec costs nothing per message.
#[cfg(feature = "deflate")]
#[test]
fn echoed_messages_allocate_nothing_with_deflate_agreed_but_unused() {
    assert!(Server::deflate_unused().conn.deflate_enabled());
    assert_no_allocations(Server::deflate_unused);
}

/// The same with each message lent (`handle_input_with`) and echoed from the loan
/// (`send_text`/`send_binary`, which copy it into the frame arena, large ones too), with and
/// without permessage-deflate agreed but unused.
#[test]
fn lent_messages_echoed_allocate_nothing_in_steady_state() {
    let text = masked_frame(
        0x1,
        "{\"type\":\"chat\",\"text\":\"hello, world\"}".as_bytes(),
    );
    let binary = masked_frame(0x2, &[0xa5; 128]);
    let large = masked_frame(0x2, &[0x5a; 4096]);
    let servers: [fn() -> Server; 2] = [Server::new, deflate_or_plain];
    for server in servers {
        for frame in [&text, &binary, &large] {
            let mut server = server();
            for _ in 0..100 {
                server.echo_lent(frame);
            }
            let before = allocations();
            for _ in 0..10_000 {
                assert!(server.echo_lent(frame) > 0);
            }
            assert_eq!(
                allocations() - before,
                0,
                "allocations in steady state for a lent {}-byte frame",
                frame.len()
            );
        }
    }
}

/// A server with permessage-deflate agreed but unused, or a plain one without the feature.
fn deflate_or_plain() -> Server {
    #[cfg(feature = "deflate")]
    return Server::deflate_unused();
    #[cfg(not(feature = "deflate"))]
    Server::new()
}

/// Text and binary messages, 40 B to 4 KiB (below and above the size up to which a sent
/// payload is copied next to its header), echoed through a fresh server from `server`.
fn assert_no_allocations(server: fn() -> Server) {
    let text = masked_frame(
        0x1,
        "{\"type\":\"chat\",\"text\":\"hello, world\"}".as_bytes(),
    );
    let binary = masked_frame(0x2, &[0xa5; 128]);
    let large = masked_frame(0x2, &[0x5a; 4096]);
    for frame in [text, binary, large] {
        let mut server = server();
        allocations_for(&mut server, &frame, 100);
        let thousand = allocations_for(&mut server, &frame, 1_000);
        let ten_thousand = allocations_for(&mut server, &frame, 10_000);
        assert!(
            ten_thousand <= thousand,
            "allocations grow with messages: {thousand} for 1,000, {ten_thousand} for 10,000"
        );
        assert_eq!(
            (thousand, ten_thousand),
            (0, 0),
            "allocations in steady state for a {}-byte frame",
            frame.len()
        );
    }
}

/// The counter works: a `Vec` and a fresh connection allocate (so zero above means zero).
#[test]
fn the_counter_sees_allocations() {
    let before = allocations();
    let v: Vec<u8> = Vec::with_capacity(std::hint::black_box(64));
    drop(std::hint::black_box(v));
    let mut server = Server::new();
    server.echo(&masked_frame(0x2, b"x"));
    assert!(allocations() - before >= 2);
}
