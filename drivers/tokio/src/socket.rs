//! A connection driven by the task that owns it ([`Socket`]: Node's `net.Socket` events), and
//! the same as a `tokio::io` byte stream ([`NetStream`]).

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker, ready};
use std::time::Instant;

use bytes::{Buf, Bytes};
use sansnet_stack::{Connection, Event};
use sansnet_tcp::{Address, SocketEvent};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::oneshot;

use crate::driver::{Io, Want};
use crate::net::Stream;

/// A connection stack ([`Connection`]) over a TCP or Unix stream, driven by the task that
/// awaits it, with no task or channel of its own: Node's `net.Socket` over tokio.
///
/// [`Socket::next_event`] runs the drain rule until the stack has an event: it reads only
/// once every earlier event was taken, so what the application does in answer to one
/// event (a `write`, an `end`, through [`Socket::conn_mut`]) reaches the machines before the
/// next read or the peer's FIN, as a `'data'` listener's `write` does in Node. Bytes move
/// while `next_event` or [`Socket::flush`] is awaited: keep calling `next_event` until it
/// returns `None` after `close`. Dropping a socket that is still open leaves it to a task of
/// its own, which drives it until it closes.
///
/// # Example
///
/// An echo of every `data` (Node's `socket.on('data', (d) => socket.write(d))`):
///
/// ```
/// use std::time::Instant;
/// use sansnet_stack::{Connection, Event};
/// use sansnet_tcp::{SocketConfig, SocketEvent};
/// use sansnet_tokio::Socket;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
///     let mut client = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
///     let (stream, _) = listener.accept().await?;
///     tokio::spawn(async move {
///         let conn = Connection::accepted(Instant::now(), SocketConfig::default());
///         let mut socket = Socket::new(conn, stream);
///         while let Some(event) = socket.next_event().await {
///             if let Event::Socket(SocketEvent::Data(data)) = event {
///                 let _ = socket.conn_mut().socket_mut().write(Instant::now(), data);
///             }
///         }
///     });
///     client.write_all(b"hello").await?;
///     let mut echoed = [0; 5];
///     client.read_exact(&mut echoed).await?;
///     assert_eq!(&echoed, b"hello");
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct Socket {
    conn: Connection,
    io: Io,
    /// The last look at the stack's events found none: the next round may read.
    idle: bool,
    /// Dropped by its application and driven to its close by a task of its own.
    lingering: bool,
    /// Dropped once the socket closed: the connection of a server is one of its own until
    /// then, for `Server::close`.
    pub(crate) tracked: Option<oneshot::Sender<()>>,
}

impl Socket {
    /// Drives `conn`, the stack of the accepted (or connected) `stream`: a
    /// `tokio::net::TcpStream` or `UnixStream` (see [`Stream`]).
    pub fn new(conn: Connection, stream: impl Into<Stream>) -> Self {
        Self::from_parts(conn, Io::new(Some(stream.into())))
    }

    /// `net.connect()`: connects to `address` (a `SocketAddr`, or `Address::Unix(path)` for
    /// `net.connect(path)`) and drives `conn` (made with [`Connection::connect`]) on the new
    /// socket; a failed connect ends it with the error (its events say so).
    pub async fn connect(mut conn: Connection, address: impl Into<Address>) -> Self {
        let mut io = Io::new(None);
        io.connected(&mut conn, Stream::connect(&address.into()).await);
        Self::from_parts(conn, io)
    }

    pub(crate) fn from_parts(conn: Connection, io: Io) -> Self {
        Self {
            conn,
            io,
            idle: false,
            lingering: false,
            tracked: None,
        }
    }

    /// The connection's stack, for getters.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection's stack, for commands: `socket_mut().write()`, `end()`,
    /// `setTimeout()`, `start_ws`, ...
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The next event; `None` after the last (`close`).
    pub async fn next_event(&mut self) -> Option<Event> {
        poll_fn(|cx| self.poll_next_event(cx)).await
    }

    /// [`Socket::next_event`] as a poll.
    pub fn poll_next_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        // One clock read per poll and per wait: rounds that do not wait run at one moment.
        let mut now = Instant::now();
        loop {
            let moved = self.io.round(now, &mut self.conn, self.idle);
            if let Some(event) = self.conn.poll_event() {
                self.idle = false;
                return Poll::Ready(Some(event));
            }
            // Every event was taken: the next round may read (or carry on with input kept).
            let was_idle = std::mem::replace(&mut self.idle, true);
            if moved || !was_idle {
                continue;
            }
            // Closed, and nothing moved that could still bring its last events up the stack.
            if self.conn.is_closed() {
                self.tracked = None;
                return Poll::Ready(None);
            }
            ready!(self.io.poll_wait(cx, self.io.want(&self.conn), None));
            now = Instant::now();
        }
    }

    /// Writes what the stack has queued, reading nothing meanwhile; done once the OS took it
    /// all (or the socket closed). Events that come meanwhile wait for `next_event`.
    pub async fn flush(&mut self) {
        poll_fn(|cx| self.poll_flush(cx)).await;
    }

    /// [`Socket::flush`] as a poll.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut now = Instant::now();
        loop {
            let moved = self.io.round(now, &mut self.conn, false);
            let want = self.io.want(&self.conn);
            if !want.write && !moved {
                return Poll::Ready(());
            }
            if !moved {
                let want = Want {
                    read: false,
                    ..want
                };
                ready!(self.io.poll_wait(cx, want, None));
                now = Instant::now();
            }
        }
    }
}

