//! `Connection`: one connection's machines composed, driven as one machine.

use std::collections::VecDeque;
use std::io::{ErrorKind, IoSlice};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use sansnet_core::Action;
use sansnet_tcp::{Socket, SocketConfig};
use sansnet_tls::TlsConnection;
use sansnet_tls::rustls::ClientConfig as TlsClientConfig;

use crate::Event;
use crate::client::ClientLayer;
use crate::http::HttpLayer;
use crate::tls::TlsLayer;
use crate::ws::WsLayer;

/// The machine above the socket machine.
#[derive(Debug)]
enum Upper {
    /// None: the application reads and writes the socket itself (`net.Socket`).
    Raw,
    /// An HTTP/1.1 server connection (`http.Server`).
    Http(Box<HttpLayer>),
    /// A pooled HTTP/1.1 client connection (`http.Agent`).
    Client(Box<ClientLayer>),
    /// A WebSocket, after the HTTP machine handed the socket over.
    Ws(Box<WsLayer>),
}

/// The read size from which the stack's input buffer goes with the bytes read (see
/// [`Connection::handle_input`]): above it one allocation for the next read costs less than
/// the copy it saves.
const TAKE_OVER: usize = 8 * 1024;

/// One connection as a stack of sans-I/O machines: optional TLS at the bottom, the TCP
/// socket machine (Node's `net.Socket`) above it, and optionally an HTTP/1.1 server, an
/// HTTP/1.1 client or a WebSocket machine on top.
///
/// The runtime owns the OS socket and moves bytes, readiness and time; the stack does the
/// rest: TLS records, `close_notify` before the FIN, backpressure between the layers, the
/// hand-over on `Upgrade`/`CONNECT` with the bytes read past the head, one deadline for all.
///
/// One round of the drain rule, repeated until nothing moves:
///
/// 1. write [`Connection::transmit_chunks`] to the OS, reporting [`Connection::advance_transmit`];
/// 2. carry out each [`Connection::poll_action`] on the OS socket;
/// 3. if [`Connection::wants_read`] (and the application took every earlier event), read
///    once: [`Connection::handle_input`], or [`Connection::handle_eof`] on end of stream;
/// 4. [`Connection::drive`] (whether the application took every earlier event);
/// 5. hand each [`Connection::poll_event`] to the application.
///
/// and call [`Connection::handle_timeout`] at [`Connection::poll_timeout`].
#[derive(Debug)]
pub struct Connection {
    socket: Socket,
    /// Boxed: a `TlsConnection` is about 1.5 KiB, and a plain connection (most of them on an
    /// HTTP server) should not carry its room (test `connection_size`).
    tls: Option<Box<TlsLayer>>,
    upper: Upper,
    /// Bytes read from the transport and not consumed yet (ciphertext under TLS).
    input: BytesMut,
    /// Input arrived since the last `drive`: its events go to the application before the
    /// stack looks for an end of stream.
    fresh: bool,
    connecting: bool,
    eof: bool,
    eof_reported: bool,
    actions: VecDeque<Action>,
    events: VecDeque<Event>,
}

