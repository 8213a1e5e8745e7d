//! `/v1/agent/checkin` (what `vigia agent` sends) and `/v1/agents`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use super::{ApiError, ApiResult};
use crate::service::Service;
use crate::service::agents::CheckinRefusal;

/// The largest check-in taken: a whole inventory of a large host.
pub(super) const MAX_CHECKIN_BYTES: usize = 64 << 20;

/// `POST /v1/agent/checkin`: a [`vigia_agent::Checkin`].
pub(super) async fn checkin(
    State(svc): State<Arc<Service>>,
    extensions: axum::http::Extensions,
    bytes: axum::body::Bytes,
) -> ApiResult {
    let checkin: vigia_agent::Checkin = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::validation(format!("the body is not a check-in: {e}")))?;
    // An agent token is bound to the hosts it speaks for; an admin's is not.
    let token = extensions
        .get::<super::Caller>()
        .filter(|c| c.role == crate::auth::Role::Agent)
        .and_then(|c| c.token_id.clone());
    match svc
        .agent_checkin(checkin, token.as_deref())
        .await
        .map_err(|e| ApiError::internal(&vigia_engine::error_chain(&e)))?
    {
        Ok(accepted) => Ok(axum::Json(json!(accepted))),
        Err(CheckinRefusal::Invalid(m)) => Err(ApiError::validation(m)),
        Err(CheckinRefusal::UnknownBase) => Err(ApiError {
            status: StatusCode::CONFLICT,
            kind: "ConflictException",
            message:
                "the service does not hold the inventory this difference is against: send all of it"
                    .into(),
        }),
        Err(CheckinRefusal::OtherToken(host)) => Err(ApiError::denied(format!(
            "the host {host} checks in with another agent token: revoke that token (or delete the host) to move it to this one"
        ))),
        Err(CheckinRefusal::NotReady) => Err(ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            kind: "ServiceQuotaExceededException",
            message: "no advisory generation is loaded yet: check in again later".into(),
        }),
    }
}

/// `GET /v1/agents`: every agent's host, its facts and last check-in.
pub(super) async fn list(State(svc): State<Arc<Service>>) -> ApiResult {
    let agents = svc
        .agents()
        .await
        .map_err(|e| ApiError::internal(&vigia_engine::error_chain(&e)))?;
    Ok(axum::Json(json!({ "agents": agents })))
}
