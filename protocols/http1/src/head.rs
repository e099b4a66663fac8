//! The head parser both roles share: a request head (the server) or a response head (the
//! client) parsed with `httparse` into offsets, with the verdict on line endings, partial
//! `Content-Length` lines and the size limit that does not depend on how the input was cut
//! (RFC 9112 §2.2, §6), and the header checks that decide the body's framing
//! ([`crate::framing::framing`]), the connection's persistence and, for requests, `Host`,
//! `Expect` and upgrades.

use std::ops::Range;

use bytes::Bytes;
use httparse::Header;

use crate::framing::{self, Expect, Framing, Message, parse_content_length};
use crate::headers::trim_ows;
use crate::{ProtocolError, RawHeaders};

/// Header slots tried first; a head with more fields is parsed again with room for all.
const FAST_HEADERS: usize = 32;

/// Which head is read, and what its checks depend on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Role<'a> {
    /// The server reads a request head.
    Server {
        /// An HTTP/1.1 request must carry one valid `Host` (Node's `requireHostHeader`).
        require_host: bool,
        /// Fields past this many are dropped silently (Node docs `http.md` ›
        /// `server.maxHeadersCount`); the checks still see them all.
        max_headers_count: usize,
    },
    /// The client reads the head of a response to a request with `request_method` (empty when
    /// no request is in flight).
    Client {
        /// The method of the request the response answers.
        request_method: &'a [u8],
    },
}

/// The start line of a parsed head, as offsets into the head.
#[derive(Debug, Clone)]
pub(crate) enum StartLine {
    /// `method SP request-target SP HTTP-version` (RFC 9112 §3).
    Request {
        /// The method.
        method: Range<usize>,
        /// The request-target.
        target: Range<usize>,
    },
    /// `HTTP-version SP status-code SP [ reason-phrase ]` (RFC 9112 §4).
    Response {
        /// The status code.
        status: u16,
        /// The reason phrase as sent (obs-text kept).
        reason: Range<usize>,
    },
}

/// A head that parsed: byte offsets into it (nothing is copied; the fields' offsets are in the
/// caller's [`FieldOffsets`], so that this stays small to move), and the verdict of the header
/// checks, made while the fields were borrowed from the read buffer.
#[derive(Debug)]
pub(crate) struct ParsedHead {
    /// The head's length, blank line included.
    pub(crate) head_len: usize,
    /// The start line.
    pub(crate) start_line: StartLine,
    /// `x` of `HTTP/1.x`.
    pub(crate) version_minor: u8,
    /// The checks' verdict: the facts the machines act on, or the fault.
    pub(crate) checks: Result<HeadChecks, ProtocolError>,
}

/// What the header checks found in a head that passed them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadChecks {
    /// How the body is delimited.
    pub(crate) framing: Framing,
    /// Whether the message lets the connection persist (RFC 9112 §9.3).
    pub(crate) keep_alive: bool,
    /// What a request's `Expect` asks for (always `None` for HTTP/1.0 and responses).
    pub(crate) expect: Expect,
    /// A request asks to switch protocols (RFC 9110 §7.8).
    pub(crate) is_upgrade: bool,
    /// The request (or the request answered) is a CONNECT.
    pub(crate) is_connect: bool,
}

/// Where each field line of the head starts (its name's first byte), all that
/// [`RawHeaders`] keeps of a parsed field: on the stack for up to `FAST_HEADERS` fields, so that
/// a common head is taken apart without allocating. Every connection keeps one from head to
/// head, so it is small: starts only (288 bytes), not the four offsets of each field (which
/// made it 1,056).
#[derive(Debug)]
pub(crate) struct FieldOffsets {
    /// INVARIANT: `stack[..stack_len]` are filled; `heap` is empty unless `stack` is full.
    stack: [usize; FAST_HEADERS],
    stack_len: usize,
    heap: Vec<usize>,
}

