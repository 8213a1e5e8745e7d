//! `POST /findings/list` over the state database.
//!
//! The criteria's keys that have a column (status, severity, type, ARN,
//! resource, vulnerability, title, score, EPSS, the three dates) or an
//! index (a package's exact name) narrow the query in SQL; the full criteria then decide on every row read, so the SQL
//! only ever has to select a superset. A sort field with a column is read
//! in index order from a keyset cursor (the sort value and ARN of the last
//! finding returned), a page at a time, so a page costs the rows it reads,
//! not the number of findings stored. The other sort fields (registry,
//! repository, push date, protocol, …) sort the narrowed rows in memory.
//!
//! Either way the `nextToken` names the last finding returned by its sort
//! value and ARN: findings added, changed or removed between pages neither
//! repeat nor go missing.

use base64::Engine as _;
use serde_json::{Value, json};
use sqlx::Row;

use crate::criteria::{Comparison, Criteria};
use crate::db::{DbError, StateDb};

/// Why a list request failed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The request is malformed (Inspector's `ValidationException`).
    #[error("{0}")]
    Invalid(String),
    /// The database.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for ListError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::from(e))
    }
}

/// Inspector's sort fields.
pub const SORT_FIELDS: &[&str] = &[
    "AWS_ACCOUNT_ID",
    "FINDING_TYPE",
    "SEVERITY",
    "FIRST_OBSERVED_AT",
    "LAST_OBSERVED_AT",
    "FINDING_STATUS",
    "RESOURCE_TYPE",
    "ECR_IMAGE_PUSHED_AT",
    "ECR_IMAGE_REPOSITORY_NAME",
    "ECR_IMAGE_REGISTRY",
    "NETWORK_PROTOCOL",
    "COMPONENT_TYPE",
    "VULNERABILITY_ID",
    "VULNERABILITY_SOURCE",
    "INSPECTOR_SCORE",
    "VENDOR_SEVERITY",
    "EPSS_SCORE",
];

/// How a sort field's column compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnType {
    Text,
    Real,
    Int,
}

/// The sort fields read in index order: the column, its type, and whether
/// the column runs against the field (severity: rank 0 is `CRITICAL`).
const SORT_COLUMNS: &[(&str, &str, ColumnType, bool)] = &[
    ("UPDATED_AT", "updated_at", ColumnType::Text, false),
    (
        "FIRST_OBSERVED_AT",
        "first_observed_at",
        ColumnType::Text,
        false,
    ),
    (
        "LAST_OBSERVED_AT",
        "last_observed_at",
        ColumnType::Text,
        false,
    ),
    ("SEVERITY", "severity_rank", ColumnType::Int, true),
    ("INSPECTOR_SCORE", "score", ColumnType::Real, false),
    ("EPSS_SCORE", "epss", ColumnType::Real, false),
    (
        "VULNERABILITY_ID",
        "vulnerability_id",
        ColumnType::Text,
        false,
    ),
    ("FINDING_STATUS", "status", ColumnType::Text, false),
    ("FINDING_TYPE", "kind", ColumnType::Text, false),
];

/// String keys with a column, as the query compares them. Each finding
/// names one resource, the one whose ID is `resource_id`. A column with a
/// handful of values (status, type, severity) is compared as an expression
/// (`|| ''`), which no index serves: a planner that used its index would
/// read and sort every finding with that status rather than walk the sort
/// column's index, and SQLite's does.
const STRING_COLUMNS: &[(&str, &str)] = &[
    ("findingArn", "arn"),
    ("findingType", "(kind || '')"),
    ("severity", "(severity || '')"),
    ("findingStatus", "(status || '')"),
    ("resourceId", "resource_id"),
    ("vulnerabilityId", "vulnerability_id"),
    ("title", "title"),
];

/// Number keys with a column (absent is stored as -1, which no filter's
/// narrowing wrongly excludes: the criteria decide after).
const NUMBER_COLUMNS: &[(&str, &str)] = &[("inspectorScore", "score"), ("epssScore", "epss")];

/// Date keys with a column (RFC 3339 text in UTC to the second, which
/// sorts as time does).
const DATE_COLUMNS: &[(&str, &str)] = &[
    ("firstObservedAt", "first_observed_at"),
    ("lastObservedAt", "last_observed_at"),
    ("updatedAt", "updated_at"),
];

