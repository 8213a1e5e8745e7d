//! `/v1/registries`: registries the service finds images in (see
//! `crate::registries` and `crate::service::registries`), and the endpoint
//! their push notifications are sent to.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use serde_json::json;

use super::{ApiError, ApiResult, body, source_of};
use crate::registries::Registry;
use crate::service::Service;

/// `GET /v1/registries`: every registry, without passwords, with its last
/// sync's time and error.
pub(super) async fn list(State(svc): State<Arc<Service>>) -> ApiResult {
    let registries: Vec<_> = svc
        .db
        .registries()
        .await?
        .iter()
        .map(|s| {
            s.registry
                .shown(s.synced_at.as_deref(), s.sync_error.as_deref())
        })
        .collect();
    Ok(axum::Json(json!({ "registries": registries })))
}

/// `POST /v1/registries/create {name, url, …}`: adds a registry (or
/// replaces the configuration of the one of that name) and syncs it.
pub(super) async fn create(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let req = body(&bytes)?;
    let registry = Registry::parse(&req).map_err(ApiError::validation)?;
    svc.add_registry(&registry)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(axum::Json(json!({
        "registry": registry.shown(None, None),
        "notificationPath": format!("/v1/registries/notifications?registry={}", registry.name),
    })))
}

/// `POST /v1/registries/delete {name}`: its images are terminated.
pub(super) async fn delete(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let req = body(&bytes)?;
    let name = source_of(&req, "name")?;
    if !svc
        .delete_registry(&name)
        .await
        .map_err(|e| ApiError::internal(&e))?
    {
        return Err(ApiError::not_found(format!("no registry {name}")));
    }
    Ok(axum::Json(json!({ "name": name })))
}

/// `POST /v1/registries/sync {name}`: reconciles it with its catalog now.
pub(super) async fn sync(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let req = body(&bytes)?;
    let name = source_of(&req, "name")?;
    if svc.db.registry(&name).await?.is_none() {
        return Err(ApiError::not_found(format!("no registry {name}")));
    }
    svc.sync_soon(&name)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(axum::Json(json!({ "name": name, "queued": true })))
}

/// `POST /v1/registries/notifications?registry=NAME`: Docker
/// Distribution's notification envelope.
pub(super) async fn notifications(
    State(svc): State<Arc<Service>>,
    Query(q): Query<HashMap<String, String>>,
    bytes: axum::body::Bytes,
) -> ApiResult {
    let name = q.get("registry").ok_or_else(|| {
        ApiError::validation("the query parameter registry (its name in Vigia) is required")
    })?;
    let envelope = body(&bytes)?;
    match svc
        .registry_notification(name, &envelope)
        .await
        .map_err(|e| ApiError::internal(&e))?
    {
        None => Err(ApiError::not_found(format!("no registry {name}"))),
        Some(Err(message)) => Err(ApiError::validation(message)),
        Some(Ok(taken)) => Ok(axum::Json(json!({ "registry": name, "taken": taken }))),
    }
}
