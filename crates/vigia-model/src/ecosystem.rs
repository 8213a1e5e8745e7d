//! Ecosystems as OSV names them, and package-name normalisation per ecosystem.

use std::fmt;

/// An ecosystem Vigia knows: the part of an OSV ecosystem string before its
/// release (`Debian` in `Debian:12`). One table gives every name each part of
/// Vigia needs: OSV's spelling, the inventory's package type (purl type), what
/// people type, and how names compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Ecosystem {
    /// Debian (dpkg).
    Debian,
    /// Ubuntu (dpkg).
    Ubuntu,
    /// Alpine Linux (apk).
    Alpine,
    /// Wolfi (apk).
    Wolfi,
    /// Chainguard (apk).
    Chainguard,
    /// Red Hat Enterprise Linux (rpm).
    RedHat,
    /// SUSE Linux Enterprise (rpm).
    Suse,
    /// openSUSE (rpm).
    OpenSuse,
    /// Rocky Linux (rpm).
    RockyLinux,
    /// AlmaLinux (rpm).
    AlmaLinux,
    /// Mageia (rpm).
    Mageia,
    /// openEuler (rpm).
    OpenEuler,
    /// Python packages.
    PyPI,
    /// JavaScript packages.
    Npm,
    /// Rust crates.
    CratesIo,
    /// Go modules.
    Go,
    /// Java (Maven Central) packages.
    Maven,
    /// Ruby gems.
    RubyGems,
    /// .NET packages.
    NuGet,
    /// PHP (Composer) packages.
    Packagist,
    /// Dart packages.
    Pub,
    /// Erlang and Elixir packages.
    Hex,
}

