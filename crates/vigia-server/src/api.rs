//! The HTTP API: Inspector's operations at Inspector's paths (`POST
//! /findings/list`, `/coverage/list`, `/filters/…`), Vigia's own under
//! `/v1`, and `/healthz`, `/readyz`, `/metrics`.
//!
//! Every request but `/healthz` and `/readyz` needs a token (`Authorization:
//! Bearer vgt_…`): viewers read, admins also write. Errors are Inspector's
//! `{"message": …}` with its error type in `x-amzn-ErrorType`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sha2::Digest as _;
use sqlx::Row;

use crate::auth::Role;
use crate::criteria::Criteria;
use crate::service::Service;

mod agents;
mod exports;
mod filters;
mod gate;
mod registries;
mod targets;

/// An API error in Inspector's shape.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl ApiError {
    fn validation(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "ValidationException",
            message: message.into(),
        }
    }

    fn denied(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            kind: "AccessDeniedException",
            message: message.into(),
        }
    }

    fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            kind: "ResourceNotFoundException",
            message: message.into(),
        }
    }

    fn internal(e: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %e, "request failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            kind: "InternalServerException",
            message: "the request failed inside the service; its log says why".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status, axum::Json(json!({ "message": self.message }))).into_response();
        r.headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(self.kind));
        r
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        // The log gets the whole chain: the database's own words.
        Self::internal(&vigia_engine::error_chain(&e))
    }
}

type ApiResult = Result<axum::Json<Value>, ApiError>;

fn unauthorized(message: &str) -> Response {
    let mut r = ApiError {
        status: StatusCode::UNAUTHORIZED,
        kind: "AccessDeniedException",
        message: message.to_owned(),
    }
    .into_response();
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

/// The largest body a signed request may carry (it is read whole to check
/// its hash).
const MAX_SIGNED_BODY: usize = 4 << 20;

/// Checks a request signed with AWS Signature Version 4: its token's role,
/// and the request with its body put back.
async fn signed(
    svc: &Service,
    req: Request,
    header_value: &str,
) -> Result<(Role, Request), Response> {
    let auth = crate::sigv4::parse(header_value)
        .ok_or_else(|| unauthorized("a malformed AWS4-HMAC-SHA256 Authorization header"))?;
    let role = match svc.db.token_role(&auth.access_key).await {
        Ok(Some(r)) => r,
        Ok(None) => return Err(unauthorized("the access key is not an active token")),
        Err(e) => return Err(ApiError::internal(&e).into_response()),
    };
    let amz_date = req
        .headers()
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| unauthorized("a signed request needs X-Amz-Date"))?;
    // Fifteen minutes either way, as AWS allows.
    let fresh = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", &amz_date)
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .is_some_and(|t| {
            (jiff::Timestamp::now().as_second() - t.timestamp().as_second()).abs() <= 900
        });
    if !fresh || !amz_date.starts_with(&auth.date) {
        return Err(unauthorized(
            "the signature's date is not within fifteen minutes of now",
        ));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_SIGNED_BODY)
        .await
        .map_err(|_| ApiError::validation("the body is too large").into_response())?;
    // The body is signed through its digest: computed here, never taken
    // from the request. A client that sends its own digest (as S3's do)
    // must send the body's, and `UNSIGNED-PAYLOAD` is refused: an API that
    // writes must not run a body nobody signed.
    let payload = hex::encode(sha2::Sha256::digest(&bytes));
    if let Some(claimed) = parts.headers.get("x-amz-content-sha256")
        && !claimed.as_bytes().eq_ignore_ascii_case(payload.as_bytes())
    {
        return Err(unauthorized(
            "the body does not match its X-Amz-Content-Sha256 (unsigned bodies are refused)",
        ));
    }
    let canonical = crate::sigv4::canonical_request(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query(),
        &parts.headers,
        &auth.signed_headers,
        &payload,
    );
    let secret = crate::sigv4::secret_for(&svc.service_key, &auth.access_key);
    let expected = crate::sigv4::signature(&secret, &auth, &amz_date, &canonical);
    if !auth.signed_headers.iter().any(|h| h == "host")
        || !crate::sigv4::same(&expected, &auth.signature)
    {
        return Err(unauthorized("the signature does not match"));
    }
    Ok((
        role,
        Request::from_parts(parts, axum::body::Body::from(bytes)),
    ))
}

