//! Vigia's inventory: packages from images, root filesystems, function zips and folders.
//!
//! A source ([`source`]) reads its files once, as streams, and keeps only the
//! files some extractor wants, with the layer each came from; whiteouts are
//! applied so the result is the final filesystem ([`fsview::FsView`]). The
//! extractors ([`extract`]) then turn those files into [`Package`]s. Nothing is
//! written to disk; bad input (a truncated layer, a digest mismatch, a path that
//! escapes the root) is an error or a warning naming the input, never a panic.

pub mod cache;
pub mod extract;
pub mod fsview;
pub mod host;
pub mod redact;
pub mod source;
pub mod yaml;

use serde::{Deserialize, Serialize};

/// Errors that stop an inventory (a resource that cannot be read at all).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file or blob.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The input is not what it claims to be.
    #[error("{path}: {reason}")]
    Invalid {
        /// The input.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn invalid(path: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Invalid {
        path: path.into(),
        reason: reason.into(),
    }
}

/// One installed package.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Package {
    /// The package type as purl names it: `deb`, `apk`, `rpm`, `pypi`, `npm`, `cargo`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Name as the ecosystem spells it (npm scope included: `@scope/name`).
    pub name: String,
    /// Installed version.
    pub version: String,
    /// Package URL.
    pub purl: String,
    /// The file it was found in (absolute inside the resource).
    pub path: String,
    /// The image layer (diff_id) that introduced it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Source package (dpkg `Source:`, apk origin, source rpm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Source package version when it differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// Architecture, for OS packages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Licence as the package declares it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// The extractor that found it.
    pub found_by: String,
    /// Named by a manifest or lockfile whose project has an installed
    /// environment that lacks it (never installed, removed by a later layer,
    /// uninstalled, or installed at another version): declared, not installed.
    /// Left out of inventories unless asked (`--include-declared`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub declared: bool,
    /// A development dependency (`dev: true` in package-lock, Pipfile's
    /// `develop`, Poetry's dev groups). Left out of image, host and function
    /// findings unless asked (`--include-dev`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dev: bool,
    /// How its identity was read, where formats differ in how sure that is
    /// (Java archives: `pom.properties`, then `manifest`, then `file-name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// For a lockfile entry, the folder it installs to (`/app/node_modules/a`),
    /// to check against what is installed; not part of any output.
    #[serde(skip)]
    pub install_dir: Option<String>,
}

impl Package {
    /// A package with no source package, architecture, licence or layer yet.
    #[must_use]
    pub fn new(
        kind: &str,
        name: &str,
        version: &str,
        purl: String,
        path: &str,
        found_by: &str,
    ) -> Self {
        Self {
            kind: kind.to_owned(),
            name: name.to_owned(),
            version: version.to_owned(),
            purl,
            path: path.to_owned(),
            layer: None,
            source_name: None,
            source_version: None,
            arch: None,
            license: None,
            found_by: found_by.to_owned(),
            declared: false,
            dev: false,
            evidence: None,
            install_dir: None,
        }
    }
}

/// The operating system of a resource.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct OsInfo {
    /// `ID` of os-release (`debian`, `alpine`, `ubuntu`).
    pub id: String,
    /// `VERSION_ID` of os-release.
    pub version_id: String,
    /// `PRETTY_NAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
    /// `VERSION_CODENAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codename: Option<String>,
    /// The OSV ecosystem of its packages (`Debian:12`, `Alpine:v3.18`), when Vigia knows the OS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub osv_ecosystem: Option<String>,
    /// Whether Vigia can match this OS's packages against advisories, and if not, why.
    pub coverage: String,
}

/// A problem with one file: the rest of the inventory still comes back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Warning {
    /// The file (and layer, for images).
    pub path: String,
    /// The line, when the problem is at one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// Set when the file could not be read at all: the packages it lists are
    /// unknown, which a scan must say rather than count as none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<Unread>,
}

/// What kind of input could not be read.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Unread {
    /// A package database, lockfile or manifest: the resource's main record
    /// of what is installed.
    Inventory,
    /// An executable or an archive whose embedded package data is unknown.
    Binary,
}

impl Unread {
    /// The kind of a wanted file that could not be read, by its path.
    #[must_use]
    pub fn of_path(path: &str) -> Self {
        let lower = path.to_ascii_lowercase();
        let archive = [".jar", ".war", ".ear", ".par", ".hpi", ".jpi", ".kar"]
            .iter()
            .any(|e| lower.ends_with(e));
        if archive {
            Self::Binary
        } else {
            Self::Inventory
        }
    }
}

impl Warning {
    /// A file that could not be read at all.
    #[must_use]
    pub fn unread(path: impl Into<String>, message: impl Into<String>) -> Self {
        let path = path.into();
        Self {
            unread: Some(Unread::of_path(&path)),
            path,
            line: None,
            message: message.into(),
        }
    }
}

/// What the scan of one resource did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ScanStatus {
    /// Extractors that found their files, with the number of packages each found.
    pub extractors: Vec<(String, usize)>,
    /// Files that could not be read or parsed.
    pub warnings: Vec<Warning>,
    /// Trees of the resource that were not read, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<source::scope::Skipped>,
}

