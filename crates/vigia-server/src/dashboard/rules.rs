//! Suppression rules: made from the findings filters in force, listed with
//! how many findings each suppresses, edited and deleted (`/filters/…`).

use std::collections::HashMap;

use axum::Extension;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use serde_json::{Value, json};

use super::findings::{criteria, pairs};
use super::view::{self, enc, int, text};
use super::{Ui, UiError, check_csrf, need_admin};
use crate::accounts::Session;
use crate::auth::Role;

/// `GET /ui/rules`.
pub(super) async fn list(
    State(ui): State<Ui>,
    Extension(s): Extension<Session>,
) -> Result<Html<String>, UiError> {
    let v = ui.call(&s, "/filters/list", Some(&json!({}))).await?;
    let filters = v["filters"].as_array().map_or(&[][..], Vec::as_slice);
    let admin = s.role == Role::Admin;
    let body = html! {
        p.lead { "A rule with the action " code { "SUPPRESS" } " suppresses every finding it matches, now and later. Make one from the "
            a href="/ui/findings" { "findings" } " page's filters." }
        @if filters.is_empty() {
            p.muted #no-rules { "No rules yet." }
        }
        @for f in filters {
            @let arn = text(&f["arn"]);
            section.card.wide.rule data-rule=(text(&f["name"])) {
                h2 { (text(&f["name"])) " " span.muted { "(" (text(&f["action"])) ")" } }
                p { a.count href=(rule_findings(&f["criteria"])) { (view::num(int(&f["vigiaSuppressedCount"]))) " findings suppressed" } }
                @if let Some(r) = f["reason"].as_str() { p { "Reason: " (r) } }
                @if let Some(e) = f["vigiaExpiresAt"].as_str() { p { "Expires " (view::when(&Value::from(e))) } }
                details {
                    summary { "Criteria" }
                    pre { code { (serde_json::to_string_pretty(&f["criteria"]).unwrap_or_default()) } }
                }
                @if admin {
                    form.inline method="post" action="/ui/rules/update" {
                        (view::csrf(&s))
                        input type="hidden" name="arn" value=(arn);
                        label for={ "n-" (arn) } { "Name" }
                        input id={ "n-" (arn) } name="name" value=(text(&f["name"])) required pattern="[A-Za-z0-9._-]{3,64}";
                        label for={ "re-" (arn) } { "Reason" }
                        input id={ "re-" (arn) } name="reason" value=(f["reason"].as_str().unwrap_or(""));
                        label for={ "a-" (arn) } { "Action" }
                        select id={ "a-" (arn) } name="action" {
                            @for a in ["SUPPRESS", "NONE"] { option value=(a) selected[f["action"] == a] { (a) } }
                        }
                        button type="submit" { "Save" }
                    }
                    form.inline method="post" action="/ui/rules/delete" {
                        (view::csrf(&s))
                        input type="hidden" name="arn" value=(arn);
                        button.danger type="submit" { "Delete " (text(&f["name"])) }
                    }
                }
            }
        }
    };
    Ok(Html(
        view::page("Suppression rules", "/ui/rules", &s, &body).into_string(),
    ))
}

/// The findings a rule suppresses, when its criteria are ones the findings
/// form can show; else every suppressed finding.
fn rule_findings(c: &Value) -> String {
    let mut params: Vec<(String, String)> = vec![("status".into(), "SUPPRESSED".into())];
    let first = |k: &str| c[k][0]["value"].as_str().map(str::to_owned);
    for (key, param) in [
        ("vulnerabilityId", "vuln"),
        ("resourceId", "resource"),
        ("ecrImageRepositoryName", "repository"),
        ("findingType", "type"),
    ] {
        if let Some(v) = first(key) {
            params.push((param.into(), v));
        }
    }
    if let Some(p) = c["vulnerablePackages"][0]["name"]["value"].as_str() {
        params.push(("package".into(), p.to_owned()));
    }
    for s in c["severity"].as_array().map_or(&[][..], Vec::as_slice) {
        if let Some(v) = s["value"].as_str() {
            params.push(("severity".into(), v.to_owned()));
        }
    }
    let q: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    format!("/ui/findings?{}", q.join("&"))
}

/// `POST /ui/rules/create`: the findings page's query becomes the rule's
/// criteria (without its status: a rule applies to the findings whatever
/// their status).
pub(super) async fn create(
    State(ui): State<Ui>,
    Extension(s): Extension<Session>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, UiError> {
    check_csrf(&s, form.get("csrf"))?;
    need_admin(&s)?;
    let q: Vec<(String, String)> = pairs(form.get("query").map(String::as_str))
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "status" | "sort" | "order" | "next"))
        .chain([("status".to_owned(), "any".to_owned())])
        .collect();
    let filter = criteria(&q)?;
    if filter.as_object().is_none_or(serde_json::Map::is_empty) {
        return Err(UiError::bad(
            "choose at least one filter first: a rule without one would suppress every finding",
        ));
    }
    let mut req = json!({
        "name": form.get("name").map_or("", |n| n.trim()),
        "action": "SUPPRESS",
        "filterCriteria": filter,
        "reason": form.get("reason").map_or("", |r| r.trim()),
    });
    if let Some(e) = form.get("expires").filter(|e| !e.is_empty()) {
        let d: jiff::civil::Date = e
            .parse()
            .map_err(|_| UiError::bad(format!("`{e}` is not a date")))?;
        req["vigiaExpiresAt"] = json!(format!("{d}T23:59:59Z"));
    }
    ui.call(&s, "/filters/create", Some(&req)).await?;
    Ok(Redirect::to("/ui/rules").into_response())
}

/// `POST /ui/rules/update`.
pub(super) async fn update(
    State(ui): State<Ui>,
    Extension(s): Extension<Session>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let mut req = json!({ "filterArn": form.get("arn").cloned().unwrap_or_default() });
    for key in ["name", "reason", "action"] {
        if let Some(v) = form.get(key).filter(|v| !v.trim().is_empty()) {
            req[key] = json!(v.trim());
        }
    }
    super::submit(&ui, &s, &form, "/filters/update", &req, "/ui/rules").await
}

/// `POST /ui/rules/delete`.
pub(super) async fn delete(
    State(ui): State<Ui>,
    Extension(s): Extension<Session>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let arn = form.get("arn").cloned().unwrap_or_default();
    super::submit(
        &ui,
        &s,
        &form,
        "/filters/delete",
        &json!({ "arn": arn }),
        "/ui/rules",
    )
    .await
}
