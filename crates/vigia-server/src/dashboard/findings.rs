//! The findings list (the API's filters as a form, kept in the URL), one
//! finding with its history, and the search for a vulnerability's
//! affected resources.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::response::Html;
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::view::{self, enc, int, text};
use super::{Ui, UiError};
use crate::accounts::Session;
use crate::auth::Role;

/// A query string's pairs, repeated keys kept.
pub(super) fn pairs(q: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.trim().to_owned()))
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

pub(super) fn get<'a>(q: &'a [(String, String)], key: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn all<'a>(q: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    q.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The form's string fields: (query key, `FilterCriteria` key, label).
const STRING_FIELDS: &[(&str, &str, &str)] = &[
    ("vuln", "vulnerabilityId", "Vulnerability ID"),
    ("resource", "resourceId", "Resource ID"),
    ("repository", "ecrImageRepositoryName", "Repository"),
    ("function", "lambdaFunctionName", "Function name"),
    ("title", "title", "Title starts with"),
];

fn day_epoch(s: &str, end: bool) -> Result<i64, UiError> {
    let d: jiff::civil::Date = s
        .parse()
        .map_err(|_| UiError::bad(format!("`{s}` is not a date (YYYY-MM-DD)")))?;
    let t = d
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| UiError::bad(e.to_string()))?
        .timestamp()
        .as_second();
    Ok(if end { t + 86_399 } else { t })
}

fn number(q: &[(String, String)], key: &str) -> Result<Option<f64>, UiError> {
    get(q, key)
        .map(|v| {
            v.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| UiError::bad(format!("{key}: `{v}` is not a number")))
        })
        .transpose()
}

/// The status menu: (value, text). `any` lists every status.
const STATUSES: &[(&str, &str)] = &[
    ("ACTIVE", "Active"),
    ("SUPPRESSED", "Suppressed"),
    ("CLOSED", "Closed"),
    ("any", "Any"),
];

/// A menu's options: (value, text).
type Options = &'static [(&'static str, &'static str)];

/// The menus of fixed values: (query key, criterion, options). The empty
/// value is "any".
const MENUS: &[(&str, &str, Options)] = &[
    (
        "type",
        "findingType",
        &[
            ("", "Any"),
            ("PACKAGE_VULNERABILITY", "Package vulnerability"),
            ("CODE_VULNERABILITY", "Hardcoded secret"),
            ("NETWORK_REACHABILITY", "Network exposure"),
        ],
    ),
    (
        "rtype",
        "resourceType",
        &[
            ("", "Any"),
            ("AWS_ECR_CONTAINER_IMAGE", "Container image"),
            ("AWS_EC2_INSTANCE", "Host"),
            ("AWS_LAMBDA_FUNCTION", "Function"),
        ],
    ),
    (
        "fix",
        "fixAvailable",
        &[
            ("", "Any"),
            ("YES", "Yes"),
            ("PARTIAL", "Partly"),
            ("NO", "No"),
        ],
    ),
    (
        "exploit",
        "exploitAvailable",
        &[("", "Any"), ("YES", "Yes"), ("NO", "No")],
    ),
];

/// `value` when it is one of `allowed`; otherwise the page says so, rather
/// than listing nothing as if nothing matched (a link typed by hand, or
/// from another version).
fn one_of<'a>(key: &str, value: &'a str, allowed: &[&str]) -> Result<&'a str, UiError> {
    if allowed.contains(&value) {
        Ok(value)
    } else {
        let shown: Vec<&str> = allowed.iter().copied().filter(|a| !a.is_empty()).collect();
        Err(UiError::bad(format!(
            "{key}: `{value}` is not one of {}",
            shown.join(", ")
        )))
    }
}

