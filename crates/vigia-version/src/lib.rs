//! Version parsing and a total order for every scheme Vigia matches.
//!
//! One module per scheme. [`Version::parse`] returns an error for a string the
//! scheme rejects, so an invalid version never silently compares as equal to
//! anything. Comparison is only meaningful within one scheme; versions of two
//! schemes order by scheme first.
//!
//! PEP 440 uses `pep440_rs` (exact against packaging's vectors); the others are
//! written here because no maintained crate implements them exactly (dpkg's `~`
//! and epochs, rpmvercmp's `^`, apk's suffix table, Maven's ComparableVersion,
//! npm's loose forms, NuGet's case-insensitive labels).

use vigia_model::Ecosystem;

pub mod apk;
pub mod composer;
pub mod dpkg;
pub mod gomod;
pub mod maven;
pub mod nuget;
pub mod pep440;
pub mod rpm;
pub mod rubygems;
pub mod semver;

use std::cmp::Ordering;
use std::fmt;

/// A version scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// Debian and Ubuntu packages.
    Dpkg,
    /// Red Hat, SUSE, Rocky, Alma… packages.
    Rpm,
    /// Alpine packages.
    Apk,
    /// Python packages.
    Pep440,
    /// SemVer 2.0 with npm's loose forms (npm, crates.io, OSV `SEMVER` ranges).
    Semver,
    /// Go modules.
    Go,
    /// Maven artifacts.
    Maven,
    /// Ruby gems.
    RubyGems,
    /// NuGet packages.
    NuGet,
    /// Composer (Packagist) packages.
    Composer,
}

impl Scheme {
    /// The scheme an OSV ecosystem uses (`Debian:12` → dpkg), if Vigia knows it.
    #[must_use]
    pub fn for_ecosystem(ecosystem: &str) -> Option<Self> {
        Ecosystem::from_osv(ecosystem).and_then(Self::of)
    }

    /// The scheme of an ecosystem's versions (`None` where Vigia has none yet).
    #[must_use]
    pub fn of(ecosystem: Ecosystem) -> Option<Self> {
        use Ecosystem as E;
        Some(match ecosystem {
            E::Debian | E::Ubuntu => Self::Dpkg,
            E::RedHat
            | E::Suse
            | E::OpenSuse
            | E::RockyLinux
            | E::AlmaLinux
            | E::Mageia
            | E::OpenEuler => Self::Rpm,
            E::Alpine | E::Wolfi | E::Chainguard => Self::Apk,
            E::PyPI => Self::Pep440,
            E::Npm | E::CratesIo => Self::Semver,
            E::Go => Self::Go,
            E::Maven => Self::Maven,
            E::RubyGems => Self::RubyGems,
            E::NuGet => Self::NuGet,
            E::Packagist => Self::Composer,
            _ => return None,
        })
    }

    /// A short name for messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Dpkg => "dpkg",
            Self::Rpm => "rpm",
            Self::Apk => "apk",
            Self::Pep440 => "PEP 440",
            Self::Semver => "SemVer",
            Self::Go => "Go module",
            Self::Maven => "Maven",
            Self::RubyGems => "RubyGems",
            Self::NuGet => "NuGet",
            Self::Composer => "Composer",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A version a scheme rejects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme} version {input:?}: {reason}")]
pub struct Error {
    /// The scheme.
    pub scheme: Scheme,
    /// The string given.
    pub input: String,
    /// Why it was rejected.
    pub reason: String,
}

pub(crate) fn err(scheme: Scheme, input: &str, reason: impl Into<String>) -> Error {
    Error {
        scheme,
        input: input.to_owned(),
        reason: reason.into(),
    }
}

/// A parsed version of some scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    /// dpkg.
    Dpkg(dpkg::DpkgVersion),
    /// rpm.
    Rpm(rpm::RpmVersion),
    /// apk.
    Apk(apk::ApkVersion),
    /// PEP 440.
    Pep440(pep440::Pep440Version),
    /// SemVer / npm.
    Semver(semver::SemverVersion),
    /// Go modules.
    Go(gomod::GoVersion),
    /// Maven.
    Maven(maven::MavenVersion),
    /// RubyGems.
    RubyGems(rubygems::GemVersion),
    /// NuGet.
    NuGet(nuget::NuGetVersion),
    /// Composer.
    Composer(composer::ComposerVersion),
}

