//! One attempt at delivering one event to one target.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Target, TargetKind};

/// How long a receiver has to answer, in milliseconds.
pub const TIMEOUT_MS: i64 = 10_000;

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
                .timeout(Duration::from_millis(TIMEOUT_MS.unsigned_abs()))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("vigia/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("the HTTP client builds"),
        }
    }

    /// Sends `body` (the stored event) to a webhook or Slack target once.
    async fn send_one(&self, target: &Target, event_id: &str, body: &str) -> Outcome {
        let request = match target.kind {
            TargetKind::Jira => {
                return super::jira::deliver(&self.client, target, body, &mut None).await;
            }
            TargetKind::SecurityHub => {
                return Outcome {
                    status: None,
                    error: Some("Security Hub deliveries are sent in batches".to_owned()),
                };
            }
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
        match exchange(target, request, "the receiver").await {
            Ok((status, _)) => Outcome {
                status: Some(status),
                error: None,
            },
            Err((status, error)) => Outcome {
                status,
                error: Some(error),
            },
        }
    }
}

impl Sender {
    /// Sends claimed deliveries of one target: Security Hub takes them in
    /// one request (up to 100), the others one request each. Returns an
    /// outcome per delivery, in order.
    pub async fn send_all(&self, target: &Target, batch: &[super::Claimed]) -> Vec<Outcome> {
        if target.kind == TargetKind::SecurityHub {
            return self.security_hub(target, batch).await;
        }
        // One finding's events, in order: the issue the first creates is
        // the one the next comments on, without searching for it again
        // (Jira's search index may not hold it yet).
        if target.kind == TargetKind::Jira {
            let mut issue = None;
            let mut out = Vec::with_capacity(batch.len());
            for c in batch {
                out.push(super::jira::deliver(&self.client, target, &c.body, &mut issue).await);
            }
            return out;
        }
        let mut out = Vec::with_capacity(batch.len());
        for c in batch {
            out.push(self.send_one(target, &c.event_id, &c.body).await);
        }
        out
    }

    /// `BatchImportFindings`: each event's finding in AWS Security Finding
    /// Format, signed with SigV4 under the target's keys. A finding Security
    /// Hub lists as failed fails its own delivery only.
    async fn security_hub(&self, target: &Target, batch: &[super::Claimed]) -> Vec<Outcome> {
        let failed = |error: String| Outcome {
            status: None,
            error: Some(error),
        };
        let option = |key: &str| target.options.get(key).and_then(Value::as_str);
        let asff_target = vigia_report::findings::AsffTarget {
            account: option("accountId")
                .unwrap_or(vigia_scan::ACCOUNT_ID)
                .to_owned(),
            region: option("region").unwrap_or("us-east-1").to_owned(),
        };
        // Each delivery's finding ID, or why it has none.
        let mut ids: Vec<Result<String, String>> = Vec::with_capacity(batch.len());
        let mut findings = Vec::new();
        for c in batch {
            let event: Value = serde_json::from_str(&c.body).unwrap_or(Value::Null);
            match serde_json::from_value::<vigia_scan::Finding>(event["detail"].clone()) {
                Ok(f) if !f.resources.is_empty() => {
                    ids.push(Ok(f.finding_arn.clone()));
                    findings.push(vigia_report::findings::asff_finding(&f, &asff_target));
                }
                _ => ids.push(Err(
                    "the event holds no finding Security Hub can take".to_owned()
                )),
            }
        }
        let outcome_of =
            |answer: &Result<(u16, Value), Failure>, id: &Result<String, String>| -> Outcome {
                match (answer, id) {
                    (_, Err(e)) => failed(e.clone()),
                    (Err((status, e)), _) => Outcome {
                        status: *status,
                        error: Some(e.clone()),
                    },
                    (Ok((status, body)), Ok(id)) => {
                        let refused = body["FailedFindings"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|f| f["Id"] == id.as_str());
                        match refused {
                            Some(f) => Outcome {
                                status: Some(*status),
                                error: Some(format!(
                                    "Security Hub refused the finding: {} {}",
                                    f["ErrorCode"].as_str().unwrap_or(""),
                                    f["ErrorMessage"].as_str().unwrap_or("")
                                )),
                            },
                            None => Outcome {
                                status: Some(*status),
                                error: None,
                            },
                        }
                    }
                }
            };
        let answer = if findings.is_empty() {
            Ok((200, Value::Null))
        } else {
            self.import(
                target,
                &asff_target.region,
                &json!({ "Findings": findings }),
            )
            .await
        };
        ids.iter().map(|id| outcome_of(&answer, id)).collect()
    }

