//! The deployment gate: whether an image may run, decided from its stored
//! findings by a policy. Kubernetes asks through its validating admission
//! webhook (`admission`), pipelines through `vigia gate`.
//!
//! Images are decided by digest: a reference without one (`app:1.0`)
//! cannot be tied to what was scanned and is decided as unscanned.

pub mod admission;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Severities from the least to the most severe, as findings name them.
const SEVERITIES: [&str; 5] = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];

/// What to do with an image Vigia has no successful scan of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unscanned {
    /// Let it run (the answer says it was not scanned).
    Allow,
    /// Refuse it.
    Deny,
}

/// An exception: a repository (glob: `*` matches any run of characters)
/// allowed whatever its findings, or a vulnerability (its ID or any alias)
/// not counted, in every repository or in one; until `expires` when given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Exception {
    /// Repository, as the image reference names it (`registry/team/app`).
    #[serde(default)]
    pub repository: Option<String>,
    /// A vulnerability ID (`CVE-2024-1234`, `GHSA-…`).
    #[serde(default)]
    pub vulnerability: Option<String>,
    /// When it stops applying (RFC 3339).
    #[serde(default)]
    pub expires: Option<jiff::Timestamp>,
    /// Why it was granted.
    pub reason: String,
}

/// The gate's policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    /// Active findings at or above this severity refuse an image
    /// (`CRITICAL`, `HIGH`, `MEDIUM`, `LOW`, `INFORMATIONAL`), or `NONE`
    /// for no severity rule.
    #[serde(default = "default_severity")]
    pub severity: String,
    /// Count only findings with a fixed version (`fixAvailable` YES or
    /// PARTIAL): refuse what could have been fixed.
    #[serde(default)]
    pub fixable_only: bool,
    /// Any finding of a known exploited vulnerability (CISA KEV) refuses an
    /// image, whatever its severity.
    #[serde(default = "yes")]
    pub kev: bool,
    /// An image whose inventory was last read (scanned) longer ago is
    /// refused as stale; re-evaluations against new advisories do not
    /// count, as they do not read the image again.
    #[serde(default)]
    pub max_scan_age_days: Option<u32>,
    /// Images never scanned, or referenced without a digest.
    #[serde(default = "deny")]
    pub unscanned: Unscanned,
    /// How long a decision waits for the scan of an image never scanned,
    /// when it is in a registry Vigia watches (default 8: Kubernetes waits
    /// 10 seconds for a webhook by default); past it, `unscanned` decides.
    #[serde(default = "default_scan_timeout")]
    pub scan_timeout_seconds: u32,
    /// Exceptions.
    #[serde(default)]
    pub exceptions: Vec<Exception>,
}

fn default_severity() -> String {
    "CRITICAL".to_owned()
}

fn yes() -> bool {
    true
}

fn deny() -> Unscanned {
    Unscanned::Deny
}

fn default_scan_timeout() -> u32 {
    8
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            severity: default_severity(),
            fixable_only: false,
            kev: true,
            max_scan_age_days: None,
            unscanned: Unscanned::Deny,
            scan_timeout_seconds: default_scan_timeout(),
            exceptions: Vec::new(),
        }
    }
}

impl Policy {
    /// Reads and checks a policy.
    ///
    /// # Errors
    /// What is wrong with it, naming the member.
    pub fn parse(v: &Value) -> Result<Self, String> {
        let p: Self = serde_json::from_value(v.clone()).map_err(|e| format!("policy: {e}"))?;
        if p.severity != "NONE" && !SEVERITIES.contains(&p.severity.as_str()) {
            return Err(format!(
                "policy: severity `{}` is not one of CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, NONE",
                p.severity
            ));
        }
        for (i, e) in p.exceptions.iter().enumerate() {
            if e.repository.is_none() && e.vulnerability.is_none() {
                return Err(format!(
                    "policy: exceptions[{i}] names neither a repository nor a vulnerability"
                ));
            }
            if e.reason.trim().is_empty() {
                return Err(format!("policy: exceptions[{i}] needs a reason"));
            }
        }
        Ok(p)
    }
}

