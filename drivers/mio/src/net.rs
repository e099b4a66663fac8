//! The OS socket kinds behind one interface: a stream is TCP or Unix, a listener is TCP or
//! Unix. Nothing here knows a protocol.

use std::io::{self, IoSlice, Read};
use std::net::{Shutdown, SocketAddr};
use std::path::Path;

use mio::event::Source;
use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Interest, Registry, Token};
use sansnet_tcp::Address;
use socket2::{Domain, Protocol, SockRef, TcpKeepalive, Type};

/// A connected stream socket.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    /// Starts a non-blocking connect; completion shows as writable readiness.
    pub(crate) fn connect(address: &Address) -> io::Result<Self> {
        Ok(match address {
            Address::Tcp(addr) => Self::Tcp(TcpStream::connect(*addr)?),
            Address::Unix(path) => Self::Unix(UnixStream::connect(path)?),
        })
    }

    /// After writable readiness during a connect: `Ok(true)` connected, `Ok(false)` still in
    /// progress (a spurious wake-up), `Err` the connect failed.
    pub(crate) fn finish_connect(&self) -> io::Result<bool> {
        let (error, peer) = match self {
            Self::Tcp(s) => (s.take_error()?, s.peer_addr().map(|_| ())),
            Self::Unix(s) => (s.take_error()?, s.peer_addr().map(|_| ())),
        };
        if let Some(error) = error {
            return Err(error);
        }
        match peer {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => s.read(buf),
            Self::Unix(s) => s.read(buf),
        }
    }

    /// A vectored write with `MSG_NOSIGNAL` (`sendmsg(2)`): a peer that reset the connection
    /// makes it fail with `EPIPE` and never raises `SIGPIPE`, whatever the process's signal
    /// settings (in Node, `SIGPIPE` is ignored by default: Node docs, process.md › Signal
    /// events).
    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Self::Tcp(s) => SockRef::from(&*s).send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL),
            Self::Unix(s) => SockRef::from(&*s).send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL),
        }
    }

    pub(crate) fn shutdown_write(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.shutdown(Shutdown::Write),
            Self::Unix(s) => s.shutdown(Shutdown::Write),
        }
    }

    /// `TCP_NODELAY`; a no-op on Unix sockets, which have no Nagle.
    pub(crate) fn set_no_delay(&self, on: bool) -> io::Result<()> {
        match self {
            Self::Tcp(s) => s.set_nodelay(on),
            Self::Unix(_) => Ok(()),
        }
    }

    /// `SO_KEEPALIVE` with Node's probe settings (idle = delay, interval 1 s, 10 probes;
    /// Node docs `net.md` › `socket.setKeepAlive()`); a no-op on Unix sockets.
    pub(crate) fn set_keep_alive(&self, delay: Option<std::time::Duration>) -> io::Result<()> {
        let Self::Tcp(s) = self else { return Ok(()) };
        let sock = SockRef::from(s);
        match delay {
            None => sock.set_keepalive(false),
            Some(delay) => {
                let mut keepalive = TcpKeepalive::new()
                    .with_interval(std::time::Duration::from_secs(1))
                    .with_retries(10);
                if !delay.is_zero() {
                    keepalive = keepalive.with_time(delay);
                }
                sock.set_tcp_keepalive(&keepalive)
            }
        }
    }

    /// Makes the next close send RST (`SO_LINGER` 0); a no-op on Unix sockets.
    pub(crate) fn set_reset_on_close(&self) -> io::Result<()> {
        match self {
            Self::Tcp(s) => SockRef::from(s).set_linger(Some(std::time::Duration::ZERO)),
            Self::Unix(_) => Ok(()),
        }
    }

    pub(crate) fn local_address(&self) -> Option<Address> {
        match self {
            Self::Tcp(s) => s.local_addr().ok().map(Address::Tcp),
            Self::Unix(s) => unix_address(s.local_addr().ok()?),
        }
    }

    pub(crate) fn peer_address(&self) -> Option<Address> {
        match self {
            Self::Tcp(s) => s.peer_addr().ok().map(Address::Tcp),
            Self::Unix(s) => unix_address(s.peer_addr().ok()?),
        }
    }

    pub(crate) fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let interest = Interest::READABLE | Interest::WRITABLE;
        match self {
            Self::Tcp(s) => s.register(registry, token, interest),
            Self::Unix(s) => s.register(registry, token, interest),
        }
    }

    pub(crate) fn deregister(&mut self, registry: &Registry) {
        // Deregistering a socket about to be closed can only fail if it was never registered.
        let _ = match self {
            Self::Tcp(s) => s.deregister(registry),
            Self::Unix(s) => s.deregister(registry),
        };
    }
}

fn unix_address(addr: std::os::unix::net::SocketAddr) -> Option<Address> {
    Some(Address::Unix(
        addr.as_pathname()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    ))
}

/// A listening socket.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    /// The path is the file this listener created, unlinked on close
    /// (docs/node-semantics.md#unix-unlink-on-close).
    Unix(UnixListener, std::path::PathBuf),
}

