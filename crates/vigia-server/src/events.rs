//! The events written to the outbox, shaped as Amazon Inspector sends them
//! to EventBridge: the envelope, and the `detail` of `Inspector2 Scan` and
//! `Inspector2 Coverage` (an `Inspector2 Finding`'s detail is the finding).
//! Each is written in the transaction of the change it reports.

use serde_json::{Value, json};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// `detail-type` of a finding's change.
pub const FINDING: &str = "Inspector2 Finding";
/// `detail-type` of a finished scan.
pub const SCAN: &str = "Inspector2 Scan";
/// `detail-type` of a coverage change.
pub const COVERAGE: &str = "Inspector2 Coverage";
/// `detail-type` of Vigia's own summary of many findings opened at once
/// for one resource (its `source` is `vigia`: Inspector has no such event).
pub const SUMMARY: &str = "Vigia Findings Summary";
/// The default of `vigia serve --summarize-above`.
pub const SUMMARIZE_ABOVE: usize = 100;

/// An event to write: its resource, `detail-type` and `detail`.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) resource: String,
    pub(crate) detail_type: &'static str,
    pub(crate) detail: Value,
    /// A summary stands for it (for the targets that take summaries).
    pub(crate) summarized: bool,
}

/// Adds one summary event for the findings opened (or reopened) for one
/// resource, `opened` (their ARNs), among `events[from..]`, when there are
/// more than `above` of them: what was opened, how severe, the ARNs, and
/// why; their own events are marked as summarized. Webhook and Slack
/// targets get the summary instead of them; Security Hub and Jira, which
/// keep a record per finding, get them. This keeps a first scan, a rematch
/// or a rescan that opens thousands from flooding the targets; with
/// `--quiet-first-scans` a resource's first scan writes no finding events
/// at all (an estate tracked elsewhere, imported).
pub(crate) fn summarize(
    events: &mut Vec<Event>,
    from: usize,
    opened: &std::collections::BTreeSet<String>,
    resource: &str,
    cause: &str,
    above: usize,
) {
    if opened.len() <= above {
        return;
    }
    let mut counts: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let mut arns = Vec::new();
    for e in &mut events[from..] {
        let arn = e.detail["findingArn"].as_str().unwrap_or_default();
        if e.detail_type == FINDING && opened.contains(arn) {
            let severity = e.detail["severity"].as_str().unwrap_or("UNTRIAGED");
            *counts.entry(severity.to_owned()).or_default() += 1;
            arns.push(arn.to_owned());
            e.summarized = true;
        }
    }
    let mut severities = serde_json::Map::new();
    for (s, n) in &counts {
        severities.insert(s.clone(), json!(n));
    }
    severities.insert("TOTAL".into(), json!(arns.len()));
    events.push(Event {
        resource: resource.to_owned(),
        detail_type: SUMMARY,
        detail: json!({
            "resource-id": resource,
            "cause": cause,
            "opened": arns.len(),
            "finding-severity-counts": severities,
            "findingArns": arns,
            "version": "1.0",
        }),
        summarized: false,
    });
}

/// The EventBridge envelope around `detail`.
#[must_use]
pub fn envelope(id: &str, now: &str, detail_type: &str, resource: &str, detail: &Value) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": detail_type,
        "source": if detail_type == SUMMARY { "vigia" } else { "aws.inspector2" },
        "account": vigia_scan::ACCOUNT_ID,
        "time": now,
        "region": "local",
        "resources": [resource],
        "detail": detail,
    })
}

