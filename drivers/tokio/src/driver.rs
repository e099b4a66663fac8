//! The drain rule over a TCP or Unix stream ([`Stream`]): what every task of this crate runs
//! for its connection, whichever application sits above it.

use std::cell::RefCell;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use sansnet_core::Action;
use sansnet_os::{Transport, drain, socket};
use sansnet_stack::Connection;
use tokio::time::Sleep;

use crate::net::Stream;

/// How many bytes one read asks the OS for.
const READ_CHUNK: usize = 64 * 1024;

thread_local! {
    /// The read buffer of every connection polled on this thread. A read's bytes go into the
    /// stack (`Connection::handle_input` copies them) within the poll that read them, so one
    /// buffer serves them all, as the mio driver's one buffer per loop does, and an idle
    /// connection holds none.
    static READ_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
}

/// The events of one connection handed to another task (a request's handler, a response's
/// reader) and not taken yet. Nothing more is read while there are any: the application
/// answers one read's events before the next read (or the peer's FIN) reaches the machines,
/// as Node runs `'data'` listeners before it reads on (`sansnet_stack::Connection`'s loop).
#[derive(Debug, Default)]
pub(crate) struct Pending {
    count: AtomicUsize,
    /// The connection's task, waiting for the last ticket.
    waiter: Mutex<Option<Waker>>,
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

    /// Ready once every event handed on was taken; else `cx` is woken then.
    fn poll_taken(&self, cx: &mut Context<'_>) -> Poll<()> {
        *self.waiter.lock().unwrap_or_else(PoisonError::into_inner) = Some(cx.waker().clone());
        if self.caught_up() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// One event handed to the application and not taken yet (see [`Pending`]).
#[derive(Debug)]
pub(crate) struct Ticket(Arc<Pending>);

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            let waiter = self
                .0
                .waiter
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(waiter) = waiter {
                waiter.wake();
            }
        }
    }
}

/// What a connection waits for before its next round, from the stack's state after one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Want {
    pub(crate) read: bool,
    pub(crate) write: bool,
    pub(crate) deadline: Option<Instant>,
}

/// The OS half of one connection: its stream (until the stack closes it) and its timer.
#[derive(Debug, Default)]
pub(crate) struct Io {
    stream: Option<Stream>,
    /// The timer and the instant it is armed for (made on the first wait, in the task).
    timer: Option<(Pin<Box<Sleep>>, Option<Instant>)>,
}

impl Io {
    pub(crate) fn new(stream: Option<Stream>) -> Self {
        Self {
            stream,
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
        let mut os = Os(&mut self.stream);
        READ_BUF.with_borrow_mut(|buf| drain::round(conn, now, &mut os, buf, caught_up).moved)
    }

    /// What to wait for, from the stack's state after a round.
    pub(crate) fn want(&self, conn: &Connection) -> Want {
        let open = self.stream.is_some();
        Want {
            read: open && conn.wants_read(),
            write: open && conn.wants_write(),
            deadline: conn.poll_timeout(),
        }
    }

    /// Ready once what `want` names came: readability (only once the application took every
    /// event handed on, when they are counted in `pending`), writability, the deadline, or
    /// the application taking its events.
    ///
    /// The timer is re-armed lazily: a deadline later than the armed one leaves it (it fires
    /// early once, the round finds nothing due and the next wait arms the new deadline), so
    /// the keep-alive deadline that every request pushes back costs no timer-wheel work per
    /// request.
    pub(crate) fn poll_wait(
        &mut self,
        cx: &mut Context<'_>,
        want: Want,
        pending: Option<&Pending>,
    ) -> Poll<()> {
        let behind = pending.is_some_and(|p| !p.caught_up());
        if behind && pending.is_some_and(|p| p.poll_taken(cx).is_ready()) {
            return Poll::Ready(());
        }
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
        if let Some(stream) = &self.stream
            && ((want.read && !behind && stream.poll_readable(cx).is_ready())
                || (want.write && stream.poll_writable(cx).is_ready()))
        {
            return Poll::Ready(());
        }
        if armed.is_some() && timer.as_mut().poll(cx).is_ready() {
            *armed = None;
            return Poll::Ready(());
        }
        Poll::Pending
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
