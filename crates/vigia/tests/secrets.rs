//! Secret scanning end to end on the shared targets: every planted secret at
//! its file, lines, rule and layer with its hash, no decoy, no value leaked in
//! any output, and hostile files handled in bounded memory.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use sha2::{Digest, Sha256};

fn targets() -> PathBuf {
    vigia_test_support::shared_dir().join("targets")
}

fn expected() -> Value {
    let text = fs_err::read_to_string(targets().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// `vigia scan` with the secret scanner only, in a data directory of its own
/// (no vulnerability database: the secret scanner needs none).
fn scan_with(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigia"))
        .arg("--data-dir")
        .arg(home)
        .arg("scan")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn kind_of(target: &str) -> &'static str {
    match target {
        "debian12-app" | "alpine-base" => "image",
        "fn-python.zip" | "fn-node.zip" => "function",
        "host-snapshot.tar.gz" => "host",
        _ => "dir",
    }
}

type Key = (String, String, u64, u64, String, Option<u64>);

fn reported(report: &Value) -> BTreeSet<Key> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["type"] == "CODE_VULNERABILITY")
        .map(|f| {
            let c = &f["codeVulnerabilityDetails"];
            let s = &f["vigia"]["secret"];
            (
                c["ruleId"].as_str().unwrap().to_owned(),
                c["filePath"]["filePath"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches('/')
                    .to_owned(),
                c["filePath"]["startLine"].as_u64().unwrap(),
                c["filePath"]["endLine"].as_u64().unwrap(),
                s["sha256"].as_str().unwrap().to_owned(),
                s["layerIndex"].as_u64(),
            )
        })
        .collect()
}

fn planted(target: &Value, all_layers: bool) -> BTreeSet<Key> {
    target["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| all_layers || s["visible_in_final_filesystem"].as_bool() != Some(false))
        .map(|s| {
            (
                s["type"].as_str().unwrap().to_owned(),
                s["file"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches('/')
                    .to_owned(),
                s["line"].as_u64().unwrap(),
                s["line_end"].as_u64().unwrap(),
                s["value_sha256"].as_str().unwrap().to_owned(),
                s["layer_index"].as_u64(),
            )
        })
        .collect()
}

#[test]
fn every_planted_secret_is_found_and_nothing_else() {
    let e = expected();
    let home = tempfile::tempdir().unwrap();
    for (name, t) in e["targets"].as_object().unwrap() {
        let path = targets().join(name);
        for all in [false, true] {
            let mut args = vec![
                kind_of(name),
                path.to_str().unwrap(),
                "--scanners",
                "secret",
                "--format",
                "json",
            ];
            if all {
                args.push("--secrets-all-layers");
            }
            let out = scan_with(home.path(), &args);
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let report: Value = serde_json::from_slice(&out.stdout).unwrap();
            let got = reported(&report);
            let want = planted(t, all);
            let missed: Vec<_> = want.difference(&got).collect();
            let extra: Vec<_> = got.difference(&want).collect();
            assert!(
                missed.is_empty() && extra.is_empty(),
                "{name} (all layers: {all}):\n missed {missed:#?}\n extra {extra:#?}"
            );
        }
    }
    // The hidden ones say why, and the AWS pair names each other.
    let out = scan_with(
        home.path(),
        &[
            "image",
            targets().join("debian12-app").to_str().unwrap(),
            "--scanners",
            "secret",
            "--secrets-all-layers",
            "--format",
            "json",
        ],
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_rule = |id: &str| -> Vec<Value> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["codeVulnerabilityDetails"]["ruleId"] == id)
            .cloned()
            .collect()
    };
    let npm = &by_rule("npm-access-token")[0];
    assert_eq!(npm["vigia"]["secret"]["hiddenBy"], "opaque");
    assert_eq!(npm["vigia"]["secret"]["visibleInFinalFilesystem"], false);
    let aws = &by_rule("aws-access-key-id")[0];
    assert_eq!(aws["vigia"]["secret"]["hiddenBy"], "deleted");
    assert_eq!(aws["vigia"]["secret"]["pairedLine"], 5);
    assert_eq!(aws["severity"], "CRITICAL");
    assert_eq!(aws["codeVulnerabilityDetails"]["cwes"][0], "CWE-798");
    assert_eq!(
        aws["vigia"]["secret"]["layer"],
        "sha256:f67d6edb0d429b1abcbabcbe7109f7a2715a9b224f592cac0237cd1586290894"
    );
    assert!(
        aws["remediation"]["recommendation"]["text"]
            .as_str()
            .unwrap()
            .contains("rotate")
    );
    let key = &by_rule("openssh-private-key")[0];
    assert_eq!(key["codeVulnerabilityDetails"]["filePath"]["startLine"], 1);
    assert_eq!(key["codeVulnerabilityDetails"]["filePath"]["endLine"], 7);
}

/// Reads one file of a target: from an image layer, a zip or a tarball.
fn read_target_file(name: &str, target: &Value, file: &str, layer: Option<u64>) -> Vec<u8> {
    let rel = file.trim_start_matches('/');
    let from_tar = |reader: Box<dyn Read>| -> Vec<u8> {
        let mut a = tar::Archive::new(reader);
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let p = e
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_start_matches("./")
                .to_owned();
            if p == rel {
                let mut v = Vec::new();
                e.read_to_end(&mut v).unwrap();
                return v;
            }
        }
        panic!("{name}: no {file}");
    };
    match kind_of(name) {
        "image" => {
            let digest = target["layers"][usize::try_from(layer.unwrap()).unwrap()]["digest"]
                .as_str()
                .unwrap()
                .trim_start_matches("sha256:")
                .to_owned();
            let blob = targets().join(name).join("blobs/sha256").join(digest);
            from_tar(Box::new(flate2::read::GzDecoder::new(
                fs_err::File::open(blob).unwrap(),
            )))
        }
        "host" => from_tar(Box::new(flate2::read::GzDecoder::new(
            fs_err::File::open(targets().join(name)).unwrap(),
        ))),
        _ => {
            let mut z =
                zip::ZipArchive::new(fs_err::File::open(targets().join(name)).unwrap()).unwrap();
            let mut e = z.by_name(rel).unwrap();
            let mut v = Vec::new();
            e.read_to_end(&mut v).unwrap();
            v
        }
    }
}

/// The planted values themselves, recovered from the files by their hashes.
fn planted_values() -> Vec<String> {
    let e = expected();
    let mut values = Vec::new();
    for (name, t) in e["targets"].as_object().unwrap() {
        for s in t["secrets"].as_array().unwrap() {
            let data = read_target_file(
                name,
                t,
                s["file"].as_str().unwrap(),
                s["layer_index"].as_u64(),
            );
            let text = String::from_utf8_lossy(&data).into_owned();
            let lines: Vec<&str> = text.lines().collect();
            let (a, b) = (
                usize::try_from(s["line"].as_u64().unwrap()).unwrap(),
                usize::try_from(s["line_end"].as_u64().unwrap()).unwrap(),
            );
            let want = s["value_sha256"].as_str().unwrap();
            let hash = |v: &str| hex::encode(Sha256::digest(v.as_bytes()));
            let found = if a == b {
                let line = lines[a - 1];
                let idx: Vec<usize> = line
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain([line.len()])
                    .collect();
                let mut hit = None;
                'outer: for (x, &i) in idx.iter().enumerate() {
                    for &j in &idx[x + 1..] {
                        if hash(&line[i..j]) == want {
                            hit = Some(line[i..j].to_owned());
                            break 'outer;
                        }
                    }
                }
                hit
            } else {
                let v = lines[a - 1..b].join("\n");
                (hash(&v) == want).then_some(v)
            };
            values.push(found.unwrap_or_else(|| panic!("{name}: cannot recover {s}")));
        }
    }
    values
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs_err::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn no_output_log_or_stored_file_holds_a_secret() {
    let values = planted_values();
    assert_eq!(values.len(), 31);
    let home = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let e = expected();
    let mut texts: Vec<(String, Vec<u8>)> = Vec::new();
    for name in e["targets"].as_object().unwrap().keys() {
        let path = targets().join(name);
        for format in [
            "table",
            "json",
            "sarif",
            "csv",
            "asff",
            "markdown",
            "cyclonedx",
            "spdx",
        ] {
            let file = out_dir.path().join(format!("{name}.{format}"));
            let out = Command::new(env!("CARGO_BIN_EXE_vigia"))
                .arg("--data-dir")
                .arg(home.path())
                .args(["-vv", "scan", kind_of(name), path.to_str().unwrap()])
                .args([
                    "--scanners",
                    "secret",
                    "--secrets-all-layers",
                    "--format",
                    format,
                    "--output",
                ])
                .arg(&file)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name} {format}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            texts.push((format!("{name} {format} stderr"), out.stderr));
            texts.push((format!("{name} {format}"), fs_err::read(&file).unwrap()));
        }
    }
    // And whatever Vigia stored in its data directory (caches).
    let mut stored = Vec::new();
    files_under(home.path(), &mut stored);
    for p in stored {
        texts.push((p.display().to_string(), fs_err::read(&p).unwrap()));
    }
    for v in &values {
        // Neither the value nor any 8 characters of it past the 4-character prefix.
        let mut needles = vec![v.clone()];
        let chars: Vec<char> = v.chars().collect();
        if chars.len() >= 12 {
            needles.push(chars[4..12].iter().collect());
        }
        for (what, text) in &texts {
            for n in &needles {
                assert!(
                    memchr::memmem::find(text, n.as_bytes()).is_none(),
                    "{what} holds (part of) a planted secret starting {:?}",
                    &v[..4]
                );
            }
        }
    }
    // The redacted excerpt is there instead.
    let json = texts
        .iter()
        .find(|(w, _)| w == "fn-node.zip json")
        .map(|(_, t)| String::from_utf8_lossy(t).into_owned())
        .unwrap();
    assert!(json.contains("\"redacted\": \"npm_…\""), "{json}");
}

