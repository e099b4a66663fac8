//! The one error type of `sansnet-http1`, grouped by whose fault it is.

use std::fmt;

/// Everything that can go wrong on an HTTP/1.1 connection.
///
/// The peer's faults ([`Error::Protocol`]) arrive as events with the reply already queued
/// ([`Error::status_hint`]); the caller's ([`Error::Usage`]) come back as `Err` from commands
/// and change nothing.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The peer's bytes broke HTTP/1.1 (or a limit).
    Protocol(ProtocolError),
    /// A command was called in a state that does not allow it.
    Usage(UsageError),
    /// A head could not be converted to or from the `http` crate's types (feature `http`).
    #[cfg(feature = "http")]
    Interop(InteropError),
}

/// What the peer got wrong. Each variant names the rule it enforces.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// The request line or a header line does not parse (RFC 9112 §3, §5).
    InvalidHead,
    /// The request-target has bytes outside visible ASCII (RFC 9112 §3.2).
    InvalidTarget,
    /// The version is not `HTTP/1.0` or `HTTP/1.1`.
    InvalidVersion,
    /// A line ends in a bare LF, or a bare CR appears (RFC 9112 §2.2).
    BareLineFeed,
    /// The head is larger than `max_header_size` (Node's `HPE_HEADER_OVERFLOW`, 431).
    HeadTooLarge,
    /// `Content-Length` is not a decimal number, overflows, or its lines disagree
    /// (RFC 9112 §6.3 item 5).
    InvalidContentLength,
    /// `Content-Length` appears on more than one line (Node rejects even equal values).
    DuplicateContentLength,
    /// `Transfer-Encoding` and `Content-Length` together (RFC 9112 §6.1; Node rejects).
    ContentLengthWithTransferEncoding,
    /// `Transfer-Encoding` does not end in `chunked`, or applies `chunked` twice
    /// (RFC 9112 §6.3 item 4).
    InvalidTransferEncoding,
    /// `Transfer-Encoding` on an HTTP/1.0 request (RFC 9112 §6.1).
    TransferEncodingInHttp10,
    /// An HTTP/1.1 request without exactly one valid `Host` (RFC 9112 §3.2).
    InvalidHost,
    /// A chunk size is not hex or overflows (RFC 9112 §7.1).
    InvalidChunkSize,
    /// A chunk extension does not parse (RFC 9112 §7.1.1).
    InvalidChunkExtension,
    /// Chunk extensions longer than the limit (Node answers 413).
    ChunkExtensionsTooLarge,
    /// A chunk's data is not followed by CRLF.
    InvalidChunkData,
    /// A trailer field does not parse, or the trailers exceed the head limit.
    InvalidTrailers,
    /// The connection ended inside a message (`HPE_INVALID_EOF_STATE`).
    UnexpectedEof,
    /// The head or the body took longer than `headers_timeout` / `request_timeout` (408).
    RequestTimeout,
    /// `Expect` carries something other than `100-continue` (417).
    ExpectationFailed,
    /// The server closed the connection before any byte of the response (Node's `socket hang
    /// up`, `ECONNRESET`).
    ConnectionClosedBeforeResponse,
    /// A response arrived with no request waiting for it.
    UnsolicitedResponse,
    /// A status code outside 100..=999 or a malformed status line.
    InvalidStatus,
}

/// What the caller got wrong.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageError {
    /// No request with this id is waiting for that command.
    UnknownRequest,
    /// The response head was already sent (`ERR_HTTP_HEADERS_SENT`).
    HeadersSent,
    /// The response head has not been sent yet.
    HeadersNotSent,
    /// A write after `end()` (`ERR_STREAM_WRITE_AFTER_END`).
    WriteAfterEnd,
    /// A status outside 100..=999 (`ERR_HTTP_INVALID_STATUS_CODE`), or a 1xx where a final
    /// status is needed.
    InvalidStatus,
    /// A header name or value with bytes HTTP does not allow (`ERR_INVALID_HTTP_TOKEN`,
    /// `ERR_INVALID_CHAR`), or `Content-Length` on two lines or with a value that is not one
    /// decimal number (a peer's parser would refuse the message, RFC 9110 §8.6).
    InvalidHeader,
    /// A body write on a response that has none (HEAD, 204, 304:
    /// `ERR_HTTP_BODY_NOT_ALLOWED`).
    BodyNotAllowed,
    /// More body bytes than the `Content-Length` the caller set
    /// (`ERR_HTTP_CONTENT_LENGTH_MISMATCH`).
    ContentLengthMismatch,
    /// Trailers on a response that is not chunked (`ERR_HTTP_TRAILER_INVALID`).
    TrailersNotAllowed,
    /// The connection is closed or handed over.
    Closed,
    /// A request is still being sent on this connection; requests go one after another.
    RequestInProgress,
    /// A URL that does not parse: no `scheme://`, an empty host, userinfo, a port that is not
    /// a number from 0 to 65535 (`ERR_INVALID_URL`, WHATWG URL).
    InvalidUrl,
    /// A scheme other than `http`, `https`, `ws` and `wss` (`ERR_INVALID_PROTOCOL`).
    InvalidProtocol,
}

