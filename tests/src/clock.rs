//! A fake monotonic clock: machines take `now` as an argument, so tests move time by hand.

use std::time::{Duration, Instant};

/// A monotonic clock that only moves when told to.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    now: Instant,
}

impl Clock {
    /// A clock starting at the real current instant (any fixed instant would do).
    pub fn new() -> Self {
        Self {
            now: Instant::now(),
        }
    }

    /// The current fake instant.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Moves the clock forward by `by` and returns the new instant.
    pub fn advance(&mut self, by: Duration) -> Instant {
        self.now += by;
        self.now
    }

    /// Moves the clock to `to` if that is later, and returns the current instant.
    pub fn advance_to(&mut self, to: Instant) -> Instant {
        if to > self.now {
            self.now = to;
        }
        self.now
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_forward_and_advance_to_never_goes_back() {
        let mut clock = Clock::new();
        let start = clock.now();
        let later = clock.advance(Duration::from_millis(5));
        assert_eq!(later - start, Duration::from_millis(5));
        assert_eq!(clock.advance_to(start), later);
    }
}
