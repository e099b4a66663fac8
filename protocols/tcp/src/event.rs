//! What the machines tell the application (events) and the driver (actions).

use std::net::SocketAddr;
use std::path::PathBuf;

use bytes::Bytes;

use crate::Error;

/// An event of a [`Socket`](crate::Socket), named after Node's `net.Socket` events.
///
/// Variants are listed in the order Node emits them over a socket's life; `Close` is always
/// the last event and comes exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocketEvent {
    /// `'connect'`: a client socket's connection is up (Node docs `net.md` › `Event: 'connect'`).
    Connect,
    /// `'ready'`: emitted right after `'connect'` (Node docs `net.md` › `Event: 'connect'`).
    Ready,
    /// `'data'`: bytes in arrival order; chunk boundaries carry no meaning (Node docs `net.md` ›
    /// `Event: 'data'`).
    Data(Bytes),
    /// `'drain'`: the write queue emptied after a `write()` returned false (Node docs `net.md` ›
    /// `Event: 'drain'`).
    Drain,
    /// `'end'`: the peer sent FIN, after every earlier byte was delivered (Node docs `net.md` ›
    /// `Event: 'end'`).
    End,
    /// `'finish'`: our side ended and every queued byte was handed to the OS
    /// (docs/node-semantics.md#net-close-order).
    Finish,
    /// `'timeout'`: the socket was idle for the time set with `set_timeout`; it stays open
    /// (Node docs `net.md` › `socket.setTimeout()`).
    Timeout,
    /// `'error'`: always followed directly by `Close { had_error: true }` (Node docs `net.md` ›
    /// `Event: 'error'`).
    Error(Error),
    /// `'close'`: the socket is fully closed; `had_error` is true only after `Error` (Node docs
    /// `net.md` › `Event: 'close'`).
    Close {
        /// Whether the socket closed because of a transmission error.
        had_error: bool,
    },
}

/// What a [`Socket`](crate::Socket) asks the driver to do to its OS socket: the contract's one
/// [`sansnet_core::Action`]. The socket offers `Shutdown` once its queue is written, `Close`
/// when it is destroyed, and the socket options (`SetNoDelay`, `SetKeepAlive`) as they are set.
pub use sansnet_core::Action;

/// Where a server listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// A TCP address (port 0 asks the OS for one).
    Tcp(SocketAddr),
    /// A Unix domain socket path (docs/node-semantics.md#unix-path-length).
    Unix(PathBuf),
}

impl From<SocketAddr> for Address {
    fn from(addr: SocketAddr) -> Self {
        Self::Tcp(addr)
    }
}

/// The driver's name for one accepted connection, chosen by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

/// An event of a [`Server`](crate::Server), named after Node's `net.Server` events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// `'listening'`: bound and accepting; carries `server.address()`
    /// (docs/node-semantics.md#net-listen-async, #net-address).
    Listening {
        /// The bound address (with the OS-chosen port for port 0).
        address: Address,
    },
    /// `'connection'`: one accepted socket (Node docs `net.md` › `Event: 'connection'`).
    Connection {
        /// The driver's id of the accepted connection.
        id: ConnectionId,
    },
    /// `'drop'`: a connection was closed on accept because `maxConnections` was reached
    /// (Node docs `net.md` › `server.maxConnections`).
    Drop,
    /// `'error'`: listening failed (e.g. `EADDRINUSE`); no `'close'` follows (Node docs `net.md` ›
    /// `Event: 'error'`).
    Error(Error),
    /// `'close'`: `close()` was called and every accepted connection has closed (Node docs `net.md`
    /// › `server.close()`).
    Close,
}

/// What a [`Server`](crate::Server) asks the driver to do with its listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerAction {
    /// Bind and listen on this address with this backlog, then report `handle_listening` or
    /// `handle_listen_error`.
    Listen {
        /// Where to listen.
        address: Address,
        /// The listen backlog.
        backlog: u32,
        /// Set `SO_REUSEPORT` before binding ([`ServerConfig::reuse_port`](crate::ServerConfig)).
        reuse_port: bool,
    },
    /// Stop accepting and close the listening socket (unlinking a Unix socket file the
    /// driver created, docs/node-semantics.md#unix-unlink-on-close). Accepted connections stay
    /// open.
    CloseListener,
}
