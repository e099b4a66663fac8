//! What a TLS session reports: `secureConnect`, the end of the peer's data, errors; and what
//! the finished handshake negotiated.

use std::fmt;

use rustls::pki_types::CertificateDer;

use crate::Error;

/// What happened on a [`TlsConnection`](crate::TlsConnection), in order.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsEvent {
    /// `'secureConnect'` (client) / `'secureConnection'` (server): the handshake finished and
    /// application data flows both ways (Node docs `tls.md` › `Event: 'secureConnection'`, Node
    /// docs `tls.md` › `Event: 'secureConnect'`). Carries what was negotiated.
    SecureConnect(HandshakeInfo),
    /// `'end'`: the peer sent `close_notify`, so its side of the stream ended like a FIN
    /// (RFC 9112 §9.8; RFC 8446 §6.1). Our side may still write until [`close`].
    ///
    /// [`close`]: crate::TlsConnection::close
    End,
    /// `'error'` (client) / `'tlsClientError'` (server): fatal. After it the session yields
    /// no more plaintext; a queued alert may still be waiting in
    /// [`poll_transmit`](crate::TlsConnection::poll_transmit), which the driver flushes
    /// before it closes the transport.
    Error(Error),
}

/// What the handshake negotiated, as Node's `getProtocol()`, `getCipher()`,
/// `alpnProtocol`, `servername`, `getPeerCertificate()` and `isSessionReused()` report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeInfo {
    /// The protocol version (`getProtocol()`).
    pub protocol: Protocol,
    /// The cipher suite's IANA name as rustls spells it, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// The ALPN protocol both sides agreed on (`alpnProtocol`), `None` when ALPN was not used.
    pub alpn: Option<Vec<u8>>,
    /// The SNI name: on a server the one the client sent, on a client the one it asked for
    /// (`None` for an IP literal, which sends no SNI: Node docs `tls.md` › `tls.connect()`
    /// (`servername`)).
    pub server_name: Option<String>,
    /// The peer's certificate chain, leaf first; empty when the peer sent none (a client
    /// without a certificate).
    pub peer_certificates: Vec<CertificateDer<'static>>,
    /// Whether the handshake resumed an earlier session (a ticket or a session ID) instead of
    /// doing a full one (`isSessionReused()`, Node docs `tls.md` › `tlsSocket.isSessionReused()`).
    /// A resumed session reports the peer certificates of the session it resumed.
    pub session_reused: bool,
}

/// A TLS protocol version.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TLS 1.2 (RFC 5246).
    Tls12,
    /// TLS 1.3 (RFC 8446).
    Tls13,
}

impl fmt::Display for Protocol {
    /// Node's `getProtocol()` spelling: `TLSv1.2`, `TLSv1.3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tls12 => "TLSv1.2",
            Self::Tls13 => "TLSv1.3",
        })
    }
}
