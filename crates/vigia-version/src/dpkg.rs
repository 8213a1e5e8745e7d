//! Debian package versions: `[epoch:]upstream[-revision]`, compared as dpkg does
//! (`verrevcmp`: `~` sorts before everything, even the end; letters before other
//! characters; digit runs numerically).

use std::cmp::Ordering;
use std::fmt;

use crate::{Error, Scheme, err};

/// A parsed dpkg version.
#[derive(Debug, Clone)]
pub struct DpkgVersion {
    /// The epoch (0 when absent).
    pub epoch: u64,
    /// The upstream version.
    pub upstream: String,
    /// The Debian revision (empty when absent; compares like `0`).
    pub revision: String,
    had_epoch: bool,
}

impl DpkgVersion {
    /// Parses a dpkg version strictly: an epoch must be a number, the upstream
    /// part must start with a digit, and only the characters Debian Policy allows
    /// may appear.
    pub fn parse(input: &str) -> Result<Self, Error> {
        Self::parse_inner(input, true)
    }

    /// Parses as `dpkg --compare-versions` does: an upstream part that does not
    /// start with a digit is accepted (dpkg only warns).
    pub fn parse_lenient(input: &str) -> Result<Self, Error> {
        Self::parse_inner(input, false)
    }

    fn parse_inner(input: &str, strict: bool) -> Result<Self, Error> {
        let e = |r: &str| err(Scheme::Dpkg, input, r);
        let s = input.trim();
        if s.is_empty() {
            return Err(e("empty version"));
        }
        if s.chars().any(char::is_whitespace) {
            return Err(e("embedded whitespace"));
        }
        let (epoch, had_epoch, rest) = match s.split_once(':') {
            Some((ep, rest)) => {
                if ep.is_empty() || !ep.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(e("epoch is not a number"));
                }
                let epoch: u64 = ep.parse().map_err(|_| e("epoch is too large"))?;
                (epoch, true, rest)
            }
            None => (0, false, s),
        };
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((u, r)) => {
                if r.is_empty() {
                    return Err(e("empty revision"));
                }
                (u, r)
            }
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err(e("empty upstream version"));
        }
        if strict && !upstream.as_bytes()[0].is_ascii_digit() {
            return Err(e("upstream version does not start with a digit"));
        }
        if let Some(c) = upstream
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~' | '-' | ':')))
        {
            return Err(e(&format!("invalid character {c:?} in upstream version")));
        }
        if let Some(c) = revision
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~')))
        {
            return Err(e(&format!("invalid character {c:?} in revision")));
        }
        Ok(Self {
            epoch,
            upstream: upstream.to_owned(),
            revision: revision.to_owned(),
            had_epoch,
        })
    }
}

/// dpkg's character weight in non-digit runs.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`.
#[must_use]
pub fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let mut first_diff = 0;
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied());
            let bc = order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == 0 {
                first_diff = i32::from(a[i]) - i32::from(b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    Ordering::Equal
}

impl Ord for DpkgVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(&self.upstream, &other.upstream))
            .then_with(|| verrevcmp(&self.revision, &other.revision))
    }
}

impl PartialOrd for DpkgVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for DpkgVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for DpkgVersion {}

impl fmt::Display for DpkgVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.had_epoch || self.epoch != 0 || self.upstream.contains(':') {
            write!(f, "{}:", self.epoch)?;
        }
        f.write_str(&self.upstream)?;
        if !self.revision.is_empty() {
            write!(f, "-{}", self.revision)?;
        }
        Ok(())
    }
}
