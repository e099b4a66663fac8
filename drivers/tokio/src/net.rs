//! The OS socket kinds a connection's task drives: a stream is TCP or Unix, a listener is TCP
//! or Unix. Nothing here knows a protocol.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;
use std::task::{Context, Poll, Waker};

use sansnet_os::{listen, socket};
use sansnet_tcp::Address;
use tokio::io::Interest;
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// A connected stream socket for [`crate::Socket`]: TCP or a Unix domain socket (Node's
/// `net.Socket` is either). Made with `From` from a `tokio::net::TcpStream` or `UnixStream`.
#[derive(Debug)]
#[non_exhaustive]
pub enum Stream {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A Unix domain socket connection: `setNoDelay` and `setKeepAlive` do nothing on it, as
    /// in Node (Node docs `net.md` › `socket.setNoDelay([noDelay])`: Nagle's algorithm is
    /// TCP's).
    Unix(UnixStream),
}

impl Stream {
    /// Connects to `address` (`net.connect(port, host)` or `net.connect(path)`).
    pub(crate) async fn connect(address: &Address) -> io::Result<Self> {
        Ok(match address {
            Address::Tcp(addr) => Self::Tcp(TcpStream::connect(*addr).await?),
            Address::Unix(path) => Self::Unix(UnixStream::connect(path).await?),
        })
    }

    /// Ready once the OS says readable (tokio's `poll_read_ready`: the one waker of this
    /// task, no waiter list).
    pub(crate) fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(s) => s.poll_read_ready(cx),
            Self::Unix(s) => s.poll_read_ready(cx),
        }
    }

    /// Ready once the OS says writable.
    pub(crate) fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Self::Tcp(s) => s.poll_write_ready(cx),
            Self::Unix(s) => s.poll_write_ready(cx),
        }
    }

    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.try_read(buf),
            Self::Unix(s) => s.try_read(buf),
        }
    }

    /// A vectored write that never raises `SIGPIPE` (`sansnet_os::socket::send_vectored`),
    /// through tokio so that `WouldBlock` clears the readiness it saw.
    pub(crate) fn try_send_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.try_io(Interest::WRITABLE, || socket::send_vectored(s, bufs)),
            Self::Unix(s) => s.try_io(Interest::WRITABLE, || socket::send_vectored(s, bufs)),
        }
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Self::Tcp(s) => s.as_fd(),
            Self::Unix(s) => s.as_fd(),
        }
    }
}

impl From<TcpStream> for Stream {
    fn from(stream: TcpStream) -> Self {
        Self::Tcp(stream)
    }
}

impl From<UnixStream> for Stream {
    fn from(stream: UnixStream) -> Self {
        Self::Unix(stream)
    }
}

/// A listening socket for [`crate::serve`]: TCP or a Unix domain socket (Node's
/// `server.listen(port)` or `server.listen(path)`). Made with `From` from a
/// `tokio::net::TcpListener` or `UnixListener`; a Unix listener's socket file is unlinked on
/// `Server::close` (docs/node-semantics.md#unix-unlink-on-close).
#[derive(Debug)]
#[non_exhaustive]
pub enum Listener {
    /// A TCP listener.
    Tcp(TcpListener),
    /// A Unix domain socket listener.
    Unix(UnixListener),
}

impl Listener {
    /// Accepts one connection, or registers `cx` to be woken when one is waiting.
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<Stream>> {
        match self {
            Self::Tcp(l) => l.poll_accept(cx).map_ok(|(s, _)| Stream::Tcp(s)),
            Self::Unix(l) => l.poll_accept(cx).map_ok(|(s, _)| Stream::Unix(s)),
        }
    }

    /// Accepts one connection.
    pub(crate) async fn accept(&self) -> io::Result<Stream> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Accepts one connection now, or fails with `WouldBlock` (from the accepting task: the
    /// next `accept` registers its waker again).
    pub(crate) fn try_accept(&self) -> io::Result<Stream> {
        match self.poll_accept(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(accepted) => accepted,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// `server.address()`: the bound address, or the socket file's path (empty for an
    /// unnamed socket).
    pub(crate) fn address(&self) -> io::Result<Address> {
        Ok(match self {
            Self::Tcp(l) => Address::Tcp(l.local_addr()?),
            Self::Unix(l) => socket::unix_address(&l.local_addr()?.into()),
        })
    }

    /// Closes the socket and unlinks a Unix socket file
    /// (docs/node-semantics.md#unix-unlink-on-close).
    pub(crate) fn close(self) {
        let path = match &self {
            Self::Unix(l) => l
                .local_addr()
                .ok()
                .and_then(|addr| addr.as_pathname().map(PathBuf::from)),
            Self::Tcp(_) => None,
        };
        drop(self);
        if let Some(path) = path {
            listen::unlink(&path);
        }
    }
}

impl From<TcpListener> for Listener {
    fn from(listener: TcpListener) -> Self {
        Self::Tcp(listener)
    }
}

impl From<UnixListener> for Listener {
    fn from(listener: UnixListener) -> Self {
        Self::Unix(listener)
    }
}

/// The unspecified TCP address (`0.0.0.0:0`), which `Server::local_addr` gives for a Unix
/// listener.
pub(crate) fn unspecified() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}
