//! The matching engine: one Aho-Corasick pass over a file for every rule's
//! keywords, then each triggered rule's regex only in a bounded window around
//! its keyword hits. Files stream through in chunks, so neither a 2 GB file
//! nor a one-line minified bundle is ever held whole.

use std::collections::HashSet;
use std::io::Read;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use sha2::{Digest, Sha256};

use crate::rules::{Rule, RuleFile};

/// Values from vendors' documentation and famous examples: never secrets.
const DOCUMENTED_EXAMPLES: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AKIAI44QH8DHBEXAMPLE",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    // jwt.io's example token.
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    // PyJWT's README example ({"some": "payload"}, secret "secret").
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzb21lIjoicGF5bG9hZCJ9.4twFt5NiznN84AWoo1d7KO1T_yoc0Z6XOpOVswacPZg",
    // OAuth 2.0's examples (RFC 6749 sections 4.1 to 6), quoted by every
    // OAuth library's documentation.
    "2YotnFZFEjr1zCsicMWpAA",
    "tGzv3JOkF0XG5Qx2TlKWIA",
    "SplxlOBeZQQYbYS6WxSbIA",
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
];

/// Paths not read by default: vendored dependencies, tests and examples,
/// documentation, and keys that packages generate at install time (sshd host
/// keys, the snakeoil certificate key), which are not hardcoded credentials.
const DEFAULT_SKIPS: &[&str] = &[
    r"/node_modules/",
    r"/vendor/",
    r"/(?:site|dist)-packages/[^/]+\.(?:dist|egg)-info/",
    r"\.(?:dist|egg)-info/",
    r"/\.git/",
    // Installed documentation, wherever the prefix (`/usr/local/share/doc`,
    // a toolchain's own `share/doc`).
    r"/share/(?:doc|man|info|locale|i18n|zoneinfo)/",
    r"/(?:tests?|__tests__|specs?|testdata|test-data|fixtures|__fixtures__|examples?)/",
    // Documentation: Markdown, reStructuredText and AsciiDoc files.
    r"\.(?:md|markdown|rst|adoc)$",
    // Test files by their languages' own naming conventions.
    r"/test_[^/]*\.py$",
    r"_test\.(?:go|py|rb|exs?)$",
    r"\.(?:test|spec)\.[cm]?[jt]sx?$",
    r"_spec\.rb$",
    r"[._-](?:example|sample|template)(?:\.[A-Za-z0-9]+)?$",
    // Files of examples: `examples.json`, an SDK's `examples-1.json`.
    r"/(?:examples?|samples?)(?:[._-]\d+)?(?:\.[A-Za-z0-9]+)?$",
    r"^/etc/ssh/ssh_host_[a-z0-9]+_key$",
    r"^/etc/ssl/private/ssl-cert-snakeoil\.key$",
];

/// File extensions that are never text worth reading.
const BINARY_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "ico", "webp", "bmp", "tiff", "woff", "woff2", "ttf", "otf",
    "eot", "zip", "gz", "tgz", "bz2", "xz", "zst", "7z", "jar", "war", "ear", "whl", "pyc", "pyo",
    "so", "a", "o", "dll", "exe", "class", "mo", "gmo", "pdf", "db", "sqlite", "mp3", "mp4",
    "wasm", "deb", "rpm", "apk",
];

/// Lockfiles: integrity hashes look like secrets to generic rules.
const LOCKFILES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "Cargo.lock",
    "poetry.lock",
    "Pipfile.lock",
    "uv.lock",
    "composer.lock",
    "Gemfile.lock",
    "go.sum",
    "packages.lock.json",
];

/// Text that marks a value as a placeholder rather than a secret.
const PLACEHOLDERS: &[&str] = &[
    "${",
    "{{",
    "}}",
    "%(",
    "xxxx",
    "****",
    "....",
    // An elided value: `eyJ2Ijoi...Oi...`.
    "...",
    "\u{2026}",
    "<",
    ">",
    "example",
    "changeme",
    "change-me",
    "change_me",
    "placeholder",
    "your-",
    "your_",
    "yourpassword",
    "dummy",
    "redacted",
    "insert",
    "replace",
    "fixme",
    "todo",
    "sample",
    "process.env",
    "os.environ",
    "getenv",
];

/// The path under which secrets in an image's configuration (its environment
/// and build history) are reported: no file of the image's filesystem, so no
/// leading slash. Its lines are assignments, as a configuration file's are.
pub const IMAGE_CONFIG: &str = "image-config";

const CHUNK: usize = 8 << 20;
const OVERLAP: usize = 64 << 10;
const PEM_MAX: usize = 64 << 10;
pub(crate) const BINARY_SNIFF: usize = 8 << 10;

/// Whether a file that starts with `head` is binary: a NUL byte in its first
/// [`BINARY_SNIFF`] bytes (what Git and ripgrep check too).
pub(crate) fn looks_binary(head: &[u8]) -> bool {
    memchr::memchr(0, &head[..head.len().min(BINARY_SNIFF)]).is_some()
}
/// The longest value a generic assignment rule reports.
const GENERIC_MAX: usize = 256;

/// A bad rule: its ID and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("rule {id}: {reason}")]
pub struct RuleError {
    /// The rule.
    pub id: String,
    /// What is wrong.
    pub reason: String,
}

#[derive(Debug)]
struct Compiled {
    rule: Rule,
    re: Regex,
    end_markers: bool,
    /// The file names the rule is limited to, if it is.
    files: Option<RegexSet>,
}

impl Compiled {
    /// Whether the rule applies to a file of this name.
    fn applies_to(&self, name: &str) -> bool {
        self.files
            .as_ref()
            .is_none_or(|f| f.is_match(name.as_bytes()))
    }
}

/// One secret found in one file. The value itself is not kept: only its
/// SHA-256, its first characters (at most 4) and its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index of the rule in [`Engine::rules`].
    pub rule: usize,
    /// Byte offset of the value in the file.
    pub offset: u64,
    /// Byte length of the value.
    pub length: usize,
    /// First line (1-based).
    pub start_line: u64,
    /// Last line.
    pub end_line: u64,
    /// SHA-256 of the value, hex.
    pub sha256: String,
    /// At most the first 4 characters of the value.
    pub prefix: String,
    /// Whether the rule is a generic assignment rule (less specific).
    pub generic: bool,
}

/// What reading one file gave.
#[derive(Debug, Default)]
pub struct FileResult {
    /// Secrets.
    pub hits: Vec<Hit>,
    /// Bytes read.
    pub bytes: u64,
    /// Skipped as binary (a NUL byte near the start).
    pub binary: bool,
}

