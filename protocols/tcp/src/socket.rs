//! `Socket`: one TCP connection as Node's `net.Socket` sees it.

use std::collections::VecDeque;
use std::io::{ErrorKind, IoSlice};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use sansnet_core::{Actions, Transmit};

use crate::state::{ReadHalf, ReadyState, State, WriteHalf};
use crate::{Action, Error, SocketConfig, SocketEvent, UsageError};

/// One TCP connection as Node's `net.Socket`: the driver reports I/O outcomes, the socket
/// produces Node's events and tells the driver what to do.
///
/// Methods come in four kinds:
///
/// - **inputs** (`handle_*`, [`Socket::advance_transmit`]): what the driver saw. They never
///   fail; they take `now` first and `now` never goes back.
/// - **commands** ([`Socket::write`], [`Socket::end`], [`Socket::destroy`], ...): what the
///   application asks. They return `Err` and change nothing when called in the wrong state.
/// - **outputs**: [`Socket::transmit_chunks`] (bytes to write), [`Socket::poll_action`]
///   (shutdown, close, socket options), [`Socket::poll_event`] (Node's events),
///   [`Socket::poll_timeout`] (when to call `handle_timeout`), [`Socket::wants_read`] (read
///   interest).
/// - **getters**: [`Socket::bytes_read`], [`Socket::bytes_written`], [`Socket::buffer_size`],
///   [`Socket::ready_state`].
///
/// After every input or command, the driver writes what `transmit_chunks` offers, carries out
/// every `poll_action`, hands every `poll_event` to the application, then re-arms its timer
/// from `poll_timeout`.
#[derive(Debug)]
pub struct Socket {
    state: State,
    config: SocketConfig,
    /// Bytes accepted by `write` and not yet reported written.
    queue: Transmit,
    /// A `write` returned false; `Drain` is owed when the queue empties.
    need_drain: bool,
    paused: bool,
    /// `destroySoon()`: destroy once `Finish` has been emitted.
    destroy_on_finish: bool,
    deadline: Option<Instant>,
    bytes_read: u64,
    bytes_written: u64,
    /// Made with room for two events, where a `VecDeque`'s first push takes room for four:
    /// they come and go one or two at a time (`Data`, then `End` or `Drain`), and an idle
    /// connection keeps the room it had.
    events: VecDeque<SocketEvent>,
    actions: Actions,
}

impl Socket {
    /// A client socket that the driver is connecting (`net.connect()`): report the outcome
    /// with [`Socket::handle_connected`] or [`Socket::handle_io_error`].
    pub fn connect(now: Instant, config: SocketConfig) -> Self {
        Self::new(
            now,
            State::Connecting {
                write: WriteHalf::Open,
            },
            config,
        )
    }

    /// A socket the server accepted: open at once, and no `Connect` event (as in Node).
    pub fn accepted(now: Instant, config: SocketConfig) -> Self {
        let paused = config.pause_on_connect;
        let mut socket = Self::new(
            now,
            State::Open {
                read: ReadHalf::Open,
                write: WriteHalf::Open,
            },
            config,
        );
        socket.paused = paused;
        socket.queue_socket_options();
        socket
    }

    fn new(now: Instant, state: State, config: SocketConfig) -> Self {
        let mut socket = Self {
            state,
            // Room for a head and a body: a `VecDeque`'s first push takes room for four.
            queue: Transmit::with_capacity(2),
            need_drain: false,
            paused: false,
            destroy_on_finish: false,
            deadline: None,
            bytes_read: 0,
            bytes_written: 0,
            events: VecDeque::with_capacity(2),
            actions: Actions::default(),
            config,
        };
        socket.set_timeout(now, socket.config.timeout);
        socket
    }

    // ---- inputs -------------------------------------------------------------------------

    /// The connection is up: `Connect`, then `Ready`, then any bytes queued while connecting
    /// become writable (Node docs `net.md` › `Event: 'connect'`; Node source `lib/net.js` ›
    /// `_writeGeneric`).
    pub fn handle_connected(&mut self, now: Instant) {
        let State::Connecting { write } = self.state else {
            return;
        };
        self.state = State::Open {
            read: ReadHalf::Open,
            write,
        };
        self.events.push_back(SocketEvent::Connect);
        self.events.push_back(SocketEvent::Ready);
        self.queue_socket_options();
        self.touch(now);
        self.progress();
    }

