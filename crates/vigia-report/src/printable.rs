//! Untrusted text made safe for a terminal and a spreadsheet.
//!
//! Image references, `os-release` names, file paths, zip entry names, package
//! fields and advisory text come from inputs an attacker may write. Printed
//! raw, an escape sequence in any of them can clear the screen, move the
//! cursor or rewrite what was printed before ("ALL CLEAN"). The renderers for
//! people (table, Markdown, CSV) and the messages on stderr escape them:
//! control characters (C0 but newline and tab, DEL, C1) and the Unicode
//! bidirectional controls ("Trojan Source") become visible `\u{…}` escapes.
//!
//! Written here rather than taken from a crate: the crates that exist strip
//! ANSI sequences only (`strip-ansi-escapes`), which leaves a bare carriage
//! return, a C1 CSI or a bidi override through, and they drop what they strip
//! instead of showing it.

use std::borrow::Cow;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Whether `c` must not reach a terminal as it is (`lines`: whether the text
/// may span lines).
fn is_unsafe(c: char, lines: bool) -> bool {
    (c.is_control() && !(lines && (c == '\n' || c == '\t')))
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// Report fields whose text spans lines (an advisory's description): the
/// only ones where a newline is kept; anywhere else (a package name, a path)
/// it could forge a line of the table.
const MULTILINE_KEYS: &[&str] = &["description", "details", "text", "summary"];

/// `s` with every unsafe character shown as a `\u{…}` escape; newlines and
/// tabs are kept (messages and descriptions span lines).
#[must_use]
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_text(s, true)
}

/// `s` as one line: newlines and tabs escaped too.
#[must_use]
pub fn escape_line(s: &str) -> Cow<'_, str> {
    escape_text(s, false)
}

fn escape_text(s: &str, lines: bool) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe(c, lines)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe(c, lines) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn escape_value(v: &mut Value, lines: bool) {
    match v {
        Value::String(s) => {
            if let Cow::Owned(e) = escape_text(s, lines) {
                *s = e;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| escape_value(i, lines)),
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                escape_value(v, MULTILINE_KEYS.contains(&k.as_str()));
            }
        }
        _ => {}
    }
}

/// A copy of `value` whose every string is [`escape`]d: what the renderers
/// for people draw from, so that no field of a report (present or added
/// later) reaches the terminal raw. `None` if the value does not survive the
/// round trip through JSON (see [`render`]).
#[must_use]
pub fn printable<T: Serialize + DeserializeOwned>(value: &T) -> Option<T> {
    let mut v = serde_json::to_value(value).ok()?;
    escape_value(&mut v, false);
    serde_json::from_value(v).ok()
}

/// Draws `value` for people with `draw`: from a copy whose strings are
/// escaped, or, should the value not survive the round trip through JSON, from
/// the value itself without colour, the whole drawing escaped.
pub fn render<T: Serialize + DeserializeOwned>(
    value: &T,
    color: bool,
    draw: impl Fn(&T, bool) -> String,
) -> String {
    match printable(value) {
        Some(v) => draw(&v, color),
        None => escape(&draw(value, false)).into_owned(),
    }
}

/// A CSV cell a spreadsheet will not run: a cell that starts like a formula
/// (`=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, as
/// OWASP recommends. Numbers (`-1.5`) and a lone `-` are left as they are.
#[must_use]
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    let formula = match s.chars().next() {
        Some('=' | '+' | '@' | '\t' | '\r') => true,
        Some('-') => s != "-" && s.parse::<f64>().is_err(),
        _ => false,
    };
    if formula {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_shown_not_obeyed() {
        assert_eq!(escape("plain name 1.0"), "plain name 1.0");
        assert!(matches!(escape("ünïcode ok"), Cow::Borrowed(_)));
        assert_eq!(escape("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(escape("x\ry"), "x\\u{d}y");
        assert_eq!(escape("c1\u{9b}31m"), "c1\\u{9b}31m");
        assert_eq!(escape("ab\u{202e}cd"), "ab\\u{202e}cd");
        assert_eq!(escape("two\nlines\tand tab"), "two\nlines\tand tab");
    }

    #[test]
    fn every_string_of_a_value_is_escaped() {
        let v = serde_json::json!({"a": ["\x1b]0;title\x07"], "b": {"c": "ok"}, "n": 1,
            "name": "x\nCRITICAL forged", "description": "two\nlines"});
        let p: Value = printable(&v).unwrap();
        assert_eq!(p["a"][0], "\\u{1b}]0;title\\u{7}");
        assert_eq!(p["name"], "x\\u{a}CRITICAL forged");
        assert_eq!(p["description"], "two\nlines");
        assert_eq!(p["b"]["c"], "ok");
        assert_eq!(p["n"], 1);
    }

    #[test]
    fn formulas_are_neutralised_numbers_are_not() {
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(csv_cell("+1+1"), "'+1+1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(
            csv_cell("-2+3+cmd|' /C calc'!A0"),
            "'-2+3+cmd|' /C calc'!A0"
        );
        assert_eq!(csv_cell("-1.5"), "-1.5");
        assert_eq!(csv_cell("-"), "-");
        assert_eq!(csv_cell("openssl"), "openssl");
    }
}
