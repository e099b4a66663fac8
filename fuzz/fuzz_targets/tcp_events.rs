//! Fuzz `sansnet_tcp::Socket` with arbitrary input and command sequences, asserting its event invariants and chunking invariance.
#![no_main]

use std::io::{ErrorKind, IoSlice};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use sansnet_tcp::{Action, Error, ReadyState, Socket, SocketConfig, SocketEvent, UsageError};

/// An I/O error kind the driver may report.
#[derive(arbitrary::Arbitrary, Debug, Clone, Copy)]
enum Kind {
    Reset,
    Refused,
    BrokenPipe,
    TimedOut,
    Other,
}

impl From<Kind> for ErrorKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Reset => Self::ConnectionReset,
            Kind::Refused => Self::ConnectionRefused,
            Kind::BrokenPipe => Self::BrokenPipe,
            Kind::TimedOut => Self::TimedOut,
            Kind::Other => Self::Other,
        }
    }
}

/// One input or command.
#[derive(arbitrary::Arbitrary, Debug)]
enum Op {
    Connected,
    Read(Vec<u8>),
    Eof,
    Advance(u16),
    IoError(Kind),
    Timeout(u8),
    Write(u8),
    End(Option<u8>),
    Destroy,
    DestroyWithError(Kind),
    DestroySoon,
    ResetAndDestroy,
    SetTimeout(Option<u8>),
    Pause,
    Resume,
    SetNoDelay(bool),
    SetKeepAlive(Option<u16>),
}

#[derive(arbitrary::Arbitrary, Debug)]
struct Input {
    accepted: bool,
    allow_half_open: bool,
    high_water_mark: u8,
    pause_on_connect: bool,
    no_delay: bool,
    timeout: Option<u8>,
    ops: Vec<Op>,
    /// Part two: a payload read whole and split at `cuts`.
    payload: Vec<u8>,
    cuts: Vec<u16>,
}

fn socket_config(input: &Input) -> SocketConfig {
    let mut config = SocketConfig::default();
    config.allow_half_open = input.allow_half_open;
    config.high_water_mark = usize::from(input.high_water_mark);
    config.pause_on_connect = input.pause_on_connect;
    config.no_delay = input.no_delay;
    config.timeout = input.timeout.map(|ms| Duration::from_millis(u64::from(ms)));
    config
}

/// What was observed so far, and the invariants over it.
#[derive(Default)]
struct Log {
    events: Vec<SocketEvent>,
    actions: Vec<Action>,
    write_returned_false: bool,
}

impl Log {
    fn push_event(&mut self, event: SocketEvent) {
        assert!(
            !matches!(self.events.last(), Some(SocketEvent::Close { .. })),
            "{event:?} after Close"
        );
        if let Some(SocketEvent::Error(_)) = self.events.last() {
            assert_eq!(
                event,
                SocketEvent::Close { had_error: true },
                "Error not followed by Close(true)"
            );
        }
        match &event {
            SocketEvent::Close { had_error } => assert_eq!(
                *had_error,
                matches!(self.events.last(), Some(SocketEvent::Error(_))),
                "Close(true) exactly after Error"
            ),
            SocketEvent::Drain => assert!(
                self.write_returned_false,
                "Drain without a write returning false"
            ),
            SocketEvent::Data(bytes) => assert!(!bytes.is_empty(), "empty Data"),
            _ => {}
        }
        self.events.push(event);
    }

    fn push_action(&mut self, action: Action) {
        assert!(
            !self
                .actions
                .iter()
                .any(|a| matches!(a, Action::Close { .. })),
            "{action:?} after the Close action"
        );
        self.actions.push(action);
    }

    fn closed(&self) -> bool {
        matches!(self.events.last(), Some(SocketEvent::Close { .. }))
    }
}

/// Applies the drain rule: collects events and actions and checks the closed state.
fn drain(socket: &mut Socket, log: &mut Log) {
    while let Some(event) = socket.poll_event() {
        log.push_event(event);
    }
    while let Some(action) = socket.poll_action() {
        log.push_action(action);
    }
    let mut slices = [IoSlice::new(&[]); 64];
    let n = socket.transmit_chunks(&mut slices);
    let offered: usize = slices[..n].iter().map(|s| s.len()).sum();
    assert!(offered <= socket.buffer_size());
    assert_eq!(socket.is_closed(), log.closed());
    if socket.is_closed() {
        assert_eq!(n, 0);
        assert_eq!(socket.buffer_size(), 0);
        assert!(!socket.wants_read());
        assert!(!socket.wants_write());
        assert_eq!(socket.poll_timeout(), None);
        assert_eq!(socket.ready_state(), ReadyState::Closed);
    }
}

