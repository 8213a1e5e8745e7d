//! SARIF 2.1.0, built from `serde-sarif`'s types (generated from the official
//! schema), so that a field Vigia writes is a field SARIF has.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, RunAutomationDetails, Sarif, Suppression, Tool,
    ToolComponent,
};
use vigia_scan::{Finding, Report, Severity};

use super::{installed, package_names};

/// The schema URL written into documents (the one GitHub code scanning reads).
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn sarif_level(s: Severity) -> ResultLevel {
    match s {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low | Severity::Informational | Severity::Untriaged => ResultLevel::Note,
    }
}

fn message(text: impl Into<String>) -> Message {
    Message::builder().text(text.into()).build()
}

fn line(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A property bag of `(name, value)` pairs, with `tags` when given.
fn properties(tags: Option<Vec<String>>, pairs: &[(&str, Value)]) -> PropertyBag {
    PropertyBag {
        tags,
        additional_properties: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
    }
}

/// The rule a finding is reported under: its vulnerability (or secret rule)
/// with its description, remediation and GitHub's `security-severity`.
fn rule(f: &Finding, id: &str) -> ReportingDescriptor {
    let security_severity = match f.inspector_score {
        Some(score) => format!("{score:.1}"),
        None => match f.severity {
            Severity::Critical => "9.5",
            Severity::High => "8.0",
            Severity::Medium => "5.5",
            _ => "2.0",
        }
        .to_owned(),
    };
    let kind = if f.code_vulnerability_details.is_some() {
        "secret"
    } else {
        "vulnerability"
    };
    let mut rule = ReportingDescriptor::builder()
        .id(id)
        .name(id.replace(['-', '.', '/'], "_"))
        .short_description(
            MultiformatMessageString::builder()
                .text(f.title.clone())
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(f.description.clone())
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(f.remediation.recommendation.text.clone())
                .markdown(format!(
                    "**{}** ({})\n\n{}\n\n{}",
                    id,
                    f.severity.title(),
                    f.description,
                    f.remediation.recommendation.text
                ))
                .build(),
        )
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(sarif_level(f.severity)))
                .build(),
        )
        .properties(properties(
            Some(vec![
                "security".to_owned(),
                kind.to_owned(),
                f.severity.as_str().to_owned(),
            ]),
            &[
                ("precision", json!("very-high")),
                ("security-severity", json!(security_severity)),
            ],
        ))
        .build();
    rule.help_uri.clone_from(&f.remediation.recommendation.url);
    rule
}

/// Where a finding is: a secret's file and lines, or each distinct file that
/// declares an affected package (with its purl).
fn locations(f: &Finding) -> Vec<Location> {
    if let Some(c) = &f.code_vulnerability_details {
        let at = PhysicalLocation::builder()
            .artifact_location(
                ArtifactLocation::builder()
                    .uri(c.file_path.file_path.trim_start_matches('/'))
                    .build(),
            )
            .region(
                Region::builder()
                    .start_line(line(c.file_path.start_line))
                    .end_line(line(c.file_path.end_line))
                    .build(),
            )
            .build();
        return vec![Location::builder().physical_location(at).build()];
    }
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
            let at = PhysicalLocation::builder()
                .artifact_location(
                    ArtifactLocation::builder()
                        .uri(p.path.trim_start_matches('/'))
                        .build(),
                )
                .region(Region::builder().start_line(1).build())
                .build();
            Location::builder()
                .physical_location(at)
                .message(message(p.purl.clone()))
                .build()
        })
        .collect()
}

/// The run's invocation: it completed, and what it could not look at is
/// a warning notification each (SARIF viewers show those beside the
/// results), so that a run with no results never reads as clean when it
/// was incomplete.
fn invocation(report: &Report) -> Invocation {
    let notifications: Vec<Notification> = super::gaps(&report.scan)
        .into_iter()
        .map(|g| {
            Notification::builder()
                .level(json!("warning"))
                .message(message(g))
                .build()
        })
        .collect();
    let builder = Invocation::builder().execution_successful(true);
    if notifications.is_empty() {
        builder.build()
    } else {
        builder.tool_execution_notifications(notifications).build()
    }
}

/// SARIF 2.1.0 for GitHub code scanning and other SARIF viewers. Rule IDs are
/// the vulnerability IDs (or secret rule IDs), stable across scans.
#[must_use]
pub fn sarif(report: &Report, tool_version: &str) -> Value {
    let mut rules: Vec<ReportingDescriptor> = Vec::new();
    let mut rule_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut results = Vec::new();
    for f in &report.findings {
        let id = f.rule_id().to_owned();
        let idx = *rule_index.entry(id.clone()).or_insert_with(|| {
            rules.push(rule(f, &id));
            rules.len() - 1
        });
        let text = format!(
            "{} in {} {}. {}",
            f.rule_id(),
            package_names(f),
            installed(f),
            f.remediation.recommendation.text
        );
        let mut result = SarifResult::builder()
            .rule_id(id)
            .rule_index(i64::try_from(idx).unwrap_or(i64::MAX))
            .level(sarif_level(f.severity))
            .message(message(text.trim()))
            .locations(locations(f))
            .partial_fingerprints(BTreeMap::from([(
                "vigiaFinding/v1".to_owned(),
                f.finding_arn.clone(),
            )]))
            .properties(properties(
                None,
                &[
                    ("severity", json!(f.severity.as_str())),
                    ("findingArn", json!(f.finding_arn)),
                ],
            ))
            .build();
        if let Some(s) = &f.vigia.suppression {
            result.suppressions = Some(vec![
                Suppression::builder()
                    .kind(json!("external"))
                    .status(json!("accepted"))
                    .justification(format!("{} ({}): {}", s.by, s.file, s.reason))
                    .build(),
            ]);
        }
        results.push(result);
    }
    let driver = ToolComponent::builder()
        .name("Vigia")
        .version(tool_version)
        .semantic_version(tool_version)
        .information_uri("https://github.com/vigia-security/vigia")
        .rules(rules)
        .build();
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .automation_details(
            RunAutomationDetails::builder()
                .id(format!("vigia/{}/", report.scan.resource.id))
                .build(),
        )
        .results(results)
        .invocations(vec![invocation(report)])
        .build();
    let log = Sarif::builder()
        .schema(SCHEMA)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    // Through a JSON value, whose keys are sorted: the same document order as
    // every other format Vigia writes.
    serde_json::to_value(log).expect("SARIF types serialise")
}
