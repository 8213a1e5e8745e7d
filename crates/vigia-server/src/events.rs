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

/// The EventBridge envelope around `detail`.
#[must_use]
pub fn envelope(id: &str, now: &str, detail_type: &str, resource: &str, detail: &Value) -> Value {
    json!({
        "version": "0",
        "id": id,
        "detail-type": detail_type,
        "source": "aws.inspector2",
        "account": vigia_scan::ACCOUNT_ID,
        "time": now,
        "region": "local",
        "resources": [resource],
        "detail": detail,
    })
}

/// Writes an event to the outbox in `tx`.
pub(crate) async fn write(
    tx: &mut Tx,
    now: &str,
    detail_type: &str,
    resource: &str,
    detail: &Value,
) -> crate::db::DbResult<()> {
    let id = uuid::Uuid::new_v4().to_string();
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
