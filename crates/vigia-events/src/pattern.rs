//! EventBridge event patterns: the rules that pick which events a delivery
//! target receives.
//!
//! A pattern mirrors the event's JSON. Its leaves are arrays of allowed
//! values: fields AND, the values of one array OR, keys the pattern does
//! not name are ignored. When the event holds an array, a leaf matches if
//! any element does; an object pattern under an array of objects must match
//! within one element (Event Ruler's `rulesForJSONEvent`: no match takes two
//! fields from different elements of one array).
//!
//! Operators: exact values (strings, numbers compared as numbers, `true`,
//! `false`, `null`, which is not `""`), `prefix` and `suffix` (each also as
//! `{"equals-ignore-case": …}`), `equals-ignore-case`, `wildcard`,
//! `anything-but` (a value, a list of strings or of numbers, or a `prefix`,
//! `suffix`, `equals-ignore-case` or `wildcard` of one string or a list),
//! `numeric` (`=`, or at most one lower and one upper bound), `exists`
//! (leaves only: `false` also matches a field holding an object) and `cidr`
//! (IPv4 and IPv6), and `$or` (two or more alternatives). Anything else is
//! refused when the pattern is parsed, with the path of what was wrong.
//!
//! Written here rather than taken from crates.io: the one Rust port of
//! Event Ruler there (`event-ruler` 0.1.0) is a single release from 2022,
//! without most of these operators.

use std::net::IpAddr;

use serde_json::{Map, Value};

