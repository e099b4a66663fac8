//! sansnet's machines driven by [tokio](https://docs.rs/tokio): the same sans-I/O stack as
//! the mio driver (`sansnet_stack::Connection`, `Acceptor`, `Endpoint`), adding no protocol
//! logic: an HTTP/1.1 server ([`serve`], each connection in a task of its own; over TLS with
//! [`serve_with`] and `Acceptor::with_tls`; `Upgrade` and `CONNECT` hand the connection to
//! the handler as [`Upgraded`]), an HTTP/1.1 client with Node's Agent over `http:` and
//! `https:` ([`Client`]), WebSocket server and client over `ws:` and `wss:` with
//! permessage-deflate ([`accept_ws`] on an [`Upgraded`] connection, [`ws_connect`]; both give
//! a [`WebSocket`]), and any [`Connection`] stack as a [`Socket`] driven by the task that
//! awaits it (Node's `net.Socket` events) or as a `tokio::io` byte stream ([`NetStream`]).
//! TLS is `sansnet-tls` beneath the socket machine, the same byte layer as the mio driver's.
//! Servers and sockets run over TCP or Unix domain sockets alike ([`Listener`], [`Stream`],
//! [`Address`]).
//!
//! Each connection runs the stack's drain rule over a `tokio::net::TcpStream` or
//! `UnixStream`:
//!
//! ```text
//! loop {
//!     loop {
//!         sansnet_os::drain::round: read once if the application took every event,
//!             drive, write conn.transmit_chunks(), carry out conn.poll_action()
//!         hand each conn.poll_event() on (to a handler, or from Socket::next_event)
//!         if nothing moved: break
//!     }
//!     wait for: read readiness if it wants to read, write readiness if it wants to
//!               write, sleep_until(conn.poll_timeout()), the application taking its events
//! }
//! ```
//!
//! # Example
//!
//! A hello-world server and a request to it; the same code is in the README:
//!
//! ```
//! use sansnet_tokio::{Client, Response, serve};
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // The server: Node's `http.createServer((req, res) => res.end('hello world'))`.
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let server = serve(listener, |_request| async {
//!         Response::new(200).header("Content-Type", "text/plain").body("hello world")
//!     })?;
//!
//!     // The client: `http.get(url)` through a keep-alive agent.
//!     let client = Client::new();
//!     let url = format!("http://{}/hello", server.local_addr());
//!     let mut response = client.get(&url).await?;
//!     assert_eq!(response.status(), 200);
//!     assert_eq!(&response.bytes().await?[..], b"hello world");
//!
//!     // `server.close()`: stop accepting, finish requests in flight, close idle connections.
//!     server.close().await;
//!     Ok(())
//! }
//! ```
//!
//! # Features
//!
//! None. It needs a tokio runtime with the IO and time drivers enabled (current-thread or
//! multi-thread).
//!
//! # Panics
//!
//! Never on anything a peer sends; a panic is a bug. The functions that spawn tasks panic
//! outside a tokio runtime, as `tokio::spawn` does.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod client;
mod driver;
mod net;
mod server;
mod socket;
mod ws;

pub use client::{Client, ClientResponse, RequestError};
pub use net::{Listener, Stream};
pub use sansnet_stack::{Connection, Event};
pub use sansnet_tcp::Address;
pub use sansnet_ws::{Message, WsEvent};
pub use server::{
    Body, BodySender, Closed, Request, Response, Server, Upgraded, serve, serve_with,
};
pub use socket::{NetStream, Socket};
pub use ws::{
    CloseStatus, WebSocket, WsConnectError, WsError, WsOptions, WsSender, accept_ws, ws_connect,
};
