//! What advisories say about packages, as the store hands it to the matcher.

use serde::{Deserialize, Serialize};

use crate::osv::{Range, Severity};

/// One stored affected entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AffectedRow {
    /// The feed it came from.
    pub source: String,
    /// The advisory it belongs to.
    pub advisory_id: String,
    /// Its position in the record.
    pub idx: i64,
    /// Full OSV ecosystem (`Debian:12`).
    pub ecosystem: String,
    /// Package name as the record gives it.
    pub name: String,
    /// Package URL if given.
    pub purl: Option<String>,
    /// Ranges.
    pub ranges: Vec<Range>,
    /// Explicit versions.
    pub versions: Vec<String>,
    /// Per-package severity.
    pub severity: Vec<Severity>,
    /// Ecosystem-specific data (Debian urgency, …).
    pub ecosystem_specific: Option<serde_json::Value>,
    /// Database-specific data.
    pub database_specific: Option<serde_json::Value>,
}

/// Everything a match index is built from, read in one consistent state.
#[derive(Debug, Clone, Default)]
pub struct MatchData {
    /// The generation of the database it was read from.
    pub generation: u64,
    /// Every affected entry of a record that is not withdrawn.
    pub affected: Vec<AffectedRow>,
    /// Every alias group membership: (member ID, group's preferred ID).
    pub groups: Vec<(String, String)>,
    /// For each advisory, the IDs it names as upstream without being them (a
    /// DSA's CVEs): (advisory ID, upstream ID).
    pub upstream: Vec<(String, String)>,
}
