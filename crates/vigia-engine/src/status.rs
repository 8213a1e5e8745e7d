//! What `vigia db status` reports: each source's state, its age, whether it is
//! stale, and the derived tables' sizes.

use serde::{Deserialize, Serialize};
use vigia_feeds::Malformed;

use crate::{Config, Result, STALE_AFTER_DAYS, database};

/// One source's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusSource {
    /// The source's path in the upstream layout.
    pub name: String,
    /// `osv`, `kev`, `epss` or `nvd`.
    pub kind: String,
    /// The osv.dev ecosystem, for OSV sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<String>,
    /// Records it holds.
    pub records: u64,
    /// Of those, withdrawn.
    pub withdrawn: u64,
    /// Records skipped as malformed at its last ingest.
    pub malformed: u64,
    /// The first of those, named.
    pub malformed_entries: Vec<Malformed>,
    /// When new content was last ingested.
    pub last_update: Option<String>,
    /// When it was last confirmed current.
    pub last_check: Option<String>,
    /// When an update last tried it, whatever the outcome.
    pub last_attempt: Option<String>,
    /// Why that attempt failed; absent when it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Upstream's own time for the data.
    pub snapshot_at: Option<String>,
    /// Seconds since the last check.
    pub age_seconds: Option<i64>,
    /// Whether it is older than [`STALE_AFTER_DAYS`].
    pub stale: bool,
    /// Where it was last read from.
    pub location: String,
}

/// The database's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseStatus {
    /// The database, named without a password.
    pub database: String,
    /// Each source, by name.
    pub sources: Vec<StatusSource>,
    /// Vulnerabilities (alias groups).
    pub alias_groups: u64,
    /// KEV entries.
    pub kev_entries: u64,
    /// EPSS scores.
    pub epss_scores: u64,
    /// CVSS vectors.
    pub cvss_vectors: u64,
    /// Whether any source is stale.
    pub stale: bool,
    /// What people must not miss (stale sources).
    pub warnings: Vec<String>,
}

/// A human age: `3d 4h`, `5h 2m`, `40s`.
#[must_use]
pub fn human_age(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m) = (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{secs}s")
    }
}

/// The state of the published database `config` names, as of `now`.
pub async fn status(config: &Config, now: jiff::Timestamp) -> Result<DatabaseStatus> {
    let store = database::open_existing(config).await?;
    let states = store.source_states().await?;
    let (alias_groups, kev_entries, epss_scores, cvss_vectors) = store.table_counts().await?;
    store.close().await;
    let mut warnings = Vec::new();
    let sources: Vec<StatusSource> = states
        .into_iter()
        .map(|s| {
            let age = s
                .checked_at
                .as_deref()
                .and_then(vigia_feeds::parse::parse_time)
                .map(|t| now.as_second() - t.as_second());
            let stale = age.is_none_or(|a| a > STALE_AFTER_DAYS * 86_400);
            if let Some(e) = &s.error {
                warnings.push(format!(
                    "{}: the last update failed ({}): {e}; it keeps the data of {}",
                    s.name,
                    s.attempted_at.as_deref().unwrap_or("unknown time"),
                    s.changed_at.as_deref().unwrap_or("no successful update")
                ));
            }
            if stale {
                warnings.push(format!(
                    "{} was last updated {} ago (more than {STALE_AFTER_DAYS} days): run `vigia db update`",
                    s.name,
                    age.map_or_else(|| "never".into(), human_age)
                ));
            }
            StatusSource {
                name: s.name,
                kind: s.kind,
                ecosystem: s.ecosystem,
                records: s.records,
                withdrawn: s.withdrawn,
                malformed: s.malformed,
                malformed_entries: s.malformed_entries,
                last_update: s.changed_at,
                last_check: s.checked_at,
                last_attempt: s.attempted_at,
                last_error: s.error,
                snapshot_at: s.snapshot_at,
                age_seconds: age,
                stale,
                location: s.location,
            }
        })
        .collect();
    Ok(DatabaseStatus {
        database: config.database_name(),
        stale: sources.iter().any(|s| s.stale),
        sources,
        alias_groups,
        kev_entries,
        epss_scores,
        cvss_vectors,
        warnings,
    })
}