impl Ecosystem {
    /// Every ecosystem, in OSV's order of this enum.
    pub const ALL: &'static [Self] = &[
        Self::Debian,
        Self::Ubuntu,
        Self::Alpine,
        Self::Wolfi,
        Self::Chainguard,
        Self::RedHat,
        Self::Suse,
        Self::OpenSuse,
        Self::RockyLinux,
        Self::AlmaLinux,
        Self::Mageia,
        Self::OpenEuler,
        Self::PyPI,
        Self::Npm,
        Self::CratesIo,
        Self::Go,
        Self::Maven,
        Self::RubyGems,
        Self::NuGet,
        Self::Packagist,
        Self::Pub,
        Self::Hex,
    ];

    /// The ecosystems whose osv.dev export Vigia fetches by default.
    pub const DEFAULT_FEEDS: &'static [Self] = &[
        Self::Debian,
        Self::Ubuntu,
        Self::Alpine,
        Self::RedHat,
        Self::Suse,
        Self::PyPI,
        Self::Npm,
        Self::CratesIo,
        Self::Go,
        Self::Maven,
        Self::RubyGems,
        Self::NuGet,
        Self::Packagist,
    ];

    /// OSV's spelling (`Red Hat`, `crates.io`), which is also osv.dev's export
    /// folder name.
    #[must_use]
    pub fn osv_name(self) -> &'static str {
        match self {
            Self::Debian => "Debian",
            Self::Ubuntu => "Ubuntu",
            Self::Alpine => "Alpine",
            Self::Wolfi => "Wolfi",
            Self::Chainguard => "Chainguard",
            Self::RedHat => "Red Hat",
            Self::Suse => "SUSE",
            Self::OpenSuse => "openSUSE",
            Self::RockyLinux => "Rocky Linux",
            Self::AlmaLinux => "AlmaLinux",
            Self::Mageia => "Mageia",
            Self::OpenEuler => "openEuler",
            Self::PyPI => "PyPI",
            Self::Npm => "npm",
            Self::CratesIo => "crates.io",
            Self::Go => "Go",
            Self::Maven => "Maven",
            Self::RubyGems => "RubyGems",
            Self::NuGet => "NuGet",
            Self::Packagist => "Packagist",
            Self::Pub => "Pub",
            Self::Hex => "Hex",
        }
    }

    /// The ecosystem of an OSV ecosystem string, with or without its release
    /// (`Debian:12`, `Red Hat:enterprise_linux:9::appstream`, `PyPI`), spelled
    /// as OSV spells it.
    #[must_use]
    pub fn from_osv(ecosystem: &str) -> Option<Self> {
        let base = base_of(ecosystem);
        Self::ALL.iter().copied().find(|e| e.osv_name() == base)
    }

    /// What a person typed: OSV's spelling in any case, or a common name
    /// (`pypi`, `python`, `cargo`, `rust`, `deb`, `rhel`, `composer`, `gem` …).
    #[must_use]
    pub fn from_user(input: &str) -> Option<Self> {
        let lower = input.trim().to_ascii_lowercase();
        let alias = match lower.as_str() {
            "deb" => Some(Self::Debian),
            "apk" => Some(Self::Alpine),
            "redhat" | "rhel" => Some(Self::RedHat),
            "opensuse" => Some(Self::OpenSuse),
            "rocky" => Some(Self::RockyLinux),
            "alma" => Some(Self::AlmaLinux),
            "python" | "pip" => Some(Self::PyPI),
            "node" => Some(Self::Npm),
            "cargo" | "rust" => Some(Self::CratesIo),
            "golang" => Some(Self::Go),
            "java" => Some(Self::Maven),
            "gem" | "ruby" => Some(Self::RubyGems),
            ".net" | "dotnet" => Some(Self::NuGet),
            "composer" | "php" => Some(Self::Packagist),
            _ => None,
        };
        alias.or_else(|| {
            Self::ALL
                .iter()
                .copied()
                .find(|e| e.osv_name().eq_ignore_ascii_case(&lower))
        })
    }

    /// The ecosystem a language package of inventory type `kind` (its purl
    /// type: `pypi`, `npm`, `cargo`, `golang`, `maven`, `gem`, `composer`,
    /// `nuget`, `pub`, `hex`) is matched in. OS packages (`deb`, `apk`, `rpm`)
    /// are matched in their distro's release, which the package alone does not
    /// say: they give `None` here.
    #[must_use]
    pub fn of_package_type(kind: &str) -> Option<Self> {
        Some(match kind {
            "pypi" => Self::PyPI,
            "npm" => Self::Npm,
            "cargo" => Self::CratesIo,
            "golang" => Self::Go,
            "maven" => Self::Maven,
            "gem" => Self::RubyGems,
            "composer" => Self::Packagist,
            "nuget" => Self::NuGet,
            "pub" => Self::Pub,
            "hex" => Self::Hex,
            _ => return None,
        })
    }

    /// Whether it is a distro (its OSV ecosystem carries a release).
    #[must_use]
    pub fn is_distro(self) -> bool {
        matches!(
            self,
            Self::Debian
                | Self::Ubuntu
                | Self::Alpine
                | Self::Wolfi
                | Self::Chainguard
                | Self::RedHat
                | Self::Suse
                | Self::OpenSuse
                | Self::RockyLinux
                | Self::AlmaLinux
                | Self::Mageia
                | Self::OpenEuler
        )
    }

    /// Normalises a package name the way this ecosystem compares names, so
    /// that the same package spelled two ways (`Jinja2` and `jinja2`) is one key.
    ///
    /// - `PyPI`: PEP 503 (lowercase, runs of `-`, `_`, `.` become one `-`).
    /// - crates.io: crate names are unique ignoring case and `-`/`_`.
    /// - `NuGet`, Packagist, Pub, Hex: names are case-insensitive.
    /// - npm, Maven, Go, `RubyGems` and the distros: case-sensitive, kept as is
    ///   (npm's legacy mixed-case names such as `JSONStream` are distinct packages).
    #[must_use]
    pub fn normalize(self, name: &str) -> String {
        match self {
            Self::PyPI => {
                let mut out = String::with_capacity(name.len());
                let mut in_sep = false;
                for c in name.trim().chars() {
                    if matches!(c, '-' | '_' | '.') {
                        if !in_sep {
                            out.push('-');
                        }
                        in_sep = true;
                    } else {
                        out.extend(c.to_lowercase());
                        in_sep = false;
                    }
                }
                out
            }
            Self::CratesIo => name.trim().to_ascii_lowercase().replace('_', "-"),
            Self::NuGet | Self::Packagist | Self::Pub | Self::Hex => name.trim().to_lowercase(),
            _ => name.trim().to_owned(),
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osv_name())
    }
}

