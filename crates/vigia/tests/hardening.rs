//! Hostile inputs, end to end: each test builds its input, runs the binary and
//! asserts the exact outcome (an error naming the input, a coverage entry, an
//! exit code, the right packages).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigia_test_support::{gzip, tar_of, write_layout, write_layout_for};

fn vigia(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_vigia"))
        .args(args)
        .env("VIGIA_HOME", home.path())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs vigia, killing it after `limit`: a scan that blocks or reads forever
/// fails the test instead of hanging it.
fn vigia_within(args: &[&str], limit: Duration) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigia"))
        .args(args)
        .env("VIGIA_HOME", home.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("vigia {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn targets() -> PathBuf {
    vigia_test_support::shared_dir().join("targets")
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A tar stream holding `files`.
/// The diff_ids an OCI layout's image config claims.
fn diff_ids_of(layout: &Path) -> Vec<String> {
    let read = |digest: &str| -> Value {
        let hex = digest.strip_prefix("sha256:").unwrap();
        serde_json::from_slice(&fs_err::read(layout.join("blobs/sha256").join(hex)).unwrap())
            .unwrap()
    };
    let index: Value =
        serde_json::from_slice(&fs_err::read(layout.join("index.json")).unwrap()).unwrap();
    let mut desc = index["manifests"][0].clone();
    while desc["mediaType"].as_str().unwrap().contains("index") {
        desc = read(desc["digest"].as_str().unwrap())["manifests"][0].clone();
    }
    let manifest = read(desc["digest"].as_str().unwrap());
    let config = read(manifest["config"]["digest"].as_str().unwrap());
    config["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_owned())
        .collect()
}

fn package_names(out: &Output) -> Vec<String> {
    let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names: Vec<String> = inv["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}@{}", p["name"], p["version"]))
        .collect();
    names.sort();
    names
}

/// #27 item 2: an image that claims another image's diff_ids cannot make the
/// real image's cached inventory empty. The crafted image fails, naming the
/// lie; the real image, scanned next with the same layer cache, has every
/// package an uncached scan finds.
#[test]
fn an_image_claiming_another_images_layers_cannot_poison_the_layer_cache() {
    let data = tempfile::tempdir().unwrap();
    let real = targets().join("alpine-base");
    let claimed = diff_ids_of(&real);
    let crafted = tempfile::tempdir().unwrap();
    let empty = gzip(&tar_of(&[("etc/motd", b"nothing here\n")]));
    write_layout(crafted.path(), &vec![empty; claimed.len()], &claimed);

    let sbom = |target: &Path, extra: &[&str]| {
        let mut args = vec![
            "--data-dir",
            data.path().to_str().unwrap(),
            "sbom",
            target.to_str().unwrap(),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        vigia(&args)
    };
    let out = sbom(crafted.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("diff_id mismatch") && err.contains(&claimed[0]),
        "{err}"
    );
    // Nothing was cached under the real image's layers.
    let cached = fs_err::read_dir(data.path().join("cache/layers")).map_or(0, Iterator::count);
    assert_eq!(cached, 0, "a layer that failed its checks was cached");

    let uncached = sbom(&real, &["--no-cache"]);
    vigia_test_support::assert_success(&uncached);
    let expected = package_names(&uncached);
    assert!(expected.len() > 5, "{expected:?}");
    for run in ["first", "cached"] {
        let out = sbom(&real, &[]);
        vigia_test_support::assert_success(&out);
        assert_eq!(package_names(&out), expected, "{run} scan");
    }
}

/// #27 item 2: the manifest's and config's own blobs are checked against
/// their descriptors, like layers.
#[test]
fn manifest_and_config_blobs_are_checked_against_their_digests() {
    let dir = tempfile::tempdir().unwrap();
    let layer_tar = tar_of(&[("etc/motd", b"hello\n")]);
    write_layout(dir.path(), &[gzip(&layer_tar)], &[sha256(&layer_tar)]);
    let out = vigia(&["sbom", dir.path().to_str().unwrap(), "--format", "json"]);
    vigia_test_support::assert_success(&out);

    // Change the config's content behind its digest (same length).
    let index: Value =
        serde_json::from_slice(&fs_err::read(dir.path().join("index.json")).unwrap()).unwrap();
    let blob = |d: &Value| {
        dir.path().join("blobs/sha256").join(
            d["digest"]
                .as_str()
                .unwrap()
                .strip_prefix("sha256:")
                .unwrap(),
        )
    };
    let manifest_path = blob(&index["manifests"][0]);
    let manifest: Value = serde_json::from_slice(&fs_err::read(&manifest_path).unwrap()).unwrap();
    let config_path = blob(&manifest["config"]);
    let original = fs_err::read(&config_path).unwrap();
    let edited = String::from_utf8(original.clone())
        .unwrap()
        .replace("amd64", "arm64");
    fs_err::write(&config_path, edited).unwrap();
    let out = vigia(&["sbom", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("digest mismatch") && err.contains(config_path.to_str().unwrap()),
        "{err}"
    );
    fs_err::write(&config_path, &original).unwrap();

    // The same for the manifest.
    let original = fs_err::read(&manifest_path).unwrap();
    let mut edited = original.clone();
    let at = edited.iter().position(|b| *b == b'2').unwrap();
    edited[at] = b'3';
    fs_err::write(&manifest_path, edited).unwrap();
    let out = vigia(&["sbom", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("digest mismatch") && err.contains(manifest_path.to_str().unwrap()),
        "{err}"
    );
    fs_err::write(&manifest_path, &original).unwrap();

    // An index that lists no image says so (no platform would help).
    let mut empty = index.clone();
    empty["manifests"] = json!([]);
    fs_err::write(dir.path().join("index.json"), empty.to_string()).unwrap();
    let out = vigia(&["sbom", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("its index lists no image"), "{err}");
    assert!(!err.contains("--platform"), "{err}");
}

/// A `docker save` archive: `manifest.json`, a config named by its digest and
/// the layers; `diff_id` is what the config claims for the (only) layer.
fn docker_archive(path: &Path, layer: &[u8], diff_id: &str, config_name: Option<&str>) {
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "config": {}
    }))
    .unwrap();
    let config_name = config_name.map_or_else(
        || format!("{}.json", sha256(&config).strip_prefix("sha256:").unwrap()),
        str::to_owned,
    );
    let manifest = serde_json::to_vec(&json!([{
        "Config": config_name,
        "RepoTags": ["crafted:1"],
        "Layers": ["0123/layer.tar"],
    }]))
    .unwrap();
    let archive = tar_of(&[
        ("manifest.json", &manifest),
        (&config_name, &config),
        ("0123/layer.tar", layer),
    ]);
    fs_err::write(path, archive).unwrap();
}

/// #27 item 2: `docker save` layers are checked against the config's diff_ids,
/// and a config named by its digest against that digest.
#[test]
fn docker_archive_layers_and_configs_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let layer = tar_of(&[(
        "var/lib/dpkg/status",
        b"Package: base-files\nStatus: install ok installed\nVersion: 12.4\nArchitecture: amd64\n\n",
    )]);
    let good = dir.path().join("good.tar");
    docker_archive(&good, &layer, &sha256(&layer), None);
    let out = vigia(&["sbom", good.to_str().unwrap(), "--format", "json"]);
    vigia_test_support::assert_success(&out);
    assert_eq!(package_names(&out), ["\"base-files\"@\"12.4\""]);

    let other = tar_of(&[("etc/motd", b"x")]);
    let lying = dir.path().join("lying.tar");
    docker_archive(&lying, &layer, &sha256(&other), None);
    let out = vigia(&["sbom", lying.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("diff_id mismatch") && err.contains("lying.tar:0123/layer.tar"),
        "{err}"
    );

    let misnamed = dir.path().join("misnamed.tar");
    let name = format!("{}.json", "ab".repeat(32));
    docker_archive(&misnamed, &layer, &sha256(&layer), Some(&name));
    let out = vigia(&["sbom", misnamed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("digest mismatch") && err.contains(&name),
        "{err}"
    );
}

/// #27 item 5: a blob that is a device or a FIFO is refused before it is
/// opened, naming it, instead of a scan that reads forever or blocks.
#[test]
fn special_files_are_never_read_as_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let layer_tar = tar_of(&[("etc/motd", b"hello\n")]);
    let layer = gzip(&layer_tar);
    write_layout(
        dir.path(),
        std::slice::from_ref(&layer),
        &[sha256(&layer_tar)],
    );
    let blob = dir
        .path()
        .join("blobs/sha256")
        .join(sha256(&layer).strip_prefix("sha256:").unwrap());
    let target = dir.path().to_str().unwrap();

    fs_err::remove_file(&blob).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &blob).unwrap();
    let out = vigia_within(&["sbom", target], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(blob.to_str().unwrap()) && err.contains("not a regular file"),
        "{err}"
    );

    fs_err::remove_file(&blob).unwrap();
    let made = Command::new("mkfifo").arg(&blob).status().unwrap();
    assert!(made.success());
    let out = vigia_within(&["sbom", target], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(blob.to_str().unwrap()) && err.contains("not a regular file"),
        "{err}"
    );

    // A blob larger than its descriptor says is not read past that size.
    fs_err::remove_file(&blob).unwrap();
    let mut longer = layer.clone();
    longer.extend_from_slice(&[0u8; 4096]);
    fs_err::write(&blob, &longer).unwrap();
    let out = vigia_within(&["sbom", target], Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("larger than its manifest says"), "{err}");
}

/// An npm OSV record affecting `package` below 2.0.0, naming `aliases`.
fn npm_record(id: &str, package: &str, aliases: &[String]) -> (String, Vec<u8>) {
    let record = json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": "2026-11-01T00:00:00Z",
        "published": "2026-11-01T00:00:00Z",
        "aliases": aliases,
        "summary": format!("{package} test advisory"),
        "affected": [{
            "package": {"ecosystem": "npm", "name": package},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}],
        }],
    });
    (format!("{id}.json"), serde_json::to_vec(&record).unwrap())
}

