//! Every scheme against its upstream project's own test vectors
//! (`../shared/version-vectors/`, format in its README).

use std::cmp::Ordering;

use vigia_version::{Scheme, Version, rpm};

fn token(s: &str) -> (String, &str) {
    if s.starts_with('"') {
        // A JSON string literal: find its end.
        let mut de = serde_json::Deserializer::from_str(s).into_iter::<String>();
        let v = de.next().expect("a token").expect("a JSON string");
        let used = de.byte_offset();
        (v, s[used..].trim_start_matches(' '))
    } else {
        let end = s.find(' ').unwrap_or(s.len());
        (s[..end].to_owned(), s[end..].trim_start_matches(' '))
    }
}

struct Vector {
    a: String,
    op: Ordering,
    b: String,
    /// The comment line just above, if any.
    note: String,
}

fn comparisons(file: &str) -> Vec<Vector> {
    let path = vigia_test_support::shared_dir()
        .join("version-vectors")
        .join(file);
    let text = fs_err::read_to_string(&path).unwrap();
    let mut out = Vec::new();
    let mut note = String::new();
    for line in text.lines() {
        if line.starts_with('#') {
            line.clone_into(&mut note);
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let (a, rest) = token(line);
        let (op, rest) = rest.split_once(' ').unwrap();
        let (b, _) = token(rest);
        let op = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            other => panic!("unknown operator {other:?} in {file}"),
        };
        out.push(Vector {
            a,
            op,
            b,
            note: std::mem::take(&mut note),
        });
    }
    assert!(!out.is_empty(), "{file} has no vectors");
    out
}

fn singles(file: &str) -> Vec<String> {
    let path = vigia_test_support::shared_dir()
        .join("version-vectors")
        .join(file);
    fs_err::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            if l.starts_with('"') {
                token(l).0
            } else {
                l.to_owned()
            }
        })
        .collect()
}

/// Checks every vector both ways; returns the failures.
fn check(scheme: Scheme, file: &str, invalid_ok: impl Fn(&Vector) -> bool) -> Vec<String> {
    let mut failures = Vec::new();
    for v in comparisons(file) {
        match (Version::parse(scheme, &v.a), Version::parse(scheme, &v.b)) {
            (Ok(a), Ok(b)) => {
                if a.cmp(&b) != v.op || b.cmp(&a) != v.op.reverse() {
                    failures.push(format!(
                        "{file}: {} {:?} {} but got {:?}",
                        v.a,
                        v.op,
                        v.b,
                        a.cmp(&b)
                    ));
                }
            }
            (ra, rb) => {
                if !invalid_ok(&v) {
                    failures.push(format!(
                        "{file}: {} {:?} {}: rejected: {:?} {:?}",
                        v.a,
                        v.op,
                        v.b,
                        ra.err(),
                        rb.err()
                    ));
                }
            }
        }
    }
    failures
}

fn rejected(scheme: Scheme, file: &str) -> Vec<String> {
    singles(file)
        .into_iter()
        .filter(|s| Version::parse(scheme, s).is_ok())
        .map(|s| format!("{file}: {s:?} should be rejected"))
        .collect()
}

