//! `Connection`: one WebSocket after its opening handshake, either role (RFC 6455 §5-7).

use std::collections::VecDeque;
use std::io::IoSlice;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use sansnet_core::Actions;

use crate::close::{check_app_close, encode_close_payload, parse_close_payload};
#[cfg(feature = "deflate")]
use crate::codec::{Codec, InflateError};
use crate::deflate::Agreed;
use crate::frame::{FrameHeader, HeaderArena, OpCode};
use crate::mask::apply_mask;
use crate::utf8::Utf8Validator;
use crate::{
    Action, Config, Error, Message, ProtocolError, ReadyState, Received, Role, UsageError, WsEvent,
};

/// A source of unpredictable bytes: client masking keys and handshake nonces come from here
/// (RFC 6455 §5.3, §10.3). The machine has no random source of its own.
pub trait Entropy {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

impl<F: FnMut(&mut [u8])> Entropy for F {
    fn fill(&mut self, buf: &mut [u8]) {
        self(buf);
    }
}

/// One WebSocket connection: frames in, the `ws` package's events out; messages in, frames
/// out.
///
/// The contract is the crate's: inputs ([`Connection::handle_input`],
/// [`Connection::handle_eof`], [`Connection::handle_timeout`],
/// [`Connection::advance_transmit`]), commands ([`Connection::send`], [`Connection::ping`],
/// [`Connection::close`], ...), outputs ([`Connection::poll_event`],
/// [`Connection::transmit_chunks`], [`Connection::poll_action`], [`Connection::poll_timeout`]),
/// getters ([`Connection::ready_state`], [`Connection::buffered_amount`]).
pub struct Connection {
    role: Role,
    config: Config,
    entropy: Box<dyn Entropy + Send>,
    state: ReadyState,
    recv: Recv,
    /// The message being reassembled: text or not, and its bytes so far.
    message: Option<(bool, BytesMut)>,
    /// permessage-deflate, when agreed (RFC 7692).
    #[cfg(feature = "deflate")]
    deflate: Option<Box<Codec>>,
    /// The open message is compressed (RSV1 on its first frame): its payload is inflated into
    /// `inflated` instead of collected in `message`.
    inflating: bool,
    /// The inflated bytes of the open compressed message (of the current frame when
    /// streaming).
    inflated: Vec<u8>,
    /// Inflated bytes of the current frame so far (the per-frame limit when streaming).
    frame_inflated: usize,
    utf8: Utf8Validator,
    /// Frames to send, each with the application bytes it carries (for `bufferedAmount`).
    out: VecDeque<(Bytes, usize)>,
    out_len: usize,
    /// Where the headers of sent frames are written (reused: no allocation per frame).
    headers: HeaderArena,
    buffered_amount: usize,
    need_drain: bool,
    close_sent: bool,
    close_received: Option<(u16, String)>,
    events: VecDeque<WsEvent>,
    actions: Actions,
    deadline: Option<Instant>,
    /// Whole messages already in the read buffer skip the per-frame state machine
    /// ([`Connection::whole_message`]); off when streaming (the direct path delivers whole
    /// messages only) and in tests, which compare both paths.
    fast_path: bool,
}

/// A whole message at the front of the read buffer, found by
/// [`Connection::whole_message`] and already unmasked in place: `buf[start..end]`.
#[derive(Clone, Copy)]
struct Whole {
    /// A text message (not yet checked as UTF-8).
    text: bool,
    /// Where the payload starts: the header's length.
    start: usize,
    /// Where the payload (and the frame) ends.
    end: usize,
}

#[derive(Debug)]
enum Recv {
    /// Waiting for a frame header.
    Header,
    /// Reading a frame's payload: `remaining` bytes left, `offset` bytes already unmasked.
    Payload {
        header: FrameHeader,
        remaining: u64,
        offset: usize,
    },
    /// Nothing more is read (the peer's Close arrived, or the connection failed).
    Discard,
}

/// The largest payload copied next to its header when sent, into one chunk of the
/// connection's reused arena; above it the payload is queued as it came, without a copy, after
/// a header chunk of its own (a client, which must mask, copies every payload anyway). The
/// crossover, measured with `benches/examples/ws_instr.rs` (a server's `send` and
/// `pop_transmit` of one binary message, callgrind): copied, 294 instructions at 40 B, 316 at
/// 128 B, 337 at 256 B, 430 at 512 B; not copied, 335 to 337 at any size. The two cost the
/// same at 256 B (earlier timings agreed: 65 ns copied and 63 ns not at 256 B).
pub(crate) const COPY_MAX: usize = 256;

/// RSV1 in [`FrameHeader::rsv`]: the "Per-Message Compressed" bit (RFC 7692 §6).
const RSV1: u8 = 0b100;

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("recv", &self.recv)
            .field("inflating", &self.inflating)
            .field("buffered_amount", &self.buffered_amount)
            .field("close_sent", &self.close_sent)
            .field("close_received", &self.close_received)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A connection whose handshake is done, in `Open` state. `entropy` supplies client
    /// masking keys (a server never uses it).
    pub fn new(role: Role, config: Config, entropy: Box<dyn Entropy + Send>) -> Self {
        Self {
            role,
            entropy,
            state: ReadyState::Open,
            recv: Recv::Header,
            message: None,
            #[cfg(feature = "deflate")]
            deflate: None,
            inflating: false,
            inflated: Vec::new(),
            frame_inflated: 0,
            utf8: Utf8Validator::default(),
            out: VecDeque::new(),
            out_len: 0,
            headers: HeaderArena::default(),
            buffered_amount: 0,
            need_drain: false,
            close_sent: false,
            close_received: None,
            events: VecDeque::new(),
            actions: Actions::default(),
            deadline: None,
            fast_path: !config.streaming,
            config,
        }
    }