impl Connection {
    fn new(socket: Socket, connecting: bool) -> Self {
        Self {
            socket,
            tls: None,
            upper: Upper::Raw,
            input: BytesMut::new(),
            fresh: false,
            connecting,
            eof: false,
            eof_reported: false,
            actions: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// A connection the runtime accepted (`net.Server`'s `connection`).
    pub fn accepted(now: Instant, config: SocketConfig) -> Self {
        Self::new(Socket::accepted(now, config), false)
    }

    /// A connection the runtime is opening (`net.connect()`); tell it
    /// [`Connection::handle_connected`] once the OS connect finished.
    pub fn connect(now: Instant, config: SocketConfig) -> Self {
        Self::new(Socket::connect(now, config), true)
    }

    /// Puts `tls` beneath the socket machine (`tls.connect()`, `tls.Server`); its handshake
    /// clock starts `now`. `announce`: whether its `secureConnect` reaches the application as
    /// [`Event::Secure`] (not for the agent's pooled connections).
    pub fn with_tls(mut self, now: Instant, tls: TlsConnection, announce: bool) -> Self {
        self.tls = Some(Box::new(TlsLayer::new(now, tls, announce)));
        self
    }

    /// Puts a TLS client session for `host` beneath the socket machine (`tls.connect()`):
    /// `host` is the name the server's certificate must carry and the SNI sent (none for an
    /// IP literal). If the session cannot be made (a name that is no DNS name), the socket
    /// machine is destroyed with the TLS error instead, for the application to see.
    pub fn with_tls_client(mut self, now: Instant, tls: Arc<TlsClientConfig>, host: &str) -> Self {
        match TlsConnection::client(tls, host) {
            Ok(tls) => self.with_tls(now, tls, true),
            Err(error) => {
                self.socket.destroy_with_error(now, tls_error(&error));
                self
            }
        }
    }

    /// Runs an HTTP/1.1 server connection above the socket (`http.Server`): the socket's
    /// `data` and `end` become [`Event::Http`]; `error`, `timeout` and `close` still arrive as
    /// [`Event::Socket`], and so does everything after `Connect` or `Upgrade`.
    pub fn serve_http(mut self, now: Instant, config: sansnet_http1::ServerConfig) -> Self {
        self.upper = Upper::Http(Box::new(HttpLayer::new(now, config)));
        self
    }

    /// Runs a pooled HTTP/1.1 client connection above the socket (`http.Agent`); what happens
    /// is noted in [`Connection::client_mut`]'s `notes`, not in [`Connection::poll_event`].
    pub fn serve_client(mut self, client: ClientLayer) -> Self {
        self.upper = Upper::Client(Box::new(client));
        self
    }

    /// After the HTTP machine handed the socket over: runs `ws` (made with
    /// [`crate::ws_config`]) above the socket, fed first with `head`, the bytes read past the
    /// HTTP head. Its events arrive as [`Event::Ws`].
    pub fn start_ws(&mut self, now: Instant, ws: sansnet_ws::Connection, head: Bytes) {
        self.upper = Upper::Ws(Box::new(WsLayer::new(now, ws, head)));
    }

    /// Accepts the WebSocket asked for by `request`, an `upgrade` request this connection's
    /// HTTP machine handed over with `head` (the bytes read past it): queues the 101 and runs
    /// a `sansnet_ws::Connection` (with `config`, through [`crate::ws_config`]) above the
    /// socket, whose events arrive as [`Event::Ws`]. permessage-deflate is agreed to when
    /// offered and `config.deflate` allows it. Returns the subprotocol chosen from
    /// `protocols`.
    ///
    /// # Errors
    ///
    /// A request that is no valid WebSocket handshake (RFC 6455 section 4.2.1) gets the
    /// rejection `sansnet_ws::handshake::accept_with` chose (400, or 426 for a version it does
    /// not speak), the socket ends after it, and its error is returned.
    pub fn accept_ws(
        &mut self,
        now: Instant,
        request: &sansnet_http1::Request,
        head: Bytes,
        protocols: &[&str],
        config: sansnet_ws::Config,
    ) -> Result<Option<String>, sansnet_ws::Error> {
        match sansnet_ws::handshake::accept_with(request, protocols, &config.deflate) {
            Ok(accepted) => {
                let ws =
                    sansnet_ws::Connection::server(crate::ws_config(config), accepted.response)
                        .with_deflate(accepted.deflate);
                self.start_ws(now, ws, head);
                Ok(accepted.protocol)
            }
            Err(rejected) => {
                // A socket that already ended or failed has nothing more to send.
                let _ = self.socket.end(now, Some(rejected.response));
                Err(rejected.error.into())
            }
        }
    }

    /// Lets a client connection handed over read again: its new owner is in place (a raw
    /// socket for the application, or a WebSocket started with [`Connection::start_ws`]).
    pub fn release(&mut self) {
        if let Upper::Client(client) = &mut self.upper {
            client.hold = false;
        }
    }

    // ---- inputs from the runtime ---------------------------------------------------------

    /// The OS finished `connect`.
    pub fn handle_connected(&mut self, now: Instant) {
        self.connecting = false;
        self.socket.handle_connected(now);
    }

    /// The wall-clock time, for the `Date` header of an HTTP server's responses (Node's
    /// `sendDate`); the runtime gives it before it hands over input, as it gives `now`.
    pub fn set_date(&mut self, time: SystemTime) {
        if let Upper::Http(http) = &mut self.upper {
            http.conn.set_date(time);
        }
    }

    /// [`Connection::set_date`] reading the runtime's wall clock (`clock`, say
    /// `SystemTime::now`) only when its second may have changed since the last read: the
    /// `Date` header has one-second precision (RFC 9110 §6.6.1), so a connection answering a
    /// thousand requests a second reads the clock about once a second. `now` is the runtime's
    /// monotonic time; nothing is read for a connection that is no HTTP server.
    #[inline]
    pub fn refresh_date(&mut self, now: Instant, clock: impl FnOnce() -> SystemTime) {
        if let Upper::Http(http) = &mut self.upper {
            http.refresh_date(now, clock);
        }
    }

    /// Bytes read from the transport (ciphertext under TLS).
    #[inline]
    pub fn handle_input(&mut self, now: Instant, data: &[u8]) {
        self.input.extend_from_slice(data);
        self.fresh = true;
        self.feed(now);
        // A large read that went on whole leaves its buffer to the chunk it became, so that the
        // upper machine takes the chunk over instead of copying it out of a buffer it would
        // share (`pump::append`); a small one keeps the buffer for the next read, and so does
        // TLS, which copies the ciphertext into its own.
        if self.input.is_empty() && self.tls.is_none() && data.len() >= TAKE_OVER {
            self.input = BytesMut::new();
        }
    }

    /// The transport's end of stream (the OS read returned 0).
    pub fn handle_eof(&mut self, _now: Instant) {
        self.eof = true;
    }

    /// An OS error on the transport (a failed connect, read, write, shutdown or socket
    /// option): the socket machine ends with it (`error`, then `close(true)`, as Node reports
    /// it), and the TLS ciphertext waiting to go is dropped, as the socket machine drops its
    /// own queue, so nothing tries to write to the failed socket again.
    pub fn handle_io_error(&mut self, now: Instant, kind: ErrorKind) {
        self.connecting = false;
        self.socket.handle_io_error(now, kind);
        if let Some(tls) = &mut self.tls {
            tls.abandoned = true;
        }
    }

    /// Time passed: every layer's deadlines at or before `now` fire.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.socket.handle_timeout(now);
        match &mut self.upper {
            Upper::Raw => {}
            Upper::Http(http) => http.handle_timeout(now, &mut self.socket),
            Upper::Client(client) => client.handle_timeout(now),
            Upper::Ws(ws) => ws.conn.handle_timeout(now),
        }
        if let Some(tls) = &mut self.tls {
            tls.conn.handle_timeout(now);
        }
    }

    // ---- outputs to the runtime ----------------------------------------------------------

    /// Whether the runtime should read the transport now: connected, not at its end, the
    /// socket machine reading (not paused, under its limits) and nothing read earlier still
    /// waiting to go in.
    #[inline]
    pub fn wants_read(&self) -> bool {
        !self.connecting
            && !self.eof
            && self.input.is_empty()
            && !self.held()
            && self.socket.wants_read()
    }

    /// Whether bytes wait for the transport ([`Connection::transmit_chunks`] would fill any).
    #[inline]
    pub fn wants_write(&self) -> bool {
        match &self.tls {
            Some(tls) => !self.connecting && !tls.abandoned && tls.conn.wants_write(),
            None => self.socket.wants_write(),
        }
    }

    /// Fills `out` with the bytes to write to the transport (ciphertext under TLS), front
    /// first; returns how many slices were filled.
    #[inline]
    pub fn transmit_chunks<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        match &self.tls {
            Some(tls) if self.connecting || tls.abandoned => 0,
            Some(tls) => tls.conn.transmit_chunks(out),
            None => self.socket.transmit_chunks(out),
        }
    }

