//! Alpine packages: `/lib/apk/db/installed`.

use super::{Ctx, Extractor, Found, purl};
use crate::{Package, Warning};

pub(super) struct Apk;

impl Extractor for Apk {
    fn name(&self) -> &'static str {
        "os/apk"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        path == "/lib/apk/db/installed" || path == "/usr/lib/apk/db/installed"
    }
    fn extract(&self, path: &str, data: &[u8], ctx: &Ctx<'_>) -> Found {
        let text = String::from_utf8_lossy(data);
        let mut found = Found::default();
        let distro = ctx.os.map(|o| o.version_id.clone()).unwrap_or_default();
        let mut line_no = 0;
        for record in text.split("\n\n") {
            let start = line_no + 1;
            line_no += record.lines().count() + 1;
            if record.trim().is_empty() {
                continue;
            }
            let (mut name, mut version, mut arch, mut origin, mut license) =
                (None, None, None, None, None);
            for line in record.lines() {
                match line.split_once(':') {
                    Some(("P", v)) => name = Some(v.to_owned()),
                    Some(("V", v)) => version = Some(v.to_owned()),
                    Some(("A", v)) => arch = Some(v.to_owned()),
                    Some(("o", v)) => origin = Some(v.to_owned()),
                    Some(("L", v)) => license = Some(v.to_owned()),
                    _ => {}
                }
            }
            let (Some(name), Some(version)) = (name, version) else {
                found.warnings.push(Warning {
                    path: path.to_owned(),
                    line: Some(start),
                    message: "package record without P: or V:; skipped".into(),
                    unread: None,
                });
                continue;
            };
            found.packages.push(Package {
                kind: "apk".into(),
                purl: purl(
                    "apk",
                    Some("alpine"),
                    &name,
                    &version,
                    &[
                        ("arch", arch.as_deref().unwrap_or_default()),
                        ("distro", &distro),
                    ],
                ),
                source_name: Some(origin.unwrap_or_else(|| name.clone())),
                name,
                version,
                path: path.to_owned(),
                layer: None,
                source_version: None,
                arch,
                license,
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