/// A pattern that could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("event pattern, at {path}: {message}")]
pub struct PatternError {
    /// Where in the pattern: `detail.severity[0]`.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

/// A parsed event pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPattern {
    root: Object,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Object {
    fields: Vec<(String, Field)>,
    /// Each `$or`: at least one of its alternatives holds.
    or: Vec<Vec<Object>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Field {
    Leaf(Vec<Matcher>),
    Object(Object),
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Exact(Value),
    Prefix(Text),
    Suffix(Text),
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    AnythingBut(AnythingBut),
    Numeric(Range),
    Exists(bool),
    Cidr(Cidr),
}

/// A string operand, lowercased when compared ignoring case.
#[derive(Debug, Clone, PartialEq)]
struct Text {
    value: String,
    ignore_case: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum AnythingBut {
    Values(Vec<Value>),
    Prefix(Vec<String>),
    Suffix(Vec<String>),
    IgnoreCase(Vec<String>),
    Wildcard(Vec<Wildcard>),
}

#[derive(Debug, Clone, PartialEq)]
struct Range {
    lower: Option<(f64, bool)>,
    upper: Option<(f64, bool)>,
}

/// Literal runs between unescaped `*`.
#[derive(Debug, Clone, PartialEq)]
struct Wildcard {
    pieces: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Cidr {
    net: IpAddr,
    bits: u8,
}

/// Event Ruler's range for numeric operands.
const NUMERIC_LIMIT: f64 = 5.0e9;

impl EventPattern {
    /// Parses and checks a pattern.
    ///
    /// # Errors
    /// A [`PatternError`] naming where the pattern is not one this module
    /// matches: not an object, an empty object or array, a value outside an
    /// array, an unknown operator, a malformed operand.
    pub fn parse(pattern: &Value) -> Result<Self, PatternError> {
        let Value::Object(map) = pattern else {
            return Err(err("$", "a pattern is a JSON object"));
        };
        Ok(Self {
            root: object(map, "$")?,
        })
    }

    /// Parses a pattern from its JSON text.
    ///
    /// # Errors
    /// As [`EventPattern::parse`], and for text that is not JSON.
    pub fn from_json(text: &str) -> Result<Self, PatternError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| err("$", &format!("not JSON: {e}")))?;
        Self::parse(&value)
    }

    /// Whether `event` matches.
    #[must_use]
    pub fn matches(&self, event: &Value) -> bool {
        object_matches(&self.root, Some(event))
    }
}

fn err(path: &str, message: &str) -> PatternError {
    PatternError {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

fn child(path: &str, key: &str) -> String {
    if path == "$" {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn object(map: &Map<String, Value>, path: &str) -> Result<Object, PatternError> {
    if map.is_empty() {
        return Err(err(path, "an empty object selects nothing"));
    }
    let mut out = Object::default();
    for (key, value) in map {
        let here = child(path, key);
        if key == "$or" {
            let Value::Array(alternatives) = value else {
                return Err(err(&here, "`$or` takes an array of objects"));
            };
            if alternatives.len() < 2 {
                return Err(err(&here, "`$or` takes at least two objects"));
            }
            let mut alts = Vec::with_capacity(alternatives.len());
            for (i, alt) in alternatives.iter().enumerate() {
                let Value::Object(m) = alt else {
                    return Err(err(&format!("{here}[{i}]"), "`$or` takes objects"));
                };
                alts.push(object(m, &format!("{here}[{i}]"))?);
            }
            out.or.push(alts);
            continue;
        }
        let field = match value {
            Value::Object(m) => Field::Object(object(m, &here)?),
            Value::Array(values) => Field::Leaf(leaf(values, &here)?),
            _ => {
                return Err(err(&here, "a value to match goes in an array: [\"value\"]"));
            }
        };
        out.fields.push((key.clone(), field));
    }
    Ok(out)
}

fn leaf(values: &[Value], path: &str) -> Result<Vec<Matcher>, PatternError> {
    if values.is_empty() {
        return Err(err(path, "an empty array matches nothing"));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let here = format!("{path}[{i}]");
            match v {
                Value::Object(op) => operator(op, &here),
                Value::Array(_) => Err(err(&here, "arrays do not nest in a pattern")),
                Value::Number(n) => {
                    number(n, &here)?;
                    Ok(Matcher::Exact(v.clone()))
                }
                _ => Ok(Matcher::Exact(v.clone())),
            }
        })
        .collect()
}

fn number(n: &serde_json::Number, path: &str) -> Result<f64, PatternError> {
    match n.as_f64() {
        Some(f) if f.abs() <= NUMERIC_LIMIT => Ok(f),
        _ => Err(err(path, "numbers in a pattern are within ±5e9")),
    }
}

fn string<'a>(v: &'a Value, path: &str, what: &str) -> Result<&'a str, PatternError> {
    v.as_str()
        .ok_or_else(|| err(path, &format!("`{what}` takes a string")))
}

fn operator(op: &Map<String, Value>, path: &str) -> Result<Matcher, PatternError> {
    let mut entries = op.iter();
    let (Some((name, operand)), None) = (entries.next(), entries.next()) else {
        return Err(err(path, "an operator object holds exactly one operator"));
    };
    let here = child(path, name);
    Ok(match name.as_str() {
        "prefix" => Matcher::Prefix(text(operand, &here, "prefix")?),
        "suffix" => Matcher::Suffix(text(operand, &here, "suffix")?),
        "equals-ignore-case" => {
            Matcher::EqualsIgnoreCase(string(operand, &here, "equals-ignore-case")?.to_lowercase())
        }
        "wildcard" => Matcher::Wildcard(wildcard(string(operand, &here, "wildcard")?, &here)?),
        "anything-but" => Matcher::AnythingBut(anything_but(operand, &here)?),
        "numeric" => Matcher::Numeric(range(operand, &here)?),
        "exists" => Matcher::Exists(
            operand
                .as_bool()
                .ok_or_else(|| err(&here, "`exists` takes true or false"))?,
        ),
        "cidr" => Matcher::Cidr(cidr(string(operand, &here, "cidr")?, &here)?),
        other => {
            return Err(err(
                path,
                &format!(
                    "unknown operator `{other}` (known: prefix, suffix, equals-ignore-case, \
                     wildcard, anything-but, numeric, exists, cidr)"
                ),
            ));
        }
    })
}

/// `"x"` or `{"equals-ignore-case": "x"}`.
fn text(operand: &Value, path: &str, what: &str) -> Result<Text, PatternError> {
    match operand {
        Value::String(s) => Ok(Text {
            value: s.clone(),
            ignore_case: false,
        }),
        Value::Object(m) if m.len() == 1 && m.contains_key("equals-ignore-case") => Ok(Text {
            value: string(&m["equals-ignore-case"], path, "equals-ignore-case")?.to_lowercase(),
            ignore_case: true,
        }),
        _ => Err(err(
            path,
            &format!("`{what}` takes a string or {{\"equals-ignore-case\": string}}"),
        )),
    }
}

fn strings(operand: &Value, path: &str, what: &str) -> Result<Vec<String>, PatternError> {
    match operand {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| string(v, path, what).map(str::to_owned))
            .collect(),
        _ => Err(err(
            path,
            &format!("`{what}` takes a string or a list of strings"),
        )),
    }
}

fn anything_but(operand: &Value, path: &str) -> Result<AnythingBut, PatternError> {
    match operand {
        Value::String(_) => Ok(AnythingBut::Values(vec![operand.clone()])),
        Value::Number(n) => {
            number(n, path)?;
            Ok(AnythingBut::Values(vec![operand.clone()]))
        }
        Value::Array(items) => {
            let all_strings = items.iter().all(Value::is_string);
            let all_numbers = items.iter().all(Value::is_number);
            if items.is_empty() || !(all_strings || all_numbers) {
                return Err(err(
                    path,
                    "`anything-but` takes a list of strings or a list of numbers",
                ));
            }
            for n in items.iter().filter_map(Value::as_number) {
                number(n, path)?;
            }
            Ok(AnythingBut::Values(items.clone()))
        }
        Value::Object(m) if m.len() == 1 => {
            let (name, inner) = m.iter().next().expect("one entry");
            let here = child(path, name);
            match name.as_str() {
                "prefix" => Ok(AnythingBut::Prefix(strings(inner, &here, "prefix")?)),
                "suffix" => Ok(AnythingBut::Suffix(strings(inner, &here, "suffix")?)),
                "equals-ignore-case" => Ok(AnythingBut::IgnoreCase(
                    strings(inner, &here, "equals-ignore-case")?
                        .iter()
                        .map(|s| s.to_lowercase())
                        .collect(),
                )),
                "wildcard" => Ok(AnythingBut::Wildcard(
                    strings(inner, &here, "wildcard")?
                        .iter()
                        .map(|s| wildcard(s, &here))
                        .collect::<Result<_, _>>()?,
                )),
                other => Err(err(
                    path,
                    &format!("`anything-but` does not take `{other}`"),
                )),
            }
        }
        _ => Err(err(
            path,
            "`anything-but` takes a value, a list, or one of prefix, suffix, equals-ignore-case, wildcard",
        )),
    }
}

fn range(operand: &Value, path: &str) -> Result<Range, PatternError> {
    let bad = || {
        err(
            path,
            "`numeric` takes [op, number] or [lower-op, number, upper-op, number] with op one of =, <, <=, >, >=",
        )
    };
    let Value::Array(items) = operand else {
        return Err(bad());
    };
    if items.len() != 2 && items.len() != 4 {
        return Err(bad());
    }
    let mut out = Range {
        lower: None,
        upper: None,
    };
    for pair in items.chunks(2) {
        let op = pair[0].as_str().ok_or_else(bad)?;
        let n = number(pair[1].as_number().ok_or_else(bad)?, path)?;
        let slot = match op {
            "=" if items.len() == 2 => {
                out.lower = Some((n, true));
                out.upper = Some((n, true));
                continue;
            }
            ">" | ">=" => &mut out.lower,
            "<" | "<=" => &mut out.upper,
            _ => return Err(bad()),
        };
        if slot.is_some() {
            return Err(err(
                path,
                "`numeric` takes at most one lower and one upper bound",
            ));
        }
        *slot = Some((n, op.ends_with('=')));
    }
    Ok(out)
}

fn wildcard(s: &str, path: &str) -> Result<Wildcard, PatternError> {
    let mut pieces = vec![String::new()];
    let mut chars = s.chars();
    let mut last_star = false;
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                if last_star {
                    return Err(err(path, "a wildcard has no consecutive `*`"));
                }
                last_star = true;
                pieces.push(String::new());
                continue;
            }
            '\\' => match chars.next() {
                Some(e @ ('*' | '\\')) => pieces.last_mut().expect("one piece").push(e),
                _ => {
                    return Err(err(path, "in a wildcard `\\` escapes only `*` and `\\`"));
                }
            },
            c => pieces.last_mut().expect("one piece").push(c),
        }
        last_star = false;
    }
    Ok(Wildcard { pieces })
}