/// #27 item 3: a record naming 50,000 aliases is skipped and named at ingest;
/// an alias group that grew past the database's bound-value limit through
/// many ordinary records is still read, so scans of its package work.
#[test]
fn absurd_alias_lists_are_skipped_at_ingest_and_huge_groups_still_match() {
    let mirror = vigia_test_support::mirror_copy();
    let npm = mirror.path().join("npm/all.zip");
    let mut entries = vigia_test_support::read_zip(&npm);
    let absurd: Vec<String> = (0..50_000).map(|i| format!("VIGIA-ABSURD-{i}")).collect();
    entries.push(npm_record(
        "GHSA-vvvv-aaaa-0001",
        "vigia-absurd-record",
        &absurd,
    ));
    // Twelve records of 3,000 aliases, each also naming the next record: one
    // group of 36,000 IDs, past SQLite's 32,766 bound values.
    for r in 0..12 {
        let mut aliases: Vec<String> = (0..3000).map(|i| format!("VIGIA-CHAIN-{r}-{i}")).collect();
        aliases.push(format!("GHSA-vvvv-bbbb-{:04}", r + 1));
        entries.push(npm_record(
            &format!("GHSA-vvvv-bbbb-{r:04}"),
            "vigia-huge-group",
            &aliases,
        ));
    }
    vigia_test_support::write_zip(&npm, &entries);

    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let out = vigia(&[
        "--data-dir",
        d,
        "db",
        "update",
        "--mirror",
        mirror.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    vigia_test_support::assert_success(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let npm_source = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["ecosystem"] == "npm")
        .unwrap();
    let malformed = npm_source["malformed"].as_array().unwrap();
    assert_eq!(malformed.len(), 1, "{malformed:#?}");
    assert_eq!(malformed[0]["entry"], "GHSA-vvvv-aaaa-0001.json");
    assert!(
        malformed[0]["reason"]
            .as_str()
            .unwrap()
            .contains("50000 other IDs"),
        "{malformed:#?}"
    );

    let project = tempfile::tempdir().unwrap();
    fs_err::write(
        project.path().join("package-lock.json"),
        serde_json::to_vec(&json!({
            "name": "app", "version": "1.0.0", "lockfileVersion": 3,
            "packages": {
                "": {"name": "app", "version": "1.0.0"},
                "node_modules/vigia-absurd-record": {"version": "1.0.0"},
                "node_modules/vigia-huge-group": {"version": "1.0.0"},
            }
        }))
        .unwrap(),
    )
    .unwrap();
    let out = vigia(&[
        "--data-dir",
        d,
        "scan",
        "dir",
        project.path().to_str().unwrap(),
        "--scanners",
        "vuln",
        "--format",
        "json",
    ]);
    vigia_test_support::assert_success(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["packageVulnerabilityDetails"]["vulnerablePackages"][0]["name"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        packages,
        ["vigia-huge-group"],
        "one finding, for the huge group"
    );

    let out = vigia(&[
        "--data-dir",
        d,
        "db",
        "show",
        "VIGIA-CHAIN-7-42",
        "--format",
        "json",
    ]);
    vigia_test_support::assert_success(&out);
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = shown.to_string();
    assert!(text.contains("GHSA-vvvv-bbbb-0000") && text.contains("GHSA-vvvv-bbbb-0011"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("SELECT"));
}

/// A tar stream of `(raw path bytes, content)`, paths written into the
/// header as they are (the tar crate refuses `..` and would not write them).
fn raw_tar(files: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..path.len()].copy_from_slice(path);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// #27 item 4: control characters from an image (its tag, `os-release`
/// name, package fields, file paths) never reach the terminal raw, in the
/// table, Markdown and CSV outputs or in warnings; CSV cells that start like
/// formulas are neutralised.
#[test]
fn terminal_escapes_from_inputs_are_shown_not_obeyed() {
    let dir = tempfile::tempdir().unwrap();
    let layer = raw_tar(&[
        (
            b"etc/os-release",
            b"PRETTY_NAME=\"\x1b[2J\x1b[HALL CLEAN\"\nID=debian\nVERSION_ID=\"12\"\n",
        ),
        (
            b"var/lib/dpkg/status",
            b"Package: =cmd|calc\nStatus: install ok installed\nVersion: 1.0\x1b[8m\nArchitecture: amd64\n\n",
        ),
        (b"../\x1b]0;pwned\x07", b"x"),
    ]);
    let archive = dir.path().join("crafted.tar");
    docker_archive(&archive, &layer, &sha256(&layer), None);
    let db = vigia_test_support::database_from_mirror(Path::new(env!("CARGO_BIN_EXE_vigia")));
    for format in ["table", "markdown", "csv"] {
        let out = vigia(&[
            "--data-dir",
            db.path().to_str().unwrap(),
            "scan",
            "image",
            archive.to_str().unwrap(),
            "--scanners",
            "vuln",
            "--format",
            format,
        ]);
        // 7: the crafted package's version cannot be compared (NOT EVALUATED).
        assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !bytes.iter().any(|b| *b == 0x1b || *b == 0x07),
                "{format} {stream} holds raw control bytes: {}",
                String::from_utf8_lossy(bytes)
            );
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let all = format!("{text}{}", stderr(&out));
        if format == "table" {
            assert!(all.contains("\\u{1b}[2J\\u{1b}[HALL CLEAN"), "{all}");
        }
        // The traversal entry's warning names it, escaped.
        assert!(all.contains("\\u{1b}]0;pwned\\u{7}"), "{format}: {all}");
    }
    // Both scanners meet the traversal entry: it is said once.
    let out = vigia(&[
        "--data-dir",
        db.path().to_str().unwrap(),
        "scan",
        "image",
        archive.to_str().unwrap(),
        "--scanners",
        "vuln,secret",
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let traversal: Vec<&Value> = report["scan"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w.as_str().is_some_and(|w| w.contains("pwned")))
        .collect();
    assert_eq!(traversal.len(), 1, "{:#}", report["scan"]["warnings"]);
    let out = vigia(&["sbom", archive.to_str().unwrap(), "--format", "table"]);
    vigia_test_support::assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.stdout.contains(&0x1b), "{text}");
    assert!(text.contains("1.0\\u{1b}[8m"), "{text}");
}

/// #27 item 4: a CSV cell that starts like a formula (here the detector's
/// name: a rule title from a user's rules file) is written as text.
#[test]
fn csv_cells_that_look_like_formulas_are_neutralised() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    fs_err::write(
        &rules,
        r#"[[rule]]
id = "formula-title"
title = "=HYPERLINK(\"http://attacker.example\",\"open\")"
severity = "LOW"
keywords = ["order-webhook"]
regex = '(?P<secret>order-webhook-fn)'
"#,
    )
    .unwrap();
    let project = dir.path().join("project");
    fs_err::create_dir_all(&project).unwrap();
    fs_err::write(project.join("deploy.yaml"), "name: order-webhook-fn\n").unwrap();
    let out = vigia(&[
        "scan",
        "dir",
        project.to_str().unwrap(),
        "--scanners",
        "secret",
        "--secrets-config",
        rules.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    vigia_test_support::assert_success(&out);
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let headers = reader.headers().unwrap().clone();
    let packages = headers.iter().position(|h| h == "packages").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        &rows[0][packages],
        "'=HYPERLINK(\"http://attacker.example\",\"open\")"
    );
}

/// #27 item 9: an image of one platform asked for as another is refused,
/// naming both, even when it is the only image in its index; the platform
/// reported is the one scanned.
#[test]
fn a_platform_asked_for_is_the_platform_scanned_or_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let layer_tar = tar_of(&[("etc/motd", b"hello\n")]);
    write_layout_for(
        dir.path(),
        &[gzip(&layer_tar)],
        &[sha256(&layer_tar)],
        "arm64",
    );
    let target = dir.path().to_str().unwrap();
    let out = vigia(&["sbom", target, "--platform", "linux/s390x"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("no image for platform linux/s390x: the image is linux/arm64"),
        "{err}"
    );
    for extra in [&[][..], &["--platform", "linux/arm64"][..]] {
        let mut args = vec!["sbom", target, "--format", "json"];
        args.extend_from_slice(extra);
        let out = vigia(&args);
        vigia_test_support::assert_success(&out);
        let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(inv["image"]["platform"], "linux/arm64", "{extra:?}");
    }
    // The same for a `docker save` archive.
    let archive = dir.path().join("amd64.tar");
    docker_archive(&archive, &layer_tar, &sha256(&layer_tar), None);
    let out = vigia(&[
        "sbom",
        archive.to_str().unwrap(),
        "--platform",
        "linux/arm64",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no image for platform linux/arm64: the image is linux/amd64"),
        "{}",
        stderr(&out)
    );
}

/// `vigia --data-dir DATA db update --mirror MIRROR --format json`: its exit
/// code and report.
fn update_from(data: &Path, mirror: &Path) -> (Option<i32>, Value) {
    let out = vigia(&[
        "--data-dir",
        data.to_str().unwrap(),
        "db",
        "update",
        "--mirror",
        mirror.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let report =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    (out.status.code(), report)
}

fn source_status<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in the report: {report:#}"))
}

/// #27 item 11: a source expected but absent (listed in the mirror's
/// manifest, held by the database, or an enrichment feed) is a failed source
/// (exit 3) that keeps its data; scans state which feeds the database lacks.
#[test]
fn missing_sources_fail_the_update_and_scans_name_what_is_lacking() {
    let mirror = vigia_test_support::mirror_copy();
    let data = tempfile::tempdir().unwrap();
    let (code, report) = update_from(data.path(), mirror.path());
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["failed"], 0);

    fs_err::remove_dir_all(mirror.path().join("Maven")).unwrap();
    fs_err::remove_dir_all(mirror.path().join("kev")).unwrap();
    let (code, report) = update_from(data.path(), mirror.path());
    assert_eq!(code, Some(3), "{report:#}");
    for name in ["Maven/all.zip", "kev/known_exploited_vulnerabilities.json"] {
        let s = source_status(&report, name);
        assert_eq!(s["status"], "failed", "{s:#}");
        assert!(s["error"].as_str().unwrap().contains("not found"), "{s:#}");
        assert!(
            s["records"].as_u64().unwrap() > 0,
            "its data is kept: {s:#}"
        );
    }

    // A new database from a mirror with no KEV catalogue and no manifest:
    // the catalogue is still expected; scans say it is missing.
    fs_err::remove_file(mirror.path().join("manifest.json")).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let (code, report) = update_from(fresh.path(), mirror.path());
    assert_eq!(code, Some(3), "{report:#}");
    assert_eq!(
        source_status(&report, "kev/known_exploited_vulnerabilities.json")["status"],
        "failed"
    );
    let target = vigia_test_support::shared_dir().join("targets/rust-lockfile");
    let scan = |format: &str| {
        vigia(&[
            "--data-dir",
            fresh.path().to_str().unwrap(),
            "scan",
            "dir",
            target.to_str().unwrap(),
            "--scanners",
            "vuln",
            "--format",
            format,
        ])
    };
    let out = scan("json");
    vigia_test_support::assert_success(&out);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["scan"]["database"]["lacks"], json!(["kev"]));
    assert!(
        stderr(&out).contains("has no CISA KEV catalogue"),
        "{}",
        stderr(&out)
    );
    let out = scan("table");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("LACKS KEV"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The complete database lacks nothing.
    let out = vigia(&[
        "--data-dir",
        data.path().to_str().unwrap(),
        "scan",
        "dir",
        target.to_str().unwrap(),
        "--scanners",
        "vuln",
        "--format",
        "json",
    ]);
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        r["scan"]["database"].get("lacks").is_none(),
        "{:#}",
        r["scan"]["database"]
    );
}

fn db_status(data: &Path, format: &str) -> Output {
    let out = vigia(&[
        "--data-dir",
        data.to_str().unwrap(),
        "db",
        "status",
        "--format",
        format,
    ]);
    vigia_test_support::assert_success(&out);
    out
}

/// #27 item 12: after a failed source update, `db status` shows the attempt,
/// its error and the data kept beside the last success; a source that never
/// succeeded is listed too; a later success clears the error.
#[test]
fn db_status_shows_each_sources_last_attempt_and_its_error() {
    let mirror = vigia_test_support::mirror_copy();
    let data = tempfile::tempdir().unwrap();
    assert_eq!(update_from(data.path(), mirror.path()).0, Some(0));
    let before: Value = serde_json::from_slice(&db_status(data.path(), "json").stdout).unwrap();
    let pypi_before = source_status(&before, "PyPI/all.zip").clone();
    assert!(pypi_before.get("last_error").is_none(), "{pypi_before:#}");

    let zip = mirror.path().join("PyPI/all.zip");
    let good = fs_err::read(&zip).unwrap();
    fs_err::write(&zip, &good[..good.len() / 2]).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(update_from(data.path(), mirror.path()).0, Some(3));
    let after: Value = serde_json::from_slice(&db_status(data.path(), "json").stdout).unwrap();
    let pypi = source_status(&after, "PyPI/all.zip");
    assert!(
        pypi["last_error"].as_str().unwrap().contains("zip"),
        "{pypi:#}"
    );
    assert_eq!(pypi["records"], pypi_before["records"], "its data is kept");
    assert_eq!(pypi["last_update"], pypi_before["last_update"]);
    assert!(
        pypi["last_attempt"].as_str().unwrap() > pypi_before["last_attempt"].as_str().unwrap(),
        "{pypi:#}"
    );
    let warnings = after["warnings"].to_string();
    assert!(
        warnings.contains("PyPI/all.zip: the last update failed"),
        "{warnings}"
    );
    let table = db_status(data.path(), "table");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("last attempt FAILED"), "{text}");

    fs_err::write(&zip, &good).unwrap();
    assert_eq!(update_from(data.path(), mirror.path()).0, Some(0));
    let healed: Value = serde_json::from_slice(&db_status(data.path(), "json").stdout).unwrap();
    assert!(
        source_status(&healed, "PyPI/all.zip")
            .get("last_error")
            .is_none()
    );

    // A source that never succeeded is listed, with its error.
    fs_err::remove_dir_all(mirror.path().join("kev")).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    assert_eq!(update_from(fresh.path(), mirror.path()).0, Some(3));
    let st: Value = serde_json::from_slice(&db_status(fresh.path(), "json").stdout).unwrap();
    let kev = source_status(&st, "kev/known_exploited_vulnerabilities.json");
    assert_eq!(kev["records"], 0);
    assert!(kev["last_update"].is_null(), "{kev:#}");
    assert!(
        kev["last_error"].as_str().unwrap().contains("not found"),
        "{kev:#}"
    );
}

/// A zip of `entries` (stored), each marked encrypted in its headers, as a
/// password-protected archive's entries are: their content cannot be read.
fn encrypted_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in entries {
        z.start_file(*name, stored).unwrap();
        z.write_all(data).unwrap();
    }
    let mut bytes = z.finish().unwrap().into_inner();
    // Set bit 0 (encrypted) of the general-purpose flags of every local
    // (PK\x03\x04, flags at +6) and central (PK\x01\x02, flags at +8) header.
    for i in 0..bytes.len().saturating_sub(10) {
        match &bytes[i..i + 4] {
            b"PK\x03\x04" => bytes[i + 6] |= 1,
            b"PK\x01\x02" => bytes[i + 8] |= 1,
            _ => {}
        }
    }
    bytes
}

/// #27 item 7: an input that lists packages and cannot be read is named as
/// NOT SCANNED, and the scan exits 7 (incomplete), never 0 with "no known
/// vulnerabilities"; `--allow-incomplete` exits 0 and still names it.
#[test]
fn inputs_that_cannot_be_read_make_the_scan_incomplete_not_clean() {
    let db = vigia_test_support::database_from_mirror(Path::new(env!("CARGO_BIN_EXE_vigia")));
    let dir = tempfile::tempdir().unwrap();
    let scan = |kind: &str, target: &Path, extra: &[&str]| {
        let mut args = vec![
            "--data-dir",
            db.path().to_str().unwrap(),
            "scan",
            kind,
            target.to_str().unwrap(),
            "--scanners",
            "vuln",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let out = vigia(&args);
        let report: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
        (out.status.code(), report, stderr(&out))
    };
    let not_scanned = |r: &Value| -> Vec<(String, String)> {
        r["scan"]["notScanned"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|n| {
                        (
                            n["path"].as_str().unwrap().to_owned(),
                            n["reason"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };

    // A function zip whose entries are encrypted.
    let function = dir.path().join("handler.zip");
    fs_err::write(
        &function,
        encrypted_zip(&[
            ("requirements.txt", b"requests==2.19.0\n"),
            ("handler.py", b"def handler(e, c): pass\n"),
        ]),
    )
    .unwrap();
    let (code, r, err) = scan("function", &function, &[]);
    assert_eq!(code, Some(7), "{r:#}");
    let ns = not_scanned(&r);
    assert_eq!(ns.len(), 1, "only the wanted entry is named: {ns:?}");
    assert!(ns[0].0.ends_with("handler.zip:requirements.txt"), "{ns:?}");
    assert!(err.contains("NOT SCANNED"), "{err}");

    // A dpkg status over the file size limit.
    let status = b"Package: openssl\nStatus: install ok installed\nVersion: 3.0.11-1~deb12u1\nArchitecture: amd64\n\n";
    let layer = tar_of(&[
        ("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
        ("var/lib/dpkg/status", status),
    ]);
    let image = dir.path().join("image.tar");
    docker_archive(&image, &layer, &sha256(&layer), None);
    let (code, r, _) = scan("image", &image, &["--max-file-size", "50"]);
    assert_eq!(code, Some(7), "{r:#}");
    assert!(
        not_scanned(&r)
            .iter()
            .any(|(p, why)| p.ends_with("/var/lib/dpkg/status") && why.contains("limit")),
        "{r:#}"
    );
    // Within the limit the same image is complete.
    let (code, r, _) = scan("image", &image, &[]);
    assert_eq!(code, Some(0), "{r:#}");
    assert!(not_scanned(&r).is_empty());

    // A lockfile that does not parse.
    let project = dir.path().join("project");
    fs_err::create_dir_all(&project).unwrap();
    fs_err::write(
        project.join("package-lock.json"),
        b"{\"lockfileVersion\": 3, ",
    )
    .unwrap();
    let (code, r, _) = scan("dir", &project, &[]);
    assert_eq!(code, Some(7), "{r:#}");
    assert!(not_scanned(&r)[0].1.contains("invalid JSON"), "{r:#}");
    let (code, r, _) = scan("dir", &project, &["--allow-incomplete"]);
    assert_eq!(code, Some(0));
    assert_eq!(not_scanned(&r).len(), 1, "still named");
    // Every format for people and CI says so too: none reads as clean.
    let shown = |format: &str| {
        let out = vigia(&[
            "--data-dir",
            db.path().to_str().unwrap(),
            "scan",
            "dir",
            project.to_str().unwrap(),
            "--scanners",
            "vuln",
            "--format",
            format,
        ]);
        assert_eq!(out.status.code(), Some(7), "{format}: {}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let table = shown("table");
    assert!(!table.contains("No known vulnerabilities"), "{table}");
    assert!(
        table.contains("1 inputs were NOT SCANNED (see above)"),
        "{table}"
    );
    let markdown = shown("markdown");
    assert!(
        markdown.contains("This scan is incomplete")
            && markdown.contains("NOT SCANNED: /package-lock.json: invalid JSON"),
        "{markdown}"
    );
    let sarif: Value = serde_json::from_str(&shown("sarif")).unwrap();
    let notes = &sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    assert_eq!(notes.as_array().map(Vec::len), Some(1), "{sarif:#}");
    assert_eq!(notes[0]["level"], "warning");
    assert!(
        notes[0]["message"]["text"]
            .as_str()
            .is_some_and(|m| m.starts_with("NOT SCANNED: /package-lock.json: invalid JSON")),
        "{sarif:#}"
    );

    // CycloneDX documents whose components cannot be read.
    for (name, doc) in [
        (
            "object.cdx.json",
            json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": {"name": "x"}}),
        ),
        (
            "nopurl.cdx.json",
            json!({"bomFormat": "CycloneDX", "specVersion": "1.6",
                   "components": [{"type": "library", "name": "requests", "version": "2.19.0"}]}),
        ),
    ] {
        let sbom = dir.path().join(name);
        fs_err::write(&sbom, serde_json::to_vec(&doc).unwrap()).unwrap();
        let (code, r, _) = scan("sbom", &sbom, &[]);
        assert_eq!(code, Some(7), "{name}: {r:#}");
        assert_eq!(not_scanned(&r).len(), 1, "{name}: {r:#}");
    }
}

/// A tar stream: `files` as regular files, then `links` as hard links
/// (link path → target path).
fn tar_with_links(files: &[(&str, &[u8])], links: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    vigia_test_support::append_files(&mut b, files);
    for (link, target) in links {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Link);
        h.set_size(0);
        h.set_mode(0o644);
        b.append_link(&mut h, link, target).unwrap();
    }
    b.into_inner().unwrap()
}

/// #27 item 14: a wanted file that is a hard link to a file no extractor
/// wants (a distroless `status.d` entry deduplicated against another copy)
/// is read, in an image layer and in a root filesystem tarball; a link to a
/// file the layer does not hold is named as not read.
#[test]
fn hard_links_to_files_no_extractor_kept_are_followed() {
    let dir = tempfile::tempdir().unwrap();
    let stanza: &[u8] =
        b"Package: base-files\nStatus: install ok installed\nVersion: 12.4+deb12u5\nArchitecture: amd64\n\n";
    let layer_tar = tar_with_links(
        &[
            ("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
            ("usr/share/doc/base-files/stanza", stanza),
        ],
        &[
            (
                "var/lib/dpkg/status.d/base-files",
                "usr/share/doc/base-files/stanza",
            ),
            ("var/lib/dpkg/status.d/ghost", "usr/share/doc/ghost/stanza"),
        ],
    );
    let image = dir.path().join("image");
    write_layout(&image, &[gzip(&layer_tar)], &[sha256(&layer_tar)]);
    let rootfs = dir.path().join("rootfs.tar.gz");
    fs_err::write(&rootfs, gzip(&layer_tar)).unwrap();
    for target in [&image, &rootfs] {
        let out = vigia(&["sbom", target.to_str().unwrap(), "--format", "json"]);
        vigia_test_support::assert_success(&out);
        assert_eq!(
            package_names(&out),
            ["\"base-files\"@\"12.4+deb12u5\""],
            "{}",
            target.display()
        );
        let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
        let warnings = inv["status"]["warnings"].as_array().unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:#?}");
        assert!(
            warnings[0]["path"]
                .as_str()
                .unwrap()
                .ends_with("/var/lib/dpkg/status.d/ghost")
                && warnings[0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("which this layer does not hold"),
            "{warnings:#?}"
        );
    }
}

/// #27 item 13: messages name their input once, and say what is wrong: a
/// missing target is named once, not three times; bzip2 and xz are named as
/// unsupported compression, not as a corrupt stream.
#[test]
fn messages_name_the_input_once_and_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-target");
    let out = vigia(&["sbom", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(
        err.matches("cannot read").count(),
        1,
        "the target is named once: {err}"
    );
    assert!(err.contains("no-such-target"), "{err}");
    // A target that is there and unreadable is named once too.
    let empty = dir.path().join("empty.zip");
    fs_err::write(&empty, b"").unwrap();
    let out = vigia(&["sbom", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.matches("empty.zip").count(), 1, "{err}");
    assert!(err.contains("too short"), "{err}");
    // Text named like an image is said to be no tar, without quoting it.
    let text = dir.path().join("notes.tar");
    fs_err::write(
        &text,
        "# Release notes\nwork-experience: several years of it\n".repeat(20),
    )
    .unwrap();
    let out = vigia(&["sbom", text.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("not a tar archive"), "{err}");
    assert!(
        !err.contains("Release notes") && !err.contains("work-exp"),
        "{err}"
    );
    // Named as a zip: said to be no zip.
    let text = dir.path().join("handler.zip");
    fs_err::write(&text, "not a zip at all, just words\n".repeat(20)).unwrap();
    let out = vigia(&["sbom", text.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("handler.zip") && err.contains("not a zip archive"),
        "{err}"
    );

    let tar = tar_of(&[("etc/motd", b"hello\n")]);
    for (tool, ext) in [("bzip2", "bz2"), ("xz", "xz")] {
        let plain = dir.path().join(format!("rootfs-{tool}.tar"));
        fs_err::write(&plain, &tar).unwrap();
        let status = Command::new(tool).arg("-kf").arg(&plain).status().unwrap();
        assert!(status.success(), "{tool} is installed");
        let packed = dir.path().join(format!("rootfs-{tool}.tar.{ext}"));
        let out = vigia(&["sbom", packed.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("unsupported compression ({tool})"))
                && err.contains(packed.file_name().unwrap().to_str().unwrap()),
            "{err}"
        );
    }
}

/// Every file under `dir`, read whole.
fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs_err::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.push((e.path(), fs_err::read(e.path()).unwrap()));
            }
        }
    }
    out
}

/// #27 item 6: credentials inside URLs of lockfiles and requirement files are
/// masked before anything is cached, stored or exported: the data directory
/// (layer cache, database) and every report format hold no planted value.
#[test]
fn credentials_in_urls_are_never_cached_stored_or_exported() {
    let gh = "ghp_Zk3v9QpL2mX8rT4wY7nB1cD6fH0jK5sA9uE2";
    let npm = "npm_Q7wE3rT9yU1iO5pA8sD2fG6hJ4kL0zX3cV9b";
    let requirements = format!(
        "requests==2.19.0\nprivate-lib @ git+https://{gh}@github.com/acme/private-lib.git@v1.2.0\n"
    );
    let lock = serde_json::to_vec(&json!({
        "name": "app", "version": "1.0.0", "lockfileVersion": 3,
        "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "node_modules/lodash": {
                "version": "4.17.20",
                "resolved": format!("https://ci:{npm}@registry.acme.example/lodash/-/lodash-4.17.20.tgz"),
            },
        }
    }))
    .unwrap();
    let layer_tar = tar_of(&[
        ("app/requirements.txt", requirements.as_bytes()),
        ("app/package-lock.json", &lock),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("image");
    write_layout(&image, &[gzip(&layer_tar)], &[sha256(&layer_tar)]);
    let data = vigia_test_support::database_from_mirror(Path::new(env!("CARGO_BIN_EXE_vigia")));
    let mut outputs: Vec<Vec<u8>> = Vec::new();
    for format in ["json", "cyclonedx", "spdx", "sarif", "csv", "table", "asff"] {
        let out = vigia(&[
            "--data-dir",
            data.path().to_str().unwrap(),
            "-vv",
            "scan",
            "image",
            image.to_str().unwrap(),
            "--format",
            format,
        ]);
        assert!(
            out.status.code().is_some_and(|c| c == 0),
            "{}",
            stderr(&out)
        );
        outputs.push(out.stdout);
        outputs.push(out.stderr);
    }
    for format in ["json", "cyclonedx", "spdx"] {
        let out = vigia(&[
            "--data-dir",
            data.path().to_str().unwrap(),
            "sbom",
            image.to_str().unwrap(),
            "--format",
            format,
        ]);
        vigia_test_support::assert_success(&out);
        outputs.push(out.stdout);
    }
    // The packages were still found (the URLs' hosts and paths are kept).
    let sbom = String::from_utf8_lossy(&outputs[outputs.len() - 3]).into_owned();
    assert!(
        sbom.contains("lodash") && sbom.contains("requests"),
        "{sbom}"
    );
    let cached = all_files(&data.path().join("cache"));
    assert!(!cached.is_empty(), "the layer cache was written");
    for secret in [gh, npm] {
        for (path, bytes) in all_files(data.path()) {
            assert!(
                memchr::memmem::find(&bytes, secret.as_bytes()).is_none(),
                "{} holds {secret}",
                path.display()
            );
        }
        for o in &outputs {
            assert!(
                memchr::memmem::find(o, secret.as_bytes()).is_none(),
                "an output holds {secret}: {}",
                String::from_utf8_lossy(o)
            );
        }
    }
}

/// `vigia sbom TARGET --format json` under GNU time: the inventory and the
/// peak RSS in MiB.
fn sbom_with_rss(target: &Path) -> (Value, u64) {
    let rss = tempfile::NamedTempFile::new().unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(rss.path())
        .arg(env!("CARGO_BIN_EXE_vigia"))
        .args([
            "sbom",
            target.to_str().unwrap(),
            "--format",
            "json",
            "--no-cache",
        ])
        .env("VIGIA_HOME", home.path())
        .output()
        .unwrap();
    vigia_test_support::assert_success(&out);
    let kib: u64 = fs_err::read_to_string(rss.path())
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (serde_json::from_slice(&out.stdout).unwrap(), kib / 1024)
}

/// #27 item 8 and #22: an executable is read by its headers and build-info
/// sections with bounded memory, whatever its size: a 600 MiB Go binary
/// (padded with zeros, as large providers are) in a folder and in a tarball
/// stream gives its packages with peak RSS far below its size, and so does a
/// copy of it without the execute bit.
#[test]
fn large_executables_are_read_with_bounded_memory() {
    const PAD: u64 = 600 << 20;
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("hello");
    let go_version = vigia_test_support::go_build(dir.path(), &bin);
    let real = fs_err::read(&bin).unwrap();

    // On disk: a sparse file, read where its headers and sections are.
    let root = dir.path().join("root/usr/local/bin");
    fs_err::create_dir_all(&root).unwrap();
    // Sparse files: an executable, and a copy without the execute bit.
    for (name, mode) in [("provider", 0o755), ("provider-copy", 0o644)] {
        let file = root.join(name);
        fs_err::write(&file, &real).unwrap();
        fs_err::OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(real.len() as u64 + PAD)
            .unwrap();
        fs_err::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap();
    }

    // In a stream: a root filesystem tarball holding the same executable.
    let tarball = dir.path().join("rootfs.tar.gz");
    {
        let gz = flate2::write::GzEncoder::new(
            fs_err::File::create(&tarball).unwrap(),
            flate2::Compression::fast(),
        );
        let mut b = tar::Builder::new(gz);
        for (name, mode) in [("provider", 0o755), ("provider-copy", 0o644)] {
            let mut h = tar::Header::new_gnu();
            h.set_size(real.len() as u64 + PAD);
            h.set_mode(mode);
            h.set_cksum();
            let data = std::io::Read::chain(
                real.as_slice(),
                std::io::Read::take(std::io::repeat(0), PAD),
            );
            b.append_data(&mut h, format!("usr/local/bin/{name}"), data)
                .unwrap();
        }
        b.into_inner().unwrap().finish().unwrap();
    }
    for target in [dir.path().join("root"), tarball] {
        let (inv, rss) = sbom_with_rss(&target);
        for path in ["/usr/local/bin/provider", "/usr/local/bin/provider-copy"] {
            let stdlib: Vec<&Value> = inv["packages"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| {
                    p["name"] == "stdlib"
                        && p["version"] == go_version.as_str()
                        && p["path"] == path
                })
                .collect();
            assert_eq!(stdlib.len(), 1, "{} {path}: {inv:#}", target.display());
        }
        assert!(
            rss < 100,
            "{}: {rss} MiB for two 600 MiB executables",
            target.display()
        );
    }
}

/// A jar holding `pom.properties` for `outer`, a nested jar for `inner` and
/// `filler` bytes of other content.
fn shaded_jar(outer: (&str, &str, &str), inner: (&str, &str, &str), filler: usize) -> Vec<u8> {
    let pom = |(g, a, v): (&str, &str, &str)| {
        (
            format!("META-INF/maven/{g}/{a}/pom.properties"),
            format!("groupId={g}\nartifactId={a}\nversion={v}\n"),
        )
    };
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut nested = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let (name, text) = pom(inner);
    nested.start_file(name, stored).unwrap();
    nested.write_all(text.as_bytes()).unwrap();
    let nested = nested.finish().unwrap().into_inner();
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let (name, text) = pom(outer);
    z.start_file(name, stored).unwrap();
    z.write_all(text.as_bytes()).unwrap();
    z.start_file("BOOT-INF/lib/inner.jar", stored).unwrap();
    z.write_all(&nested).unwrap();
    z.start_file("assets/blob.bin", stored).unwrap();
    z.write_all(&vec![7u8; filler]).unwrap();
    z.finish().unwrap().into_inner()
}

/// #27 item 8 (and the accuracy issue's shaded jars): a Java archive over the
/// file size limit is read anyway, by the entries the Java extractor reads,
/// in a folder and in a layer.
#[test]
fn java_archives_over_the_file_limit_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let jar = shaded_jar(
        ("io.netty", "netty-codec-http", "4.1.68.Final"),
        ("com.fasterxml.jackson.core", "jackson-databind", "2.9.10"),
        3 << 20,
    );
    let folder = dir.path().join("app");
    fs_err::create_dir_all(folder.join("lib")).unwrap();
    fs_err::write(folder.join("lib/app-all.jar"), &jar).unwrap();
    let layer = tar_of(&[("opt/app/lib/app-all.jar", &jar)]);
    let image = dir.path().join("image");
    write_layout(&image, &[gzip(&layer)], &[sha256(&layer)]);
    for target in [folder, image] {
        let out = vigia(&[
            "sbom",
            target.to_str().unwrap(),
            "--format",
            "json",
            "--max-file-size",
            "1000000",
        ]);
        vigia_test_support::assert_success(&out);
        assert_eq!(
            package_names(&out),
            [
                "\"com.fasterxml.jackson.core:jackson-databind\"@\"2.9.10\"",
                "\"io.netty:netty-codec-http\"@\"4.1.68.Final\"",
            ],
            "{}",
            target.display()
        );
        let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            inv["status"]["warnings"].as_array().unwrap().is_empty(),
            "{:#}",
            inv["status"]
        );
    }
}

/// #27 item 10, continued: a report written with `-o` to something that is
/// no regular file (a FIFO here; `/dev/null` is the same case) is written to
/// it, never replaced by a file; a report file keeps its permissions, and a
/// new one gets a new file's, not a temporary file's 0600.
#[test]
fn reports_are_written_to_devices_and_keep_their_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let target = vigia_test_support::shared_dir().join("targets/rust-lockfile");
    let fifo = dir.path().join("report.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs_err::read(&fifo).unwrap())
    };
    let out = vigia(&[
        "sbom",
        target.to_str().unwrap(),
        "--format",
        "json",
        "-o",
        fifo.to_str().unwrap(),
    ]);
    vigia_test_support::assert_success(&out);
    // A reader still waiting means nothing opened the FIFO: it was replaced.
    let start = Instant::now();
    while !reader.is_finished() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the report never reached the FIFO"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let got = reader.join().unwrap();
    let inv: Value = serde_json::from_slice(&got).unwrap();
    assert!(!inv["packages"].as_array().unwrap().is_empty());
    let kind = fs_err::metadata(&fifo).unwrap().file_type();
    assert!(
        std::os::unix::fs::FileTypeExt::is_fifo(&kind),
        "the FIFO was replaced by a file"
    );

    let kept = dir.path().join("kept.json");
    fs_err::write(&kept, b"{}").unwrap();
    fs_err::set_permissions(&kept, std::fs::Permissions::from_mode(0o640)).unwrap();
    let fresh = dir.path().join("fresh.json");
    let plain = dir.path().join("plain");
    fs_err::File::create(&plain).unwrap();
    for path in [&kept, &fresh] {
        let out = vigia(&[
            "sbom",
            target.to_str().unwrap(),
            "-o",
            path.to_str().unwrap(),
        ]);
        vigia_test_support::assert_success(&out);
    }
    let mode = |p: &Path| fs_err::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&kept), 0o640);
    assert_eq!(
        mode(&fresh),
        mode(&plain),
        "a new report gets a new file's mode"
    );
}

/// `vigia scan host TARGET --scanners vuln --format json` on the database
/// `db`: its exit code, its report (`Null` when it printed none) and its
/// standard error.
fn scan_host(db: &Path, target: &Path) -> (Option<i32>, Value, String) {
    let out = vigia(&[
        "--data-dir",
        db.to_str().unwrap(),
        "scan",
        "host",
        target.to_str().unwrap(),
        "--scanners",
        "vuln",
        "--format",
        "json",
    ]);
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), report, stderr(&out))
}

/// curl 7.88.1-10+deb12u4 in a dpkg status: it has findings on Debian 12
/// in the shared mirror.
const CURL_STANZA: &str = "Package: curl\nStatus: install ok installed\nVersion: 7.88.1-10+deb12u4\nArchitecture: amd64\n\n";

/// A Debian 12 root filesystem folder at `root`: its os-release and, at
/// `status` (relative), a dpkg status holding [`CURL_STANZA`].
fn debian_root(root: &Path, status: &str) {
    let status = root.join(status);
    for d in [root.join("etc"), status.parent().unwrap().to_path_buf()] {
        fs_err::create_dir_all(d).unwrap();
    }
    fs_err::write(
        root.join("etc/os-release"),
        "ID=debian\nVERSION_ID=\"12\"\n",
    )
    .unwrap();
    fs_err::write(&status, CURL_STANZA).unwrap();
}

/// `root` packed by GNU tar into `tarball`, with `options` before `-cf`.
fn gnu_tar(root: &Path, tarball: &Path, options: &[&str]) {
    let made = Command::new("tar")
        .args(options)
        .arg("-cf")
        .arg(tarball)
        .arg("-C")
        .arg(root)
        .arg(".")
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
}

/// A package database stored as a sparse file (GNU tar's `--sparse`) is
/// read as the file it stands for, in a root filesystem tarball; one in the
/// PAX sparse format, which the tar reader does not expand, is named as not
/// read and the scan is incomplete. Neither is skipped as if absent.
#[test]
fn sparse_package_databases_are_read_or_named() {
    let db = vigia_test_support::database_from_mirror(Path::new(env!("CARGO_BIN_EXE_vigia")));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    debian_root(&root, "var/lib/dpkg/status");
    let status = root.join("var/lib/dpkg/status");
    // A hole of a megabyte after the stanzas: what makes GNU tar store it
    // sparse.
    fs_err::File::options()
        .write(true)
        .open(&status)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    let scan = |tarball: &Path| {
        let (code, report, err) = scan_host(db.path(), tarball);
        assert!(!report.is_null(), "{err}");
        (code, report)
    };
    let pack = |name: &str, extra: &[&str]| {
        let tarball = dir.path().join(name);
        gnu_tar(&root, &tarball, extra);
        tarball
    };
    let ids = |r: &Value| -> Vec<String> {
        let mut v: Vec<String> = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                f["packageVulnerabilityDetails"]["vulnerabilityId"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        v.sort();
        v
    };
    let (code, plain) = scan(&pack("plain.tar", &[]));
    assert_eq!(code, Some(0), "{plain:#}");
    assert!(!ids(&plain).is_empty(), "{plain:#}");
    // GNU sparse entries ('S'): read, the same findings.
    let gnu = pack("gnu.tar", &["--sparse", "--format=gnu"]);
    let (code, sparse) = scan(&gnu);
    assert_eq!(code, Some(0), "{sparse:#}");
    assert_eq!(ids(&sparse), ids(&plain));
    // PAX sparse entries, every version GNU tar writes: named, incomplete.
    for version in ["0.0", "0.1", "1.0"] {
        let pax = pack(
            &format!("pax-{version}.tar"),
            &[
                "--sparse",
                "--format=pax",
                &format!("--sparse-version={version}"),
            ],
        );
        let (code, r) = scan(&pax);
        assert_eq!(code, Some(7), "{version}: {r:#}");
        let named = r["scan"]["notScanned"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            named.iter().any(|n| n["path"]
                .as_str()
                .is_some_and(|p| p.ends_with(":/var/lib/dpkg/status"))
                && n["reason"].as_str().is_some_and(|w| w.contains("sparse"))),
            "{version}: {r:#}"
        );
    }
}

/// A tarball cut between two entries (a copy still being written) is
/// refused as truncated, naming it, rather than read as the whole: its
/// entries so far parse, and a package database among the missing ones
/// would make the host look clean.
#[test]
fn a_tarball_cut_between_entries_is_truncated_not_smaller() {
    let db = vigia_test_support::database_from_mirror(Path::new(env!("CARGO_BIN_EXE_vigia")));
    let dir = tempfile::tempdir().unwrap();
    let whole = tar_of(&[
        ("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
        ("var/lib/dpkg/status", CURL_STANZA.as_bytes()),
    ]);
    // The tar writer ends an archive with two zero blocks.
    assert!(whole.ends_with(&[0; 1024]));
    let scan = |bytes: &[u8], name: &str| {
        let file = dir.path().join(name);
        fs_err::write(&file, bytes).unwrap();
        let (code, _, err) = scan_host(db.path(), &file);
        (code, err, file)
    };
    let (code, err, _) = scan(&whole, "whole.tar");
    assert_eq!(code, Some(0), "{err}");
    let (code, err, file) = scan(&whole[..whole.len() - 1024], "cut.tar");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&file.display().to_string()) && err.contains("end-of-archive marker"),
        "{err}"
    );
}

/// A package database that is a symbolic link to a file elsewhere in the
/// root is read where the link leads, in a root filesystem folder; in a
/// tarball, whose link target is not a file Vigia keeps, it is named as not
/// read. A link leading out of the root is never followed. None of these
/// is taken for "no packages".
#[test]
fn linked_package_databases_are_read_or_named() {
    let db = vigia_test_support::database_from_mirror(Path::new(env!("CARGO_BIN_EXE_vigia")));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    debian_root(&root, "data/status");
    fs_err::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    let link = root.join("var/lib/dpkg/status");
    let scan = |target: &Path| {
        let (code, report, err) = scan_host(db.path(), target);
        assert!(!report.is_null(), "{err}");
        (code, report)
    };
    let not_scanned = |r: &Value| -> String { r["scan"]["notScanned"].to_string() };
    // Relative and absolute links, both inside the root: read.
    for target in ["../../../data/status", "/data/status"] {
        std::os::unix::fs::symlink(target, &link).unwrap();
        let (code, r) = scan(&root);
        assert_eq!(code, Some(0), "{target}: {r:#}");
        assert!(
            r["findings"].as_array().is_some_and(|f| !f.is_empty()),
            "{target}: {r:#}"
        );
        fs_err::remove_file(&link).unwrap();
    }
    // Out of the root: not followed, named.
    let outside = dir.path().join("outside-status");
    fs_err::copy(root.join("data/status"), &outside).unwrap();
    std::os::unix::fs::symlink("../../../../outside-status", &link).unwrap();
    let (code, r) = scan(&root);
    assert_eq!(code, Some(7), "{r:#}");
    assert!(not_scanned(&r).contains("leads out of the root"), "{r:#}");
    assert!(r["findings"].as_array().is_some_and(Vec::is_empty), "{r:#}");
    fs_err::remove_file(&link).unwrap();
    // In a tarball the link's target is not kept: named, incomplete.
    std::os::unix::fs::symlink("/data/status", &link).unwrap();
    let tarball = dir.path().join("host.tar");
    gnu_tar(&root, &tarball, &[]);
    let (code, r) = scan(&tarball);
    assert_eq!(code, Some(7), "{r:#}");
    assert!(
        not_scanned(&r).contains("a symbolic link to /data/status, whose file was not read"),
        "{r:#}"
    );
}

/// A package database behind a link to a folder (`/var/lib/dpkg ->
/// ../../data/dpkg`) is not followed in a folder: the OS's database is named
/// as not read, and the host is incomplete, not clean (it read as 0 packages,
/// no vulnerabilities).
#[test]
fn an_os_without_its_package_database_is_named_not_clean() {
    let db = vigia_test_support::database_from_mirror(Path::new(env!("CARGO_BIN_EXE_vigia")));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    debian_root(&root, "data/dpkg/status");
    fs_err::create_dir_all(root.join("var/lib")).unwrap();
    std::os::unix::fs::symlink("../../data/dpkg", root.join("var/lib/dpkg")).unwrap();
    let (code, r, err) = scan_host(db.path(), &root);
    assert_eq!(code, Some(7), "{err} {r:#}");
    let named = r["scan"]["notScanned"].to_string();
    assert!(
        named.contains("/var/lib/dpkg/status") && named.contains("none was read"),
        "{r:#}"
    );
    // The same root with its database where Debian keeps it: read, and
    // nothing named.
    fs_err::remove_file(root.join("var/lib/dpkg")).unwrap();
    fs_err::rename(root.join("data/dpkg"), root.join("var/lib/dpkg")).unwrap();
    let (code, r, err) = scan_host(db.path(), &root);
    assert_eq!(code, Some(0), "{err} {r:#}");
    assert!(
        r["scan"]["notScanned"].as_array().is_none_or(Vec::is_empty),
        "{r:#}"
    );
    assert!(
        r["findings"].as_array().is_some_and(|f| !f.is_empty()),
        "{r:#}"
    );
}

/// A package database that is a hard link out of the archive (`../../…`)
/// is not read, and named as not read: the host is incomplete, not clean.
#[test]
fn a_hard_link_out_of_the_archive_is_named() {
    let db = vigia_test_support::database_from_mirror(Path::new(env!("CARGO_BIN_EXE_vigia")));
    let dir = tempfile::tempdir().unwrap();
    let tarball = dir.path().join("host.tar");
    fs_err::write(
        &tarball,
        tar_with_links(
            &[("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n")],
            &[("var/lib/dpkg/status", "../../../../tmp/status")],
        ),
    )
    .unwrap();
    let (code, r, err) = scan_host(db.path(), &tarball);
    assert_eq!(code, Some(7), "{err}");
    let named = r["scan"]["notScanned"].to_string();
    assert!(
        named.contains("/var/lib/dpkg/status") && named.contains("escapes the root"),
        "{r:#}"
    );
}

/// A service URL's password (CI writes `https://user:pass@host`) is never
/// printed: not by the agent, not by the gate, when the service cannot be
/// reached.
#[test]
fn a_service_urls_password_is_not_printed_when_it_cannot_be_reached() {
    let root = tempfile::tempdir().unwrap();
    fs_err::create_dir_all(root.path().join("etc")).unwrap();
    fs_err::write(root.path().join("etc/hostname"), "ci-host\n").unwrap();
    let digest = format!("app@sha256:{}", "0".repeat(64));
    for args in [
        vec![
            "agent",
            "--server",
            "http://ci:hunter2PASS@127.0.0.1:1",
            "--token",
            "x",
            "--root",
            root.path().to_str().unwrap(),
            "--once",
        ],
        vec![
            "gate",
            &digest,
            "--server",
            "http://ci:hunter2PASS@127.0.0.1:1",
            "--token",
            "x",
        ],
    ] {
        let out = vigia(&args);
        let said = format!("{}{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
        assert!(!out.status.success(), "{args:?}: {said}");
        assert!(
            said.contains("http://ci:****@127.0.0.1:1"),
            "{args:?} names the service: {said}"
        );
        assert!(!said.contains("hunter2PASS"), "{args:?}: {said}");
    }
}
