//! Properties of `Socket` and `Server` over random chunkings, input and command sequences, and connections (public API only).

use std::collections::{BTreeSet, VecDeque};
use std::io::{ErrorKind, IoSlice};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use sansnet_tcp::{
    Action, Address, Admission, ConnectionId, Error, ReadyState, Server, ServerAction,
    ServerConfig, ServerEvent, Socket, SocketConfig, SocketEvent, UsageError,
};
use sansnet_testkit::clock::Clock;
use sansnet_testkit::link::Link;
use sansnet_testkit::splits;

// ---- helpers ----------------------------------------------------------------------------

/// Enough slices for every chunk the sequences below can queue.
const SLICES: usize = 256;

fn config(allow_half_open: bool, high_water_mark: usize, pause_on_connect: bool) -> SocketConfig {
    let mut config = SocketConfig::default();
    config.allow_half_open = allow_half_open;
    config.high_water_mark = high_water_mark;
    config.pause_on_connect = pause_on_connect;
    config
}

/// A connected client socket with its connect events and actions drained.
fn established(now: Instant, config: SocketConfig) -> Socket {
    let mut socket = Socket::connect(now, config);
    socket.handle_connected(now);
    while socket.poll_event().is_some() {}
    while socket.poll_action().is_some() {}
    socket
}

fn drain_events(socket: &mut Socket) -> Vec<SocketEvent> {
    std::iter::from_fn(|| socket.poll_event()).collect()
}

fn drain_actions(socket: &mut Socket) -> Vec<Action> {
    std::iter::from_fn(|| socket.poll_action()).collect()
}

/// What `transmit_chunks` offers, concatenated.
fn offered(socket: &Socket) -> Vec<u8> {
    let mut slices = [IoSlice::new(&[]); SLICES];
    let n = socket.transmit_chunks(&mut slices);
    slices[..n].iter().flat_map(|s| s.iter().copied()).collect()
}

/// Merges adjacent `Data` events (h11 `normalize_data_events`).
fn normalize(events: Vec<SocketEvent>) -> Vec<SocketEvent> {
    let mut out: Vec<SocketEvent> = Vec::new();
    for event in events {
        match (out.last_mut(), event) {
            (Some(SocketEvent::Data(prev)), SocketEvent::Data(next)) => {
                let mut merged = BytesMut::from(&prev[..]);
                merged.extend_from_slice(&next);
                *prev = merged.freeze();
            }
            (_, event) => out.push(event),
        }
    }
    out
}

/// Feeds `pieces` as separate reads to an established socket, then FIN; returns all events.
fn feed_pieces(pieces: &[&[u8]], allow_half_open: bool) -> Vec<SocketEvent> {
    let now = Instant::now();
    let mut socket = established(now, config(allow_half_open, 16 * 1024, false));
    let mut events = Vec::new();
    for piece in pieces {
        let mut buf = BytesMut::from(*piece);
        socket.handle_input(now, &mut buf);
        assert!(buf.is_empty(), "a flowing socket consumes every read");
        events.extend(drain_events(&mut socket));
    }
    socket.handle_eof(now);
    events.extend(drain_events(&mut socket));
    events
}

/// Checks one chunking against the whole-input run.
fn check_chunking(
    payload: &[u8],
    pieces: &[&[u8]],
    whole: &[SocketEvent],
    allow_half_open: bool,
) -> Result<(), TestCaseError> {
    let events = feed_pieces(pieces, allow_half_open);
    let data: Vec<u8> = events
        .iter()
        .filter_map(|e| match e {
            SocketEvent::Data(b) => Some(b.to_vec()),
            _ => None,
        })
        .flatten()
        .collect();
    prop_assert_eq!(&data[..], payload);
    let end = events.iter().position(|e| *e == SocketEvent::End);
    prop_assert!(end.is_some(), "no End after FIN");
    let last_data = events
        .iter()
        .rposition(|e| matches!(e, SocketEvent::Data(_)));
    prop_assert!(last_data.is_none_or(|d| Some(d) < end), "Data after End");
    let others = |events: &[SocketEvent]| -> Vec<SocketEvent> {
        events
            .iter()
            .filter(|e| !matches!(e, SocketEvent::Data(_)))
            .cloned()
            .collect()
    };
    prop_assert_eq!(others(&events), others(whole));
    prop_assert_eq!(normalize(events), normalize(whole.to_vec()));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Node docs `net.md` › `Event: 'data'`, `Event: 'end'`: `Data` carries the payload in order
    /// whatever the chunking, `End` comes after every byte, and the other events do not depend on
    /// the chunking.
    #[test]
    fn established_any_chunking_same_events(
        (payload, cuts) in prop::collection::vec(any::<u8>(), 0..4096)
            .prop_flat_map(|p| { let len = p.len(); (Just(p), splits::cut_offsets(len, 32)) }),
        allow_half_open in any::<bool>(),
    ) {
        let whole = feed_pieces(&[&payload[..]], allow_half_open);
        check_chunking(&payload, &[&payload[..]], &whole, allow_half_open)?;
        check_chunking(&payload, &splits::at_cuts(&payload, &cuts), &whole, allow_half_open)?;
        check_chunking(&payload, &splits::byte_at_a_time(&payload), &whole, allow_half_open)?;
        let short = &payload[..payload.len().min(64)];
        let short_whole = feed_pieces(&[short], allow_half_open);
        for pieces in splits::two_way(short) {
            check_chunking(short, &pieces, &short_whole, allow_half_open)?;
        }
    }
}