/// The base ecosystem of an OSV ecosystem string (`Debian` for `Debian:12`).
#[must_use]
pub fn base_of(ecosystem: &str) -> &str {
    ecosystem.split_once(':').map_or(ecosystem, |(b, _)| b)
}

/// The release of an OSV ecosystem string, if any (`12` for `Debian:12`).
#[must_use]
pub fn release_of(ecosystem: &str) -> Option<&str> {
    ecosystem.split_once(':').map(|(_, r)| r)
}

/// Normalises a package name for the OSV ecosystem string `ecosystem` (see
/// [`Ecosystem::normalize`]); an ecosystem Vigia does not know keeps the name
/// as it is, trimmed.
#[must_use]
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    match Ecosystem::from_osv(ecosystem) {
        Some(e) => e.normalize(name),
        None => name.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_maps_back() {
        for &e in Ecosystem::ALL {
            assert_eq!(Ecosystem::from_osv(e.osv_name()), Some(e));
            assert_eq!(Ecosystem::from_user(&e.osv_name().to_uppercase()), Some(e));
        }
        assert_eq!(Ecosystem::from_osv("Debian:12"), Some(Ecosystem::Debian));
        assert_eq!(
            Ecosystem::from_osv("Red Hat:enterprise_linux:9::appstream"),
            Some(Ecosystem::RedHat)
        );
        assert_eq!(Ecosystem::from_osv("pypi"), None, "OSV spelling only");
        assert_eq!(Ecosystem::from_user("cargo"), Some(Ecosystem::CratesIo));
        assert_eq!(Ecosystem::from_user("rhel"), Some(Ecosystem::RedHat));
        assert_eq!(Ecosystem::from_user("Hackage"), None);
        assert_eq!(Ecosystem::of_package_type("gem"), Some(Ecosystem::RubyGems));
        assert_eq!(Ecosystem::of_package_type("deb"), None);
        assert!(Ecosystem::Alpine.is_distro() && !Ecosystem::Npm.is_distro());
    }

    #[test]
    fn pep503() {
        assert_eq!(normalize_name("PyPI", "Jinja2"), "jinja2");
        assert_eq!(
            normalize_name("PyPI", "zope.Interface__x"),
            "zope-interface-x"
        );
        assert_eq!(normalize_name("PyPI", "a-_.b"), "a-b");
    }

    #[test]
    fn other_ecosystems() {
        assert_eq!(normalize_name("crates.io", "Serde_JSON"), "serde-json");
        assert_eq!(normalize_name("npm", "JSONStream"), "JSONStream");
        assert_eq!(
            normalize_name("NuGet", "Newtonsoft.Json"),
            "newtonsoft.json"
        );
        assert_eq!(normalize_name("Debian:12", "glibc"), "glibc");
    }

    #[test]
    fn base_and_release() {
        assert_eq!(base_of("Alpine:v3.20"), "Alpine");
        assert_eq!(release_of("Alpine:v3.20"), Some("v3.20"));
        assert_eq!(release_of("PyPI"), None);
        assert_eq!(base_of("Red Hat:enterprise_linux:9::appstream"), "Red Hat");
    }
}

/// A package as advisories name it: its full OSV ecosystem (`Debian:12`,
/// `PyPI`) and its name normalised for that ecosystem ([`normalize_name`]).
/// Change sets and the index from packages to stored inventories use it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct PackageKey {
    /// The full OSV ecosystem, with the release for OS packages.
    pub ecosystem: String,
    /// The package name, normalised for the ecosystem.
    pub name: String,
}

impl PackageKey {
    /// The key of package `name` in `ecosystem`, normalising the name.
    #[must_use]
    pub fn new(ecosystem: &str, name: &str) -> Self {
        Self {
            ecosystem: ecosystem.to_owned(),
            name: normalize_name(ecosystem, name),
        }
    }
}
