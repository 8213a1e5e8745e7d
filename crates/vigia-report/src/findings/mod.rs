//! Findings formats: table, markdown, CSV, SARIF 2.1.0, ASFF, and CycloneDX /
//! SPDX documents that carry the vulnerabilities.
//!
//! One module per format; the helpers several formats share live here.

mod asff;
mod csv;
mod cyclonedx;
mod markdown;
mod sarif;
mod spdx;
pub(crate) mod table;

pub use asff::{AsffTarget, asff, asff_finding};
// `self::`: the `csv` crate has the same name as the module.
pub use self::csv::{csv, csv_findings};
pub use cyclonedx::cyclonedx_vdr;
pub use markdown::markdown;
pub use sarif::sarif;
pub use spdx::spdx_vdr;
pub use table::table;

use vigia_scan::{Finding, Report, ScanInfo, Severity};

/// The packages of a finding: `libssl3, openssl`.
fn package_names(f: &Finding) -> String {
    match &f.package_vulnerability_details {
        Some(d) => {
            let mut n: Vec<&str> = d
                .vulnerable_packages
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            n.dedup();
            n.join(", ")
        }
        None => f
            .code_vulnerability_details
            .as_ref()
            .map(|c| c.detector_name.clone())
            .unwrap_or_default(),
    }
}

fn installed(f: &Finding) -> String {
    let mut v: Vec<&str> = f
        .vigia
        .packages
        .iter()
        .map(|p| p.version.as_str())
        .collect();
    v.dedup();
    v.join(", ")
}

fn fixed(f: &Finding) -> String {
    let fixed = f
        .package_vulnerability_details
        .as_ref()
        .and_then(|d| d.vulnerable_packages.first())
        .and_then(|p| p.fixed_in_version.clone());
    match (fixed, f.vigia.fix_status.as_deref()) {
        (Some(v), _) => v,
        (None, Some("will_not_fix")) => "will not fix".into(),
        (None, Some(_)) => "no fix yet".into(),
        (None, None) => String::new(),
    }
}

fn paths(f: &Finding) -> String {
    if let Some(c) = &f.code_vulnerability_details {
        return format!(
            "{}:{}-{}",
            c.file_path.file_path, c.file_path.start_line, c.file_path.end_line
        );
    }
    let mut p: Vec<&str> = f.vigia.packages.iter().map(|p| p.path.as_str()).collect();
    p.sort_unstable();
    p.dedup();
    p.join(", ")
}

fn kev(f: &Finding) -> &'static str {
    if f.exploit_available == Some(vigia_scan::ExploitAvailable::Yes) {
        "KEV"
    } else {
        ""
    }
}

fn epss(f: &Finding) -> String {
    f.epss
        .as_ref()
        .map(|e| format!("{:.3}", e.score))
        .unwrap_or_default()
}

fn counts_line(report: &Report) -> String {
    let s = &report.scan.summary;
    let parts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|sev| {
            s.by_severity
                .get(sev)
                .map(|n| format!("{n} {}", sev.title()))
        })
        .collect();
    let plural = if s.total == 1 { "" } else { "s" };
    let mut line = format!("{} finding{plural}", s.total);
    if !parts.is_empty() {
        line.push_str(&format!(" ({})", parts.join(", ")));
    }
    line.push_str(&format!(
        "; {} fixable; {} known exploited; {} suppressed",
        s.fixable, s.known_exploited, s.suppressed
    ));
    line
}

/// What the scan could not look at, one line each: packages of a type no
/// advisories cover, inputs that could not be read, packages whose version
/// could not be compared. Empty when the findings are the whole answer;
/// otherwise no format may let the result read as clean.
fn gaps(scan: &ScanInfo) -> Vec<String> {
    let not_covered = scan.coverage.iter().filter(|c| !c.covered).map(|c| {
        format!(
            "NOT COVERED: {} {} packages ({}): {}",
            c.packages,
            c.package_type,
            c.ecosystem.as_deref().unwrap_or("-"),
            c.reason.as_deref().unwrap_or("no advisories")
        )
    });
    let not_scanned = scan
        .not_scanned
        .iter()
        .map(|n| format!("NOT SCANNED: {}: {}", n.path, n.reason));
    let not_evaluated = scan.not_evaluated.iter().map(|n| {
        format!(
            "NOT EVALUATED: {} {} {}: {}",
            n.package_type, n.name, n.version, n.reason
        )
    });
    not_covered
        .chain(not_scanned)
        .chain(not_evaluated)
        .collect()
}
