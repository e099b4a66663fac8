//! The WebSocket layer: a `sansnet_ws::Connection` riding on a socket after the HTTP
//! machines handed it over (server: `upgrade` accepted; client: 101 verified).

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use sansnet_tcp::{Socket, SocketEvent};
use sansnet_ws::{Action, Connection};

use crate::{Event, SocketId};

/// The WebSocket machine of one connection and the bytes it has not consumed yet.
#[derive(Debug)]
pub(crate) struct WsLayer {
    pub(crate) conn: Connection,
    buf: BytesMut,
    closed: bool,
}

impl WsLayer {
    /// A layer for `conn`, which must have `Config::message_at_a_time` set (see
    /// [`message_at_a_time`]).
    pub(crate) fn new(conn: Connection) -> Self {
        Self {
            conn,
            buf: BytesMut::new(),
            closed: false,
        }
    }

    /// Feeds bytes that arrived before the hand-over (the `head` of `upgrade`).
    pub(crate) fn feed(&mut self, now: Instant, head: Bytes) {
        if !head.is_empty() {
            self.buf.extend_from_slice(&head);
            self.conn.handle_input(now, &mut self.buf);
        }
    }

    /// A socket event, fed to the WebSocket machine; nothing reaches the application as a
    /// socket event (the machine's `Close` tells it the connection is over).
    pub(crate) fn intercept(&mut self, now: Instant, event: SocketEvent) -> Option<SocketEvent> {
        match event {
            SocketEvent::Data(data) => {
                if self.buf.is_empty() {
                    self.buf = data
                        .try_into_mut()
                        .unwrap_or_else(|d| BytesMut::from(&d[..]));
                } else {
                    self.buf.extend_from_slice(&data);
                }
                self.conn.handle_input(now, &mut self.buf);
            }
            SocketEvent::End | SocketEvent::Error(_) | SocketEvent::Close { .. } => {
                // Frames still waiting in the buffer come before the end.
                loop {
                    let before = self.buf.len();
                    self.conn.handle_input(now, &mut self.buf);
                    if self.buf.is_empty() || self.buf.len() == before {
                        break;
                    }
                }
                self.conn.handle_eof(now);
            }
            _ => {}
        }
        None
    }

    /// Moves frames into the socket, carries out actions, queues events; returns (moved,
    /// events queued).
    pub(crate) fn pump(
        &mut self,
        now: Instant,
        id: SocketId,
        socket: &mut Socket,
        out: &mut VecDeque<Event>,
        taken: bool,
    ) -> (bool, usize) {
        let mut moved = false;
        let mut delivered = 0;
        // The machine stops after each message; once the application has taken every event
        // (none waits in the machine either), the rest of what was read goes in.
        let pending = self.take_events(id, out);
        delivered += pending;
        if taken && pending == 0 && !self.buf.is_empty() && !self.closed {
            let before = self.buf.len();
            self.conn.handle_input(now, &mut self.buf);
            moved |= self.buf.len() != before;
        }
        while socket.buffer_size() < socket.config().high_water_mark {
            let Some(chunk) = self.conn.pop_transmit(now) else {
                break;
            };
            moved = true;
            let _ = socket.write(now, chunk);
        }
        while let Some(action) = self.conn.poll_action() {
            moved = true;
            match action {
                Action::Shutdown => {
                    // Everything queued goes first: flush the machine into the socket.
                    while let Some(chunk) = self.conn.pop_transmit(now) {
                        let _ = socket.write(now, chunk);
                    }
                    let _ = socket.end(now, None);
                }
                Action::Close => socket.destroy(now),
                _ => {}
            }
        }
        let later = self.take_events(id, out);
        delivered += later;
        (moved || delivered > 0, delivered)
    }

    /// Moves the machine's events to the application's queue; returns how many.
    fn take_events(&mut self, id: SocketId, out: &mut VecDeque<Event>) -> usize {
        let mut count = 0;
        while let Some(event) = self.conn.poll_event() {
            count += 1;
            if matches!(event, sansnet_ws::WsEvent::Close { .. }) {
                self.closed = true;
            }
            out.push_back(Event::Ws { socket: id, event });
        }
        count
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.conn.poll_timeout()
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.conn.handle_timeout(now);
    }
}

/// Random bytes from the operating system, for client masks and handshake keys.
pub(crate) fn os_entropy(buf: &mut [u8]) {
    if getrandom::fill(buf).is_err() {
        // No OS randomness: fall back to the hasher's per-process random keys, mixed with time.
        use std::hash::{BuildHasher, Hasher};
        let state = std::collections::hash_map::RandomState::new();
        for (i, chunk) in buf.chunks_mut(8).enumerate() {
            let mut hasher = state.build_hasher();
            hasher.write_usize(i);
            hasher.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            let bytes = hasher.finish().to_ne_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// The driver's WebSocket settings: the application's, answering one message at a time.
pub(crate) fn message_at_a_time(config: sansnet_ws::Config) -> sansnet_ws::Config {
    sansnet_ws::Config {
        message_at_a_time: true,
        ..config
    }
}
