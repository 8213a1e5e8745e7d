//! Hosts with `vigia agent` (see the `vigia-agent` crate): each check-in's
//! inventory (whole, or a difference against the one known) is stored, and
//! queued for evaluation (like a scanned resource's) only when it
//! changed; a host whose agent went silent is `STALE_INVENTORY` (findings
//! kept, and still re-evaluated when advisories change), `ACTIVE` past
//! `agent_stale_after` and `INACTIVE` past `agent_inactive_after`.

use serde_json::{Value, json};
use sqlx::Row;
use vigia_agent::{Accepted, Checkin};
use vigia_scan::FindingType;

use super::{Service, ServiceError, now};

/// Agents' inventories kept in memory (a few hundred KB each at most for
/// a large host).
pub(crate) const CACHED_INVENTORIES: usize = 512;

/// Why a check-in was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckinRefusal {
    /// Malformed: the message says what.
    Invalid(String),
    /// A difference against an inventory the service does not hold: the
    /// agent sends all of it.
    UnknownBase,
    /// No advisory generation yet: tried again at the next heartbeat.
    NotReady,
    /// The host checks in with another agent token, still active.
    OtherToken(String),
}

/// A host's row of `agents`.
#[derive(Debug, Default)]
struct AgentRow {
    inventory_id: Option<String>,
    head: Option<String>,
    token_id: Option<String>,
}

/// The source of an agent's host.
#[must_use]
pub(crate) fn agent_source(host_id: &str) -> String {
    format!("agent:{host_id}")
}

/// The SHA-256 of an inventory's head: everything but its packages and
/// its target's name (the OS, the host's facts, what was not read).
fn head_sha256(inventory: &vigia_inventory::Inventory) -> String {
    use sha2::Digest as _;
    let head = vigia_inventory::Inventory {
        packages: Vec::new(),
        target: String::new(),
        kind: inventory.kind.clone(),
        image: inventory.image.clone(),
        os: inventory.os.clone(),
        status: inventory.status.clone(),
        host: inventory.host.clone(),
    };
    hex::encode(sha2::Sha256::digest(
        serde_json::to_vec(&head).unwrap_or_default(),
    ))
}

fn valid_host_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
}

impl Service {
    /// A host heard from again: the coverage its last evaluation left
    /// (`SUCCESSFUL`, or `UNSUPPORTED_OS` / `NO_INVENTORY`), no longer stale.
    async fn restore_coverage(
        &self,
        source: &str,
        resource_id: &str,
        now_s: &str,
    ) -> Result<(), ServiceError> {
        let outcome = self.db.last_scan_outcome(resource_id).await?;
        let code = match outcome.as_deref() {
            Some("UNSUPPORTED_OS" | "NO_INVENTORY") => "INACTIVE",
            _ => "ACTIVE",
        };
        let reason = match outcome.as_deref() {
            Some("UNSUPPORTED_OS") => "UNSUPPORTED_OS",
            Some("NO_INVENTORY") => "NO_INVENTORY",
            _ => "SUCCESSFUL",
        };
        self.db
            .set_coverage(source, code, reason, None, now_s)
            .await?;
        Ok(())
    }

