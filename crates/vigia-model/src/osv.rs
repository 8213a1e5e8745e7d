//! OSV records (<https://ossf.github.io/osv-schema/>).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Reads `null` as the type's default, as some feeds write `"aliases": null`.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One OSV advisory record.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Osv {
    /// The record's own ID (`GHSA-…`, `PYSEC-…`, `DSA-…`).
    pub id: String,
    /// When the record last changed (RFC 3339).
    pub modified: String,
    /// When the record was first published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// When the record was withdrawn; a withdrawn record never matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// IDs of the same vulnerability in other databases.
    #[serde(default, deserialize_with = "null_default")]
    pub aliases: Vec<String>,
    /// IDs of closely related but different vulnerabilities.
    #[serde(default, deserialize_with = "null_default")]
    pub related: Vec<String>,
    /// IDs of the upstream advisories this one derives from (schema 1.6).
    #[serde(default, deserialize_with = "null_default")]
    pub upstream: Vec<String>,
    /// One-line summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Longer description (Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Severity vectors of the record as a whole.
    #[serde(default, deserialize_with = "null_default")]
    pub severity: Vec<Severity>,
    /// Affected packages and their ranges.
    #[serde(default, deserialize_with = "null_default")]
    pub affected: Vec<Affected>,
    /// Links.
    #[serde(default, deserialize_with = "null_default")]
    pub references: Vec<Reference>,
    /// Database-specific data, kept as is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
    /// The OSV schema version the record claims, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
}

/// A severity entry: a type and a score string (a CVSS vector for the CVSS types).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Severity {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, …
    #[serde(rename = "type")]
    pub kind: SeverityType,
    /// The vector or rating.
    pub score: String,
}

/// Kinds of severity entry.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SeverityType {
    /// A CVSS v2 vector.
    CvssV2,
    /// A CVSS v3.0 or v3.1 vector.
    CvssV3,
    /// A CVSS v4.0 vector.
    CvssV4,
    /// Ubuntu's own priority.
    #[serde(rename = "Ubuntu")]
    Ubuntu,
    /// Anything newer than Vigia knows.
    #[serde(other)]
    Unknown,
}

/// One affected package with its ranges.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Affected {
    /// The package; absent only in malformed or git-only records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    /// Per-package severity (rare).
    #[serde(default, deserialize_with = "null_default")]
    pub severity: Vec<Severity>,
    /// Version ranges.
    #[serde(default, deserialize_with = "null_default")]
    pub ranges: Vec<Range>,
    /// Explicit affected versions.
    #[serde(default, deserialize_with = "null_default")]
    pub versions: Vec<String>,
    /// Ecosystem-specific data (Debian urgency, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<Value>,
    /// Database-specific data (`RustSec` informational kind, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// A package as OSV names it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Package {
    /// Ecosystem string, possibly with a release suffix (`Debian:12`, `Alpine:v3.20`).
    pub ecosystem: String,
    /// Package name as the ecosystem spells it.
    pub name: String,
    /// Package URL, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// A version range.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Range {
    /// `ECOSYSTEM`, `SEMVER` or `GIT`.
    #[serde(rename = "type")]
    pub kind: RangeType,
    /// The repository, for `GIT` ranges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Events in order.
    #[serde(default, deserialize_with = "null_default")]
    pub events: Vec<Event>,
    /// Database-specific data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// Kinds of range.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RangeType {
    /// Versions in the ecosystem's own order.
    Ecosystem,
    /// `SemVer` 2.0 order.
    Semver,
    /// Git commits (not used for package matching).
    Git,
    /// Anything newer than Vigia knows.
    #[serde(other)]
    Unknown,
}

/// One range event; exactly one field is set in a valid record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Event {
    /// The version that introduced the vulnerability (`0` = from the start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    /// The first version that is no longer affected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// The last affected version (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    /// An upper limit for git ranges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

/// A reference link.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reference {
    /// `ADVISORY`, `WEB`, `FIX`, … (kept as text).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The URL.
    pub url: String,
}

