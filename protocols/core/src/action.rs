//! `Action`: what a machine asks of the link beneath it, with one meaning for every layer.

use std::time::Duration;

/// A one-shot request a machine makes of the link beneath it (the OS socket for the bottom
/// layer, the socket machine for a layer above it).
///
/// An action is carried out when it is polled. A machine offers [`Action::Shutdown`] and
/// [`Action::HandOver`] only once every byte it queued before them has left its transmit
/// queue, so its consumer never has to hold one back; [`Action::Close`] drops whatever is
/// still queued, and a machine clears its own queue before it offers one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// End the write side: a FIN for TCP (`socket.end()`), `close_notify` then FIN under TLS.
    Shutdown,
    /// Close the link now without writing more (`socket.destroy()`); `reset` asks for an RST
    /// instead of a FIN (`socket.resetAndDestroy()`).
    Close {
        /// Close with RST (`SO_LINGER` 0).
        reset: bool,
    },
    /// Stop driving this machine: the link now belongs to someone else (the application after
    /// HTTP `Connect` or `Upgrade`, or the WebSocket machine).
    HandOver,
    /// Set `TCP_NODELAY` to this value (`socket.setNoDelay()`); only the socket machine asks.
    SetNoDelay(bool),
    /// Set `SO_KEEPALIVE`; `Some(delay)` enables it with `TCP_KEEPIDLE = delay`
    /// (`socket.setKeepAlive()`); only the socket machine asks.
    SetKeepAlive(Option<Duration>),
}

/// A machine's queue of [`Action`]s, which keeps the contract's one ordering rule:
/// `Shutdown` and `HandOver` wait until the machine's transmit queue is empty.
#[derive(Debug, Default, Clone)]
pub struct Actions {
    queue: std::collections::VecDeque<Action>,
}

impl Actions {
    /// Queues `action` behind the others.
    #[inline]
    pub fn push(&mut self, action: Action) {
        self.queue.push_back(action);
    }

    /// The next action that may be carried out now, given whether the machine's transmit
    /// queue is empty (`Shutdown` and `HandOver` wait for it, and so does what follows them).
    #[inline]
    pub fn poll(&mut self, transmit_empty: bool) -> Option<Action> {
        match self.queue.front()? {
            Action::Shutdown | Action::HandOver if !transmit_empty => None,
            _ => self.queue.pop_front(),
        }
    }

    /// Whether no action waits.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Drops every waiting action.
    #[inline]
    pub fn clear(&mut self) {
        self.queue.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::{Action, Actions};

    #[test]
    fn shutdown_and_hand_over_wait_for_the_queue_and_close_does_not() {
        let mut actions = Actions::default();
        actions.push(Action::Shutdown);
        actions.push(Action::Close { reset: false });
        assert_eq!(actions.poll(false), None);
        assert_eq!(actions.poll(true), Some(Action::Shutdown));
        assert_eq!(actions.poll(false), Some(Action::Close { reset: false }));
        actions.push(Action::HandOver);
        assert_eq!(actions.poll(false), None);
        assert_eq!(actions.poll(true), Some(Action::HandOver));
        actions.push(Action::SetNoDelay(true));
        assert_eq!(actions.poll(false), Some(Action::SetNoDelay(true)));
        assert_eq!(actions.poll(true), None);
        assert!(actions.is_empty());
    }
}
