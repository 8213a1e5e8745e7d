//! Vigia's scan: an inventory matched against the advisory database, turned
//! into Amazon Inspector-shaped findings with scores, fix plan and suppressions.
//!
//! The steps are apart so that each can be tested and reused by the service:
//! [`match_inventory`] (in memory, per package), [`Store::vulnerabilities`]
//! for the matched IDs (one read), [`build`] (findings, one per vulnerability
//! and package), then [`suppress::apply`], [`filter`] and [`finish`] (summary
//! and fix plan).
//!
//! [`Store::vulnerabilities`]: vigia_store::Store::vulnerabilities

pub mod finding;
pub mod sbom_in;
pub mod suppress;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vigia_inventory::{Inventory, OsInfo, Package as InvPackage};
use vigia_match::{Coverage, FixStatus, Index, PackageResult};
use vigia_store::{CvssRow, Vulnerability};
use vigia_version::{Scheme, Version};

pub use finding::*;

/// The account ID written into findings: Vigia runs outside AWS accounts.
pub const ACCOUNT_ID: &str = "000000000000";

/// Which kind of resource the user asked to scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A container image.
    Image,
    /// A host root filesystem.
    Host,
    /// A function package.
    Function,
    /// A folder of source and lockfiles.
    Dir,
    /// A CycloneDX or SPDX document.
    Sbom,
}

/// The OSV ecosystem a package is matched in, or why it cannot be matched.
pub fn ecosystem_of(pkg: &InvPackage, os: Option<&OsInfo>) -> Result<String, String> {
    let eco = match pkg.kind.as_str() {
        "deb" | "apk" | "rpm" => {
            return match os {
                Some(os) => os.osv_ecosystem.clone().ok_or_else(|| os.coverage.clone()),
                None => Err(format!(
                    "no OS release was found, so {} packages cannot be matched to a distro's advisories",
                    pkg.kind
                )),
            };
        }
        "pypi" => "PyPI",
        "npm" => "npm",
        "cargo" => "crates.io",
        "golang" => "Go",
        "maven" => "Maven",
        "gem" => "RubyGems",
        "composer" => "Packagist",
        "nuget" => "NuGet",
        other => return Err(format!("Vigia has no advisories for {other} packages")),
    };
    Ok(eco.to_owned())
}

/// One inventory package and its match result.
#[derive(Debug, Clone)]
pub struct Matched {
    /// Index into the inventory's packages.
    pub package: usize,
    /// The OSV ecosystem it was matched in (empty when not matchable).
    pub ecosystem: String,
    /// The result.
    pub result: PackageResult,
}

/// Matches every package of an inventory.
#[must_use]
pub fn match_inventory(inv: &Inventory, index: &Index) -> Vec<Matched> {
    inv.packages
        .iter()
        .enumerate()
        .map(|(i, p)| match ecosystem_of(p, inv.os.as_ref()) {
            Ok(eco) => {
                let pkg = vigia_match::Package {
                    ecosystem: eco.clone(),
                    name: p.name.clone(),
                    version: p.version.clone(),
                    source_name: p.source_name.clone(),
                    source_version: p.source_version.clone(),
                };
                Matched {
                    package: i,
                    ecosystem: eco,
                    result: index.matches(&pkg),
                }
            }
            Err(reason) => Matched {
                package: i,
                ecosystem: String::new(),
                result: PackageResult {
                    package: vigia_match::Package {
                        ecosystem: p.kind.clone(),
                        name: p.name.clone(),
                        version: p.version.clone(),
                        source_name: None,
                        source_version: None,
                    },
                    coverage: Coverage::NotCovered { reason },
                    findings: Vec::new(),
                    warnings: Vec::new(),
                },
            },
        })
        .collect()
}

/// The vulnerability IDs to read from the database for these results.
#[must_use]
pub fn vulnerability_ids(matched: &[Matched]) -> Vec<String> {
    let ids: BTreeSet<&str> = matched
        .iter()
        .flat_map(|m| {
            m.result
                .findings
                .iter()
                .map(|f| f.vulnerability_id.as_str())
        })
        .collect();
    ids.into_iter().map(str::to_owned).collect()
}

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
}

/// One upgrade and what it closes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FixStep {
    /// The packages to upgrade (binary packages of one source for OS packages).
    pub packages: Vec<String>,
    /// Package type.
    pub package_type: String,
    /// Installed version.
    pub installed: String,
    /// Upgrade to at least this version.
    pub fixed: String,
    /// Findings it closes.
    pub closes: usize,
    /// Those findings per severity.
    pub by_severity: BTreeMap<Severity, usize>,
    /// Their vulnerability IDs.
    pub vulnerabilities: Vec<String>,
    /// Findings on the same packages that stay open (no fix yet).
    pub remaining: usize,
    /// Where the packages are.
    pub paths: Vec<String>,
}

