//! The WebSocket layer: a `sansnet_ws::Connection` riding on the socket machine after the
//! HTTP machine handed it over (server: `upgrade` accepted; client: 101 verified).

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use sansnet_tcp::{Socket, SocketEvent};
use sansnet_ws::Connection;

use crate::Event;
use crate::pump::{append, pump};

/// The WebSocket machine of one connection and the bytes it has not consumed yet.
#[derive(Debug)]
pub(crate) struct WsLayer {
    pub(crate) conn: Connection,
    buf: BytesMut,
    closed: bool,
}

impl WsLayer {
    /// A layer for `conn` (made with [`config`]) with the bytes that arrived before the
    /// hand-over (the `head` of `upgrade`).
    pub(crate) fn new(now: Instant, conn: Connection, head: Bytes) -> Self {
        let mut layer = Self {
            conn,
            buf: BytesMut::new(),
            closed: false,
        };
        if !head.is_empty() {
            layer.buf.extend_from_slice(&head);
            layer.conn.handle_input(now, &mut layer.buf);
        }
        layer
    }

    /// A socket event, fed to the WebSocket machine; nothing reaches the application as a
    /// socket event (the machine's `Close` tells it the connection is over).
    pub(crate) fn intercept(&mut self, now: Instant, event: SocketEvent) {
        match event {
            SocketEvent::Data(data) => {
                append(&mut self.buf, data);
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
    }

    /// Moves frames into the socket, carries out actions, queues events; returns whether
    /// anything moved. `caught_up`: the application has taken every earlier event, so the
    /// next message may be read.
    pub(crate) fn pump(
        &mut self,
        now: Instant,
        socket: &mut Socket,
        out: &mut VecDeque<Event>,
        caught_up: bool,
    ) -> bool {
        // The machine stops after each message; once the application has taken every event
        // (none waits in the machine either), the rest of what was read goes in.
        let pending = self.take_events(out);
        let mut moved = pending;
        if caught_up && !pending && !self.buf.is_empty() && !self.closed {
            let before = self.buf.len();
            self.conn.handle_input(now, &mut self.buf);
            moved |= self.buf.len() != before;
        }
        moved |= pump(now, &mut self.conn, socket).moved;
        moved | self.take_events(out)
    }

    /// Moves the machine's events to `out`; returns whether there were any.
    fn take_events(&mut self, out: &mut VecDeque<Event>) -> bool {
        let mut any = false;
        while let Some(event) = self.conn.poll_event() {
            any = true;
            if matches!(event, sansnet_ws::WsEvent::Close { .. }) {
                self.closed = true;
            }
            out.push_back(Event::Ws(event));
        }
        any
    }
}

/// The settings of a WebSocket machine on the stack: the application's, reading one message
/// at a time, so that the application answers each before the next is parsed, as `ws` runs
/// its `'message'` listeners before it reads on.
pub fn config(config: sansnet_ws::Config) -> sansnet_ws::Config {
    sansnet_ws::Config {
        message_at_a_time: true,
        ..config
    }
}
