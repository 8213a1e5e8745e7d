//! Extractors: one per file type, listed in [`all`]. Each declares the paths it
//! wants; the sources keep only those files, so adding an extractor is adding it
//! here (see `docs/adding-an-extractor.md`).

mod apk;
pub mod auditable;
mod cargo;
mod declared;
mod dpkg;
pub mod gobinary;
pub(crate) mod java;
mod locks;
mod npm;
mod os;
mod pom;
mod python;
mod rpm;
mod yaml_locks;

use std::collections::{BTreeMap, BTreeSet};

use crate::fsview::FsView;
use crate::{Inventory, OsInfo, Package, ScanStatus, Warning};

pub use os::{classify as classify_os, detect as detect_os};

/// What an extractor gets besides the file.
#[derive(Debug, Default)]
pub struct Ctx<'a> {
    /// The OS found, for OS package URLs.
    pub os: Option<&'a OsInfo>,
    /// Install folders that a lockfile already lists (`/srv/web/node_modules/a`),
    /// so that their `package.json` is not counted twice.
    pub covered: BTreeSet<String>,
}

/// What an extractor found in one file.
#[derive(Debug, Default)]
pub struct Found {
    /// Packages.
    pub packages: Vec<Package>,
    /// Problems (the file's other records still count).
    pub warnings: Vec<Warning>,
    /// Install folders this file accounts for (lockfiles).
    pub covers: Vec<String>,
}

