//! The service's own database: resources, inventories, findings and their
//! history, scans, filters, tokens, the outbox. Embedded SQLite by default
//! (`state.db` in the data directory, beside the advisory database that
//! updates replace); on PostgreSQL, the `vigia_state` schema of the same
//! database, so that its migrations never meet the advisory store's.

use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

/// What went wrong with the state database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// It could not be opened.
    #[error("cannot open the service database {url}")]
    Open {
        /// Where (without a password).
        url: String,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// Its schema could not be migrated.
    #[error("cannot migrate the service database schema")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("the service database failed")]
    Query(#[from] sqlx::Error),
    /// A write made together with others' failed (see `crate::checkins`):
    /// the message says why.
    #[error("the service database failed: {0}")]
    Shared(String),
    /// A stored JSON value did not read back.
    #[error("a stored {what} is not valid JSON")]
    Json {
        /// What it was.
        what: &'static str,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
}

/// Shorthand.
pub type DbResult<T> = Result<T, DbError>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Which engine holds the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// A handle on the state database.
#[derive(Debug, Clone)]
pub struct StateDb {
    pool: AnyPool,
    backend: Backend,
    /// Held by transactions that read and then write: SQLite cannot turn a
    /// reader into the writer once another connection has written (it
    /// fails at once instead of waiting), so this process takes turns.
    pub(crate) turns: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Above this many findings opened for one resource at once, one
    /// summary event stands for their events (see `events::summary`).
    pub(crate) summarize_above: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

impl StateDb {
    /// Opens (creating and migrating) the state database at `url`:
    /// `sqlite://PATH` or `postgres://…`.
    pub async fn open(url: &str) -> DbResult<Self> {
        sqlx::any::install_default_drivers();
        let open = |source| DbError::Open {
            url: redact(url),
            source,
        };
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let target = match backend {
            Backend::Sqlite => {
                if url.contains('?') {
                    url.to_owned()
                } else {
                    format!("{url}?mode=rwc")
                }
            }
            Backend::Postgres => {
                // The schema first, on a connection of its own.
                let mut conn = AnyConnectOptions::from_str(url)
                    .map_err(open)?
                    .connect()
                    .await
                    .map_err(open)?;
                conn.execute("CREATE SCHEMA IF NOT EXISTS vigia_state")
                    .await
                    .map_err(open)?;
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}options=-c%20search_path%3Dvigia_state")
            }
        };
        let opts = AnyConnectOptions::from_str(&target)
            .map_err(open)?
            .log_statements(tracing::log::LevelFilter::Trace);
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Postgres {
                        // Each query planned with its own values, from the
                        // per-value statistics: a generic plan would guess
                        // how many findings a status or a vulnerability
                        // selects (see listing.rs).
                        conn.execute("SET plan_cache_mode = force_custom_plan")
                            .await?;
                    }
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        // A rematch's transaction rewrites thousands of
                        // findings and their index pages: with SQLite's
                        // default 2 MB page cache it spilled dirty pages
                        // mid-transaction. 8 MB per connection took most
                        // of that cost away (1,000 images: rematch 1.61 s
                        // to 1.37 s, first load 22.8 s to 17.8 s, with the
                        // anonymous placeholders); 32 MB and in-memory
                        // temporary storage were a little faster for 130 MB
                        // more.
                        conn.execute("PRAGMA cache_size = -8192").await?;
                        // SQLite copies the log back into the database
                        // (and syncs both) at the first commit past its
                        // size limit, 1,000 pages by default: a rematch's
                        // batch writes more than that, so every batch paid
                        // a checkpoint (65-90 ms of its 250 at 1,000
                        // images). 16,384 pages (64 MB) checkpoints once
                        // every several batches, for at most that much log.
                        conn.execute("PRAGMA wal_autocheckpoint = 16384").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(open)?;
        MIGRATOR.run(&pool).await?;
        fill_aggregation_columns(&pool).await?;
        Ok(Self {
            pool,
            backend,
            turns: std::sync::Arc::default(),
            summarize_above: std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(
                crate::events::SUMMARIZE_ABOVE,
            )),
        })
    }

    /// Sets how many findings opened for one resource at once are sent as
    /// their own events; above it, one summary event stands for them.
    pub fn set_summarize_above(&self, n: usize) {
        self.summarize_above
            .store(n, std::sync::atomic::Ordering::Relaxed);
    }

    /// The pool.
    #[must_use]
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine behind it.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A transaction that will write: on SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`, waiting for it as `busy_timeout` allows), so
    /// that reading first and writing after never fails because another
    /// connection wrote in between.
    pub async fn begin_write(&self) -> DbResult<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// When findings or resources last changed (from the findings'
    /// `updated_at` index: a lookup, not a scan), and the rest of what
    /// the dashboard's overview depends on: how many resources there are.
    ///
    /// # Errors
    ///
    /// The database failed.
    pub async fn change_stamp(&self) -> DbResult<(String, String)> {
        use sqlx::Row as _;
        let row = sqlx::query(
            "SELECT (SELECT MAX(updated_at) FROM findings) AS f, (SELECT MAX(updated_at) FROM resources) AS r, \
             (SELECT COUNT(*) FROM resources) AS n",
        )
        .fetch_one(&self.pool)
        .await?;
        let f: Option<String> = row.try_get("f")?;
        let r: Option<String> = row.try_get("r")?;
        let n: i64 = row.try_get("n")?;
        let latest = f.clone().max(r.clone()).unwrap_or_default();
        Ok((
            latest,
            format!("{}|{}|{n}", f.unwrap_or_default(), r.unwrap_or_default()),
        ))
    }

    /// A remembered value.
    pub async fn get_state(&self, key: &str) -> DbResult<Option<String>> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT value FROM service_state WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.0))
    }

    /// Remembers a value.
    pub async fn set_state(&self, key: &str, value: &str) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO service_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn opens_migrates_and_remembers() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("state.db").display());
        let db = StateDb::open(&url).await.unwrap();
        assert_eq!(db.backend(), Backend::Sqlite);
        assert_eq!(db.get_state("generation").await.unwrap(), None);
        db.set_state("generation", "3").await.unwrap();
        db.set_state("generation", "4").await.unwrap();
        // Opening again keeps what was stored and does not migrate twice.
        let again = StateDb::open(&url).await.unwrap();
        assert_eq!(
            again.get_state("generation").await.unwrap().as_deref(),
            Some("4")
        );
        // A finding stored before the aggregation columns existed gets them
        // at the next open, once: the open after that does not look again.
        sqlx::query(
            "INSERT INTO findings (arn, resource_id, kind, status, severity, severity_rank, vulnerability_id, \
             title, score, epss, first_observed_at, last_observed_at, updated_at, body) \
             VALUES ('a', 'r', 'PACKAGE_VULNERABILITY', 'ACTIVE', 'HIGH', 1, 'CVE-1', 't', -1, -1, '', '', '', \
             '{\"fixAvailable\":\"YES\",\"exploitAvailable\":\"NO\"}')",
        )
        .execute(again.pool())
        .await
        .unwrap();
        let filled = || async {
            let db = StateDb::open(&url).await.unwrap();
            sqlx::query_as::<_, (Option<String>,)>(
                "SELECT fix_available FROM findings WHERE arn = 'a'",
            )
            .fetch_one(db.pool())
            .await
            .unwrap()
            .0
        };
        assert_eq!(filled().await, None, "filled once, when first opened");
        sqlx::query("DELETE FROM service_state WHERE key = 'aggregation_columns_filled'")
            .execute(again.pool())
            .await
            .unwrap();
        assert_eq!(filled().await.as_deref(), Some("YES"));
        let bad = StateDb::open("sqlite:///nonexistent-dir/x/state.db")
            .await
            .unwrap_err();
        assert!(
            bad.to_string().contains("/nonexistent-dir/x/state.db"),
            "{bad}"
        );
    }
}

impl StateDb {
    /// The rows of `sql` for every value of `values`: `sql` holds one `{}`
    /// where the `IN` list goes, and is run once per 400 values (well under
    /// SQLite's and PostgreSQL's limits on bound parameters).
    pub(crate) async fn fetch_in<S: AsRef<str> + Sync>(
        &self,
        sql: &str,
        values: &[S],
    ) -> DbResult<Vec<sqlx::any::AnyRow>> {
        let mut out = Vec::new();
        for chunk in values.chunks(400) {
            let sql = sql.replacen("{}", &placeholders(self.backend(), chunk.len(), 1, 0), 1);
            let mut q = sqlx::query(&sql);
            for v in chunk {
                q = q.bind(v.as_ref());
            }
            out.extend(q.fetch_all(self.pool()).await?);
        }
        Ok(out)
    }
}

/// Placeholders for `rows` rows of `width` values each: `($1, $2), ($3, $4)`
/// for a multi-row `VALUES`, or `($1), ($2)` for an `IN` list, numbered from
/// `$from + 1` on PostgreSQL. On SQLite they are anonymous (`(?, ?), (?, ?)`),
/// bound in order: every parameter of such a statement must be anonymous
/// too. SQLite keeps numbered or named parameters in a list it searches
/// linearly for every one bound, so a statement of 1,500 of them spent more
/// time binding than running.
pub(crate) fn placeholders(backend: Backend, rows: usize, width: usize, from: usize) -> String {
    let row = |r: usize| -> String {
        let cols: Vec<String> = (1..=width)
            .map(|c| match backend {
                Backend::Postgres => format!("${}", from + r * width + c),
                Backend::Sqlite => "?".to_owned(),
            })
            .collect();
        format!("({})", cols.join(", "))
    };
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

/// Parameter number `n` of a statement whose other parameters come from
/// [`placeholders`]: `$n` on PostgreSQL, anonymous on SQLite.
pub(crate) fn param(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Postgres => format!("${n}"),
        Backend::Sqlite => "?".to_owned(),
    }
}

/// The engine behind a connection.
pub(crate) fn backend_of(conn: &sqlx::AnyConnection) -> Backend {
    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    }
}

#[cfg(test)]
mod placeholder_tests {
    use super::{Backend, placeholders};

    #[test]
    fn placeholders_number_rows_and_columns_from_an_offset() {
        let pg = Backend::Postgres;
        assert_eq!(placeholders(pg, 2, 2, 0), "($1, $2), ($3, $4)");
        assert_eq!(placeholders(pg, 3, 1, 0), "($1), ($2), ($3)");
        assert_eq!(placeholders(pg, 2, 2, 1), "($2, $3), ($4, $5)");
        assert_eq!(placeholders(Backend::Sqlite, 2, 2, 1), "(?, ?), (?, ?)");
    }
}

/// Fills `fix_available` and `exploit_available` of findings stored before
/// those columns existed (migration 0009), from their bodies, in batches;
/// then the status and severity of package names stored before. Done once:
/// every finding written since carries them, and looking for those without
/// reads the whole table (2.5 s at every start at 1,000,000 findings).
async fn fill_aggregation_columns(pool: &AnyPool) -> DbResult<()> {
    use sqlx::Row as _;
    const DONE: &str = "aggregation_columns_filled";
    let done: Option<(String,)> = sqlx::query_as("SELECT value FROM service_state WHERE key = $1")
        .bind(DONE)
        .fetch_optional(pool)
        .await?;
    if done.is_some() {
        return Ok(());
    }
    loop {
        let rows =
            sqlx::query("SELECT arn, body FROM findings WHERE fix_available IS NULL LIMIT 500")
                .fetch_all(pool)
                .await?;
        if rows.is_empty() {
            // Package names stored before they carried their finding's
            // status and severity.
            sqlx::query(
                "UPDATE finding_packages SET \
                 status = (SELECT f.status FROM findings f WHERE f.arn = finding_packages.arn), \
                 severity_rank = (SELECT f.severity_rank FROM findings f WHERE f.arn = finding_packages.arn) \
                 WHERE status IS NULL",
            )
            .execute(pool)
            .await?;
            sqlx::query(
                "INSERT INTO service_state (key, value) VALUES ($1, '1') ON CONFLICT (key) DO NOTHING",
            )
            .bind(DONE)
            .execute(pool)
            .await?;
            return Ok(());
        }
        let mut tx = pool.begin().await?;
        for r in &rows {
            let arn: String = r.try_get("arn")?;
            let body: String = r.try_get("body")?;
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            sqlx::query(
                "UPDATE findings SET fix_available = $1, exploit_available = $2 WHERE arn = $3",
            )
            .bind(v["fixAvailable"].as_str().unwrap_or(""))
            .bind(v["exploitAvailable"].as_str().unwrap_or(""))
            .bind(&arn)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    }
}
