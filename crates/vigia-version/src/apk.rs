//! Alpine package versions: `digit{.digit}...{letter}{_suf{#}}...{~hash}{-r#}`.
//!
//! The order is apk-tools' (v3) token comparison, written here as a small state
//! machine because its results depend on token *types*, not only values: a
//! component after a dot with a leading zero compares as a decimal fraction,
//! by string (`1.001 < 1.01 < 1.1`),
//! pre-release suffixes (`_alpha`, `_beta`, `_pre`, `_rc`) sort before the bare
//! version and post-release ones (`_cvs`, `_svn`, `_git`, `_hg`, `_p`) after it,
//! and where two versions stop matching, the kind of the next token decides.

use std::cmp::Ordering;
use std::fmt;

use crate::{Error, Scheme, cmp_numeric, err};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ty {
    DigitOrZero,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Val {
    /// A component after a dot, as written: compared as a number, or as a
    /// string (a decimal fraction) when either side has a leading zero.
    Part(String),
    /// Digits, leading zeros stripped.
    Num(String),
    /// A letter or a suffix rank (pre-release suffixes are negative).
    Small(i32),
    /// A commit hash.
    Hash(String),
    None,
}

impl Ord for Val {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Part(a), Self::Part(b)) => {
                if a.starts_with('0') || b.starts_with('0') {
                    a.cmp(b)
                } else {
                    cmp_numeric(a, b)
                }
            }
            (Self::Num(a), Self::Num(b)) => cmp_numeric(a, b),
            (Self::Small(a), Self::Small(b)) => a.cmp(b),
            (Self::Hash(a), Self::Hash(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }
}

impl PartialOrd for Val {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

const PRE: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

#[derive(Debug, Clone, PartialEq, Eq)]
struct Tok {
    ty: Ty,
    val: Val,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err("empty version".into());
    }
    let mut toks = Vec::new();
    let mut pos = 0;
    let mut ty = Ty::Digit;
    loop {
        let start = pos;
        let val = match ty {
            Ty::DigitOrZero | Ty::Digit | Ty::SuffixNo | Ty::RevisionNo => {
                while pos < b.len() && b[pos].is_ascii_digit() {
                    pos += 1;
                }
                if pos == start {
                    return Err("expected a number".into());
                }
                if ty == Ty::DigitOrZero {
                    Val::Part(s[start..pos].to_owned())
                } else {
                    Val::Num(s[start..pos].trim_start_matches('0').to_owned())
                }
            }
            Ty::Letter => {
                pos += 1;
                Val::Small(i32::from(b[start]))
            }
            Ty::Suffix => {
                let rest = &s[pos..];
                let name_len = rest.bytes().take_while(u8::is_ascii_lowercase).count();
                let name = &rest[..name_len];
                let rank = if let Some(i) = PRE.iter().position(|p| *p == name) {
                    i32::try_from(i).expect("small") - 4
                } else if let Some(i) = POST.iter().position(|p| *p == name) {
                    i32::try_from(i).expect("small")
                } else {
                    return Err(format!("unknown suffix {name:?}"));
                };
                pos += name_len;
                Val::Small(rank)
            }
            Ty::CommitHash => {
                while pos < b.len() && (b[pos].is_ascii_digit() || (b'a'..=b'f').contains(&b[pos]))
                {
                    pos += 1;
                }
                if pos == start {
                    return Err("expected a commit hash after `~`".into());
                }
                Val::Hash(s[start..pos].to_owned())
            }
            Ty::End => unreachable!("the loop stops at the end"),
        };
        toks.push(Tok { ty, val });
        if pos >= b.len() {
            break;
        }
        let c = b[pos];
        let next = if matches!(ty, Ty::Digit | Ty::DigitOrZero) && c.is_ascii_lowercase() {
            Ty::Letter
        } else if ty == Ty::Suffix && c.is_ascii_digit() {
            Ty::SuffixNo
        } else {
            let n = match c {
                b'.' => Ty::DigitOrZero,
                b'_' => Ty::Suffix,
                b'~' => Ty::CommitHash,
                b'-' if b.get(pos + 1) == Some(&b'r') => {
                    pos += 1;
                    Ty::RevisionNo
                }
                _ => return Err(format!("unexpected {:?}", c as char)),
            };
            pos += 1;
            if pos >= b.len() {
                return Err("ends with a separator".into());
            }
            n
        };
        let allowed = next > ty
            || matches!(
                (next, ty),
                (Ty::DigitOrZero, Ty::Digit | Ty::DigitOrZero)
                    | (Ty::Suffix, Ty::SuffixNo | Ty::Suffix)
            );
        if !allowed {
            return Err(format!("{next:?} cannot follow {ty:?}"));
        }
        ty = next;
    }
    toks.push(Tok {
        ty: Ty::End,
        val: Val::None,
    });
    Ok(toks)
}

/// An Alpine package version.
#[derive(Debug, Clone)]
pub struct ApkVersion {
    original: String,
    toks: Vec<Tok>,
}

impl ApkVersion {
    /// Parses a version; anything apk-tools would reject is an error.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let toks = tokenize(input).map_err(|r| err(Scheme::Apk, input, r))?;
        Ok(Self {
            original: input.to_owned(),
            toks,
        })
    }
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.toks.iter().zip(&other.toks) {
            if a.ty != b.ty {
                if a.ty == Ty::Suffix && matches!(a.val, Val::Small(r) if r < 0) {
                    return Ordering::Less;
                }
                if b.ty == Ty::Suffix && matches!(b.val, Val::Small(r) if r < 0) {
                    return Ordering::Greater;
                }
                return b.ty.cmp(&a.ty);
            }
            if a.ty == Ty::End {
                return Ordering::Equal;
            }
            let c = a.val.cmp(&b.val);
            if c != Ordering::Equal {
                return c;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for ApkVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ApkVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ApkVersion {}

impl fmt::Display for ApkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}
