//! Package-vulnerability findings: an inventory matched against the
//! advisories, then one finding per vulnerability and package group.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use sha2::{Digest, Sha256};
use vigia_inventory::{Inventory, Package as InvPackage};
use vigia_match::{Coverage, FixStatus, Index, PackageResult};
use vigia_store::Vulnerability;

use crate::ecosystem::is_os;
use crate::inspector::{LAYER_ARN_PREFIX, package_manager, split_version, upgrade_hint};
use crate::severity::{choose_cvss, cvss_source, rating, vendor_severity};
use crate::{
    ACCOUNT_ID, CvssScore, CvssScoreDetails, DatabaseInfo, EcosystemCoverage, EpssDetails,
    ExploitAvailable, ExploitabilityDetails, Finding, FindingStatus, FindingType, FixAvailable,
    InspectorScoreDetails, MatchedRecord, NotEvaluated, NotScanned, PackageRef,
    PackageVulnerabilityDetails, Recommendation, Remediation, Report, Resource, ScanInfo, Severity,
    Summary, VigiaDetails, VulnerablePackage, ecosystem_of, finish, sort_findings, source_name,
    source_url,
};

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
    /// What is known about the resource's network, for the contextual score.
    pub network: Option<crate::score::NetworkContext>,
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

pub(crate) fn digest_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..16])
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
                covered: false,
                reason: None,
                not_evaluated: 0,
            });
        c.packages += 1;
        // Whether an ecosystem is covered is the ecosystem's own answer, the
        // same for each of its packages; one package's unreadable version
        // leaves the ecosystem covered and is counted apart.
        match &m.result.coverage {
            Coverage::Covered => c.covered = true,
            Coverage::NotEvaluated { .. } => {
                c.covered = true;
                c.not_evaluated += 1;
            }
            Coverage::NotCovered { reason } => {
                c.reason.get_or_insert_with(|| reason.clone());
            }
        }
    }
    for c in coverage.values_mut().filter(|c| c.covered) {
        c.reason = None;
    }
    let not_evaluated: Vec<NotEvaluated> = matched
        .iter()
        .filter_map(|m| match &m.result.coverage {
            Coverage::NotEvaluated { reason } => {
                let p = &inv.packages[m.package];
                Some(NotEvaluated {
                    package_type: p.kind.clone(),
                    ecosystem: m.ecosystem.clone(),
                    name: p.name.clone(),
                    version: p.version.clone(),
                    path: p.path.clone(),
                    reason: reason.clone(),
                })
            }
            _ => None,
        })
        .collect();
    let not_scanned: Vec<NotScanned> = inv
        .status
        .warnings
        .iter()
        .filter_map(|w| {
            w.unread.map(|kind| NotScanned {
                path: w.path.clone(),
                reason: w.message.clone(),
                kind,
            })
        })
        .collect();
    let mut warnings: Vec<String> = inv
        .status
        .warnings
        .iter()
        .filter(|w| w.unread.is_none())
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
            not_scanned,
            not_evaluated,
            skipped_paths: inv.status.skipped.clone(),
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
    report.scan.summary.packages_not_evaluated = report.scan.not_evaluated.len();
    finish(&mut report);
    report
}

/// The distribution whose own advisory `id` is (`DSA-…` and `DEBIAN-…` are
/// Debian's, `ALPINE-…` Alpine's), `None` for any other source.
fn distribution_of(id: &str) -> Option<&'static str> {
    match source_name(id) {
        "DEBIAN_CVE" | "DEBIAN_DSA" | "DEBIAN_DLA" => Some("debian"),
        "ALPINE_SECDB" => Some("alpine"),
        "UBUNTU_CVE" => Some("ubuntu"),
        "REDHAT_CVE" => Some("redhat"),
        "SUSE_CVE" => Some("suse"),
        _ => None,
    }
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
                source_layer_hash: p.layer.clone().filter(|l| !l.starts_with(LAYER_ARN_PREFIX)),
                source_lambda_layer_arn: p
                    .layer
                    .clone()
                    .filter(|l| l.starts_with(LAYER_ARN_PREFIX)),
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
    // Another distribution's advisory for the same CVE (an Alpine one in a
    // Debian package's finding) is about other packages: left out.
    let distros: Vec<&str> = matched_ids
        .iter()
        .filter_map(|id| distribution_of(id))
        .collect();
    related.retain(|id| distribution_of(id).is_none_or(|d| distros.contains(&d)));
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
    let names: Vec<&str> = g.packages.iter().map(|p| p.name.as_str()).collect();
    let evidence = crate::score::ExploitEvidence {
        kev: kev.is_some(),
        epss: epss.map(|e| e.score),
    };
    let adjusted = chosen.as_ref().and_then(|c| {
        crate::score::adjust(
            &c.row.vector,
            c.row.score,
            &names,
            evidence,
            ctx.network.as_ref(),
        )
    });
    let score_details = chosen.as_ref().map(|c| InspectorScoreDetails {
        adjusted_cvss: CvssScoreDetails {
            score_source: cvss_source(c.row),
            cvss_source: Some(c.row.scorer.clone()),
            version: c.row.version.clone(),
            score: adjusted.as_ref().map_or(c.row.score, |a| a.score),
            scoring_vector: adjusted
                .as_ref()
                .map_or_else(|| c.row.vector.clone(), |a| a.vector.clone()),
            adjustments: adjusted.map(|a| a.adjustments).unwrap_or_default(),
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
        inspector_score: score_details.as_ref().map(|d| d.adjusted_cvss.score),
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
        network_reachability_details: None,
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