    /// Turns the direct path for whole messages off (`false`) or back on (the default): with
    /// it on, a message that is one final frame with no RSV bit, already whole in the read
    /// buffer, within `max_payload` and not streamed, is parsed, unmasked and checked in one
    /// step instead of through the per-frame state machine. The events are the same either way
    /// (the property tests compare them on random frames and splits); this switch exists for
    /// those tests and for measuring.
    pub fn set_fast_path(&mut self, on: bool) {
        // Streamed messages are delivered as fragments, which only the general path makes.
        self.fast_path = on && !self.config.streaming;
    }

    /// A server connection that first writes `response` (the handshake's 101).
    pub fn server(config: Config, response: Bytes) -> Self {
        let mut conn = Self::new(Role::Server, config, Box::new(|_: &mut [u8]| {}));
        conn.queue(response, 0);
        conn
    }

    /// Runs permessage-deflate with the parameters the handshake agreed
    /// ([`handshake::Accepted::deflate`](crate::handshake::Accepted::deflate),
    /// [`handshake::Opened::deflate`](crate::handshake::Opened::deflate)); `None` leaves it off.
    /// Call before any frame is sent or received. Messages of at least `threshold` bytes are
    /// sent compressed (RSV1 on the first frame, RFC 7692 §6); compressed messages are inflated
    /// with `max_payload` counted on the inflated bytes (RFC 7692 §8). Without the crate's
    /// `deflate` feature negotiation never agrees, and this does nothing.
    pub fn with_deflate(self, agreed: Option<Agreed>) -> Self {
        #[cfg(feature = "deflate")]
        {
            let role = self.role;
            Self {
                deflate: agreed.map(|a| Box::new(Codec::new(role, &a))),
                ..self
            }
        }
        #[cfg(not(feature = "deflate"))]
        {
            let _ = agreed;
            self
        }
    }

    /// Whether permessage-deflate is on for this connection.
    pub fn deflate_enabled(&self) -> bool {
        #[cfg(feature = "deflate")]
        return self.deflate.is_some();
        #[cfg(not(feature = "deflate"))]
        false
    }

    // ---- inputs -------------------------------------------------------------------------

    /// Bytes from the peer; consumes every byte it parses (all of them once reading stopped).
    pub fn handle_input(&mut self, now: Instant, buf: &mut BytesMut) {
        loop {
            if let Some(whole) = self.whole_message(buf) {
                buf.advance(whole.start);
                let data = buf.split_to(whole.end - whole.start);
                if whole.text && std::str::from_utf8(&data).is_err() {
                    // What the validator of the general path concludes on the whole message.
                    self.fail(now, ProtocolError::InvalidUtf8);
                    break;
                }
                let data = data.freeze();
                let message = if whole.text {
                    Message::Text(data)
                } else {
                    Message::Binary(data)
                };
                self.events.push_back(WsEvent::Message(message));
                // With nothing left the general path would find no header either.
                if self.config.message_at_a_time || buf.is_empty() {
                    break;
                }
                continue;
            }
            let messages = self.events.len();
            if !self.step(now, buf) {
                break;
            }
            if self.config.message_at_a_time
                && self
                    .events
                    .range(messages..)
                    .any(|e| matches!(e, WsEvent::Message(_)))
            {
                break;
            }
        }
    }

