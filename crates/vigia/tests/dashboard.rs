//! The dashboard in a real browser: `vigia serve` watching copies of the
//! shared image, function and host against the shared mirror, and
//! `tests/browser/dashboard.mjs` driving Debian's headless Chromium through
//! it (puppeteer-core from npm, installed by `.ci/run`). The script compares
//! every page with the API; this test then checks the SBOMs it downloaded
//! against the official schemas.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

mod serve;
use serve::{Home, copy_targets, start, token, wait_coverage};

fn browser_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser"))
}

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

/// `vigia user create NAME --role ROLE`, the password on standard input.
fn create_user(home: &Home, name: &str, role: &str, password: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigia"))
        .args(home.args())
        .args(["user", "create", name, "--role", role])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn user_create_refuses_short_passwords_and_agent_roles() {
    let home = Home::sqlite();
    let out = create_user(&home, "ana", "admin", "short");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"));
    let out = create_user(&home, "ana", "agent", "a long enough password");
    assert_eq!(out.status.code(), Some(2));
    let out = create_user(&home, "bad name!", "viewer", "a long enough password");
    assert_eq!(out.status.code(), Some(2));
    let out = create_user(&home, "ana", "viewer", "a long enough password");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The password is stored only as an Argon2id hash.
    let db = home.dir.path().join("state.db");
    let stored = Command::new("sqlite3")
        .arg(&db)
        .arg("SELECT password_hash FROM users")
        .output()
        .unwrap();
    let stored = String::from_utf8_lossy(&stored.stdout);
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains("a long enough password"));
}

#[test]
fn the_dashboard_in_headless_chromium_agrees_with_the_api() {
    assert!(
        Path::new(&chromium()).exists(),
        "{} is missing: the browser tests need Debian's chromium (.ci/run installs it)",
        chromium()
    );
    assert!(
        browser_dir().join("node_modules/puppeteer-core").exists(),
        "puppeteer-core is missing: run `npm ci --prefix {}` (.ci/run does)",
        browser_dir().display()
    );
    let home = Home::sqlite();
    let admin = token(&home, "admin");
    let viewer = token(&home, "viewer");
    let password = "correct horse battery staple";
    let out = create_user(&home, "ana", "admin", password);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let folder = tempfile::tempdir().unwrap();
    let targets = copy_targets(folder.path());
    let server = start(&home, &vigia_test_support::vulndata(), folder.path());
    wait_coverage(&server, &admin, targets.len(), "SUCCESSFUL");
    let downloads = tempfile::tempdir().unwrap();
    let run = Command::new("node")
        .arg(browser_dir().join("dashboard.mjs"))
        .env("VIGIA_URL", &server.base)
        .env("VIGIA_ADMIN_TOKEN", &admin)
        .env("VIGIA_VIEWER_TOKEN", &viewer)
        .env("VIGIA_USER", "ana")
        .env("VIGIA_PASSWORD", password)
        .env("VIGIA_OUT", downloads.path())
        .env("CHROMIUM", chromium())
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "{said}\n{}", server.log());
    assert!(said.contains("every check passed"), "{said}");
    vigia_test_support::validate_json_schema(
        "cyclonedx-bom-1.6.schema.json",
        &downloads.path().join("sbom.cdx.json"),
    );
    vigia_test_support::validate_json_schema(
        "spdx-2.3-schema.json",
        &downloads.path().join("sbom.spdx.json"),
    );
    // No password or token reached the log.
    let log = server.log();
    assert!(!log.contains(password) && !log.contains(&admin) && !log.contains(&viewer));
}
