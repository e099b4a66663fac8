//! Checks on message heads shared by the server and client roles: line endings, partial
//! `Content-Length` lines, transfer-coding lists (RFC 9112 §2.2, §6).

use crate::ProtocolError;
use crate::headers::trim_ows;

/// True if the last transfer coding listed in `te` is `chunked`.
pub(crate) fn ends_in_chunked(te: &[u8]) -> bool {
    te.split(|&b| b == b',')
        .rfind(|t| !trim_ows(t).is_empty())
        .is_some_and(|t| trim_ows(t).eq_ignore_ascii_case(b"chunked"))
}

/// The first `Content-Length` fault among the complete field lines of `buf` (a repeated line,
/// or a value that is not a decimal number that fits), with the index of the LF that completes
/// the offending line: llhttp refuses these as soon as the line is read.
fn content_length_fault(buf: &[u8]) -> Option<(usize, ProtocolError)> {
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
}

/// The index of the byte that reveals the first bare LF or bare CR in `buf` (RFC 9112 §2.2,
/// strict): the LF itself, or the byte after a CR that is not an LF.
fn line_fault(buf: &[u8]) -> Option<usize> {
    buf.iter().enumerate().find_map(|(i, &b)| match b {
        b'\n' if i == 0 || buf[i - 1] != b'\r' => Some(i),
        b'\r' if buf.get(i + 1).is_some_and(|&next| next != b'\n') => Some(i + 1),
        _ => None,
    })
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
    let mut best: Option<(usize, ProtocolError)> = None;
    let mut consider = |at: usize, error: ProtocolError| {
        if best.is_none_or(|(b, _)| at < b) {
            best = Some((at, error));
        }
    };
    if let Some(at) = line_fault(buf) {
        consider(at, ProtocolError::BareLineFeed);
    }
    if let Some((at, error)) = content_length_fault(buf) {
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
