//! .NET: `*.deps.json` and `packages.lock.json`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{file_name, pkg};
use crate::extract::{Ctx, Extractor, Found, json_or_warn, purl};

/// .NET: `*.deps.json` (libraries of type `package`) and `packages.lock.json`.
pub(crate) struct DotNet;

impl Extractor for DotNet {
    fn name(&self) -> &'static str {
        "dotnet/deps"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        path.ends_with(".deps.json") || file_name(path) == "packages.lock.json"
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let Some(doc) = json_or_warn::<Value>(path, data, &mut found) else {
            return found;
        };
        let mut seen = BTreeSet::new();
        let mut add = |name: &str, version: &str, found: &mut Found| {
            if seen.insert((name.to_owned(), version.to_owned())) {
                found.packages.push(pkg(
                    "nuget",
                    name,
                    version,
                    purl("nuget", None, name, version, &[]),
                    path,
                    "dotnet/deps",
                ));
            }
        };
        if let Some(libs) = doc.get("libraries").and_then(Value::as_object) {
            for (key, lib) in libs {
                if lib.get("type").and_then(Value::as_str) != Some("package") {
                    continue;
                }
                if let Some((n, v)) = key.split_once('/') {
                    add(n, v, &mut found);
                }
            }
        } else if let Some(frameworks) = doc.get("dependencies").and_then(Value::as_object) {
            for deps in frameworks.values().filter_map(Value::as_object) {
                for (n, d) in deps {
                    if d.get("type").and_then(Value::as_str) == Some("Project") {
                        continue;
                    }
                    if let Some(v) = d.get("resolved").and_then(Value::as_str) {
                        add(n, v, &mut found);
                    }
                }
            }
        }
        found
    }
}
