//! Sorting and filtering findings, and the summary recomputed after.

use crate::{ExploitAvailable, Finding, FindingStatus, Report, Severity, fix_plan};

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
