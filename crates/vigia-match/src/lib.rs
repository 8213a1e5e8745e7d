//! Vigia's matcher: which advisories affect a package, and why.
//!
//! [`Index`] is built once from what the store reads ([`Index::build`]); [`Index::matches`]
//! then answers per package in memory. OSV semantics in full: `versions` lists,
//! `ECOSYSTEM` and `SEMVER` ranges with `introduced` / `fixed` /
//! `last_affected` (`limit` and `GIT` ranges do not apply to package versions),
//! several ranges and entries per record, withdrawn records ignored. Results are
//! one [`Finding`] per (package, vulnerability group).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use vigia_model::advisory::{AffectedRow, MatchData};
use vigia_model::normalize_name;
use vigia_model::osv::{Event, RangeType, embedded_cve};
use vigia_version::{Scheme, Version};

/// A package to match.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Package {
    /// The OSV ecosystem, with the release for OS packages (`Debian:12`,
    /// `Alpine:v3.20`, `PyPI`).
    pub ecosystem: String,
    /// The package name (a binary package for OS packages).
    pub name: String,
    /// The installed version.
    pub version: String,
    /// The source package, for OS packages (dpkg `Source:`, apk origin, source rpm).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// The source package's own version when it differs (dpkg `Source: name (version)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
}

impl Package {
    /// The name advisories are looked up by: the source package for OS packages.
    #[must_use]
    pub fn lookup_name(&self) -> &str {
        self.source_name
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.name)
    }

    /// The version compared with the advisories' ranges.
    #[must_use]
    pub fn lookup_version(&self) -> &str {
        self.source_version
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.version)
    }
}

/// Whether a fix exists.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum FixStatus {
    /// A fixed version exists above the installed one.
    Fixed,
    /// No fixed version is known yet.
    NotFixed,
    /// The vendor does not intend to fix it in this release (Debian `unimportant`).
    WillNotFix,
}

/// One advisory record that matched, and how.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MatchedAdvisory {
    /// The record's ID.
    pub id: String,
    /// The feed file it came from.
    pub source: String,
    /// The affected entry's ecosystem and package name.
    pub ecosystem: String,
    /// The package name in the record.
    pub package: String,
    /// The range or list that matched, in words (`introduced 0, fixed 2.2.5`).
    pub matched: String,
    /// The lowest fix above the installed version that this record gives.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
}

/// One vulnerability affecting one package.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Finding {
    /// The vulnerability group's preferred ID (the CVE when there is one).
    pub vulnerability_id: String,
    /// Every ID of the group.
    pub aliases: Vec<String>,
    /// The records that matched.
    pub advisories: Vec<MatchedAdvisory>,
    /// Other records that fix or name this vulnerability (a DSA covering several CVEs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    /// The version that closes it for this package: the highest of the matched
    /// records' lowest fixes, so that every source agrees it is closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_version: Option<String>,
    /// Fix status.
    pub fix_status: FixStatus,
    /// The vendor's urgency (Debian `unimportant`, `low`, …), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urgency: Option<String>,
    /// RustSec's informational kind (`unmaintained`, `unsound`, `notice`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub informational: Option<String>,
    /// Why it matched, in one sentence.
    pub reason: String,
}

/// Whether Vigia could match a package at all.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Coverage {
    /// Matched against the database.
    Covered,
    /// Not matched: no findings here mean nothing.
    NotCovered {
        /// Why.
        reason: String,
    },
    /// Its ecosystem is covered, but this package's installed version is not
    /// one its scheme can order: it was not compared with any range.
    NotEvaluated {
        /// Why (the scheme's own parse error).
        reason: String,
    },
}

/// The answer for one package.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PackageResult {
    /// The package.
    pub package: Package,
    /// Whether it could be matched.
    pub coverage: Coverage,
    /// Its findings, by vulnerability ID.
    pub findings: Vec<Finding>,
    /// Ranges that could not be evaluated (unparseable versions in a record).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// An event with its version parsed once.