impl FieldOffsets {
    pub(crate) fn new() -> Self {
        Self {
            stack: [0; FAST_HEADERS],
            stack_len: 0,
            heap: Vec::new(),
        }
    }

    fn clear(&mut self) {
        self.stack_len = 0;
        self.heap.clear();
    }

    fn push(&mut self, start: usize) {
        match self.stack.get_mut(self.stack_len) {
            Some(slot) => {
                *slot = start;
                self.stack_len += 1;
            }
            None => self.heap.push(start),
        }
    }

    fn iter(&self) -> impl Iterator<Item = usize> {
        self.stack[..self.stack_len]
            .iter()
            .chain(&self.heap)
            .copied()
    }

    /// The fields as offsets into `head` (each field line starts with its name).
    pub(crate) fn to_raw(&self, head: &Bytes) -> RawHeaders {
        let count = self.stack_len + self.heap.len();
        let first = self.iter().next().unwrap_or(0);
        RawHeaders::from_lines(head.clone(), first, count, self.iter())
    }
}

/// Parses the head at the front of `buf` as `role` reads it: `Ok(None)` while incomplete. The
/// verdict does not depend on how the input was cut (see [`head_verdict`]). The fields'
/// offsets go into `fields` (the message's: a request's first `maxHeadersCount`).
pub(crate) fn parse_head(
    buf: &[u8],
    role: Role<'_>,
    max_size: usize,
    fields: &mut FieldOffsets,
) -> Result<Option<ParsedHead>, ProtocolError> {
    let mut fast = [httparse::EMPTY_HEADER; FAST_HEADERS];
    if let Some(verdict) = parse_with(buf, role, max_size, &mut fast, true, fields) {
        return verdict;
    }
    let mut room = vec![httparse::EMPTY_HEADER; max_size / 3 + 1];
    parse_with(buf, role, max_size, &mut room, false, fields)
        .unwrap_or(Err(ProtocolError::HeadTooLarge))
}

/// One parse with `slots` for the fields; `None` when `first_try` ran out of slots.
fn parse_with<'b>(
    buf: &'b [u8],
    role: Role<'_>,
    max_size: usize,
    slots: &mut [Header<'b>],
    first_try: bool,
    fields: &mut FieldOffsets,
) -> Option<Result<Option<ParsedHead>, ProtocolError>> {
    let fails = |prefix: &[u8]| parser_fails(prefix, role, max_size);
    let out_of_slots =
        |status: &Result<_, _>| first_try && matches!(status, Err(httparse::Error::TooManyHeaders));
    let verdict = match role {
        Role::Server { .. } => {
            let mut request = httparse::Request::new(slots);
            let status = request.parse(buf);
            if out_of_slots(&status) {
                return None;
            }
            head_verdict(buf, max_size, status, fails).and_then(|head_len| {
                head_len
                    .map(|head_len| request_head(buf, role, head_len, &request, fields))
                    .transpose()
            })
        }
        Role::Client { .. } => {
            let mut response = httparse::Response::new(slots);
            let status = response.parse(buf);
            if out_of_slots(&status) {
                return None;
            }
            head_verdict(buf, max_size, status, fails).and_then(|head_len| {
                head_len
                    .map(|head_len| response_head(buf, role, head_len, &response, fields))
                    .transpose()
            })
        }
    };
    Some(verdict)
}

/// Whether `role`'s parser fails on `prefix` (with room for every field).
fn parser_fails(prefix: &[u8], role: Role<'_>, max_size: usize) -> bool {
    let mut fast = [httparse::EMPTY_HEADER; FAST_HEADERS];
    match parse_status(prefix, role, &mut fast) {
        Err(httparse::Error::TooManyHeaders) => {
            let mut room = vec![httparse::EMPTY_HEADER; max_size / 3 + 1];
            parse_status(prefix, role, &mut room).is_err()
        }
        status => status.is_err(),
    }
}

