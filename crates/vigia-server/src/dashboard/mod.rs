//! The dashboard: HTML pages under `/ui/`, served by `vigia serve` with
//! its stylesheet and script compiled into the binary (nothing is fetched
//! from elsewhere).
//!
//! The pages are a client of the API: every number and list on them comes
//! from one call of an operation in [`crate::openapi::OPERATIONS`], made
//! in-process for the signed-in session's role ([`crate::api::Internal`]),
//! so what a page shows is what the API answers, and a viewer's session is
//! refused writes by the same check that refuses a viewer's token.
//!
//! Sign-in is with an API token or a user account (`vigia user create`);
//! the session cookie is `HttpOnly`, `SameSite=Strict`, `Secure` under TLS,
//! and every form that writes carries the session's CSRF token.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tower::ServiceExt as _;

use crate::accounts::Session;
use crate::auth::Role;
use crate::service::Service;

mod findings;
mod login;
mod overview;
mod resources;
mod rules;
mod settings;
mod snapshot;
mod throttle;
mod view;

/// The session cookie's name.
const COOKIE: &str = "vigia_session";

/// What every page handler is given.
#[derive(Clone)]
pub(crate) struct Ui {
    svc: Arc<Service>,
    /// The API's router, called in-process.
    api: Router,
    /// Cookies are `Secure` (the service serves HTTPS).
    secure: bool,
    /// The overview's figures, kept while nothing changes.
    overview: Arc<snapshot::Snapshot<overview::Figures>>,
    /// Failed sign-ins.
    throttle: Arc<throttle::Throttle>,
}

/// An error page: what failed, with the status it is answered with.
#[derive(Debug)]
pub(crate) struct UiError {
    status: StatusCode,
    message: String,
}

impl UiError {
    fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error").to_owned();
        let page = view::bare(
            &title,
            &maud::html! {
                p.error role="alert" { (self.message) }
                p { a href="/ui/" { "Back to the overview" } }
            },
        );
        with_headers((self.status, Html(page.into_string())).into_response())
    }
}

impl Ui {
    /// Calls an API operation for a session's role. `uri` is the path with
    /// its query; `body` is the JSON body of a `POST`.
    pub(crate) async fn call(
        &self,
        s: &Session,
        uri: &str,
        body: Option<&Value>,
    ) -> Result<Value, UiError> {
        let resp = self.raw(s, uri, body).await?;
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
            .await
            .map_err(|e| UiError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: format!("{uri}: the answer could not be read: {e}"),
            })?;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(v);
        }
        Err(UiError {
            status,
            message: v["message"]
                .as_str()
                .map_or_else(|| format!("{uri} answered {status}"), str::to_owned),
        })
    }

    /// Calls an API operation and hands back its response as it is.
    pub(crate) async fn raw(
        &self,
        s: &Session,
        uri: &str,
        body: Option<&Value>,
    ) -> Result<Response, UiError> {
        let (method, body) = match body {
            Some(b) => (Method::POST, axum::body::Body::from(b.to_string())),
            None => (Method::GET, axum::body::Body::empty()),
        };
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .map_err(|e| UiError::bad(format!("{uri}: {e}")))?;
        req.extensions_mut().insert(crate::api::Internal(s.role));
        let resp = self.api.clone().oneshot(req).await;
        Ok(match resp {
            Ok(r) => r,
            Err(never) => match never {},
        })
    }
}

/// A form that writes: its CSRF token and the session's role checked, then
/// one API operation called with `body`, then the browser sent `back`.
pub(crate) async fn submit(
    ui: &Ui,
    s: &Session,
    form: &std::collections::HashMap<String, String>,
    operation: &str,
    body: &Value,
    back: &str,
) -> Result<Response, UiError> {
    check_csrf(s, form.get("csrf"))?;
    need_admin(s)?;
    ui.call(s, operation, Some(body)).await?;
    Ok(Redirect::to(back).into_response())
}

