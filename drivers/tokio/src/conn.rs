//! One connection in a task of its own: the application's commands in over a channel, the
//! stack's events out over another.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use sansnet_stack::{Connection, Event};
use sansnet_tcp::Address;
use tokio::sync::{mpsc, oneshot};

use crate::driver::{Io, Pending, Ticket};
use crate::net::Stream;

/// A command: a closure run on the connection's stack in its task.
type Command = Box<dyn FnOnce(&mut Connection, Instant) + Send>;

/// The connection's task is over (its socket closed): the command did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the connection is closed")
    }
}

impl std::error::Error for Closed {}

/// Runs commands on a connection driven by its own task (see [`spawn`]).
#[derive(Debug, Clone)]
pub struct Handle {
    commands: mpsc::UnboundedSender<Command>,
}

impl Handle {
    /// Runs `command` on the connection's stack in its task (`socket.write()`, `end()`,
    /// `setTimeout()`, ... through [`Connection::socket_mut`]), then the drain rule; returns
    /// what `command` returned.
    pub async fn run<T: Send + 'static>(
        &self,
        command: impl FnOnce(&mut Connection, Instant) -> T + Send + 'static,
    ) -> Result<T, Closed> {
        self.send(command)?.await.map_err(|_| Closed)
    }

    /// Queues `command` for the connection's task; its answer comes on the returned channel.
    pub(crate) fn send<T: Send + 'static>(
        &self,
        command: impl FnOnce(&mut Connection, Instant) -> T + Send + 'static,
    ) -> Result<oneshot::Receiver<T>, Closed> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Box::new(move |conn, now| {
                let _ = tx.send(command(conn, now));
            }))
            .map_err(|_| Closed)?;
        Ok(rx)
    }
}

/// The events of a connection driven by its own task, in order; `close` is the last.
#[derive(Debug)]
pub struct Events {
    events: mpsc::UnboundedReceiver<(Event, Ticket)>,
    /// The event returned last counts as not taken until the application asks for the next
    /// one: its commands in answer (sent before that) run before the connection reads on.
    last: Option<Ticket>,
}

impl Events {
    /// The next event; `None` after the last. The connection reads on only once the
    /// application came back for the next event (or dropped `Events`): the commands it ran
    /// in answer to the earlier ones go first, as in Node, where a `'data'` listener's
    /// `write` runs before the next read.
    pub async fn recv(&mut self) -> Option<Event> {
        self.last = None;
        let (event, ticket) = self.events.recv().await?;
        self.last = Some(ticket);
        Some(event)
    }
}

/// Drives `conn`, the stack of the accepted (or connected) `stream`, in a task of its own:
/// Node's `net.Socket` over tokio. `stream` is a `tokio::net::TcpStream` or `UnixStream` (see
/// [`Stream`]). Needs a tokio runtime with the IO and time drivers.
pub fn spawn(conn: Connection, stream: impl Into<Stream>) -> (Handle, Events) {
    start(conn, Io::new(Some(stream.into())), None)
}

/// `net.connect()`: connects to `address` (a `SocketAddr`, or `Address::Unix(path)` for
/// `net.connect(path)`) and drives `conn` (made with [`Connection::connect`]) on the new
/// socket; a failed connect ends it with the error.
pub fn connect(conn: Connection, address: impl Into<Address>) -> (Handle, Events) {
    start(conn, Io::new(None), Some(address.into()))
}

fn start(conn: Connection, io: Io, address: Option<Address>) -> (Handle, Events) {
    let (handle, events, channels) = channels();
    tokio::spawn(async move {
        let (mut conn, mut io) = (conn, io);
        if let Some(address) = address {
            io.connected(&mut conn, Stream::connect(&address).await);
        }
        drive(conn, io, Arc::new(Pending::default()), channels).await;
    });
    (handle, events)
}

impl Events {
    /// The next event with its ticket, for a reader that keeps tickets itself
    /// (`crate::NetStream`): the connection reads on once every ticket was dropped.
    pub(crate) fn poll_ticketed(&mut self, cx: &mut Context<'_>) -> Poll<Option<(Event, Ticket)>> {
        self.last = None;
        self.events.poll_recv(cx)
    }

    /// Holds the connection's reads until the application first asks for an event (or drops
    /// this): a connection handed over waits for its new owner to set up (a WebSocket
    /// machine started with `Connection::start_ws`, say) before anything more is read.
    pub(crate) fn hold(&mut self, ticket: Ticket) {
        self.last = Some(ticket);
    }
}

/// The task's ends of a [`Handle`] and [`Events`] pair.
#[derive(Debug)]
pub(crate) struct Channels {
    commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) events: mpsc::UnboundedSender<(Event, Ticket)>,
}

/// A [`Handle`] and [`Events`] pair, and the ends the connection's task keeps.
pub(crate) fn channels() -> (Handle, Events, Channels) {
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let (events_tx, events) = mpsc::unbounded_channel();
    let channels = Channels {
        commands: commands_rx,
        events: events_tx,
    };
    (Handle { commands }, Events { events, last: None }, channels)
}

/// Drives `conn` until it closes, its events out through `channels`, commands in.
pub(crate) async fn drive(
    mut conn: Connection,
    mut io: Io,
    pending: Arc<Pending>,
    channels: Channels,
) {
    let Channels {
        mut commands,
        events,
    } = channels;
    let mut listening = true;
    loop {
        loop {
            let now = Instant::now();
            let mut moved = io.round(now, &mut conn, pending.caught_up());
            while let Some(event) = conn.poll_event() {
                moved = true;
                // An application that dropped `Events` takes every event.
                let _ = events.send((event, pending.ticket()));
            }
            if !moved {
                break;
            }
        }
        if conn.is_closed() {
            return;
        }
        let want = io.want(&conn, &pending);
        // The application's commands before more reading, without tokio's random draw.
        tokio::select! {
            biased;
            command = commands.recv(), if listening => match command {
                Some(command) => command(&mut conn, Instant::now()),
                None => listening = false,
            },
            () = io.wait(want, &pending) => {}
        }
    }
}
