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
        let value = trim_ows(&line[NAME.len() + 1..]);
        let valid = !value.is_empty()
            && value.iter().all(u8::is_ascii_digit)
            && std::str::from_utf8(value).is_ok_and(|v| v.parse::<u64>().is_ok());
        (!valid).then_some(ProtocolError::InvalidContentLength)
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