impl FixStep {
    /// `urllib3 1.26.4 → 1.26.19 closes 5 findings (1 High, 4 Medium)`.
    #[must_use]
    pub fn sentence(&self) -> String {
        let counts: Vec<String> = self
            .by_severity
            .iter()
            .map(|(s, n)| format!("{n} {}", s.title()))
            .collect();
        let plural = if self.closes == 1 { "" } else { "s" };
        let mut s = format!(
            "{} {} → {} closes {} finding{plural} ({})",
            self.packages.join(", "),
            self.installed,
            self.fixed,
            self.closes,
            counts.join(", ")
        );
        if self.remaining > 0 {
            let verb = if self.remaining == 1 { "stays" } else { "stay" };
            s.push_str(&format!("; {} {verb} open (no fix yet)", self.remaining));
        }
        s
    }
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
    /// Notes on suppression rules (expired entries).
    #[serde(skip_serializing_if = "Vec::is_empty")]
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

/// Everything [`build`] needs besides the match results.
#[derive(Debug, Clone)]
pub struct Context {
    /// The resource scanned.
    pub resource: Resource,
    /// Scan time, RFC 3339.
    pub now: String,
    /// `vigia <version>`.
    pub scanner: String,
    /// The database used.
    pub database: DatabaseInfo,
}

/// The stable part of a finding's identity for an inventory package: OS
/// packages group by source package (one finding for libssl3 and openssl),
/// others by name and version (one finding for every copy of lodash 4.17.15).
fn group_key(p: &InvPackage, eco: &str) -> String {
    match p.kind.as_str() {
        "deb" | "apk" | "rpm" => format!(
            "{}|{eco}|{}|{}",
            p.kind,
            p.source_name.as_deref().unwrap_or(&p.name),
            p.source_version.as_deref().unwrap_or(&p.version)
        ),
        _ => format!("{}|{eco}|{}|{}", p.kind, p.name, p.version),
    }
}

fn digest_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..16])
}

/// Inspector's name for an advisory source, from a record ID.
#[must_use]
pub fn source_name(record_id: &str) -> &'static str {
    let prefix = record_id.split('-').next().unwrap_or_default();
    match prefix {
        "GHSA" => "GITHUB",
        "PYSEC" => "PYPA",
        "RUSTSEC" => "RUSTSEC",
        "GO" => "GO_VULNDB",
        "DEBIAN" => "DEBIAN_CVE",
        "DSA" => "DEBIAN_DSA",
        "DLA" => "DEBIAN_DLA",
        "ALPINE" => "ALPINE_SECDB",
        "USN" | "UBUNTU" => "UBUNTU_CVE",
        "RHSA" | "RHBA" | "RHEA" => "REDHAT_CVE",
        "SUSE" | "openSUSE" => "SUSE_CVE",
        "MAL" => "OSV_MALICIOUS",
        "CVE" => "NVD",
        _ => "OSV",
    }
}

/// The page of an advisory.
#[must_use]
pub fn source_url(record_id: &str) -> String {
    let cve = vigia_model::osv::embedded_cve(record_id);
    match source_name(record_id) {
        "GITHUB" => format!("https://github.com/advisories/{record_id}"),
        "RUSTSEC" => format!("https://rustsec.org/advisories/{record_id}.html"),
        "DEBIAN_CVE" | "DEBIAN_DSA" | "DEBIAN_DLA" => format!(
            "https://security-tracker.debian.org/tracker/{}",
            cve.unwrap_or(record_id)
        ),
        "UBUNTU_CVE" if cve.is_some() => {
            format!("https://ubuntu.com/security/{}", cve.unwrap_or(record_id))
        }
        "NVD" => format!("https://nvd.nist.gov/vuln/detail/{record_id}"),
        _ => format!("https://osv.dev/vulnerability/{record_id}"),
    }
}

/// Inspector's `packageManager` for an extractor.
fn package_manager(p: &InvPackage) -> Option<&'static str> {
    Some(match p.found_by.as_str() {
        f if f.starts_with("os/") => "OS",
        "python/dist-info" => "PYTHONPKG",
        "python/requirements" => "PIP",
        "python/toml-lock" => "POETRY",
        "python/pipfile-lock" => "PIPENV",
        "javascript/package-lock" | "javascript/pnpm-lock" => "NPM",
        "javascript/node-modules" => "NODEPKG",
        "javascript/yarn-lock" => "YARN",
        "rust/cargo-lock" | "rust/auditable-binary" => "CARGO",
        "go/binary" => "GOBINARY",
        "go/go-mod" => "GOMOD",
        "java/archive" => "JAR",
        "java/pom-xml" => "POM",
        "ruby/gemfile-lock" => "BUNDLER",
        "ruby/gemspec" => "GEMSPEC",
        "php/composer" => "COMPOSER",
        "dotnet/deps" if p.path.ends_with(".deps.json") => "DOTNET_CORE",
        "dotnet/deps" => "NUGET",
        _ => return None,
    })
}

/// Splits a deb or rpm version into (epoch, version, release) as Inspector reports them.
fn split_version(kind: &str, v: &str) -> (Option<i64>, String, Option<String>) {
    if !matches!(kind, "deb" | "rpm") {
        return (None, v.to_owned(), None);
    }
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if e.chars().all(|c| c.is_ascii_digit()) && !e.is_empty() => {
            (e.parse().ok(), r)
        }
        _ => (Some(0), v),
    };
    match rest.rsplit_once('-') {
        Some((up, rel)) => (epoch, up.to_owned(), Some(rel.to_owned())),
        None => (epoch, rest.to_owned(), None),
    }
}

fn is_os(kind: &str) -> bool {
    matches!(kind, "deb" | "apk" | "rpm")
}

fn upgrade_hint(kind: &str) -> Option<&'static str> {
    match kind {
        "deb" => Some("apt-get install --only-upgrade"),
        "apk" => Some("apk upgrade"),
        "rpm" => Some("dnf upgrade"),
        _ => None,
    }
}

