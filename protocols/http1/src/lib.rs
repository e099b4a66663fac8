//! Node's `http` module as sans-I/O HTTP/1.1 machines: the server connection, the client
//! connection, and the `Agent` that pools client connections.
//!
//! A [`ServerConnection`] takes the bytes a client sent and answers with Node's
//! `http.Server` events (`request`, the body's `data` and `end`, `checkContinue`, `connect`,
//! `upgrade`, `clientError`, `dropRequest`) and with response bytes framed as Node frames them
//! (`Content-Length` when the body is known, chunked when streamed, close-delimited for
//! HTTP/1.0). It parses heads with `httparse` and does all framing itself, strictly: request
//! smuggling vectors (`Content-Length` with `Transfer-Encoding`, duplicate or malformed
//! `Content-Length`, a `Transfer-Encoding` not ending in chunked, bare LF or CR, obs-fold)
//! get 400 and close, never a guess.
//!
//! A [`ClientConnection`] does the other side: it writes requests framed as Node's
//! `ClientRequest` frames them (no body for GET/HEAD/DELETE/OPTIONS/TRACE/CONNECT unless given,
//! `Content-Length` when `end(data)` comes first, chunked otherwise; `Expect: 100-continue`
//! holds the body) and reads responses with every framing rule, 1xx, 101 and CONNECT
//! hand-over, and says whether the connection may be reused. An [`Agent`] decides which
//! connection carries which request (`keepAlive`, `maxSockets`, `maxTotalSockets`,
//! `maxFreeSockets`, lifo/fifo, safe retries), as pure a machine as the other two.
//!
//! This crate opens no socket and reads no clock: bytes, `now: Instant` and, for the `Date`
//! header, the wall-clock time come in as arguments.
//!
//! # The contract
//!
//! The contract is the one of every sansnet machine, written down once in `sansnet-core`'s
//! crate docs: `ServerConnection` and `ClientConnection` implement `sansnet_core::Machine`, and its actions are
//! `sansnet_core::Action`. In this crate:
//!
//! - **inputs**: [`ServerConnection::handle_input`] (consumes what it parses, leaves the rest
//!   in the caller's buffer), [`ServerConnection::handle_eof`],
//!   [`ServerConnection::handle_timeout`], [`ServerConnection::advance_transmit`],
//!   [`ServerConnection::set_date`]. `now` comes first and never goes back.
//! - **commands**: [`ServerConnection::send_response`], [`ServerConnection::write`],
//!   [`ServerConnection::end`], [`ServerConnection::send_continue`], ... They return `Err`
//!   and change nothing when misused.
//! - **outputs**: [`ServerConnection::poll_event`], [`ServerConnection::transmit_chunks`] (or
//!   [`ServerConnection::pop_transmit`]), [`ServerConnection::poll_action`],
//!   [`ServerConnection::poll_timeout`], [`ServerConnection::wants_read`].
//!
//! After every input or command: write what `transmit_chunks` offers, carry out each
//! `poll_action`, hand each `poll_event` to the application, re-arm the timer from
//! `poll_timeout`. Events do not depend on how the request bytes were split.
//!
//! # Example
//!
//! Two pipelined requests in one read; the application answers the second first, and the
//! responses still leave in request order:
//!
//! ```
//! use std::time::Instant;
//!
//! use bytes::{Bytes, BytesMut};
//! use sansnet_http1::{Response, ServerConfig, ServerConnection, ServerEvent};
//!
//! let now = Instant::now();
//! let mut conn = ServerConnection::new(now, ServerConfig { send_date: false, ..Default::default() });
//! let mut input = BytesMut::from(
//!     &b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"[..],
//! );
//! conn.handle_input(now, &mut input);
//! assert!(input.is_empty());
//!
//! let mut ids = Vec::new();
//! while let Some(event) = conn.poll_event() {
//!     if let ServerEvent::Request(request) = event {
//!         ids.push((request.id, request.target));
//!     }
//! }
//! assert_eq!(ids[1].1, Bytes::from_static(b"/b"));
//! conn.respond(now, ids[1].0, Response::new(200), Bytes::from_static(b"second")).unwrap();
//! conn.respond(now, ids[0].0, Response::new(200), Bytes::from_static(b"first")).unwrap();
//!
//! let mut wire = Vec::new();
//! while let Some(chunk) = conn.pop_transmit(now) {
//!     wire.extend_from_slice(&chunk);
//! }
//! let text = String::from_utf8(wire).unwrap();
//! assert!(text.find("first").unwrap() < text.find("second").unwrap());
//! assert!(text.starts_with("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 5\r\n\r\nfirst"));
//! ```
//!
//! # Received headers
//!
//! The fields of a received head ([`Request::headers`], [`ResponseHead::headers`]) and the
//! trailers of a chunked body (`End { trailers }`) are a [`RawHeaders`]: Node's `rawHeaders`
//! (names in the case they arrived in, in order, values trimmed) kept as offsets into the head's
//! `Bytes`, so that a `Request` is 192 bytes whatever its number of fields and moves cheaply
//! through the event queue, and parsing allocates nothing. Lookups ignore case and give
//! `&[u8]`; [`RawHeaders::to_headers`] makes an owned [`Headers`] (sharing the bytes, no copy)
//! to forward or change them. [`Headers`] stays the type the application builds heads with
//! ([`Response`], [`ClientRequest`], trailers it sends).
//!
//! Before, `request.headers` was a `Headers` and lookups gave `&Bytes`:
//!
//! ```text
//! let host: Option<&Bytes> = request.headers.get("host");
//! let mut forwarded: Headers = request.headers.clone();
//! forwarded.remove("connection");
//! ```
//!
//! Now:
//!
//! ```
//! # use std::time::Instant;
//! # use bytes::BytesMut;
//! # use sansnet_http1::{ServerConfig, ServerConnection, ServerEvent};
//! # let now = Instant::now();
//! # let mut conn = ServerConnection::new(now, ServerConfig::default());
//! # let mut input = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: x\r\nX-Tag: a\r\nx-tag: b\r\n\r\n"[..]);
//! # conn.handle_input(now, &mut input);
//! # let Some(ServerEvent::Request(request)) = conn.poll_event() else { panic!() };
//! let host: Option<&[u8]> = request.headers.get("host");
//! assert_eq!(host, Some(&b"x"[..]));
//! // `rawHeaders`: pairs in order, names as sent.
//! let raw: Vec<(&[u8], &[u8])> = request.headers.iter().collect();
//! assert_eq!(raw[2], (&b"x-tag"[..], &b"b"[..]));
//! let mut forwarded = request.headers.to_headers();
//! forwarded.remove("connection");
//! assert_eq!(forwarded.get_all("X-TAG").count(), 2);
//! ```
//!
//! # Node mapping
//!
//! | Node | here | default |
//! |---|---|---|
//! | `'request'`, req `'data'`, `'end'` | [`ServerEvent::Request`], [`ServerEvent::Data`], [`ServerEvent::End`] | |
//! | `'checkContinue'` | [`ServerEvent::CheckContinue`] with [`ServerConfig::check_continue`] | 100 sent at once |
//! | `'connect'`, `'upgrade'` | [`ServerEvent::Connect`], [`ServerEvent::Upgrade`] | destroy / ordinary request |
//! | `'clientError'` | [`ServerEvent::ClientError`] (reply already queued) | 400/408/413/431 |
//! | `'dropRequest'` | [`ServerEvent::DropRequest`] | 503 |
//! | `res.writeHead`, `write`, `end`, `addTrailers` | [`ServerConnection::send_response`], [`ServerConnection::write`], [`ServerConnection::end`], [`ServerConnection::end_with_trailers`] | |
//! | `res.writeContinue`, `writeProcessing`, `writeEarlyHints` | [`ServerConnection::send_continue`], [`ServerConnection::send_informational`] | |
//! | `maxHeaderSize`, `maxHeadersCount`, `requireHostHeader` | [`ServerConfig`] | 16 KiB, 2000, true |
//! | `headersTimeout`, `requestTimeout`, `keepAliveTimeout` | [`ServerConfig`] | 60 s, 300 s, 5 s |
//! | `maxRequestsPerSocket`, `sendDate` | [`ServerConfig`] | none, true |
//! | `http.request()`, `req.write`, `req.end` | [`ClientConnection::send_request`], [`ClientConnection::write`], [`ClientConnection::end`] | |
//! | `'continue'`, `'information'`, `'response'`, `'upgrade'`, `'connect'`, `'timeout'` | [`ClientEvent`] | |
//! | `new http.Agent(options)` | [`Agent`], [`AgentConfig`] | keepAlive false, maxSockets Infinity, maxFreeSockets 256, lifo |
//!
//! # Errors
//!
//! One type, [`Error`]: [`Error::Protocol`] for the peer's faults (an event, with
//! [`Error::status_hint`] already on the wire), [`Error::Usage`] for the caller's (returned).
//!
//! # Limits
//!
//! The head is bounded by `max_header_size` (431 beyond), chunk extensions by
//! `max_chunk_extensions` (413), trailers by `max_header_size`; bodies are never buffered
//! (they leave as `Data` events); parsing stops `max_pipelined` requests ahead of the
//! responses and while `high_water_mark` response bytes are queued.
//!
//! # Panics
//!
//! Never, on any input; a panic is a bug.
//!
//! # Features
//!
//! - `http` (off by default): conversions between these heads and the `http` crate's
//!   `Request<()>`, `Response<()>` and `HeaderMap` (the types of hyper, reqwest and axum), as
//!   `From`/`TryFrom` impls documented in the module `sansnet_http1::interop`, which the
//!   feature adds. The rules for header-name case, repeated fields, values `http` refuses,
//!   versions, request targets and reason phrases are in that module's docs; a refused
//!   conversion is `Error::Interop(InteropError)`.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod agent;
mod chunked;
mod client;
mod config;
mod date;
mod error;
mod event;
mod framing;
mod head;
mod headers;
#[cfg(feature = "http")]
pub mod interop;
mod recv;
mod response;
mod server;
mod state;

pub use agent::{Agent, AgentAction, AgentConfig, ConnectionId, Origin, PoolRequestId, Scheduling};
pub use client::{
    ClientConfig, ClientConnection, ClientEvent, ClientRequest, ResponseBody, ResponseHead,
};
pub use config::ServerConfig;
#[cfg(feature = "http")]
pub use error::InteropError;
pub use error::{Error, ProtocolError, UsageError};
pub use event::{Action, BodyFraming, Request, RequestId, ServerEvent, Version};
pub use headers::{Headers, RawHeaders, RawIter};
pub use response::{Response, reason_phrase};
pub use server::ServerConnection;
