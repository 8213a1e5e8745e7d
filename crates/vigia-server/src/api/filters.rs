//! `/filters/create|update|delete|list`: suppression rules, as Inspector's
//! model has them, applied at once to the stored findings. Vigia's own
//! extra: `vigiaExpiresAt`, when a rule stops applying.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use serde_json::{Value, json};
use sqlx::Row;

use super::{ApiError, ApiResult, allowed_keys, body, max_results, page_after};
use crate::criteria::Criteria;
use crate::service::Service;

/// `vigiaExpiresAt` in a request.
#[derive(Default)]
enum Expiry {
    /// Not given: an update keeps the stored one.
    #[default]
    Kept,
    /// Null: none.
    Cleared,
    /// When the rule stops applying.
    At(String),
}

impl Expiry {
    fn given(&self) -> bool {
        !matches!(self, Self::Kept)
    }

    fn at(&self) -> Option<&str> {
        match self {
            Self::At(t) => Some(t),
            _ => None,
        }
    }
}

/// A rule's fields as a create or update request gives them, each checked
/// against the model. `None`: not given (an update keeps the stored one).
#[derive(Default)]
struct Fields {
    name: Option<String>,
    action: Option<String>,
    criteria: Option<Value>,
    description: Option<String>,
    reason: Option<String>,
    tags: Option<Value>,
    expires: Expiry,
}

fn text(
    req: &Value,
    key: &str,
    ok: impl Fn(&str) -> bool,
    rule: &str,
) -> Result<Option<String>, ApiError> {
    match req.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .filter(|s| ok(s))
            .map(|s| Some(s.to_owned()))
            .ok_or_else(|| ApiError::validation(format!("{key} is {rule}"))),
    }
}

