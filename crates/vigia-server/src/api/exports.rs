//! Inspector's `CreateFindingsReport`, `GetFindingsReportStatus`,
//! `CancelFindingsReport`, `CreateSbomExport`, `GetSbomExport` and
//! `CancelSbomExport` (see `crate::exports`).

use std::sync::Arc;

use axum::extract::State;
use serde_json::{Value, json};

use super::{ApiError, ApiResult, allowed_keys, body, source_of};
use crate::exports::Destination;
use crate::service::Service;
use crate::service::exports::{FINDINGS, SBOM};

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `POST /reporting/create`.
pub(super) async fn create_report(
    State(svc): State<Arc<Service>>,
    bytes: axum::body::Bytes,
) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/reporting/create")?;
    let format = source_of(&req, "reportFormat")?;
    if !matches!(format.as_str(), "CSV" | "JSON") {
        return Err(ApiError::validation("reportFormat must be CSV or JSON"));
    }
    let destination_json = req.get("s3Destination").cloned().unwrap_or(Value::Null);
    let destination = Destination::parse(&destination_json).map_err(ApiError::validation)?;
    let criteria = req
        .get("filterCriteria")
        .cloned()
        .unwrap_or_else(|| json!({}));
    // The criteria checked now, as /findings/list checks them.
    match crate::listing::list(
        &svc.db,
        &json!({"filterCriteria": criteria, "maxResults": 1}),
    )
    .await
    {
        Err(crate::listing::ListError::Invalid(m)) => return Err(ApiError::validation(m)),
        Err(crate::listing::ListError::Db(e)) => return Err(e.into()),
        Ok(_) => {}
    }
    let id = new_id();
    svc.db
        .create_export(&id, FINDINGS, &format, &destination_json, &criteria)
        .await?;
    tokio::spawn(
        svc.clone()
            .findings_report(id.clone(), format, destination, criteria),
    );
    Ok(axum::Json(json!({ "reportId": id })))
}

fn report_id(req: &Value) -> Result<String, ApiError> {
    source_of(req, "reportId")
}

/// An export's status, in the shape of `GetFindingsReportStatus` (kind
/// `FINDINGS`) or `GetSbomExport` (`SBOM`), which names the destination
/// differently and adds the format.
async fn status(svc: &Service, bytes: &[u8], kind: &str) -> ApiResult {
    let mut req = body(bytes)?;
    allowed_keys(
        &mut req,
        if kind == SBOM {
            "/sbomexport/get"
        } else {
            "/reporting/status/get"
        },
    )?;
    // Without a reportId, Inspector answers for the last findings report
    // (every member of its answer is optional: none yet is `{}`).
    let e = match req.get("reportId") {
        None | Some(Value::Null) if kind == FINDINGS => match svc.db.latest_export(kind).await? {
            Some(e) => e,
            None => return Ok(axum::Json(json!({}))),
        },
        _ => {
            let id = report_id(&req)?;
            svc.db
                .export(&id, kind)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("no report {id}")))?
        }
    };
    let mut out = json!({
        "reportId": e.id,
        "status": e.status,
        "filterCriteria": e.filter,
    });
    if kind == SBOM {
        out["format"] = json!(e.format);
        out["s3Destination"] = e.destination;
    } else {
        out["destination"] = e.destination;
    }
    if let Some(c) = e.error_code {
        out["errorCode"] = json!(c);
    }
    if let Some(m) = e.error_message {
        out["errorMessage"] = json!(m);
    }
    Ok(axum::Json(out))
}

/// `POST /reporting/status/get`.
pub(super) async fn report_status(
    State(svc): State<Arc<Service>>,
    bytes: axum::body::Bytes,
) -> ApiResult {
    status(&svc, &bytes, FINDINGS).await
}

/// `POST /reporting/cancel` and `/sbomexport/cancel`.
pub(super) async fn cancel(
    State(svc): State<Arc<Service>>,
    uri: axum::http::Uri,
    bytes: axum::body::Bytes,
) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, uri.path())?;
    let id = report_id(&req)?;
    let kind = if uri.path().starts_with("/sbomexport") {
        SBOM
    } else {
        FINDINGS
    };
    if svc.db.export(&id, kind).await?.is_none() {
        return Err(ApiError::not_found(format!("no report {id}")));
    }
    if !svc.db.cancel_export(&id, kind).await? {
        return Err(ApiError::validation(format!(
            "report {id} is not in progress"
        )));
    }
    Ok(axum::Json(json!({ "reportId": id })))
}

/// `POST /sbomexport/create`. `CYCLONEDX_1_4` is answered with CycloneDX
/// 1.6, the version Vigia writes.
pub(super) async fn create_sbom(
    State(svc): State<Arc<Service>>,
    bytes: axum::body::Bytes,
) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/sbomexport/create")?;
    let format = source_of(&req, "reportFormat")?;
    if !matches!(format.as_str(), "CYCLONEDX_1_4" | "SPDX_2_3") {
        return Err(ApiError::validation(
            "reportFormat must be CYCLONEDX_1_4 or SPDX_2_3",
        ));
    }
    let destination_json = req.get("s3Destination").cloned().unwrap_or(Value::Null);
    let destination = Destination::parse(&destination_json).map_err(ApiError::validation)?;
    let filter = req
        .get("resourceFilterCriteria")
        .cloned()
        .unwrap_or_else(|| json!({}));
    // Checked now against any resource (a key Vigia's resources lack, a
    // malformed condition).
    let probe = crate::resources::ResourceRecord {
        id: String::new(),
        kind: String::new(),
        source: String::new(),
        origin: String::new(),
        content_hash: None,
        details: Value::Null,
        status_code: String::new(),
        status_reason: String::new(),
        status_message: None,
        inventory_id: None,
        last_scanned_at: None,
        created_at: String::new(),
        updated_at: String::new(),
    };
    crate::exports::resource_matches(&filter, &probe).map_err(ApiError::validation)?;
    let id = new_id();
    svc.db
        .create_export(&id, SBOM, &format, &destination_json, &filter)
        .await?;
    tokio::spawn(
        svc.clone()
            .sbom_export(id.clone(), format, destination, filter),
    );
    Ok(axum::Json(json!({ "reportId": id })))
}

/// `POST /sbomexport/get`.
pub(super) async fn sbom_status(
    State(svc): State<Arc<Service>>,
    bytes: axum::body::Bytes,
) -> ApiResult {
    status(&svc, &bytes, SBOM).await
}
