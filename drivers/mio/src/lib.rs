//! sansnet-mio: the thin mio event loop that runs sansnet's machines over real sockets, with
//! an API in the spirit of Node's `net`, `dgram`, `http`, `tls` and `ws`.
//!
//! The driver owns the OS sockets, readiness, the timers, the signal pipe and randomness, and
//! does nothing else. Every protocol decision, and every decision of how the machines stack,
//! is in `sansnet-stack`: each stream socket runs a `sansnet_stack::Connection` (TLS, the
//! socket machine, HTTP/1.1 or WebSocket, the hand-over on Upgrade and CONNECT), each server
//! makes its connections with a `sansnet_stack::Acceptor`, and the HTTP client is a
//! `sansnet_stack::Endpoint` whose requests to open, use and close connections the driver
//! carries out. Datagram sockets run a `sansnet_udp::Socket`.
//!
//! # The driver loop
//!
//! For every ready OS socket, due timer, or application command, the driver runs the stack's
//! drain rule: write what `transmit_chunks` offers (vectored, partial writes expected), carry
//! out each `poll_action` on the OS socket, read once while `wants_read` and the application
//! has taken every earlier event of that socket, `drive` the stack, queue each `poll_event`
//! for the application, and re-arm the socket's timer from `poll_timeout`.
//!
//! # Application API
//!
//! Event polling rather than callbacks: create servers and sockets, then pull [`Event`]s with
//! [`EventLoop::next_event`] and answer with commands. A server's
//! `ServerEvent::Connection { id }` names the new socket as `SocketId::from(id)`.
//!
//! # Example
//!
//! An echo server and a client in one loop, over loopback:
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::Duration;
//!
//! use bytes::Bytes;
//! use sansnet_mio::{Event, EventLoop};
//! use sansnet_tcp::{Address, ServerConfig, ServerEvent, SocketConfig, SocketEvent};
//!
//! let mut ev = EventLoop::new()?;
//! let loopback = Address::Tcp(SocketAddr::from(([127, 0, 0, 1], 0)));
//! let server = ev.listen(loopback, ServerConfig::default());
//! let mut client = None;
//! let mut echoed = Vec::new();
//! while let Some(event) = ev.next_event(Some(Duration::from_secs(5)))? {
//!     match event {
//!         Event::Server { event: ServerEvent::Listening { address }, .. } => {
//!             let id = ev.connect(address, SocketConfig::default());
//!             ev.write(id, Bytes::from_static(b"hello"))?;
//!             ev.end(id, None)?;
//!             client = Some(id);
//!         }
//!         Event::Socket { socket, event: SocketEvent::Data(data) } if Some(socket) == client => {
//!             echoed.extend_from_slice(&data);
//!         }
//!         Event::Socket { socket, event: SocketEvent::Data(data) } => {
//!             ev.write(socket, data)?; // the echo
//!         }
//!         Event::Socket { socket, event: SocketEvent::Close { .. } } if Some(socket) == client => {
//!             ev.close_server(server)?;
//!         }
//!         Event::Server { event: ServerEvent::Close, .. } => break,
//!         _ => {}
//!     }
//! }
//! assert_eq!(echoed, b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Node mapping
//!
//! | Node | here |
//! |---|---|
//! | `net.createServer().listen(port \| path)` | [`EventLoop::listen`] with `Address::Tcp` or `Address::Unix` |
//! | `server.close()` | [`EventLoop::close_server`] |
//! | `http.createServer().listen()` | [`EventLoop::listen_http`], [`Event::Http`], [`EventLoop::respond`] |
//! | `net.connect(port \| path)` | [`EventLoop::connect`] |
//! | `socket.write/end/destroy/pause/resume/setTimeout/setNoDelay` | [`EventLoop::write`], [`EventLoop::end`], ... or [`EventLoop::socket_command`] |
//! | `dgram.createSocket`, `bind`, `send`, `close` | [`EventLoop::udp_socket`], [`EventLoop::udp_bind`], [`EventLoop::udp_send`], [`EventLoop::udp_close`] |
//! | `tls.createServer(options).listen()` | [`EventLoop::listen_tls`], [`Event::Secure`] (`'secureConnection'`) |
//! | `https.createServer(options).listen()` | [`EventLoop::listen_https`] |
//! | `tls.connect(options)` | [`EventLoop::connect_tls`], [`Event::Secure`] (`'secureConnect'`) |
//! | `https.request(url)`, `new WebSocket('wss://...')` | [`EventLoop::http_request`] / [`EventLoop::ws_connect`] with an `https` origin; [`EventLoop::set_https_config`] |
//! | `tlsSocket.getProtocol()`, `alpnProtocol`, `servername`, `getPeerCertificate()`, `isSessionReused()` | [`EventLoop::tls_info`] |
//! | `https.Agent` `maxCachedSessions` | `sansnet_tls::ClientOptions::max_cached_sessions` of the configuration given to [`EventLoop::set_https_config`] (the cache lives in it) |
//! | `process.on('SIGTERM')` | [`EventLoop::watch_signal`], [`Event::Signal`] |
//! | `server.listen({ reusePort: true })`, `cluster` workers sharing a port | `sansnet_tcp::ServerConfig::reuse_port`, one loop per thread (see [One loop per core](#one-loop-per-core)) |
//!
//! # One loop per core
//!
//! An [`EventLoop`] is single-threaded and stays so. To use every core, run one loop per
//! thread, each with its own servers on the same address with
//! `sansnet_tcp::ServerConfig::reuse_port` set: the driver sets `SO_REUSEPORT` before binding
//! (Node's `reusePort`, Node docs `net.md` › `server.listen(options[, callback])`), the kernel
//! spreads incoming connections among the listeners (Linux by a hash of the connection's
//! addresses and ports), and each loop owns the connections it accepted until they close. This
//! is Node's `cluster` without the primary process: there, workers share one listening handle
//! or, with `reusePort`, each bind their own. Every listener on the port must set the option;
//! otherwise the later bind fails with `EADDRINUSE`. Linux lets any socket of the same user
//! that sets it join the port (`socket(7)`, `SO_REUSEPORT`), so set it only where sharing is
//! meant.
//!
//! - **Port 0.** Each bind of port 0 picks a new port, so the first loop binds port 0 and the
//!   others bind the port its `Listening` event reports.
//! - **Shutdown.** Loops share nothing, so each closes its own servers:
//!   [`EventLoop::watch_signal`] in every loop gives each its own signal pipe and its own
//!   [`Event::Signal`], on which it calls [`EventLoop::close_server`] (`server.close()`: stop
//!   accepting, close idle keep-alive connections, let in-flight requests finish). A loop is
//!   done when its servers' `Close` events have come; the program exits once every thread has
//!   returned. Connections waiting in a closed listener's accept queue are reset by the kernel,
//!   as they are for a Node worker that closes its server.
//! - **State** kept by the application (chat rooms, caches) is per loop unless it shares it
//!   itself, as it is per worker in Node's `cluster` without IPC.
//!
//! The demo's `--workers N` runs its servers this way.
//!
//! # Features
//!
//! None of its own. The driver depends on `sansnet-ws` with its default features, so
//! permessage-deflate (`sansnet-ws`'s `deflate` feature) is on for the WebSocket servers and
//! clients it runs.
//!
//! # Errors
//!
//! Commands return the machine crate's error (`sansnet_tcp::Error`, `sansnet_udp::Error`); I/O
//! failures arrive as the machines' `Error` events. A TLS failure (a certificate that does not
//! verify, an alert, a stream cut without `close_notify`) ends its socket with
//! `sansnet_tcp::Error::Layer`, whose code is Node's (`CERT_HAS_EXPIRED`, ...), and an
//! `https:` request with [`ClientError::Tls`]. [`EventLoop::new`], [`EventLoop::next_event`]
//! and [`EventLoop::watch_signal`] return `io::Error` for failures of the poller itself.
//!
//! # Panics
//!
//! Never on anything a peer sends; a panic is a bug.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod client;
mod event;
mod event_loop;
mod net;
mod tcp;
mod udp;

pub use event::{Event, ServerId, UdpId};
pub use event_loop::EventLoop;
pub use sansnet_stack::{ClientError, ClientRequestEvent, RequestOptions, SocketId, WsOpenError};