/// What `role`'s parser says of `buf`, with `slots` for the fields.
fn parse_status<'b>(
    buf: &'b [u8],
    role: Role<'_>,
    slots: &mut [Header<'b>],
) -> Result<(), httparse::Error> {
    match role {
        Role::Server { .. } => httparse::Request::new(slots).parse(buf).map(|_| ()),
        Role::Client { .. } => httparse::Response::new(slots).parse(buf).map(|_| ()),
    }
}

/// The offset of `part` (a slice of `buf`) in `buf`.
fn offset(buf: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize).saturating_sub(buf.as_ptr() as usize)
}

/// The offsets of `part` (a slice of `buf`) in `buf`.
fn range(buf: &[u8], part: &[u8]) -> Range<usize> {
    let start = offset(buf, part);
    start..start + part.len()
}

/// Where the fields of `headers` (slices of `buf`) start in `buf`, into `fields`: the first
/// `limit` of them.
fn field_offsets(buf: &[u8], headers: &[Header<'_>], limit: usize, fields: &mut FieldOffsets) {
    fields.clear();
    for header in headers.iter().take(limit) {
        fields.push(offset(buf, header.name.as_bytes()));
    }
}

/// A complete request head taken apart.
fn request_head(
    buf: &[u8],
    role: Role<'_>,
    head_len: usize,
    request: &httparse::Request<'_, '_>,
    fields: &mut FieldOffsets,
) -> Result<ParsedHead, ProtocolError> {
    let (Some(method), Some(target), Some(version)) =
        (request.method, request.path, request.version)
    else {
        return Err(ProtocolError::InvalidHead);
    };
    if !target.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(ProtocolError::InvalidTarget);
    }
    let limit = match role {
        Role::Server {
            max_headers_count, ..
        } => max_headers_count,
        Role::Client { .. } => usize::MAX,
    };
    field_offsets(buf, request.headers, limit, fields);
    Ok(ParsedHead {
        head_len,
        start_line: StartLine::Request {
            method: range(buf, method.as_bytes()),
            target: range(buf, target.as_bytes()),
        },
        version_minor: version,
        checks: head_checks(role, method.as_bytes(), 0, version, request.headers),
    })
}

/// A complete response head taken apart.
fn response_head(
    buf: &[u8],
    role: Role<'_>,
    head_len: usize,
    response: &httparse::Response<'_, '_>,
    fields: &mut FieldOffsets,
) -> Result<ParsedHead, ProtocolError> {
    let (Some(version), Some(status)) = (response.version, response.code) else {
        return Err(ProtocolError::InvalidHead);
    };
    if !(100..=999).contains(&status) {
        return Err(ProtocolError::InvalidStatus);
    }
    // The reason phrase as sent, obs-text included (httparse only gives UTF-8 ones): what
    // follows `HTTP/1.x NNN ` up to the end of the status line.
    let line_end = buf
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(0);
    let reason = if line_end > 13 {
        13..line_end
    } else {
        line_end..line_end
    };
    field_offsets(buf, response.headers, usize::MAX, fields);
    Ok(ParsedHead {
        head_len,
        start_line: StartLine::Response { status, reason },
        version_minor: version,
        checks: head_checks(role, b"", status, version, response.headers),
    })
}

