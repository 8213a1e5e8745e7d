//! The delivery loop: hands the outbox's events to targets and sends them
//! (see `crate::delivery`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;

use super::{Service, ServiceError};
use crate::delivery::{Claimed, Outcome, Sender, Target, TargetKind};

/// Deliveries claimed at once, and requests sent at once.
const CLAIM: usize = 100;
const CONCURRENT: usize = 8;
/// Findings in one `BatchImportFindings` request: Security Hub's limit.
const SECURITY_HUB_BATCH: usize = 100;
/// How long a process holds the deliveries it claimed: longer than sending
/// a whole claim takes at worst (every request waiting out its timeout,
/// `CONCURRENT` at a time), so that no other process takes them meanwhile.
#[allow(clippy::cast_possible_wrap)]
const LEASE_MS: i64 = (CLAIM.div_ceil(CONCURRENT) as i64) * crate::delivery::TIMEOUT_MS + 30_000;

impl Service {
    /// Delivers events until `stop` fires, looking twice a second. The
    /// batch being sent when `stop` fires is finished first; the rest waits
    /// for the next start or another process.
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
        let mut pruned_at: Option<std::time::Instant> = None;
        loop {
            if let Err(e) = self.deliver_once(&sender, &stop).await {
                tracing::warn!(error = %vigia_engine::error_chain(&e), "delivering events failed");
            }
            // Delivered events older than the retention go, once an hour.
            if pruned_at.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
                pruned_at = Some(std::time::Instant::now());
                let days = i64::from(self.config.events_retention_days);
                let before = jiff::Timestamp::now()
                    .checked_sub(jiff::SignedDuration::from_hours(24 * days))
                    .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
                    .strftime("%Y-%m-%dT%H:%M:%SZ")
                    .to_string();
                match self.db.prune_events(&before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(events = n, "pruned delivered events"),
                    Err(e) => {
                        tracing::warn!(error = %vigia_engine::error_chain(&e), "pruning delivered events failed");
                    }
                }
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

    /// Hands new events to their targets and sends the deliveries that are
    /// due, a claim at a time, until none is due or `stop` fires. Each
    /// outcome is recorded as soon as its request ends. Returns how many
    /// attempts were recorded.
    pub async fn deliver_once(
        &self,
        sender: &Sender,
        stop: &tokio::sync::watch::Receiver<bool>,
    ) -> Result<usize, ServiceError> {
        self.db.dispatch().await?;
        let mut attempts = 0;
        while !*stop.borrow() {
            let claimed = self
                .db
                .claim_deliveries(&self.owner, LEASE_MS, CLAIM)
                .await?;
            if claimed.is_empty() {
                break;
            }
            let targets: HashMap<String, Target> = self
                .db
                .targets()
                .await?
                .into_iter()
                .map(|t| (t.id.clone(), t))
                .collect();
            let recorded: Vec<Result<usize, ServiceError>> =
                futures_util::stream::iter(units(claimed, &targets))
                    .map(|unit| self.send_unit(sender, &targets, unit))
                    .buffer_unordered(CONCURRENT)
                    .collect()
                    .await;
            for r in recorded {
                attempts += r?;
            }
        }
        Ok(attempts)
    }

    /// Sends one request's deliveries and records their outcomes.
    async fn send_unit(
        &self,
        sender: &Sender,
        targets: &HashMap<String, Target>,
        unit: Vec<Claimed>,
    ) -> Result<usize, ServiceError> {
        // The target was deleted meanwhile (its deliveries with it).
        let Some(t) = unit.first().and_then(|c| targets.get(&c.target_id)) else {
            return Ok(0);
        };
        let outcomes: Vec<Outcome> = sender.send_all(t, &unit).await;
        let mut recorded = 0;
        for (c, outcome) in unit.iter().zip(outcomes) {
            let made = c.attempts + 1;
            let retry_at = (made < t.max_attempts)
                .then(|| jiff::Timestamp::now().as_millisecond() + t.backoff(made));
            if let Some(error) = &outcome.error {
                tracing::info!(target = %t.name, event = %c.event_id, attempt = made, error = %error, dead = retry_at.is_none(), "delivery failed");
            }
            if self
                .db
                .record_attempt(
                    c,
                    &self.owner,
                    outcome.status,
                    outcome.error.as_deref(),
                    retry_at,
                )
                .await?
            {
                recorded += 1;
            } else {
                tracing::warn!(target = %t.name, event = %c.event_id, "a delivery's lease ran out while it was sent: another process sends it again");
            }
        }
        Ok(recorded)
    }
}

/// What is sent together: a Security Hub target's deliveries in one
/// request (up to its limit); a Jira target's events of one finding one
/// after the other, in the order they were made, so that two of them never
/// both find no issue and make one each; any other delivery on its own.
fn units(claimed: Vec<Claimed>, targets: &HashMap<String, Target>) -> Vec<Vec<Claimed>> {
    let mut units: Vec<Vec<Claimed>> = Vec::new();
    let mut batched: HashMap<String, Vec<Claimed>> = HashMap::new();
    let mut by_finding: HashMap<(String, String), usize> = HashMap::new();
    for c in claimed {
        match targets.get(&c.target_id) {
            Some(t) if t.kind == TargetKind::SecurityHub => {
                batched.entry(c.target_id.clone()).or_default().push(c);
            }
            Some(t) if t.kind == TargetKind::Jira => {
                let finding = serde_json::from_str::<serde_json::Value>(&c.body)
                    .ok()
                    .and_then(|e| e["detail"]["findingArn"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| c.event_id.clone());
                // Claimed in event order (IDs sort by creation).
                match by_finding.entry((c.target_id.clone(), finding)) {
                    std::collections::hash_map::Entry::Occupied(e) => units[*e.get()].push(c),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(units.len());
                        units.push(vec![c]);
                    }
                }
            }
            _ => units.push(vec![c]),
        }
    }
    for (_, all) in batched {
        let mut all = all.into_iter().peekable();
        while all.peek().is_some() {
            units.push(all.by_ref().take(SECURITY_HUB_BATCH).collect());
        }
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: &str, kind: TargetKind) -> Target {
        Target {
            id: id.into(),
            name: id.into(),
            kind,
            url: "http://127.0.0.1:1".into(),
            secret: None,
            options: serde_json::json!({}),
            pattern: vigia_events::EventPattern::parse(
                &serde_json::json!({"source": ["aws.inspector2"]}),
            )
            .unwrap(),
            pattern_json: serde_json::json!({}),
            max_attempts: 3,
            backoff_ms: 100,
            created_at: String::new(),
        }
    }

    fn claimed(target: &str, event: &str, finding: &str) -> Claimed {
        Claimed {
            target_id: target.into(),
            event_id: event.into(),
            attempts: 0,
            body: serde_json::json!({"detail": {"findingArn": finding}}).to_string(),
        }
    }

    #[test]
    fn a_jira_targets_events_of_one_finding_go_together_in_order() {
        let targets: HashMap<String, Target> =
            [("jira", TargetKind::Jira), ("hook", TargetKind::Webhook)]
                .into_iter()
                .map(|(id, kind)| (id.to_owned(), target(id, kind)))
                .collect();
        let units = units(
            vec![
                claimed("jira", "e1", "f1"),
                claimed("hook", "e1", "f1"),
                claimed("jira", "e2", "f2"),
                claimed("jira", "e3", "f1"),
                claimed("hook", "e3", "f1"),
            ],
            &targets,
        );
        let shape: Vec<Vec<(&str, &str)>> = units
            .iter()
            .map(|u| {
                u.iter()
                    .map(|c| (c.target_id.as_str(), c.event_id.as_str()))
                    .collect()
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                vec![("jira", "e1"), ("jira", "e3")],
                vec![("hook", "e1")],
                vec![("jira", "e2")],
                vec![("hook", "e3")],
            ]
        );
    }

    #[test]
    fn event_ids_sort_by_creation() {
        let ids: Vec<String> = (0..1000).map(|_| crate::events::event_id()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
    }
}
