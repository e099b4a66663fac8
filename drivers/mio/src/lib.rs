//! sansnet-mio: the thin mio event loop that runs sansnet's machines over real sockets, with
//! an API in the spirit of Node's `net` and `dgram`.
//!
//! The driver owns the OS sockets, the timers and the signal pipe, and does nothing else: it
//! moves bytes, readiness and time between the OS and the machines of `sansnet-tcp` and
//! `sansnet-udp`, and carries out what they ask (shut down, close, set `TCP_NODELAY`, bind).
//! Every protocol decision is the machines'. The protocol machines stack on a connection's
//! socket machine: `sansnet-tls` below it (ciphertext from the OS in, plaintext to the socket
//! machine out, and back), `sansnet-http1` and then `sansnet-ws` above it.
//!
//! # The driver loop
//!
//! For every ready OS socket, due timer, or application command, the driver runs the
//! machine's drain rule: write what `transmit_chunks` offers (vectored, partial writes
//! expected), carry out each `poll_action`, read while `wants_read` (bounded per turn so one
//! connection cannot starve the others), queue each `poll_event` for the application, and
//! re-arm the machine's timer from `poll_timeout`.
//!
//! # Application API
//!
//! Event polling rather than callbacks: create servers and sockets, then pull [`Event`]s with
//! [`EventLoop::next_event`] and answer with commands. A server's
//! `ServerEvent::Connection { id }` names the new socket as `SocketId::from(id)`.
//!
//! # Example
//!
//! An echo server and a client in one loop, over loopback:
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::Duration;
//!
//! use bytes::Bytes;
//! use sansnet_mio::{Event, EventLoop};
//! use sansnet_tcp::{Address, ServerConfig, ServerEvent, SocketConfig, SocketEvent};
//!
//! let mut ev = EventLoop::new()?;
//! let loopback = Address::Tcp(SocketAddr::from(([127, 0, 0, 1], 0)));
//! let server = ev.listen(loopback, ServerConfig::default());
//! let mut client = None;
//! let mut echoed = Vec::new();
//! while let Some(event) = ev.next_event(Some(Duration::from_secs(5)))? {
//!     match event {
//!         Event::Server { event: ServerEvent::Listening { address }, .. } => {
//!             let id = ev.connect(address, SocketConfig::default());
//!             ev.write(id, Bytes::from_static(b"hello"))?;
//!             ev.end(id, None)?;
//!             client = Some(id);
//!         }
//!         Event::Socket { socket, event: SocketEvent::Data(data) } if Some(socket) == client => {
//!             echoed.extend_from_slice(&data);
//!         }
//!         Event::Socket { socket, event: SocketEvent::Data(data) } => {
//!             ev.write(socket, data)?; // the echo
//!         }
//!         Event::Socket { socket, event: SocketEvent::Close { .. } } if Some(socket) == client => {
//!             ev.close_server(server)?;
//!         }
//!         Event::Server { event: ServerEvent::Close, .. } => break,
//!         _ => {}
//!     }
//! }
//! assert_eq!(echoed, b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Node mapping
//!
//! | Node | here |
//! |---|---|
//! | `net.createServer().listen(port \| path)` | [`EventLoop::listen`] with `Address::Tcp` or `Address::Unix` |
//! | `server.close()` | [`EventLoop::close_server`] |
//! | `http.createServer().listen()` | [`EventLoop::listen_http`], [`Event::Http`], [`EventLoop::respond`] |
//! | `net.connect(port \| path)` | [`EventLoop::connect`] |
//! | `socket.write/end/destroy/pause/resume/setTimeout/setNoDelay` | [`EventLoop::write`], [`EventLoop::end`], ... or [`EventLoop::socket_command`] |
//! | `dgram.createSocket`, `bind`, `send`, `close` | [`EventLoop::udp_socket`], [`EventLoop::udp_bind`], [`EventLoop::udp_send`], [`EventLoop::udp_close`] |
//! | `tls.createServer(options).listen()` | [`EventLoop::listen_tls`], [`Event::Secure`] (`'secureConnection'`) |
//! | `https.createServer(options).listen()` | [`EventLoop::listen_https`] |
//! | `tls.connect(options)` | [`EventLoop::connect_tls`], [`Event::Secure`] (`'secureConnect'`) |
//! | `https.request(url)`, `new WebSocket('wss://...')` | [`EventLoop::http_request`] / [`EventLoop::ws_connect`] with an `https` origin; [`EventLoop::set_https_config`] |
//! | `tlsSocket.getProtocol()`, `alpnProtocol`, `servername`, `getPeerCertificate()`, `isSessionReused()` | [`EventLoop::tls_info`] |
//! | `https.Agent` `maxCachedSessions` | `sansnet_tls::ClientOptions::max_cached_sessions` of the configuration given to [`EventLoop::set_https_config`] (the cache lives in it) |
//! | `process.on('SIGTERM')` | [`EventLoop::watch_signal`], [`Event::Signal`] |
//! | `server.listen({ reusePort: true })`, `cluster` workers sharing a port | `sansnet_tcp::ServerConfig::reuse_port`, one loop per thread (see [One loop per core](#one-loop-per-core)) |
//!
//! # One loop per core
//!
//! An [`EventLoop`] is single-threaded and stays so. To use every core, run one loop per
//! thread, each with its own servers on the same address with
//! `sansnet_tcp::ServerConfig::reuse_port` set: the driver sets `SO_REUSEPORT` before binding
//! (Node's `reusePort`, Node docs `net.md` › `server.listen(options[, callback])`), the kernel
//! spreads incoming connections among the listeners (Linux by a hash of the connection's
//! addresses and ports), and each loop owns the connections it accepted until they close. This
//! is Node's `cluster` without the primary process: there, workers share one listening handle
//! or, with `reusePort`, each bind their own. Every listener on the port must set the option;
//! otherwise the later bind fails with `EADDRINUSE`. Linux lets any socket of the same user
//! that sets it join the port (`socket(7)`, `SO_REUSEPORT`), so set it only where sharing is
//! meant.
//!
//! - **Port 0.** Each bind of port 0 picks a new port, so the first loop binds port 0 and the
//!   others bind the port its `Listening` event reports.
//! - **Shutdown.** Loops share nothing, so each closes its own servers:
//!   [`EventLoop::watch_signal`] in every loop gives each its own signal pipe and its own
//!   [`Event::Signal`], on which it calls [`EventLoop::close_server`] (`server.close()`: stop
//!   accepting, close idle keep-alive connections, let in-flight requests finish). A loop is
//!   done when its servers' `Close` events have come; the program exits once every thread has
//!   returned. Connections waiting in a closed listener's accept queue are reset by the kernel,
//!   as they are for a Node worker that closes its server.
//! - **State** kept by the application (chat rooms, caches) is per loop unless it shares it
//!   itself, as it is per worker in Node's `cluster` without IPC.
//!
//! The demo's `--workers N` runs its servers this way.
//!
//! # Features
//!
//! None of its own. The driver depends on `sansnet-ws` with its default features, so
//! permessage-deflate (`sansnet-ws`'s `deflate` feature) is on for the WebSocket servers and
//! clients it runs.
//!
//! # Errors
//!
//! Commands return the machine crate's error (`sansnet_tcp::Error`, `sansnet_udp::Error`); I/O
//! failures arrive as the machines' `Error` events. A TLS failure (a certificate that does not
//! verify, an alert, a stream cut without `close_notify`) ends its socket with
//! `sansnet_tcp::Error::Layer`, whose code is Node's (`CERT_HAS_EXPIRED`, ...), and an
//! `https:` request with [`ClientError::Tls`]. [`EventLoop::new`], [`EventLoop::next_event`]
//! and [`EventLoop::watch_signal`] return `io::Error` for failures of the poller itself.
//!
//! # Panics
//!
//! Never on anything a peer sends; a panic is a bug.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod client;
mod event_loop;
mod http;
mod ids;
mod net;
mod tcp;
mod timers;
mod tls;
mod udp;
mod ws;

