//! Settings (admins only): registries, agents, API tokens, event targets
//! with their deliveries and dead letters.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::State;
use axum::response::{Html, Response};
use maud::html;
use serde_json::{Value, json};

use super::view::{self, enc, int, text};
use super::{Ui, UiError, check_csrf, need_admin};
use crate::accounts::Session;

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v[key].as_array().map_or(&[][..], Vec::as_slice)
}

/// `GET /ui/settings`.
pub(super) async fn page(
    State(ui): State<Ui>,
    Extension(s): Extension<Session>,
) -> Result<Html<String>, UiError> {
    need_admin(&s)?;
    let registries = ui.call(&s, "/v1/registries", None).await?;
    let agents = ui.call(&s, "/v1/agents", None).await?;
    let tokens = ui.call(&s, "/v1/tokens", None).await?;
    let targets = ui.call(&s, "/v1/targets", None).await?;
    let watches = ui.call(&s, "/v1/watches", None).await?;
    let mut deliveries = Vec::new();
    for t in list(&targets, "targets") {
        let id = text(&t["id"]);
        let d = ui
            .call(
                &s,
                &format!("/v1/targets/deliveries?id={}&maxResults=20", enc(id)),
                None,
            )
            .await?;
        deliveries.push(d);
    }
    let body = html! {
        section.card.wide #watched {
            h2 { "Watched folders" }
            @if list(&watches, "folders").is_empty() {
                p.muted { "None (" code { "vigia serve --watch DIR" } ")." }
            } @else {
                div.scroll { table {
                    thead { tr { th scope="col" { "Folder" } th.n scope="col" { "Resources" } th.n scope="col" { "Scanned successfully" } } }
                    tbody {
                        @for w in list(&watches, "folders") {
                            tr {
                                td.name { code { (text(&w["path"])) } }
                                td.n { (int(&w["resources"])) }
                                td.n { (int(&w["successful"])) }
                            }
                        }
                    }
                } }
            }
        }
        section.card.wide #registries {
            h2 { "Registries" }
            @if list(&registries, "registries").is_empty() {
                p.muted { "None. Add them with " code { "vigia serve --registries FILE" } " or " code { "POST /v1/registries/create" } "." }
            } @else {
                div.scroll { table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "URL" } th scope="col" { "Scan" } th scope="col" { "Rescan window" } th scope="col" { "Last sync" } } }
                    tbody {
                        @for r in list(&registries, "registries") {
                            tr {
                                td { (text(&r["name"])) }
                                td.name { code { (text(&r["url"])) } }
                                td { (text(&r["scanFrequency"])) }
                                td { (text(&r["rescanDuration"])) }
                                td { (view::when(&r["syncedAt"])) @if let Some(e) = r["syncError"].as_str() { br; span.error { (e) } } }
                            }
                        }
                    }
                } }
            }
        }
        section.card.wide #agents {
            h2 { "Agents" }
            @if list(&agents, "agents").is_empty() {
                p.muted { "No host has checked in (" code { "vigia agent --server URL --token T" } ")." }
            } @else {
                div.scroll { table {
                    thead { tr { th scope="col" { "Host" } th scope="col" { "Kernel" } th scope="col" { "Agent" } th scope="col" { "Last check-in" } th scope="col" { "Coverage" } } }
                    tbody {
                        @for a in list(&agents, "agents") {
                            tr {
                                td { (text(&a["hostname"])) " " span.muted { (text(&a["hostId"])) } }
                                td { (text(&a["kernel"])) }
                                td { (text(&a["agentVersion"])) }
                                td { (view::when(&a["lastCheckinAt"])) }
                                td { code { (text(&a["scanStatus"]["reason"])) } }
                            }
                        }
                    }
                } }
            }
        }
        section.card.wide #tokens {
            h2 { "API tokens" }
            div.scroll { table {
                thead { tr { th scope="col" { "ID" } th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Created" } th scope="col" { "" } } }
                tbody {
                    @for t in list(&tokens, "tokens") {
                        tr {
                            td { code { (text(&t["id"])) } }
                            td { (text(&t["name"])) }
                            td { (text(&t["role"])) }
                            td { (view::when(&t["createdAt"])) }
                            td {
                                @if t["revokedAt"].is_string() { "revoked " (view::when(&t["revokedAt"])) }
                                @else {
                                    form.inline method="post" action="/ui/tokens/revoke" {
                                        (view::csrf(&s))
                                        input type="hidden" name="id" value=(text(&t["id"]));
                                        button.danger type="submit" { "Revoke " (text(&t["name"])) }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
            form.inline method="post" action="/ui/tokens/create" {
                (view::csrf(&s))
                label for="t-name" { "New token's name" }
                input #t-name name="name" required maxlength="64";
                label for="t-role" { "Role" }
                select #t-role name="role" { option value="viewer" { "viewer" } option value="admin" { "admin" } option value="agent" { "agent" } }
                button type="submit" { "Create a token" }
            }
        }
        section.card.wide #targets {
            h2 { "Event targets" }
            @if list(&targets, "targets").is_empty() {
                p.muted { "None (" code { "POST /v1/targets/create" } ")." }
            }
            @for (t, d) in list(&targets, "targets").iter().zip(&deliveries) {
                @let dead = list(d, "deliveries").iter().filter(|x| x["state"] == "DEAD").count();
                h3 { (text(&t["name"])) " " span.muted { "(" (text(&t["type"])) ", " code { (text(&t["url"])) } ")" } }
                @if dead > 0 {
                    form.inline method="post" action="/ui/targets/replay" {
                        (view::csrf(&s))
                        input type="hidden" name="id" value=(text(&t["id"]));
                        button type="submit" { "Replay " (dead) " dead letters" }
                    }
                }
                div.scroll { table {
                    thead { tr { th scope="col" { "Event" } th scope="col" { "State" } th.n scope="col" { "Attempts" } th scope="col" { "Last answer" } th scope="col" { "Created" } } }
                    tbody {
                        @for x in list(d, "deliveries") {
                            tr {
                                td { (text(&x["detailType"])) br; span.muted { (text(&x["eventId"])) } }
                                td { (text(&x["state"])) }
                                td.n { (int(&x["attempts"])) }
                                td { (x["lastStatus"].as_i64().map(|s| s.to_string()).unwrap_or_default()) " " (text(&x["lastError"])) }
                                td { (view::when(&x["createdAt"])) }
                            }
                        }
                    }
                } }
            }
        }
    };
    Ok(Html(
        view::page("Settings", "/ui/settings", &s, &body).into_string(),
    ))
}

/// `POST /ui/tokens/create`: the new token, shown this once.
pub(super) async fn create_token(
    State(ui): State<Ui>,
    Extension(s): Extension<Session>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Html<String>, UiError> {
    check_csrf(&s, form.get("csrf"))?;
    need_admin(&s)?;
    let v = ui
        .call(
            &s,
            "/v1/tokens/create",
            Some(&json!({
                "name": form.get("name").map_or("", |n| n.trim()),
                "role": form.get("role").map_or("", String::as_str),
            })),
        )
        .await?;
    let t = &v["token"];
    let body = html! {
        p.note role="status" { "Copy the token now: it is not shown again." }
        dl {
            dt { "Token" } dd { code #new-token { (text(&t["token"])) } }
            dt { "Role" } dd { (text(&t["role"])) }
            dt { "For AWS clients (SigV4)" } dd { "access key ID " code { (text(&t["accessKeyId"])) } ", secret access key " code { (text(&t["secretAccessKey"])) } }
        }
        p { a href="/ui/settings" { "Back to the settings" } }
    };
    Ok(Html(
        view::page("New token", "/ui/settings", &s, &body).into_string(),
    ))
}

/// `POST /ui/tokens/revoke`.
pub(super) async fn revoke_token(
    State(ui): State<Ui>,
    Extension(s): Extension<Session>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let id = form.get("id").cloned().unwrap_or_default();
    super::submit(
        &ui,
        &s,
        &form,
        "/v1/tokens/revoke",
        &json!({ "id": id }),
        "/ui/settings",
    )
    .await
}

/// `POST /ui/targets/replay`: a target's dead letters, due again.
pub(super) async fn replay(
    State(ui): State<Ui>,
    Extension(s): Extension<Session>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let id = form.get("id").cloned().unwrap_or_default();
    super::submit(
        &ui,
        &s,
        &form,
        "/v1/targets/replay",
        &json!({ "id": id }),
        "/ui/settings",
    )
    .await
}
