//! What the loop tells the application ([`Event`]), and the names of what it owns: ids
//! counting up from 1, never reused, never from a peer. They key the loop's maps with the Fx
//! hash rustc uses (one multiply) instead of SipHash, as there is nothing to defend against
//! and a lookup per event is on the hot path, and they are the entries' mio tokens as they are.

use sansnet_stack::{ClientRequestEvent, SocketId, WsOpenError};

/// A map keyed by an id.
pub(crate) type IdMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// The mio token of an entry id (ids count up one by one from 1: they fit).
pub(crate) fn token(id: u64) -> mio::Token {
    mio::Token(usize::try_from(id).unwrap_or(usize::MAX))
}

/// A server created by [`crate::EventLoop::listen`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerId(pub u64);

/// A datagram socket created by [`crate::EventLoop::udp_socket`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UdpId(pub u64);

/// What the loop tells the application: a machine's event, tagged with whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// An event of a server (`listening`, `connection`, `drop`, `error`, `close`).
    Server {
        /// Which server.
        server: ServerId,
        /// The event.
        event: sansnet_tcp::ServerEvent,
    },
    /// An event of a stream socket (`connect`, `data`, `end`, `drain`, ..., `close`).
    Socket {
        /// Which socket.
        socket: SocketId,
        /// The event.
        event: sansnet_tcp::SocketEvent,
    },
    /// An event of a datagram socket (`listening`, `message`, `error`, `close`, send results).
    Udp {
        /// Which socket.
        socket: UdpId,
        /// The event.
        event: sansnet_udp::SocketEvent,
    },
    /// An event of the HTTP machine on a connection an HTTP server accepted (`request`,
    /// body `data`/`end`, `checkContinue`, `connect`, `upgrade`, `clientError`, ...). Answer
    /// with [`crate::EventLoop::respond`] or [`crate::EventLoop::http_command`]. After `Connect` or
    /// `Upgrade` the connection's events come as [`Event::Socket`]: it is a raw socket.
    Http {
        /// Which connection.
        socket: SocketId,
        /// The event.
        event: sansnet_http1::ServerEvent,
    },
    /// An event of an HTTP client request made with [`crate::EventLoop::http_request`].
    HttpClient {
        /// Which request.
        request: sansnet_http1::PoolRequestId,
        /// The event.
        event: ClientRequestEvent,
    },
    /// An event of a WebSocket (`message`, `ping`, `pong`, `error`, `close`), on a connection
    /// accepted with [`crate::EventLoop::ws_accept`] or opened with [`crate::EventLoop::ws_connect`].
    Ws {
        /// Which connection.
        socket: SocketId,
        /// The event.
        event: sansnet_ws::WsEvent,
    },
    /// `'open'`: the WebSocket asked for with [`crate::EventLoop::ws_connect`] is up on `socket`.
    WsOpen {
        /// The id `ws_connect` returned.
        request: sansnet_http1::PoolRequestId,
        /// The connection, for `ws_send` and `ws_close`.
        socket: SocketId,
        /// The subprotocol the server chose.
        protocol: Option<String>,
    },
    /// The WebSocket asked for with [`crate::EventLoop::ws_connect`] could not be opened (refused,
    /// not a 101, a bad accept value, ...).
    WsOpenFailed {
        /// The id `ws_connect` returned.
        request: sansnet_http1::PoolRequestId,
        /// Why.
        error: WsOpenError,
    },
    /// The TLS handshake of `socket` finished: Node's `'secureConnect'` on a connection made
    /// with [`crate::EventLoop::connect_tls`], `'secureConnection'` on one a TLS or HTTPS server
    /// accepted (Node docs `tls.md` › `Event: 'secureConnection'`, `Event: 'secureConnect'`).
    /// [`crate::EventLoop::tls_info`] keeps the same facts.
    Secure {
        /// Which connection.
        socket: SocketId,
        /// What the handshake settled: protocol version, cipher suite, ALPN, SNI, the peer's
        /// certificates, whether an earlier session was resumed.
        info: Box<sansnet_tls::HandshakeInfo>,
    },
    /// A watched signal arrived (see [`crate::EventLoop::watch_signal`]).
    Signal(i32),
}