/// The compiled rule set.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<Compiled>,
    ac: AhoCorasick,
    keyword_rules: Vec<Vec<usize>>,
    allow_values: HashSet<String>,
    allow_paths: Option<RegexSet>,
    skip_paths: Option<RegexSet>,
    /// Files larger than this are not read.
    pub max_file_size: u64,
}

/// Shannon entropy in bits per character.
#[must_use]
pub fn entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for &b in s {
        counts[usize::from(b)] += 1;
    }
    #[allow(clippy::cast_precision_loss)]
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            #[allow(clippy::cast_precision_loss)]
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

fn is_placeholder(v: &[u8]) -> bool {
    let lower = String::from_utf8_lossy(v).to_ascii_lowercase();
    if PLACEHOLDERS.iter().any(|p| lower.contains(p)) {
        return true;
    }
    // One repeated character (`aaaaaaaa`, `00000000`).
    v.first().is_some_and(|f| v.iter().all(|b| b == f))
}

/// Words, not a secret: `bare-quoted-string`, `Bearer`, `access_token`
/// (letters with separators, no digit or symbol), or words with a version
/// or algorithm number: `caching_sha2_password`, `AES256-GCM`, `pbkdf2_sha256`.
fn looks_like_words(v: &[u8]) -> bool {
    if v.iter()
        .all(|b| b.is_ascii_alphabetic() || matches!(b, b'-' | b'_' | b'.' | b' '))
    {
        return true;
    }
    // Each part letters, then at most three digits.
    let parts: Vec<&[u8]> = v
        .split(|b| matches!(b, b'-' | b'_' | b'.' | b' ' | b':' | b'/'))
        .collect();
    parts.len() >= 2
        && parts.iter().all(|p| {
            let letters = p.iter().take_while(|b| b.is_ascii_alphabetic()).count();
            let digits = p[letters..].iter().filter(|b| b.is_ascii_digit()).count();
            letters >= 2 && digits <= 3 && letters + digits == p.len()
        })
}

/// A value that is not a literal at all: a shell or template variable
/// (`$HOME`, `${VAR}`, `$(cmd)`, `{{ var }}`, `<%= x %>`), a format template
/// (`%s`, `%(name)s`, `{0}`, `{name}`), or a URL without credentials (a
/// token endpoint, a documentation link).
fn not_a_literal(v: &[u8]) -> bool {
    let has = |needle: &[u8]| memchr::memmem::find(v, needle).is_some();
    // `${…}` and `$(…)` anywhere; `$NAME` as the whole value's start (a `$`
    // inside a password, `Zk8#pQ2!vX9$mL4`, is part of the password).
    // Shaped as the syntax is, so that a generated password holding `$(`
    // or `%d` by chance is still a literal: `${NAME`, `$(cmd`, `$NAME` at the
    // start; `%s`/`%d`/`%v` as whole tokens, `%(name)s`.
    let ident_at = |i: usize| {
        v.get(i)
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
    };
    let closed = |from: usize, close: u8| v.get(from..).is_some_and(|r| r.contains(&close));
    let dollar_var = v.windows(2).enumerate().any(|(i, w)| {
        w[0] == b'$'
            && ident_at(i + 2)
            && (w[1] == b'{' && closed(i + 2, b'}') || w[1] == b'(' && closed(i + 2, b')'))
    }) || v.first() == Some(&b'$') && ident_at(1);
    let percent_format = v.windows(2).enumerate().any(|(i, w)| {
        w[0] == b'%'
            && (matches!(w[1], b's' | b'd' | b'v')
                && v.get(i + 2).is_none_or(|b| !b.is_ascii_alphanumeric())
                || w[1] == b'(' && ident_at(i + 2))
    });
    // `{}`, `{0}`, `{name}`, `{name!r}`: a brace pair around an identifier.
    let brace_template = memchr::memchr(b'{', v).is_some_and(|open| {
        memchr::memchr(b'}', &v[open..]).is_some_and(|len| {
            v[open + 1..open + len]
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'!' | b':' | b'.'))
        })
    });
    // An Amazon Resource Name (`arn:aws:iam::aws:policy/…`): an identifier.
    let arn = v.starts_with(b"arn:")
        && v[4..]
            .iter()
            .take_while(|b| **b != b':')
            .all(|b| b.is_ascii_lowercase() || *b == b'-')
        && v[4..].contains(&b':');
    let url_without_credentials = {
        let scheme = v.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        scheme >= 2 && v[scheme..].starts_with(b"://") && !has(b"@")
    };
    // A file's path (`/run/secrets/db_password`, where a `*_FILE` variable
    // says the secret is): slash-separated names, no password's punctuation.
    // Or a resource's name (`projects/123/secrets/db-password/versions/1`):
    // three slashes or more and no capital, which base64 of that length
    // almost never is.
    let slashes = memchr::memchr_iter(b'/', v).count();
    let names = v
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'.' | b'-'));
    let file_path = names
        && (v.first() == Some(&b'/') && slashes >= 2
            || slashes >= 3 && !v.iter().any(u8::is_ascii_uppercase));
    dollar_var
        || percent_format
        || brace_template
        || has(b"<%")
        || arn
        || url_without_credentials
        || file_path
}

/// Whether the key a generic rule matched at `start` is part of a namespaced
/// type name (`AWS::ApiGateway::ApiKey`, `Pod::Simple::Token`): such a key
/// names a type, and its value is a type's data (a schema's hash), not a
/// credential assigned to a variable.
fn namespaced_key(data: &[u8], start: usize) -> bool {
    let key_start = data[..start]
        .iter()
        .rposition(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b':')))
        .map_or(0, |i| i + 1);
    memchr::memmem::find(&data[key_start..start], b"::").is_some()
}

