//! The timer wheel the driver keeps for the machines (mio has no timers): one deadline per
//! entry, taken from the machine's `poll_timeout`.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::ids::IdMap;

/// At most one deadline per entry id, ordered by instant.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    by_deadline: BTreeSet<(Instant, u64)>,
    by_id: IdMap<u64, Instant>,
}

impl Timers {
    /// Sets (or with `None`, clears) the deadline of `id`.
    pub(crate) fn set(&mut self, id: u64, at: Option<Instant>) {
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
    pub(crate) fn next(&self) -> Option<Instant> {
        self.by_deadline.first().map(|&(at, _)| at)
    }

    /// Removes and returns one id whose deadline is at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<u64> {
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
        let mut timers = Timers::default();
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
