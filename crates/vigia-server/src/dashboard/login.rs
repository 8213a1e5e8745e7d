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

/// The cookie that ties a sign-in to the form it was made with (a page of
/// another site cannot read it, nor send it: `SameSite=Strict`), so that
/// no other site can sign a browser in to an account of its choosing.
const LOGIN_COOKIE: &str = "vigia_signin";

/// The sign-in page, with a new form token in its cookie.
fn login_page(next: &str, error: Option<&str>, secure: bool) -> Response {
    let Ok(token) = crate::accounts::random_token() else {
        return (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "no random numbers: the service cannot make a sign-in form",
        )
            .into_response();
    };
    let page = view::bare(
        "Sign in",
        &html! {
            @if let Some(e) = error {
                p.error role="alert" #login-error { (e) }
            }
            form.card method="post" action={ "/ui/login?next=" (view::enc(next)) } {
                h2 { "With your account" }
                input type="hidden" name="signin" value=(token);
                label for="name" { "User name" }
                input #name name="name" autocomplete="username" required;
                label for="password" { "Password" }
                input #password name="password" type="password" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
            form.card method="post" action={ "/ui/login?next=" (view::enc(next)) } {
                h2 { "With an API token" }
                input type="hidden" name="signin" value=(token);
                label for="token" { "Token (" code { "vigia token create" } ")" }
                input #token name="token" type="password" autocomplete="off" required;
                button type="submit" { "Sign in with the token" }
            }
        },
    );
    let cookie = cookie::Cookie::build((LOGIN_COOKIE, token))
        .path("/ui/login")
        .http_only(true)
        .secure(secure)
        .same_site(cookie::SameSite::Strict)
        .max_age(cookie::time::Duration::hours(1))
        .build();
    let mut resp = Html(page.into_string()).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    with_headers(resp)
}

/// The sign-in page again, saying why, answered with `status`.
fn refused(next: &str, message: &str, secure: bool, status: axum::http::StatusCode) -> Response {
    let mut resp = login_page(next, Some(message), secure);
    *resp.status_mut() = status;
    resp
}

/// `GET /ui/login`.
pub(super) async fn form(
    State(ui): State<Ui>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    login_page(&next_page(&q), None, ui.secure)
}

/// Whether the form's token is the one in its cookie.
fn same_form(headers: &axum::http::HeaderMap, presented: Option<&String>) -> bool {
    match (super::cookie_value(headers, LOGIN_COOKIE), presented) {
        (Some(kept), Some(p)) => super::same_secret(&kept, p),
        _ => false,
    }
}

/// `POST /ui/login`: a user name and password, or a token.
pub(super) async fn submit(
    State(ui): State<Ui>,
    Query(q): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
    extensions: axum::http::Extensions,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let next = next_page(&q);
    if !same_form(&headers, form.get("signin")) {
        return Ok(refused(
            &next,
            "This sign-in form was not the one this page gave, or it expired: sign in again.",
            ui.secure,
            axum::http::StatusCode::FORBIDDEN,
        ));
    }
    // Failures counted by the name tried (or the token's ID) and by where
    // they come from.
    let token = form
        .get("token")
        .map(|t| t.trim())
        .filter(|t| !t.is_empty());
    let name_key = match token {
        Some(t) => format!(
            "token:{}",
            t.strip_prefix("vgt_")
                .and_then(|t| t.split_once('_'))
                .map_or("?", |(id, _)| id)
        ),
        None => format!("name:{}", form.get("name").map_or("", |n| n.trim())),
    };
    let client_key = extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| format!("client:{}", c.0.ip()));
    let now = std::time::Instant::now();
    let wait = ui
        .throttle
        .wait(&name_key, super::throttle::PER_NAME, now)
        .or_else(|| {
            client_key
                .as_deref()
                .and_then(|k| ui.throttle.wait(k, super::throttle::PER_CLIENT, now))
        });
    if let Some(wait) = wait {
        tracing::warn!(key = %name_key, client = ?client_key, "sign-ins refused: too many failures");
        let mut resp = refused(
            &next,
            &format!(
                "Too many failed sign-ins: try again in {} minutes.",
                wait.as_secs().div_ceil(60).max(1)
            ),
            ui.secure,
            axum::http::StatusCode::TOO_MANY_REQUESTS,
        );
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(resp);
    }
    let db = &ui.svc.db;
    let found = if let Some(token) = token {
        let role = db.check_token(token).await.map_err(internal)?;
        let id = token
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
        ui.throttle.failed(&name_key, now);
        if let Some(k) = &client_key {
            ui.throttle.failed(k, now);
        }
        return Ok(refused(
            &next,
            "That name and password, or that token, is not valid.",
            ui.secure,
            axum::http::StatusCode::OK,
        ));
    };
    if role == Role::Agent {
        return Ok(refused(
            &next,
            "An agent token only sends inventories; sign in with a viewer or admin token.",
            ui.secure,
            axum::http::StatusCode::OK,
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
