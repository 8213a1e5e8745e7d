//! The CI summary in Markdown.

use vigia_scan::{Finding, FindingStatus, Report};

use super::{counts_line, epss, fixed, installed, kev, package_names, paths};

/// What a row is about: a package, or where a secret is (file and lines),
/// or which port is open to the internet.
fn what(f: &Finding) -> String {
    if f.code_vulnerability_details.is_some() {
        return format!("`{}`", paths(f));
    }
    if let Some(n) = &f.network_reachability_details {
        let (b, e) = (n.open_port_range.begin, n.open_port_range.end);
        return if b == e {
            format!("{} port {b}", n.protocol)
        } else {
            format!("{} ports {b}-{e}", n.protocol)
        };
    }
    package_names(f)
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A CI summary in Markdown (GitHub step summaries, merge request notes),
/// drawn from a copy of the report whose strings are escaped.
#[must_use]
pub fn markdown(report: &Report) -> String {
    crate::printable::render(report, false, markdown_drawn)
}

fn markdown_drawn(report: &Report, _color: bool) -> String {
    const MAX_ROWS: usize = 200;
    let scan = &report.scan;
    let mut out = format!("## Vigia scan: `{}`\n\n", md_escape(&scan.target));
    out.push_str(&format!("**{}**\n\n", counts_line(report)));
    if let Some(os) = &scan.os {
        out.push_str(&format!(
            "OS: {} · ",
            md_escape(os.pretty_name.as_deref().unwrap_or(&os.id))
        ));
    }
    out.push_str(&format!(
        "{} packages · database updated {}{}\n\n",
        scan.summary.packages,
        scan.database.updated_at.as_deref().unwrap_or("never"),
        if scan.database.stale {
            " (**stale**)"
        } else {
            ""
        }
    ));
    let gaps = super::gaps(scan);
    if !gaps.is_empty() {
        out.push_str(
            "> [!WARNING]\n> This scan is incomplete: vulnerabilities in what follows are not reported.\n",
        );
        for g in gaps.iter().take(MAX_ROWS) {
            out.push_str(&format!("> - {}\n", md_escape(g)));
        }
        if gaps.len() > MAX_ROWS {
            out.push_str(&format!(
                "> - …and {} more (use `--format json` for all).\n",
                gaps.len() - MAX_ROWS
            ));
        }
        out.push('\n');
    }
    let active: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.status != FindingStatus::Suppressed)
        .collect();
    if !active.is_empty() {
        out.push_str("| Severity | Vulnerability | Package or location | Installed | Fixed | KEV | EPSS |\n|---|---|---|---|---|---|---|\n");
        for f in active.iter().take(MAX_ROWS) {
            let url = f
                .remediation
                .recommendation
                .url
                .as_deref()
                .unwrap_or_default();
            out.push_str(&format!(
                "| {} | [{}]({url}) | {} | {} | {} | {} | {} |\n",
                f.severity.title(),
                md_escape(f.rule_id()),
                md_escape(&what(f)),
                md_escape(&installed(f)),
                md_escape(&fixed(f)),
                kev(f),
                epss(f)
            ));
        }
        if active.len() > MAX_ROWS {
            out.push_str(&format!(
                "\n…and {} more (use `--format json` for all).\n",
                active.len() - MAX_ROWS
            ));
        }
        out.push('\n');
    }
    if !scan.fix_plan.is_empty() {
        out.push_str("### Fix plan\n\n");
        for s in scan.fix_plan.iter().take(20) {
            out.push_str(&format!("1. {}\n", md_escape(&s.sentence())));
        }
        out.push('\n');
    }
    if scan.summary.suppressed > 0 {
        out.push_str(&format!(
            "{} findings suppressed by `.vigiaignore` or VEX.\n",
            scan.summary.suppressed
        ));
    }
    out
}
