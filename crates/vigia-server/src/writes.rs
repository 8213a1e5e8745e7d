//! Findings' changes gathered during a reconciliation and written in a few
//! multi-row statements at its end: a rematch of thousands of resources
//! makes a statement per hundred rows, not several per finding.

use std::collections::BTreeMap;

use sqlx::Row;

use crate::db::{DbResult, backend_of, param, placeholders};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Rows per multi-row statement (at 17 values a row, well under SQLite's
/// and PostgreSQL's limits on bound parameters).
const ROWS: usize = 100;

/// A finding as its row is written.
#[derive(Debug)]
pub(crate) struct FindingRow {
    pub(crate) arn: String,
    pub(crate) resource: String,
    pub(crate) kind: &'static str,
    pub(crate) status: &'static str,
    pub(crate) severity: String,
    pub(crate) severity_rank: i64,
    pub(crate) vulnerability_id: String,
    pub(crate) title: String,
    pub(crate) score: f64,
    pub(crate) epss: f64,
    pub(crate) first_observed_at: String,
    pub(crate) last_observed_at: String,
    pub(crate) updated_at: String,
    pub(crate) suppressed_by: Option<String>,
    /// `fixAvailable` (`''` when absent).
    pub(crate) fix_available: String,
    /// `exploitAvailable` (`''` when absent).
    pub(crate) exploit_available: String,
    pub(crate) body: String,
    /// The names of its vulnerable packages (`finding_packages`).
    pub(crate) packages: Vec<String>,
    /// For a finding stored before: what differs from its stored row.
    /// `None`: written whole (a new finding, or one not read first).
    pub(crate) update: Option<Update>,
}

/// The columns of a stored finding that an update may change, in the order
/// of [`Update::columns`]' bits.
pub(crate) const UPDATABLE: [&str; 15] = [
    "kind",
    "status",
    "severity",
    "severity_rank",
    "vulnerability_id",
    "title",
    "score",
    "epss",
    "first_observed_at",
    "last_observed_at",
    "updated_at",
    "suppressed_by",
    "body",
    "fix_available",
    "exploit_available",
];

/// What an update of a stored finding changes.
///
/// SQLite rewrites the entries of every index on a column an `UPDATE`
/// assigns, changed or not, and `findings` has fifteen: a rematch that
/// moves a finding's `updatedAt` assigns the three columns that changed,
/// not all of them (measured: half the pages a batch dirtied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Update {
    /// Bit `i` set: [`UPDATABLE`]`[i]` changed.
    pub(crate) columns: u16,
    /// Its package names, status or severity changed: its
    /// `finding_packages` rows are written again.
    pub(crate) packages: bool,
}

/// The columns an update writes whatever changed, by bit of [`UPDATABLE`]:
/// on PostgreSQL, a finding's status, rule and `updatedAt` (and the status
/// of its package names, see [`Writes::sync_packages`]). There another process may apply a suppression rule
/// (the API process, which takes no resource lock) between this
/// transaction's read of a finding and its write: written with its body,
/// the finding's columns and package names then say what its body says, as
/// when every column was written. SQLite's one writer at a time, which read
/// the finding in the same transaction, leaves no such window. PostgreSQL
/// writes a new entry in every index for such an update anyway (an indexed
/// column, `last_observed_at`, always changes).
fn always(backend: crate::db::Backend) -> u16 {
    match backend {
        crate::db::Backend::Postgres => (1 << 1) | (1 << 10) | (1 << 11),
        crate::db::Backend::Sqlite => 0,
    }
}

impl FindingRow {
    fn bind_column<'q>(
        &'q self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        column: usize,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        match column {
            0 => q.bind(self.kind),
            1 => q.bind(self.status),
            2 => q.bind(&self.severity),
            3 => q.bind(self.severity_rank),
            4 => q.bind(&self.vulnerability_id),
            5 => q.bind(&self.title),
            6 => q.bind(self.score),
            7 => q.bind(self.epss),
            8 => q.bind(&self.first_observed_at),
            9 => q.bind(&self.last_observed_at),
            10 => q.bind(&self.updated_at),
            11 => q.bind(self.suppressed_by.as_deref()),
            12 => q.bind(&self.body),
            13 => q.bind(&self.fix_available),
            _ => q.bind(&self.exploit_available),
        }
    }
}