impl Listener {
    /// Binds and listens with `backlog`; the TCP socket gets `SO_REUSEADDR`, as in Node, and
    /// `SO_REUSEPORT` when `reuse_port` is set (Node's `reusePort`, Node docs `net.md` ›
    /// `server.listen(options[, callback])`). A Unix socket path ignores `reuse_port`.
    pub(crate) fn bind(
        address: &Address,
        backlog: u32,
        reuse_port: bool,
    ) -> io::Result<(Self, Address)> {
        match address {
            Address::Tcp(addr) => {
                let socket = socket2::Socket::new(
                    Domain::for_address(*addr),
                    Type::STREAM,
                    Some(Protocol::TCP),
                )?;
                socket.set_reuse_address(true)?;
                if reuse_port {
                    socket.set_reuse_port(true)?;
                }
                socket.bind(&(*addr).into())?;
                socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
                socket.set_nonblocking(true)?;
                let listener = TcpListener::from_std(socket.into());
                let bound = listener.local_addr()?;
                Ok((Self::Tcp(listener), Address::Tcp(bound)))
            }
            Address::Unix(path) => {
                // Linux's `sun_path` holds 107 bytes and a NUL
                // (docs/node-semantics.md#unix-path-length); say so plainly.
                if path.as_os_str().len() > 107 {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidFilename,
                        "unix socket path longer than 107 bytes",
                    ));
                }
                let listener = UnixListener::bind(path)?;
                Ok((
                    Self::Unix(listener, path.clone()),
                    Address::Unix(path.clone()),
                ))
            }
        }
    }

    /// Accepts one connection; `WouldBlock` when none is pending.
    pub(crate) fn accept(&self) -> io::Result<Stream> {
        Ok(match self {
            Self::Tcp(l) => Stream::Tcp(l.accept()?.0),
            Self::Unix(l, _) => Stream::Unix(l.accept()?.0),
        })
    }

    pub(crate) fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        match self {
            Self::Tcp(l) => l.register(registry, token, Interest::READABLE),
            Self::Unix(l, _) => l.register(registry, token, Interest::READABLE),
        }
    }

    /// Stops polling, closes the socket and unlinks a Unix socket file.
    pub(crate) fn close(mut self, registry: &Registry) {
        let _ = match &mut self {
            Self::Tcp(l) => l.deregister(registry),
            Self::Unix(l, _) => l.deregister(registry),
        };
        if let Self::Unix(_, path) = &self {
            // The file may already be gone (removed by hand); nothing to report then.
            let _ = std::fs::remove_file(path);
        }
    }
}

/// One descriptor held back for the moment `accept` fails because the process or the system
/// has none left (`EMFILE`, `ENFILE`), as libuv keeps one per loop (src/unix/stream.c,
/// `uv__emfile_trick`, under Node's servers).
///
/// An edge-triggered poller announces a listener's queue once; connections left in it after a
/// failed `accept` would wait unannounced, and so would every one that queues behind them. So
/// the reserve is given up, each waiting connection is accepted and closed at once (its client
/// sees the connection end, as with Node), and the reserve is taken back.
#[derive(Debug)]
pub(crate) struct Reserve(Option<std::fs::File>);

impl Reserve {
    pub(crate) fn new() -> Self {
        Self(Self::open())
    }

    fn open() -> Option<std::fs::File> {
        std::fs::File::open("/").ok()
    }

    /// Whether `error` says that no descriptor is left.
    pub(crate) fn exhausted(error: &io::Error) -> bool {
        matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
    }

    /// Closes every connection waiting on `listener` with the reserved descriptor's help;
    /// returns how many. Without a reserve (it could not be taken back last time) nothing is
    /// closed, and the next readiness tries again, as libuv does.
    pub(crate) fn reject_waiting(&mut self, listener: &Listener) -> usize {
        if self.0.take().is_none() {
            self.0 = Self::open();
            return 0;
        }
        let mut closed = 0;
        loop {
            match listener.accept() {
                Ok(stream) => {
                    drop(stream);
                    closed += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // WouldBlock: the queue is empty. Anything else: the next readiness.
                Err(_) => break,
            }
        }
        self.0 = Self::open();
        closed
    }
}

/// Binds a non-blocking UDP socket (with `SO_REUSEADDR` if asked).
pub(crate) fn bind_udp(
    address: SocketAddr,
    reuse_address: bool,
) -> io::Result<mio::net::UdpSocket> {
    let socket = socket2::Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    if reuse_address {
        socket.set_reuse_address(true)?;
    }
    socket.bind(&address.into())?;
    socket.set_nonblocking(true)?;
    Ok(mio::net::UdpSocket::from_std(socket.into()))
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    /// A write to a socket whose peer is gone fails with `EPIPE` and raises no `SIGPIPE`; the
    /// same write without `MSG_NOSIGNAL` (the twin, so the test can fail) raises it. A handler
    /// that only sets a flag replaces the runtime's `SIG_IGN` for this test binary.
    #[test]
    fn write_to_a_gone_peer_is_epipe_without_sigpipe() {
        let raised = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGPIPE, raised.clone()).unwrap();

        let (plain, gone) = std::os::unix::net::UnixStream::pair().unwrap();
        drop(gone);
        // std's `writev` (what the driver called before) takes no flags.
        let err = (&plain).write_vectored(&[IoSlice::new(b"x")]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert!(
            raised.swap(false, Ordering::SeqCst),
            "writev raises SIGPIPE"
        );

        let (ours, gone) = std::os::unix::net::UnixStream::pair().unwrap();
        drop(gone);
        let mut stream = Stream::Unix(UnixStream::from_std(ours));
        let err = stream.write_vectored(&[IoSlice::new(b"x")]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert!(
            !raised.load(Ordering::SeqCst),
            "the driver's write raised SIGPIPE"
        );
    }
}
