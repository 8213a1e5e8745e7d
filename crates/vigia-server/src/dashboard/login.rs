//! Signing in (a user account or an API token) and out.

use std::collections::HashMap;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;

use super::{COOKIE, Ui, UiError, view, with_headers};
use crate::accounts::{SESSION_HOURS, Session};
use crate::auth::Role;

/// Where to go after signing in: a dashboard page, never elsewhere.
fn next_page(q: &HashMap<String, String>) -> String {
    q.get("next")
        .filter(|n| n.starts_with("/ui/") && !n.starts_with("/ui//") && !n.contains('\\'))
        .cloned()
        .unwrap_or_else(|| "/ui/".to_owned())
}

fn login_page(next: &str, error: Option<&str>) -> Response {
    let page = view::bare(
        "Sign in",
        &html! {
            @if let Some(e) = error {
                p.error role="alert" #login-error { (e) }
            }
            form.card method="post" action={ "/ui/login?next=" (view::enc(next)) } {
                h2 { "With your account" }
                label for="name" { "User name" }
                input #name name="name" autocomplete="username" required;
                label for="password" { "Password" }
                input #password name="password" type="password" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
            form.card method="post" action={ "/ui/login?next=" (view::enc(next)) } {
                h2 { "With an API token" }
                label for="token" { "Token (" code { "vigia token create" } ")" }
                input #token name="token" type="password" autocomplete="off" required;
                button type="submit" { "Sign in with the token" }
            }
        },
    );
    with_headers(Html(page.into_string()).into_response())
}

/// `GET /ui/login`.
pub(super) async fn form(Query(q): Query<HashMap<String, String>>) -> Response {
    login_page(&next_page(&q), None)
}

/// `POST /ui/login`: a user name and password, or a token.
pub(super) async fn submit(
    State(ui): State<Ui>,
    Query(q): Query<HashMap<String, String>>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let next = next_page(&q);
    let db = &ui.svc.db;
    let found = if let Some(token) = form.get("token").filter(|t| !t.is_empty()) {
        let role = db.check_token(token.trim()).await.map_err(internal)?;
        let id = token
            .trim()
            .strip_prefix("vgt_")
            .and_then(|t| t.split_once('_'))
            .map(|(id, _)| id.to_owned());
        role.zip(id).map(|(r, id)| (r, format!("token:{id}")))
    } else {
        let name = form.get("name").map_or("", |n| n.trim());
        let password = form.get("password").map_or("", String::as_str);
        db.check_password(name, password)
            .await
            .map_err(internal)?
            .map(|r| (r, format!("user:{name}")))
    };
    let Some((role, subject)) = found else {
        tracing::info!("a dashboard sign-in was refused");
        return Ok(login_page(
            &next,
            Some("That name and password, or that token, is not valid."),
        ));
    };
    if role == Role::Agent {
        return Ok(login_page(
            &next,
            Some("An agent token only sends inventories; sign in with a viewer or admin token."),
        ));
    }
    let (secret, _) = db
        .open_session(role, &subject, jiff::Timestamp::now())
        .await
        .map_err(|e| internal(&e))?;
    tracing::info!(%subject, role = role.as_str(), "signed in to the dashboard");
    let cookie = cookie::Cookie::build((COOKIE, secret))
        .path("/ui")
        .http_only(true)
        .secure(ui.secure)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::hours(SESSION_HOURS))
        .build();
    let mut resp = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(with_headers(resp))
}

/// `POST /ui/logout`.
pub(super) async fn logout(
    State(ui): State<Ui>,
    Extension(s): Extension<Session>,
    headers: axum::http::HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, UiError> {
    super::check_csrf(&s, form.get("csrf"))?;
    if let Some(secret) = super::cookie_secret(&headers) {
        ui.svc.db.close_session(&secret).await.map_err(internal)?;
    }
    let gone = cookie::Cookie::build((COOKIE, ""))
        .path("/ui")
        .http_only(true)
        .secure(ui.secure)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::ZERO)
        .build();
    let mut resp = Redirect::to("/ui/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&gone.to_string()) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

fn internal(e: impl std::fmt::Display) -> UiError {
    tracing::error!(error = %e, "a dashboard request failed");
    UiError {
        status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        message: "the request failed inside the service; its log says why".into(),
    }
}