/// The `FilterCriteria` a findings query string describes. `status` is
/// `ACTIVE` unless it says otherwise (`any` lists every status).
pub(super) fn criteria(q: &[(String, String)]) -> Result<Value, UiError> {
    let eq = |v: &str| json!({"comparison": "EQUALS", "value": v});
    let mut c = Map::new();
    let severities: Vec<&str> = view::SEVERITIES.iter().map(|(n, _)| *n).collect();
    let sev: Vec<Value> = all(q, "severity")
        .into_iter()
        .map(|v| one_of("severity", v, &severities).map(eq))
        .collect::<Result<_, _>>()?;
    if !sev.is_empty() {
        c.insert("severity".into(), Value::Array(sev));
    }
    let statuses: Vec<&str> = STATUSES.iter().map(|(v, _)| *v).collect();
    match one_of("status", get(q, "status").unwrap_or("ACTIVE"), &statuses)? {
        "any" => {}
        s => {
            c.insert("findingStatus".into(), json!([eq(s)]));
        }
    }
    for (key, crit, options) in MENUS {
        if let Some(v) = get(q, key) {
            let allowed: Vec<&str> = options.iter().map(|(v, _)| *v).collect();
            c.insert((*crit).into(), json!([eq(one_of(key, v, &allowed)?)]));
        }
    }
    for (key, crit, _) in STRING_FIELDS {
        if let Some(v) = get(q, key) {
            let cmp = if *key == "title" { "PREFIX" } else { "EQUALS" };
            c.insert((*crit).into(), json!([{"comparison": cmp, "value": v}]));
        }
    }
    if let Some(p) = get(q, "package") {
        c.insert("vulnerablePackages".into(), json!([{"name": eq(p)}]));
    }
    for (lo, hi, crit, max) in [
        ("scoreMin", "scoreMax", "inspectorScore", 10.0),
        ("epssMin", "epssMax", "epssScore", 1.0),
    ] {
        let (l, h) = (number(q, lo)?, number(q, hi)?);
        if l.is_some() || h.is_some() {
            c.insert(
                crit.into(),
                json!([{"lowerInclusive": l.unwrap_or(0.0), "upperInclusive": h.unwrap_or(max)}]),
            );
        }
    }
    let (from, to) = (get(q, "from"), get(q, "to"));
    if from.is_some() || to.is_some() {
        c.insert(
            "firstObservedAt".into(),
            json!([{
                "startInclusive": from.map(|f| day_epoch(f, false)).transpose()?.unwrap_or(0),
                "endInclusive": to.map(|t| day_epoch(t, true)).transpose()?.unwrap_or(4_102_444_800_i64),
            }]),
        );
    }
    Ok(Value::Object(c))
}

/// The sortable columns: (sort field, column heading).
const SORTS: &[(&str, &str)] = &[
    ("SEVERITY", "Severity"),
    ("INSPECTOR_SCORE", "Score"),
    ("EPSS_SCORE", "EPSS"),
    ("FIRST_OBSERVED_AT", "First seen"),
    ("LAST_OBSERVED_AT", "Last seen"),
];

/// The query string with some keys replaced (and the page cursor dropped).
fn with(q: &[(String, String)], set: &[(&str, &str)]) -> String {
    let mut out: Vec<String> = q
        .iter()
        .filter(|(k, _)| k != "next" && !set.iter().any(|(s, _)| s == k))
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    out.extend(
        set.iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", enc(v))),
    );
    format!("/ui/findings?{}", out.join("&"))
}

/// `GET /ui/findings`.
pub(super) async fn list(
    State(ui): State<Ui>,
    Extension(s): Extension<Session>,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, UiError> {
    let q = pairs(raw.as_deref());
    let filter = criteria(&q)?;
    let sort = get(&q, "sort").unwrap_or("SEVERITY");
    let order = get(&q, "order").unwrap_or("DESC");
    let mut req = json!({
        "filterCriteria": filter,
        "sortCriteria": {"field": sort, "sortOrder": order},
        "maxResults": 50,
    });
    if let Some(n) = get(&q, "next") {
        req["nextToken"] = json!(n);
    }
    let page = ui.call(&s, "/findings/list", Some(&req)).await?;
    let findings = page["findings"].as_array().map_or(&[][..], Vec::as_slice);
    let query = raw.unwrap_or_default();
    let body = html! {
        (filter_form(&q))
        @if s.role == Role::Admin {
            (rule_form(&s, &query))
        }
        div.scroll {
            table.findings #findings-table {
                caption.visually-hidden { "Findings" }
                thead {
                    tr {
                        (sort_header(&q, "SEVERITY", sort, order))
                        th scope="col" { "Finding" }
                        th scope="col" { "Resource" }
                        th scope="col" { "Fixed in" }
                        (sort_header(&q, "INSPECTOR_SCORE", sort, order))
                        (sort_header(&q, "EPSS_SCORE", sort, order))
                        th scope="col" { "Status" }
                        (sort_header(&q, "LAST_OBSERVED_AT", sort, order))
                    }
                }
                tbody {
                    @for f in findings {
                        (row(f))
                    }
                }
            }
        }
        @if findings.is_empty() {
            p.muted #no-findings { "No finding matches these filters." }
        }
        nav.pages aria-label="Pages" {
            @if get(&q, "next").is_some() {
                a href=(with(&q, &[])) { "First page" }
            }
            @if let Some(next) = page["nextToken"].as_str() {
                a rel="next" href=(with(&q, &[("next", next)])) { "Next page" }
            }
        }
    };
    Ok(Html(
        view::page("Findings", "/ui/findings", &s, &body).into_string(),
    ))
}