async fn authenticate(State(svc): State<Arc<Service>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let open = crate::openapi::OPERATIONS
        .iter()
        .any(|(_, p, a, ..)| *p == path && *a == crate::openapi::Access::Open);
    if open {
        return next.run(req).await;
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let internal = req.extensions().get::<Internal>().map(|i| i.0);
    let bearer_id = presented
        .as_deref()
        .and_then(bearer)
        .and_then(|t| t.strip_prefix("vgt_"))
        .and_then(|t| t.split_once('_'))
        .map(|(id, _)| id.to_owned());
    let signed_id = presented
        .as_deref()
        .filter(|h| h.starts_with("AWS4-HMAC-SHA256"))
        .and_then(crate::sigv4::parse)
        .map(|a| a.access_key);
    let (role, mut req) = match presented.as_deref() {
        // The dashboard's own calls, for its signed-in session's role.
        _ if internal.is_some() => (internal.unwrap_or(Role::Viewer), req),
        Some(h) if bearer(h).is_some() => {
            match svc.db.check_token(bearer(h).unwrap_or_default()).await {
                Ok(Some(role)) => (role, req),
                Ok(None) => return unauthorized("the token is unknown, revoked or malformed"),
                Err(e) => return ApiError::internal(&e).into_response(),
            }
        }
        Some(h) if h.starts_with("AWS4-HMAC-SHA256") => match signed(&svc, req, h).await {
            Ok(x) => x,
            Err(r) => return r,
        },
        _ => {
            return unauthorized(
                "a token is required: Authorization: Bearer vgt_… (vigia token create), or a request signed with its SigV4 key",
            );
        }
    };
    // Access from the operations table; an unknown route is answered 404
    // by the router, whoever asks.
    let access = crate::openapi::OPERATIONS
        .iter()
        .find(|(m, p, ..)| *p == path && m.eq_ignore_ascii_case(req.method().as_str()))
        .map(|(_, _, a, ..)| *a);
    let write = access == Some(crate::openapi::Access::Write);
    let push = access == Some(crate::openapi::Access::Push);
    let allowed = match role {
        Role::Admin => true,
        Role::Viewer => !write && !push,
        Role::Agent => push,
    };
    if !allowed {
        let role = role.as_str();
        let article = if role.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        return ApiError::denied(format!("{article} {role} token cannot do this")).into_response();
    }
    req.extensions_mut().insert(Caller {
        role,
        token_id: if internal.is_some() {
            None
        } else {
            bearer_id.or(signed_id)
        },
    });
    next.run(req).await
}

/// Who made a request, for the operations that depend on it (an agent's
/// check-in is bound to its token).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The role it was answered for.
    pub role: Role,
    /// The token's ID; none for the dashboard's own calls.
    pub token_id: Option<String>,
}

/// Marks a request made inside the process by the dashboard for a signed-in
/// session: it is answered for that role, as a token of the role would be.
/// Only code in this process can attach it (it is a request extension, not
/// a header).
#[derive(Debug, Clone, Copy)]
pub struct Internal(pub Role);

/// A JSON body, with Inspector's error for one that is not.
fn body(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::validation(format!("the body is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::validation("the body must be a JSON object"));
    }
    Ok(v)
}

fn max_results(v: &Value, max: i64) -> Result<i64, ApiError> {
    match v.get("maxResults") {
        None | Some(Value::Null) => Ok(max),
        Some(n) => match n.as_i64() {
            Some(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::validation(format!(
                "maxResults must be an integer from 1 to {max}"
            ))),
        },
    }
}

/// The token of an `Authorization: Bearer …` header. The scheme's name is
/// case-insensitive (RFC 9110, section 11.1): `bearer` is as good.
fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("Bearer")
        .then(|| token.trim_start_matches(' '))
}

/// Refuses a body with a member the operation at `path` does not take
/// (its members as the OpenAPI document declares them:
/// [`crate::openapi::REQUESTS`]), and drops its optional members given as
/// `null` ([`crate::openapi::check_body`]).
fn allowed_keys(v: &mut Value, path: &str) -> Result<(), ApiError> {
    crate::openapi::check_body(v, path).map_err(ApiError::validation)
}

/// `POST /findings/list` (see [`crate::listing`]). Keys are ANDed; within
/// a key, `EQUALS` and `PREFIX` values are ORed and `NOT_EQUALS` values
/// ANDed. Every status is listed unless `findingStatus` says otherwise.
async fn list_findings(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let req = body(&bytes)?;
    match crate::listing::list(&svc.db, &req).await {
        Ok(out) => Ok(axum::Json(out)),
        Err(crate::listing::ListError::Invalid(m)) => Err(ApiError::validation(m)),
        Err(crate::listing::ListError::Db(e)) => Err(e.into()),
    }
}

/// A request's `CoverageFilterCriteria`, read strictly (Inspector's model:
/// `EQUALS` and `NOT_EQUALS` only, 1 to 10 filters a key).
fn coverage_criteria(req: &Value) -> Result<Criteria, ApiError> {
    Criteria::parse_in(
        req.get("filterCriteria").unwrap_or(&Value::Null),
        &crate::criteria::COVERAGE,
    )
    .map_err(|e| ApiError::validation(e.0))
}

/// The resources `criteria` select, as `CoveredResource`s: one for each
/// resource, as Inspector lists them.
async fn covered(svc: &Service, criteria: &Criteria) -> Result<Vec<Value>, ApiError> {
    Ok(one_per_resource(svc.db.resources().await?)
        .iter()
        .map(covered_item)
        .filter(|item| criteria.matches(item))
        .collect())
}

/// One record for each resource ID. A resource read from several sources
/// (copies of one image, or an image moved to another path, its old path
/// terminated) is its live source's, the one scanned last: coverage says
/// what is true of the resource, not of each path it was ever read from.
fn one_per_resource(
    records: Vec<crate::resources::ResourceRecord>,
) -> Vec<crate::resources::ResourceRecord> {
    let rank = |r: &crate::resources::ResourceRecord| {
        (
            !crate::resources::retired(&r.status_reason),
            r.last_scanned_at.clone(),
        )
    };
    let mut kept: BTreeMap<String, usize> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        match kept.get(&r.id) {
            Some(&k) if rank(&records[k]) >= rank(r) => {}
            _ => {
                kept.insert(r.id.clone(), i);
            }
        }
    }
    let keep: BTreeSet<usize> = kept.into_values().collect();
    records
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, r)| r)
        .collect()
}

/// The item the request's `nextToken` names ([`crate::pages`]), for the
/// query `tag`; `None` on a first page.
pub(crate) fn page_after(req: &Value, tag: &str) -> Result<Option<Value>, ApiError> {
    crate::pages::take(req, tag).map_err(|e| ApiError::validation(e.message()))
}