#[derive(Debug, Clone)]
struct PEvent {
    kind: EventKind,
    raw: String,
    version: Option<Version>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventKind {
    Introduced,
    Fixed,
    LastAffected,
}

#[derive(Debug, Clone)]
struct PRange {
    scheme: Scheme,
    /// Sorted by version, `introduced: 0` first.
    events: Vec<PEvent>,
    /// A record version this scheme could not parse: the range cannot be decided.
    broken: Option<String>,
}

#[derive(Debug, Clone)]
struct Entry {
    advisory_id: String,
    source: String,
    ecosystem: String,
    package: String,
    ranges: Vec<PRange>,
    versions: Vec<String>,
    urgency: Option<String>,
    informational: Option<String>,
}

/// The in-memory match index.
#[derive(Debug, Default)]
pub struct Index {
    generation: u64,
    by_package: HashMap<(String, String), Vec<Entry>>,
    by_advisory: HashMap<String, BTreeSet<(String, String)>>,
    groups: HashMap<String, String>,
    members: HashMap<String, Vec<String>>,
    upstream: HashMap<String, Vec<String>>,
    ecosystems: BTreeSet<String>,
}

fn prepare_events(scheme: Scheme, events: &[Event]) -> (Vec<PEvent>, Option<String>) {
    let mut out = Vec::new();
    let mut broken = None;
    for e in events {
        let (kind, raw) = if let Some(v) = &e.introduced {
            (EventKind::Introduced, v)
        } else if let Some(v) = &e.fixed {
            (EventKind::Fixed, v)
        } else if let Some(v) = &e.last_affected {
            (EventKind::LastAffected, v)
        } else {
            continue; // `limit` only bounds git commit ranges
        };
        let version = if kind == EventKind::Introduced && raw == "0" {
            None
        } else {
            match Version::parse_bound(scheme, raw) {
                Ok(v) => Some(v),
                Err(e) => {
                    broken = Some(e.to_string());
                    None
                }
            }
        };
        out.push(PEvent {
            kind,
            raw: raw.clone(),
            version,
        });
    }
    // `introduced: 0` sorts first; then by version.
    out.sort_by(|a, b| match (&a.version, &b.version) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(y),
    });
    (out, broken)
}

impl Index {
    /// Builds the index from what the store read in one consistent state.
    #[must_use]
    pub fn build(data: MatchData) -> Self {
        let mut index = Self {
            generation: data.generation,
            ..Self::default()
        };
        for (m, g) in data.groups {
            index.members.entry(g.clone()).or_default().push(m.clone());
            index.groups.insert(m, g);
        }
        for v in index.members.values_mut() {
            v.sort();
        }
        for (adv, up) in data.upstream {
            index.upstream.entry(adv).or_default().push(up);
        }
        for row in data.affected {
            index.add(row);
        }
        index
    }

    /// The generation of the advisory database this index was built from.
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn add(&mut self, row: AffectedRow) {
        let Some(eco_scheme) = Scheme::for_ecosystem(&row.ecosystem) else {
            self.ecosystems.insert(row.ecosystem.clone());
            return;
        };
        let mut ranges = Vec::new();
        for r in &row.ranges {
            let scheme = match r.kind {
                RangeType::Ecosystem => eco_scheme,
                RangeType::Semver => {
                    if eco_scheme == Scheme::Go {
                        Scheme::Go
                    } else {
                        Scheme::Semver
                    }
                }
                RangeType::Git | RangeType::Unknown => continue,
            };
            let (events, broken) = prepare_events(scheme, &r.events);
            ranges.push(PRange {
                scheme,
                events,
                broken,
            });
        }
        let urgency = row
            .ecosystem_specific
            .as_ref()
            .and_then(|e| e.get("urgency"))
            .and_then(|u| u.as_str())
            .map(str::to_owned);
        let informational = row
            .database_specific
            .as_ref()
            .and_then(|d| d.get("informational"))
            .and_then(|u| u.as_str())
            .map(str::to_owned);
        let key = (
            row.ecosystem.clone(),
            normalize_name(&row.ecosystem, &row.name),
        );
        self.ecosystems.insert(row.ecosystem.clone());
        self.by_advisory
            .entry(row.advisory_id.clone())
            .or_default()
            .insert(key.clone());
        self.by_package.entry(key).or_default().push(Entry {
            advisory_id: row.advisory_id,
            source: row.source,
            ecosystem: row.ecosystem,
            package: row.name,
            ranges,
            versions: row.versions,
            urgency,
            informational,
        });
    }