fn sort_header(q: &[(String, String)], field: &str, sort: &str, order: &str) -> Markup {
    let label = SORTS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(field, |(_, l)| l);
    let current = field == sort;
    let next_order = if current && order == "DESC" {
        "ASC"
    } else {
        "DESC"
    };
    let aria = current.then(|| {
        if order == "DESC" {
            "descending"
        } else {
            "ascending"
        }
    });
    html! {
        th scope="col" aria-sort=[aria] {
            a href=(with(q, &[("sort", field), ("order", next_order)])) {
                (label)
                @if current { span aria-hidden="true" { @if order == "DESC" { " ↓" } @else { " ↑" } } }
            }
        }
    }
}

fn row(f: &Value) -> Markup {
    let r = &f["resources"][0];
    let pkgs = f["packageVulnerabilityDetails"]["vulnerablePackages"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let fixed: Vec<&str> = pkgs
        .iter()
        .filter_map(|p| p["fixedInVersion"].as_str())
        .filter(|v| *v != "NotAvailable")
        .collect();
    html! {
        tr {
            td { (view::severity(text(&f["severity"]))) }
            td.name { a href={ "/ui/finding?arn=" (enc(text(&f["findingArn"]))) } { (text(&f["title"])) } }
            td.name { a href={ "/ui/resource?id=" (enc(text(&r["id"]))) } { (view::resource_name(r)) } }
            td { @if fixed.is_empty() { span.muted { "no fix" } } @else { (fixed.join(", ")) } }
            td.n { (f["inspectorScore"].as_f64().map_or_else(|| "–".to_owned(), |x| format!("{x:.1}"))) }
            td.n { (f["epss"]["score"].as_f64().map_or_else(|| "–".to_owned(), |x| format!("{x:.3}"))) }
            td { (text(&f["status"])) }
            td { (view::when(&f["lastObservedAt"])) }
        }
    }
}

/// The options of the menu `key` (one of [`MENUS`]).
fn menu(key: &str) -> Options {
    MENUS
        .iter()
        .find(|(k, ..)| *k == key)
        .map_or(&[][..], |(_, _, options)| *options)
}

fn filter_form(q: &[(String, String)]) -> Markup {
    let sev = all(q, "severity");
    let status = get(q, "status").unwrap_or("ACTIVE");
    let more_set = [
        "rtype",
        "fix",
        "exploit",
        "resource",
        "repository",
        "function",
        "title",
        "scoreMin",
        "scoreMax",
        "epssMin",
        "epssMax",
        "from",
        "to",
    ]
    .iter()
    .any(|k| get(q, k).is_some());
    let select = |name: &str, label: &str, options: &[(&str, &str)]| -> Markup {
        let current = get(q, name).unwrap_or("");
        html! {
            div.field {
                label for={ "f-" (name) } { (label) }
                select id={ "f-" (name) } name=(name) {
                    @for (value, text) in options {
                        option value=(value) selected[*value == current] { (text) }
                    }
                }
            }
        }
    };
    html! {
        form.filters.card #filters method="get" action="/ui/findings" {
            fieldset.severity {
                legend { "Severity" }
                @for (name, class) in view::SEVERITIES {
                    label class={ "check sev-" (class) } {
                        input type="checkbox" name="severity" value=(name) checked[sev.contains(name)];
                        (name.to_lowercase())
                    }
                }
            }
            div.fields {
                div.field {
                    label for="f-status" { "Status" }
                    select #f-status name="status" {
                        @for (v, t) in STATUSES {
                            option value=(v) selected[*v == status] { (t) }
                        }
                    }
                }
                (select("type", "Type", menu("type")))
                div.field {
                    label for="f-package" { "Package" }
                    input #f-package name="package" value=(get(q, "package").unwrap_or(""));
                }
                div.field {
                    label for="f-vuln" { "Vulnerability ID" }
                    input #f-vuln name="vuln" value=(get(q, "vuln").unwrap_or(""));
                }
            }
            details.more open[more_set] {
                summary { "More filters" @if more_set { " (in use)" } }
                div.fields {
                    (select("rtype", "Resource type", menu("rtype")))
                    (select("fix", "Fix available", menu("fix")))
                    (select("exploit", "Known exploited", menu("exploit")))
                    @for (key, _, label) in STRING_FIELDS.iter().filter(|(k, ..)| *k != "vuln") {
                        div.field {
                            label for={ "f-" (key) } { (label) }
                            input id={ "f-" (key) } name=(key) value=(get(q, key).unwrap_or(""));
                        }
                    }
                    @for (key, label, step) in [("scoreMin", "Score from", "0.1"), ("scoreMax", "Score to", "0.1"), ("epssMin", "EPSS from", "0.001"), ("epssMax", "EPSS to", "0.001")] {
                        div.field.small {
                            label for={ "f-" (key) } { (label) }
                            input id={ "f-" (key) } name=(key) type="number" min="0" step=(step) value=(get(q, key).unwrap_or(""));
                        }
                    }
                    div.field.date {
                        label for="f-from" { "First seen from" }
                        input #f-from name="from" type="date" value=(get(q, "from").unwrap_or(""));
                    }
                    div.field.date {
                        label for="f-to" { "First seen to" }
                        input #f-to name="to" type="date" value=(get(q, "to").unwrap_or(""));
                    }
                }
            }
            div {
                @if let Some(sort) = get(q, "sort") { input type="hidden" name="sort" value=(sort); }
                @if let Some(order) = get(q, "order") { input type="hidden" name="order" value=(order); }
            }
            div.actions {
                button type="submit" { "Apply filters" }
                a href="/ui/findings" { "Clear" }
            }
        }
    }
}