/// A resource's `CoveredResource`, as `/coverage/list` answers it and as
/// coverage filters read it.
fn covered_item(r: &crate::resources::ResourceRecord) -> Value {
    let mut item = json!({
        "resourceType": r.kind,
        "resourceId": r.id,
        "accountId": vigia_scan::ACCOUNT_ID,
        "scanType": "PACKAGE",
        "scanStatus": {"statusCode": r.status_code, "reason": r.status_reason},
    });
    if r.kind == "AWS_EC2_INSTANCE" {
        // A host's packages are read by its agent or from its file system.
        item["scanMode"] = json!(if r
            .source
            .starts_with(&crate::service::agents::agent_source(""))
        {
            "EC2_SSM_AGENT_BASED"
        } else {
            "EC2_AGENTLESS"
        });
    }
    if let Some(at) = &r.last_scanned_at {
        item["lastScannedAt"] = json!(at);
    }
    let meta = resource_metadata(r);
    if !meta.is_null() {
        item["resourceMetadata"] = meta;
    }
    item
}

/// Inspector's `ResourceScanMetadata` of a resource, from its details:
/// `ecrRepository` and `ecrImage` of an image, `lambdaFunction` of a
/// function, `ec2` of a host.
fn resource_metadata(r: &crate::resources::ResourceRecord) -> Value {
    let d = &r.details["details"];
    if let Some(img) = d.get("awsEcrContainerImage") {
        let mut image =
            json!({ "tags": img.get("imageTags").cloned().unwrap_or_else(|| json!([])) });
        if let Some(at) = img.get("pushedAt") {
            image["imagePushedAt"] = at.clone();
        }
        return json!({
            "ecrRepository": {"name": img.get("repositoryName").cloned().unwrap_or(Value::Null)},
            "ecrImage": image,
        });
    }
    if let Some(f) = d.get("awsLambdaFunction") {
        let mut m = json!({
            "functionName": f.get("functionName").cloned().unwrap_or(Value::Null),
            "runtime": f.get("runtime").cloned().unwrap_or(Value::Null),
        });
        if let Some(layers) = f.get("layers") {
            m["layers"] = layers.clone();
        }
        return json!({ "lambdaFunction": m });
    }
    if d.get("awsEc2Instance").is_some() {
        return json!({ "ec2": {"platform": "LINUX"} });
    }
    Value::Null
}

/// `POST /coverage/list`.
async fn list_coverage(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/coverage/list")?;
    let limit = usize::try_from(max_results(&req, 200)?).unwrap_or(200);
    let tag = crate::pages::query_tag(&req);
    let after = page_after(&req, &tag)?;
    let criteria = coverage_criteria(&req)?;
    let mut covered = covered(&svc, &criteria).await?;
    // One record per resource ID, listed by it: a page's token names its
    // last resource.
    covered.sort_by(|a, b| a["resourceId"].as_str().cmp(&b["resourceId"].as_str()));
    let start = match after {
        None => 0,
        Some(Value::String(id)) => {
            let ids: Vec<&str> = covered
                .iter()
                .map(|c| c["resourceId"].as_str().unwrap_or_default())
                .collect();
            crate::pages::start_after(&ids, &id.as_str())
        }
        Some(_) => {
            return Err(ApiError::validation(
                crate::pages::TokenError::NotOurs.message(),
            ));
        }
    };
    let page: Vec<Value> = covered.iter().skip(start).take(limit).cloned().collect();
    let mut out = json!({ "coveredResources": page });
    if start + limit < covered.len()
        && let Some(last) = page.last()
    {
        out["nextToken"] = json!(crate::pages::give(&last["resourceId"], &tag));
    }
    Ok(axum::Json(out))
}

/// `POST /findings/aggregation/list`.
async fn list_aggregations(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/findings/aggregation/list")?;
    let kind = match req.get("aggregationType") {
        None | Some(Value::Null) => {
            return Err(ApiError::validation("aggregationType is required"));
        }
        Some(v) => v.as_str().ok_or_else(|| {
            ApiError::validation(format!(
                "aggregationType must be one of {}",
                crate::aggregate::TYPES.join(", ")
            ))
        })?,
    };
    let limit = usize::try_from(max_results(&req, 100)?).unwrap_or(100);
    let tag = crate::pages::query_tag(&req);
    let token = match page_after(&req, &tag)? {
        None => None,
        Some(Value::String(t)) => Some(t),
        Some(_) => {
            return Err(ApiError::validation(
                crate::pages::TokenError::NotOurs.message(),
            ));
        }
    };
    let mut aggregation = crate::aggregate::Aggregation::new(
        kind,
        req.get("aggregationRequest").unwrap_or(&Value::Null),
    )
    .map_err(ApiError::validation)?;
    let mine =
        crate::aggregate::account_passes(req.get("accountIds")).map_err(ApiError::validation)?;
    // A page starts after the group its token names, once groups are counted.
    let start_of = |a: &crate::aggregate::Aggregation| match &token {
        None => Ok(0),
        Some(t) => a
            .start_after(t)
            .ok_or_else(|| ApiError::validation("nextToken is not one this service gave")),
    };
    let mut start = 0;
    if !mine {
        // Another account's findings: none here.
    } else if aggregation.by_columns() {
        aggregation.count_stored(&svc.db).await?;
        start = start_of(&aggregation)?;
        aggregation.resources_on_page(&svc.db, start, limit).await?;
    } else {
        // Filtered by what only bodies say: active findings (the only ones
        // counted) streamed, one body in memory at a time.
        let mut rows =
            sqlx::query("SELECT body FROM findings WHERE status = 'ACTIVE'").fetch(svc.db.pool());
        while let Some(r) = futures_util::TryStreamExt::try_next(&mut rows)
            .await
            .map_err(|e| ApiError::internal(&e))?
        {
            let body: String = r.try_get("body").map_err(|e| ApiError::internal(&e))?;
            let f: Value = serde_json::from_str(&body).map_err(|e| ApiError::internal(&e))?;
            aggregation.add(&f);
        }
        start = start_of(&aggregation)?;
    }
    let next = (start + limit < aggregation.len())
        .then(|| aggregation.token_after(start + limit - 1))
        .flatten()
        .map(|t| crate::pages::give(&json!(t), &tag));
    let groups = aggregation.finish();
    let page: Vec<Value> = groups.iter().skip(start).take(limit).cloned().collect();
    let mut out = json!({ "aggregationType": kind, "responses": page });
    if let Some(t) = next {
        out["nextToken"] = json!(t);
    }
    Ok(axum::Json(out))
}

