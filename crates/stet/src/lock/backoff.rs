//! Exponential backoff with jitter for lock waiters: quick to notice a release, cheap while a holder
//! works for long.

use std::time::Duration;

/// The first pause after a failed attempt.
const FIRST: Duration = Duration::from_micros(50);
/// The longest pause: a released lock is noticed within this, so waiters never starve behind
/// a 50 ms poll as Python `filelock` does.
const LONGEST: Duration = Duration::from_millis(2);

/// An endless sequence of pauses: doubling from 50 µs up to 2 ms, each drawn at random from its
/// upper half, so waiters that started together spread out.
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
    longest: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Self::between(FIRST, LONGEST)
    }

    /// The same shape between other bounds (a lease waiter polls records, not a lock).
    pub(crate) fn between(first: Duration, longest: Duration) -> Self {
        Backoff { next: first, longest }
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let ceiling = self.next;
        self.next = (self.next * 2).min(self.longest);
        let half = ceiling / 2;
        Some(half + half.mul_f64(fastrand::f64()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_to_the_ceiling_and_never_exceed_it() {
        let pauses: Vec<Duration> = Backoff::new().take(20).collect();
        assert!(pauses[0] <= FIRST && pauses[0] >= FIRST / 2, "first pause {:?}", pauses[0]);
        assert!(pauses.iter().all(|pause| *pause <= LONGEST), "a pause exceeded {LONGEST:?}: {pauses:?}");
        assert!(pauses[19] >= LONGEST / 2, "late pauses should sit near the ceiling: {pauses:?}");
    }
}