    /// The transport took `n` bytes of [`Connection::transmit_chunks`].
    #[inline]
    pub fn advance_transmit(&mut self, now: Instant, n: usize) {
        match &mut self.tls {
            Some(tls) => {
                tls.conn.advance_transmit(now, n);
                // Room in the TLS machine: more plaintext goes in at once.
                tls.encrypt(now, &mut self.socket);
            }
            None => self.socket.advance_transmit(now, n),
        }
        self.note_unflushed(now);
    }

    /// What to do to the OS socket: `Shutdown` (FIN), `Close` (deregister; `reset`: RST),
    /// and the socket options.
    #[inline]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next event for the application.
    #[inline]
    pub fn poll_event(&mut self) -> Option<Event> {
        match self.events.pop_front() {
            Some(event) => Some(event),
            None => self.poll_http_event().map(Event::Http),
        }
    }

    /// The next event of the stack itself, leaving the HTTP server machine's events for
    /// [`Connection::poll_http_event`]: a runtime that hands events on by value takes those
    /// without the [`Event`] wrapper, one move of a large value fewer per event. Take these
    /// first: [`Connection::poll_event`] is this, then that.
    #[inline]
    pub fn poll_stack_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The HTTP server machine's next event (after every [`Connection::poll_stack_event`]);
    /// its events wait in its own queue, behind the socket's, as `drive` leaves them.
    #[inline]
    pub fn poll_http_event(&mut self) -> Option<sansnet_http1::ServerEvent> {
        match &mut self.upper {
            Upper::Http(http) => http.conn.poll_event(),
            _ => None,
        }
    }