    /// Number of prepared affected entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_package.values().map(Vec::len).sum()
    }

    /// Whether the index is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.by_package.is_empty()
    }

    /// The (ecosystem, normalised name) keys an advisory names: the packages to
    /// re-evaluate when it changes.
    #[must_use]
    pub fn packages_named_by(&self, advisory_id: &str) -> Vec<(String, String)> {
        self.by_advisory
            .get(advisory_id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The ecosystems (with releases) the database has advisories for.
    #[must_use]
    pub fn ecosystems(&self) -> &BTreeSet<String> {
        &self.ecosystems
    }

    fn group_of<'a>(&'a self, id: &'a str) -> &'a str {
        self.groups.get(id).map_or(id, String::as_str)
    }

    /// Whether Vigia can match packages of `ecosystem` with this database.
    #[must_use]
    pub fn coverage(&self, ecosystem: &str) -> Coverage {
        if Scheme::for_ecosystem(ecosystem).is_none() {
            return Coverage::NotCovered {
                reason: format!("Vigia has no version scheme for the {ecosystem} ecosystem"),
            };
        }
        if self.ecosystems.contains(ecosystem) {
            return Coverage::Covered;
        }
        let base = ecosystem.split_once(':').map_or(ecosystem, |(b, _)| b);
        let releases: Vec<&str> = self
            .ecosystems
            .iter()
            .filter(|e| e.split_once(':').is_some_and(|(b, _)| b == base))
            .map(String::as_str)
            .collect();
        if ecosystem.contains(':') {
            let known = if releases.is_empty() {
                "none".to_owned()
            } else {
                releases.join(", ")
            };
            Coverage::NotCovered {
                reason: format!(
                    "the database has no advisories for {ecosystem} (releases it has for {base}: {known})"
                ),
            }
        } else {
            Coverage::NotCovered {
                reason: format!(
                    "the database has no {ecosystem} advisories: run `vigia db update` with that ecosystem"
                ),
            }
        }
    }

    /// Matches one package.
    #[must_use]
    pub fn matches(&self, pkg: &Package) -> PackageResult {
        let coverage = self.coverage(&pkg.ecosystem);
        let mut result = PackageResult {
            package: pkg.clone(),
            coverage,
            findings: Vec::new(),
            warnings: Vec::new(),
        };
        if result.coverage != Coverage::Covered {
            return result;
        }
        let scheme =
            Scheme::for_ecosystem(&pkg.ecosystem).expect("covered ecosystems have a scheme");
        let raw_version = pkg.lookup_version();
        let installed = match Version::parse(scheme, raw_version) {
            Ok(v) => v,
            Err(e) => {
                result.coverage = Coverage::NotEvaluated {
                    reason: format!("cannot compare the installed version: {e}"),
                };
                return result;
            }
        };
        // SEMVER ranges compare in SemVer; keep the installed version in that scheme too.
        let installed_semver =
            Version::parse(Scheme::Semver, raw_version.trim_start_matches("go")).ok();
        let key = (
            pkg.ecosystem.clone(),
            normalize_name(&pkg.ecosystem, pkg.lookup_name()),
        );
        let Some(entries) = self.by_package.get(&key) else {
            return result;
        };

        // group id -> matched advisories, urgency, informational
        let mut by_group: BTreeMap<String, Vec<(&Entry, MatchedAdvisory)>> = BTreeMap::new();
        for entry in entries {
            match entry_matches(entry, &installed, installed_semver.as_ref(), raw_version) {
                Ok(Some(m)) => by_group
                    .entry(self.group_of(&entry.advisory_id).to_owned())
                    .or_default()
                    .push((entry, m)),
                Ok(None) => {}
                Err(w) => result
                    .warnings
                    .push(format!("{} ({}): {w}", entry.advisory_id, entry.ecosystem)),
            }
        }
        // A record that names other vulnerabilities upstream (a DSA fixing several
        // CVEs) is reported as those CVEs, never as a finding of its own beside
        // them: folded into each CVE's finding that matched on its own record,
        // and the finding of each CVE that has no record of this package at all
        // (the DSA is all the data says of it here). A CVE whose own record of
        // this package does not match is not reported: its record is the more
        // precise. Only when none of its CVEs is reported does the record stand
        // as its own finding.
        let matched_groups: BTreeSet<String> = by_group.keys().cloned().collect();
        let recorded: BTreeSet<&str> = entries
            .iter()
            .map(|e| self.group_of(&e.advisory_id))
            .collect();
        let mut folded: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut spoken: BTreeMap<String, Vec<(&Entry, MatchedAdvisory)>> = BTreeMap::new();
        let mut drop_groups = Vec::new();
        for (gid, matched) in &by_group {
            let ups: Vec<&str> = matched
                .iter()
                .flat_map(|(e, _)| self.upstream.get(&e.advisory_id).into_iter().flatten())
                .map(String::as_str)
                .filter(|u| embedded_cve(u) == Some(*u))
                .collect();
            if ups.is_empty() || embedded_cve(gid).is_some() {
                continue;
            }
            let targets: BTreeSet<&str> = ups.iter().map(|u| self.group_of(u)).collect();
            let reported: Vec<&str> = targets
                .iter()
                .copied()
                .filter(|t| matched_groups.contains(*t) || !recorded.contains(t))
                .collect();
            if reported.is_empty() {
                continue;
            }
            for t in reported {
                folded.entry(t.to_owned()).or_default().push(gid.clone());
                if !matched_groups.contains(t) {
                    spoken
                        .entry(t.to_owned())
                        .or_default()
                        .extend(matched.iter().cloned());
                }
            }
            drop_groups.push(gid.clone());
        }
        for (t, matched) in spoken {
            by_group.entry(t).or_default().extend(matched);
        }
        for (gid, matched) in by_group {
            if drop_groups.contains(&gid) {
                continue;
            }
            let fixed_version = matched
                .iter()
                .filter_map(|(_, m)| {
                    m.fixed
                        .as_deref()
                        .and_then(|f| Version::parse(scheme, f).ok().map(|v| (v, f)))
                })
                .max_by(|a, b| a.0.cmp(&b.0))
                .map(|(_, f)| f.to_owned());
            let urgency = matched.iter().find_map(|(e, _)| e.urgency.clone());
            let informational = matched.iter().find_map(|(e, _)| e.informational.clone());
            let fix_status = if fixed_version.is_some() {
                FixStatus::Fixed
            } else if urgency.as_deref() == Some("unimportant") {
                FixStatus::WillNotFix
            } else {
                FixStatus::NotFixed
            };
            let first = &matched[0].1;
            let via = if pkg.source_name.as_deref().is_some_and(|s| s != pkg.name) {
                format!(" (source package of {})", pkg.name)
            } else {
                String::new()
            };
            let reason = format!(
                "{} {}{via} is affected by {} for {}: {}",
                pkg.lookup_name(),
                raw_version,
                first.id,
                first.ecosystem,
                first.matched
            );
            let mut related = folded.remove(&gid).unwrap_or_default();
            related.sort();
            related.dedup();
            let mut advisories: Vec<MatchedAdvisory> =
                matched.into_iter().map(|(_, m)| m).collect();
            advisories.sort_by(|a, b| a.id.cmp(&b.id));
            advisories.dedup_by(|a, b| a.id == b.id && a.matched == b.matched);
            result.findings.push(Finding {
                aliases: self
                    .members
                    .get(&gid)
                    .cloned()
                    .unwrap_or_else(|| vec![gid.clone()]),
                vulnerability_id: gid,
                advisories,
                related,
                fixed_version,
                fix_status,
                urgency,
                informational,
                reason,
            });
        }
        result
    }
}

fn describe(events: &[PEvent]) -> String {
    events
        .iter()
        .map(|e| match e.kind {
            EventKind::Introduced => format!("introduced {}", e.raw),
            EventKind::Fixed => format!("fixed {}", e.raw),
            EventKind::LastAffected => format!("last affected {}", e.raw),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `installed` falls in the range, per the OSV specification's
/// evaluation: walk the events in version order, entering at `introduced`,
/// leaving at `fixed` (inclusive) or after `last_affected`.
fn in_range(range: &PRange, installed: &Version) -> bool {
    let mut affected = false;
    for e in &range.events {
        match (e.kind, &e.version) {
            (EventKind::Introduced, None) => affected = true,
            (EventKind::Introduced, Some(v)) => {
                if installed >= v {
                    affected = true;
                }
            }
            (EventKind::Fixed, Some(v)) => {
                if installed >= v {
                    affected = false;
                }
            }
            (EventKind::LastAffected, Some(v)) => {
                if installed > v {
                    affected = false;
                }
            }
            (_, None) => {}
        }
    }
    affected
}

/// The lowest `fixed` of the range above the installed version.
fn next_fix<'a>(range: &'a PRange, installed: &Version) -> Option<&'a str> {
    range
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Fixed)
        .filter(|e| e.version.as_ref().is_some_and(|v| v > installed))
        .map(|e| e.raw.as_str())
        .next()
}

fn entry_matches(
    entry: &Entry,
    installed: &Version,
    installed_semver: Option<&Version>,
    raw: &str,
) -> Result<Option<MatchedAdvisory>, String> {
    let base = |matched: String, fixed: Option<&str>| MatchedAdvisory {
        id: entry.advisory_id.clone(),
        source: entry.source.clone(),
        ecosystem: entry.ecosystem.clone(),
        package: entry.package.clone(),
        matched,
        fixed: fixed.map(str::to_owned),
    };
    let mut broken = None;
    for range in &entry.ranges {
        let v = if range.scheme == installed.scheme() {
            installed
        } else if let Some(s) = installed_semver.filter(|s| s.scheme() == range.scheme) {
            s
        } else {
            broken = Some(format!(
                "installed version {raw:?} is not valid {}",
                range.scheme
            ));
            continue;
        };
        if let Some(b) = &range.broken {
            broken = Some(format!("range not evaluated: {b}"));
            continue;
        }
        if in_range(range, v) {
            return Ok(Some(base(describe(&range.events), next_fix(range, v))));
        }
    }
    if entry.versions.iter().any(|listed| {
        listed == raw || Version::parse(installed.scheme(), listed).is_ok_and(|l| &l == installed)
    }) {
        let fixed = entry
            .ranges
            .iter()
            .filter(|r| r.broken.is_none() && r.scheme == installed.scheme())
            .find_map(|r| next_fix(r, installed));
        return Ok(Some(base(
            format!("version {raw} is listed as affected"),
            fixed,
        )));
    }
    match broken {
        Some(b)
            if entry
                .ranges
                .iter()
                .all(|r| r.broken.is_some() || r.scheme != installed.scheme())
                && entry.versions.is_empty() =>
        {
            Err(b)
        }
        _ => Ok(None),
    }
}