fn assert_none(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn dpkg() {
    // dpkg compares versions whose upstream part does not start with a digit
    // (with a warning); Vigia's strict parser rejects them, its lenient one
    // (for comparing what a system really has installed) takes them.
    let mut f = check(Scheme::Dpkg, "dpkg.txt", |v| {
        let (Ok(a), Ok(b)) = (
            vigia_version::dpkg::DpkgVersion::parse_lenient(&v.a),
            vigia_version::dpkg::DpkgVersion::parse_lenient(&v.b),
        ) else {
            return false;
        };
        a.cmp(&b) == v.op
    });
    f.extend(rejected(Scheme::Dpkg, "dpkg-invalid.txt"));
    assert_none(&f);
}

#[test]
fn rpm_vercmp() {
    let mut f = Vec::new();
    for v in comparisons("rpm.txt") {
        let got = rpm::rpmvercmp(&v.a, &v.b);
        if got != v.op || rpm::rpmvercmp(&v.b, &v.a) != v.op.reverse() {
            f.push(format!(
                "rpm.txt: {} {:?} {} but got {got:?}",
                v.a, v.op, v.b
            ));
        }
    }
    assert_none(&f);
}

#[test]
fn apk() {
    // apk sorts invalid versions as strings; Vigia rejects them, and the vector
    // file marks such lines with an "invalid" comment.
    // apk-tools still orders invalid versions (by string, or by tokens up to the
    // bad one); Vigia rejects them. The file marks the string-sorted line with an
    // "invalid" comment; `23_foo` has a suffix apk's validator rejects
    // (`0.1_foobar` is in apk-invalid.txt).
    let mut f = check(Scheme::Apk, "apk.txt", |v| {
        v.note.contains("invalid") || v.a == "23_foo"
    });
    f.extend(rejected(Scheme::Apk, "apk-invalid.txt"));
    for s in singles("apk-valid.txt") {
        if let Err(e) = Version::parse(Scheme::Apk, &s) {
            f.push(format!("apk-valid.txt: {e}"));
        }
    }
    assert_none(&f);
}

#[test]
fn pep440() {
    let mut f = check(Scheme::Pep440, "pep440.txt", |_| false);
    f.extend(rejected(Scheme::Pep440, "pep440-invalid.txt"));
    assert_none(&f);
}

#[test]
fn semver_strict_and_npm_loose() {
    let mut f = Vec::new();
    for v in comparisons("semver.txt") {
        let a = vigia_version::semver::SemverVersion::parse_strict(&v.a).unwrap();
        let b = vigia_version::semver::SemverVersion::parse_strict(&v.b).unwrap();
        if a.cmp(&b) != v.op {
            f.push(format!("semver.txt: {} {:?} {}", v.a, v.op, v.b));
        }
    }
    f.extend(check(Scheme::Semver, "semver.txt", |_| false));
    f.extend(check(Scheme::Semver, "semver-loose.txt", |_| false));
    for s in singles("semver-invalid.txt") {
        if vigia_version::semver::SemverVersion::parse_strict(&s).is_ok() {
            f.push(format!(
                "semver-invalid.txt: {s:?} should be rejected by strict SemVer"
            ));
        }
    }
    assert_none(&f);
}

#[test]
fn go_modules() {
    // Go ranks invalid strings equal to each other and below every valid
    // version; Vigia rejects them, so such lines must have an invalid side.
    let mut f = check(Scheme::Go, "go.txt", |v| {
        let (a, b) = (
            Version::parse(Scheme::Go, &v.a).is_err(),
            Version::parse(Scheme::Go, &v.b).is_err(),
        );
        match (a, b) {
            (true, true) => v.op == Ordering::Equal,
            (true, false) => v.op == Ordering::Less,
            (false, true) => v.op == Ordering::Greater,
            (false, false) => false,
        }
    });
    f.extend(rejected(Scheme::Go, "go-invalid.txt"));
    assert_none(&f);
}

#[test]
fn maven() {
    assert_none(&check(Scheme::Maven, "maven.txt", |_| false));
}

#[test]
fn rubygems() {
    let mut f = check(Scheme::RubyGems, "rubygems.txt", |_| false);
    f.extend(rejected(Scheme::RubyGems, "rubygems-invalid.txt"));
    assert_none(&f);
}

#[test]
fn nuget() {
    let mut f = check(Scheme::NuGet, "nuget.txt", |_| false);
    f.extend(rejected(Scheme::NuGet, "nuget-invalid.txt"));
    assert_none(&f);
}

#[test]
fn composer() {
    assert_none(&check(Scheme::Composer, "composer.txt", |_| false));
}
