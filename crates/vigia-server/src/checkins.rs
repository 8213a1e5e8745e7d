//! Agents' check-ins written together: a fleet that checks in at the same
//! instant (a package upgraded everywhere by configuration management, a
//! data centre coming back) is written in a few transactions of many rows
//! each, not in one transaction per host. With one writer at a time
//! (SQLite) and a round trip per statement, a transaction per host made
//! the last of 200 hosts wait for 199 others' statements.
//!
//! Group commit: each check-in is prepared (hashed, split into package
//! sets) on its own, then queued; whoever takes the writer's turn writes
//! everything queued by then in one transaction and tells each check-in
//! how it went. The write runs in a task of its own, so an agent that
//! hangs up does not abandon the others' check-ins.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::db::{Backend, DbError, DbResult, StateDb, placeholders};
use crate::inventories::{PreparedInventory, write_inventories};

/// Rows a multi-row statement writes (11 columns at most: 1,100 parameters).
const ROWS_PER_STATEMENT: usize = 100;

/// What the service knew of a host's resource when its check-in came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostResource {
    /// Not registered yet: registered now, pending its first evaluation.
    New,
    /// Registered otherwise (a snapshot of the host): now the agent's.
    Adopted,
    /// The agent's already.
    Kept,
}

/// One accepted check-in's writes.
#[derive(Debug)]
pub(crate) struct CheckinWrite {
    pub host_id: String,
    /// The resource's source (`agent:HOST`).
    pub source: String,
    pub hostname: Option<String>,
    pub kernel: Option<String>,
    /// The interfaces as JSON.
    pub interfaces: String,
    pub agent_version: String,
    pub inventory: PreparedInventory,
    /// The SHA-256 of the inventory's head (heartbeats compare it).
    pub head: String,
    pub resource: HostResource,
    /// Queue the inventory's evaluation (it is not the one evaluated).
    pub evaluate: bool,
    /// The agent token it came with (the host is bound to it).
    pub token_id: Option<String>,
    pub now: String,
}

type Reply = tokio::sync::oneshot::Sender<Result<(), String>>;

/// The queue of check-ins to write and the writer's turn.
#[derive(Debug, Default)]
pub(crate) struct CheckinWriter {
    queued: Mutex<Vec<(CheckinWrite, Reply)>>,
    turn: tokio::sync::Mutex<()>,
}

impl CheckinWriter {
    /// Writes a check-in, with whatever others are queued at the time.
    ///
    /// # Errors
    ///
    /// The transaction failed: nothing of any check-in in it is stored.
    pub(crate) async fn write(self: &Arc<Self>, db: &StateDb, write: CheckinWrite) -> DbResult<()> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((write, reply));
        let (queue, db) = (Arc::clone(self), db.clone());
        tokio::spawn(async move {
            let _turn = queue.turn.lock().await;
            // Empty when an earlier turn took this check-in with its own.
            let batch =
                std::mem::take(&mut *queue.queued.lock().unwrap_or_else(PoisonError::into_inner));
            if batch.is_empty() {
                return;
            }
            let (writes, replies): (Vec<CheckinWrite>, Vec<Reply>) = batch.into_iter().unzip();
            let outcome = write_checkins(&db, &writes)
                .await
                .map_err(|e| vigia_engine::error_chain(&e));
            if let Err(e) = &outcome {
                tracing::warn!(check_ins = writes.len(), error = %e, "writing check-ins failed");
            }
            for reply in replies {
                let _ = reply.send(outcome.clone());
            }
        });
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(DbError::Shared(message)),
            Err(_) => Err(DbError::Shared("the check-ins' writer stopped".into())),
        }
    }
}

