//! `ServerConnection`: one HTTP/1.1 connection as Node's `http.Server` serves it.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::time::{Instant, SystemTime};

use bytes::{BufMut, Bytes, BytesMut};

use crate::chunked::ChunkedLimits;
use crate::framing::{Expect, Framing, parse_content_length};
use crate::head::{HeadChecks, ParsedHead, Role, StartLine, ends_in_chunked, parse_head};
use crate::recv::{BodyItem, Receiver};
use crate::response::{
    CHUNK_LINE_ROOM, client_error_reply, put_decimal, put_head_start, put_header, put_hex,
    reserve_head, start_head,
};
use crate::state::Recv;
use crate::{
    Action, BodyFraming, Error, Headers, ProtocolError, RawHeaders, Request, RequestId, Response,
    ServerConfig, ServerEvent, UsageError, Version,
};
use sansnet_core::{Actions, Transmit};

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// One HTTP/1.1 server connection: request bytes in, Node's `http.Server` events and response
/// bytes out.
///
/// Methods come in the contract's four kinds: inputs ([`ServerConnection::handle_input`],
/// [`ServerConnection::handle_eof`], [`ServerConnection::handle_timeout`],
/// [`ServerConnection::advance_transmit`], [`ServerConnection::set_date`]); commands
/// ([`ServerConnection::send_response`], [`ServerConnection::write`],
/// [`ServerConnection::end`], [`ServerConnection::send_continue`], ...); outputs
/// ([`ServerConnection::poll_event`], [`ServerConnection::transmit_chunks`],
/// [`ServerConnection::poll_action`], [`ServerConnection::poll_timeout`],
/// [`ServerConnection::wants_read`]); getters.
///
/// Requests are parsed ahead of their responses (pipelining); responses go out in request
/// order whatever order the application answers them in (docs/node-semantics.md#http-pipelining,
/// #http-response-order).
#[derive(Debug)]
pub struct ServerConnection {
    config: ServerConfig,
    /// The receiving side: its state (`Closed`/`HandedOver` once `Close` was emitted), the
    /// stream offset, the chunked decoder.
    recv: Receiver<BodyPlan>,
    next_id: u64,
    requests_seen: u32,
    /// Responses in request order; the front one streams to `out`.
    slots: VecDeque<Slot>,
    /// The heads `send_response` stored, until the first `write` or the `end` sends them
    /// (kept out of `Slot`, so that the slots stay small to move).
    heads: VecDeque<(RequestId, Response)>,
    /// Bytes ready for the transport.
    out: Transmit,
    need_drain: bool,
    /// Made with room for two events, where a `VecDeque`'s first push takes room for four (928
    /// bytes): a keep-alive request is two (`Request`, `End`), taken before the next request
    /// comes, and an idle connection keeps the room it had (test `idle_room`).
    events: VecDeque<ServerEvent>,
    actions: Actions,
    /// The application paused reading (`req.pause()`): nothing is parsed until `resume`.
    paused: bool,
    /// A CONNECT or Upgrade head that takes the connection over waits in the read buffer
    /// until every earlier response is complete, so that the transport changes hands with
    /// nothing owed on it, however the reads were cut. Cleared when the last one retires.
    head_waits: bool,
    /// The server is closing: no new request after the ones received.
    server_closing: bool,
    date: Option<(u64, Bytes)>,
    /// The `Keep-Alive` value the responses carry (from the config, so built once).
    keep_alive_value: Option<Bytes>,
    /// Where response heads and chunk-size lines are written before they are split off as
    /// `Bytes`: the buffer is reused once they are written, so answering allocates nothing.
    arena: BytesMut,
    headers_deadline: Option<Instant>,
    request_deadline: Option<Instant>,
    idle_deadline: Option<Instant>,
    /// Response bytes handed out still wait for the transport (`set_unflushed`).
    unflushed: bool,
}

/// What the server does with a request body being read.
#[derive(Debug)]
struct BodyPlan {
    /// The answer is already decided (417, 503): the body is read and dropped, no events.
    discard: bool,
    /// An upgrade request: handed over with `Upgrade` once its body is read.
    upgrade: Option<Box<Request>>,
}

/// One response, in request order.
#[derive(Debug)]
struct Slot {
    id: RequestId,
    version: Version,
    head_request: bool,
    /// The request allows the connection to persist after this response.
    keep_alive: bool,
    state: SlotState,
    /// Bytes produced while an earlier response is still going out.
    held: VecDeque<Bytes>,
    /// Close the connection once this response is out.
    close_after: bool,
    /// Say `Connection: close` but keep reading: the `maxRequestsPerSocket`-th response, after
    /// which later requests still get their 503 (Node docs `http.md` ›
    /// `server.maxRequestsPerSocket`).
    announce_close: bool,
    /// `CheckContinue` was emitted and no 100 sent yet: a final response now closes the
    /// connection after it, since the body may never come (Node docs `http.md` ›
    /// `response.writeContinue()`).
    awaiting_continue: bool,
}

#[derive(Debug)]
enum SlotState {
    /// The application owes a response.
    Waiting,
    /// `send_response` stored the head (in `heads`); it leaves with the first `write` or `end`.
    HeadPending,
    /// The head is out; the body follows with this framing.
    Body(OutFraming),
    /// Every byte of the response is produced.
    Finished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OutFraming {
    /// No body may follow (HEAD, 1xx, 204, 304).
    Empty,
    /// This many body bytes are still owed.
    Length(u64),
    /// Chunked.
    Chunked,
    /// Ends at connection close.
    UntilClose,
}

impl ServerConnection {
    /// A connection accepted at `now`; the head timeout starts now.
    pub fn new(now: Instant, config: ServerConfig) -> Self {
        let headers_deadline = config.headers_timeout.map(|t| now + t);
        let keep_alive_value = config.keep_alive_timeout.map(|timeout| {
            let mut value = format!("timeout={}", timeout.as_secs());
            if let Some(max) = config.max_requests_per_socket {
                value.push_str(&format!(", max={max}"));
            }
            Bytes::from(value)
        });
        Self {
            recv: Receiver::new(ChunkedLimits {
                max_extensions: config.max_chunk_extensions,
                max_trailers: config.max_header_size,
            }),
            config,
            next_id: 0,
            requests_seen: 0,
            // One request at a time unless pipelined: a `VecDeque`'s first push takes room
            // for four, which an idle connection would keep.
            slots: VecDeque::with_capacity(1),
            heads: VecDeque::new(),
            // Room for a head and a body: a `VecDeque`'s first push takes room for four.
            out: Transmit::with_capacity(2),
            need_drain: false,
            events: VecDeque::with_capacity(2),
            actions: Actions::default(),
            paused: false,
            head_waits: false,
            server_closing: false,
            date: None,
            keep_alive_value,
            arena: BytesMut::new(),
            headers_deadline,
            request_deadline: None,
            idle_deadline: None,
            unflushed: false,
        }
    }

