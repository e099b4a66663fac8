//! `ClientConnection`: one HTTP/1.1 connection as Node's `http.ClientRequest` uses it.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};

use crate::chunked::ChunkedLimits;
use crate::framing::{self, Framing};
use crate::head::{Role, StartLine, ends_in_chunked, parse_head};
use crate::headers::{is_field_value, is_token};
use crate::recv::{BodyItem, Receiver};
use crate::response::{CHUNK_LINE_ROOM, put_decimal, put_header, put_hex, reserve_head};
use crate::state::{BodyReader, Recv};
use crate::{Action, Error, Headers, ProtocolError, RawHeaders, RequestId, UsageError, Version};
use sansnet_core::{Actions, Transmit};

/// Settings of a client connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The largest response head accepted (16 KiB, Node's `maxHeaderSize`).
    pub max_header_size: usize,
    /// With `Expect: 100-continue`, how long to hold the body for `100 Continue` before sending
    /// it anyway; `None` waits for the server, as Node does (curl waits 1 s).
    pub continue_timeout: Option<Duration>,
    /// Bytes of chunk extensions allowed per chunk (16 KiB).
    pub max_chunk_extensions: usize,
    /// Emit a `Chunk` event for each chunk-size line (off: Node has no such event).
    pub chunk_events: bool,
    /// The `timeout` option: emit `Timeout` after this much idleness; it does not abort
    /// (Node docs `http.md` › `Event: 'timeout'`).
    pub timeout: Option<Duration>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            max_header_size: 16 * 1024,
            continue_timeout: None,
            max_chunk_extensions: 16 * 1024,
            chunk_events: false,
            timeout: None,
        }
    }
}

/// A request head: `http.request({ method, path, headers })`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    /// The method, a token.
    pub method: Bytes,
    /// The request-target (`/path?query`, or `host:port` for CONNECT).
    pub target: Bytes,
    /// The headers; include `Host`. `Content-Length`, `Transfer-Encoding`, `Expect` and
    /// `Connection` are honoured as Node honours them.
    pub headers: Headers,
}

impl ClientRequest {
    /// A request with no headers.
    pub fn new(method: impl Into<Bytes>, target: impl Into<Bytes>) -> Self {
        Self {
            method: method.into(),
            target: target.into(),
            headers: Headers::new(),
        }
    }

    /// Adds a header, builder style.
    pub fn header(mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        self.headers.append(name, value);
        self
    }

    fn validate(&self) -> Result<(), UsageError> {
        let target_ok =
            !self.target.is_empty() && self.target.iter().all(|b| (0x21..=0x7e).contains(b));
        if !is_token(&self.method) || !target_ok {
            return Err(UsageError::InvalidHeader);
        }
        for (name, value) in self.headers.iter() {
            if !is_token(name) || !is_field_value(value) {
                return Err(UsageError::InvalidHeader);
            }
        }
        // What goes out must pass the crate's own `Content-Length` rules, as a peer applies them.
        if framing::content_length(&self.headers).is_err() {
            return Err(UsageError::InvalidHeader);
        }
        Ok(())
    }
}

/// How a response body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseBody {
    /// No body (HEAD, 1xx, 204, 304, or a tunnel).
    None,
    /// `Content-Length` bytes.
    ContentLength(u64),
    /// Chunked.
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
}

/// A response head, as Node's `IncomingMessage` on the client side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// The request this answers.
    pub id: RequestId,
    /// `res.statusCode`.
    pub status: u16,
    /// `res.statusMessage`, as sent.
    pub reason: Bytes,
    /// `res.httpVersion`.
    pub version: Version,
    /// `res.rawHeaders`: names as sent, values trimmed, as offsets into the head.
    pub headers: RawHeaders,
    /// How the body is delimited.
    pub body: ResponseBody,
    /// Whether the connection may carry another request after this response.
    pub keep_alive: bool,
    /// Offset of the head's first byte in the connection's byte stream.
    pub start: u64,
    /// Offset just past the head.
    pub head_end: u64,
}

