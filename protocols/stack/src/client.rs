//! The HTTP client layer: a `sansnet_http1::ClientConnection` riding on the socket machine,
//! opened and reused as a `sansnet_http1::Agent` decides.
//!
//! The layer only moves bytes and collects what happened as [`Note`]s; the owner of the agent
//! and its requests (the driver today) acts on them.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use sansnet_http1::{
    ClientConfig, ClientConnection, ClientEvent, ConnectionId, PoolRequestId, RequestId,
};
use sansnet_tcp::{Socket, SocketEvent};

use crate::pump::{append, pump};

/// What happened on a client connection, for the agent's owner to act on.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "notes live for one turn of the loop; boxing would allocate per HTTP event, and \
              `ClientEvent` is large because its headers are stored inline to avoid exactly that"
)]
pub enum Note {
    /// TCP is up: the agent may assign a request.
    Connected,
    /// The TCP connect failed.
    ConnectFailed(ErrorKind),
    /// An event of the HTTP machine.
    Http(ClientEvent),
    /// The socket failed after connecting (a reset, a TLS failure, ...).
    SocketError(sansnet_tcp::Error),
    /// The socket closed.
    Closed,
}

/// The HTTP client machine of one pooled connection.
#[derive(Debug)]
pub struct ClientLayer {
    /// The agent's name for this connection.
    pub connection: ConnectionId,
    config: ClientConfig,
    /// Created once TCP is up.
    pub conn: Option<ClientConnection>,
    /// The request this connection carries now: the agent's id and the machine's id.
    pub current: Option<(PoolRequestId, RequestId)>,
    /// The current response's `Keep-Alive: timeout` hint, for the agent.
    pub keep_alive_hint: Option<std::time::Duration>,
    buf: BytesMut,
    handed_over: bool,
    /// Reading waits for the agent's owner after a hand-over, until it has decided who gets
    /// the socket.
    pub hold: bool,
    /// What happened, in order.
    pub notes: VecDeque<Note>,
}

impl ClientLayer {
    /// A layer for the agent's `connection`; its machine is made with `config` once TCP is up.
    pub fn new(connection: ConnectionId, config: ClientConfig) -> Self {
        Self {
            connection,
            config,
            conn: None,
            current: None,
            keep_alive_hint: None,
            buf: BytesMut::new(),
            handed_over: false,
            hold: false,
            notes: VecDeque::new(),
        }
    }

    /// A socket event: fed to the HTTP machine, or noted; `Some` passes it to the
    /// application (only after a hand-over, when the socket is raw).
    pub(crate) fn intercept(&mut self, now: Instant, event: SocketEvent) -> Option<SocketEvent> {
        if self.handed_over {
            return Some(event);
        }
        match event {
            SocketEvent::Connect => {
                self.conn = Some(ClientConnection::new(now, self.config.clone()));
                self.notes.push_back(Note::Connected);
            }
            SocketEvent::Data(data) => {
                if let Some(conn) = &mut self.conn {
                    append(&mut self.buf, data);
                    conn.handle_input(now, &mut self.buf);
                }
            }
            SocketEvent::End => {
                if let Some(conn) = &mut self.conn {
                    conn.handle_eof(now);
                }
            }
            SocketEvent::Error(sansnet_tcp::Error::Io(kind)) if self.conn.is_none() => {
                self.notes.push_back(Note::ConnectFailed(kind));
            }
            SocketEvent::Error(error) => {
                self.notes.push_back(Note::SocketError(error));
            }
            SocketEvent::Close { .. } => {
                self.take_events();
                self.notes.push_back(Note::Closed);
            }
            _ => {}
        }
        // What the HTTP machine made of this input comes before anything the socket says
        // next (a close after the response's last byte must not overtake its `End`).
        self.take_events();
        None
    }

    fn take_events(&mut self) {
        if let Some(conn) = &mut self.conn {
            while let Some(event) = conn.poll_event() {
                self.notes.push_back(Note::Http(event));
            }
        }
    }

    /// Moves request bytes into the socket, carries out the machine's actions and notes its
    /// events; returns whether anything moved.
    pub(crate) fn pump(&mut self, now: Instant, socket: &mut Socket) -> bool {
        let Some(conn) = &mut self.conn else {
            return false;
        };
        if self.handed_over {
            return false;
        }
        let pumped = pump(now, conn, socket);
        if pumped.handed_over {
            // Nothing more is read until the owner has decided who gets the socket (a
            // WebSocket machine, or the application as a raw socket).
            self.handed_over = true;
            self.hold = true;
        }
        let mut moved = pumped.moved;
        while let Some(event) = conn.poll_event() {
            moved = true;
            self.notes.push_back(Note::Http(event));
        }
        moved
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match (&self.conn, self.handed_over) {
            (Some(conn), false) => conn.poll_timeout(),
            _ => None,
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if let (Some(conn), false) = (&mut self.conn, self.handed_over) {
            conn.handle_timeout(now);
        }
    }

    /// Sends `head` and any buffered `body` (and the end, if `ended`) on this connection's
    /// machine, as the agent's `request`.
    pub fn start(
        &mut self,
        now: Instant,
        request: PoolRequestId,
        head: sansnet_http1::ClientRequest,
        body: &[Bytes],
        ended: bool,
    ) -> Result<(), sansnet_http1::Error> {
        let Some(conn) = &mut self.conn else {
            return Err(sansnet_http1::UsageError::Closed.into());
        };
        let id = conn.send_request(now, head)?;
        self.current = Some((request, id));
        for chunk in body {
            conn.write(now, id, chunk.clone())?;
        }
        if ended {
            conn.end(now, id, None)?;
        }
        Ok(())
    }
}