    // ---- inputs -------------------------------------------------------------------------

    /// Bytes from the peer. Consumes every byte it parses and leaves the rest in `buf`: the
    /// unfinished part of a head, everything while reading is paused, and everything after
    /// the connection stopped taking requests (after `Connection: close`, an error, or a
    /// hand-over).
    pub fn handle_input(&mut self, now: Instant, buf: &mut BytesMut) {
        while !self.paused {
            let progressed = match self.recv.state() {
                Recv::Head { .. } => self.read_head(now, buf),
                Recv::Body { .. } => self.read_body(buf),
                Recv::Done | Recv::Closed | Recv::HandedOver => false,
            };
            if !progressed {
                break;
            }
            // Finished responses leave at once, so that what follows in this same input is
            // treated as it would be in the next one.
            self.retire();
        }
        self.after(now);
    }

    /// The peer sent FIN. Requests already complete still get their responses; a request cut
    /// short is a client error (`HPE_INVALID_EOF_STATE`). Node 20 drops pending responses here
    /// (docs/node-semantics.md#http-client-fin); we follow RFC 9112 §9.6 and answer what was asked
    /// (docs/node-semantics.md#http-lingering-close, #divergences).
    pub fn handle_eof(&mut self, now: Instant) {
        match self.recv.state() {
            Recv::Head { partial: false } => {
                self.recv.enter(Recv::Done);
            }
            Recv::Head { partial: true } | Recv::Body { .. } => {
                self.fail(ProtocolError::UnexpectedEof);
            }
            Recv::Done | Recv::Closed | Recv::HandedOver => {}
        }
        self.after(now);
    }

    /// Whether response bytes this machine handed out still wait for the transport (in the
    /// socket machine above which it runs, or the runtime's buffer). While they do, an idle
    /// connection's keep-alive timer does not run; it starts `now` when the last byte is
    /// written, so a response still draining to a slow reader is never cut by
    /// `keepAliveTimeout`. Node arms that timer on the response's `'finish'`, once its last
    /// write completed (Node source `lib/_http_server.js` › `resOnFinish`;
    /// docs/node-semantics.md#http-keepalive-timeout).
    #[inline]
    pub fn set_unflushed(&mut self, now: Instant, unflushed: bool) {
        if self.unflushed == unflushed {
            return;
        }
        self.unflushed = unflushed;
        if unflushed {
            self.idle_deadline = None;
        } else if self.kept_alive() {
            self.idle_deadline = self.config.keep_alive_timeout.map(|t| now + t);
        }
    }

    /// Time passed: 408 when the head or the request took too long (Node docs `http.md` ›
    /// `server.headersTimeout`), and the idle keep-alive connection closes after `keepAliveTimeout`
    /// (Node docs `http.md` › `server.keepAliveTimeout`).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        let due = |deadline: Option<Instant>| deadline.is_some_and(|d| now >= d);
        if due(self.idle_deadline) {
            self.idle_deadline = None;
            self.slots.clear();
            self.heads.clear();
            self.close(Action::Close { reset: false });
        } else if due(self.headers_deadline) || due(self.request_deadline) {
            self.headers_deadline = None;
            self.request_deadline = None;
            self.fail(ProtocolError::RequestTimeout);
        }
        self.after(now);
    }

    /// `n` bytes from the front of `transmit_chunks` were written.
    pub fn advance_transmit(&mut self, now: Instant, n: usize) {
        self.out.advance(n);
        self.transmitted(now);
    }

    /// After bytes left: `Drain` once below the high-water mark again.
    fn transmitted(&mut self, now: Instant) {
        if self.need_drain && self.out.len() < self.config.high_water_mark {
            self.need_drain = false;
            self.events.push_back(ServerEvent::Drain);
        }
        self.after(now);
    }

    /// The wall-clock time for the `Date` header (the machine reads no clock); the driver
    /// hands it in before inputs, at most once a second matters.
    pub fn set_date(&mut self, time: SystemTime) {
        let secs = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if self.date.as_ref().is_none_or(|(cached, _)| *cached != secs) {
            self.date = Some((secs, Bytes::from(crate::date::imf_fixdate(time))));
        }
    }

    // ---- commands -----------------------------------------------------------------------

    /// `res.writeHead(status, headers)`: stores the head; it leaves with the first `write` or
    /// the `end`, when the framing is known (docs/node-semantics.md#http-auto-content-length,
    /// #http-auto-chunked).
    pub fn send_response(
        &mut self,
        _now: Instant,
        id: RequestId,
        response: Response,
    ) -> Result<(), Error> {
        response.validate()?;
        if response.status < 200 && response.status != 101 {
            return Err(UsageError::InvalidStatus.into());
        }
        let slot = self.slot_mut(id)?;
        match slot.state {
            SlotState::Waiting => {}
            SlotState::HeadPending | SlotState::Body(_) | SlotState::Finished => {
                return Err(UsageError::HeadersSent.into());
            }
        }
        slot.state = SlotState::HeadPending;
        self.heads.push_back((id, response));
        Ok(())
    }

