//! The in-memory harness: two sockets joined by two `Link`s, driven by the contract's drain
//! rule, with a bounded `drive` so that a livelock fails the test.

use std::io::{ErrorKind, IoSlice};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use sansnet_testkit::clock::Clock;
use sansnet_testkit::link::Link;

use crate::{Action, Socket, SocketConfig, SocketEvent};

/// Asserts that `$events` (a `Vec<SocketEvent>`) equals the listed events, then clears it.
macro_rules! assert_events {
    ($events:expr, [$($event:expr),* $(,)?]) => {{
        let expected: Vec<crate::SocketEvent> = vec![$($event),*];
        assert_eq!(std::mem::take(&mut $events), expected);
    }};
}
pub(crate) use assert_events;

/// One side of a [`Pair`]: the machine plus what the driver would keep for it.
#[derive(Debug)]
pub(crate) struct End {
    pub(crate) socket: Socket,
    pub(crate) events: Vec<SocketEvent>,
    pub(crate) actions: Vec<Action>,
    read_buf: BytesMut,
    eof_reported: bool,
    os_closed: bool,
}

impl End {
    fn new(socket: Socket) -> Self {
        Self {
            socket,
            events: Vec::new(),
            actions: Vec::new(),
            read_buf: BytesMut::new(),
            eof_reported: false,
            os_closed: false,
        }
    }

    /// The bytes of every `Data` event so far, concatenated; other events stay.
    pub(crate) fn take_data(&mut self) -> Vec<u8> {
        let mut data = Vec::new();
        self.events.retain(|event| match event {
            SocketEvent::Data(bytes) => {
                data.extend_from_slice(bytes);
                false
            }
            _ => true,
        });
        data
    }
}

/// A client socket and its accepted peer over an in-memory connection.
#[derive(Debug)]
pub(crate) struct Pair {
    pub(crate) clock: Clock,
    pub(crate) client: End,
    pub(crate) server: End,
    to_server: Link,
    to_client: Link,
}

impl Pair {
    /// A connected pair with these configs, links of 64 KiB holding up to 4 KiB per write.
    pub(crate) fn new(client: SocketConfig, server: SocketConfig) -> Self {
        Self::with_links(client, server, 64 * 1024, 4096)
    }

    /// A connected pair whose links hold `capacity` bytes and take `max_write` per write.
    pub(crate) fn with_links(
        client: SocketConfig,
        server: SocketConfig,
        capacity: usize,
        max_write: usize,
    ) -> Self {
        let clock = Clock::new();
        let now = clock.now();
        let mut pair = Self {
            client: End::new(Socket::connect(now, client)),
            server: End::new(Socket::accepted(now, server)),
            to_server: Link::new(capacity, max_write),
            to_client: Link::new(capacity, max_write),
            clock,
        };
        pair.client.socket.handle_connected(now);
        pair.drive();
        assert_events!(
            pair.client.events,
            [SocketEvent::Connect, SocketEvent::Ready]
        );
        pair
    }

    /// Runs both sides until nothing moves; panics after 10,000 steps (a livelock).
    pub(crate) fn drive(&mut self) {
        for _ in 0..10_000 {
            let now = self.clock.now();
            let moved = step(
                now,
                &mut self.client,
                &mut self.to_server,
                &mut self.to_client,
            ) | step(
                now,
                &mut self.server,
                &mut self.to_client,
                &mut self.to_server,
            );
            if !moved {
                return;
            }
        }
        panic!("drive did not settle after 10,000 steps");
    }

    /// Moves the clock by `by`, fires due timers, and drives.
    pub(crate) fn advance(&mut self, by: Duration) {
        let now = self.clock.advance(by);
        for end in [&mut self.client, &mut self.server] {
            if end.socket.poll_timeout().is_some_and(|at| at <= now) {
                end.socket.handle_timeout(now);
            }
        }
        self.drive();
    }

    /// The harness's current instant.
    pub(crate) fn now(&self) -> std::time::Instant {
        self.clock.now()
    }
}

/// One round of the drain rule for one side; returns whether anything moved.
fn step(now: std::time::Instant, end: &mut End, out: &mut Link, inbound: &mut Link) -> bool {
    let mut moved = false;
    if end.os_closed {
        return false;
    }
    // Write what the machine offers.
    loop {
        let mut slices = [IoSlice::new(&[]); 4];
        let n = end.socket.transmit_chunks(&mut slices);
        if n == 0 {
            break;
        }
        let written = out.write_vectored(&slices[..n]);
        if written == 0 {
            break;
        }
        end.socket.advance_transmit(now, written);
        moved = true;
    }
    // Carry out actions.
    while let Some(action) = end.socket.poll_action() {
        moved = true;
        end.actions.push(action);
        match action {
            Action::Shutdown => out.shutdown(),
            Action::Close { .. } => {
                out.shutdown();
                end.os_closed = true;
            }
            Action::HandOver => panic!("a socket machine never hands over"),
            _ => {}
        }
    }
    // Read what arrived.
    if !end.os_closed && end.socket.wants_read() {
        if inbound.read(&mut end.read_buf, 1500) > 0 {
            moved = true;
        }
        if !end.read_buf.is_empty() {
            end.socket.handle_input(now, &mut end.read_buf);
        }
        if inbound.at_eof() && end.read_buf.is_empty() && !end.eof_reported {
            end.eof_reported = true;
            end.socket.handle_eof(now);
            moved = true;
        }
    }
    while let Some(event) = end.socket.poll_event() {
        moved = true;
        end.events.push(event);
    }
    moved
}

/// A socket in `Open` with its connect events drained: `(socket, now)`.
pub(crate) fn socket_established(config: SocketConfig) -> (Socket, std::time::Instant) {
    let now = std::time::Instant::now();
    let mut socket = Socket::connect(now, config);
    socket.handle_connected(now);
    while socket.poll_event().is_some() {}
    while socket.poll_action().is_some() {}
    (socket, now)
}

/// Drains every pending event of a lone socket.
pub(crate) fn events(socket: &mut Socket) -> Vec<SocketEvent> {
    std::iter::from_fn(|| socket.poll_event()).collect()
}

/// Drains every pending action of a lone socket.
pub(crate) fn actions(socket: &mut Socket) -> Vec<Action> {
    std::iter::from_fn(|| socket.poll_action()).collect()
}

/// Writes everything queued on a lone socket, as a driver with an infinitely fast kernel.
pub(crate) fn flush(socket: &mut Socket, now: std::time::Instant) -> Vec<u8> {
    let mut wire = Vec::new();
    loop {
        let mut slices = [IoSlice::new(&[]); 8];
        let n = socket.transmit_chunks(&mut slices);
        if n == 0 {
            return wire;
        }
        let before = wire.len();
        for slice in &slices[..n] {
            wire.extend_from_slice(slice);
        }
        let written = wire.len() - before;
        socket.advance_transmit(now, written);
    }
}

/// `n` bytes of a repeating pattern.
pub(crate) fn pattern(n: usize) -> Bytes {
    (0..n)
        .map(|i| u8::try_from(i % 251).expect("below 251"))
        .collect::<Vec<u8>>()
        .into()
}

/// Shorthand for a reset error kind in tests.
pub(crate) const RESET: ErrorKind = ErrorKind::ConnectionReset;
