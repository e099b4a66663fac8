//! What every sansnet protocol machine shares: today the outbound byte queue, [`Transmit`].
//!
//! sansnet rebuilds Node's network stack (`net`, `dgram`, `http`, `tls`, WebSocket) as sans-I/O
//! machines: none opens a socket, reads a clock or starts a thread; bytes, I/O outcomes and
//! `now: Instant` come in as arguments, and events, bytes to write and deadlines come out.
//! This crate holds the pieces of that contract that are the same in every machine, so that
//! each is written once: a machine queues what it has for the transport in a [`Transmit`],
//! and the driver reads it as `IoSlice`s for one vectored write, reports how much went with
//! `advance`, and never copies a payload on the way.
//!
//! This crate depends on `bytes` alone and does no I/O.
//!
//! # Example
//!
//! A partial write, as the OS makes them:
//!
//! ```
//! use std::io::IoSlice;
//!
//! use bytes::Bytes;
//! use sansnet_core::Transmit;
//!
//! let mut out = Transmit::default();
//! out.push(Bytes::from_static(b"HTTP/1.1 200 OK\r\n\r\n"));
//! out.push(Bytes::from_static(b"hello"));
//!
//! let mut slices = [IoSlice::new(&[]); 8];
//! let n = out.fill(&mut slices);
//! assert_eq!(n, 2);
//! // The OS took 20 bytes of the 24: the first chunk and one byte of the second.
//! out.advance(20);
//! assert_eq!(out.len(), 4);
//! assert_eq!(out.pop().as_deref(), Some(&b"ello"[..]));
//! assert!(out.is_empty());
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
