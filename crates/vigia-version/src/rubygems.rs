//! RubyGems versions (`Gem::Version`): numeric and alphabetic segments, any
//! letter starts a pre-release, `-` reads as `.pre.`, trailing zeros ignored.

use std::cmp::Ordering;
use std::fmt;

use crate::{Error, Scheme, cmp_numeric, err};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Num(String),
    Str(String),
}

/// A gem version.
#[derive(Debug, Clone)]
pub struct GemVersion {
    original: String,
    canonical: Vec<Seg>,
}

fn valid(s: &str) -> bool {
    // Gem::Version::ANCHORED_VERSION_PATTERN: [0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?
    let (main, pre) = match s.split_once('-') {
        Some((m, p)) => (m, Some(p)),
        None => (s, None),
    };
    let mut parts = main.split('.');
    let first_ok = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    first_ok
        && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        && pre.is_none_or(|p| {
            p.split('.')
                .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        })
}

impl GemVersion {
    /// Parses as `Gem::Version.new` does (a blank string is `0`).
    pub fn parse(input: &str) -> Result<Self, Error> {
        let s = input.trim();
        let s = if s.is_empty() { "0" } else { s };
        if !valid(s) {
            return Err(err(
                Scheme::RubyGems,
                input,
                "malformed version number string",
            ));
        }
        let expanded = s.replace('-', ".pre.");
        let mut segs = Vec::new();
        let b = expanded.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let start = i;
            if b[i].is_ascii_digit() {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let t = expanded[start..i].trim_start_matches('0');
                segs.push(Seg::Num(if t.is_empty() {
                    "0".into()
                } else {
                    t.to_owned()
                }));
            } else if b[i].is_ascii_alphabetic() {
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                segs.push(Seg::Str(expanded[start..i].to_owned()));
            } else {
                i += 1;
            }
        }
        // canonical_segments: numeric and string parts, each without trailing zeros.
        let split = segs
            .iter()
            .position(|s| matches!(s, Seg::Str(_)))
            .unwrap_or(segs.len());
        let (nums, strs) = segs.split_at(split);
        let trim = |v: &[Seg]| {
            let mut v = v.to_vec();
            while matches!(v.last(), Some(Seg::Num(n)) if n == "0") {
                v.pop();
            }
            v
        };
        let mut canonical = trim(nums);
        canonical.extend(trim(strs));
        Ok(Self {
            original: s.to_owned(),
            canonical,
        })
    }
}

impl Ord for GemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Seg::Num("0".into());
        for i in 0..self.canonical.len().max(other.canonical.len()) {
            let l = self.canonical.get(i).unwrap_or(&zero);
            let r = other.canonical.get(i).unwrap_or(&zero);
            let c = match (l, r) {
                (Seg::Num(a), Seg::Num(b)) => cmp_numeric(a, b),
                (Seg::Str(_), Seg::Num(_)) => Ordering::Less,
                (Seg::Num(_), Seg::Str(_)) => Ordering::Greater,
                (Seg::Str(a), Seg::Str(b)) => a.cmp(b),
            };
            if c != Ordering::Equal {
                return c;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for GemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for GemVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for GemVersion {}

impl fmt::Display for GemVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}
