//! Composer (Packagist) versions: composer/semver's normalisation (`v` prefix,
//! stability suffixes `dev` < `alpha` < `beta` < `RC` < stable < `patch`) and
//! PHP's `version_compare` order.

use std::cmp::Ordering;
use std::fmt;

use crate::{Error, Scheme, cmp_numeric, err};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Num(String),
    /// A special form by rank: dev 0, alpha 1, beta 2, RC 3, (number 4), patch 5;
    /// unknown words rank below all (-6 in PHP).
    Word(i32),
}

/// A Composer version.
#[derive(Debug, Clone)]
pub struct ComposerVersion {
    original: String,
    parts: Vec<Part>,
}

fn rank(word: &str) -> i32 {
    match word.to_ascii_lowercase().as_str() {
        "dev" => 0,
        "alpha" | "a" => 1,
        "beta" | "b" => 2,
        "rc" => 3,
        "pl" | "p" | "patch" => 5,
        _ => -6,
    }
}

impl ComposerVersion {
    /// Parses and canonicalises as PHP's `version_compare` does, after
    /// composer's normalisation of a leading `v` and `-stable`.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let e = |r: &str| err(Scheme::Composer, input, r);
        let mut s = input.trim();
        if s.is_empty() {
            return Err(e("empty version"));
        }
        s = s.strip_prefix(['v', 'V']).unwrap_or(s);
        // `dev-<branch>` names a branch: composer orders it below every release.
        let is_branch = s.len() > 4 && s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("dev-"));
        if !is_branch && !s.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
            return Err(e("a version starts with a number"));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+')))
        {
            return Err(e(&format!("invalid character {c:?}")));
        }
        let lower = s.to_ascii_lowercase();
        let s = lower.strip_suffix("-stable").unwrap_or(&lower);
        let mut parts = Vec::new();
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let start = i;
            if b[i].is_ascii_digit() {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                parts.push(Part::Num(s[start..i].trim_start_matches('0').to_owned()));
            } else if b[i].is_ascii_alphabetic() {
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                parts.push(Part::Word(rank(&s[start..i])));
            } else {
                i += 1;
            }
        }
        // composer pads stable versions to four numbers (1.0 = 1.0.0.0).
        let nums = parts
            .iter()
            .take_while(|p| matches!(p, Part::Num(_)))
            .count();
        if nums < 4 {
            for _ in nums..4 {
                parts.insert(nums, Part::Num(String::new()));
            }
        }
        Ok(Self {
            original: input.trim().to_owned(),
            parts,
        })
    }
}

fn part_rank(p: &Part) -> i32 {
    match p {
        Part::Num(_) => 4,
        Part::Word(r) => *r,
    }
}

impl Ord for ComposerVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        for i in 0..self.parts.len().max(other.parts.len()) {
            let c = match (self.parts.get(i), other.parts.get(i)) {
                (Some(Part::Num(a)), Some(Part::Num(b))) => cmp_numeric(a, b),
                (Some(a), Some(b)) => part_rank(a).cmp(&part_rank(b)),
                // The longer version wins when it goes on with a number, and
                // loses when it goes on with a pre-release word.
                (Some(a), None) => part_rank(a).cmp(&4),
                (None, Some(b)) => 4.cmp(&part_rank(b)),
                (None, None) => Ordering::Equal,
            };
            if c != Ordering::Equal {
                return c;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for ComposerVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ComposerVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ComposerVersion {}

impl fmt::Display for ComposerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}