/// The score a finding's severity comes from, and where it came from.
struct Chosen<'a> {
    row: &'a CvssRow,
    origin: &'static str,
}

/// Severity: the distro vendor's CVSS, else NVD's, else the advisory's own.
fn choose_cvss<'a>(v: &'a Vulnerability, matched: &[&str], os: bool) -> Option<Chosen<'a>> {
    if os
        && let Some(row) = v
            .cvss
            .iter()
            .find(|c| c.origin == "osv" && matched.contains(&c.scorer.as_str()))
    {
        return Some(Chosen {
            row,
            origin: "vendor",
        });
    }
    if let Some(row) = v.cvss.iter().find(|c| c.origin == "nvd") {
        return Some(Chosen { row, origin: "nvd" });
    }
    v.cvss
        .iter()
        .filter(|c| c.origin == "osv")
        .min_by_key(|c| !matched.contains(&c.scorer.as_str()))
        .map(|row| Chosen {
            row,
            origin: "advisory",
        })
}

/// Without any CVSS vector: the vendor's own rating (Debian urgency), else the
/// advisory's (GitHub's reviewed severity). Debian's `unimportant` is Low, as
/// other scanners report it; `not yet assigned` is no rating.
fn rating(
    v: Option<&Vulnerability>,
    matched: &[&str],
    urgency: Option<&str>,
) -> Option<(Severity, &'static str)> {
    let word = |w: &str| -> Option<Severity> {
        match w.trim().trim_end_matches('*').to_ascii_lowercase().as_str() {
            "critical" => Some(Severity::Critical),
            "high" | "important" => Some(Severity::High),
            "medium" | "moderate" => Some(Severity::Medium),
            "low" | "unimportant" | "negligible" => Some(Severity::Low),
            _ => None,
        }
    };
    if let Some(sev) = urgency.and_then(word) {
        return Some((sev, "vendor-rating"));
    }
    let mut records: Vec<_> = v?.advisories.iter().collect();
    records.sort_by_key(|a| !matched.contains(&a.id.as_str()));
    records.iter().find_map(|a| {
        let w = a.database_specific.as_ref()?.get("severity")?.as_str()?;
        word(w).map(|s| (s, "advisory-rating"))
    })
}

/// Who a vector comes from: `NVD` for NVD's own analysts, the CNA for vectors
/// NVD carries from one (`secalert@redhat.com`), else the record's source.
fn cvss_source(row: &CvssRow) -> String {
    if row.origin == "nvd" {
        if row.scorer.is_empty() || row.scorer == "nvd@nist.gov" {
            "NVD".into()
        } else {
            row.scorer.clone()
        }
    } else {
        source_name(&row.scorer).into()
    }
}

/// The longest informative description among the records, matched records first.
fn description(v: Option<&Vulnerability>, matched: &[&str]) -> String {
    // Inspector's `FindingDescription` holds at most 1024 characters.
    const MAX: usize = 1024;
    let Some(v) = v else {
        return "No description is available.".into();
    };
    let mut ordered: Vec<_> = v.advisories.iter().collect();
    ordered.sort_by_key(|a| {
        (
            !matched.contains(&a.id.as_str()),
            !a.id.starts_with("GHSA-"),
        )
    });
    let text = ordered
        .iter()
        .find_map(|a| a.details.as_deref().filter(|d| !d.trim().is_empty()))
        .or_else(|| {
            ordered
                .iter()
                .find_map(|a| a.summary.as_deref().filter(|d| !d.trim().is_empty()))
        })
        .unwrap_or("No description is available.")
        .trim();
    if text.chars().count() > MAX {
        let mut cut: String = text.chars().take(MAX - 1).collect();
        cut.push('…');
        cut
    } else {
        text.to_owned()
    }
}

fn vendor_severity(v: Option<&Vulnerability>, urgency: Option<&str>) -> Option<String> {
    // The tracker's `not yet assigned` is the absence of a rating.
    if let Some(u) = urgency.filter(|u| !u.is_empty() && !u.starts_with("not yet")) {
        return Some(u.to_owned());
    }
    v?.advisories.iter().find_map(|a| {
        a.database_specific
            .as_ref()?
            .get("severity")?
            .as_str()
            .map(str::to_owned)
    })
}

/// Compares two fixed versions in a scheme, falling back to text order.
fn cmp_versions(scheme: Option<Scheme>, a: &str, b: &str) -> Ordering {
    if let Some(s) = scheme
        && let (Ok(x), Ok(y)) = (Version::parse(s, a), Version::parse(s, b))
    {
        return x.cmp(&y);
    }
    a.cmp(b)
}

struct Group<'a> {
    key: String,
    vuln: &'a vigia_match::Finding,
    packages: Vec<&'a InvPackage>,
}

