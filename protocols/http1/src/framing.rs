//! Message body length and the header checks the machines need: `Transfer-Encoding`,
//! `Content-Length`, `Connection`, `Expect`, `Host` and `Upgrade` (RFC 9112 §6.1, §6.3, §3.2,
//! §9.3; RFC 9110 §7.6.1, §7.8, §10.1.1; RFC 3986 §3.2.2, §3.2.3).
//!
//! Strictness is Node's (llhttp's) where it is stricter than the RFCs: `Transfer-Encoding` with
//! `Content-Length` is rejected rather than letting the former win, `Content-Length` on two
//! lines is rejected even when the values agree, and a list value (`5, 5`) is rejected.
//! Every function here is pure and never panics on any input.

use std::net::Ipv6Addr;

use httparse::Header;

use crate::Headers;
use crate::error::ProtocolError;

/// How the body of a message is delimited (RFC 9112 §6.3): the one verdict both roles read
/// bodies by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body: a request with neither `Transfer-Encoding` nor `Content-Length`, a CONNECT
    /// request, a response to HEAD, a 1xx, 204 or 304, or a 2xx to CONNECT (items 1, 2, 6).
    None,
    /// Exactly this many bytes (item 5).
    ContentLength(u64),
    /// The chunked transfer coding (item 3).
    Chunked,
    /// Until the connection closes: responses only (items 4 and 7).
    UntilClose,
}

/// The message whose framing is decided, with what the decision depends on besides its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Message<'m> {
    /// A request (read by the server).
    Request {
        /// `x` of `HTTP/1.x`.
        version_minor: u8,
        /// Whether the method is CONNECT (its body is the tunnel).
        is_connect: bool,
    },
    /// A response (read by the client) to a request with `request_method`.
    Response {
        /// The method of the request it answers.
        request_method: &'m [u8],
        /// The status code.
        status: u16,
    },
}

/// Header fields as the checks read them: the fields of a parsed head, or a [`Headers`] the
/// application built.
pub(crate) trait Fields {
    /// Every field, in order, as `(name, value)`.
    fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])>;
}

impl Fields for [Header<'_>] {
    fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.iter().map(|h| (h.name.as_bytes(), h.value))
    }
}

impl Fields for Headers {
    fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.iter().map(|(n, v)| (&n[..], &v[..]))
    }
}
/// The `Connection` options this crate acts on (RFC 9110 §7.6.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ConnectionOptions {
    /// `close` is listed.
    pub(crate) close: bool,
    /// `keep-alive` is listed.
    pub(crate) keep_alive: bool,
    /// `upgrade` is listed.
    pub(crate) upgrade: bool,
}

/// What a request's `Expect` asks for (RFC 9110 §10.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// No `Expect` line.
    None,
    /// `100-continue` is listed (case-insensitive).
    Continue,
    /// An `Expect` line without `100-continue` (the server answers 417, like Node).
    Other,
}

/// The body framing of `message` with these headers (names case-insensitive): the one place
/// both roles decide how a body is delimited (RFC 9112 §6.3).
///
/// A CONNECT request, a response to HEAD, a 1xx, 204 or 304, and a 2xx to CONNECT have no body
/// whatever their headers say (RFC 9112 §6.3 items 1–2). Otherwise, in order: any
/// `Transfer-Encoding` line (even empty) together with any `Content-Length` is
/// [`ProtocolError::ContentLengthWithTransferEncoding`] in both kinds of message, as llhttp
/// has it (docs/node-semantics.md#http-duplicate-content-length); `Transfer-Encoding` in an
/// HTTP/1.0 request is [`ProtocolError::TransferEncodingInHttp10`] (RFC 9112 §6.1); a coding list
/// (all lines, comma lists, OWS trimmed, empty elements ignored) that does not parse or lists
/// `chunked` twice is [`ProtocolError::InvalidTransferEncoding`]; one ending in `chunked` is
/// [`Framing::Chunked`]; one that does not is [`ProtocolError::InvalidTransferEncoding`] in a
/// request and [`Framing::UntilClose`] in a response (RFC 9112 §6.3 item 4,
/// docs/node-semantics.md#http-request-te-not-chunked, #http-body-te-until-close).
/// `Content-Length` follows [`content_length`]. With neither header a request has no body and a
/// response runs to the close (docs/node-semantics.md#http-body-neither-header).
pub(crate) fn framing(
    message: Message<'_>,
    headers: &(impl Fields + ?Sized),
) -> Result<Framing, ProtocolError> {
    let no_body = match message {
        Message::Request { is_connect, .. } => is_connect,
        Message::Response {
            request_method,
            status,
        } => {
            request_method == b"HEAD"
                || (100..200).contains(&status)
                || status == 204
                || status == 304
                || (request_method == b"CONNECT" && (200..300).contains(&status))
        }
    };
    if no_body {
        return Ok(Framing::None);
    }
    let has_transfer_encoding = values(headers, "transfer-encoding").next().is_some();
    let has_content_length = values(headers, "content-length").next().is_some();
    if has_transfer_encoding && has_content_length {
        return Err(ProtocolError::ContentLengthWithTransferEncoding);
    }
    if has_transfer_encoding {
        if let Message::Request {
            version_minor: 0, ..
        } = message
        {
            return Err(ProtocolError::TransferEncodingInHttp10);
        }
        return match (transfer_codings(headers)?, message) {
            (Codings::Chunked, _) => Ok(Framing::Chunked),
            (Codings::Absent | Codings::NotChunked, Message::Request { .. }) => {
                Err(ProtocolError::InvalidTransferEncoding)
            }
            (Codings::Absent | Codings::NotChunked, Message::Response { .. }) => {
                Ok(Framing::UntilClose)
            }
        };
    }
    Ok(match (content_length(headers)?, message) {
        (Some(n), _) => Framing::ContentLength(n),
        (None, Message::Request { .. }) => Framing::None,
        (None, Message::Response { .. }) => Framing::UntilClose,
    })
}