/// The header checks on a head (RFC 9112 §6.3, §3.2, §9.3; RFC 9110 §7.6.1, §7.8, §10.1.1):
/// `method` is a request's, `status` a response's.
fn head_checks(
    role: Role<'_>,
    method: &[u8],
    status: u16,
    version_minor: u8,
    headers: &[Header<'_>],
) -> Result<HeadChecks, ProtocolError> {
    let options = framing::connection_options(headers);
    let keep_alive = framing::keep_alive(version_minor, options);
    match role {
        Role::Server { require_host, .. } => {
            let is_connect = method == b"CONNECT";
            let message = Message::Request {
                version_minor,
                is_connect,
            };
            let framing = framing::framing(message, headers)?;
            if require_host && version_minor != 0 {
                framing::check_host(headers)?;
            }
            // RFC 9110 §10.1.1: `100-continue` in an HTTP/1.0 request is ignored.
            let expect = if version_minor != 0 {
                framing::expect(headers)
            } else {
                Expect::None
            };
            Ok(HeadChecks {
                framing,
                keep_alive,
                expect,
                is_upgrade: framing::is_upgrade(version_minor, headers, options),
                is_connect,
            })
        }
        Role::Client { request_method } => {
            let message = Message::Response {
                request_method,
                status,
            };
            Ok(HeadChecks {
                framing: framing::framing(message, headers)?,
                keep_alive,
                expect: Expect::None,
                is_upgrade: false,
                is_connect: request_method == b"CONNECT",
            })
        }
    }
}

/// True if the last transfer coding listed in `te` is `chunked`.
pub(crate) fn ends_in_chunked(te: &[u8]) -> bool {
    te.split(|&b| b == b',')
        .rfind(|t| !trim_ows(t).is_empty())
        .is_some_and(|t| trim_ows(t).eq_ignore_ascii_case(b"chunked"))
}

/// `b` in every byte of a word.
const fn splat(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// The high bit of each byte of `word` (read little-endian) that is CR or LF, and no other:
/// the exact SWAR zero-byte test on `word ^ CR` and `word ^ LF` (no carry crosses a byte).
fn cr_or_lf_bits(word: u64) -> u64 {
    let low7 = splat(0x7f);
    let zero_bytes = |x: u64| !(((x & low7) + low7) | x | low7);
    zero_bytes(word ^ splat(b'\r')) | zero_bytes(word ^ splat(b'\n'))
}

/// The earliest line fault of `buf` and its revealing byte: a bare LF (the LF itself), a bare
/// CR (the byte after it that is not an LF), or a `Content-Length` field line (after the start
/// line) that repeats an earlier one or whose value is not a decimal number that fits (the LF
/// that completes the line: llhttp refuses these as soon as the line is read). One pass that
/// looks at eight bytes at a time and visits only the CRs and LFs.
fn line_fault(buf: &[u8]) -> Option<(usize, ProtocolError)> {
    let mut scan = LineScan {
        buf,
        line_start: None,
        seen_content_length: false,
    };
    let (words, _) = buf.as_chunks::<8>();
    let mut i = 0;
    for word in words {
        let mut bits = cr_or_lf_bits(u64::from_le_bytes(*word));
        while bits != 0 {
            // The byte whose high bit is the lowest set bit: bit 8k+7 marks byte k.
            let at = i + (bits.trailing_zeros() / 8) as usize;
            if let Some(fault) = scan.visit(at) {
                return Some(fault);
            }
            bits &= bits - 1;
        }
        i += 8;
    }
    (i..buf.len()).find_map(|at| scan.visit(at))
}

/// The state of [`line_fault`]'s pass.
struct LineScan<'b> {
    buf: &'b [u8],
    /// Where the current field line starts (`None` on the start line).
    line_start: Option<usize>,
    seen_content_length: bool,
}

impl LineScan<'_> {
    /// Looks at the byte at `at`; a fault it reveals.
    fn visit(&mut self, at: usize) -> Option<(usize, ProtocolError)> {
        match self.buf[at] {
            b'\n' => {
                if at == 0 || self.buf[at - 1] != b'\r' {
                    return Some((at, ProtocolError::BareLineFeed));
                }
                if let Some(start) = self.line_start {
                    let line = &self.buf[start..at - 1];
                    if let Some(error) = self.content_length_line(line) {
                        return Some((at, error));
                    }
                }
                self.line_start = Some(at + 1);
                None
            }
            b'\r' if self.buf.get(at + 1).is_some_and(|&next| next != b'\n') => {
                Some((at + 1, ProtocolError::BareLineFeed))
            }
            _ => None,
        }
    }

    /// The fault of a complete field line (CRLF removed), if it is a bad `Content-Length`.
    fn content_length_line(&mut self, line: &[u8]) -> Option<ProtocolError> {
        const NAME: &[u8] = b"content-length";
        if line.get(NAME.len()) != Some(&b':') || !line[..NAME.len()].eq_ignore_ascii_case(NAME) {
            return None;
        }
        if self.seen_content_length {
            return Some(ProtocolError::DuplicateContentLength);
        }
        self.seen_content_length = true;
        parse_content_length(&line[NAME.len() + 1..]).err()
    }
}