    /// Takes an agent's check-in: its inventory is stored (once per
    /// content) and, when it is not the one evaluated last, queued for
    /// evaluation. The answer does not wait for the evaluation: a fleet
    /// checking in at once is answered at the speed of the database.
    ///
    /// `token`: the ID of the agent token the check-in came with. A host is
    /// bound to the agent token it checks in with: another agent token may
    /// not speak for it (hide its packages, or report others) while that
    /// one is active. `None` (an admin's token, or a caller in this process)
    /// is not bound.
    pub async fn agent_checkin(
        &self,
        checkin: Checkin,
        token: Option<&str>,
    ) -> Result<Result<Accepted, CheckinRefusal>, ServiceError> {
        let host_id = checkin.host_id.clone();
        if !valid_host_id(&host_id) {
            return Ok(Err(CheckinRefusal::Invalid(
                "hostId must be 1 to 128 letters, digits, '.', '_', '-' or ':'".into(),
            )));
        }
        if !self.ready().await {
            return Ok(Err(CheckinRefusal::NotReady));
        }
        // What the service holds of the host, read once for the whole
        // check-in.
        let known = self.agent_row(&host_id).await?.unwrap_or_default();
        if let Some(token) = token
            && let Some(bound) = known.token_id.as_deref()
            && bound != token
            && self.db.token_role(bound).await?.is_some()
        {
            return Ok(Err(CheckinRefusal::OtherToken(host_id)));
        }
        let source = agent_source(&host_id);
        let head = head_sha256(&checkin.inventory);
        // A heartbeat: nothing changed since the inventory accepted last.
        if let Some(base) = &checkin.base
            && checkin.added.is_empty()
            && checkin.removed.is_empty()
            && let Some(accepted) = known.inventory_id.clone()
            && *base == accepted
            && known.head.as_deref() == Some(head.as_str())
            && let Some(record) = self.db.resource_by_source(&source).await?
            && record.origin != "deleted"
        {
            let now_s = now();
            sqlx::query(
                "UPDATE agents SET last_checkin_at = $1, hostname = $2, kernel = $3, interfaces = $4, agent_version = $5, \
                 token_id = COALESCE($7, token_id) WHERE host_id = $6",
            )
            .bind(&now_s)
            .bind(&checkin.hostname)
            .bind(&checkin.kernel)
            .bind(serde_json::to_string(&checkin.interfaces).unwrap_or_else(|_| "[]".into()))
            .bind(&checkin.agent_version)
            .bind(&host_id)
            .bind(token)
                .execute(self.db.pool())
                .await
                .map_err(crate::db::DbError::from)?;
            let evaluated = record.inventory_id.as_deref() == Some(accepted.as_str())
                && record.last_scanned_at.is_some();
            if evaluated && record.status_reason == "STALE_INVENTORY" {
                self.restore_coverage(&source, &record.id, &now_s).await?;
            }
            return Ok(Ok(Accepted {
                resource_id: if record.last_scanned_at.is_some() {
                    record.id
                } else {
                    host_id
                },
                inventory_id: accepted,
                queued: !evaluated,
            }));
        }
        let facts = (
            checkin.hostname.clone(),
            checkin.kernel.clone(),
            serde_json::to_string(&checkin.interfaces).unwrap_or_else(|_| "[]".into()),
            checkin.agent_version.clone(),
        );
        let now_s = now();
        let record = self.db.resource_by_source(&source).await?;
        if record.as_ref().is_some_and(|r| r.origin == "deleted") {
            return Ok(Err(CheckinRefusal::Invalid(format!(
                "the host {host_id} was deleted through the API: register it again to take its check-ins"
            ))));
        }
        let base = match &checkin.base {
            None => None,
            Some(b) if known.inventory_id.as_ref() == Some(b) => {
                let cached = self
                    .agent_inventories
                    .lock()
                    .ok()
                    .and_then(|mut c| c.get(b).cloned());
                match cached {
                    Some(inv) => Some(inv),
                    None => match self.db.inventory(b).await? {
                        Some(inv) => Some(std::sync::Arc::new(inv)),
                        None => return Ok(Err(CheckinRefusal::UnknownBase)),
                    },
                }
            }
            Some(_) => return Ok(Err(CheckinRefusal::UnknownBase)),
        };
        let mut inventory = checkin.apply(base.as_deref());
        inventory.target.clone_from(&source);
        let prepared = crate::inventories::PreparedInventory::new(&inventory)?;
        let inventory_id = prepared.id.clone();
        let evaluated = record.as_ref().is_some_and(|r| {
            r.inventory_id.as_deref() == Some(inventory_id.as_str()) && r.last_scanned_at.is_some()
        });
        // The inventory, the host, its facts and its evaluation's job in
        // one transaction, shared with the check-ins that came meanwhile.
        let (hostname, kernel, interfaces, agent_version) = facts;
        self.checkins
            .write(
                &self.db,
                crate::checkins::CheckinWrite {
                    host_id: host_id.clone(),
                    source: source.clone(),
                    hostname,
                    kernel,
                    interfaces,
                    agent_version,
                    inventory: prepared,
                    head,
                    resource: match &record {
                        None => crate::checkins::HostResource::New,
                        Some(r) if r.origin != "agent" => crate::checkins::HostResource::Adopted,
                        Some(_) => crate::checkins::HostResource::Kept,
                    },
                    evaluate: !evaluated,
                    token_id: token.map(str::to_owned),
                    now: now_s.clone(),
                },
            )
            .await?;
        if let Ok(mut cache) = self.agent_inventories.lock() {
            cache.put(inventory_id.clone(), std::sync::Arc::new(inventory));
        }
        if !evaluated {
            self.wake.notify_one();
        }
        // Heard from again: no longer stale.
        if let Some(r) = record
            .as_ref()
            .filter(|r| evaluated && r.status_reason == "STALE_INVENTORY")
        {
            self.restore_coverage(&source, &r.id, &now_s).await?;
        }
        Ok(Ok(Accepted {
            resource_id: match record {
                Some(r) if r.last_scanned_at.is_some() => r.id,
                _ => host_id,
            },
            inventory_id,
            queued: !evaluated,
        }))
    }