/// Builds findings: one per (vulnerability, package group) with the database's
/// scores, KEV and EPSS.
#[must_use]
pub fn build<S: std::hash::BuildHasher>(
    inv: &Inventory,
    matched: &[Matched],
    vulns: &HashMap<String, Vulnerability, S>,
    ctx: &Context,
) -> Report {
    let mut groups: BTreeMap<(String, String), Group<'_>> = BTreeMap::new();
    for m in matched {
        let p = &inv.packages[m.package];
        let key = group_key(p, &m.ecosystem);
        for f in &m.result.findings {
            let g = groups
                .entry((f.vulnerability_id.clone(), key.clone()))
                .or_insert_with(|| Group {
                    key: key.clone(),
                    vuln: f,
                    packages: Vec::new(),
                });
            if !g
                .packages
                .iter()
                .any(|q| q.name == p.name && q.version == p.version && q.path == p.path)
            {
                g.packages.push(p);
            }
        }
    }
    let mut findings: Vec<Finding> = groups
        .into_values()
        .map(|g| finding(&g, vulns.get(&g.vuln.vulnerability_id), ctx))
        .collect();
    sort_findings(&mut findings);
    let mut coverage: BTreeMap<(String, Option<String>), EcosystemCoverage> = BTreeMap::new();
    for m in matched {
        let p = &inv.packages[m.package];
        let eco = (!m.ecosystem.is_empty()).then(|| m.ecosystem.clone());
        let c = coverage
            .entry((p.kind.clone(), eco.clone()))
            .or_insert_with(|| EcosystemCoverage {
                package_type: p.kind.clone(),
                ecosystem: eco,
                packages: 0,
                covered: matches!(m.result.coverage, Coverage::Covered),
                reason: match &m.result.coverage {
                    Coverage::Covered => None,
                    Coverage::NotCovered { reason } => Some(reason.clone()),
                },
            });
        c.packages += 1;
    }
    let mut warnings: Vec<String> = inv
        .status
        .warnings
        .iter()
        .map(|w| match w.line {
            Some(l) => format!("{}:{l}: {}", w.path, w.message),
            None => format!("{}: {}", w.path, w.message),
        })
        .collect();
    for m in matched {
        for w in &m.result.warnings {
            let p = &inv.packages[m.package];
            warnings.push(format!("{} {}: {w}", p.name, p.version));
        }
    }
    let mut report = Report {
        findings,
        scan: ScanInfo {
            scanner: ctx.scanner.clone(),
            scanned_at: ctx.now.clone(),
            target: inv.target.clone(),
            resource: ctx.resource.clone(),
            os: inv.os.clone(),
            coverage: coverage.into_values().collect(),
            database: ctx.database.clone(),
            extractors: inv.status.extractors.clone(),
            warnings,
            notes: Vec::new(),
            summary: Summary::default(),
            fix_plan: Vec::new(),
            scanners: Vec::new(),
            secrets: None,
        },
    };
    report.scan.summary.packages = inv.packages.len();
    report.scan.summary.packages_not_covered = report
        .scan
        .coverage
        .iter()
        .filter(|c| !c.covered)
        .map(|c| c.packages)
        .sum();
    finish(&mut report);
    report
}

/// Most severe first, then by ID and title.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.status, a.severity, a.rule_id(), &a.title, &a.finding_arn).cmp(&(
            b.status,
            b.severity,
            b.rule_id(),
            &b.title,
            &b.finding_arn,
        ))
    });
}

