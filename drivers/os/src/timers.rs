//! One deadline per entry, for runtimes without timers of their own (mio, a bare `epoll`
//! loop): the stack's `poll_timeout` goes in with [`Deadlines::set`], the wait is bounded by
//! [`Deadlines::next`], and [`Deadlines::pop_due`] names whose `handle_timeout` to call.

use std::collections::BTreeSet;
use std::time::Instant;

/// At most one deadline per entry id, ordered by instant. Ids are the runtime's own (never a
/// peer's), so they are hashed with rustc's Fx hash, one multiply, not SipHash: `set` runs
/// once per drain of every connection.
#[derive(Debug, Default)]
pub struct Deadlines {
    by_deadline: BTreeSet<(Instant, u64)>,
    by_id: rustc_hash::FxHashMap<u64, Instant>,
}

impl Deadlines {
    /// Sets (or with `None`, clears) the deadline of `id`, replacing the one it had.
    pub fn set(&mut self, id: u64, at: Option<Instant>) {
        if self.by_id.get(&id).copied() == at {
            return;
        }
        if let Some(old) = self.by_id.remove(&id) {
            self.by_deadline.remove(&(old, id));
        }
        if let Some(at) = at {
            self.by_id.insert(id, at);
            self.by_deadline.insert((at, id));
        }
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.by_deadline.first().map(|&(at, _)| at)
    }

    /// Removes and returns one id whose deadline is at or before `now`, earliest first.
    pub fn pop_due(&mut self, now: Instant) -> Option<u64> {
        let &(at, id) = self.by_deadline.first()?;
        if at > now {
            return None;
        }
        self.by_deadline.remove(&(at, id));
        self.by_id.remove(&id);
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn pops_due_deadlines_in_order_and_replaces_old_ones() {
        let t0 = Instant::now();
        let mut timers = Deadlines::default();
        timers.set(1, Some(t0 + Duration::from_millis(30)));
        timers.set(2, Some(t0 + Duration::from_millis(10)));
        timers.set(1, Some(t0 + Duration::from_millis(20)));
        timers.set(3, Some(t0 + Duration::from_millis(5)));
        timers.set(3, None);
        assert_eq!(timers.next(), Some(t0 + Duration::from_millis(10)));
        assert_eq!(timers.pop_due(t0 + Duration::from_millis(25)), Some(2));
        assert_eq!(timers.pop_due(t0 + Duration::from_millis(25)), Some(1));
        assert_eq!(timers.pop_due(t0 + Duration::from_millis(25)), None);
        assert_eq!(timers.next(), None);
    }
}
