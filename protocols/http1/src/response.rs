//! `Response`: the head the application answers with, and how it goes on the wire.

use bytes::{BufMut, Bytes, BytesMut};

use crate::headers::{is_field_value, is_token};
use crate::{Headers, UsageError};

/// A connection's first head buffer: one common head fits, and the buffer is reused once what
/// was written into it has left.
const HEAD_ROOM: usize = 512;

/// Room for a head with `headers`: the fields as given, plus the start line and the fields
/// the machine adds (`Date`, `Connection`, `Keep-Alive`, the framing), which take under 256
/// bytes.
fn head_room(headers: &Headers) -> usize {
    256 + headers
        .iter()
        .map(|(name, value)| name.len() + value.len() + 4)
        .sum::<usize>()
}

/// A new arena buffer's size when the old one is still referenced by queued heads (pipelined
/// answers): room for a batch of heads, not one (`BytesMut::reserve` would allocate just what
/// is asked for, one allocation per pipelined answer).
const ARENA_BATCH: usize = 4096;

/// Makes room in `arena` for a head (or trailers) with `headers`, for both roles: in place
/// once the heads written before have left (a keep-alive connection reuses its buffer); a
/// first buffer of [`HEAD_ROOM`], so that an idle connection holds no more; a new buffer for
/// a batch when the old one is still referenced by queued heads.
pub(crate) fn reserve_head(arena: &mut BytesMut, headers: &Headers) {
    let room = head_room(headers);
    if arena.try_reclaim(room) {
        return;
    }
    let fresh = arena.capacity() == 0;
    arena.reserve(room.max(if fresh { HEAD_ROOM } else { ARENA_BATCH }));
}

/// Room reserved in the arena before a chunk-size line: the 16 hex digits of a u64 and CRLF.
/// Asking for no more than that lets the lines of a response fit in what its head left, so a
/// chunked body allocates nothing either.
pub(crate) const CHUNK_LINE_ROOM: usize = 18;

/// A response head: `res.writeHead(status, reason, headers)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code, 100..=999.
    pub status: u16,
    /// The reason phrase; `None` uses the standard one (Node source `lib/_http_server.js` ›
    /// `writeHead`).
    pub reason: Option<Bytes>,
    /// The headers the application sets; the machine adds `Date`, `Connection`,
    /// `Keep-Alive` and the framing header where the application did not.
    pub headers: Headers,
}

impl Response {
    /// A response with this status, the standard reason and no headers.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            reason: None,
            headers: Headers::new(),
        }
    }

    /// Adds a header, builder style.
    pub fn header(mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Checks what Node's `writeHead` checks: the status range and every header's bytes.
    pub(crate) fn validate(&self) -> Result<(), UsageError> {
        if !(100..=999).contains(&self.status) {
            return Err(UsageError::InvalidStatus);
        }
        if self.reason.as_ref().is_some_and(|r| !is_field_value(r)) {
            return Err(UsageError::InvalidHeader);
        }
        for (name, value) in self.headers.iter() {
            if !is_token(name) || !is_field_value(value) {
                return Err(UsageError::InvalidHeader);
            }
        }
        // What goes out must pass the crate's own `Content-Length` rules, as a peer applies them.
        if crate::framing::content_length(&self.headers).is_err() {
            return Err(UsageError::InvalidHeader);
        }
        Ok(())
    }
}

/// The standard reason phrase of `status` (RFC 9110 §15), as Node's `STATUS_CODES`.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Entity",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "unknown",
    }
}

/// Starts a head: the status line (always `HTTP/1.1`, as Node answers) and `headers`.
pub(crate) fn start_head(status: u16, reason: Option<&[u8]>, headers: &Headers) -> BytesMut {
    let mut out = BytesMut::with_capacity(256);
    put_head_start(&mut out, status, reason, headers);
    out
}

/// Appends the status line (always `HTTP/1.1`, as Node answers) and `headers` to `out`.
pub(crate) fn put_head_start(
    out: &mut BytesMut,
    status: u16,
    reason: Option<&[u8]>,
    headers: &Headers,
) {
    out.put_slice(b"HTTP/1.1 ");
    put_decimal(out, u64::from(status));
    out.put_u8(b' ');
    out.put_slice(reason.unwrap_or_else(|| reason_phrase(status).as_bytes()));
    out.put_slice(b"\r\n");
    for (name, value) in headers.iter() {
        put_header(out, name, value);
    }
}

/// Appends `n` in decimal, without allocating.
pub(crate) fn put_decimal(out: &mut BytesMut, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[start..]);
}

/// Appends `n` in lowercase hexadecimal, without allocating (a chunk-size line).
pub(crate) fn put_hex(out: &mut BytesMut, mut n: u64) {
    let mut digits = [0u8; 16];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b"0123456789abcdef"[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[start..]);
}

/// Appends `name: value\r\n`.
pub(crate) fn put_header(out: &mut BytesMut, name: &[u8], value: &[u8]) {
    out.put_slice(name);
    out.put_slice(b": ");
    out.put_slice(value);
    out.put_slice(b"\r\n");
}

/// The reply Node writes for a client error before it closes (Node source `lib/_http_server.js` ›
/// `socketOnError`).
pub(crate) fn client_error_reply(status: u16) -> Bytes {
    let mut out = start_head(status, None, &Headers::new());
    out.put_slice(b"Connection: close\r\n\r\n");
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Node source `lib/_http_server.js` › `socketOnError`: Node's default replies, byte for byte.
    #[test]
    fn client_error_replies_match_node() {
        assert_eq!(
            &client_error_reply(400)[..],
            b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            &client_error_reply(431)[..],
            b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n"
        );
    }

    /// Node source `lib/_http_server.js` › `writeHead`: status range and header bytes are checked.
    #[test]
    fn validate_rejects_bad_status_and_injection() {
        assert_eq!(Response::new(99).validate(), Err(UsageError::InvalidStatus));
        assert_eq!(
            Response::new(1000).validate(),
            Err(UsageError::InvalidStatus)
        );
        assert_eq!(
            Response::new(200).header("X", "a\r\nb").validate(),
            Err(UsageError::InvalidHeader)
        );
        assert_eq!(
            Response::new(200).header("Bad Name", "v").validate(),
            Err(UsageError::InvalidHeader)
        );
        assert_eq!(Response::new(200).header("X-Ok", "v").validate(), Ok(()));
    }

    /// Numbers on the wire match Rust's own formatting at the edges.
    #[test]
    fn decimal_and_hex_match_format() {
        for n in [0, 1, 9, 10, 15, 16, 99, 100, 255, 65_535, 1 << 20, u64::MAX] {
            let mut out = BytesMut::new();
            put_decimal(&mut out, n);
            assert_eq!(&out[..], n.to_string().as_bytes());
            let mut out = BytesMut::new();
            put_hex(&mut out, n);
            assert_eq!(&out[..], format!("{n:x}").as_bytes());
        }
    }
}
