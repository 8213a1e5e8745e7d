//! Suppression: `.vigiaignore` files and OpenVEX documents.
//!
//! A suppressed finding stays in the report with status `SUPPRESSED` and the
//! rule that suppressed it, so that nothing disappears silently; it does not
//! count towards `--fail-on`.
//!
//! `.vigiaignore` is YAML, a list of entries (or a mapping with an `ignore:`
//! list). Each entry names a vulnerability (`id`, any alias), a package
//! (`purl`; without a version it means every version), a secret (`sha256` of
//! the value), or several of them (all must match); `reason` is required;
//! `expires` (YYYY-MM-DD) is optional, and an expired entry stops suppressing
//! and is reported as such.
//!
//! ```yaml
//! - id: CVE-2023-32681
//!   reason: requests is only used against our own API
//!   expires: 2027-03-31
//! - purl: pkg:npm/lodash
//!   reason: lodash is only used at build time
//! ```

use std::path::Path;

use std::str::FromStr;

use packageurl::PackageUrl;
use serde_json::Value;
use yaml_rust2::Yaml;

use crate::{Finding, FindingStatus, Suppression};

/// A bad suppression file.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct Error {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

fn err(file: &str, reason: impl Into<String>) -> Error {
    Error {
        file: file.to_owned(),
        reason: reason.into(),
    }
}

/// One `.vigiaignore` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreEntry {
    /// Position in the file (1-based), for messages.
    pub number: usize,
    /// A vulnerability ID (any alias) or rule ID.
    pub id: Option<String>,
    /// A package URL, with or without a version.
    pub purl: Option<String>,
    /// SHA-256 of a secret's value.
    pub sha256: Option<String>,
    /// Why.
    pub reason: String,
    /// Last day it applies (inclusive), `YYYY-MM-DD`.
    pub expires: Option<jiff::civil::Date>,
}

/// A parsed `.vigiaignore`.
#[derive(Debug, Clone, Default)]
pub struct IgnoreFile {
    /// Where it was read from.
    pub file: String,
    /// Its entries.
    pub entries: Vec<IgnoreEntry>,
}

fn yaml_str(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Real(r) => Some(r.clone()),
        _ => None,
    }
}

impl IgnoreFile {
    /// Reads a `.vigiaignore` file.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let name = path.display().to_string();
        let text =
            fs_err::read_to_string(path).map_err(|e| err(&name, format!("cannot read: {e}")))?;
        Self::parse(&name, &text)
    }

    /// Parses `.vigiaignore` text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, Error> {
        let docs = vigia_inventory::yaml::load(text).map_err(|e| {
            let at = e.line.map(|l| format!("line {l}: ")).unwrap_or_default();
            err(file, format!("{at}{}", e.message))
        })?;
        let mut out = Self {
            file: file.to_owned(),
            entries: Vec::new(),
        };
        let Some(doc) = docs.into_iter().next() else {
            return Ok(out);
        };
        let list = match &doc {
            Yaml::Array(a) => a.clone(),
            Yaml::Hash(h) => match h.get(&Yaml::String("ignore".into())) {
                Some(Yaml::Array(a)) => a.clone(),
                Some(Yaml::Null) => Vec::new(),
                Some(_) => return Err(err(file, "`ignore` must be a list of entries")),
                None => {
                    return Err(err(
                        file,
                        "expected a list of entries (or `ignore:` with one), each with id, purl or sha256, and a reason",
                    ));
                }
            },
            Yaml::Null => Vec::new(),
            _ => {
                return Err(err(
                    file,
                    "expected a list of entries (id, purl or sha256, with a reason)",
                ));
            }
        };
        for (i, item) in list.iter().enumerate() {
            let number = i + 1;
            let Yaml::Hash(h) = item else {
                return Err(err(file, format!("entry {number} is not a mapping")));
            };
            let get = |k: &str| h.get(&Yaml::String(k.into())).and_then(yaml_str);
            for key in h.keys() {
                let k = yaml_str(key).unwrap_or_default();
                if !matches!(k.as_str(), "id" | "purl" | "sha256" | "reason" | "expires") {
                    return Err(err(
                        file,
                        format!(
                            "entry {number}: unknown key `{k}` (expected id, purl, sha256, reason, expires)"
                        ),
                    ));
                }
            }
            let entry = IgnoreEntry {
                number,
                id: get("id").map(|s| s.trim().to_owned()),
                purl: get("purl").map(|s| s.trim().to_owned()),
                sha256: get("sha256").map(|s| s.trim().to_ascii_lowercase()),
                reason: get("reason").unwrap_or_default().trim().to_owned(),
                expires: match get("expires") {
                    Some(d) => Some(d.trim().parse().map_err(|e| {
                        err(
                            file,
                            format!("entry {number}: `expires: {d}` is not a YYYY-MM-DD date: {e}"),
                        )
                    })?),
                    None => None,
                },
            };
            if entry.id.is_none() && entry.purl.is_none() && entry.sha256.is_none() {
                return Err(err(
                    file,
                    format!("entry {number} names nothing: give id, purl or sha256"),
                ));
            }
            if entry.reason.is_empty() {
                return Err(err(
                    file,
                    format!("entry {number} has no reason: every suppression says why"),
                ));
            }
            if let Some(p) = &entry.purl {
                PackageUrl::from_str(p).map_err(|e| {
                    err(
                        file,
                        format!("entry {number}: `{p}` is not a package URL: {e}"),
                    )
                })?;
            }
            out.entries.push(entry);
        }
        Ok(out)
    }
}

