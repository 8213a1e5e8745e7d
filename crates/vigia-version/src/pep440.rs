//! PEP 440 versions, through `pep440_rs` (uv's implementation): normalisation,
//! epochs, pre/post/dev releases and local versions exactly as `packaging` does.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::{Error, Scheme, err};

/// A PEP 440 version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pep440Version(pub pep440_rs::Version);

impl Pep440Version {
    /// Parses and normalises (`1.0-dev` → `1.0.dev0`, `v1.0` → `1.0`).
    pub fn parse(input: &str) -> Result<Self, Error> {
        // packaging strips any Unicode whitespace around the version.
        let s = input.trim();
        pep440_rs::Version::from_str(s)
            .map(Self)
            .map_err(|e| err(Scheme::Pep440, input, e.to_string()))
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Pep440Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
