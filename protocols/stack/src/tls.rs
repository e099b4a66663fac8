//! The TLS layer: a `sansnet_tls::TlsConnection` between the transport and the socket
//! machine.
//!
//! Ciphertext from the transport goes into the TLS machine; the plaintext it yields is what
//! the socket machine reads, so every layer above (HTTP, WebSocket, the application of a raw
//! socket) sees a plain socket. What the socket machine writes is encrypted on its way out.
//! The socket machine's FIN becomes `close_notify` then FIN; the peer's `close_notify` is its
//! end; a TLS failure (after its alert had its chance to go) destroys the socket with the TLS
//! error.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::time::Instant;

use bytes::BytesMut;
use sansnet_core::Action;
use sansnet_tcp::Socket;
use sansnet_tls::{TlsConnection, TlsEvent};

use crate::Event;

/// How many plaintext chunks one encryption round gathers.
const MAX_SLICES: usize = 16;

/// The TLS machine of one connection.
#[derive(Debug)]
pub(crate) struct TlsLayer {
    pub(crate) conn: TlsConnection,
    /// Whether `Secure` events reach the application (not for the HTTP client's pooled
    /// connections, whose owner is the agent).
    announce: bool,
    /// A fatal TLS error, applied to the socket machine once the alert had its chance to go.
    failure: Option<sansnet_tls::Error>,
    /// The peer's `close_notify` arrived and the socket machine has not been told yet: it is
    /// told as the transport's FIN is, once the application took every event of the data
    /// before it.
    peer_ended: bool,
    /// The transport failed (`EPIPE`, `ECONNRESET`, ...) and the socket machine has its
    /// error: no ciphertext is offered again, so nothing retries a write that cannot go.
    pub(crate) abandoned: bool,
}

impl TlsLayer {
    /// A layer for `conn`, whose handshake clock (Node docs `tls.md` › `tls.createServer()`
    /// (`handshakeTimeout`)) starts `now`, when the TCP connection is accepted or opened.
    pub(crate) fn new(now: Instant, mut conn: TlsConnection, announce: bool) -> Self {
        conn.handle_timeout(now);
        Self {
            conn,
            announce,
            failure: None,
            peer_ended: false,
            abandoned: false,
        }
    }

    /// Feeds ciphertext from `input` and hands the plaintext it yields to the socket machine;
    /// returns whether anything moved.
    pub(crate) fn feed(&mut self, now: Instant, input: &mut BytesMut, socket: &mut Socket) -> bool {
        let mut moved = false;
        loop {
            let before = input.len();
            if before > 0 && self.failure.is_none() {
                self.conn.handle_input(now, input);
            }
            moved |= input.len() != before;
            // Plaintext stays in the TLS machine (which then stops taking input) while the
            // socket machine does not read.
            let mut got = false;
            while socket.wants_read()
                && let Some(plain) = self.conn.read_plaintext()
            {
                got = true;
                let mut plain = plain
                    .try_into_mut()
                    .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
                socket.handle_input(now, &mut plain);
            }
            moved |= got;
            // Taking plaintext made room: the rest of the input may go in now.
            if !got || input.is_empty() {
                break;
            }
        }
        moved
    }

    /// Moves plaintext from the socket machine into the TLS machine, as much as it takes.
    pub(crate) fn encrypt(&mut self, now: Instant, socket: &mut Socket) -> bool {
        let mut moved = false;
        while socket.wants_write() && self.failure.is_none() {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let n = socket.transmit_chunks(&mut slices);
            let mut taken = 0;
            for slice in &slices[..n] {
                let accepted = self.conn.write(now, slice);
                taken += accepted;
                if accepted < slice.len() {
                    break;
                }
            }
            if taken == 0 {
                break;
            }
            socket.advance_transmit(now, taken);
            moved = true;
        }
        moved
    }

    /// The transport's FIN, once `close_notify` and everything before it was written.
    pub(crate) fn poll_fin(&mut self) -> bool {
        !self.abandoned && self.conn.poll_action() == Some(Action::Shutdown)
    }

    /// Hands the TLS machine's events on: `Secure` to the application; the peer's
    /// `close_notify` is kept for [`Self::take_peer_end`], a failure for [`Self::fail`].
    pub(crate) fn settle(&mut self, out: &mut VecDeque<Event>) -> bool {
        let mut moved = false;
        while let Some(event) = self.conn.poll_event() {
            moved = true;
            match event {
                TlsEvent::SecureConnect(info) if self.announce => {
                    out.push_back(Event::Secure(Box::new(info)));
                }
                TlsEvent::End => self.peer_ended = true,
                TlsEvent::Error(error) if self.failure.is_none() => self.failure = Some(error),
                _ => {}
            }
        }
        moved
    }

    /// Whether the peer's `close_notify` is waiting to reach the socket machine as its end;
    /// true once, then false.
    pub(crate) fn take_peer_end(&mut self) -> bool {
        std::mem::take(&mut self.peer_ended)
    }

    /// After the ciphertext (the alert) had its write: destroys the socket with the TLS
    /// failure, if there is one.
    pub(crate) fn fail(&mut self, now: Instant, socket: &mut Socket) -> bool {
        let Some(error) = self.failure.take() else {
            return false;
        };
        socket.destroy_with_error(now, crate::tls_error(&error));
        true
    }
}