    /// `res.writeContinue()`: `100 Continue` for a `CheckContinue` request (Node docs `http.md` ›
    /// `response.writeContinue()`). Not sent to HTTP/1.0 clients (RFC 9110 §15.2).
    pub fn send_continue(&mut self, now: Instant, id: RequestId) -> Result<(), Error> {
        self.send_informational(now, id, &Response::new(100))
    }

    /// `res.writeProcessing()` / `res.writeEarlyHints()`: a 1xx other than 101 before the
    /// final response (Node docs `http.md` › `response.writeEarlyHints()`); skipped for HTTP/1.0
    /// clients (RFC 9110 §15.2).
    pub fn send_informational(
        &mut self,
        _now: Instant,
        id: RequestId,
        response: &Response,
    ) -> Result<(), Error> {
        response.validate()?;
        if !(100..200).contains(&response.status) || response.status == 101 {
            return Err(UsageError::InvalidStatus.into());
        }
        let index = self.slot_index(id)?;
        let slot = &self.slots[index];
        if !matches!(slot.state, SlotState::Waiting) {
            return Err(UsageError::HeadersSent.into());
        }
        if slot.version == Version::Http10 {
            return Ok(());
        }
        if response.status == 100 {
            self.slots[index].awaiting_continue = false;
        }
        reserve_head(&mut self.arena, &response.headers);
        put_head_start(
            &mut self.arena,
            response.status,
            response.reason.as_deref(),
            &response.headers,
        );
        self.arena.put_slice(b"\r\n");
        let head = self.arena.split().freeze();
        self.emit(index, head);
        Ok(())
    }

    /// `res.write(data)`: sends the head if it is still pending (chunked for HTTP/1.1,
    /// close-delimited for HTTP/1.0, unless the application set `Content-Length`), then
    /// `data`. Returns false once the queued response bytes reach the high-water mark; `Drain`
    /// follows. Bodies of HEAD, 204 and 304 responses are dropped, as Node does (Node docs
    /// `http.md` › `response.write()`).
    pub fn write(&mut self, now: Instant, id: RequestId, data: Bytes) -> Result<bool, Error> {
        let index = self.slot_index(id)?;
        if matches!(self.slots[index].state, SlotState::Waiting) {
            // `res.write()` without `writeHead()` sends 200, as Node does.
            self.slots[index].state = SlotState::HeadPending;
            self.heads.push_back((id, Response::new(200)));
        }
        self.commit_head(now, index, None, None)?;
        self.write_body(index, data)?;
        let below = self.out.len() < self.config.high_water_mark;
        if !below {
            self.need_drain = true;
        }
        self.after(now);
        Ok(below)
    }

    /// `res.end([data])`: sends the head if pending (with `Content-Length` of `data` when
    /// nothing was written before, docs/node-semantics.md#http-auto-content-length), `data`, and
    /// the end of the body.
    pub fn end(&mut self, now: Instant, id: RequestId, data: Option<Bytes>) -> Result<(), Error> {
        self.finish_response(now, id, data, None, None)
    }

    /// `res.addTrailers(trailers); res.end([data])`: trailers need a chunked response
    /// (Node docs `http.md` › `response.addTrailers()`).
    pub fn end_with_trailers(
        &mut self,
        now: Instant,
        id: RequestId,
        data: Option<Bytes>,
        trailers: Headers,
    ) -> Result<(), Error> {
        self.finish_response(now, id, data, Some(&trailers), None)
    }

    /// `end` with or without trailers; `fresh` is the head of a `Waiting` response that
    /// `respond` hands straight in.
    fn finish_response(
        &mut self,
        now: Instant,
        id: RequestId,
        data: Option<Bytes>,
        trailers: Option<&Headers>,
        fresh: Option<&mut Response>,
    ) -> Result<(), Error> {
        let index = self.slot_index(id)?;
        let length = data.as_ref().map_or(0, Bytes::len);
        let chunked_head = |response: &Response| {
            response
                .headers
                .get("transfer-encoding")
                .is_some_and(|te| ends_in_chunked(te))
        };
        // Checked before anything is sent, so that a refused call changes nothing.
        let will_chunk = match &self.slots[index].state {
            SlotState::Waiting => fresh.as_deref().is_some_and(chunked_head),
            SlotState::HeadPending => self
                .heads
                .iter()
                .find(|(head_id, _)| *head_id == id)
                .is_some_and(|(_, response)| chunked_head(response)),
            SlotState::Body(framing) => *framing == OutFraming::Chunked,
            SlotState::Finished => return Err(UsageError::WriteAfterEnd.into()),
        };
        if trailers.is_some_and(|t| !t.is_empty()) && !will_chunk {
            return Err(UsageError::TrailersNotAllowed.into());
        }
        let mut default_head = Response::new(200);
        let fresh = match (&self.slots[index].state, fresh) {
            (SlotState::Waiting, None) => Some(&mut default_head),
            (_, fresh) => fresh,
        };
        self.commit_head(now, index, Some(length), fresh)?;
        if let Some(data) = data {
            self.write_body(index, data)?;
        }
        let slot = &mut self.slots[index];
        let framing = match &slot.state {
            SlotState::Body(framing) => *framing,
            SlotState::Finished => return Err(UsageError::WriteAfterEnd.into()),
            SlotState::Waiting | SlotState::HeadPending => {
                return Err(UsageError::HeadersNotSent.into());
            }
        };
        match framing {
            OutFraming::Chunked if trailers.is_none_or(Headers::is_empty) => {
                self.emit(index, Bytes::from_static(b"0\r\n\r\n"));
            }
            OutFraming::Chunked => {
                let none = Headers::new();
                let trailers = trailers.unwrap_or(&none);
                reserve_head(&mut self.arena, trailers);
                self.arena.put_slice(b"0\r\n");
                for (name, value) in trailers.iter() {
                    put_header(&mut self.arena, name, value);
                }
                self.arena.put_slice(b"\r\n");
                let tail = self.arena.split().freeze();
                self.emit(index, tail);
            }
            OutFraming::Length(owed) if owed > 0 => {
                // Fewer bytes than promised: the peer would wait for the rest forever, so the
                // connection closes after this response (Node leaves it hanging).
                self.slots[index].close_after = true;
            }
            OutFraming::UntilClose => self.slots[index].close_after = true,
            OutFraming::Empty | OutFraming::Length(_) => {}
        }
        self.slots[index].state = SlotState::Finished;
        self.after(now);
        Ok(())
    }