// ---- arbitrary sequences on one socket ------------------------------------------------

/// One input or command on a lone socket.
#[derive(Debug, Clone)]
enum Op {
    Connected,
    Read(Vec<u8>),
    Eof,
    Advance(usize),
    IoError(ErrorKind),
    Timeout(u64),
    Write(usize),
    End(Option<usize>),
    Destroy,
    DestroyWithError(ErrorKind),
    DestroySoon,
    ResetAndDestroy,
    SetTimeout(Option<u64>),
    Pause,
    Resume,
    SetNoDelay(bool),
    SetKeepAlive(Option<u64>),
}

fn error_kind() -> impl Strategy<Value = ErrorKind> {
    prop_oneof![
        Just(ErrorKind::ConnectionReset),
        Just(ErrorKind::ConnectionRefused),
        Just(ErrorKind::BrokenPipe),
        Just(ErrorKind::TimedOut),
        Just(ErrorKind::Other),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Connected),
        4 => prop::collection::vec(any::<u8>(), 0..48).prop_map(Op::Read),
        2 => Just(Op::Eof),
        4 => (0usize..64).prop_map(Op::Advance),
        1 => error_kind().prop_map(Op::IoError),
        2 => (0u64..60).prop_map(Op::Timeout),
        5 => prop_oneof![Just(0usize), 1usize..40].prop_map(Op::Write),
        2 => prop::option::of(0usize..16).prop_map(Op::End),
        1 => Just(Op::Destroy),
        1 => error_kind().prop_map(Op::DestroyWithError),
        1 => Just(Op::DestroySoon),
        1 => Just(Op::ResetAndDestroy),
        2 => prop::option::of(0u64..40).prop_map(Op::SetTimeout),
        2 => Just(Op::Pause),
        2 => Just(Op::Resume),
        1 => any::<bool>().prop_map(Op::SetNoDelay),
        1 => prop::option::of(0u64..1000).prop_map(Op::SetKeepAlive),
    ]
}

/// Everything a caller can observe through the getters.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Observed {
    buffer_size: usize,
    ready_state: ReadyState,
    bytes_written: u64,
    bytes_read: u64,
    poll_timeout: Option<Instant>,
    wants_read: bool,
    wants_write: bool,
    paused: bool,
    closed: bool,
    offered: Vec<u8>,
}

fn observe(socket: &Socket) -> Observed {
    Observed {
        buffer_size: socket.buffer_size(),
        ready_state: socket.ready_state(),
        bytes_written: socket.bytes_written(),
        bytes_read: socket.bytes_read(),
        poll_timeout: socket.poll_timeout(),
        wants_read: socket.wants_read(),
        wants_write: socket.wants_write(),
        paused: socket.is_paused(),
        closed: socket.is_closed(),
        offered: offered(socket),
    }
}

/// A driver that honours the contract (FIN reported only after every byte read before it),
/// plus a model of what the socket must report.
#[derive(Debug)]
struct Model {
    socket: Socket,
    clock: Clock,
    client: bool,
    allow_half_open: bool,
    high_water_mark: usize,
    /// Bytes the peer sent, in order; the driver's unconsumed ones sit in `read_buf`.
    peer_sent: Vec<u8>,
    read_buf: BytesMut,
    eof_seen: bool,
    eof_reported: bool,
    /// Every event and action so far.
    events: Vec<SocketEvent>,
    actions: Vec<Action>,
    /// Bytes accepted by write/end and not yet advanced.
    queue: VecDeque<u8>,
    written: u64,
    next_byte: u8,
    connected: bool,
    closed: bool,
    /// Our write side was ended (end, destroySoon, or the peer's FIN without half-open).
    ended: bool,
    peer_ended: bool,
    /// A write returned false and no `Drain` came since.
    drain_owed: bool,
    paused: bool,
    destroy_soon: bool,
    data_received: Vec<u8>,
    idle_timeout: Option<Duration>,
}

