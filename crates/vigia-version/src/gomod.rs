//! Go module versions (golang.org/x/mod/semver): a leading `v` is required, `v1`
//! and `v1.2` stand for `v1.0.0` and `v1.2.0` (without pre-release or build),
//! build metadata (`+incompatible`) is ignored, and pseudo-versions are ordinary
//! pre-releases. Go's own `Compare` ranks invalid strings below everything; Vigia
//! rejects them instead, so a bad version is reported, never matched.

use std::fmt;

use crate::semver::SemverVersion;
use crate::{Error, Scheme, err};

/// A Go module version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoVersion(SemverVersion);

impl GoVersion {
    /// Parses a Go module version. OSV's Go records also use versions without the
    /// `v` (`1.21.0` for the toolchain and stdlib), so a missing `v` is accepted
    /// for full three-part versions.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let e = |r: &str| err(Scheme::Go, input, r);
        let s = input;
        let body = match s.strip_prefix('v') {
            Some(b) => b,
            None if s.bytes().next().is_some_and(|b| b.is_ascii_digit())
                && s.split(['-', '+'])
                    .next()
                    .is_some_and(|c| c.matches('.').count() == 2) =>
            {
                s
            }
            None => return Err(e("a Go version starts with `v`")),
        };
        let core_end = body.find(['-', '+']).unwrap_or(body.len());
        let dots = body[..core_end].matches('.').count();
        let full = match dots {
            0 | 1 if core_end != body.len() => {
                return Err(e("a shorthand version cannot carry a pre-release or build"));
            }
            0 => format!("{body}.0.0"),
            1 => format!("{body}.0"),
            _ => body.to_owned(),
        };
        SemverVersion::parse_strict(&full)
            .map(Self)
            .map_err(|x| e(&x.reason))
    }
}

impl fmt::Display for GoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}
