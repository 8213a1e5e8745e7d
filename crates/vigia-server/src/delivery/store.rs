//! Targets and deliveries in the state database.

use serde::Serialize;
use sqlx::Row;

use super::{DeliveryState, Target, TargetKind};
use crate::db::{Backend, DbError, DbResult, StateDb, placeholders};

/// Events handed over per transaction.
const HAND_OVER: usize = 200;

/// A delivery claimed for sending.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The target.
    pub target_id: String,
    /// The event.
    pub event_id: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The event as stored (EventBridge-shaped JSON).
    pub body: String,
}

/// A delivery as the API lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    /// The event.
    pub event_id: String,
    /// The event's `detail-type`.
    pub detail_type: String,
    /// `PENDING`, `DELIVERED` or `DEAD`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// The receiver's last HTTP status.
    pub last_status: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the event was handed to the target.
    pub created_at: String,
    /// When the receiver took it.
    pub delivered_at: Option<String>,
}

fn epoch_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn now_text() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn target_row(r: &sqlx::any::AnyRow) -> DbResult<Target> {
    let pattern_text: String = r.try_get("pattern")?;
    let pattern_json: serde_json::Value =
        serde_json::from_str(&pattern_text).map_err(|source| DbError::Json {
            what: "target pattern",
            source,
        })?;
    let kind: String = r.try_get("kind")?;
    let options: String = r.try_get("options")?;
    Ok(Target {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: TargetKind::parse(&kind).unwrap_or(TargetKind::Webhook),
        url: r.try_get("url")?,
        secret: r.try_get("secret")?,
        options: serde_json::from_str(&options).unwrap_or(serde_json::Value::Null),
        // Patterns are checked when a target is created; one this version
        // cannot parse matches nothing rather than everything.
        pattern: vigia_events::EventPattern::parse(&pattern_json).unwrap_or_else(|_| {
            vigia_events::EventPattern::parse(&serde_json::json!({"vigia-unparsable": [true]}))
                .expect("a fixed pattern parses")
        }),
        pattern_json,
        max_attempts: r.try_get("max_attempts")?,
        backoff_ms: r.try_get("backoff_ms")?,
        created_at: r.try_get("created_at")?,
    })
}

const TARGET_COLUMNS: &str =
    "id, name, kind, url, secret, options, pattern, max_attempts, backoff_ms, created_at";