/// A value bound to a query.
#[derive(Debug, Clone, PartialEq)]
enum Bind {
    Text(String),
    Real(f64),
    Int(i64),
}

/// A `WHERE` clause being built, with its numbered parameters.
#[derive(Debug, Default)]
struct Where {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl Where {
    fn mark(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1 = 1".to_owned()
        } else {
            self.clauses.join(" AND ")
        }
    }
}

fn seconds(t: i64) -> Option<String> {
    jiff::Timestamp::from_second(t)
        .ok()
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// The SQL that selects a superset of what `criteria` match.
fn narrowing(criteria: &Criteria) -> Where {
    let mut w = Where::default();
    for (key, col) in STRING_COLUMNS {
        let Some(filters) = criteria.string_filters(key) else {
            continue;
        };
        let mut any = Vec::new();
        for f in filters {
            match f.comparison {
                Comparison::Equals => {
                    let m = w.mark(Bind::Text(f.value.clone()));
                    any.push(format!("{col} = {m}"));
                }
                Comparison::Prefix => {
                    let n = w.mark(Bind::Int(
                        i64::try_from(f.value.chars().count()).unwrap_or(i64::MAX),
                    ));
                    let m = w.mark(Bind::Text(f.value.clone()));
                    any.push(format!("substr({col}, 1, CAST({n} AS INTEGER)) = {m}"));
                }
                Comparison::NotEquals => {
                    let m = w.mark(Bind::Text(f.value.clone()));
                    w.clauses.push(format!("{col} <> {m}"));
                }
            }
        }
        if !any.is_empty() {
            w.clauses.push(format!("({})", any.join(" OR ")));
        }
    }
    // Package filters are ORed: when each names its package exactly, the
    // findings are among those of these names.
    let packages = criteria.package_filters();
    let names: Option<Vec<&str>> = packages
        .iter()
        .map(|p| {
            p.name
                .as_ref()
                .filter(|n| n.comparison == Comparison::Equals)
                .map(|n| n.value.as_str())
        })
        .collect();
    if let Some(names) = names.filter(|n| !n.is_empty()) {
        let marks: Vec<String> = names
            .iter()
            .map(|n| w.mark(Bind::Text((*n).to_owned())))
            .collect();
        w.clauses.push(format!(
            "arn IN (SELECT arn FROM finding_packages WHERE name IN ({}))",
            marks.join(", ")
        ));
    }
    for (key, col) in NUMBER_COLUMNS {
        let Some(filters) = criteria.number_filters(key) else {
            continue;
        };
        let mut any = Vec::new();
        for f in filters {
            let mut both = Vec::new();
            if let Some(lo) = f.lower_inclusive {
                both.push(format!("{col} >= {}", w.mark(Bind::Real(lo))));
            }
            if let Some(hi) = f.upper_inclusive {
                both.push(format!("{col} <= {}", w.mark(Bind::Real(hi))));
            }
            if both.is_empty() {
                // Unbounded: anything with a value.
                both.push(format!("{col} >= 0"));
            }
            any.push(format!("({})", both.join(" AND ")));
        }
        w.clauses.push(format!("({})", any.join(" OR ")));
    }
    for (key, col) in DATE_COLUMNS {
        let Some(ranges) = criteria.date_ranges(key) else {
            continue;
        };
        let mut any = Vec::new();
        for (lo, hi) in ranges {
            let mut both = vec!["1 = 1".to_owned()];
            if let Some(lo) = lo.and_then(seconds) {
                both.push(format!("{col} >= {}", w.mark(Bind::Text(lo))));
            }
            if let Some(hi) = hi.and_then(seconds) {
                both.push(format!("{col} <= {}", w.mark(Bind::Text(hi))));
            }
            any.push(format!("({})", both.join(" AND ")));
        }
        w.clauses.push(format!("({})", any.join(" OR ")));
    }
    w
}

/// A finding's value for a sort field read from its JSON: a number or a
/// text (absent numbers are -1, absent texts empty, as in the columns).
fn sort_key(field: &str, f: &Value) -> Value {
    let text = |p: &str| f.pointer(p).cloned().unwrap_or(json!(""));
    match field {
        "SEVERITY" => {
            let s = f["severity"].as_str().unwrap_or_default();
            let rank = vigia_scan::Severity::parse(s).map_or(5, crate::lifecycle::severity_rank);
            json!(5 - rank)
        }
        "FIRST_OBSERVED_AT" => text("/firstObservedAt"),
        "LAST_OBSERVED_AT" => text("/lastObservedAt"),
        "INSPECTOR_SCORE" => json!(f["inspectorScore"].as_f64().unwrap_or(-1.0)),
        "EPSS_SCORE" => json!(
            f.pointer("/epss/score")
                .and_then(Value::as_f64)
                .unwrap_or(-1.0)
        ),
        "VULNERABILITY_ID" => text("/packageVulnerabilityDetails/vulnerabilityId"),
        "VULNERABILITY_SOURCE" => text("/packageVulnerabilityDetails/source"),
        "VENDOR_SEVERITY" => text("/packageVulnerabilityDetails/vendorSeverity"),
        "FINDING_STATUS" => text("/status"),
        "FINDING_TYPE" => text("/type"),
        "RESOURCE_TYPE" => text("/resources/0/type"),
        "ECR_IMAGE_REPOSITORY_NAME" => {
            text("/resources/0/details/awsEcrContainerImage/repositoryName")
        }
        "ECR_IMAGE_REGISTRY" => text("/resources/0/details/awsEcrContainerImage/registry"),
        "NETWORK_PROTOCOL" => text("/networkReachabilityDetails/protocol"),
        "COMPONENT_TYPE" => text("/networkReachabilityDetails/networkPath/steps/0/componentType"),
        "ECR_IMAGE_PUSHED_AT" => text("/resources/0/details/awsEcrContainerImage/pushedAt"),
        "AWS_ACCOUNT_ID" => text("/awsAccountId"),
        _ => text("/updatedAt"),
    }
}

fn compare_keys(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        _ => a
            .as_str()
            .unwrap_or_default()
            .cmp(b.as_str().unwrap_or_default()),
    }
}

