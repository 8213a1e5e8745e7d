//! Debian packages: `/var/lib/dpkg/status` and distroless `/var/lib/dpkg/status.d/*`.

use super::{Ctx, Extractor, Found, headers, purl};
use crate::{Package, Warning};

pub(super) struct Dpkg;

impl Extractor for Dpkg {
    fn name(&self) -> &'static str {
        "os/dpkg"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        path == "/var/lib/dpkg/status"
            || (path.starts_with("/var/lib/dpkg/status.d/") && !path.ends_with(".md5sums"))
    }
    fn extract(&self, path: &str, data: &[u8], ctx: &Ctx<'_>) -> Found {
        let text = String::from_utf8_lossy(data);
        let distroless = path.starts_with("/var/lib/dpkg/status.d/");
        let mut found = Found::default();
        let (ns, distro) = match ctx.os {
            Some(os) => (os.id.clone(), format!("{}-{}", os.id, os.version_id)),
            None => ("debian".to_owned(), String::new()),
        };
        let mut line_base = 1;
        for stanza in text.split("\n\n") {
            let start = line_base;
            line_base += stanza.lines().count() + 1;
            if stanza.trim().is_empty() {
                continue;
            }
            let fields = headers(stanza);
            let get = |k: &str| {
                fields
                    .iter()
                    .find(|(f, _, _)| f.eq_ignore_ascii_case(k))
                    .map(|(_, v, _)| v.as_str())
            };
            if !distroless && !get("Status").is_some_and(|s| s.ends_with(" installed")) {
                continue;
            }
            let (Some(name), Some(version)) = (get("Package"), get("Version")) else {
                found.warnings.push(Warning {
                    path: path.to_owned(),
                    line: Some(start),
                    message: "package stanza without Package or Version; skipped".into(),
                    unread: None,
                });
                continue;
            };
            let arch = get("Architecture").map(str::to_owned);
            let (source_name, source_version) = match get("Source") {
                Some(src) => match src.split_once('(') {
                    Some((n, v)) => (
                        Some(n.trim().to_owned()),
                        Some(v.trim_end_matches(')').trim().to_owned()),
                    ),
                    None => (Some(src.trim().to_owned()), None),
                },
                None => (Some(name.to_owned()), None),
            };
            found.packages.push(Package {
                kind: "deb".into(),
                name: name.to_owned(),
                version: version.to_owned(),
                purl: purl(
                    "deb",
                    Some(&ns),
                    name,
                    version,
                    &[
                        ("arch", arch.as_deref().unwrap_or_default()),
                        ("distro", &distro),
                    ],
                ),
                path: path.to_owned(),
                layer: None,
                source_name,
                source_version,
                arch,
                license: None,
                found_by: self.name().into(),
                declared: false,
                dev: false,
                evidence: None,
                install_dir: None,
            });
        }
        found
    }
}