    /// The earliest deadline of any layer.
    #[inline]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let upper = match &self.upper {
            Upper::Raw => None,
            Upper::Http(http) => http.poll_timeout(),
            Upper::Client(client) => client.poll_timeout(),
            Upper::Ws(ws) => ws.conn.poll_timeout(),
        };
        let tls = self.tls.as_ref().and_then(|t| t.conn.poll_timeout());
        [self.socket.poll_timeout(), upper, tls]
            .into_iter()
            .flatten()
            .min()
    }

    /// Moves everything between the layers that can move: plaintext into TLS, the socket
    /// machine's actions, input waiting from earlier reads (when `caught_up`: the application
    /// took every event handed to it), TLS events, socket events into the upper machine, the
    /// upper machine's bytes into the socket. Returns whether anything moved; the runtime
    /// repeats its round while something does.
    pub fn drive(&mut self, now: Instant, caught_up: bool) -> bool {
        let mut moved = false;
        if let Some(tls) = &mut self.tls {
            // A failure found in an earlier round: its alert has had its write.
            moved |= tls.fail(now, &mut self.socket);
            if !self.connecting {
                moved |= tls.encrypt(now, &mut self.socket);
            }
        }
        while let Some(action) = self.socket.poll_action() {
            moved = true;
            match (action, &mut self.tls) {
                // Over TLS the FIN follows `close_notify`.
                (Action::Shutdown, Some(tls)) => {
                    tls.conn.close(now);
                    tls.encrypt(now, &mut self.socket);
                }
                // The runtime closes the socket: nothing more goes out under TLS either (no
                // `close_notify` after `destroy()`, as in Node), and no FIN follows the close.
                (action @ Action::Close { .. }, Some(tls)) => {
                    tls.abandoned = true;
                    self.actions.push_back(action);
                }
                (action, _) => self.actions.push_back(action),
            }
        }
        if let Some(tls) = &mut self.tls
            && tls.poll_fin()
        {
            moved = true;
            self.actions.push_back(Action::Shutdown);
        }
        if caught_up && !self.connecting && !self.held() && self.socket.wants_read() {
            moved |= self.read_kept(now);
        }
        self.fresh = false;
        if let Some(tls) = &mut self.tls {
            moved |= tls.settle(&mut self.events);
        }
        while let Some(event) = self.socket.poll_event() {
            moved = true;
            let event = match &mut self.upper {
                Upper::Raw => Some(event),
                Upper::Http(http) => http.intercept(now, event),
                Upper::Client(client) => client.intercept(now, event),
                Upper::Ws(ws) => {
                    ws.intercept(now, event);
                    None
                }
            };
            if let Some(event) = event {
                self.events.push_back(Event::Socket(event));
            }
        }
        moved |= match &mut self.upper {
            Upper::Raw => false,
            Upper::Http(http) => http.pump(now, &mut self.socket),
            Upper::Client(client) => client.pump(now, &mut self.socket),
            Upper::Ws(ws) => ws.pump(now, &mut self.socket, &mut self.events, caught_up),
        };
        self.note_unflushed(now);
        moved
    }

    /// Tells an HTTP server machine whether its bytes still wait for the transport: its
    /// keep-alive timer starts only once they are written.
    #[inline]
    fn note_unflushed(&mut self, now: Instant) {
        let unflushed = self.wants_write() || self.socket.wants_write();
        if let Upper::Http(http) = &mut self.upper
            && !http.handed_over
        {
            http.conn.set_unflushed(now, unflushed);
        }
    }

    /// Whether the socket machine closed (its `close` was emitted, or kept by the upper
    /// machine): the runtime drops the connection once it has taken its events.
    #[inline]
    pub fn is_closed(&self) -> bool {
        self.socket.is_closed()
    }

    // ---- the machines, for commands and getters ------------------------------------------

    /// The socket machine (`write`, `end`, `destroy`, `pause`, getters, ...).
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The socket machine, for commands.
    pub fn socket_mut(&mut self) -> &mut Socket {
        &mut self.socket
    }

    /// The TLS machine, for TLS connections.
    pub fn tls(&self) -> Option<&TlsConnection> {
        self.tls.as_ref().map(|t| &t.conn)
    }

    /// The HTTP server machine, until it hands the socket over.
    pub fn http_mut(&mut self) -> Option<&mut sansnet_http1::ServerConnection> {
        match &mut self.upper {
            Upper::Http(http) if !http.handed_over => Some(&mut http.conn),
            _ => None,
        }
    }

    /// The pooled HTTP client layer.
    pub fn client_mut(&mut self) -> Option<&mut ClientLayer> {
        match &mut self.upper {
            Upper::Client(client) => Some(client),
            _ => None,
        }
    }

    /// The WebSocket machine, once started.
    pub fn ws_mut(&mut self) -> Option<&mut sansnet_ws::Connection> {
        match &mut self.upper {
            Upper::Ws(ws) => Some(&mut ws.conn),
            _ => None,
        }
    }

    // ---- internals -----------------------------------------------------------------------

    /// A client connection handed over waits for its new owner before reading on.
    fn held(&self) -> bool {
        matches!(&self.upper, Upper::Client(client) if client.hold)
    }

    /// Hands `input` to the lowest layer; returns whether any of it was taken.
    fn feed(&mut self, now: Instant) -> bool {
        match &mut self.tls {
            Some(tls) => tls.feed(now, &mut self.input, &mut self.socket),
            None if self.input.is_empty() => false,
            None => {
                self.socket.handle_input(now, &mut self.input);
                true
            }
        }
    }

    /// Input kept from earlier reads, then the end of stream once every byte before it was
    /// taken and its events handed on.
    fn read_kept(&mut self, now: Instant) -> bool {
        if self.fresh {
            return false;
        }
        // A TLS machine may hold plaintext from earlier input.
        if (!self.input.is_empty() || self.tls.is_some()) && self.feed(now) {
            return true;
        }
        if !self.input.is_empty() {
            return false;
        }
        // The peer's `close_notify`: its end, after every byte before it was taken.
        if let Some(tls) = &mut self.tls
            && tls.take_peer_end()
        {
            self.socket.handle_eof(now);
            return true;
        }
        if self.eof && !self.eof_reported {
            self.eof_reported = true;
            match &mut self.tls {
                Some(tls) => tls.conn.handle_eof(now),
                None => self.socket.handle_eof(now),
            }
            return true;
        }
        false
    }
}