/// What a conversion between this crate's heads and the `http` crate's types refused (feature
/// `http`); the rules are in [`crate::interop`]. Nothing is sent or changed.
#[cfg(feature = "http")]
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteropError {
    /// A method that is not a token (RFC 9110 §9.1), which `http::Method` refuses.
    InvalidMethod,
    /// A request-target that `http::Uri` refuses or would change: a fragment (not part of a
    /// request-target, RFC 9112 §3.2), userinfo (RFC 9110 §4.2.4), bytes outside the URI
    /// grammar, more than 65534 bytes, or an empty target.
    InvalidTarget,
    /// A header name that is not a token (RFC 9110 §5.1), or longer than `http` allows.
    InvalidHeaderName,
    /// A header value with a control byte other than HTAB, or DEL (RFC 9110 §5.5).
    InvalidHeaderValue,
    /// More distinct header names than an `http::HeaderMap` holds (24576).
    TooManyHeaders,
    /// A status outside 100..=999.
    InvalidStatus,
    /// An `http::Version` other than HTTP/1.1 on a request: the client machine sends
    /// HTTP/1.1 only.
    UnsupportedVersion,
}

impl Error {
    /// Node's code for this error (`HPE_*` for the parser's, `ERR_*` for usage).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Protocol(p) => p.code(),
            Self::Usage(u) => u.code(),
            #[cfg(feature = "http")]
            Self::Interop(i) => i.code(),
        }
    }

    /// The status a server answers a protocol error with (400, 408, 413, 417, 431); `None`
    /// for usage and conversion errors.
    pub fn status_hint(&self) -> Option<u16> {
        match self {
            Self::Protocol(p) => Some(p.status_hint()),
            Self::Usage(_) => None,
            #[cfg(feature = "http")]
            Self::Interop(_) => None,
        }
    }
}

impl ProtocolError {
    /// llhttp's code for this error, as Node reports it.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidHead => "HPE_INVALID_HEADER_TOKEN",
            Self::InvalidTarget => "HPE_INVALID_URL",
            Self::InvalidVersion => "HPE_INVALID_VERSION",
            Self::BareLineFeed => "HPE_LF_EXPECTED",
            Self::HeadTooLarge => "HPE_HEADER_OVERFLOW",
            Self::InvalidContentLength => "HPE_INVALID_CONTENT_LENGTH",
            Self::DuplicateContentLength => "HPE_UNEXPECTED_CONTENT_LENGTH",
            Self::ContentLengthWithTransferEncoding => "HPE_UNEXPECTED_CONTENT_LENGTH",
            Self::InvalidTransferEncoding => "HPE_INVALID_TRANSFER_ENCODING",
            Self::TransferEncodingInHttp10 => "HPE_INVALID_TRANSFER_ENCODING",
            Self::InvalidHost => "HPE_INVALID_HOST",
            Self::InvalidChunkSize => "HPE_INVALID_CHUNK_SIZE",
            Self::InvalidChunkExtension => "HPE_INVALID_CHUNK_EXTENSION",
            Self::ChunkExtensionsTooLarge => "HPE_CHUNK_EXTENSIONS_OVERFLOW",
            Self::InvalidChunkData => "HPE_STRICT",
            Self::InvalidTrailers => "HPE_INVALID_HEADER_TOKEN",
            Self::UnexpectedEof => "HPE_INVALID_EOF_STATE",
            Self::RequestTimeout => "ERR_HTTP_REQUEST_TIMEOUT",
            Self::ExpectationFailed => "HPE_EXPECTATION_FAILED",
            Self::ConnectionClosedBeforeResponse => "ECONNRESET",
            Self::UnsolicitedResponse => "HPE_INVALID_CONSTANT",
            Self::InvalidStatus => "HPE_INVALID_STATUS",
        }
    }

    /// The status the server answers with before it closes.
    pub fn status_hint(self) -> u16 {
        match self {
            Self::HeadTooLarge => 431,
            Self::ChunkExtensionsTooLarge => 413,
            Self::RequestTimeout => 408,
            Self::ExpectationFailed => 417,
            _ => 400,
        }
    }
}