    /// What the service holds of an agent's host: the inventory it last
    /// checked in with, the hash of that inventory's head (without its
    /// packages), and the agent token it is bound to.
    async fn agent_row(&self, host_id: &str) -> Result<Option<AgentRow>, ServiceError> {
        let row = sqlx::query(
            "SELECT inventory_id, head_sha256, token_id FROM agents WHERE host_id = $1",
        )
        .bind(host_id)
        .fetch_optional(self.db.pool())
        .await
        .map_err(crate::db::DbError::from)?;
        Ok(row.map(|r| {
            let get = |c: &str| r.try_get::<Option<String>, _>(c).ok().flatten();
            AgentRow {
                inventory_id: get("inventory_id"),
                head: get("head_sha256"),
                token_id: get("token_id"),
            }
        }))
    }

    /// Evaluates the inventory an agent's host last checked in with (a
    /// scan job of an `agent:` source), unless it is the one evaluated.
    pub(super) async fn evaluate_agent(&self, source: &str) -> Result<(), ServiceError> {
        let Some(host_id) = source.strip_prefix("agent:") else {
            return Ok(());
        };
        let _turn = self.busy.lock().await;
        let started_at = now();
        let Some(inventory_id) = self.agent_row(host_id).await?.and_then(|r| r.inventory_id) else {
            return Ok(());
        };
        let Some(record) = self.db.resource_by_source(source).await? else {
            return Ok(());
        };
        if record.origin == "deleted"
            || (record.inventory_id.as_deref() == Some(inventory_id.as_str())
                && record.last_scanned_at.is_some())
        {
            return Ok(());
        }
        let Some(inventory) = self.db.inventory(&inventory_id).await? else {
            return Ok(());
        };
        let resource = vigia_scan::Resource {
            kind: vigia_scan::ResourceType::AwsEc2Instance,
            id: host_id.to_owned(),
            tags: std::collections::BTreeMap::new(),
            details: vigia_scan::ResourceDetails {
                aws_ec2_instance: Some(vigia_scan::HostDetails {
                    platform: inventory.os.as_ref().map(vigia_scan::platform_label),
                }),
                ..vigia_scan::ResourceDetails::default()
            },
        };
        let outcome = self
            .scanner
            .evaluate(inventory, resource.clone(), jiff::Timestamp::now())
            .await?;
        let first = record.last_scanned_at.is_none();
        let now_s = now();
        let changes = self
            .db
            .reconcile(
                &resource.id,
                &outcome.report.findings,
                &[FindingType::PackageVulnerability],
                &format!("agent check-in of {host_id}"),
                &now_s,
                !(first && self.config.quiet_first_scans),
                true,
            )
            .await?;
        let details = serde_json::to_value(&resource).unwrap_or_default();
        self.db
            .scanned(&crate::resources::ScanRecord {
                id: &uuid::Uuid::new_v4().to_string(),
                source,
                resource_id: &resource.id,
                kind: "AWS_EC2_INSTANCE",
                details: &details,
                content_hash: Some(&inventory_id),
                inventory_id: &inventory_id,
                started_at: &started_at,
                finished_at: &now_s,
                generation: i64::try_from(outcome.generation.0).unwrap_or(i64::MAX),
                first,
                status: &crate::resources::ScanStatus::of(&outcome.report.scan, "SUCCESSFUL"),
                opened: changes.opened + changes.reopened,
                closed: changes.closed,
            })
            .await?;
        Ok(())
    }

