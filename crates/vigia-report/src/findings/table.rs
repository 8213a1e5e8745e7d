//! The table for people (`--format table`).

use owo_colors::OwoColorize;
use serde_json::Value;
use vigia_scan::{Finding, FindingStatus, Report, Severity};

use super::{counts_line, epss, fixed, installed, kev, package_names, paths};

pub(crate) fn paint(color: bool, sev: Severity, text: &str) -> String {
    if !color {
        return text.to_owned();
    }
    match sev {
        Severity::Critical => text.red().bold().to_string(),
        Severity::High => text.red().to_string(),
        Severity::Medium => text.yellow().to_string(),
        Severity::Low => text.blue().to_string(),
        Severity::Informational | Severity::Untriaged => text.dimmed().to_string(),
    }
}

/// For secrets in images: the layer, and whether a later layer hides the file.
fn layer_note(f: &Finding) -> String {
    let Some(s) = &f.vigia.secret else {
        return String::new();
    };
    let Some(i) = s.get("layerIndex").and_then(Value::as_u64) else {
        return String::new();
    };
    match s.get("hiddenBy").and_then(Value::as_str) {
        Some(h) => {
            let how = match h {
                "opaque" => "hidden (opaque folder)",
                other => other,
            };
            format!(
                "  (layer {}; {how} by a later layer, still in the image)",
                i + 1
            )
        }
        None => format!("  (layer {})", i + 1),
    }
}

fn coverage_lines(report: &Report) -> Vec<String> {
    report
        .scan
        .coverage
        .iter()
        .map(|c| {
            let eco = c.ecosystem.as_deref().unwrap_or("-");
            if c.covered {
                format!(
                    "covered      {:<6} {:>5} packages  ({eco})",
                    c.package_type, c.packages
                )
            } else {
                format!(
                    "NOT COVERED  {:<6} {:>5} packages  ({eco}): {}",
                    c.package_type,
                    c.packages,
                    c.reason.as_deref().unwrap_or("")
                )
            }
        })
        .chain(
            report
                .scan
                .not_scanned
                .iter()
                .map(|n| format!("NOT SCANNED  {}: {}", n.path, n.reason)),
        )
        .collect()
}

/// A table for people: grouped by severity, with summary, coverage and fix
/// plan. Every string of the report comes from inputs, so it is drawn from a
/// copy whose strings are escaped ([`crate::printable`]).
#[must_use]
pub fn table(report: &Report, color: bool) -> String {
    crate::printable::render(report, color, table_drawn)
}

