//! One TLS session, either role: rustls's connection behind the sansnet contract (ciphertext
//! in, plaintext and events out; plaintext in, ciphertext out; the handshake deadline).

use std::collections::VecDeque;
use std::io::{BufRead, ErrorKind, IoSlice, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, HandshakeKind, ProtocolVersion, ServerConfig};
use sansnet_core::{Action, Transmit};

use crate::config::DEFAULT_HANDSHAKE_TIMEOUT;
use crate::{Error, HandshakeInfo, Protocol, TlsEvent};

/// How much decrypted plaintext waits for [`TlsConnection::read_plaintext`] before
/// [`TlsConnection::handle_input`] stops taking ciphertext (it may overshoot by what one
/// read of ciphertext decrypts to, a few records).
pub const READ_LIMIT: usize = 64 * 1024;

/// How much ciphertext may wait for the transport before [`TlsConnection::write`] takes no
/// more: rustls's own default buffer limit, so moving ciphertext out of rustls after every
/// call does not make the write side unbounded.
pub const WRITE_LIMIT: usize = 64 * 1024;

/// One TLS session, server or client: ciphertext from the transport goes in through
/// [`handle_input`](Self::handle_input); decrypted bytes for the inner machine come out of
/// [`read_plaintext`](Self::read_plaintext); the inner machine's bytes go in through
/// [`write`](Self::write) and come out encrypted from [`poll_transmit`](Self::poll_transmit).
///
/// Methods come in four kinds:
/// - getters: [`is_handshaking`](Self::is_handshaking), [`info`](Self::info),
///   [`wants_write`](Self::wants_write), [`wants_read`](Self::wants_read);
/// - inputs (`now` first, never fail): [`handle_input`](Self::handle_input),
///   [`handle_eof`](Self::handle_eof), [`handle_timeout`](Self::handle_timeout);
/// - commands: [`write`](Self::write), [`close`](Self::close),
///   [`set_handshake_timeout`](Self::set_handshake_timeout);
/// - outputs: [`poll_transmit`](Self::poll_transmit), [`poll_event`](Self::poll_event),
///   [`read_plaintext`](Self::read_plaintext), [`poll_timeout`](Self::poll_timeout).
///
/// After every input or command, drain `poll_transmit`, then `poll_event` and
/// `read_plaintext` until `None`, then read `poll_timeout`.
///
/// The handshake clock starts at the `now` of the first input call (any of the three; an
/// empty `handle_input` will do): a driver calls `handle_timeout(now)` when it accepts or
/// connects the transport so that a silent peer also times out.
#[derive(Debug)]
pub struct TlsConnection {
    conn: rustls::Connection,
    /// The SNI name a client asked for (`None` on a server or for an IP literal).
    client_sni: Option<String>,
    handshake_timeout: Duration,
    /// The `now` of the first input.
    started: Option<Instant>,
    /// Set with `SecureConnect`.
    info: Option<HandshakeInfo>,
    /// A fatal error was reported: no more plaintext in, nothing more written.
    failed: bool,
    /// The peer's `close_notify` arrived (`End` reported).
    peer_closed: bool,
    /// `close()` was called; the `close_notify` is queued once the handshake is done, so that
    /// plaintext written before it goes first.
    closing: bool,
    close_sent: bool,
    /// The `Shutdown` action (the transport's FIN after `close_notify`) was offered.
    fin_offered: bool,
    plaintext: VecDeque<Bytes>,
    /// Ciphertext taken from rustls, waiting for the transport: after every input and command
    /// it holds all rustls has, so [`transmit_chunks`](Self::transmit_chunks) can read it.
    out: Transmit,
    /// Where rustls writes ciphertext; each batch leaves as one `Bytes` split off it, and its
    /// capacity is reused once the transport has let go of earlier batches.
    out_buf: BytesMut,
    /// INVARIANT: the sum of the lengths in `plaintext`.
    plaintext_len: usize,
    events: VecDeque<TlsEvent>,
}

impl TlsConnection {
    /// A server session on `config` (see [`ServerOptions::build`](crate::ServerOptions::build)).
    pub fn server(config: Arc<ServerConfig>) -> Result<Self, Error> {
        let conn = rustls::ServerConnection::new(config)
            .map_err(|e| Error::Config(format!("server connection: {e}")))?;
        Ok(Self::new(conn.into(), None))
    }

    /// A client session on `config` (see [`ClientOptions::build`](crate::ClientOptions::build)).
    ///
    /// `host` is the name to verify the server's certificate against and to send as SNI; an
    /// IP literal (`127.0.0.1`, `::1` or `[::1]`) sends no SNI (Node docs `tls.md` ›
    /// `tls.connect()` (`servername`)) and is verified against the certificate's IP SANs. Errors
    /// with [`Error::Config`] when `host` is neither a DNS name nor an IP address.
    pub fn client(config: Arc<ClientConfig>, host: &str) -> Result<Self, Error> {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let name = ServerName::try_from(bare.to_owned())
            .map_err(|e| Error::Config(format!("server name {host:?}: {e}")))?;
        let client_sni = match &name {
            ServerName::DnsName(dns) => Some(dns.as_ref().to_owned()),
            _ => None,
        };
        let conn = rustls::ClientConnection::new(config, name)
            .map_err(|e| Error::Config(format!("client connection: {e}")))?;
        Ok(Self::new(conn.into(), client_sni))
    }

