//! The page shell (navigation, sign-out) and the small pieces every page
//! uses: severity badges, numbers, links, escaping of query values.

use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use crate::accounts::Session;
use crate::auth::Role;

/// The sections in the navigation: (path, label).
const NAV: &[(&str, &str)] = &[
    ("/ui/", "Overview"),
    ("/ui/findings", "Findings"),
    ("/ui/resources", "Resources"),
    ("/ui/rules", "Suppression rules"),
    ("/ui/settings", "Settings"),
];

/// A query-string value, percent-encoded.
pub(crate) fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn head(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        meta name="color-scheme" content="light dark";
        title { (title) " · Vigia" }
        link rel="stylesheet" href="/ui/assets/style.css";
        script src="/ui/assets/app.js" defer {}
    }
}

/// A page without navigation (sign-in, errors).
pub(crate) fn bare(title: &str, body: &Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { (head(title)) }
            body.bare {
                main #main {
                    p.brand { "Vigia" }
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A signed-in page: navigation with `active` marked, the session's role,
/// sign-out, and the body under an `h1`.
pub(crate) fn page(title: &str, active: &str, s: &Session, body: &Markup) -> Markup {
    page_with(title, active, s, None, body)
}

/// As [`page`], reloading itself every `refresh` seconds (the overview).
pub(crate) fn page_with(
    title: &str,
    active: &str,
    s: &Session,
    refresh: Option<u32>,
    body: &Markup,
) -> Markup {
    let who = match s.subject.split_once(':') {
        Some(("token", id)) => format!("token {}", id.get(..8).unwrap_or(id)),
        Some((_, name)) => name.to_owned(),
        None => s.subject.clone(),
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                (head(title))
                @if let Some(secs) = refresh {
                    meta name="vigia-refresh" content=(secs);
                }
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/ui/" { "Vigia" }
                    nav aria-label="Sections" {
                        ul {
                            @for (path, label) in NAV {
                                @if *path != "/ui/settings" || s.role == Role::Admin {
                                    li {
                                        a href=(path) aria-current=[(*path == active).then_some("page")] { (label) }
                                    }
                                }
                            }
                        }
                    }
                    form.search role="search" method="get" action="/ui/search" {
                        label.visually-hidden for="cve" { "Find the resources affected by a vulnerability" }
                        input #cve name="id" type="search" placeholder="CVE, GHSA …" required;
                        button type="submit" { "Search" }
                    }
                    div.who {
                        span { (who) " · " (s.role.as_str()) }
                        form method="post" action="/ui/logout" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button.link type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The severities, most severe first, with their CSS class.
pub(crate) const SEVERITIES: &[(&str, &str)] = &[
    ("CRITICAL", "critical"),
    ("HIGH", "high"),
    ("MEDIUM", "medium"),
    ("LOW", "low"),
    ("INFORMATIONAL", "informational"),
    ("UNTRIAGED", "untriaged"),
];

/// A severity badge.
pub(crate) fn severity(s: &str) -> Markup {
    let class = SEVERITIES
        .iter()
        .find(|(name, _)| *name == s)
        .map_or("untriaged", |(_, c)| c);
    html! { span class={ "sev sev-" (class) } { (s) } }
}

/// A number with thousands separators.
pub(crate) fn num(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A JSON number as an integer (0 when absent).
pub(crate) fn int(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_u64().and_then(|u| i64::try_from(u).ok()))
        .unwrap_or(0)
}

/// A JSON string (empty when absent).
pub(crate) fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// The link to the findings list with these query parameters.
pub(crate) fn findings_link(params: &[(&str, &str)]) -> String {
    let q: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    format!("/ui/findings?{}", q.join("&"))
}

/// A resource's readable name: repository and tag, function name, host.
pub(crate) fn resource_name(r: &Value) -> String {
    let d = &r["details"];
    if let Some(img) = d.get("awsEcrContainerImage") {
        let repo = text(&img["repositoryName"]);
        let tag = img["imageTags"][0].as_str();
        return match tag {
            Some(t) if !repo.is_empty() => format!("{repo}:{t}"),
            _ if !repo.is_empty() => repo.to_owned(),
            _ => text(&r["id"]).to_owned(),
        };
    }
    if let Some(f) = d.get("awsLambdaFunction") {
        return text(&f["functionName"]).to_owned();
    }
    text(&r["id"]).to_owned()
}

/// A time as stored (RFC 3339) shown to the minute, UTC.
pub(crate) fn when(v: &Value) -> String {
    let t = text(v);
    if t.len() >= 16 {
        format!("{} {} UTC", &t[..10], &t[11..16])
    } else {
        t.to_owned()
    }
}

/// The hidden CSRF field of a form that writes.
pub(crate) fn csrf(s: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}

/// A resource type as people say it.
pub(crate) fn resource_type(t: &str) -> &str {
    match t {
        "AWS_ECR_CONTAINER_IMAGE" => "Container image",
        "AWS_EC2_INSTANCE" => "Host",
        "AWS_LAMBDA_FUNCTION" => "Function",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_grouped() {
        assert_eq!(super::num(0), "0");
        assert_eq!(super::num(999), "999");
        assert_eq!(super::num(1000), "1,000");
        assert_eq!(super::num(1_234_567), "1,234,567");
        assert_eq!(super::num(-12_345), "-12,345");
    }
}
