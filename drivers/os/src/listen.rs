//! Listening sockets with Node's options, and libuv's reserve descriptor for running out of
//! them on `accept`.

use std::io;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::Instant;

use sansnet_tcp::{Address, Admission, ConnectionId, Server};
use socket2::{Domain, Protocol, Type};

/// A non-blocking listening socket, for the runtime to wrap in its own type.
#[derive(Debug)]
pub enum Listener {
    /// A TCP listener.
    Tcp(std::net::TcpListener),
    /// A Unix listener and the file it created, to unlink on close with [`unlink`]
    /// (`docs/node-semantics.md#unix-unlink-on-close`).
    Unix(UnixListener, PathBuf),
}

/// Binds and listens with `backlog`, non-blocking: a TCP socket gets `SO_REUSEADDR`, as in
/// Node, and `SO_REUSEPORT` when `reuse_port` is set (Node's `reusePort`, Node docs `net.md`
/// › `server.listen(options[, callback])`); a Unix socket path ignores `reuse_port`. Returns
/// the listener and the address it is bound to (the port chosen for port 0).
pub fn bind(address: &Address, backlog: u32, reuse_port: bool) -> io::Result<(Listener, Address)> {
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
            let listener = std::net::TcpListener::from(socket);
            let bound = listener.local_addr()?;
            Ok((Listener::Tcp(listener), Address::Tcp(bound)))
        }
        Address::Unix(path) => {
            // Linux's `sun_path` holds 107 bytes and a NUL
            // (`docs/node-semantics.md#unix-path-length`); say so plainly.
            if path.as_os_str().len() > 107 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidFilename,
                    "unix socket path longer than 107 bytes",
                ));
            }
            let listener = UnixListener::bind(path)?;
            listener.set_nonblocking(true)?;
            Ok((Listener::Unix(listener, path.clone()), address.clone()))
        }
    }
}

/// Removes the file of a closed Unix listener; one already gone (removed by hand) is no
/// error.
pub fn unlink(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
}

/// Accepts every connection waiting on a listener (`accept` takes one, `WouldBlock` when none
/// is left) and asks `server`, the listener's `net.Server` machine, to admit each under the id
/// `next_id` gives; returns the admitted ones. A connection the machine drops
/// (`maxConnections`) is closed at once. Out of descriptors, the waiting connections are
/// closed with `reserve`'s help, so the queue never keeps connections that no readiness will
/// announce again.
pub fn accept_all<S>(
    server: &mut Server,
    now: Instant,
    reserve: &mut Reserve,
    mut next_id: impl FnMut() -> u64,
    mut accept: impl FnMut() -> io::Result<S>,
) -> Vec<(u64, S)> {
    let mut admitted = Vec::new();
    loop {
        match accept() {
            Ok(stream) => {
                let id = next_id();
                if server.handle_accept(now, ConnectionId(id)) == Admission::Accept {
                    admitted.push((id, stream));
                }
            }
            // A connection reset while it waited: the next one may be fine (libuv ignores
            // it too).
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                ) => {}
            Err(e) if Reserve::exhausted(&e) => {
                reserve.reject_waiting(|| accept().map(drop));
                return admitted;
            }
            // WouldBlock: all taken. Others (ENOBUFS, ENOMEM) are transient; Node retries on
            // the next readiness too.
            Err(_) => return admitted,
        }
    }
}

/// One descriptor held back for the moment `accept` fails because the process or the system
/// has none left (`EMFILE`, `ENFILE`), as libuv keeps one per loop under Node's servers (Node
/// source `deps/uv/src/unix/stream.c`, `uv__emfile_trick`).
///
/// An edge-triggered poller announces a listener's queue once; connections left in it after a
/// failed `accept` would wait unannounced, and so would every one that queues behind them. So
/// the reserve is given up, each waiting connection is accepted and closed at once (its client
/// sees the connection end, as with Node), and the reserve is taken back.
#[derive(Debug)]
pub struct Reserve(Option<std::fs::File>);

impl Default for Reserve {
    fn default() -> Self {
        Self(Self::open())
    }
}

impl Reserve {
    fn open() -> Option<std::fs::File> {
        std::fs::File::open("/").ok()
    }

    /// Whether `error` (from `accept`) says that no descriptor is left.
    pub fn exhausted(error: &io::Error) -> bool {
        matches!(error.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
    }

    /// Closes every connection waiting in a listener's queue with the reserved descriptor's
    /// help: `accept_one` accepts one connection and drops it. Returns how many. Without a
    /// reserve (it could not be taken back last time) nothing is closed and the next
    /// readiness tries again, as libuv does.
    pub fn reject_waiting(&mut self, mut accept_one: impl FnMut() -> io::Result<()>) -> usize {
        if self.0.take().is_none() {
            self.0 = Self::open();
            return 0;
        }
        let mut closed = 0;
        loop {
            match accept_one() {
                Ok(()) => closed += 1,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // WouldBlock: the queue is empty. Anything else: the next readiness.
                Err(_) => break,
            }
        }
        self.0 = Self::open();
        closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_closes_every_waiting_connection_and_is_taken_back() {
        let (Listener::Tcp(listener), Address::Tcp(bound)) =
            bind(&Address::Tcp(([127, 0, 0, 1], 0).into()), 16, false).unwrap()
        else {
            panic!("not a TCP listener");
        };
        let clients: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(bound).unwrap())
            .collect();
        let mut reserve = Reserve::default();
        let closed = reserve.reject_waiting(|| listener.accept().map(drop));
        assert_eq!(closed, clients.len());
        assert!(reserve.0.is_some());
        for mut client in clients {
            let mut buf = [0u8; 1];
            // The client sees its connection end.
            assert!(matches!(
                io::Read::read(&mut client, &mut buf),
                Ok(0) | Err(_)
            ));
        }
    }

    #[test]
    fn a_unix_path_too_long_is_refused_plainly() {
        let path = PathBuf::from(format!("/tmp/{}", "x".repeat(120)));
        let err = bind(&Address::Unix(path), 16, false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidFilename);
    }

    #[test]
    fn reuse_port_lets_two_listeners_share_a_port_and_only_then() {
        let any = Address::Tcp(([127, 0, 0, 1], 0).into());
        let (_first, bound) = bind(&any, 16, true).unwrap();
        assert!(bind(&bound, 16, true).is_ok());
        let (_alone, bound) = bind(&any, 16, false).unwrap();
        assert_eq!(
            bind(&bound, 16, true).unwrap_err().kind(),
            io::ErrorKind::AddrInUse
        );
    }
}
