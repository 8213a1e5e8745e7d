//! What a registry holds: its repositories (`/v2/_catalog`), each
//! repository's tags (`/v2/<name>/tags/list`), and the manifest digest
//! each tag points at (`HEAD /v2/<name>/manifests/<tag>`), as the
//! Distribution API gives them.
//!
//! Written on `reqwest` rather than `oci-client` (which pulls): that
//! client pages with `last` only and asks every token for a repository's
//! pull scope, while a catalog needs `registry:catalog:*` and registries
//! such as GHCR and Harbor page with opaque `Link` cursors. Here every
//! page is followed through its `Link: <…>; rel="next"` header, and a
//! bearer challenge is answered with a token for exactly the scope the
//! registry names (the challenge is parsed by `http-auth`, the crate
//! `oci-client` uses too).

use std::collections::HashMap;

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, LINK, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode, Url};

use crate::{Error, RegistryFailure, Result};

/// The manifest media types a tag is resolved for: images, image indexes,
/// and (so that they are reported as unsupported rather than missing)
/// anything else the registry holds.
const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, */*;q=0.1";

/// The longest pagination Vigia follows: a registry that keeps answering
/// with a next page is cut there, and said so.
const MAX_PAGES: usize = 10_000;

/// A manifest a tag points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagTarget {
    /// `sha256:…`.
    pub digest: String,
    /// Its media type, as the registry gave it.
    pub media_type: Option<String>,
}

/// Access to one registry's Distribution API.
pub struct Discovery {
    http: reqwest::Client,
    base: Url,
    basic: Option<(String, String)>,
    /// Bearer tokens by scope, reused while the registry accepts them.
    tokens: tokio::sync::Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery")
            .field("base", &self.base.as_str())
            .field("user", &self.basic.as_ref().map(|(u, _)| u))
            .finish_non_exhaustive()
    }
}

fn failed(what: &str, failure: RegistryFailure, message: impl Into<String>) -> Error {
    Error::Registry {
        reference: what.to_owned(),
        message: message.into(),
        failure,
    }
}

/// The `rel="next"` URL of a `Link` header, if any. (RFC 8288 links are
/// `<uri>; param=value`, comma-separated; registries send at most one.)
fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let (uri, params) = link.trim().split_once(';')?;
            let next = params.split(';').any(|p| {
                p.trim()
                    .strip_prefix("rel=")
                    .is_some_and(|r| r.trim_matches('"').split(' ').any(|r| r == "next"))
            });
            next.then(|| {
                uri.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
        })
}

impl Discovery {
    /// Access to the registry at `base` (`https://registry.example`,
    /// `http://127.0.0.1:5000`), with a user and password for basic auth
    /// and token exchange.
    ///
    /// # Errors
    /// A base that is not an http(s) URL.
    pub fn new(base: &str, basic: Option<(String, String)>) -> Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let url = Url::parse(base)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                Error::request(format!("{base} is not an http or https registry URL"))
            })?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .user_agent(concat!("vigia/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::request(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: url,
            basic,
            tokens: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// The registry's host (and port), as image references name it.
    #[must_use]
    pub fn host(&self) -> String {
        let host = self.base.host_str().unwrap_or_default();
        match self.base.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        }
    }

    /// A token for the scope a bearer challenge names, from its realm.
    async fn token(&self, challenge: &str, what: &str) -> Result<String> {
        let challenges = http_auth::parse_challenges(challenge).map_err(|e| {
            failed(
                what,
                RegistryFailure::Other,
                format!("unreadable authentication challenge `{challenge}`: {e}"),
            )
        })?;
        let bearer = challenges
            .iter()
            .find(|c| c.scheme.eq_ignore_ascii_case("bearer"))
            .ok_or_else(|| {
                failed(
                    what,
                    RegistryFailure::AccessDenied,
                    format!("the registry asks for `{challenge}`, and Vigia has no credentials it accepts"),
                )
            })?;
        let param = |name: &str| {
            bearer
                .params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_unescaped())
        };
        let realm = param("realm").ok_or_else(|| {
            failed(
                what,
                RegistryFailure::Other,
                "a bearer challenge without a realm",
            )
        })?;
        // The password goes to the token service over HTTPS, unless the
        // registry itself is plain HTTP (a private network).
        if self.base.scheme() == "https" && !realm.starts_with("https://") {
            return Err(failed(
                what,
                RegistryFailure::Other,
                format!(
                    "the registry's token service {realm} is not HTTPS: credentials are not sent there"
                ),
            ));
        }
        let scope = param("scope").unwrap_or_default();
        if let Some(t) = self.tokens.lock().await.get(&scope) {
            return Ok(t.clone());
        }
        let mut req = self.http.get(&realm);
        let mut query = Vec::new();
        if let Some(service) = param("service") {
            query.push(("service", service));
        }
        if !scope.is_empty() {
            query.push(("scope", scope.clone()));
        }
        req = req.query(&query);
        if let Some((u, p)) = &self.basic {
            req = req.basic_auth(u, Some(p));
        }
        let resp = req.send().await.map_err(|e| {
            failed(
                what,
                RegistryFailure::Other,
                format!("cannot reach the token service {realm}: {e}"),
            )
        })?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(failed(
                what,
                RegistryFailure::AccessDenied,
                format!("the token service {realm} refused the credentials ({status})"),
            ));
        }
        if !status.is_success() {
            return Err(failed(
                what,
                RegistryFailure::Other,
                format!("the token service {realm} answered {status}"),
            ));
        }
        let bytes = resp.bytes().await.map_err(|e| {
            failed(
                what,
                RegistryFailure::Other,
                format!("the token service {realm} broke off: {e}"),
            )
        })?;
        let body: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            failed(
                what,
                RegistryFailure::Other,
                format!("the token service {realm} sent no JSON: {e}"),
            )
        })?;
        let token = body["token"]
            .as_str()
            .or_else(|| body["access_token"].as_str())
            .ok_or_else(|| {
                failed(
                    what,
                    RegistryFailure::Other,
                    format!("the token service {realm} sent no token"),
                )
            })?
            .to_owned();
        self.tokens.lock().await.insert(scope, token.clone());
        Ok(token)
    }

    /// Sends a request with the registry's auth: basic credentials first
    /// (when given), a bearer token when the registry challenges for one.
    /// `what` names the request in errors.
    async fn send(&self, method: Method, url: &Url, what: &str) -> Result<reqwest::Response> {
        let build = |bearer: Option<&str>| {
            let mut req = self.http.request(method.clone(), url.clone());
            if method == Method::HEAD {
                req = req.header(ACCEPT, ACCEPT_MANIFESTS);
            }
            match (bearer, &self.basic) {
                (Some(t), _) => req.header(AUTHORIZATION, format!("Bearer {t}")),
                (None, Some((u, p))) => req.basic_auth(u, Some(p)),
                (None, None) => req,
            }
        };
        let reach = |e: reqwest::Error| {
            failed(
                what,
                RegistryFailure::Other,
                format!("cannot reach the registry {}: {e}", self.host()),
            )
        };
        let mut resp = build(None).send().await.map_err(reach)?;
        for _ in 0..2 {
            if resp.status() != StatusCode::UNAUTHORIZED {
                break;
            }
            let Some(challenge) = resp
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
            else {
                break;
            };
            if !challenge.to_ascii_lowercase().starts_with("bearer") {
                break;
            }
            let token = self.token(&challenge, what).await?;
            resp = build(Some(&token)).send().await.map_err(reach)?;
            if resp.status() == StatusCode::UNAUTHORIZED {
                // An expired token: the next round asks for a new one.
                self.tokens.lock().await.clear();
            }
        }
        match resp.status() {
            s if s == StatusCode::UNAUTHORIZED || s == StatusCode::FORBIDDEN => Err(failed(
                what,
                RegistryFailure::AccessDenied,
                format!(
                    "the registry {} refused access ({s}){}",
                    self.host(),
                    if self.basic.is_some() {
                        ": check the user and password"
                    } else {
                        ": it needs credentials"
                    }
                ),
            )),
            _ => Ok(resp),
        }
    }

    /// Every page of a list (`repositories` of the catalog, `tags` of a
    /// repository), following `Link` headers. `None` when the first page
    /// is 404 (a repository deleted since the catalog named it).
    async fn pages(
        &self,
        first: Url,
        member: &str,
        what: &str,
        missing_is_none: bool,
    ) -> Result<Option<Vec<String>>> {
        let mut out = Vec::new();
        let mut url = first;
        for page in 0..MAX_PAGES {
            let resp = self.send(Method::GET, &url, what).await?;
            let status = resp.status();
            if status == StatusCode::NOT_FOUND && page == 0 && missing_is_none {
                return Ok(None);
            }
            if !status.is_success() {
                let body = resp.text().await.unwrap_or_default();
                return Err(failed(
                    what,
                    RegistryFailure::Other,
                    format!(
                        "the registry answered {status}: {}",
                        body.trim().chars().take(300).collect::<String>()
                    ),
                ));
            }
            let next = next_link(resp.headers());
            let bytes = resp.bytes().await.map_err(|e| {
                failed(
                    what,
                    RegistryFailure::Other,
                    format!("the registry broke off: {e}"),
                )
            })?;
            let body: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
                failed(
                    what,
                    RegistryFailure::Other,
                    format!("the registry sent no JSON: {e}"),
                )
            })?;
            // An answer without the list is not an empty list (a registry
            // that lists no tags may say `"tags": null`).
            match body.get(member) {
                Some(serde_json::Value::Array(a)) => {
                    out.extend(a.iter().filter_map(|v| v.as_str().map(str::to_owned)));
                }
                Some(serde_json::Value::Null) if member == "tags" => {}
                _ => {
                    return Err(failed(
                        what,
                        RegistryFailure::Other,
                        format!("the registry's answer has no `{member}` list"),
                    ));
                }
            }
            match next {
                Some(n) => {
                    url = url.join(&n).map_err(|e| {
                        failed(
                            what,
                            RegistryFailure::Other,
                            format!("a Link header names `{n}`, not a URL: {e}"),
                        )
                    })?;
                    // Credentials go to the registry only.
                    if url.origin() != self.base.origin() {
                        return Err(failed(
                            what,
                            RegistryFailure::Other,
                            format!(
                                "a Link header points to another host ({}): not followed",
                                url.origin().ascii_serialization()
                            ),
                        ));
                    }
                }
                None => return Ok(Some(out)),
            }
        }
        // A partial list is not the list: nothing is concluded from it.
        Err(failed(
            what,
            RegistryFailure::Other,
            format!("the registry kept sending pages past {MAX_PAGES}"),
        ))
    }

    fn url(&self, path: &str) -> Url {
        let mut u = self.base.clone();
        u.set_path(path);
        u
    }

    /// Every repository in the catalog, `page` at a time.
    ///
    /// # Errors
    /// The registry unreachable, refusing access, or answering nonsense.
    pub async fn repositories(&self, page: usize) -> Result<Vec<String>> {
        let mut url = self.url("/v2/_catalog");
        url.query_pairs_mut().append_pair("n", &page.to_string());
        Ok(self
            // A registry without a catalog answers 404: an error, never
            // an empty registry.
            .pages(
                url,
                "repositories",
                &format!("{}/v2/_catalog", self.host()),
                false,
            )
            .await?
            .unwrap_or_default())
    }

    /// Every tag of `repository`, `page` at a time; `None` when the
    /// repository is gone.
    ///
    /// # Errors
    /// As [`Discovery::repositories`].
    pub async fn tags(&self, repository: &str, page: usize) -> Result<Option<Vec<String>>> {
        let mut url = self.url(&format!("/v2/{repository}/tags/list"));
        url.query_pairs_mut().append_pair("n", &page.to_string());
        self.pages(url, "tags", &format!("{}/{repository}", self.host()), true)
            .await
    }

    /// The manifest `reference` (a tag or digest) of `repository` points
    /// at; `None` when there is none.
    ///
    /// # Errors
    /// As [`Discovery::repositories`], and a registry that gives no digest.
    pub async fn resolve(&self, repository: &str, reference: &str) -> Result<Option<TagTarget>> {
        let what = format!("{}/{repository}:{reference}", self.host());
        let url = self.url(&format!("/v2/{repository}/manifests/{reference}"));
        let resp = self.send(Method::HEAD, &url, &what).await?;
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(failed(
                &what,
                RegistryFailure::Other,
                format!("the registry answered {status}"),
            ));
        }
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let digest = header("docker-content-digest")
            .filter(|d| {
                d.strip_prefix("sha256:")
                    .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            })
            .ok_or_else(|| {
                failed(
                    &what,
                    RegistryFailure::Other,
                    "the registry gave no sha256 Docker-Content-Digest for the manifest",
                )
            })?;
        Ok(Some(TagTarget {
            digest,
            media_type: header("content-type")
                .map(|t| t.split(';').next().unwrap_or_default().trim().to_owned()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(values: &[&str]) -> Option<String> {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(LINK, v.parse().unwrap());
        }
        next_link(&h)
    }

    #[test]
    fn next_links_as_registries_send_them() {
        // Docker Distribution.
        assert_eq!(
            links(&[r#"</v2/_catalog?last=b&n=2>; rel="next""#]).as_deref(),
            Some("/v2/_catalog?last=b&n=2")
        );
        // Unquoted, several relations, other links beside it.
        assert_eq!(
            links(&[
                r#"<https://r.example/a>; rel=prev, <https://r.example/b?c=1>; rel="next last""#
            ])
            .as_deref(),
            Some("https://r.example/b?c=1")
        );
        assert_eq!(links(&[r#"</v2/_catalog?last=b>; rel="prev""#]), None);
        assert_eq!(links(&[]), None);
    }
}