/// [`crate::resources::retired`]'s reasons, as SQL.
const RETIRED_REASONS: &str = "'RESOURCE_TERMINATED', 'SCAN_ELIGIBILITY_EXPIRED'";

/// What `/coverage/statistics/list` groups by.
pub(crate) const COVERAGE_GROUPS: &[&str] = &[
    "SCAN_STATUS_CODE",
    "SCAN_STATUS_REASON",
    "RESOURCE_TYPE",
    "ACCOUNT_ID",
    "ECR_REPOSITORY_NAME",
    // The newest model's multi-cloud groups: no resource of Vigia's has
    // one, so every resource is in the total and in no group.
    "PROVIDER",
    "PROVIDER_ACCOUNT_ID",
    "PROVIDER_REGION",
    "PROVIDER_ORG_ID",
];

/// Where a group's value is read from, in a `CoveredResource`.
fn group_pointer(group: &str) -> Option<&'static str> {
    match group {
        "SCAN_STATUS_CODE" => Some("/scanStatus/statusCode"),
        "SCAN_STATUS_REASON" => Some("/scanStatus/reason"),
        "RESOURCE_TYPE" => Some("/resourceType"),
        "ACCOUNT_ID" => Some("/accountId"),
        "ECR_REPOSITORY_NAME" => Some("/resourceMetadata/ecrRepository/name"),
        "PROVIDER" | "PROVIDER_ACCOUNT_ID" | "PROVIDER_REGION" | "PROVIDER_ORG_ID" => Some("/-"),
        _ => None,
    }
}

/// `POST /coverage/statistics/list`: resources counted per group. Each
/// count's group value is in `vigiaGroupValue` (Inspector's model names
/// only the key).
async fn coverage_statistics(
    State(svc): State<Arc<Service>>,
    bytes: axum::body::Bytes,
) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/coverage/statistics/list")?;
    // Every group is answered at once: no token was given to come back with.
    if req.get("nextToken").is_some_and(|t| !t.is_null()) {
        return Err(ApiError::validation(
            "nextToken is not one this service gave",
        ));
    }
    let bad_group =
        || ApiError::validation(format!("groupBy is one of {}", COVERAGE_GROUPS.join(", ")));
    let group = match req.get("groupBy") {
        None | Some(Value::Null) => None,
        Some(g) => Some(g.as_str().ok_or_else(bad_group)?),
    };
    let pointer = match group {
        None => None,
        Some(g) => Some(group_pointer(g).ok_or_else(bad_group)?),
    };
    let criteria = coverage_criteria(&req)?;
    if criteria.is_empty()
        && matches!(
            group,
            None | Some("SCAN_STATUS_CODE" | "SCAN_STATUS_REASON" | "RESOURCE_TYPE" | "ACCOUNT_ID")
        )
    {
        // No filter: counted by the database from the records' columns,
        // each resource once, by the record `/coverage/list` shows (see
        // `one_per_resource`: live before retired, then scanned last, then
        // the first source).
        let sql = match group {
            Some(g @ ("SCAN_STATUS_CODE" | "SCAN_STATUS_REASON" | "RESOURCE_TYPE")) => {
                let column = match g {
                    "SCAN_STATUS_CODE" => "status_code",
                    "SCAN_STATUS_REASON" => "status_reason",
                    _ => "kind",
                };
                format!(
                    "SELECT {column} AS v, COUNT(*) AS n FROM (\
                       SELECT {column}, ROW_NUMBER() OVER (PARTITION BY id ORDER BY \
                         CASE WHEN status_reason IN ({RETIRED_REASONS}) THEN 1 ELSE 0 END, \
                         last_scanned_at DESC NULLS LAST, source) AS nth \
                       FROM resources) live \
                     WHERE nth = 1 GROUP BY {column} ORDER BY {column}"
                )
            }
            // One account, or no grouping: all of them.
            _ => "SELECT 'all' AS v, COUNT(DISTINCT id) AS n FROM resources".to_owned(),
        };
        let rows = sqlx::query(&sql)
            .fetch_all(svc.db.pool())
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let mut total = 0i64;
        let mut by = Vec::new();
        for r in rows {
            let v: String = r.try_get("v").map_err(|e| ApiError::internal(&e))?;
            let n: i64 = r.try_get("n").map_err(|e| ApiError::internal(&e))?;
            total += n;
            let v = if group == Some("ACCOUNT_ID") {
                vigia_scan::ACCOUNT_ID.to_owned()
            } else {
                v
            };
            if group.is_some() && n > 0 {
                by.push(json!({"count": n, "groupKey": group, "vigiaGroupValue": v}));
            }
        }
        return Ok(axum::Json(
            json!({ "countsByGroup": by, "totalCounts": total }),
        ));
    }
    let covered = covered(&svc, &criteria).await?;
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for item in &covered {
        // A resource without the group's value (a function, by repository)
        // is in the total and in no group.
        if let Some(v) = pointer
            .and_then(|p| item.pointer(p))
            .and_then(Value::as_str)
        {
            *counts.entry(v.to_owned()).or_default() += 1;
        }
    }
    let by: Vec<Value> = counts
        .into_iter()
        .map(|(v, n)| json!({"count": n, "groupKey": group, "vigiaGroupValue": v}))
        .collect();
    Ok(axum::Json(
        json!({ "countsByGroup": by, "totalCounts": covered.len() }),
    ))
}

