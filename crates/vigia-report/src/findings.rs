//! Findings formats: table, markdown, CSV, SARIF 2.1.0, ASFF, and CycloneDX /
//! SPDX documents that carry the vulnerabilities.

use std::collections::BTreeMap;

use owo_colors::OwoColorize;
use serde_json::{Value, json};
use vigia_inventory::Inventory;
use vigia_scan::{Finding, FindingStatus, Report, Severity};

fn paint(color: bool, sev: Severity, text: &str) -> String {
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
        .collect()
}

/// A table for people: grouped by severity, with summary, coverage and fix plan.
#[must_use]
pub fn table(report: &Report, color: bool) -> String {
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
            "Database: updated {}{}\n",
            scan.database.updated_at.as_deref().unwrap_or("never"),
            if scan.database.stale {
                " (STALE: run `vigia db update`)"
            } else {
                ""
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
    out.push_str(&format!("\n{}\n", counts_line(report)));
    if report.findings.is_empty() && scan.summary.packages_not_covered == 0 {
        out.push_str("No known vulnerabilities in the packages found.\n");
    }
    if scan.summary.packages_not_covered > 0 {
        out.push_str(&format!(
            "{} packages were NOT matched (see above): their vulnerabilities are not reported.\n",
            scan.summary.packages_not_covered
        ));
    }
    out
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A CI summary in Markdown (GitHub step summaries, merge request notes).
#[must_use]
pub fn markdown(report: &Report) -> String {
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
    let not_covered: Vec<_> = scan.coverage.iter().filter(|c| !c.covered).collect();
    if !not_covered.is_empty() {
        out.push_str(
            "> [!WARNING]\n> Not covered (vulnerabilities of these packages are not reported):\n",
        );
        for c in not_covered {
            out.push_str(&format!(
                "> - {} {} packages: {}\n",
                c.packages,
                c.package_type,
                md_escape(c.reason.as_deref().unwrap_or(""))
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
        out.push_str("| Severity | Vulnerability | Package | Installed | Fixed | KEV | EPSS |\n|---|---|---|---|---|---|---|\n");
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
                md_escape(&package_names(f)),
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

/// One CSV row per finding.
pub fn csv(report: &Report) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
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
    ])?;
    for f in &report.findings {
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
        w.write_record([
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
        ])?;
    }
    let bytes = w.into_inner().map_err(csv::IntoInnerError::into_error)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Informational | Severity::Untriaged => "note",
    }
}

/// SARIF 2.1.0 for GitHub code scanning and other SARIF viewers. Rule IDs are
/// the vulnerability IDs (or secret rule IDs), stable across scans.
#[must_use]
pub fn sarif(report: &Report, tool_version: &str) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut rule_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut results = Vec::new();
    for f in &report.findings {
        let id = f.rule_id().to_owned();
        let idx = *rule_index.entry(id.clone()).or_insert_with(|| {
            let url = f.remediation.recommendation.url.clone();
            let mut rule = json!({
                "id": id,
                "name": id.replace(['-', '.', '/'], "_"),
                "shortDescription": {"text": f.title},
                "fullDescription": {"text": f.description},
                "help": {
                    "text": f.remediation.recommendation.text,
                    "markdown": format!("**{}** ({})\n\n{}\n\n{}", id, f.severity.title(), f.description, f.remediation.recommendation.text),
                },
                "defaultConfiguration": {"level": sarif_level(f.severity)},
                "properties": {
                    "tags": ["security", if f.code_vulnerability_details.is_some() { "secret" } else { "vulnerability" }, f.severity.as_str()],
                    "precision": "very-high",
                },
            });
            if let Some(u) = url {
                rule["helpUri"] = json!(u);
            }
            if let Some(score) = f.inspector_score {
                rule["properties"]["security-severity"] = json!(format!("{score:.1}"));
            } else {
                let s = match f.severity {
                    Severity::Critical => "9.5",
                    Severity::High => "8.0",
                    Severity::Medium => "5.5",
                    _ => "2.0",
                };
                rule["properties"]["security-severity"] = json!(s);
            }
            rules.push(rule);
            rules.len() - 1
        });
        let locations: Vec<Value> = if let Some(c) = &f.code_vulnerability_details {
            vec![json!({"physicalLocation": {
                "artifactLocation": {"uri": c.file_path.file_path.trim_start_matches('/')},
                "region": {"startLine": c.file_path.start_line, "endLine": c.file_path.end_line},
            }})]
        } else {
            let mut seen: Vec<&str> = Vec::new();
            f.vigia
                .packages
                .iter()
                .filter(|p| {
                    let new = !seen.contains(&p.path.as_str());
                    seen.push(&p.path);
                    new
                })
                .map(|p| {
                    json!({"physicalLocation": {
                        "artifactLocation": {"uri": p.path.trim_start_matches('/')},
                        "region": {"startLine": 1},
                    }, "message": {"text": p.purl}})
                })
                .collect()
        };
        let message = format!(
            "{} in {} {}. {}",
            f.rule_id(),
            package_names(f),
            installed(f),
            f.remediation.recommendation.text
        );
        let mut result = json!({
            "ruleId": id,
            "ruleIndex": idx,
            "level": sarif_level(f.severity),
            "message": {"text": message.trim()},
            "locations": locations,
            "partialFingerprints": {"vigiaFinding/v1": f.finding_arn},
            "properties": {"severity": f.severity.as_str(), "findingArn": f.finding_arn},
        });
        if let Some(s) = &f.vigia.suppression {
            result["suppressions"] = json!([{
                "kind": "external",
                "status": "accepted",
                "justification": format!("{} ({}): {}", s.by, s.file, s.reason),
            }]);
        }
        results.push(result);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "Vigia",
                "version": tool_version,
                "semanticVersion": tool_version,
                "informationUri": "https://github.com/vigia-security/vigia",
                "rules": rules,
            }},
            "automationDetails": {"id": format!("vigia/{}/", report.scan.resource.id)},
            "results": results,
        }],
    })
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Where findings go in Security Hub.
#[derive(Debug, Clone)]
pub struct AsffTarget {
    /// AWS account ID.
    pub account: String,
    /// AWS region.
    pub region: String,
}