impl Drop for Socket {
    /// A socket dropped while open is driven to its close by a task of its own (when there
    /// is a runtime), as Node keeps a socket that no one listens to: what was written goes
    /// out, and the machines answer the peer (a WebSocket's Pings and Close) until it ends.
    fn drop(&mut self) {
        // A runtime shutting down drops the lingering task's socket: nothing more to do.
        if self.conn.is_closed() || self.lingering {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let placeholder = Connection::accepted(Instant::now(), Default::default());
        let conn = std::mem::replace(&mut self.conn, placeholder);
        let mut socket = Self::from_parts(conn, std::mem::take(&mut self.io));
        socket.lingering = true;
        socket.tracked = self.tracked.take();
        runtime.spawn(async move { while socket.next_event().await.is_some() {} });
    }
}

/// A [`Socket`] as a byte stream for code written against `tokio::io` (`tokio::io::copy`,
/// codecs, ...): reads are the socket's `data` until its `end`; writes are `socket.write()`,
/// which waits for the queue to drain once it returned false (Node docs `net.md` ›
/// `Event: 'drain'`); `poll_shutdown` is `socket.end()`, after which the peer gets its
/// `'end'`. Every byte goes through the socket machine, and through TLS when the stack has it
/// (`Connection::with_tls_client`, `Acceptor::with_tls`).
///
/// The stream reads the socket's events: `data`, `end`, `error` and `close` drive it, the
/// others are passed over. It reads on only once the bytes of the last read were read from
/// the stream, so a slow reader slows the peer. Node's rules stay: a socket that is not
/// half-open (`SocketConfig::allow_half_open`) ends its side at the peer's `end`, so writes
/// after a read returned 0 fail. Dropping the stream is `socket.destroySoon()`: what was
/// written still goes out, then the socket closes. It can be split (`tokio::io::split`) and
/// its halves polled from two tasks.
#[derive(Debug)]
pub struct NetStream {
    socket: Socket,
    /// The tasks polling this stream to read and to write, woken by the one waker that the
    /// socket is polled with.
    wakers: Arc<Wakers>,
    waker: Waker,
    /// Data received and not read yet.
    chunk: Bytes,
    /// The peer's `end` (or the connection's `close`) came: reads return 0 after the chunk.
    eof: bool,
    /// The socket's `error`, reported by reads.
    error: Option<sansnet_tcp::Error>,
    /// A write returned false: the next waits for the queue to drain.
    blocked: bool,
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

/// Registers `waker` in `slot`: the socket, polled with the one waker of [`Wakers`], wakes it.
fn register(slot: &Mutex<Option<Waker>>, waker: &Waker) {
    let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
    if !slot.as_ref().is_some_and(|old| old.will_wake(waker)) {
        *slot = Some(waker.clone());
    }
}

impl NetStream {
    /// The stream of `socket` (before any of its events was taken).
    pub fn new(socket: Socket) -> Self {
        let wakers = Arc::new(Wakers::default());
        Self {
            socket,
            waker: Waker::from(wakers.clone()),
            wakers,
            chunk: Bytes::new(),
            eof: false,
            error: None,
            blocked: false,
            ended: false,
        }
    }

    /// The connection's stack, for commands (`setTimeout()`, `setNoDelay()`, `destroy()`,
    /// the TLS facts through `Connection::tls`, ...).
    pub fn conn_mut(&mut self) -> &mut Connection {
        self.socket.conn_mut()
    }

    /// Waits for a queue past the high-water mark to drain.
    fn poll_drained(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.blocked {
            register(&self.wakers.write, cx.waker());
            ready!(
                self.socket
                    .poll_flush(&mut Context::from_waker(&self.waker))
            );
            self.blocked = false;
        }
        Poll::Ready(())
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
            if !this.chunk.is_empty() {
                let n = this.chunk.len().min(buf.remaining());
                buf.put_slice(&this.chunk[..n]);
                this.chunk.advance(n);
                return Poll::Ready(Ok(()));
            }
            if let Some(error) = &this.error {
                return Poll::Ready(Err(io_error(error)));
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            let event = ready!(
                this.socket
                    .poll_next_event(&mut Context::from_waker(&this.waker))
            );
            match event {
                Some(Event::Socket(SocketEvent::Data(data))) => this.chunk = data,
                Some(Event::Socket(SocketEvent::Error(error))) => this.error = Some(error),
                Some(Event::Socket(SocketEvent::End | SocketEvent::Close { .. })) | None => {
                    this.eof = true;
                }
                Some(_) => {}
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
        ready!(this.poll_drained(cx));
        if this.ended {
            let error = io::Error::new(io::ErrorKind::BrokenPipe, "write after end");
            return Poll::Ready(Err(error));
        }
        let now = Instant::now();
        let data = Bytes::copy_from_slice(buf);
        match this.socket.conn_mut().socket_mut().write(now, data) {
            Ok(below) => this.blocked = !below,
            Err(error) => return Poll::Ready(Err(io_error(&error))),
        }
        // Toward the OS at once, as a `TcpStream`'s write: one round, no waiting.
        this.socket.io.round(now, &mut this.socket.conn, false);
        Poll::Ready(Ok(buf.len()))
    }

    /// Ready once the OS took every byte written.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.blocked = true;
        this.poll_drained(cx).map(Ok)
    }

    /// `socket.end()`: ready once its FIN followed the bytes written before it (after
    /// `close_notify` under TLS).
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.ended {
            this.ended = true;
            let end = this
                .socket
                .conn_mut()
                .socket_mut()
                .end(Instant::now(), None);
            end.map_err(|error| io_error(&error))?;
        }
        this.blocked = true;
        this.poll_drained(cx).map(Ok)
    }
}

impl Drop for NetStream {
    fn drop(&mut self) {
        self.socket
            .conn_mut()
            .socket_mut()
            .destroy_soon(Instant::now());
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
