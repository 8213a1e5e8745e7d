//! What the database records about its sources and its generation.

use serde::{Deserialize, Serialize};
use sqlx::{AnyPool, Row};
use vigia_model::feed::{Fingerprint, Malformed};

use crate::Result;
use crate::query::parse_json;

/// What Vigia stores about one source.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceState {
    /// The source's path in the layout (`PyPI/all.zip`).
    pub name: String,
    /// `osv`, `kev`, `epss` or `nvd`.
    pub kind: String,
    /// The osv.dev ecosystem, for `osv` sources.
    pub ecosystem: Option<String>,
    /// Where it was last read from.
    pub location: String,
    /// Validators and content hash of the last fetch.
    pub fingerprint: Fingerprint,
    /// Size of the last content.
    pub bytes: u64,
    /// Records ingested.
    pub records: u64,
    /// Of those, withdrawn.
    pub withdrawn: u64,
    /// Records skipped as malformed.
    pub malformed: u64,
    /// The first malformed records, named.
    pub malformed_entries: Vec<Malformed>,
    /// Upstream's own time for the data.
    pub snapshot_at: Option<String>,
    /// When new content was last ingested.
    pub changed_at: Option<String>,
    /// When the source was last confirmed current.
    pub checked_at: Option<String>,
    /// When an update last tried it, whatever the outcome.
    pub attempted_at: Option<String>,
    /// Why that attempt failed; `None` when it succeeded.
    pub error: Option<String>,
}

/// The generation of a published advisory database: 0 before any content, one
/// more at every update that writes content. Scanners compare it to notice a new
/// database; findings record the generation they were matched against.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Generation(pub u64);

impl std::fmt::Display for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

pub(crate) async fn source_states(pool: &AnyPool) -> Result<Vec<SourceState>> {
    let rows = sqlx::query(
        "SELECT name, kind, ecosystem, location, etag, last_modified, sha256, bytes, records, withdrawn, malformed, malformed_entries, snapshot_at, changed_at, checked_at, attempted_at, last_error FROM sources ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let entries: String = r.try_get(11)?;
            Ok(SourceState {
                name: r.try_get(0)?,
                kind: r.try_get(1)?,
                ecosystem: r.try_get(2)?,
                location: r.try_get(3)?,
                fingerprint: Fingerprint {
                    etag: r.try_get(4)?,
                    last_modified: r.try_get(5)?,
                    sha256: r.try_get(6)?,
                },
                bytes: crate::query::u(r.try_get(7)?),
                records: crate::query::u(r.try_get(8)?),
                withdrawn: crate::query::u(r.try_get(9)?),
                malformed: crate::query::u(r.try_get(10)?),
                malformed_entries: parse_json::<Vec<Malformed>>(&entries)?,
                snapshot_at: r.try_get(12)?,
                changed_at: r.try_get(13)?,
                checked_at: r.try_get(14)?,
                attempted_at: r.try_get(15)?,
                error: r.try_get(16)?,
            })
        })
        .collect()
}