/// A page request, read strictly.
struct Request {
    criteria: Criteria,
    field: &'static str,
    desc: bool,
    limit: usize,
    cursor: Option<(Value, String)>,
}

fn invalid(m: impl Into<String>) -> ListError {
    ListError::Invalid(m.into())
}

fn read_request(req: &Value) -> Result<Request, ListError> {
    for k in req.as_object().into_iter().flat_map(|o| o.keys()) {
        if !["filterCriteria", "sortCriteria", "maxResults", "nextToken"].contains(&k.as_str()) {
            return Err(invalid(format!("unknown member `{k}`")));
        }
    }
    let limit = match req.get("maxResults") {
        None | Some(Value::Null) => 100,
        Some(n) => match n.as_u64() {
            Some(n @ 1..=100) => usize::try_from(n).unwrap_or(100),
            _ => return Err(invalid("maxResults must be an integer from 1 to 100")),
        },
    };
    let criteria = Criteria::parse(req.get("filterCriteria").unwrap_or(&Value::Null))
        .map_err(|e| invalid(e.0))?;
    let (field, desc) = match req.get("sortCriteria") {
        None | Some(Value::Null) => ("UPDATED_AT", true),
        Some(s) => {
            let name = s
                .get("field")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("sortCriteria.field is required"))?;
            let field = SORT_FIELDS.iter().find(|f| **f == name).ok_or_else(|| {
                invalid(format!("sortCriteria.field `{name}` is not a sort field"))
            })?;
            let desc = match s.get("sortOrder").and_then(Value::as_str) {
                Some("ASC") => false,
                Some("DESC") => true,
                _ => return Err(invalid("sortCriteria.sortOrder is ASC or DESC")),
            };
            (*field, desc)
        }
    };
    let bad_token = || invalid("nextToken is not one this service gave");
    let cursor = match req.get("nextToken") {
        None | Some(Value::Null) => None,
        Some(t) => {
            let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(t.as_str().ok_or_else(bad_token)?)
                .map_err(|_| bad_token())?;
            let (key, arn): (Value, String) =
                serde_json::from_slice(&raw).map_err(|_| bad_token())?;
            if !(key.is_number() || key.is_string()) {
                return Err(bad_token());
            }
            Some((key, arn))
        }
    };
    Ok(Request {
        criteria,
        field,
        desc,
        limit,
        cursor,
    })
}

