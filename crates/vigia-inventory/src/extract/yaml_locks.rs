//! npm lockfiles in YAML: `pnpm-lock.yaml` (v5 to v9) and yarn berry's `yarn.lock`.

use std::collections::BTreeSet;

use yaml_rust2::Yaml;

use super::{Ctx, Extractor, Found};
use crate::{Package, Warning};

fn npm(name: &str, version: &str, path: &str, by: &str) -> Package {
    Package::new(
        "npm",
        name,
        version,
        super::npm_purl(name, version),
        path,
        by,
    )
}

fn load(path: &str, data: &[u8], found: &mut Found) -> Option<Yaml> {
    match crate::yaml::load(&String::from_utf8_lossy(data)) {
        Ok(mut docs) if !docs.is_empty() => Some(docs.swap_remove(0)),
        Ok(_) => None,
        Err(e) => {
            found.warnings.push(Warning {
                path: path.to_owned(),
                line: e.line,
                message: e.message,
                unread: Some(crate::Unread::Inventory),
            });
            None
        }
    }
}

/// A pnpm package key: `/lodash@4.17.21`, `/@babel/core@7.0.0(peer@1)`, `lodash@4.17.21` (v9)
/// or `/lodash/4.17.21` (v5).
fn pnpm_key(key: &str) -> Option<(String, String)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    let key = key.split('(').next().unwrap_or(key);
    // v5: `name/version[_peers]`, `@scope/name/version`.
    let segs: Vec<&str> = key.split('/').collect();
    let (v5_name, v5_version) = if key.starts_with('@') {
        (segs.get(..2).map(|s| s.join("/")), segs.get(2).copied())
    } else {
        (segs.first().map(|s| (*s).to_owned()), segs.get(1).copied())
    };
    let (name, version) = match (v5_name, v5_version) {
        (Some(n), Some(v))
            if v.starts_with(|c: char| c.is_ascii_digit())
                && !n.get(1..).unwrap_or_default().contains('@') =>
        {
            (n, v.split('_').next().unwrap_or(v).to_owned())
        }
        _ => {
            // v6+: `name@version`, `@scope/name@version`.
            let i = key.get(1..)?.rfind('@')? + 1;
            (key[..i].to_owned(), key[i + 1..].to_owned())
        }
    };
    (!name.is_empty() && version.starts_with(|c: char| c.is_ascii_digit()))
        .then_some((name, version))
}

pub(super) struct PnpmLock;

impl Extractor for PnpmLock {
    fn name(&self) -> &'static str {
        "javascript/pnpm-lock"
    }
    fn version(&self) -> u32 {
        2
    }
    fn wants(&self, path: &str) -> bool {
        path.ends_with("/pnpm-lock.yaml") && !path.contains("/node_modules/")
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let Some(doc) = load(path, data, &mut found) else {
            return found;
        };
        let mut seen = BTreeSet::new();
        if doc.as_hash().is_none() {
            super::malformed(
                &mut found,
                path,
                "not a pnpm lockfile: its top level is not a mapping",
            );
            return found;
        }
        if let Some(packages) = doc["packages"].as_hash() {
            for key in packages.keys().filter_map(Yaml::as_str) {
                if let Some((n, v)) = pnpm_key(key)
                    && seen.insert((n.clone(), v.clone()))
                {
                    found.packages.push(npm(&n, &v, path, self.name()));
                }
            }
        }
        found
    }
}

/// Yarn berry (v2+) lockfiles: YAML with a `__metadata` entry.
pub(super) fn yarn_berry(path: &str, data: &[u8], by: &str) -> Found {
    let mut found = Found::default();
    let Some(doc) = load(path, data, &mut found) else {
        return found;
    };
    let mut seen = BTreeSet::new();
    for (key, entry) in doc.as_hash().into_iter().flatten() {
        if key.as_str() == Some("__metadata") {
            continue;
        }
        let (Some(resolution), Some(version)) = (
            entry["resolution"].as_str(),
            entry["version"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| entry["version"].as_i64().map(|v| v.to_string())),
        ) else {
            continue;
        };
        // `lodash@npm:4.17.21`; the project and local links are not dependencies.
        let Some((name, protocol)) = resolution
            .get(1..)
            .and_then(|r| r.split_once('@'))
            .map(|(n, p)| (format!("{}{n}", &resolution[..1]), p))
        else {
            continue;
        };
        if !protocol.starts_with("npm:") {
            continue;
        }
        if seen.insert((name.clone(), version.clone())) {
            found.packages.push(npm(&name, &version, path, by));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pnpm_keys_of_every_version() {
        assert_eq!(
            pnpm_key("/lodash/4.17.21"),
            Some(("lodash".into(), "4.17.21".into()))
        );
        assert_eq!(
            pnpm_key("/lodash@4.17.21"),
            Some(("lodash".into(), "4.17.21".into()))
        );
        assert_eq!(
            pnpm_key("/@babel/core@7.0.0(supports-color@8.1.1)"),
            Some(("@babel/core".into(), "7.0.0".into()))
        );
        assert_eq!(
            pnpm_key("@types/node@20.1.0"),
            Some(("@types/node".into(), "20.1.0".into()))
        );
        assert_eq!(
            pnpm_key("/ws/8.0.0_bufferutil@4.0.0"),
            Some(("ws".into(), "8.0.0".into()))
        );
        assert_eq!(pnpm_key("link:../x"), None);
    }

    #[test]
    fn pnpm_and_berry_lockfiles() {
        let pnpm = "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      lodash:\n        specifier: ^4.17.15\n        version: 4.17.21\npackages:\n  lodash@4.17.21:\n    resolution: {integrity: sha512-x}\n  '@babel/core@7.0.0':\n    resolution: {integrity: sha512-y}\nsnapshots:\n  lodash@4.17.21: {}\n";
        let found = PnpmLock.extract("/app/pnpm-lock.yaml", pnpm.as_bytes(), &Ctx::default());
        let got: Vec<(&str, &str)> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(got, [("lodash", "4.17.21"), ("@babel/core", "7.0.0")]);
        let berry = "__metadata:\n  version: 6\n  cacheKey: 8\n\n\"app@workspace:.\":\n  version: 0.0.0-use.local\n  resolution: \"app@workspace:.\"\n  linkType: soft\n\n\"@types/node@npm:^20.0.0\":\n  version: 20.1.0\n  resolution: \"@types/node@npm:20.1.0\"\n  linkType: hard\n\n\"lodash@npm:^4.17.15, lodash@npm:^4.17.20\":\n  version: 4.17.21\n  resolution: \"lodash@npm:4.17.21\"\n";
        let found = yarn_berry("/app/yarn.lock", berry.as_bytes(), "javascript/yarn-lock");
        let got: Vec<(&str, &str)> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(got, [("@types/node", "20.1.0"), ("lodash", "4.17.21")]);
        assert_eq!(found.packages[0].purl, "pkg:npm/%40types/node@20.1.0");
        let bad = PnpmLock.extract("/app/pnpm-lock.yaml", b"packages: [\n", &Ctx::default());
        assert!(bad.packages.is_empty() && !bad.warnings.is_empty());
    }
}
