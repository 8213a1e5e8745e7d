//! The delivery loop: hands the outbox's events to targets and sends them
//! (see `crate::delivery`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;

use super::{Service, ServiceError};
use crate::delivery::{Sender, Target};

/// How long a process holds the deliveries it claimed: longer than a
/// receiver may take to answer.
const LEASE_MS: i64 = 30_000;
/// Deliveries claimed at once, and sent at once.
const CLAIM: usize = 32;
const CONCURRENT: usize = 8;

impl Service {
    /// Delivers events until `stop` fires, looking twice a second. A batch
    /// being sent when `stop` fires is finished first.
    pub async fn deliver(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let sender = Sender::new();
        match self
            .db
            .release_abandoned_deliveries(&self.owner, |pid| {
                Path::new(&format!("/proc/{pid}")).exists()
            })
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                deliveries = n,
                "took back the deliveries of a process that is gone"
            ),
            Err(e) => {
                tracing::warn!(error = %vigia_engine::error_chain(&e), "freeing abandoned deliveries failed");
            }
        }
        loop {
            if let Err(e) = self.deliver_once(&sender).await {
                tracing::warn!(error = %vigia_engine::error_chain(&e), "delivering events failed");
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
    }

    /// Hands new events to their targets and sends every delivery that is
    /// due. Returns how many attempts were made.
    pub async fn deliver_once(&self, sender: &Sender) -> Result<usize, ServiceError> {
        self.db.dispatch().await?;
        let mut attempts = 0;
        loop {
            let claimed = self
                .db
                .claim_deliveries(&self.owner, LEASE_MS, CLAIM)
                .await?;
            if claimed.is_empty() {
                return Ok(attempts);
            }
            let targets: HashMap<String, Target> = self
                .db
                .targets()
                .await?
                .into_iter()
                .map(|t| (t.id.clone(), t))
                .collect();
            let results: Vec<_> = futures_util::stream::iter(claimed)
                .map(|c| {
                    let target = targets.get(&c.target_id);
                    async move {
                        let outcome = match target {
                            Some(t) => Some(sender.send(t, &c.event_id, &c.body).await),
                            None => None,
                        };
                        (c, outcome)
                    }
                })
                .buffer_unordered(CONCURRENT)
                .collect()
                .await;
            for (c, outcome) in results {
                // The target was deleted meanwhile (its deliveries with it).
                let (Some(outcome), Some(t)) = (outcome, targets.get(&c.target_id)) else {
                    continue;
                };
                attempts += 1;
                let made = c.attempts + 1;
                let retry_at = (made < t.max_attempts)
                    .then(|| jiff::Timestamp::now().as_millisecond() + t.backoff(made));
                if let Some(error) = &outcome.error {
                    tracing::info!(target = %t.name, event = %c.event_id, attempt = made, error = %error, dead = retry_at.is_none(), "delivery failed");
                }
                self.db
                    .record_attempt(
                        &c,
                        &self.owner,
                        outcome.status,
                        outcome.error.as_deref(),
                        retry_at,
                    )
                    .await?;
            }
        }
    }
}
