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
//! value and ARN: findings added or removed between pages neither repeat
//! nor go missing; one whose sort value changes between pages (a rematch
//! moves `updatedAt`) may cross the cursor.

use serde_json::{Value, json};
use sqlx::Row;

use crate::criteria::{Comparison, Criteria};
use crate::db::{Backend, DbError, StateDb};

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

/// How a page is found: which of its filters an index may serve.
///
/// A filter that matches many findings (a status, a severity, a date
/// range, a common package) is best checked while walking the sort
/// column's index: a page then reads about `limit / selectivity` rows. A
/// filter that matches few (a resource, an ARN, a rare vulnerability or
/// package) is best looked up in its own index, and its few findings
/// sorted. Planners without per-value statistics (SQLite's) cannot tell
/// the two apart, so the query says which: a column compared as an
/// expression (`|| ''`, `+ 0`) is one no index serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Walk the sort column's index; only the resource and the ARN (always
    /// few) are looked up.
    Walk,
    /// Look up the vulnerability and package filters too (they match fewer
    /// than [`LOOKUP_BELOW`] findings).
    Lookup,
    /// Walk the sort column's index alone, and keep the findings of an
    /// exact package filter's names, whose ARNs are read first (more than
    /// [`LOOKUP_BELOW`], fewer than [`MEMBERS_BELOW`]): checking each
    /// walked row against the package table costs a search of it per row
    /// (measured at 1,000,000 findings on SQLite: 30,000 `openssl`
    /// findings, a first page in 116 ms that way, 40 ms this way).
    Members,
    /// Every column left to the planner: PostgreSQL's, which keeps
    /// per-value statistics and plans each query with its values
    /// (`plan_cache_mode = force_custom_plan`, set on every connection).
    Planner,
}

/// Below this many candidates, a vulnerability or package filter is looked
/// up and its findings sorted (their ARNs and sort values only: a few
/// milliseconds).
const LOOKUP_BELOW: i64 = 10_000;

/// Below this many, the ARNs of an exact package filter's findings are
/// read and held for a walk ([`Plan::Members`]: about 60 bytes each).
const MEMBERS_BELOW: i64 = 250_000;

/// How many index rows a [`Plan::Members`] walk reads at a time: rows of
/// the sort column's index alone, most of them not kept. (Tests read a few
/// at a time, so that pages span batches.)
const MEMBERS_BATCH: usize = if cfg!(test) { 7 } else { 2_000 };