/// Creates a suppression rule from the filters in force.
fn rule_form(s: &Session, query: &str) -> Markup {
    html! {
        details.card #suppress {
            summary { "Suppress the findings these filters match" }
            form method="post" action="/ui/rules/create" {
                (view::csrf(s))
                input type="hidden" name="query" value=(query);
                div.fields {
                    div.field {
                        label for="r-name" { "Rule name" }
                        input #r-name name="name" required pattern="[A-Za-z0-9._-]{3,64}" title="3 to 64 letters, digits, '.', '_' or '-'";
                    }
                    div.field.wide {
                        label for="r-reason" { "Reason" }
                        input #r-reason name="reason" required;
                    }
                    div.field.small {
                        label for="r-expires" { "Expires (optional)" }
                        input #r-expires name="expires" type="date";
                    }
                }
                button type="submit" { "Create the rule" }
            }
        }
    }
}

fn fmt_score(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "–".to_owned(), |x| format!("{x:.1}"))
}

/// `GET /ui/finding?arn=…`.
pub(super) async fn one(
    State(ui): State<Ui>,
    Extension(s): Extension<Session>,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, UiError> {
    let q = pairs(raw.as_deref());
    let arn = get(&q, "arn").ok_or_else(|| UiError::bad("which finding? (arn)"))?;
    let v = ui
        .call(&s, &format!("/v1/findings/history?arn={}", enc(arn)), None)
        .await?;
    let details = ui
        .call(
            &s,
            "/findings/details/batch/get",
            Some(&json!({"findingArns": [arn]})),
        )
        .await?;
    let d = &details["findingDetails"][0];
    let f = &v["finding"];
    let pvd = &f["packageVulnerabilityDetails"];
    let r = &f["resources"][0];
    let adjusted = &f["inspectorScoreDetails"]["adjustedCvss"];
    let vigia = &f["vigia"];
    let body = html! {
        p.lead {
            (view::severity(text(&f["severity"]))) " "
            strong #status { (text(&f["status"])) }
            " on " a href={ "/ui/resource?id=" (enc(text(&r["id"]))) } { (view::resource_name(r)) }
            " · first seen " (view::when(&f["firstObservedAt"]))
            " · last seen " (view::when(&f["lastObservedAt"]))
        }
        @if f["status"] == "SUPPRESSED" {
            @let why = v["history"].as_array().and_then(|h| h.iter().rev().find(|e| e["event"] == "SUPPRESSED"));
            p.note #suppressed-by { "Suppressed: "
                @if let Some(e) = why { (text(&e["cause"])) " (" (view::when(&e["at"])) ")" }
                @else if let Some(sup) = vigia.get("suppression") { (text(&sup["by"])) " " (text(&sup["reason"])) }
                " — " a href="/ui/rules" { "suppression rules" } }
        }
        section.card.wide {
            h2 { "Description" }
            p.description { (text(&f["description"])) }
            @if let Some(fix) = f["remediation"]["recommendation"]["text"].as_str() {
                h3 { "Remediation" }
                p { (fix) }
            }
        }
        div.grid {
            section.card #score {
                h2 { "Score" }
                dl {
                    dt { "Vigia score" } dd #vigia-score { (fmt_score(&f["inspectorScore"])) }
                    @for c in pvd["cvss"].as_array().map_or(&[][..], Vec::as_slice) {
                        dt { "Base CVSS " (text(&c["version"])) " (" (text(&c["source"])) ")" }
                        dd { (fmt_score(&c["baseScore"])) " " code.vector .base-vector { (text(&c["scoringVector"])) } }
                    }
                    @if !adjusted.is_null() {
                        dt { "Adjusted (" (text(&adjusted["scoreSource"])) ")" }
                        dd { (fmt_score(&adjusted["score"])) " " code.vector #adjusted-vector { (text(&adjusted["scoringVector"])) } }
                    }
                }
                @let adjustments = adjusted["adjustments"].as_array().map_or(&[][..], Vec::as_slice);
                @if adjustments.is_empty() {
                    p.muted { "No adjustment: the score is the base score." }
                } @else {
                    h3 { "Adjustments" }
                    ul #adjustments {
                        @for a in adjustments { li { code { (text(&a["metric"])) } ": " (text(&a["reason"])) } }
                    }
                }
            }
            section.card #exploit {
                h2 { "Exploitation" }
                dl {
                    dt { "Known exploited (CISA KEV)" }
                    dd { @if let Some(k) = d.get("cisaData") { "yes, since " (text(&k["dateAdded"])) @if let Some(a) = k["action"].as_str() { ". " (a) } } @else { "no" } }
                    dt { "EPSS" }
                    dd { @if let Some(e) = d["epssScore"].as_f64() { (format!("{e:.4}")) @if let Some(p) = vigia["epssPercentile"].as_f64() { " (percentile " (format!("{:.0}", p * 100.0)) ")" } } @else { "no score" } }
                    dt { "Fix available" } dd { (text(&f["fixAvailable"])) }
                }
            }
        }
        @let pkgs = pvd["vulnerablePackages"].as_array().map_or(&[][..], Vec::as_slice);
        @if !pkgs.is_empty() {
            section.card.wide #packages {
                h2 { "Vulnerable packages" }
                div.scroll { table {
                    thead { tr { th scope="col" { "Package" } th scope="col" { "Version" } th scope="col" { "Fixed in" } th scope="col" { "Where" } } }
                    tbody {
                        @for p in pkgs {
                            tr {
                                td { code { (text(&p["name"])) } }
                                td { (text(&p["version"])) @if let Some(r) = p["release"].as_str() { "-" (r) } }
                                td { (p["fixedInVersion"].as_str().unwrap_or("–")) }
                                td.name {
                                    @if let Some(path) = p["filePath"].as_str() { code { (path) } }
                                    @if let Some(layer) = p["sourceLayerHash"].as_str() { br; "layer " code { (layer) } }
                                }
                            }
                        }
                    }
                } }
            }
        }
        @if let Some(code) = f.get("codeVulnerabilityDetails") {
            section.card.wide #where {
                h2 { "Where" }
                p { code { (text(&code["filePath"]["filePath"])) } ", lines " (int(&code["filePath"]["startLine"])) "–" (int(&code["filePath"]["endLine"])) }
                @if let Some(secret) = vigia.get("secret") { p { "Value (redacted): " code { (text(&secret["redacted"])) } } }
            }
        }
        @let matched = vigia["matched"].as_array().map_or(&[][..], Vec::as_slice);
        @if !matched.is_empty() || vigia.get("reason").is_some() {
            section.card.wide #why {
                h2 { "Why it matched" }
                @if let Some(reason) = vigia["reason"].as_str() { p { (reason) } }
                @if !matched.is_empty() {
                    table {
                        thead { tr { th scope="col" { "Advisory" } th scope="col" { "Package" } th scope="col" { "Affected range" } th scope="col" { "Fixed" } } }
                        tbody {
                            @for m in matched {
                                tr {
                                    td { (text(&m["id"])) " " span.muted { "(" (text(&m["source"])) ")" } }
                                    td { (text(&m["ecosystem"])) " " code { (text(&m["package"])) } }
                                    td { code.range { (m["matchedRange"].as_str().or_else(|| m["matched_range"].as_str()).unwrap_or("")) } }
                                    td { (m["fixed"].as_str().unwrap_or("–")) }
                                }
                            }
                        }
                    }
                }
                @let aliases = vigia["aliasGroup"].as_array().map_or(&[][..], Vec::as_slice);
                @if aliases.len() > 1 {
                    p { "Also known as: " @for (i, a) in aliases.iter().enumerate() { @if i > 0 { ", " } (text(a)) } }
                }
            }
        }
        @let refs: Vec<&str> = pvd["referenceUrls"].as_array().map_or(&[][..], Vec::as_slice).iter().filter_map(Value::as_str).collect();
        @if !refs.is_empty() || pvd["sourceUrl"].is_string() {
            section.card.wide #references {
                h2 { "References" }
                ul.refs {
                    @if let Some(u) = pvd["sourceUrl"].as_str() { li { a href=(u) rel="noreferrer noopener" { (u) } } }
                    @for u in refs { li { a href=(u) rel="noreferrer noopener" { (u) } } }
                }
            }
        }
        section.card.wide #history {
            h2 { "History" }
            table {
                thead { tr { th scope="col" { "When" } th scope="col" { "Change" } th scope="col" { "Status" } th scope="col" { "Cause" } } }
                tbody {
                    @for h in v["history"].as_array().map_or(&[][..], Vec::as_slice) {
                        tr { td { (view::when(&h["at"])) } td.event { (text(&h["event"])) } td { (text(&h["status"])) } td { (text(&h["cause"])) } }
                    }
                }
            }
        }
        p.muted { "Finding " code { (arn) } }
    };
    Ok(Html(
        view::page(text(&f["title"]), "/ui/findings", &s, &body).into_string(),
    ))
}

