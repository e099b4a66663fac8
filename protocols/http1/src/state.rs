//! The receiving side of a connection, the same for both roles (the server reads requests, the
//! client responses): its states and the table of their transitions.
//!
//! | from | input | to | rule |
//! |---|---|---|---|
//! | `Head` | part of a head | `Head { partial: true }` | RFC 9112 §2.2 |
//! | `Head` | a head whose message has a body | `Body` | RFC 9112 §6.3 |
//! | `Head` | a head without a body, the connection persisting | `Head` | RFC 9112 §9.3 |
//! | `Body` | the body's end, the connection persisting | `Head` | RFC 9112 §9.3 |
//! | `Head` / `Body` | a message after which the connection does not persist, the peer's fault, EOF | `Done` | RFC 9112 §9.6, §9.3 |
//! | `Head` / `Body` | CONNECT or an upgrade (a 101, a 2xx to CONNECT) | `HandedOver` | RFC 9110 §7.8, §9.3.6 |
//! | `Head` / `Body` / `Done` | nothing more is owed, a timeout, `destroy` | `Closed` | docs/node-semantics.md#http-server-close |
//! | `Closed` / `HandedOver` | anything | unchanged | |
//!
//! `Done` reads no more messages but the connection is still open (responses may still be
//! owed); it never goes back to `Head` or `Body`. `Closed` and `HandedOver` are the ends: the
//! machine's `Close` was emitted or the transport was handed over, which is what
//! `is_closed` reports (no separate flag).

use crate::RequestId;

/// Where the receiving side is. `X` is what a role keeps about a body being read (the server:
/// whether the body is discarded and the upgrade that follows it; the client: nothing).
#[derive(Debug)]
pub(crate) enum Recv<X> {
    /// Waiting for, or reading, a head.
    Head {
        /// Bytes of an unfinished head are waiting in the driver's buffer.
        partial: bool,
    },
    /// Reading the body of message `id`.
    Body {
        /// The message (request or response) it belongs to.
        id: RequestId,
        /// How the body is delimited and how much of it is left.
        reader: BodyReader,
        /// The role's own data about this body.
        then: X,
    },
    /// No more messages are read on this connection; later input stays in the driver's buffer.
    Done,
    /// `Close` was emitted.
    Closed,
    /// The connection was handed over after CONNECT or an upgrade.
    HandedOver,
}

/// How a body being read is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyReader {
    /// `Content-Length`: this many bytes are still to come.
    Fixed {
        /// Bytes still to come; at 0 the body is complete.
        remaining: u64,
    },
    /// The chunked transfer coding (the decoder lives beside the state, reused).
    Chunked,
    /// Until the connection closes (responses only).
    UntilClose,
}

impl<X> Recv<X> {
    /// Waiting for a head, none of it read.
    pub(crate) const fn idle() -> Self {
        Self::Head { partial: false }
    }

    /// Whether the table above allows the move from `self` to `next`.
    pub(crate) fn allows(&self, next: &Self) -> bool {
        match (self, next) {
            (Self::Closed | Self::HandedOver, _) => false,
            (Self::Done, Self::Head { .. } | Self::Body { .. } | Self::HandedOver) => false,
            (Self::Done, Self::Done | Self::Closed) => true,
            (Self::Head { .. } | Self::Body { .. }, _) => true,
        }
    }

    /// `Close` was emitted or the connection handed over: the machine is over.
    pub(crate) fn is_closed(&self) -> bool {
        matches!(self, Self::Closed | Self::HandedOver)
    }

    /// Messages are still read: a head or a body.
    pub(crate) fn is_reading(&self) -> bool {
        matches!(self, Self::Head { .. } | Self::Body { .. })
    }

    /// Between messages: no byte of the next head read yet.
    pub(crate) fn is_idle(&self) -> bool {
        matches!(self, Self::Head { partial: false })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> [Recv<()>; 7] {
        let body = |remaining| Recv::Body {
            id: RequestId(0),
            reader: BodyReader::Fixed { remaining },
            then: (),
        };
        [
            Recv::idle(),
            Recv::Head { partial: true },
            body(1),
            body(0),
            Recv::Done,
            Recv::Closed,
            Recv::HandedOver,
        ]
    }

    /// The table: `Closed` and `HandedOver` are ends, `Done` only goes on to `Closed`, and a
    /// connection reading messages may go anywhere.
    #[test]
    fn transitions_follow_the_table() {
        for from in all() {
            for to in all() {
                let expected = match (&from, &to) {
                    (Recv::Closed | Recv::HandedOver, _) => false,
                    (Recv::Done, to) => matches!(to, Recv::Done | Recv::Closed),
                    _ => true,
                };
                assert_eq!(from.allows(&to), expected, "{from:?} -> {to:?}");
            }
        }
    }

    /// `is_closed` is exactly the end states; `is_reading` exactly `Head` and `Body`.
    #[test]
    fn predicates_match_the_states() {
        for state in all() {
            assert_eq!(
                state.is_closed(),
                matches!(state, Recv::Closed | Recv::HandedOver)
            );
            assert_eq!(
                state.is_reading(),
                matches!(state, Recv::Head { .. } | Recv::Body { .. })
            );
            assert_eq!(
                state.is_idle(),
                matches!(state, Recv::Head { partial: false })
            );
        }
    }
}