fn finding(g: &Group<'_>, v: Option<&Vulnerability>, ctx: &Context) -> Finding {
    let f = g.vuln;
    let first = g.packages[0];
    let os = is_os(&first.kind);
    let matched_ids: Vec<&str> = f.advisories.iter().map(|a| a.id.as_str()).collect();
    let chosen = v.and_then(|v| choose_cvss(v, &matched_ids, os));
    let (severity, severity_source) = match (&chosen, &f.informational) {
        (_, Some(_)) => (Severity::Informational, "informational"),
        (Some(c), None) => (Severity::from_score(c.row.score), c.origin),
        (None, None) => match rating(v, &matched_ids, f.urgency.as_deref()) {
            Some((sev, origin)) => (sev, origin),
            None => (Severity::Untriaged, "none"),
        },
    };
    let primary = f
        .advisories
        .iter()
        .find(|a| !a.id.starts_with("CVE-"))
        .or(f.advisories.first());
    let primary_id = primary.map_or(f.vulnerability_id.as_str(), |a| a.id.as_str());
    let names: Vec<String> = {
        let mut n: Vec<String> = g.packages.iter().map(|p| p.name.clone()).collect();
        n.sort();
        n.dedup();
        n
    };
    let fixed = f.fixed_version.clone();
    let fix_available = match f.fix_status {
        FixStatus::Fixed if fixed.is_some() => FixAvailable::Yes,
        _ => FixAvailable::No,
    };
    let source_pkg = if os {
        first.source_name.as_deref().filter(|s| *s != first.name)
    } else {
        None
    };
    let release = ctx
        .resource
        .details
        .aws_ec2_instance
        .as_ref()
        .and_then(|h| h.platform.clone())
        .or_else(|| {
            ctx.resource
                .details
                .aws_ecr_container_image
                .as_ref()
                .and_then(|i| i.platform.clone())
        });
    let remediation_text = match (&fixed, f.fix_status) {
        (Some(fv), _) => {
            let mut notes: Vec<String> = Vec::new();
            if let Some(s) = source_pkg {
                notes.push(format!("source package {s}"));
            }
            if let Some(h) = upgrade_hint(&first.kind) {
                notes.push(h.to_owned());
            }
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join("; "))
            };
            format!("Upgrade {} to {fv} or later{notes}.", names.join(", "))
        }
        (None, FixStatus::WillNotFix) => format!(
            "The vendor does not plan to fix this in {}; no upgrade will close it. Weigh removing {} or mitigating it.",
            release.as_deref().unwrap_or("this release"),
            names.join(", ")
        ),
        (None, _) => format!(
            "No fixed version of {} is available yet. Watch this finding: Vigia re-evaluates it when a fix is published.",
            names.join(", ")
        ),
    };
    let vulnerable_packages = g
        .packages
        .iter()
        .map(|p| {
            let (epoch, version, release) = split_version(&p.kind, &p.version);
            VulnerablePackage {
                name: p.name.clone(),
                version,
                source_layer_hash: p.layer.clone(),
                epoch,
                release,
                arch: p.arch.clone(),
                package_manager: package_manager(p).map(str::to_owned),
                file_path: Some(p.path.clone()),
                fixed_in_version: fixed.clone(),
                remediation: fixed
                    .as_ref()
                    .map(|fv| format!("Upgrade {} to {fv}", p.name)),
            }
        })
        .collect();
    let mut cvss: Vec<CvssScore> = v
        .map(|v| {
            v.cvss
                .iter()
                .map(|c| CvssScore {
                    base_score: c.score,
                    scoring_vector: c.vector.clone(),
                    version: c.version.clone(),
                    source: cvss_source(c),
                })
                .collect()
        })
        .unwrap_or_default();
    cvss.dedup_by(|a, b| a.scoring_vector == b.scoring_vector && a.source == b.source);
    let mut related: Vec<String> = f
        .aliases
        .iter()
        .filter(|a| **a != f.vulnerability_id)
        .cloned()
        .collect();
    related.extend(f.related.iter().cloned());
    related.sort();
    related.dedup();
    let mut refs: Vec<String> = Vec::new();
    if let Some(v) = v {
        for a in &v.advisories {
            for r in &a.references {
                if !refs.contains(&r.url) && refs.len() < 50 {
                    refs.push(r.url.clone());
                }
            }
        }
    }
    let primary_record = v.and_then(|v| v.advisories.iter().find(|a| a.id == primary_id));
    let kev = v.and_then(|v| v.kev.first());
    let epss = v.and_then(|v| {
        v.epss
            .iter()
            .max_by(|a, b| a.score.partial_cmp(&b.score).unwrap_or(Ordering::Equal))
    });
    let score_details = chosen.as_ref().map(|c| InspectorScoreDetails {
        adjusted_cvss: CvssScoreDetails {
            score_source: cvss_source(c.row),
            cvss_source: Some(c.row.scorer.clone()),
            version: c.row.version.clone(),
            score: c.row.score,
            scoring_vector: c.row.vector.clone(),
            adjustments: Vec::new(),
        },
    });
    let packages: Vec<PackageRef> = g
        .packages
        .iter()
        .map(|p| PackageRef {
            purl: p.purl.clone(),
            version: p.version.clone(),
            path: p.path.clone(),
            kind: p.kind.clone(),
            source_name: p.source_name.clone(),
            source_version: p.source_version.clone(),
        })
        .collect();
    Finding {
        finding_arn: format!(
            "vigia:finding/{}",
            digest_id(&[&ctx.resource.id, &f.vulnerability_id, &g.key])
        ),
        aws_account_id: ACCOUNT_ID.into(),
        kind: FindingType::PackageVulnerability,
        title: format!("{} - {}", f.vulnerability_id, names.join(", ")),
        description: description(v, &matched_ids),
        remediation: Remediation {
            recommendation: Recommendation {
                text: remediation_text,
                url: Some(source_url(primary_id)),
            },
        },
        severity,
        first_observed_at: ctx.now.clone(),
        last_observed_at: ctx.now.clone(),
        updated_at: ctx.now.clone(),
        status: FindingStatus::Active,
        resources: vec![ctx.resource.clone()],
        inspector_score: chosen.as_ref().map(|c| c.row.score),
        inspector_score_details: score_details,
        package_vulnerability_details: Some(PackageVulnerabilityDetails {
            vulnerability_id: f.vulnerability_id.clone(),
            vulnerable_packages,
            source: source_name(primary_id).into(),
            cvss,
            related_vulnerabilities: related,
            source_url: Some(source_url(primary_id)),
            vendor_severity: vendor_severity(v, f.urgency.as_deref()),
            vendor_created_at: primary_record.and_then(|a| a.published.clone()),
            vendor_updated_at: primary_record.map(|a| a.modified.clone()),
            reference_urls: refs,
        }),
        code_vulnerability_details: None,
        fix_available: Some(fix_available),
        exploit_available: Some(if kev.is_some() {
            ExploitAvailable::Yes
        } else {
            ExploitAvailable::No
        }),
        exploitability_details: kev.map(|k| ExploitabilityDetails {
            last_known_exploit_at: Some(format!("{}T00:00:00Z", k.date_added)),
        }),
        epss: epss.map(|e| EpssDetails { score: e.score }),
        vigia: VigiaDetails {
            fix_status: Some(
                match f.fix_status {
                    FixStatus::Fixed => "fixed",
                    FixStatus::NotFixed => "not_fixed",
                    FixStatus::WillNotFix => "will_not_fix",
                }
                .into(),
            ),
            alias_group: f.aliases.clone(),
            matched: f
                .advisories
                .iter()
                .map(|a| MatchedRecord {
                    id: a.id.clone(),
                    source: a.source.clone(),
                    ecosystem: a.ecosystem.clone(),
                    package: a.package.clone(),
                    matched_range: a.matched.clone(),
                    fixed: a.fixed.clone(),
                })
                .collect(),
            reason: Some(f.reason.clone()),
            packages,
            severity_source: Some(severity_source.into()),
            epss_percentile: epss.map(|e| e.percentile),
            kev: kev.map(|k| {
                serde_json::json!({
                    "dateAdded": k.date_added,
                    "dueDate": k.due_date,
                    "knownRansomwareCampaignUse": k.known_ransomware_campaign_use,
                    "requiredAction": k.required_action,
                })
            }),
            informational: f.informational.clone(),
            suppression: None,
            secret: None,
        },
    }
}

