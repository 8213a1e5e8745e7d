//! One CSV row per finding.

use vigia_scan::{Finding, FindingStatus, Report};

use super::{epss, fixed, installed, kev, package_names, paths};

/// One CSV row per finding.
pub fn csv(report: &Report) -> Result<String, csv::Error> {
    csv_findings(&report.findings, false)
}

/// One CSV row per finding of any resources; `with_resource` adds the
/// resource's type and ID (a report over many resources needs them).
pub fn csv_findings(findings: &[Finding], with_resource: bool) -> Result<String, csv::Error> {
    // Every string of the findings comes from inputs: escaped for a
    // terminal, and every cell kept from running as a spreadsheet formula.
    let escaped = crate::printable::printable(&findings.to_vec());
    let findings = escaped.as_deref().unwrap_or(findings);
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "severity",
        "id",
        "type",
        "packages",
        "installed",
        "fixed",
        "fix_status",
        "paths",
        "layers",
        "score",
        "cvss_vector",
        "source",
        "epss",
        "kev",
        "status",
        "suppressed_by",
        "title",
        "finding_arn",
    ];
    if with_resource {
        header.extend(["resource_type", "resource_id"]);
    }
    w.write_record(&header)?;
    for f in findings {
        let d = f.package_vulnerability_details.as_ref();
        let mut layers: Vec<&str> = d
            .map(|d| {
                d.vulnerable_packages
                    .iter()
                    .filter_map(|p| p.source_layer_hash.as_deref())
                    .collect()
            })
            .unwrap_or_default();
        layers.dedup();
        let cells = [
            f.severity.as_str(),
            f.rule_id(),
            match f.kind {
                vigia_scan::FindingType::PackageVulnerability => "PACKAGE_VULNERABILITY",
                vigia_scan::FindingType::CodeVulnerability => "CODE_VULNERABILITY",
                vigia_scan::FindingType::NetworkReachability => "NETWORK_REACHABILITY",
            },
            &package_names(f),
            &installed(f),
            &fixed(f),
            f.vigia.fix_status.as_deref().unwrap_or_default(),
            &paths(f),
            &layers.join(" "),
            &f.inspector_score
                .map(|s| format!("{s:.1}"))
                .unwrap_or_default(),
            f.inspector_score_details
                .as_ref()
                .map(|s| s.adjusted_cvss.scoring_vector.as_str())
                .unwrap_or_default(),
            d.map(|d| d.source.as_str()).unwrap_or_default(),
            &epss(f),
            if kev(f).is_empty() { "no" } else { "yes" },
            match f.status {
                FindingStatus::Active => "ACTIVE",
                FindingStatus::Suppressed => "SUPPRESSED",
                FindingStatus::Closed => "CLOSED",
            },
            f.vigia
                .suppression
                .as_ref()
                .map(|s| s.by.as_str())
                .unwrap_or_default(),
            &f.title,
            &f.finding_arn,
        ];
        let resource: Vec<String> = if with_resource {
            let r = f.resources.first();
            vec![
                r.and_then(|r| serde_json::to_value(r.kind).ok())
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                r.map(|r| r.id.clone()).unwrap_or_default(),
            ]
        } else {
            Vec::new()
        };
        w.write_record(
            cells
                .iter()
                .copied()
                .chain(resource.iter().map(String::as_str))
                .map(|c| crate::printable::csv_cell(&crate::printable::escape(c)).into_owned()),
        )?;
    }
    let bytes = w.into_inner().map_err(csv::IntoInnerError::into_error)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
