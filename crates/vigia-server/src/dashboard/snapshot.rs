//! Figures kept between renders of a page, by what they were computed
//! from: the overview's dozen aggregations take seconds at a million
//! findings, and they change only when findings or resources do.
//!
//! A render reads a [`Stamp`] (the latest change's time, from an index: a
//! few milliseconds whatever the size) and uses the kept figures when
//! nothing changed since they were computed. Otherwise they are computed
//! again in a task of their own (one at a time): the render waits for it
//! up to [`WAIT`] and, when it takes longer, shows the figures kept, saying
//! as of when; the page then reloads soon to show the new ones. The first
//! render, with nothing kept, waits for its figures.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Shared};

/// How long a render waits for figures being computed when it has older
/// ones to show.
pub(crate) const WAIT: Duration = Duration::from_millis(100);

/// What figures are computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// When findings or resources last changed (`%Y-%m-%dT%H:%M:%SZ`).
    pub latest: String,
    /// Anything else they depend on (how many resources, the day).
    pub rest: String,
}

#[derive(Debug)]
struct Kept<T> {
    stamp: Stamp,
    /// When their computation started (the same format as `latest`).
    started: String,
    value: Arc<T>,
}

impl<T> Clone for Kept<T> {
    fn clone(&self) -> Self {
        Self {
            stamp: self.stamp.clone(),
            started: self.started.clone(),
            value: Arc::clone(&self.value),
        }
    }
}

impl<T> Kept<T> {
    /// Computed from `stamp`, and started after its latest change's second
    /// was over (a change in the second they started in may be missing).
    fn current(&self, stamp: &Stamp) -> bool {
        self.stamp == *stamp && self.started > stamp.latest
    }
}

type Computing<T> = Shared<BoxFuture<'static, Result<Kept<T>, String>>>;

struct State<T> {
    kept: Option<Kept<T>>,
    computing: Option<Computing<T>>,
}

/// Figures of one kind, kept.
pub(crate) struct Snapshot<T> {
    state: Mutex<State<T>>,
}

impl<T> Default for Snapshot<T> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                kept: None,
                computing: None,
            }),
        }
    }
}

impl<T> std::fmt::Debug for Snapshot<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").finish_non_exhaustive()
    }
}

