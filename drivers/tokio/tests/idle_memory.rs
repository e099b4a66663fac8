//! What an idle keep-alive connection of `serve` holds: the heap bytes still allocated once
//! each of 200 connections got its response and went quiet, counted by a global allocator.
//! `benches/memory.sh` measures the same in resident memory beside hyper and Node.
#![allow(
    unsafe_code,
    reason = "a counting global allocator is an `unsafe impl GlobalAlloc` forwarding to `System`"
)]
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed expectation is a test failure"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use sansnet_tokio::{Response, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bytes allocated and not freed, by every thread.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

// SAFETY: every call forwards to `System` with the same arguments; the counter is a side note.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is `System::alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` through `alloc` or `realloc` with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract for `realloc` is `System::realloc`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// How many connections are held open.
const CONNECTIONS: usize = 200;

/// An idle connection holds its stack, its task and its timer, not a read buffer of its own
/// (every connection of a thread reads through one): under 16 KiB each, where a 64 KiB
/// buffer per connection made it about 68.
#[test]
fn an_idle_connection_holds_no_read_buffer() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = serve(listener, |_request| async { Response::new(200).body("hi") }).unwrap();
        let addr = server.local_addr();
        // One connection first: the runtime's and the server's own allocations come with it.
        let mut clients = vec![get(TcpStream::connect(addr).await.unwrap()).await];
        let before = LIVE.load(Ordering::Relaxed);
        for _ in 0..CONNECTIONS {
            clients.push(get(TcpStream::connect(addr).await.unwrap()).await);
        }
        let per_connection = (LIVE.load(Ordering::Relaxed) - before) / CONNECTIONS as isize;
        assert!(
            per_connection < 16 * 1024,
            "{per_connection} bytes per idle connection (the clients' own included)"
        );
        drop(clients);
        server.close().await;
    });
}

/// Sends one GET on `stream` and reads its whole response; returns the stream, kept open.
async fn get(mut stream: TcpStream) -> TcpStream {
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    while !response.ends_with(b"hi") {
        let mut buf = [0; 256];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "the response came whole: {response:?}");
        response.extend_from_slice(&buf[..n]);
    }
    stream
}