    /// `res.writeHead(status, headers); res.end(body)` in one call.
    pub fn respond(
        &mut self,
        now: Instant,
        id: RequestId,
        mut response: Response,
        body: Bytes,
    ) -> Result<(), Error> {
        // `send_response`'s checks; the head then goes straight out with the body.
        response.validate()?;
        if response.status < 200 && response.status != 101 {
            return Err(UsageError::InvalidStatus.into());
        }
        match self.slot_mut(id)?.state {
            SlotState::Waiting => {}
            SlotState::HeadPending | SlotState::Body(_) | SlotState::Finished => {
                return Err(UsageError::HeadersSent.into());
            }
        }
        self.finish_response(now, id, Some(body), None, Some(&mut response))
    }

    /// `socket.destroy()` from the application: drop everything and close now.
    pub fn destroy(&mut self, _now: Instant) {
        if !self.is_closed() {
            self.slots.clear();
            self.heads.clear();
            self.out.clear();
            self.close(Action::Close { reset: false });
        }
    }

    // ---- outputs ------------------------------------------------------------------------

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// The next thing the driver must do with the transport.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.poll(self.out.is_empty())
    }

    /// Fills `out` with the response bytes to write, front first; returns how many slices.
    pub fn transmit_chunks<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        self.out.fill(out)
    }

    /// Takes the next chunk of response bytes whole (for stacking on another machine, such as
    /// a TCP socket machine that takes `Bytes`).
    pub fn pop_transmit(&mut self, now: Instant) -> Option<Bytes> {
        let chunk = self.out.pop()?;
        self.transmitted(now);
        Some(chunk)
    }

    /// When to call `handle_timeout`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            return None;
        }
        [
            self.headers_deadline,
            self.request_deadline,
            self.idle_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// `req.pause()`: parse nothing more, and ask the driver not to read (so the peer's sends
    /// back up), until [`Self::resume`]. Bytes already read stay in the driver's buffer. With
    /// `write` returning false and `Drain`, this is Node's `req.pipe(res)`: pause when the
    /// response is past its high-water mark, resume on its `drain`, and a client that uploads
    /// without reading the answer cannot make the server hold the whole upload.
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// `req.resume()`: parse and read again. Call [`Self::handle_input`] with the bytes
    /// waiting in the driver's buffer (the driver does this on its next round).
    pub fn resume(&mut self) {
        self.paused = false;
    }

    /// `req.isPaused()`: whether the application paused reading.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Whether the driver should read: parsing requests, below the response high-water mark,
    /// and not too far ahead of the responses (docs/node-semantics.md#http-read-backpressure).
    pub fn wants_read(&self) -> bool {
        !self.paused
            && match self.recv.state() {
                Recv::Head { .. } => {
                    self.slots.len() < self.config.max_pipelined
                        && self.out.len() < self.config.high_water_mark
                        && !self.awaiting_continue()
                        && !self.head_waits
                }
                Recv::Body { .. } => true,
                Recv::Done | Recv::Closed | Recv::HandedOver => false,
            }
    }

    // ---- getters ------------------------------------------------------------------------

    /// Response bytes queued and not yet written.
    pub fn buffered(&self) -> usize {
        self.out.len()
    }

    /// Requests whose responses have not finished going out.
    pub fn pending_responses(&self) -> usize {
        self.slots.len()
    }

    /// Whether `Close` was emitted (or the connection handed over).
    pub fn is_closed(&self) -> bool {
        self.recv.state().is_closed()
    }

    /// A `CheckContinue` request is not answered yet: its answer decides whether the
    /// connection stays (a final status without 100 closes it, Node docs `http.md` ›
    /// `response.writeContinue()`), so no later request is read until then.
    fn awaiting_continue(&self) -> bool {
        self.slots
            .iter()
            .any(|s| s.awaiting_continue && matches!(s.state, SlotState::Waiting))
    }

    /// Whether the connection sits between requests: nothing being received, no response
    /// owed. Node's `server.close()` closes such keep-alive connections at once
    /// (docs/node-semantics.md#http-server-close).
    pub fn is_idle(&self) -> bool {
        self.recv.state().is_idle() && self.slots.is_empty()
    }

    /// `server.close()` reached this connection: an idle one closes now; a busy one answers
    /// what it has received with `Connection: close` and closes after that
    /// (docs/node-semantics.md#http-server-close).
    pub fn close_when_idle(&mut self, now: Instant) {
        self.server_closing = true;
        self.after(now);
    }

    // ---- receiving ----------------------------------------------------------------------

    fn read_head(&mut self, now: Instant, buf: &mut BytesMut) -> bool {
        // Stray CRLFs before a request line are ignored (RFC 9112 §2.2).
        if !self.recv.start_head(buf) || buf.as_ref() == b"\r" {
            return false;
        }
        if self.slots.len() >= self.config.max_pipelined
            || self.out.len() >= self.config.high_water_mark
            || self.awaiting_continue()
            || self.head_waits
        {
            return false;
        }
        self.idle_deadline = None;
        if self.headers_deadline.is_none() && self.requests_seen > 0 {
            self.headers_deadline = self.config.headers_timeout.map(|t| now + t);
        }
        let role = Role::Server {
            require_host: self.config.require_host_header,
            max_headers_count: self.config.max_headers_count,
        };
        let max_size = self.config.max_header_size;
        let parsed = match parse_head(buf, role, max_size, self.recv.fields_mut()) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return false,
            Err(error) => {
                self.fail(error);
                return false;
            }
        };
        if let Ok(checks) = &parsed.checks
            && self.hands_over(checks)
            && !self.slots.is_empty()
        {
            self.head_waits = true;
            return false;
        }
        let (start, head) = self.recv.take_head(buf, parsed.head_len);
        match parsed.checks {
            Ok(checks) => {
                self.accept_head(now, &head, &parsed, checks, start, buf);
                true
            }
            Err(error) => {
                self.fail(error);
                false
            }
        }
    }

    /// Turns a head that passed the checks into events and a receiving state.
    fn accept_head(
        &mut self,
        now: Instant,
        head: &Bytes,
        parsed: &ParsedHead,
        checks: HeadChecks,
        start: u64,
        buf: &mut BytesMut,
    ) {
        let HeadChecks {
            is_connect,
            framing,
            keep_alive,
            expect,
            is_upgrade,
            ..
        } = checks;
        let StartLine::Request { method, target } = &parsed.start_line else {
            return;
        };
        let version = if parsed.version_minor == 0 {
            Version::Http10
        } else {
            Version::Http11
        };
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.requests_seen = self.requests_seen.saturating_add(1);
        let over_limit = self
            .config
            .max_requests_per_socket
            .is_some_and(|max| self.requests_seen > max);
        let at_limit = self
            .config
            .max_requests_per_socket
            .is_some_and(|max| self.requests_seen >= max);
        let hands_over = (is_connect && self.config.connect) || (is_upgrade && self.config.upgrade);
        // A connection handed over is no longer HTTP: it does not persist as HTTP.
        let keep_alive = keep_alive && !hands_over;
        let body_framing = match framing {
            // Responses only: never the verdict on a request.
            Framing::None | Framing::UntilClose => BodyFraming::None,
            Framing::ContentLength(n) => BodyFraming::ContentLength(n),
            Framing::Chunked => BodyFraming::Chunked,
        };
        let request = Request {
            id,
            method: head.slice(method.clone()),
            target: head.slice(target.clone()),
            version,
            headers: self.recv.fields().to_raw(head),
            framing: body_framing,
            keep_alive: keep_alive && !at_limit,
            expect_continue: expect == Expect::Continue,
            start,
            head_end: self.recv.position(),
        };
        self.headers_deadline = None;
        self.request_deadline = self.config.request_timeout.map(|t| now + t);

        if is_connect {
            if self.config.connect {
                let head = self.recv.take_rest(buf);
                self.events
                    .push_back(ServerEvent::Connect { request, head });
                self.hand_over();
            } else {
                // Node destroys the socket without a response (Node docs `http.md` ›
                // `Event: 'connect'`).
                self.slots.clear();
                self.heads.clear();
                self.close(Action::Close { reset: false });
            }
            return;
        }
        let upgrade = self.config.upgrade && is_upgrade;
        let mut discard = false;
        let mut slot = Slot {
            id,
            version,
            head_request: request.is_head(),
            keep_alive,
            state: SlotState::Waiting,
            held: VecDeque::new(),
            close_after: !keep_alive,
            announce_close: at_limit,
            awaiting_continue: false,
        };
        let mut upgrade_request = None;
        if upgrade {
            // The body of an upgrade request is read and delivered (`Data`, `End`) before the
            // hand-over (docs/node-semantics.md#http-upgrade-body); the head itself comes with
            // `Upgrade`, not `Request`.
            slot.state = SlotState::Finished;
            slot.close_after = false;
            upgrade_request = Some(Box::new(request));
        } else if over_limit {
            // Node docs `http.md` › `server.maxRequestsPerSocket`: `dropRequest`, 503, no
            // `request`.
            discard = true;
            slot.state = SlotState::Finished;
            slot.close_after = true;
            slot.held.push_back(closing_reply(503));
            self.events.push_back(ServerEvent::DropRequest(request));
        } else if expect == Expect::Other {
            // Node docs `http.md` › `Event: 'checkExpectation'`: no `checkExpectation` listener, so
            // 417 and the body is dropped.
            discard = true;
            slot.state = SlotState::Finished;
            slot.held.push_back(finished_reply(417, keep_alive));
        } else {
            if expect == Expect::Continue && !self.config.check_continue {
                // Node docs `http.md` › `Event: 'checkContinue'`: 100 at once, then `request`.
                slot.held.push_back(Bytes::from_static(CONTINUE));
            }
            let event = if expect == Expect::Continue && self.config.check_continue {
                slot.awaiting_continue = true;
                ServerEvent::CheckContinue(request)
            } else {
                ServerEvent::Request(request)
            };
            self.events.push_back(event);
        }
        // An answer already decided that closes the connection (503, or 417 on a closing
        // request): its body is never read, whenever that answer goes out, so nothing after
        // this head is read.
        let closes_now = discard && slot.close_after;
        self.push_slot(slot);
        if closes_now {
            self.request_deadline = None;
            self.recv.enter(Recv::Done);
            return;
        }
        if matches!(
            body_framing,
            BodyFraming::None | BodyFraming::ContentLength(0)
        ) {
            self.finish_request(id, RawHeaders::new, upgrade_request, buf, discard);
            return;
        }
        let plan = BodyPlan {
            discard,
            upgrade: upgrade_request,
        };
        self.recv.start_body(id, framing, plan);
    }

    /// Reads the body of the request being received: `Data` (and `Chunk`) events unless it is
    /// discarded, then `End` and the next state.
    fn read_body(&mut self, buf: &mut BytesMut) -> bool {
        let discard = match self.recv.state() {
            Recv::Body { then, .. } => then.discard,
            _ => return false,
        };
        match self.recv.read_body(buf) {
            Ok(None) => false,
            Ok(Some((id, BodyItem::Chunk { size, extensions }))) => {
                if self.config.chunk_events && !discard {
                    self.events.push_back(ServerEvent::Chunk {
                        id,
                        size,
                        extensions,
                    });
                }
                true
            }
            Ok(Some((id, BodyItem::Data(data)))) => {
                if !discard {
                    self.events.push_back(ServerEvent::Data { id, data });
                }
                true
            }
            Ok(Some((id, BodyItem::End(trailers)))) => {
                // `Head` for now; `finish_request` decides what follows.
                let upgrade = self
                    .recv
                    .finish_body(Recv::idle())
                    .and_then(|plan| plan.upgrade);
                let trailers = move || RawHeaders::from(trailers);
                self.finish_request(id, trailers, upgrade, buf, discard);
                true
            }
            Err(error) => {
                self.fail(error);
                false
            }
        }
    }

    /// The request's body is complete: `End`, then the next state (another head, no more
    /// requests, or the hand-over of an upgrade).
    ///
    /// `trailers` builds the trailers in place (usually empty: no large value is moved).
    fn finish_request(
        &mut self,
        id: RequestId,
        trailers: impl FnOnce() -> RawHeaders,
        upgrade: Option<Box<Request>>,
        buf: &mut BytesMut,
        discard: bool,
    ) {
        self.request_deadline = None;
        if !discard {
            self.events.push_back(ServerEvent::End {
                id,
                trailers: trailers(),
                end: self.recv.position(),
            });
        }
        if let Some(request) = upgrade {
            let head = self.recv.take_rest(buf);
            self.events.push_back(ServerEvent::Upgrade {
                request: *request,
                head,
            });
            self.hand_over();
            return;
        }
        let keep_alive = self
            .slots
            .iter()
            .find(|s| s.id == id)
            .is_none_or(|s| !s.close_after);
        if !keep_alive {
            self.recv.enter(Recv::Done);
        }
    }

    /// A client error: `ClientError`, its reply queued behind earlier responses, and no more
    /// requests.
    fn fail(&mut self, error: ProtocolError) {
        if !self.recv.state().is_reading() {
            return;
        }
        self.recv.enter(Recv::Done);
        self.headers_deadline = None;
        self.request_deadline = None;
        let id = RequestId(self.next_id);
        self.next_id += 1;
        let mut slot = Slot {
            id,
            version: Version::Http11,
            head_request: false,
            keep_alive: false,
            state: SlotState::Finished,
            held: VecDeque::new(),
            close_after: true,
            announce_close: false,
            awaiting_continue: false,
        };
        slot.held.push_back(client_error_reply(error.status_hint()));
        self.events
            .push_back(ServerEvent::ClientError(error.into()));
        self.push_slot(slot);
    }

    fn hand_over(&mut self) {
        self.recv.enter(Recv::HandedOver);
        self.headers_deadline = None;
        self.request_deadline = None;
        self.idle_deadline = None;
        self.actions.push(Action::HandOver);
    }

    // ---- sending ------------------------------------------------------------------------

    fn push_slot(&mut self, mut slot: Slot) {
        if self.slots.is_empty() {
            self.move_out(&mut slot.held);
        }
        self.slots.push_back(slot);
    }

    fn slot_index(&self, id: RequestId) -> Result<usize, Error> {
        if self.is_closed() {
            return Err(UsageError::Closed.into());
        }
        self.slots
            .iter()
            .position(|s| s.id == id)
            .ok_or_else(|| UsageError::UnknownRequest.into())
    }

    fn slot_mut(&mut self, id: RequestId) -> Result<&mut Slot, Error> {
        let index = self.slot_index(id)?;
        Ok(&mut self.slots[index])
    }

    /// Bytes of the response at `index`: straight out if it is the front one, else held.
    fn emit(&mut self, index: usize, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        if index == 0 {
            self.out.push(bytes);
        } else {
            self.slots[index].held.push_back(bytes);
        }
    }

    fn move_out(&mut self, held: &mut VecDeque<Bytes>) {
        for bytes in held.drain(..) {
            self.out.push(bytes);
        }
    }

    /// Sends a pending head with its framing: `Content-Length` of `known_length` when the
    /// whole body is known (at `end`), else chunked (HTTP/1.1) or until close (HTTP/1.0).
    ///
    /// `fresh` is the head of a `Waiting` response, handed straight in.
    fn commit_head(
        &mut self,
        _now: Instant,
        index: usize,
        known_length: Option<usize>,
        fresh: Option<&mut Response>,
    ) -> Result<(), Error> {
        let slot = &mut self.slots[index];
        let mut stored;
        let response = match (&slot.state, fresh) {
            (SlotState::Waiting, Some(response)) => response,
            (SlotState::Waiting, None) => return Err(UsageError::HeadersNotSent.into()),
            (SlotState::HeadPending, _) => {
                let id = slot.id;
                stored = self
                    .heads
                    .iter()
                    .position(|(head_id, _)| *head_id == id)
                    .and_then(|at| self.heads.remove(at));
                match &mut stored {
                    Some((_, response)) => response,
                    None => return Err(UsageError::HeadersNotSent.into()),
                }
            }
            (SlotState::Body(_) | SlotState::Finished, _) => return Ok(()),
        };
        slot.state = SlotState::Finished;
        let status = response.status;
        let headers = &mut response.headers;
        let no_body = slot.head_request || status < 200 || status == 204 || status == 304;
        if status < 200 || status == 204 {
            // RFC 9110 §8.6, RFC 9112 §6.1: never on 1xx or 204
            // (docs/node-semantics.md#http-no-body-statuses).
            headers.remove("content-length");
            headers.remove("transfer-encoding");
        }
        // One pass over the application's headers for the ones the machine acts on.
        let mut user_length = None;
        let mut user_chunked = None;
        let mut has_date = false;
        let mut has_connection = false;
        for (name, value) in headers.iter() {
            if name.eq_ignore_ascii_case(b"content-length") {
                // `validate` made sure that there is one and it parses.
                user_length = user_length.or_else(|| Some(parse_content_length(value).ok()));
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                user_chunked = user_chunked.or_else(|| Some(ends_in_chunked(value)));
            } else if name.eq_ignore_ascii_case(b"date") {
                has_date = true;
            } else if name.eq_ignore_ascii_case(b"connection") {
                has_connection = true;
                if value
                    .split(|&b| b == b',')
                    .any(|t| crate::headers::trim_ows(t).eq_ignore_ascii_case(b"close"))
                {
                    slot.close_after = true;
                }
            }
        }
        let user_length = user_length.flatten();
        let user_chunked = user_chunked.unwrap_or(false);
        if status == 304 && user_chunked {
            // docs/node-semantics.md#http-forced-chunked-204: a forced chunked on 304 is dropped
            // and the connection closes.
            headers.remove("transfer-encoding");
            slot.close_after = true;
        }
        let mut framing = if no_body {
            OutFraming::Empty
        } else if let Some(length) = user_length {
            OutFraming::Length(length)
        } else if user_chunked {
            OutFraming::Chunked
        } else if known_length.is_some() {
            OutFraming::Length(known_length.unwrap_or(0) as u64)
        } else if slot.version == Version::Http11 {
            OutFraming::Chunked
        } else {
            slot.close_after = true;
            OutFraming::UntilClose
        };
        if status == 101 {
            framing = OutFraming::Empty;
        }
        let head = &mut self.arena;
        reserve_head(head, headers);
        put_head_start(head, status, response.reason.as_deref(), headers);
        if self.config.send_date
            && !has_date
            && let Some((_, date)) = &self.date
        {
            put_header(head, b"Date", date);
        }
        if slot.awaiting_continue && status >= 200 {
            slot.close_after = true;
        }
        if !has_connection {
            if slot.announce_close && !slot.close_after {
                put_header(head, b"Connection", b"close");
            } else if slot.keep_alive && !slot.close_after && !self.server_closing {
                put_header(head, b"Connection", b"keep-alive");
                if let Some(value) = &self.keep_alive_value {
                    put_header(head, b"Keep-Alive", value);
                }
            } else {
                slot.close_after = true;
                put_header(head, b"Connection", b"close");
            }
        }
        match framing {
            OutFraming::Length(n) if user_length.is_none() && status != 304 => {
                head.put_slice(b"Content-Length: ");
                put_decimal(head, n);
                head.put_slice(b"\r\n");
            }
            OutFraming::Chunked if !user_chunked => {
                put_header(head, b"Transfer-Encoding", b"chunked");
            }
            _ => {}
        }
        head.put_slice(b"\r\n");
        slot.state = SlotState::Body(framing);
        let head = head.split().freeze();
        self.emit(index, head);
        Ok(())
    }

    fn write_body(&mut self, index: usize, data: Bytes) -> Result<(), Error> {
        let framing = match &self.slots[index].state {
            SlotState::Body(framing) => *framing,
            SlotState::Finished => return Err(UsageError::WriteAfterEnd.into()),
            SlotState::Waiting | SlotState::HeadPending => {
                return Err(UsageError::HeadersNotSent.into());
            }
        };
        if data.is_empty() {
            return Ok(());
        }
        match framing {
            OutFraming::Empty => {}
            OutFraming::Length(owed) => {
                let len = data.len() as u64;
                if len > owed {
                    return Err(UsageError::ContentLengthMismatch.into());
                }
                self.slots[index].state = SlotState::Body(OutFraming::Length(owed - len));
                self.emit(index, data);
            }
            OutFraming::Chunked => {
                self.arena.reserve(CHUNK_LINE_ROOM);
                put_hex(&mut self.arena, data.len() as u64);
                self.arena.put_slice(b"\r\n");
                let size_line = self.arena.split().freeze();
                self.emit(index, size_line);
                self.emit(index, data);
                self.emit(index, Bytes::from_static(b"\r\n"));
            }
            OutFraming::UntilClose => self.emit(index, data),
        }
        Ok(())
    }

    /// After every input and command: retire finished responses in order, close when nothing
    /// more can happen, and arm the keep-alive timer when idle.
    fn after(&mut self, now: Instant) {
        self.retire();
        if self.is_closed() {
            return;
        }
        let idle = self.recv.state().is_idle() && self.slots.is_empty();
        if self.server_closing && idle {
            self.recv.enter(Recv::Done);
        }
        if matches!(self.recv.state(), Recv::Done) && self.slots.is_empty() {
            self.close(Action::Shutdown);
            return;
        }
        if idle && self.requests_seen > 0 && !self.unflushed {
            if self.idle_deadline.is_none() {
                self.idle_deadline = self.config.keep_alive_timeout.map(|t| now + t);
            }
        } else {
            self.idle_deadline = None;
        }
    }

    /// Whether a head with these checks takes the connection over (CONNECT or Upgrade, with
    /// a listener for it).
    fn hands_over(&self, checks: &HeadChecks) -> bool {
        (checks.is_connect && self.config.connect) || (checks.is_upgrade && self.config.upgrade)
    }

    /// Retires finished responses in order; one that closes the connection ends the taking of
    /// requests.
    fn retire(&mut self) {
        while self
            .slots
            .front()
            .is_some_and(|s| matches!(s.state, SlotState::Finished))
        {
            let Some(done) = self.slots.pop_front() else {
                break;
            };
            // The `maxRequestsPerSocket`-th response says `close` but, as in Node, does not end
            // the connection: whatever request still comes gets its 503 and the close (Node docs
            // `http.md` › `server.maxRequestsPerSocket`); a client that honours `close` leaves
            // first, and the keep-alive timeout ends the rest. Closing here would make the outcome
            // depend on when the answer was written.
            if done.close_after {
                // No-op once handed over or closed (the table keeps those states).
                self.recv.enter(Recv::Done);
                self.slots.clear();
                self.heads.clear();
                break;
            }
            if let Some(next) = self.slots.front_mut() {
                let mut held = std::mem::take(&mut next.held);
                self.move_out(&mut held);
            }
        }
        if self.slots.is_empty() {
            self.head_waits = false;
        }
    }

    /// Between requests, after at least one: what the keep-alive timer measures.
    fn kept_alive(&self) -> bool {
        self.recv.state().is_idle() && self.slots.is_empty() && self.requests_seen > 0
    }

    fn close(&mut self, action: Action) {
        if self.recv.enter(Recv::Closed).is_none() {
            return;
        }
        self.headers_deadline = None;
        self.request_deadline = None;
        self.idle_deadline = None;
        self.actions.push(action);
        self.events.push_back(ServerEvent::Close);
    }
}

