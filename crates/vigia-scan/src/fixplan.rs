//! The fix plan: findings grouped by the upgrade that closes them.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vigia_version::{Scheme, Version};

use crate::{Finding, FindingStatus, Severity};

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

/// Compares two fixed versions in a scheme, falling back to text order.
fn cmp_versions(scheme: Option<Scheme>, a: &str, b: &str) -> Ordering {
    if let Some(s) = scheme
        && let (Ok(x), Ok(y)) = (Version::parse(s, a), Version::parse(s, b))
    {
        return x.cmp(&y);
    }
    a.cmp(b)
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
