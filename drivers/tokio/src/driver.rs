//! The drain rule over a TCP or Unix stream ([`Stream`]): what every task of this crate runs
//! for its connection, whichever application sits above it.

use std::io::{self, IoSlice};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Instant, SystemTime};

use sansnet_core::Action;
use sansnet_stack::Connection;
use tokio::sync::Notify;

use crate::net::Stream;

/// How many bytes one read asks the OS for.
const READ_CHUNK: usize = 64 * 1024;
/// How many slices one vectored write gathers.
const MAX_SLICES: usize = 64;

/// The events of one connection handed to its application and not taken yet. Nothing more is
/// read while there are any: the application answers one read's events before the next read
/// (or the peer's FIN) reaches the machines, as Node runs `'data'` listeners before it reads
/// on (the rule of the mio driver, `sansnet_stack::Connection`'s loop).
#[derive(Debug, Default)]
pub(crate) struct Pending {
    count: AtomicUsize,
    taken: Notify,
}

impl Pending {
    /// A ticket for one event handed on: the event counts as taken when it is dropped.
    pub(crate) fn ticket(self: &Arc<Self>) -> Ticket {
        self.count.fetch_add(1, Ordering::AcqRel);
        Ticket(self.clone())
    }

    /// Whether the application took every event handed to it.
    pub(crate) fn caught_up(&self) -> bool {
        self.count.load(Ordering::Acquire) == 0
    }

    /// Resolves once the last event handed on was taken (or at once if a wake-up is stored).
    pub(crate) async fn taken(&self) {
        self.taken.notified().await;
    }
}

/// One event handed to the application and not taken yet (see [`Pending`]).
#[derive(Debug)]
pub(crate) struct Ticket(Arc<Pending>);

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.taken.notify_one();
        }
    }
}

/// What a connection waits for before its next round.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Want {
    read: bool,
    write: bool,
    deadline: Option<Instant>,
    /// Events wait to be taken.
    behind: bool,
}

/// The OS half of one connection: its stream (until the stack closes it) and a read buffer.
#[derive(Debug)]
pub(crate) struct Io {
    stream: Option<Stream>,
    buf: Box<[u8]>,
}

impl Io {
    pub(crate) fn new(stream: Option<Stream>) -> Self {
        Self {
            stream,
            buf: vec![0; READ_CHUNK].into_boxed_slice(),
        }
    }

    /// The connect of a client connection finished (or failed): tells `conn`.
    pub(crate) fn connected(&mut self, conn: &mut Connection, result: io::Result<Stream>) {
        let now = Instant::now();
        match result {
            Ok(stream) => {
                self.stream = Some(stream);
                conn.handle_connected(now);
            }
            Err(e) => conn.handle_io_error(now, e.kind()),
        }
    }

    /// Steps 1 to 4 of the drain rule, once (flush, actions, one read when `caught_up`,
    /// drive); the caller then hands the events on and repeats while anything moved. Expired
    /// deadlines fire first.
    pub(crate) fn round(&mut self, now: Instant, conn: &mut Connection, caught_up: bool) -> bool {
        if conn.poll_timeout().is_some_and(|t| t <= now) {
            conn.handle_timeout(now);
        }
        let mut moved = self.flush(now, conn);
        while let Some(action) = conn.poll_action() {
            moved = true;
            self.apply(now, conn, action);
        }
        if caught_up && conn.wants_read() {
            moved |= self.read(now, conn);
        }
        moved | conn.drive(now, caught_up)
    }

    /// What to wait for, from the stack's state after a round.
    pub(crate) fn want(&self, conn: &Connection, pending: &Pending) -> Want {
        let open = self.stream.is_some();
        let caught_up = pending.caught_up();
        Want {
            read: open && caught_up && conn.wants_read(),
            write: open && conn.wants_write(),
            deadline: conn.poll_timeout(),
            behind: !caught_up,
        }
    }

    /// Waits for what `want` names: readability, writability, the deadline, or the
    /// application taking its events.
    pub(crate) async fn wait(&self, want: Want, pending: &Pending) {
        let deadline = want.deadline.map(tokio::time::Instant::from_std);
        let stream = self.stream.as_ref();
        tokio::select! {
            _ = async { stream?.readable().await.ok() }, if want.read && stream.is_some() => {}
            _ = async { stream?.writable().await.ok() }, if want.write && stream.is_some() => {}
            () = async {
                if let Some(deadline) = deadline {
                    tokio::time::sleep_until(deadline).await;
                }
            }, if deadline.is_some() => {}
            () = pending.taken(), if want.behind => {}
            // Nothing to wait for here: only the application (a command) moves it.
            else => std::future::pending::<()>().await,
        }
    }

    /// Writes what the stack offers until it is empty or the OS would block.
    fn flush(&mut self, now: Instant, conn: &mut Connection) -> bool {
        let Some(stream) = &self.stream else {
            return false;
        };
        let mut moved = false;
        while conn.wants_write() {
            let result = {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let n = conn.transmit_chunks(&mut slices);
                stream.try_write_vectored(&slices[..n])
            };
            match result {
                Ok(0) => break,
                Ok(n) => {
                    conn.advance_transmit(now, n);
                    moved = true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    conn.handle_io_error(now, e.kind());
                    return true;
                }
            }
        }
        moved
    }

    /// Carries out one action of the stack on the OS socket.
    fn apply(&mut self, now: Instant, conn: &mut Connection, action: Action) {
        let Some(stream) = &self.stream else {
            return;
        };
        let result = match action {
            Action::Shutdown => match stream.shutdown_write() {
                // The peer is already gone; the next read reports how.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
                other => other,
            },
            Action::Close { reset } => {
                if reset {
                    stream.set_reset();
                }
                self.stream = None;
                Ok(())
            }
            Action::SetNoDelay(on) => stream.set_nodelay(on),
            Action::SetKeepAlive(delay) => stream.set_keepalive(delay),
            _ => Ok(()),
        };
        if let Err(e) = result {
            conn.handle_io_error(now, e.kind());
        }
    }

    /// Reads once and hands the stack what arrived.
    fn read(&mut self, now: Instant, conn: &mut Connection) -> bool {
        let Some(stream) = &self.stream else {
            return false;
        };
        loop {
            match stream.try_read(&mut self.buf) {
                Ok(0) => {
                    conn.handle_eof(now);
                    return true;
                }
                Ok(n) => {
                    conn.set_date(SystemTime::now());
                    conn.handle_input(now, &self.buf[..n]);
                    return true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) => {
                    conn.handle_io_error(now, e.kind());
                    return true;
                }
            }
        }
    }
}
