//! Vigia's advisory database: schema, atomic ingest, alias groups and queries.
//!
//! One schema and one set of queries serve `SQLite` (embedded default) and
//! `PostgreSQL`, through sqlx's `Any` driver; placeholders are `$N`, which both
//! accept. An update is a single transaction ([`Update`]): readers see the state
//! before it or after it, never between, and a killed process leaves the previous
//! state as it was.

mod groups;
mod ingest;
mod query;

pub use ingest::{SourceState, Update};
pub use query::{
    AdvisoryRow, AffectedRow, CvssRow, EpssInfo, KevInfo, RelatedRecord, Vulnerability,
};

use std::path::Path;
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database could not be opened.
    #[error("cannot open the vulnerability database at {url}: {source}")]
    Open {
        /// The database URL (no password: Vigia never prints one).
        url: String,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// Schema migration failed.
    #[error("cannot migrate the vulnerability database schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    /// Stored JSON did not parse (a bug or a foreign writer).
    #[error("stored data is not valid: {0}")]
    Data(String),
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Which database engine is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded `SQLite`.
    Sqlite,
    /// `PostgreSQL`.
    Postgres,
}

/// A handle on the advisory database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Removes a password from a database URL before it is shown anywhere.
#[must_use]
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

impl Store {
    /// Opens (creating if needed) the `SQLite` database at `path` and brings its schema up to date.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::open(&url).await
    }

    /// Opens an existing `SQLite` database without creating it; `Ok(None)` when absent.
    pub async fn open_sqlite_existing(path: &Path) -> Result<Option<Self>> {
        if !path.exists() {
            return Ok(None);
        }
        let url = format!("sqlite://{}?mode=rw", path.display());
        Self::open(&url).await.map(Some)
    }

    /// Opens a database by URL (`sqlite://…` or `postgres://…`) and migrates it.
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let open_err = |source| Error::Open {
            url: redact_url(url),
            source,
        };
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let opts = AnyConnectOptions::from_str(url)
            .map_err(open_err)?
            .log_statements(tracing::log::LevelFilter::Trace);
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL: readers keep reading the last committed state while an
                        // update writes; NORMAL sync is durable at each commit in WAL.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA busy_timeout = 30000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        // A 32 MiB page cache keeps an update's transaction from
                        // spilling pages early (measured: 12% of ingest time went to
                        // spills with the 2 MiB default); statement journals in memory.
                        conn.execute("PRAGMA cache_size = -32768").await?;
                        conn.execute("PRAGMA temp_store = MEMORY").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await
            .map_err(open_err)?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool, backend })
    }

    /// The engine in use.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for crates that add their own tables later.
    #[must_use]
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
