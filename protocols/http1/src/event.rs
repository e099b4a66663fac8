//! What the server machine tells the application (events) and the driver (actions).

use bytes::Bytes;

use crate::{Error, RawHeaders};

/// Names one request on a connection; ids count up from 0 in arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// The HTTP version of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`.
    Http10,
    /// `HTTP/1.1`.
    Http11,
}

impl Version {
    /// `"HTTP/1.0"` or `"HTTP/1.1"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http10 => "HTTP/1.0",
            Self::Http11 => "HTTP/1.1",
        }
    }
}

/// How a request body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    None,
    /// `Content-Length` bytes.
    ContentLength(u64),
    /// Chunked transfer coding.
    Chunked,
}

/// A request head, as Node's `IncomingMessage` exposes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The id responses to this request name.
    pub id: RequestId,
    /// `req.method`, as sent.
    pub method: Bytes,
    /// `req.url`: the request-target, as sent.
    pub target: Bytes,
    /// `req.httpVersion`.
    pub version: Version,
    /// `req.rawHeaders`: names as sent, values trimmed, as offsets into the head.
    pub headers: RawHeaders,
    /// How the body is delimited.
    pub framing: BodyFraming,
    /// Whether the connection persists after this exchange (RFC 9112 §9.3).
    pub keep_alive: bool,
    /// The request carries `Expect: 100-continue` (HTTP/1.1 only).
    pub expect_continue: bool,
    /// Offset of the head's first byte in the connection's byte stream.
    pub start: u64,
    /// Offset just past the head's blank line.
    pub head_end: u64,
}

impl Request {
    /// Whether this is a HEAD request (its response has no body).
    pub fn is_head(&self) -> bool {
        &self.method[..] == b"HEAD"
    }
}

/// An event of a [`ServerConnection`](crate::ServerConnection), named after Node's events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// `'request'`: a request head; its body follows as `Data`, then `End`.
    Request(Request),
    /// `'checkContinue'`: a request with `Expect: 100-continue` (only with
    /// `ServerConfig::check_continue`); answer with `send_continue` or a final response.
    CheckContinue(Request),
    /// A chunk-size line of a chunked body (only with `ServerConfig::chunk_events`).
    Chunk {
        /// Which request.
        id: RequestId,
        /// The chunk size.
        size: u64,
        /// The chunk extensions: names and values as on the wire (quotes kept).
        extensions: Vec<(Bytes, Option<Bytes>)>,
    },
    /// The request's `'data'`: body bytes, decoded, split from the read buffer.
    Data {
        /// Which request.
        id: RequestId,
        /// The bytes.
        data: Bytes,
    },
    /// The request's `'end'`: the body is complete; trailers of a chunked body.
    End {
        /// Which request.
        id: RequestId,
        /// `req.rawTrailers`.
        trailers: RawHeaders,
        /// Offset just past the message in the connection's byte stream.
        end: u64,
    },
    /// `'connect'`: a CONNECT request; the connection is handed over with `head`, the bytes
    /// read past the request head. No more HTTP is parsed.
    Connect {
        /// The request.
        request: Request,
        /// The first bytes of the tunnel.
        head: Bytes,
    },
    /// `'upgrade'`: an upgrade request (with `ServerConfig::upgrade`); the connection is
    /// handed over with `head`, the bytes read past the request.
    Upgrade {
        /// The request.
        request: Request,
        /// The first bytes of the new protocol.
        head: Bytes,
    },
    /// `'dropRequest'`: a request past `maxRequestsPerSocket`; 503 is already queued.
    DropRequest(Request),
    /// `'clientError'`: the peer broke HTTP; the default reply (400, 408, 413, 417 or 431 with
    /// `Connection: close`) is already queued behind earlier responses, and the connection
    /// closes after it.
    ClientError(Error),
    /// `'drain'` of the response side: the queued response bytes fell below the high-water
    /// mark after a body write returned false.
    Drain,
    /// `'close'`: the machine is done; after the driver has written everything queued it
    /// closes (or has already destroyed) the connection. Always the last event.
    Close,
}

/// What a connection machine asks of the socket beneath it: the contract's one
/// [`sansnet_core::Action`]. An HTTP machine offers `Shutdown` (`socket.end()`) and `HandOver`
/// (after `Connect` or `Upgrade`: the transport now belongs to the application) once every
/// byte before them was taken from its queue, and `Close { reset: false }` (`socket.destroy()`)
/// at once.
pub use sansnet_core::Action;
