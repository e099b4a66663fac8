//! `NetStream`: a connection's task seen as a `tokio::io::AsyncRead` + `AsyncWrite` byte
//! stream, its bytes still going through the socket machine (and TLS beneath it).

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use bytes::{Buf, Bytes};
use sansnet_stack::Event;
use sansnet_tcp::SocketEvent;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;

use crate::driver::Ticket;
use crate::{Closed, Events, Handle};

/// A connection driven by its own task ([`crate::spawn`], [`crate::connect`]) as a byte stream
/// for code written against `tokio::io` (`tokio::io::copy`, codecs, ...): reads are the
/// socket's `data` until its `end`; writes are `socket.write()`, waiting for `drain` once it
/// returned false (Node docs `net.md` › `Event: 'drain'`); `poll_shutdown` is `socket.end()`,
/// after which the peer gets its `'end'`. Every byte goes through the socket machine, and
/// through TLS when the stack has it (`Connection::with_tls_client`, `Acceptor::with_tls`).
///
/// The stream takes every event of the connection: `data`, `end`, `drain`, `error` and
/// `close` drive it, the others (`connect`, `timeout`, `secureConnect`, ...) are dropped.
/// The connection reads on only once the bytes of the last read were read from the stream,
/// so a slow reader slows the peer. Node's rules stay: a socket that is not half-open
/// (`SocketConfig::allow_half_open`) ends its side at the peer's `end`, so writes after a read
/// returned 0 fail with `EPIPE`. Dropping the stream is `socket.destroySoon()`: what was
/// written still goes out, then the socket closes.
#[derive(Debug)]
pub struct NetStream {
    handle: Handle,
    events: Events,
    /// The tasks polling this stream to read and to write, woken by the one waker that the
    /// connection's events are polled with (`tokio::io::split` polls from two tasks).
    wakers: Arc<Wakers>,
    waker: Waker,
    /// Data received and not read yet, each chunk with its ticket.
    chunks: VecDeque<(Bytes, Ticket)>,
    /// The peer's `end` (or the connection's `close`) came: reads return 0 after the chunks.
    eof: bool,
    /// The connection closed: nothing more can be written.
    closed: bool,
    /// The socket's `error`, reported by reads and writes.
    error: Option<sansnet_tcp::Error>,
    /// How many `drain` events came.
    drains: u64,
    /// The write in flight: the socket machine's answer, and `drains` when it was sent.
    write: Option<(oneshot::Receiver<Result<bool, sansnet_tcp::Error>>, u64)>,
    /// A write returned false when `drains` was this: writes wait for the next `drain`.
    blocked: Option<u64>,
    /// The `end()` in flight.
    ending: Option<oneshot::Receiver<Result<(), sansnet_tcp::Error>>>,
    /// `end()` was taken: writes fail from now on.
    ended: bool,
}

/// The reader's and the writer's wakers, woken together.
#[derive(Debug, Default)]
struct Wakers {
    read: Mutex<Option<Waker>>,
    write: Mutex<Option<Waker>>,
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        for slot in [&self.read, &self.write] {
            if let Some(waker) = slot.lock().unwrap_or_else(PoisonError::into_inner).take() {
                waker.wake();
            }
        }
    }
}

