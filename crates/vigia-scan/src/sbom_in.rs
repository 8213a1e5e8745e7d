//! Reading CycloneDX (1.2–1.6) and SPDX 2.x JSON documents back into an
//! inventory, so that an SBOM made anywhere (Vigia, Syft, Trivy, cdxgen) can be
//! scanned.
//!
//! Packages come from their package URLs. OS packages keep their distro from the
//! purl's `distro` qualifier (`debian-12`, `debian-12.15`, `alpine-3.18.9`) and
//! their source package from, in order: Vigia's properties or annotations,
//! Syft's `upstream` qualifier, Trivy's `SrcName`/`SrcVersion` properties, and
//! Syft's `syft:metadata:source` properties.

use std::str::FromStr;

use packageurl::PackageUrl;
use serde_json::Value;
use vigia_inventory::{Inventory, OsInfo, Package, ScanStatus, Unread, Warning};

/// A document that is not an SBOM Vigia can read.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct Error {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

/// Reads a CycloneDX or SPDX JSON document; `file` names it in messages.
pub fn read(file: &str, text: &str) -> Result<Inventory, Error> {
    let doc: Value = serde_json::from_str(text).map_err(|e| Error {
        file: file.to_owned(),
        reason: format!("not valid JSON: {e}"),
    })?;
    let mut inv = Inventory {
        target: file.to_owned(),
        kind: "sbom".into(),
        ..Default::default()
    };
    let mut entries: Vec<Entry> = Vec::new();
    // What could not be read, and how many components name no package.
    let mut unread: Vec<String> = Vec::new();
    let mut no_purl = 0usize;
    if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        if let Some(name) = doc
            .pointer("/metadata/component/name")
            .and_then(Value::as_str)
        {
            name.clone_into(&mut inv.target);
        }
        if doc
            .pointer("/metadata/component/type")
            .and_then(Value::as_str)
            == Some("container")
        {
            inv.kind = "image".into();
        }
        let mut stack: Vec<&Value> = match doc.get("components") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.iter().collect(),
            Some(_) => {
                unread.push("`components` is not a list: no component was read".to_owned());
                Vec::new()
            }
        };
        while let Some(c) = stack.pop() {
            match c.get("components") {
                None | Some(Value::Null) => {}
                Some(Value::Array(children)) => stack.extend(children.iter()),
                Some(_) => unread.push(format!(
                    "the `components` of {} is not a list: they were not read",
                    c.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("a component")
                )),
            }
            if c.get("type").and_then(Value::as_str) == Some("operating-system") {
                inv.os = Some(os_from(
                    c.get("name").and_then(Value::as_str).unwrap_or_default(),
                    c.get("version").and_then(Value::as_str).unwrap_or_default(),
                ));
                continue;
            }
            let Some(purl) = c.get("purl").and_then(Value::as_str) else {
                let kind = c.get("type").and_then(Value::as_str).unwrap_or("library");
                if !matches!(
                    kind,
                    "file" | "data" | "container" | "machine-learning-model"
                ) {
                    no_purl += 1;
                }
                continue;
            };
            let props: Vec<(String, String)> = c
                .get("properties")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|p| {
                            Some((
                                p.get("name")?.as_str()?.to_owned(),
                                p.get("value")?.as_str()?.to_owned(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            entries.push(Entry {
                purl: purl.to_owned(),
                props,
            });
        }
    } else if doc
        .get("spdxVersion")
        .and_then(Value::as_str)
        .is_some_and(|v| v.starts_with("SPDX-2"))
    {
        if let Some(name) = doc.get("name").and_then(Value::as_str) {
            name.clone_into(&mut inv.target);
        }
        // What the document describes (its subject: the image, folder or
        // function scanned), by `documentDescribes` or a DESCRIBES
        // relationship: without a purl it is no component left unmatched.
        let mut described: Vec<&str> = doc
            .get("documentDescribes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        described.extend(
            doc.get("relationships")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|r| {
                    r.get("relationshipType").and_then(Value::as_str) == Some("DESCRIBES")
                        && r.get("spdxElementId").and_then(Value::as_str)
                            == Some("SPDXRef-DOCUMENT")
                })
                .filter_map(|r| r.get("relatedSpdxElement").and_then(Value::as_str)),
        );
        for p in doc
            .get("packages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if p.get("primaryPackagePurpose").and_then(Value::as_str) == Some("CONTAINER") {
                inv.kind = "image".into();
            }
            let Some(purl) = p
                .get("externalRefs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|r| r.get("referenceType").and_then(Value::as_str) == Some("purl"))
                .and_then(|r| r.get("referenceLocator"))
                .and_then(Value::as_str)
            else {
                let purpose = p.get("primaryPackagePurpose").and_then(Value::as_str);
                let subject = p
                    .get("SPDXID")
                    .and_then(Value::as_str)
                    .is_some_and(|id| described.contains(&id));
                if !subject
                    && !matches!(
                        purpose,
                        Some("CONTAINER" | "FILE" | "OPERATING-SYSTEM" | "SOURCE" | "ARCHIVE")
                    )
                {
                    no_purl += 1;
                }
                continue;
            };
            let mut props = Vec::new();
            for a in p
                .get("annotations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some((k, v)) = a
                    .get("comment")
                    .and_then(Value::as_str)
                    .and_then(|c| c.split_once('='))
                {
                    props.push((k.trim().to_owned(), v.trim().to_owned()));
                }
            }
            entries.push(Entry {
                purl: purl.to_owned(),
                props,
            });
        }
    } else {
        return Err(Error {
            file: file.to_owned(),
            reason: "neither a CycloneDX (bomFormat) nor an SPDX 2.x (spdxVersion) JSON document"
                .into(),
        });
    }
    let mut warnings: Vec<Warning> = unread
        .into_iter()
        .map(|message| Warning {
            path: file.to_owned(),
            line: None,
            message,
            unread: Some(Unread::Inventory),
        })
        .collect();
    if no_purl > 0 {
        // A component without a package URL names no package Vigia can
        // match: what it holds is unknown, not clean.
        warnings.push(Warning {
            path: file.to_owned(),
            line: None,
            message: format!(
                "{no_purl} components have no package URL (purl): they were not matched"
            ),
            unread: Some(Unread::Inventory),
        });
    }
    for e in entries {
        match package_from(&e, &mut inv.os) {
            Ok(Some(p)) => inv.packages.push(p),
            Ok(None) => {}
            Err(Skipped { reason, unread }) => warnings.push(Warning {
                path: file.to_owned(),
                line: None,
                message: format!("{}: {reason}", e.purl),
                unread,
            }),
        }
    }
    inv.packages.sort();
    inv.packages.dedup();
    inv.status = ScanStatus {
        extractors: vec![("sbom".into(), inv.packages.len())],
        warnings,
        skipped: Vec::new(),
    };
    Ok(inv)
}

struct Entry {
    purl: String,
    props: Vec<(String, String)>,
}

impl Entry {
    fn prop(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|n| {
            self.props
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        })
    }
}