/// AWS Security Finding Format, as `BatchImportFindings` takes it
/// (`{"Findings": [...]}`; Security Hub accepts up to 100 per call).
#[must_use]
pub fn asff(report: &Report, target: &AsffTarget) -> Value {
    let product_arn = format!(
        "arn:aws:securityhub:{}:{}:product/{}/default",
        target.region, target.account, target.account
    );
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let res = &f.resources[0];
            let (rtype, details) = if let Some(img) = &res.details.aws_ecr_container_image {
                let mut d = json!({
                    "RepositoryName": img.repository_name,
                    "ImageDigest": img.image_hash,
                });
                if !img.image_tags.is_empty() {
                    d["ImageTags"] = json!(img.image_tags);
                }
                if let Some(a) = &img.architecture {
                    d["Architecture"] = json!(a);
                }
                ("AwsEcrContainerImage", json!({"AwsEcrContainerImage": d}))
            } else {
                let kind = serde_json::to_value(res.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                ("Other", json!({"Other": {"vigiaResourceType": kind, "vigiaResourceId": truncate(&res.id, 1024)}}))
            };
            let label = match f.severity {
                Severity::Untriaged => "INFORMATIONAL",
                s => s.as_str(),
            };
            let types = if f.code_vulnerability_details.is_some() {
                "Sensitive Data Identifications/Passwords"
            } else {
                "Software and Configuration Checks/Vulnerabilities/CVE"
            };
            let mut out = json!({
                "SchemaVersion": "2018-10-08",
                "Id": f.finding_arn,
                "ProductArn": product_arn,
                "ProductName": "Vigia",
                "CompanyName": "Vigia",
                "Region": target.region,
                "GeneratorId": format!("vigia/{}", f.rule_id()),
                "AwsAccountId": target.account,
                "Types": [types],
                "FirstObservedAt": f.first_observed_at,
                "LastObservedAt": f.last_observed_at,
                "CreatedAt": f.first_observed_at,
                "UpdatedAt": f.updated_at,
                "Severity": {"Label": label, "Original": f.severity.as_str()},
                "Title": truncate(&f.title, 256),
                "Description": truncate(&f.description, 1024),
                "Remediation": {"Recommendation": {"Text": truncate(&f.remediation.recommendation.text, 512)}},
                "Resources": [{
                    "Type": rtype,
                    "Id": truncate(&res.id, 512),
                    "Partition": "aws",
                    "Region": target.region,
                    "Details": details,
                }],
                "RecordState": "ACTIVE",
                "Workflow": {"Status": if f.status == FindingStatus::Suppressed { "SUPPRESSED" } else { "NEW" }},
                "ProductFields": {"vigia/findingArn": f.finding_arn},
            });
            if let Some(u) = &f.remediation.recommendation.url {
                out["Remediation"]["Recommendation"]["Url"] = json!(u);
            }
            if let Some(d) = &f.package_vulnerability_details {
                let packages: Vec<Value> = d
                    .vulnerable_packages
                    .iter()
                    .map(|p| {
                        let mut v = json!({"Name": p.name, "Version": p.version});
                        if let Some(e) = p.epoch { v["Epoch"] = json!(e.to_string()); }
                        if let Some(r) = &p.release { v["Release"] = json!(r); }
                        if let Some(a) = &p.arch { v["Architecture"] = json!(a); }
                        if let Some(m) = &p.package_manager { v["PackageManager"] = json!(m); }
                        if let Some(fp) = &p.file_path { v["FilePath"] = json!(fp); }
                        if let Some(fx) = &p.fixed_in_version { v["FixedInVersion"] = json!(fx); }
                        if let Some(r) = &p.remediation { v["Remediation"] = json!(r); }
                        if let Some(l) = &p.source_layer_hash { v["SourceLayerHash"] = json!(l); }
                        v
                    })
                    .collect();
                let mut vendor = json!({"Name": d.source});
                if let Some(u) = &d.source_url { vendor["Url"] = json!(u); }
                if let Some(s) = &d.vendor_severity { vendor["VendorSeverity"] = json!(s); }
                if let Some(s) = &d.vendor_created_at { vendor["VendorCreatedAt"] = json!(s); }
                if let Some(s) = &d.vendor_updated_at { vendor["VendorUpdatedAt"] = json!(s); }
                let mut v = json!({
                    "Id": d.vulnerability_id,
                    "VulnerablePackages": packages,
                    "Cvss": d.cvss.iter().map(|c| json!({"Version": c.version, "BaseScore": c.base_score, "BaseVector": c.scoring_vector, "Source": c.source})).collect::<Vec<_>>(),
                    "Vendor": vendor,
                    "FixAvailable": f.fix_available.map_or("NO", |x| match x {
                        vigia_scan::FixAvailable::Yes => "YES",
                        vigia_scan::FixAvailable::No => "NO",
                        vigia_scan::FixAvailable::Partial => "PARTIAL",
                    }),
                    "ExploitAvailable": if kev(f).is_empty() { "NO" } else { "YES" },
                });
                if !d.related_vulnerabilities.is_empty() {
                    v["RelatedVulnerabilities"] = json!(d.related_vulnerabilities);
                }
                if !d.reference_urls.is_empty() {
                    v["ReferenceUrls"] = json!(d.reference_urls);
                }
                if let Some(e) = &f.epss {
                    v["EpssScore"] = json!(e.score);
                }
                if let Some(k) = f.exploitability_details.as_ref().and_then(|e| e.last_known_exploit_at.clone()) {
                    v["LastKnownExploitAt"] = json!(k);
                }
                out["Vulnerabilities"] = json!([v]);
            }
            out
        })
        .collect();
    json!({"Findings": findings})
}