impl ResponseHead {
    /// The server's `Keep-Alive: timeout=N` hint, if it sent one: how long it keeps an idle
    /// connection (Node source `lib/_http_agent.js` › `keepSocketAlive`).
    pub fn keep_alive_timeout(&self) -> Option<Duration> {
        self.headers.get_all("keep-alive").find_map(|value| {
            value.split(|&b| b == b',').find_map(|param| {
                let param = crate::headers::trim_ows(param);
                let (name, value) = param.split_at(param.iter().position(|&b| b == b'=')?);
                let seconds = std::str::from_utf8(crate::headers::trim_ows(&value[1..])).ok()?;
                name.eq_ignore_ascii_case(b"timeout")
                    .then(|| seconds.parse::<u64>().ok().map(Duration::from_secs))
                    .flatten()
            })
        })
    }
}

/// An event of a [`ClientConnection`], named after Node's `ClientRequest` events.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// `'continue'`: `100 Continue` arrived; a held body goes out now.
    Continue {
        /// Which request.
        id: RequestId,
    },
    /// `'information'`: a 1xx other than 100 and 101 (Node docs `http.md` ›
    /// `Event: 'information'`).
    Information(ResponseHead),
    /// `'response'`: the final response head.
    Response(ResponseHead),
    /// A chunk-size line (only with `ClientConfig::chunk_events`).
    Chunk {
        /// Which request.
        id: RequestId,
        /// The chunk size.
        size: u64,
        /// The chunk extensions as on the wire.
        extensions: Vec<(Bytes, Option<Bytes>)>,
    },
    /// The response's `'data'`.
    Data {
        /// Which request.
        id: RequestId,
        /// The bytes.
        data: Bytes,
    },
    /// The response's `'end'`.
    End {
        /// Which request.
        id: RequestId,
        /// `res.rawTrailers`.
        trailers: RawHeaders,
        /// Offset just past the response in the connection's byte stream.
        end: u64,
    },
    /// `'upgrade'`: `101 Switching Protocols`; the connection is handed over with `head`.
    Upgrade {
        /// The 101 response.
        response: ResponseHead,
        /// Bytes read past the 101 head.
        head: Bytes,
    },
    /// `'connect'`: the response to a CONNECT, whatever its status (Node docs `http.md` ›
    /// `Event: 'connect'`); the connection is handed over with `head`.
    Connect {
        /// The response.
        response: ResponseHead,
        /// Bytes read past the response head.
        head: Bytes,
    },
    /// `'timeout'`: idle for `ClientConfig::timeout`; nothing is aborted (Node docs `http.md` ›
    /// `Event: 'timeout'`).
    Timeout,
    /// `'error'`: the response could not be read. `retryable` is true when the request may be
    /// sent again on a fresh connection: it is idempotent and no byte of its response arrived
    /// (RFC 9112 §9.3.1).
    Error {
        /// The request it concerns, if any.
        id: Option<RequestId>,
        /// What went wrong.
        error: Error,
        /// Whether sending the request again is safe.
        retryable: bool,
    },
    /// The machine is done: the driver closes (or has destroyed) the connection. Always last.
    Close,
}

/// One HTTP/1.1 client connection: requests out, Node's `ClientRequest` events in.
///
/// Requests go one after another; a request may be sent before the previous response arrived
/// (pipelining), and responses are matched to requests in order. The machine reads no clock
/// and opens no socket.
#[derive(Debug)]
pub struct ClientConnection {
    config: ClientConfig,
    /// Requests sent (or being sent) and not yet answered, oldest first.
    inflight: VecDeque<InFlight>,
    /// The receiving side: its state (`Closed`/`HandedOver` once `Close` was emitted), the
    /// stream offset, the chunked decoder.
    recv: Receiver<()>,
    next_id: u64,
    /// Bytes ready for the transport.
    out: Transmit,
    events: VecDeque<ClientEvent>,
    actions: Actions,
    /// Where request heads and chunk-size lines are written before they are split off as
    /// `Bytes`: the buffer is reused once they are written, so requests allocate nothing.
    arena: BytesMut,
    idle_deadline: Option<Instant>,
}