/// A TLS error as the socket machine carries it (Node emits it as the socket's `'error'`):
/// typed, with Node's code.
pub fn tls_error(error: &sansnet_tls::Error) -> sansnet_tcp::Error {
    sansnet_tcp::Error::Layer(sansnet_tcp::LayerError::new(error.code(), error.clone()))
}

#[cfg(test)]
mod tests {
    use sansnet_tcp::SocketEvent;

    use super::*;

    /// Every accepted connection holds a `Connection` for as long as it is open, idle
    /// keep-alive ones included (benches/memory.sh): the layers a plain HTTP connection does
    /// not use (TLS, the client, WebSocket) are boxed, so it carries only the socket machine,
    /// the queues and a pointer each (320 bytes; a `TlsConnection` inline made it 1,832).
    #[test]
    fn connection_size() {
        let size = size_of::<Connection>();
        assert!(size <= 384, "Connection is {size} bytes");
    }

    /// A large read goes on as a chunk that owns its buffer alone, so an upper layer takes it
    /// over without copying it (`pump::append`); a small one shares the buffer kept for the
    /// next read.
    #[test]
    fn a_large_read_is_a_chunk_of_its_own() {
        let now = Instant::now();
        for (len, alone) in [(TAKE_OVER, true), (TAKE_OVER - 1, false)] {
            let mut conn = Connection::accepted(now, SocketConfig::default());
            conn.handle_input(now, &vec![7; len]);
            conn.drive(now, true);
            let data = std::iter::from_fn(|| conn.poll_event())
                .find_map(|event| match event {
                    Event::Socket(SocketEvent::Data(data)) => Some(data),
                    _ => None,
                })
                .unwrap_or_default();
            assert_eq!(data.len(), len);
            assert_eq!(data.is_unique(), alone, "{len} bytes read");
        }
    }
}