impl Model {
    fn new(client: bool, config: SocketConfig) -> Self {
        let clock = Clock::new();
        let now = clock.now();
        let socket = if client {
            Socket::connect(now, config.clone())
        } else {
            Socket::accepted(now, config.clone())
        };
        Self {
            socket,
            clock,
            client,
            allow_half_open: config.allow_half_open,
            high_water_mark: config.high_water_mark,
            peer_sent: Vec::new(),
            read_buf: BytesMut::new(),
            eof_seen: false,
            eof_reported: false,
            events: Vec::new(),
            actions: Vec::new(),
            queue: VecDeque::new(),
            written: 0,
            next_byte: 0,
            connected: !client,
            closed: false,
            ended: false,
            peer_ended: false,
            drain_owed: false,
            paused: !client && config.pause_on_connect,
            destroy_soon: false,
            data_received: Vec::new(),
            idle_timeout: config.timeout.filter(|t| !t.is_zero()),
        }
    }

    fn bytes(&mut self, len: usize) -> Bytes {
        (0..len)
            .map(|_| {
                self.next_byte = self.next_byte.wrapping_add(1);
                self.next_byte
            })
            .collect::<Vec<u8>>()
            .into()
    }

    fn open(&self) -> bool {
        self.connected && !self.closed
    }

    /// Asserts that an `Err` from a command left everything as it was.
    fn unchanged(&mut self, before: &Observed) -> Result<(), TestCaseError> {
        prop_assert_eq!(&observe(&self.socket), before);
        prop_assert_eq!(self.socket.poll_event(), None);
        prop_assert_eq!(self.socket.poll_action(), None);
        Ok(())
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let now = self.clock.now();
        let before = observe(&self.socket);
        match op {
            Op::Connected => {
                self.socket.handle_connected(now);
                if !self.closed {
                    self.connected = true;
                }
            }
            Op::Read(bytes) => {
                if self.open() && !self.eof_seen {
                    self.peer_sent.extend_from_slice(bytes);
                    self.read_buf.extend_from_slice(bytes);
                }
            }
            Op::Eof => {
                if self.open() {
                    self.eof_seen = true;
                }
            }
            Op::Advance(n) => {
                self.socket.advance_transmit(now, *n);
                if self.open() {
                    let n = (*n).min(self.queue.len());
                    self.queue.drain(..n);
                }
            }
            Op::IoError(kind) => self.socket.handle_io_error(now, *kind),
            Op::Timeout(ms) => {
                let now = self.clock.advance(Duration::from_millis(*ms));
                let due = self.socket.poll_timeout().is_some_and(|at| at <= now);
                self.socket.handle_timeout(now);
                let fired: Vec<SocketEvent> = drain_events(&mut self.socket);
                prop_assert_eq!(
                    fired.clone(),
                    if due {
                        vec![SocketEvent::Timeout]
                    } else {
                        vec![]
                    },
                    "Node docs net.md › socket.setTimeout(): Timeout exactly when the armed deadline passed"
                );
                if due {
                    prop_assert_eq!(self.socket.poll_timeout(), None);
                }
                self.record_events(fired)?;
            }
            Op::Write(len) => {
                let data = self.bytes(*len);
                let result = self.socket.write(now, data.clone());
                if self.closed {
                    prop_assert_eq!(result, Err(Error::Usage(UsageError::Destroyed)));
                    self.unchanged(&before)?;
                } else if self.peer_ended && !self.allow_half_open {
                    let epipe = Error::Io(ErrorKind::BrokenPipe);
                    prop_assert_eq!(
                        result,
                        Err(epipe.clone()),
                        "Node source lib/net.js › writeAfterFIN"
                    );
                    let fired = drain_events(&mut self.socket);
                    prop_assert_eq!(
                        fired.clone(),
                        vec![
                            SocketEvent::Error(epipe),
                            SocketEvent::Close { had_error: true }
                        ]
                    );
                    self.record_events(fired)?;
                } else if self.ended {
                    prop_assert_eq!(result, Err(Error::Usage(UsageError::WriteAfterEnd)));
                    self.unchanged(&before)?;
                } else {
                    self.queue.extend(data.iter().copied());
                    self.written += data.len() as u64;
                    let below = self.queue.len() < self.high_water_mark;
                    prop_assert_eq!(result, Ok(below), "Node docs net.md › socket.write()");
                    if !below {
                        self.drain_owed = true;
                    }
                    if let Some(timeout) = self.idle_timeout {
                        prop_assert_eq!(
                            self.socket.poll_timeout(),
                            Some(now + timeout),
                            "Node docs net.md › socket.setTimeout(): a write re-arms the idle timer"
                        );
                    }
                }
            }
            Op::End(len) => {
                let data = len.map(|len| self.bytes(len));
                let result = self.socket.end(now, data.clone());
                let nonempty = data.as_ref().is_some_and(|d| !d.is_empty());
                if self.closed {
                    prop_assert_eq!(result, Err(Error::Usage(UsageError::Destroyed)));
                    self.unchanged(&before)?;
                } else if self.ended {
                    if nonempty {
                        prop_assert_eq!(result, Err(Error::Usage(UsageError::WriteAfterEnd)));
                        self.unchanged(&before)?;
                    } else {
                        prop_assert_eq!(result, Ok(()));
                    }
                } else {
                    prop_assert_eq!(result, Ok(()));
                    if let Some(data) = data {
                        self.queue.extend(data.iter().copied());
                        self.written += data.len() as u64;
                    }
                    self.ended = true;
                }
            }
            Op::Destroy => self.socket.destroy(now),
            Op::DestroyWithError(kind) => {
                self.socket.destroy_with_error(now, Error::Io(*kind));
            }
            Op::DestroySoon => {
                self.socket.destroy_soon(now);
                self.destroy_soon = true;
                self.ended = true;
            }
            Op::ResetAndDestroy => self.socket.reset_and_destroy(now),
            Op::SetTimeout(ms) => {
                let timeout = ms.map(Duration::from_millis);
                self.socket.set_timeout(now, timeout);
                self.idle_timeout = timeout.filter(|t| !t.is_zero());
                prop_assert_eq!(self.socket.config().timeout, self.idle_timeout);
                if !self.closed {
                    prop_assert_eq!(
                        self.socket.poll_timeout(),
                        self.idle_timeout.map(|t| now + t)
                    );
                }
            }
            Op::Pause => {
                self.socket.pause();
                self.paused = true;
            }
            Op::Resume => {
                self.socket.resume(now);
                self.paused = false;
            }
            Op::SetNoDelay(on) => self.socket.set_no_delay(*on),
            Op::SetKeepAlive(ms) => {
                self.socket.set_keep_alive(ms.map(Duration::from_millis));
            }
        }
        self.settle()
    }