/// Whether `path` is a configuration file, where an unquoted value is a
/// literal (`.env`, INI, properties, YAML, TOML, shell-style `KEY=value`
/// files), rather than source code, where an unquoted value is code.
#[must_use]
pub fn is_config_file(path: &str) -> bool {
    const NAMES: &[&str] = &[
        "makefile",
        ".bashrc",
        ".bash_profile",
        ".profile",
        ".zshrc",
        ".zshenv",
        ".envrc",
        ".env",
        ".npmrc",
        ".pypirc",
        ".netrc",
        ".pgpass",
        ".my.cnf",
        ".gitconfig",
        "credentials",
        "config",
        "dockerfile",
        "containerfile",
        ".htpasswd",
    ];
    const EXTENSIONS: &[&str] = &[
        "env",
        "ini",
        "cfg",
        "conf",
        "cnf",
        "properties",
        "yaml",
        "yml",
        "toml",
        "config",
        "tfvars",
        "hcl",
        "plist",
        "prefs",
        "rc",
        // Shell scripts and systemd units: `export DB_PASSWORD=…`,
        // `Environment=DB_PASSWORD=…` assign literals.
        "sh",
        "bash",
        "zsh",
        "envrc",
        "service",
        "mk",
    ];
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if NAMES.contains(&name.as_str())
        || name.starts_with(".env.")
        || name.starts_with("env.")
        || name.starts_with("dockerfile.")
        || name.starts_with("dockerfile-")
        || name.starts_with("containerfile.")
        || name.ends_with(".dockerfile")
        || name.ends_with(".containerfile")
    {
        return true;
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) => !stem.is_empty() && EXTENSIONS.contains(&ext),
        // A file with no extension under /etc is configuration.
        None => path.starts_with("/etc/"),
    }
}

/// The least entropy a generic value needs: values drawn from 16 symbols
/// (hex) cannot reach the bits per character of base64, so their threshold is
/// lower (a random 16-character hex string averages about 3.5 bits).
fn entropy_floor(v: &[u8], min: f64) -> f64 {
    if v.iter().all(u8::is_ascii_hexdigit) {
        min.min(3.0)
    } else {
        min
    }
}

/// Whether the body of a PEM block (between its BEGIN and END lines) is
/// base64, once each line is stripped of what quotes or comments it in code
/// (`//! `, `# `, `"`, `\n"`, `+`; escaped newlines count as newlines): prose
/// between two markers (a doc comment that names the BEGIN line, then an
/// example whose body is `<key here>`) is not a key.
fn pem_body_is_base64(body: &[u8]) -> bool {
    let is_b64 = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
    // What may open a line in code or a comment, and what may close one.
    let opener = |b: &u8| {
        matches!(
            b,
            b'/' | b'#'
                | b'*'
                | b'!'
                | b'-'
                | b';'
                | b'"'
                | b'\''
                | b'`'
                | b' '
                | b'\t'
                | b'+'
                | b'('
                | b','
        )
    };
    let closer = |b: &u8| {
        matches!(
            b,
            b'"' | b'\'' | b'`' | b',' | b'+' | b'\\' | b' ' | b';' | b')' | b'\t' | b'\r'
        )
    };
    // Escaped newlines (`\n` in a quoted string) are line breaks too.
    let mut text = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'\\' && matches!(body.get(i + 1), Some(b'n' | b'r')) {
            text.push(b'\n');
            i += 2;
        } else {
            text.push(body[i]);
            i += 1;
        }
    }
    let mut b64 = 0usize;
    for line in text.split(|&b| b == b'\n') {
        let start = line.iter().position(|b| !opener(b)).unwrap_or(line.len());
        let end = line
            .iter()
            .rposition(|b| !closer(b))
            .map_or(start, |i| i + 1);
        if start >= end {
            continue;
        }
        let data = &line[start..end];
        // Headers: an encrypted PEM key's (`Proc-Type:`, `DEK-Info:`), an
        // OpenPGP armour's (`Version: GnuPG v1`, `Comment: …`): `Key: value`.
        if let Some(colon) = memchr::memchr(b':', data)
            && colon > 0
            && data[..colon]
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && data.get(colon + 1).is_none_or(|b| *b == b' ')
        {
            continue;
        }
        if !data.iter().all(is_b64) {
            return false;
        }
        b64 += data.len();
    }
    b64 >= 20
}

/// Placeholders too short to rule out a token of a specific rule (`xxx`,
/// `***` occur by chance in long random tokens), for generic values only.
fn short_placeholder(v: &[u8]) -> bool {
    memchr::memmem::find(v, b"xxx").is_some() || memchr::memmem::find(v, b"***").is_some()
}

/// A value that is code, not a literal: `self.password`, `config.apiKey`,
/// `request.form['password']`, and, unquoted, a call or literal opened at
/// the end of its line (`ResourceOwnerPasswordCredentialsGrant(`).
fn looks_like_code(v: &[u8], unquoted: bool) -> bool {
    if unquoted && v.last().is_some_and(|b| matches!(b, b'(' | b'[' | b'{')) {
        return true;
    }
    let s = String::from_utf8_lossy(v);
    let ident = |t: &str| {
        !t.is_empty()
            && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !t.starts_with(|c: char| c.is_ascii_digit())
    };
    s.split('.').all(ident) && s.contains('.')
        || s.contains('(') && s.ends_with(')')
        || s.contains('[') && s.ends_with(']')
}

/// Whether every line of a PEM body is in a documentation comment (`///`,
/// `//!`): an example in an API's rendered documentation, which no program
/// loads, as Markdown files are documentation.
fn pem_in_doc_comments(body: &[u8]) -> bool {
    let mut lines = body
        .split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .filter(|l| !l.is_empty())
        .peekable();
    lines.peek().is_some() && lines.all(|l| l.starts_with(b"///") || l.starts_with(b"//!"))
}

/// The start of the line holding `pos`, looking back at most `max` bytes (a
/// minified file is one long line: never scan it whole for each keyword).
fn line_start(data: &[u8], pos: usize, max: usize) -> usize {
    let from = pos.saturating_sub(max);
    memchr::memrchr(b'\n', &data[from..pos]).map_or(from, |i| from + i + 1)
}

/// The end of the line holding `pos`, looking ahead at most `max` bytes.
fn line_end(data: &[u8], pos: usize, max: usize) -> usize {
    let to = (pos + max).min(data.len());
    memchr::memchr(b'\n', &data[pos..to]).map_or(to, |i| pos + i)
}

fn compile_set(patterns: &[String], what: &str) -> Result<Option<RegexSet>, RuleError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    RegexSetBuilder::new(patterns)
        .build()
        .map(Some)
        .map_err(|e| RuleError {
            id: what.to_owned(),
            reason: e.to_string(),
        })
}

