//! One attempt at delivering one event to one target.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Target, TargetKind};

/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why it failed; `None` when the receiver took the event (2xx).
    pub error: Option<String>,
}

/// Sends events: one HTTP client for every target.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
}

impl Sender {
    /// A sender. Redirects are not followed: a receiver that moved says so
    /// in the delivery log rather than getting the event somewhere else.
    ///
    /// # Panics
    /// When the TLS backend cannot be set up.
    #[must_use]
    pub fn new() -> Self {
        Self {
            client: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("vigia/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("the HTTP client builds"),
        }
    }

    /// Sends `body` (the stored event) to `target` once.
    pub async fn send(&self, target: &Target, event_id: &str, body: &str) -> Outcome {
        let request = match target.kind {
            TargetKind::Webhook => match signed(target, event_id, body) {
                Ok(headers) => headers
                    .into_iter()
                    .fold(self.client.post(&target.url), |r, (k, v)| r.header(k, v))
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.to_owned()),
                Err(error) => {
                    return Outcome {
                        status: None,
                        error: Some(error),
                    };
                }
            },
            TargetKind::Slack => {
                let event: Value = serde_json::from_str(body).unwrap_or(Value::Null);
                self.client
                    .post(&target.url)
                    .json(&json!({ "text": slack_text(&event) }))
            }
        };
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    Outcome {
                        status: Some(status.as_u16()),
                        error: None,
                    }
                } else {
                    // A little of what the receiver said, for the log.
                    let said: String = response
                        .text()
                        .await
                        .unwrap_or_default()
                        .chars()
                        .take(200)
                        .collect();
                    Outcome {
                        status: Some(status.as_u16()),
                        error: Some(format!("the receiver answered {status}: {said}")),
                    }
                }
            }
            Err(e) => Outcome {
                status: None,
                error: Some(format!(
                    "cannot deliver to {}: {}",
                    target.url,
                    vigia_engine::error_chain(&e)
                )),
            },
        }
    }
}

impl Default for Sender {
    fn default() -> Self {
        Self::new()
    }
}

/// The Standard Webhooks headers: `webhook-id` (the event's ID, the same
/// on every attempt), `webhook-timestamp` (this attempt's) and
/// `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of
/// `id.timestamp.body` under the target's secret).
fn signed(
    target: &Target,
    event_id: &str,
    body: &str,
) -> Result<Vec<(&'static str, String)>, String> {
    let timestamp = jiff::Timestamp::now().as_second();
    let mut headers = vec![
        (standardwebhooks::HEADER_WEBHOOK_ID, event_id.to_owned()),
        (
            standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
            timestamp.to_string(),
        ),
    ];
    if let Some(secret) = &target.secret {
        let signature = standardwebhooks::Webhook::new(secret)
            .and_then(|w| w.sign(event_id, timestamp, body.as_bytes()))
            .map_err(|e| format!("cannot sign with the target's secret: {e}"))?;
        headers.push((standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature));
    }
    Ok(headers)
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A Slack message for an event: what changed, how severe, where, and
/// what fixes it.
#[must_use]
pub fn slack_text(event: &Value) -> String {
    let detail = &event["detail"];
    let resource = event["resources"]
        .get(0)
        .and_then(Value::as_str)
        .unwrap_or("a resource");
    match text(event, "detail-type") {
        "Inspector2 Finding" => {
            let status = match text(detail, "status") {
                "CLOSED" => "closed",
                "SUPPRESSED" => "suppressed",
                _ => "open",
            };
            let fixes: Vec<String> = detail["packageVulnerabilityDetails"]["vulnerablePackages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| {
                    let fixed = p.get("fixedInVersion").and_then(Value::as_str)?;
                    (!fixed.is_empty() && fixed != "NotAvailable")
                        .then(|| format!("{} {}", text(p, "name"), fixed))
                })
                .collect();
            let fix = if fixes.is_empty() {
                text(&detail["remediation"]["recommendation"], "text").to_owned()
            } else {
                format!("upgrade to {}", fixes.join(", "))
            };
            let mut out = format!(
                "*{}* finding {status}: {}\nResource: `{resource}`",
                text(detail, "severity"),
                text(detail, "title"),
            );
            if !fix.is_empty() {
                out.push_str(&format!("\nFix: {fix}"));
            }
            out
        }
        "Inspector2 Scan" => format!(
            "Scan of `{resource}`: {} (critical {}, high {}, total {})",
            text(detail, "scan-status"),
            detail["finding-severity-counts"]["CRITICAL"],
            detail["finding-severity-counts"]["HIGH"],
            detail["finding-severity-counts"]["TOTAL"],
        ),
        "Inspector2 Coverage" => format!(
            "Coverage of `{resource}`: {} ({})",
            text(&detail["scanStatus"], "statusCodeValue"),
            text(&detail["scanStatus"], "reason"),
        ),
        other => format!("{other} for `{resource}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_says_what_changed_where_and_the_fix() {
        let event = json!({
            "detail-type": "Inspector2 Finding",
            "resources": ["arn:aws:lambda:local:000000000000:function:fn1:$LATEST"],
            "detail": {
                "severity": "HIGH", "status": "ACTIVE", "title": "CVE-2021-23337 - lodash",
                "packageVulnerabilityDetails": {"vulnerablePackages": [
                    {"name": "lodash", "version": "4.17.20", "fixedInVersion": "4.17.21"}
                ]}
            }
        });
        let text = slack_text(&event);
        assert!(
            text.contains("*HIGH* finding open: CVE-2021-23337 - lodash"),
            "{text}"
        );
        assert!(text.contains("function:fn1"), "{text}");
        assert!(text.contains("Fix: upgrade to lodash 4.17.21"), "{text}");
        let closed = json!({"detail-type": "Inspector2 Finding", "detail": {"status": "CLOSED", "severity": "LOW", "title": "t"}});
        assert!(slack_text(&closed).contains("finding closed"));
    }
}
