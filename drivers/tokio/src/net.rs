//! The OS socket kinds a connection's task drives: a stream is TCP or Unix, a listener is TCP
//! or Unix. Nothing here knows a protocol.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sansnet_tcp::Address;
use socket2::SockRef;
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// A connected stream socket for [`crate::spawn`]: TCP or a Unix domain socket (Node's
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

    pub(crate) async fn readable(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.readable().await,
            Self::Unix(s) => s.readable().await,
        }
    }

    pub(crate) async fn writable(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.writable().await,
            Self::Unix(s) => s.writable().await,
        }
    }

    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.try_read(buf),
            Self::Unix(s) => s.try_read(buf),
        }
    }

    pub(crate) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.try_write_vectored(bufs),
            Self::Unix(s) => s.try_write_vectored(bufs),
        }
    }

    fn sock_ref(&self) -> SockRef<'_> {
        match self {
            Self::Tcp(s) => SockRef::from(s),
            Self::Unix(s) => SockRef::from(s),
        }
    }

    /// Sends the FIN (`shutdown(SHUT_WR)`).
    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        self.sock_ref().shutdown(std::net::Shutdown::Write)
    }

    /// Makes the close that follows send RST (`SO_LINGER` 0); a no-op on Unix sockets.
    pub(crate) fn set_reset(&self) {
        if let Self::Tcp(s) = self {
            let _ = SockRef::from(s).set_linger(Some(Duration::ZERO));
        }
    }

    /// `TCP_NODELAY`; a no-op on Unix sockets.
    pub(crate) fn set_nodelay(&self, on: bool) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.set_nodelay(on),
            Self::Unix(_) => Ok(()),
        }
    }

    /// `SO_KEEPALIVE` with `delay` as the idle time (`None`: off); a no-op on Unix sockets.
    pub(crate) fn set_keepalive(&self, delay: Option<Duration>) -> io::Result<()> {
        let Self::Tcp(s) = self else { return Ok(()) };
        let socket = SockRef::from(s);
        match delay {
            None => socket.set_keepalive(false),
            Some(delay) => socket.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(delay)),
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
    /// Accepts one connection.
    pub(crate) async fn accept(&self) -> io::Result<Stream> {
        Ok(match self {
            Self::Tcp(l) => Stream::Tcp(l.accept().await?.0),
            Self::Unix(l) => Stream::Unix(l.accept().await?.0),
        })
    }

    /// `server.address()`: the bound address, or the socket file's path (empty for an
    /// unnamed socket).
    pub(crate) fn address(&self) -> io::Result<Address> {
        Ok(match self {
            Self::Tcp(l) => Address::Tcp(l.local_addr()?),
            Self::Unix(l) => {
                let addr = l.local_addr()?;
                Address::Unix(addr.as_pathname().map(PathBuf::from).unwrap_or_default())
            }
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
            // The file may already be gone (removed by hand); nothing to report then.
            let _ = std::fs::remove_file(path);
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
