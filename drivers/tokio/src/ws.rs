//! WebSocket over tokio: the stack's WebSocket layer (`sansnet_ws::Connection` above the
//! socket machine, TLS beneath it for `wss:`) on a [`Socket`] driven by the task that owns
//! it, as a [`WebSocket`] with the `ws` package's meaning: [`WebSocket::recv`] for
//! `'message'` (a stream of messages), [`WebSocket::send`] for `ws.send()`,
//! [`WebSocket::close`] for `ws.close()`.
//!
//! A server starts one on the connection of an `Upgrade` request ([`accept_ws`]); a client
//! opens one with [`ws_connect`], which runs the stack's `Endpoint::ws_connect` (the
//! handshake, permessage-deflate offered and checked) on a connection of its own. Every
//! decision (the handshake, framing, Pings, the closing handshake, who closes TCP) is the
//! machines'; this module moves the events and commands, and supplies the randomness.

use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use sansnet_http1::AgentConfig;
use sansnet_stack::WsOpenError;
use sansnet_ws::{Message, UsageError, WsEvent};

use tokio::sync::mpsc;

use crate::{Event, Socket, Upgraded};

/// Settings of a WebSocket, either end (the `ws` package's `options`).
#[derive(Debug, Clone, Default)]
pub struct WsOptions {
    /// The machine's settings: `maxPayload`, `autoPong`, the close timeout, the high-water
    /// mark, and `perMessageDeflate` ([`sansnet_ws::DeflateConfig`]: offered by a client,
    /// agreed to by a server; on by default).
    pub config: sansnet_ws::Config,
    /// Subprotocols: a client offers them in this order (`new WebSocket(url, protocols)`); a
    /// server chooses the first of its own, in this order, that the client offered (see
    /// `sansnet_ws::handshake::accept`).
    pub protocols: Vec<String>,
    /// The TLS settings of a `wss:` client, built with `sansnet_tls::ClientOptions::build`
    /// (as [`crate::Client::set_https_config`]); without them the server is verified against
    /// Mozilla's root certificates, as Node does. Not used by a server (its TLS is the
    /// `Acceptor`'s).
    pub tls: Option<Arc<sansnet_tls::rustls::ClientConfig>>,
}

impl WsOptions {
    /// Options with `config` and no subprotocols.
    pub fn new(config: sansnet_ws::Config) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }
}

/// Why a WebSocket command failed, or what the peer did wrong: the machine's one error type
/// ([`sansnet_ws::Error`]). A command on a closed WebSocket, or one whose connection's task is
/// over, fails with `Usage(UsageError::Closed)`.
pub use sansnet_ws::Error as WsError;

/// Why [`ws_connect`] gave no WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsConnectError {
    /// Not a `ws[s]://host[:port][/path]` URL (`ERR_INVALID_URL`, `ERR_INVALID_PROTOCOL`:
    /// `sansnet_http1::Origin::parse_ws_url`).
    InvalidUrl(sansnet_http1::Error),
    /// The WebSocket did not open: the connection failed (`ECONNREFUSED`, `ENOTFOUND`, a TLS
    /// error; see `ClientError::code`) or the server's answer was no valid handshake (not a
    /// 101, a wrong `Sec-WebSocket-Accept`, an extension not offered, ...).
    Open(WsOpenError),
    /// The connection ended without an answer to the handshake.
    Closed,
}

impl std::fmt::Display for WsConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidUrl(error) => error.fmt(f),
            Self::Open(error) => error.fmt(f),
            Self::Closed => f.write_str("the connection closed during the handshake"),
        }
    }
}

impl std::error::Error for WsConnectError {}

/// How a WebSocket ended: the machine's `Close` event (the `ws` package's `'close'` with
/// `code` and `reason`, and WHATWG's `wasClean`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseStatus {
    /// The close code: the peer's (or ours, echoed), 1005 when its Close had none, 1006 when
    /// no Close frame arrived (RFC 6455 §7.1.5).
    pub code: u16,
    /// The close reason.
    pub reason: String,
    /// Whether the closing handshake completed.
    pub was_clean: bool,
}