#[derive(Debug)]
struct InFlight {
    id: RequestId,
    method: Bytes,
    close: bool,
    send: Send,
    /// A byte of the response arrived.
    answered: bool,
}

#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "a boxed `ClientRequest` would allocate per request; its headers are inline so \
              that sending allocates nothing"
)]
enum Send {
    /// Head stored; it leaves with the first `write` or the `end`.
    HeadPending(ClientRequest),
    /// Head out; waiting for `100 Continue` before the body (held here) goes.
    AwaitContinue {
        framing: OutFraming,
        held: Vec<Bytes>,
        ended: bool,
        deadline: Option<Instant>,
    },
    /// Head out; the body goes with this framing.
    Body(OutFraming),
    /// Everything sent.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutFraming {
    Empty,
    Length(u64),
    Chunked,
}

impl ClientConnection {
    /// A connection that is up at `now`.
    pub fn new(now: Instant, config: ClientConfig) -> Self {
        let idle_deadline = config.timeout.map(|t| now + t);
        Self {
            recv: Receiver::new(ChunkedLimits {
                max_extensions: config.max_chunk_extensions,
                max_trailers: config.max_header_size,
            }),
            config,
            inflight: VecDeque::new(),
            next_id: 0,
            out: Transmit::default(),
            events: VecDeque::new(),
            actions: Actions::default(),
            arena: BytesMut::new(),
            idle_deadline,
        }
    }

    // ---- commands -----------------------------------------------------------------------

    /// `http.request(options)`: starts a request. The head leaves with the first `write` or
    /// the `end` (so that `end(data)` can set `Content-Length`), or at once when it carries
    /// `Expect: 100-continue` (RFC 9110 §10.1.1), whose body is then held until `Continue`, a final
    /// response, or `continue_timeout`.
    pub fn send_request(
        &mut self,
        now: Instant,
        request: ClientRequest,
    ) -> Result<RequestId, Error> {
        if self.is_closed() {
            return Err(UsageError::Closed.into());
        }
        request.validate()?;
        if self
            .inflight
            .back()
            .is_some_and(|r| !matches!(r.send, Send::Done))
        {
            return Err(UsageError::RequestInProgress.into());
        }
        let id = RequestId(self.next_id);
        self.next_id += 1;
        let options = framing::connection_options(&request.headers);
        let expects = request
            .headers
            .get_all("expect")
            .any(|v| crate::headers::trim_ows(v).eq_ignore_ascii_case(b"100-continue"));
        let method = request.method.clone();
        self.inflight.push_back(InFlight {
            id,
            close: options.close,
            method,
            send: Send::HeadPending(request),
            answered: false,
        });
        if expects {
            let index = self.inflight.len() - 1;
            let framing = self.commit_head(index, None);
            let deadline = self.config.continue_timeout.map(|t| now + t);
            self.inflight[index].send = Send::AwaitContinue {
                framing,
                held: Vec::new(),
                ended: false,
                deadline,
            };
        }
        self.touch(now);
        Ok(id)
    }

    /// `req.write(data)`: the body, chunked unless `Content-Length` was set
    /// (docs/node-semantics.md#http-client-default-chunked).
    pub fn write(&mut self, now: Instant, id: RequestId, data: Bytes) -> Result<(), Error> {
        let index = self.sending_index(id)?;
        if matches!(self.inflight[index].send, Send::HeadPending(_)) {
            let framing = self.commit_head(index, None);
            self.inflight[index].send = Send::Body(framing);
        }
        self.send_body(index, data)?;
        self.touch(now);
        Ok(())
    }

    /// `req.end([data])`: the last of the body; `Content-Length` when nothing was written
    /// before and the method carries a body.
    pub fn end(&mut self, now: Instant, id: RequestId, data: Option<Bytes>) -> Result<(), Error> {
        let index = self.sending_index(id)?;
        if matches!(self.inflight[index].send, Send::HeadPending(_)) {
            let length = data.as_ref().map_or(0, Bytes::len);
            let framing = self.commit_head(index, Some(length));
            self.inflight[index].send = Send::Body(framing);
        }
        if let Some(data) = data {
            self.send_body(index, data)?;
        }
        match &mut self.inflight[index].send {
            Send::AwaitContinue { ended, .. } => *ended = true,
            Send::Body(framing) => {
                if *framing == OutFraming::Chunked {
                    self.emit(Bytes::from_static(b"0\r\n\r\n"));
                }
                self.inflight[index].send = Send::Done;
            }
            Send::HeadPending(_) | Send::Done => {}
        }
        self.touch(now);
        self.after(now);
        Ok(())
    }