/// The `Connection` options of these headers: all lines, comma lists, OWS trimmed,
/// case-insensitive (RFC 9110 §7.6.1).
pub(crate) fn connection_options(headers: &(impl Fields + ?Sized)) -> ConnectionOptions {
    let mut options = ConnectionOptions::default();
    for option in values(headers, "connection").flat_map(list_elements) {
        if option.eq_ignore_ascii_case(b"close") {
            options.close = true;
        } else if option.eq_ignore_ascii_case(b"keep-alive") {
            options.keep_alive = true;
        } else if option.eq_ignore_ascii_case(b"upgrade") {
            options.upgrade = true;
        }
    }
    options
}

/// Whether the connection persists after this message (RFC 9112 §9.3): HTTP/1.1 unless
/// `close`; HTTP/1.0 only with `keep-alive` and without `close`.
pub(crate) fn keep_alive(version_minor: u8, options: ConnectionOptions) -> bool {
    if options.close {
        return false;
    }
    version_minor >= 1 || options.keep_alive
}

/// What the request's `Expect` lines ask for (RFC 9110 §10.1.1).
///
/// Like Node, any list member equal to `100-continue` (case-insensitive) makes it
/// [`Expect::Continue`], even beside unknown members; an `Expect` line without one (an empty one
/// included) is [`Expect::Other`]. RFC 9110 §10.1.1 makes the server ignore `100-continue` in an
/// HTTP/1.0 request; that is the machine's decision.
pub(crate) fn expect(headers: &(impl Fields + ?Sized)) -> Expect {
    let mut lines = values(headers, "expect").peekable();
    if lines.peek().is_none() {
        return Expect::None;
    }
    if lines
        .flat_map(list_elements)
        .any(|e| e.eq_ignore_ascii_case(b"100-continue"))
    {
        Expect::Continue
    } else {
        Expect::Other
    }
}

/// Checks that there is exactly one `Host` line and that its value is `uri-host [ ":" port ]`
/// (RFC 9112 §3.2, RFC 3986 §3.2.2–§3.2.3), or [`ProtocolError::InvalidHost`]
/// (docs/node-semantics.md#http-host-validity).
///
/// The host is a reg-name (which covers IPv4 addresses), an IPv6 address or an IPvFuture in
/// brackets; the port is digits only and may be empty, as RFC 3986 allows. An empty value is
/// allowed (RFC 9112 §3.2, for a target without authority). Whether HTTP/1.0 needs `Host` is the
/// machine's decision.
pub(crate) fn check_host(headers: &(impl Fields + ?Sized)) -> Result<(), ProtocolError> {
    let mut lines = values(headers, "host");
    let (Some(value), None) = (lines.next(), lines.next()) else {
        return Err(ProtocolError::InvalidHost);
    };
    if is_valid_host(trim_ows(value)) {
        Ok(())
    } else {
        Err(ProtocolError::InvalidHost)
    }
}

/// True if the request asks to switch protocols: HTTP/1.1 or later, `Connection: upgrade` and
/// a non-empty `Upgrade` (RFC 9110 §7.8; an HTTP/1.0 `Upgrade` is ignored).
pub(crate) fn is_upgrade(
    version_minor: u8,
    headers: &(impl Fields + ?Sized),
    options: ConnectionOptions,
) -> bool {
    version_minor >= 1
        && options.upgrade
        && values(headers, "upgrade").any(|v| !trim_ows(v).is_empty())
}

