//! One deadline per entry, for runtimes without timers of their own (mio, a bare `epoll`
//! loop): the stack's `poll_timeout` goes in with [`Deadlines::set`], the wait is bounded by
//! [`Deadlines::next`], and [`Deadlines::pop_due`] names whose `handle_timeout` to call.
//!
//! Deadlines are kept lazily: a later deadline than the one armed leaves it armed, so the
//! keep-alive deadline that every request pushes back costs no reordering per request. The
//! earlier deadline pops, the entry's `handle_timeout` finds nothing due (every machine's
//! `handle_timeout` fires only what is due), and the runtime sets the entry's real deadline
//! again.

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
    /// Arms `id` for `at`, unless an earlier deadline is armed for it (that one pops first;
    /// set the entry's deadline again then). `None` leaves an armed deadline to pop.
    pub fn set(&mut self, id: u64, at: Option<Instant>) {
        let Some(at) = at else { return };
        match self.by_id.get(&id) {
            Some(&armed) if armed <= at => {}
            armed => {
                if let Some(&old) = armed {
                    self.by_deadline.remove(&(old, id));
                }
                self.by_id.insert(id, at);
                self.by_deadline.insert((at, id));
            }
        }
    }

    /// Forgets `id`'s deadline (the entry is gone).
    pub fn remove(&mut self, id: u64) {
        if let Some(old) = self.by_id.remove(&id) {
            self.by_deadline.remove(&(old, id));
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

    fn ms(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn pops_due_deadlines_in_order_and_earlier_ones_replace_later() {
        let t0 = Instant::now();
        let mut timers = Deadlines::default();
        timers.set(1, Some(ms(t0, 30)));
        timers.set(2, Some(ms(t0, 10)));
        timers.set(1, Some(ms(t0, 20)));
        timers.set(3, Some(ms(t0, 5)));
        timers.remove(3);
        assert_eq!(timers.next(), Some(ms(t0, 10)));
        assert_eq!(timers.pop_due(ms(t0, 25)), Some(2));
        assert_eq!(timers.pop_due(ms(t0, 25)), Some(1));
        assert_eq!(timers.pop_due(ms(t0, 25)), None);
        assert_eq!(timers.next(), None);
    }

    #[test]
    fn a_later_deadline_waits_for_the_armed_one_to_pop() {
        let t0 = Instant::now();
        let mut timers = Deadlines::default();
        timers.set(1, Some(ms(t0, 10)));
        // Pushed back (a keep-alive request came), then cleared: the 10 ms one stays.
        timers.set(1, Some(ms(t0, 50)));
        timers.set(1, None);
        assert_eq!(timers.next(), Some(ms(t0, 10)));
        assert_eq!(timers.pop_due(ms(t0, 10)), Some(1));
        // The runtime sets the real deadline again after the early pop.
        timers.set(1, Some(ms(t0, 50)));
        assert_eq!(timers.pop_due(ms(t0, 49)), None);
        assert_eq!(timers.pop_due(ms(t0, 50)), Some(1));
    }
}
