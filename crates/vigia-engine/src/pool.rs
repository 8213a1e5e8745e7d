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
            .map_err(|_| Error::Worker(format!("{what}: the pool was closed")))?;
        tokio::task::spawn_blocking(move || {
            let out = job();
            drop(permit);
            out
        })
        .await
        .map_err(|e| Error::Worker(format!("{what} failed: {e}")))
    }

    /// Jobs running now (for tests and metrics).
    pub(crate) fn busy(&self) -> usize {
        self.size - self.permits.available_permits()
    }
}