/// What the `Transfer-Encoding` lines say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codings {
    /// No coding is listed (no line, or only empty elements).
    Absent,
    /// Valid codings, the last of them `chunked` (and only the last).
    Chunked,
    /// Valid codings, the last of them not `chunked`.
    NotChunked,
}

/// Parses every `Transfer-Encoding` line as `#transfer-coding` (RFC 9112 §6.1, §7).
fn transfer_codings(headers: &(impl Fields + ?Sized)) -> Result<Codings, ProtocolError> {
    let mut codings = Codings::Absent;
    let mut chunked_seen = false;
    for element in values(headers, "transfer-encoding").flat_map(list_elements) {
        let (name, has_parameters) =
            parse_coding(element).ok_or(ProtocolError::InvalidTransferEncoding)?;
        if name.eq_ignore_ascii_case(b"chunked") {
            // `chunked` has no parameters, and is applied at most once (RFC 9112 §6.1, §7.1).
            if chunked_seen || has_parameters {
                return Err(ProtocolError::InvalidTransferEncoding);
            }
            chunked_seen = true;
            codings = Codings::Chunked;
        } else {
            codings = Codings::NotChunked;
        }
    }
    Ok(codings)
}

/// Parses `token *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) )` (RFC 9112 §7,
/// RFC 9110 §5.6.6); the coding name and whether parameters follow.
fn parse_coding(element: &[u8]) -> Option<(&[u8], bool)> {
    let name_len = element.iter().take_while(|&&b| is_tchar(b)).count();
    let (name, mut rest) = element.split_at(name_len);
    if name.is_empty() {
        return None;
    }
    let has_parameters = !rest.is_empty();
    while !rest.is_empty() {
        rest = trim_start_ows(rest).strip_prefix(b";")?;
        rest = trim_start_ows(rest);
        let key_len = rest.iter().take_while(|&&b| is_tchar(b)).count();
        if key_len == 0 {
            return None;
        }
        rest = trim_start_ows(rest.get(key_len..)?).strip_prefix(b"=")?;
        rest = trim_start_ows(rest);
        let value_len = if rest.first() == Some(&b'"') {
            quoted_string_len(rest)?
        } else {
            rest.iter().take_while(|&&b| is_tchar(b)).count()
        };
        if value_len == 0 {
            return None;
        }
        rest = rest.get(value_len..)?;
    }
    Some((name, has_parameters))
}

/// The length of the quoted-string at the start of `s` (RFC 9110 §5.6.4).
fn quoted_string_len(s: &[u8]) -> Option<usize> {
    let mut escaped = false;
    for (i, &b) in s.iter().enumerate().skip(1) {
        if escaped {
            if !matches!(b, b'\t' | b' ' | 0x21..=0x7E | 0x80..=0xFF) {
                return None;
            }
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if b == b'"' {
            return Some(i + 1);
        } else if !matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5B | 0x5D..=0x7E | 0x80..=0xFF) {
            return None;
        }
    }
    None
}

/// The `Content-Length` of these headers: one line, whose value [`parse_content_length`] takes.
/// A second line is [`ProtocolError::DuplicateContentLength`] even when the values agree
/// (docs/node-semantics.md#http-duplicate-content-length).
pub(crate) fn content_length(
    headers: &(impl Fields + ?Sized),
) -> Result<Option<u64>, ProtocolError> {
    let mut length = None;
    for value in values(headers, "content-length") {
        if length.is_some() {
            return Err(ProtocolError::DuplicateContentLength);
        }
        length = Some(parse_content_length(value)?);
    }
    Ok(length)
}

/// Parses one `Content-Length` value (RFC 9110 §8.6): `1*DIGIT`, OWS trimmed, fitting u64;
/// anything else (a sign, a list like `5, 5`, inner spaces, no digit) is
/// [`ProtocolError::InvalidContentLength`] (docs/node-semantics.md#http-body-invalid-length).
/// The crate's only `Content-Length` parser: received heads, the head scan that rejects a bad
/// line as soon as it is read, and the lengths the application sets all go through it.
pub(crate) fn parse_content_length(value: &[u8]) -> Result<u64, ProtocolError> {
    let digits = trim_ows(value);
    if digits.is_empty() {
        return Err(ProtocolError::InvalidContentLength);
    }
    digits.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return Err(ProtocolError::InvalidContentLength);
        }
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(ProtocolError::InvalidContentLength)
    })
}