    /// `req.destroy()`: close now.
    pub fn destroy(&mut self, _now: Instant) {
        self.inflight.clear();
        self.out.clear();
        self.close(Action::Close { reset: false });
    }

    // ---- inputs -------------------------------------------------------------------------

    /// Bytes from the server; consumes what it parses.
    pub fn handle_input(&mut self, now: Instant, buf: &mut BytesMut) {
        if !buf.is_empty() {
            self.touch(now);
        }
        loop {
            let progressed = match self.recv.state() {
                Recv::Head { .. } => self.read_head(buf),
                Recv::Body { .. } => self.read_body(buf),
                Recv::Done | Recv::Closed | Recv::HandedOver => false,
            };
            if !progressed {
                break;
            }
        }
        self.after(now);
    }

    /// The server closed its side.
    pub fn handle_eof(&mut self, now: Instant) {
        match self.recv.state() {
            Recv::Body {
                id,
                reader: BodyReader::UntilClose,
                ..
            } => {
                let id = *id;
                self.events.push_back(ClientEvent::End {
                    id,
                    trailers: RawHeaders::new(),
                    end: self.recv.position(),
                });
                self.inflight.pop_front();
                self.recv.finish_body(Recv::Done);
            }
            Recv::Head { partial: false } if self.inflight.is_empty() => {
                self.recv.enter(Recv::Done);
            }
            Recv::Head { partial: false } => {
                let retryable = self.inflight.front().is_some_and(|r| idempotent(&r.method));
                self.fail(ProtocolError::ConnectionClosedBeforeResponse, retryable);
            }
            Recv::Head { partial: true } | Recv::Body { .. } => {
                self.fail(ProtocolError::UnexpectedEof, false);
            }
            Recv::Done | Recv::Closed | Recv::HandedOver => {}
        }
        self.after(now);
    }

