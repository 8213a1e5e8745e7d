//! How log lines are written in the text format.
//!
//! Log fields carry text Vigia did not write: paths and entry names inside
//! archives, registry answers, advisory text. tracing-subscriber's own
//! field formatter writes them as they are (it escapes only some ANSI
//! sequences, and a newline not at all), so a file named with a line break
//! could forge a line of the service's log, and an escape sequence could
//! drive the terminal reading it. No maintained crate formats fields this
//! way, so this module does: each control character of a field is written
//! escaped (`\n`, `\u{1b}`), the rest as tracing-subscriber would. The
//! JSON format escapes them already.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

/// Fields as `message name=value …`, control characters escaped.
pub(crate) struct EscapedFields;

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut visitor = Escaping { out: String::new() };
        fields.record(&mut visitor);
        writer.write_str(&visitor.out)
    }
}

struct Escaping {
    out: String,
}

impl Escaping {
    fn push(&mut self, field: &Field, text: &str) {
        if !self.out.is_empty() {
            self.out.push(' ');
        }
        if field.name() != "message" {
            self.out.push_str(field.name());
            self.out.push('=');
        }
        escape_into(&mut self.out, text);
    }
}

impl Visit for Escaping {
    fn record_str(&mut self, field: &Field, value: &str) {
        // Quoted, as tracing-subscriber writes a text field.
        if field.name() == "message" {
            self.push(field, value);
        } else {
            self.push(field, &format!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.push(field, &format!("{value:?}"));
    }
}

/// `text` with its control characters escaped as Rust writes them.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_debug());
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::escape_into;

    #[test]
    fn control_characters_are_escaped_and_nothing_else() {
        let mut out = String::new();
        escape_into(
            &mut out,
            "evil.tar\n2026-12-07T00:00:00Z  INFO forged \u{1b}[2J\u{9b}31m é ✓",
        );
        assert_eq!(
            out,
            "evil.tar\\n2026-12-07T00:00:00Z  INFO forged \\u{1b}[2J\\u{9b}31m é ✓"
        );
        assert!(!out.chars().any(char::is_control));
    }
}