/// Writes check-ins in one transaction: their inventories, the hosts new
/// to the service, the agents' facts and the evaluations to queue.
async fn write_checkins(db: &StateDb, writes: &[CheckinWrite]) -> DbResult<()> {
    let backend = db.backend();
    let Some(first) = writes.first() else {
        return Ok(());
    };
    let mut tx = db.begin_write().await?;
    let inventories: Vec<&PreparedInventory> = writes.iter().map(|w| &w.inventory).collect();
    write_inventories(&mut tx, backend, &inventories, &first.now).await?;
    // The last check-in of a host stands (a host twice in one batch).
    let mut by_host: BTreeMap<&str, &CheckinWrite> = BTreeMap::new();
    for w in writes {
        by_host.insert(&w.host_id, w);
    }
    let hosts: Vec<&CheckinWrite> = by_host.into_values().collect();
    let new: Vec<&&CheckinWrite> = hosts
        .iter()
        .filter(|w| w.resource == HostResource::New)
        .collect();
    for chunk in new.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO resources (id, kind, source, origin, details, status_code, status_reason, created_at, updated_at) \
             VALUES {} ON CONFLICT (source) DO NOTHING",
            placeholders(backend, chunk.len(), 9, 0)
        );
        let mut q = sqlx::query(&sql);
        for w in chunk {
            q = q
                .bind(&w.source)
                .bind("AWS_EC2_INSTANCE")
                .bind(&w.source)
                .bind("agent")
                .bind("{}")
                .bind("ACTIVE")
                .bind("PENDING_INITIAL_SCAN")
                .bind(&w.now)
                .bind(&w.now);
        }
        q.execute(&mut *tx).await?;
    }
    let adopted: Vec<&str> = hosts
        .iter()
        .filter(|w| w.resource == HostResource::Adopted)
        .map(|w| w.source.as_str())
        .collect();
    for chunk in adopted.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "UPDATE resources SET origin = 'agent' WHERE source IN ({})",
            placeholders(backend, chunk.len(), 1, 0)
        );
        let mut q = sqlx::query(&sql);
        for source in chunk {
            q = q.bind(*source);
        }
        q.execute(&mut *tx).await?;
    }
    for chunk in hosts.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO agents (host_id, source, hostname, kernel, interfaces, agent_version, first_checkin_at, last_checkin_at, inventory_id, head_sha256, token_id) \
             VALUES {} ON CONFLICT (host_id) DO UPDATE SET hostname = excluded.hostname, kernel = excluded.kernel, \
             interfaces = excluded.interfaces, agent_version = excluded.agent_version, last_checkin_at = excluded.last_checkin_at, \
             inventory_id = excluded.inventory_id, head_sha256 = excluded.head_sha256, \
             token_id = COALESCE(excluded.token_id, agents.token_id)",
            placeholders(backend, chunk.len(), 11, 0)
        );
        let mut q = sqlx::query(&sql);
        for w in chunk {
            q = q
                .bind(&w.host_id)
                .bind(&w.source)
                .bind(&w.hostname)
                .bind(&w.kernel)
                .bind(&w.interfaces)
                .bind(&w.agent_version)
                .bind(&w.now)
                .bind(&w.now)
                .bind(&w.inventory.id)
                .bind(&w.head)
                .bind(&w.token_id);
        }
        q.execute(&mut *tx).await?;
    }
    let evaluate: Vec<&&CheckinWrite> = hosts.iter().filter(|w| w.evaluate).collect();
    let mut queued = 0;
    for chunk in evaluate.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO jobs (kind, subject, fingerprint, state, attempts, created_at) \
             VALUES {} ON CONFLICT (kind, subject) DO NOTHING",
            placeholders(backend, chunk.len(), 6, 0)
        );
        let mut q = sqlx::query(&sql);
        for w in chunk {
            q = q
                .bind(crate::jobs::JobKind::Scan.as_str())
                .bind(&w.source)
                .bind(&w.inventory.id)
                .bind("QUEUED")
                .bind(0_i64)
                .bind(&w.now);
        }
        queued += q.execute(&mut *tx).await?.rows_affected();
    }
    if queued > 0 && backend == Backend::Postgres {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(crate::jobs::CHANNEL)
            .bind(crate::jobs::JobKind::Scan.as_str())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