fn cidr(s: &str, path: &str) -> Result<Cidr, PatternError> {
    let bad = || {
        err(
            path,
            "`cidr` takes an address and a prefix length: 10.0.0.0/8",
        )
    };
    let (addr, bits) = s.split_once('/').ok_or_else(bad)?;
    let net: IpAddr = addr.parse().map_err(|_| bad())?;
    let bits: u8 = bits.parse().map_err(|_| bad())?;
    let max = if net.is_ipv4() { 32 } else { 128 };
    if bits > max {
        return Err(bad());
    }
    Ok(Cidr { net, bits })
}

/// The event's value at an object pattern: an array is matched element by
/// element (its objects, arrays in arrays flattened); anything that is not
/// an object holds none of the pattern's fields.
fn object_matches(obj: &Object, value: Option<&Value>) -> bool {
    match value {
        Some(Value::Object(map)) => object_matches_in(obj, Some(map), &[]),
        Some(Value::Array(items)) => {
            let mut objects = Vec::new();
            objects_in(items, &mut objects);
            if objects.is_empty() {
                object_matches_in(obj, None, &[])
            } else {
                objects
                    .iter()
                    .any(|m| object_matches_in(obj, Some(m), &objects))
            }
        }
        _ => object_matches_in(obj, None, &[]),
    }
}

fn objects_in<'a>(items: &'a [Value], out: &mut Vec<&'a Map<String, Value>>) {
    for item in items {
        match item {
            Value::Object(m) => out.push(m),
            Value::Array(inner) => objects_in(inner, out),
            _ => {}
        }
    }
}

