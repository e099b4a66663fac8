//! WebSocket (RFC 6455) as a sans-I/O machine, both roles, the way the `ws` package and
//! browsers behave: the opening handshake, framing, masking, fragmentation, UTF-8 checks,
//! control frames and the closing handshake.
//!
//! A [`Connection`] takes the peer's bytes and answers with the `ws` package's events
//! (`message`, `ping`, `pong`, `error`, `close`) and with frames to write. The opening
//! handshake rides on the HTTP machines of `sansnet-http1`: a server checks the request of an
//! `upgrade` event with [`handshake::accept`]; a client builds its request and checks the 101
//! with a [`handshake::ClientHandshake`].
//!
//! The crate opens no socket, reads no clock and has no random source: masks and keys come
//! from an [`Entropy`] the caller supplies (the driver uses the OS).
//!
//! # The contract
//!
//! The contract is the one of every sansnet machine, written down once in `sansnet-core`'s
//! crate docs: [`Connection`] implements `sansnet_core::Machine`, and its actions are
//! `sansnet_core::Action`. In this crate:
//!
//! Inputs ([`Connection::handle_input`], [`Connection::handle_eof`],
//! [`Connection::handle_timeout`], [`Connection::advance_transmit`]) take `now` first and
//! never fail; commands ([`Connection::send`], [`Connection::ping`], [`Connection::close`])
//! return `Err` when misused; outputs are [`Connection::poll_event`],
//! [`Connection::transmit_chunks`] (or [`Connection::pop_transmit`]),
//! [`Connection::poll_action`] and [`Connection::poll_timeout`]. After every input or command
//! the driver writes the frames, carries out the actions, hands on the events, and re-arms
//! its timer. Events do not depend on how the bytes were split.
//!
//! # Example
//!
//! A client and a server wired together in memory:
//!
//! ```
//! use std::time::Instant;
//!
//! use bytes::BytesMut;
//! use sansnet_ws::{Config, Connection, Message, Role, WsEvent};
//!
//! let now = Instant::now();
//! let mut counter = 0u8;
//! let entropy = move |buf: &mut [u8]| {
//!     for b in buf {
//!         counter = counter.wrapping_add(37);
//!         *b = counter;
//!     }
//! };
//! let mut client = Connection::new(Role::Client, Config::default(), Box::new(entropy));
//! let mut server = Connection::new(Role::Server, Config::default(), Box::new(|_: &mut [u8]| {}));
//!
//! fn pipe(from: &mut Connection, to: &mut Connection, now: Instant) {
//!     let mut wire = BytesMut::new();
//!     while let Some(chunk) = from.pop_transmit(now) {
//!         wire.extend_from_slice(&chunk);
//!     }
//!     to.handle_input(now, &mut wire);
//! }
//!
//! client.send(now, Message::text("hello")).unwrap();
//! pipe(&mut client, &mut server, now);
//! assert_eq!(server.poll_event(), Some(WsEvent::Message(Message::text("hello"))));
//!
//! // The client starts the closing handshake; the server echoes and closes first.
//! client.close(now, Some(1000), "bye").unwrap();
//! pipe(&mut client, &mut server, now);
//! assert_eq!(
//!     server.poll_event(),
//!     Some(WsEvent::Close { code: 1000, reason: "bye".into(), was_clean: true })
//! );
//! pipe(&mut server, &mut client, now);
//! client.handle_eof(now);
//! assert_eq!(
//!     client.poll_event(),
//!     Some(WsEvent::Close { code: 1000, reason: String::new(), was_clean: true })
//! );
//! ```
//!
//! # Mapping to the `ws` package and WHATWG
//!
//! | `ws` / WHATWG | here | default |
//! |---|---|---|
//! | `'message'`, `'ping'`, `'pong'`, `'error'`, `'close'` | [`WsEvent`] | |
//! | `ws.send`, `ws.ping`, `ws.pong`, `ws.close`, `ws.terminate` | [`Connection::send`], [`Connection::ping`], [`Connection::pong`], [`Connection::close`], [`Connection::terminate`] | |
//! | `maxPayload` | [`Config::max_payload`] | 100 MiB |
//! | `autoPong` | [`Config::auto_pong`] | true |
//! | `perMessageDeflate` | [`Config::deflate`] ([`DeflateConfig`]) | on (feature `deflate`) |
//! | `perMessageDeflate.threshold` | [`DeflateConfig::threshold`] | 1024 |
//! | `readyState`, `bufferedAmount` | [`Connection::ready_state`], [`Connection::buffered_amount`] | |
//!
//! # permessage-deflate (RFC 7692)
//!
//! With the `deflate` feature (on by default) a server agrees to the first acceptable offer
//! ([`handshake::accept_with`], [`deflate::negotiate`]) and a client offers it and checks the
//! answer ([`handshake::ClientHandshake::with_deflate`], [`handshake::ClientHandshake::open`]);
//! the agreed parameters go to [`Connection::with_deflate`]. Messages of at least
//! [`DeflateConfig::threshold`] bytes are sent as one frame with RSV1, deflated with a sync
//! flush and its `00 00 FF FF` tail removed; compressed messages are inflated as their frames
//! arrive, the tail restored, context kept or reset as agreed; control frames are never
//! compressed. The codec is `flate2` on its pure-Rust `zlib-rs` backend: zlib's own API (so the
//! window size of `*_max_window_bits` is honoured, which miniz_oxide cannot do for
//! compression) with no C compiler needed. An agreed 8-bit window is kept by deflating with 9
//! bits, whose matches never reach past 250 bytes (see [`deflate`]).
//!
//! # Features
//!
//! - `deflate` (on by default): permessage-deflate (RFC 7692), as described above, through
//!   `flate2` on its `zlib-rs` backend. Without it the crate does not depend on `flate2`; the
//!   [`deflate`] module's types remain, but [`DeflateConfig::default`] is disabled, no offer
//!   is made or accepted, and [`Connection::with_deflate`] does nothing. Turn it off with
//!   `default-features = false`.
//!
//! # Errors
//!
//! One type, [`Error`]: [`Error::Protocol`] for the peer's framing faults (an event, with the
//! Close frame of [`Error::close_code`] already queued: 1002, 1007 or 1009),
//! [`Error::Handshake`] for a failed opening handshake, [`Error::Usage`] for misused commands.
//!
//! # Limits
//!
//! A message is bounded by `max_payload` (1009 beyond), a compressed one by its inflated size,
//! checked while inflating (at most `max_payload + 1` bytes are ever inflated: zip bombs fail
//! early); control frames by 125 bytes; a frame header by 14 bytes. Whole messages are held until complete (or streamed with
//! `Config::streaming`).
//!
//! # Panics
//!
//! Never, on any input; a panic is a bug.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod close;
#[cfg(feature = "deflate")]
mod codec;
mod config;
mod connection;
pub mod deflate;
mod error;
mod event;
mod frame;
pub mod handshake;
mod mask;
mod utf8;

pub use config::Config;
pub use connection::{Connection, Entropy};
pub use deflate::DeflateConfig;
pub use error::{Error, HandshakeError, ProtocolError, UsageError};
pub use event::{Action, Message, ReadyState, Received, Role, WsEvent};
