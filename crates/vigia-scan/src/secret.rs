//! Findings for hardcoded secrets.

use crate::vuln::digest_id;
use crate::{
    ACCOUNT_ID, CodeFilePath, CodeVulnerabilityDetails, Context, Finding, FindingStatus,
    FindingType, Recommendation, Remediation, Severity, VigiaDetails,
};

/// The remediation for every hardcoded credential.
pub const SECRET_REMEDIATION: &str = "Treat this credential as compromised: revoke or rotate it now, since anyone who can read this resource (or any copy of it) can use it. Then remove it from the code and its history, and load it at run time from a secrets manager (AWS Secrets Manager, HashiCorp Vault) or an environment variable.";

/// Findings for hardcoded secrets: Inspector's `CODE_VULNERABILITY` shape, CWE-798.
#[must_use]
pub fn secret_findings(report: &vigia_secrets::Report, ctx: &Context) -> Vec<Finding> {
    report
        .secrets
        .iter()
        .map(|s| {
            let file_name = s.path.rsplit('/').next().unwrap_or(&s.path).to_owned();
            let lines = if s.start_line == s.end_line {
                format!("line {}", s.start_line)
            } else {
                format!("lines {}-{}", s.start_line, s.end_line)
            };
            let layer_note = match (&s.layer_index, &s.hidden) {
                (Some(i), Some(h)) => format!(
                    " It is in image layer {} ({}), and a later layer {} it, but the layer still holds it: anyone who pulls the image can read it.",
                    i + 1,
                    s.layer.as_deref().unwrap_or_default(),
                    match h {
                        vigia_secrets::Hidden::Deleted => "deleted",
                        vigia_secrets::Hidden::Overwritten => "overwrote",
                        vigia_secrets::Hidden::Opaque => "hid",
                    }
                ),
                (Some(i), None) => format!(
                    " It is in image layer {} ({}).",
                    i + 1,
                    s.layer.as_deref().unwrap_or_default()
                ),
                _ if s.path == vigia_secrets::IMAGE_CONFIG => " It is in the image's configuration, which anyone who pulls the image can read (`docker inspect`, `docker history`): line N is its Nth entry, counting its environment, labels, entrypoint and command, then one line per build step. Rebuilding with the value passed at run time (or as a build secret) removes it.".to_owned(),
                _ => String::new(),
            };
            let paired = s
                .paired_line
                .map(|l| format!(" It pairs with the AWS key on line {l}."))
                .unwrap_or_default();
            let severity = Severity::parse(&s.severity).unwrap_or(Severity::High);
            Finding {
                finding_arn: format!(
                    "vigia:finding/{}",
                    digest_id(&[&ctx.resource.id, &s.rule_id, &s.path, &s.sha256])
                ),
                aws_account_id: ACCOUNT_ID.into(),
                kind: FindingType::CodeVulnerability,
                title: format!("Hardcoded {} in {}", s.title, s.path),
                description: format!(
                    "A {} ({}…, {} characters) is hardcoded in {} ({lines}).{layer_note}{paired}",
                    s.title, s.prefix, s.length, s.path
                ),
                remediation: Remediation {
                    recommendation: Recommendation {
                        text: SECRET_REMEDIATION.into(),
                        url: Some("https://cwe.mitre.org/data/definitions/798.html".into()),
                    },
                },
                severity,
                first_observed_at: ctx.now.clone(),
                last_observed_at: ctx.now.clone(),
                updated_at: ctx.now.clone(),
                status: FindingStatus::Active,
                resources: vec![ctx.resource.clone()],
                inspector_score: None,
                inspector_score_details: None,
                package_vulnerability_details: None,
                code_vulnerability_details: Some(CodeVulnerabilityDetails {
                    file_path: CodeFilePath {
                        file_name,
                        file_path: s.path.clone(),
                        start_line: s.start_line,
                        end_line: s.end_line,
                    },
                    detector_tags: s.tags.clone(),
                    reference_urls: vec!["https://cwe.mitre.org/data/definitions/798.html".into()],
                    rule_id: Some(s.rule_id.clone()),
                    detector_id: format!("vigia/secrets/{}", s.rule_id),
                    detector_name: s.title.clone(),
                    cwes: vec!["CWE-798".into()],
                }),
                network_reachability_details: None,
                fix_available: None,
                exploit_available: None,
                exploitability_details: None,
                epss: None,
                vigia: VigiaDetails {
                    secret: Some(serde_json::json!({
                        "sha256": s.sha256,
                        "redacted": format!("{}…", s.prefix),
                        "length": s.length,
                        "layer": s.layer,
                        "layerIndex": s.layer_index,
                        "visibleInFinalFilesystem": s.hidden.is_none(),
                        "hiddenBy": s.hidden,
                        "pairedLine": s.paired_line,
                    })),
                    ..VigiaDetails::default()
                },
            }
        })
        .collect()
}