    /// The driver's part of the drain rule: hand over kept bytes and a FIN, then collect.
    fn settle(&mut self) -> Result<(), TestCaseError> {
        let now = self.clock.now();
        if !self.read_buf.is_empty() {
            let wanted = self.socket.wants_read();
            let len = self.read_buf.len();
            self.socket.handle_input(now, &mut self.read_buf);
            if wanted {
                prop_assert!(
                    self.read_buf.is_empty(),
                    "Node docs net.md › Event: 'data': a flowing read is consumed"
                );
                if let Some(timeout) = self.idle_timeout {
                    prop_assert_eq!(
                        self.socket.poll_timeout(),
                        Some(now + timeout),
                        "Node docs net.md › socket.setTimeout(): a read re-arms the idle timer"
                    );
                }
            } else {
                prop_assert_eq!(
                    self.read_buf.len(),
                    len,
                    "Node docs net.md › socket.pause(): paused reads nothing"
                );
            }
        }
        if self.eof_seen && !self.eof_reported && self.read_buf.is_empty() && self.open() {
            self.eof_reported = true;
            self.socket.handle_eof(now);
        }
        let events = drain_events(&mut self.socket);
        self.record_events(events)?;
        let actions = drain_actions(&mut self.socket);
        for action in actions {
            prop_assert!(
                !self.actions.contains(&Action::Close { reset: false })
                    && !self.actions.contains(&Action::Close { reset: true }),
                "an action after Close: {:?}",
                action
            );
            if action == Action::Shutdown {
                prop_assert!(!self.actions.contains(&Action::Shutdown), "two Shutdowns");
            }
            self.actions.push(action);
        }
        self.check_state()
    }

    fn record_events(&mut self, events: Vec<SocketEvent>) -> Result<(), TestCaseError> {
        for event in events {
            prop_assert!(
                !matches!(self.events.last(), Some(SocketEvent::Close { .. })),
                "Node docs net.md › Event: 'close': {:?} after Close",
                event
            );
            if let Some(SocketEvent::Error(_)) = self.events.last() {
                prop_assert_eq!(
                    &event,
                    &SocketEvent::Close { had_error: true },
                    "Node docs net.md › Event: 'error': Error not followed by Close(true)"
                );
            }
            match &event {
                SocketEvent::Connect => {
                    prop_assert!(self.client, "Connect on an accepted socket");
                    prop_assert!(
                        self.events.iter().all(|e| *e == SocketEvent::Timeout),
                        "Node docs net.md › Event: 'connect': only Timeout comes before Connect"
                    );
                }
                SocketEvent::Ready => {
                    prop_assert_eq!(
                        self.events.last(),
                        Some(&SocketEvent::Connect),
                        "Node docs net.md › Event: 'connect'"
                    );
                }
                SocketEvent::Data(bytes) => {
                    prop_assert!(!bytes.is_empty(), "empty Data");
                    self.data_received.extend_from_slice(bytes);
                    prop_assert!(
                        self.peer_sent.starts_with(&self.data_received),
                        "Node docs net.md › Event: 'data': Data out of order"
                    );
                }
                SocketEvent::Drain => {
                    prop_assert!(
                        self.drain_owed,
                        "Node docs net.md › Event: 'drain': Drain without a write returning false"
                    );
                    self.drain_owed = false;
                }
                SocketEvent::End => {
                    prop_assert!(!self.peer_ended, "two Ends");
                    prop_assert_eq!(
                        &self.data_received,
                        &self.peer_sent,
                        "Node docs net.md › Event: 'end': End before every byte was delivered"
                    );
                    self.peer_ended = true;
                    if !self.allow_half_open {
                        self.ended = true;
                    }
                }
                SocketEvent::Finish => {
                    prop_assert!(!self.events.contains(&SocketEvent::Finish), "two Finishes");
                    prop_assert!(
                        self.ended,
                        "docs/node-semantics.md#net-close-order: Finish without end"
                    );
                }
                SocketEvent::Timeout | SocketEvent::Error(_) => {}
                SocketEvent::Close { had_error } => {
                    prop_assert_eq!(
                        *had_error,
                        matches!(self.events.last(), Some(SocketEvent::Error(_))),
                        "Node docs net.md › Event: 'close': had_error is true exactly after Error"
                    );
                    self.closed = true;
                    self.queue.clear();
                    self.drain_owed = false;
                }
                _ => {}
            }
            self.events.push(event);
        }
        Ok(())
    }

