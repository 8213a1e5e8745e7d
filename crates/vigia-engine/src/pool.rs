//! The one bounded pool that blocking work of every scan runs on.
//!
//! Tokio's blocking threads run the work; a semaphore with `parallelism`
//! permits decides how many jobs run at once, whatever the number of scans in
//! flight, so that a server running 20 scans does not start 20 × cores threads
//! of work. Jobs wait for a permit in arrival order (tokio's semaphore is fair).

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::{Error, Result};

/// A bounded pool for blocking jobs.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    permits: Arc<Semaphore>,
    size: usize,
}

impl Pool {
    pub(crate) fn new(size: usize) -> Self {
        let size = size.max(1);
        Self {
            permits: Arc::new(Semaphore::new(size)),
            size,
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Runs `job` on a blocking thread once a permit is free; `what` names it
    /// if the thread dies.
    pub(crate) async fn run<T, F>(&self, what: &'static str, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| Error::worker(what, e))?;
        tokio::task::spawn_blocking(move || {
            let out = job();
            drop(permit);
            out
        })
        .await
        .map_err(|e| Error::worker(what, e))
    }

    /// Jobs running now (for tests and metrics).
    pub(crate) fn busy(&self) -> usize {
        self.size - self.permits.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// Twelve jobs from twelve callers at once on a pool of two: never more
    /// than two run together, and all of them run.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_jobs_run_at_once_than_the_pool_allows() {
        let pool = Pool::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..12)
            .map(|i| {
                let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    pool.run("a test job", move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                        i
                    })
                    .await
                })
            })
            .collect();
        let mut done: Vec<usize> = Vec::new();
        for j in jobs {
            done.push(j.await.unwrap().unwrap());
        }
        done.sort_unstable();
        assert_eq!(done, (0..12).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 2, "the pool's bound");
        assert_eq!(pool.busy(), 0);
    }

    #[tokio::test]
    async fn a_job_that_panics_is_an_error_naming_it() {
        let pool = Pool::new(1);
        let err = pool
            .run("the exploding job", || -> u8 { panic!("boom") })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("the exploding job"), "{err}");
        // The permit came back: the pool still runs work.
        assert_eq!(pool.run("the next job", || 7).await.unwrap(), 7);
    }
}
