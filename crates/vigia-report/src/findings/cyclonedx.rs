//! The CycloneDX VDR: the SBOM with the findings as vulnerabilities.

use serde_json::{Value, json};
use vigia_inventory::Inventory;
use vigia_scan::{Report, Severity};

use super::kev;

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
    // What was not looked at, so that a component listed without
    // vulnerabilities is not read as one found clean when it was not
    // matched: `vigia:incomplete` and one property per gap.
    let gaps = super::gaps(&report.scan);
    if !gaps.is_empty()
        && let Some(meta) = bom.get_mut("metadata").and_then(Value::as_object_mut)
    {
        let props = meta
            .entry("properties")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .expect("properties is a list");
        props.push(json!({"name": "vigia:incomplete", "value": "true"}));
        props.extend(
            gaps.into_iter()
                .map(|g| json!({"name": "vigia:gap", "value": g})),
        );
    }
    bom
}