impl From<CloseStatus> for WsEvent {
    fn from(status: CloseStatus) -> Self {
        Self::Close {
            code: status.code,
            reason: status.reason,
            was_clean: status.was_clean,
        }
    }
}

/// A command run on the WebSocket machine by the task that owns the [`WebSocket`].
type Command = Box<dyn FnOnce(&mut sansnet_ws::Connection, Instant) + Send>;

/// Commands on a WebSocket from any task (the `Sink` half of a split), cheap to clone
/// ([`WebSocket::sender`]). As in Node, they do not wait: each runs in the task that owns the
/// [`WebSocket`] while it awaits [`WebSocket::recv`] (or `next_event`, `send`), before the
/// next read; what the machine refuses then (a send after the close began) is dropped.
#[derive(Debug, Clone)]
pub struct WsSender {
    commands: mpsc::UnboundedSender<Command>,
}

impl WsSender {
    /// `ws.send(message)`: queues one message (see [`WebSocket::send`]); fails once the
    /// [`WebSocket`] was dropped.
    pub fn send(&self, message: Message) -> Result<(), WsError> {
        self.command(move |ws, now| drop(ws.send(now, message)))
    }

    /// `ws.close(code, reason)`: see [`WebSocket::close`].
    pub fn close(&self, code: u16, reason: &str) -> Result<(), WsError> {
        let reason = reason.to_owned();
        self.command(move |ws, now| drop(ws.close(now, Some(code), &reason)))
    }

    /// Queues any command on the WebSocket machine (`ping`, `terminate`, ...).
    pub fn command(
        &self,
        command: impl FnOnce(&mut sansnet_ws::Connection, Instant) + Send + 'static,
    ) -> Result<(), WsError> {
        self.commands.send(Box::new(command)).map_err(|_| closed())
    }
}

/// The error of a command on a WebSocket that closed.
fn closed() -> WsError {
    WsError::Usage(UsageError::Closed)
}

/// One WebSocket, either end: its messages in order through [`WebSocket::recv`] (the `ws`
/// package's `'message'`), its commands through [`WebSocket::send`], [`WebSocket::close`] and
/// a [`WsSender`] for other tasks.
///
/// The connection reads the next message only once the application came back for it (or
/// dropped the `WebSocket`): what it sends in answer to one message goes out before the next
/// is read, as with the `ws` package's `'message'` listeners. Keep calling `recv` (or
/// `next_event`) until it returns `None`: the peer's Close, Pings and the end of the
/// connection reach the machine through it. Dropping the `WebSocket` leaves the connection
/// to the machine in a task of its own (see [`Socket`]), which reads on, answers Pings and
/// the peer's Close, and closes when the peer does.
///
/// # Example
///
/// An echo server and a client of it, with permessage-deflate (on by default):
///
/// ```
/// use sansnet_tokio::{Message, Request, Response, WsOptions, accept_ws, serve_with, ws_connect};
/// use sansnet_stack::Acceptor;
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     // Node's `new WebSocketServer({ server })`: the server's `'upgrade'` listener.
///     let http = sansnet_http1::ServerConfig { upgrade: true, ..Default::default() };
///     let acceptor = Acceptor::new(Default::default()).with_http(http);
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
///     let server = serve_with(listener, acceptor, |mut request: Request| async move {
///         let Some(upgraded) = request.take_upgrade() else {
///             return Response::new(426);
///         };
///         if let Ok(mut ws) = accept_ws(upgraded, request.head(), &WsOptions::default()).await {
///             tokio::spawn(async move {
///                 while let Some(Ok(message)) = ws.recv().await {
///                     let _ = ws.send(message).await;
///                 }
///             });
///         }
///         Response::new(101) // not sent: the connection is the WebSocket's
///     })?;
///
///     // `new WebSocket(url)`.
///     let url = format!("ws://{}/echo", server.local_addr());
///     let mut ws = ws_connect(&url, &WsOptions::default()).await?;
///     assert!(ws.deflate(), "permessage-deflate agreed");
///     ws.send(Message::text("hello")).await?;
///     assert_eq!(ws.recv().await, Some(Ok(Message::text("hello"))));
///     ws.close(1000, "done").await?;
///     assert_eq!(ws.recv().await, None);
///     assert_eq!(ws.close_status().map(|s| (s.code, s.was_clean)), Some((1000, true)));
///     server.close().await;
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct WebSocket {
    socket: Socket,
    protocol: Option<String>,
    closed: Option<CloseStatus>,
    /// The machine's `Close`, given once the connection closed.
    close: Option<WsEvent>,
    commands: mpsc::UnboundedReceiver<Command>,
    sender: WsSender,
}