fn token(key: &Value, arn: &str) -> String {
    let raw = serde_json::to_vec(&(key, arn)).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn json_body(r: &sqlx::any::AnyRow) -> Result<Value, ListError> {
    let body: String = r.try_get("body")?;
    serde_json::from_str(&body).map_err(|source| {
        ListError::Db(DbError::Json {
            what: "finding",
            source,
        })
    })
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s.as_str()),
            Bind::Real(x) => q.bind(*x),
            Bind::Int(i) => q.bind(*i),
        };
    }
    q
}

/// `POST /findings/list`: one page of findings, Inspector's response.
pub async fn list(db: &StateDb, req: &Value) -> Result<Value, ListError> {
    let req = read_request(req)?;
    let (findings, next) = match SORT_COLUMNS.iter().find(|c| c.0 == req.field) {
        Some(&(_, col, ty, inverted)) => indexed_page(db, &req, col, ty, inverted).await?,
        None => sorted_page(db, &req).await?,
    };
    let mut out = json!({ "findings": findings });
    if let Some(t) = next {
        out["nextToken"] = json!(t);
    }
    Ok(out)
}

/// A page read in the order of an indexed column, in batches, each row
/// decided by the full criteria, until the page and one more are found.
async fn indexed_page(
    db: &StateDb,
    req: &Request,
    col: &str,
    ty: ColumnType,
    inverted: bool,
) -> Result<(Vec<Value>, Option<String>), ListError> {
    let bad_token = || invalid("nextToken is not one this service gave");
    let desc = req.desc != inverted;
    let (cmp, dir) = if desc { ("<", "DESC") } else { (">", "ASC") };
    // The cursor in the column's terms.
    let column_key = |key: &Value| -> Option<Bind> {
        match ty {
            ColumnType::Text => key.as_str().map(|s| Bind::Text(s.to_owned())),
            ColumnType::Real => key.as_f64().map(Bind::Real),
            ColumnType::Int => key
                .as_i64()
                .map(|k| Bind::Int(if inverted { 5 - k } else { k })),
        }
    };
    let mut after: Option<(Bind, String)> = match &req.cursor {
        None => None,
        Some((key, arn)) => Some((column_key(key).ok_or_else(bad_token)?, arn.clone())),
    };
    let base = narrowing(&req.criteria);
    // Enough rows that a page filtered further in memory rarely needs a
    // second batch, few enough that an unfiltered page reads little.
    let batch = (req.limit + 1).max(200);
    let mut page: Vec<(Value, String, Value)> = Vec::new();
    loop {
        let mut w = Where {
            clauses: base.clauses.clone(),
            binds: base.binds.clone(),
        };
        if let Some((key, arn)) = &after {
            let k1 = w.mark(key.clone());
            let k2 = w.mark(key.clone());
            let a = w.mark(Bind::Text(arn.clone()));
            w.clauses.push(format!(
                "({col} {cmp} {k1} OR ({col} = {k2} AND arn {cmp} {a}))"
            ));
        }
        let sql = format!(
            "SELECT arn, {col} AS sort_value, body FROM findings WHERE {} ORDER BY {col} {dir}, arn {dir} LIMIT {batch}",
            w.sql()
        );
        let rows = bind_all(sqlx::query(&sql), &w.binds)
            .fetch_all(db.pool())
            .await?;
        let exhausted = rows.len() < batch;
        for r in &rows {
            let arn: String = r.try_get("arn")?;
            let key = match ty {
                ColumnType::Text => Bind::Text(r.try_get("sort_value")?),
                ColumnType::Real => Bind::Real(r.try_get("sort_value")?),
                ColumnType::Int => Bind::Int(r.try_get("sort_value")?),
            };
            after = Some((key.clone(), arn.clone()));
            let v = json_body(r)?;
            if req.criteria.matches(&v) {
                let key = match key {
                    Bind::Text(s) => json!(s),
                    Bind::Real(x) => json!(x),
                    Bind::Int(i) => json!(if inverted { 5 - i } else { i }),
                };
                page.push((key, arn, v));
                if page.len() > req.limit {
                    break;
                }
            }
        }
        if page.len() > req.limit || exhausted {
            break;
        }
    }
    Ok(finish(page, req.limit))
}

/// The first `limit` findings and, when there are more, the token after
/// the last of them.
fn finish(mut page: Vec<(Value, String, Value)>, limit: usize) -> (Vec<Value>, Option<String>) {
    let next = (page.len() > limit).then(|| {
        page.truncate(limit);
        page.last().map(|(k, a, _)| token(k, a))
    });
    (page.into_iter().map(|p| p.2).collect(), next.flatten())
}