    /// Bytes read from the OS. While [`Socket::wants_read`] is true all of `buf` is consumed
    /// into one `Data` event (split off without copying); otherwise nothing is consumed and
    /// the driver keeps the bytes for later (Node docs `net.md` › `Event: 'data'`,
    /// `socket.pause()`).
    pub fn handle_input(&mut self, now: Instant, buf: &mut BytesMut) {
        if buf.is_empty() || !self.wants_read() {
            return;
        }
        self.bytes_read += buf.len() as u64;
        self.events
            .push_back(SocketEvent::Data(buf.split().freeze()));
        self.touch(now);
    }

    /// The peer sent FIN (a read returned 0 bytes). The driver reports it only after every
    /// byte read before it was consumed by [`Socket::handle_input`] (Node docs `net.md` ›
    /// `Event: 'end'`).
    pub fn handle_eof(&mut self, now: Instant) {
        let State::Open {
            read: ReadHalf::Open,
            write,
        } = self.state
        else {
            return;
        };
        if self.paused {
            self.state = State::Open {
                read: ReadHalf::EofPending,
                write,
            };
            return;
        }
        self.emit_end(now);
    }

    /// `n` bytes from the front of `transmit_chunks` were written by the OS (partial writes
    /// are normal). `n` beyond what is queued is clamped.
    pub fn advance_transmit(&mut self, now: Instant, n: usize) {
        if !matches!(self.state, State::Open { .. }) || n == 0 {
            return;
        }
        self.queue.advance(n);
        self.touch(now);
        self.progress();
    }

