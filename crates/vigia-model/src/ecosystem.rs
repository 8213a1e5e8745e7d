//! Ecosystems as OSV names them, and package-name normalisation per ecosystem.

use std::fmt;

/// An OSV ecosystem, split into its base (`Debian`) and release suffix (`12`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ecosystem {
    /// The full OSV string (`Debian:12`, `Alpine:v3.20`, `PyPI`).
    pub full: String,
}

impl Ecosystem {
    /// Wraps an OSV ecosystem string.
    #[must_use]
    pub fn new(full: impl Into<String>) -> Self {
        Self { full: full.into() }
    }

    /// The part before the first `:` (`Debian` for `Debian:12`).
    #[must_use]
    pub fn base(&self) -> &str {
        base_of(&self.full)
    }

    /// The release after the first `:`, if any (`12` for `Debian:12`).
    #[must_use]
    pub fn release(&self) -> Option<&str> {
        self.full.split_once(':').map(|(_, r)| r)
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full)
    }
}

/// The base ecosystem of an OSV ecosystem string (`Debian` for `Debian:12`).
#[must_use]
pub fn base_of(ecosystem: &str) -> &str {
    ecosystem.split_once(':').map_or(ecosystem, |(b, _)| b)
}

/// Normalises a package name the way its ecosystem compares names, so that the
/// same package spelled two ways (`Jinja2` and `jinja2`) is one key.
///
/// - `PyPI`: PEP 503 (lowercase, runs of `-`, `_`, `.` become one `-`).
/// - crates.io: crate names are unique ignoring case and `-`/`_`.
/// - `NuGet`, Packagist, Pub, Hex: names are case-insensitive.
/// - npm, Maven, Go, `RubyGems` and the distros: case-sensitive, kept as is
///   (npm's legacy mixed-case names such as `JSONStream` are distinct packages).
#[must_use]
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    match base_of(ecosystem) {
        "PyPI" => {
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
        "crates.io" => name.trim().to_ascii_lowercase().replace('_', "-"),
        "NuGet" | "Packagist" | "Pub" | "Hex" => name.trim().to_lowercase(),
        _ => name.trim().to_owned(),
    }
}

/// The ecosystems whose osv.dev export Vigia fetches by default.
pub const DEFAULT_OSV_ECOSYSTEMS: &[&str] = &[
    "Debian",
    "Ubuntu",
    "Alpine",
    "Red Hat",
    "SUSE",
    "PyPI",
    "npm",
    "crates.io",
    "Go",
    "Maven",
    "RubyGems",
    "NuGet",
    "Packagist",
];

#[cfg(test)]
mod tests {
    use super::*;

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
        let e = Ecosystem::new("Alpine:v3.20");
        assert_eq!(e.base(), "Alpine");
        assert_eq!(e.release(), Some("v3.20"));
        assert_eq!(Ecosystem::new("PyPI").release(), None);
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
