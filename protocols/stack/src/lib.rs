//! One network connection's sansnet machines composed into one sans-I/O value, and the HTTP
//! client endpoint beside them: what a runtime drives.
//!
//! - [`Connection`]: optional TLS (`sansnet-tls`) at the bottom, the TCP socket machine
//!   (`sansnet-tcp`, Node's `net.Socket`) above it, and an HTTP/1.1 server, a pooled HTTP/1.1
//!   client (`sansnet-http1`) or a WebSocket (`sansnet-ws`) on top, with the hand-over on
//!   `Upgrade` and `CONNECT` (the bytes read past the head go to the new owner), one
//!   [`Connection::poll_timeout`] for all, and failures as typed errors of the layer that
//!   failed.
//! - [`Acceptor`]: the stack a server gives each connection it accepts.
//! - [`Endpoint`]: the HTTP client (Node's `http.request` with its `Agent`, and
//!   `new WebSocket(url)`): it asks its runtime to open a socket to an origin
//!   ([`EndpointAction`]), takes back what happened on its connections, and emits Node's
//!   request events, as quinn-proto's `Endpoint` is to its `Connection`s.
//!
//! Each machine follows the contract of `sansnet-core` (its `Machine` trait and `Action`s);
//! this crate is the glue between them, written once, so that a runtime only owns sockets,
//! readiness, timers and randomness. The loop that drives a [`Connection`]:
//!
//! ```text
//! loop {
//!     write conn.transmit_chunks() to the OS socket; conn.advance_transmit(now, n)
//!     for action in conn.poll_action(): shut down, close, set socket options
//!     if conn.wants_read() && the application took every event: read once;
//!         conn.handle_input(now, bytes) or conn.handle_eof(now)
//!     let moved = conn.drive(now, the application took every event)
//!     for event in conn.poll_event(): hand it to the application
//!     for a client connection: endpoint.handle_connection(now, socket, &mut conn)
//!     if nothing moved: break
//! }
//! at conn.poll_timeout(): conn.handle_timeout(now)
//! ```
//!
//! # Example
//!
//! Two raw connections joined by an in-memory link: what one writes, the other reads.
//!
//! ```
//! use std::io::IoSlice;
//! use std::time::Instant;
//!
//! use bytes::Bytes;
//! use sansnet_stack::{Connection, Event};
//! use sansnet_tcp::{SocketConfig, SocketEvent};
//!
//! let now = Instant::now();
//! let mut client = Connection::connect(now, SocketConfig::default());
//! let mut server = Connection::accepted(now, SocketConfig::default());
//! client.handle_connected(now);
//! client.socket_mut().write(now, Bytes::from_static(b"hello"))?;
//! client.drive(now, true);
//!
//! // The runtime's write: the client's bytes, read by the server.
//! let mut slices = [IoSlice::new(&[]); 4];
//! let n = client.transmit_chunks(&mut slices);
//! let wire: Vec<u8> = slices[..n].iter().flat_map(|s| s.iter().copied()).collect();
//! client.advance_transmit(now, wire.len());
//! server.handle_input(now, &wire);
//! server.drive(now, true);
//!
//! let mut got = Vec::new();
//! while let Some(event) = server.poll_event() {
//!     if let Event::Socket(SocketEvent::Data(data)) = event {
//!         got.extend_from_slice(&data);
//!     }
//! }
//! assert_eq!(got, b"hello");
//! # Ok::<(), sansnet_tcp::Error>(())
//! ```
//!
//! # Features
//!
//! None.
//!
//! # Panics
//!
//! Never on anything a peer sends; a panic is a bug.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod acceptor;
mod client;
mod connection;
mod endpoint;
mod http;
mod pump;
mod request;
mod tls;
mod ws;

pub use acceptor::Acceptor;
pub use client::{ClientLayer, Note};
pub use connection::Connection;
pub use connection::tls_error;
pub use endpoint::{Endpoint, EndpointAction, EndpointEvent};
pub use http::LINGER;
pub use request::{ClientError, ClientRequestEvent, RequestOptions, SocketId, WsOpenError};
pub use ws::config as ws_config;

/// What a [`Connection`] tells its application.
#[derive(Debug)]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "events live for one turn of the loop; boxing would allocate per HTTP event, and \
              `ServerEvent` is large because its headers are stored inline to avoid exactly that"
)]
pub enum Event {
    /// An event of the socket machine: everything for a raw socket; for an HTTP server
    /// connection `error`, `timeout` and `close`, and everything after a hand-over.
    Socket(sansnet_tcp::SocketEvent),
    /// An event of the HTTP/1.1 server machine.
    Http(sansnet_http1::ServerEvent),
    /// An event of the WebSocket machine.
    Ws(sansnet_ws::WsEvent),
    /// The TLS handshake finished (`secureConnect` / `secureConnection`).
    Secure(Box<sansnet_tls::HandshakeInfo>),
}