/// Whether `rule` (a purl, maybe without version) names `pkg` (a full purl).
/// Qualifiers are ignored; names compare case-insensitively for PyPI, npm and
/// Debian-style types, where case carries no meaning.
#[must_use]
pub fn purl_matches(rule: &str, pkg: &str) -> bool {
    let (Ok(r), Ok(p)) = (PackageUrl::from_str(rule), PackageUrl::from_str(pkg)) else {
        return false;
    };
    let fold = |t: &str, s: &str| -> String {
        if matches!(t, "pypi") {
            s.to_ascii_lowercase().replace(['_', '.'], "-")
        } else if matches!(t, "npm" | "deb" | "apk" | "gem" | "cargo") {
            s.to_ascii_lowercase()
        } else {
            s.to_owned()
        }
    };
    let t = r.ty();
    t == p.ty()
        && fold(t, r.namespace().unwrap_or_default()) == fold(t, p.namespace().unwrap_or_default())
        && fold(t, r.name()) == fold(t, p.name())
        && r.version().is_none_or(|v| Some(v) == p.version())
}

fn finding_ids(f: &Finding) -> Vec<&str> {
    let mut ids: Vec<&str> = f.vigia.alias_group.iter().map(String::as_str).collect();
    if let Some(d) = &f.package_vulnerability_details {
        ids.push(&d.vulnerability_id);
    }
    if let Some(c) = &f.code_vulnerability_details {
        ids.push(&c.detector_id);
        if let Some(r) = &c.rule_id {
            ids.push(r);
        }
    }
    ids
}

fn finding_sha256(f: &Finding) -> Option<&str> {
    f.vigia.secret.as_ref()?.get("sha256")?.as_str()
}

fn entry_matches(e: &IgnoreEntry, f: &Finding) -> bool {
    if let Some(id) = &e.id
        && !finding_ids(f).iter().any(|x| x.eq_ignore_ascii_case(id))
    {
        return false;
    }
    if let Some(p) = &e.purl
        && !f.purls().any(|q| purl_matches(p, q))
    {
        return false;
    }
    if let Some(h) = &e.sha256
        && finding_sha256(f) != Some(h.as_str())
    {
        return false;
    }
    true
}

/// One OpenVEX statement, flattened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexStatement {
    /// Vulnerability name and aliases.
    pub vulnerabilities: Vec<String>,
    /// The products it is about.
    pub products: Vec<VexProduct>,
    /// `not_affected`, `affected`, `fixed`, `under_investigation`.
    pub status: String,
    /// Justification or impact statement.
    pub justification: String,
    /// Timestamp, for ordering.
    pub timestamp: String,
}

/// One product of a VEX statement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VexProduct {
    /// The product's IDs (purls or other IRIs).
    pub ids: Vec<String>,
    /// Its subcomponents' IDs: when any are named, the statement is about
    /// them inside this product only.
    pub subcomponents: Vec<String>,
}

/// A parsed OpenVEX document.
#[derive(Debug, Clone, Default)]
pub struct Vex {
    /// Where it was read from.
    pub file: String,
    /// Statements, oldest first.
    pub statements: Vec<VexStatement>,
}

