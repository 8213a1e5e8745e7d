//! Resources and their coverage state (their inventories: `inventories`).

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use crate::db::{DbError, DbResult, StateDb};

/// A resource and its coverage (Inspector's `scanStatus`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRecord {
    /// Its ID in findings.
    pub id: String,
    /// Inspector's resource type.
    pub kind: String,
    /// Where it is read from.
    pub source: String,
    /// How it came: `watch`, `api`, or `deleted` through the API.
    pub origin: String,
    /// The hash of what was last scanned.
    pub content_hash: Option<String>,
    /// Inspector's resource object.
    pub details: Value,
    /// `ACTIVE` or `INACTIVE`.
    pub status_code: String,
    /// Inspector's scan status reason.
    pub status_reason: String,
    /// What went wrong, when something did.
    pub status_message: Option<String>,
    /// The inventory last evaluated.
    pub inventory_id: Option<String>,
    /// When it was last scanned (read); a rematch from its stored inventory
    /// leaves it.
    pub last_scanned_at: Option<String>,
    /// When it was registered.
    pub created_at: String,
    /// When its record last changed.
    pub updated_at: String,
}

fn record(r: &sqlx::any::AnyRow) -> DbResult<ResourceRecord> {
    let details: String = r.try_get("details")?;
    Ok(ResourceRecord {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        source: r.try_get("source")?,
        origin: r.try_get("origin")?,
        content_hash: r.try_get("content_hash")?,
        details: serde_json::from_str(&details).map_err(|source| DbError::Json {
            what: "resource",
            source,
        })?,
        status_code: r.try_get("status_code")?,
        status_reason: r.try_get("status_reason")?,
        status_message: r.try_get("status_message")?,
        inventory_id: r.try_get("inventory_id")?,
        last_scanned_at: r.try_get("last_scanned_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Whether a coverage reason retires a resource: it is not evaluated, and
/// does not hold its findings open for other sources of the same resource.
#[must_use]
pub fn retired(reason: &str) -> bool {
    // The coverage statistics' query names the same reasons.
    matches!(reason, "RESOURCE_TERMINATED" | "SCAN_ELIGIBILITY_EXPIRED")
}

/// A resource's coverage after an evaluation of all of its inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanStatus {
    /// `ACTIVE` or `INACTIVE`.
    pub code: &'static str,
    /// Inspector's reason.
    pub reason: &'static str,
    /// What was not evaluated, in words.
    pub message: Option<String>,
}

impl ScanStatus {
    /// What a scan of a whole inventory leaves, `ok` (`SUCCESSFUL` or
    /// `SCAN_FREQUENCY_SCAN_ON_PUSH`) when everything found was evaluated.
    /// Nothing found is `NO_INVENTORY` and OS packages of a release without
    /// advisories `UNSUPPORTED_OS`, both `INACTIVE`: a resource with no
    /// finding is never shown as scanned clean when it was not (its
    /// language packages' findings still stand). Inputs that could not be
    /// read, or packages whose version could not be ordered, leave the
    /// scan `ok` with a message naming them.
    ///
    /// An image scanned on push only keeps `SCAN_FREQUENCY_SCAN_ON_PUSH`
    /// (it is not re-evaluated when advisories change), with the message.
    #[must_use]
    pub fn of(scan: &vigia_scan::ScanInfo, ok: &'static str) -> Self {
        let full = Self::of_scan(scan, ok);
        if ok == "SCAN_FREQUENCY_SCAN_ON_PUSH" && full.code == "INACTIVE" {
            return Self {
                code: "ACTIVE",
                reason: ok,
                message: full.message.map(|m| format!("{}: {m}", full.reason)),
            };
        }
        full
    }

    fn of_scan(scan: &vigia_scan::ScanInfo, ok: &'static str) -> Self {
        if scan.packages() == 0 {
            let unread = unread(scan);
            let message = if unread.is_empty() {
                "no package database, lockfile or manifest was found".to_owned()
            } else {
                format!("nothing could be read: {unread}")
            };
            return Self {
                code: "INACTIVE",
                reason: "NO_INVENTORY",
                message: Some(message),
            };
        }
        if let Some(why) = scan.unsupported_os() {
            return Self {
                code: "INACTIVE",
                reason: "UNSUPPORTED_OS",
                message: Some(why),
            };
        }
        let message = scan.incomplete().then(|| {
            let mut parts = Vec::new();
            if scan
                .not_scanned
                .iter()
                .any(|n| n.kind == vigia_inventory::Unread::Inventory)
            {
                parts.push(format!("not read: {}", unread(scan)));
            }
            if !scan.not_evaluated.is_empty() {
                parts.push(format!(
                    "{} packages not evaluated (versions their ecosystem cannot order)",
                    scan.not_evaluated.len()
                ));
            }
            format!("incomplete: {}", parts.join("; "))
        });
        Self {
            code: "ACTIVE",
            reason: ok,
            message,
        }
    }
}

fn unread(scan: &vigia_scan::ScanInfo) -> String {
    let paths: Vec<&str> = scan
        .not_scanned
        .iter()
        .filter(|n| n.kind == vigia_inventory::Unread::Inventory)
        .map(|n| n.path.as_str())
        .collect();
    let shown = paths.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    if paths.len() > 5 {
        format!("{shown} and {} more", paths.len() - 5)
    } else {
        shown
    }
}

/// Whether a coverage reason says the resource's last scan succeeded.
#[must_use]
pub fn scanned_ok(reason: &str) -> bool {
    matches!(reason, "SUCCESSFUL" | "SCAN_FREQUENCY_SCAN_ON_PUSH")
}

/// The SQL condition of a resource re-evaluated when advisories change:
/// neither retired nor scanned on push only.
const EVALUATED: &str = "status_reason NOT IN ('RESOURCE_TERMINATED', 'SCAN_ELIGIBILITY_EXPIRED', 'SCAN_FREQUENCY_SCAN_ON_PUSH')";

const COLUMNS: &str = "id, kind, source, origin, content_hash, details, status_code, status_reason, status_message, inventory_id, last_scanned_at, created_at, updated_at";

/// Writes an `Inspector2 Coverage` event when a resource's coverage is not
/// the one last reported (a scan in progress is not reported).
async fn report_coverage(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    source: &str,
    code: &str,
    reason: &str,
    now: &str,
) -> DbResult<()> {
    if reason == "SCAN_IN_PROGRESS" {
        return Ok(());
    }
    let Some(row) = sqlx::query("SELECT id, reported_coverage FROM resources WHERE source = $1")
        .bind(source)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Ok(());
    };
    let state = format!("{code}/{reason}");
    let reported: Option<String> = row.try_get("reported_coverage")?;
    if reported.as_deref() == Some(state.as_str()) {
        return Ok(());
    }
    let id: String = row.try_get("id")?;
    crate::events::write(
        tx,
        now,
        crate::events::COVERAGE,
        &id,
        &crate::events::coverage_detail(code, reason, now),
    )
    .await?;
    sqlx::query("UPDATE resources SET reported_coverage = $1 WHERE source = $2")
        .bind(&state)
        .bind(source)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A successful scan, as [`StateDb::scanned`] records it.
#[derive(Debug)]
pub struct ScanRecord<'a> {
    /// The scan's ID.
    pub id: &'a str,
    /// Where the resource was read from.
    pub source: &'a str,
    /// The resource's ID as its findings name it.
    pub resource_id: &'a str,
    /// Its Inspector resource type.
    pub kind: &'a str,
    /// Its details, as findings carry them.
    pub details: &'a Value,
    /// The content hash read, if any.
    pub content_hash: Option<&'a str>,
    /// The inventory evaluated.
    pub inventory_id: &'a str,
    /// When the scan started and finished (RFC 3339).
    pub started_at: &'a str,
    /// See `started_at`.
    pub finished_at: &'a str,
    /// The advisory generation matched.
    pub generation: i64,
    /// Whether it is the resource's first evaluation.
    pub first: bool,
    /// The coverage it leaves ([`ScanStatus::of`]).
    pub status: &'a ScanStatus,
    /// Findings opened or reopened, and closed.
    pub opened: usize,
    /// See `opened`.
    pub closed: usize,
}

impl StateDb {
    /// A resource by where it is read from.
    pub async fn resource_by_source(&self, source: &str) -> DbResult<Option<ResourceRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM resources WHERE source = $1"
        ))
        .bind(source)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(record).transpose()
    }

    /// A resource by ID (the first source holding it).
    pub async fn resource(&self, id: &str) -> DbResult<Option<ResourceRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM resources WHERE id = $1 ORDER BY source LIMIT 1"
        ))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(record).transpose()
    }

    /// Every resource, by ID.
    pub async fn resources(&self) -> DbResult<Vec<ResourceRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM resources ORDER BY id, source"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(record).collect()
    }

    /// The resources a look at the watched folders `dirs` compares with
    /// what it finds: those registered through the API, and those read from
    /// a path directly in one of the folders (any origin). Registry images
    /// and agents' hosts are not read: a service holding tens of thousands
    /// of them looks at its folders every few seconds.
    pub async fn watched_resources(&self, dirs: &[String]) -> DbResult<Vec<ResourceRecord>> {
        let mut rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM resources WHERE origin = 'api'"
        ))
        .fetch_all(self.pool())
        .await?;
        for dir in dirs {
            let dir = dir.trim_end_matches('/');
            let prefix = format!("{dir}/");
            // SQLite compares text byte by byte: the paths under the folder
            // are one range of the primary key, up to the first string after
            // every one that starts with the prefix. PostgreSQL compares by
            // the database's collation, where no such range is the prefix:
            // the prefix is compared as such.
            let sqlite = format!(
                "SELECT {COLUMNS} FROM resources WHERE source >= $1 AND source < $2 AND origin <> 'api'"
            );
            let postgres = format!(
                "SELECT {COLUMNS} FROM resources WHERE starts_with(source, $1) AND origin <> 'api'"
            );
            let query = match self.backend() {
                crate::db::Backend::Sqlite => {
                    sqlx::query(&sqlite).bind(prefix).bind(format!("{dir}0"))
                }
                crate::db::Backend::Postgres => sqlx::query(&postgres).bind(prefix),
            };
            rows.extend(query.fetch_all(self.pool()).await?);
        }
        rows.iter().map(record).collect()
    }

    /// Registers a resource read from `source`, pending its first scan
    /// (`PENDING_INITIAL_SCAN`), unless it is known.
    pub async fn register(&self, source: &str, kind: &str, now: &str) -> DbResult<ResourceRecord> {
        if let Some(r) = self.resource_by_source(source).await? {
            return Ok(r);
        }
        sqlx::query(
            "INSERT INTO resources (id, kind, source, details, status_code, status_reason, created_at, updated_at) \
             VALUES ($1, $2, $3, '{}', 'ACTIVE', 'PENDING_INITIAL_SCAN', $4, $4) ON CONFLICT (source) DO NOTHING",
        )
        .bind(source)
        .bind(kind)
        .bind(source)
        .bind(now)
        .execute(self.pool())
        .await?;
        self.resource_by_source(source)
            .await?
            .ok_or_else(|| DbError::Query(sqlx::Error::RowNotFound))
    }

    /// Sets how a resource came (`watch`, `api`, `deleted`).
    pub async fn set_origin(&self, source: &str, origin: &str) -> DbResult<()> {
        sqlx::query("UPDATE resources SET origin = $1 WHERE source = $2")
            .bind(origin)
            .bind(source)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Sets a resource's coverage state.
    pub async fn set_coverage(
        &self,
        source: &str,
        code: &str,
        reason: &str,
        message: Option<&str>,
        now: &str,
    ) -> DbResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE resources SET status_code = $1, status_reason = $2, status_message = $3, updated_at = $4 WHERE source = $5",
        )
        .bind(code)
        .bind(reason)
        .bind(message)
        .bind(now)
        .bind(source)
        .execute(&mut *tx)
        .await?;
        report_coverage(&mut tx, source, code, reason, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A scan of the resource at `source` that failed, in its history with
    /// the coverage `reason` it left and why (`message`): a failed scan is
    /// counted and shown as a successful one is.
    pub async fn failed_scan(
        &self,
        source: &str,
        reason: &str,
        message: &str,
        now: &str,
    ) -> DbResult<()> {
        let Some(r) = self.resource_by_source(source).await? else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO scans (id, resource_id, kind, started_at, finished_at, outcome, message) \
             VALUES ($1, $2, 'SCAN', $3, $3, $4, $5)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&r.id)
        .bind(now)
        .bind(reason)
        .bind(message)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The coverage reason the resource's last scan left, if it has one.
    pub async fn last_scan_outcome(&self, resource_id: &str) -> DbResult<Option<String>> {
        let row = sqlx::query(
            "SELECT outcome FROM scans WHERE resource_id = $1 ORDER BY finished_at DESC, id DESC LIMIT 1",
        )
        .bind(resource_id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.try_get("outcome")).transpose()?)
    }

    /// Sets a resource's coverage as [`StateDb::set_coverage`] does, only
    /// while it still holds `inventory_id` with the reason `previous`:
    /// another process's scan or removal since is not overwritten. Returns
    /// whether it was set.
    pub async fn set_coverage_if(
        &self,
        source: &str,
        previous: &str,
        inventory_id: &str,
        status: &ScanStatus,
        now: &str,
    ) -> DbResult<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE resources SET status_code = $1, status_reason = $2, status_message = $3, updated_at = $4 \
             WHERE source = $5 AND status_reason = $6 AND inventory_id = $7",
        )
        .bind(status.code)
        .bind(status.reason)
        .bind(status.message.as_deref())
        .bind(now)
        .bind(source)
        .bind(previous)
        .bind(inventory_id)
        .execute(&mut *tx)
        .await?;
        let set = done.rows_affected() > 0;
        if set {
            report_coverage(&mut tx, source, status.code, status.reason, now).await?;
        }
        tx.commit().await?;
        Ok(set)
    }

    /// Whether a live source other than `source` holds the resource `id`.
    pub async fn shared(&self, id: &str, source: &str) -> DbResult<bool> {
        let row = sqlx::query(
            "SELECT source FROM resources WHERE id = $1 AND source <> $2 AND status_reason NOT IN ('RESOURCE_TERMINATED', 'SCAN_ELIGIBILITY_EXPIRED') AND origin <> 'deleted' LIMIT 1",
        )
        .bind(id)
        .bind(source)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Replaces a resource's details (Inspector's resource object).
    pub async fn set_details(&self, source: &str, details: &Value) -> DbResult<()> {
        sqlx::query("UPDATE resources SET details = $1 WHERE source = $2")
            .bind(details.to_string())
            .bind(source)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Remembers what a resource looked like when it was last read.
    pub async fn set_content_hash(&self, source: &str, hash: Option<&str>) -> DbResult<()> {
        sqlx::query("UPDATE resources SET content_hash = $1 WHERE source = $2")
            .bind(hash)
            .bind(source)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records a successful scan of the resource read from `scan.source`:
    /// its ID and details as findings name it, the content hash and
    /// inventory evaluated, and the scan in its history, in one
    /// transaction: a process killed in between leaves neither, so the job
    /// is done again rather than a resource `SUCCESSFUL` without its scan.
    pub async fn scanned(&self, scan: &ScanRecord<'_>) -> DbResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE resources SET id = $1, kind = $2, details = $3, content_hash = COALESCE($4, content_hash), inventory_id = $5, \
             status_code = $9, status_reason = $8, status_message = $10, last_scanned_at = $6, updated_at = $6 \
             WHERE source = $7",
        )
        .bind(scan.resource_id)
        .bind(scan.kind)
        .bind(scan.details.to_string())
        .bind(scan.content_hash)
        .bind(scan.inventory_id)
        .bind(scan.finished_at)
        .bind(scan.source)
        .bind(scan.status.reason)
        .bind(scan.status.code)
        .bind(scan.status.message.as_deref())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO scans (id, resource_id, kind, started_at, finished_at, outcome, generation, opened, closed) \
             VALUES ($1, $2, 'SCAN', $3, $4, $8, $5, $6, $7)",
        )
        .bind(scan.id)
        .bind(scan.resource_id)
        .bind(scan.started_at)
        .bind(scan.finished_at)
        .bind(scan.generation)
        .bind(i64::try_from(scan.opened).unwrap_or(i64::MAX))
        .bind(i64::try_from(scan.closed).unwrap_or(i64::MAX))
        .bind(scan.status.reason)
        .execute(&mut *tx)
        .await?;
        let counts = sqlx::query(
            "SELECT severity, COUNT(*) AS n FROM findings WHERE resource_id = $1 AND status = 'ACTIVE' GROUP BY severity",
        )
        .bind(scan.resource_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("severity")?, r.try_get("n")?)))
        .collect::<DbResult<Vec<(String, i64)>>>()?;
        let detail = crate::events::scan_detail(
            scan.kind,
            scan.resource_id,
            scan.details,
            scan.first,
            &counts,
        );
        crate::events::write(
            &mut tx,
            scan.finished_at,
            crate::events::SCAN,
            scan.resource_id,
            &detail,
        )
        .await?;
        report_coverage(
            &mut tx,
            scan.source,
            scan.status.code,
            scan.status.reason,
            scan.finished_at,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The live resources whose current inventory is one of `inventories`.
    pub async fn resources_holding(
        &self,
        inventories: &[&String],
    ) -> DbResult<Vec<ResourceRecord>> {
        let sql =
            format!("SELECT {COLUMNS} FROM resources WHERE {EVALUATED} AND inventory_id IN ({{}})");
        let mut out = Vec::new();
        for r in self.fetch_in(&sql, inventories).await? {
            out.push(record(&r)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::db::StateDb;

    /// A look at the watched folders reads the resources under them and
    /// those registered through the API, not the others (registry images,
    /// agents' hosts), nor those of a folder whose name merely starts alike.
    #[tokio::test]
    async fn watching_reads_only_the_resources_it_compares() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("state.db").display());
        let db = StateDb::open(&url).await.unwrap();
        let now = "2026-12-07T00:00:00Z";
        for (source, origin) in [
            ("/w/a.zip", "watch"),
            ("/w/sub/c.zip", "watch"),
            ("/w/gone.zip", "deleted"),
            ("/wx/d.zip", "watch"),
            ("/w0/f.zip", "watch"),
            ("/elsewhere/e.zip", "api"),
            ("registry.example/app:1", "registry"),
            ("agent:host-1", "agent"),
        ] {
            db.register(source, "AWS_LAMBDA_FUNCTION", now)
                .await
                .unwrap();
            db.set_origin(source, origin).await.unwrap();
        }
        let sources = |dirs: &[&str]| {
            let db = &db;
            let dirs: Vec<String> = dirs.iter().map(|d| (*d).to_owned()).collect();
            async move {
                let mut s: Vec<String> = db
                    .watched_resources(&dirs)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.source)
                    .collect();
                s.sort();
                s
            }
        };
        assert_eq!(
            sources(&["/w"]).await,
            [
                "/elsewhere/e.zip",
                "/w/a.zip",
                "/w/gone.zip",
                "/w/sub/c.zip"
            ]
        );
        assert_eq!(
            sources(&["/w/", "/wx"]).await,
            [
                "/elsewhere/e.zip",
                "/w/a.zip",
                "/w/gone.zip",
                "/w/sub/c.zip",
                "/wx/d.zip"
            ]
        );
        assert_eq!(sources(&[]).await, ["/elsewhere/e.zip"]);
    }
}
