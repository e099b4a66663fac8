//! A connected stream socket (TCP or Unix), as every driver treats it: each link action
//! carried out as Node does, writes that never raise `SIGPIPE`, the end of a non-blocking
//! connect.

use std::io::{self, IoSlice};
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;

use sansnet_core::Action;
use sansnet_tcp::Address;
use socket2::{SockRef, TcpKeepalive};

/// A vectored write with `MSG_NOSIGNAL` (`sendmsg(2)`): a peer that reset the connection
/// makes it fail with `EPIPE` and never raises `SIGPIPE`, whatever the process's signal
/// settings (in Node, `SIGPIPE` is ignored by default: Node docs, `process.md` › Signal
/// events).
pub fn send_vectored(socket: &impl AsFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    SockRef::from(socket).send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL)
}

/// Carries out `action` on `socket`, except what is the runtime's own: for `Close` it only
/// arms the RST (`SO_LINGER` 0) when `reset` is set; the runtime then stops polling the
/// socket and drops it.
///
/// - `Shutdown`: `shutdown(SHUT_WR)`, the FIN; a peer already gone is no error here (the
///   next read reports how it went).
/// - `SetNoDelay`: `TCP_NODELAY`.
/// - `SetKeepAlive`: `SO_KEEPALIVE` with Node's probes: idle time the delay given (the OS
///   default for zero), then one probe a second, ten of them (Node docs `net.md` ›
///   `socket.setKeepAlive()`).
///
/// The TCP options are no-ops on a Unix socket, as libuv applies them only to TCP handles.
pub fn apply(socket: &impl AsFd, action: Action) -> io::Result<()> {
    let socket = SockRef::from(socket);
    let result = match action {
        Action::Shutdown => match socket.shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        },
        Action::Close { reset: true } => socket.set_linger(Some(Duration::ZERO)),
        Action::SetNoDelay(on) => socket.set_tcp_nodelay(on),
        Action::SetKeepAlive(None) => socket.set_keepalive(false),
        Action::SetKeepAlive(Some(delay)) => {
            let mut keepalive = TcpKeepalive::new()
                .with_interval(Duration::from_secs(1))
                .with_retries(10);
            if !delay.is_zero() {
                keepalive = keepalive.with_time(delay);
            }
            socket.set_tcp_keepalive(&keepalive)
        }
        _ => Ok(()),
    };
    match result {
        // A TCP option on a Unix socket.
        Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => Ok(()),
        other => other,
    }
}

/// After the socket of a non-blocking `connect` turned writable (or readable): `Ok(true)`
/// connected, `Ok(false)` still in progress (a spurious wake-up), `Err` why it failed
/// (`ECONNREFUSED`, `ETIMEDOUT`, ...).
pub fn finish_connect(socket: &impl AsFd) -> io::Result<bool> {
    let socket = SockRef::from(socket);
    if let Some(error) = socket.take_error()? {
        return Err(error);
    }
    match socket.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}

/// The address of a Unix socket as Node reports it (`server.address()`, `remoteAddress`):
/// its path, empty for an unnamed one.
pub fn unix_address(addr: &std::os::unix::net::SocketAddr) -> Address {
    Address::Unix(
        addr.as_pathname()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::net::UnixStream;
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

        let (plain, gone) = UnixStream::pair().unwrap();
        drop(gone);
        // std's `writev` takes no flags.
        let err = (&plain).write_vectored(&[IoSlice::new(b"x")]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert!(
            raised.swap(false, Ordering::SeqCst),
            "writev raises SIGPIPE"
        );

        let (ours, gone) = UnixStream::pair().unwrap();
        drop(gone);
        let err = send_vectored(&ours, &[IoSlice::new(b"x")]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert!(
            !raised.load(Ordering::SeqCst),
            "send_vectored raised SIGPIPE"
        );
    }

    #[test]
    fn tcp_options_are_no_ops_on_a_unix_socket() {
        let (ours, _peer) = UnixStream::pair().unwrap();
        for action in [
            Action::SetNoDelay(true),
            Action::SetKeepAlive(Some(Duration::from_secs(5))),
            Action::SetKeepAlive(None),
            Action::Close { reset: true },
            Action::Shutdown,
        ] {
            apply(&ours, action).unwrap();
        }
    }

    #[test]
    fn tcp_options_reach_the_socket_with_nodes_probes() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        apply(&stream, Action::SetNoDelay(true)).unwrap();
        assert!(stream.nodelay().unwrap());
        apply(&stream, Action::SetKeepAlive(Some(Duration::from_secs(7)))).unwrap();
        let sock = SockRef::from(&stream);
        assert!(sock.keepalive().unwrap());
        assert_eq!(sock.tcp_keepalive_time().unwrap(), Duration::from_secs(7));
        assert_eq!(
            sock.tcp_keepalive_interval().unwrap(),
            Duration::from_secs(1)
        );
        assert_eq!(sock.tcp_keepalive_retries().unwrap(), 10);
        apply(&stream, Action::Close { reset: true }).unwrap();
        assert_eq!(sock.linger().unwrap(), Some(Duration::ZERO));
    }

    #[test]
    fn a_refused_connect_reports_econnrefused() {
        // A port just freed: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_nonblocking(true).unwrap();
        let _ = socket.connect(&port.into());
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            match finish_connect(&socket) {
                Ok(false) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                other => {
                    assert_eq!(other.unwrap_err().kind(), io::ErrorKind::ConnectionRefused);
                    return;
                }
            }
        }
    }
}
