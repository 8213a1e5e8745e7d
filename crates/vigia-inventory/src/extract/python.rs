//! Installed Python distributions: `*.dist-info/METADATA` and `*.egg-info/PKG-INFO`.

use super::{Ctx, Extractor, Found, headers, purl};
use crate::{Package, Warning};

pub(super) struct DistInfo;

/// PEP 503 normalised name, as the `pypi` purl type wants it.
fn normalize(name: &str) -> String {
    vigia_model::normalize_name("PyPI", name)
}

impl Extractor for DistInfo {
    fn name(&self) -> &'static str {
        "python/dist-info"
    }
    fn version(&self) -> u32 {
        3
    }
    fn wants(&self, path: &str) -> bool {
        let Some((dir, file)) = path.rsplit_once('/') else {
            return false;
        };
        (file == "METADATA" && dir.ends_with(".dist-info"))
            || (file == "PKG-INFO" && dir.ends_with(".egg-info"))
            // A single-file `.egg-info` (distutils installs): PKG-INFO itself.
            || (file.ends_with(".egg-info") && file.len() > ".egg-info".len())
            // An egg folder (`easy_install`): `foo-1.0-py3.8.egg/EGG-INFO/PKG-INFO`.
            || (file == "PKG-INFO"
                && dir
                    .strip_suffix("/EGG-INFO")
                    .and_then(|egg| std::path::Path::new(egg).extension())
                    .is_some_and(|e| e.eq_ignore_ascii_case("egg")))
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let text = String::from_utf8_lossy(data);
        // The headers end at the first blank line; the rest is the description.
        let head = text.split("\n\n").next().unwrap_or_default();
        let fields = headers(head);
        let get = |k: &str| {
            fields
                .iter()
                .find(|(f, _, _)| f.eq_ignore_ascii_case(k))
                .map(|(_, v, _)| v.clone())
        };
        let mut found = Found::default();
        match (get("Name"), get("Version")) {
            (Some(name), Some(version)) if !name.is_empty() && !version.is_empty() => {
                found.packages.push(Package {
                    kind: "pypi".into(),
                    purl: purl("pypi", None, &normalize(&name), &version, &[]),
                    name,
                    version,
                    path: path.to_owned(),
                    layer: None,
                    source_name: None,
                    source_version: None,
                    arch: None,
                    license: get("License-Expression")
                        .or_else(|| get("License"))
                        .filter(|l| !l.is_empty() && l != "UNKNOWN" && !l.contains('\n')),
                    found_by: self.name().into(),
                    declared: false,
                    dev: false,
                    evidence: None,
                    install_dir: None,
                });
            }
            _ => found.warnings.push(Warning {
                path: path.to_owned(),
                line: Some(1),
                message: "no Name or Version header; skipped".into(),
                unread: None,
            }),
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_installed_metadata() {
        for path in [
            "/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
            "/usr/lib/python3/dist-packages/six-1.16.0.egg-info/PKG-INFO",
            "/usr/lib/python3/dist-packages/six-1.16.0.egg-info",
            "/usr/lib/python3.8/site-packages/foo-1.0-py3.8.egg/EGG-INFO/PKG-INFO",
        ] {
            assert!(DistInfo.wants(path), "{path}");
        }
        for path in [
            "/srv/app/EGG-INFO/PKG-INFO",
            "/srv/.egg-info",
            "/srv/PKG-INFO",
        ] {
            assert!(!DistInfo.wants(path), "{path}");
        }
    }
}
