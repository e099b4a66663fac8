//! Conversions between this crate's heads and the `http` crate's `Request`, `Response` and
//! `HeaderMap` (feature `http`), for code that speaks the types hyper, reqwest and axum use.
//!
//! | from | to | how |
//! |---|---|---|
//! | [`Request`] (what [`ServerEvent::Request`](crate::ServerEvent::Request) carries) | `http::Request<()>` | `TryFrom<&Request>` |
//! | `http::Response<()>` | [`Response`] (for [`send_response`](crate::ServerConnection::send_response), [`respond`](crate::ServerConnection::respond)) | `From` |
//! | `http::Request<()>` | [`ClientRequest`] (for [`send_request`](crate::ClientConnection::send_request)) | `TryFrom` |
//! | [`ResponseHead`] (what [`ClientEvent::Response`](crate::ClientEvent::Response) carries) | `http::Response<()>` | `TryFrom<&ResponseHead>` |
//! | [`Headers`] | `http::HeaderMap` | `TryFrom<&Headers>` |
//! | `http::HeaderMap` | [`Headers`] | `From<&HeaderMap>` |
//! | [`Version`] | `http::Version` | `From` (and `TryFrom` back: HTTP/1.0 and HTTP/1.1 only) |
//!
//! Only heads convert: bodies stay `Data` events and `write`/`end` calls, so the `http` side
//! is always `Request<()>` / `Response<()>` (use `Request::map(|_| ())` on one with a body).
//! A conversion that fails returns [`Error::Interop`] with an [`InteropError`] saying what was
//! refused; it never panics and never drops or rewrites a field silently, except as listed
//! below.
//!
//! # Rules
//!
//! - **Header-name case.** `http` stores names in lowercase; this crate keeps them as
//!   received. From this crate to `http` the case is lost (`Content-Type` becomes
//!   `content-type`). From `http` to this crate names are lowercase and go on the wire so;
//!   names are case-insensitive (RFC 9110 §5.1), so HTTP/1.1 peers read them the same.
//! - **Repeated fields.** Each field line becomes one entry, never joined with commas. The
//!   values of one name keep their order both ways. An `http::HeaderMap` groups the values
//!   of a name together, in the order each name first appeared, so the interleaving of
//!   *different* names (`a, b, a`) comes back as `a, a, b`; RFC 9110 §5.3 makes that order
//!   insignificant, and the order within one name is kept.
//! - **Header values.** This crate's parser and `http::HeaderValue` accept the same bytes:
//!   HTAB, SP through `~`, and obs-text 0x80-0xFF (RFC 9110 §5.5). Values parsed from the
//!   wire therefore always convert, obs-text included. A value the application built with a
//!   control byte other than HTAB, or DEL (0x7F), which [`Headers`] can hold, is refused with
//!   [`InteropError::InvalidHeaderValue`]. The other way every value converts:
//!   `http::HeaderValue` never holds CR, LF or NUL outside `unsafe` code. Empty values convert
//!   as empty values.
//! - **Header names** are tokens on both sides (RFC 9110 §5.1); `http` also caps a name at
//!   65535 bytes ([`InteropError::InvalidHeaderName`]).
//! - **Header count.** An `http::HeaderMap` holds at most 24576 distinct names: more, or any
//!   field once a map is full, is [`InteropError::TooManyHeaders`]. Repeats of one name are
//!   not otherwise limited. The server's own limit (`max_headers_count`, 2000 by default)
//!   stops a peer long before that.
//! - **Version.** A parsed head's HTTP/1.0 or HTTP/1.1 becomes `http::Version::HTTP_10` or
//!   `HTTP_11`. The client machine writes HTTP/1.1 only, so an `http::Request` of any other
//!   version is refused ([`InteropError::UnsupportedVersion`]) rather than sent as 1.1. The
//!   version of an `http::Response` is ignored: the server answers with its own version
//!   (HTTP/1.1, as Node does, RFC 9110 §2.5) and frames the body for an HTTP/1.0 client
//!   itself.
//! - **Request target → `http::Uri`.** origin-form (`/a?b`), absolute-form
//!   (`http://host/a`), authority-form (`host:443`, for CONNECT) and `*` (for OPTIONS) all
//!   convert (RFC 9112 §3.2). `http` lowercases a scheme (`HTTP://` → `http://`, schemes are
//!   case-insensitive, RFC 3986 §3.1) and gives an absolute-form target with an empty path
//!   the path `/` (RFC 9110 §4.2.3); it changes nothing else. Refused with
//!   [`InteropError::InvalidTarget`]: a `#` (a fragment is no part of a request-target, and
//!   `http` would drop it silently), userinfo (`user@host`, RFC 9110 §4.2.4), bytes outside
//!   the URI grammar that `http::Uri` refuses, or more than 65534 bytes.
//! - **`http::Uri` → request target.** Written as the `Uri` prints: origin-form when it has
//!   only a path, absolute-form when it has a scheme (what a proxy expects; every HTTP/1.1
//!   server must accept it too, RFC 9112 §3.2.2), authority-form when it has only an
//!   authority, `*` for `*`. When the request has no `Host` field and the `Uri` has an
//!   authority, a `host` field equal to that authority is added first (RFC 9112 §3.2). An
//!   empty `Uri`, userinfo, or a byte outside visible ASCII is refused
//!   ([`InteropError::InvalidTarget`]).
//! - **Methods.** Any token converts both ways, extension methods included (`PURGE`,
//!   `M-SEARCH`); the case is kept (`get` is not `GET`, RFC 9110 §9.1).
//! - **Status codes.** 100..=999 on both sides; `http::StatusCode` and this crate agree, so
//!   parsed and built statuses convert, 1xx, 204 and 304 included.
//! - **Reason phrases.** `http::Response` has no reason phrase. A [`ResponseHead`] whose
//!   reason differs from the standard one ([`reason_phrase`]) puts it in the response's
//!   extensions as a [`ReasonPhrase`]; converting an `http::Response` back uses a
//!   [`ReasonPhrase`] extension if there is one and the standard phrase otherwise, so a
//!   response passes through unchanged. An application that changes the status of such a
//!   response should remove a [`ReasonPhrase`] it does not mean to keep.
//! - **Request ids.** The `http` side carries the [`RequestId`](crate::RequestId) of a parsed
//!   head in its extensions, so a handler that only sees the `http::Request` can answer it.
//!
//! # Example
//!
//! A server answers a request through the `http` types:
//!
//! ```
//! use std::time::Instant;
//!
//! use bytes::{Bytes, BytesMut};
//! use sansnet_http1::{RequestId, Response, ServerConfig, ServerConnection, ServerEvent};
//!
//! let now = Instant::now();
//! let mut conn = ServerConnection::new(now, ServerConfig { send_date: false, ..Default::default() });
//! let mut input = BytesMut::from(
//!     &b"GET /items?id=7 HTTP/1.1\r\nHost: example.com\r\nX-Tag: a\r\nx-tag: b\r\n\r\n"[..],
//! );
//! conn.handle_input(now, &mut input);
//! let Some(ServerEvent::Request(request)) = conn.poll_event() else { unreachable!() };
//!
//! let request = http::Request::try_from(&request).unwrap();
//! assert_eq!(request.method(), http::Method::GET);
//! assert_eq!(request.uri().query(), Some("id=7"));
//! assert_eq!(request.version(), http::Version::HTTP_11);
//! let tags: Vec<_> = request.headers().get_all("x-tag").iter().collect();
//! assert_eq!(tags, ["a", "b"]);
//! let id = *request.extensions().get::<RequestId>().unwrap();
//!
//! let response = http::Response::builder()
//!     .status(http::StatusCode::NOT_FOUND)
//!     .header("content-type", "text/plain")
//!     .body(())
//!     .unwrap();
//! conn.respond(now, id, Response::from(response), Bytes::from_static(b"none")).unwrap();
//!
//! let mut wire = Vec::new();
//! while let Some(chunk) = conn.pop_transmit(now) {
//!     wire.extend_from_slice(&chunk);
//! }
//! assert!(wire.starts_with(b"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\n"));
//! assert!(wire.ends_with(b"\r\n\r\nnone"));
//! ```

