//! Failed sign-ins, counted so that passwords cannot be guessed at the
//! speed of the service: past [`PER_NAME`] failures for one account name,
//! or [`PER_CLIENT`] from one address, within [`WINDOW`], sign-ins for it
//! are refused until the oldest failure leaves the window.
//!
//! Written here rather than with a rate-limiting crate: those limit every
//! attempt (a person signing in and out a few times would be refused),
//! and this counts failures only, which takes a few lines.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a failure counts.
pub(crate) const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures for one account name (or token) within the window.
pub(crate) const PER_NAME: usize = 10;
/// Failures from one client address within the window (people behind one
/// proxy share it).
pub(crate) const PER_CLIENT: usize = 50;
/// Keys remembered at most: beyond, the oldest are forgotten (an attacker
/// making up names does not grow memory without end).
const KEYS: usize = 10_000;

/// Recent failures by key.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    /// Whether `key` may try now; if not, how long until it may.
    pub(crate) fn wait(&self, key: &str, limit: usize, now: Instant) -> Option<Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let times = failures.get_mut(key)?;
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            times.pop_front();
        }
        if times.len() < limit {
            if times.is_empty() {
                failures.remove(key);
            }
            return None;
        }
        times
            .front()
            .map(|oldest| WINDOW.saturating_sub(now.duration_since(*oldest)))
    }

    /// Counts a failure of `key`.
    pub(crate) fn failed(&self, key: &str, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() >= KEYS && !failures.contains_key(key) {
            // Forget whatever failed longest ago.
            let oldest = failures
                .iter()
                .min_by_key(|(_, t)| t.back().copied())
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                failures.remove(&k);
            }
        }
        let times = failures.entry(key.to_owned()).or_default();
        times.push_back(now);
        // Only the last `PER_CLIENT` matter, whatever the key.
        while times.len() > PER_CLIENT {
            times.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_limit_wait_for_the_oldest_to_leave_the_window() {
        let t = Throttle::default();
        let start = Instant::now();
        for i in 0..3 {
            assert_eq!(t.wait("user:ana", 3, start), None, "{i}");
            t.failed("user:ana", start + Duration::from_secs(i));
        }
        let later = start + Duration::from_secs(60);
        let wait = t.wait("user:ana", 3, later).expect("refused");
        assert_eq!(wait, Duration::from_secs(14 * 60));
        // Another name is not held back.
        assert_eq!(t.wait("user:bo", 3, later), None);
        // Once the oldest failure is out of the window, one more try.
        assert_eq!(t.wait("user:ana", 3, start + WINDOW), None);
        t.failed("user:ana", start + WINDOW);
        assert!(t.wait("user:ana", 3, start + WINDOW).is_some());
        // And all of them long after.
        assert_eq!(t.wait("user:ana", 3, start + WINDOW * 3), None);
    }

    #[test]
    fn memory_is_bounded_whatever_the_names() {
        let t = Throttle::default();
        let now = Instant::now();
        for i in 0..(KEYS + 100) {
            t.failed(
                &format!("user:{i}"),
                now + Duration::from_millis(u64::try_from(i).unwrap()),
            );
        }
        assert_eq!(t.failures.lock().unwrap().len(), KEYS);
        // The newest are remembered.
        t.failed(&format!("user:{}", KEYS + 99), now + WINDOW / 2);
        assert!(
            t.wait(&format!("user:{}", KEYS + 99), 2, now + WINDOW / 2)
                .is_some()
        );
    }
}
