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

/// `Content-Length` checks on the complete field lines of a head that is not complete yet, so
/// that an invalid or repeated value is refused as soon as it is seen, as llhttp does.
pub(crate) fn check_partial_content_length(buf: &[u8]) -> Result<(), ProtocolError> {
    let mut seen = false;
    let mut lines = buf.split(|&b| b == b'\n');
    lines.next(); // the start line
    let complete = buf
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        .saturating_sub(1);
    for line in lines.take(complete) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if !line[..colon].eq_ignore_ascii_case(b"content-length") {
            continue;
        }
        if seen {
            return Err(ProtocolError::DuplicateContentLength);
        }
        seen = true;
        let value = trim_ows(&line[colon + 1..]);
        let valid = !value.is_empty()
            && value.iter().all(u8::is_ascii_digit)
            && std::str::from_utf8(value).is_ok_and(|v| v.parse::<u64>().is_ok());
        if !valid {
            return Err(ProtocolError::InvalidContentLength);
        }
    }
    Ok(())
}

/// Every LF must follow a CR and every CR precede an LF (RFC 9112 §2.2: we take the strict
/// choice).
pub(crate) fn check_line_endings(head: &[u8]) -> Result<(), ProtocolError> {
    for (i, &b) in head.iter().enumerate() {
        let bad = match b {
            b'\n' => i == 0 || head[i - 1] != b'\r',
            b'\r' => head.get(i + 1).is_some_and(|&next| next != b'\n'),
            _ => false,
        };
        if bad {
            return Err(ProtocolError::BareLineFeed);
        }
    }
    Ok(())
}
