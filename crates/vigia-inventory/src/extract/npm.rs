//! npm packages: `package-lock.json` (v1, v2, v3) and `node_modules/**/package.json`.
//!
//! A lockfile lists the install folder of each package; a `package.json` in a
//! folder that a lockfile already lists is the same package and is not counted
//! again. A project's own `package.json` (not under `node_modules`) is not a
//! dependency.

use serde_json::Value;

use super::{Ctx, Extractor, Found, json_or_warn};
use crate::{Package, Warning};

pub(super) struct PackageLock;
pub(super) struct NodeModules;

fn package(
    name: &str,
    version: &str,
    path: &str,
    found_by: &str,
    license: Option<String>,
) -> Package {
    Package {
        license,
        ..Package::new(
            "npm",
            name,
            version,
            super::npm_purl(name, version),
            path,
            found_by,
        )
    }
}

fn license_of(v: &Value) -> Option<String> {
    match v.get("license") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Object(o)) => o.get("type").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

impl Extractor for PackageLock {
    fn name(&self) -> &'static str {
        "javascript/package-lock"
    }
    fn version(&self) -> u32 {
        // 2: development dependencies marked. 3: v1 aliases resolved,
        // versions that are not texts named.
        3
    }
    fn wants(&self, path: &str) -> bool {
        // `node_modules/.package-lock.json` mirrors the real lockfile: skip it.
        path.ends_with("/package-lock.json") && !path.contains("/node_modules/")
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let Some(doc) = json_or_warn::<Value>(path, data, &mut found) else {
            return found;
        };
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        if let Some(packages) = doc.get("packages").and_then(Value::as_object) {
            // v2 / v3: "node_modules/a/node_modules/b" → entry.
            for (key, entry) in packages {
                if key.is_empty() || entry.get("link").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                let Some(idx) = key.rfind("node_modules/") else {
                    continue;
                };
                let name = entry
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(&key[idx + "node_modules/".len()..]);
                if entry.get("version").is_some_and(|v| !v.is_string()) {
                    super::malformed(
                        &mut found,
                        path,
                        format!("{key}'s version is not a text: {}", entry["version"]),
                    );
                    continue;
                }
                let Some(version) = entry.get("version").and_then(Value::as_str) else {
                    found.warnings.push(Warning {
                        path: path.to_owned(),
                        line: None,
                        message: format!("{key} has no version; skipped"),
                        unread: None,
                    });
                    continue;
                };
                let mut pkg = package(name, version, path, self.name(), license_of(entry));
                pkg.dev = entry.get("dev").and_then(Value::as_bool) == Some(true);
                pkg.install_dir = Some(format!("{dir}/{key}"));
                found.packages.push(pkg);
                found.covers.push(format!("{dir}/{key}"));
            }
        } else if let Some(deps) = doc.get("dependencies").and_then(Value::as_object) {
            // v1: nested "dependencies" objects.
            let mut stack: Vec<(String, &serde_json::Map<String, Value>)> =
                vec![(format!("{dir}/node_modules"), deps)];
            while let Some((base, deps)) = stack.pop() {
                for (name, entry) in deps {
                    let folder = format!("{base}/{name}");
                    if entry.get("version").is_some_and(|v| !v.is_string()) {
                        super::malformed(
                            &mut found,
                            path,
                            format!("{name}'s version is not a text: {}", entry["version"]),
                        );
                    }
                    if let Some(version) = entry.get("version").and_then(Value::as_str)
                        && !version.starts_with("file:")
                        && !version.starts_with("link:")
                    {
                        // An alias (`"version": "npm:lodash@4.17.11"`) installs
                        // the package it names under another folder name.
                        let (name, version) = version
                            .strip_prefix("npm:")
                            .and_then(|a| {
                                let at = a.get(1..)?.rfind('@')? + 1;
                                Some((&a[..at], &a[at + 1..]))
                            })
                            .unwrap_or((name.as_str(), version));
                        let mut pkg = package(name, version, path, self.name(), None);
                        pkg.dev = entry.get("dev").and_then(Value::as_bool) == Some(true);
                        pkg.install_dir = Some(folder.clone());
                        found.packages.push(pkg);
                        found.covers.push(folder.clone());
                    }
                    if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
                        stack.push((format!("{folder}/node_modules"), nested));
                    }
                }
            }
        } else {
            found.warnings.push(Warning {
                path: path.to_owned(),
                line: None,
                message: "neither `packages` nor `dependencies`: not a package-lock".into(),
                unread: Some(crate::Unread::Inventory),
            });
        }
        found
    }
}

impl Extractor for NodeModules {
    fn name(&self) -> &'static str {
        "javascript/node-modules"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        // …/node_modules/<name>/package.json or …/node_modules/@scope/<name>/package.json
        let Some(dir) = path.strip_suffix("/package.json") else {
            return false;
        };
        let Some(idx) = dir.rfind("/node_modules/") else {
            return false;
        };
        let rest = &dir[idx + "/node_modules/".len()..];
        match rest.split_once('/') {
            None => !rest.starts_with('.'),
            Some((scope, name)) => scope.starts_with('@') && !name.contains('/'),
        }
    }
    fn extract(&self, path: &str, data: &[u8], ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let dir = path.strip_suffix("/package.json").unwrap_or(path);
        if ctx.covered.contains(dir) {
            return found;
        }
        let Some(doc) = json_or_warn::<Value>(path, data, &mut found) else {
            return found;
        };
        if let (Some(name), Some(version)) = (
            doc.get("name").and_then(Value::as_str),
            doc.get("version").and_then(Value::as_str),
        ) {
            found
                .packages
                .push(package(name, version, path, self.name(), license_of(&doc)));
        }
        found
    }
}
