//! `Acceptor`: what a server makes of each connection it accepts (`net.Server`,
//! `tls.Server`, `http.Server`, `https.Server`): the recipe for its [`Connection`] stack.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sansnet_tcp::SocketConfig;
use sansnet_tls::TlsConnection;
use sansnet_tls::rustls::ServerConfig as TlsConfig;

use crate::Connection;

/// The stack every connection a server accepts gets: the socket machine with the server's
/// socket settings, TLS beneath it for a TLS server, an HTTP/1.1 server machine above it for
/// an HTTP server.
#[derive(Debug, Clone)]
pub struct Acceptor {
    socket: SocketConfig,
    tls: Option<Arc<TlsConfig>>,
    handshake_timeout: Duration,
    http: Option<sansnet_http1::ServerConfig>,
}

impl Acceptor {
    /// Raw sockets with `socket` settings (`net.Server`).
    pub fn new(socket: SocketConfig) -> Self {
        Self {
            socket,
            tls: None,
            handshake_timeout: sansnet_tls::DEFAULT_HANDSHAKE_TIMEOUT,
            http: None,
        }
    }

    /// TLS beneath the socket machine (`tls.Server`, `https.Server`).
    pub fn with_tls(mut self, tls: Arc<TlsConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// An HTTP/1.1 server machine above it (`http.Server`, `https.Server`). Its sockets get
    /// `TCP_NODELAY`, as Node's HTTP sockets do (Node docs `http.md` › `Event: 'connection'`),
    /// and are half-open: Node's `http.Server` is a half-open `net.Server`, whose HTTP
    /// machine ends the socket itself after the client's FIN (once its responses are out),
    /// and a socket handed over by CONNECT or Upgrade stays writable after the client
    /// half-closes.
    pub fn with_http(mut self, http: sansnet_http1::ServerConfig) -> Self {
        self.socket.no_delay = true;
        self.socket.allow_half_open = true;
        self.http = Some(http);
        self
    }

    /// How long a TLS handshake may take from the accept on (Node's `handshakeTimeout`,
    /// default 120 s; zero: none; Node docs `tls.md` › `tls.createServer()`).
    pub fn set_handshake_timeout(&mut self, timeout: Duration) {
        self.handshake_timeout = timeout;
    }

    /// The stack of a connection accepted `now`. If the TLS session cannot be made, its
    /// socket machine is already destroyed with the TLS error, for the application to see.
    pub fn accept(&self, now: Instant) -> Connection {
        let mut conn = Connection::accepted(now, self.socket.clone());
        if let Some(tls) = &self.tls {
            match TlsConnection::server(tls.clone()) {
                Ok(mut tls) => {
                    tls.set_handshake_timeout(self.handshake_timeout);
                    conn = conn.with_tls(now, tls, true);
                }
                Err(error) => conn
                    .socket_mut()
                    .destroy_with_error(now, crate::tls_error(&error)),
            }
        }
        match &self.http {
            Some(http) => conn.serve_http(now, http.clone()),
            None => conn,
        }
    }
}
