//! The deployment gate's API: its policy, decisions for pipelines
//! (`/v1/gate/check`, what `vigia gate` calls) and Kubernetes' validating
//! admission webhook (`/v1/admission`).

use std::sync::Arc;

use axum::extract::State;
use serde_json::{Value, json};

use super::{ApiError, ApiResult, allowed_keys, body};
use crate::gate::{Policy, admission};
use crate::service::Service;

/// `GET /v1/gate/policy`.
pub(super) async fn policy(State(svc): State<Arc<Service>>) -> ApiResult {
    let p = svc
        .gate_policy()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(axum::Json(json!({ "policy": p })))
}

/// `POST /v1/gate/policy/update {policy}`.
pub(super) async fn update_policy(
    State(svc): State<Arc<Service>>,
    bytes: axum::body::Bytes,
) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/v1/gate/policy/update")?;
    let p =
        Policy::parse(req.get("policy").unwrap_or(&Value::Null)).map_err(ApiError::validation)?;
    svc.set_gate_policy(&p)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(axum::Json(json!({ "policy": p })))
}

/// `POST /v1/gate/check {images: [...]}`: each image's decision, and
/// whether all may run.
pub(super) async fn check(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/v1/gate/check")?;
    let images: Vec<String> = req
        .get("images")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .filter(|i: &Vec<String>| (1..=100).contains(&i.len()))
        .ok_or_else(|| {
            ApiError::validation("images must be a list of 1 to 100 image references")
        })?;
    let decisions = svc
        .gate(&images)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(axum::Json(json!({
        "allowed": decisions.iter().all(|d| d.allowed),
        "decisions": decisions,
    })))
}

/// `POST /v1/admission`: an `AdmissionReview` answered.
pub(super) async fn review(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let req = body(&bytes)?;
    let (uid, images) = admission::images(&req).map_err(ApiError::validation)?;
    let decisions = match images {
        Some(images) if !images.is_empty() => svc
            .gate(&images)
            .await
            .map_err(|e| ApiError::internal(&e))?,
        _ => Vec::new(),
    };
    Ok(axum::Json(admission::response(&uid, &decisions)))
}
