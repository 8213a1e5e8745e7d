//! Java archives: `*.jar`, `*.war`, `*.ear`. Every `META-INF/maven/<group>/<artifact>/pom.properties`
//! is a package (a shaded jar holds several), and nested archives
//! (`WEB-INF/lib/`, `BOOT-INF/lib/`) are read in turn.
//!
//! An archive's own identity comes, in this order of confidence (recorded in
//! [`Package::evidence`]), from the `pom.properties` that belongs to it (its
//! artifact is the file's name), else from its `MANIFEST.MF`
//! (`Bundle-SymbolicName`, `Implementation-Title`/`-Vendor-Id`/`-Version`,
//! `Automatic-Module-Name`), else from its file name (`name-version.jar`,
//! `group.artifact-version.jar`). An archive that bundles another library's
//! `pom.properties` keeps its own identity beside it (Debian's `guice.jar` is
//! `com.google.inject:guice` 4.2.3 and holds `cglib` 3.2.12). Coordinates that
//! no repository could hold (spaces, a version repeated with a comma) are
//! never reported.

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

fn maven(group: &str, artifact: &str, version: &str, path: &str, evidence: &str) -> Package {
    let (name, namespace) = if group.is_empty() {
        (artifact.to_owned(), None)
    } else {
        (format!("{group}:{artifact}"), Some(group))
    };
    let mut p = Package::new(
        "maven",
        &name,
        version,
        purl("maven", namespace, artifact, version, &[]),
        path,
        "java/archive",
    );
    p.evidence = Some(evidence.to_owned());
    p
}

/// A group or artifact ID a Maven repository could hold.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// A version as one token: `3.1.0,3.1.0` (a build tool's repetition) is
/// 3.1.0; two different versions, or spaces, are no version.
fn valid_version(v: &str) -> Option<&str> {
    let mut parts = v.split(',').map(str::trim);
    let first = parts.next()?;
    (!first.is_empty() && !first.contains(char::is_whitespace) && parts.all(|p| p == first))
        .then_some(first)
}

/// The archive's file name without its extension (`guice` for
/// `/usr/share/java/guice.jar`, `lib-1.0` for `a.war!WEB-INF/lib/lib-1.0.jar`).
fn stem(path: &str) -> &str {
    let name = path.rsplit(['/', '!']).next().unwrap_or(path);
    name.rsplit_once('.').map_or(name, |(s, _)| s)
}

/// `name-version` split where the version starts (the first `-` followed by
/// a digit): (`commons-text`, `Some("1.9")`), or the whole stem and `None`.
fn split_version(stem: &str) -> (&str, Option<&str>) {
    let bytes = stem.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            return (&stem[..i], Some(&stem[i + 1..]));
        }
    }
    (stem, None)
}

/// Whether a `pom.properties` of `artifact` at `version` describes the
/// archive at `path` itself: its file name is the artifact, with or without
/// that version (`log4j-1.2-api-2.17.1.jar` is `log4j-1.2-api`).
fn belongs(artifact: &str, version: &str, path: &str) -> bool {
    let stem = stem(path);
    let (name, _) = split_version(stem);
    let name = stem.strip_suffix(&format!("-{version}")).unwrap_or(name);
    name == artifact || name.ends_with(&format!(".{artifact}"))
}

/// `group.artifact` split where the artifact starts: at the last dot followed
/// by a letter (`org.apache.geronimo.specs` and `geronimo-annotation_1.3_spec`,
/// not `…_1` and `3_spec`). `None` without such a dot.
fn split_coordinates(dotted: &str) -> Option<(&str, &str)> {
    let bytes = dotted.as_bytes();
    (1..bytes.len())
        .rev()
        .find(|&i| bytes[i - 1] == b'.' && bytes[i].is_ascii_alphabetic())
        .map(|i| (&dotted[..i - 1], &dotted[i..]))
}