    fn new(conn: rustls::Connection, client_sni: Option<String>) -> Self {
        Self {
            conn,
            client_sni,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            started: None,
            info: None,
            failed: false,
            peer_closed: false,
            closing: false,
            close_sent: false,
            fin_offered: false,
            plaintext: VecDeque::new(),
            out: Transmit::default(),
            out_buf: BytesMut::new(),
            plaintext_len: 0,
            events: VecDeque::new(),
        }
    }

    // Getters.

    /// True until the handshake finishes (`SecureConnect`) or fails.
    pub fn is_handshaking(&self) -> bool {
        self.info.is_none() && !self.failed
    }

    /// What the handshake negotiated; `Some` from `SecureConnect` on.
    pub fn info(&self) -> Option<&HandshakeInfo> {
        self.info.as_ref()
    }

    /// True while ciphertext waits for the transport
    /// ([`transmit_chunks`](Self::transmit_chunks) or [`poll_transmit`](Self::poll_transmit)).
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty() || self.conn.wants_write()
    }

    /// True while [`handle_input`](Self::handle_input) would take ciphertext: the session is
    /// live and less than [`READ_LIMIT`] plaintext waits to be read.
    pub fn wants_read(&self) -> bool {
        !self.failed && !self.peer_closed && self.plaintext_len < READ_LIMIT
    }

    // Inputs.

    /// Takes ciphertext from the transport. Consumes all of `input`, except when
    /// [`READ_LIMIT`] plaintext is waiting: then the rest stays in `input` until
    /// [`read_plaintext`](Self::read_plaintext) has made room and this is called again.
    ///
    /// After an error or the peer's `close_notify`, input is discarded.
    pub fn handle_input(&mut self, now: Instant, input: &mut BytesMut) {
        self.start_clock(now);
        while !input.is_empty() {
            if self.failed || self.peer_closed {
                input.clear();
                return;
            }
            if self.plaintext_len >= READ_LIMIT {
                return;
            }
            let mut src: &[u8] = input;
            match self.conn.read_tls(&mut src) {
                Ok(0) => {
                    // Only after close_notify, which `peer_closed` covers; stop either way.
                    input.clear();
                    return;
                }
                Ok(n) => input.advance(n),
                Err(e) => {
                    self.fail(Error::Protocol(e.to_string()));
                    continue;
                }
            }
            let processed = self.conn.process_new_packets();
            self.progress();
            if let Err(e) = processed {
                self.fail(Error::from_rustls(&e));
            }
        }
        self.pull();
    }

    /// The transport's FIN. Without the peer's `close_notify` first this is
    /// [`Error::Truncated`] (RFC 9112 §9.8, docs/node-semantics.md#http-client-no-close-notify):
    /// the driver still tells the inner machine its input ended, so HTTP can complete a response
    /// whose length is known.
    pub fn handle_eof(&mut self, now: Instant) {
        self.start_clock(now);
        if !self.peer_closed {
            self.fail(Error::Truncated);
        }
        self.pull();
    }

    /// The timer fired: at or after the deadline of [`poll_timeout`](Self::poll_timeout), an
    /// unfinished handshake fails with [`Error::HandshakeTimeout`] (Node docs `tls.md` ›
    /// `tls.createServer()` (`handshakeTimeout`)). Also starts the handshake clock if no input has.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.start_clock(now);
        if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
            self.fail(Error::HandshakeTimeout);
        }
        self.pull();
    }

    // Commands.

    /// Encrypts application bytes; returns how many were taken: no more than leaves
    /// [`WRITE_LIMIT`] of ciphertext waiting (before the handshake finishes rustls holds up
    /// to 64 KiB of plaintext, sent once it does). Takes 0 after [`close`](Self::close) or an
    /// error.
    pub fn write(&mut self, now: Instant, plaintext: &[u8]) -> usize {
        self.start_clock(now);
        let room = WRITE_LIMIT.saturating_sub(self.out.len());
        if self.failed || self.closing || room == 0 {
            return 0;
        }
        let plaintext = &plaintext[..plaintext.len().min(room)];
        let taken = self.conn.writer().write(plaintext).unwrap_or(0);
        self.pull();
        taken
    }

    /// Ends our side with `close_notify` (Node `socket.end()`), queued after everything
    /// written before it (after the handshake, if that is still going). Idempotent; later
    /// [`write`](Self::write)s take 0. The driver sends the transport's FIN once
    /// [`wants_write`](Self::wants_write) is false.
    pub fn close(&mut self, now: Instant) {
        self.start_clock(now);
        self.closing = true;
        self.send_close_if_due();
        self.pull();
    }

    /// Sets the handshake timeout (Node `handshakeTimeout`, default 120 s; zero: none).
    pub fn set_handshake_timeout(&mut self, timeout: Duration) {
        self.handshake_timeout = timeout;
    }

    // Outputs.

    /// Decrypted application bytes, in order.
    pub fn read_plaintext(&mut self) -> Option<Bytes> {
        let chunk = self.plaintext.pop_front()?;
        self.plaintext_len -= chunk.len();
        Some(chunk)
    }

    /// Ciphertext to send, in order (handshake messages, records, alerts), a chunk at a time:
    /// the same queue as [`transmit_chunks`](Self::transmit_chunks), for callers that write
    /// whole chunks.
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Bytes> {
        self.pull();
        self.out.pop()
    }

    /// Fills `out` with the ciphertext waiting for the transport, front first, for one
    /// vectored write; returns how many slices it filled. Report what the transport took with
    /// [`advance_transmit`](Self::advance_transmit).
    pub fn transmit_chunks<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        self.out.fill(out)
    }

    /// The transport took the first `n` bytes of [`transmit_chunks`](Self::transmit_chunks)
    /// (partial writes are normal; `n` beyond what waits is clamped).
    pub fn advance_transmit(&mut self, _now: Instant, n: usize) {
        self.out.advance(n);
    }

    /// What to do to the transport: [`Action::Shutdown`] (its FIN) once, after
    /// [`close`](Self::close) and once every ciphertext byte before it (the `close_notify`)
    /// was taken.
    pub fn poll_action(&mut self) -> Option<Action> {
        if self.closing && !self.fin_offered && !self.wants_write() {
            self.fin_offered = true;
            return Some(Action::Shutdown);
        }
        None
    }

    /// The next event, in order.
    pub fn poll_event(&mut self) -> Option<TlsEvent> {
        self.events.pop_front()
    }

    /// The handshake deadline while the handshake is unfinished and the clock has started.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.is_handshaking() || self.handshake_timeout.is_zero() {
            return None;
        }
        self.started?.checked_add(self.handshake_timeout)
    }

    // Internals.

    /// Moves the ciphertext rustls has into [`Self::out`], as one chunk.
    fn pull(&mut self) {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut (&mut self.out_buf).writer()) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
        if !self.out_buf.is_empty() {
            self.out.push(self.out_buf.split().freeze());
        }
    }

    fn start_clock(&mut self, now: Instant) {
        self.started.get_or_insert(now);
    }

    fn fail(&mut self, error: Error) {
        if !self.failed {
            self.failed = true;
            self.events.push_back(TlsEvent::Error(error));
        }
    }

    /// After rustls processed records: reports the finished handshake, moves plaintext out,
    /// notices `close_notify`. Runs before an error from the same records is reported, so the
    /// events do not depend on where the input was split.
    fn progress(&mut self) {
        if self.info.is_none() && !self.failed && !self.conn.is_handshaking() {
            let info = self.handshake_info();
            self.info = Some(info.clone());
            self.events.push_back(TlsEvent::SecureConnect(info));
            self.send_close_if_due();
        }
        let mut reader = self.conn.reader();
        loop {
            let len = match reader.fill_buf() {
                Ok([]) => {
                    self.peer_closed = true;
                    break;
                }
                Ok(chunk) => {
                    self.plaintext.push_back(Bytes::copy_from_slice(chunk));
                    chunk.len()
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break,
            };
            reader.consume(len);
            self.plaintext_len += len;
        }
        if self.peer_closed && !self.failed {
            if self.info.is_some() {
                self.events.push_back(TlsEvent::End);
            } else {
                self.fail(Error::AlertReceived("close_notify".into()));
            }
        }
    }

    fn send_close_if_due(&mut self) {
        if self.closing && !self.close_sent && !self.failed && self.info.is_some() {
            self.close_sent = true;
            self.conn.send_close_notify();
        }
    }

    fn handshake_info(&self) -> HandshakeInfo {
        let protocol = match self.conn.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => Protocol::Tls13,
            // rustls speaks only TLS 1.2 and 1.3.
            _ => Protocol::Tls12,
        };
        let cipher_suite = self
            .conn
            .negotiated_cipher_suite()
            .map(|s| {
                let suite = s.suite();
                suite
                    .as_str()
                    .map_or_else(|| format!("{suite:?}"), str::to_owned)
            })
            .unwrap_or_default();
        let server_name = match &self.conn {
            rustls::Connection::Server(server) => server.server_name().map(str::to_owned),
            rustls::Connection::Client(_) => self.client_sni.clone(),
        };
        HandshakeInfo {
            protocol,
            cipher_suite,
            alpn: self.conn.alpn_protocol().map(<[u8]>::to_vec),
            server_name,
            peer_certificates: self
                .conn
                .peer_certificates()
                .map(<[_]>::to_vec)
                .unwrap_or_default(),
            session_reused: self.conn.handshake_kind() == Some(HandshakeKind::Resumed),
        }
    }
}

sansnet_core::forward_machine!(TlsConnection, TlsEvent, poll_transmit);
