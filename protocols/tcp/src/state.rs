//! The states of a socket and a server, and the table of their transitions.
//!
//! A socket is `Connecting`, then `Open` with two halves that close independently, then
//! `Closed`. Every transition below has a test citing its rule.
//!
//! | from | input or command | to | events, actions | rule (`docs/node-semantics.md`) |
//! |---|---|---|---|---|
//! | `Connecting` | `handle_connected` | `Open{read: Open}` | `Connect`, `Ready` | `#net-connect-ready` |
//! | `Connecting` | `handle_io_error` | `Closed` | `Error`, `Close{true}` | `#net-connect-error` |
//! | `Connecting` / `Open` | `write` | same | bytes queued; `false` at the high-water mark | `#net-write-while-connecting`, `#net-write-backpressure` |
//! | `Open` | `handle_input` | same | `Data` | `#net-data-order` |
//! | `Open{read: Open}` | `handle_eof`, not paused | `read: Ended` | `End`; then `end()` unless half-open | `#net-end-after-data`, `#net-end-closes-by-default` |
//! | `Open{read: Open}` | `handle_eof`, paused | `read: EofPending` | `End` on `resume` | `#net-pause-resume`, `#net-end-after-data` |
//! | `write: Open` | `end` | `write: Ending` | | `#net-end` |
//! | `write: Ending`, queue empty | (flushed) | `write: Finished` | `Finish`, `Shutdown` | `#net-close-order` |
//! | `read: Ended`, `write: Finished` | | `Closed` | `Close{false}`, `Close` action | `#net-close-once`, `#net-close-order` |
//! | any but `Closed` | `handle_io_error` | `Closed` | `Error`, `Close{true}` | `#net-error-then-close` |
//! | any but `Closed` | `destroy` | `Closed` | `Close{false}` | `#net-destroy` |
//! | `Open`, peer ended, not half-open | `write` | `Closed` | `Error(EPIPE)`, `Close{true}` | `#net-write-after-fin` |
//!
//! The halves are small enough that the transitions live in `socket.rs` next to the write
//! queue they depend on; this module holds the types so that data valid in one state lives
//! in that state.

use crate::Address;

/// The life of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// `connect` was asked for; writes queue until the connection is up (Node source `lib/net.js` ›
    /// `_writeGeneric`).
    Connecting {
        /// Our write side (`end()` may be called while connecting).
        write: WriteHalf,
    },
    /// Connected or accepted.
    Open {
        /// The peer's side, as we read it.
        read: ReadHalf,
        /// Our side.
        write: WriteHalf,
    },
    /// Closed; `Close` has been emitted.
    Closed,
}

/// The read side of an open socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadHalf {
    /// Reading.
    Open,
    /// The peer's FIN arrived while paused; `End` waits for `resume`.
    EofPending,
    /// `End` was emitted.
    Ended,
}

/// The write side of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteHalf {
    /// Writable.
    Open,
    /// `end()` was called; the queue is being flushed before FIN.
    Ending,
    /// FIN was requested from the driver; `Finish` was emitted.
    Finished,
}

/// The life of a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ServerState {
    /// Not listening (new, after a bind failure, or after `Close`).
    Idle,
    /// `listen` was called; waiting for the driver's bind outcome.
    Binding,
    /// Accepting connections on this address.
    Listening(Address),
    /// `close` was called; waiting for the last connection to close before `Close`.
    Closing,
}

/// Node's `socket.readyState` (docs/node-semantics.md#net-ready-state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyState {
    /// `'opening'`: connecting.
    Opening,
    /// `'open'`: readable and writable.
    Open,
    /// `'readOnly'`: our side ended, the peer's still open.
    ReadOnly,
    /// `'writeOnly'`: the peer ended, our side still writable.
    WriteOnly,
    /// `'closed'`.
    Closed,
}

impl ReadyState {
    /// Node's string for this state.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opening => "opening",
            Self::Open => "open",
            Self::ReadOnly => "readOnly",
            Self::WriteOnly => "writeOnly",
            Self::Closed => "closed",
        }
    }
}
