//! NuGet versions: up to four numeric parts (`1.0 = 1.0.0.0`), SemVer 2.0
//! release labels compared case-insensitively, metadata ignored.

use std::cmp::Ordering;
use std::fmt;

use crate::{Error, Scheme, cmp_numeric, err};

/// A NuGet version.
#[derive(Debug, Clone)]
pub struct NuGetVersion {
    original: String,
    parts: [String; 4],
    release: Vec<String>,
}

impl NuGetVersion {
    /// Parses as `NuGetVersion.Parse` does.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let e = |r: &str| err(Scheme::NuGet, input, r);
        let s = input.trim();
        if s.is_empty() {
            return Err(e("empty version"));
        }
        let (main, meta) = match s.split_once('+') {
            Some((m, md)) => (m, Some(md)),
            None => (s, None),
        };
        if let Some(md) = meta
            && md
                .split('.')
                .any(|x| x.is_empty() || !x.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return Err(e("invalid metadata"));
        }
        let (nums, rel) = match main.split_once('-') {
            Some((n, r)) => (n, Some(r)),
            None => (main, None),
        };
        let parts: Vec<&str> = nums.split('.').collect();
        if parts.is_empty()
            || parts.len() > 4
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(e("expected 1 to 4 numeric parts"));
        }
        for p in &parts {
            if p.parse::<i32>().is_err() {
                return Err(e("a numeric part is out of range"));
            }
        }
        let mut out: [String; 4] = Default::default();
        for (i, p) in parts.iter().enumerate() {
            p.trim_start_matches('0').clone_into(&mut out[i]);
        }
        let mut release = Vec::new();
        if let Some(r) = rel {
            for label in r.split('.') {
                if label.is_empty()
                    || !label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                {
                    return Err(e("invalid release label"));
                }
                release.push(label.to_owned());
            }
        }
        Ok(Self {
            original: s.to_owned(),
            parts: out,
            release,
        })
    }
}

fn cmp_label(a: &str, b: &str) -> Ordering {
    let an = a.bytes().all(|c| c.is_ascii_digit());
    let bn = b.bytes().all(|c| c.is_ascii_digit());
    match (an, bn) {
        (true, true) => cmp_numeric(a, b),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase()),
    }
}

impl Ord for NuGetVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        for i in 0..4 {
            let c = cmp_numeric(&self.parts[i], &other.parts[i]);
            if c != Ordering::Equal {
                return c;
            }
        }
        match (self.release.is_empty(), other.release.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                for (a, b) in self.release.iter().zip(&other.release) {
                    let c = cmp_label(a, b);
                    if c != Ordering::Equal {
                        return c;
                    }
                }
                self.release.len().cmp(&other.release.len())
            }
        }
    }
}

impl PartialOrd for NuGetVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for NuGetVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for NuGetVersion {}

impl fmt::Display for NuGetVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}
