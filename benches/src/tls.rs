//! TLS handshakes through the `sansnet-tls` machines in memory, for the `tls` bench and the
//! `tls-handshakes` binary: a server certificate made on the spot (ECDSA P-256), a server
//! configuration with the default session tickets, and two client configurations, one that
//! remembers sessions (the default, Node's `maxCachedSessions` of 100) and one that does not
//! (`maxCachedSessions: 0`), so every handshake on it is a full one.

use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use sansnet_tls::rustls::{ClientConfig, ServerConfig};
use sansnet_tls::{ClientOptions, Identity, ServerOptions, TlsConnection, TlsEvent};

/// The name the server's certificate carries and the client asks for.
pub const HOST: &str = "bench.test";

/// A server and the two clients that trust it.
#[derive(Debug, Clone)]
pub struct Peers {
    /// The server: tickets on (the default).
    pub server: Arc<ServerConfig>,
    /// A client with the default session cache: after one handshake, the next ones resume.
    pub resuming: Arc<ClientConfig>,
    /// A client with `max_cached_sessions: 0`: every handshake is a full one.
    pub full: Arc<ClientConfig>,
}

/// Why the peers could not be made.
#[derive(Debug)]
pub struct SetupError(pub String);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

impl Peers {
    /// A self-signed certificate for [`HOST`] and the three configurations.
    pub fn new() -> Result<Self, SetupError> {
        let fail = |e: &dyn std::fmt::Display| SetupError(e.to_string());
        let key = rcgen::KeyPair::generate().map_err(|e| fail(&e))?;
        let cert = rcgen::CertificateParams::new(vec![HOST.to_owned()])
            .map_err(|e| fail(&e))?
            .self_signed(&key)
            .map_err(|e| fail(&e))?;
        let identity = Identity::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
            .map_err(|e| fail(&e))?;
        let server = ServerOptions::new(identity).build().map_err(|e| fail(&e))?;
        let client = ClientOptions {
            ca: Some(vec![cert.der().clone()]),
            ..ClientOptions::default()
        };
        let resuming = client.build().map_err(|e| fail(&e))?;
        let full = ClientOptions {
            max_cached_sessions: 0,
            ..client
        }
        .build()
        .map_err(|e| fail(&e))?;
        Ok(Self {
            server,
            resuming,
            full,
        })
    }
}

/// One handshake between a new client session on `client` and a new server session on
/// `server`, in memory, until neither has anything to send (so the server's tickets have
/// reached the client). Returns the client's `session_reused`, or `None` when the handshake
/// did not finish on both sides.
pub fn handshake(server: &Arc<ServerConfig>, client: &Arc<ClientConfig>) -> Option<bool> {
    let now = Instant::now();
    let mut c = TlsConnection::client(client.clone(), HOST).ok()?;
    let mut s = TlsConnection::server(server.clone()).ok()?;
    let mut wire = BytesMut::new();
    for _ in 0..16 {
        let mut moved = false;
        while let Some(chunk) = c.poll_transmit(Instant::now()) {
            wire.extend_from_slice(&chunk);
            moved = true;
        }
        s.handle_input(now, &mut wire);
        while let Some(chunk) = s.poll_transmit(Instant::now()) {
            wire.extend_from_slice(&chunk);
            moved = true;
        }
        c.handle_input(now, &mut wire);
        if !moved {
            break;
        }
    }
    let secure = |conn: &mut TlsConnection| {
        std::iter::from_fn(|| conn.poll_event()).any(|e| matches!(e, TlsEvent::SecureConnect(_)))
    };
    if !secure(&mut c) || !secure(&mut s) {
        return None;
    }
    Some(c.info()?.session_reused)
}