impl Osv {
    /// Every ID this record says is the same vulnerability: its own, its aliases, and
    /// those `upstream`/`related` IDs that denote the same CVE as the record.
    ///
    /// `upstream` and `related` usually name *other* issues (a DSA lists every CVE it
    /// fixes), so they join the group only when they are a CVE that the record's own
    /// ID embeds (`DEBIAN-CVE-2024-1234` ↔ `CVE-2024-1234`) or a distro ID for a CVE
    /// that the record itself is (`CVE-2024-1234` ↔ `DEBIAN-CVE-2024-1234`), or when
    /// the record names exactly one CVE upstream and no other ID (a single-CVE DSA).
    #[must_use]
    pub fn same_vulnerability_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = vec![self.id.as_str()];
        ids.extend(self.aliases.iter().map(String::as_str));
        let own_cve = embedded_cve(&self.id);
        let linked = self.upstream.iter().chain(self.related.iter());
        for other in linked {
            let other_cve = embedded_cve(other);
            if own_cve.is_some() && other_cve == own_cve {
                ids.push(other);
            }
        }
        if own_cve.is_none() {
            let cves: Vec<&str> = self
                .upstream
                .iter()
                .map(String::as_str)
                .filter_map(embedded_cve)
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if cves.len() == 1 {
                let cve = cves[0];
                for other in &self.upstream {
                    if embedded_cve(other) == Some(cve) {
                        ids.push(other);
                    }
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The CVE IDs this record is about: its own ID if a CVE, aliases, and the CVEs
    /// that [`Osv::same_vulnerability_ids`] accepts.
    #[must_use]
    pub fn cve_ids(&self) -> Vec<&str> {
        self.same_vulnerability_ids()
            .into_iter()
            .filter(|id| is_cve(id))
            .collect()
    }
}

/// Whether `id` is a bare CVE ID (`CVE-2024-1234`).
#[must_use]
pub fn is_cve(id: &str) -> bool {
    id.strip_prefix("CVE-").is_some_and(|rest| {
        let mut parts = rest.splitn(2, '-');
        let (Some(year), Some(num)) = (parts.next(), parts.next()) else {
            return false;
        };
        year.len() == 4
            && year.bytes().all(|b| b.is_ascii_digit())
            && num.len() >= 4
            && num.bytes().all(|b| b.is_ascii_digit())
    })
}

/// The CVE an ID denotes: itself, or the CVE embedded in a distro ID such as
/// `DEBIAN-CVE-2024-1234`, `ALPINE-CVE-…`, `UBUNTU-CVE-…`.
#[must_use]
pub fn embedded_cve(id: &str) -> Option<&str> {
    if is_cve(id) {
        return Some(id);
    }
    let pos = id.find("-CVE-")?;
    let cve = &id[pos + 1..];
    is_cve(cve).then_some(cve)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(json: &str) -> Osv {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn nulls_and_unknown_types_are_tolerated() {
        let r = rec(
            r#"{"id":"X-1","modified":"2024-01-01T00:00:00Z","aliases":null,
                "severity":[{"type":"CVSS_V5","score":"x"}],
                "affected":[{"package":{"ecosystem":"npm","name":"a"},
                  "ranges":[{"type":"NEWTYPE","events":[{"introduced":"0"}]}]}]}"#,
        );
        assert!(r.aliases.is_empty());
        assert_eq!(r.severity[0].kind, SeverityType::Unknown);
        assert_eq!(r.affected[0].ranges[0].kind, RangeType::Unknown);
    }

    #[test]
    fn multi_cve_dsa_does_not_merge_its_cves() {
        let r = rec(r#"{"id":"DSA-5611-1","modified":"2024-01-30T00:00:00Z",
                "upstream":["DEBIAN-CVE-2023-6246","CVE-2023-6246","CVE-2023-6779"]}"#);
        assert_eq!(r.same_vulnerability_ids(), vec!["DSA-5611-1"]);
    }

    #[test]
    fn single_cve_dsa_and_distro_ids_join_their_cve() {
        let r = rec(r#"{"id":"DSA-5895-1","modified":"2024-01-30T00:00:00Z",
                "upstream":["DEBIAN-CVE-2025-31115","CVE-2025-31115"]}"#);
        assert_eq!(
            r.same_vulnerability_ids(),
            vec!["CVE-2025-31115", "DEBIAN-CVE-2025-31115", "DSA-5895-1"]
        );
        // `related` names a different vulnerability: it never joins a non-CVE record.
        let g = rec(
            r#"{"id":"GHSA-aaaa-bbbb-cccc","modified":"x","aliases":["CVE-2024-0001"],"related":["CVE-2024-9999"]}"#,
        );
        assert_eq!(
            g.same_vulnerability_ids(),
            vec!["CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"]
        );
        let a = rec(
            r#"{"id":"ALPINE-CVE-2024-0727","modified":"x","upstream":["CVE-2024-0727"],"related":["CVE-2024-9999"]}"#,
        );
        assert_eq!(a.cve_ids(), vec!["CVE-2024-0727"]);
    }

    #[test]
    fn cve_shapes() {
        assert!(is_cve("CVE-2024-12345"));
        assert!(!is_cve("CVE-2024-123"));
        assert!(!is_cve("CVE-24-1234"));
        assert_eq!(embedded_cve("UBUNTU-CVE-2024-1234"), Some("CVE-2024-1234"));
        assert_eq!(embedded_cve("GHSA-xxxx-yyyy-zzzz"), None);
    }
}