/// String keys with a column: the column, and whether an index may serve
/// it under [`Plan::Walk`] / [`Plan::Lookup`]. Each finding names one
/// resource, the one whose ID is `resource_id`.
const STRING_COLUMNS: &[(&str, &str, bool, bool)] = &[
    ("findingArn", "arn", true, true),
    ("findingType", "kind", false, false),
    ("severity", "severity", false, false),
    ("findingStatus", "status", false, false),
    ("resourceId", "resource_id", true, true),
    ("vulnerabilityId", "vulnerability_id", false, true),
    ("title", "title", false, false),
    ("fixAvailable", "fix_available", false, false),
    ("exploitAvailable", "exploit_available", false, true),
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

/// The exact package names the criteria select, when every package filter
/// names one (the filters are ORed).
fn package_names(criteria: &Criteria) -> Option<Vec<&str>> {
    let names: Option<Vec<&str>> = criteria
        .package_filters()
        .iter()
        .map(|p| {
            p.name
                .as_ref()
                .filter(|n| n.comparison == Comparison::Equals)
                .map(|n| n.value.as_str())
        })
        .collect();
    names.filter(|n| !n.is_empty())
}

/// Column `name` written so that no index serves it: `+name` on SQLite
/// (the value as it is, no copy per row) and an expression on PostgreSQL,
/// which has no unary plus for text.
fn unindexed(backend: Backend, name: &str, text: bool) -> String {
    match (backend, text) {
        (Backend::Sqlite, _) => format!("+{name}"),
        (Backend::Postgres, true) => format!("({name} || '')"),
        (Backend::Postgres, false) => format!("({name} + 0)"),
    }
}

/// The SQL that selects a superset of what `criteria` match, for `plan`.
/// A filter on `sort`, the column walked, stays a range of its index.
/// [`Plan::Planner`] leaves every column to the planner.
///
/// The clauses come cheapest first (SQLite checks them in that order while
/// walking): ranges of numbers and dates, then texts, then the package
/// table's search. A column no index may serve is written `+column` on
/// SQLite (no copy per row: a title prefix with a date range, walked over
/// 220,000 index entries, 36-47 ms as `(column || '')`, 17-23 ms so) and as
/// an expression on PostgreSQL, which has no unary plus for text.
fn narrowing(criteria: &Criteria, plan: Plan, sort: Option<&str>, backend: Backend) -> Where {
    let mut w = Where::default();
    // A members walk reads the sort column's index alone: only a filter on
    // that column narrows it; the criteria decide the rest per finding.
    let kept = |name: &str| plan != Plan::Members || sort == Some(name);
    // A range is a range of the index walked, or left to the planner, or
    // checked per row.
    let range_col = |name: &str, text: bool| {
        if sort == Some(name) || plan == Plan::Planner {
            name.to_owned()
        } else {
            unindexed(backend, name, text)
        }
    };
    for &(key, name) in NUMBER_COLUMNS {
        if !kept(name) {
            continue;
        }
        let col = range_col(name, false);
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
    for &(key, name) in DATE_COLUMNS {
        let Some(ranges) = criteria.date_ranges(key) else {
            continue;
        };
        if !kept(name) {
            continue;
        }
        let col = range_col(name, true);
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
    for &(key, name, walk, lookup) in STRING_COLUMNS {
        let Some(filters) = criteria.string_filters(key) else {
            continue;
        };
        if !kept(name) {
            continue;
        }
        let indexed = match plan {
            Plan::Walk | Plan::Members => walk,
            Plan::Lookup => lookup,
            Plan::Planner => true,
        } || sort == Some(name);
        let col = if indexed {
            name.to_owned()
        } else {
            unindexed(backend, name, true)
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
    // findings are among those of these names: looked up by name, or
    // checked per finding while walking.
    if let Some(names) = package_names(criteria).filter(|_| plan != Plan::Members) {
        let marks: Vec<String> = names
            .iter()
            .map(|n| w.mark(Bind::Text((*n).to_owned())))
            .collect();
        w.clauses.push(match plan {
            Plan::Lookup | Plan::Planner => format!(
                "arn IN (SELECT arn FROM finding_packages WHERE name IN ({}))",
                marks.join(", ")
            ),
            Plan::Walk | Plan::Members => format!(
                "EXISTS (SELECT 1 FROM finding_packages p WHERE p.name IN ({}) AND p.arn = findings.arn)",
                marks.join(", ")
            ),
        });
    }
    w
}

/// A vendor's severity as a sort key: by rank, the words vendors use
/// (GitHub's `MODERATE`, Debian's `unimportant`, Red Hat's `Important`)
/// read case-insensitively, then by text, so that a descending sort puts
/// the most severe first whatever each vendor calls it. Words no rank
/// names come below the ranked ones; a finding without one comes last.
fn vendor_severity_key(severity: Option<&str>) -> Value {
    let Some(text) = severity.filter(|s| !s.trim().is_empty()) else {
        return json!("");
    };
    let rank = match text.trim().to_ascii_lowercase().as_str() {
        "critical" => 5,
        "high" | "important" => 4,
        "medium" | "moderate" => 3,
        "low" => 2,
        "negligible" | "unimportant" | "informational" | "none" => 1,
        _ => 0,
    };
    json!(format!("{rank}:{text}"))
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
        "VENDOR_SEVERITY" => vendor_severity_key(
            f.pointer("/packageVulnerabilityDetails/vendorSeverity")
                .and_then(Value::as_str),
        ),
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
    /// What this request's page tokens are bound to ([`crate::pages`]).
    tag: String,
}

fn invalid(m: impl Into<String>) -> ListError {
    ListError::Invalid(m.into())
}

fn read_request(req: &Value) -> Result<Request, ListError> {
    let mut req = req.clone();
    crate::openapi::check_body(&mut req, "/findings/list").map_err(invalid)?;
    let req = &req;
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
    let tag = crate::pages::query_tag(req);
    let bad_token = || invalid(crate::pages::TokenError::NotOurs.message());
    let cursor = match crate::pages::take(req, &tag).map_err(|e| invalid(e.message()))? {
        None => None,
        Some(after) => {
            let (key, arn): (Value, String) =
                serde_json::from_value(after).map_err(|_| bad_token())?;
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
        tag,
    })
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

/// Runs a page's ordering query. On PostgreSQL without parallel workers:
/// a page reads a few hundred rows from an index, and starting workers
/// for it cost more than the reading (measured at 1,000,000 findings: a
/// package filter's walk took 35-80 ms in a parallel plan, 25-35 ms in
/// one process). Only these queries are kept serial; the overview's
/// counts may still use workers.
async fn ordered_rows(
    db: &StateDb,
    sql: &str,
    binds: &[Bind],
) -> Result<Vec<sqlx::any::AnyRow>, ListError> {
    if db.backend() != crate::db::Backend::Postgres {
        return Ok(bind_all(sqlx::query(sql), binds)
            .fetch_all(db.pool())
            .await?);
    }
    let mut tx = db.pool().begin().await?;
    sqlx::query("SET LOCAL max_parallel_workers_per_gather = 0")
        .execute(&mut *tx)
        .await?;
    let rows = bind_all(sqlx::query(sql), binds)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows)
}

/// The ARNs of the open findings that `criteria` may match, read through
/// the indexes (a superset: the criteria decide on each finding), or
/// `None` when no key of the criteria narrows them (every open finding
/// may match) or when there are more than `most`.
pub(crate) async fn open_candidates(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: crate::db::Backend,
    criteria: &Criteria,
    most: usize,
) -> Result<Option<Vec<String>>, DbError> {
    // SQLite's planner has no per-value statistics: only the columns that
    // always select few (resource, ARN, vulnerability, package, exploit)
    // are left to their indexes.
    let plan = match backend {
        crate::db::Backend::Sqlite => Plan::Lookup,
        crate::db::Backend::Postgres => Plan::Planner,
    };
    let w = narrowing(criteria, plan, None, backend);
    if w.clauses.is_empty() {
        return Ok(None);
    }
    let sql = format!(
        "SELECT arn FROM findings WHERE status <> 'CLOSED' AND {} LIMIT {}",
        w.sql(),
        most.saturating_add(1)
    );
    let rows = bind_all(sqlx::query(&sql), &w.binds)
        .fetch_all(&mut **tx)
        .await?;
    if rows.len() > most {
        return Ok(None);
    }
    Ok(Some(
        rows.iter()
            .map(|r| r.try_get("arn"))
            .collect::<Result<_, _>>()?,
    ))
}

/// `POST /findings/list`: one page of findings, Inspector's response.
pub async fn list(db: &StateDb, req: &Value) -> Result<Value, ListError> {
    list_planned(db, req, None).await
}

async fn list_planned(db: &StateDb, req: &Value, force: Option<Plan>) -> Result<Value, ListError> {
    let req = read_request(req)?;
    let (findings, next) = match SORT_COLUMNS.iter().find(|c| c.0 == req.field) {
        Some(&(_, col, ty, inverted)) => {
            let plan = match force {
                Some(p) => p,
                None => plan(db, &req.criteria).await?,
            };
            indexed_page(db, &req, (col, ty, inverted), plan).await?
        }
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
    (col, ty, inverted): (&str, ColumnType, bool),
    plan: Plan,
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
    let base = narrowing(&req.criteria, plan, Some(col), db.backend());
    // Enough rows that a page filtered further in memory rarely needs a
    // second batch, few enough that an unfiltered page reads little.
    let mut batch = (req.limit + 1).max(200);
    let members = match (plan, package_names(&req.criteria)) {
        (Plan::Members, Some(names)) => {
            batch = MEMBERS_BATCH;
            Some(package_members(db, &names).await?)
        }
        _ => None,
    };
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
        let sql = ordered_sql(&w, (col, ty), plan, (dir, batch), db.backend());
        let rows = ordered_rows(db, &sql, &w.binds).await?;
        let exhausted = rows.len() < batch;
        let mut order = Vec::with_capacity(rows.len());
        for r in &rows {
            let arn: String = r.try_get("arn")?;
            let key = match ty {
                ColumnType::Text => Bind::Text(r.try_get("sort_value")?),
                ColumnType::Real => Bind::Real(r.try_get("sort_value")?),
                ColumnType::Int => Bind::Int(r.try_get("sort_value")?),
            };
            order.push((key, arn));
        }
        // The next batch starts after the last row read, kept or not.
        let last = order.last().cloned();
        if let Some(members) = &members {
            order.retain(|(_, arn)| members.contains(arn));
        }
        // Bodies only as many as the page still needs, then more if the
        // criteria turned some down: a walk's batch holds more rows than a
        // page, and each body is read and parsed (about 3 KB).
        let mut rows = order.into_iter().peekable();
        while rows.peek().is_some() && page.len() <= req.limit {
            let need = req.limit + 1 - page.len();
            let now: Vec<(Bind, String)> = rows.by_ref().take(need).collect();
            let mut bodies = bodies(db, now.iter().map(|(_, a)| a.as_str())).await?;
            for (key, arn) in now {
                // Gone between the two reads: not listed.
                let Some(v) = bodies.remove(&arn) else {
                    continue;
                };
                if req.criteria.matches(&v) {
                    let key = match key {
                        Bind::Text(s) => json!(s),
                        Bind::Real(x) => json!(x),
                        Bind::Int(i) => json!(if inverted { 5 - i } else { i }),
                    };
                    page.push((key, arn, v));
                }
            }
        }
        if page.len() > req.limit || exhausted {
            break;
        }
        after = last;
    }
    Ok(finish(page, req.limit, &req.tag))
}

/// The statement that reads a batch of ARNs and sort values in the order
/// of `col`: the order first (what an index holds, and little to sort),
/// the bodies of those rows after.
fn ordered_sql(
    w: &Where,
    (col, ty): (&str, ColumnType),
    plan: Plan,
    (dir, batch): (&str, usize),
    backend: Backend,
) -> String {
    // A lookup sorts its few findings: ordered by an expression, which no
    // planner reads from the sort column's index (a walk of it, looking for
    // findings that may all sit at its far end, is what a planner assuming
    // the filter and the order independent picks).
    let order_by = match plan {
        Plan::Lookup => unindexed(backend, col, ty == ColumnType::Text),
        _ => col.to_owned(),
    };
    format!(
        "SELECT arn, {col} AS sort_value FROM findings WHERE {} ORDER BY {order_by} {dir}, arn {dir} LIMIT {batch}",
        w.sql()
    )
}

/// The ARNs of the findings of packages `names` (what a package filter
/// narrows to, as the package table holds them). They come back as one
/// text, joined by the database: tens of thousands of rows handed one by
/// one from SQLite's thread to the request's task cost more than reading
/// them (measured: 30,000 ARNs, about 50 ms as rows).
async fn package_members(
    db: &StateDb,
    names: &[&str],
) -> Result<std::collections::HashSet<String>, ListError> {
    let marks: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
    let joined = match db.backend() {
        crate::db::Backend::Sqlite => "group_concat(arn, ' ')",
        crate::db::Backend::Postgres => "string_agg(arn, ' ')",
    };
    let sql = format!(
        "SELECT {joined} FROM finding_packages WHERE name IN ({})",
        marks.join(", ")
    );
    let mut q = sqlx::query_scalar::<_, Option<String>>(&sql);
    for n in names {
        q = q.bind(*n);
    }
    // Vigia's ARNs hold no space.
    let all = q.fetch_one(db.pool()).await?.unwrap_or_default();
    Ok(all
        .split(' ')
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect())
}

/// The findings' bodies, by ARN.
async fn bodies<'a>(
    db: &StateDb,
    arns: impl Iterator<Item = &'a str>,
) -> Result<std::collections::HashMap<String, Value>, ListError> {
    let arns: Vec<&str> = arns.collect();
    let mut out = std::collections::HashMap::with_capacity(arns.len());
    for chunk in arns.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT arn, body FROM findings WHERE arn IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for a in chunk {
            q = q.bind(*a);
        }
        for r in q.fetch_all(db.pool()).await? {
            out.insert(r.try_get("arn")?, json_body(&r)?);
        }
    }
    Ok(out)
}

/// Which plan serves the criteria: a lookup when a vulnerability, exact
/// package or exploit availability filter matches fewer than
/// [`LOOKUP_BELOW`] findings (counted,
/// up to that many, in its index), else a walk on SQLite and the
/// planner's choice on PostgreSQL.
async fn plan(db: &StateDb, criteria: &Criteria) -> Result<Plan, ListError> {
    let count = |sql: String, binds: Vec<String>| async move {
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let n: i64 = q.fetch_one(db.pool()).await?.try_get("n")?;
        Ok::<i64, ListError>(n)
    };
    let marks = |n: usize| {
        (1..=n)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(filters) = criteria.string_filters("vulnerabilityId")
        && filters.iter().all(|f| f.comparison == Comparison::Equals)
    {
        let values: Vec<String> = filters.iter().map(|f| f.value.clone()).collect();
        let sql = format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM findings WHERE vulnerability_id IN ({}) LIMIT {LOOKUP_BELOW}) t",
            marks(values.len())
        );
        if count(sql, values).await? < LOOKUP_BELOW {
            return Ok(Plan::Lookup);
        }
    }
    // Known exploited findings are few (a filter on `YES`, KEV's findings).
    if let Some(filters) = criteria.string_filters("exploitAvailable")
        && filters.iter().all(|f| f.comparison == Comparison::Equals)
    {
        let values: Vec<String> = filters.iter().map(|f| f.value.clone()).collect();
        let sql = format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM findings WHERE exploit_available IN ({}) LIMIT {LOOKUP_BELOW}) t",
            marks(values.len())
        );
        if count(sql, values).await? < LOOKUP_BELOW {
            return Ok(Plan::Lookup);
        }
    }
    if let Some(names) = package_names(criteria) {
        let values: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let sql = |limit: i64| {
            format!(
                "SELECT COUNT(*) AS n FROM (SELECT 1 FROM finding_packages WHERE name IN ({}) LIMIT {limit}) t",
                marks(values.len())
            )
        };
        if count(sql(LOOKUP_BELOW), values.clone()).await? < LOOKUP_BELOW {
            return Ok(Plan::Lookup);
        }
        // A resource or an ARN filter is served by its own index (always
        // few findings) in a walk. PostgreSQL's planner walks with a
        // nested loop that is as fast (measured: 36 ms against 46 ms).
        let few = ["resourceId", "findingArn"]
            .iter()
            .any(|k| criteria.string_filters(k).is_some());
        if !few
            && db.backend() == crate::db::Backend::Sqlite
            && count(sql(MEMBERS_BELOW), values).await? < MEMBERS_BELOW
        {
            return Ok(Plan::Members);
        }
    }
    Ok(if db.backend() == crate::db::Backend::Postgres {
        Plan::Planner
    } else {
        Plan::Walk
    })
}