/// An inventory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Inventory {
    /// What was scanned, as the user named it.
    pub target: String,
    /// `image`, `rootfs`, `function`, `directory`.
    pub kind: String,
    /// Image details, for images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<source::ImageInfo>,
    /// The OS, when one was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<OsInfo>,
    /// Packages, sorted.
    pub packages: Vec<Package>,
    /// What ran and what failed.
    pub status: ScanStatus,
    /// For a root filesystem: its listening sockets and firewall rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<host::HostFacts>,
}

/// Which packages an inventory keeps besides what is installed and used at
/// run time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Selection {
    /// Keep packages a manifest names but its installed environment lacks
    /// (marked [`Package::declared`]).
    pub declared: bool,
    /// Keep development dependencies (marked [`Package::dev`]).
    pub dev: bool,
}

impl Inventory {
    /// Leaves out the declared-only and development packages that `keep`
    /// does not ask for, and says so in the warnings: per manifest, how many
    /// and which, and the flag that keeps them. Nothing is left out silently.
    pub fn select(&mut self, keep: Selection) {
        let mut left: std::collections::BTreeMap<(String, &'static str), Vec<String>> =
            std::collections::BTreeMap::new();
        self.packages.retain(|p| {
            let why = if p.declared && !keep.declared {
                "declared"
            } else if p.dev && !keep.dev {
                "dev"
            } else {
                return true;
            };
            left.entry((p.path.clone(), why))
                .or_default()
                .push(format!("{} {}", p.name, p.version));
            false
        });
        for ((path, why), names) in left {
            let message = if why == "declared" {
                format!(
                    "{} packages named here are not installed in the project's environment (or at another version), left out: {} (--include-declared keeps them)",
                    names.len(),
                    names.join(", ")
                )
            } else {
                format!(
                    "{} development dependencies left out: {} (--include-dev keeps them)",
                    names.len(),
                    names.join(", ")
                )
            };
            self.status.warnings.push(Warning {
                path,
                line: None,
                message,
                unread: None,
            });
        }
    }
}

/// Limits against hostile input.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest single file kept for an extractor.
    pub max_file_bytes: u64,
    /// The most bytes a compressed stream may inflate to.
    pub max_inflated_bytes: u64,
    /// The highest inflated/compressed ratio of a zip entry.
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 64 << 20,
            max_inflated_bytes: 32 << 30,
            max_ratio: 1000,
        }
    }
}

/// Where the package database of an OS Vigia matches is kept, and why its
/// absence matters, when the inventory holds the OS's release file and its
/// database's extractor found nothing to read.
fn missing_os_database(inv: &Inventory) -> Option<(&'static str, String)> {
    let os = inv.os.as_ref()?;
    let eco = os.osv_ecosystem.as_deref()?;
    let (db, extractor) = match eco.split(':').next() {
        Some("Debian" | "Ubuntu") => ("/var/lib/dpkg/status", "os/dpkg"),
        Some("Alpine") => ("/lib/apk/db/installed", "os/apk"),
        _ => return None,
    };
    // Found and read, even empty: nothing is missing.
    if inv
        .status
        .extractors
        .iter()
        .any(|(name, _)| name == extractor)
    {
        return None;
    }
    let name = os.pretty_name.as_deref().unwrap_or(&os.id);
    Some((
        db,
        format!(
            "{name} keeps its package database here, and none was read (it is missing, or behind a link to a folder Vigia does not follow): the OS's packages are not evaluated"
        ),
    ))
}

/// Builds the inventory of a target: an OCI layout folder, a `docker save`
/// archive, a root filesystem folder or tarball, a function zip, or a folder.
pub fn inventory(target: &std::path::Path, opts: &source::Options) -> Result<Inventory> {
    let (kind, view, image) = source::open(target, opts)?;
    let mut inv = extract::run(&view);
    // A package database or lockfile that is a link to a file not read (in
    // an image layer or tarball, its target is kept only when it is itself
    // a file Vigia reads) is named, never taken for absent. A folder's
    // walk follows such links itself, and names those it cannot.
    if kind == "image" || !target.is_dir() {
        let name = target.display();
        inv.status
            .warnings
            .extend(
                view.unresolved_links(extract::wants)
                    .into_iter()
                    .map(|(link, to)| {
                        Warning::unread(
                            format!("{name}:{link}"),
                            format!("a symbolic link to {to}, whose file was not read"),
                        )
                    }),
            );
    }
    // An OS whose packages Vigia matches, with none of its package
    // database's: the database is elsewhere (behind a link to a folder Vigia
    // does not follow) or gone. Either way the OS's packages were not
    // evaluated, and the scan must not read as clean.
    if let Some((db, why)) = missing_os_database(&inv) {
        let at = if kind == "image" || !target.is_dir() {
            format!("{}:{db}", target.display())
        } else {
            db.to_owned()
        };
        inv.status.warnings.push(Warning::unread(at, why));
    }
    inv.status.skipped = opts.scope.skipped(source::is_live_root(target));
    inv.target = target.display().to_string();
    inv.kind = kind.to_owned();
    inv.image = image;
    if kind == "rootfs" {
        inv.host = Some(host::facts(&view, source::is_live_root(target)));
    }
    inv.status
        .warnings
        .splice(0..0, view.warnings.iter().cloned());
    Ok(inv)
}