use bytes::Bytes;
use http::header::{HOST, HeaderMap, HeaderName, HeaderValue};

use crate::{
    ClientRequest, Error, Headers, InteropError, RawHeaders, Request, Response, ResponseHead,
    Version, reason_phrase,
};

/// A reason phrase that differs from the standard one, kept in the extensions of an
/// `http::Response` (which has no field for it).
///
/// Converting a [`ResponseHead`] adds it; converting an `http::Response` to a [`Response`]
/// uses it. The bytes are as received: they may hold obs-text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonPhrase(pub Bytes);

/// `target` as an `http::Uri`, refused where `http` would refuse or change it beyond the
/// scheme's case and an empty absolute path.
fn target_to_uri(target: &Bytes) -> Result<http::Uri, InteropError> {
    if target.contains(&b'#') {
        return Err(InteropError::InvalidTarget);
    }
    let uri =
        http::Uri::from_maybe_shared(target.clone()).map_err(|_| InteropError::InvalidTarget)?;
    if has_userinfo(&uri) {
        return Err(InteropError::InvalidTarget);
    }
    Ok(uri)
}

/// `uri` as a request-target: the form its parts give, visible ASCII only.
fn uri_to_target(uri: &http::Uri) -> Result<Bytes, InteropError> {
    if has_userinfo(uri) {
        return Err(InteropError::InvalidTarget);
    }
    let target = uri.to_string();
    if target.is_empty() || !target.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(InteropError::InvalidTarget);
    }
    Ok(Bytes::from(target))
}

/// Whether `uri`'s authority carries `user@` (RFC 9110 §4.2.4).
fn has_userinfo(uri: &http::Uri) -> bool {
    uri.authority().is_some_and(|a| a.as_str().contains('@'))
}

/// Appends `map`'s fields to `headers`, each name's values in order.
fn append_map(headers: &mut Headers, map: &HeaderMap) {
    for (name, value) in map {
        headers.append(
            Bytes::copy_from_slice(name.as_str().as_bytes()),
            Bytes::copy_from_slice(value.as_bytes()),
        );
    }
}

