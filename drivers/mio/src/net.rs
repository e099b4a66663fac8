//! The OS socket kinds behind one interface, as mio types: a stream is TCP or Unix, a
//! listener is TCP or Unix. What is done with them is `sansnet_os`'s; nothing here knows a
//! protocol.

use std::io::{self, IoSlice, Read};
use std::os::fd::{AsFd, BorrowedFd};

use mio::event::Source;
use mio::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use mio::{Interest, Registry, Token};
use sansnet_core::Action;
use sansnet_os::{Transport, listen, socket};
use sansnet_tcp::Address;

/// A connected stream socket.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Self::Tcp(s) => s.as_fd(),
            Self::Unix(s) => s.as_fd(),
        }
    }
}

impl Stream {
    /// Starts a non-blocking connect; completion shows as writable readiness.
    pub(crate) fn connect(address: &Address) -> io::Result<Self> {
        Ok(match address {
            Address::Tcp(addr) => Self::Tcp(TcpStream::connect(*addr)?),
            Address::Unix(path) => Self::Unix(UnixStream::connect(path)?),
        })
    }

    pub(crate) fn local_address(&self) -> Option<Address> {
        match self {
            Self::Tcp(s) => s.local_addr().ok().map(Address::Tcp),
            Self::Unix(s) => Some(socket::unix_address(&s.local_addr().ok()?)),
        }
    }

    pub(crate) fn peer_address(&self) -> Option<Address> {
        match self {
            Self::Tcp(s) => s.peer_addr().ok().map(Address::Tcp),
            Self::Unix(s) => Some(socket::unix_address(&s.peer_addr().ok()?)),
        }
    }

    pub(crate) fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let interest = Interest::READABLE | Interest::WRITABLE;
        match self {
            Self::Tcp(s) => s.register(registry, token, interest),
            Self::Unix(s) => s.register(registry, token, interest),
        }
    }
}

/// A stream and the registry it is polled by: the drain rule's transport.
pub(crate) struct Io<'a>(pub(crate) &'a mut Stream, pub(crate) &'a Registry);

impl Transport for Io<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.0 {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        socket::send_vectored(&*self.0, bufs)
    }

    fn apply(&mut self, action: Action) -> io::Result<()> {
        if let Action::Close { .. } = action {
            // Deregistering a socket about to be closed can only fail if it was never
            // registered.
            let _ = match &mut self.0 {
                Stream::Tcp(s) => s.deregister(self.1),
                Stream::Unix(s) => s.deregister(self.1),
            };
        }
        socket::apply(&*self.0, action)
    }
}

/// A listening socket.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    /// The path is the file this listener created, unlinked on close.
    Unix(UnixListener, std::path::PathBuf),
}

impl Listener {
    /// `sansnet_os::listen::bind`, as a mio listener.
    pub(crate) fn bind(
        address: &Address,
        backlog: u32,
        reuse_port: bool,
    ) -> io::Result<(Self, Address)> {
        let (listener, bound) = listen::bind(address, backlog, reuse_port)?;
        let listener = match listener {
            listen::Listener::Tcp(l) => Self::Tcp(TcpListener::from_std(l)),
            listen::Listener::Unix(l, path) => Self::Unix(UnixListener::from_std(l), path),
        };
        Ok((listener, bound))
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
            listen::unlink(path);
        }
    }
}