/// A complete response that closes the connection (`dropRequest`'s 503).
fn closing_reply(status: u16) -> Bytes {
    let mut head = start_head(status, None, &Headers::new());
    head.put_slice(b"Connection: close\r\nContent-Length: 0\r\n\r\n");
    head.freeze()
}

/// A complete empty response that keeps the connection if `keep_alive`.
fn finished_reply(status: u16, keep_alive: bool) -> Bytes {
    let mut head = start_head(status, None, &Headers::new());
    let connection: &[u8] = if keep_alive { b"keep-alive" } else { b"close" };
    put_header(&mut head, b"Connection", connection);
    head.put_slice(b"Content-Length: 0\r\n\r\n");
    head.freeze()
}

sansnet_core::forward_machine!(ServerConnection, ServerEvent, pop_transmit);

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> (ServerConnection, Instant) {
        let now = Instant::now();
        let config = ServerConfig {
            send_date: false,
            ..ServerConfig::default()
        };
        (ServerConnection::new(now, config), now)
    }

    fn drain(
        conn: &mut ServerConnection,
        now: Instant,
    ) -> (Vec<ServerEvent>, Vec<u8>, Vec<Action>) {
        let events = std::iter::from_fn(|| conn.poll_event()).collect();
        let mut wire = Vec::new();
        while let Some(chunk) = conn.pop_transmit(now) {
            wire.extend_from_slice(&chunk);
        }
        let actions = std::iter::from_fn(|| conn.poll_action()).collect();
        (events, wire, actions)
    }

    /// A GET in, its `Request` and `End`, a 200 `ok` answered; returns what was written.
    fn answer_one_get(conn: &mut ServerConnection, now: Instant) -> Vec<u8> {
        let mut input = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..]);
        conn.handle_input(now, &mut input);
        let (events, _, _) = drain(conn, now);
        assert_eq!(events.len(), 2, "Request and End: {events:?}");
        let ServerEvent::Request(request) = &events[0] else {
            panic!("{events:?}");
        };
        let ok = Bytes::from_static(b"ok");
        conn.respond(now, request.id, Response::new(200), ok)
            .unwrap();
        drain(conn, now).1
    }

    /// A server keeps one `ServerConnection` per open connection, idle keep-alive ones
    /// included (benches/memory.sh): what it keeps from request to request stays small (the
    /// head's fields as their starts: 928 bytes, where the four offsets of each made it 1,696).
    #[test]
    fn connection_size() {
        let size = size_of::<ServerConnection>();
        assert!(size <= 960, "ServerConnection is {size} bytes");
    }

    /// What an idle keep-alive connection keeps of its queues after answering requests one
    /// at a time (benches/memory.sh): the room made for two events, one slot and two chunks,
    /// not the four of each a `VecDeque`'s first push takes (928 bytes for the events alone).
    #[test]
    fn idle_room() {
        let (mut conn, now) = conn();
        for _ in 0..3 {
            let wire = answer_one_get(&mut conn, now);
            assert!(wire.ends_with(b"\r\n\r\nok"));
        }
        assert_eq!(conn.events.capacity(), 2);
        assert_eq!(conn.slots.capacity(), 1);
        assert!(conn.out.is_empty());
    }

    /// docs/node-semantics.md#http-server-close: `server.close()` closes an idle keep-alive
    /// connection at once.
    #[test]
    fn idle_server_close_shuts_down_at_once() {
        let (mut conn, now) = conn();
        let wire = answer_one_get(&mut conn, now);
        assert!(String::from_utf8_lossy(&wire).contains("Connection: keep-alive"));
        assert!(conn.is_idle());
        conn.close_when_idle(now);
        let (events, _, actions) = drain(&mut conn, now);
        assert_eq!(events, vec![ServerEvent::Close]);
        assert_eq!(actions, vec![Action::Shutdown]);
    }

    /// Node docs `http.md` › `server.close()`: a busy connection answers its request with
    /// `Connection: close`, then closes.
    #[test]
    fn busy_server_close_answers_then_closes() {
        let (mut conn, now) = conn();
        let mut input = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..]);
        conn.handle_input(now, &mut input);
        let (events, _, _) = drain(&mut conn, now);
        let ServerEvent::Request(request) = &events[0] else {
            panic!("expected a request")
        };
        assert!(!conn.is_idle());
        conn.close_when_idle(now);
        assert!(
            drain(&mut conn, now).0.is_empty(),
            "the response is still owed"
        );
        conn.respond(
            now,
            request.id,
            Response::new(200),
            Bytes::from_static(b"ok"),
        )
        .unwrap();
        let (events, wire, actions) = drain(&mut conn, now);
        assert!(String::from_utf8_lossy(&wire).contains("Connection: close\r\n"));
        assert_eq!(events, vec![ServerEvent::Close]);
        assert_eq!(actions, vec![Action::Shutdown]);
    }

    /// Node docs `http.md` › `response.writeContinue()`: while a `CheckContinue` request waits for
    /// its answer, later requests are not read (its answer may close the connection), so events do
    /// not depend on when the application answers (found by the http1_server fuzz target).
    #[test]
    fn awaiting_continue_reads_no_later_request_until_answered() {
        let now = Instant::now();
        let config = ServerConfig {
            send_date: false,
            check_continue: true,
            ..ServerConfig::default()
        };
        let mut conn = ServerConnection::new(now, config);
        let mut input = BytesMut::from(
            &b"PUT /p HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok\
               GET /next HTTP/1.1\r\nHost: h\r\n\r\n"[..],
        );
        conn.handle_input(now, &mut input);
        let (events, _, _) = drain(&mut conn, now);
        assert_eq!(events.len(), 3, "CheckContinue, Data, End: {events:?}");
        assert!(!conn.wants_read());
        assert!(input.starts_with(b"GET /next"), "the next request waits");
        conn.respond(
            now,
            RequestId(0),
            Response::new(200),
            Bytes::from_static(b"ok"),
        )
        .unwrap();
        let (events, wire, actions) = drain(&mut conn, now);
        assert!(String::from_utf8_lossy(&wire).contains("Connection: close\r\n"));
        assert_eq!(events, vec![ServerEvent::Close]);
        assert_eq!(actions, vec![Action::Shutdown]);
    }
}