impl From<Version> for http::Version {
    fn from(version: Version) -> Self {
        match version {
            Version::Http10 => Self::HTTP_10,
            Version::Http11 => Self::HTTP_11,
        }
    }
}

impl TryFrom<http::Version> for Version {
    type Error = Error;

    /// HTTP/1.0 and HTTP/1.1; any other is [`InteropError::UnsupportedVersion`].
    fn try_from(version: http::Version) -> Result<Self, Error> {
        Ok(match version {
            http::Version::HTTP_10 => Self::Http10,
            http::Version::HTTP_11 => Self::Http11,
            _ => return Err(InteropError::UnsupportedVersion.into()),
        })
    }
}

impl TryFrom<&Headers> for HeaderMap {
    type Error = Error;

    /// Every field, names lowercased, values shared (not copied).
    fn try_from(headers: &Headers) -> Result<Self, Error> {
        let mut map = Self::try_with_capacity(headers.len()).unwrap_or_default();
        for (name, value) in headers.iter() {
            let name = HeaderName::from_bytes(name).map_err(|_| InteropError::InvalidHeaderName)?;
            let value = HeaderValue::from_maybe_shared(value.clone())
                .map_err(|_| InteropError::InvalidHeaderValue)?;
            map.try_append(name, value)
                .map_err(|_| InteropError::TooManyHeaders)?;
        }
        Ok(map)
    }
}

impl TryFrom<&RawHeaders> for HeaderMap {
    type Error = Error;

    /// As `TryFrom<&Headers>`, on the fields of a received head.
    fn try_from(headers: &RawHeaders) -> Result<Self, Error> {
        Self::try_from(&headers.to_headers())
    }
}

impl From<&HeaderMap> for Headers {
    /// Every field, grouped by name as the map holds them, names lowercase.
    fn from(map: &HeaderMap) -> Self {
        let mut headers = Self::new();
        append_map(&mut headers, map);
        headers
    }
}

impl TryFrom<&Request> for http::Request<()> {
    type Error = Error;

    /// The method, target, version and headers of a parsed request head, with its
    /// [`RequestId`](crate::RequestId) in the extensions.
    fn try_from(request: &Request) -> Result<Self, Error> {
        let method =
            http::Method::from_bytes(&request.method).map_err(|_| InteropError::InvalidMethod)?;
        let uri = target_to_uri(&request.target)?;
        let headers = HeaderMap::try_from(&request.headers)?;
        let mut out = Self::new(());
        *out.method_mut() = method;
        *out.uri_mut() = uri;
        *out.version_mut() = request.version.into();
        *out.headers_mut() = headers;
        out.extensions_mut().insert(request.id);
        Ok(out)
    }
}

impl From<http::Response<()>> for Response {
    /// The status, the headers, and the [`ReasonPhrase`] extension if there is one; the
    /// version is ignored. `send_response` checks the bytes as it does for any [`Response`].
    fn from(response: http::Response<()>) -> Self {
        let (mut parts, ()) = response.into_parts();
        Self {
            status: parts.status.as_u16(),
            reason: parts.extensions.remove::<ReasonPhrase>().map(|r| r.0),
            headers: Headers::from(&parts.headers),
        }
    }
}

impl TryFrom<http::Request<()>> for ClientRequest {
    type Error = Error;

    /// The method, the target as the `Uri` prints, and the headers, with `host` added first
    /// from the `Uri`'s authority when the request has no `Host`.
    fn try_from(request: http::Request<()>) -> Result<Self, Error> {
        if request.version() != http::Version::HTTP_11 {
            return Err(InteropError::UnsupportedVersion.into());
        }
        let target = uri_to_target(request.uri())?;
        let mut headers = Headers::new();
        if !request.headers().contains_key(HOST)
            && let Some(authority) = request.uri().authority()
        {
            headers.append(
                HOST.as_str(),
                Bytes::copy_from_slice(authority.as_str().as_bytes()),
            );
        }
        append_map(&mut headers, request.headers());
        Ok(Self {
            method: Bytes::copy_from_slice(request.method().as_str().as_bytes()),
            target,
            headers,
        })
    }
}

impl TryFrom<&ResponseHead> for http::Response<()> {
    type Error = Error;

    /// The status, version and headers of a parsed response head, with its
    /// [`RequestId`](crate::RequestId) and, when it is not the standard one, its
    /// [`ReasonPhrase`] in the extensions.
    fn try_from(head: &ResponseHead) -> Result<Self, Error> {
        let status =
            http::StatusCode::from_u16(head.status).map_err(|_| InteropError::InvalidStatus)?;
        let headers = HeaderMap::try_from(&head.headers)?;
        let mut out = Self::new(());
        *out.status_mut() = status;
        *out.version_mut() = head.version.into();
        *out.headers_mut() = headers;
        out.extensions_mut().insert(head.id);
        if head.reason[..] != *reason_phrase(head.status).as_bytes() {
            out.extensions_mut()
                .insert(ReasonPhrase(head.reason.clone()));
        }
        Ok(out)
    }
}