/// What one transaction writes.
#[derive(Debug, Default)]
pub(crate) struct Writes {
    /// Findings written whole (opened, reopened, updated, suppressed).
    pub(crate) findings: Vec<FindingRow>,
    /// Findings closed: ARN and body.
    pub(crate) closes: Vec<(String, String)>,
    /// History rows: ARN, status, event, cause.
    pub(crate) history: Vec<(String, String, &'static str, String)>,
    /// Events: `Inspector2 Finding` (resource and finding) and summaries.
    pub(crate) events: Vec<crate::events::Event>,
}

impl Writes {
    /// Writes everything gathered, in `tx`, at `now`.
    pub(crate) async fn flush(self, tx: &mut Tx, now: &str) -> DbResult<()> {
        let backend = backend_of(tx);
        let (updates, whole): (Vec<FindingRow>, Vec<FindingRow>) =
            self.findings.into_iter().partition(|f| f.update.is_some());
        Self::write_updates(tx, &updates).await?;
        let (repackaged, kept): (Vec<&FindingRow>, Vec<&FindingRow>) = updates
            .iter()
            .partition(|f| f.update.is_some_and(|u| u.packages));
        Self::write_packages(tx, &repackaged).await?;
        if backend == crate::db::Backend::Postgres {
            Self::sync_packages(tx, &kept).await?;
        }
        for chunk in whole.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO findings (arn, resource_id, kind, status, severity, severity_rank, vulnerability_id, title, score, epss, \
                 first_observed_at, last_observed_at, updated_at, suppressed_by, body, fix_available, exploit_available) VALUES {} \
                 ON CONFLICT (arn) DO UPDATE SET resource_id = excluded.resource_id, kind = excluded.kind, status = excluded.status, \
                 severity = excluded.severity, severity_rank = excluded.severity_rank, vulnerability_id = excluded.vulnerability_id, \
                 title = excluded.title, score = excluded.score, epss = excluded.epss, first_observed_at = excluded.first_observed_at, \
                 last_observed_at = excluded.last_observed_at, updated_at = excluded.updated_at, suppressed_by = excluded.suppressed_by, \
                 body = excluded.body, fix_available = excluded.fix_available, exploit_available = excluded.exploit_available",
                placeholders(backend, chunk.len(), 17, 0)
            );
            let mut q = sqlx::query(&sql);
            for f in chunk {
                q = q
                    .bind(&f.arn)
                    .bind(&f.resource)
                    .bind(f.kind)
                    .bind(f.status)
                    .bind(&f.severity)
                    .bind(f.severity_rank)
                    .bind(&f.vulnerability_id)
                    .bind(&f.title)
                    .bind(f.score)
                    .bind(f.epss)
                    .bind(&f.first_observed_at)
                    .bind(&f.last_observed_at)
                    .bind(&f.updated_at)
                    .bind(f.suppressed_by.as_deref())
                    .bind(&f.body)
                    .bind(&f.fix_available)
                    .bind(&f.exploit_available);
            }
            q.execute(&mut **tx).await?;
            let chunk: Vec<&FindingRow> = chunk.iter().collect();
            Self::write_packages(tx, &chunk).await?;
        }
        for chunk in self.closes.chunks(ROWS) {
            // One statement for many rows, each with its own body: the
            // bodies as a table of values, joined by ARN.
            let sql = format!(
                "WITH closing (arn, body) AS (VALUES {}) \
                 UPDATE findings SET status = 'CLOSED', updated_at = {}, \
                 body = (SELECT body FROM closing WHERE closing.arn = findings.arn) \
                 WHERE arn IN (SELECT arn FROM closing)",
                placeholders(backend, chunk.len(), 2, 0),
                // Bound last: on SQLite parameters bind in the order written.
                param(backend, chunk.len() * 2 + 1)
            );
            let mut q = sqlx::query(&sql);
            for (arn, body) in chunk {
                q = q.bind(arn).bind(body);
            }
            q = q.bind(now);
            q.execute(&mut **tx).await?;
            // Their package names count as closed too.
            let sql = format!(
                "UPDATE finding_packages SET status = 'CLOSED' WHERE arn IN ({})",
                placeholders(backend, chunk.len(), 1, 0)
            );
            let mut q = sqlx::query(&sql);
            for (arn, _) in chunk {
                q = q.bind(arn);
            }
            q.execute(&mut **tx).await?;
        }
        for chunk in self.history.chunks(ROWS) {
            // Each finding's next sequence numbers follow its stored ones.
            let sql = format!(
                "SELECT arn, COUNT(*) AS n FROM finding_history WHERE arn IN ({}) GROUP BY arn",
                placeholders(backend, chunk.len(), 1, 0)
            );
            let mut q = sqlx::query(&sql);
            for (arn, ..) in chunk {
                q = q.bind(arn);
            }
            let mut seq: BTreeMap<String, i64> = BTreeMap::new();
            for r in q.fetch_all(&mut **tx).await? {
                seq.insert(r.try_get("arn")?, r.try_get("n")?);
            }
            let sql = format!(
                "INSERT INTO finding_history (arn, seq, at, status, event, cause) VALUES {}",
                placeholders(backend, chunk.len(), 6, 0)
            );
            let mut q = sqlx::query(&sql);
            for (arn, status, event, cause) in chunk {
                let n = seq.entry(arn.clone()).or_insert(0);
                *n += 1;
                q = q
                    .bind(arn)
                    .bind(*n)
                    .bind(now)
                    .bind(status)
                    .bind(*event)
                    .bind(cause);
            }
            q.execute(&mut **tx).await?;
        }
        for chunk in self.events.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO outbox (id, created_at, detail_type, resource_id, body, summarized) VALUES {}",
                placeholders(backend, chunk.len(), 6, 0)
            );
            let mut q = sqlx::query(&sql);
            for e in chunk {
                let id = crate::events::event_id();
                let body = crate::events::envelope(&id, now, e.detail_type, &e.resource, &e.detail)
                    .to_string();
                q = q
                    .bind(id)
                    .bind(now)
                    .bind(e.detail_type)
                    .bind(&e.resource)
                    .bind(body)
                    .bind(i64::from(e.summarized));
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Stored findings changed: each statement assigns only the columns its
    /// rows change, rows grouped by those columns.
    async fn write_updates(tx: &mut Tx, updates: &[FindingRow]) -> DbResult<()> {
        let backend = backend_of(tx);
        let mut by_columns: BTreeMap<u16, Vec<&FindingRow>> = BTreeMap::new();
        for f in updates {
            if let Some(u) = f.update.filter(|u| u.columns != 0) {
                by_columns
                    .entry(u.columns | always(backend))
                    .or_default()
                    .push(f);
            }
        }
        for (mask, rows) in by_columns {
            let columns: Vec<usize> = (0..UPDATABLE.len())
                .filter(|i| mask & (1 << i) != 0)
                .collect();
            let names: Vec<&str> = columns.iter().map(|&i| UPDATABLE[i]).collect();
            let set: Vec<String> = names
                .iter()
                .map(|c| {
                    format!("{c} = (SELECT {c} FROM changed WHERE changed.arn = findings.arn)")
                })
                .collect();
            for chunk in rows.chunks(ROWS) {
                // The rows as a table of values, joined by ARN, as closing
                // does.
                let sql = format!(
                    "WITH changed (arn, {}) AS (VALUES {}) UPDATE findings SET {} \
                     WHERE arn IN (SELECT arn FROM changed)",
                    names.join(", "),
                    placeholders(backend, chunk.len(), columns.len() + 1, 0),
                    set.join(", ")
                );
                let mut q = sqlx::query(&sql);
                for f in chunk {
                    q = q.bind(&f.arn);
                    for &c in &columns {
                        q = f.bind_column(q, c);
                    }
                }
                q.execute(&mut **tx).await?;
            }
        }
        Ok(())
    }

    /// On PostgreSQL, the status and severity of the package names of
    /// findings updated without them, copied from the findings' rows where
    /// they differ: another process may have changed a finding's status
    /// since this transaction read it (see [`always`]).
    async fn sync_packages(tx: &mut Tx, findings: &[&FindingRow]) -> DbResult<()> {
        let backend = backend_of(tx);
        for chunk in findings.chunks(ROWS * 5) {
            let sql = format!(
                "UPDATE finding_packages SET status = f.status, severity_rank = f.severity_rank \
                 FROM findings f WHERE f.arn = finding_packages.arn AND f.arn IN ({}) \
                 AND (finding_packages.status <> f.status OR finding_packages.severity_rank <> f.severity_rank)",
                placeholders(backend, chunk.len(), 1, 0)
            );
            let mut q = sqlx::query(&sql);
            for f in chunk {
                q = q.bind(&f.arn);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Findings' package names, written again.
    async fn write_packages(tx: &mut Tx, findings: &[&FindingRow]) -> DbResult<()> {
        let backend = backend_of(tx);
        for chunk in findings.chunks(ROWS) {
            let sql = format!(
                "DELETE FROM finding_packages WHERE arn IN ({})",
                placeholders(backend, chunk.len(), 1, 0)
            );
            let mut q = sqlx::query(&sql);
            for f in chunk {
                q = q.bind(&f.arn);
            }
            q.execute(&mut **tx).await?;
            let rows: Vec<(&str, &FindingRow)> = chunk
                .iter()
                .flat_map(|f| f.packages.iter().map(move |n| (n.as_str(), *f)))
                .collect();
            for rows in rows.chunks(ROWS) {
                let sql = format!(
                    "INSERT INTO finding_packages (name, arn, resource_id, status, severity_rank) VALUES {} ON CONFLICT DO NOTHING",
                    placeholders(backend, rows.len(), 5, 0)
                );
                let mut q = sqlx::query(&sql);
                for (name, f) in rows {
                    q = q
                        .bind(*name)
                        .bind(&f.arn)
                        .bind(&f.resource)
                        .bind(f.status)
                        .bind(f.severity_rank);
                }
                q.execute(&mut **tx).await?;
            }
        }
        Ok(())
    }
}