/// True if `value` is `uri-host [ ":" port ]` (RFC 3986 §3.2.2, §3.2.3).
fn is_valid_host(value: &[u8]) -> bool {
    let (host, port) = if value.first() == Some(&b'[') {
        let Some(close) = value.iter().position(|&b| b == b']') else {
            return false;
        };
        let (literal, rest) = value.split_at(close + 1);
        let inner = literal.get(1..close).unwrap_or_default();
        if !is_ipv6(inner) && !is_ipv_future(inner) {
            return false;
        }
        (None, rest)
    } else {
        let end = value.iter().position(|&b| b == b':').unwrap_or(value.len());
        let (host, rest) = value.split_at(end);
        (Some(host), rest)
    };
    if host.is_some_and(|reg_name| !is_reg_name(reg_name)) {
        return false;
    }
    match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )` (RFC 3986 §3.2.2).
fn is_reg_name(s: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'%' {
            let hex = s.get(i + 1..i + 3).unwrap_or_default();
            if hex.len() != 2 || !hex.iter().all(u8::is_ascii_hexdigit) {
                return false;
            }
            i += 3;
        } else if is_unreserved(b) || is_sub_delim(b) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// `IPv6address` (RFC 3986 §3.2.2), as the standard library parses it.
fn is_ipv6(s: &[u8]) -> bool {
    std::str::from_utf8(s).is_ok_and(|s| s.parse::<Ipv6Addr>().is_ok())
}

/// `IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )` (RFC 3986 §3.2.2).
fn is_ipv_future(s: &[u8]) -> bool {
    let Some(rest) = s.strip_prefix(b"v").or_else(|| s.strip_prefix(b"V")) else {
        return false;
    };
    let hex_len = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let Some(tail) = rest.get(hex_len..).and_then(|t| t.strip_prefix(b".")) else {
        return false;
    };
    hex_len > 0
        && !tail.is_empty()
        && tail
            .iter()
            .all(|&b| is_unreserved(b) || is_sub_delim(b) || b == b':')
}

/// `unreserved` (RFC 3986 §2.3).
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `sub-delims` (RFC 3986 §2.2).
fn is_sub_delim(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

/// `tchar` (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The values of every line named `name` (ASCII case-insensitive), in order.
fn values<'h, F: Fields + ?Sized>(
    headers: &'h F,
    name: &'static str,
) -> impl Iterator<Item = &'h [u8]> + use<'h, F> {
    headers
        .pairs()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| v)
}

/// The non-empty, OWS-trimmed elements of a comma list (RFC 9110 §5.6.1).
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// `value` without leading and trailing SP/HTAB (RFC 9110 §5.6.3).
fn trim_ows(value: &[u8]) -> &[u8] {
    let start = trim_start_ows(value);
    let end = start
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |i| i + 1);
    start.get(..end).unwrap_or_default()
}

/// `value` without leading SP/HTAB.
fn trim_start_ows(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(value.len());
    value.get(start..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Fields for Vec<Header<'_>> {
        fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
            self[..].pairs()
        }
    }

    /// Headers from `(name, value)` pairs.
    fn h<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<Header<'a>> {
        pairs
            .iter()
            .map(|&(name, value)| Header {
                name,
                value: value.as_bytes(),
            })
            .collect()
    }

    fn request_framing(
        version_minor: u8,
        headers: &[Header<'_>],
    ) -> Result<Framing, ProtocolError> {
        let message = Message::Request {
            version_minor,
            is_connect: false,
        };
        framing(message, headers)
    }

    fn req(pairs: &[(&str, &str)]) -> Result<Framing, ProtocolError> {
        request_framing(1, &h(pairs))
    }

    fn resp(method: &str, status: u16, pairs: &[(&str, &str)]) -> Result<Framing, ProtocolError> {
        let message = Message::Response {
            request_method: method.as_bytes(),
            status,
        };
        framing(message, &h(pairs)[..])
    }

    /// RFC 9112 §6.3 item 6, docs/node-semantics.md#http-body-neither-header: a request with
    /// neither header has no body.
    #[test]
    fn request_without_length_headers_has_no_body() {
        assert_eq!(req(&[("Host", "a")]), Ok(Framing::None));
        assert_eq!(request_framing(0, &[]), Ok(Framing::None));
    }

    /// RFC 9112 §6.3 item 5: `Content-Length` with leading zeros, OWS and any name case
    /// (llhttp `content-length-with-zeroes`, `tabs-in-content-length-surrounding`,
    /// `funky-content-length-with-body`).
    #[test]
    fn request_content_length_parses() {
        assert_eq!(
            req(&[("Content-Length", "003")]),
            Ok(Framing::ContentLength(3))
        );
        assert_eq!(
            req(&[("Content-Length", " 42 ")]),
            Ok(Framing::ContentLength(42))
        );
        assert_eq!(
            req(&[("Content-Length", "\t42\t  ")]),
            Ok(Framing::ContentLength(42))
        );
        assert_eq!(
            request_framing(0, &h(&[("conTENT-Length", "5")])),
            Ok(Framing::ContentLength(5))
        );
        assert_eq!(
            req(&[("Content-Length", "0")]),
            Ok(Framing::ContentLength(0))
        );
        assert_eq!(
            req(&[("Content-Length", "18446744073709551615")]),
            Ok(Framing::ContentLength(u64::MAX))
        );
        assert_eq!(req(&[("Content-Length-X", "zz")]), Ok(Framing::None));
    }

    /// RFC 9112 §6.3 item 5, docs/node-semantics.md#http-body-invalid-length: a value that is not
    /// `1*DIGIT` or overflows (llhttp `spaces-in-content-length-2/3`, `empty-content-length`,
    /// `error-on-content-length-overflow`); a list is rejected like Node.
    #[test]
    fn request_invalid_content_length_is_rejected() {
        for value in [
            "",
            "  ",
            "4 2",
            "13 37",
            "-1",
            "+1",
            "0x10",
            "1e3",
            "5, 5",
            "5,5",
            "5,",
            "a",
            "18446744073709551616",
            "1000000000000000000000",
            "\u{663}",
        ] {
            assert_eq!(
                req(&[("Content-Length", value)]),
                Err(ProtocolError::InvalidContentLength),
                "{value:?}"
            );
        }
    }

    /// docs/node-semantics.md#http-duplicate-content-length: a second `Content-Length` line is
    /// rejected even if equal (llhttp `error-on-duplicate-content-length`).
    #[test]
    fn request_duplicate_content_length_is_rejected() {
        for (a, b) in [("1", "2"), ("5", "5")] {
            assert_eq!(
                req(&[("Content-Length", a), ("content-length", b)]),
                Err(ProtocolError::DuplicateContentLength)
            );
        }
    }

    /// docs/node-semantics.md#http-duplicate-content-length, RFC 9112 §6.1: `Transfer-Encoding`
    /// with `Content-Length`, in either order and even with empty `Transfer-Encoding` lines (llhttp
    /// `error-on-simultaneous-content-length-and-transfer-encoding-identity`,
    /// `post-with-transfer-encoding-and-content-length`,
    /// `post-with-empty-transfer-encoding-and-content-length-lenient`).
    #[test]
    fn request_transfer_encoding_with_content_length_is_rejected() {
        let e = Err(ProtocolError::ContentLengthWithTransferEncoding);
        assert_eq!(
            req(&[("Content-Length", "1"), ("Transfer-Encoding", "identity")]),
            e
        );
        assert_eq!(
            req(&[("Transfer-Encoding", "chunked"), ("Content-Length", "5")]),
            e
        );
        assert_eq!(
            req(&[
                ("Content-Length", "10"),
                ("Transfer-Encoding", ""),
                ("Transfer-Encoding", ""),
            ]),
            e
        );
        assert_eq!(
            request_framing(
                0,
                &h(&[("Transfer-Encoding", "chunked"), ("Content-Length", "5")])
            ),
            e
        );
    }

    /// RFC 9112 §6.3 item 3: a coding list ending in `chunked` is chunked, across lines and
    /// cases (llhttp `post-with-chunked-as-last-transfer-encoding[-multiple-headers]`).
    #[test]
    fn request_chunked_last_is_chunked() {
        for pairs in [
            &[("Transfer-Encoding", "chunked")][..],
            &[("transfer-encoding", "CHUNKED ")],
            &[("Transfer-Encoding", "deflate, chunked")],
            &[
                ("Transfer-Encoding", "deflate"),
                ("Transfer-Encoding", "chunked"),
            ],
            &[("Transfer-Encoding", ", gzip;q=1 ,, chunked ,")],
            &[("Transfer-Encoding", "x;a=\"b c\";d = e, chunked")],
            &[
                ("Transfer-Encoding", "gzip"),
                ("Transfer-Encoding", ""),
                ("Transfer-Encoding", "chunked"),
            ],
        ] {
            assert_eq!(req(pairs), Ok(Framing::Chunked), "{pairs:?}");
        }
    }

    /// RFC 9112 §6.3 item 4, docs/node-semantics.md#http-request-te-not-chunked: a request coding
    /// list not ending in `chunked`, `chunked` twice or with parameters, or a list that does not
    /// parse (llhttp `ignoring-pigeons`, `post-with-chunked-before-other-transfer-coding-names`,
    /// `post-with-chunked-and-duplicate-transfer-encoding`,
    /// `post-with-chunkedchunked-as-transfer-encoding`).
    #[test]
    fn request_invalid_transfer_encoding_is_rejected() {
        for pairs in [
            &[("Transfer-Encoding", "pigeons")][..],
            &[("Transfer-Encoding", "identity")],
            &[("Transfer-Encoding", "chunked, deflate")],
            &[
                ("Transfer-Encoding", "chunked"),
                ("Transfer-Encoding", "deflate"),
            ],
            &[("Transfer-Encoding", "chunkedchunked")],
            &[("Transfer-Encoding", "chunked, chunked")],
            &[
                ("Transfer-Encoding", "chunked"),
                ("Transfer-Encoding", "chunked"),
            ],
            &[("Transfer-Encoding", "chunked;a=b")],
            &[("Transfer-Encoding", "")],
            &[("Transfer-Encoding", " , ")],
            &[("Transfer-Encoding", "chun ked")],
            &[("Transfer-Encoding", "gzip;, chunked")],
            &[("Transfer-Encoding", "gzip;a, chunked")],
            &[("Transfer-Encoding", "gzip;a=, chunked")],
            &[("Transfer-Encoding", "gzip;a=\"b, chunked")],
            &[("Transfer-Encoding", "\"chunked\"")],
            &[("Transfer-Encoding", "chunked abc")],
        ] {
            assert_eq!(
                req(pairs),
                Err(ProtocolError::InvalidTransferEncoding),
                "{pairs:?}"
            );
        }
    }

    /// RFC 9112 §6.1: `Transfer-Encoding` in an HTTP/1.0 request is faulty framing.
    #[test]
    fn request_transfer_encoding_in_http10_is_rejected() {
        assert_eq!(
            request_framing(0, &h(&[("Transfer-Encoding", "chunked")])),
            Err(ProtocolError::TransferEncodingInHttp10)
        );
    }

    /// docs/node-semantics.md#http-body-none, RFC 9112 §6.3 item 1: HEAD responses, 1xx, 204 and
    /// 304 have no body whatever the headers (llhttp `http-304-with-content-length`,
    /// `http-304-with-transfer-encoding`, `http-101-response-with-upgrade-and-*`,
    /// `content-length-reset-when-no-body-is-received`).
    #[test]
    fn response_without_body_ignores_headers() {
        let junk = [
            ("Content-Length", "x"),
            ("Content-Length", "1"),
            ("Transfer-Encoding", "chunked"),
        ];
        for (method, status) in [
            ("HEAD", 200),
            ("HEAD", 404),
            ("GET", 100),
            ("GET", 101),
            ("GET", 103),
            ("GET", 199),
            ("GET", 204),
            ("GET", 304),
        ] {
            assert_eq!(
                resp(method, status, &junk),
                Ok(Framing::None),
                "{method} {status}"
            );
        }
        assert_eq!(
            resp("GET", 304, &[("Content-Length", "10")]),
            Ok(Framing::None)
        );
    }

    /// docs/node-semantics.md#http-body-none, RFC 9112 §6.3 item 2: a 2xx to CONNECT is a tunnel;
    /// other statuses to CONNECT are framed as usual.
    #[test]
    fn response_to_connect_2xx_is_tunnel() {
        assert_eq!(
            resp("CONNECT", 200, &[("Content-Length", "5")]),
            Ok(Framing::None)
        );
        assert_eq!(resp("CONNECT", 299, &[]), Ok(Framing::None));
        assert_eq!(
            resp("CONNECT", 407, &[("Content-Length", "5")]),
            Ok(Framing::ContentLength(5))
        );
        assert_eq!(resp("connect", 200, &[]), Ok(Framing::UntilClose));
    }

    /// RFC 9112 §6.3 items 3 and 5: chunked and `Content-Length` responses (llhttp
    /// `content-length-x`, `http-200-response-with-upgrade-header-and-*`).
    #[test]
    fn response_framed_by_headers() {
        assert_eq!(
            resp(
                "GET",
                200,
                &[("Content-Length-X", "0"), ("Transfer-Encoding", "chunked")]
            ),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            resp("GET", 200, &[("Content-Length", "\t42\t")]),
            Ok(Framing::ContentLength(42))
        );
        assert_eq!(
            resp("POST", 500, &[("Transfer-Encoding", "gzip, chunked")]),
            Ok(Framing::Chunked)
        );
    }

    /// docs/node-semantics.md#http-body-te-until-close, RFC 9112 §6.3 item 4: a response coding
    /// list not ending in `chunked` is read until close (llhttp
    /// `chunked-before-other-transfer-encoding`,
    /// `multiple-transfer-encoding-where-chunked-is-not-the-last-one`,
    /// `chunkedchunked-transfer-encoding-does-not-enable-chunked-enconding`).
    #[test]
    fn response_not_ending_in_chunked_reads_to_close() {
        for pairs in [
            &[("Transfer-Encoding", "chunked, deflate")][..],
            &[
                ("Transfer-Encoding", "chunked"),
                ("Transfer-Encoding", "identity"),
            ],
            &[("Transfer-Encoding", "chunkedchunked")],
            &[("Transfer-Encoding", "")],
        ] {
            assert_eq!(
                resp("GET", 200, pairs),
                Ok(Framing::UntilClose),
                "{pairs:?}"
            );
        }
    }

    /// RFC 9112 §6.1, §7.1: a response coding list that does not parse or applies `chunked`
    /// twice is rejected.
    #[test]
    fn response_invalid_transfer_encoding_is_rejected() {
        for pairs in [
            &[("Transfer-Encoding", "chunked, chunked")][..],
            &[("Transfer-Encoding", "chun ked")],
        ] {
            assert_eq!(
                resp("GET", 200, pairs),
                Err(ProtocolError::InvalidTransferEncoding),
                "{pairs:?}"
            );
        }
    }

    /// docs/node-semantics.md#http-duplicate-content-length, #http-body-invalid-length:
    /// `Content-Length` errors are fatal in responses too, and llhttp rejects `Transfer-Encoding`
    /// with `Content-Length` in responses as well.
    #[test]
    fn response_invalid_lengths_are_rejected() {
        assert_eq!(
            resp("GET", 200, &[("Content-Length", "4 2")]),
            Err(ProtocolError::InvalidContentLength)
        );
        assert_eq!(
            resp(
                "GET",
                200,
                &[("Content-Length", "2"), ("Content-Length", "2")]
            ),
            Err(ProtocolError::DuplicateContentLength)
        );
        assert_eq!(
            resp(
                "GET",
                200,
                &[("Transfer-Encoding", "chunked"), ("Content-Length", "2")]
            ),
            Err(ProtocolError::ContentLengthWithTransferEncoding)
        );
    }

    /// docs/node-semantics.md#http-body-neither-header, RFC 9112 §6.3 item 7: a response with
    /// neither header is close-delimited.
    #[test]
    fn response_without_length_headers_reads_to_close() {
        assert_eq!(
            resp("GET", 200, &[("Server", "x")]),
            Ok(Framing::UntilClose)
        );
    }

    /// RFC 9110 §7.6.1: `Connection` options across lines and comma lists, case-insensitive,
    /// OWS trimmed (llhttp `connection/sample`, `multiple-tokens-with-folding-and-lws`,
    /// `setting-flag-on-close-followed-by-tab`).
    #[test]
    fn connection_options_are_collected() {
        let o = connection_options(&h(&[(
            "Connection",
            "close, token, upgrade, token, keep-alive",
        )]));
        assert_eq!(
            o,
            ConnectionOptions {
                close: true,
                keep_alive: true,
                upgrade: true
            }
        );
        let o = connection_options(&h(&[
            ("connection", "Keep-Alive"),
            ("CONNECTION", " UPGRADE\t"),
        ]));
        assert_eq!(
            o,
            ConnectionOptions {
                close: false,
                keep_alive: true,
                upgrade: true
            }
        );
        let o = connection_options(&h(&[("Connection", "close\t")]));
        assert_eq!(
            o,
            ConnectionOptions {
                close: true,
                ..ConnectionOptions::default()
            }
        );
        let o = connection_options(&h(&[
            ("Connection", "closed, keep-alive-x, upgrades"),
            ("Proxy-Connection", "close"),
        ]));
        assert_eq!(o, ConnectionOptions::default());
    }

    /// RFC 9112 §9.3: HTTP/1.1 persists unless `close`; HTTP/1.0 only with `keep-alive` and
    /// without `close` (llhttp `no-restart-when-keep-alive-is-off-1-0`, `setting-flag-on-close`).
    #[test]
    fn keep_alive_follows_version_and_options() {
        let none = ConnectionOptions::default();
        let close = ConnectionOptions {
            close: true,
            ..none
        };
        let ka = ConnectionOptions {
            keep_alive: true,
            ..none
        };
        let both = ConnectionOptions {
            close: true,
            keep_alive: true,
            upgrade: false,
        };
        assert!(keep_alive(1, none));
        assert!(keep_alive(1, ka));
        assert!(!keep_alive(1, close));
        assert!(!keep_alive(1, both));
        assert!(!keep_alive(0, none));
        assert!(keep_alive(0, ka));
        assert!(!keep_alive(0, close));
        assert!(!keep_alive(0, both));
    }

    /// RFC 9110 §10.1.1, Node source `lib/_http_server.js` › `socketOnError` (417): `100-continue`
    /// in any case and any list position is `Continue` (as in Node); any other `Expect` is `Other`.
    #[test]
    fn expect_is_classified() {
        assert_eq!(expect(&h(&[("Host", "a")])), Expect::None);
        assert_eq!(expect(&h(&[("Expect", "100-continue")])), Expect::Continue);
        assert_eq!(
            expect(&h(&[("expect", " 100-CONTINUE ")])),
            Expect::Continue
        );
        assert_eq!(
            expect(&h(&[("Expect", "foo"), ("Expect", "100-continue")])),
            Expect::Continue
        );
        assert_eq!(expect(&h(&[("Expect", "200-ok")])), Expect::Other);
        assert_eq!(expect(&h(&[("Expect", "100-continued")])), Expect::Other);
        assert_eq!(expect(&h(&[("Expect", "")])), Expect::Other);
    }

    /// RFC 9112 §3.2, RFC 3986 §3.2.2–§3.2.3, docs/node-semantics.md#http-host-validity: valid
    /// `Host` values (llhttp `curl-get` sends `0.0.0.0=5000`, a valid reg-name).
    #[test]
    fn valid_host_is_accepted() {
        for value in [
            "example.com",
            "example.com:8080",
            "EXAMPLE.com:",
            "0.0.0.0=5000",
            "0.0.0.0:5000",
            "239.255.255.250:1900",
            "under_score.example",
            "%41b.example",
            "a!$&'()*+,;=~-.b",
            "[::1]",
            "[::1]:443",
            "[2001:db8::ffff:192.0.2.1]",
            "[v1.fe80::a+en1]",
            "[V7A.x:y]:80",
            "",
            " example.com ",
        ] {
            assert_eq!(check_host(&h(&[("Host", value)])), Ok(()), "{value:?}");
        }
    }

    /// RFC 9112 §3.2, docs/node-semantics.md#http-host-validity: no `Host`, several `Host` lines,
    /// or an invalid value gets 400.
    #[test]
    fn invalid_host_is_rejected() {
        assert_eq!(
            check_host(&h(&[("Accept", "*/*")])),
            Err(ProtocolError::InvalidHost)
        );
        assert_eq!(
            check_host(&h(&[("Host", "a"), ("host", "a")])),
            Err(ProtocolError::InvalidHost)
        );
        for value in [
            "exa mple.com",
            "a/b",
            "a?b",
            "a#b",
            "user@host",
            "host:80:80",
            "host:8o",
            "host: 80",
            "%4",
            "%zz.example",
            "[::1",
            "[::1]x",
            "[::1]:x",
            "[]",
            "[::g]",
            "[1.2.3.4]",
            "[v.x]",
            "[v1.]",
            "[vz.x]",
            "::1",
            "h\u{e9}",
            "a\"b",
            "a<b>",
        ] {
            assert_eq!(
                check_host(&h(&[("Host", value)])),
                Err(ProtocolError::InvalidHost),
                "{value:?}"
            );
        }
    }

    /// RFC 9110 §7.8: upgrade needs HTTP/1.1, `Connection: upgrade` and a non-empty `Upgrade`
    /// (llhttp `upgrade-get-request`, `connection/sample` has the option but no `Upgrade`).
    #[test]
    fn upgrade_needs_all_three() {
        let up = ConnectionOptions {
            upgrade: true,
            ..ConnectionOptions::default()
        };
        let headers = h(&[("Connection", "Upgrade"), ("upgrade", "WebSocket")]);
        assert!(is_upgrade(1, &headers, up));
        assert!(!is_upgrade(0, &headers, up));
        assert!(!is_upgrade(1, &headers, ConnectionOptions::default()));
        assert!(!is_upgrade(1, &h(&[("Connection", "upgrade")]), up));
        assert!(!is_upgrade(1, &h(&[("Upgrade", " ")]), up));
    }

    /// docs/node-semantics.md#http-duplicate-content-length, #http-request-te-not-chunked,
    /// #http-body-invalid-length: no panic on arbitrary header values.
    #[test]
    fn arbitrary_values_do_not_panic() {
        let names = [
            "Content-Length",
            "Transfer-Encoding",
            "Host",
            "Connection",
            "Expect",
            "Upgrade",
        ];
        let mut value = Vec::new();
        for b in 0..=255u8 {
            value.push(b);
            for name in names {
                for cut in [0, value.len() / 2, value.len()] {
                    let headers = [Header {
                        name,
                        value: &value[cut..],
                    }];
                    let _ = request_framing(1, &headers);
                    let message = Message::Response {
                        request_method: b"GET",
                        status: 200,
                    };
                    let _ = framing(message, &headers[..]);
                    let _ = check_host(&headers[..]);
                    let o = connection_options(&headers[..]);
                    let _ = is_upgrade(1, &headers[..], o);
                    let _ = expect(&headers[..]);
                }
            }
        }
    }
}
