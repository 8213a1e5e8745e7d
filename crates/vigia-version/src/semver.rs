//! SemVer 2.0 precedence, with the loose forms npm accepts (`v1.2.3`, `=1.2.3`,
//! surrounding and inner spaces, leading zeros, `1.2.3foo` for `1.2.3-foo`).
//! Build metadata is kept but ignored by the order, as SemVer says. Numbers of
//! any length compare exactly (no overflow).

use std::cmp::Ordering;
use std::fmt;

use crate::{Error, Scheme, cmp_numeric, err};

/// A pre-release identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ident {
    /// Digits only (compared numerically, below any alphanumeric identifier).
    Num(String),
    /// Anything else (compared by ASCII).
    Alpha(String),
}

impl Ord for Ident {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Num(a), Self::Num(b)) => cmp_numeric(a, b),
            (Self::Num(_), Self::Alpha(_)) => Ordering::Less,
            (Self::Alpha(_), Self::Num(_)) => Ordering::Greater,
            (Self::Alpha(a), Self::Alpha(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Ident {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Num(s) | Self::Alpha(s) => f.write_str(s),
        }
    }
}

/// A SemVer version.
#[derive(Debug, Clone)]
pub struct SemverVersion {
    /// Major, minor, patch (digit strings without leading zeros).
    pub core: [String; 3],
    /// Pre-release identifiers.
    pub pre: Vec<Ident>,
    /// Build metadata (ignored by the order).
    pub build: Option<String>,
}

fn ident(s: &str) -> Ident {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        let t = s.trim_start_matches('0');
        Ident::Num(if t.is_empty() {
            "0".into()
        } else {
            t.to_owned()
        })
    } else {
        Ident::Alpha(s.to_owned())
    }
}

fn valid_ident(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl SemverVersion {
    /// Parses strict SemVer 2.0.0 (`1.2.3-pre+build`; no leading zeros).
    pub fn parse_strict(input: &str) -> Result<Self, Error> {
        Self::parse_inner(input, false)
    }

    /// Parses as npm does in loose mode.
    pub fn parse_loose(input: &str) -> Result<Self, Error> {
        Self::parse_inner(input, true)
    }

    fn parse_inner(input: &str, loose: bool) -> Result<Self, Error> {
        let e = |r: &str| err(Scheme::Semver, input, r);
        let mut s: &str = input;
        if loose {
            s = s.trim();
            s = s.strip_prefix('=').unwrap_or(s).trim_start();
            s = s.strip_prefix(['v', 'V']).unwrap_or(s).trim_start();
        }
        if s.is_empty() {
            return Err(e("empty version"));
        }
        let (main, build) = match s.split_once('+') {
            Some((m, b)) => {
                if !b.split('.').all(valid_ident) {
                    return Err(e("invalid build metadata"));
                }
                (m, Some(b.to_owned()))
            }
            None => (s, None),
        };
        // The three numbers: digits separated by dots.
        let bytes = main.as_bytes();
        let mut core: Vec<String> = Vec::with_capacity(3);
        let mut k = 0;
        for n in 0..3 {
            if n > 0 {
                if bytes.get(k) != Some(&b'.') {
                    return Err(e("expected MAJOR.MINOR.PATCH"));
                }
                k += 1;
            }
            let start = k;
            while k < bytes.len() && bytes[k].is_ascii_digit() {
                k += 1;
            }
            let digits = &main[start..k];
            if digits.is_empty() {
                return Err(e("expected MAJOR.MINOR.PATCH"));
            }
            if !loose && digits.len() > 1 && digits.starts_with('0') {
                return Err(e("leading zero in a version number"));
            }
            let t = digits.trim_start_matches('0');
            core.push(if t.is_empty() {
                "0".into()
            } else {
                t.to_owned()
            });
        }
        let rest = &main[k..];
        let pre_str = if let Some(p) = rest.strip_prefix('-') {
            Some(p)
        } else if rest.is_empty() {
            None
        } else if loose && rest.as_bytes()[0].is_ascii_alphabetic() {
            Some(rest)
        } else {
            return Err(e("unexpected characters after the version"));
        };
        let mut pre = Vec::new();
        if let Some(p) = pre_str {
            for id in p.split('.') {
                if !valid_ident(id) {
                    return Err(e("invalid pre-release identifier"));
                }
                if !loose
                    && id.len() > 1
                    && id.starts_with('0')
                    && id.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(e("leading zero in a numeric pre-release identifier"));
                }
                pre.push(ident(id));
            }
        }
        let [a, b, c]: [String; 3] = core.try_into().expect("three parts");
        Ok(Self {
            core: [a, b, c],
            pre,
            build,
        })
    }
}

/// `input` with its missing minor and patch numbers as zeros, when it is a
/// partial version (`1`, `v1.2`, `1.2-rc.1`); `None` for anything else.
#[must_use]
pub fn complete_partial(input: &str) -> Option<String> {
    let s = input.trim();
    let (prefix, body) = match s.strip_prefix(['v', 'V']) {
        Some(b) => (&s[..1], b),
        None => ("", s),
    };
    let core_end = body.find(['-', '+']).unwrap_or(body.len());
    let (core, rest) = body.split_at(core_end);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() >= 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let zeros = ".0".repeat(3 - parts.len());
    Some(format!("{prefix}{core}{zeros}{rest}"))
}

impl Ord for SemverVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        for i in 0..3 {
            let c = cmp_numeric(&self.core[i], &other.core[i]);
            if c != Ordering::Equal {
                return c;
            }
        }
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => self.pre.cmp(&other.pre),
        }
    }
}

impl PartialOrd for SemverVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SemverVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SemverVersion {}

impl fmt::Display for SemverVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.core[0], self.core[1], self.core[2])?;
        if !self.pre.is_empty() {
            let p: Vec<String> = self.pre.iter().map(ToString::to_string).collect();
            write!(f, "-{}", p.join("."))?;
        }
        if let Some(b) = &self.build {
            write!(f, "+{b}")?;
        }
        Ok(())
    }
}
