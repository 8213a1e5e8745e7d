//! The one bounded pool that blocking work of every scan runs on.
//!
//! A rayon pool of `parallelism` threads runs the work, and the parallel work
//! inside it too (an image's layers read side by side, secret files scanned as
//! they stream): rayon calls made on a pool thread stay on that pool, so a
//! server running 20 scans has `parallelism` threads of work, not 20 × cores.
//! A semaphore with as many permits admits jobs in arrival order (tokio's
//! semaphore is fair) and keeps callers waiting asynchronously, never on the
//! async runtime's threads.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::{Error, Result};

/// A bounded pool for blocking jobs.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    permits: Arc<Semaphore>,
    threads: Arc<rayon::ThreadPool>,
    size: usize,
}

/// A job's panic, as an error.
#[derive(Debug, thiserror::Error)]
#[error("it panicked: {0}")]
struct Panicked(String);

impl Panicked {
    fn from_payload(payload: &(dyn std::any::Any + Send)) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        Self(message)
    }
}

impl Pool {
    pub(crate) fn new(size: usize) -> Result<Self> {
        let size = size.max(1);
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(size)
            .thread_name(|i| format!("vigia-worker-{i}"))
            .build()
            .map_err(|e| Error::worker("starting the worker threads", e))?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(size)),
            threads: Arc::new(threads),
            size,
        })
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Runs `job` on the pool once a permit is free; `what` names it if it
    /// panics.
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
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.threads.spawn(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            drop(permit);
            // The caller may have gone (a cancelled request): nobody to tell.
            let _ = tx.send(out);
        });
        match rx.await {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(payload)) => Err(Error::worker(what, Panicked::from_payload(&*payload))),
            Err(e) => Err(Error::worker(what, e)),
        }
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
        let pool = Pool::new(2).unwrap();
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
        let pool = Pool::new(1).unwrap();
        let err = pool
            .run("the exploding job", || -> u8 { panic!("boom") })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("the exploding job"), "{err}");
        // The permit came back: the pool still runs work.
        assert_eq!(pool.run("the next job", || 7).await.unwrap(), 7);
    }

    /// Parallel work inside a job runs on the pool's own threads, never on
    /// threads of its own: a job of a pool of two sees two threads, and every
    /// item of its parallel loop runs on a pool thread.
    #[tokio::test]
    async fn parallel_work_inside_a_job_stays_on_the_pool() {
        use rayon::prelude::*;
        let pool = Pool::new(2).unwrap();
        let (threads, names) = pool
            .run("a parallel job", || {
                let names: Vec<String> = (0..64)
                    .into_par_iter()
                    .map(|_| std::thread::current().name().unwrap_or_default().to_owned())
                    .collect();
                (rayon::current_num_threads(), names)
            })
            .await
            .unwrap();
        assert_eq!(threads, 2);
        assert!(
            names.iter().all(|n| n.starts_with("vigia-worker-")),
            "{names:?}"
        );
    }
}