/// A new event's ID: a UUID of version 7, which sorts by creation (to the
/// millisecond, then by a counter), so that deliveries claimed in ID order
/// reach a target in the order their changes were made: a finding's
/// opening before its closing.
#[must_use]
pub(crate) fn event_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Writes an event to the outbox in `tx`.
pub(crate) async fn write(
    tx: &mut Tx,
    now: &str,
    detail_type: &str,
    resource: &str,
    detail: &Value,
) -> crate::db::DbResult<()> {
    let id = crate::events::event_id();
    sqlx::query(
        "INSERT INTO outbox (id, created_at, detail_type, resource_id, body) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(now)
    .bind(detail_type)
    .bind(resource)
    .bind(envelope(&id, now, detail_type, resource, detail).to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A finished scan: `INITIAL_SCAN_COMPLETE` for a resource's first one
/// (Inspector's value), `SCAN_COMPLETE` after, with its active findings
/// counted by severity and, for an image, its repository, digest and tags.
#[must_use]
pub fn scan_detail(
    kind: &str,
    resource: &str,
    details: &Value,
    first: bool,
    counts: &[(String, i64)],
) -> Value {
    let count = |s: &str| {
        counts
            .iter()
            .filter(|(sev, _)| sev == s)
            .map(|(_, n)| *n)
            .sum::<i64>()
    };
    let total: i64 = counts.iter().map(|(_, n)| *n).sum();
    let mut detail = json!({
        "scan-status": if first { "INITIAL_SCAN_COMPLETE" } else { "SCAN_COMPLETE" },
        "finding-severity-counts": {
            "CRITICAL": count("CRITICAL"),
            "HIGH": count("HIGH"),
            "MEDIUM": count("MEDIUM"),
            "TOTAL": total,
        },
        "version": "1.0",
    });
    let image = details
        .pointer("/details/awsEcrContainerImage")
        .or_else(|| details.get("awsEcrContainerImage"));
    match kind {
        "AWS_ECR_CONTAINER_IMAGE" => {
            let image = image.cloned().unwrap_or(Value::Null);
            detail["repository-name"] = image["repositoryName"].clone();
            detail["image-digest"] = image["imageHash"].clone();
            detail["image-tags"] = image.get("imageTags").cloned().unwrap_or_else(|| json!([]));
        }
        "AWS_EC2_INSTANCE" => detail["instance-id"] = json!(resource),
        _ => {}
    }
    detail
}

/// A resource's coverage now.
#[must_use]
pub fn coverage_detail(code: &str, reason: &str, now: &str) -> Value {
    json!({
        "scanStatus": {"reason": reason, "statusCodeValue": code},
        "scanType": "PACKAGE",
        "provider": "VIGIA",
        "eventTimestamp": now,
        "version": "1.0",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(arn: &str, severity: &str) -> Event {
        Event {
            resource: "r".into(),
            detail_type: FINDING,
            detail: json!({"findingArn": arn, "severity": severity}),
            summarized: false,
        }
    }

    #[test]
    fn many_findings_opened_at_once_become_one_summary() {
        let opened: std::collections::BTreeSet<String> =
            ["a", "b", "c"].iter().map(|s| (*s).to_owned()).collect();
        let earlier = finding("other-resource", "LOW");
        let mut events = vec![
            earlier.clone(),
            finding("a", "HIGH"),
            finding("b", "HIGH"),
            finding("closed", "LOW"),
            finding("c", "CRITICAL"),
        ];
        // At the threshold: no summary.
        summarize(&mut events, 1, &opened, "r", "generation 2", 3);
        assert_eq!(events.len(), 5);
        assert!(events.iter().all(|e| !e.summarized));
        summarize(&mut events, 1, &opened, "r", "generation 2", 2);
        assert_eq!(events.len(), 6, "{events:?}");
        let marked: Vec<bool> = events.iter().map(|e| e.summarized).collect();
        assert_eq!(
            marked,
            [false, true, true, false, true, false],
            "{events:?}"
        );
        assert_eq!(
            events[0].detail, earlier.detail,
            "events before `from` are left"
        );
        let s = &events[5];
        assert_eq!(s.detail_type, SUMMARY);
        assert_eq!(s.detail["opened"], 3);
        assert_eq!(s.detail["findingArns"], json!(["a", "b", "c"]));
        assert_eq!(
            s.detail["finding-severity-counts"],
            json!({"CRITICAL": 1, "HIGH": 2, "TOTAL": 3})
        );
        assert_eq!(s.detail["cause"], "generation 2");
        let e = envelope("id", "now", s.detail_type, "r", &s.detail);
        assert_eq!(e["source"], "vigia");
    }

    #[test]
    fn scan_events_count_by_severity_and_name_the_image() {
        let details = json!({"type": "AWS_ECR_CONTAINER_IMAGE", "details": {"awsEcrContainerImage": {
            "repositoryName": "app", "imageHash": "sha256:ab", "imageTags": ["1.0"]}}});
        let counts = vec![
            ("CRITICAL".to_owned(), 2),
            ("HIGH".to_owned(), 3),
            ("LOW".to_owned(), 4),
        ];
        let d = scan_detail("AWS_ECR_CONTAINER_IMAGE", "img", &details, true, &counts);
        assert_eq!(d["scan-status"], "INITIAL_SCAN_COMPLETE");
        assert_eq!(
            d["finding-severity-counts"],
            json!({"CRITICAL": 2, "HIGH": 3, "MEDIUM": 0, "TOTAL": 9})
        );
        assert_eq!(d["repository-name"], "app");
        assert_eq!(d["image-digest"], "sha256:ab");
        assert_eq!(d["image-tags"], json!(["1.0"]));
        let host = scan_detail("AWS_EC2_INSTANCE", "i-1", &Value::Null, false, &[]);
        assert_eq!(host["scan-status"], "SCAN_COMPLETE");
        assert_eq!(host["instance-id"], "i-1");
    }
}
