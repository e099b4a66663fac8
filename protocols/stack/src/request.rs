//! The HTTP client's vocabulary: the events of a request (Node's `ClientRequest` events),
//! why a request or a WebSocket open failed, and the options of a request.

use sansnet_http1::ClientConfig;

/// The runtime's name for one connection (a stream socket): chosen by the runtime, carried in
/// the events that concern the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(pub u64);

impl From<sansnet_tcp::ConnectionId> for SocketId {
    fn from(id: sansnet_tcp::ConnectionId) -> Self {
        Self(id.0)
    }
}

/// Options of an HTTP client request ([`crate::Endpoint::request`]).
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// Node's `agent: false`: a connection of its own, closed after the response.
    pub one_off: bool,
    /// Settings of the client machine (timeouts, `continue_timeout`).
    pub client: ClientConfig,
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
    /// `'upgrade'`: a 101; `socket` is now a raw socket, its events come as the socket's own.
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
    Tls(sansnet_tls::Error),
}

impl ClientError {
    /// Node's code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Io(std::io::ErrorKind::NotFound) => "ENOTFOUND",
            Self::Io(kind) => sansnet_tcp::io_code(*kind),
            Self::Http(error) => error.code(),
            Self::Tls(error) => error.code(),
        }
    }
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(kind) => write!(f, "{kind} ({})", self.code()),
            Self::Http(error) => error.fmt(f),
            Self::Tls(error) => write!(f, "{error} ({})", error.code()),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<sansnet_tcp::Error> for ClientError {
    /// How a pooled connection's socket failure reaches its request: an OS error as `Io`, a
    /// TLS failure (carried by the socket machine as a layer error) as `Tls`.
    fn from(error: sansnet_tcp::Error) -> Self {
        match error {
            sansnet_tcp::Error::Io(kind) => Self::Io(kind),
            sansnet_tcp::Error::Layer(layer) => match layer.downcast_ref::<sansnet_tls::Error>() {
                Some(error) => Self::Tls(error.clone()),
                None => Self::Io(std::io::ErrorKind::Other),
            },
            _ => Self::Io(std::io::ErrorKind::Other),
        }
    }
}

/// Why a WebSocket asked for with [`crate::Endpoint::ws_connect`] did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsOpenError {
    /// The request failed (refused, reset, TLS, a malformed response, ...).
    Request(ClientError),
    /// The server answered, but not with a valid WebSocket handshake (not a 101, a bad
    /// `Sec-WebSocket-Accept`, an extension or subprotocol not offered, ...).
    Handshake(sansnet_ws::HandshakeError),
}

impl std::fmt::Display for WsOpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Request(error) => error.fmt(f),
            Self::Handshake(error) => sansnet_ws::Error::from(*error).fmt(f),
        }
    }
}

impl std::error::Error for WsOpenError {}
