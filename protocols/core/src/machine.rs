//! `Machine`: the surface every sansnet byte machine offers its driver.

use std::io::IoSlice;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use crate::Action;

/// A sans-I/O byte machine: the TCP socket, TLS, the HTTP/1.1 server and client connections
/// and the WebSocket connection all implement it, so one loop (or one layer of a stack)
/// drives any of them the same way.
///
/// Time only moves forward through the `now` arguments; a machine never reads a clock. Every
/// method is cheap and never blocks; none panics on any input.
///
/// The drain rule a driver follows, until a round moves nothing:
///
/// 1. write what [`Machine::transmit_chunks`] offers and report it with
///    [`Machine::advance_transmit`] (or take whole chunks with [`Machine::poll_transmit`]);
/// 2. carry out each [`Machine::poll_action`];
/// 3. while [`Machine::wants_read`], read and hand the bytes to [`Machine::handle_input`]
///    (the end of input to [`Machine::handle_eof`]);
/// 4. hand each [`Machine::poll_event`] to the application;
///
/// and wake it at [`Machine::poll_timeout`] with [`Machine::handle_timeout`].
pub trait Machine {
    /// What the machine tells its application (Node's events for that object).
    type Event;

    /// Bytes arrived from the link beneath; the machine takes what it can from the front of
    /// `input` and leaves the rest there for a later call.
    fn handle_input(&mut self, now: Instant, input: &mut BytesMut);

    /// The link beneath ended its input (the peer's FIN, or its `close_notify` under TLS).
    fn handle_eof(&mut self, now: Instant);

    /// Whether the machine takes input now (`false` while paused or full).
    fn wants_read(&self) -> bool;

    /// Fills `out` with the bytes waiting to be written, front first, for one vectored write;
    /// returns how many slices were filled.
    fn transmit_chunks<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize;

    /// `n` bytes of those offered by [`Machine::transmit_chunks`] were written.
    fn advance_transmit(&mut self, now: Instant, n: usize);

    /// Takes the first waiting chunk whole, for a layer that queues it in the machine
    /// beneath (no copy).
    fn poll_transmit(&mut self, now: Instant) -> Option<Bytes>;

    /// The next thing to ask of the link beneath (see [`Action`] for when it applies).
    fn poll_action(&mut self) -> Option<Action>;

    /// The next event for the application.
    fn poll_event(&mut self) -> Option<Self::Event>;

    /// When the machine wants [`Machine::handle_timeout`] called, if at all.
    fn poll_timeout(&self) -> Option<Instant>;

    /// Time passed: deadlines at or before `now` fire.
    fn handle_timeout(&mut self, now: Instant);
}

/// Implements [`Machine`] for a type whose inherent methods already carry the contract's
/// names and signatures, each trait method calling its namesake, so the five machines do
/// not each write the same forwarding impl. `poll_transmit` calls the inherent method the
/// third argument names, always given: a type without an inherent method of the trait's name
/// would otherwise call the trait method itself, forever.
///
/// ```ignore
/// sansnet_core::forward_machine!(Socket, SocketEvent, poll_transmit);
/// sansnet_core::forward_machine!(ClientConnection, ClientEvent, pop_transmit);
/// ```
#[macro_export]
macro_rules! forward_machine {
    ($ty:ty, $event:ty, $poll_transmit:ident) => {
        impl $crate::Machine for $ty {
            type Event = $event;

            #[inline]
            fn handle_input(
                &mut self,
                now: ::std::time::Instant,
                input: &mut $crate::__bytes::BytesMut,
            ) {
                Self::handle_input(self, now, input);
            }

            #[inline]
            fn handle_eof(&mut self, now: ::std::time::Instant) {
                Self::handle_eof(self, now);
            }

            #[inline]
            fn wants_read(&self) -> bool {
                Self::wants_read(self)
            }

            #[inline]
            fn transmit_chunks<'a>(&'a self, out: &mut [::std::io::IoSlice<'a>]) -> usize {
                Self::transmit_chunks(self, out)
            }

            #[inline]
            fn advance_transmit(&mut self, now: ::std::time::Instant, n: usize) {
                Self::advance_transmit(self, now, n);
            }

            #[inline]
            fn poll_transmit(
                &mut self,
                now: ::std::time::Instant,
            ) -> ::std::option::Option<$crate::__bytes::Bytes> {
                Self::$poll_transmit(self, now)
            }

            #[inline]
            fn poll_action(&mut self) -> ::std::option::Option<$crate::Action> {
                Self::poll_action(self)
            }

            #[inline]
            fn poll_event(&mut self) -> ::std::option::Option<$event> {
                Self::poll_event(self)
            }

            #[inline]
            fn poll_timeout(&self) -> ::std::option::Option<::std::time::Instant> {
                Self::poll_timeout(self)
            }

            #[inline]
            fn handle_timeout(&mut self, now: ::std::time::Instant) {
                Self::handle_timeout(self, now);
            }
        }
    };
}