/// Keeps only findings of these severities and, with `ignore_unfixed`, those
/// with a fix (code and network findings have no fix and are kept).
pub fn filter(report: &mut Report, severities: &[Severity], ignore_unfixed: bool) {
    report.findings.retain(|f| {
        (severities.is_empty() || severities.contains(&f.severity))
            && (!ignore_unfixed || f.package_vulnerability_details.is_none() || f.has_fix())
    });
    finish(report);
}

/// Recomputes the summary and the fix plan from the findings.
pub fn finish(report: &mut Report) {
    let s = &mut report.scan.summary;
    s.total = 0;
    s.by_severity.clear();
    s.suppressed = 0;
    s.fixable = 0;
    s.known_exploited = 0;
    for f in &report.findings {
        if f.status == FindingStatus::Suppressed {
            s.suppressed += 1;
            continue;
        }
        s.total += 1;
        *s.by_severity.entry(f.severity).or_default() += 1;
        if f.has_fix() {
            s.fixable += 1;
        }
        if f.exploit_available == Some(ExploitAvailable::Yes) {
            s.known_exploited += 1;
        }
    }
    report.scan.fix_plan = fix_plan(&report.findings);
}

/// Findings grouped by the upgrade that closes them, best first.
#[must_use]
pub fn fix_plan(findings: &[Finding]) -> Vec<FixStep> {
    struct Acc {
        step: FixStep,
        scheme: Option<Scheme>,
    }
    let mut by_pkg: BTreeMap<String, Acc> = BTreeMap::new();
    for f in findings {
        if f.status == FindingStatus::Suppressed {
            continue;
        }
        let Some(d) = &f.package_vulnerability_details else {
            continue;
        };
        let (Some(first), Some(pref)) = (d.vulnerable_packages.first(), f.vigia.packages.first())
        else {
            continue;
        };
        let kind = pref.kind.clone();
        let eco = f
            .vigia
            .matched
            .first()
            .map(|m| m.ecosystem.clone())
            .unwrap_or_default();
        let mut names: Vec<String> = d
            .vulnerable_packages
            .iter()
            .map(|p| p.name.clone())
            .collect();
        names.sort();
        names.dedup();
        let installed = pref.version.clone();
        let key = format!("{kind}|{}|{installed}", names.join(","));
        let acc = by_pkg.entry(key).or_insert_with(|| Acc {
            step: FixStep {
                packages: names,
                package_type: kind.clone(),
                installed,
                fixed: String::new(),
                closes: 0,
                by_severity: BTreeMap::new(),
                vulnerabilities: Vec::new(),
                remaining: 0,
                paths: Vec::new(),
            },
            scheme: Scheme::for_ecosystem(&eco),
        });
        for p in &d.vulnerable_packages {
            if let Some(path) = &p.file_path
                && !acc.step.paths.contains(path)
            {
                acc.step.paths.push(path.clone());
            }
        }
        match &first.fixed_in_version {
            Some(fv) => {
                acc.step.closes += 1;
                *acc.step.by_severity.entry(f.severity).or_default() += 1;
                acc.step.vulnerabilities.push(d.vulnerability_id.clone());
                if acc.step.fixed.is_empty()
                    || cmp_versions(acc.scheme, fv, &acc.step.fixed) == Ordering::Greater
                {
                    acc.step.fixed.clone_from(fv);
                }
            }
            None => acc.step.remaining += 1,
        }
    }
    let mut steps: Vec<FixStep> = by_pkg
        .into_values()
        .map(|a| a.step)
        .filter(|s| s.closes > 0)
        .collect();
    let weight = |s: &FixStep| -> Vec<usize> {
        Severity::ALL
            .iter()
            .map(|sev| s.by_severity.get(sev).copied().unwrap_or(0))
            .collect()
    };
    steps.sort_by(|a, b| {
        weight(b)
            .cmp(&weight(a))
            .then(b.closes.cmp(&a.closes))
            .then(a.packages.cmp(&b.packages))
    });
    for s in &mut steps {
        s.vulnerabilities.sort();
        s.paths.sort();
    }
    steps
}

/// A platform label from an OS: `DEBIAN_12`, `ALPINE_3_18_9`.
#[must_use]
pub fn platform_label(os: &OsInfo) -> String {
    format!("{}_{}", os.id, os.version_id)
        .to_ascii_uppercase()
        .replace(['.', '-', ' '], "_")
}

/// The remediation for every hardcoded credential.
pub const SECRET_REMEDIATION: &str = "Treat this credential as compromised: revoke or rotate it now, since anyone who can read this resource (or any copy of it) can use it. Then remove it from the code and its history, and load it at run time from a secrets manager (AWS Secrets Manager, HashiCorp Vault) or an environment variable.";