impl WebSocket {
    fn new(socket: Socket, protocol: Option<String>) -> Self {
        let (tx, commands) = mpsc::unbounded_channel();
        Self {
            socket,
            protocol,
            closed: None,
            close: None,
            commands,
            sender: WsSender { commands: tx },
        }
    }

    /// The next message (`'message'`); `Some(Err(_))` when the peer broke the protocol (the
    /// `ws` package's `'error'`: the Close frame with its code is already queued); `None` once
    /// the WebSocket closed ([`WebSocket::close_status`] tells how). Pings are answered by the
    /// machine; Pings, Pongs and `Drain` are passed over here (see [`WebSocket::next_event`]).
    pub async fn recv(&mut self) -> Option<Result<Message, WsError>> {
        loop {
            match self.next_event().await? {
                WsEvent::Message(message) => return Some(Ok(message)),
                WsEvent::Error(error) => return Some(Err(error)),
                _ => {}
            }
        }
    }

    /// The machine's next event, whatever it is (`Message`, `Ping`, `Pong`, `Error`, `Drain`,
    /// and `Close` last, once the connection closed too, as the `ws` package's `'close'`
    /// follows the socket's); `None` after `Close`. The commands of the [`WsSender`]s run
    /// first.
    pub async fn next_event(&mut self) -> Option<WsEvent> {
        std::future::poll_fn(|cx| self.poll_next_event(cx)).await
    }

    fn poll_next_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<WsEvent>> {
        loop {
            while let Poll::Ready(Some(command)) = self.commands.poll_recv(cx) {
                // Dropped on a connection that is no WebSocket any more.
                if let Some(ws) = self.socket.conn_mut().ws_mut() {
                    command(ws, Instant::now());
                }
            }
            // Nothing but the WebSocket's events reaches its application: the layer takes
            // the socket's.
            let Some(event) = ready!(self.socket.poll_next_event(cx)) else {
                // The connection closed: the machine's `Close`, kept until now, is the last
                // event (the `ws` package's `'close'` follows the socket's).
                return Poll::Ready(self.close.take());
            };
            match event {
                Event::Ws(WsEvent::Close {
                    code,
                    reason,
                    was_clean,
                }) => {
                    let status = CloseStatus {
                        code,
                        reason,
                        was_clean,
                    };
                    self.close = Some(status.clone().into());
                    self.closed = Some(status);
                }
                Event::Ws(event) if self.closed.is_none() => return Poll::Ready(Some(event)),
                _ => {}
            }
        }
    }

    /// `ws.send(message)`: queues one message (compressed when permessage-deflate was agreed
    /// and it reaches the threshold) and waits until the OS took its bytes, as a `Sink`'s
    /// `send` does. The peer's messages meanwhile wait for [`WebSocket::recv`].
    pub async fn send(&mut self, message: Message) -> Result<(), WsError> {
        self.command(|ws, now| ws.send(now, message).map(drop))?;
        self.socket.flush().await;
        Ok(())
    }

