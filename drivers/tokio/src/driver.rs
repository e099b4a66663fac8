//! The drain rule over a TCP or Unix stream ([`Stream`]): what every task of this crate runs
//! for its connection, whichever application sits above it.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::Instant;

use sansnet_core::Action;
use sansnet_os::{Transport, drain, socket};
use sansnet_stack::Connection;
use tokio::sync::Notify;
use tokio::time::Sleep;

use crate::net::Stream;

/// How many bytes one read asks the OS for.
const READ_CHUNK: usize = 64 * 1024;

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

/// The OS half of one connection: its stream (until the stack closes it), a read buffer and
/// its timer.
#[derive(Debug)]
pub(crate) struct Io {
    stream: Option<Stream>,
    buf: Box<[u8]>,
    /// The timer and the instant it is armed for (made on the first wait, in the task).
    timer: Option<(Pin<Box<Sleep>>, Option<Instant>)>,
}

impl Io {
    pub(crate) fn new(stream: Option<Stream>) -> Self {
        Self {
            stream,
            buf: vec![0; READ_CHUNK].into_boxed_slice(),
            timer: None,
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

    /// One round of the drain rule (`sansnet_os::drain::round`: one read when `caught_up`,
    /// drive, flush, actions); the caller then hands the events on and repeats while
    /// anything moved. Expired deadlines fire first.
    pub(crate) fn round(&mut self, now: Instant, conn: &mut Connection, caught_up: bool) -> bool {
        if conn.poll_timeout().is_some_and(|t| t <= now) {
            conn.handle_timeout(now);
        }
        drain::round(
            conn,
            now,
            &mut Os(&mut self.stream),
            &mut self.buf,
            caught_up,
        )
        .moved
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
    ///
    /// The timer is re-armed lazily: a deadline later than the armed one leaves it (it fires
    /// early once, the round finds nothing due and the next wait arms the new deadline), so
    /// the keep-alive deadline that every request pushes back costs no timer-wheel work per
    /// request.
    pub(crate) async fn wait(&mut self, want: Want, pending: &Pending) {
        let (timer, armed) = self.timer.get_or_insert_with(|| {
            let far = tokio::time::Instant::now() + std::time::Duration::from_secs(86_400);
            (Box::pin(tokio::time::sleep_until(far)), None)
        });
        if let Some(deadline) = want.deadline
            && armed.is_none_or(|at| at > deadline)
        {
            timer.as_mut().reset(deadline.into());
            *armed = Some(deadline);
        }
        let timing = armed.is_some();
        let stream = self.stream.as_ref();
        tokio::select! {
            // No random draw: whichever is ready, the caller runs one round.
            biased;
            _ = poll_fn(|cx| stream.map_or(Poll::Pending, |s| s.poll_readable(cx))),
                if want.read && stream.is_some() => {}
            _ = poll_fn(|cx| stream.map_or(Poll::Pending, |s| s.poll_writable(cx))),
                if want.write && stream.is_some() => {}
            () = timer.as_mut(), if timing => *armed = None,
            () = pending.taken(), if want.behind => {}
            // Nothing to wait for here: only the application (a command) moves it.
            else => std::future::pending::<()>().await,
        }
    }
}

/// The stream (until the stack closes it) as the drain rule's transport.
struct Os<'a>(&'a mut Option<Stream>);

impl Transport for Os<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.0 {
            Some(stream) => stream.try_read(buf),
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self.0 {
            Some(stream) => stream.try_send_vectored(bufs),
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn apply(&mut self, action: Action) -> io::Result<()> {
        let Some(stream) = self.0 else {
            return Ok(());
        };
        let result = socket::apply(stream, action);
        if let Action::Close { .. } = action {
            *self.0 = None;
        }
        result
    }
}