/// Findings for hardcoded secrets: Inspector's `CODE_VULNERABILITY` shape, CWE-798.
#[must_use]
pub fn secret_findings(report: &vigia_secrets::Report, ctx: &Context) -> Vec<Finding> {
    report
        .secrets
        .iter()
        .map(|s| {
            let file_name = s.path.rsplit('/').next().unwrap_or(&s.path).to_owned();
            let lines = if s.start_line == s.end_line {
                format!("line {}", s.start_line)
            } else {
                format!("lines {}-{}", s.start_line, s.end_line)
            };
            let layer_note = match (&s.layer_index, &s.hidden) {
                (Some(i), Some(h)) => format!(
                    " It is in image layer {} ({}), and a later layer {} it, but the layer still holds it: anyone who pulls the image can read it.",
                    i + 1,
                    s.layer.as_deref().unwrap_or_default(),
                    match h {
                        vigia_secrets::Hidden::Deleted => "deleted",
                        vigia_secrets::Hidden::Overwritten => "overwrote",
                        vigia_secrets::Hidden::Opaque => "hid",
                    }
                ),
                (Some(i), None) => format!(
                    " It is in image layer {} ({}).",
                    i + 1,
                    s.layer.as_deref().unwrap_or_default()
                ),
                _ => String::new(),
            };
            let paired = s
                .paired_line
                .map(|l| format!(" It pairs with the AWS key on line {l}."))
                .unwrap_or_default();
            let severity = Severity::parse(&s.severity).unwrap_or(Severity::High);
            Finding {
                finding_arn: format!(
                    "vigia:finding/{}",
                    digest_id(&[&ctx.resource.id, &s.rule_id, &s.path, &s.sha256])
                ),
                aws_account_id: ACCOUNT_ID.into(),
                kind: FindingType::CodeVulnerability,
                title: format!("Hardcoded {} in {}", s.title, s.path),
                description: format!(
                    "A {} ({}…, {} characters) is hardcoded in {} ({lines}).{layer_note}{paired}",
                    s.title, s.prefix, s.length, s.path
                ),
                remediation: Remediation {
                    recommendation: Recommendation {
                        text: SECRET_REMEDIATION.into(),
                        url: Some("https://cwe.mitre.org/data/definitions/798.html".into()),
                    },
                },
                severity,
                first_observed_at: ctx.now.clone(),
                last_observed_at: ctx.now.clone(),
                updated_at: ctx.now.clone(),
                status: FindingStatus::Active,
                resources: vec![ctx.resource.clone()],
                inspector_score: None,
                inspector_score_details: None,
                package_vulnerability_details: None,
                code_vulnerability_details: Some(CodeVulnerabilityDetails {
                    file_path: CodeFilePath {
                        file_name,
                        file_path: s.path.clone(),
                        start_line: s.start_line,
                        end_line: s.end_line,
                    },
                    detector_tags: s.tags.clone(),
                    reference_urls: vec!["https://cwe.mitre.org/data/definitions/798.html".into()],
                    rule_id: Some(s.rule_id.clone()),
                    detector_id: format!("vigia/secrets/{}", s.rule_id),
                    detector_name: s.title.clone(),
                    cwes: vec!["CWE-798".into()],
                }),
                fix_available: None,
                exploit_available: None,
                exploitability_details: None,
                epss: None,
                vigia: VigiaDetails {
                    secret: Some(serde_json::json!({
                        "sha256": s.sha256,
                        "redacted": format!("{}…", s.prefix),
                        "length": s.length,
                        "layer": s.layer,
                        "layerIndex": s.layer_index,
                        "visibleInFinalFilesystem": s.hidden.is_none(),
                        "hiddenBy": s.hidden,
                        "pairedLine": s.paired_line,
                    })),
                    ..VigiaDetails::default()
                },
            }
        })
        .collect()
}

/// Splits an image reference into (registry, repository, tag):
/// `127.0.0.1:5000/team/app:1.0` → (`127.0.0.1:5000`, `team/app`, `1.0`);
/// `vigia/app:latest` → (`None`, `vigia/app`, `latest`).
#[must_use]
pub fn split_reference(reference: &str) -> (Option<String>, String, Option<String>) {
    let reference = reference.split('@').next().unwrap_or(reference);
    let (registry, rest) = match reference.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first.to_owned()), rest)
        }
        _ => (None, reference),
    };
    // A tag follows the last `:` after the last `/`.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[last_slash..].rfind(':') {
        Some(i) => {
            let at = last_slash + i;
            (
                registry,
                rest[..at].to_owned(),
                Some(rest[at + 1..].to_owned()),
            )
        }
        None => (registry, rest.to_owned(), None),
    }
}

/// What [`resource_for`] needs to know beyond the inventory.
#[derive(Debug, Clone, Default)]
pub struct ResourceHints {
    /// The registry reference the image was pulled by.
    pub reference: Option<String>,
    /// A stable local name for the target (its canonical path).
    pub canonical: String,
    /// Base64 SHA-256 of a function zip.
    pub code_sha256: Option<String>,
}