impl UsageError {
    /// Node's code for this error.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownRequest => "ERR_HTTP_UNKNOWN_REQUEST",
            Self::HeadersSent => "ERR_HTTP_HEADERS_SENT",
            Self::HeadersNotSent => "ERR_HTTP_HEADERS_NOT_SENT",
            Self::WriteAfterEnd => "ERR_STREAM_WRITE_AFTER_END",
            Self::InvalidStatus => "ERR_HTTP_INVALID_STATUS_CODE",
            Self::InvalidHeader => "ERR_INVALID_HTTP_TOKEN",
            Self::BodyNotAllowed => "ERR_HTTP_BODY_NOT_ALLOWED",
            Self::ContentLengthMismatch => "ERR_HTTP_CONTENT_LENGTH_MISMATCH",
            Self::TrailersNotAllowed => "ERR_HTTP_TRAILER_INVALID",
            Self::Closed => "ERR_STREAM_DESTROYED",
            Self::RequestInProgress => "ERR_HTTP_REQUEST_IN_PROGRESS",
            Self::InvalidUrl => "ERR_INVALID_URL",
            Self::InvalidProtocol => "ERR_INVALID_PROTOCOL",
        }
    }
}

#[cfg(feature = "http")]
impl InteropError {
    /// The Node code closest to this error (Node has no `http` crate to convert to: the codes
    /// are those Node gives the same bytes in `http.request` or `res.writeHead`).
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidMethod => "ERR_INVALID_HTTP_TOKEN",
            Self::InvalidTarget => "ERR_UNESCAPED_CHARACTERS",
            Self::InvalidHeaderName => "ERR_INVALID_HTTP_TOKEN",
            Self::InvalidHeaderValue => "ERR_INVALID_CHAR",
            Self::TooManyHeaders => "ERR_OUT_OF_RANGE",
            Self::InvalidStatus => "ERR_HTTP_INVALID_STATUS_CODE",
            Self::UnsupportedVersion => "ERR_INVALID_ARG_VALUE",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Protocol(p) => p.fmt(f),
            Self::Usage(u) => u.fmt(f),
            #[cfg(feature = "http")]
            Self::Interop(i) => i.fmt(f),
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::InvalidHead => "invalid request head",
            Self::InvalidTarget => "invalid request target",
            Self::InvalidVersion => "invalid HTTP version",
            Self::BareLineFeed => "line not terminated by CRLF",
            Self::HeadTooLarge => "request head too large",
            Self::InvalidContentLength => "invalid content-length",
            Self::DuplicateContentLength => "duplicate content-length",
            Self::ContentLengthWithTransferEncoding => {
                "content-length together with transfer-encoding"
            }
            Self::InvalidTransferEncoding => "transfer-encoding does not end in chunked",
            Self::TransferEncodingInHttp10 => "transfer-encoding in an HTTP/1.0 request",
            Self::InvalidHost => "missing, repeated or invalid host",
            Self::InvalidChunkSize => "invalid chunk size",
            Self::InvalidChunkExtension => "invalid chunk extension",
            Self::ChunkExtensionsTooLarge => "chunk extensions too large",
            Self::InvalidChunkData => "chunk data not followed by CRLF",
            Self::InvalidTrailers => "invalid trailers",
            Self::UnexpectedEof => "connection closed inside a message",
            Self::RequestTimeout => "request timed out",
            Self::ExpectationFailed => "unsupported expectation",
            Self::ConnectionClosedBeforeResponse => "socket hang up",
            Self::UnsolicitedResponse => "response does not match any request",
            Self::InvalidStatus => "invalid status line",
        };
        write!(f, "{text} ({})", self.code())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::UnknownRequest => "no such request awaits this command",
            Self::HeadersSent => "cannot set headers after they are sent",
            Self::HeadersNotSent => "the response head has not been sent",
            Self::WriteAfterEnd => "write after end",
            Self::InvalidStatus => "invalid status code",
            Self::InvalidHeader => "invalid header name or value",
            Self::BodyNotAllowed => "this response has no body",
            Self::ContentLengthMismatch => "body longer than content-length",
            Self::TrailersNotAllowed => "trailers need a chunked response",
            Self::Closed => "the connection is closed",
            Self::RequestInProgress => "the previous request is still being sent",
            Self::InvalidUrl => "invalid URL",
            Self::InvalidProtocol => "protocol not supported",
        };
        write!(f, "{text} ({})", self.code())
    }
}

#[cfg(feature = "http")]
impl fmt::Display for InteropError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Self::InvalidMethod => "method not accepted by the http crate",
            Self::InvalidTarget => "request target not accepted by the http crate",
            Self::InvalidHeaderName => "header name not accepted by the http crate",
            Self::InvalidHeaderValue => "header value not accepted by the http crate",
            Self::TooManyHeaders => "more header names than an http::HeaderMap holds",
            Self::InvalidStatus => "status not accepted by the http crate",
            Self::UnsupportedVersion => "the client machine sends HTTP/1.1 only",
        };
        write!(f, "{text} ({})", self.code())
    }
}

impl std::error::Error for Error {}

impl From<ProtocolError> for Error {
    fn from(p: ProtocolError) -> Self {
        Self::Protocol(p)
    }
}

impl From<UsageError> for Error {
    fn from(u: UsageError) -> Self {
        Self::Usage(u)
    }
}

#[cfg(feature = "http")]
impl From<InteropError> for Error {
    fn from(i: InteropError) -> Self {
        Self::Interop(i)
    }
}
