//! Resources: the coverage list, one resource (its coverage, findings,
//! searchable inventory and scan history) and its SBOM.

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::response::{Html, Response};
use maud::html;
use serde_json::{Value, json};

use super::findings::{get, pairs};
use super::view::{self, enc, int, text};
use super::{Ui, UiError};
use crate::accounts::Session;

/// `GET /ui/resources?type=…&reason=…`: `/coverage/list`, every page.
pub(super) async fn list(
    State(ui): State<Ui>,
    Extension(s): Extension<Session>,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, UiError> {
    let q = pairs(raw.as_deref());
    let mut filter = serde_json::Map::new();
    if let Some(t) = get(&q, "type") {
        filter.insert(
            "resourceType".into(),
            json!([{"comparison": "EQUALS", "value": t}]),
        );
    }
    if let Some(r) = get(&q, "reason") {
        filter.insert(
            "scanStatusReason".into(),
            json!([{"comparison": "EQUALS", "value": r}]),
        );
    }
    let mut covered = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut req = json!({"filterCriteria": filter, "maxResults": 200});
        if let Some(n) = &next {
            req["nextToken"] = json!(n);
        }
        let page = ui.call(&s, "/coverage/list", Some(&req)).await?;
        covered.extend(
            page["coveredResources"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
        next = page["nextToken"].as_str().map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    let body = html! {
        form.filters.card method="get" action="/ui/resources" {
            div.fields {
                div.field {
                    label for="r-type" { "Type" }
                    select #r-type name="type" {
                        @for (v, t) in [("", "Any"), ("AWS_ECR_CONTAINER_IMAGE", "Container image"), ("AWS_EC2_INSTANCE", "Host"), ("AWS_LAMBDA_FUNCTION", "Function")] {
                            option value=(v) selected[get(&q, "type").unwrap_or("") == v] { (t) }
                        }
                    }
                }
                div.field {
                    label for="r-reason" { "Scan status reason" }
                    input #r-reason name="reason" value=(get(&q, "reason").unwrap_or("")) placeholder="SUCCESSFUL, ACCESS_DENIED …";
                }
            }
            div.actions { button type="submit" { "Apply" } a href="/ui/resources" { "Clear" } }
        }
        p #resource-count { (covered.len()) " resources" }
        div.scroll { table #resources-table {
            thead { tr { th scope="col" { "Resource" } th scope="col" { "Type" } th scope="col" { "Status" } th scope="col" { "Reason" } th scope="col" { "Last scanned" } } }
            tbody {
                @for r in &covered {
                    @let id = text(&r["resourceId"]);
                    tr {
                        td.name { a href={ "/ui/resource?id=" (enc(id)) } { (name_of(r)) } }
                        td { (view::resource_type(text(&r["resourceType"]))) }
                        td { (text(&r["scanStatus"]["statusCode"])) }
                        td { code { (text(&r["scanStatus"]["reason"])) } }
                        td { (view::when(&r["lastScannedAt"])) }
                    }
                }
            }
        } }
    };
    Ok(Html(
        view::page("Resources", "/ui/resources", &s, &body).into_string(),
    ))
}

/// A covered resource's name from its metadata.
fn name_of(r: &Value) -> String {
    let m = &r["resourceMetadata"];
    if let Some(repo) = m["ecrRepository"]["name"].as_str() {
        return match m["ecrImage"]["tags"][0].as_str() {
            Some(t) => format!("{repo}:{t}"),
            None => repo.to_owned(),
        };
    }
    if let Some(f) = m["lambdaFunction"]["functionName"].as_str() {
        return f.to_owned();
    }
    text(&r["resourceId"]).to_owned()
}

/// `GET /ui/resource?id=…&q=…`.
pub(super) async fn one(
    State(ui): State<Ui>,
    Extension(s): Extension<Session>,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, UiError> {
    let q = pairs(raw.as_deref());
    let id = get(&q, "id").ok_or_else(|| UiError::bad("which resource? (id)"))?;
    let v = ui
        .call(&s, &format!("/v1/resource?id={}", enc(id)), None)
        .await?;
    let findings = ui
        .call(
            &s,
            "/findings/list",
            Some(&json!({
                "filterCriteria": {
                    "resourceId": [{"comparison": "EQUALS", "value": id}],
                    "findingStatus": [{"comparison": "NOT_EQUALS", "value": "CLOSED"}],
                },
                "sortCriteria": {"field": "SEVERITY", "sortOrder": "DESC"},
                "maxResults": 100,
            })),
        )
        .await?;
    let r = &v["resource"];
    let search = get(&q, "q").unwrap_or("").to_lowercase();
    let packages = v["inventory"]["packages"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let shown: Vec<&Value> = packages
        .iter()
        .filter(|p| {
            search.is_empty()
                || text(&p["name"]).to_lowercase().contains(&search)
                || text(&p["purl"]).to_lowercase().contains(&search)
        })
        .collect();
    let fs = findings["findings"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let title = view::resource_name(&r["details"]);
    let body = html! {
        p.lead {
            (view::resource_type(text(&r["kind"]))) " · "
            strong #coverage-status { (text(&r["statusCode"])) } " "
            code #coverage-reason { (text(&r["statusReason"])) }
            @if let Some(m) = r["statusMessage"].as_str() { " — " (m) }
            " · last scanned " (view::when(&r["lastScannedAt"]))
        }
        p.muted { "ID " code { (text(&r["id"])) } " · from " code { (text(&r["source"])) } }
        p.actions {
            // An SBOM is made from the stored inventory: none without one.
            @if v["inventory"].is_object() {
                a.button href={ "/ui/resource/sbom?format=cyclonedx&id=" (enc(id)) } download { "SBOM (CycloneDX 1.6)" }
                a.button href={ "/ui/resource/sbom?format=spdx&id=" (enc(id)) } download { "SBOM (SPDX 2.3)" }
            } @else {
                span.muted #no-sbom { "No SBOM: no inventory is stored for this resource." }
            }
            a href=(view::findings_link(&[("resource", id), ("status", "any")])) { "Every finding, closed ones too" }
        }
        section.card.wide #resource-findings {
            h2 { "Open findings (" (fs.len()) @if findings["nextToken"].is_string() { "+" } ")" }
            @if fs.is_empty() {
                p.muted { @if r["statusReason"] == "SUCCESSFUL" { "None: scanned, and clean." } @else { "None, but this resource is not scanned successfully (" (text(&r["statusReason"])) ")." } }
            } @else {
                div.scroll { table {
                    thead { tr { th scope="col" { "Severity" } th scope="col" { "Finding" } th scope="col" { "Status" } } }
                    tbody {
                        @for f in fs {
                            tr {
                                td { (view::severity(text(&f["severity"]))) }
                                td.name { a href={ "/ui/finding?arn=" (enc(text(&f["findingArn"]))) } { (text(&f["title"])) } }
                                td { (text(&f["status"])) }
                            }
                        }
                    }
                } }
            }
        }
        section.card.wide #inventory {
            h2 { "Inventory (" (packages.len()) " packages)" }
            form.inline method="get" action="/ui/resource" role="search" {
                input type="hidden" name="id" value=(id);
                label for="inv-q" { "Find a package" }
                input #inv-q name="q" type="search" value=(get(&q, "q").unwrap_or(""));
                button type="submit" { "Find" }
            }
            div.scroll { table #inventory-table {
                thead { tr { th scope="col" { "Package" } th scope="col" { "Version" } th scope="col" { "Type" } th scope="col" { "Where" } } }
                tbody {
                    @for p in &shown {
                        tr {
                            td { code { (text(&p["name"])) } }
                            td { (text(&p["version"])) }
                            td { (text(&p["type"])) }
                            td.name { code { (text(&p["path"])) } }
                        }
                    }
                }
            } }
        }
        section.card.wide #scans {
            h2 { "Scan history" }
            div.scroll { table {
                thead { tr { th scope="col" { "Started" } th scope="col" { "Kind" } th scope="col" { "Outcome" } th scope="col" { "Generation" } th.n scope="col" { "Opened" } th.n scope="col" { "Closed" } } }
                tbody {
                    @for sc in v["scans"].as_array().map_or(&[][..], Vec::as_slice) {
                        tr {
                            td { (view::when(&sc["startedAt"])) }
                            td { (text(&sc["kind"])) }
                            td { (text(&sc["outcome"])) }
                            td { (sc["generation"]) }
                            td.n { (int(&sc["opened"])) }
                            td.n { (int(&sc["closed"])) }
                        }
                    }
                }
            } }
        }
    };
    Ok(Html(
        view::page(&title, "/ui/resources", &s, &body).into_string(),
    ))
}

/// `GET /ui/resource/sbom?id=…&format=cyclonedx|spdx`: the API's SBOM,
/// passed through as the download it is.
pub(super) async fn sbom(
    State(ui): State<Ui>,
    Extension(s): Extension<Session>,
    RawQuery(raw): RawQuery,
) -> Result<Response, UiError> {
    let q = pairs(raw.as_deref());
    let id = get(&q, "id").ok_or_else(|| UiError::bad("which resource? (id)"))?;
    let format = get(&q, "format").unwrap_or("cyclonedx");
    let resp = ui
        .raw(
            &s,
            &format!("/v1/resource/sbom?id={}&format={}", enc(id), enc(format)),
            None,
        )
        .await?;
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Err(UiError {
        status,
        message: v["message"]
            .as_str()
            .unwrap_or("the SBOM could not be made")
            .to_owned(),
    })
}
