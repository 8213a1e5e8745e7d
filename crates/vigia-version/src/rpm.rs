//! RPM versions: `[epoch:]version[-release]`, each part compared with rpm 4.18's
//! `rpmvercmp` (`~` sorts before everything, `^` after the end but before any
//! further segment; separators only split segments).

use std::cmp::Ordering;
use std::fmt;

use crate::{Error, Scheme, cmp_numeric, err};

/// A parsed RPM EVR.
#[derive(Debug, Clone)]
pub struct RpmVersion {
    /// The epoch (0 when absent).
    pub epoch: u64,
    /// The version.
    pub version: String,
    /// The release, if given.
    pub release: Option<String>,
}

impl RpmVersion {
    /// Parses `[epoch:]version[-release]`.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let e = |r: &str| err(Scheme::Rpm, input, r);
        let s = input.trim();
        if s.is_empty() {
            return Err(e("empty version"));
        }
        if s.chars().any(char::is_whitespace) {
            return Err(e("embedded whitespace"));
        }
        let (epoch, rest) = match s.split_once(':') {
            Some((ep, rest)) if !ep.is_empty() && ep.bytes().all(|b| b.is_ascii_digit()) => {
                (ep.parse().map_err(|_| e("epoch is too large"))?, rest)
            }
            Some(_) => return Err(e("epoch is not a number")),
            None => (0, s),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((v, r)) if !r.is_empty() => (v, Some(r.to_owned())),
            Some(_) => return Err(e("empty release")),
            None => (rest, None),
        };
        if version.is_empty() {
            return Err(e("empty version"));
        }
        Ok(Self {
            epoch,
            version: version.to_owned(),
            release,
        })
    }
}

/// rpm's `rpmvercmp` on one version or release string.
#[must_use]
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    loop {
        while i < a.len() && sep(a[i]) {
            i += 1;
        }
        while j < b.len() && sep(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else { break };
        let numeric = ca.is_ascii_digit();
        let take = |s: &[u8], mut k: usize| {
            let start = k;
            while k < s.len()
                && if numeric {
                    s[k].is_ascii_digit()
                } else {
                    s[k].is_ascii_alphabetic()
                }
            {
                k += 1;
            }
            (start, k)
        };
        let (sa, ea) = take(a, i);
        let (sb, eb) = take(b, j);
        if sb == eb {
            // Segments of different types: a number beats letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (x, y) = (
            std::str::from_utf8(&a[sa..ea]).unwrap_or(""),
            std::str::from_utf8(&b[sb..eb]).unwrap_or(""),
        );
        let c = if numeric { cmp_numeric(x, y) } else { x.cmp(y) };
        if c != Ordering::Equal {
            return c;
        }
        i = ea;
        j = eb;
    }
    match (i < a.len(), j < b.len()) {
        (false, false) => Ordering::Equal,
        (true, _) => Ordering::Greater,
        (false, true) => Ordering::Less,
    }
}

impl Ord for RpmVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| {
                match (&self.release, &other.release) {
                    (Some(a), Some(b)) => rpmvercmp(a, b),
                    // A version without a release sorts before every release of it,
                    // which keeps the order total (rpm's dependency solver would call
                    // them equal, which is not transitive).
                    (a, b) => a.is_some().cmp(&b.is_some()),
                }
            })
    }
}

impl PartialOrd for RpmVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RpmVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RpmVersion {}

impl fmt::Display for RpmVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}:", self.epoch)?;
        }
        f.write_str(&self.version)?;
        if let Some(r) = &self.release {
            write!(f, "-{r}")?;
        }
        Ok(())
    }
}
