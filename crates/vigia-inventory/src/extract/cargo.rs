//! Rust crates: `Cargo.lock` (every version). Workspace members (no `source`)
//! are the project itself, not dependencies.

use serde::Deserialize;

use super::{Ctx, Extractor, Found, purl, toml_or_warn};
use crate::Package;

pub(super) struct CargoLock;

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<LockPackage>,
}

#[derive(Deserialize)]
struct LockPackage {
    name: String,
    version: String,
    #[serde(default)]
    source: Option<String>,
}

impl Extractor for CargoLock {
    fn name(&self) -> &'static str {
        "rust/cargo-lock"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        path.ends_with("/Cargo.lock")
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let Some(lock) = toml_or_warn::<Lock>(path, data, &mut found) else {
            return found;
        };
        for p in lock.package.into_iter().filter(|p| p.source.is_some()) {
            let purl = purl("cargo", None, &p.name, &p.version, &[]);
            found.packages.push(Package::new(
                "cargo",
                &p.name,
                &p.version,
                purl,
                path,
                self.name(),
            ));
        }
        found
    }
}
