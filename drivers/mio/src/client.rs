//! The HTTP client layer: a `sansnet_http1::ClientConnection` riding on a connection's
//! `sansnet_tcp::Socket`, opened and reused as the `sansnet_http1::Agent` decides.
//!
//! The layer only moves bytes and collects what happened as [`Note`]s; the event loop, which
//! owns the agent and the requests, acts on them.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use sansnet_http1::{
    Action, ClientConfig, ClientConnection, ClientEvent, ConnectionId, PoolRequestId, RequestId,
};
use sansnet_tcp::{Socket, SocketEvent};

/// What happened on a client connection, for the event loop to act on.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "notes live for one turn of the loop; boxing would allocate per HTTP event, and \
              `ClientEvent` is large because its headers are stored inline to avoid exactly that"
)]
pub(crate) enum Note {
    /// TCP is up: the agent may assign a request.
    Connected,
    /// The TCP connect failed.
    ConnectFailed(ErrorKind),
    /// An event of the HTTP machine.
    Http(ClientEvent),
    /// The socket failed after connecting (reset, a TLS failure, ...).
    SocketError(crate::ClientError),
    /// The socket closed.
    Closed,
}

/// The HTTP client machine of one pooled connection.
#[derive(Debug)]
pub(crate) struct ClientLayer {
    /// The agent's name for this connection.
    pub(crate) connection: ConnectionId,
    config: ClientConfig,
    /// Created once TCP is up.
    pub(crate) conn: Option<ClientConnection>,
    /// The request this connection carries now: the agent's id and the machine's id.
    pub(crate) current: Option<(PoolRequestId, RequestId)>,
    /// The current response's `Keep-Alive: timeout` hint, for the agent.
    pub(crate) keep_alive_hint: Option<std::time::Duration>,
    buf: BytesMut,
    handed_over: bool,
    /// Reading waits for the event loop after a hand-over.
    pub(crate) hold: bool,
    pub(crate) notes: VecDeque<Note>,
}

impl ClientLayer {
    pub(crate) fn new(connection: ConnectionId, config: ClientConfig) -> Self {
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
                    if self.buf.is_empty() {
                        self.buf = data
                            .try_into_mut()
                            .unwrap_or_else(|d| BytesMut::from(&d[..]));
                    } else {
                        self.buf.extend_from_slice(&data);
                    }
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
                let error = match error {
                    sansnet_tcp::Error::Io(kind) => crate::ClientError::Io(kind),
                    sansnet_tcp::Error::Layer { code, message } => {
                        crate::ClientError::Tls { code, message }
                    }
                    _ => crate::ClientError::Io(ErrorKind::Other),
                };
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
        let mut moved = false;
        let mut drained = false;
        while socket.buffer_size() < socket.config().high_water_mark {
            let Some(chunk) = conn.pop_transmit(now) else {
                drained = true;
                break;
            };
            moved = true;
            let _ = socket.write(now, chunk);
        }
        // An end waits until every request byte before it is in the socket.
        while drained && let Some(action) = conn.poll_action() {
            moved = true;
            match action {
                Action::Shutdown => {
                    let _ = socket.end(now, None);
                }
                Action::Destroy => socket.destroy(now),
                Action::HandOver => {
                    // Nothing more is read until the event loop has decided who gets the
                    // socket (a WebSocket machine, or the application as a raw socket).
                    self.handed_over = true;
                    self.hold = true;
                }
                _ => {}
            }
        }
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

    /// Sends `head` and any buffered body on this connection's machine.
    pub(crate) fn start(
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