    /// Bytes from the peer, as [`Connection::handle_input`], with what they carry handed to
    /// `on` as it is read instead of queued for [`Connection::poll_event`]: a message that
    /// arrived whole, in one frame, is lent to `on` straight from `buf` ([`Received::Text`],
    /// [`Received::Binary`]) and its bytes are consumed when `on` returns; every other event
    /// comes owned ([`Received::Event`]), in order, events already queued first. When this
    /// returns, no event is queued (commands called in `on` may queue some later ones: they
    /// come first on the next call, or from `poll_event`).
    ///
    /// `on` gets the connection too, so that it can answer at once (`send`, `ping`, `close`,
    /// ...). The protocol is the same as through `handle_input`: the same checks, close codes
    /// (1002, 1007, 1009), limits and order, and the same events (the property tests compare
    /// the two on random frames and splits). With `Config::message_at_a_time` it stops after
    /// each message, as `handle_input` does.
    ///
    /// Lent messages are what keep small messages cheap: an owned message is a `Bytes` split
    /// off `buf`, a reference count taken and later dropped; a lent one is a slice.
    ///
    /// ```
    /// use std::time::Instant;
    ///
    /// use bytes::BytesMut;
    /// use sansnet_ws::{Config, Connection, Message, Received, Role, WsEvent};
    ///
    /// let now = Instant::now();
    /// let mut server = Connection::new(Role::Server, Config::default(), Box::new(|_: &mut [u8]| {}));
    /// // A masked text frame "Hello" (RFC 6455 §5.7), then a masked Ping.
    /// let mut buf = BytesMut::from(
    ///     &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58, 0x89, 0x80, 1, 2, 3, 4][..],
    /// );
    /// let mut seen = Vec::new();
    /// server.handle_input_with(now, &mut buf, |conn, received| match received {
    ///     Received::Text(text) => {
    ///         // Answer while the message is lent: the reply copies it.
    ///         conn.send_text(now, text).unwrap();
    ///         seen.push(text.to_owned());
    ///     }
    ///     Received::Binary(_) => unreachable!("no binary message here"),
    ///     Received::Event(WsEvent::Message(Message::Text(data))) => {
    ///         // A text message assembled from several frames or reads.
    ///         seen.push(String::from_utf8(data.to_vec()).unwrap());
    ///     }
    ///     Received::Event(event) => seen.push(format!("{event:?}")),
    ///     _ => {}
    /// });
    /// assert_eq!(seen, ["Hello", "Ping(b\"\")"]);
    /// assert!(buf.is_empty());
    /// // The echo, then the automatic Pong.
    /// let mut wire = Vec::new();
    /// while let Some(chunk) = server.pop_transmit(now) {
    ///     wire.extend_from_slice(&chunk);
    /// }
    /// assert_eq!(wire, b"\x81\x05Hello\x8a\x00");
    /// ```
    pub fn handle_input_with<F>(&mut self, now: Instant, buf: &mut BytesMut, mut on: F)
    where
        F: FnMut(&mut Self, Received<'_>),
    {
        loop {
            let mut delivered = false;
            while let Some(event) = self.events.pop_front() {
                delivered |= matches!(event, WsEvent::Message(_));
                on(self, Received::Event(event));
            }
            if delivered && self.config.message_at_a_time {
                return;
            }
            if let Some(whole) = self.whole_message(buf) {
                let Some(data) = buf.get(whole.start..whole.end) else {
                    // `whole_message` checked that the frame is in `buf`.
                    return;
                };
                let received = if whole.text {
                    match std::str::from_utf8(data) {
                        Ok(text) => Received::Text(text),
                        Err(_) => {
                            // What the validator of the general path concludes on the whole
                            // message, with the frame consumed as it would be.
                            buf.advance(whole.end);
                            self.fail(now, ProtocolError::InvalidUtf8);
                            while let Some(event) = self.events.pop_front() {
                                on(self, Received::Event(event));
                            }
                            return;
                        }
                    }
                } else {
                    Received::Binary(data)
                };
                on(self, received);
                buf.advance(whole.end);
                if self.config.message_at_a_time {
                    // Events the callback's commands queued go out before returning.
                    while let Some(event) = self.events.pop_front() {
                        on(self, Received::Event(event));
                    }
                    return;
                }
                if buf.is_empty() && self.events.is_empty() {
                    return;
                }
                continue;
            }
            if !self.step(now, buf) {
                while let Some(event) = self.events.pop_front() {
                    on(self, Received::Event(event));
                }
                return;
            }
        }
    }

    /// One step of the per-frame machine: a header, or what is there of a payload (a control
    /// frame's whole); whether it made progress.
    fn step(&mut self, now: Instant, buf: &mut BytesMut) -> bool {
        match self.recv {
            Recv::Header => self.read_header(now, buf),
            Recv::Payload { .. } => self.read_payload(now, buf),
            Recv::Discard => {
                // Data after the peer's Close (or after a failure) is discarded (RFC 6455
                // §5.5.1).
                buf.clear();
                false
            }
        }
    }

    /// The TCP connection ended: `Close` with the handshake's code, or 1006 without one.
    pub fn handle_eof(&mut self, _now: Instant) {
        if self.state == ReadyState::Closed {
            return;
        }
        let clean = self.close_sent && self.close_received.is_some();
        let (code, reason) = match (&self.close_received, clean) {
            (Some((code, reason)), true) => (*code, reason.clone()),
            _ => (1006, String::new()),
        };
        self.finish(code, reason, clean, Action::Close { reset: false });
    }

    /// Time passed: a closing handshake that took longer than `close_timeout` ends here.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|at| now >= at) && self.state == ReadyState::Closing {
            self.deadline = None;
            let clean = self.close_sent && self.close_received.is_some();
            let (code, reason) = match &self.close_received {
                Some((code, reason)) if clean => (*code, reason.clone()),
                _ => (1006, String::new()),
            };
            self.finish(code, reason, clean, Action::Close { reset: false });
        }
    }

    /// `n` bytes of `transmit_chunks` were written.
    pub fn advance_transmit(&mut self, _now: Instant, n: usize) {
        let mut left = n.min(self.out_len);
        self.out_len -= left;
        while left > 0 {
            let Some((front, app)) = self.out.front_mut() else {
                break;
            };
            if front.len() > left {
                front.advance(left);
                left = 0;
            } else {
                left -= front.len();
                self.buffered_amount = self.buffered_amount.saturating_sub(*app);
                self.out.pop_front();
            }
        }
        if self.need_drain && self.out_len < self.config.high_water_mark {
            self.need_drain = false;
            self.events.push_back(WsEvent::Drain);
        }
    }

    // ---- commands -----------------------------------------------------------------------

    /// `ws.send(message)`: one frame. Returns false once the queued bytes reach the high-water
    /// mark (`Drain` follows). After closing began nothing is sent, but the bytes still count
    /// in `bufferedAmount` (WHATWG WebSockets › `send()`) and this returns `Closed`.
    pub fn send(&mut self, _now: Instant, message: Message) -> Result<bool, Error> {
        let (opcode, data) = match message {
            Message::Text(data) => (OpCode::Text, data),
            Message::Binary(data) => (OpCode::Binary, data),
        };
        if self.state != ReadyState::Open || self.close_sent {
            self.buffered_amount += data.len();
            return Err(UsageError::Closed.into());
        }
        let app = data.len();
        self.buffered_amount += app;
        #[cfg(feature = "deflate")]
        if let Some(codec) = &mut self.deflate
            && app >= codec.threshold
        {
            // RFC 7692 §7.2.1: one compressed frame, RSV1 set (docs/node-semantics.md#deflate-rsv1,
            // #deflate-sync-flush).
            let payload = Bytes::from(codec.compress(&data));
            self.frame_with(opcode, RSV1, payload, app);
            return Ok(self.after_send());
        }
        self.frame(opcode, data, app);
        Ok(self.after_send())
    }

    /// `ws.send(string)`: [`Connection::send`] of a text message the caller lends; its bytes
    /// are copied into the frame (with a message lent by [`Connection::handle_input_with`],
    /// an echo without a `Bytes` of its own). The frame is the one `send` would write.
    pub fn send_text(&mut self, now: Instant, text: &str) -> Result<bool, Error> {
        self.send_lent(now, OpCode::Text, text.as_bytes())
    }

    /// `ws.send(buffer)`: [`Connection::send`] of a binary message the caller lends, copied
    /// into the frame, as [`Connection::send_text`].
    pub fn send_binary(&mut self, now: Instant, data: &[u8]) -> Result<bool, Error> {
        self.send_lent(now, OpCode::Binary, data)
    }

    /// `send_text` and `send_binary`: what `send` does, with the payload copied.
    fn send_lent(&mut self, _now: Instant, opcode: OpCode, data: &[u8]) -> Result<bool, Error> {
        let app = data.len();
        self.buffered_amount += app;
        if self.state != ReadyState::Open || self.close_sent {
            return Err(UsageError::Closed.into());
        }
        #[cfg(feature = "deflate")]
        if let Some(codec) = &mut self.deflate
            && app >= codec.threshold
        {
            // As in `send` (RFC 7692 §7.2.1).
            let payload = Bytes::from(codec.compress(data));
            self.frame_with(opcode, RSV1, payload, app);
            return Ok(self.after_send());
        }
        self.frame_lent(opcode, data, app);
        Ok(self.after_send())
    }

    /// The high-water check after a message was queued.
    fn after_send(&mut self) -> bool {
        let below = self.out_len < self.config.high_water_mark;
        if !below {
            self.need_drain = true;
        }
        below
    }

    /// `ws.ping(data)`: at most 125 bytes.
    pub fn ping(&mut self, _now: Instant, data: Bytes) -> Result<(), Error> {
        self.control(OpCode::Ping, data)
    }

    /// `ws.pong(data)`: an unsolicited Pong, at most 125 bytes.
    pub fn pong(&mut self, _now: Instant, data: Bytes) -> Result<(), Error> {
        self.control(OpCode::Pong, data)
    }

    /// `ws.close(code, reason)`: starts the closing handshake. The code must be 1000 or
    /// 3000-4999 and the reason at most 123 bytes (WHATWG WebSockets › `close()`); `None` sends no
    /// status.
    pub fn close(&mut self, now: Instant, code: Option<u16>, reason: &str) -> Result<(), Error> {
        if let Some(code) = code {
            check_app_close(code, reason)?;
        }
        if self.state == ReadyState::Closed {
            return Err(UsageError::Closed.into());
        }
        if self.close_sent {
            return Ok(());
        }
        self.send_close(code, reason);
        self.state = ReadyState::Closing;
        self.deadline = Some(now + self.config.close_timeout);
        Ok(())
    }

    /// `ws.terminate()`: closes TCP now, without a closing handshake (1006).
    pub fn terminate(&mut self) {
        self.out.clear();
        self.out_len = 0;
        self.finish(1006, String::new(), false, Action::Close { reset: false });
    }

    // ---- outputs ------------------------------------------------------------------------

    /// The next event.
    pub fn poll_event(&mut self) -> Option<WsEvent> {
        self.events.pop_front()
    }

    /// The next thing the driver must do with the TCP connection.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.poll(self.out.is_empty())
    }

    /// Fills `out` with the frames to write.
    pub fn transmit_chunks<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let mut filled = 0;
        for (slot, (chunk, _)) in out.iter_mut().zip(&self.out) {
            *slot = IoSlice::new(chunk);
            filled += 1;
        }
        filled
    }

    /// Takes the next chunk of frame bytes whole.
    pub fn pop_transmit(&mut self, _now: Instant) -> Option<Bytes> {
        // `advance_transmit` of the whole front chunk, which moves out instead of a clone.
        let (chunk, app) = self.out.pop_front()?;
        self.out_len -= chunk.len();
        self.buffered_amount = self.buffered_amount.saturating_sub(app);
        if self.need_drain && self.out_len < self.config.high_water_mark {
            self.need_drain = false;
            self.events.push_back(WsEvent::Drain);
        }
        Some(chunk)
    }

    /// When to call `handle_timeout`.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the driver should read.
    pub fn wants_read(&self) -> bool {
        self.state != ReadyState::Closed
    }

    // ---- getters ------------------------------------------------------------------------

    /// `readyState`.
    pub fn ready_state(&self) -> ReadyState {
        self.state
    }

    /// `bufferedAmount`: application bytes given to `send` and not yet written
    /// (docs/node-semantics.md#ws-buffered-amount).
    pub fn buffered_amount(&self) -> usize {
        self.buffered_amount
    }

    /// Which end this is.
    pub fn role(&self) -> Role {
        self.role
    }

    // ---- receiving ----------------------------------------------------------------------

    fn read_header(&mut self, now: Instant, buf: &mut BytesMut) -> bool {
        let (header, len) = match FrameHeader::parse(buf) {
            Ok(Some(parsed)) => parsed,
            Ok(None) => return false,
            Err(error) => {
                self.fail(now, error);
                // Reading stopped: the rest of the input is discarded on the next turn.
                return true;
            }
        };
        if let Err(error) = self.check_header(&header) {
            self.fail(now, error);
            return true;
        }
        buf.advance(len);
        if matches!(header.opcode, OpCode::Text | OpCode::Binary) {
            self.message = Some((header.opcode == OpCode::Text, BytesMut::new()));
            self.utf8.reset();
            self.inflating = header.rsv & RSV1 != 0;
            self.inflated = Vec::new();
        }
        if !header.opcode.is_control() {
            self.frame_inflated = 0;
        }
        self.recv = Recv::Payload {
            header,
            remaining: header.payload_len,
            offset: 0,
        };
        true
    }

    /// The direct path: a message that is a single final text or binary frame with no RSV bit,
    /// masked as the role requires, within `max_payload`, whose bytes are all in `buf`, when no
    /// message is open and not streaming. Its payload is unmasked in place and its place in
    /// `buf` returned; nothing is consumed. The caller checks text as UTF-8 and consumes the
    /// frame, which leaves the machine as the general path would after the same frame:
    /// `read_header` then `read_payload`, whose checks this makes (RFC 6455 §5.2, §5.3, §8.1).
    /// Anything else is declined (`None`) with `buf` untouched.
    #[inline]
    fn whole_message(&self, buf: &mut [u8]) -> Option<Whole> {
        if !self.fast_path || !matches!(self.recv, Recv::Header) || self.message.is_some() {
            return None;
        }
        let &[b0, b1] = buf.first_chunk::<2>()?;
        // FIN, no RSV bit, text or binary (RFC 6455 §5.2).
        let text = match b0 {
            0x81 => true,
            0x82 => false,
            _ => return None,
        };
        // A server reads masked frames only, a client unmasked ones (RFC 6455 §5.1).
        let masked = self.role == Role::Server;
        if (b1 & 0x80 != 0) != masked {
            return None;
        }
        let (len, at): (u64, usize) = match b1 & 0x7F {
            126 => match buf.get(2..4) {
                Some(&[hi, lo]) => (u64::from(u16::from_be_bytes([hi, lo])), 4),
                _ => return None,
            },
            127 => match buf.get(2..10).and_then(|ext| <[u8; 8]>::try_from(ext).ok()) {
                // A length with the top bit set is the general path's error (§5.2).
                Some(ext) if u64::from_be_bytes(ext) >> 63 == 0 => (u64::from_be_bytes(ext), 10),
                _ => return None,
            },
            short => (u64::from(short), 2),
        };
        let len = usize::try_from(len).ok()?;
        if len > self.config.max_payload {
            return None;
        }
        let start = if masked { at + 4 } else { at };
        let end = start.checked_add(len)?;
        if buf.len() < end {
            return None;
        }
        if let Some(&[k0, k1, k2, k3]) = buf.get(at..start)
            && let Some(payload) = buf.get_mut(start..end)
        {
            apply_mask(payload, [k0, k1, k2, k3], 0);
        }
        Some(Whole { text, start, end })
    }

    fn check_header(&self, header: &FrameHeader) -> Result<(), ProtocolError> {
        // RSV1 marks a compressed message, on its first frame only (RFC 7692 §6,
        // docs/node-semantics.md#deflate-rsv1).
        let rsv1_allowed = self.deflate_enabled()
            && matches!(header.opcode, OpCode::Text | OpCode::Binary)
            && self.message.is_none();
        if header.rsv & !RSV1 != 0 || (header.rsv & RSV1 != 0 && !rsv1_allowed) {
            return Err(ProtocolError::ReservedBitsSet);
        }
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::UnmaskedFrameFromClient),
            (Role::Client, true) => return Err(ProtocolError::MaskedFrameFromServer),
            _ => {}
        }
        match header.opcode {
            OpCode::Continuation if self.message.is_none() => {
                return Err(ProtocolError::UnexpectedContinuation);
            }
            OpCode::Text | OpCode::Binary if self.message.is_some() => {
                return Err(ProtocolError::ExpectedContinuation);
            }
            _ => {}
        }
        let compressed =
            header.rsv & RSV1 != 0 || (header.opcode == OpCode::Continuation && self.inflating);
        if !header.opcode.is_control() && !compressed {
            // A compressed message is measured as it inflates (RFC 7692 §8).
            let so_far = self.message.as_ref().map_or(0, |(_, data)| data.len());
            let limit = self.config.max_payload as u64;
            let counted = if self.config.streaming {
                0
            } else {
                so_far as u64
            };
            if header.payload_len.saturating_add(counted) > limit {
                return Err(ProtocolError::MessageTooBig);
            }
        }
        Ok(())
    }

    fn read_payload(&mut self, now: Instant, buf: &mut BytesMut) -> bool {
        let Recv::Payload {
            header,
            remaining,
            offset,
        } = &mut self.recv
        else {
            return false;
        };
        let header = *header;
        if header.opcode.is_control() {
            // Control payloads are at most 125 bytes: wait for the whole of it.
            let len = usize::try_from(*remaining).unwrap_or(usize::MAX);
            if buf.len() < len {
                return false;
            }
            let mut payload = buf.split_to(len);
            if let Some(mask) = header.mask {
                apply_mask(&mut payload, mask, 0);
            }
            self.recv = Recv::Header;
            self.control_frame(now, header.opcode, payload.freeze());
            return true;
        }
        if *remaining > 0 && buf.is_empty() {
            return false;
        }
        let take = usize::try_from(*remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let mut piece = buf.split_to(take);
        if let Some(mask) = header.mask {
            apply_mask(&mut piece, mask, *offset);
        }
        *offset += take;
        *remaining -= take as u64;
        let frame_done = *remaining == 0;
        let Some((text, data)) = &mut self.message else {
            return false;
        };
        let text = *text;
        let message_done = frame_done && header.fin;
        #[cfg(feature = "deflate")]
        if self.inflating {
            return self.read_compressed(now, text, &piece, frame_done, message_done);
        }
        if text && let Err(error) = self.utf8.feed(&piece) {
            self.fail(now, error);
            return false;
        }
        if text
            && message_done
            && let Err(error) = self.utf8.finish()
        {
            self.fail(now, error);
            return false;
        }
        if self.config.streaming {
            if !piece.is_empty() || message_done {
                let fin = message_done;
                self.events.push_back(WsEvent::Fragment {
                    text,
                    data: piece.freeze(),
                    fin,
                });
            }
        } else if data.is_empty() {
            *data = piece;
        } else {
            data.unsplit(piece);
        }
        if frame_done {
            // After a non-final frame `message` stays open: the next data frame must be a
            // continuation (docs/node-semantics.md#ws-fragmentation, #ws-continuation-order).
            self.recv = Recv::Header;
        }
        if message_done {
            let (text, data) = self
                .message
                .take()
                .unwrap_or_else(|| (false, BytesMut::new()));
            if !self.config.streaming {
                let data = data.freeze();
                let message = if text {
                    Message::Text(data)
                } else {
                    Message::Binary(data)
                };
                self.events.push_back(WsEvent::Message(message));
            }
        }
        true
    }

    /// A piece of a compressed message's payload: inflated against the size limit, checked as
    /// UTF-8 when text, then collected (or delivered when streaming).
    #[cfg(feature = "deflate")]
    fn read_compressed(
        &mut self,
        now: Instant,
        text: bool,
        piece: &[u8],
        frame_done: bool,
        message_done: bool,
    ) -> bool {
        let Some(codec) = self.deflate.as_mut() else {
            return false;
        };
        let mut out = std::mem::take(&mut self.inflated);
        let before = out.len();
        let limit = if self.config.streaming {
            // Per frame when streaming, like uncompressed frames.
            before + self.config.max_payload.saturating_sub(self.frame_inflated)
        } else {
            self.config.max_payload
        };
        let mut result = codec.inflate(piece, &mut out, limit);
        if result.is_ok() && message_done {
            result = codec.finish_message(&mut out, limit);
        }
        // The inflated bytes that did come out are judged first, so a fault's verdict depends
        // on its place in the inflated stream, not on how the input was split.
        let fresh = out.get(before..).unwrap_or_default();
        if text && let Err(error) = self.utf8.feed(fresh) {
            self.fail(now, error);
            return false;
        }
        match result {
            Ok(()) => {}
            Err(InflateError::TooBig) => {
                self.fail(now, ProtocolError::MessageTooBig);
                return false;
            }
            Err(InflateError::Invalid) => {
                self.fail(now, ProtocolError::InvalidCompressedData);
                return false;
            }
        }
        if text
            && message_done
            && let Err(error) = self.utf8.finish()
        {
            self.fail(now, error);
            return false;
        }
        self.frame_inflated += out.len() - before;
        if self.config.streaming {
            if out.len() > before || message_done {
                self.events.push_back(WsEvent::Fragment {
                    text,
                    data: Bytes::from(out),
                    fin: message_done,
                });
            }
        } else {
            self.inflated = out;
        }
        if frame_done {
            self.recv = Recv::Header;
        }
        if message_done {
            self.message = None;
            self.inflating = false;
            if !self.config.streaming {
                let data = Bytes::from(std::mem::take(&mut self.inflated));
                let message = if text {
                    Message::Text(data)
                } else {
                    Message::Binary(data)
                };
                self.events.push_back(WsEvent::Message(message));
            }
        }
        true
    }

    fn control_frame(&mut self, now: Instant, opcode: OpCode, payload: Bytes) {
        match opcode {
            OpCode::Ping => {
                if self.config.auto_pong && !self.close_sent {
                    self.frame(OpCode::Pong, payload.clone(), 0);
                }
                self.events.push_back(WsEvent::Ping(payload));
            }
            OpCode::Pong => self.events.push_back(WsEvent::Pong(payload)),
            OpCode::Close => self.close_frame(now, &payload),
            OpCode::Continuation | OpCode::Text | OpCode::Binary => {}
        }
    }

    fn close_frame(&mut self, now: Instant, payload: &[u8]) {
        let (code, reason) = match parse_close_payload(payload) {
            Ok(Some((code, reason))) => (Some(code), reason.to_string()),
            Ok(None) => (None, String::new()),
            Err(error) => {
                self.fail(now, error);
                return;
            }
        };
        self.close_received = Some((code.unwrap_or(1005), reason.clone()));
        self.recv = Recv::Discard;
        if !self.close_sent {
            // Echo the peer's code (RFC 6455 §5.5.1).
            self.send_close(code, "");
        }
        self.state = ReadyState::Closing;
        match self.role {
            // The server closes TCP first (RFC 6455 §7.1.1).
            Role::Server => self.finish(code.unwrap_or(1005), reason, true, Action::Shutdown),
            // The client waits for the server to close, up to `close_timeout`.
            Role::Client => {
                self.deadline = Some(now + self.config.close_timeout);
            }
        }
    }

    /// Fails the connection (RFC 6455 §7.1.7): `Error`, a Close with the fault's code, TCP
    /// closed after it, nothing more read.
    fn fail(&mut self, _now: Instant, error: ProtocolError) {
        if self.state == ReadyState::Closed {
            return;
        }
        self.recv = Recv::Discard;
        self.message = None;
        self.inflating = false;
        self.inflated = Vec::new();
        self.events.push_back(WsEvent::Error(error.into()));
        if !self.close_sent {
            self.send_close(Some(error.close_code()), "");
        }
        // The application sees 1006: no Close frame was received (RFC 6455 §7.1.5,
        // docs/node-semantics.md#ws-close-status-report); the fault's code went on the wire.
        self.finish(1006, String::new(), false, Action::Shutdown);
    }

    fn finish(&mut self, code: u16, reason: String, was_clean: bool, action: Action) {
        if self.state == ReadyState::Closed {
            return;
        }
        self.state = ReadyState::Closed;
        self.recv = Recv::Discard;
        self.deadline = None;
        self.actions.push(action);
        self.events.push_back(WsEvent::Close {
            code,
            reason,
            was_clean,
        });
    }

    // ---- sending ------------------------------------------------------------------------

    fn control(&mut self, opcode: OpCode, data: Bytes) -> Result<(), Error> {
        if data.len() > 125 {
            return Err(UsageError::ControlPayloadTooLarge.into());
        }
        if self.state != ReadyState::Open || self.close_sent {
            return Err(UsageError::Closed.into());
        }
        self.frame(opcode, data, 0);
        Ok(())
    }

    fn send_close(&mut self, code: Option<u16>, reason: &str) {
        self.close_sent = true;
        self.frame(OpCode::Close, encode_close_payload(code, reason), 0);
    }

    /// Queues one frame; a client masks it with a fresh key (RFC 6455 §5.3).
    fn frame(&mut self, opcode: OpCode, data: Bytes, app: usize) {
        self.frame_with(opcode, 0, data, app);
    }

    /// Queues one frame with the RSV bits `rsv` (RSV1 = 0b100).
    fn frame_with(&mut self, opcode: OpCode, rsv: u8, data: Bytes, app: usize) {
        if self.role == Role::Server {
            // No key: the header is written without building a `FrameHeader`.
            if data.len() <= COPY_MAX {
                // Header and payload in one chunk of the arena (see `COPY_MAX`).
                let frame = self.headers.encode_small(rsv, opcode, &data);
                self.queue(frame, app);
            } else {
                let head = self.headers.encode_unmasked_head(rsv, opcode, data.len());
                self.queue(head, 0);
                self.queue(data, app);
            }
            return;
        }
        let header = self.final_header(rsv, opcode, data.len());
        let mask = header.mask;
        if data.len() <= COPY_MAX {
            // Header and payload in one chunk of the arena: one copy, no allocation, one
            // queue entry (see `COPY_MAX`).
            let frame = self.headers.encode_frame(&header, &data);
            self.queue(frame, app);
            return;
        }
        match mask {
            None => {
                let head = self.headers.encode(&header);
                self.queue(head, 0);
                self.queue(data, app);
            }
            Some(mask) => {
                let mut head = BytesMut::with_capacity(header.encoded_len() + data.len());
                header.encode(&mut head);
                head.extend_from_slice(&data);
                let start = header.encoded_len();
                apply_mask(&mut head[start..], mask, 0);
                self.queue(head.freeze(), app);
            }
        }
    }

    /// Queues one final frame carrying a copy of `data` (no RSV bit), written whole into the
    /// arena: the frame `frame` would write for the same bytes.
    fn frame_lent(&mut self, opcode: OpCode, data: &[u8], app: usize) {
        let frame = if self.role == Role::Server && data.len() <= COPY_MAX {
            self.headers.encode_small(0, opcode, data)
        } else {
            let header = self.final_header(0, opcode, data.len());
            self.headers.encode_frame(&header, data)
        };
        self.queue(frame, app);
    }

    /// The header of a final frame of `len` bytes with the RSV bits `rsv`: a client masks it
    /// with a fresh key (RFC 6455 §5.3), a server does not.
    fn final_header(&mut self, rsv: u8, opcode: OpCode, len: usize) -> FrameHeader {
        let mask = match self.role {
            Role::Server => None,
            Role::Client => {
                let mut key = [0u8; 4];
                self.entropy.fill(&mut key);
                Some(key)
            }
        };
        FrameHeader {
            fin: true,
            rsv,
            opcode,
            mask,
            payload_len: len as u64,
        }
    }

    fn queue(&mut self, bytes: Bytes, app: usize) {
        if bytes.is_empty() {
            self.buffered_amount = self.buffered_amount.saturating_sub(app);
            return;
        }
        self.out_len += bytes.len();
        self.out.push_back((bytes, app));
    }
}

sansnet_core::forward_machine!(Connection, WsEvent, pop_transmit);