impl<T: Send + Sync + 'static> Snapshot<T> {
    /// The figures for `stamp`: kept, or computed by `compute` (started
    /// at `now`). Returns them and, when they are older than `stamp`, the
    /// time their computation started.
    ///
    /// # Errors
    ///
    /// The computation failed (the message says why).
    pub(crate) async fn get<F, Fut>(
        &self,
        stamp: &Stamp,
        now: impl Fn() -> String,
        compute: F,
    ) -> Result<(Arc<T>, Option<String>), String>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, String>> + Send + 'static,
    {
        // Twice at most: figures computed for an older stamp are kept, and
        // computed again once.
        for _ in 0..2 {
            let (kept, computing) = {
                let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(k) = &state.kept
                    && k.current(stamp)
                {
                    return Ok((Arc::clone(&k.value), None));
                }
                let computing = if let Some(c) = &state.computing {
                    c.clone()
                } else {
                    let work = compute();
                    let (stamp, started) = (stamp.clone(), now());
                    let task = tokio::spawn(async move {
                        work.await.map(|v| Kept {
                            stamp,
                            started,
                            value: Arc::new(v),
                        })
                    });
                    let c: Computing<T> = async move {
                        task.await
                            .map_err(|e| format!("computing the figures stopped: {e}"))?
                    }
                    .boxed()
                    .shared();
                    state.computing = Some(c.clone());
                    c
                };
                (state.kept.clone(), computing)
            };
            let waited = match &kept {
                Some(_) => tokio::time::timeout(WAIT, computing).await.ok(),
                None => Some(computing.await),
            };
            let Some(done) = waited else {
                // Still computing: the figures kept, as of their start.
                let kept = kept.ok_or_else(|| "no figures".to_owned())?;
                return Ok((kept.value, Some(kept.started)));
            };
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.computing = None;
            let fresh = done?;
            let current = fresh.current(stamp);
            state.kept = Some(fresh.clone());
            if current {
                return Ok((fresh.value, None));
            }
        }
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let kept = state.kept.clone().ok_or_else(|| "no figures".to_owned())?;
        Ok((kept.value, Some(kept.started)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn stamp(latest: &str) -> Stamp {
        Stamp {
            latest: latest.into(),
            rest: "r".into(),
        }
    }

    #[tokio::test]
    async fn figures_are_kept_until_something_changes() {
        let snapshot: Snapshot<usize> = Snapshot::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let compute = || {
            let runs = Arc::clone(&runs);
            async move { Ok(runs.fetch_add(1, Ordering::SeqCst) + 1) }
        };
        let t1 = stamp("2026-12-07T10:00:00Z");
        let later = || "2026-12-07T10:00:05Z".to_owned();
        let (v, stale) = snapshot.get(&t1, later, compute).await.unwrap();
        assert_eq!((*v, stale), (1, None));
        let (v, stale) = snapshot.get(&t1, later, compute).await.unwrap();
        assert_eq!((*v, stale), (1, None), "kept: not computed again");
        // A change: computed again (quickly, so waited for).
        let t2 = stamp("2026-12-07T10:00:06Z");
        let (v, stale) = snapshot
            .get(&t2, || "2026-12-07T10:00:07Z".to_owned(), compute)
            .await
            .unwrap();
        assert_eq!((*v, stale), (2, None));
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn figures_started_in_the_second_of_a_change_are_computed_again() {
        let snapshot: Snapshot<usize> = Snapshot::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let compute = || {
            let runs = Arc::clone(&runs);
            async move { Ok(runs.fetch_add(1, Ordering::SeqCst) + 1) }
        };
        let t = stamp("2026-12-07T10:00:00Z");
        let same_second = || "2026-12-07T10:00:00Z".to_owned();
        let (v, stale) = snapshot.get(&t, same_second, compute).await.unwrap();
        // Computed twice: the first might have missed a change of that
        // second; the second started in it too, so it is shown as of then.
        assert_eq!(*v, 2);
        assert_eq!(stale.as_deref(), Some("2026-12-07T10:00:00Z"));
        let (v, stale) = snapshot
            .get(&t, || "2026-12-07T10:00:01Z".to_owned(), compute)
            .await
            .unwrap();
        assert_eq!((*v, stale), (3, None));
    }

    #[tokio::test]
    async fn a_slow_computation_shows_the_kept_figures_meanwhile() {
        let snapshot: Snapshot<&'static str> = Snapshot::default();
        let later = || "2026-12-07T11:00:00Z".to_owned();
        let t1 = stamp("2026-12-07T10:00:00Z");
        snapshot
            .get(&t1, later, || async { Ok("old") })
            .await
            .unwrap();
        let t2 = stamp("2026-12-07T10:30:00Z");
        let (gate, opened) = tokio::sync::watch::channel(false);
        let slow = move || {
            let mut opened = opened.clone();
            async move {
                let _ = opened.wait_for(|o| *o).await;
                Ok("new")
            }
        };
        let (v, stale) = snapshot.get(&t2, later, &slow).await.unwrap();
        assert_eq!(*v, "old");
        assert_eq!(stale.as_deref(), Some("2026-12-07T11:00:00Z"));
        gate.send(true).unwrap();
        let (v, stale) = snapshot.get(&t2, later, &slow).await.unwrap();
        assert_eq!((*v, stale), ("new", None));
    }

    #[tokio::test]
    async fn a_failure_is_an_error_not_figures() {
        let snapshot: Snapshot<usize> = Snapshot::default();
        let t = stamp("2026-12-07T10:00:00Z");
        let err = snapshot
            .get(
                &t,
                || "2026-12-07T10:00:01Z".to_owned(),
                || async { Err::<usize, _>("the database failed".to_owned()) },
            )
            .await
            .unwrap_err();
        assert!(err.contains("database"), "{err}");
    }
}