fn run_ops(input: &Input) {
    let start = Instant::now();
    let mut now = start;
    let config = socket_config(input);
    let mut socket = if input.accepted {
        Socket::accepted(now, config)
    } else {
        Socket::connect(now, config)
    };
    let mut log = Log::default();
    let mut read_buf = BytesMut::new();
    let mut next = 0u8;
    drain(&mut socket, &mut log);
    for op in &input.ops {
        let before = (
            socket.buffer_size(),
            socket.ready_state(),
            socket.bytes_written(),
            socket.poll_timeout(),
        );
        let mut data = |len: u8| -> Bytes {
            (0..len)
                .map(|_| {
                    next = next.wrapping_add(1);
                    next
                })
                .collect::<Vec<u8>>()
                .into()
        };
        let mut command_error = None;
        match op {
            Op::Connected => socket.handle_connected(now),
            Op::Read(bytes) => {
                read_buf.extend_from_slice(bytes);
                socket.handle_input(now, &mut read_buf);
            }
            Op::Eof => socket.handle_eof(now),
            Op::Advance(n) => socket.advance_transmit(now, usize::from(*n)),
            Op::IoError(kind) => socket.handle_io_error(now, (*kind).into()),
            Op::Timeout(ms) => {
                now += Duration::from_millis(u64::from(*ms));
                socket.handle_timeout(now);
            }
            Op::Write(len) => match socket.write(now, data(*len)) {
                Ok(below) => log.write_returned_false |= !below,
                Err(error) => command_error = Some(error),
            },
            Op::End(len) => {
                if let Err(error) = socket.end(now, len.map(&mut data)) {
                    command_error = Some(error);
                }
            }
            Op::Destroy => socket.destroy(now),
            Op::DestroyWithError(kind) => {
                socket.destroy_with_error(now, Error::Io((*kind).into()));
            }
            Op::DestroySoon => socket.destroy_soon(now),
            Op::ResetAndDestroy => socket.reset_and_destroy(now),
            Op::SetTimeout(ms) => {
                socket.set_timeout(now, ms.map(|ms| Duration::from_millis(u64::from(ms))));
            }
            Op::Pause => socket.pause(),
            Op::Resume => socket.resume(now),
            Op::SetNoDelay(on) => socket.set_no_delay(*on),
            Op::SetKeepAlive(ms) => {
                socket.set_keep_alive(ms.map(|ms| Duration::from_millis(u64::from(ms))));
            }
        }
        match command_error {
            // The documented exception: a write after the peer's FIN destroys with EPIPE.
            Some(Error::Io(ErrorKind::BrokenPipe)) => {
                assert_eq!(
                    socket.poll_event(),
                    Some(SocketEvent::Error(Error::Io(ErrorKind::BrokenPipe)))
                );
                log.push_event(SocketEvent::Error(Error::Io(ErrorKind::BrokenPipe)));
                assert!(socket.is_closed());
            }
            Some(error) => {
                assert!(
                    matches!(
                        error,
                        Error::Usage(UsageError::WriteAfterEnd | UsageError::Destroyed)
                    ),
                    "unexpected command error {error:?}"
                );
                let after = (
                    socket.buffer_size(),
                    socket.ready_state(),
                    socket.bytes_written(),
                    socket.poll_timeout(),
                );
                assert_eq!(before, after, "a failed command changed the state");
                assert_eq!(
                    socket.poll_event(),
                    None,
                    "a failed command emitted an event"
                );
                assert_eq!(
                    socket.poll_action(),
                    None,
                    "a failed command asked for an action"
                );
            }
            None => {}
        }
        drain(&mut socket, &mut log);
    }
    let closes = log
        .events
        .iter()
        .filter(|e| matches!(e, SocketEvent::Close { .. }))
        .count();
    assert!(closes <= 1, "Close more than once");
}

/// Feeds `pieces` to an established socket, then FIN; returns the events with `Data` merged.
fn chunked_events(pieces: &[&[u8]], allow_half_open: bool) -> (Vec<u8>, Vec<SocketEvent>) {
    let now = Instant::now();
    let mut config = SocketConfig::default();
    config.allow_half_open = allow_half_open;
    let mut socket = Socket::connect(now, config);
    socket.handle_connected(now);
    let mut data = Vec::new();
    let mut others = Vec::new();
    let mut collect = |socket: &mut Socket| {
        while let Some(event) = socket.poll_event() {
            match event {
                SocketEvent::Data(bytes) => {
                    assert!(!others.contains(&SocketEvent::End), "Data after End");
                    data.extend_from_slice(&bytes);
                }
                other => others.push(other),
            }
        }
    };
    for piece in pieces {
        let mut buf = BytesMut::from(*piece);
        socket.handle_input(now, &mut buf);
        assert!(buf.is_empty());
        collect(&mut socket);
    }
    socket.handle_eof(now);
    collect(&mut socket);
    (data, others)
}

fn check_chunking(input: &Input) {
    let payload = &input.payload[..];
    let cuts = input.cuts.iter().map(|&c| usize::from(c)).collect();
    let pieces = sansnet_fuzz::pieces(payload, cuts);
    let whole = chunked_events(&[payload], input.allow_half_open);
    let split = chunked_events(&pieces, input.allow_half_open);
    assert_eq!(whole.0, payload);
    assert_eq!(split, whole, "events depend on the chunking");
}

libfuzzer_sys::fuzz_target!(|input: Input| {
    run_ops(&input);
    check_chunking(&input);
});