/// The verdict on a head (complete or not) in `buf`: the fault revealed by the earliest byte
/// wins, so the verdict never depends on how the input was cut. Candidates: a bare LF or CR,
/// a bad `Content-Length` line, the size limit (revealed by byte `max_size`), and the
/// parser's own error at `parser` (the index of the byte it failed at).
pub(crate) fn first_fault(
    buf: &[u8],
    max_size: usize,
    parser: Option<(usize, ProtocolError)>,
) -> Result<(), ProtocolError> {
    let mut best: Option<(usize, ProtocolError)> = line_fault(buf);
    let mut consider = |at: usize, error: ProtocolError| {
        if best.is_none_or(|(b, _)| at < b) {
            best = Some((at, error));
        }
    };
    if buf.len() > max_size {
        consider(max_size, ProtocolError::HeadTooLarge);
    }
    if let Some((at, error)) = parser {
        consider(at, error);
    }
    best.map_or(Ok(()), |(_, error)| Err(error))
}

/// The index of the byte at which a parser that fails on `buf` fails: the end of the shortest
/// failing prefix (parsers fail on a prefix iff they fail at a byte within it).
pub(crate) fn failure_index(buf: &[u8], fails: impl Fn(&[u8]) -> bool) -> usize {
    let (mut lo, mut hi) = (0, buf.len());
    // INVARIANT: `buf[..lo]` does not fail, `buf[..hi]` fails.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fails(&buf[..mid]) {
            hi = mid
        } else {
            lo = mid
        }
    }
    hi.saturating_sub(1)
}

