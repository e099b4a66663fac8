//! sansnet-os: the OS half of a sansnet driver, written once for every runtime.
//!
//! The machines and the connection stack (`sansnet-stack`) decide everything; a driver owns
//! the OS sockets and moves bytes, readiness, time and randomness. What it does with a socket
//! is the same whatever tells it the socket is ready (mio's `Poll`, tokio's reactor, a
//! runtime of your own), and lives here, so a new runtime writes only its waiting:
//!
//! - [`drain`]: the stack's drain rule over any [`Transport`] — write what the stack offers
//!   (vectored, partial writes expected), carry out its actions, read once, drive it;
//! - [`socket`]: each link action carried out on a stream socket as Node does it (`FIN`,
//!   `RST` by `SO_LINGER` 0, `TCP_NODELAY`, keep-alive probes), writes that never raise
//!   `SIGPIPE`, the end of a non-blocking connect;
//! - [`listen`]: listening sockets with Node's options (`SO_REUSEADDR`, `reusePort`,
//!   backlog, Unix paths) and libuv's reserve descriptor for `EMFILE` on `accept`;
//! - [`udp`]: datagram sockets and their options as libuv sets them;
//! - [`entropy`]: the OS randomness a WebSocket client masks with;
//! - for runtimes that only poll descriptors (mio, `epoll`): [`timers`], one deadline per
//!   connection, and [`signal`], signals as a readable pipe.
//!
//! Everything takes and returns `std` types (`std::net`, `std::os::unix`, `std::io`), or any
//! socket that lends its descriptor (`AsFd`), so each runtime wraps them in its own.
//!
//! # The loop a runtime writes
//!
//! ```text
//! loop {
//!     let round = drain::round(&mut conn, now, &mut transport, &mut buf, caught_up);
//!     hand each conn.poll_event() to the application
//!     if !round.moved && no event: wait for readiness, conn.poll_timeout() or a command
//! }
//! ```
//!
//! # Example
//!
//! A connection stack over a blocking Unix socket pair, drained by hand:
//!
//! ```
//! use std::io::{IoSlice, Read as _};
//! use std::os::unix::net::UnixStream;
//! use std::time::Instant;
//!
//! use bytes::Bytes;
//! use sansnet_core::Action;
//! use sansnet_os::{Transport, drain, socket};
//! use sansnet_stack::Connection;
//! use sansnet_tcp::SocketConfig;
//!
//! /// A Unix stream as the drain rule's transport.
//! struct Unix(UnixStream);
//!
//! impl Transport for Unix {
//!     fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
//!         self.0.read(buf)
//!     }
//!     fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> std::io::Result<usize> {
//!         socket::send_vectored(&self.0, bufs)
//!     }
//!     fn apply(&mut self, action: Action) -> std::io::Result<()> {
//!         socket::apply(&self.0, action)
//!     }
//! }
//!
//! let (ours, mut peer) = UnixStream::pair()?;
//! let now = Instant::now();
//! let mut conn = Connection::accepted(now, SocketConfig::default());
//! conn.socket_mut().end(now, Some(Bytes::from_static(b"hello")))?;
//! let mut transport = Unix(ours);
//! while drain::round(&mut conn, now, &mut transport, &mut [], false).moved {}
//! let mut got = Vec::new();
//! peer.read_to_end(&mut got)?; // the FIN came after the bytes
//! assert_eq!(got, b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! None. Unix only (the drivers' platform).
//!
//! # Panics
//!
//! Never.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod drain;
pub mod entropy;
pub mod listen;
pub mod signal;
pub mod socket;
pub mod timers;
pub mod udp;

pub use drain::{Read, Round, Transport};