    /// One signed `POST /findings/import`: the status and the answer, or
    /// why there is none (the answer's words when it is not 2xx).
    async fn import(
        &self,
        target: &Target,
        region: &str,
        body: &Value,
    ) -> Result<(u16, Value), Failure> {
        let url = format!("{}/findings/import", target.url.trim_end_matches('/'));
        let body = body.to_string();
        let key_id = target
            .options
            .get("accessKeyId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let secret = target.secret.as_deref().unwrap_or_default();
        let identity =
            aws_credential_types::Credentials::new(key_id, secret, None, None, "vigia-target")
                .into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name("securityhub")
            .time(std::time::SystemTime::now())
            .settings(aws_sigv4::http_request::SigningSettings::default())
            .build()
            .map_err(|e| (None, format!("cannot sign for Security Hub: {e}")))?
            .into();
        let content_type = ("content-type", "application/json");
        let signable = aws_sigv4::http_request::SignableRequest::new(
            "POST",
            url.as_str(),
            std::iter::once(content_type),
            aws_sigv4::http_request::SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| (None, format!("cannot sign for Security Hub: {e}")))?;
        let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
            .map_err(|e| (None, format!("cannot sign for Security Hub: {e}")))?
            .into_parts();
        let request = instructions
            .headers()
            .fold(self.client.post(&url), |r, (k, v)| r.header(k, v))
            .header(content_type.0, content_type.1)
            .body(body);
        exchange(target, request, "Security Hub").await
    }
}

/// A failed request: the receiver's status when it answered, and why.
pub(super) type Failure = (Option<u16>, String);

/// Sends `request` to `target`: the status and the answer (JSON, `Null`
/// when it is not) of a 2xx, else the status and the first 300 characters
/// of what `who` said. Errors name the target's shown URL and never the
/// request's, which may hold a secret.
pub(super) async fn exchange(
    target: &Target,
    request: reqwest::RequestBuilder,
    who: &str,
) -> Result<(u16, Value), Failure> {
    let response = request.send().await.map_err(|e| {
        (
            None,
            format!(
                "cannot deliver to {}: {}",
                target.shown_url(),
                vigia_engine::error_chain(&e.without_url())
            ),
        )
    })?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        let said: String = text.chars().take(300).collect();
        return Err((
            Some(status.as_u16()),
            format!("{who} answered {status}: {said}"),
        ));
    }
    Ok((
        status.as_u16(),
        serde_json::from_str(&text).unwrap_or(Value::Null),
    ))
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
        "Vigia Findings Summary" => {
            let counts = &detail["finding-severity-counts"];
            let by: Vec<String> = [
                "CRITICAL",
                "HIGH",
                "MEDIUM",
                "LOW",
                "INFORMATIONAL",
                "UNTRIAGED",
            ]
            .iter()
            .filter_map(|s| counts.get(*s).map(|n| format!("{} {n}", s.to_lowercase())))
            .collect();
            format!(
                "{} findings opened on `{resource}` ({}); cause: {}",
                detail["opened"],
                by.join(", "),
                text(detail, "cause")
            )
        }
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
        // A summary's breakdown adds up to its total: untriaged too.
        let summary = json!({"detail-type": "Vigia Findings Summary", "resources": ["host-1"],
            "detail": {"opened": 29, "cause": "scan 4", "finding-severity-counts":
                {"MEDIUM": 2, "LOW": 11, "UNTRIAGED": 16, "TOTAL": 29}}});
        let text = slack_text(&summary);
        assert!(
            text.contains("29 findings opened on `host-1` (medium 2, low 11, untriaged 16)"),
            "{text}"
        );
    }
}