    /// Takes the first queued chunk whole, as written (for a layer beneath that queues it
    /// itself, such as TLS): the same as [`Socket::advance_transmit`] by its length.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Bytes> {
        if !matches!(self.state, State::Open { .. }) {
            return None;
        }
        let chunk = self.queue.pop()?;
        self.touch(now);
        self.progress();
        Some(chunk)
    }

    /// The OS reported an error on this socket (a refused connect, a reset, a failed write):
    /// `Error` then `Close { had_error: true }` (Node docs `net.md` › `socket.connect()`,
    /// `Event: 'error'`).
    pub fn handle_io_error(&mut self, _now: Instant, kind: ErrorKind) {
        self.fail(Error::Io(kind));
    }

    /// Time passed: emits `Timeout` if the socket has been idle for the configured time. The
    /// socket stays open, and the timer re-arms at the next read or write (Node docs `net.md` ›
    /// `socket.setTimeout()`).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_closed() {
            return;
        }
        if self.deadline.is_some_and(|deadline| now >= deadline) {
            self.deadline = None;
            self.events.push_back(SocketEvent::Timeout);
        }
    }

    // ---- commands -----------------------------------------------------------------------

    /// `socket.write(data)`: queues `data` and returns whether the queue is still below the
    /// high-water mark; after `false`, `Drain` follows once the queue empties (Node docs `net.md` ›
    /// `socket.write()`, `Event: 'drain'`).
    ///
    /// While connecting the bytes wait for the connection (Node source `lib/net.js` ›
    /// `_writeGeneric`). After our `end()` this is `ERR_STREAM_WRITE_AFTER_END` and nothing changes
    /// (Node docs `net.md` › `socket.end()`).
    ///
    /// After the peer's FIN on a socket that is not half-open, Node destroys the socket with
    /// `EPIPE` (Node source `lib/net.js` › `writeAfterFIN`); so does this command: it emits
    /// `Error(EPIPE)` and `Close` and also returns that error. This is the one command whose error
    /// changes the state, because it is the one Node reports as a socket error rather than a usage
    /// error.
    pub fn write(&mut self, now: Instant, data: Bytes) -> Result<bool, Error> {
        let write = match self.state {
            State::Closed => return Err(UsageError::Destroyed.into()),
            State::Connecting { write } => write,
            State::Open { read, write } => {
                if read == ReadHalf::Ended && !self.config.allow_half_open {
                    let epipe = Error::Io(ErrorKind::BrokenPipe);
                    self.fail(epipe.clone());
                    return Err(epipe);
                }
                write
            }
        };
        if write != WriteHalf::Open {
            return Err(UsageError::WriteAfterEnd.into());
        }
        self.enqueue(data);
        let below = self.queue.len() < self.config.high_water_mark;
        if !below {
            self.need_drain = true;
        }
        self.touch(now);
        // An empty write at a zero high-water mark leaves the queue empty: `Drain` is due now.
        self.progress();
        Ok(below)
    }

    /// `socket.end([data])`: queues `data`, then FIN once everything queued was written
    /// (`Finish`). The peer may still send to us (docs/node-semantics.md#net-end,
    /// #net-close-order).
    ///
    /// Ending twice is a no-op, but ending twice with data is `ERR_STREAM_WRITE_AFTER_END`.
    pub fn end(&mut self, now: Instant, data: Option<Bytes>) -> Result<(), Error> {
        let write = match self.state {
            State::Closed => return Err(UsageError::Destroyed.into()),
            State::Connecting { write } | State::Open { write, .. } => write,
        };
        if write != WriteHalf::Open {
            return match data {
                Some(data) if !data.is_empty() => Err(UsageError::WriteAfterEnd.into()),
                _ => Ok(()),
            };
        }
        if let Some(data) = data {
            self.enqueue(data);
        }
        self.set_write_half(WriteHalf::Ending);
        self.touch(now);
        self.progress();
        Ok(())
    }

    /// `socket.destroy()`: closes at once, dropping queued bytes; `Close { had_error: false }`
    /// with no `End` or `Finish` (docs/node-semantics.md#net-destroy). A no-op on a closed socket.
    pub fn destroy(&mut self, _now: Instant) {
        self.close(false, false);
    }

    /// `socket.destroy(err)`: `Error(err)`, then `Close { had_error: true }` (Node docs `net.md` ›
    /// `socket.destroy()`).
    pub fn destroy_with_error(&mut self, _now: Instant, error: Error) {
        self.fail(error);
    }

    /// `socket.destroySoon()`: ends the socket and destroys it once the queue is written,
    /// without waiting for the peer's FIN (Node docs `net.md` › `socket.destroySoon()`,
    /// `socket.resetAndDestroy()`).
    pub fn destroy_soon(&mut self, now: Instant) {
        match self.state {
            State::Closed => {}
            State::Open {
                write: WriteHalf::Finished,
                ..
            } => self.destroy(now),
            State::Connecting { .. } | State::Open { .. } => {
                self.destroy_on_finish = true;
                // Ending an open write side cannot fail; an ending one finishes by itself.
                let _ = self.end(now, None);
            }
        }
    }

    /// `socket.resetAndDestroy()`: closes with RST instead of FIN (Node docs `net.md` ›
    /// `socket.destroySoon()`, `socket.resetAndDestroy()`).
    pub fn reset_and_destroy(&mut self, _now: Instant) {
        self.close(false, true);
    }

    /// `socket.setTimeout(ms)`: emit `Timeout` after `ms` of idleness; `None` or zero
    /// disables it (Node docs `net.md` › `socket.setTimeout()`).
    pub fn set_timeout(&mut self, now: Instant, timeout: Option<Duration>) {
        self.config.timeout = timeout.filter(|t| !t.is_zero());
        self.deadline = None;
        self.touch(now);
    }

    /// `socket.pause()`: stop reading; the driver drops read interest
    /// (docs/node-semantics.md#net-pause-resume).
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// `socket.resume()`: read again; a FIN that arrived while paused is delivered now as
    /// `End` (Node docs `net.md` › `socket.pause()`, `Event: 'end'`). The driver then feeds any
    /// bytes it kept.
    pub fn resume(&mut self, now: Instant) {
        self.paused = false;
        if let State::Open {
            read: ReadHalf::EofPending,
            ..
        } = self.state
        {
            self.emit_end(now);
        }
    }

    /// `socket.setNoDelay(no_delay)`: asks the driver to set `TCP_NODELAY` (Node docs `net.md` ›
    /// `socket.setNoDelay()`).
    pub fn set_no_delay(&mut self, no_delay: bool) {
        self.config.no_delay = no_delay;
        if matches!(self.state, State::Open { .. }) {
            self.actions.push(Action::SetNoDelay(no_delay));
        }
    }

    /// `socket.setKeepAlive(enable, initialDelay)`: `Some(delay)` enables keep-alive probes
    /// after `delay` idle (Node docs `net.md` › `socket.setKeepAlive()`).
    pub fn set_keep_alive(&mut self, keep_alive: Option<Duration>) {
        self.config.keep_alive = keep_alive;
        if matches!(self.state, State::Open { .. }) {
            self.actions.push(Action::SetKeepAlive(keep_alive));
        }
    }

    // ---- outputs ------------------------------------------------------------------------

    /// The next event for the application, in Node's order.
    pub fn poll_event(&mut self) -> Option<SocketEvent> {
        self.events.pop_front()
    }

    /// The next thing the driver must do to the OS socket.
    pub fn poll_action(&mut self) -> Option<Action> {
        // The socket queues `Shutdown` only once its queue is written.
        self.actions.poll(true)
    }

    /// Fills `out` with the queued bytes to write, front first, and returns how many slices it
    /// filled; zero while connecting, closed, or with nothing queued. Report what the OS took
    /// with [`Socket::advance_transmit`].
    pub fn transmit_chunks<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        if !matches!(self.state, State::Open { .. }) {
            return 0;
        }
        self.queue.fill(out)
    }

    /// True when there are bytes to write now.
    pub fn wants_write(&self) -> bool {
        matches!(self.state, State::Open { .. }) && !self.queue.is_empty()
    }

    /// True when the driver should read from the OS socket: open, reading, not paused.
    pub fn wants_read(&self) -> bool {
        matches!(
            self.state,
            State::Open {
                read: ReadHalf::Open,
                ..
            }
        ) && !self.paused
    }

    /// When to call [`Socket::handle_timeout`]; `None` when no timer is armed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            None
        } else {
            self.deadline
        }
    }

    // ---- getters ------------------------------------------------------------------------

    /// `socket.bytesRead`.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// `socket.bytesWritten`: as in Node, every byte accepted by `write`/`end`, including
    /// those still queued.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// `socket.bufferSize` / `writableLength`: bytes queued and not yet written.
    pub fn buffer_size(&self) -> usize {
        self.queue.len()
    }

    /// `socket.readyState` (docs/node-semantics.md#net-ready-state).
    pub fn ready_state(&self) -> ReadyState {
        match self.state {
            State::Connecting { .. } => ReadyState::Opening,
            State::Closed => ReadyState::Closed,
            State::Open { read, write } => {
                match (read != ReadHalf::Ended, write == WriteHalf::Open) {
                    (true, true) => ReadyState::Open,
                    (true, false) => ReadyState::ReadOnly,
                    (false, true) => ReadyState::WriteOnly,
                    (false, false) => ReadyState::Closed,
                }
            }
        }
    }

    /// `socket.isPaused()`.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// `socket.destroyed`: true once `Close` has been queued.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The settings in force (timeouts and options changed by commands included).
    pub fn config(&self) -> &SocketConfig {
        &self.config
    }

    // ---- transitions --------------------------------------------------------------------

    fn enqueue(&mut self, data: Bytes) {
        self.bytes_written += data.len() as u64;
        self.queue.push(data);
    }

    fn emit_end(&mut self, now: Instant) {
        let State::Open { write, .. } = self.state else {
            return;
        };
        self.state = State::Open {
            read: ReadHalf::Ended,
            write,
        };
        self.events.push_back(SocketEvent::End);
        if !self.config.allow_half_open && write == WriteHalf::Open {
            self.set_write_half(WriteHalf::Ending);
        }
        self.touch(now);
        self.progress();
    }

    fn set_write_half(&mut self, new: WriteHalf) {
        match &mut self.state {
            State::Connecting { write } | State::Open { write, .. } => *write = new,
            State::Closed => {}
        }
    }

    /// Applies the transitions that follow from the queue and the halves: `Drain` when a full
    /// queue empties, `Finish` and FIN when an ending queue empties, `Close` when both halves
    /// are done.
    fn progress(&mut self) {
        let State::Open { read, write } = self.state else {
            return;
        };
        if !self.queue.is_empty() {
            return;
        }
        if self.need_drain {
            self.need_drain = false;
            if write == WriteHalf::Open {
                self.events.push_back(SocketEvent::Drain);
            }
        }
        if write == WriteHalf::Ending {
            self.state = State::Open {
                read,
                write: WriteHalf::Finished,
            };
            self.actions.push(Action::Shutdown);
            self.events.push_back(SocketEvent::Finish);
            if self.destroy_on_finish {
                self.close(false, false);
                return;
            }
        }
        if let State::Open {
            read: ReadHalf::Ended,
            write: WriteHalf::Finished,
        } = self.state
        {
            self.close(false, false);
        }
    }

    fn fail(&mut self, error: Error) {
        if self.is_closed() {
            return;
        }
        self.events.push_back(SocketEvent::Error(error));
        self.close(true, false);
    }

    fn close(&mut self, had_error: bool, reset: bool) {
        if self.is_closed() {
            return;
        }
        self.state = State::Closed;
        self.queue.clear();
        self.need_drain = false;
        self.deadline = None;
        self.actions.push(Action::Close { reset });
        self.events.push_back(SocketEvent::Close { had_error });
    }

    fn queue_socket_options(&mut self) {
        if self.config.no_delay {
            self.actions.push(Action::SetNoDelay(true));
        }
        if let Some(delay) = self.config.keep_alive {
            self.actions.push(Action::SetKeepAlive(Some(delay)));
        }
    }

    /// Activity: re-arm the idle timer (Node docs `net.md` › `socket.setTimeout()`).
    fn touch(&mut self, now: Instant) {
        self.deadline = self.config.timeout.map(|timeout| now + timeout);
    }
}

sansnet_core::forward_machine!(Socket, SocketEvent, poll_transmit);
