//! Java archives: `*.jar`, `*.war`, `*.ear`. Every `META-INF/maven/<group>/<artifact>/pom.properties`
//! is a package (a shaded jar holds several), nested archives (`WEB-INF/lib/`,
//! `BOOT-INF/lib/`) are read in turn, and an archive with no Maven metadata
//! falls back to its `MANIFEST.MF` (`Bundle-SymbolicName` or
//! `Implementation-Title`, and the matching version).

use std::io::{Cursor, Read};

use super::{Ctx, Extractor, Found, purl};
use crate::{Package, Warning};

pub(super) struct JavaArchive;

/// Nested archives deeper than this are not opened (a jar of jars of jars…).
pub(crate) const MAX_DEPTH: usize = 3;
/// The largest nested archive inflated into memory.
pub(crate) const MAX_NESTED_BYTES: u64 = 64 << 20;

pub(crate) fn is_archive(name: &str) -> bool {
    std::path::Path::new(name).extension().is_some_and(|e| {
        e.eq_ignore_ascii_case("jar")
            || e.eq_ignore_ascii_case("war")
            || e.eq_ignore_ascii_case("ear")
    })
}

fn properties(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once(['=', ':']))
        .map(|(k, v)| (k.trim(), v.trim()))
}

fn maven(group: &str, artifact: &str, version: &str, path: &str) -> Package {
    Package::new(
        "maven",
        &format!("{group}:{artifact}"),
        version,
        purl("maven", Some(group), artifact, version, &[]),
        path,
        "java/archive",
    )
}

fn read_archive(bytes: &[u8], path: &str, depth: usize, found: &mut Found) {
    let mut zip = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(z) => z,
        Err(e) => {
            found.warnings.push(Warning {
                path: path.to_owned(),
                line: None,
                message: format!("not a valid Java archive: {e}"),
                unread: Some(crate::Unread::Binary),
            });
            return;
        }
    };
    let mut from_pom = 0;
    let mut manifest: Option<String> = None;
    for i in 0..zip.len() {
        let Ok(mut entry) = zip.by_index(i) else {
            continue;
        };
        let Ok(name) = entry.name().map(std::borrow::Cow::into_owned) else {
            continue;
        };
        if name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties") {
            let mut text = String::new();
            if (&mut entry)
                .take(1 << 20)
                .read_to_string(&mut text)
                .is_err()
            {
                continue;
            }
            let (mut g, mut a, mut v) = (None, None, None);
            for (k, val) in properties(&text) {
                match k {
                    "groupId" => g = Some(val.to_owned()),
                    "artifactId" => a = Some(val.to_owned()),
                    "version" => v = Some(val.to_owned()),
                    _ => {}
                }
            }
            if let (Some(g), Some(a), Some(v)) = (g, a, v) {
                found.packages.push(maven(&g, &a, &v, path));
                from_pom += 1;
            }
        } else if name.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
            let mut text = String::new();
            if (&mut entry).take(1 << 20).read_to_string(&mut text).is_ok() {
                manifest = Some(text);
            }
        } else if is_archive(&name) && depth < MAX_DEPTH {
            let (size, packed) = (entry.size(), entry.compressed_size().max(1));
            if size > MAX_NESTED_BYTES || size / packed > 1000 {
                found.warnings.push(Warning {
                    path: format!("{path}!{name}"),
                    line: None,
                    message: "nested archive over the size limits; skipped".into(),
                    unread: Some(crate::Unread::Binary),
                });
                continue;
            }
            let mut inner = Vec::new();
            if (&mut entry)
                .take(MAX_NESTED_BYTES)
                .read_to_end(&mut inner)
                .is_ok()
            {
                read_archive(&inner, &format!("{path}!{name}"), depth + 1, found);
            }
        }
    }
    if from_pom == 0
        && let Some(m) = manifest
    {
        let get = |k: &str| {
            properties(&m)
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.split(';').next().unwrap_or(v).to_owned())
        };
        let name = get("Bundle-SymbolicName").or_else(|| get("Implementation-Title"));
        let version = get("Bundle-Version").or_else(|| get("Implementation-Version"));
        let group = get("Implementation-Vendor-Id");
        if let (Some(n), Some(v)) = (name, version) {
            // Without a group, the symbolic name (usually `group.artifact`) stands for both.
            let (g, a) = match group {
                Some(g) => (g, n),
                None => n.rsplit_once('.').map_or_else(
                    || (n.clone(), n.clone()),
                    |(g, a)| (g.to_owned(), a.to_owned()),
                ),
            };
            found.packages.push(maven(&g, &a, &v, path));
        }
    }
}

impl Extractor for JavaArchive {
    fn name(&self) -> &'static str {
        "java/archive"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        is_archive(path)
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        read_archive(data, path, 0, &mut found);
        found
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn jar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, body) in entries {
            z.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(body).unwrap();
        }
        z.finish().unwrap().into_inner()
    }

    #[test]
    fn nested_shaded_and_manifest_only_archives() {
        let text = jar(&[(
            "META-INF/maven/org.apache.commons/commons-text/pom.properties",
            b"#Generated\ngroupId=org.apache.commons\nartifactId=commons-text\nversion=1.9\n",
        )]);
        let plain = jar(&[("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\nBundle-SymbolicName: org.yaml.snakeyaml;singleton:=true\r\nBundle-Version: 1.30\r\n")]);
        let war = jar(&[
            ("WEB-INF/lib/commons-text-1.9.jar", &text),
            ("WEB-INF/lib/snakeyaml-1.30.jar", &plain),
            (
                "META-INF/maven/com.example/shaded-dep/pom.properties",
                b"version=2.0\ngroupId=com.example\nartifactId=shaded-dep\n",
            ),
        ]);
        let found = JavaArchive.extract("/srv/app.war", &war, &Ctx::default());
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
        let got: Vec<(String, String, String, String)> = found
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    p.version.clone(),
                    p.path.clone(),
                    p.purl.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "org.apache.commons:commons-text".into(),
                    "1.9".into(),
                    "/srv/app.war!WEB-INF/lib/commons-text-1.9.jar".into(),
                    "pkg:maven/org.apache.commons/commons-text@1.9".into()
                ),
                (
                    "org.yaml:snakeyaml".into(),
                    "1.30".into(),
                    "/srv/app.war!WEB-INF/lib/snakeyaml-1.30.jar".into(),
                    "pkg:maven/org.yaml/snakeyaml@1.30".into()
                ),
                (
                    "com.example:shaded-dep".into(),
                    "2.0".into(),
                    "/srv/app.war".into(),
                    "pkg:maven/com.example/shaded-dep@2.0".into()
                ),
            ]
        );
        let broken = JavaArchive.extract("/x.jar", b"PK\x03\x04garbage", &Ctx::default());
        assert!(broken.packages.is_empty() && !broken.warnings.is_empty());
    }
}