/// `POST /findings/details/batch/get`: KEV and EPSS per finding.
async fn finding_details(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/findings/details/batch/get")?;
    let arns: Vec<&str> = req
        .get("findingArns")
        .and_then(Value::as_array)
        .filter(|a| (1..=10).contains(&a.len()))
        .and_then(|a| {
            a.iter()
                .map(|x| x.as_str().filter(|s| (1..=100).contains(&s.len())))
                .collect()
        })
        .ok_or_else(|| {
            ApiError::validation(
                "findingArns is a list of 1 to 10 finding ARNs (1 to 100 characters)",
            )
        })?;
    let (mut details, mut errors) = (Vec::new(), Vec::new());
    for arn in arns {
        let row = sqlx::query("SELECT body FROM findings WHERE arn = $1")
            .bind(arn)
            .fetch_optional(svc.db.pool())
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let Some(row) = row else {
            errors.push(json!({"findingArn": arn, "errorCode": "FINDING_DETAILS_NOT_FOUND", "errorMessage": "no such finding"}));
            continue;
        };
        let body: String = row.try_get("body").map_err(|e| ApiError::internal(&e))?;
        let f: Value = serde_json::from_str(&body).map_err(|e| ApiError::internal(&e))?;
        let mut d = json!({ "findingArn": arn });
        if let Some(kev) = f.pointer("/vigia/kev").filter(|k| !k.is_null()) {
            d["cisaData"] = json!({"dateAdded": kev["dateAdded"], "dateDue": kev["dueDate"], "action": kev["requiredAction"]});
            d["exploitObserved"] = json!({"firstSeen": kev["dateAdded"]});
        }
        if let Some(e) = f.pointer("/epss/score") {
            d["epssScore"] = e.clone();
        }
        if let Some(r) = f.pointer("/packageVulnerabilityDetails/referenceUrls") {
            d["referenceUrls"] = r.clone();
        }
        details.push(d);
    }
    Ok(axum::Json(
        json!({ "findingDetails": details, "errors": errors }),
    ))
}

/// `GET /v1/findings/history?arn=…`: a finding and its history.
async fn finding_history(
    State(svc): State<Arc<Service>>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> ApiResult {
    let arn = q
        .get("arn")
        .ok_or_else(|| ApiError::validation("arn is required"))?;
    let row = sqlx::query("SELECT body FROM findings WHERE arn = $1")
        .bind(arn)
        .fetch_optional(svc.db.pool())
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| ApiError::not_found(format!("no finding {arn}")))?;
    let body: String = row.try_get("body").map_err(|e| ApiError::internal(&e))?;
    Ok(axum::Json(json!({
        "finding": serde_json::from_str::<Value>(&body).unwrap_or(Value::Null),
        "history": svc.db.history(arn).await?,
    })))
}