fn os_from(id: &str, version: &str) -> OsInfo {
    let mut os = OsInfo {
        id: id.to_ascii_lowercase(),
        version_id: version.to_owned(),
        pretty_name: Some(format!("{id} {version} (from the SBOM)")),
        ..Default::default()
    };
    vigia_inventory::extract::classify_os(&mut os);
    os
}

/// Whether two OS releases are one for matching: the same distribution and,
/// where Vigia has its advisories, the same release's.
fn same_release(a: &OsInfo, b: &OsInfo) -> bool {
    a.id == b.id
        && match (&a.osv_ecosystem, &b.osv_ecosystem) {
            (Some(x), Some(y)) => x == y,
            _ => a.version_id == b.version_id,
        }
}

/// Splits a `distro` qualifier (`debian-12`, `alpine-3.18.9`, `ubuntu-22.04`).
/// The OS release a `distro` qualifier names: `alpine-3.18.9`,
/// `opensuse-leap-15.5` (the ID, then the version from the first `-` before
/// a digit), or a bare version (`3.18.9`, as Trivy writes it) of the
/// distribution the purl's namespace names.
fn distro(q: &str, namespace: Option<&str>) -> Option<(String, String)> {
    if q.starts_with(|c: char| c.is_ascii_digit()) {
        return Some((namespace?.to_ascii_lowercase(), q.to_owned()));
    }
    let at = q
        .char_indices()
        .find(|&(i, c)| c == '-' && q[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
        .map(|(i, _)| i)?;
    Some((q[..at].to_owned(), q[at + 1..].to_owned()))
}

/// A component left out of the inventory, and whether what it holds is
/// unknown (the scan then says so) rather than nothing to match.
struct Skipped {
    reason: String,
    unread: Option<Unread>,
}

impl From<String> for Skipped {
    fn from(reason: String) -> Self {
        Self {
            reason,
            unread: None,
        }
    }
}

fn package_from(e: &Entry, os: &mut Option<OsInfo>) -> Result<Option<Package>, Skipped> {
    let purl = PackageUrl::from_str(&e.purl).map_err(|err| format!("not a package URL: {err}"))?;
    let Some(version) = purl.version() else {
        return Err(String::from("no version").into());
    };
    let ty = purl.ty();
    let name = match (ty, purl.namespace()) {
        ("maven", Some(ns)) => format!("{ns}:{}", purl.name()),
        ("deb" | "apk" | "rpm" | "alpm", _) | (_, None) => purl.name().to_owned(),
        (_, Some(ns)) => format!("{ns}/{}", purl.name()),
    };
    let qualifier = |k: &str| {
        purl.qualifiers()
            .iter()
            .find(|(key, _)| key.as_ref() == k)
            .map(|(_, v)| v.to_string())
    };
    let mut pkg = Package::new(
        ty,
        &name,
        version,
        e.purl.clone(),
        &e.prop(&["vigia:package:path", "syft:location:0:path"])
            .unwrap_or_else(|| "(sbom)".into()),
        "sbom",
    );
    pkg.layer = e.prop(&["vigia:layer:diff-id", "aquasecurity:trivy:LayerDiffID"]);
    if matches!(ty, "deb" | "apk" | "rpm") {
        pkg.arch = qualifier("arch");
        if let Some((id, v)) = qualifier("distro")
            .as_deref()
            .and_then(|d| distro(d, purl.namespace()))
        {
            let named = os_from(&id, &v);
            match os {
                None => *os = Some(named),
                // One inventory holds one OS release: a package of another
                // is said not matched, never matched to the wrong
                // distribution's advisories.
                Some(held) if !same_release(held, &named) => {
                    return Err(Skipped {
                        reason: format!(
                            "of {id} {v}, where the SBOM's OS packages are {} {}'s: not matched (scan an SBOM of each OS release on its own)",
                            held.id, held.version_id
                        ),
                        unread: Some(Unread::Inventory),
                    });
                }
                Some(_) => {}
            }
        }
        let upstream = qualifier("upstream");
        let (up_name, up_version) = match upstream.as_deref().map(|u| u.split_once('@')) {
            Some(Some((n, v))) => (Some(n.to_owned()), Some(v.to_owned())),
            Some(None) => (upstream.clone(), None),
            None => (None, None),
        };
        pkg.source_name = e
            .prop(&["vigia:package:source-name"])
            .or(up_name)
            .or_else(|| e.prop(&["aquasecurity:trivy:SrcName", "syft:metadata:source"]));
        pkg.source_version = e
            .prop(&["vigia:package:source-version"])
            .or(up_version)
            .or_else(|| {
                e.prop(&[
                    "aquasecurity:trivy:SrcVersion",
                    "syft:metadata:sourceVersion",
                ])
                .map(|v| match e.prop(&["aquasecurity:trivy:SrcRelease"]) {
                    Some(r) => format!("{v}-{r}"),
                    None => v,
                })
            });
        if pkg.source_version.as_deref() == Some(version) {
            pkg.source_version = None;
        }
    }
    Ok(Some(pkg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_distro_qualifier_names_its_release_in_either_style() {
        let d = |q, ns| distro(q, ns).map(|(id, v)| format!("{id} {v}"));
        assert_eq!(d("alpine-3.18.9", None).as_deref(), Some("alpine 3.18.9"));
        assert_eq!(d("debian-12", Some("debian")).as_deref(), Some("debian 12"));
        // Trivy writes the version alone: the namespace names the OS.
        assert_eq!(
            d("3.18.9", Some("alpine")).as_deref(),
            Some("alpine 3.18.9")
        );
        assert_eq!(d("3.18.9", None), None);
        // An ID with a dash of its own.
        assert_eq!(
            d("opensuse-leap-15.5", Some("opensuse")).as_deref(),
            Some("opensuse-leap 15.5")
        );
        // An apk SBOM written Trivy's way is matched as Alpine's.
        let doc = r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
          {"type":"library","name":"musl","purl":"pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=3.18.9"}]}"#;
        let inv = read("x.cdx.json", doc).unwrap();
        let os = inv.os.as_ref().unwrap();
        assert_eq!(os.osv_ecosystem.as_deref(), Some("Alpine:v3.18"));
    }

    #[test]
    fn packages_of_another_os_release_are_named_not_matched_to_the_wrong_one() {
        let apk = r#"{"type":"library","name":"busybox","purl":"pkg:apk/alpine/busybox@1.36.1-r29?arch=x86_64&distro=3.22.1"}"#;
        let deb = r#"{"type":"library","name":"libssl3","purl":"pkg:deb/debian/libssl3@3.0.11-1~deb12u1?arch=amd64&upstream=openssl&distro=debian-12"}"#;
        let deb11 = r#"{"type":"library","name":"libc6","purl":"pkg:deb/debian/libc6@2.31-13?distro=debian-11"}"#;
        for (a, b) in [(apk, deb), (deb, apk), (deb, deb11)] {
            let doc = format!(
                r#"{{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{a},{b}]}}"#
            );
            let inv = read("mixed.cdx.json", &doc).unwrap();
            let os = inv.os.as_ref().unwrap();
            assert_eq!(inv.packages.len(), 1, "{doc}");
            let kept = &inv.packages[0];
            let left = &inv.status.warnings;
            assert_eq!(left.len(), 1, "{left:?}");
            assert_eq!(left[0].unread, Some(Unread::Inventory), "{left:?}");
            assert!(
                left[0].message.contains("not matched") && !left[0].message.contains(&kept.purl),
                "{left:?}"
            );
            // The package kept is of the release the inventory names.
            assert!(
                kept.purl.contains(&format!("distro={}", os.id))
                    || kept.purl.contains(&format!("distro={}", os.version_id)),
                "{} with {os:?}",
                kept.purl
            );
        }
        // Whatever the inventory's release, a package of another type is
        // never matched to its advisories.
        let debian = os_from("debian", "12");
        let mut busybox = Package::new(
            "apk",
            "busybox",
            "1.36.1-r29",
            String::new(),
            "(sbom)",
            "sbom",
        );
        busybox.arch = None;
        let said = crate::ecosystem::ecosystem_of(&busybox, Some(&debian)).unwrap_err();
        assert!(
            said.contains("apk package") && said.contains("Debian:12"),
            "{said}"
        );
        let libc = Package::new("deb", "libc6", "2.36-9", String::new(), "(sbom)", "sbom");
        assert_eq!(
            crate::ecosystem::ecosystem_of(&libc, Some(&debian)).as_deref(),
            Ok("Debian:12")
        );
    }

    #[test]
    fn cyclonedx_keeps_distro_and_source_packages() {
        let doc = r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
          {"type":"library","name":"libc6","version":"2.36-9+deb12u3","purl":"pkg:deb/debian/libc6@2.36-9%2Bdeb12u3?arch=amd64&distro=debian-12.15&upstream=glibc"},
          {"type":"library","name":"libssl3","purl":"pkg:deb/debian/libssl3@3.0.11-1~deb12u2?distro=debian-12","properties":[{"name":"aquasecurity:trivy:SrcName","value":"openssl"}]},
          {"type":"library","name":"scoped","purl":"pkg:npm/%40types/node@20.1.0"},
          {"type":"library","name":"jar","purl":"pkg:maven/org.apache/commons-text@1.9"},
          {"type":"library","name":"bad","purl":"nonsense"}]}"#;
        let inv = read("x.cdx.json", doc).unwrap();
        let os = inv.os.as_ref().unwrap();
        assert_eq!(os.osv_ecosystem.as_deref(), Some("Debian:12"));
        let libc = inv.packages.iter().find(|p| p.name == "libc6").unwrap();
        assert_eq!(libc.source_name.as_deref(), Some("glibc"));
        assert_eq!(libc.version, "2.36-9+deb12u3");
        let ssl = inv.packages.iter().find(|p| p.name == "libssl3").unwrap();
        assert_eq!(ssl.source_name.as_deref(), Some("openssl"));
        assert!(inv.packages.iter().any(|p| p.name == "@types/node"));
        assert!(
            inv.packages
                .iter()
                .any(|p| p.name == "org.apache:commons-text")
        );
        assert_eq!(inv.status.warnings.len(), 1);
        assert!(inv.status.warnings[0].message.contains("nonsense"));
    }

    #[test]
    fn other_documents_are_refused_by_name() {
        let e = read("notes.json", r#"{"hello":1}"#)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("notes.json:") && e.contains("CycloneDX"));
        assert!(
            read("x", "{")
                .unwrap_err()
                .to_string()
                .contains("not valid JSON")
        );
    }
}