impl Version {
    /// Parses `input` under `scheme`.
    pub fn parse(scheme: Scheme, input: &str) -> Result<Self, Error> {
        Ok(match scheme {
            Scheme::Dpkg => Self::Dpkg(dpkg::DpkgVersion::parse(input)?),
            Scheme::Rpm => Self::Rpm(rpm::RpmVersion::parse(input)?),
            Scheme::Apk => Self::Apk(apk::ApkVersion::parse(input)?),
            Scheme::Pep440 => Self::Pep440(pep440::Pep440Version::parse(input)?),
            Scheme::Semver => Self::Semver(semver::SemverVersion::parse_loose(input)?),
            Scheme::Go => Self::Go(gomod::GoVersion::parse(input)?),
            Scheme::Maven => Self::Maven(maven::MavenVersion::parse(input)?),
            Scheme::RubyGems => Self::RubyGems(rubygems::GemVersion::parse(input)?),
            Scheme::NuGet => Self::NuGet(nuget::NuGetVersion::parse(input)?),
            Scheme::Composer => Self::Composer(composer::ComposerVersion::parse(input)?),
        })
    }

    /// Parses `input` as a bound of an advisory's range under `scheme`: as
    /// [`Version::parse`], and where a SemVer or Go range names a partial
    /// version (`1`, `1.0`, `v2.1-beta`), with the missing parts zero, as npm's
    /// and Go's range syntax read them (`>=1.0` is `>=1.0.0`). Installed
    /// versions are never completed this way: a package that says `1.0` is not
    /// a valid SemVer package.
    pub fn parse_bound(scheme: Scheme, input: &str) -> Result<Self, Error> {
        let first = Self::parse(scheme, input);
        if first.is_ok() || !matches!(scheme, Scheme::Semver | Scheme::Go) {
            return first;
        }
        match semver::complete_partial(input) {
            Some(full) => Self::parse(scheme, &full).map_err(|_| first.unwrap_err()),
            None => first,
        }
    }

    /// The scheme of this version.
    #[must_use]
    pub fn scheme(&self) -> Scheme {
        match self {
            Self::Dpkg(_) => Scheme::Dpkg,
            Self::Rpm(_) => Scheme::Rpm,
            Self::Apk(_) => Scheme::Apk,
            Self::Pep440(_) => Scheme::Pep440,
            Self::Semver(_) => Scheme::Semver,
            Self::Go(_) => Scheme::Go,
            Self::Maven(_) => Scheme::Maven,
            Self::RubyGems(_) => Scheme::RubyGems,
            Self::NuGet(_) => Scheme::NuGet,
            Self::Composer(_) => Scheme::Composer,
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Dpkg(a), Self::Dpkg(b)) => a.cmp(b),
            (Self::Rpm(a), Self::Rpm(b)) => a.cmp(b),
            (Self::Apk(a), Self::Apk(b)) => a.cmp(b),
            (Self::Pep440(a), Self::Pep440(b)) => a.cmp(b),
            (Self::Semver(a), Self::Semver(b)) => a.cmp(b),
            (Self::Go(a), Self::Go(b)) => a.cmp(b),
            (Self::Maven(a), Self::Maven(b)) => a.cmp(b),
            (Self::RubyGems(a), Self::RubyGems(b)) => a.cmp(b),
            (Self::NuGet(a), Self::NuGet(b)) => a.cmp(b),
            (Self::Composer(a), Self::Composer(b)) => a.cmp(b),
            _ => self.scheme().cmp(&other.scheme()),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two version strings under a scheme.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, Error> {
    Ok(Version::parse(scheme, a)?.cmp(&Version::parse(scheme, b)?))
}

/// Compares two numeric strings of any length (no overflow): leading zeros ignored.
pub(crate) fn cmp_numeric(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(scheme: Scheme, s: &str) -> Version {
        Version::parse_bound(scheme, s).unwrap()
    }

    #[test]
    fn partial_range_bounds_have_zeros_for_missing_parts() {
        let semver = |s| Version::parse(Scheme::Semver, s).unwrap();
        assert_eq!(bound(Scheme::Semver, "1.0"), semver("1.0.0"));
        assert_eq!(bound(Scheme::Semver, "2"), semver("2.0.0"));
        assert_eq!(bound(Scheme::Semver, "v1.2"), semver("1.2.0"));
        assert_eq!(bound(Scheme::Semver, "1.2-rc.1"), semver("1.2.0-rc.1"));
        assert!(bound(Scheme::Semver, "1.2-rc.1") < semver("1.2.0"));
        let go = |s| Version::parse(Scheme::Go, s).unwrap();
        assert_eq!(bound(Scheme::Go, "1.21"), go("v1.21.0"));
        // Not partial versions: still rejected, with the scheme's own reason.
        for bad in ["1.x", "", "v", "1..2", "1.2.3.4", "latest"] {
            let e = Version::parse_bound(Scheme::Semver, bad).unwrap_err();
            assert_eq!(e.input, bad);
        }
        // Installed versions are never completed.
        assert!(Version::parse(Scheme::Semver, "1.0").is_err());
    }
}