/// A vulnerability ID as its database writes it, however it was typed:
/// GitHub's advisories are `GHSA-` and lower case (`GHSA-27h2-hvpr-p74q`),
/// the others upper case (`CVE-2024-1234`, `PYSEC-2021-1`, `RUSTSEC-…`).
fn canonical_id(typed: &str) -> String {
    match typed.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("GHSA-") => {
            format!("GHSA-{}", typed[5..].to_ascii_lowercase())
        }
        _ => typed.to_ascii_uppercase(),
    }
}

/// `GET /ui/search?id=CVE-…`: every resource with a finding for a
/// vulnerability, by its ID or one of its aliases (each a listing call).
pub(super) async fn search(
    State(ui): State<Ui>,
    Extension(s): Extension<Session>,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, UiError> {
    let q = pairs(raw.as_deref());
    let typed = get(&q, "id").unwrap_or("").trim();
    if typed.is_empty() {
        return Err(UiError::bad(
            "search for a vulnerability ID (CVE-…, GHSA-…)",
        ));
    }
    let id = canonical_id(typed);
    // resource ID → (name, its findings for the vulnerability)
    let mut hits: BTreeMap<String, (String, Vec<Value>)> = BTreeMap::new();
    let mut forms = vec![id.clone()];
    if typed != id {
        forms.push(typed.to_owned());
    }
    let mut queries: Vec<(&str, String)> = Vec::new();
    for key in ["vulnerabilityId", "relatedVulnerabilities"] {
        for f in &forms {
            queries.push((key, f.clone()));
        }
    }
    for (key, id) in queries {
        let mut next: Option<String> = None;
        loop {
            let mut req = json!({
                "filterCriteria": { key: [{"comparison": "EQUALS", "value": id}] },
                "sortCriteria": {"field": "SEVERITY", "sortOrder": "DESC"},
                "maxResults": 100,
            });
            if let Some(n) = &next {
                req["nextToken"] = json!(n);
            }
            let page = ui.call(&s, "/findings/list", Some(&req)).await?;
            for f in page["findings"].as_array().map_or(&[][..], Vec::as_slice) {
                let r = &f["resources"][0];
                let e = hits
                    .entry(text(&r["id"]).to_owned())
                    .or_insert_with(|| (view::resource_name(r), Vec::new()));
                if !e.1.iter().any(|x| x["findingArn"] == f["findingArn"]) {
                    e.1.push(f.clone());
                }
            }
            next = page["nextToken"].as_str().map(str::to_owned);
            if next.is_none() || hits.len() > 5000 {
                break;
            }
        }
    }
    let body = html! {
        p.lead #search-summary { (hits.len()) " resources have findings for " strong { (id) } " (under that ID or as an alias), in any status." }
        @if !hits.is_empty() {
            div.scroll { table #search-results {
                thead { tr { th scope="col" { "Resource" } th scope="col" { "Findings" } th scope="col" { "Status" } } }
                tbody {
                    @for (rid, (name, fs)) in &hits {
                        tr {
                            td.name { a href={ "/ui/resource?id=" (enc(rid)) } { (name) } }
                            td.name { @for f in fs { a href={ "/ui/finding?arn=" (enc(text(&f["findingArn"]))) } { (text(&f["title"])) } br; } }
                            td { @for f in fs { (text(&f["status"])) br; } }
                        }
                    }
                }
            } }
        }
    };
    Ok(Html(
        view::page(&format!("Search: {id}"), "", &s, &body).into_string(),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn vulnerability_ids_are_searched_as_their_databases_write_them() {
        use super::canonical_id;
        assert_eq!(canonical_id("ghsa-27H2-hvpr-P74Q"), "GHSA-27h2-hvpr-p74q");
        assert_eq!(canonical_id("GHSA-27H2-HVPR-P74Q"), "GHSA-27h2-hvpr-p74q");
        assert_eq!(canonical_id("cve-2024-1234"), "CVE-2024-1234");
        assert_eq!(canonical_id("pysec-2021-1"), "PYSEC-2021-1");
        assert_eq!(canonical_id("ghs"), "GHS");
    }

    fn query(q: &str) -> Vec<(String, String)> {
        super::pairs(Some(q))
    }

    #[test]
    fn a_value_no_menu_offers_is_refused_saying_which() {
        use super::criteria;
        let ok = criteria(&query(
            "severity=HIGH&severity=CRITICAL&status=any&type=&fix=YES",
        ))
        .unwrap();
        assert_eq!(ok["severity"].as_array().map(Vec::len), Some(2));
        assert!(ok.get("findingStatus").is_none());
        assert!(ok.get("findingType").is_none());
        assert_eq!(ok["fixAvailable"][0]["value"], "YES");
        for (q, said) in [
            (
                "severity=HIGH&severity=SEVERE",
                "severity: `SEVERE` is not one of CRITICAL, HIGH",
            ),
            (
                "status=OPEN",
                "status: `OPEN` is not one of ACTIVE, SUPPRESSED, CLOSED, any",
            ),
            (
                "rtype=AWS_EC2",
                "rtype: `AWS_EC2` is not one of AWS_ECR_CONTAINER_IMAGE",
            ),
            ("exploit=maybe", "exploit: `maybe` is not one of YES, NO"),
        ] {
            let e = criteria(&query(q)).unwrap_err();
            assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST, "{q}");
            assert!(e.message.starts_with(said), "{q}: {}", e.message);
        }
    }
}