/// `map` is the object matched; `siblings`, when it is an element of an
/// array, every object of that array. Event Ruler holds a field present when
/// any element holds it, so `exists: false` needs it absent from all of them.
fn object_matches_in(
    obj: &Object,
    map: Option<&Map<String, Value>>,
    siblings: &[&Map<String, Value>],
) -> bool {
    obj.fields.iter().all(|(key, field)| {
        let value = map.and_then(|m| m.get(key));
        match field {
            Field::Leaf(matchers) => {
                leaf_matches(matchers, value)
                    || (matchers.contains(&Matcher::Exists(false))
                        && siblings.iter().all(|m| !holds_scalars(m.get(key)))
                        && !holds_scalars(value))
            }
            Field::Object(inner) => object_matches(inner, value),
        }
    }) && obj.or.iter().all(|alternatives| {
        alternatives
            .iter()
            .any(|alt| object_matches_in(alt, map, siblings))
    })
}

fn holds_scalars(value: Option<&Value>) -> bool {
    let mut values = Vec::new();
    if let Some(v) = value {
        scalars(v, &mut values);
    }
    !values.is_empty()
}

/// The values a leaf is matched against: a scalar, or every scalar of an
/// array (arrays in arrays flattened). An object holds none.
fn scalars<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| scalars(v, out)),
        Value::Object(_) => {}
        v => out.push(v),
    }
}

/// Whether a leaf matches the field's own value. `exists: false` is
/// decided here only outside arrays (see [`object_matches_in`]).
fn leaf_matches(matchers: &[Matcher], value: Option<&Value>) -> bool {
    let mut values = Vec::new();
    if let Some(v) = value {
        scalars(v, &mut values);
    }
    matchers.iter().any(|m| match m {
        Matcher::Exists(true) => !values.is_empty(),
        Matcher::Exists(false) => false,
        m => values.iter().any(|v| m.accepts(v)),
    })
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

impl Matcher {
    fn accepts(&self, v: &Value) -> bool {
        let s = v.as_str();
        match self {
            Self::Exact(e) => same(e, v),
            Self::Prefix(t) => s.is_some_and(|s| t.cased(s).starts_with(&t.value)),
            Self::Suffix(t) => s.is_some_and(|s| t.cased(s).ends_with(&t.value)),
            Self::EqualsIgnoreCase(e) => s.is_some_and(|s| s.to_lowercase() == *e),
            Self::Wildcard(w) => s.is_some_and(|s| w.matches(s)),
            Self::AnythingBut(but) => !but.excludes(v),
            Self::Numeric(r) => v.as_f64().is_some_and(|n| r.contains(n)),
            Self::Exists(_) => unreachable!("exists is decided on the field, not a value"),
            Self::Cidr(c) => s
                .and_then(|s| s.parse::<IpAddr>().ok())
                .is_some_and(|ip| c.contains(ip)),
        }
    }
}

impl Text {
    fn cased(&self, s: &str) -> String {
        if self.ignore_case {
            s.to_lowercase()
        } else {
            s.to_owned()
        }
    }
}

impl AnythingBut {
    fn excludes(&self, v: &Value) -> bool {
        let s = v.as_str();
        match self {
            Self::Values(values) => values.iter().any(|x| same(x, v)),
            Self::Prefix(ps) => s.is_some_and(|s| ps.iter().any(|p| s.starts_with(p.as_str()))),
            Self::Suffix(ps) => s.is_some_and(|s| ps.iter().any(|p| s.ends_with(p.as_str()))),
            Self::IgnoreCase(ps) => s.is_some_and(|s| ps.contains(&s.to_lowercase())),
            Self::Wildcard(ws) => s.is_some_and(|s| ws.iter().any(|w| w.matches(s))),
        }
    }
}

impl Range {
    fn contains(&self, n: f64) -> bool {
        let above = match self.lower {
            Some((l, true)) => n >= l,
            Some((l, false)) => n > l,
            None => true,
        };
        let below = match self.upper {
            Some((u, true)) => n <= u,
            Some((u, false)) => n < u,
            None => true,
        };
        above && below
    }
}

impl Wildcard {
    /// Literal pieces in order, the first anchored at the start and the
    /// last at the end; leftmost placement of each middle piece is enough.
    fn matches(&self, s: &str) -> bool {
        let (first, rest) = self.pieces.split_first().expect("one piece");
        if rest.is_empty() {
            return s == first;
        }
        let Some(mut tail) = s.strip_prefix(first.as_str()) else {
            return false;
        };
        let (last, middle) = rest.split_last().expect("one piece");
        for piece in middle {
            match tail.find(piece.as_str()) {
                Some(at) => tail = &tail[at + piece.len()..],
                None => return false,
            }
        }
        tail.ends_with(last.as_str())
    }
}

impl Cidr {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}