fn cdx_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Informational => "info",
        Severity::Untriaged => "unknown",
    }
}

fn cdx_method(version: &str) -> &'static str {
    match version {
        "3.1" => "CVSSv31",
        "3.0" => "CVSSv3",
        "4.0" => "CVSSv4",
        "2.0" => "CVSSv2",
        _ => "other",
    }
}

/// OpenVEX justifications that have a CycloneDX equivalent.
fn cdx_justification(vex: &str) -> Option<&'static str> {
    Some(match vex {
        "component_not_present" | "vulnerable_code_not_present" => "code_not_present",
        "vulnerable_code_not_in_execute_path"
        | "vulnerable_code_cannot_be_controlled_by_adversary" => "code_not_reachable",
        "inline_mitigations_already_exist" => "protected_by_mitigating_control",
        _ => return None,
    })
}

/// A CycloneDX 1.6 BOM with the findings as vulnerabilities (a VDR), each with
/// its analysis state: `in_triage` for open findings, `not_affected` or
/// `resolved` for those a VEX statement or `.vigiaignore` entry suppresses.
#[must_use]
pub fn cyclonedx_vdr(
    inv: &Inventory,
    report: &Report,
    timestamp: &str,
    tool_version: &str,
) -> Value {
    let mut bom = crate::cyclonedx(inv, timestamp, tool_version);
    let mut vulns: Vec<Value> = Vec::new();
    for f in &report.findings {
        let Some(d) = &f.package_vulnerability_details else {
            continue;
        };
        let affects: Vec<Value> = f
            .vigia
            .packages
            .iter()
            .map(|p| json!({"ref": format!("{}|{}", p.purl, p.path), "versions": [{"version": p.version, "status": "affected"}]}))
            .collect();
        let ratings: Vec<Value> = d
            .cvss
            .iter()
            .map(|c| {
                json!({
                    "source": {"name": c.source},
                    "score": c.base_score,
                    "severity": cdx_severity(Severity::from_score(c.base_score)),
                    "method": cdx_method(&c.version),
                    "vector": c.scoring_vector,
                })
            })
            .collect();
        let mut v = json!({
            "bom-ref": f.finding_arn,
            "id": d.vulnerability_id,
            "source": {"name": d.source, "url": d.source_url},
            "references": f.vigia.alias_group.iter().filter(|a| **a != d.vulnerability_id).map(|a| json!({"id": a, "source": {"name": vigia_scan::source_name(a), "url": vigia_scan::source_url(a)}})).collect::<Vec<_>>(),
            "ratings": if ratings.is_empty() { json!([{"severity": cdx_severity(f.severity), "method": "other"}]) } else { json!(ratings) },
            "description": f.description,
            "recommendation": f.remediation.recommendation.text,
            "advisories": d.reference_urls.iter().take(20).map(|u| json!({"url": u})).collect::<Vec<_>>(),
            "affects": affects,
            "properties": [
                {"name": "vigia:severity", "value": f.severity.as_str()},
                {"name": "vigia:fix-status", "value": f.vigia.fix_status.clone().unwrap_or_default()},
                {"name": "vigia:kev", "value": if kev(f).is_empty() { "false" } else { "true" }},
            ],
        });
        if let Some(e) = &f.epss {
            v["properties"]
                .as_array_mut()
                .expect("array")
                .push(json!({"name": "vigia:epss", "value": format!("{}", e.score)}));
        }
        if let Some(p) = &d.vendor_created_at {
            v["published"] = json!(p);
        }
        if let Some(u) = &d.vendor_updated_at {
            v["updated"] = json!(u);
        }
        let response = match (f.has_fix(), f.vigia.fix_status.as_deref()) {
            (true, _) => vec!["update"],
            (false, Some("will_not_fix")) => vec!["will_not_fix"],
            _ => vec![],
        };
        let mut analysis = match &f.vigia.suppression {
            Some(s) if s.status.as_deref() == Some("fixed") => {
                json!({"state": "resolved", "detail": format!("{} ({}): {}", s.by, s.file, s.reason)})
            }
            Some(s) => {
                let mut a = json!({"state": "not_affected", "detail": format!("{} ({}): {}", s.by, s.file, s.reason)});
                if let Some(j) = s.reason.split(':').next().and_then(cdx_justification) {
                    a["justification"] = json!(j);
                }
                a
            }
            None => json!({"state": "in_triage"}),
        };
        if !response.is_empty() {
            analysis["response"] = json!(response);
        }
        v["analysis"] = analysis;
        vulns.push(v);
    }
    bom["vulnerabilities"] = json!(vulns);
    bom
}