fn table_drawn(report: &Report, color: bool) -> String {
    let scan = &report.scan;
    let mut out = String::new();
    out.push_str(&format!("{} ({})\n", scan.target, scan.resource.id));
    if let Some(os) = &scan.os {
        out.push_str(&format!(
            "OS: {}\n",
            os.pretty_name.as_deref().unwrap_or(&os.id)
        ));
    }
    let vuln = scan.scanners.is_empty() || scan.scanners.iter().any(|s| s == "vuln");
    if vuln {
        out.push_str(&format!(
            "Database: updated {}{}{}\n",
            scan.database.updated_at.as_deref().unwrap_or("never"),
            if scan.database.stale {
                " (STALE: run `vigia db update`)"
            } else {
                ""
            },
            if scan.database.lacks.is_empty() {
                String::new()
            } else {
                format!(
                    " (LACKS {}: see the warnings)",
                    scan.database.lacks.join(", ").to_uppercase()
                )
            }
        ));
        out.push_str(&format!("Packages: {}\n", scan.summary.packages));
        for l in coverage_lines(report) {
            out.push_str(&format!("  {l}\n"));
        }
    } else {
        out.push_str("Vulnerabilities: not scanned (--scanners)\n");
    }
    if let Some(s) = &scan.secrets {
        #[allow(clippy::cast_precision_loss)]
        let mb = s.bytes_scanned as f64 / 1e6;
        out.push_str(&format!(
            "Secrets: {} files read ({mb:.1} MB), {}\n",
            s.files_scanned,
            if s.all_layers {
                "every layer"
            } else {
                "final filesystem"
            }
        ));
    }
    for sev in Severity::ALL {
        let rows: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity == sev && f.status != FindingStatus::Suppressed)
            .collect();
        if rows.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n{}\n",
            paint(color, sev, &format!("{} ({})", sev.as_str(), rows.len()))
        ));
        if rows
            .iter()
            .any(|f| f.package_vulnerability_details.is_some())
        {
            out.push_str(&format!(
                "  {:<20} {:<28} {:<24} {:<24} {:<3} {:<6} {}\n",
                "VULNERABILITY", "PACKAGE", "INSTALLED", "FIXED", "KEV", "EPSS", "PATH"
            ));
        }
        for f in rows {
            if let Some(n) = &f.network_reachability_details {
                let steps: Vec<&str> = n
                    .network_path
                    .steps
                    .iter()
                    .map(|s| s.component_id.as_str())
                    .collect();
                out.push_str(&format!(
                    "  {:<28} {}\n  {:<28} {}\n",
                    paint(
                        color,
                        sev,
                        &format!(
                            "{} {}-{}",
                            n.protocol, n.open_port_range.begin, n.open_port_range.end
                        )
                    ),
                    f.title,
                    "",
                    steps.join(" -> ")
                ));
                continue;
            }
            if f.code_vulnerability_details.is_some() {
                out.push_str(&format!(
                    "  {:<28} {}{}\n",
                    paint(color, sev, f.rule_id()),
                    paths(f),
                    layer_note(f)
                ));
                continue;
            }
            out.push_str(&format!(
                "  {:<20} {:<28} {:<24} {:<24} {:<3} {:<6} {}\n",
                paint(color, sev, f.rule_id()),
                package_names(f),
                installed(f),
                fixed(f),
                kev(f),
                epss(f),
                paths(f)
            ));
        }
    }
    let suppressed: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.status == FindingStatus::Suppressed)
        .collect();
    if !suppressed.is_empty() {
        out.push_str(&format!("\nSUPPRESSED ({})\n", suppressed.len()));
        for f in suppressed {
            let why = f
                .vigia
                .suppression
                .as_ref()
                .map(|s| format!("{} ({}): {}", s.by, s.file, s.reason))
                .unwrap_or_default();
            out.push_str(&format!(
                "  {:<20} {:<28} {why}\n",
                f.rule_id(),
                package_names(f)
            ));
        }
    }
    if !scan.fix_plan.is_empty() {
        out.push_str("\nFix plan:\n");
        for (i, s) in scan.fix_plan.iter().enumerate() {
            out.push_str(&format!("  {:>2}. {}\n", i + 1, s.sentence()));
        }
    }
    for n in &scan.notes {
        out.push_str(&format!("\nnote: {n}\n"));
    }
    if !scan.skipped_paths.is_empty() {
        let trees: Vec<&str> = scan.skipped_paths.iter().map(|s| s.path.as_str()).collect();
        out.push_str(&format!(
            "\nNot read: {} (see skippedPaths in --format json for why).\n",
            trees.join(", ")
        ));
    }
    out.push_str(&format!("\n{}\n", counts_line(report)));
    if report.findings.is_empty() && super::gaps(scan).is_empty() {
        out.push_str("No known vulnerabilities in the packages found.\n");
    }
    if !scan.not_scanned.is_empty() {
        out.push_str(&format!(
            "{} inputs were NOT SCANNED (see above): what they hold is unknown, so the findings are incomplete.\n",
            scan.not_scanned.len()
        ));
    }
    if scan.summary.packages_not_evaluated > 0 {
        out.push_str(&format!(
            "{} packages were NOT evaluated (their installed version cannot be compared): {}.\n",
            scan.summary.packages_not_evaluated,
            scan.not_evaluated
                .iter()
                .map(|n| format!("{} {}", n.name, n.version))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if scan.summary.packages_not_covered > 0 {
        out.push_str(&format!(
            "{} packages were NOT matched (see above): their vulnerabilities are not reported.\n",
            scan.summary.packages_not_covered
        ));
    }
    out
}
