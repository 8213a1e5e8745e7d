//! Rules are data: `rules/builtin.toml` is compiled into the binary, and users
//! add, replace or disable rules and allow-list values and paths with a TOML
//! file of the same shape (`vigia scan … --secrets-config FILE`):
//!
//! ```toml
//! disabled = ["jwt"]                   # rule IDs to turn off
//! skip_paths = ['^/opt/legacy/']       # more paths (regexes) not to read
//! scan_default_skipped = false         # true: also read node_modules, tests, …
//! max_file_size = 20971520             # bytes searched per file (more: a warning)
//!
//! [allow]
//! values = ["sk_live_not_a_real_key"]  # exact values never reported
//! paths = ['/docs/']                   # findings in these paths dropped
//!
//! [[rule]]                             # a new rule (or one replacing a built-in by id)
//! id = "acme-internal-token"
//! title = "ACME internal API token"
//! severity = "HIGH"
//! keywords = ["acme_"]
//! regex = '''\b(?P<secret>acme_[a-z0-9]{32})\b'''
//! true = ["token = acme_0123456789abcdef0123456789abcdef"]
//! false = ["acme_short"]
//! ```

use serde::Deserialize;

/// The built-in rules.
pub const BUILTIN: &str = include_str!("../rules/builtin.toml");

/// One rule.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable ID (`aws-access-key-id`).
    pub id: String,
    /// What it finds, for people.
    pub title: String,
    /// `CRITICAL`, `HIGH`, `MEDIUM`, `LOW`, `INFORMATIONAL`.
    pub severity: String,
    /// Lowercase keywords; the regex runs only around a hit of one of them.
    pub keywords: Vec<String>,
    /// The pattern. The value is the `secret` group, else `q` or `u`, else the whole match.
    pub regex: String,
    /// Minimum Shannon entropy (bits per character) of the value.
    #[serde(default)]
    pub entropy: Option<f64>,
    /// The group whose entropy and placeholder-ness is checked (a URI's password).
    #[serde(default)]
    pub entropy_group: Option<String>,
    /// A PEM-style block: the regex finds the BEGIN line, the value ends at the matching END line.
    #[serde(default)]
    pub multiline: bool,
    /// Not applied to lockfiles (integrity hashes look like secrets).
    #[serde(default)]
    pub skip_lockfiles: bool,
    /// An assignment-style rule: stricter placeholder and code-reference checks.
    #[serde(default)]
    pub generic: bool,
    /// Bytes before a keyword hit the regex may start at (default 256).
    #[serde(default)]
    pub window_before: Option<usize>,
    /// Tags (`aws`, `private-key`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Regexes on the file's name (case-insensitive): when given, the rule
    /// applies only to files so named (`.pgpass`, whose lines have no key).
    #[serde(default)]
    pub files: Vec<String>,
    /// Lines that must give a finding.
    #[serde(default, rename = "true")]
    pub true_samples: Vec<String>,
    /// Lines that must not.
    #[serde(default, rename = "false")]
    pub false_samples: Vec<String>,
}

/// Allow-lists.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Allow {
    /// Exact values never reported.
    #[serde(default)]
    pub values: Vec<String>,
    /// Paths (regexes) whose findings are dropped.
    #[serde(default)]
    pub paths: Vec<String>,
}

/// A rules file: the built-in one, or a user's.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// Rules (a user rule with a built-in's ID replaces it).
    #[serde(default)]
    pub rule: Vec<Rule>,
    /// Rule IDs to turn off.
    #[serde(default)]
    pub disabled: Vec<String>,
    /// Allow-lists.
    #[serde(default)]
    pub allow: Allow,
    /// More paths (regexes) never read.
    #[serde(default)]
    pub skip_paths: Vec<String>,
    /// Also read the paths skipped by default (vendored code, tests, examples).
    #[serde(default)]
    pub scan_default_skipped: Option<bool>,
    /// Bytes searched per file; a larger file is searched this far and named in a warning.
    #[serde(default)]
    pub max_file_size: Option<u64>,
}

/// A rules file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct Error {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

/// Why a rules file does not parse, by line and column, without its text:
/// a rules file allow-lists real secret values, and the parser's own message
/// quotes the line at fault and the value it refused.
fn unquoted_reason(e: &toml::de::Error, text: &str) -> String {
    let mut reason = String::new();
    let mut quoted = false;
    for c in e.message().chars() {
        match (c, quoted) {
            ('"', false) => {
                quoted = true;
                reason.push_str("\"…");
            }
            ('"', true) => {
                quoted = false;
                reason.push('"');
            }
            (_, true) => {}
            (c, false) => reason.push(c),
        }
    }
    match e.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {}", reason.trim_end())
        }
        None => reason.trim_end().to_owned(),
    }
}

impl RuleFile {
    /// Parses a rules file; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, Error> {
        toml::from_str(text).map_err(|e| Error {
            file: file.to_owned(),
            reason: unquoted_reason(&e, text),
        })
    }

    /// The built-in rules.
    #[must_use]
    pub fn builtin() -> Self {
        Self::parse("rules/builtin.toml", BUILTIN).expect("the built-in rules parse (tested)")
    }

    /// The built-in rules with a user's file laid over them.
    #[must_use]
    pub fn merged(mut self, user: Self) -> Self {
        for r in user.rule {
            match self.rule.iter_mut().find(|b| b.id == r.id) {
                Some(b) => *b = r,
                None => self.rule.push(r),
            }
        }
        self.rule.retain(|r| !user.disabled.contains(&r.id));
        self.disabled.extend(user.disabled);
        self.allow.values.extend(user.allow.values);
        self.allow.paths.extend(user.allow.paths);
        self.skip_paths.extend(user.skip_paths);
        if user.scan_default_skipped.is_some() {
            self.scan_default_skipped = user.scan_default_skipped;
        }
        if user.max_file_size.is_some() {
            self.max_file_size = user.max_file_size;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::RuleFile;

    /// A finding is titled "Hardcoded {rule title} in {path}" and described
    /// as "A {rule title} (…) is hardcoded in …": a title names the thing,
    /// without "hardcoded" and without a place.
    #[test]
    fn rule_titles_read_inside_a_finding_title() {
        for r in RuleFile::builtin().rule {
            let lower = r.title.to_ascii_lowercase();
            assert!(!lower.contains("hardcoded"), "{}: {}", r.id, r.title);
            assert!(!lower.contains(" in "), "{}: {}", r.id, r.title);
        }
    }

    /// A rules file that does not parse is refused by line and column,
    /// never quoting the secret values it allow-lists.
    #[test]
    fn a_broken_rules_file_is_refused_without_its_values() {
        let key = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
        for (text, at) in [
            (
                format!("[allow]\nvalues = [\"{key}\", ]x\n"),
                "line 2, column",
            ),
            (
                format!("# rules\n[allow]\nvalues = \"{key}\"\n"),
                "line 3, column 10",
            ),
        ] {
            let e = RuleFile::parse("mine.toml", &text).unwrap_err();
            let shown = e.to_string();
            assert!(!shown.contains("sk_live"), "{shown}");
            assert!(!shown.contains('\n'), "{shown}");
            assert!(shown.starts_with(&format!("mine.toml: {at}")), "{shown}");
        }
    }
}