/// Checks a form's CSRF token against the session's.
pub(crate) fn check_csrf(s: &Session, presented: Option<&String>) -> Result<(), UiError> {
    if presented.is_some_and(|p| same_secret(p, &s.csrf)) {
        Ok(())
    } else {
        Err(UiError::forbidden(
            "the form's security token is missing or stale: reload the page and try again",
        ))
    }
}

/// Refuses a write to a session that may not write (the API refuses it
/// too; this gives the page a clear message first).
pub(crate) fn need_admin(s: &Session) -> Result<(), UiError> {
    if s.role == Role::Admin {
        Ok(())
    } else {
        Err(UiError::forbidden(format!(
            "a {} session cannot change anything",
            s.role.as_str()
        )))
    }
}

/// The session cookie's value, from a request's headers.
fn cookie_secret(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, COOKIE)
}

/// The value of the request's cookie `name`.
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// Whether two secrets are equal, in a time that does not say where they
/// differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Security headers on every page: scripts, styles and forms from this
/// origin only, never framed, no content sniffing.
fn with_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Signed-in pages: the session from its cookie, or the sign-in page.
async fn signed_in(State(ui): State<Ui>, mut req: Request, next: Next) -> Response {
    let session = match cookie_secret(req.headers()) {
        Some(secret) => match ui.svc.db.session(&secret, jiff::Timestamp::now()).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %vigia_engine::error_chain(&e), "session lookup failed");
                return UiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message: "the session could not be read; the service's log says why".into(),
                }
                .into_response();
            }
        },
        None => None,
    };
    let Some(session) = session else {
        let here = req
            .uri()
            .path_and_query()
            .map_or("/ui/", |p| p.as_str())
            .to_owned();
        let target = format!("/ui/login?next={}", view::enc(&here));
        return with_headers(Redirect::to(&target).into_response());
    };
    req.extensions_mut().insert(session);
    with_headers(next.run(req).await)
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("style.css"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("app.js"),
    )
        .into_response()
}

/// The dashboard's routes under `/ui/`, and `/` sending browsers there.
/// `api` is the API's router, which the pages call in-process; `secure`
/// makes the session cookie `Secure` (set when the service serves HTTPS).
pub fn router(svc: Arc<Service>, api: Router, secure: bool) -> Router {
    let ui = Ui {
        svc,
        api,
        secure,
        overview: Arc::default(),
        throttle: Arc::default(),
    };
    // The overview's figures computed once the service is ready, so that
    // its first reader does not wait for them.
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(overview::warm(ui.clone()));
    }
    let pages = Router::new()
        .route("/ui/", get(overview::page))
        .route("/ui/findings", get(findings::list))
        .route("/ui/finding", get(findings::one))
        .route("/ui/search", get(findings::search))
        .route("/ui/resources", get(resources::list))
        .route("/ui/resource", get(resources::one))
        .route("/ui/resource/sbom", get(resources::sbom))
        .route("/ui/rules", get(rules::list))
        .route("/ui/rules/create", post(rules::create))
        .route("/ui/rules/update", post(rules::update))
        .route("/ui/rules/delete", post(rules::delete))
        .route("/ui/settings", get(settings::page))
        .route("/ui/tokens/create", post(settings::create_token))
        .route("/ui/tokens/revoke", post(settings::revoke_token))
        .route("/ui/targets/replay", post(settings::replay))
        .route("/ui/logout", post(login::logout))
        // Any other page under /ui/: an error page, not the API's 401.
        .route(
            "/ui/{*rest}",
            get(|| async {
                UiError {
                    status: StatusCode::NOT_FOUND,
                    message: "There is no such page.".into(),
                }
            }),
        )
        .layer(axum::middleware::from_fn_with_state(ui.clone(), signed_in));
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/") }))
        .route("/ui", get(|| async { Redirect::to("/ui/") }))
        .route("/ui/login", get(login::form).post(login::submit))
        .route("/ui/assets/style.css", get(stylesheet))
        .route("/ui/assets/app.js", get(script))
        // Browsers ask for it on every page: nothing to show, no 401.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .merge(pages)
        .with_state(ui)
}