impl Engine {
    /// Compiles a rule file (usually [`RuleFile::builtin`] merged with a user's).
    pub fn new(file: &RuleFile) -> Result<Self, RuleError> {
        let mut rules = Vec::new();
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut ids = HashSet::new();
        for r in &file.rule {
            let err = |reason: String| RuleError {
                id: r.id.clone(),
                reason,
            };
            if !ids.insert(r.id.clone()) {
                return Err(err("the ID is used twice".into()));
            }
            if r.keywords.is_empty() {
                return Err(err("has no keywords".into()));
            }
            if !matches!(
                r.severity.as_str(),
                "CRITICAL" | "HIGH" | "MEDIUM" | "LOW" | "INFORMATIONAL"
            ) {
                return Err(err(format!("unknown severity {}", r.severity)));
            }
            // Byte-oriented, ASCII classes: secrets are ASCII, and Unicode-aware
            // case folding and classes make every rule slower for nothing.
            let re = RegexBuilder::new(&r.regex)
                .unicode(false)
                .size_limit(4 << 20)
                .build()
                .map_err(|e| err(e.to_string()))?;
            let index = rules.len();
            // Generic rules' keywords (`password`, `token`) are everywhere in
            // source code: their regexes, which begin with those same words,
            // search whole files with their own literal prefilter instead.
            for k in r.keywords.iter().filter(|_| !r.generic) {
                let k = k.to_ascii_lowercase();
                if let Some(i) = keywords.iter().position(|x| *x == k) {
                    keyword_rules[i].push(index);
                } else {
                    keywords.push(k);
                    keyword_rules.push(vec![index]);
                }
            }
            let files = if r.files.is_empty() {
                None
            } else {
                let anchored: Vec<String> = r.files.iter().map(|f| format!("^(?:{f})$")).collect();
                Some(
                    RegexSetBuilder::new(&anchored)
                        .case_insensitive(true)
                        .build()
                        .map_err(|e| err(format!("files: {e}")))?,
                )
            };
            rules.push(Compiled {
                end_markers: r.multiline,
                rule: r.clone(),
                re,
                files,
            });
        }
        // Leftmost-longest, non-overlapping search lets the automaton use its
        // fast prefilters; a keyword hidden inside a longer one (`secret` in
        // `aws_secret`) is covered by giving the longer one its rules too.
        for i in 0..keywords.len() {
            for j in 0..keywords.len() {
                if i != j && keywords[i].contains(keywords[j].as_str()) {
                    let extra = keyword_rules[j].clone();
                    for r in extra {
                        if !keyword_rules[i].contains(&r) {
                            keyword_rules[i].push(r);
                        }
                    }
                }
            }
        }
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            // A full DFA: a few hundred keywords make a small one, and it is
            // the fastest search where keywords are dense (source code).
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keywords)
            .map_err(|e| RuleError {
                id: "keywords".into(),
                reason: e.to_string(),
            })?;
        let mut skips: Vec<String> = file.skip_paths.clone();
        if !file.scan_default_skipped.unwrap_or(false) {
            skips.extend(DEFAULT_SKIPS.iter().map(|s| (*s).to_owned()));
        }
        let mut allow_values: HashSet<String> = DOCUMENTED_EXAMPLES
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        allow_values.extend(file.allow.values.iter().cloned());
        Ok(Self {
            rules,
            ac,
            keyword_rules,
            allow_values,
            allow_paths: compile_set(&file.allow.paths, "allow.paths")?,
            skip_paths: compile_set(&skips, "skip_paths")?,
            max_file_size: match file.max_file_size {
                Some(0) => {
                    return Err(RuleError {
                        id: "max_file_size".into(),
                        reason: "must be at least 1 byte: 0 would search nothing".into(),
                    });
                }
                Some(n) => n,
                None => 10 << 20,
            },
        })
    }

    /// The rules, in order.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().map(|c| &c.rule)
    }

    /// The rule at `index`.
    #[must_use]
    pub fn rule(&self, index: usize) -> &Rule {
        &self.rules[index].rule
    }

    /// Whether a file is worth reading: not a skipped path, not a binary
    /// extension, not over the size limit.
    #[must_use]
    pub fn wants(&self, path: &str, size: u64) -> bool {
        size > 0 && size <= self.max_file_size && self.wants_path(path)
    }

    /// The most bytes of one file that are searched (`max_file_size`).
    #[must_use]
    pub fn max_file_size(&self) -> u64 {
        self.max_file_size
    }

    /// Whether a file at `path` is worth reading, whatever its size: not a
    /// skipped path, not a binary extension.
    #[must_use]
    pub fn wants_path(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        if let Some((_, ext)) = name.rsplit_once('.')
            && BINARY_EXTENSIONS
                .iter()
                .any(|b| b.eq_ignore_ascii_case(ext))
        {
            return false;
        }
        !self
            .skip_paths
            .as_ref()
            .is_some_and(|s| s.is_match(path.as_bytes()))
    }

    /// Whether findings in `path` are allow-listed.
    #[must_use]
    pub fn path_allowed(&self, path: &str) -> bool {
        self.allow_paths
            .as_ref()
            .is_some_and(|s| s.is_match(path.as_bytes()))
    }

    /// Scans a whole file from a reader, in chunks.
    pub fn scan_reader(&self, path: &str, reader: &mut dyn Read) -> std::io::Result<FileResult> {
        let mut result = FileResult::default();
        let mut buf: Vec<u8> = Vec::with_capacity(CHUNK.min(1 << 20));
        // Absolute offset of buf[0], and newlines before it.
        let mut base: u64 = 0;
        let mut lines_before: u64 = 0;
        let mut seen: HashSet<(usize, u64)> = HashSet::new();
        let mut first = true;
        loop {
            let want = CHUNK.saturating_sub(buf.len()).max(OVERLAP);
            let start_len = buf.len();
            let n = Read::take(&mut *reader, want as u64).read_to_end(&mut buf)?;
            let eof = n < want;
            result.bytes += n as u64;
            if first {
                first = false;
                let sniff = &buf[..buf.len().min(BINARY_SNIFF)];
                if looks_binary(sniff) {
                    // The rest is never read: a folder's file is closed, a
                    // layer's entry skipped by the archive reader.
                    result.binary = true;
                    return Ok(result);
                }
            }
            if n == 0 && start_len == 0 {
                break;
            }
            // Hits starting in the last OVERLAP bytes are found again, whole, in
            // the next round (unless this is the end).
            let settle = if eof {
                buf.len()
            } else {
                buf.len().saturating_sub(OVERLAP)
            };
            for h in self.scan_window(path, &buf, base, lines_before) {
                if h.offset < base + settle as u64 && seen.insert((h.rule, h.offset)) {
                    result.hits.push(h);
                }
            }
            if eof {
                break;
            }
            let keep_from = settle;
            lines_before += memchr::memchr_iter(b'\n', &buf[..keep_from]).count() as u64;
            base += keep_from as u64;
            buf.drain(..keep_from);
        }
        Ok(result)
    }

    /// Scans a file held in memory, without copying it when it fits one chunk.
    #[must_use]
    pub fn scan_slice(&self, path: &str, data: &[u8]) -> FileResult {
        if data.len() > CHUNK {
            let mut r = data;
            return self.scan_reader(path, &mut r).unwrap_or_default();
        }
        let mut result = FileResult {
            bytes: data.len() as u64,
            ..FileResult::default()
        };
        if looks_binary(data) {
            result.binary = true;
            return result;
        }
        result.hits = self.scan_window(path, data, 0, 0);
        result
    }

    /// Scans bytes held in memory (tests, samples).
    #[must_use]
    pub fn scan_bytes(&self, path: &str, data: &[u8]) -> Vec<Hit> {
        self.scan_slice(path, data).hits
    }

    /// Finds the secrets in one buffer. `base` and `lines_before` place it in the file.
    fn scan_window(&self, path: &str, data: &[u8], base: u64, lines_before: u64) -> Vec<Hit> {
        let name = path.rsplit('/').next().unwrap_or(path);
        let lockfile = LOCKFILES.contains(&name);
        let config = path == IMAGE_CONFIG || is_config_file(path);
        // Windows per rule, from keyword hits.
        let mut windows: Vec<Vec<(usize, usize)>> = vec![Vec::new(); self.rules.len()];
        for m in self.ac.find_iter(data) {
            for &ri in &self.keyword_rules[m.pattern().as_usize()] {
                let rule = &self.rules[ri].rule;
                if rule.skip_lockfiles && lockfile || !self.rules[ri].applies_to(name) {
                    continue;
                }
                let ls = line_start(data, m.start(), rule.window_before.unwrap_or(256));
                let le = line_end(data, m.end(), 1024);
                windows[ri].push((ls, le));
            }
        }
        let mut hits: Vec<(usize, usize, usize)> = Vec::new(); // (rule, start, end)
        for (ri, c) in self.rules.iter().enumerate() {
            if c.rule.generic && !(c.rule.skip_lockfiles && lockfile) && c.applies_to(name) {
                self.match_rule(ri, data, 0, data.len(), config, &mut hits);
            }
        }
        for (ri, mut ws) in windows.into_iter().enumerate() {
            if ws.is_empty() {
                continue;
            }
            ws.sort_unstable();
            let mut merged: Vec<(usize, usize)> = Vec::new();
            for (s, e) in ws {
                match merged.last_mut() {
                    Some(last) if s <= last.1 => last.1 = last.1.max(e),
                    _ => merged.push((s, e)),
                }
            }
            for (s, e) in merged {
                self.match_rule(ri, data, s, e, config, &mut hits);
            }
        }
        // Overlapping values: keep the most specific rule.
        hits.sort_by_key(|&(ri, s, e)| (s, std::cmp::Reverse(e), self.rules[ri].rule.generic, ri));
        let mut kept: Vec<(usize, usize, usize)> = Vec::new();
        for h in hits {
            let overlaps = kept.iter().position(|k| h.1 < k.2 && k.1 < h.2);
            match overlaps {
                None => kept.push(h),
                Some(i) => {
                    let k = kept[i];
                    let (hg, kg) = (self.rules[h.0].rule.generic, self.rules[k.0].rule.generic);
                    // A specific rule wins over a generic one; otherwise the first (longest) stays.
                    if kg && !hg {
                        kept[i] = h;
                    }
                }
            }
        }
        kept.sort_by_key(|&(_, s, _)| s);
        let mut out = Vec::new();
        let mut line = lines_before + 1;
        let mut at = 0usize;
        for (ri, s, e) in kept {
            line += memchr::memchr_iter(b'\n', &data[at..s]).count() as u64;
            at = s;
            let value = &data[s..e];
            let end_line = line + memchr::memchr_iter(b'\n', value).count() as u64;
            let text = String::from_utf8_lossy(value);
            out.push(Hit {
                rule: ri,
                offset: base + s as u64,
                length: value.len(),
                start_line: line,
                end_line,
                sha256: hex::encode(Sha256::digest(value)),
                prefix: text.chars().take(4).collect(),
                generic: self.rules[ri].rule.generic,
            });
        }
        out
    }

    /// Runs rule `ri` over `data[s..e]` of a file that is configuration
    /// (`config`) or not, pushing accepted (rule, start, end) values.
    fn match_rule(
        &self,
        ri: usize,
        data: &[u8],
        s: usize,
        e: usize,
        config: bool,
        hits: &mut Vec<(usize, usize, usize)>,
    ) {
        let c = &self.rules[ri];
        let r = &c.rule;
        for caps in c.re.captures_iter(&data[s..e]) {
            let whole = caps.get(0).expect("group 0");
            let (vs, ve) = if c.end_markers {
                // From BEGIN through the matching END line.
                let begin = whole.as_bytes();
                let end_marker = String::from_utf8_lossy(begin).replacen("BEGIN", "END", 1);
                let from = s + whole.end();
                let limit = (from + PEM_MAX).min(data.len());
                let Some(i) = memchr::memmem::find(&data[from..limit], end_marker.as_bytes())
                else {
                    continue;
                };
                let body = &data[from..from + i];
                if !pem_body_is_base64(body)
                    || pem_in_doc_comments(body)
                    || r.entropy.is_some_and(|min| entropy(body) < min)
                {
                    continue;
                }
                (s + whole.start(), from + i + end_marker.len())
            } else {
                let secret = caps
                    .name("secret")
                    .or_else(|| caps.name("q"))
                    .or_else(|| caps.name("u"))
                    .unwrap_or(whole);
                let gated = r
                    .entropy_group
                    .as_deref()
                    .and_then(|g| caps.name(g))
                    .unwrap_or(secret);
                let gv = gated.as_bytes();
                // Generic values are bounded here, not in the regex: a bounded
                // repetition makes a much larger (slower) automaton.
                if r.generic
                    && (secret.len() > GENERIC_MAX || namespaced_key(data, s + whole.start()))
                {
                    continue;
                }
                // A password in a URI is read decoded: `correct%20horse%20battery`
                // is words, however its escapes raise its entropy.
                let decoded = r
                    .entropy_group
                    .is_some()
                    .then(|| percent_encoding::percent_decode(gv).collect::<Vec<u8>>());
                if decoded.as_deref().is_some_and(|d| {
                    is_placeholder(d)
                        || not_a_literal(d)
                        || d.contains(&b' ') && looks_like_words(d)
                }) {
                    continue;
                }
                // A quoted value is a literal whatever it ends with; an
                // unquoted one ending in a bracket is a call left open.
                let unquoted = caps.name("u").is_some();
                if is_placeholder(gv)
                    || r.generic
                        && (looks_like_code(gv, unquoted)
                            || looks_like_words(gv)
                            || not_a_literal(gv)
                            || short_placeholder(gv))
                {
                    continue;
                }
                // An unquoted value is a literal only in a configuration file;
                // in source code it is an identifier, a call, an expression.
                if r.generic && caps.name("u").is_some() && !config {
                    continue;
                }
                let floor = |min: f64| {
                    if r.generic {
                        entropy_floor(gv, min)
                    } else {
                        min
                    }
                };
                if r.entropy.is_some_and(|min| entropy(gv) < floor(min)) {
                    continue;
                }
                (s + secret.start(), s + secret.end())
            };
            let value = &data[vs..ve];
            if let Ok(v) = std::str::from_utf8(value)
                && self.allow_values.contains(v)
            {
                continue;
            }
            hits.push((ri, vs, ve));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        Engine::new(&RuleFile::builtin()).unwrap()
    }

    #[test]
    fn every_rule_finds_its_true_samples_and_none_of_its_false_ones() {
        let e = engine();
        assert!(e.rules.len() >= 60, "{} rules", e.rules.len());
        let mut problems = Vec::new();
        for (i, c) in e.rules.iter().enumerate() {
            let r = &c.rule;
            assert!(!r.true_samples.is_empty(), "{} has no true sample", r.id);
            assert!(!r.false_samples.is_empty(), "{} has no false sample", r.id);
            // True samples as configuration (where unquoted values count), or
            // as the files a rule is limited to; false samples must stay
            // silent in code and configuration alike.
            let named: Vec<&str> = ["/root/.netrc", "/root/.pgpass", "/src/Dockerfile"]
                .into_iter()
                .filter(|p| c.files.is_some() && c.applies_to(&p[p.rfind('/').unwrap() + 1..]))
                .collect();
            assert!(
                c.files.is_none() || !named.is_empty(),
                "{}: no sample path fits its files",
                r.id
            );
            let sample_path = named.first().copied().unwrap_or("/app/config.yaml");
            for s in &r.true_samples {
                let hits = e.scan_bytes(sample_path, s.as_bytes());
                if !hits.iter().any(|h| h.rule == i) {
                    problems.push(format!(
                        "{}: missed true sample {s:?} (got {:?})",
                        r.id,
                        hits.iter()
                            .map(|h| &e.rules[h.rule].rule.id)
                            .collect::<Vec<_>>()
                    ));
                }
            }
            for s in &r.false_samples {
                for path in ["/app/config.py", "/app/config.yaml", sample_path] {
                    let hits = e.scan_bytes(path, s.as_bytes());
                    if hits.iter().any(|h| h.rule == i) {
                        problems.push(format!("{}: reported false sample {s:?} in {path}", r.id));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn lines_hashes_and_prefixes() {
        let e = engine();
        let text = b"a\nb\nGITHUB_TOKEN = \"ghp_YwxxS8BQ35dDTQq45yfuLK6Q3DvjEN3ZTO6i\"\n";
        let hits = e.scan_bytes("/x.py", text);
        assert_eq!(hits.len(), 1);
        let h = &hits[0];
        assert_eq!(e.rule(h.rule).id, "github-classic-pat");
        assert_eq!((h.start_line, h.end_line), (3, 3));
        assert_eq!(h.prefix, "ghp_");
        assert_eq!(h.length, 40);
        assert_eq!(
            h.sha256,
            hex::encode(Sha256::digest(b"ghp_YwxxS8BQ35dDTQq45yfuLK6Q3DvjEN3ZTO6i"))
        );
    }

    #[test]
    fn secrets_across_chunk_boundaries_are_found_once() {
        let e = engine();
        let key =
            "sk_live_519a7M9W5vagJ26n2ZYuyVdtXlU3s2tEW9M7W9aFjtpC9NriCGhcMjIwesGKxKvrg2Dscw3I5em";
        for pad in [CHUNK - 100, CHUNK - OVERLAP - 10, CHUNK + 5, 3 * CHUNK - 40] {
            let mut data = vec![b'x'; pad];
            data.push(b'\n');
            data.extend_from_slice(format!("STRIPE = '{key}'\n").as_bytes());
            data.extend(std::iter::repeat_n(b'y', 1000));
            let hits = e.scan_bytes("/big.js", &data);
            assert_eq!(hits.len(), 1, "pad {pad}");
            assert_eq!(hits[0].start_line, 2);
            assert_eq!(hits[0].offset, pad as u64 + 11);
        }
    }

    #[test]
    fn binary_files_are_skipped() {
        let e = engine();
        let mut r: &[u8] = b"\x00\x01ghp_YwxxS8BQ35dDTQq45yfuLK6Q3DvjEN3ZTO6i";
        let res = e.scan_reader("/bin/x", &mut r).unwrap();
        assert!(res.binary);
        assert!(res.hits.is_empty());
    }

    #[test]
    fn skipped_paths_and_sizes() {
        let e = engine();
        assert!(e.wants("/srv/app/config.py", 100));
        assert!(!e.wants("/srv/web/node_modules/jws/readme.md", 100));
        assert!(!e.wants("/srv/web/test/fixtures/jwt.json", 100));
        assert!(!e.wants("/tests/fixtures.py", 100));
        assert!(!e.wants("/etc/ssh/ssh_host_rsa_key", 100));
        assert!(!e.wants("/srv/app/logo.png", 100));
        assert!(!e.wants("/srv/app/big.log", 11 << 20));
        assert!(!e.wants("/srv/api/settings.example.ini", 100));
        assert!(e.wants("/etc/ssh/sshd_config", 100));
        // A limit of nothing would turn the scan into warnings only.
        let zero =
            RuleFile::builtin().merged(RuleFile::parse("z.toml", "max_file_size = 0").unwrap());
        let err = Engine::new(&zero).unwrap_err();
        assert!(err.reason.contains("at least 1 byte"), "{err:?}");
    }

    #[test]
    fn user_rules_replace_add_and_disable() {
        let user = RuleFile::parse(
            "mine.toml",
            r#"disabled = ["jwt"]
               max_file_size = 100
               [allow]
               values = ["ghp_YwxxS8BQ35dDTQq45yfuLK6Q3DvjEN3ZTO6i"]
               [[rule]]
               id = "acme-token"
               title = "ACME token"
               severity = "HIGH"
               keywords = ["acme_"]
               regex = '\b(?P<secret>acme_[a-z0-9]{32})\b'
               true = ["t = acme_0123456789abcdef0123456789abcdef"]
               false = ["acme_x"]"#,
        )
        .unwrap();
        let e = Engine::new(&RuleFile::builtin().merged(user)).unwrap();
        assert!(e.rules().all(|r| r.id != "jwt"));
        assert_eq!(e.max_file_size, 100);
        let hits = e.scan_bytes("/a", b"t = acme_0123456789abcdef0123456789abcdef\nghp_YwxxS8BQ35dDTQq45yfuLK6Q3DvjEN3ZTO6i\n");
        assert_eq!(hits.len(), 1);
        assert_eq!(e.rule(hits[0].rule).id, "acme-token");
        let bad = RuleFile::parse("bad.toml", "[[rule]]\nid = 1\n").unwrap_err();
        assert!(bad.to_string().starts_with("bad.toml"));
        let bad_re = RuleFile::parse(
            "x",
            "[[rule]]\nid='a'\ntitle='a'\nseverity='HIGH'\nkeywords=['a']\nregex='('\n",
        )
        .unwrap();
        assert!(
            Engine::new(&bad_re)
                .unwrap_err()
                .to_string()
                .contains("rule a")
        );
    }

    fn rule_ids(e: &Engine, path: &str, text: &str) -> Vec<String> {
        e.scan_bytes(path, text.as_bytes())
            .iter()
            .map(|h| e.rule(h.rule).id.clone())
            .collect()
    }

    /// A high-entropy literal assigned to a key that names a secret is found
    /// in every configuration format, whatever its alphabet; the same
    /// unquoted assignment in source code is code, not a literal.
    #[test]
    fn config_secrets_in_every_format_and_unquoted_code_is_not_a_literal() {
        let e = engine();
        // Random values, one per alphabet: hex, base64, alphanumeric.
        let values = [
            "9c1f4be07d2a6e35b8f0c4d1a7e29b63",
            "kP4vZ9qW2xR7tYb1Lm8NcF3/Hs6J+dE0",
            "Qw3Ert5Yui7Opa9Sdf2Ghj4K",
        ];
        for v in values {
            for (path, text) in [
                ("/srv/app/.env", format!("API_SECRET={v}\n")),
                (
                    "/srv/app/.env.production",
                    format!("export STRIPE_TOKEN={v}\n"),
                ),
                ("/etc/app/app.ini", format!("[auth]\nsecret_key = {v}\n")),
                ("/srv/app/config.yaml", format!("auth:\n  api_token: {v}\n")),
                (
                    "/srv/app/config.yml",
                    format!("db_password: {v}  # rotate me\n"),
                ),
                (
                    "/srv/app/settings.toml",
                    format!("[db]\nDB_PASSWORD = '{v}'\n"),
                ),
                (
                    "/srv/app/application.properties",
                    format!("app.client.secret={v}\n"),
                ),
            ] {
                let ids = rule_ids(&e, path, &text);
                assert_eq!(ids.len(), 1, "{path}: {text:?} gave {ids:?}");
            }
            for (path, text) in [
                ("/srv/app/handler.py", format!("API_SECRET = {v}\n")),
                ("/srv/app/main.go", format!("apiToken := {v}\n")),
                ("/srv/app/index.js", format!("const secretKey = {v}\n")),
            ] {
                assert!(rule_ids(&e, path, &text).is_empty(), "{path}: {text:?}");
            }
            // Quoted, it is a literal in code too.
            let quoted = format!("API_SECRET = \"{v}\"\n");
            assert_eq!(rule_ids(&e, "/srv/app/handler.py", &quoted).len(), 1);
        }
    }

    /// Lines of real code that name passwords, tokens and secrets without
    /// holding one (each from a real tree: Debian's Python, Go and Perl).
    #[test]
    fn code_that_names_credentials_is_not_reported() {
        let e = engine();
        for (path, line) in [
            (
                "/usr/lib/python3/dist-packages/oauthlib/endpoints.py",
                "        self.password_grant = ResourceOwnerPasswordCredentialsGrant(\n",
            ),
            (
                "/usr/lib/python3/dist-packages/pip/auth.py",
                "            username, password = self._get_new_credentials(\n",
            ),
            (
                "/usr/lib/python3/dist-packages/pip/auth.py",
                "        url, netloc, url_user_password = split_auth_netloc_from_url(\n",
            ),
            (
                "/usr/share/go/src/os/exec/exec.go",
                "\t\twantPWDs := []string{tc.want}\n",
            ),
            (
                "/usr/share/go/src/os/user/listgroups_unix.go",
                "// \tgroupname:password:GID:user_list\n",
            ),
            (
                "/src/mysql/auth.rs",
                "            AuthPlugin::CachingSha2Password => \"caching_sha2_password\",\n",
            ),
            (
                "/usr/share/perl/CoreList.pm",
                "    'Pod::Simple::PullParserEndToken'=> 'https://github.com/perl-pod/pod-simple/issues',\n",
            ),
            (
                "/app/settings.py",
                "DATABASES = {'default': {'PASSWORD': '%(db_password)s'}}\n",
            ),
            (
                "/app/deploy.sh",
                "PGPASSWORD=$POSTGRES_PASSWORD psql -h db\n",
            ),
            (
                "/app/values.yaml",
                "password: \"{{ .Values.dbPassword }}\"\n",
            ),
            (
                "/app/app.py",
                "token = \"Bearer {token}\".format(token=t)\n",
            ),
            ("/app/.env", "API_TOKEN=your-api-token-here\n"),
            ("/app/.env", "SECRET_KEY=***************\n"),
        ] {
            assert!(
                rule_ids(&e, path, line).is_empty(),
                "{path}: {line:?} gave {:?}",
                rule_ids(&e, path, line)
            );
        }
    }

    /// Random base64 that is not a credential: a search index, a minified
    /// bundle, a source map, integrity hashes outside lockfiles.
    #[test]
    fn random_base64_blobs_are_not_tokens() {
        use std::fmt::Write as _;
        let e = engine();
        // A deterministic stream of base64 characters.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut b64 = |n: usize| -> String {
            const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    A[(state % 64) as usize] as char
                })
                .collect()
        };
        let mut index = String::from("Search.setIndex({docnames:[");
        for _ in 0..500 {
            let _ = write!(index, "\"{}\",", b64(24));
        }
        index.push_str("]})\n");
        let mut bundle = String::from("!function(e){var t=\"");
        bundle.push_str(&b64(200_000));
        bundle.push_str("\";e.tokenize=function(n){return t}}(window);\n");
        let map = format!(
            "{{\"version\":3,\"sources\":[\"a.ts\"],\"mappings\":\"{}\"}}\n",
            b64(50_000)
        );
        let pkg = format!(
            "{{\"name\":\"x\",\"dist\":{{\"integrity\":\"sha512-{}==\",\"shasum\":\"{}\"}}}}\n",
            b64(86),
            "3f786850e387550fdab836ed7e6dc881de23001b"
        );
        for (path, text) in [
            ("/usr/share/doc-html/searchindex.js", index.as_str()),
            ("/srv/www/static/app.min.js", bundle.as_str()),
            ("/srv/www/static/app.min.js.map", map.as_str()),
            ("/srv/app/node_cache/package.json", pkg.as_str()),
        ] {
            let ids = rule_ids(&e, path, text);
            assert!(ids.is_empty(), "{path}: {ids:?}");
        }
    }

    /// A PEM block is reported when its body is base64, however it is quoted
    /// or commented in code; prose between two markers is not a key.
    #[test]
    fn pem_bodies_must_be_base64() {
        let e = engine();
        let body = "MC4CAQAwBQYDK2VwBCIEIBftnHPp22SewYmmEoMcX8VwI4IHwaqd+9LFPj/15eqF";
        let doc = format!(
            "//! let pem = \"\\\n//! -----BEGIN PRIVATE KEY-----\n//! {body}\n//! -----END PRIVATE KEY-----\n//! \";\n"
        );
        // In an API's doc comments: its documentation, not a key it loads.
        assert!(rule_ids(&e, "/src/lib.rs", &doc).is_empty());
        let quoted = doc.replace("//! ", "");
        assert_eq!(rule_ids(&e, "/src/lib.rs", &quoted), ["pkcs8-private-key"]);
        let json = format!(
            "{{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----\\n\"}}\n"
        );
        assert_eq!(rule_ids(&e, "/srv/key.json", &json), ["pkcs8-private-key"]);
        let prose = "/// A blob that starts with `-----BEGIN PRIVATE KEY-----`.\n///\n/// Note: embedding keys in the binary is not advised.\n/// const KEY: &[u8] = b\"\\\n/// -----BEGIN PRIVATE KEY-----\n/// <Private key data here.>\n/// -----END PRIVATE KEY-----\";\n";
        assert!(rule_ids(&e, "/src/options.rs", prose).is_empty());
        // The same key in a plain comment (a test's fixture) is key material;
        // in an API's doc comments, it is its documentation.
        let comment =
            format!("// -----BEGIN PRIVATE KEY-----\n// {body}\n// -----END PRIVATE KEY-----\n");
        assert_eq!(
            rule_ids(&e, "/src/keys.rs", &comment),
            ["pkcs8-private-key"]
        );
        let doc_only =
            format!("/// -----BEGIN PRIVATE KEY-----\n/// {body}\n/// -----END PRIVATE KEY-----\n");
        assert!(rule_ids(&e, "/src/keys.rs", &doc_only).is_empty());
    }

    /// Literals that hold what looks like syntax by chance, armoured keys,
    /// shell and unit files, CRLF line ends: still found.
    #[test]
    fn generated_values_and_other_formats_are_still_found() {
        let e = engine();
        // Django's alphabet holds `%`, `$`, `(`: a generated key may hold
        // `%d2`, `$(r` or end with `(`.
        for line in [
            "SECRET_KEY = \"k8#m%d2x!v@q9z^w7$(r-3t_+l=e1y&u5o*p0i6a4s$fg\"\n",
            "SECRET_KEY = \"vq8#mz2kl!w9rt4xn@b7p3s6j0d5h1f(\"\n",
        ] {
            assert_eq!(
                rule_ids(&e, "/srv/app/settings.py", line),
                ["generic-secret-key"],
                "{line}"
            );
        }
        for (path, text) in [
            ("/app/entrypoint.sh", "export DB_PASSWORD=Vq8mZ2kLw9rT4xN\n"),
            (
                "/etc/systemd/system/app.service",
                "Environment=DB_PASSWORD=Vq8mZ2kLw9rT4xN\n",
            ),
            (
                "/home/bob/.bashrc",
                "export GITHUB_TOKEN_LOCAL=Qw3Ert5Yui7Opa9Sdf2Ghj4K\n",
            ),
            (
                "/srv/app/.env",
                "API_SECRET=9c1f4be07d2a6e35b8f0c4d1a7e29b63\r\n",
            ),
            (
                "/srv/app/Dockerfile.prod",
                "ENV API_TOKEN=Qw3Ert5Yui7Opa9Sdf2Ghj4K\n",
            ),
        ] {
            assert_eq!(rule_ids(&e, path, text).len(), 1, "{path}: {text:?}");
        }
        let body = "lQOYBGYz1ZcBCADKm8Zz3n2bH7vYk9qLw4tR5xN0pS6jD1fH8gK2mV3cB7xZ9aQe";
        let pgp = format!(
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v1\nComment: https://example.org\n\n{body}\n=AbCd\n-----END PGP PRIVATE KEY BLOCK-----\n"
        );
        assert_eq!(rule_ids(&e, "/root/key.asc", &pgp), ["pgp-private-key"]);
    }

    #[test]
    fn uri_passwords_are_read_decoded() {
        let e = engine();
        let words = "postgresql://user:correct%20horse%20battery%20staple@localhost/db\n";
        assert!(rule_ids(&e, "/srv/app/settings.py", words).is_empty());
        let real = "postgresql://app:Vq8%24mZ2kLw9rT4xN@db.internal:5432/app\n";
        assert_eq!(
            rule_ids(&e, "/srv/app/settings.py", real),
            ["postgresql-connection-uri"]
        );
    }

    #[test]
    fn test_files_by_naming_convention_are_skipped_by_default() {
        let e = engine();
        for path in [
            "/usr/share/go/src/net/url/url_test.go",
            "/srv/app/test_settings.py",
            "/srv/app/settings_test.py",
            "/srv/web/src/auth.test.ts",
            "/srv/web/src/auth.spec.js",
            "/srv/app/spec/models/user_spec.rb",
        ] {
            assert!(!e.wants(path, 100), "{path}");
        }
        assert!(!e.wants("/srv/app/README.md", 100));
        assert!(!e.wants("/srv/app/docs/setup.rst", 100));
        for path in [
            "/srv/app/testing.py",
            "/srv/app/latest.go",
            "/srv/app/contest.js",
        ] {
            assert!(e.wants(path, 100), "{path}");
        }
    }

    #[test]
    fn entropy_is_bits_per_character() {
        assert!((entropy(b"aaaa") - 0.0).abs() < 1e-9);
        assert!((entropy(b"abcd") - 2.0).abs() < 1e-9);
    }
}