fn ids_of(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Object(o) => {
            let mut out = Vec::new();
            for k in ["@id", "name"] {
                if let Some(s) = o.get(k).and_then(Value::as_str) {
                    out.push(s.to_owned());
                }
            }
            if let Some(a) = o.get("aliases").and_then(Value::as_array) {
                out.extend(a.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            if let Some(ids) = o.get("identifiers").and_then(Value::as_object) {
                out.extend(ids.values().filter_map(Value::as_str).map(str::to_owned));
            }
            out
        }
        _ => Vec::new(),
    }
}

impl Vex {
    /// Reads an OpenVEX JSON document.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let name = path.display().to_string();
        let text =
            fs_err::read_to_string(path).map_err(|e| err(&name, format!("cannot read: {e}")))?;
        Self::parse(&name, &text)
    }

    /// Parses OpenVEX (v0.0.1 and v0.2.0 shapes).
    pub fn parse(file: &str, text: &str) -> Result<Self, Error> {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| err(file, format!("not valid JSON: {e}")))?;
        let Some(statements) = doc.get("statements").and_then(Value::as_array) else {
            return Err(err(file, "not an OpenVEX document: no `statements` list"));
        };
        let doc_time = doc
            .get("timestamp")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut out = Self {
            file: file.to_owned(),
            statements: Vec::new(),
        };
        for (i, s) in statements.iter().enumerate() {
            let n = i + 1;
            let vulnerabilities = s.get("vulnerability").map(ids_of).unwrap_or_default();
            if vulnerabilities.is_empty() {
                return Err(err(file, format!("statement {n} names no vulnerability")));
            }
            // Subcomponents are a product's (v0.2.0) or every product's
            // of the statement (v0.0.1).
            let subs_of = |v: &Value| -> Vec<String> {
                v.get("subcomponents")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().flat_map(ids_of).collect())
                    .unwrap_or_default()
            };
            let shared = subs_of(s);
            let products: Vec<VexProduct> = s
                .get("products")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|p| {
                            let mut subcomponents = subs_of(p);
                            subcomponents.extend(shared.iter().cloned());
                            VexProduct {
                                ids: ids_of(p),
                                subcomponents,
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            let status = s
                .get("status")
                .and_then(Value::as_str)
                .ok_or_else(|| err(file, format!("statement {n} has no status")))?
                .to_owned();
            if !matches!(
                status.as_str(),
                "not_affected" | "affected" | "fixed" | "under_investigation"
            ) {
                return Err(err(
                    file,
                    format!("statement {n}: unknown status `{status}`"),
                ));
            }
            let justification = [
                "justification",
                "impact_statement",
                "status_notes",
                "action_statement",
            ]
            .iter()
            .filter_map(|k| s.get(*k).and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(": ");
            out.statements.push(VexStatement {
                vulnerabilities,
                products,
                status,
                justification,
                timestamp: s
                    .get("timestamp")
                    .and_then(Value::as_str)
                    .unwrap_or(doc_time)
                    .to_owned(),
            });
        }
        out.statements.sort_by(|a, b| a.timestamp.cmp(&b.timestamp));
        Ok(out)
    }
}

/// Whether a statement's products cover the finding: a product purl names one
/// of its packages, or the product is the resource itself (its ID, or an
/// `pkg:oci` purl of its repository and digest). A product with
/// subcomponents covers only the findings of those packages, and only in
/// that product: a statement about a package inside another image says
/// nothing about this one.
fn vex_applies(s: &VexStatement, f: &Finding) -> bool {
    let ids = finding_ids(f);
    if !s
        .vulnerabilities
        .iter()
        .any(|v| ids.iter().any(|x| x.eq_ignore_ascii_case(v)))
    {
        return false;
    }
    let names_package = |p: &String| f.purls().any(|q| purl_matches(p, q));
    s.products.iter().any(|p| {
        let is_resource = p.ids.iter().any(|id| is_the_resource(id, f));
        if p.subcomponents.is_empty() {
            is_resource || p.ids.iter().any(names_package)
        } else {
            is_resource && p.subcomponents.iter().any(names_package)
        }
    })
}

/// Whether a VEX product ID names the finding's resource: its ID, or a
/// `pkg:oci` purl of its repository (and digest, when the purl has one).
fn is_the_resource(p: &str, f: &Finding) -> bool {
    f.resources.iter().any(|r| {
        if p == r.id {
            return true;
        }
        let Some(img) = &r.details.aws_ecr_container_image else {
            return false;
        };
        let Ok(purl) = PackageUrl::from_str(p) else {
            return false;
        };
        purl.ty() == "oci"
            && img
                .repository_name
                .rsplit('/')
                .next()
                .is_some_and(|n| n.eq_ignore_ascii_case(purl.name()))
            && purl.version().is_none_or(|v| v == img.image_hash)
    })
}

/// Marks findings suppressed by the ignore file and VEX documents. Returns
/// notes on expired entries. `today` decides expiry.
pub fn apply(
    findings: &mut [Finding],
    ignore: Option<&IgnoreFile>,
    vex: &[Vex],
    today: jiff::civil::Date,
) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(ig) = ignore {
        for e in &ig.entries {
            if let Some(exp) = e.expires
                && exp < today
            {
                let what =
                    e.id.as_deref()
                        .or(e.purl.as_deref())
                        .or(e.sha256.as_deref())
                        .unwrap_or_default();
                notes.push(format!(
                    "{} entry {} ({what}) expired on {exp} and no longer suppresses anything",
                    ig.file, e.number
                ));
            }
        }
    }
    for f in findings.iter_mut() {
        let mut suppression = None;
        if let Some(ig) = ignore
            && let Some(e) = ig
                .entries
                .iter()
                .find(|e| e.expires.is_none_or(|exp| exp >= today) && entry_matches(e, f))
        {
            suppression = Some(Suppression {
                by: "vigiaignore".into(),
                file: ig.file.clone(),
                reason: e.reason.clone(),
                status: None,
                expires: e.expires.map(|d| d.to_string()),
            });
        }
        if suppression.is_none() {
            for doc in vex {
                for s in doc.statements.iter().filter(|s| vex_applies(s, f)) {
                    // The latest applicable statement decides.
                    suppression =
                        matches!(s.status.as_str(), "not_affected" | "fixed").then(|| {
                            Suppression {
                                by: "vex".into(),
                                file: doc.file.clone(),
                                reason: if s.justification.is_empty() {
                                    s.status.clone()
                                } else {
                                    s.justification.clone()
                                },
                                status: Some(s.status.clone()),
                                expires: None,
                            }
                        });
                }
            }
        }
        if let Some(s) = suppression {
            f.status = FindingStatus::Suppressed;
            f.vigia.suppression = Some(s);
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_match_by_name_and_optional_version() {
        let pkg = "pkg:pypi/urllib3@1.26.4";
        assert!(purl_matches("pkg:pypi/urllib3", pkg));
        assert!(purl_matches("pkg:pypi/URLLIB3@1.26.4", pkg));
        assert!(!purl_matches("pkg:pypi/urllib3@1.26.5", pkg));
        assert!(!purl_matches("pkg:npm/urllib3", pkg));
        assert!(purl_matches(
            "pkg:deb/debian/libc6",
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12"
        ));
        assert!(purl_matches(
            "pkg:npm/%40types/node@1.0.0",
            "pkg:npm/%40types/node@1.0.0"
        ));
        assert!(!purl_matches("not a purl", pkg));
    }

    #[test]
    fn ignore_files_are_strict_about_what_they_name() {
        let ok = IgnoreFile::parse(
            "x",
            "- id: CVE-2021-1\n  reason: r\n  expires: 2027-01-01\n- purl: pkg:npm/lodash\n  reason: build only\n",
        )
        .unwrap();
        assert_eq!(ok.entries.len(), 2);
        assert_eq!(ok.entries[0].expires.unwrap().to_string(), "2027-01-01");
        let ok2 =
            IgnoreFile::parse("x", "ignore:\n  - sha256: ABC\n    reason: test key\n").unwrap();
        assert_eq!(ok2.entries[0].sha256.as_deref(), Some("abc"));
        for (bad, says) in [
            ("- id: CVE-1\n", "no reason"),
            ("- reason: r\n", "names nothing"),
            (
                "- id: CVE-1\n  reason: r\n  expires: soon\n",
                "not a YYYY-MM-DD",
            ),
            (
                "- id: CVE-1\n  reason: r\n  until: 2027-01-01\n",
                "unknown key",
            ),
            ("- purl: lodash\n  reason: r\n", "not a package URL"),
            ("id: x\n", "expected a list"),
            ("- [a\n", "invalid YAML"),
        ] {
            let e = IgnoreFile::parse(".vigiaignore", bad)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(says) && e.starts_with(".vigiaignore"),
                "{bad:?} -> {e}"
            );
        }
    }

    #[test]
    fn vex_statements_parse_in_both_shapes() {
        let v2 = r#"{"@context":"https://openvex.dev/ns/v0.2.0","timestamp":"2026-01-01T00:00:00Z","statements":[
          {"vulnerability":{"name":"CVE-2021-1","aliases":["GHSA-x"]},"products":[{"@id":"pkg:oci/app","subcomponents":[{"@id":"pkg:pypi/urllib3"}]}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}"#;
        let v = Vex::parse("a.vex.json", v2).unwrap();
        assert_eq!(v.statements[0].vulnerabilities, ["CVE-2021-1", "GHSA-x"]);
        assert_eq!(
            v.statements[0].products,
            [VexProduct {
                ids: vec!["pkg:oci/app".into()],
                subcomponents: vec!["pkg:pypi/urllib3".into()]
            }]
        );
        let v1 = r#"{"statements":[{"vulnerability":"CVE-2021-1","products":["pkg:pypi/urllib3"],"status":"fixed"}]}"#;
        let v = Vex::parse("b", v1).unwrap();
        assert_eq!(v.statements[0].status, "fixed");
        assert!(
            Vex::parse(
                "c",
                r#"{"statements":[{"vulnerability":"CVE-1","status":"maybe"}]}"#
            )
            .unwrap_err()
            .to_string()
            .contains("unknown status")
        );
        assert!(
            Vex::parse("d", "{}")
                .unwrap_err()
                .to_string()
                .contains("no `statements`")
        );
    }
}