pub use event_loop::{EventLoop, RequestOptions};

/// A server created by [`EventLoop::listen`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerId(pub u64);

/// A TCP or Unix stream socket, connected by [`EventLoop::connect`] or accepted by a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(pub u64);

/// A datagram socket created by [`EventLoop::udp_socket`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UdpId(pub u64);

impl From<sansnet_tcp::ConnectionId> for SocketId {
    fn from(id: sansnet_tcp::ConnectionId) -> Self {
        Self(id.0)
    }
}

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
    /// with [`EventLoop::respond`] or [`EventLoop::http_command`]. After `Connect` or
    /// `Upgrade` the connection's events come as [`Event::Socket`]: it is a raw socket.
    Http {
        /// Which connection.
        socket: SocketId,
        /// The event.
        event: sansnet_http1::ServerEvent,
    },
    /// An event of an HTTP client request made with [`EventLoop::http_request`].
    HttpClient {
        /// Which request.
        request: sansnet_http1::PoolRequestId,
        /// The event.
        event: ClientRequestEvent,
    },
    /// An event of a WebSocket (`message`, `ping`, `pong`, `error`, `close`), on a connection
    /// accepted with [`EventLoop::ws_accept`] or opened with [`EventLoop::ws_connect`].
    Ws {
        /// Which connection.
        socket: SocketId,
        /// The event.
        event: sansnet_ws::WsEvent,
    },
    /// `'open'`: the WebSocket asked for with [`EventLoop::ws_connect`] is up on `socket`.
    WsOpen {
        /// The id `ws_connect` returned.
        request: sansnet_http1::PoolRequestId,
        /// The connection, for `ws_send` and `ws_close`.
        socket: SocketId,
        /// The subprotocol the server chose.
        protocol: Option<String>,
    },
    /// The WebSocket asked for with [`EventLoop::ws_connect`] could not be opened (refused,
    /// not a 101, a bad accept value, ...).
    WsOpenFailed {
        /// The id `ws_connect` returned.
        request: sansnet_http1::PoolRequestId,
        /// Why.
        error: String,
    },
    /// The TLS handshake of `socket` finished: Node's `'secureConnect'` on a connection made
    /// with [`EventLoop::connect_tls`], `'secureConnection'` on one a TLS or HTTPS server
    /// accepted (Node docs `tls.md` › `Event: 'secureConnection'`, `Event: 'secureConnect'`).
    /// [`EventLoop::tls_info`] keeps the same facts.
    Secure {
        /// Which connection.
        socket: SocketId,
        /// What the handshake settled: protocol version, cipher suite, ALPN, SNI, the peer's
        /// certificates, whether an earlier session was resumed.
        info: Box<sansnet_tls::HandshakeInfo>,
    },
    /// A watched signal arrived (see [`EventLoop::watch_signal`]).
    Signal(i32),
}