/// One file type's extractor.
pub trait Extractor: Send + Sync {
    /// Stable name (`os/dpkg`, `python/dist-info`).
    fn name(&self) -> &'static str;
    /// Bumped when the output for the same input changes (invalidates caches).
    fn version(&self) -> u32;
    /// Whether this extractor reads `path` (absolute inside the resource).
    fn wants(&self, path: &str) -> bool;
    /// Lockfiles run first, so that the folders they list are known.
    fn is_lockfile(&self) -> bool {
        false
    }
    /// Reads one file.
    fn extract(&self, path: &str, data: &[u8], ctx: &Ctx<'_>) -> Found;
}

/// Every extractor, in one explicit list.
#[must_use]
pub fn all() -> Vec<Box<dyn Extractor>> {
    vec![
        Box::new(dpkg::Dpkg),
        Box::new(apk::Apk),
        Box::new(rpm::RpmDb),
        Box::new(python::DistInfo),
        Box::new(npm::PackageLock),
        Box::new(npm::NodeModules),
        Box::new(cargo::CargoLock),
        Box::new(locks::Requirements),
        Box::new(locks::PythonTomlLock),
        Box::new(locks::PipfileLock),
        Box::new(locks::YarnLock),
        Box::new(yaml_locks::PnpmLock),
        Box::new(locks::GemfileLock),
        Box::new(locks::Gemspec),
        Box::new(locks::Composer),
        Box::new(locks::DotNet),
        Box::new(locks::GoMod),
        Box::new(java::JavaArchive),
        Box::new(pom::PomXml),
        Box::new(gobinary::GoBinary),
        Box::new(auditable::RustBinary),
    ]
}

/// An owned layer-cache key: (extractor name, version, wanted paths).
pub type OwnedKey = (&'static str, u32, Box<dyn Fn(&str) -> bool + Sync>);

/// The layer-cache keys: every extractor's (name, version, wanted paths), and
/// OS detection's.
#[must_use]
pub fn cache_keys() -> Vec<OwnedKey> {
    let mut keys: Vec<OwnedKey> = vec![
        ("os/release", 1, Box::new(os::wants)),
        ("host/facts", 1, Box::new(crate::host::wants)),
    ];
    for e in all() {
        let (name, version) = (e.name(), e.version());
        keys.push((name, version, Box::new(move |p: &str| e.wants(p))));
    }
    keys
}

/// Whether any extractor, or OS detection, wants `path`.
#[must_use]
pub fn wants(path: &str) -> bool {
    thread_local! {
        static ALL: Vec<Box<dyn Extractor>> = all();
    }
    os::wants(path) || crate::host::wants(path) || ALL.with(|all| all.iter().any(|e| e.wants(path)))
}

/// Runs one extractor, by name, on one file: for fuzzing and tests.
#[must_use]
pub fn run_one(name: &str, path: &str, data: &[u8]) -> Option<Found> {
    let ex = all().into_iter().find(|e| e.name() == name)?;
    let mut found = ex.extract(path, data, &Ctx::default());
    found
        .packages
        .retain(|p| !p.name.trim().is_empty() && !p.version.trim().is_empty());
    Some(found)
}

/// Key of a package for layer attribution.
fn key(p: &Package) -> (String, String, String) {
    (p.kind.clone(), p.name.clone(), p.version.clone())
}

/// Runs every extractor over the view.
#[must_use]
pub fn run(view: &FsView) -> Inventory {
    let os = os::detect(view);
    let mut ctx = Ctx {
        os: os.as_ref(),
        covered: BTreeSet::new(),
    };
    let mut status = ScanStatus::default();
    let mut packages = Vec::new();
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let extractors = all();
    let (locks, rest): (Vec<_>, Vec<_>) = extractors.iter().partition(|e| e.is_lockfile());
    for pass in [locks, rest] {
        let mut covers = Vec::new();
        for path in view.paths() {
            for ex in pass.iter().filter(|e| e.wants(path)) {
                let history = view.history(path).expect("listed path");
                let current = history.last().expect("a version");
                let mut found = ex.extract(path, &current.data, &ctx);
                // Attribute each package to the earliest layer from which every
                // later version of the file still lists it.
                let older: Vec<BTreeSet<(String, String, String)>> = history[..history.len() - 1]
                    .iter()
                    .map(|v| {
                        ex.extract(path, &v.data, &ctx)
                            .packages
                            .iter()
                            .map(key)
                            .collect()
                    })
                    .collect();
                for p in &mut found.packages {
                    let k = key(p);
                    let mut layer = current.layer.clone();
                    for (i, set) in older.iter().enumerate().rev() {
                        if set.contains(&k) {
                            layer.clone_from(&history[i].layer);
                        } else {
                            break;
                        }
                    }
                    p.layer = layer;
                }
                // A record without a name or version is not a package.
                let (kept, empty): (Vec<Package>, Vec<Package>) = found
                    .packages
                    .into_iter()
                    .partition(|p| !p.name.trim().is_empty() && !p.version.trim().is_empty());
                for p in empty {
                    found.warnings.push(Warning {
                        path: p.path,
                        line: None,
                        message: "a package with an empty name or version; skipped".into(),
                        unread: None,
                    });
                }
                found.packages = kept;
                *counts.entry(ex.name()).or_default() += found.packages.len();
                packages.extend(found.packages);
                status.warnings.extend(found.warnings);
                covers.extend(found.covers);
            }
        }
        ctx.covered.extend(covers);
    }
    declared::reconcile(view, &mut packages);
    packages.sort();
    packages.dedup();
    status.extractors = counts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    Inventory {
        os,
        packages,
        status,
        ..Inventory::default()
    }
}

/// Builds a package URL; `namespace` and qualifiers optional.
pub(crate) fn purl(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> String {
    let Ok(mut p) = packageurl::PackageUrl::new(ty.to_owned(), name.to_owned()) else {
        return format!("pkg:{ty}/{name}@{version}");
    };
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        let _ = p.with_namespace(ns.to_owned());
    }
    let _ = p.with_version(version.to_owned());
    for (k, v) in qualifiers {
        if !v.is_empty() {
            let _ = p.add_qualifier((*k).to_owned(), (*v).to_owned());
        }
    }
    p.to_string()
}

/// A lockfile whose records are not in its format's shape (a list where a
/// table belongs, a package with no version): the packages it names are
/// unknown, which the scan must say rather than count as none.
pub(crate) fn malformed(found: &mut Found, path: &str, what: impl Into<String>) {
    found.warnings.push(Warning {
        path: path.to_owned(),
        line: None,
        message: what.into(),
        unread: Some(crate::Unread::Inventory),
    });
}

/// Parses a JSON file; a parse error becomes a warning naming the file and line.
pub(crate) fn json_or_warn<T: serde::de::DeserializeOwned>(
    path: &str,
    data: &[u8],
    found: &mut Found,
) -> Option<T> {
    match serde_json::from_slice(data) {
        Ok(v) => Some(v),
        Err(e) => {
            found.warnings.push(Warning {
                path: path.to_owned(),
                line: Some(e.line()),
                message: format!("invalid JSON: {e}"),
                unread: Some(crate::Unread::Inventory),
            });
            None
        }
    }
}

/// Parses a TOML file; a parse error becomes a warning naming the file and line.
pub(crate) fn toml_or_warn<T: serde::de::DeserializeOwned>(
    path: &str,
    data: &[u8],
    found: &mut Found,
) -> Option<T> {
    let text = String::from_utf8_lossy(data);
    match toml::from_str::<T>(&text) {
        Ok(t) => Some(t),
        Err(e) => {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            found.warnings.push(Warning {
                path: path.to_owned(),
                line,
                message: format!("invalid TOML: {}", e.message()),
                unread: Some(crate::Unread::Inventory),
            });
            None
        }
    }
}

/// An npm package URL: a scope (`@babel/core`) is the namespace.
pub(crate) fn npm_purl(name: &str, version: &str) -> String {
    match name.split_once('/') {
        Some((scope, base)) if scope.starts_with('@') => {
            purl("npm", Some(scope), base, version, &[])
        }
        _ => purl("npm", None, name, version, &[]),
    }
}

/// Reads RFC 822-style headers (`Key: value`, continuation lines indented):
/// dpkg status stanzas and Python METADATA. Returns (fields, line of each field).
pub(crate) fn headers(block: &str) -> Vec<(String, String, usize)> {
    let mut out: Vec<(String, String, usize)> = Vec::new();
    for (i, line) in block.lines().enumerate() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push('\n');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_owned(), v.trim().to_owned(), i));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lockfile in the wrong shape is named unread (the scan is then
    /// incomplete), never read as one that lists nothing.
    #[test]
    fn lockfiles_in_the_wrong_shape_are_unread_not_empty() {
        for (name, path, text) in [
            ("php/composer", "/a/composer.lock", r#"{"packages": 5}"#),
            (
                "python/pipfile-lock",
                "/a/Pipfile.lock",
                r#"{"default": []}"#,
            ),
            (
                "python/toml-lock",
                "/a/poetry.lock",
                "[[package]]\nname = \"django\"\n",
            ),
            (
                "javascript/pnpm-lock",
                "/a/pnpm-lock.yaml",
                "just a string\n",
            ),
            (
                "javascript/package-lock",
                "/a/package-lock.json",
                r#"{"lockfileVersion": 3, "packages": {"node_modules/lodash": {"version": 4}}}"#,
            ),
        ] {
            let found = run_one(name, path, text.as_bytes()).unwrap();
            assert!(
                found
                    .warnings
                    .iter()
                    .any(|w| w.unread == Some(crate::Unread::Inventory)),
                "{name}: {:?}",
                found.warnings
            );
        }
        // Aliases resolve to the package installed; pnpm 5's scoped keys read.
        let v1 = r#"{"lockfileVersion": 1, "dependencies": {"my-lodash": {"version": "npm:lodash@4.17.11"}, "@s/alias": {"version": "npm:@babel/core@7.0.0"}}}"#;
        let found = run_one(
            "javascript/package-lock",
            "/a/package-lock.json",
            v1.as_bytes(),
        )
        .unwrap();
        let mut got: Vec<(&str, &str)> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        got.sort_unstable();
        assert_eq!(got, [("@babel/core", "7.0.0"), ("lodash", "4.17.11")]);
        let pnpm5 = "lockfileVersion: 5.4\npackages:\n  /@babel/core/7.0.0:\n    dev: false\n  /lodash/4.17.21:\n    dev: false\n";
        let found = run_one(
            "javascript/pnpm-lock",
            "/a/pnpm-lock.yaml",
            pnpm5.as_bytes(),
        )
        .unwrap();
        let got: Vec<(&str, &str)> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(got, [("@babel/core", "7.0.0"), ("lodash", "4.17.21")]);
    }

    #[test]
    fn extractor_names_are_unique_and_listed() {
        let names: Vec<&str> = all().iter().map(|e| e.name()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            names.len(),
            "duplicate extractor name in {names:?}"
        );
        assert_eq!(
            sorted,
            [
                "dotnet/deps",
                "go/binary",
                "go/go-mod",
                "java/archive",
                "java/pom-xml",
                "javascript/node-modules",
                "javascript/package-lock",
                "javascript/pnpm-lock",
                "javascript/yarn-lock",
                "os/apk",
                "os/dpkg",
                "os/rpm",
                "php/composer",
                "python/dist-info",
                "python/pipfile-lock",
                "python/requirements",
                "python/toml-lock",
                "ruby/gemfile-lock",
                "ruby/gemspec",
                "rust/auditable-binary",
                "rust/cargo-lock"
            ]
        );
    }

    #[test]
    fn purls_encode_scopes_and_sort_qualifiers() {
        assert_eq!(
            purl("npm", Some("@babel"), "core", "7.0.0", &[]),
            "pkg:npm/%40babel/core@7.0.0"
        );
        assert_eq!(
            purl(
                "deb",
                Some("debian"),
                "libc6",
                "2.36-9+deb12u14",
                &[("distro", "debian-12"), ("arch", "amd64")]
            ),
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12"
        );
    }
}