/// The model's `FilterName` as its documentation gives it.
fn valid_name(name: &str) -> bool {
    (3..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A `TagMap`: keys of 1 to 128 characters not starting `aws:`, values of
/// at most 256, at most 50 tags.
fn valid_tags(v: &Value) -> bool {
    v.as_object().is_some_and(|m| {
        m.len() <= 50
            && m.iter().all(|(k, v)| {
                (1..=128).contains(&k.chars().count())
                    && !k.starts_with("aws:")
                    && v.as_str().is_some_and(|v| v.chars().count() <= 256)
            })
    })
}

impl Fields {
    fn read(req: &Value) -> Result<Self, ApiError> {
        let between = |s: &str| (1..=512).contains(&s.chars().count());
        let criteria = match req.get("filterCriteria") {
            None => None,
            Some(raw) => {
                let parsed = Criteria::parse(raw).map_err(|e| ApiError::validation(e.0))?;
                if parsed.is_empty() {
                    return Err(ApiError::validation(
                        "filterCriteria must name at least one key",
                    ));
                }
                Some(raw.clone())
            }
        };
        let tags = match req.get("tags") {
            None => None,
            Some(v) if valid_tags(v) => Some(v.clone()),
            Some(_) => {
                return Err(ApiError::validation(
                    "tags is a map of at most 50: keys of 1 to 128 characters not starting `aws:`, values of at most 256",
                ));
            }
        };
        let expires = match req.get("vigiaExpiresAt") {
            None => Expiry::Kept,
            Some(Value::Null) => Expiry::Cleared,
            Some(v) => {
                let at = crate::criteria::epoch(v)
                    .and_then(|s| jiff::Timestamp::from_second(s).ok())
                    .ok_or_else(|| ApiError::validation("vigiaExpiresAt is a timestamp"))?;
                let at = at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
                // A rule that expired already would apply to nothing: said
                // at once, not found out when nothing is suppressed.
                if at <= now() {
                    return Err(ApiError::validation(format!(
                        "vigiaExpiresAt ({at}) is not in the future: leave it out for a rule that does not expire, or delete the rule"
                    )));
                }
                Expiry::At(at)
            }
        };
        Ok(Self {
            name: text(
                req,
                "name",
                valid_name,
                "3 to 64 characters: letters, digits, '.', '_' and '-'",
            )?,
            action: text(
                req,
                "action",
                |a| matches!(a, "SUPPRESS" | "NONE"),
                "SUPPRESS or NONE",
            )?,
            criteria,
            description: text(req, "description", between, "1 to 512 characters")?,
            reason: text(req, "reason", between, "1 to 512 characters")?,
            tags,
            expires,
        })
    }
}

fn filter_json(r: &sqlx::any::AnyRow) -> Result<Value, ApiError> {
    let g = |c: &str| {
        r.try_get::<Option<String>, _>(c)
            .map_err(|e| ApiError::internal(&e))
    };
    let criteria: Value =
        serde_json::from_str(&g("criteria")?.unwrap_or_default()).unwrap_or(Value::Null);
    let mut v = json!({
        "arn": g("arn")?, "ownerId": vigia_scan::ACCOUNT_ID, "name": g("name")?, "criteria": criteria,
        "action": g("action")?, "createdAt": g("created_at")?, "updatedAt": g("updated_at")?,
    });
    for (col, key) in [("description", "description"), ("reason", "reason")] {
        if let Some(x) = g(col)? {
            v[key] = json!(x);
        }
    }
    if let Some(tags) = g("tags")?.and_then(|t| serde_json::from_str::<Value>(&t).ok()) {
        v["tags"] = tags;
    }
    if let Some(x) = g("expires_at")? {
        v["vigiaExpiresAt"] = json!(x);
    }
    Ok(v)
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `POST /filters/create`.
pub(super) async fn create(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/filters/create")?;
    let f = Fields::read(&req)?;
    let (Some(name), Some(action), Some(criteria)) = (&f.name, &f.action, &f.criteria) else {
        return Err(ApiError::validation(
            "name, action and filterCriteria are required",
        ));
    };
    let now = now();
    let arn = format!("vigia:filter/{}", uuid::Uuid::new_v4().simple());
    sqlx::query(
        "INSERT INTO filters (arn, name, action, criteria, description, reason, tags, expires_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(&arn)
    .bind(name)
    .bind(action)
    .bind(criteria.to_string())
    .bind(f.description.as_deref())
    .bind(f.reason.as_deref())
    .bind(f.tags.as_ref().map(Value::to_string))
    .bind(f.expires.at())
    .bind(&now)
    .execute(svc.db.pool())
    .await
    .map_err(|e| ApiError::internal(&e))?;
    svc.db.resuppress(&now).await?;
    Ok(axum::Json(json!({ "arn": arn })))
}

/// `POST /filters/update`: the members given replace the stored ones
/// (`vigiaExpiresAt` null clears the expiry).
pub(super) async fn update(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/filters/update")?;
    let arn = req
        .get("filterArn")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::validation("filterArn is required"))?;
    let f = Fields::read(&req)?;
    let now = now();
    let done = sqlx::query(
        "UPDATE filters SET name = COALESCE($1, name), action = COALESCE($2, action), criteria = COALESCE($3, criteria), \
         description = COALESCE($4, description), reason = COALESCE($5, reason), \
         expires_at = CASE WHEN $6 = 1 THEN $7 ELSE expires_at END, updated_at = $8 WHERE arn = $9",
    )
    .bind(f.name.as_deref())
    .bind(f.action.as_deref())
    .bind(f.criteria.as_ref().map(Value::to_string))
    .bind(f.description.as_deref())
    .bind(f.reason.as_deref())
    .bind(i64::from(f.expires.given()))
    .bind(f.expires.at())
    .bind(&now)
    .bind(arn)
    .execute(svc.db.pool())
    .await
    .map_err(|e| ApiError::internal(&e))?;
    if done.rows_affected() == 0 {
        return Err(ApiError::not_found(format!("no filter {arn}")));
    }
    svc.db.resuppress(&now).await?;
    Ok(axum::Json(json!({ "arn": arn })))
}

/// `POST /filters/delete`.
pub(super) async fn delete(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/filters/delete")?;
    let arn = req
        .get("arn")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::validation("arn is required"))?;
    let done = sqlx::query("DELETE FROM filters WHERE arn = $1")
        .bind(arn)
        .execute(svc.db.pool())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    if done.rows_affected() == 0 {
        return Err(ApiError::not_found(format!("no filter {arn}")));
    }
    svc.db.resuppress(&now()).await?;
    Ok(axum::Json(json!({ "arn": arn })))
}

/// `POST /filters/list`: in the order they were made, `maxResults` (1 to
/// 100) at a time; each with the number of findings it suppresses now
/// (`vigiaSuppressedCount`).
pub(super) async fn list(State(svc): State<Arc<Service>>, bytes: axum::body::Bytes) -> ApiResult {
    let mut req = body(&bytes)?;
    allowed_keys(&mut req, "/filters/list")?;
    let limit = usize::try_from(max_results(&req, 100)?).unwrap_or(100);
    let arns: Option<Vec<&str>> = match req.get("arns") {
        None => None,
        Some(v) => Some(
            v.as_array()
                .and_then(|a| {
                    a.iter()
                        .map(|x| x.as_str().filter(|s| (1..=128).contains(&s.len())))
                        .collect::<Option<Vec<&str>>>()
                })
                .ok_or_else(|| ApiError::validation("arns is a list of filter ARNs"))?,
        ),
    };
    let action = text(
        &req,
        "action",
        |a| matches!(a, "SUPPRESS" | "NONE"),
        "SUPPRESS or NONE",
    )?;
    let tag = crate::pages::query_tag(&req);
    let after = page_after(&req, &tag)?;
    let rows = sqlx::query("SELECT * FROM filters ORDER BY created_at, arn")
        .fetch_all(svc.db.pool())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let counts: BTreeMap<String, i64> = sqlx::query(
        "SELECT suppressed_by, COUNT(*) AS n FROM findings WHERE suppressed_by IS NOT NULL AND status = 'SUPPRESSED' GROUP BY suppressed_by",
    )
    .fetch_all(svc.db.pool())
    .await
    .map_err(|e| ApiError::internal(&e))?
    .iter()
    .filter_map(|r| Some((r.try_get("suppressed_by").ok()?, r.try_get("n").ok()?)))
    .collect();
    let mut out = Vec::new();
    for r in &rows {
        let mut f = filter_json(r)?;
        let arn = f["arn"].as_str().unwrap_or_default().to_owned();
        let arn_ok = arns.as_ref().is_none_or(|a| a.contains(&arn.as_str()));
        let action_ok = action.as_deref().is_none_or(|a| f["action"] == a);
        if arn_ok && action_ok {
            f["vigiaSuppressedCount"] = json!(counts.get(&arn).copied().unwrap_or(0));
            out.push(f);
        }
    }
    // Listed by creation, then ARN: a page's token names its last filter.
    let key = |f: &Value| {
        (
            f["createdAt"].as_str().unwrap_or_default().to_owned(),
            f["arn"].as_str().unwrap_or_default().to_owned(),
        )
    };
    out.sort_by_key(key);
    let start = match after.map(serde_json::from_value::<(String, String)>) {
        None => 0,
        Some(Ok(after)) => {
            let keys: Vec<(String, String)> = out.iter().map(key).collect();
            crate::pages::start_after(&keys, &after)
        }
        Some(Err(_)) => {
            return Err(ApiError::validation(
                crate::pages::TokenError::NotOurs.message(),
            ));
        }
    };
    let total = out.len();
    let page: Vec<Value> = out.into_iter().skip(start).take(limit).collect();
    let mut answer = json!({ "filters": page });
    if start + limit < total
        && let Some(last) = page.last()
    {
        answer["nextToken"] = json!(crate::pages::give(&json!(key(last)), &tag));
    }
    Ok(axum::Json(answer))
}