    fn check_state(&mut self) -> Result<(), TestCaseError> {
        let socket = &self.socket;
        prop_assert_eq!(socket.is_closed(), self.closed);
        prop_assert_eq!(socket.buffer_size(), self.queue.len());
        prop_assert_eq!(socket.bytes_written(), self.written);
        prop_assert_eq!(socket.bytes_read(), self.data_received.len() as u64);
        let expected: Vec<u8> = if self.open() {
            self.queue.iter().copied().collect()
        } else {
            Vec::new()
        };
        prop_assert_eq!(
            offered(socket),
            expected,
            "transmit_chunks is the queue, in order"
        );
        prop_assert_eq!(socket.wants_write(), self.open() && !self.queue.is_empty());
        let close_actions = self
            .actions
            .iter()
            .filter(|a| matches!(a, Action::Close { .. }))
            .count();
        prop_assert_eq!(close_actions, usize::from(self.closed));
        prop_assert_eq!(
            self.actions.contains(&Action::Shutdown),
            self.events.contains(&SocketEvent::Finish),
            "docs/node-semantics.md#net-close-order: Shutdown goes with Finish"
        );
        if self.closed {
            prop_assert!(!socket.wants_read());
            prop_assert!(!socket.wants_write());
            prop_assert_eq!(socket.poll_timeout(), None);
            prop_assert_eq!(
                socket.ready_state(),
                ReadyState::Closed,
                "Node docs net.md › socket.readyState"
            );
        } else if !self.connected {
            prop_assert_eq!(
                socket.ready_state(),
                ReadyState::Opening,
                "Node docs net.md › socket.readyState"
            );
            prop_assert!(!socket.wants_read());
        } else {
            let ready_state = match (self.peer_ended, self.ended) {
                (false, false) => ReadyState::Open,
                (false, true) => ReadyState::ReadOnly,
                (true, false) => ReadyState::WriteOnly,
                (true, true) => ReadyState::Closed,
            };
            prop_assert_eq!(
                socket.ready_state(),
                ready_state,
                "Node docs net.md › socket.readyState"
            );
            prop_assert_eq!(
                socket.wants_read(),
                !self.paused && !self.eof_reported,
                "Node docs net.md › socket.pause(): read interest"
            );
            if self.ended && self.queue.is_empty() {
                prop_assert!(
                    self.events.contains(&SocketEvent::Finish),
                    "docs/node-semantics.md#net-close-order: ended and flushed, no Finish"
                );
                prop_assert!(
                    !self.peer_ended,
                    "docs/node-semantics.md#net-end-closes-by-default, #net-close-order: both sides done, not closed"
                );
                prop_assert!(
                    !self.destroy_soon,
                    "Node docs net.md › socket.destroySoon(), socket.resetAndDestroy(): destroySoon and flushed, not closed"
                );
            }
            // Node docs `net.md` › `Event: 'drain'`: a Drain owed on an open write side comes once
            // the queue is empty.
            if self.drain_owed && !self.ended && self.queue.is_empty() {
                prop_assert!(
                    false,
                    "Node docs net.md › Event: 'drain': queue empty after write() == false, no Drain"
                );
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// docs/node-semantics.md#net-socket (chiefly #net-write-backpressure, #net-drain,
    /// #net-timeout-idle, #net-error-then-close, #net-close-once): any sequence of inputs and
    /// commands never panics; `Close` comes at most once and last, `Error` is followed by
    /// `Close(true)` and `Close(true)` only follows `Error`; `Drain` only after `write() == false`;
    /// `buffer_size` is accepted minus advanced; a closed socket wants nothing; a command's `Err`
    /// (but the EPIPE write, Node source `lib/net.js` › `writeAfterFIN`) changes nothing.
    #[test]
    fn any_socket_any_ops_keeps_invariants(
        client in any::<bool>(),
        allow_half_open in any::<bool>(),
        high_water_mark in prop_oneof![Just(0usize), 1usize..64],
        pause_on_connect in any::<bool>(),
        timeout in prop::option::of(0u64..40),
        ops in prop::collection::vec(op(), 0..64),
    ) {
        let mut socket_config = config(allow_half_open, high_water_mark, pause_on_connect);
        socket_config.timeout = timeout.map(Duration::from_millis);
        let mut model = Model::new(client, socket_config);
        model.settle()?;
        for op in &ops {
            model.apply(op)?;
        }
        let closes = model
            .events
            .iter()
            .filter(|e| matches!(e, SocketEvent::Close { .. }))
            .count();
        prop_assert!(closes <= 1, "Node docs net.md › Event: 'close': Close more than once");
        if closes == 1 {
            prop_assert!(
                matches!(model.events.last(), Some(SocketEvent::Close { .. })),
                "Node docs net.md › Event: 'close': Close is not last"
            );
        }
    }
}

// ---- a connection -----------------------------------------------------------------------

/// One side of an in-memory connection, run by the drain rule.
#[derive(Debug)]
struct Side {
    socket: Socket,
    events: Vec<SocketEvent>,
    read_buf: BytesMut,
    eof_reported: bool,
    os_closed: bool,
    sent: Vec<u8>,
    received: Vec<u8>,
    next_byte: u8,
}

impl Side {
    fn new(socket: Socket, seed: u8) -> Self {
        Self {
            socket,
            events: Vec::new(),
            read_buf: BytesMut::new(),
            eof_reported: false,
            os_closed: false,
            sent: Vec::new(),
            received: Vec::new(),
            next_byte: seed,
        }
    }

    fn bytes(&mut self, len: usize) -> Bytes {
        (0..len)
            .map(|_| {
                self.next_byte = self.next_byte.wrapping_mul(31).wrapping_add(7);
                self.next_byte
            })
            .collect::<Vec<u8>>()
            .into()
    }

    /// What a careful application does: writes only while its side and (without
    /// half-open) the peer's are open.
    fn write(&mut self, now: Instant, len: usize) -> Result<(), TestCaseError> {
        if !matches!(
            self.socket.ready_state(),
            ReadyState::Open | ReadyState::WriteOnly
        ) {
            return Ok(());
        }
        let data = self.bytes(len);
        let result = self.socket.write(now, data.clone());
        prop_assert!(result.is_ok(), "write on a writable socket: {:?}", result);
        self.sent.extend_from_slice(&data);
        Ok(())
    }

    fn end(&mut self, now: Instant, len: Option<usize>) -> Result<(), TestCaseError> {
        if self.socket.is_closed() {
            return Ok(());
        }
        let writable = matches!(
            self.socket.ready_state(),
            ReadyState::Open | ReadyState::WriteOnly
        );
        let data = match len {
            Some(len) if writable => Some(self.bytes(len)),
            _ => None,
        };
        prop_assert_eq!(self.socket.end(now, data.clone()), Ok(()));
        if let Some(data) = data {
            self.sent.extend_from_slice(&data);
        }
        Ok(())
    }

    /// One round of the drain rule; returns whether anything moved.
    fn step(&mut self, now: Instant, out: &mut Link, inbound: &mut Link, read_max: usize) -> bool {
        if self.os_closed {
            return false;
        }
        let mut moved = false;
        loop {
            let mut slices = [IoSlice::new(&[]); 4];
            let n = self.socket.transmit_chunks(&mut slices);
            if n == 0 {
                break;
            }
            let written = out.write_vectored(&slices[..n]);
            if written == 0 {
                break;
            }
            self.socket.advance_transmit(now, written);
            moved = true;
        }
        while let Some(action) = self.socket.poll_action() {
            moved = true;
            match action {
                Action::Shutdown => out.shutdown(),
                Action::Close { .. } => {
                    out.shutdown();
                    self.os_closed = true;
                }
                _ => {}
            }
        }
        if !self.os_closed && self.socket.wants_read() {
            if inbound.read(&mut self.read_buf, read_max) > 0 {
                moved = true;
            }
            if !self.read_buf.is_empty() {
                self.socket.handle_input(now, &mut self.read_buf);
            }
            if inbound.at_eof() && self.read_buf.is_empty() && !self.eof_reported {
                self.eof_reported = true;
                self.socket.handle_eof(now);
                moved = true;
            }
        }
        while let Some(event) = self.socket.poll_event() {
            moved = true;
            if let SocketEvent::Data(bytes) = &event {
                self.received.extend_from_slice(bytes);
            }
            self.events.push(event);
        }
        moved
    }
}

#[derive(Debug)]
struct Connection {
    clock: Clock,
    client: Side,
    server: Side,
    to_server: Link,
    to_client: Link,
    read_max: usize,
}

impl Connection {
    /// Runs up to `steps` rounds; returns whether it settled.
    fn run(&mut self, steps: usize) -> bool {
        let now = self.clock.now();
        for _ in 0..steps {
            let moved =
                self.client
                    .step(now, &mut self.to_server, &mut self.to_client, self.read_max)
                    | self.server.step(
                        now,
                        &mut self.to_client,
                        &mut self.to_server,
                        self.read_max,
                    );
            if !moved {
                return true;
            }
        }
        false
    }
}

/// What the application does on one side of a connection.
#[derive(Debug, Clone)]
enum PairOp {
    Write { client: bool, len: usize },
    End { client: bool, len: Option<usize> },
    Run(usize),
}

fn pair_op() -> impl Strategy<Value = PairOp> {
    prop_oneof![
        6 => (any::<bool>(), 0usize..600).prop_map(|(client, len)| PairOp::Write { client, len }),
        1 => (any::<bool>(), prop::option::of(0usize..64))
            .prop_map(|(client, len)| PairOp::End { client, len }),
        3 => (0usize..6).prop_map(PairOp::Run),
    ]
}

fn check_side(side: &Side, peer: &Side, name: &str) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        &side.received,
        &peer.sent,
        "{}: bytes lost or reordered",
        name
    );
    prop_assert_eq!(
        side.events.last(),
        Some(&SocketEvent::Close { had_error: false }),
        "{}: Close(false) is not last: {:?}",
        name,
        side.events
    );
    let closes = side
        .events
        .iter()
        .filter(|e| matches!(e, SocketEvent::Close { .. }))
        .count();
    prop_assert_eq!(closes, 1, "{}: Close not exactly once", name);
    prop_assert!(
        !side
            .events
            .iter()
            .any(|e| matches!(e, SocketEvent::Error(_))),
        "{}: an error on a clean connection",
        name
    );
    let end = side.events.iter().position(|e| *e == SocketEvent::End);
    let finish = side.events.iter().position(|e| *e == SocketEvent::Finish);
    prop_assert!(
        end.is_some() && finish.is_some(),
        "{}: no End or Finish",
        name
    );
    let last_data = side
        .events
        .iter()
        .rposition(|e| matches!(e, SocketEvent::Data(_)));
    prop_assert!(
        last_data.is_none_or(|d| Some(d) < end),
        "{}: Data after End",
        name
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// docs/node-semantics.md#net-data-order, #net-end-after-data, #net-end-closes-by-default,
    /// #net-half-open, #net-end, #net-close-once, #net-close-order: over a connection with partial
    /// writes and slow links, every byte written by either side arrives in order, and when both
    /// sides end each closes with `End`, `Finish` and a last `Close(false)`, half-open or not.
    #[test]
    fn connection_random_writes_and_ends_deliver_in_order(
        allow_half_open in any::<bool>(),
        high_water_mark in 1usize..2048,
        capacity in 1usize..4096,
        max_write in 1usize..1500,
        read_max in 1usize..1500,
        ops in prop::collection::vec(pair_op(), 0..40),
    ) {
        let clock = Clock::new();
        let now = clock.now();
        let socket_config = config(allow_half_open, high_water_mark, false);
        let mut client = Socket::connect(now, socket_config.clone());
        client.handle_connected(now);
        let mut connection = Connection {
            clock,
            client: Side::new(client, 1),
            server: Side::new(Socket::accepted(now, socket_config), 2),
            to_server: Link::new(capacity, max_write),
            to_client: Link::new(capacity, max_write),
            read_max,
        };
        for op in ops {
            match op {
                PairOp::Write { client: true, len } => connection.client.write(now, len)?,
                PairOp::Write { client: false, len } => connection.server.write(now, len)?,
                PairOp::End { client: true, len } => connection.client.end(now, len)?,
                PairOp::End { client: false, len } => connection.server.end(now, len)?,
                PairOp::Run(steps) => {
                    connection.run(steps);
                }
            }
        }
        connection.client.end(now, None)?;
        connection.server.end(now, None)?;
        prop_assert!(connection.run(100_000), "the connection did not settle (livelock)");
        check_side(&connection.client, &connection.server, "client")?;
        check_side(&connection.server, &connection.client, "server")?;
    }
}

// ---- the server -------------------------------------------------------------------------

/// One input or command on a server.
#[derive(Debug, Clone)]
enum ServerOp {
    Listen,
    Listening,
    ListenError,
    Accept(u64),
    ConnectionClosed(u64),
    Close,
    SetMaxConnections(Option<usize>),
}

fn server_op() -> impl Strategy<Value = ServerOp> {
    prop_oneof![
        2 => Just(ServerOp::Listen),
        2 => Just(ServerOp::Listening),
        1 => Just(ServerOp::ListenError),
        5 => (0u64..8).prop_map(ServerOp::Accept),
        3 => (0u64..8).prop_map(ServerOp::ConnectionClosed),
        1 => Just(ServerOp::Close),
        1 => prop::option::of(0usize..4).prop_map(ServerOp::SetMaxConnections),
    ]
}

fn address() -> Address {
    Address::Tcp(std::net::SocketAddr::from(([127, 0, 0, 1], 8080)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// docs/node-semantics.md#net-listen-async, #net-listen-error, #net-listen-twice,
    /// #net-connection-event, #net-server-close, #net-server-close-callback, #net-max-connections:
    /// any sequence never panics; an accept never takes `connections()` past `maxConnections`;
    /// `Close` only after `close()` once the last connection closed; `Listening` only after
    /// `listen()`; `Connection` events minus closed ids is `connections()`.
    #[test]
    fn server_any_ops_keeps_invariants(
        max_connections in prop::option::of(0usize..4),
        ops in prop::collection::vec(server_op(), 0..64),
    ) {
        let now = Instant::now();
        let mut server_config = ServerConfig::default();
        server_config.max_connections = max_connections;
        let mut server = Server::new(server_config);
        let mut max = max_connections;
        let mut binding = false;
        let mut listening = false;
        let mut close_called = false;
        let mut open: BTreeSet<u64> = BTreeSet::new();
        for op in ops {
            let before = server.connections();
            let mut admission = None;
            match op {
                ServerOp::Listen => {
                    let result = server.listen(now, address());
                    if binding || listening || close_called {
                        prop_assert_eq!(
                            result,
                            Err(Error::Usage(UsageError::ServerAlreadyListening)),
                            "Node docs net.md › server.listen()"
                        );
                        prop_assert_eq!(server.poll_action(), None);
                    } else {
                        prop_assert_eq!(result, Ok(()));
                        binding = true;
                        prop_assert_eq!(
                            server.poll_action(),
                            Some(ServerAction::Listen { address: address(), backlog: 511, reuse_port: false })
                        );
                    }
                    prop_assert_eq!(server.poll_event(), None, "Node docs net.md › server.listen(): nothing inside listen()");
                }
                ServerOp::Listening => server.handle_listening(now, address()),
                ServerOp::ListenError => server.handle_listen_error(now, ErrorKind::AddrInUse),
                ServerOp::Accept(id) => {
                    admission = Some(server.handle_accept(now, ConnectionId(id)));
                }
                ServerOp::ConnectionClosed(id) => {
                    server.handle_connection_closed(now, ConnectionId(id));
                    open.remove(&id);
                }
                ServerOp::Close => {
                    let result = server.close(now);
                    if binding || listening {
                        prop_assert_eq!(result, Ok(()));
                        prop_assert_eq!(server.poll_action(), Some(ServerAction::CloseListener));
                        binding = false;
                        listening = false;
                        close_called = true;
                    } else {
                        prop_assert_eq!(
                            result,
                            Err(Error::Usage(UsageError::ServerNotRunning)),
                            "Node docs net.md › server.close()"
                        );
                    }
                }
                ServerOp::SetMaxConnections(new) => {
                    server.set_max_connections(new);
                    max = new;
                }
            }
            prop_assert_eq!(server.poll_action(), None);
            let events: Vec<ServerEvent> = std::iter::from_fn(|| server.poll_event()).collect();
            let mut connection_events = 0;
            let mut drop_events = 0;
            for event in events {
                match event {
                    ServerEvent::Listening { address: bound } => {
                        prop_assert!(binding, "Node docs net.md › server.listen(): Listening without listen()");
                        prop_assert_eq!(bound, address());
                        binding = false;
                        listening = true;
                    }
                    ServerEvent::Error(error) => {
                        prop_assert!(binding, "Node docs net.md › Event: 'error': Error without a pending bind");
                        prop_assert_eq!(error, Error::Io(ErrorKind::AddrInUse));
                        binding = false;
                    }
                    ServerEvent::Connection { id } => {
                        prop_assert!(listening, "Node docs net.md › Event: 'connection': Connection while not listening");
                        prop_assert!(open.insert(id.0), "docs/node-semantics.md#net-connection-event: Connection twice for one id");
                        connection_events += 1;
                    }
                    ServerEvent::Drop => drop_events += 1,
                    ServerEvent::Close => {
                        prop_assert!(close_called, "Node docs net.md › server.close(): Close without close()");
                        prop_assert_eq!(server.connections(), 0, "docs/node-semantics.md#net-server-close: Close with connections");
                        close_called = false;
                    }
                    other => prop_assert!(false, "unknown event {:?}", other),
                }
            }
            if let Some(admission) = admission {
                prop_assert_eq!(
                    admission == Admission::Accept,
                    connection_events == 1,
                    "Accept goes with Connection"
                );
                if admission == Admission::Accept {
                    prop_assert!(
                        max.is_none_or(|max| before < max),
                        "Node docs net.md › server.maxConnections: accepted at maxConnections"
                    );
                    prop_assert!(max.is_none_or(|max| server.connections() <= max));
                } else {
                    prop_assert_eq!(server.connections(), before);
                    prop_assert_eq!(drop_events, usize::from(listening), "Node docs net.md › server.maxConnections: Drop");
                }
            }
            prop_assert_eq!(server.connections(), open.len());
            prop_assert_eq!(server.is_listening(), listening);
            prop_assert_eq!(server.address().is_some(), listening, "docs/node-semantics.md#net-address");
        }
    }
}