/// The verdict on a parser's `status` for the head at the front of `buf`: its length, `None`
/// while more bytes are needed, or the fault revealed first (see [`first_fault`]; `fails`
/// re-runs the parser on a prefix to find where it failed). The same verdict for every split.
pub(crate) fn head_verdict(
    buf: &[u8],
    max_size: usize,
    status: Result<httparse::Status<usize>, httparse::Error>,
    fails: impl Fn(&[u8]) -> bool,
) -> Result<Option<usize>, ProtocolError> {
    match status {
        Ok(httparse::Status::Complete(n)) => {
            first_fault(&buf[..n], max_size, None)?;
            Ok(Some(n))
        }
        Ok(httparse::Status::Partial) => {
            first_fault(buf, max_size, None)?;
            Ok(None)
        }
        Err(error) => {
            let at = failure_index(buf, fails);
            let error = match error {
                httparse::Error::Version => ProtocolError::InvalidVersion,
                httparse::Error::Status => ProtocolError::InvalidStatus,
                httparse::Error::TooManyHeaders => ProtocolError::HeadTooLarge,
                _ => ProtocolError::InvalidHead,
            };
            first_fault(
                &buf[..=at.min(buf.len().saturating_sub(1))],
                max_size,
                Some((at, error)),
            )?;
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The plain two-pass version [`first_fault`] replaced: every byte for bare CR/LF, then
    /// every field line for `Content-Length`; the earliest revealing byte wins.
    fn reference_first_fault(
        buf: &[u8],
        max_size: usize,
        parser: Option<(usize, ProtocolError)>,
    ) -> Result<(), ProtocolError> {
        let mut best: Option<(usize, ProtocolError)> = None;
        let mut consider = |at: usize, error: ProtocolError| {
            if best.is_none_or(|(b, _)| at < b) {
                best = Some((at, error));
            }
        };
        let bare = buf.iter().enumerate().find_map(|(i, &b)| match b {
            b'\n' if i == 0 || buf[i - 1] != b'\r' => Some(i),
            b'\r' if buf.get(i + 1).is_some_and(|&next| next != b'\n') => Some(i + 1),
            _ => None,
        });
        if let Some(at) = bare {
            consider(at, ProtocolError::BareLineFeed);
        }
        let content_length = (|| {
            let mut seen = false;
            let mut start = buf.iter().position(|&b| b == b'\n')? + 1;
            while let Some(len) = buf[start..].iter().position(|&b| b == b'\n') {
                let end = start + len;
                let line = &buf[start..end];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                start = end + 1;
                let Some(colon) = line.iter().position(|&b| b == b':') else {
                    continue;
                };
                if !line[..colon].eq_ignore_ascii_case(b"content-length") {
                    continue;
                }
                if seen {
                    return Some((end, ProtocolError::DuplicateContentLength));
                }
                seen = true;
                let value = trim_ows(&line[colon + 1..]);
                let valid = !value.is_empty()
                    && value.iter().all(u8::is_ascii_digit)
                    && std::str::from_utf8(value).is_ok_and(|v| v.parse::<u64>().is_ok());
                if !valid {
                    return Some((end, ProtocolError::InvalidContentLength));
                }
            }
            None
        })();
        if let Some((at, error)) = content_length {
            consider(at, error);
        }
        if buf.len() > max_size {
            consider(max_size, ProtocolError::HeadTooLarge);
        }
        if let Some((at, error)) = parser {
            consider(at, error);
        }
        best.map_or(Ok(()), |(_, error)| Err(error))
    }

    /// Heads built from the pieces that matter here: line ends of every kind, `Content-Length`
    /// lines good and bad, colons, padding that moves them across 8-byte words.
    fn head_bytes() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(&b"\r\n"[..]),
            Just(&b"\n"[..]),
            Just(&b"\r"[..]),
            Just(&b"\rx"[..]),
            Just(&b"Content-Length: 5"[..]),
            Just(&b"content-length:12345678901234567890123"[..]),
            Just(&b"Content-Length: 5, 5"[..]),
            Just(&b"Content-Length:"[..]),
            Just(&b"Content-Lengthx: 1"[..]),
            Just(&b"Host: a"[..]),
            Just(&b"GET / HTTP/1.1"[..]),
            Just(&b":"[..]),
            Just(&b" "[..]),
            Just(&b"abcdefg"[..]),
        ];
        prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        /// The one-pass scan gives the verdict of the plain two-pass version on every input.
        #[test]
        fn one_pass_matches_reference(
            buf in head_bytes(),
            max_size in 0usize..300,
            parser_at in prop::option::of(0usize..300),
        ) {
            let parser = parser_at.map(|at| (at, ProtocolError::InvalidHead));
            prop_assert_eq!(
                first_fault(&buf, max_size, parser),
                reference_first_fault(&buf, max_size, parser)
            );
        }

        /// The word test marks exactly the CR and LF bytes.
        #[test]
        fn word_test_marks_exactly_cr_and_lf(word in any::<[u8; 8]>()) {
            let bits = cr_or_lf_bits(u64::from_le_bytes(word));
            for (k, b) in word.iter().enumerate() {
                prop_assert_eq!(bits >> (8 * k + 7) & 1 == 1, *b == b'\r' || *b == b'\n');
            }
            prop_assert_eq!(bits & !splat(0x80), 0);
        }

        /// The same on arbitrary bytes.
        #[test]
        fn one_pass_matches_reference_on_any_bytes(
            buf in prop::collection::vec(prop::sample::select(&b"\r\n:Content-lgth 05a"[..]), 0..200),
        ) {
            prop_assert_eq!(first_fault(&buf, 1000, None), reference_first_fault(&buf, 1000, None));
        }
    }
}
