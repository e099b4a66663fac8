//! The HTTP server layer: a `sansnet_http1::ServerConnection` riding on the socket machine.
//! The socket's `data` and `end` feed the HTTP machine; its response bytes go into the socket
//! within its high-water mark; its actions become `end()`, `destroy()` or a hand-over of the
//! raw socket to the application.

use std::time::{Duration, Instant, SystemTime};

use bytes::BytesMut;
use sansnet_http1::ServerConnection;
use sansnet_tcp::{Socket, SocketEvent};

use crate::pump::{append, pump};

/// How long a server's socket lingers after its FIN for the client's (RFC 9112 §9.6,
/// docs/node-semantics.md#http-lingering-close): what the client still sends is read and
/// dropped meanwhile, so that it is not reset before it read the response; a client that has
/// not closed by then is closed on. Node has no lingering (its `destroySoon` closes as soon as
/// the response is written); two seconds lets a client on a slow path see the response and
/// keeps no socket (nor a graceful `server.close()` waiting for it) for a client that never
/// closes.
pub const LINGER: Duration = Duration::from_secs(2);

/// The HTTP machine of one connection and the bytes it has not consumed yet.
#[derive(Debug)]
pub(crate) struct HttpLayer {
    pub(crate) conn: ServerConnection,
    buf: BytesMut,
    /// After `Connect` or `Upgrade`: the socket's events go to the application as they are.
    pub(crate) handed_over: bool,
    /// Lingering after our FIN: when to stop waiting for the client's ([`LINGER`]).
    linger: Option<Instant>,
    /// Until when the wall-clock second last read for `Date` lasts.
    date_until: Option<Instant>,
}

impl HttpLayer {
    pub(crate) fn new(now: Instant, config: sansnet_http1::ServerConfig) -> Self {
        Self {
            conn: ServerConnection::new(now, config),
            buf: BytesMut::new(),
            handed_over: false,
            linger: None,
            date_until: None,
        }
    }

    /// A socket event: fed to the HTTP machine, or passed on (`Some`) when the application
    /// should see it (`error`, `timeout`, `close`, and everything after a hand-over).
    pub(crate) fn intercept(&mut self, now: Instant, event: SocketEvent) -> Option<SocketEvent> {
        if self.handed_over {
            return Some(event);
        }
        match event {
            // Lingering close: once the machine is closed, what the peer still sends is read
            // and dropped until its FIN ends the socket
            // (docs/node-semantics.md#http-lingering-close).
            SocketEvent::Data(_) | SocketEvent::End if self.conn.is_closed() => None,
            SocketEvent::Data(data) => {
                append(&mut self.buf, data);
                self.conn.handle_input(now, &mut self.buf);
                None
            }
            SocketEvent::End => {
                self.conn.handle_eof(now);
                None
            }
            // Our FIN is out (every response byte before it): linger for the client's.
            SocketEvent::Finish if self.conn.is_closed() => {
                self.linger = Some(now + LINGER);
                None
            }
            SocketEvent::Connect
            | SocketEvent::Ready
            | SocketEvent::Drain
            | SocketEvent::Finish => None,
            other => Some(other),
        }
    }

    /// Moves response bytes into the socket, carries out the HTTP machine's actions and
    /// adjusts the socket's reading; returns whether anything moved.
    pub(crate) fn pump(&mut self, now: Instant, socket: &mut Socket) -> bool {
        if self.handed_over {
            return false;
        }
        let mut moved = false;
        // New input may be waiting if reading was paused and is allowed again.
        if !self.buf.is_empty() && self.conn.wants_read() {
            let before = self.buf.len();
            self.conn.handle_input(now, &mut self.buf);
            moved |= self.buf.len() != before;
        }
        let pumped = pump(now, &mut self.conn, socket);
        moved |= pumped.moved;
        if pumped.handed_over {
            self.handed_over = true;
            socket.resume(now);
        }
        // The HTTP machine's events stay in its queue until [`Connection::poll_event`] takes
        // them, after the socket's own: one move of each (large) event fewer.
        if !self.handed_over {
            // A closed machine wants nothing more, but the socket keeps reading: after the
            // server's FIN only the peer's FIN closes a half-open socket, and a paused socket
            // would never see it (docs/node-semantics.md#http-lingering-close).
            let read = self.conn.wants_read() || self.conn.is_closed();
            match (read, socket.is_paused()) {
                (true, true) => socket.resume(now),
                (false, false) => socket.pause(),
                _ => {}
            }
        }
        moved
    }

    /// See [`crate::Connection::refresh_date`].
    #[inline]
    pub(crate) fn refresh_date(&mut self, now: Instant, clock: impl FnOnce() -> SystemTime) {
        if self.date_until.is_some_and(|until| now < until) {
            return;
        }
        let time = clock();
        let into_second = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let left = Duration::from_secs(1) - Duration::from_nanos(into_second.into());
        self.date_until = Some(now + left);
        self.conn.set_date(time);
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.handed_over {
            None
        } else {
            self.conn.poll_timeout().or(self.linger)
        }
    }

    /// Time passed: the HTTP machine's deadlines, and the end of a lingering close, which
    /// closes `socket`.
    pub(crate) fn handle_timeout(&mut self, now: Instant, socket: &mut Socket) {
        if self.handed_over {
            return;
        }
        if self.linger.is_some_and(|at| now >= at) {
            self.linger = None;
            socket.destroy(now);
        }
        self.conn.handle_timeout(now);
    }
}