    /// `ws.close(code, reason)`: starts the closing handshake (code 1000 or 3000-4999, a
    /// reason of at most 123 bytes: WHATWG WebSockets › `close()`); read on with
    /// [`WebSocket::recv`] until it returns `None`, once it completed (or timed out).
    pub async fn close(&mut self, code: u16, reason: &str) -> Result<(), WsError> {
        self.command(|ws, now| ws.close(now, Some(code), reason))?;
        self.socket.flush().await;
        Ok(())
    }

    /// Runs any command on the WebSocket machine (`ping`, `terminate`, `buffered_amount`,
    /// ...); its bytes go out with the next `recv` or `send`.
    pub fn command<T>(
        &mut self,
        command: impl FnOnce(&mut sansnet_ws::Connection, Instant) -> Result<T, WsError>,
    ) -> Result<T, WsError> {
        let ws = self.socket.conn_mut().ws_mut().ok_or_else(closed)?;
        command(ws, Instant::now())
    }

    /// A handle for commands from other tasks (the `Sink` half of a split).
    pub fn sender(&self) -> WsSender {
        self.sender.clone()
    }

    /// `ws.protocol`: the subprotocol agreed in the handshake.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// `ws.extensions` includes `permessage-deflate`: whether the handshake agreed to it.
    pub fn deflate(&mut self) -> bool {
        self.command(|ws, _| Ok(ws.deflate_enabled()))
            .unwrap_or(false)
    }

    /// How it closed, once the machine's `Close` came (and at the latest once
    /// [`WebSocket::recv`] returned `None`).
    pub fn close_status(&self) -> Option<&CloseStatus> {
        self.closed.as_ref()
    }
}

/// Starts a WebSocket on the connection of an `Upgrade` request (`upgraded` from
/// `Request::take_upgrade`, `request` its head from `Request::head`): checks the handshake
/// (RFC 6455 §4.2.1), agrees to permessage-deflate when offered and `options.config.deflate`
/// allows it (RFC 7692 §5), picks a subprotocol from `options.protocols`, writes the 101 and
/// runs the WebSocket machine on the connection, fed first with the bytes that came after
/// the head. A request that is no valid handshake is answered 400 (426 for another version)
/// and the connection ends: `Err(WsError::Handshake(_))`.
pub async fn accept_ws(
    upgraded: Upgraded,
    request: &sansnet_http1::Request,
    options: &WsOptions,
) -> Result<WebSocket, WsError> {
    let Upgraded { mut socket, head } = upgraded;
    let protocols: Vec<&str> = options.protocols.iter().map(String::as_str).collect();
    let config = options.config.clone();
    let protocol =
        socket
            .conn_mut()
            .accept_ws(Instant::now(), request, head, &protocols, config)?;
    socket.flush().await;
    Ok(WebSocket::new(socket, protocol))
}

/// `new WebSocket(url, protocols, options)`: opens a WebSocket to a `ws://` or `wss://` URL
/// on a connection of its own (for `wss:` with `options.tls`), offering permessage-deflate
/// per `options.config.deflate`; resolves once the server's 101 was verified (the `ws`
/// package's `'open'`), or fails with the request's error (`ECONNREFUSED`, a TLS error) or
/// the handshake's (not a 101, ...). Needs a tokio runtime with the IO and time drivers.
pub async fn ws_connect(url: &str, options: &WsOptions) -> Result<WebSocket, WsConnectError> {
    let (origin, path) =
        sansnet_http1::Origin::parse_ws_url(url).map_err(WsConnectError::InvalidUrl)?;
    let client = crate::Client::with_agent(AgentConfig::default());
    if let Some(tls) = &options.tls {
        client.set_https_config(tls.clone());
    }
    let protocols: Vec<&str> = options.protocols.iter().map(String::as_str).collect();
    let config = options.config.clone();
    match client.ws_connect(origin, &path, &protocols, config).await {
        Ok((socket, protocol)) => Ok(WebSocket::new(socket, protocol)),
        Err(Some(error)) => Err(WsConnectError::Open(error)),
        Err(None) => Err(WsConnectError::Closed),
    }
}