/// The Inspector resource for an inventory scanned as `kind`.
#[must_use]
pub fn resource_for(kind: TargetKind, inv: &Inventory, hints: &ResourceHints) -> Resource {
    let platform = inv.os.as_ref().map(platform_label);
    let file_name = hints
        .canonical
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("/")
        .to_owned();
    let image = inv.image.as_ref();
    let mut details = ResourceDetails::default();
    let (rtype, id) = match (kind, image) {
        (TargetKind::Image, _) | (TargetKind::Sbom, Some(_)) => {
            let named = hints
                .reference
                .clone()
                .or_else(|| image.and_then(|i| i.tags.first().cloned()));
            let (registry, repository, tag) = match &named {
                Some(n) => split_reference(n),
                None => (None, file_name.clone(), None),
            };
            let hash = image
                .and_then(|i| {
                    i.manifest_digest
                        .clone()
                        .or_else(|| i.config_digest.clone())
                })
                .unwrap_or_default();
            let registry = registry.unwrap_or_else(|| "local".into());
            let mut tags: Vec<String> = tag.into_iter().collect();
            if let Some(i) = image {
                for t in &i.tags {
                    if let (_, _, Some(tag)) = split_reference(t)
                        && !tags.contains(&tag)
                    {
                        tags.push(tag);
                    }
                }
            }
            details.aws_ecr_container_image = Some(ContainerImageDetails {
                repository_name: repository.clone(),
                image_tags: tags,
                architecture: image
                    .and_then(|i| i.platform.as_deref())
                    .and_then(|p| p.split('/').nth(1))
                    .map(str::to_owned),
                image_hash: hash.clone(),
                registry: registry.clone(),
                platform: platform.clone(),
            });
            (
                ResourceType::AwsEcrContainerImage,
                format!("{registry}/{repository}@{hash}"),
            )
        }
        (TargetKind::Host, _) => {
            details.aws_ec2_instance = Some(HostDetails {
                platform: platform.clone(),
            });
            (ResourceType::AwsEc2Instance, hints.canonical.clone())
        }
        (TargetKind::Function, _) => {
            let has = |t: &str| inv.packages.iter().any(|p| p.kind == t);
            let runtime = if has("npm") && !has("pypi") {
                "NODEJS"
            } else {
                "UNSUPPORTED"
            };
            let name = file_name
                .strip_suffix(".zip")
                .unwrap_or(&file_name)
                .to_owned();
            details.aws_lambda_function = Some(FunctionDetails {
                function_name: name,
                runtime: runtime.into(),
                code_sha256: hints
                    .code_sha256
                    .clone()
                    .unwrap_or_else(|| "unknown".into()),
                version: "$LATEST".into(),
                execution_role_arn: "unknown".into(),
                package_type: Some("ZIP".into()),
            });
            (ResourceType::AwsLambdaFunction, hints.canonical.clone())
        }
        (TargetKind::Dir | TargetKind::Sbom, _) => {
            details.code_repository = Some(CodeRepositoryDetails {
                project_name: file_name,
            });
            (ResourceType::CodeRepository, hints.canonical.clone())
        }
    };
    Resource {
        kind: rtype,
        id,
        tags: BTreeMap::new(),
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_registry_repository_tag() {
        assert_eq!(
            split_reference("127.0.0.1:5000/team/app:1.0"),
            (
                Some("127.0.0.1:5000".into()),
                "team/app".into(),
                Some("1.0".into())
            )
        );
        assert_eq!(
            split_reference("vigia/debian12-app:latest"),
            (None, "vigia/debian12-app".into(), Some("latest".into()))
        );
        assert_eq!(
            split_reference("localhost/app@sha256:abc"),
            (Some("localhost".into()), "app".into(), None)
        );
        assert_eq!(split_reference("alpine"), (None, "alpine".into(), None));
    }

    #[test]
    fn versions_split_like_inspector() {
        assert_eq!(
            split_version("deb", "1:1.2.13.dfsg-1"),
            (Some(1), "1.2.13.dfsg".into(), Some("1".into()))
        );
        assert_eq!(
            split_version("deb", "2.36-9+deb12u14"),
            (Some(0), "2.36".into(), Some("9+deb12u14".into()))
        );
        assert_eq!(
            split_version("rpm", "2.34-100.el9"),
            (Some(0), "2.34".into(), Some("100.el9".into()))
        );
        assert_eq!(split_version("pypi", "1.0-1"), (None, "1.0-1".into(), None));
        assert_eq!(split_version("deb", "5.2"), (Some(0), "5.2".into(), None));
    }

    #[test]
    fn sources_and_urls() {
        assert_eq!(source_name("GHSA-xxxx-yyyy-zzzz"), "GITHUB");
        assert_eq!(source_name("DEBIAN-CVE-2023-1234"), "DEBIAN_CVE");
        assert_eq!(
            source_url("DEBIAN-CVE-2023-1234"),
            "https://security-tracker.debian.org/tracker/CVE-2023-1234"
        );
        assert_eq!(
            source_url("RUSTSEC-2020-0071"),
            "https://rustsec.org/advisories/RUSTSEC-2020-0071.html"
        );
        assert_eq!(
            source_url("PYSEC-2021-1"),
            "https://osv.dev/vulnerability/PYSEC-2021-1"
        );
    }

    #[test]
    fn severity_names_round_trip() {
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
            assert_eq!(Severity::parse(&s.title().to_lowercase()), Some(s));
        }
        assert_eq!(Severity::parse("severe"), None);
        assert_eq!(Severity::from_score(9.8), Severity::Critical);
        assert_eq!(Severity::from_score(0.0), Severity::Informational);
    }
}