/// An event of an HTTP client request, named after Node's `ClientRequest` events, in the
/// order Node emits them: `Socket`, then `Continue`/`Information`, `Response`, the body's
/// `Data` and `End`, and `Close` last; or `Error` then `Close`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientRequestEvent {
    /// `'socket'`: the request got a connection; `reused` is Node's `req.reusedSocket`.
    Socket {
        /// The connection.
        socket: SocketId,
        /// Whether it carried an earlier request.
        reused: bool,
    },
    /// `'continue'`: `100 Continue` arrived.
    Continue,
    /// `'information'`: a 1xx other than 100 and 101.
    Information(sansnet_http1::ResponseHead),
    /// `'response'`: the final response head.
    Response(sansnet_http1::ResponseHead),
    /// The response's `'data'`.
    Data(bytes::Bytes),
    /// The response's `'end'`, with its trailers.
    End(sansnet_http1::RawHeaders),
    /// `'upgrade'`: a 101; `socket` is now a raw socket, its events come as [`Event::Socket`].
    Upgrade {
        /// The raw socket.
        socket: SocketId,
        /// The 101 response.
        response: sansnet_http1::ResponseHead,
        /// Bytes read past the 101 head.
        head: bytes::Bytes,
    },
    /// `'connect'`: the response to a CONNECT; `socket` is now a raw socket.
    Connect {
        /// The raw socket.
        socket: SocketId,
        /// The response.
        response: sansnet_http1::ResponseHead,
        /// Bytes read past the response head.
        head: bytes::Bytes,
    },
    /// `'timeout'`: the connection was idle for the configured time; nothing is aborted.
    Timeout,
    /// `'error'`: the request failed (connect refused, reset, malformed response, ...).
    Error(ClientError),
    /// `'close'`: the request is over. Always last.
    Close,
}

/// Why an HTTP client request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The connection failed (`ECONNREFUSED`, `ECONNRESET`, `ENOTFOUND`, ...).
    Io(std::io::ErrorKind),
    /// The response broke HTTP, or the server closed early (`socket hang up`).
    Http(sansnet_http1::Error),
    /// The TLS layer of an `https:` request failed: the server's certificate did not verify,
    /// an alert, or a stream cut without `close_notify` (codes as Node's: `CERT_HAS_EXPIRED`,
    /// `ERR_TLS_CERT_ALTNAME_INVALID`, ...).
    Tls {
        /// The code.
        code: &'static str,
        /// What went wrong.
        message: String,
    },
}

impl ClientError {
    /// Node's code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io(std::io::ErrorKind::NotFound) => "ENOTFOUND",
            Self::Io(kind) => sansnet_tcp::io_code(*kind),
            Self::Http(error) => error.code(),
            Self::Tls { code, .. } => code,
        }
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(kind) => write!(f, "{kind} ({})", self.code()),
            Self::Http(error) => error.fmt(f),
            Self::Tls { code, message } => write!(f, "{message} ({code})"),
        }
    }
}

impl std::error::Error for ClientError {}
