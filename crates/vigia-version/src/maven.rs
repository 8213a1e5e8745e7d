//! Maven versions, ordered as Maven 3.8.7's `ComparableVersion`: items split at
//! `.`, `-` and digit/letter switches; qualifiers `alpha` < `beta` < `milestone` <
//! `rc` < `snapshot` < release (`""`, `ga`, `final`, `release`) < `sp` < other
//! qualifiers (lexical) < numbers; trailing zeros and empty qualifiers dropped.

use std::cmp::Ordering;
use std::fmt;

use crate::{Error, Scheme, cmp_numeric, err};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Int(String),
    Str(String),
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

fn comparable_qualifier(q: &str) -> String {
    match QUALIFIERS.iter().position(|x| *x == q) {
        Some(i) => i.to_string(),
        None => format!("{}-{q}", QUALIFIERS.len()),
    }
}

fn release_index() -> String {
    comparable_qualifier("")
}

impl Item {
    fn string(value: &str, followed_by_digit: bool) -> Self {
        let mut v = value.to_owned();
        if followed_by_digit && v.chars().count() == 1 {
            v = match v.as_str() {
                "a" => "alpha".into(),
                "b" => "beta".into(),
                "m" => "milestone".into(),
                _ => v,
            };
        }
        let v = match v.as_str() {
            "ga" | "final" | "release" => String::new(),
            "cr" => "rc".into(),
            _ => v,
        };
        Self::Str(v)
    }

    fn parse_item(is_digit: bool, buf: &str) -> Self {
        if is_digit {
            let t = buf.trim_start_matches('0');
            Self::Int(if t.is_empty() {
                "0".into()
            } else {
                t.to_owned()
            })
        } else {
            Self::string(buf, false)
        }
    }

    fn is_null(&self) -> bool {
        match self {
            Self::Int(v) => v == "0",
            Self::Str(v) => v.is_empty(),
            Self::List(l) => l.is_empty(),
        }
    }

    /// Compares with an absent item (`None`), as Maven's `compareTo(null)`.
    fn cmp_opt(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Self::Int(v), None) => {
                if v == "0" {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Self::Str(v), None) => comparable_qualifier(v).cmp(&release_index()),
            (Self::List(l), None) => l.first().map_or(Ordering::Equal, |f| f.cmp_opt(None)),
            (Self::Int(a), Some(Self::Int(b))) => cmp_numeric(a, b),
            (Self::Int(_), Some(_)) => Ordering::Greater,
            (Self::Str(_), Some(Self::Int(_) | Self::List(_))) => Ordering::Less,
            (Self::Str(a), Some(Self::Str(b))) => {
                comparable_qualifier(a).cmp(&comparable_qualifier(b))
            }
            (Self::List(_), Some(Self::Int(_))) => Ordering::Less,
            (Self::List(_), Some(Self::Str(_))) => Ordering::Greater,
            (Self::List(a), Some(Self::List(b))) => cmp_lists(a, b),
        }
    }
}

fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let c = match (a.get(i), b.get(i)) {
            (None, None) => Ordering::Equal,
            (None, Some(r)) => r.cmp_opt(None).reverse(),
            (Some(l), r) => l.cmp_opt(r),
        };
        if c != Ordering::Equal {
            return c;
        }
    }
    Ordering::Equal
}

fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

/// A Maven version.
#[derive(Debug, Clone)]
pub struct MavenVersion {
    original: String,
    items: Vec<Item>,
}

/// Builds the nested lists: each `-` (or digit/letter switch) opens a sub-list
/// inside the current one. Kept as a stack of finished-but-open lists.
struct Builder {
    stack: Vec<Vec<Item>>,
}

impl Builder {
    fn push(&mut self, item: Item) {
        self.stack.last_mut().expect("root list").push(item);
    }
    fn open(&mut self) {
        self.stack.push(Vec::new());
    }
    fn finish(mut self) -> Vec<Item> {
        while self.stack.len() > 1 {
            let mut inner = self.stack.pop().expect("non-empty");
            normalize(&mut inner);
            self.push(Item::List(inner));
        }
        let mut root = self.stack.pop().expect("root list");
        normalize(&mut root);
        root
    }
}

impl MavenVersion {
    /// Parses any string Maven would accept (which is nearly any non-empty string).
    pub fn parse(input: &str) -> Result<Self, Error> {
        let s = input.trim();
        if s.is_empty() {
            return Err(err(Scheme::Maven, input, "empty version"));
        }
        // Maven's ComparableVersion is not transitive once a version starts with
        // a letter (`0a0` < `0` < `v0.0.0` yet `0a0` > `v0.0.0`: a list item
        // outranks a string item). Real releases start with a digit; anything
        // else is rejected rather than ordered inconsistently.
        if !s.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(err(
                Scheme::Maven,
                input,
                "a Maven version starts with a digit",
            ));
        }
        let version = s.to_lowercase();
        let chars: Vec<char> = version.chars().collect();
        let mut b = Builder {
            stack: vec![Vec::new()],
        };
        let mut is_digit = false;
        let mut start = 0;
        // MNG-7644 (Maven 3.9, asserted by 3.8.7's tests too): a qualifier after a
        // dot is read as after a hyphen (`1.0.0.rc1` = `1.0.0-rc1`).
        let after_dot = |start: usize| start > 0 && chars[start - 1] == '.';
        let sub = |a: usize, z: usize| chars[a..z].iter().collect::<String>();
        for (i, &c) in chars.iter().enumerate() {
            if c == '.' || c == '-' {
                if i == start {
                    b.push(Item::Int("0".into()));
                } else {
                    if !is_digit && after_dot(start) {
                        b.open();
                    }
                    b.push(Item::parse_item(is_digit, &sub(start, i)));
                }
                start = i + 1;
                if c == '-' {
                    b.open();
                }
            } else if c.is_ascii_digit() {
                if !is_digit && i > start {
                    if after_dot(start) {
                        b.open();
                    }
                    b.push(Item::string(&sub(start, i), true));
                    start = i;
                    b.open();
                }
                is_digit = true;
            } else {
                if is_digit && i > start {
                    b.push(Item::parse_item(true, &sub(start, i)));
                    start = i;
                    b.open();
                }
                is_digit = false;
            }
        }
        if chars.len() > start {
            if !is_digit && after_dot(start) {
                b.open();
            }
            b.push(Item::parse_item(is_digit, &sub(start, chars.len())));
        }
        Ok(Self {
            original: s.to_owned(),
            items: b.finish(),
        })
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_lists(&self.items, &other.items)
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MavenVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MavenVersion {}

impl fmt::Display for MavenVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}
