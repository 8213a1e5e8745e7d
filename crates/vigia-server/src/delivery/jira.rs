//! Jira targets: an issue per finding, created through Jira's REST API (v2,
//! which Jira Cloud, Server and Data Center all take) when a finding event
//! finds the finding active with no issue yet; a comment on that issue when
//! the finding is closed or suppressed.
//!
//! Each issue carries a label naming its finding (`vigia-` and 16 hex
//! digits of the SHA-256 of its ARN), and each delivery looks the label up
//! before creating: deliveries are at least once, and an event sent again
//! finds the issue its first attempt created instead of making a second.

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;

use super::send::Failure;
use super::{Outcome, Target};

/// The label naming a finding's issue.
#[must_use]
pub(super) fn label(finding_arn: &str) -> String {
    let digest = sha2::Sha256::digest(finding_arn.as_bytes());
    format!("vigia-{}", hex::encode(&digest[..8]))
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

/// The issue's fields for a finding (`detail` of its event).
fn issue_fields(target: &Target, finding: &Value, resource: &str) -> Value {
    let option = |k: &str| target.options.get(k).and_then(Value::as_str);
    let packages: Vec<String> = finding["packageVulnerabilityDetails"]["vulnerablePackages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            let fixed = text(p, "fixedInVersion");
            let fix = if fixed.is_empty() || fixed == "NotAvailable" {
                "no fixed version yet".to_owned()
            } else {
                format!("fixed in {fixed}")
            };
            format!("* {} {} ({fix})", text(p, "name"), text(p, "version"))
        })
        .collect();
    let description = format!(
        "{}\n\n*Severity:* {}\n*Resource:* {}\n*Finding:* {}\n\n{}\n\n*Remediation:* {}",
        text(finding, "description"),
        text(finding, "severity"),
        resource,
        text(finding, "findingArn"),
        packages.join("\n"),
        text(&finding["remediation"]["recommendation"], "text"),
    );
    json!({
        "fields": {
            "project": {"key": option("project").unwrap_or("")},
            "issuetype": {"name": option("issueType").unwrap_or("Bug")},
            "summary": clip(&format!("[{}] {} in {}", text(finding, "severity"), text(finding, "title"), resource), 255),
            "description": clip(&description, 30_000),
            "labels": ["vigia", label(text(finding, "findingArn"))],
        }
    })
}

/// Delivers one finding event to a Jira target. `issue`: the key of the
/// finding's issue when an earlier event of it made or found one, and set
/// to it after.
pub(super) async fn deliver(
    client: &reqwest::Client,
    target: &Target,
    body: &str,
    issue: &mut Option<String>,
) -> Outcome {
    match deliver_inner(client, target, body, issue).await {
        Ok(status) => Outcome {
            status: Some(status),
            error: None,
        },
        Err((status, error)) => Outcome {
            status,
            error: Some(error),
        },
    }
}

async fn deliver_inner(
    client: &reqwest::Client,
    target: &Target,
    body: &str,
    issue: &mut Option<String>,
) -> Result<u16, Failure> {
    let event: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let finding = &event["detail"];
    let arn = text(finding, "findingArn");
    if arn.is_empty() {
        return Err((None, "the event holds no finding".to_owned()));
    }
    let resource = event["resources"]
        .get(0)
        .and_then(Value::as_str)
        .unwrap_or("a resource");
    let base = target.url.trim_end_matches('/');
    let project = target
        .options
        .get("project")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // The project key is letters, digits and `_` (checked at creation) and
    // the label hex: nothing to escape.
    let jql = format!("project = \"{project}\" AND labels = \"{}\"", label(arn));
    // Jira Cloud (API tokens with an email) retired /search for
    // /search/jql; Server and Data Center keep /search.
    let search = if target.options.get("email").is_some() {
        "search/jql"
    } else {
        "search"
    };
    let (found_status, existing) = if let Some(key) = issue.clone() {
        (200, Some(key))
    } else {
        let found = call(
            target,
            client.get(format!("{base}/rest/api/2/{search}")).query(&[
                ("jql", jql.as_str()),
                ("fields", "status"),
                ("maxResults", "1"),
            ]),
        )
        .await?;
        let key = found.1["issues"]
            .get(0)
            .and_then(|i| i.get("key"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        (found.0, key)
    };
    issue.clone_from(&existing);
    let status = text(finding, "status");
    match (existing, status) {
        (None, "ACTIVE") => {
            let created = call(
                target,
                client
                    .post(format!("{base}/rest/api/2/issue"))
                    .json(&issue_fields(target, finding, resource)),
            )
            .await?;
            *issue = created.1["key"].as_str().map(str::to_owned);
            Ok(created.0)
        }
        (Some(key), "CLOSED" | "SUPPRESSED") => {
            let comment = if status == "CLOSED" {
                format!(
                    "Vigia closed this finding on {}: the package is gone or fixed, the advisory withdrawn, or the resource terminated.",
                    text(finding, "updatedAt")
                )
            } else {
                format!(
                    "Vigia suppressed this finding on {} (a suppression rule matches it).",
                    text(finding, "updatedAt")
                )
            };
            let done = call(
                target,
                client
                    .post(format!("{base}/rest/api/2/issue/{key}/comment"))
                    .json(&json!({ "body": comment })),
            )
            .await?;
            Ok(done.0)
        }
        // Tracked already, or nothing to track: a finding closed before it
        // had an issue.
        _ => Ok(found_status),
    }
}

/// Sends a request with the target's credentials: HTTP basic with `email`
/// and the API token (Jira Cloud), or the token as a bearer (a personal
/// access token of Jira Server and Data Center).
async fn call(target: &Target, request: reqwest::RequestBuilder) -> Result<(u16, Value), Failure> {
    let token = target.secret.as_deref().unwrap_or_default();
    let request = match target.options.get("email").and_then(Value::as_str) {
        Some(email) => request.header(
            reqwest::header::AUTHORIZATION,
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{email}:{token}"))
            ),
        ),
        None => request.bearer_auth(token),
    };
    super::send::exchange(target, request, "Jira").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_finding_without_spaces() {
        let l = label("vigia:finding/6e3b58289e381e2ee4241f42f8ffe583");
        assert!(l.starts_with("vigia-") && l.len() == 22, "{l}");
        assert!(!l.contains(' '));
        assert_ne!(l, label("vigia:finding/other"));
        assert_eq!(l, label("vigia:finding/6e3b58289e381e2ee4241f42f8ffe583"));
    }
}