/// The first `limit` findings and, when there are more, the token after
/// the last of them.
fn finish(
    mut page: Vec<(Value, String, Value)>,
    limit: usize,
    tag: &str,
) -> (Vec<Value>, Option<String>) {
    let next = (page.len() > limit).then(|| {
        page.truncate(limit);
        page.last()
            .map(|(k, a, _)| crate::pages::give(&json!([k, a]), tag))
    });
    (page.into_iter().map(|p| p.2).collect(), next.flatten())
}

/// A page sorted in memory: every narrowed row read.
async fn sorted_page(
    db: &StateDb,
    req: &Request,
) -> Result<(Vec<Value>, Option<String>), ListError> {
    // A members walk needs a sort column: its plan is the walk's here.
    let plan = match plan(db, &req.criteria).await? {
        Plan::Members if db.backend() == crate::db::Backend::Postgres => Plan::Planner,
        Plan::Members => Plan::Walk,
        p => p,
    };
    let w = narrowing(&req.criteria, plan, None, db.backend());
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
    Ok(finish(page, req.limit, &req.tag))
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
        let w = narrowing(&c, Plan::Walk, None, Backend::Sqlite);
        // Ranges first, texts after; no index serves a column written
        // `+column`.
        assert_eq!(
            w.sql(),
            "((+score >= $1)) AND ((1 = 1 AND +updated_at >= $2 AND +updated_at <= $3)) \
             AND (+severity = $4 OR substr(+severity, 1, CAST($5 AS INTEGER)) = $6) AND +status <> $7"
        );
        assert_eq!(w.binds[4], Bind::Int(4));
        assert_eq!(w.binds[1], Bind::Text("1970-01-01T00:00:00Z".into()));
        assert_eq!(w.binds[2], Bind::Text("1970-01-02T00:00:00Z".into()));
        // Sorting by score, a score filter is a range of the score index.
        assert!(
            narrowing(&c, Plan::Walk, Some("score"), Backend::Sqlite)
                .sql()
                .contains("((score >= $1))")
        );
        // PostgreSQL has no unary plus for text.
        assert_eq!(
            narrowing(&c, Plan::Walk, None, Backend::Postgres).sql(),
            "(((score + 0) >= $1)) AND ((1 = 1 AND (updated_at || '') >= $2 AND (updated_at || '') <= $3)) \
             AND ((severity || '') = $4 OR substr((severity || ''), 1, CAST($5 AS INTEGER)) = $6) AND (status || '') <> $7"
        );
    }

    #[test]
    fn vendor_severities_sort_by_rank_whatever_each_vendor_calls_them() {
        let mut words = vec![
            Some("unimportant"),
            Some("low"),
            Some("MODERATE"),
            Some("LOW"),
            Some("HIGH"),
            Some("CRITICAL"),
            None,
            Some("Important"),
            Some("not yet assigned"),
        ];
        words.sort_by(|a, b| compare_keys(&vendor_severity_key(*b), &vendor_severity_key(*a)));
        assert_eq!(
            words,
            vec![
                Some("CRITICAL"),
                // One rank: by text, descending.
                Some("Important"),
                Some("HIGH"),
                Some("MODERATE"),
                Some("low"),
                Some("LOW"),
                Some("unimportant"),
                Some("not yet assigned"),
                None,
            ]
        );
    }

    #[test]
    fn keys_without_a_column_are_left_to_the_criteria() {
        let c = Criteria::parse(&json!({
            "vulnerablePackages": [{"name": {"comparison": "PREFIX", "value": "openssl"}}],
            "ecrImageRegistry": [{"comparison": "EQUALS", "value": "r"}],
        }))
        .unwrap();
        assert_eq!(
            narrowing(&c, Plan::Lookup, None, Backend::Sqlite).sql(),
            "1 = 1"
        );
        // One package filter without an exact name: no narrowing by name.
        let c = Criteria::parse(&json!({
            "vulnerablePackages": [
                {"name": {"comparison": "EQUALS", "value": "openssl"}},
                {"version": {"comparison": "EQUALS", "value": "1.0"}},
            ],
        }))
        .unwrap();
        assert_eq!(
            narrowing(&c, Plan::Lookup, None, Backend::Sqlite).sql(),
            "1 = 1"
        );
    }

    #[test]
    fn a_lookup_lets_the_index_serve_what_a_walk_checks_per_row() {
        let c = Criteria::parse(&json!({
            "vulnerablePackages": [{"name": {"comparison": "EQUALS", "value": "openssl"}}],
            "vulnerabilityId": [{"comparison": "EQUALS", "value": "CVE-1"}],
            "resourceId": [{"comparison": "EQUALS", "value": "r"}],
        }))
        .unwrap();
        assert_eq!(
            narrowing(&c, Plan::Lookup, None, Backend::Sqlite).sql(),
            "(resource_id = $1) AND (vulnerability_id = $2) \
             AND arn IN (SELECT arn FROM finding_packages WHERE name IN ($3))"
        );
        assert_eq!(
            narrowing(&c, Plan::Walk, None, Backend::Sqlite).sql(),
            "(resource_id = $1) AND (+vulnerability_id = $2) \
             AND EXISTS (SELECT 1 FROM finding_packages p WHERE p.name IN ($3) AND p.arn = findings.arn)"
        );
    }

    /// Both plans list the same findings in the same order, on a real
    /// database: the walk checks per row what the lookup finds by index.
    #[tokio::test]
    async fn both_plans_list_the_same_pages() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("state.db").display());
        let db = StateDb::open(&url).await.unwrap();
        let severities = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];
        for i in 0..120_i64 {
            let arn = format!("arn:{i:03}");
            let severity = severities[usize::try_from(i % 4).unwrap()];
            // One finding of a rare package: a members walk reads whole
            // batches without it.
            let package = match i {
                100 => "rare",
                _ if i % 3 == 0 => "openssl",
                _ => "zlib",
            };
            let vuln = format!("CVE-{}", i % 5);
            let at = format!("2026-12-{:02}T00:00:00Z", 1 + i % 28);
            let body = json!({"findingArn": arn, "severity": severity, "status": "ACTIVE",
                "type": "PACKAGE_VULNERABILITY", "title": format!("{vuln} - {package}"),
                "updatedAt": at, "firstObservedAt": at, "lastObservedAt": at,
                "inspectorScore": f64::from(u8::try_from(i % 10).unwrap()),
                "resources": [{"id": format!("r{}", i % 7), "type": "AWS_LAMBDA_FUNCTION"}],
                "packageVulnerabilityDetails": {"vulnerabilityId": vuln,
                    "vulnerablePackages": [{"name": package, "version": "1"}]}});
            sqlx::query(
                "INSERT INTO findings (arn, resource_id, kind, status, severity, severity_rank, vulnerability_id, title, \
                 score, epss, first_observed_at, last_observed_at, updated_at, body) \
                 VALUES ($1, $2, 'PACKAGE_VULNERABILITY', 'ACTIVE', $3, $4, $5, $6, $7, -1, $8, $8, $8, $9)",
            )
            .bind(&arn)
            .bind(format!("r{}", i % 7))
            .bind(severity)
            .bind(i % 4)
            .bind(&vuln)
            .bind(body["title"].as_str().unwrap())
            .bind(f64::from(u8::try_from(i % 10).unwrap()))
            .bind(&at)
            .bind(body.to_string())
            .execute(db.pool())
            .await
            .unwrap();
            sqlx::query("INSERT INTO finding_packages (name, arn) VALUES ($1, $2)")
                .bind(package)
                .bind(&arn)
                .execute(db.pool())
                .await
                .unwrap();
        }
        let eq = |v: &str| json!([{"comparison": "EQUALS", "value": v}]);
        for criteria in [
            json!({"vulnerablePackages": [{"name": {"comparison": "EQUALS", "value": "openssl"}}]}),
            json!({"vulnerablePackages": [{"name": {"comparison": "EQUALS", "value": "rare"}}]}),
            json!({"vulnerablePackages": [{"name": {"comparison": "EQUALS", "value": "openssl"}}],
                   "updatedAt": [{"startInclusive": "2026-12-05T00:00:00Z"}]}),
            json!({"vulnerabilityId": eq("CVE-2"), "severity": eq("HIGH")}),
            json!({"vulnerabilityId": eq("CVE-1"), "inspectorScore": [{"lowerInclusive": 3.0}],
                   "updatedAt": [{"startInclusive": "2026-12-05T00:00:00Z"}]}),
        ] {
            for sort in ["SEVERITY", "INSPECTOR_SCORE", "FIRST_OBSERVED_AT"] {
                let mut pages = Vec::new();
                for plan in [Plan::Walk, Plan::Lookup, Plan::Planner, Plan::Members] {
                    let mut arns = Vec::new();
                    let mut req = json!({"filterCriteria": criteria, "maxResults": 4,
                                         "sortCriteria": {"field": sort, "sortOrder": "DESC"}});
                    loop {
                        let out = list_planned(&db, &req, Some(plan)).await.unwrap();
                        for f in out["findings"].as_array().unwrap() {
                            arns.push(f["findingArn"].as_str().unwrap().to_owned());
                        }
                        match out.get("nextToken") {
                            Some(t) => req["nextToken"] = t.clone(),
                            None => break,
                        }
                    }
                    pages.push(arns);
                }
                assert!(!pages[0].is_empty(), "{criteria} {sort}");
                assert_eq!(pages[0], pages[1], "{criteria} {sort}");
                assert_eq!(pages[0], pages[2], "{criteria} {sort}");
                assert_eq!(pages[0], pages[3], "{criteria} {sort}");
            }
        }
        // What a suppression rule may match, through the same narrowing: a
        // superset the criteria decide on, none when there are too many or
        // when no key narrows.
        let mut tx = db.pool().begin().await.unwrap();
        let one_cve = Criteria::parse(&json!({"vulnerabilityId": eq("CVE-2")})).unwrap();
        let found = open_candidates(&mut tx, db.backend(), &one_cve, 1000)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.len(), 24, "{found:?}");
        assert!(
            open_candidates(&mut tx, db.backend(), &one_cve, 23)
                .await
                .unwrap()
                .is_none()
        );
        let by_version = Criteria::parse(&json!({"vulnerablePackages": [
            {"version": {"comparison": "EQUALS", "value": "1"}}]}))
        .unwrap();
        assert!(
            open_candidates(&mut tx, db.backend(), &by_version, 1000)
                .await
                .unwrap()
                .is_none()
        );
    }

    /// Sorted by a date, a walk checks every filter that has a column in
    /// the sort column's index alone (migration 0012): SQLite reads a
    /// finding's row only for those kept. A filter column missing from a
    /// date's index fails this.
    #[tokio::test]
    async fn a_walk_reads_the_sort_index_alone() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("state.db").display());
        let db = StateDb::open(&url).await.unwrap();
        let eq = |v: &str| json!([{"comparison": "EQUALS", "value": v}]);
        let c = Criteria::parse(&json!({
            "severity": eq("HIGH"),
            "findingStatus": eq("ACTIVE"),
            "findingType": eq("PACKAGE_VULNERABILITY"),
            "vulnerabilityId": eq("CVE-1"),
            "title": [{"comparison": "PREFIX", "value": "CVE-2023"}],
            "fixAvailable": eq("YES"),
            "exploitAvailable": eq("NO"),
            "inspectorScore": [{"lowerInclusive": 7.0}],
            "epssScore": [{"lowerInclusive": 0.1}],
            "firstObservedAt": [{"startInclusive": 0}],
            "lastObservedAt": [{"startInclusive": 0}],
            "updatedAt": [{"startInclusive": 0, "endInclusive": 86400}],
            "vulnerablePackages": [{"name": {"comparison": "EQUALS", "value": "openssl"}}],
        }))
        .unwrap();
        let dates = SORT_COLUMNS.iter().filter(|c| c.1.ends_with("_at"));
        assert_eq!(dates.clone().count(), 3);
        for &(_, col, ty, _) in dates {
            for plan in [Plan::Walk, Plan::Members] {
                let w = narrowing(&c, plan, Some(col), Backend::Sqlite);
                let sql = format!(
                    "EXPLAIN QUERY PLAN {}",
                    ordered_sql(&w, (col, ty), plan, ("DESC", 200), Backend::Sqlite)
                );
                let mut q = sqlx::query(&sql);
                for b in &w.binds {
                    q = match b {
                        Bind::Text(s) => q.bind(s.clone()),
                        Bind::Real(x) => q.bind(*x),
                        Bind::Int(i) => q.bind(*i),
                    };
                }
                let steps: Vec<String> = q
                    .fetch_all(db.pool())
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.try_get::<String, _>("detail").unwrap())
                    .collect();
                assert!(
                    steps.iter().any(|s| {
                        (s.starts_with("SCAN findings ") || s.starts_with("SEARCH findings "))
                            && s.contains(" USING COVERING INDEX ")
                    }),
                    "{col} {plan:?}: {steps:?}"
                );
            }
        }
    }

    #[test]
    fn a_page_names_its_last_finding_only_when_more_follow() {
        let rows = |n: usize| -> Vec<(Value, String, Value)> {
            (0..n)
                .map(|i| (json!(i), format!("arn{i}"), json!({"i": i})))
                .collect()
        };
        let (page, next) = finish(rows(3), 3, "q");
        assert_eq!(page.len(), 3);
        assert!(next.is_none());
        let (page, next) = finish(rows(4), 3, "q");
        assert_eq!(page.len(), 3);
        let after = crate::pages::take(&json!({ "nextToken": next }), "q").unwrap();
        assert_eq!(after, Some(json!([2, "arn2"])));
    }
}
