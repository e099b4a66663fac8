//! The contract every sansnet protocol machine follows, as code: the [`Machine`] trait, the
//! one [`Action`] enum (with [`Actions`], the queue that keeps its ordering rule) and the
//! outbound byte queue [`Transmit`]. This page is the contract's one written source; the
//! other crates' docs point here.
//!
//! sansnet rebuilds Node's network stack (`net`, `dgram`, `http`, `tls`, WebSocket) as sans-I/O
//! machines: none opens a socket, reads a clock or starts a thread; bytes, I/O outcomes and
//! `now: Instant` come in as arguments, and events, bytes to write, actions and deadlines come
//! out. The TCP socket (`sansnet-tcp`), TLS (`sansnet-tls`), the HTTP/1.1 server and client
//! connections (`sansnet-http1`) and the WebSocket connection (`sansnet-ws`) all implement
//! [`Machine`], so the same few calls drive any of them, and `sansnet-stack` composes them
//! into one connection with one generic step.
//!
//! # The contract
//!
//! - **Inputs** take `now` first and never fail: [`Machine::handle_input`] consumes what it
//!   parses from the front of the caller's `BytesMut` and leaves the rest there;
//!   [`Machine::handle_eof`] is the peer's end (an empty read is not an end);
//!   [`Machine::handle_timeout`] fires the deadlines at or before `now`. The TCP socket also
//!   takes the OS outcomes (`handle_connected`, `handle_io_error`).
//! - **Outputs**: [`Machine::poll_event`] (owned events, one enum per machine, named after
//!   Node's events); the bytes to write, read as `IoSlice`s with [`Machine::transmit_chunks`]
//!   and confirmed with [`Machine::advance_transmit`] (partial writes are normal), or taken
//!   whole with [`Machine::poll_transmit`] by a layer that queues them in the machine beneath;
//!   [`Machine::poll_action`]; [`Machine::poll_timeout`] (exact: `handle_timeout` at or after
//!   it acts); [`Machine::wants_read`].
//! - **Actions** ([`Action`]) are carried out when polled. `Shutdown` and `HandOver` come only
//!   once every byte queued before them has left the machine's queue ([`Actions`] keeps that
//!   rule), so no consumer ever holds one back; `Close` drops what is still queued.
//! - **The drain rule**: after every input or command, the driver writes what the machine
//!   offers, carries out its actions, hands its events on, and reads its deadline again.
//!   Automatic replies (100 Continue, Pong, the close echo, Node's default 400/408/413/431,
//!   TLS alerts) are queued by the input that caused them.
//! - **Commands** from the application (`write`, `end`, `send_response`, `send`, `close`, ...)
//!   return `Result<_, Error>` and change nothing on error; `write`/`send` return `false` at
//!   the high-water mark and a `Drain` event follows when the queue empties.
//! - **Two error channels**: the caller's mistakes are `Err` from commands; the peer's are
//!   events (with the reply already queued), after which the machine stays in its error state.
//!   Errors are typed, one error type per crate, never strings.
//! - Time and randomness (WebSocket keys and masks) come from outside; payloads leave as
//!   `Bytes` split from the read buffer, without a copy or an allocation per message in steady
//!   state.
//! - **No panic on any input**, every queue bounded, and **the same events for any split of
//!   the input bytes**: each machine's property tests and fuzz targets check all three.
//!
//! This crate depends on `bytes` alone and does no I/O.
//!
//! # Example
//!
//! A machine that echoes what it reads and ends its side at the peer's end, and one generic
//! function that drives any [`Machine`] by the contract:
//!
//! ```
//! use std::io::IoSlice;
//! use std::time::Instant;
//!
//! use bytes::{Bytes, BytesMut};
//! use sansnet_core::{Action, Actions, Machine, Transmit};
//!
//! #[derive(Default)]
//! struct Echo {
//!     out: Transmit,
//!     actions: Actions,
//! }
//!
//! impl Machine for Echo {
//!     type Event = ();
//!     fn handle_input(&mut self, _now: Instant, input: &mut BytesMut) {
//!         self.out.push(input.split().freeze());
//!     }
//!     fn handle_eof(&mut self, _now: Instant) {
//!         self.actions.push(Action::Shutdown);
//!     }
//!     fn wants_read(&self) -> bool {
//!         true
//!     }
//!     fn transmit_chunks<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
//!         self.out.fill(out)
//!     }
//!     fn advance_transmit(&mut self, _now: Instant, n: usize) {
//!         self.out.advance(n);
//!     }
//!     fn poll_transmit(&mut self, _now: Instant) -> Option<Bytes> {
//!         self.out.pop()
//!     }
//!     fn poll_action(&mut self) -> Option<Action> {
//!         self.actions.poll(self.out.is_empty())
//!     }
//!     fn poll_event(&mut self) -> Option<()> {
//!         None
//!     }
//!     fn poll_timeout(&self) -> Option<Instant> {
//!         None
//!     }
//!     fn handle_timeout(&mut self, _now: Instant) {}
//! }
//!
//! /// Writes what `machine` offers into `wire`, at most `max` bytes per write, and carries
//! /// out its actions; returns whether it shut its side down.
//! fn drain(machine: &mut impl Machine, now: Instant, wire: &mut Vec<u8>, max: usize) -> bool {
//!     let mut shut = false;
//!     loop {
//!         let mut slices = [IoSlice::new(&[]); 8];
//!         let n = machine.transmit_chunks(&mut slices);
//!         let Some(first) = slices[..n].first() else { break };
//!         let took = first.len().min(max);
//!         wire.extend_from_slice(&first[..took]);
//!         machine.advance_transmit(now, took);
//!         // `Shutdown` waits for the bytes queued before it.
//!         shut |= machine.poll_action() == Some(Action::Shutdown);
//!     }
//!     shut | (machine.poll_action() == Some(Action::Shutdown))
//! }
//!
//! let now = Instant::now();
//! let mut echo = Echo::default();
//! echo.handle_input(now, &mut BytesMut::from(&b"hello"[..]));
//! echo.handle_eof(now);
//! let mut wire = Vec::new();
//! assert!(drain(&mut echo, now, &mut wire, 2));
//! assert_eq!(wire, b"hello");
//! ```
//!
//! # Features
//!
//! None.
//!
//! # Panics
//!
//! Never; a panic is a bug.
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod action;
mod machine;
mod transmit;

pub use action::{Action, Actions};
pub use machine::Machine;
pub use transmit::Transmit;

/// `bytes`, for [`forward_machine!`]'s expansion in other crates.
#[doc(hidden)]
pub use bytes as __bytes;
