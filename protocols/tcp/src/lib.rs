//! Node's `net` module (`net.Socket`, `net.Server`) as sans-I/O event machines.
//!
//! A [`Socket`] is told what the operating system did (connected, bytes read, FIN, bytes
//! written, an error, time passing) and answers with Node's events (`connect`, `data`, `end`,
//! `drain`, `timeout`, `error`, `close`) and with what the driver must do next (write these
//! bytes, shut down the write side, close, stop or start reading, wake me at this instant).
//! A [`Server`] does the same for a listening socket.
//!
//! This crate opens no socket, reads no clock, starts no thread: bytes, I/O outcomes and
//! `now: Instant` come in as arguments. The `sansnet-mio` driver runs these machines over
//! real sockets; anything else (io_uring, a simulator, a fuzzer) can too.
//!
//! # The contract
//!
//! The contract is the one of every sansnet machine, written down once in `sansnet-core`'s
//! crate docs: [`Socket`] implements `sansnet_core::Machine`, and its actions are
//! `sansnet_core::Action`. In this crate:
//!
//! Every method is one of four kinds:
//!
//! - **inputs**, `handle_*` and [`Socket::advance_transmit`]: what the driver saw. `now`
//!   comes first and never goes back. Inputs never return errors.
//! - **commands** ([`Socket::write`], [`Socket::end`], [`Socket::destroy`],
//!   [`Server::listen`], [`Server::close`], ...): what the application asks. They return
//!   `Err` and change nothing when called in the wrong state.
//! - **outputs**: [`Socket::transmit_chunks`], [`Socket::poll_action`],
//!   [`Socket::poll_event`], [`Socket::poll_timeout`], [`Socket::wants_read`].
//! - **getters**: [`Socket::bytes_read`], [`Socket::buffer_size`], [`Server::connections`], ...
//!
//! The drain rule: after every input or command, the driver writes what `transmit_chunks`
//! offers (reporting the count with `advance_transmit`), carries out every `poll_action`,
//! hands every `poll_event` to the application, then re-arms its timer from `poll_timeout`.
//! Events do not depend on how the incoming bytes were chunked.
//!
//! # Example
//!
//! A client socket and an accepted socket, wired together by hand:
//!
//! ```
//! use std::io::IoSlice;
//! use std::time::Instant;
//!
//! use bytes::{Bytes, BytesMut};
//! use sansnet_tcp::{Action, Socket, SocketConfig, SocketEvent};
//!
//! let now = Instant::now();
//! let mut client = Socket::connect(now, SocketConfig::default());
//! let mut server = Socket::accepted(now, SocketConfig::default());
//!
//! // Written while connecting: queued until the connection is up.
//! assert_eq!(client.write(now, Bytes::from_static(b"hello")), Ok(true));
//! client.handle_connected(now);
//! assert_eq!(client.poll_event(), Some(SocketEvent::Connect));
//! assert_eq!(client.poll_event(), Some(SocketEvent::Ready));
//!
//! // The driver writes what the client offers and reads it on the server side.
//! let mut slices = [IoSlice::new(&[]); 8];
//! let n = client.transmit_chunks(&mut slices);
//! let mut wire = BytesMut::new();
//! for slice in &slices[..n] {
//!     wire.extend_from_slice(slice);
//! }
//! client.advance_transmit(now, wire.len());
//! server.handle_input(now, &mut wire);
//! assert_eq!(server.poll_event(), Some(SocketEvent::Data(Bytes::from_static(b"hello"))));
//!
//! // The client ends: FIN goes out once its queue is empty.
//! client.end(now, None).unwrap();
//! assert_eq!(client.poll_action(), Some(Action::Shutdown));
//! assert_eq!(client.poll_event(), Some(SocketEvent::Finish));
//!
//! // The server sees the FIN: `end`, and (not half-open) it ends its own side and closes.
//! server.handle_eof(now);
//! assert_eq!(server.poll_event(), Some(SocketEvent::End));
//! assert_eq!(server.poll_event(), Some(SocketEvent::Finish));
//! assert_eq!(server.poll_event(), Some(SocketEvent::Close { had_error: false }));
//! assert_eq!(server.poll_action(), Some(Action::Shutdown));
//! assert_eq!(server.poll_action(), Some(Action::Close { reset: false }));
//!
//! client.handle_eof(now);
//! assert_eq!(client.poll_event(), Some(SocketEvent::End));
//! assert_eq!(client.poll_event(), Some(SocketEvent::Close { had_error: false }));
//! ```
//!
//! # Node mapping
//!
//! | Node | here | default |
//! |---|---|---|
//! | `net.connect()` / server `'connection'` socket | [`Socket::connect`] / [`Socket::accepted`] | |
//! | `'connect'`, `'ready'`, `'data'`, `'end'`, `'finish'`, `'drain'`, `'timeout'`, `'error'`, `'close'` | [`SocketEvent`] | |
//! | `write(data)` / `end([data])` | [`Socket::write`] / [`Socket::end`] | |
//! | `destroy()`, `destroy(err)`, `destroySoon()`, `resetAndDestroy()` | [`Socket::destroy`], [`Socket::destroy_with_error`], [`Socket::destroy_soon`], [`Socket::reset_and_destroy`] | |
//! | `pause()` / `resume()` | [`Socket::pause`] / [`Socket::resume`] (read interest) | flowing |
//! | `setTimeout(ms)` | [`Socket::set_timeout`] | none |
//! | `setNoDelay()`, `setKeepAlive()` | [`Action::SetNoDelay`], [`Action::SetKeepAlive`] | Nagle on, keep-alive off |
//! | `allowHalfOpen` | [`SocketConfig::allow_half_open`] | false |
//! | `writableHighWaterMark` | [`SocketConfig::high_water_mark`] | 16 KiB (Node 20) |
//! | `bytesRead`, `bytesWritten`, `bufferSize`, `readyState` | getters of [`Socket`] | |
//! | `'listening'`, `'connection'`, `'drop'`, `'error'`, `'close'` | [`ServerEvent`] | |
//! | `server.listen()`, `server.close()`, `maxConnections`, `getConnections()` | [`Server`] | unlimited |
//! | `server.listen({ reusePort })` | [`ServerConfig::reuse_port`], applied by the driver | false |
//!
//! # Features
//!
//! None: the crate has no cargo features, and its one dependency is `bytes`.
//!
//! # Errors
//!
//! One type, [`Error`]: [`Error::Usage`] for commands called in the wrong state (returned,
//! nothing changes), [`Error::Io`] for what the OS reported (an event, then `Close`).
//! [`Error::code`] gives Node's code (`ERR_STREAM_WRITE_AFTER_END`, `ECONNREFUSED`, ...).
//!
//! # Limits
//!
//! Incoming bytes are never buffered here: `handle_input` hands them on as one `Data` event, or
//! leaves them with the driver while paused. The write queue holds what the application wrote;
//! like Node's, it is bounded by the application honouring `write() == false`. Event and action
//! queues hold at most a few entries per input.
//!
//! # Panics
//!
//! Never, on any sequence of inputs and commands; a panic is a bug.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod config;
mod error;
mod event;
mod server;
mod socket;
mod state;

#[cfg(test)]
mod tests;

pub use config::{DEFAULT_BACKLOG, DEFAULT_HIGH_WATER_MARK, ServerConfig, SocketConfig};
pub use error::{Error, LayerError, UsageError, io_code};
pub use event::{Action, Address, ConnectionId, ServerAction, ServerEvent, SocketEvent};
pub use server::{Admission, Server};
pub use socket::Socket;
pub use state::ReadyState;
