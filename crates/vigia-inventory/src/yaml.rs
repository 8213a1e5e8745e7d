//! YAML without aliases: every YAML Vigia reads from untrusted input (pnpm
//! lockfiles, Yarn berry lockfiles, `.vigiaignore`, and later the service's
//! configuration and network files) goes through [`load`].
//!
//! A YAML loader expands each alias into a copy of what it names, so a few
//! hundred bytes of nested aliases ("billion laughs") become gigabytes. None of
//! these formats ever needs an alias, so [`load`] refuses any: it streams the
//! parser's events first (memory bounded by the input's nesting, not by what
//! aliases would expand to) and loads the document only when there is none.

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::{Yaml, YamlLoader};

/// Why a YAML text was not loaded, with its 1-based line when known
/// (yaml-rust2's markers are 1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    /// The line it is about.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// Loads every document of `text`, refusing aliases (`*name`).
pub fn load(text: &str) -> Result<Vec<Yaml>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) => break,
            Ok((Event::Alias(_), at)) => {
                return Err(YamlError {
                    line: Some(at.line()),
                    message: "YAML aliases (*name) are not accepted here: the format never needs them, and expanding them can take all memory".into(),
                });
            }
            Ok(_) => {}
            Err(e) => {
                return Err(YamlError {
                    line: Some(e.marker().line()),
                    message: format!("invalid YAML: {e}"),
                });
            }
        }
    }
    YamlLoader::load_from_str(text).map_err(|e| YamlError {
        line: Some(e.marker().line()),
        message: format!("invalid YAML: {e}"),
    })
}

/// A loaded YAML document as JSON, for formats read with serde. Keys that
/// are not strings are written as YAML would print them; a real number that
/// JSON cannot hold (NaN, infinities) becomes null.
#[must_use]
pub fn to_json(doc: &Yaml) -> serde_json::Value {
    use serde_json::Value;
    match doc {
        Yaml::Real(_) => doc
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Real(r) => r.clone(),
                        Yaml::Boolean(b) => b.to_string(),
                        _ => String::new(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Yaml::Alias(_) | Yaml::Null | Yaml::BadValue => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 12 levels of 9 aliases: 637 bytes that a loader would expand to 9^12 nodes.
    fn bomb() -> String {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            s.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        s
    }

    #[test]
    fn alias_bombs_are_refused_before_any_expansion() {
        let err = load(&bomb()).unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("aliases"), "{err}");
    }

    #[test]
    fn plain_documents_load_and_anchors_alone_are_harmless() {
        let docs = load("a: 1\nb: &x [2, 3]\n").unwrap();
        assert_eq!(docs[0]["a"].as_i64(), Some(1));
        assert_eq!(docs[0]["b"][1].as_i64(), Some(3));
        assert_eq!(to_json(&docs[0]), serde_json::json!({"a": 1, "b": [2, 3]}));
        let err = load("a: 1\nb: [1\n").unwrap_err();
        assert!(err.message.starts_with("invalid YAML"), "{err}");
        // yaml-rust2's markers are 1-based already.
        assert!(matches!(err.line, Some(2 | 3)), "{err:?}");
    }
}