/// The archive's identity from its manifest, if it names one that is valid.
fn from_manifest(manifest: &str, path: &str) -> Option<(String, String, String)> {
    let get = |k: &str| {
        properties(manifest)
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.split(';').next().unwrap_or(v).trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let version = get("Bundle-Version")
        .or_else(|| get("Implementation-Version"))
        .and_then(|v| valid_version(&v).map(str::to_owned))?;
    let vendor = get("Implementation-Vendor-Id").filter(|g| valid_id(g));
    let (file_name, file_version) = split_version(stem(path));
    // The file's name is the artifact when the archive says so: its
    // `Bundle-Name`, or the manifest's own version in the file name (a
    // renamed `app.jar` is not an artifact).
    let named = valid_id(file_name)
        && (get("Bundle-Name").as_deref() == Some(file_name) || file_version == Some(&version));
    // A title is an artifact only when it is an ID (`commons-text`), with a
    // vendor ID for its group or dots of its own: `Trove` alone is a name
    // for people.
    let title = get("Implementation-Title").filter(|t| vendor.is_some() || t.contains('.'));
    let name = [
        get("Bundle-SymbolicName"),
        title,
        get("Automatic-Module-Name"),
    ]
    .into_iter()
    .flatten()
    .find(|n| valid_id(n))?;
    // The artifact is the file's name when the name ends the manifest's
    // (`org.yaml.snakeyaml` for `snakeyaml-1.30.jar`), or when the archive
    // names its file and the manifest's is a Java package name
    // (`com.google.inject` with `Bundle-Name: guice` for `guice.jar`);
    // else the last part of the manifest's.
    let dotted_file = split_coordinates(file_name).filter(|_| file_version == Some(&version));
    let (group, artifact) = if let Some((g, a)) = dotted_file {
        // `group.artifact-version.jar` (as Coursier and Gradle caches name
        // them) at the manifest's version: the file names both.
        (g.to_owned(), a.to_owned())
    } else if let Some(g) = name.strip_suffix(&format!(".{file_name}")) {
        (g.to_owned(), file_name.to_owned())
    } else if named && name.contains('.') {
        (name.clone(), file_name.to_owned())
    } else {
        match split_coordinates(&name) {
            Some((g, a)) => (g.to_owned(), a.to_owned()),
            None => (String::new(), name.clone()),
        }
    };
    let group = vendor.unwrap_or(group);
    Some((group, artifact, version))
}

/// The archive's identity from its file name: `name-version.jar`, with the
/// group before the last dot of `group.artifact-version.jar`.
fn from_file_name(path: &str) -> Option<(String, String, String)> {
    let (name, version) = split_version(stem(path));
    let version = valid_version(version?)?;
    let (group, artifact) = split_coordinates(name).unwrap_or(("", name));
    (valid_id(artifact) && (group.is_empty() || valid_id(group)))
        .then(|| (group.to_owned(), artifact.to_owned(), version.to_owned()))
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
    let mut own_pom = false;
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
                match valid_version(&v) {
                    Some(v) if valid_id(&g) && valid_id(&a) => {
                        own_pom |= belongs(&a, v, path);
                        found
                            .packages
                            .push(maven(&g, &a, v, path, "pom.properties"));
                    }
                    _ => found.warnings.push(Warning {
                        path: format!("{path}!{name}"),
                        line: None,
                        message: format!("invalid Maven coordinates {g}:{a}:{v}; skipped"),
                        unread: None,
                    }),
                }
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
    // A lone pom.properties is the archive's own even under another file
    // name (`app.jar` built from `com.example:shop`).
    let poms = found
        .packages
        .iter()
        .filter(|p| p.path == path && p.evidence.as_deref() == Some("pom.properties"))
        .count();
    if own_pom || poms == 1 && manifest.is_none() {
        return;
    }
    let own = manifest
        .as_deref()
        .and_then(|m| from_manifest(m, path).map(|id| (id, "manifest")))
        .or_else(|| from_file_name(path).map(|id| (id, "file-name")));
    if let Some(((g, a, v), evidence)) = own
        && !found
            .packages
            .iter()
            .any(|p| p.path == path && p.name.ends_with(&format!(":{a}")) && p.version == v)
    {
        found.packages.push(maven(&g, &a, &v, path, evidence));
    }
}

impl Extractor for JavaArchive {
    fn name(&self) -> &'static str {
        "java/archive"
    }
    fn version(&self) -> u32 {
        // 2: an archive's own identity beside what it bundles, with evidence.
        2
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

    fn identities(path: &str, data: &[u8]) -> Vec<(String, String, String)> {
        JavaArchive
            .extract(path, data, &Ctx::default())
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.clone(),
                    p.version.clone(),
                    p.evidence.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    fn id(name: &str, version: &str, evidence: &str) -> (String, String, String) {
        (name.into(), version.into(), evidence.into())
    }

    /// Debian's guice.jar: a bundled cglib pom.properties, and its own
    /// identity in the manifest only.
    #[test]
    fn an_archive_keeps_its_own_identity_beside_what_it_bundles() {
        let guice = jar(&[
            (
                "META-INF/MANIFEST.MF",
                b"Manifest-Version: 1.0\r\nAutomatic-Module-Name: com.google.guice\r\nBundle-Name: guice\r\nBundle-SymbolicName: com.google.inject\r\nBundle-Version: 4.2.3\r\n",
            ),
            (
                "META-INF/maven/cglib/cglib/pom.properties",
                b"groupId=cglib\nartifactId=cglib\nversion=3.2.12\n",
            ),
        ]);
        assert_eq!(
            identities("/usr/share/java/guice.jar", &guice),
            [
                id("cglib:cglib", "3.2.12", "pom.properties"),
                id("com.google.inject:guice", "4.2.3", "manifest"),
            ]
        );
        // Its own pom.properties: nothing else is guessed.
        let own = jar(&[
            (
                "META-INF/MANIFEST.MF",
                b"Bundle-SymbolicName: other.name\r\nBundle-Version: 9\r\n",
            ),
            (
                "META-INF/maven/com.google.guava/guava/pom.properties",
                b"groupId=com.google.guava\nartifactId=guava\nversion=31.1-jre\n",
            ),
        ]);
        assert_eq!(
            identities("/lib/guava-31.1-jre.jar", &own),
            [id("com.google.guava:guava", "31.1-jre", "pom.properties")]
        );
        // An artifact ID with a version-like part is still the file's own.
        let api = jar(&[
            ("META-INF/MANIFEST.MF", b"Bundle-SymbolicName: org.apache.logging.log4j.1.2-api\r\nBundle-Version: 2.17.1\r\n"),
            (
                "META-INF/maven/org.apache.logging.log4j/log4j-1.2-api/pom.properties",
                b"groupId=org.apache.logging.log4j\nartifactId=log4j-1.2-api\nversion=2.17.1\n",
            ),
        ]);
        assert_eq!(
            identities("/lib/log4j-1.2-api-2.17.1.jar", &api),
            [id(
                "org.apache.logging.log4j:log4j-1.2-api",
                "2.17.1",
                "pom.properties"
            )]
        );
    }

    #[test]
    fn manifests_then_file_names_and_never_invalid_coordinates() {
        // A title with spaces is not an artifact; the symbolic name is.
        let jre = jar(&[(
            "META-INF/MANIFEST.MF",
            b"Implementation-Title: Java Runtime Environment\r\nImplementation-Version: 17.0.9\r\n",
        )]);
        assert_eq!(
            identities("/opt/jdk/lib/jrt-fs.jar", &jre),
            Vec::<(String, String, String)>::new()
        );
        let repeated = jar(&[(
            "META-INF/MANIFEST.MF",
            b"Bundle-SymbolicName: org.example.lib\r\nBundle-Version: 3.1.0,3.1.0\r\n",
        )]);
        assert_eq!(
            identities("/lib/lib-3.1.0.jar", &repeated),
            [id("org.example:lib", "3.1.0", "manifest")]
        );
        let bad_pom = jar(&[(
            "META-INF/maven/Java Runtime/x/pom.properties",
            b"groupId=Java Runtime Environment\nartifactId=x\nversion=1\n",
        )]);
        let found = JavaArchive.extract("/lib/x.jar", &bad_pom, &Ctx::default());
        assert!(found.packages.is_empty(), "{:?}", found.packages);
        assert!(
            found.warnings[0]
                .message
                .contains("invalid Maven coordinates")
        );
        // A title for people is not an artifact: the file name is used.
        let titled = jar(&[(
            "META-INF/MANIFEST.MF",
            b"Implementation-Title: Trove\r\nImplementation-Version: 3.1.0\r\n",
        )]);
        assert_eq!(
            identities("/lib/net.sf.trove4j.core-3.1.0.jar", &titled),
            [id("net.sf.trove4j:core", "3.1.0", "file-name")]
        );
        // A file named `group.artifact-version.jar` at the manifest's version
        // names both; a symbolic name with a version inside keeps it.
        let coursier = jar(&[(
            "META-INF/MANIFEST.MF",
            b"Bundle-SymbolicName: com.google.protobuf\r\nBundle-Version: 3.25.8\r\n",
        )]);
        assert_eq!(
            identities(
                "/lib/com.google.protobuf.protobuf-java-3.25.8.jar",
                &coursier
            ),
            [id(
                "com.google.protobuf:protobuf-java",
                "3.25.8",
                "manifest"
            )]
        );
        let spec = jar(&[(
            "META-INF/MANIFEST.MF",
            b"Bundle-SymbolicName: org.apache.geronimo.specs.geronimo-annotation_1.3_spec\r\nBundle-Version: 1.3.0\r\n",
        )]);
        assert_eq!(
            identities("/usr/share/java/geronimo-annotation-1.3-spec.jar", &spec),
            [id(
                "org.apache.geronimo.specs:geronimo-annotation_1.3_spec",
                "1.3.0",
                "manifest"
            )]
        );
        // Nothing inside: the file name, at the lowest confidence.
        let empty = jar(&[("a.class", b"")]);
        assert_eq!(
            identities("/usr/share/java/slf4j-nop-1.7.32.jar", &empty),
            [id("slf4j-nop", "1.7.32", "file-name")]
        );
        assert_eq!(
            identities("/lib/org.apache.commons.lang3-3.12.0.jar", &empty),
            [id("org.apache.commons:lang3", "3.12.0", "file-name")]
        );
        assert!(identities("/lib/app.jar", &empty).is_empty());
        // A renamed archive: the manifest's name, not the file's.
        let renamed = jar(&[(
            "META-INF/MANIFEST.MF",
            b"Bundle-SymbolicName: org.yaml.snakeyaml\r\nBundle-Version: 1.30\r\n",
        )]);
        assert_eq!(
            identities("/srv/app.jar", &renamed),
            [id("org.yaml:snakeyaml", "1.30", "manifest")]
        );
    }
}