    /// Time passed: the `continue_timeout` releases a held body; idleness emits `Timeout`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        for index in 0..self.inflight.len() {
            if let Send::AwaitContinue {
                deadline: Some(at), ..
            } = self.inflight[index].send
                && now >= at
            {
                self.release_body(index);
            }
        }
        if self.idle_deadline.is_some_and(|at| now >= at) {
            self.idle_deadline = None;
            self.events.push_back(ClientEvent::Timeout);
        }
        self.after(now);
    }

    /// `n` bytes of `transmit_chunks` were written.
    pub fn advance_transmit(&mut self, now: Instant, n: usize) {
        self.out.advance(n);
        if n > 0 {
            self.touch(now);
        }
    }

    // ---- outputs ------------------------------------------------------------------------

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// The next thing the driver must do with the transport.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.poll(self.out.is_empty())
    }

    /// Fills `out` with the request bytes to write.
    pub fn transmit_chunks<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        self.out.fill(out)
    }

    /// Takes the next chunk of request bytes whole.
    pub fn pop_transmit(&mut self, now: Instant) -> Option<Bytes> {
        let chunk = self.out.pop()?;
        self.touch(now);
        Some(chunk)
    }

    /// When to call `handle_timeout`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            return None;
        }
        let continues = self.inflight.iter().filter_map(|r| match r.send {
            Send::AwaitContinue { deadline, .. } => deadline,
            _ => None,
        });
        continues.chain(self.idle_deadline).min()
    }

    /// Whether the driver should read.
    pub fn wants_read(&self) -> bool {
        self.recv.state().is_reading()
    }

    // ---- getters ------------------------------------------------------------------------

    /// The settings in force.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Whether another request may be sent now and the connection reused: nothing in flight,
    /// and every response so far allowed keep-alive.
    pub fn is_reusable(&self) -> bool {
        self.inflight.is_empty() && matches!(self.recv.state(), Recv::Head { .. })
    }

    /// Requests sent and not yet fully answered.
    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// Request bytes queued and not yet written.
    pub fn buffered(&self) -> usize {
        self.out.len()
    }

    /// Whether `Close` was emitted (or the connection handed over).
    pub fn is_closed(&self) -> bool {
        self.recv.state().is_closed()
    }

    // ---- sending ------------------------------------------------------------------------

    fn sending_index(&self, id: RequestId) -> Result<usize, Error> {
        if self.is_closed() {
            return Err(UsageError::Closed.into());
        }
        let index = self
            .inflight
            .iter()
            .position(|r| r.id == id)
            .ok_or(Error::Usage(UsageError::UnknownRequest))?;
        match &self.inflight[index].send {
            Send::Done => Err(UsageError::WriteAfterEnd.into()),
            Send::AwaitContinue { ended: true, .. } => Err(UsageError::WriteAfterEnd.into()),
            _ => Ok(index),
        }
    }

    /// Writes the head of request `index`; returns the body framing. `known_length` is the
    /// whole body's length when it is known (at `end`).
    fn commit_head(&mut self, index: usize, known_length: Option<usize>) -> OutFraming {
        let Send::HeadPending(request) =
            std::mem::replace(&mut self.inflight[index].send, Send::Done)
        else {
            return OutFraming::Empty;
        };
        let head = &mut self.arena;
        reserve_head(head, &request.headers);
        head.put_slice(&request.method);
        head.put_u8(b' ');
        head.put_slice(&request.target);
        head.put_slice(b" HTTP/1.1\r\n");
        for (name, value) in request.headers.iter() {
            put_header(head, name, value);
        }
        // `validate` made sure that a `Content-Length` parses.
        let user_length = framing::content_length(&request.headers).ok().flatten();
        let user_chunked = request
            .headers
            .get("transfer-encoding")
            .is_some_and(|te| ends_in_chunked(te));
        // docs/node-semantics.md#http-client-default-chunked: these methods are not chunked by
        // default.
        let bodiless_by_default = matches!(
            &request.method[..],
            b"GET" | b"HEAD" | b"DELETE" | b"OPTIONS" | b"TRACE" | b"CONNECT"
        );
        let framing = if let Some(length) = user_length {
            OutFraming::Length(length)
        } else if user_chunked {
            OutFraming::Chunked
        } else if let Some(length) = known_length {
            if length > 0 || !bodiless_by_default {
                head.put_slice(b"Content-Length: ");
                put_decimal(head, length as u64);
                head.put_slice(b"\r\n");
            }
            OutFraming::Length(length as u64)
        } else if bodiless_by_default {
            OutFraming::Empty
        } else {
            put_header(head, b"Transfer-Encoding", b"chunked");
            OutFraming::Chunked
        };
        head.put_slice(b"\r\n");
        let head = head.split().freeze();
        self.emit(head);
        framing
    }

    fn send_body(&mut self, index: usize, data: Bytes) -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        match &mut self.inflight[index].send {
            Send::AwaitContinue { framing, held, .. } => {
                if let OutFraming::Length(owed) = framing {
                    let len = data.len() as u64;
                    if len > *owed {
                        return Err(UsageError::ContentLengthMismatch.into());
                    }
                    *owed -= len;
                }
                held.push(data);
                Ok(())
            }
            Send::Body(framing) => {
                let framing = *framing;
                match framing {
                    // A GET without a body: bytes would break the framing; Node refuses too.
                    OutFraming::Empty => Err(UsageError::BodyNotAllowed.into()),
                    OutFraming::Length(owed) => {
                        let len = data.len() as u64;
                        if len > owed {
                            return Err(UsageError::ContentLengthMismatch.into());
                        }
                        self.inflight[index].send = Send::Body(OutFraming::Length(owed - len));
                        self.emit(data);
                        Ok(())
                    }
                    OutFraming::Chunked => {
                        self.emit_chunk(data);
                        Ok(())
                    }
                }
            }
            Send::HeadPending(_) | Send::Done => Err(UsageError::HeadersNotSent.into()),
        }
    }

    /// Sends a body held for `100 Continue`.
    fn release_body(&mut self, index: usize) {
        let send = std::mem::replace(&mut self.inflight[index].send, Send::Done);
        let Send::AwaitContinue {
            framing,
            held,
            ended,
            ..
        } = send
        else {
            self.inflight[index].send = send;
            return;
        };
        for data in held {
            if framing == OutFraming::Chunked {
                self.emit_chunk(data);
            } else {
                self.emit(data);
            }
        }
        if ended {
            if framing == OutFraming::Chunked {
                self.emit(Bytes::from_static(b"0\r\n\r\n"));
            }
        } else {
            self.inflight[index].send = Send::Body(framing);
        }
    }

    /// One chunk of a chunked body (RFC 9112 §7.1): its size line, written into the arena, the
    /// data, and the CRLF.
    fn emit_chunk(&mut self, data: Bytes) {
        self.arena.reserve(CHUNK_LINE_ROOM);
        put_hex(&mut self.arena, data.len() as u64);
        self.arena.put_slice(b"\r\n");
        let size_line = self.arena.split().freeze();
        self.emit(size_line);
        self.emit(data);
        self.emit(Bytes::from_static(b"\r\n"));
    }

    fn emit(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.out.push(bytes);
        }
    }

    // ---- receiving ----------------------------------------------------------------------

    fn read_head(&mut self, buf: &mut BytesMut) -> bool {
        if !self.recv.start_head(buf) {
            return false;
        }
        if let Some(front) = self.inflight.front_mut() {
            front.answered = true;
        }
        let request_method = self.inflight.front().map_or(&b""[..], |r| &r.method[..]);
        let role = Role::Client { request_method };
        let max_size = self.config.max_header_size;
        let parsed = match parse_head(buf, role, max_size, self.recv.fields_mut()) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return false,
            Err(error) => {
                self.fail(error, false);
                return false;
            }
        };
        let Some(request) = self.inflight.front() else {
            self.fail(ProtocolError::UnsolicitedResponse, false);
            return false;
        };
        let checks = match parsed.checks {
            Ok(checks) => checks,
            Err(error) => {
                self.fail(error, false);
                return false;
            }
        };
        let StartLine::Response { status, reason } = &parsed.start_line else {
            return false;
        };
        let status = *status;
        let (start, head) = self.recv.take_head(buf, parsed.head_len);
        let version = if parsed.version_minor == 0 {
            Version::Http10
        } else {
            Version::Http11
        };
        let body = match checks.framing {
            Framing::None | Framing::ContentLength(0) => ResponseBody::None,
            Framing::ContentLength(n) => ResponseBody::ContentLength(n),
            Framing::Chunked => ResponseBody::Chunked,
            Framing::UntilClose => ResponseBody::UntilClose,
        };
        let keep_alive = checks.keep_alive && body != ResponseBody::UntilClose && !request.close;
        let id = request.id;
        let is_connect = checks.is_connect;
        let response = ResponseHead {
            id,
            status,
            reason: head.slice(reason.clone()),
            version,
            headers: self.recv.fields().to_raw(&head),
            body,
            keep_alive,
            start,
            head_end: self.recv.position(),
        };
        match status {
            // Node hands the socket over on any 101, offered or not (`'upgrade'`, Node docs
            // `http.md` › `Event: 'upgrade'`).
            101 => {
                let rest = self.recv.take_rest(buf);
                let response = ResponseHead {
                    keep_alive: false,
                    ..response
                };
                self.events.push_back(ClientEvent::Upgrade {
                    response,
                    head: rest,
                });
                self.hand_over();
                return false;
            }
            100 => {
                // `'continue'`, and like every 1xx but 101, `'information'` (Node docs `http.md` ›
                // `Event: 'information'`).
                self.events.push_back(ClientEvent::Continue { id });
                self.events.push_back(ClientEvent::Information(response));
                if let Some(index) = self.inflight.iter().position(|r| r.id == id) {
                    self.release_body(index);
                }
                return true;
            }
            102..=199 => {
                self.events.push_back(ClientEvent::Information(response));
                return true;
            }
            _ => {}
        }
        if is_connect {
            let rest = self.recv.take_rest(buf);
            let response = ResponseHead {
                keep_alive: false,
                ..response
            };
            self.events.push_back(ClientEvent::Connect {
                response,
                head: rest,
            });
            self.hand_over();
            return false;
        }
        // A final response while the body is held: the body is not sent, and the connection
        // cannot carry another request (the server may still expect it).
        let mut close_after = !keep_alive;
        if let Some(front) = self.inflight.front_mut()
            && let Send::AwaitContinue { .. } = front.send
        {
            front.send = Send::Done;
            close_after = true;
        }
        if let Some(front) = self.inflight.front_mut() {
            front.close |= close_after;
        }
        self.events.push_back(ClientEvent::Response(response));
        if body == ResponseBody::None {
            self.finish_response(id, RawHeaders::new());
        } else {
            self.recv.start_body(id, checks.framing, ());
        }
        true
    }

    /// Reads the body of the response being received: `Data` (and `Chunk`) events, then `End`.
    fn read_body(&mut self, buf: &mut BytesMut) -> bool {
        match self.recv.read_body(buf) {
            Ok(None) => false,
            Ok(Some((id, BodyItem::Chunk { size, extensions }))) => {
                if self.config.chunk_events {
                    self.events.push_back(ClientEvent::Chunk {
                        id,
                        size,
                        extensions,
                    });
                }
                true
            }
            Ok(Some((id, BodyItem::Data(data)))) => {
                self.events.push_back(ClientEvent::Data { id, data });
                true
            }
            Ok(Some((id, BodyItem::End(trailers)))) => {
                self.finish_response(id, RawHeaders::from(trailers));
                true
            }
            Err(error) => {
                self.fail(error, false);
                false
            }
        }
    }

    fn finish_response(&mut self, id: RequestId, trailers: RawHeaders) {
        self.events.push_back(ClientEvent::End {
            id,
            trailers,
            end: self.recv.position(),
        });
        // A response that ends before its request's body was all sent: the body stops here,
        // so the server may still be waiting for it and the connection cannot carry another
        // request.
        let body_cut = self
            .inflight
            .front()
            .is_some_and(|r| !matches!(r.send, Send::Done));
        let close = body_cut || self.inflight.front().is_some_and(|r| r.close);
        self.inflight.pop_front();
        let next = if close { Recv::Done } else { Recv::idle() };
        if self.recv.finish_body(next).is_none() {
            // A response without a body: still in `Head`.
            if close {
                self.recv.enter(Recv::Done);
            }
        }
    }

    fn fail(&mut self, error: ProtocolError, retryable: bool) {
        let id = self.inflight.front().map(|r| r.id);
        self.events.push_back(ClientEvent::Error {
            id,
            error: error.into(),
            retryable,
        });
        self.inflight.clear();
        self.close(Action::Close { reset: false });
    }

    fn hand_over(&mut self) {
        self.recv.enter(Recv::HandedOver);
        self.idle_deadline = None;
        self.inflight.clear();
        self.actions.push(Action::HandOver);
    }

    /// After every input and command: close once the server's side is over and nothing is
    /// in flight.
    fn after(&mut self, _now: Instant) {
        if matches!(self.recv.state(), Recv::Done) {
            self.inflight.clear();
            self.close(Action::Shutdown);
        }
    }

    fn close(&mut self, action: Action) {
        if self.recv.enter(Recv::Closed).is_none() {
            return;
        }
        self.idle_deadline = None;
        self.actions.push(action);
        self.events.push_back(ClientEvent::Close);
    }

    fn touch(&mut self, now: Instant) {
        self.idle_deadline = self.config.timeout.map(|t| now + t);
    }
}

/// Methods whose requests may be repeated without a different effect (RFC 9110 §9.2.2).
fn idempotent(method: &[u8]) -> bool {
    matches!(
        method,
        b"GET" | b"HEAD" | b"OPTIONS" | b"TRACE" | b"PUT" | b"DELETE"
    )
}

sansnet_core::forward_machine!(ClientConnection, ClientEvent, pop_transmit);
