//! sansnet-testkit: the in-memory harness every sansnet machine is tested with.
//!
//! It offers what h11's and quinn's test kits offer, and a simulator:
//!
//! - [`splits`]: every way to cut a byte string (whole, every two-way split, byte at a time,
//!   random cut sets), for chunking-invariance tests.
//! - [`clock`]: a fake monotonic clock, so timers are tested without sleeping.
//! - [`link`]: a one-way in-memory byte link with a bounded write size, so partial writes
//!   happen as they do on a real socket.
//! - [`certs`]: a CA and the certificates it signs, made in the test (rcgen), with PEM files
//!   for real TLS peers.
//! - [`peers`]: the real peers (Node.js, Python, curl, OpenSSL, Chromium) that loopback tests
//!   run against, installed on first use; one that cannot be installed is a test failure,
//!   never a silent pass.
//! - [`sim`]: a deterministic network simulator for whole stacks (the client endpoint and
//!   server stacks of `sansnet-stack`) on virtual time, with seeded faults and invariants.
//!
//! The simulator needs the protocol crates and the stack as dependencies; a protocol crate
//! that dev-depends on this kit makes a dev-dependency cycle, which cargo allows (the crate's
//! tests then link the kit's copy of it as a separate crate, so they must not pass their own
//! types to the kit). The driver is only a dev-dependency.
//!
//! # Example
//!
//! ```
//! use sansnet_testkit::splits;
//!
//! let cuts: Vec<Vec<&[u8]>> = splits::two_way(b"abc").collect();
//! assert_eq!(cuts.len(), 4);
//! assert_eq!(cuts[1], vec![&b"a"[..], &b"bc"[..]]);
//! ```
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod certs;
pub mod clock;
pub mod link;
pub mod peers;
pub mod sim;
pub mod splits;