/// An image reference taken apart: its repository (registry included) and
/// its digest when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// As given.
    pub reference: String,
    /// `registry/team/app`, without tag or digest, as written.
    pub repository: String,
    /// The same, as Docker names it in full: `nginx` is
    /// `docker.io/library/nginx`, `index.docker.io/x/y` is `docker.io/x/y`.
    pub canonical: String,
    /// `sha256:` and 64 lowercase hex digits.
    pub digest: Option<String>,
    /// A digest was given (`@…`) that is not `sha256:` and 64 lowercase
    /// hex digits: nothing can be tied to it, and it is no tag either.
    pub bad_digest: bool,
}

impl ImageRef {
    /// Parses `registry/team/app:tag@sha256:…`, `app@sha256:…`, `app:tag`.
    #[must_use]
    pub fn parse(reference: &str) -> Self {
        let hex = |d: &str| {
            d.len() == 64
                && d.chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        };
        let (name, digest, bad_digest) = match reference.split_once('@') {
            Some((n, d)) if d.strip_prefix("sha256:").is_some_and(hex) => {
                (n, Some(d.to_owned()), false)
            }
            Some((n, _)) => (n, None, true),
            None => (reference, None, false),
        };
        let (registry, repository, _) = vigia_scan::split_reference(name);
        let canonical = in_full(registry.as_deref(), &repository);
        Self {
            reference: reference.to_owned(),
            repository: registry
                .map_or_else(|| repository.clone(), |r| format!("{r}/{repository}")),
            canonical,
            digest,
            bad_digest,
        }
    }
}

/// A repository as Docker names it in full: Docker Hub's with its
/// `docker.io/` (and `library/` for an official image's one-word name).
fn in_full(registry: Option<&str>, repository: &str) -> String {
    match registry {
        None | Some("docker.io" | "index.docker.io" | "registry-1.docker.io") => {
            if repository.contains('/') {
                format!("docker.io/{repository}")
            } else {
                format!("docker.io/library/{repository}")
            }
        }
        Some(r) => format!("{r}/{repository}"),
    }
}

/// An exception's repository pattern in full, as [`in_full`] names a
/// reference's: `nginx` is `docker.io/library/nginx`, `team/*` is
/// `docker.io/team/*`. A first part with a dot or a port, or `localhost`,
/// is a registry.
fn pattern_in_full(pattern: &str) -> String {
    match pattern.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            in_full(Some(first), rest)
        }
        _ => in_full(None, pattern),
    }
}

/// What the gate knows of an image's scan.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The resource that holds the image's digest, when one does.
    pub resource_id: Option<String>,
    /// Its coverage: `ACTIVE`/`SUCCESSFUL` when scanned.
    pub scanned: bool,
    /// When it was last scanned or re-evaluated (RFC 3339).
    pub last_scanned_at: Option<String>,
    /// Its active findings (not suppressed, not closed), as the API
    /// returns them.
    pub findings: Vec<Value>,
    /// Vigia no longer tracks the image (removed from its registry, or past
    /// its rescan window): `findings` are those it had when it was
    /// retired, closed since.
    pub retired: bool,
}

/// A finding that breaks the policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// The finding.
    pub finding_arn: String,
    /// Its vulnerability.
    pub vulnerability_id: String,
    /// Its severity.
    pub severity: String,
    /// Its packages and their fixes: `openssl 3.0.11-1 (fixed in 3.0.13-1)`.
    pub packages: Vec<String>,
    /// Known exploited (CISA KEV).
    pub kev: bool,
}

/// The decision for one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The image as referenced.
    pub image: String,
    /// Its digest, when the reference has one.
    pub digest: Option<String>,
    /// Whether it may run.
    pub allowed: bool,
    /// Why, in a sentence.
    pub reason: String,
    /// The resource whose findings decided it.
    pub resource_id: Option<String>,
    /// The findings that break the policy (after exceptions).
    pub violations: Vec<Violation>,
    /// Decided without a successful scan of it (by the policy's
    /// `unscanned`).
    pub unscanned: bool,
}