fn register(slot: &Mutex<Option<Waker>>, waker: &Waker) {
    let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
    match &*slot {
        Some(old) if old.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

impl NetStream {
    /// The stream of the connection behind `handle` and `events` (from [`crate::spawn`] or
    /// [`crate::connect`], before any event was taken).
    pub fn new(handle: Handle, events: Events) -> Self {
        let wakers = Arc::new(Wakers::default());
        Self {
            handle,
            events,
            waker: Waker::from(wakers.clone()),
            wakers,
            chunks: VecDeque::new(),
            eof: false,
            closed: false,
            error: None,
            drains: 0,
            write: None,
            blocked: None,
            ending: None,
            ended: false,
        }
    }

    /// Commands on the connection's stack (`setTimeout()`, `setNoDelay()`, `destroy()`, the
    /// TLS facts through `Connection::tls`, ...).
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Takes the events that came; returns whether any did.
    fn pump(&mut self) -> bool {
        let mut cx = Context::from_waker(&self.waker);
        let mut any = false;
        while let Poll::Ready(next) = self.events.poll_ticketed(&mut cx) {
            any = true;
            let Some((event, ticket)) = next else {
                // The task is over (its last event was `close`).
                self.eof = true;
                self.closed = true;
                break;
            };
            let Event::Socket(event) = event else {
                continue;
            };
            match event {
                SocketEvent::Data(data) => self.chunks.push_back((data, ticket)),
                SocketEvent::End => self.eof = true,
                SocketEvent::Drain => self.drains += 1,
                SocketEvent::Error(error) => self.error = Some(error),
                SocketEvent::Close { .. } => {
                    self.eof = true;
                    self.closed = true;
                }
                _ => {}
            }
        }
        any
    }

    /// The error a write gets on a connection that cannot take it.
    fn write_error(&self) -> io::Error {
        match &self.error {
            Some(error) => io_error(error),
            None => io::Error::new(io::ErrorKind::BrokenPipe, Closed),
        }
    }

    /// Ready once no write is in flight and none waits for `drain`.
    fn poll_writable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        register(&self.wakers.write, cx.waker());
        if let Some((answer, drains)) = &mut self.write {
            let drains = *drains;
            let answer = std::task::ready!(Pin::new(answer).poll(cx));
            self.write = None;
            match answer {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => self.blocked = Some(drains),
                Ok(Err(error)) => return Poll::Ready(Err(io_error(&error))),
                Err(_) => return Poll::Ready(Err(self.write_error())),
            }
        }
        while let Some(drains) = self.blocked {
            if self.drains > drains {
                self.blocked = None;
            } else if self.closed || self.error.is_some() {
                return Poll::Ready(Err(self.write_error()));
            } else if !self.pump() {
                return Poll::Pending;
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for NetStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        register(&this.wakers.read, cx.waker());
        loop {
            if let Some((chunk, _)) = this.chunks.front_mut() {
                let n = chunk.len().min(buf.remaining());
                buf.put_slice(&chunk[..n]);
                chunk.advance(n);
                if chunk.is_empty() {
                    // Its ticket goes with it: the connection may read on.
                    this.chunks.pop_front();
                }
                return Poll::Ready(Ok(()));
            }
            if let Some(error) = &this.error {
                return Poll::Ready(Err(io_error(error)));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            if !this.pump() {
                return Poll::Pending;
            }
        }
    }
}

impl AsyncWrite for NetStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_writable(cx))?;
        if this.ended || this.ending.is_some() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "write after end",
            )));
        }
        let data = Bytes::copy_from_slice(buf);
        let answer = this
            .handle
            .send(move |conn, now| conn.socket_mut().write(now, data))
            .map_err(|_| this.write_error())?;
        this.write = Some((answer, this.drains));
        Poll::Ready(Ok(buf.len()))
    }

    /// Ready once the socket machine took every write and is below its high-water mark (its
    /// queue drains on by itself).
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_writable(cx)
    }

    /// `socket.end()`: ready once the socket machine took it; its FIN follows the bytes
    /// written before it (after `close_notify` under TLS).
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(Ok(()));
        }
        std::task::ready!(this.poll_writable(cx))?;
        if this.ending.is_none() {
            let answer = this
                .handle
                .send(|conn, now| conn.socket_mut().end(now, None))
                .map_err(|_| this.write_error())?;
            this.ending = Some(answer);
        }
        let Some(ending) = &mut this.ending else {
            return Poll::Ready(Ok(()));
        };
        let answer = std::task::ready!(Pin::new(ending).poll(cx));
        this.ending = None;
        this.ended = true;
        Poll::Ready(match answer {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(io_error(&error)),
            Err(_) => Err(this.write_error()),
        })
    }
}

impl Drop for NetStream {
    fn drop(&mut self) {
        // The task may be over already: nothing to close then.
        let _ = self
            .handle
            .send(|conn, now| conn.socket_mut().destroy_soon(now));
    }
}

/// The socket's error as an `io::Error` of the same kind (`Other` for a TLS or usage error),
/// carrying it: `get_ref()` and `downcast` give the `sansnet_tcp::Error` back.
fn io_error(error: &sansnet_tcp::Error) -> io::Error {
    let kind = match error {
        sansnet_tcp::Error::Io(kind) => *kind,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, error.clone())
}