/// An SPDX 2.3 document whose packages carry their advisories as `SECURITY`
/// external references (SPDX 2.3 has no vulnerability model of its own).
#[must_use]
pub fn spdx_vdr(inv: &Inventory, report: &Report, created: &str, tool_version: &str) -> Value {
    let mut doc = crate::spdx(inv, created, tool_version);
    let mut by_package: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for f in &report.findings {
        if f.status == FindingStatus::Suppressed {
            continue;
        }
        let Some(url) = &f.remediation.recommendation.url else {
            continue;
        };
        for p in &f.vigia.packages {
            let urls = by_package
                .entry((p.purl.clone(), p.path.clone()))
                .or_default();
            if !urls.contains(url) {
                urls.push(url.clone());
            }
        }
    }
    if let Some(pkgs) = doc.get_mut("packages").and_then(Value::as_array_mut) {
        for (i, p) in inv.packages.iter().enumerate() {
            let Some(urls) = by_package.get(&(p.purl.clone(), p.path.clone())) else {
                continue;
            };
            // Package 0 is the target itself.
            if let Some(refs) = pkgs
                .get_mut(i + 1)
                .and_then(|v| v.get_mut("externalRefs"))
                .and_then(Value::as_array_mut)
            {
                for u in urls {
                    refs.push(json!({"referenceCategory": "SECURITY", "referenceType": "advisory", "referenceLocator": u}));
                }
            }
        }
    }
    doc
}