    /// Every agent's host: its facts, last check-in and coverage.
    pub async fn agents(&self) -> Result<Vec<Value>, ServiceError> {
        let rows = sqlx::query(
            "SELECT a.host_id, a.hostname, a.kernel, a.interfaces, a.agent_version, a.first_checkin_at, a.last_checkin_at, \
             r.status_code, r.status_reason FROM agents a LEFT JOIN resources r ON r.source = a.source ORDER BY a.host_id",
        )
        .fetch_all(self.db.pool())
        .await
        .map_err(crate::db::DbError::from)?;
        let mut out = Vec::new();
        for r in rows {
            let get = |c: &str| r.try_get::<Option<String>, _>(c).ok().flatten();
            out.push(json!({
                "hostId": get("host_id"),
                "hostname": get("hostname"),
                "kernel": get("kernel"),
                "interfaces": get("interfaces").and_then(|i| serde_json::from_str::<Value>(&i).ok()).unwrap_or_else(|| json!([])),
                "agentVersion": get("agent_version"),
                "firstCheckinAt": get("first_checkin_at"),
                "lastCheckinAt": get("last_checkin_at"),
                "scanStatus": {"statusCode": get("status_code"), "reason": get("status_reason")},
            }));
        }
        Ok(out)
    }

    /// Queues the evaluation of every host whose accepted inventory is
    /// not the one evaluated (a check-in taken while its previous one was
    /// being evaluated).
    pub(super) async fn queue_unevaluated_agents(&self) -> Result<(), ServiceError> {
        let rows = sqlx::query(
            "SELECT a.source, a.inventory_id FROM agents a JOIN resources r ON r.source = a.source \
             WHERE r.origin <> 'deleted' AND a.inventory_id IS NOT NULL \
             AND (r.inventory_id IS NULL OR r.inventory_id <> a.inventory_id)",
        )
        .fetch_all(self.db.pool())
        .await
        .map_err(crate::db::DbError::from)?;
        for row in rows {
            let source: String = row.try_get("source").map_err(crate::db::DbError::from)?;
            let id: String = row
                .try_get("inventory_id")
                .map_err(crate::db::DbError::from)?;
            if self
                .db
                .enqueue(crate::jobs::JobKind::Scan, &source, Some(&id), &now())
                .await?
            {
                self.wake.notify_one();
            }
        }
        Ok(())
    }

    /// Marks the hosts whose agents went silent: `ACTIVE` /
    /// `STALE_INVENTORY` past `agent_stale_after`, `INACTIVE` /
    /// `STALE_INVENTORY` past `agent_inactive_after`.
    pub(super) async fn mark_silent_agents(&self) -> Result<(), ServiceError> {
        let rows = sqlx::query("SELECT source, last_checkin_at FROM agents")
            .fetch_all(self.db.pool())
            .await
            .map_err(crate::db::DbError::from)?;
        let now_t = jiff::Timestamp::now().as_second();
        let stale = i64::try_from(self.config.agent_stale_after.as_secs()).unwrap_or(i64::MAX);
        let inactive =
            i64::try_from(self.config.agent_inactive_after.as_secs()).unwrap_or(i64::MAX);
        for row in rows {
            let source: String = row.try_get("source").map_err(crate::db::DbError::from)?;
            let last: String = row
                .try_get("last_checkin_at")
                .map_err(crate::db::DbError::from)?;
            let Ok(at) = last.parse::<jiff::Timestamp>() else {
                continue;
            };
            let silent = now_t - at.as_second();
            let code = if silent >= inactive {
                "INACTIVE"
            } else if silent >= stale {
                "ACTIVE"
            } else {
                continue;
            };
            let Some(r) = self.db.resource_by_source(&source).await? else {
                continue;
            };
            // Never evaluated, deleted or terminated: nothing to flag.
            if r.last_scanned_at.is_none()
                || r.origin == "deleted"
                || crate::resources::retired(&r.status_reason)
                || (r.status_code == code && r.status_reason == "STALE_INVENTORY")
            {
                continue;
            }
            self.db
                .set_coverage(
                    &source,
                    code,
                    "STALE_INVENTORY",
                    Some(&format!("no check-in from its agent since {last}")),
                    &now(),
                )
                .await?;
        }
        Ok(())
    }
}