/// `GET /v1/resource?id=…`: one resource, its inventory and its scans.
async fn get_resource(
    State(svc): State<Arc<Service>>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> ApiResult {
    let id = q
        .get("id")
        .ok_or_else(|| ApiError::validation("id is required"))?;
    let r = svc
        .db
        .resource(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no resource {id}")))?;
    let inventory = match &r.inventory_id {
        Some(i) => svc.db.inventory(i).await?.map(|mut inv| {
            // Stored without its target (shared by equal contents).
            inv.target.clone_from(&r.source);
            serde_json::to_value(inv).unwrap_or(Value::Null)
        }),
        None => None,
    };
    let rows = sqlx::query(
        "SELECT id, kind, started_at, finished_at, outcome, generation, message, opened, closed FROM scans WHERE resource_id = $1 ORDER BY started_at DESC",
    )
    .bind(id)
    .fetch_all(svc.db.pool())
    .await
    .map_err(|e| ApiError::internal(&e))?;
    let scans: Vec<Value> = rows
        .iter()
        .map(|s| {
            json!({
                "id": s.try_get::<String, _>("id").unwrap_or_default(),
                "kind": s.try_get::<String, _>("kind").unwrap_or_default(),
                "startedAt": s.try_get::<String, _>("started_at").unwrap_or_default(),
                "finishedAt": s.try_get::<Option<String>, _>("finished_at").unwrap_or_default(),
                "outcome": s.try_get::<String, _>("outcome").unwrap_or_default(),
                "generation": s.try_get::<Option<i64>, _>("generation").unwrap_or_default(),
                "message": s.try_get::<Option<String>, _>("message").unwrap_or_default(),
                "opened": s.try_get::<i64, _>("opened").unwrap_or_default(),
                "closed": s.try_get::<i64, _>("closed").unwrap_or_default(),
            })
        })
        .collect();
    Ok(axum::Json(
        json!({ "resource": r, "inventory": inventory, "scans": scans }),
    ))
}

fn source_of(req: &Value, key: &str) -> Result<String, ApiError> {
    req.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::validation(format!("{key} is required")))
}

/// `GET /v1/resource/sbom?id=…&format=cyclonedx|spdx`: a resource's SBOM,
/// from its stored inventory, as a download.
async fn resource_sbom(
    State(svc): State<Arc<Service>>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let id = q
        .get("id")
        .ok_or_else(|| ApiError::validation("id is required"))?;
    let format = q.get("format").map_or("cyclonedx", String::as_str);
    if !matches!(format, "cyclonedx" | "spdx") {
        return Err(ApiError::validation("format is cyclonedx or spdx"));
    }
    let r = svc
        .db
        .resource(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no resource {id}")))?;
    let inventory = match &r.inventory_id {
        Some(i) => svc.db.inventory(i).await?,
        None => None,
    };
    let mut inv = inventory.ok_or_else(|| {
        ApiError::not_found(format!(
            "{id} has no stored inventory (it was never scanned successfully)"
        ))
    })?;
    inv.target.clone_from(&r.id);
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let version = env!("CARGO_PKG_VERSION");
    let (doc, ext) = if format == "spdx" {
        (vigia_report::spdx(&inv, &now, version), "spdx.json")
    } else {
        (vigia_report::cyclonedx(&inv, &now, version), "cdx.json")
    };
    let name: String =
        r.id.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
    let disposition = format!("attachment; filename=\"{name}.{ext}\"");
    let mut resp = axum::Json(doc).into_response();
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// `GET /v1/findings/trend?days=N` (1 to 365, 30 by default): findings
/// `ACTIVE` at the end of each day, by severity, from their history.
async fn findings_trend(
    State(svc): State<Arc<Service>>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> ApiResult {
    let days: u16 = match q.get("days") {
        None => 30,
        Some(d) => d
            .parse()
            .ok()
            .filter(|d| (1..=365).contains(d))
            .ok_or_else(|| ApiError::validation("days is an integer from 1 to 365"))?,
    };
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let trend = svc.db.open_trend(days, today).await?;
    Ok(axum::Json(json!({
        "severities": crate::trend::SEVERITIES,
        "days": trend,
    })))
}

/// `GET /v1/watches`: the watched folders, each with how many resources
/// it holds and how many of them are scanned successfully.
async fn list_watches(State(svc): State<Arc<Service>>) -> ApiResult {
    let resources = svc.db.resources().await?;
    let folders: Vec<Value> = svc
        .watched()
        .iter()
        .map(|dir| {
            let inside: Vec<_> = resources
                .iter()
                .filter(|r| std::path::Path::new(&r.source).starts_with(dir))
                .filter(|r| r.status_reason != "RESOURCE_TERMINATED")
                .collect();
            json!({
                "path": dir.display().to_string(),
                "resources": inside.len(),
                "successful": inside.iter().filter(|r| r.status_reason == "SUCCESSFUL").count(),
            })
        })
        .collect();
    Ok(axum::Json(json!({ "folders": folders })))
}

/// `GET /v1/tokens`: every token (never its secret).
async fn list_tokens(State(svc): State<Arc<Service>>) -> ApiResult {
    Ok(axum::Json(json!({ "tokens": svc.db.tokens().await? })))
}

/// `POST /v1/tokens/create {"name", "role"}`: a token, shown this once.
async fn create_token(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/v1/tokens/create")?;
    let name = source_of(&req, "name")?;
    if !crate::auth::valid_token_name(&name) {
        return Err(ApiError::validation("name is 1 to 64 characters"));
    }
    let role = req
        .get("role")
        .and_then(Value::as_str)
        .and_then(Role::parse)
        .ok_or_else(|| ApiError::validation("role is admin, viewer or agent"))?;
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let mut t = svc.db.create_token(&name, role, &now).await?;
    t.access_key_id = Some(t.id.clone());
    t.secret_access_key = Some(crate::sigv4::secret_for(&svc.service_key, &t.id));
    Ok(axum::Json(json!({ "token": t })))
}

/// `POST /v1/tokens/revoke {"id"}`.
async fn revoke_token(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/v1/tokens/revoke")?;
    let id = source_of(&req, "id")?;
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    if !svc.db.revoke_token(&id, &now).await? {
        return Err(ApiError::not_found(format!("no active token {id}")));
    }
    Ok(axum::Json(json!({ "id": id })))
}

/// `POST /v1/resources/register {"source": PATH}`.
async fn register_resource(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/v1/resources/register")?;
    let source = source_of(&req, "source")?;
    let path = std::path::Path::new(&source);
    if !path.is_absolute() || !path.exists() {
        return Err(ApiError::validation(format!(
            "{source} is not an absolute path the service can read"
        )));
    }
    let r = svc
        .register(path)
        .await
        .map_err(|e| ApiError::internal(&e))?
        .ok_or_else(|| {
            ApiError::validation(format!(
                "{source} is not an image, function zip or root filesystem"
            ))
        })?;
    Ok(axum::Json(json!({ "resource": r })))
}

/// `POST /v1/resources/rescan {"id": …}` and `/v1/resources/delete`.
async fn resource_action(
    State(svc): State<Arc<Service>>,
    uri: axum::http::Uri,
    bytes: axum::body::Bytes,
) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, uri.path())?;
    let id = source_of(&req, "id")?;
    let r = svc
        .db
        .resource(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no resource {id}")))?;
    if uri.path().ends_with("/delete") {
        svc.delete(&r).await.map_err(|e| ApiError::internal(&e))?;
    } else if !svc.rescan(&r).await.map_err(|e| ApiError::internal(&e))? {
        return Err(ApiError::validation(format!(
            "{id} was deleted: register it again (/v1/resources/register)"
        )));
    }
    Ok(axum::Json(json!({ "id": id })))
}

/// `GET /v1/resources`.
async fn list_resources(State(svc): State<Arc<Service>>) -> ApiResult {
    Ok(axum::Json(
        json!({ "resources": svc.db.resources().await? }),
    ))
}

/// How long `POST /v1/db/update` waits for the update it queued.
const UPDATE_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// `POST /v1/db/update`: update advisories now and rematch, through the
/// job table (a worker does it, in this process or another), answering
/// with the outcome; 202 when it takes longer than `UPDATE_WAIT`.
async fn update_db(State(svc): State<Arc<Service>>) -> Result<Response, ApiError> {
    match svc
        .update_through_jobs(UPDATE_WAIT)
        .await
        .map_err(|e| ApiError::internal(&e))?
    {
        Some(outcome) => match outcome.get("error").and_then(Value::as_str) {
            Some(error) => Err(ApiError::internal(&error)),
            None => Ok(axum::Json(json!({ "update": outcome["update"], "rematch": outcome["rematch"] }))
                .into_response()),
        },
        None => Ok((
            StatusCode::ACCEPTED,
            axum::Json(json!({
                "queued": true,
                "message": "the update is queued and not done yet: GET /v1/db/status shows when a new generation is loaded",
            })),
        )
            .into_response()),
    }
}

/// `GET /v1/db/status`.
async fn db_status(State(svc): State<Arc<Service>>) -> ApiResult {
    Ok(axum::Json(json!({
        "generation": svc.generation().await,
        "database": svc.feeds().await,
    })))
}

async fn readyz(State(svc): State<Arc<Service>>) -> Response {
    if svc.ready().await {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "no advisory generation is loaded yet\n",
        )
            .into_response()
    }
}

async fn metrics(State(svc): State<Arc<Service>>) -> Result<Response, ApiError> {
    let m = &svc.metrics;
    let mut text = String::new();
    let mut counter = |name: &str, help: &str, kind: &str, value: String| {
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    };
    counter(
        "vigia_target_reads_total",
        "Resources read by scans.",
        "counter",
        m.target_reads.load(Ordering::Relaxed).to_string(),
    );
    counter(
        "vigia_rematches_total",
        "Stored inventories evaluated again after advisory updates.",
        "counter",
        m.rematches.load(Ordering::Relaxed).to_string(),
    );
    counter(
        "vigia_scan_failures_total",
        "Scans that failed in this process since it started (vigia_scans_total counts every process's by outcome).",
        "counter",
        m.scan_failures.load(Ordering::Relaxed).to_string(),
    );
    counter(
        "vigia_updates_total",
        "Advisory updates run.",
        "counter",
        m.updates.load(Ordering::Relaxed).to_string(),
    );
    counter(
        "vigia_last_rematch_seconds",
        "How long the last rematch took.",
        "gauge",
        {
            let ms = m.last_rematch_ms.load(Ordering::Relaxed);
            format!("{}.{:03}", ms / 1000, ms % 1000)
        },
    );
    let rows =
        sqlx::query("SELECT status, COUNT(*) AS n FROM findings GROUP BY status ORDER BY status")
            .fetch_all(svc.db.pool())
            .await
            .map_err(|e| ApiError::internal(&e))?;
    text.push_str("# HELP vigia_findings Findings by status.\n# TYPE vigia_findings gauge\n");
    for r in rows {
        let status: String = r.try_get("status").map_err(|e| ApiError::internal(&e))?;
        let n: i64 = r.try_get("n").map_err(|e| ApiError::internal(&e))?;
        text.push_str(&format!("vigia_findings{{status=\"{status}\"}} {n}\n"));
    }
    let scans =
        sqlx::query("SELECT outcome, COUNT(*) AS n FROM scans GROUP BY outcome ORDER BY outcome")
            .fetch_all(svc.db.pool())
            .await
            .map_err(|e| ApiError::internal(&e))?;
    text.push_str(
        "# HELP vigia_scans_total Scans done by every process of the service, by the coverage they left.\n# TYPE vigia_scans_total counter\n",
    );
    for r in scans {
        let outcome: String = r.try_get("outcome").map_err(|e| ApiError::internal(&e))?;
        let n: i64 = r.try_get("n").map_err(|e| ApiError::internal(&e))?;
        text.push_str(&format!("vigia_scans_total{{outcome=\"{outcome}\"}} {n}\n"));
    }
    text.push_str(
        "# HELP vigia_jobs Jobs waiting (QUEUED) or being done (RUNNING), by kind: the queue depth.\n# TYPE vigia_jobs gauge\n",
    );
    for (kind, state, n) in svc.db.queue().await? {
        text.push_str(&format!(
            "vigia_jobs{{kind=\"{kind}\",state=\"{state}\"}} {n}\n"
        ));
    }
    text.push_str(&format!(
        "# HELP vigia_events_waiting Events in the outbox not yet handed to the delivery targets.\n# TYPE vigia_events_waiting gauge\nvigia_events_waiting {}\n",
        svc.db.events_waiting().await?
    ));
    text.push_str(
        "# HELP vigia_deliveries Deliveries of events to targets, by state.\n# TYPE vigia_deliveries gauge\n",
    );
    for (state, n) in svc.db.delivery_counts().await? {
        text.push_str(&format!("vigia_deliveries{{state=\"{state}\"}} {n}\n"));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

/// The API's routes.
/// The handler of an operation in [`crate::openapi::OPERATIONS`].
fn handler(path: &str) -> axum::routing::MethodRouter<Arc<Service>> {
    match path {
        "/healthz" => get(|| async { "ok\n" }),
        "/readyz" => get(readyz),
        "/metrics" => get(metrics),
        "/openapi.json" => get(|| async { axum::Json(crate::openapi::document()) }),
        "/findings/list" => post(list_findings),
        "/findings/aggregation/list" => post(list_aggregations),
        "/findings/details/batch/get" => post(finding_details),
        "/coverage/list" => post(list_coverage),
        "/coverage/statistics/list" => post(coverage_statistics),
        "/filters/create" => post(filters::create),
        "/filters/update" => post(filters::update),
        "/filters/delete" => post(filters::delete),
        "/filters/list" => post(filters::list),
        "/v1/resources" => get(list_resources),
        "/v1/resource" => get(get_resource),
        "/v1/resources/register" => post(register_resource),
        "/v1/resources/rescan" | "/v1/resources/delete" => post(resource_action),
        "/v1/findings/history" => get(finding_history),
        "/v1/findings/trend" => get(findings_trend),
        "/v1/resource/sbom" => get(resource_sbom),
        "/v1/tokens" => get(list_tokens),
        "/v1/watches" => get(list_watches),
        "/v1/tokens/create" => post(create_token),
        "/v1/tokens/revoke" => post(revoke_token),
        "/v1/db/update" => post(update_db),
        "/v1/db/status" => get(db_status),
        "/reporting/create" => post(exports::create_report),
        "/reporting/status/get" => post(exports::report_status),
        "/reporting/cancel" | "/sbomexport/cancel" => post(exports::cancel),
        "/sbomexport/create" => post(exports::create_sbom),
        "/sbomexport/get" => post(exports::sbom_status),
        "/v1/gate/policy" => get(gate::policy),
        "/v1/gate/policy/update" => post(gate::update_policy),
        "/v1/gate/check" => post(gate::check),
        "/v1/admission" => post(gate::review),
        "/v1/targets" => get(targets::list),
        "/v1/targets/create" => post(targets::create),
        "/v1/targets/delete" => post(targets::delete),
        "/v1/targets/deliveries" => get(targets::deliveries),
        "/v1/targets/replay" => post(targets::replay),
        "/v1/registries" => get(registries::list),
        "/v1/registries/create" => post(registries::create),
        "/v1/registries/delete" => post(registries::delete),
        "/v1/registries/sync" => post(registries::sync),
        "/v1/registries/notifications" => post(registries::notifications),
        "/v1/agent/checkin" => post(agents::checkin).layer(axum::extract::DefaultBodyLimit::max(
            agents::MAX_CHECKIN_BYTES,
        )),
        "/v1/agents" => get(agents::list),
        other => unreachable!("the operations table names {other}, which has no handler"),
    }
}

/// The API's routes: exactly the operations table's, so that every route
/// is documented and has its access (the middleware reads the same table).
pub fn router(svc: Arc<Service>) -> Router {
    let mut r = Router::new();
    for (_, path, ..) in crate::openapi::OPERATIONS {
        r = r.route(path, handler(path));
    }
    r.fallback(|| async { ApiError::not_found("no such operation") })
        .method_not_allowed_fallback(|| async {
            ApiError {
                status: StatusCode::METHOD_NOT_ALLOWED,
                kind: "ValidationException",
                message: "this operation takes another method (/openapi.json names each one's)"
                    .into(),
            }
        })
        .layer(axum::middleware::from_fn_with_state(
            svc.clone(),
            authenticate,
        ))
        .layer(axum::middleware::map_response(inspector_shaped))
        .with_state(svc)
}

/// A body refused before its handler read it (over the size limit) is
/// answered in Inspector's error shape, as every other refusal is.
async fn inspector_shaped(response: Response) -> Response {
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if json {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    ApiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        kind: "ValidationException",
        message: format!("the request body is too large ({})", text.trim()),
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bearer_scheme_is_read_whatever_its_case() {
        assert_eq!(super::bearer("Bearer vgt_a_b"), Some("vgt_a_b"));
        assert_eq!(super::bearer("bearer vgt_a_b"), Some("vgt_a_b"));
        assert_eq!(super::bearer("BEARER  vgt_a_b"), Some("vgt_a_b"));
        assert_eq!(super::bearer("Bearervgt_a_b"), None);
        assert_eq!(super::bearer("Basic dTpw"), None);
        assert_eq!(super::bearer("AWS4-HMAC-SHA256 Credential=x"), None);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_in_inspectors_shape() {
        use axum::response::IntoResponse as _;
        let plain = (
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "length limit exceeded",
        )
            .into_response();
        let r = super::inspector_shaped(plain).await;
        assert_eq!(r.status(), 413);
        assert_eq!(r.headers()["x-amzn-ErrorType"], "ValidationException");
        let body = axum::body::to_bytes(r.into_body(), 4096).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body["message"],
            "the request body is too large (length limit exceeded)"
        );
        // Other answers pass as they are.
        let other = (axum::http::StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response();
        let r = super::inspector_shaped(other).await;
        assert_eq!(r.status(), 503);
        let body = axum::body::to_bytes(r.into_body(), 4096).await.unwrap();
        assert_eq!(&body[..], b"not ready");
    }

    #[test]
    fn every_operation_has_a_handler() {
        for (_, path, ..) in crate::openapi::OPERATIONS {
            let _ = super::handler(path);
        }
    }
}
