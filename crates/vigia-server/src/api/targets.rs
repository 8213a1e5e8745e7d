//! `/v1/targets`: where events are delivered (see `crate::delivery`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use base64::Engine as _;
use serde_json::{Value, json};

use super::{ApiError, ApiResult, allowed_keys, body, source_of};
use crate::delivery::{DeliveryState, Target, TargetKind};
use crate::service::Service;

/// The pattern of a target created without one: every event Vigia sends
/// (Inspector's, and Vigia's own summaries).
fn default_pattern() -> Value {
    json!({"source": ["aws.inspector2", "vigia"]})
}

fn int(
    req: &Value,
    key: &str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, ApiError> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_i64().filter(|n| range.contains(n)).ok_or_else(|| {
            ApiError::validation(format!(
                "{key} must be an integer from {} to {}",
                range.start(),
                range.end()
            ))
        }),
    }
}

/// A new signing secret: `whsec_` and the base64 of 32 bytes from the
/// operating system's random numbers.
fn new_secret() -> Result<String, ApiError> {
    let mut bytes = [0_u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| ApiError::internal(&e))?;
    Ok(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

/// A webhook's secret as given: `whsec_` (optional) and the base64 of at
/// least 24 bytes, as Standard Webhooks asks.
fn given_secret(v: &Value) -> Result<String, ApiError> {
    let s = v
        .as_str()
        .ok_or_else(|| ApiError::validation("secret must be a string"))?;
    let key = s.strip_prefix("whsec_").unwrap_or(s);
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(key)
        .map_err(|_| ApiError::validation("secret must be whsec_ followed by base64"))?;
    if decoded.len() < 24 {
        return Err(ApiError::validation(
            "secret must hold at least 24 bytes (Standard Webhooks)",
        ));
    }
    Ok(s.to_owned())
}

/// `POST /v1/targets/create {name, type, url, secret?, pattern?,
/// maxAttempts?, initialBackoffMillis?}`. A webhook given no secret gets
/// one, returned in this answer only.
pub(super) async fn create(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/v1/targets/create")?;
    let kind_name = source_of(&req, "type")?;
    let kind = TargetKind::parse(&kind_name).ok_or_else(|| {
        ApiError::validation(format!(
            "type `{kind_name}` is not one of webhook, slack, securityhub, jira"
        ))
    })?;
    let url = match (kind, req.get("url")) {
        (TargetKind::SecurityHub, None | Some(Value::Null)) => format!(
            "https://securityhub.{}.amazonaws.com",
            req.get("region")
                .and_then(Value::as_str)
                .unwrap_or("us-east-1")
        ),
        _ => source_of(&req, "url")?,
    };
    let parsed = reqwest::Url::parse(&url)
        .map_err(|e| ApiError::validation(format!("url `{url}` is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(ApiError::validation(format!(
            "url `{url}` must be an http or https URL with a host"
        )));
    }
    let name = match req.get("name") {
        None | Some(Value::Null) => parsed.host_str().unwrap_or("target").to_owned(),
        Some(v) => v
            .as_str()
            .filter(|s| !s.trim().is_empty() && s.len() <= 128)
            .ok_or_else(|| ApiError::validation("name must be a string of 1 to 128 characters"))?
            .to_owned(),
    };
    let pattern_json = req.get("pattern").cloned().unwrap_or_else(default_pattern);
    let pattern = vigia_events::EventPattern::parse(&pattern_json)
        .map_err(|e| ApiError::validation(e.to_string()))?;
    let mut options = json!({});
    let (secret, generated) = match (kind, req.get("secret")) {
        (TargetKind::SecurityHub, _) => {
            let given = |key: &str| -> Result<String, ApiError> {
                req.get(key)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        ApiError::validation(format!("a Security Hub target needs {key}"))
                    })
            };
            options = json!({
                "region": given("region")?,
                "accessKeyId": given("accessKeyId")?,
                "accountId": req.get("accountId").and_then(Value::as_str).unwrap_or(vigia_scan::ACCOUNT_ID),
            });
            (Some(given("secretAccessKey")?), false)
        }
        (TargetKind::Jira, _) => {
            let project = req
                .get("project")
                .and_then(Value::as_str)
                .filter(|p| {
                    !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                })
                .ok_or_else(|| {
                    ApiError::validation("a Jira target needs project, a project key (SEC)")
                })?;
            options = json!({
                "project": project,
                "issueType": req.get("issueType").and_then(Value::as_str).unwrap_or("Bug"),
            });
            if let Some(email) = req.get("email").and_then(Value::as_str) {
                options["email"] = json!(email);
            }
            let token = req
                .get("token")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    ApiError::validation(
                        "a Jira target needs token: an API token (with email, Jira Cloud) or a personal access token",
                    )
                })?;
            (Some(token.to_owned()), false)
        }
        (TargetKind::Slack, None | Some(Value::Null)) => (None, false),
        (TargetKind::Slack, Some(_)) => {
            return Err(ApiError::validation(
                "a Slack target takes no secret: its URL is the secret",
            ));
        }
        (TargetKind::Webhook, None | Some(Value::Null)) => (Some(new_secret()?), true),
        (TargetKind::Webhook, Some(v)) => (Some(given_secret(v)?), false),
    };
    let target = Target {
        id: format!("tgt-{}", uuid::Uuid::new_v4().simple()),
        name,
        kind,
        url,
        secret,
        options,
        pattern,
        pattern_json,
        max_attempts: int(&req, "maxAttempts", 10, 1..=100)?,
        backoff_ms: int(&req, "initialBackoffMillis", 2_000, 10..=3_600_000)?,
        created_at: jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
    };
    svc.db.create_target(&target).await?;
    let mut out = json!({ "target": target.to_json() });
    if generated {
        out["secret"] = json!(target.secret);
    }
    Ok(axum::Json(out))
}

