//! PHP: `composer.lock` and `vendor/composer/installed.json`.

use serde_json::Value;

use super::{file_name, pkg};
use crate::extract::{Ctx, Extractor, Found, json_or_warn, purl};

/// `composer.lock` and `vendor/composer/installed.json`.
pub(crate) struct Composer;

impl Extractor for Composer {
    fn name(&self) -> &'static str {
        "php/composer"
    }
    fn version(&self) -> u32 {
        2
    }
    fn wants(&self, path: &str) -> bool {
        file_name(path) == "composer.lock" || path.ends_with("/vendor/composer/installed.json")
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let Some(doc) = json_or_warn::<Value>(path, data, &mut found) else {
            return found;
        };
        let lists: Vec<&Value> = match &doc {
            Value::Array(_) => vec![&doc],
            _ => ["packages", "packages-dev"]
                .iter()
                .filter_map(|k| doc.get(*k))
                .collect(),
        };
        if lists.iter().any(|l| !l.is_array()) || !(doc.is_array() || doc.is_object()) {
            crate::extract::malformed(
                &mut found,
                path,
                "not a composer.lock: `packages` is not a list",
            );
        }
        for p in lists.into_iter().filter_map(Value::as_array).flatten() {
            let (Some(name), Some(version)) = (
                p.get("name").and_then(Value::as_str),
                p.get("version").and_then(Value::as_str),
            ) else {
                crate::extract::malformed(
                    &mut found,
                    path,
                    format!("a package without a name and version: {p}"),
                );
                continue;
            };
            let (ns, base) = name.split_once('/').unwrap_or(("", name));
            found.packages.push(pkg(
                "composer",
                name,
                version,
                purl("composer", Some(ns), base, version, &[]),
                path,
                self.name(),
            ));
        }
        found
    }
}
