//! A scan's report: findings, coverage, database state and counts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vigia_inventory::OsInfo;

use crate::{Finding, FixStep, Resource, Severity};

/// Coverage of one ecosystem in a scan.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EcosystemCoverage {
    /// The package type (`deb`, `pypi`).
    pub package_type: String,
    /// The OSV ecosystem (`Debian:12`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<String>,
    /// Packages of that type.
    pub packages: usize,
    /// Whether they were matched against advisories.
    pub covered: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Of a covered ecosystem's packages, those whose installed version its
    /// scheme cannot read (listed in [`ScanInfo::not_evaluated`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub not_evaluated: usize,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A package of a covered ecosystem that was not compared with any advisory,
/// because its installed version is not one the ecosystem's scheme can order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NotEvaluated {
    /// The package type (`npm`, `deb`).
    pub package_type: String,
    /// The OSV ecosystem.
    pub ecosystem: String,
    /// The package name.
    pub name: String,
    /// The version as installed.
    pub version: String,
    /// Where it was found.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Why it could not be evaluated.
    pub reason: String,
}

/// The state of the database the scan used.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseInfo {
    /// When it was last updated (the newest source check).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Whether it is older than the staleness limit.
    pub stale: bool,
    /// Advisory records in it.
    pub advisories: u64,
    /// Feeds it holds nothing from (`kev`, `epss`, `nvd`): what the scan
    /// cannot say, stated rather than shown as zero.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lacks: Vec<String>,
}

impl DatabaseInfo {
    /// What each feed the database lacks means for the findings, for people.
    #[must_use]
    pub fn gaps(&self) -> Vec<String> {
        self.lacks
            .iter()
            .map(|feed| {
                let (what, means) = match feed.as_str() {
                    "kev" => (
                        "CISA KEV catalogue",
                        "whether a vulnerability is known to be exploited is unknown",
                    ),
                    "epss" => ("EPSS scores", "exploit probabilities are unknown"),
                    "nvd" => ("NVD data", "CVSS scores come from the advisories alone"),
                    other => (other, "its data is missing"),
                };
                format!("the vulnerability database has no {what}: {means} (run `vigia db update`)")
            })
            .collect()
    }
}

/// Counts per severity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Active findings.
    pub total: usize,
    /// Active findings per severity (`CRITICAL`, …).
    pub by_severity: BTreeMap<Severity, usize>,
    /// Suppressed findings.
    pub suppressed: usize,
    /// Active findings with a fix.
    pub fixable: usize,
    /// Active findings in CISA KEV.
    pub known_exploited: usize,
    /// Packages scanned.
    pub packages: usize,
    /// Packages that could not be matched.
    pub packages_not_covered: usize,
    /// Packages of covered ecosystems not compared with any advisory (an
    /// installed version the ecosystem's scheme cannot read).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub packages_not_evaluated: usize,
}

/// What a scan did, besides its findings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScanInfo {
    /// `vigia <version>`.
    pub scanner: String,
    /// When.
    pub scanned_at: String,
    /// What, as the user named it.
    pub target: String,
    /// The resource.
    pub resource: Resource,
    /// The OS found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<OsInfo>,
    /// What could be matched and what could not.
    pub coverage: Vec<EcosystemCoverage>,
    /// The database used.
    pub database: DatabaseInfo,
    /// Extractors that ran, with packages found.
    pub extractors: Vec<(String, usize)>,
    /// Problems with files and records (the rest of the scan still counts).
    pub warnings: Vec<String>,
    /// Inputs that could not be read at all: what they list is unknown, so
    /// the scan is incomplete, never clean.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_scanned: Vec<NotScanned>,
    /// Packages found but not compared with any advisory: the scan is
    /// incomplete for them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_evaluated: Vec<NotEvaluated>,
    /// Trees of the resource that were not read, and why (`/proc` on a live
    /// root, `--skip-dirs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_paths: Vec<vigia_inventory::source::scope::Skipped>,
    /// Notes on suppression rules (expired entries).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Counts.
    pub summary: Summary,
    /// Upgrades, best first.
    pub fix_plan: Vec<FixStep>,
    /// The scanners that ran (`vuln`, `secret`).
    #[serde(default)]
    pub scanners: Vec<String>,
    /// What the secret scanner read.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub secrets: Option<SecretScanInfo>,
}

/// An input that could not be read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NotScanned {
    /// The file (for images, with its layer; in archives, after a `:`).
    pub path: String,
    /// Why.
    pub reason: String,
    /// A package database, lockfile or manifest (`inventory`), or an
    /// executable or archive (`binary`).
    pub kind: vigia_inventory::Unread,
}

impl ScanInfo {
    /// Packages found, of every type.
    #[must_use]
    pub fn packages(&self) -> usize {
        self.coverage.iter().map(|c| c.packages).sum()
    }

    /// Why the OS packages found were not evaluated, when none of them
    /// were: no advisories for the OS's release (an end-of-life or unknown
    /// distribution). `None` when there are none, or some were evaluated.
    #[must_use]
    pub fn unsupported_os(&self) -> Option<String> {
        let os: Vec<&EcosystemCoverage> = self
            .coverage
            .iter()
            .filter(|c| crate::ecosystem::is_os(&c.package_type) && c.packages > 0)
            .collect();
        if os.is_empty() || os.iter().any(|c| c.covered) {
            return None;
        }
        Some(
            os.iter()
                .map(|c| {
                    format!(
                        "{} {} packages not evaluated: {}",
                        c.packages,
                        c.ecosystem.as_deref().unwrap_or(&c.package_type),
                        c.reason.as_deref().unwrap_or("no advisories")
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        )
    }

    /// Whether the OS packages found were evaluated (some of them at least).
    #[must_use]
    pub fn os_evaluated(&self) -> bool {
        self.coverage
            .iter()
            .any(|c| crate::ecosystem::is_os(&c.package_type) && c.packages > 0 && c.covered)
    }

    /// Whether a package database, lockfile or manifest could not be read, or
    /// a package found was not evaluated: the scan's findings are incomplete.
    #[must_use]
    pub fn incomplete(&self) -> bool {
        !self.not_evaluated.is_empty()
            || self
                .not_scanned
                .iter()
                .any(|n| n.kind == vigia_inventory::Unread::Inventory)
    }
}

/// What the secret scanner read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct SecretScanInfo {
    /// Files read.
    pub files_scanned: u64,
    /// Bytes read.
    pub bytes_scanned: u64,
    /// Files skipped as binary.
    pub files_binary: u64,
    /// Whether files hidden by later layers were reported too.
    pub all_layers: bool,
}

/// A scan's result: `findings` is Inspector's list, `scan` Vigia's status.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// Findings, most severe first.
    pub findings: Vec<Finding>,
    /// What the scan did.
    pub scan: ScanInfo,
}