/// `GET /v1/targets`.
pub(super) async fn list(State(svc): State<Arc<Service>>) -> ApiResult {
    let targets: Vec<Value> = svc
        .db
        .targets()
        .await?
        .iter()
        .map(Target::to_json)
        .collect();
    Ok(axum::Json(json!({ "targets": targets })))
}

/// `POST /v1/targets/delete {id}`.
pub(super) async fn delete(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/v1/targets/delete")?;
    let id = source_of(&req, "id")?;
    if !svc.db.delete_target(&id).await? {
        return Err(ApiError::not_found(format!("no target {id}")));
    }
    Ok(axum::Json(json!({ "id": id })))
}

/// `GET /v1/targets/deliveries?id=…[&state=DEAD][&maxResults=N]`.
pub(super) async fn deliveries(
    State(svc): State<Arc<Service>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let id = q
        .get("id")
        .ok_or_else(|| ApiError::validation("id is required"))?;
    if svc.db.target(id).await?.is_none() {
        return Err(ApiError::not_found(format!("no target {id}")));
    }
    let state = match q.get("state") {
        None => None,
        Some(s) => Some(DeliveryState::parse(s).ok_or_else(|| {
            ApiError::validation(format!(
                "state `{s}` is not one of PENDING, DELIVERED, DEAD"
            ))
        })?),
    };
    let limit = match q.get("maxResults") {
        None => 100,
        Some(n) => n
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| ApiError::validation("maxResults must be from 1 to 1000"))?,
    };
    Ok(axum::Json(json!({
        "deliveries": svc.db.deliveries(id, state, limit).await?,
    })))
}

/// `POST /v1/targets/replay {id, eventIds?}`: dead letters due again.
pub(super) async fn replay(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/v1/targets/replay")?;
    let id = source_of(&req, "id")?;
    if svc.db.target(&id).await?.is_none() {
        return Err(ApiError::not_found(format!("no target {id}")));
    }
    let events: Option<Vec<String>> = match req.get("eventIds") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value(v.clone())
                .map_err(|_| ApiError::validation("eventIds must be a list of event IDs"))?,
        ),
    };
    let n = svc.db.replay(&id, events.as_deref()).await?;
    Ok(axum::Json(json!({ "id": id, "replayed": n })))
}