#[test]
fn secret_scans_need_no_database_and_honour_ignores_and_rules() {
    let home = tempfile::tempdir().unwrap();
    let node = targets().join("fn-node.zip");
    let out = scan_with(
        home.path(),
        &[
            "function",
            node.to_str().unwrap(),
            "--scanners",
            "secret",
            "--format",
            "json",
            "--fail-on",
            "critical",
        ],
    );
    // Stripe and npm keys are Critical.
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let npm = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["codeVulnerabilityDetails"]["ruleId"] == "npm-access-token")
        .unwrap();
    let hash = npm["vigia"]["secret"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();

    // Suppressed by its hash; a rule disabled; a rule of one's own.
    let cwd = tempfile::tempdir().unwrap();
    fs_err::write(
        cwd.path().join(".vigiaignore"),
        format!("- sha256: {hash}\n  reason: revoked on 2026-11-01, kept as a canary\n"),
    )
    .unwrap();
    let rules = cwd.path().join("rules.toml");
    fs_err::write(
        &rules,
        r#"disabled = ["stripe-live-secret-key"]
[[rule]]
id = "acme-order-hook"
title = "ACME order webhook name"
severity = "LOW"
keywords = ["order-webhook"]
regex = '(?P<secret>order-webhook-fn)'
true = ["name: order-webhook-fn"]
false = ["order"]
"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vigia"))
        .arg("--data-dir")
        .arg(home.path())
        .args([
            "scan",
            "function",
            node.to_str().unwrap(),
            "--scanners",
            "secret",
            "--format",
            "json",
        ])
        .arg("--secrets-config")
        .arg(&rules)
        .current_dir(cwd.path())
        .output()
        .unwrap();
    vigia_test_support::assert_success(&out);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = r["findings"].as_array().unwrap();
    let rule = |x: &Value| {
        x["codeVulnerabilityDetails"]["ruleId"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(f.iter().all(|x| rule(x) != "stripe-live-secret-key"));
    let npm = f.iter().find(|x| rule(x) == "npm-access-token").unwrap();
    assert_eq!(npm["status"], "SUPPRESSED");
    assert!(f.iter().any(|x| rule(x) == "acme-order-hook"), "{f:#?}");
    // A broken rules file is an error naming it.
    fs_err::write(&rules, "[[rule]]\nid = 'x'\n").unwrap();
    let bad = scan_with(
        home.path(),
        &[
            "function",
            node.to_str().unwrap(),
            "--scanners",
            "secret",
            "--secrets-config",
            rules.to_str().unwrap(),
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("rules.toml"));
}

/// `vigia scan KIND TARGET --scanners secret --format json --secrets-config
/// RULES`, which must succeed, and its peak RSS (KiB) from GNU time.
fn secret_scan_rss(kind: &str, target: &Path, rules: &Path, home: &Path) -> (Output, u64) {
    let rss = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(rss.path())
        .arg(env!("CARGO_BIN_EXE_vigia"))
        .arg("--data-dir")
        .arg(home)
        .args(["scan", kind])
        .arg(target)
        .args([
            "--scanners",
            "secret",
            "--format",
            "json",
            "--secrets-config",
        ])
        .arg(rules)
        .output()
        .unwrap();
    vigia_test_support::assert_success(&out);
    let kib = fs_err::read_to_string(rss.path())
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (out, kib)
}

#[test]
fn hostile_files_in_bounded_memory() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let token = "ghp_Q1w2E3r4T5y6U7i8O9p0AaSsDdFfGgHhJjKk";
    // 2 GiB on one line, the token at the very end.
    {
        let mut f =
            std::io::BufWriter::new(fs_err::File::create(root.join("one-line.js")).unwrap());
        let block = vec![b'a'; 1 << 20];
        for _ in 0..2048 {
            f.write_all(&block).unwrap();
        }
        write!(f, " t='{token}'").unwrap();
    }
    // A minified bundle: 40 MB on one line, a keyword every 60 bytes.
    {
        let mut f =
            std::io::BufWriter::new(fs_err::File::create(root.join("bundle.min.js")).unwrap());
        for i in 0..700_000 {
            write!(f, "var token{i}=getToken(a,b);var password=p;x=1;").unwrap();
        }
        write!(f, "var secretKey=\"Zk8#pQ2!vX9$mL4@wR7&\";").unwrap();
    }
    // Invalid UTF-8 around a token; NUL bytes (binary).
    fs_err::write(
        root.join("latin1.conf"),
        [
            b"caf\xe9 \xff\xfe ".as_slice(),
            b"npm_ZAq1XSw2CDe3VFr4BGt5NHy6MJu7KIi8LOo9\n",
        ]
        .concat(),
    )
    .unwrap();
    fs_err::write(
        root.join("blob.bin"),
        [b"\x00\x01\x02".as_slice(), token.as_bytes()].concat(),
    )
    .unwrap();
    let rules = root.join("rules.toml");
    fs_err::write(&rules, "max_file_size = 4294967296\n").unwrap();
    let (out, kib) = secret_scan_rss("dir", root, &rules, home.path());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: BTreeSet<(String, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["codeVulnerabilityDetails"]["filePath"]["fileName"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                f["codeVulnerabilityDetails"]["ruleId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    assert!(
        found.contains(&("one-line.js".into(), "github-classic-pat".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&("latin1.conf".into(), "npm-access-token".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&("bundle.min.js".into(), "generic-secret-key".into())),
        "{found:?}"
    );
    assert!(!found.iter().any(|(f, _)| f == "blob.bin"), "{found:?}");
    assert_eq!(r["scan"]["secrets"]["filesBinary"], 1);
    // Streaming: far less than the 2 GiB file.
    assert!(kib < 200 * 1024, "peak RSS {kib} KiB");

    let out = scan_with(
        home.path(),
        &[
            "dir",
            root.to_str().unwrap(),
            "--scanners",
            "secret",
            "--format",
            "json",
        ],
    );
    // Default limits: the big file is searched up to 10 MiB, so the token at
    // its end is not found, and a warning names the file instead of leaving
    // the scan looking clean.
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !r["findings"].to_string().contains("one-line.js"),
        "{:#}",
        r["findings"]
    );
    let warned: Vec<&str> = r["scan"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|w| w.contains("one-line.js"))
        .collect();
    assert_eq!(warned.len(), 1, "{:#}", r["scan"]["warnings"]);
    assert!(
        warned[0].contains("only its first 10485760 bytes"),
        "{warned:?}"
    );

    // A zip bomb: one entry of 300 MB of zeros, compressed a thousandfold.
    let bomb = root.join("bomb.zip");
    {
        let mut z = zip::ZipWriter::new(fs_err::File::create(&bomb).unwrap());
        z.start_file(
            "handler.py",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
        let block = vec![b'0'; 1 << 20];
        for _ in 0..300 {
            z.write_all(&block).unwrap();
        }
        z.finish().unwrap();
    }
    let (out, kib) = secret_scan_rss("function", &bomb, &rules, home.path());
    assert!(String::from_utf8_lossy(&out.stderr).contains("zip bomb"));
    assert!(kib < 200 * 1024, "peak RSS {kib} KiB");
}

/// A rules file that does not parse fails the scan before anything is read,
/// naming the file once and saying where it is wrong.
#[test]
fn bad_secret_rules_are_an_error_naming_the_file_once() {
    let home = tempfile::tempdir().unwrap();
    let rules = home.path().join("rules.toml");
    fs_err::write(&rules, "not = [valid toml").unwrap();
    let rules_arg = rules.to_str().unwrap();
    let out = scan_with(
        home.path(),
        &[
            "dir",
            targets().join("rust-lockfile").to_str().unwrap(),
            "--scanners",
            "secret",
            "--secrets-config",
            rules_arg,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no report");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches(rules_arg).count(), 1, "{stderr}");
    assert!(
        stderr.contains("bad secret rules") && stderr.contains("line 1"),
        "{stderr}"
    );
}

/// `-o` writes the report aside and renames it into place: a write that fails
/// half way (here the file-size limit kills it, as a full disk would stop it)
/// leaves the previous report whole.
#[test]
fn a_report_that_cannot_be_written_leaves_the_previous_one() {
    let home = tempfile::tempdir().unwrap();
    let report = home.path().join("report.json");
    fs_err::write(&report, "the previous report\n").unwrap();
    let out = Command::new("prlimit")
        .arg("--fsize=256")
        .arg(env!("CARGO_BIN_EXE_vigia"))
        .arg("--data-dir")
        .arg(home.path())
        .args(["scan", "dir"])
        .arg(targets().join("rust-lockfile"))
        .args(["--scanners", "secret", "--format", "json", "-o"])
        .arg(&report)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the write cannot succeed under the limit"
    );
    assert_eq!(
        fs_err::read_to_string(&report).unwrap(),
        "the previous report\n"
    );
    // Without the limit the new report replaces it.
    let out = scan_with(
        home.path(),
        &[
            "dir",
            targets().join("rust-lockfile").to_str().unwrap(),
            "--scanners",
            "secret",
            "--format",
            "json",
            "-o",
            report.to_str().unwrap(),
        ],
    );
    vigia_test_support::assert_success(&out);
    let doc: Value = serde_json::from_str(&fs_err::read_to_string(&report).unwrap()).unwrap();
    assert!(doc["scan"].is_object());
}

/// A credential set by `ENV`, or passed to a build step, is published with
/// the image (`docker inspect`, `docker history`): it is found in the image's
/// configuration, said once, redacted, in an OCI layout and in the `docker
/// save` archive skopeo makes of it.
#[test]
fn secrets_in_an_image_config_are_found_once_and_redacted() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let password = "Kx7vQ2mRt9WpLz4NaB3c";
    let github = "ghp_Q1w2E3r4T5y6U7i8O9p0AaSsDdFfGgHhJjKk";
    let npm = "npm_ZAq1XSw2CDe3VFr4BGt5NHy6MJu7KIi8LOo9";
    let gitlab = "glpat-Xy7Lm2Qw9Er4Ty6Ui8Op";
    let layer = vigia_test_support::tar_of(&[("srv/app/README", b"nothing to see\n")]);
    let diff_id = vigia_test_support::sha256(&layer);
    vigia_test_support::write_layout_with(
        &layout,
        &[vigia_test_support::gzip(&layer)],
        &[diff_id],
        "amd64",
        &serde_json::json!({
            "Env": [
                "MOTD=two\nlines",
                "PATH=/usr/local/bin:/usr/bin",
                format!("DB_PASSWORD={password}"),
                format!("GITHUB_TOKEN={github}"),
                "DB_PASSWORD_FILE=/run/secrets/db_password",
                format!("MYSQL_ROOT_PASSWORD={password}"),
            ],
            "Labels": {"com.example.ci": gitlab},
        }),
        &serde_json::json!([
            {"created_by": "/bin/sh -c #(nop) ADD file:0123 in / "},
            {"created_by": format!("ENV DB_PASSWORD={password}")},
            {"empty_layer": true},
            {"created_by": format!("RUN |1 NPM_TOKEN={npm} /bin/sh -c npm ci # buildkit"), "empty_layer": false},
        ]),
    );
    let archive = dir.path().join("image.tar");
    let copied = Command::new("skopeo")
        .args(["copy", "--quiet"])
        .arg(format!("oci:{}", layout.display()))
        .arg(format!("docker-archive:{}:app:1", archive.display()))
        .output()
        .expect("skopeo (installed by .ci/run)");
    vigia_test_support::assert_success(&copied);
    let scan_image = |target: &Path, format: &str| -> String {
        let out = scan_with(
            home.path(),
            &[
                "image",
                target.to_str().unwrap(),
                "--scanners",
                "secret",
                "--format",
                format,
            ],
        );
        vigia_test_support::assert_success(&out);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for target in [&layout, &archive] {
        let text = scan_image(target, "json");
        for value in [password, github, npm, gitlab] {
            assert!(!text.contains(value), "{} leaks a value", target.display());
        }
        let r: Value = serde_json::from_str(&text).unwrap();
        let mut found: Vec<(String, String, u64)> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let d = &f["codeVulnerabilityDetails"];
                assert!(
                    f["description"]
                        .as_str()
                        .unwrap()
                        .contains("the image's configuration"),
                    "{f:#}"
                );
                (
                    d["filePath"]["filePath"].as_str().unwrap().to_owned(),
                    d["ruleId"].as_str().unwrap().to_owned(),
                    d["filePath"]["startLine"].as_u64().unwrap(),
                )
            })
            .collect();
        found.sort();
        // One line per entry (the two-line variable is line 1): the
        // environment, the label (7), then one per build step (8 to 11,
        // the third recording no command). The password the ENV step set
        // again is said once, at the environment's line; the same password
        // in a second variable is said there too.
        assert_eq!(
            found,
            vec![
                ("image-config".into(), "github-classic-pat".into(), 4),
                ("image-config".into(), "gitlab-pat".into(), 7),
                ("image-config".into(), "npm-access-token".into(), 11),
                ("image-config".into(), "password-in-config".into(), 3),
                ("image-config".into(), "password-in-config".into(), 6),
            ],
            "{}",
            target.display()
        );
    }
    // The CI summary says where each secret is.
    let md = scan_image(&layout, "markdown");
    assert!(md.contains("| `image-config:4-4` |"), "{md}");
    assert!(!md.contains(github), "{md}");
}