/// Whether `pattern` (with `*` for any run) matches `s` whole.
pub(crate) fn glob(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().expect("split gives one part");
    let Some(mut tail) = s.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return tail.is_empty();
    };
    for p in middle {
        match tail.find(p) {
            Some(i) => tail = &tail[i + p.len()..],
            None => return false,
        }
    }
    tail.ends_with(last)
}

fn str_of<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// Decides one image at `now` from what is known of it.
#[must_use]
pub fn decide(policy: &Policy, image: &ImageRef, facts: &Facts, now: jiff::Timestamp) -> Decision {
    let live: Vec<&Exception> = policy
        .exceptions
        .iter()
        .filter(|e| e.expires.is_none_or(|t| t > now))
        .collect();
    let decision = |allowed: bool, reason: String, violations: Vec<Violation>| Decision {
        image: image.reference.clone(),
        digest: image.digest.clone(),
        allowed,
        reason,
        resource_id: facts.resource_id.clone(),
        violations,
        unscanned: false,
    };
    // As written, or both in full: an exception for `nginx` covers
    // `docker.io/library/nginx@…`, one for `team/*` covers `docker.io/team/app`.
    let in_repository = |r: &str| {
        glob(r, &image.repository)
            || glob(r, &image.canonical)
            || glob(&pattern_in_full(r), &image.canonical)
    };
    if let Some(e) = live
        .iter()
        .find(|e| e.vulnerability.is_none() && e.repository.as_deref().is_some_and(in_repository))
    {
        return decision(
            true,
            format!("the repository is excepted: {}", e.reason),
            Vec::new(),
        );
    }
    if image.bad_digest {
        return decision(
            false,
            "the reference's digest is not sha256: and 64 lowercase hex digits, so nothing can be tied to it".to_owned(),
            Vec::new(),
        );
    }
    if image.digest.is_none() || !facts.scanned {
        let why = if image.digest.is_none() {
            "the reference has no digest, so it cannot be tied to a scan"
        } else if facts.resource_id.is_none() {
            "Vigia has not scanned this digest"
        } else {
            "this digest's last scan did not succeed"
        };
        let mut d = decision(
            policy.unscanned == Unscanned::Allow,
            format!("{why} (the policy's `unscanned` is {:?})", policy.unscanned).to_lowercase(),
            Vec::new(),
        );
        d.unscanned = true;
        return d;
    }
    if let Some(days) = policy.max_scan_age_days {
        let fresh = facts
            .last_scanned_at
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .is_some_and(|t| now.duration_since(t).as_secs() <= i64::from(days) * 86_400);
        if !fresh {
            return decision(
                false,
                format!(
                    "its last scan ({}) is older than the policy's {days} days",
                    facts.last_scanned_at.as_deref().unwrap_or("never")
                ),
                Vec::new(),
            );
        }
    }
    let threshold = SEVERITIES.iter().position(|s| *s == policy.severity);
    let mut violations = Vec::new();
    for f in &facts.findings {
        let id = str_of(f, "/packageVulnerabilityDetails/vulnerabilityId");
        let related: Vec<&str> = f
            .pointer("/packageVulnerabilityDetails/relatedVulnerabilities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        // A finding without a vulnerability (a hardcoded secret) is named
        // by its title's first part, exactly.
        let title_id = str_of(f, "/title").split(" - ").next().unwrap_or("");
        let excepted = live.iter().any(|e| {
            e.vulnerability.as_deref().is_some_and(|v| {
                v == id || related.contains(&v) || (id.is_empty() && v == title_id)
            }) && e.repository.as_deref().is_none_or(in_repository)
        });
        if excepted {
            continue;
        }
        let severity = str_of(f, "/severity");
        let fixable = matches!(str_of(f, "/fixAvailable"), "YES" | "PARTIAL");
        let kev = str_of(f, "/exploitAvailable") == "YES";
        let severe = threshold.is_some_and(|t| {
            SEVERITIES
                .iter()
                .position(|s| *s == severity)
                .is_some_and(|p| p >= t)
        });
        if (severe || (policy.kev && kev)) && (fixable || !policy.fixable_only) {
            let packages = f
                .pointer("/packageVulnerabilityDetails/vulnerablePackages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| {
                    let fixed = str_of(p, "/fixedInVersion");
                    let fix = if fixed.is_empty() || fixed == "NotAvailable" {
                        "no fix yet".to_owned()
                    } else {
                        format!("fixed in {fixed}")
                    };
                    format!("{} {} ({fix})", str_of(p, "/name"), str_of(p, "/version"))
                })
                .collect();
            violations.push(Violation {
                finding_arn: str_of(f, "/findingArn").to_owned(),
                vulnerability_id: if id.is_empty() {
                    str_of(f, "/title").to_owned()
                } else {
                    id.to_owned()
                },
                severity: severity.to_owned(),
                packages,
                kev,
            });
        }
    }
    let retired = if facts.retired {
        " (Vigia no longer tracks this image, removed from its registry or past its rescan window: decided by the findings it had then)"
    } else {
        ""
    };
    if violations.is_empty() {
        return decision(
            true,
            format!("no finding breaks the policy{retired}"),
            violations,
        );
    }
    violations.sort_by(|a, b| {
        let rank = |s: &str| SEVERITIES.iter().position(|x| *x == s);
        rank(&b.severity)
            .cmp(&rank(&a.severity))
            .then_with(|| a.vulnerability_id.cmp(&b.vulnerability_id))
    });
    let named: Vec<String> = violations
        .iter()
        .take(5)
        .map(|v| {
            format!(
                "{} ({}{}{})",
                v.vulnerability_id,
                v.severity,
                if v.kev { ", known exploited" } else { "" },
                v.packages
                    .first()
                    .map(|p| format!(", {p}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    let more = violations.len().saturating_sub(5);
    let reason = format!(
        "{} finding{} break{} the policy: {}{}{retired}",
        violations.len(),
        if violations.len() == 1 { "" } else { "s" },
        if violations.len() == 1 { "s" } else { "" },
        named.join("; "),
        if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        }
    );
    decision(false, reason, violations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finding(id: &str, severity: &str, fix: &str, kev: bool) -> Value {
        json!({
            "findingArn": format!("arn/{id}"), "severity": severity, "fixAvailable": fix,
            "exploitAvailable": if kev { "YES" } else { "NO" }, "title": format!("{id} - pkg"),
            "packageVulnerabilityDetails": {"vulnerabilityId": id, "relatedVulnerabilities": [format!("GHSA-{id}")],
                "vulnerablePackages": [{"name": "pkg", "version": "1.0", "fixedInVersion": if fix == "YES" { "1.1" } else { "NotAvailable" }}]}
        })
    }

    fn image() -> ImageRef {
        ImageRef::parse(&format!(
            "registry.example:5000/team/app:1.0@sha256:{}",
            "a".repeat(64)
        ))
    }

    fn facts(findings: Vec<Value>) -> Facts {
        Facts {
            resource_id: Some("r".into()),
            scanned: true,
            last_scanned_at: Some("2026-12-01T00:00:00Z".into()),
            findings,
            retired: false,
        }
    }

    fn now() -> jiff::Timestamp {
        "2026-12-06T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn references_give_their_repository_and_digest() {
        let i = image();
        assert_eq!(i.repository, "registry.example:5000/team/app");
        assert_eq!(i.digest.as_deref().map(str::len), Some(71));
        let tag = ImageRef::parse("nginx:1.27");
        assert_eq!((tag.repository.as_str(), tag.digest), ("nginx", None));
        assert_eq!(tag.canonical, "docker.io/library/nginx");
        assert_eq!(
            ImageRef::parse("index.docker.io/team/app:1").canonical,
            "docker.io/team/app"
        );
        // Only lowercase hex is a digest (no LIKE wildcard reaches the
        // database).
        assert_eq!(
            ImageRef::parse(&format!("app@sha256:{}", "_".repeat(64))).digest,
            None
        );
        assert_eq!(
            ImageRef::parse(&format!("app@sha256:{}", "A".repeat(64))).digest,
            None
        );
        // Such a digest is no tag: refused whatever the policy says of
        // what was not scanned.
        let bad = ImageRef::parse("ghcr.io/a/b@sha256:ABC");
        assert!(bad.bad_digest);
        assert!(!ImageRef::parse("nginx:1.27").bad_digest);
        let allow = Policy {
            unscanned: Unscanned::Allow,
            ..Policy::default()
        };
        let d = decide(&allow, &bad, &Facts::default(), now());
        assert!(
            !d.allowed && d.reason.contains("digest is not sha256"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn an_image_no_longer_tracked_is_decided_by_its_last_findings() {
        let mut f = facts(vec![finding("CVE-2", "CRITICAL", "YES", false)]);
        f.retired = true;
        let d = decide(&Policy::default(), &image(), &f, now());
        assert!(!d.allowed, "{}", d.reason);
        assert!(d.reason.contains("no longer tracks"), "{}", d.reason);
    }

    #[test]
    fn vulnerability_exceptions_are_exact_and_docker_hub_names_compare_in_full() {
        let f = facts(vec![finding("CVE-2024-12345", "CRITICAL", "YES", false)]);
        let except = |repository: Option<&str>, vulnerability: Option<&str>| Policy {
            exceptions: vec![Exception {
                repository: repository.map(str::to_owned),
                vulnerability: vulnerability.map(str::to_owned),
                expires: None,
                reason: "x".into(),
            }],
            ..Policy::default()
        };
        let p = except(None, Some("CVE-2024-1234"));
        assert!(
            !decide(&p, &image(), &f, now()).allowed,
            "CVE-2024-1234 is not CVE-2024-12345"
        );
        let docker = ImageRef::parse(&format!("nginx@sha256:{}", "c".repeat(64)));
        let hub = except(Some("docker.io/library/*"), None);
        assert!(decide(&hub, &docker, &f, now()).allowed);
        // An exception in Docker's short form covers the reference in full,
        // and the other way round; another registry's name does not.
        let digest = "c".repeat(64);
        for (pattern, reference, covered) in [
            ("nginx", "docker.io/library/nginx", true),
            ("nginx", "library/nginx", true),
            ("nginx", "nginx", true),
            ("team/*", "docker.io/team/app", true),
            ("docker.io/team/*", "team/app", true),
            ("nginx", "ghcr.io/nginx", false),
            ("nginx", "docker.io/library/nginx-extra", false),
            ("team/*", "registry.local:5000/team/app", false),
            (
                "registry.local:5000/team/*",
                "registry.local:5000/team/app",
                true,
            ),
        ] {
            let image = ImageRef::parse(&format!("{reference}@sha256:{digest}"));
            assert_eq!(
                decide(&except(Some(pattern), None), &image, &f, now()).allowed,
                covered,
                "{pattern} for {reference}"
            );
        }
    }

    #[test]
    fn severity_kev_and_fixable_rules() {
        let p = Policy::default();
        let f = facts(vec![finding("CVE-1", "HIGH", "YES", false)]);
        assert!(
            decide(&p, &image(), &f, now()).allowed,
            "HIGH is under CRITICAL"
        );
        let f = facts(vec![
            finding("CVE-2", "CRITICAL", "NO", false),
            finding("CVE-3", "LOW", "NO", true),
        ]);
        let d = decide(&p, &image(), &f, now());
        assert!(!d.allowed);
        assert_eq!(
            d.violations.len(),
            2,
            "CRITICAL, and LOW but known exploited"
        );
        assert!(d.reason.starts_with("2 findings break the policy: CVE-2 (CRITICAL, pkg 1.0 (no fix yet)); CVE-3 (LOW, known exploited"), "{}", d.reason);
        let fixable = Policy {
            fixable_only: true,
            ..Policy::default()
        };
        assert!(
            decide(&fixable, &image(), &f, now()).allowed,
            "neither has a fix"
        );
        let high = Policy {
            severity: "HIGH".into(),
            kev: false,
            ..Policy::default()
        };
        let d = decide(
            &high,
            &image(),
            &facts(vec![finding("CVE-1", "HIGH", "YES", false)]),
            now(),
        );
        assert_eq!(d.violations.len(), 1);
    }

    #[test]
    fn exceptions_apply_until_they_expire() {
        let f = facts(vec![finding("CVE-2", "CRITICAL", "YES", false)]);
        let by_alias = Policy {
            exceptions: vec![Exception {
                repository: None,
                vulnerability: Some("GHSA-CVE-2".into()),
                expires: None,
                reason: "not reachable".into(),
            }],
            ..Policy::default()
        };
        assert!(decide(&by_alias, &image(), &f, now()).allowed);
        let repo = |expires: &str| Policy {
            exceptions: vec![Exception {
                repository: Some("registry.example:5000/team/*".into()),
                vulnerability: None,
                expires: Some(expires.parse().unwrap()),
                reason: "migration".into(),
            }],
            ..Policy::default()
        };
        assert!(decide(&repo("2027-01-01T00:00:00Z"), &image(), &f, now()).allowed);
        assert!(
            !decide(&repo("2026-12-01T00:00:00Z"), &image(), &f, now()).allowed,
            "expired"
        );
        let other = ImageRef::parse(&format!(
            "registry.example:5000/other/app@sha256:{}",
            "b".repeat(64)
        ));
        assert!(!decide(&repo("2027-01-01T00:00:00Z"), &other, &f, now()).allowed);
    }

    #[test]
    fn unscanned_stale_and_tag_only_images() {
        let none = Facts::default();
        let deny = Policy::default();
        let d = decide(&deny, &image(), &none, now());
        assert!(
            !d.allowed && d.reason.contains("not scanned"),
            "{}",
            d.reason
        );
        let allow = Policy {
            unscanned: Unscanned::Allow,
            ..Policy::default()
        };
        assert!(decide(&allow, &image(), &none, now()).allowed);
        let tag = ImageRef::parse("registry.example:5000/team/app:1.0");
        let d = decide(&deny, &tag, &facts(vec![]), now());
        assert!(!d.allowed && d.reason.contains("no digest"), "{}", d.reason);
        let stale = Policy {
            max_scan_age_days: Some(3),
            ..Policy::default()
        };
        let d = decide(&stale, &image(), &facts(vec![]), now());
        assert!(
            !d.allowed && d.reason.contains("older than"),
            "{}",
            d.reason
        );
        let fresh = Policy {
            max_scan_age_days: Some(7),
            ..Policy::default()
        };
        assert!(decide(&fresh, &image(), &facts(vec![]), now()).allowed);
    }

    #[test]
    fn policies_are_checked() {
        assert!(Policy::parse(&json!({"severity": "SEVERE"})).is_err());
        assert!(Policy::parse(&json!({"unknown": 1})).is_err());
        assert!(Policy::parse(&json!({"exceptions": [{"reason": "x"}]})).is_err());
        assert!(
            Policy::parse(&json!({"exceptions": [{"vulnerability": "CVE-1", "reason": " "}]}))
                .is_err()
        );
        let p = Policy::parse(&json!({"severity": "HIGH", "unscanned": "allow"})).unwrap();
        assert_eq!(
            (p.severity.as_str(), p.unscanned, p.kev),
            ("HIGH", Unscanned::Allow, true)
        );
    }
}
