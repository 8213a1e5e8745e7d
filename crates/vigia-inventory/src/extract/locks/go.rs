//! Go: `go.mod`.

use super::{file_name, pkg};
use crate::extract::{Ctx, Extractor, Found, purl};

/// `go.mod`: required modules (the module itself excluded).
pub(crate) struct GoMod;

impl Extractor for GoMod {
    fn name(&self) -> &'static str {
        "go/go-mod"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        file_name(path) == "go.mod" && !path.contains("/vendor/")
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let mut in_require = false;
        for line in String::from_utf8_lossy(data).lines() {
            let line = line.split("//").next().unwrap_or_default().trim();
            let spec = if in_require {
                if line == ")" {
                    in_require = false;
                    continue;
                }
                line
            } else if let Some(rest) = line.strip_prefix("require") {
                let rest = rest.trim();
                if rest == "(" {
                    in_require = true;
                    continue;
                }
                rest
            } else {
                continue;
            };
            let mut parts = spec.split_whitespace();
            let (Some(module), Some(version)) = (parts.next(), parts.next()) else {
                continue;
            };
            let (ns, name) = module.rsplit_once('/').unwrap_or(("", module));
            found.packages.push(pkg(
                "golang",
                module,
                version,
                purl("golang", Some(ns), name, version, &[]),
                path,
                self.name(),
            ));
        }
        found
    }
}
