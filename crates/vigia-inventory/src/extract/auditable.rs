//! Rust binaries built with `cargo auditable`: the dependency list it embeds
//! (a zlib-compressed JSON section, `.dep-v0`), read with the project's own
//! `auditable-info` crate. Sources keep only that JSON, under the synthetic
//! path `<binary>#cargo-auditable`.

use serde::Deserialize;

use super::{Ctx, Extractor, Found, purl};
use crate::{Package, Warning};

/// The suffix of the synthetic path that carries a binary's dependency list.
pub const SUFFIX: &str = "#cargo-auditable";

/// The embedded JSON, if `data` is a binary built with `cargo auditable`.
#[must_use]
pub fn sniff(data: &[u8]) -> Option<Vec<u8>> {
    auditable_info::json_from_slice(data, 8 << 20)
        .ok()
        .map(String::into_bytes)
}

#[derive(Deserialize)]
struct Info {
    packages: Vec<Pkg>,
}

#[derive(Deserialize)]
struct Pkg {
    name: String,
    version: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    root: bool,
}

pub(super) struct RustBinary;

impl Extractor for RustBinary {
    fn name(&self) -> &'static str {
        "rust/auditable-binary"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        path.ends_with(SUFFIX)
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let binary = path.strip_suffix(SUFFIX).unwrap_or(path);
        let mut found = Found::default();
        let info: Info = match serde_json::from_slice(data) {
            Ok(i) => i,
            Err(e) => {
                found.warnings.push(Warning {
                    path: binary.to_owned(),
                    line: None,
                    message: format!("unreadable cargo-auditable data: {e}"),
                    unread: Some(crate::Unread::Binary),
                });
                return found;
            }
        };
        for p in info.packages {
            // The binary's own crate and workspace members are the project;
            // build dependencies run at build time and are not in the binary.
            if p.root || p.source == "local" || p.kind == "build" {
                continue;
            }
            let purl = purl("cargo", None, &p.name, &p.version, &[]);
            found.packages.push(Package::new(
                "cargo",
                &p.name,
                &p.version,
                purl,
                binary,
                self.name(),
            ));
        }
        found
    }
}