/// A page sorted in memory: every narrowed row read.
async fn sorted_page(
    db: &StateDb,
    req: &Request,
) -> Result<(Vec<Value>, Option<String>), ListError> {
    let w = narrowing(&req.criteria);
    let sql = format!("SELECT arn, body FROM findings WHERE {}", w.sql());
    let rows = bind_all(sqlx::query(&sql), &w.binds)
        .fetch_all(db.pool())
        .await?;
    let mut found: Vec<(Value, String, Value)> = Vec::new();
    for r in &rows {
        let v = json_body(r)?;
        if req.criteria.matches(&v) {
            found.push((sort_key(req.field, &v), r.try_get("arn")?, v));
        }
    }
    let order = |a: (&Value, &str), b: (&Value, &str)| {
        let o = compare_keys(a.0, b.0).then_with(|| a.1.cmp(b.1));
        if req.desc { o.reverse() } else { o }
    };
    found.sort_by(|a, b| order((&a.0, &a.1), (&b.0, &b.1)));
    let start = match &req.cursor {
        None => 0,
        Some((key, arn)) => found
            .partition_point(|f| order((&f.0, &f.1), (key, arn)) != std::cmp::Ordering::Greater),
    };
    let page: Vec<(Value, String, Value)> =
        found.into_iter().skip(start).take(req.limit + 1).collect();
    Ok(finish(page, req.limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowing_numbers_its_parameters_in_order() {
        let c = Criteria::parse(&json!({
            "severity": [{"comparison": "EQUALS", "value": "HIGH"}, {"comparison": "PREFIX", "value": "CRIT"}],
            "findingStatus": [{"comparison": "NOT_EQUALS", "value": "CLOSED"}],
            "inspectorScore": [{"lowerInclusive": 7.0}],
            "updatedAt": [{"startInclusive": 0, "endInclusive": 86400}],
        }))
        .unwrap();
        let w = narrowing(&c);
        assert_eq!(
            w.sql(),
            "((severity || '') = $1 OR substr((severity || ''), 1, CAST($2 AS INTEGER)) = $3) AND (status || '') <> $4 AND ((score >= $5)) \
             AND ((1 = 1 AND updated_at >= $6 AND updated_at <= $7))"
        );
        assert_eq!(w.binds[1], Bind::Int(4));
        assert_eq!(w.binds[6], Bind::Text("1970-01-02T00:00:00Z".into()));
    }

    #[test]
    fn keys_without_a_column_are_left_to_the_criteria() {
        let c = Criteria::parse(&json!({
            "vulnerablePackages": [{"name": {"comparison": "PREFIX", "value": "openssl"}}],
            "ecrImageRegistry": [{"comparison": "EQUALS", "value": "r"}],
        }))
        .unwrap();
        assert_eq!(narrowing(&c).sql(), "1 = 1");
        // One package filter without an exact name: no narrowing by name.
        let c = Criteria::parse(&json!({
            "vulnerablePackages": [
                {"name": {"comparison": "EQUALS", "value": "openssl"}},
                {"version": {"comparison": "EQUALS", "value": "1.0"}},
            ],
        }))
        .unwrap();
        assert_eq!(narrowing(&c).sql(), "1 = 1");
        let c = Criteria::parse(&json!({
            "vulnerablePackages": [{"name": {"comparison": "EQUALS", "value": "openssl"}}],
        }))
        .unwrap();
        assert_eq!(
            narrowing(&c).sql(),
            "arn IN (SELECT arn FROM finding_packages WHERE name IN ($1))"
        );
    }

    #[test]
    fn a_page_names_its_last_finding_only_when_more_follow() {
        let rows = |n: usize| -> Vec<(Value, String, Value)> {
            (0..n)
                .map(|i| (json!(i), format!("arn{i}"), json!({"i": i})))
                .collect()
        };
        let (page, next) = finish(rows(3), 3);
        assert_eq!(page.len(), 3);
        assert!(next.is_none());
        let (page, next) = finish(rows(4), 3);
        assert_eq!(page.len(), 3);
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(next.unwrap())
            .unwrap();
        let (k, a): (Value, String) = serde_json::from_slice(&raw).unwrap();
        assert_eq!((k, a.as_str()), (json!(2), "arn2"));
    }
}