impl StateDb {
    /// Stores a new target.
    pub async fn create_target(&self, t: &Target) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO targets (id, name, kind, url, secret, options, pattern, max_attempts, backoff_ms, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(t.kind.as_str())
        .bind(&t.url)
        .bind(t.secret.as_deref())
        .bind(t.options.to_string())
        .bind(t.pattern_json.to_string())
        .bind(t.max_attempts)
        .bind(t.backoff_ms)
        .bind(&t.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every target, oldest first.
    pub async fn targets(&self) -> DbResult<Vec<Target>> {
        let rows = sqlx::query(&format!(
            "SELECT {TARGET_COLUMNS} FROM targets ORDER BY created_at, id"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(target_row).collect()
    }

    /// One target.
    pub async fn target(&self, id: &str) -> DbResult<Option<Target>> {
        let row = sqlx::query(&format!(
            "SELECT {TARGET_COLUMNS} FROM targets WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(target_row).transpose()
    }

    /// Deletes a target and its deliveries; `false` when there was none.
    pub async fn delete_target(&self, id: &str) -> DbResult<bool> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM deliveries WHERE target_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM targets WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Hands the events not yet handed over to the targets whose patterns
    /// they match, a batch per transaction. Returns how many events were
    /// handed over and how many deliveries that made.
    pub async fn dispatch(&self) -> DbResult<(usize, usize)> {
        let (mut events, mut made) = (0, 0);
        loop {
            let mut tx = self.begin_write().await?;
            let skip_locked = match self.backend() {
                Backend::Postgres => " FOR UPDATE SKIP LOCKED",
                Backend::Sqlite => "",
            };
            let rows = sqlx::query(&format!(
                "SELECT id, created_at, body, summarized FROM outbox WHERE delivered_at IS NULL \
                 ORDER BY created_at, id LIMIT {HAND_OVER}{skip_locked}"
            ))
            .fetch_all(&mut *tx)
            .await?;
            // The targets as they are now, in this transaction: one created
            // or deleted meanwhile is seen or not, never half.
            let targets = sqlx::query(&format!(
                "SELECT {TARGET_COLUMNS} FROM targets ORDER BY created_at, id"
            ))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(target_row)
            .collect::<DbResult<Vec<Target>>>()?;
            if rows.is_empty() {
                tx.commit().await?;
                return Ok((events, made));
            }
            let mut ids = Vec::with_capacity(rows.len());
            let mut pairs: Vec<(String, String)> = Vec::new();
            for r in &rows {
                let id: String = r.try_get("id")?;
                let created_at: String = r.try_get("created_at")?;
                let summarized: i64 = r.try_get("summarized")?;
                let body: String = r.try_get("body")?;
                // An event that does not parse matches no pattern.
                let event: serde_json::Value =
                    serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
                let finding = event["detail-type"] == crate::events::FINDING;
                // What a summary standing for this event looks like to a
                // pattern: a target that does not take summaries gets the
                // event itself.
                let summary = (summarized != 0).then(|| {
                    crate::events::envelope(
                        "",
                        &created_at,
                        crate::events::SUMMARY,
                        event["resources"][0].as_str().unwrap_or(""),
                        &serde_json::json!({}),
                    )
                });
                for t in &targets {
                    // Security Hub and Jira take finding events only, the
                    // others a summary instead of the events it stands for.
                    // A target gets the events written since it was created
                    // (both times are whole seconds, UTC, in one format).
                    let kind_takes = if t.kind.findings_only() {
                        finding
                    } else {
                        summary.as_ref().is_none_or(|s| !t.pattern.matches(s))
                    };
                    let takes = kind_takes && t.created_at <= created_at;
                    if takes && t.pattern.matches(&event) {
                        pairs.push((t.id.clone(), id.clone()));
                    }
                }
                ids.push(id);
            }
            let (now_ms, now) = (epoch_ms(), now_text());
            for chunk in pairs.chunks(100) {
                let sql = format!(
                    "INSERT INTO deliveries (target_id, event_id, state, attempts, next_at, created_at) \
                     VALUES {} ON CONFLICT DO NOTHING",
                    placeholders(self.backend(), chunk.len(), 6, 0)
                );
                let mut q = sqlx::query(&sql);
                for (target, event) in chunk {
                    q = q
                        .bind(target)
                        .bind(event)
                        .bind(DeliveryState::Pending.as_str())
                        .bind(0_i64)
                        .bind(now_ms)
                        .bind(&now);
                }
                q.execute(&mut *tx).await?;
            }
            for chunk in ids.chunks(400) {
                let sql = format!(
                    "UPDATE outbox SET delivered_at = {} WHERE id IN ({})",
                    crate::db::param(self.backend(), 1),
                    placeholders(self.backend(), chunk.len(), 1, 1)
                );
                let mut q = sqlx::query(&sql).bind(&now);
                for id in chunk {
                    q = q.bind(id);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
            events += ids.len();
            made += pairs.len();
        }
    }

    /// Claims up to `limit` deliveries that are due for `owner`, until
    /// `lease_ms` from now.
    pub async fn claim_deliveries(
        &self,
        owner: &str,
        lease_ms: i64,
        limit: usize,
    ) -> DbResult<Vec<Claimed>> {
        let now = epoch_ms();
        let skip_locked = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE deliveries SET owner = $1, lease_until = $2 \
             WHERE (target_id, event_id) IN (SELECT target_id, event_id FROM deliveries \
             WHERE state = 'PENDING' AND next_at <= $3 AND (lease_until IS NULL OR lease_until < $3) \
             ORDER BY next_at, event_id LIMIT {limit}{skip_locked}) \
             RETURNING target_id, event_id, attempts"
        );
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(&sql)
            .bind(owner)
            .bind(now + lease_ms)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for r in rows {
            claimed.push(Claimed {
                target_id: r.try_get("target_id")?,
                event_id: r.try_get("event_id")?,
                attempts: r.try_get("attempts")?,
                body: String::new(),
            });
        }
        let ids: Vec<&str> = claimed.iter().map(|c| c.event_id.as_str()).collect();
        let mut bodies = std::collections::HashMap::new();
        for r in self
            .fetch_in("SELECT id, body FROM outbox WHERE id IN ({})", &ids)
            .await?
        {
            bodies.insert(
                r.try_get::<String, _>("id")?,
                r.try_get::<String, _>("body")?,
            );
        }
        // Several targets' deliveries of one event share its body.
        for c in &mut claimed {
            c.body = bodies.get(&c.event_id).cloned().unwrap_or_default();
        }
        Ok(claimed)
    }

    /// Records an attempt by `owner`: delivered, or failed (`error`) and
    /// due again at `retry_at` (epoch milliseconds), or dead when that was
    /// the last attempt (`retry_at` is `None`). `false` when `owner` no
    /// longer held the delivery (its lease ran out and another process
    /// took it): nothing is recorded.
    pub async fn record_attempt(
        &self,
        c: &Claimed,
        owner: &str,
        status: Option<u16>,
        error: Option<&str>,
        retry_at: Option<i64>,
    ) -> DbResult<bool> {
        let state = match (error, retry_at) {
            (None, _) => DeliveryState::Delivered,
            (Some(_), Some(_)) => DeliveryState::Pending,
            (Some(_), None) => DeliveryState::Dead,
        };
        let n = sqlx::query(
            "UPDATE deliveries SET state = $1, attempts = attempts + 1, next_at = $2, owner = NULL, \
             lease_until = NULL, last_status = $3, last_error = $4, delivered_at = $5 \
             WHERE target_id = $6 AND event_id = $7 AND owner = $8",
        )
        .bind(state.as_str())
        .bind(retry_at.unwrap_or_else(epoch_ms))
        .bind(status.map(i64::from))
        .bind(error)
        .bind((state == DeliveryState::Delivered).then(now_text))
        .bind(&c.target_id)
        .bind(&c.event_id)
        .bind(owner)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// A target's deliveries, newest first, in `state` when given.
    pub async fn deliveries(
        &self,
        target: &str,
        state: Option<DeliveryState>,
        limit: i64,
    ) -> DbResult<Vec<DeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT d.event_id, o.detail_type, d.state, d.attempts, d.last_status, d.last_error, \
             d.created_at, d.delivered_at FROM deliveries d JOIN outbox o ON o.id = d.event_id \
             WHERE d.target_id = $1 AND ($2 = '' OR d.state = $2) \
             ORDER BY d.created_at DESC, d.event_id LIMIT $3",
        )
        .bind(target)
        .bind(state.map_or("", DeliveryState::as_str))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryRecord {
                    event_id: r.try_get("event_id")?,
                    detail_type: r.try_get("detail_type")?,
                    state: r.try_get("state")?,
                    attempts: r.try_get("attempts")?,
                    last_status: r.try_get("last_status")?,
                    last_error: r.try_get("last_error")?,
                    created_at: r.try_get("created_at")?,
                    delivered_at: r.try_get("delivered_at")?,
                })
            })
            .collect()
    }

    /// Makes a target's dead letters (those of `events`, or all) due again
    /// with a fresh count of attempts. Returns how many.
    pub async fn replay(&self, target: &str, events: Option<&[String]>) -> DbResult<u64> {
        let now = epoch_ms();
        let mut n = 0;
        match events {
            None => {
                n += sqlx::query(
                    "UPDATE deliveries SET state = 'PENDING', attempts = 0, next_at = $1 \
                     WHERE target_id = $2 AND state = 'DEAD'",
                )
                .bind(now)
                .bind(target)
                .execute(self.pool())
                .await?
                .rows_affected();
            }
            Some(ids) => {
                for id in ids {
                    n += sqlx::query(
                        "UPDATE deliveries SET state = 'PENDING', attempts = 0, next_at = $1 \
                         WHERE target_id = $2 AND event_id = $3 AND state = 'DEAD'",
                    )
                    .bind(now)
                    .bind(target)
                    .bind(id)
                    .execute(self.pool())
                    .await?
                    .rows_affected();
                }
            }
        }
        Ok(n)
    }

    /// Frees the deliveries held by processes of this host that are gone,
    /// as [`StateDb::release_abandoned`] does for jobs.
    pub async fn release_abandoned_deliveries(
        &self,
        owner: &str,
        alive: impl Fn(u32) -> bool,
    ) -> DbResult<u64> {
        let rows = sqlx::query(
            "SELECT DISTINCT owner FROM deliveries WHERE state = 'PENDING' AND owner IS NOT NULL",
        )
        .fetch_all(self.pool())
        .await?;
        let mut freed = 0;
        for r in rows {
            let held: String = r.try_get("owner")?;
            if crate::jobs::abandoned(owner, &held, &alive) {
                freed += sqlx::query(
                    "UPDATE deliveries SET owner = NULL, lease_until = NULL WHERE owner = $1 AND state = 'PENDING'",
                )
                .bind(&held)
                .execute(self.pool())
                .await?
                .rows_affected();
            }
        }
        Ok(freed)
    }

    /// Deletes the events handed over before `before` (RFC 3339) whose
    /// deliveries all succeeded (or that no target took), with those
    /// deliveries. Pending deliveries and dead letters keep their events.
    /// Returns how many events were deleted.
    pub async fn prune_events(&self, before: &str) -> DbResult<u64> {
        let mut tx = self.begin_write().await?;
        let done = "SELECT o.id FROM outbox o WHERE o.delivered_at IS NOT NULL AND o.created_at < $1 \
                    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = o.id AND d.state <> 'DELIVERED')";
        sqlx::query(&format!(
            "DELETE FROM deliveries WHERE event_id IN ({done})"
        ))
        .bind(before)
        .execute(&mut *tx)
        .await?;
        let n = sqlx::query(&format!("DELETE FROM outbox WHERE id IN ({done})"))
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    /// Events not yet handed over, for `/metrics`.
    pub async fn events_waiting(&self) -> DbResult<i64> {
        Ok(
            sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL")
                .fetch_one(self.pool())
                .await?
                .try_get("n")?,
        )
    }

    /// Deliveries by state, for `/metrics`.
    pub async fn delivery_counts(&self) -> DbResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state ORDER BY state",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
            .collect()
    }
}
