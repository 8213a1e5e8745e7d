//! `vigia sbom` end to end: formats valid against the official schemas, the live
//! host against `dpkg-query`, and hostile inputs.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Runs vigia with a data directory of its own (the layer cache lives there),
/// unless the arguments name one.
fn vigia(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_vigia"))
        .args(args)
        .env("VIGIA_HOME", home.path())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn targets() -> PathBuf {
    vigia_test_support::shared_dir().join("targets")
}

#[test]
fn cyclonedx_and_spdx_are_valid_for_every_target() {
    let dir = tempfile::tempdir().unwrap();
    for t in [
        "debian12-app",
        "alpine-base",
        "fn-python.zip",
        "fn-node.zip",
        "host-snapshot.tar.gz",
        "rust-lockfile",
    ] {
        let target = targets().join(t);
        for (format, schema) in [
            ("cyclonedx", "cyclonedx-bom-1.6.schema.json"),
            ("spdx", "spdx-2.3-schema.json"),
        ] {
            let out_file = dir.path().join(format!("{t}.{format}.json"));
            let out = vigia(&[
                "sbom",
                target.to_str().unwrap(),
                "--format",
                format,
                "--output",
                out_file.to_str().unwrap(),
            ]);
            assert!(
                out.status.success(),
                "{t}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            vigia_test_support::validate_json_schema(schema, &out_file);
            let doc: Value =
                serde_json::from_str(&fs_err::read_to_string(&out_file).unwrap()).unwrap();
            let json = vigia(&["sbom", target.to_str().unwrap(), "--format", "json"]);
            let inv: Value = serde_json::from_slice(&json.stdout).unwrap();
            let n = inv["packages"].as_array().unwrap().len();
            let listed = if format == "spdx" {
                doc["packages"].as_array().unwrap().len() - 1
            } else {
                doc["components"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|c| c["type"] == "library")
                    .count()
            };
            assert_eq!(listed, n, "{t} {format}");
        }
    }
}

#[test]
fn the_live_host_agrees_with_dpkg_query() {
    let q = Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Abbrev}|${Package}|${Version}\\n"])
        .output()
        .expect("dpkg-query runs on a Debian host");
    let mut expected: Vec<(String, String)> = String::from_utf8_lossy(&q.stdout)
        .lines()
        .filter(|l| l.starts_with("ii"))
        .map(|l| {
            let mut f = l.split('|').skip(1);
            (f.next().unwrap().to_owned(), f.next().unwrap().to_owned())
        })
        .collect();
    expected.sort();
    expected.dedup();
    // The machine running the tests is a real Debian 12 host (it skips /proc,
    // /sys, /dev, /run and /tmp; other package types found on it are ignored here).
    let out = vigia(&["sbom", "/", "--format", "json"]);
    vigia_test_support::assert_success(&out);
    let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut got: Vec<(String, String)> = inv["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] == "deb")
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    got.dedup();
    assert_eq!(got, expected);
    assert_eq!(inv["os"]["id"], "debian");
}

fn tar_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // Write the raw name so that `../` survives (set_path refuses it).
        let name = h.as_old_mut().name.as_mut();
        name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn hostile_and_broken_inputs_give_clear_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let status = b"Package: evil\nStatus: install ok installed\nVersion: 1.0\n\nPackage: good\nStatus: install ok installed\nVersion: 2.0\nArchitecture: amd64\n\nStatus: install ok installed\nVersion: 3\n";
    // Path traversal: `../../var/lib/dpkg/status` must not be read as the root's.
    let t = dir.path().join("traversal.tar");
    fs_err::write(
        &t,
        tar_with(&[
            (
                "../../var/lib/dpkg/status",
                b"Package: evil\nStatus: install ok installed\nVersion: 1\n",
            ),
            ("var/lib/dpkg/status", status),
        ]),
    )
    .unwrap();
    let out = vigia(&["sbom", t.to_str().unwrap(), "--format", "json"]);
    vigia_test_support::assert_success(&out);
    let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = inv["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["evil", "good"],
        "the stanzas of the real status file; the traversal entry skipped"
    );
    let warnings = inv["status"]["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w["message"].as_str().unwrap().contains("path traversal")),
        "{warnings:#?}"
    );
    // The stanza without a Package field is a warning naming the file and line.
    assert!(
        warnings
            .iter()
            .any(|w| w["path"] == "/var/lib/dpkg/status" && w["line"] == 10),
        "{warnings:#?}"
    );

    // A truncated image layer: an error naming the blob.
    let img = dir.path().join("img");
    vigia_test_support::copy_dir(&targets().join("debian12-app"), &img);
    let layer =
        img.join("blobs/sha256/306e76a27ea00801fa026a06cce8bfa04e7c69a535a30d71cc4227ffa87c6953");
    let bytes = fs_err::read(&layer).unwrap();
    fs_err::write(&layer, &bytes[..bytes.len() / 2]).unwrap();
    let out = vigia(&["sbom", img.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("306e76a27ea0") && (err.contains("truncated") || err.contains("corrupt")),
        "{err}"
    );

    // A flipped byte at the end of the blob: the stream may still parse, the digest does not match.
    let mut tampered = bytes.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    fs_err::write(&layer, &tampered).unwrap();
    let out = vigia(&["sbom", img.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("306e76a27ea0")
            && (err.contains("digest mismatch") || err.contains("corrupt")),
        "{err}"
    );

    // Bytes appended after the compressed stream: the layer reads whole; the
    // blob's size in the manifest tells, before its digest does.
    let mut appended = bytes.clone();
    appended.extend_from_slice(b"appended after the gzip stream");
    fs_err::write(&layer, &appended).unwrap();
    let out = vigia(&["sbom", img.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("306e76a27ea0") && err.contains("larger than its manifest says"),
        "{err}"
    );

    // A manifest pointing at a missing blob.
    fs_err::remove_file(&layer).unwrap();
    let out = vigia(&["sbom", img.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A zip bomb: one highly compressed METADATA is skipped with a warning.
    let bomb = dir.path().join("bomb.zip");
    {
        let mut z = zip::ZipWriter::new(fs_err::File::create(&bomb).unwrap());
        z.start_file(
            "bomb-1.0.dist-info/METADATA",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..80 {
            z.write_all(&zeros).unwrap();
        }
        z.finish().unwrap();
    }
    let out = vigia(&["sbom", bomb.to_str().unwrap(), "--format", "json"]);
    assert!(out.status.success());
    let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(inv["packages"].as_array().unwrap().is_empty());
    assert!(
        inv["status"]["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("over the limits")
    );

    // Not an archive at all.
    let junk = dir.path().join("junk.bin");
    fs_err::write(&junk, b"this is not an image").unwrap();
    let out = vigia(&["sbom", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.bin"));
}

#[test]
fn the_layer_cache_serves_layers_without_reading_them_again() {
    let data = tempfile::tempdir().unwrap();
    let img = tempfile::tempdir().unwrap();
    vigia_test_support::copy_dir(&targets().join("debian12-app"), img.path());
    let run = |extra: &[&str]| {
        let mut args = vec![
            "--data-dir",
            data.path().to_str().unwrap(),
            "sbom",
            img.path().to_str().unwrap(),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        vigia(&args)
    };
    let first = run(&[]);
    vigia_test_support::assert_success(&first);
    let layers = fs_err::read_dir(data.path().join("cache/layers"))
        .unwrap()
        .count();
    assert_eq!(layers, 4, "one cache folder per layer");
    // The biggest layer's blob overwritten with as many zeros: the cached
    // run does not read it (its size is all it looks at), an uncached one
    // does and refuses it.
    let blob = img
        .path()
        .join("blobs/sha256/2e3e054c83441750af273dfb698dc6c0305a1273007450ba57c1e7b971494229");
    let size = fs_err::metadata(&blob).unwrap().len();
    fs_err::write(&blob, vec![0_u8; usize::try_from(size).unwrap()]).unwrap();
    let cached = run(&[]);
    vigia_test_support::assert_success(&cached);
    let a: Value = serde_json::from_slice(&first.stdout).unwrap();
    let b: Value = serde_json::from_slice(&cached.stdout).unwrap();
    assert_eq!(a["packages"], b["packages"]);
    let uncached = run(&["--no-cache"]);
    assert_eq!(uncached.status.code(), Some(1));
    // Cut short, it is no longer the blob the cache stands for: read, and
    // refused naming it.
    fs_err::write(&blob, b"cut short").unwrap();
    let truncated = run(&[]);
    assert_eq!(truncated.status.code(), Some(1));
    let err = String::from_utf8_lossy(&truncated.stderr);
    assert!(err.contains("2e3e054c8344"), "{err}");
    // Absent, the cache serves it (a registry pull leaves out the layers
    // the cache holds).
    fs_err::remove_file(&blob).unwrap();
    let absent = run(&[]);
    vigia_test_support::assert_success(&absent);
    let c: Value = serde_json::from_slice(&absent.stdout).unwrap();
    assert_eq!(a["packages"], c["packages"]);
}

#[test]
fn a_gzip_bomb_layer_stops_at_the_inflation_cap() {
    // A root filesystem tarball whose one entry inflates from ~100 KB to 100 MB.
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.tar.gz");
    {
        let gz = flate2::write::GzEncoder::new(
            fs_err::File::create(&bomb).unwrap(),
            flate2::Compression::best(),
        );
        let mut b = tar::Builder::new(gz);
        let mut h = tar::Header::new_gnu();
        h.set_size(100 << 20);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(
            &mut h,
            "var/lib/dpkg/status",
            std::io::repeat(b'\n').take(100 << 20),
        )
        .unwrap();
        b.into_inner().unwrap().finish().unwrap();
    }
    let out = vigia(&["sbom", bomb.to_str().unwrap(), "--max-inflate", "10000000"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bomb.tar.gz") && err.contains("limit"),
        "{err}"
    );
    // Within a generous cap it is just an empty status file.
    let out = vigia(&[
        "sbom",
        bomb.to_str().unwrap(),
        "--format",
        "json",
        "--max-file-size",
        "200000000",
    ]);
    vigia_test_support::assert_success(&out);
}

#[test]
fn os_coverage_is_stated() {
    let out = vigia(&[
        "sbom",
        targets().join("alpine-base").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        inv["os"]["coverage"],
        "covered: packages match Alpine:v3.18 advisories"
    );
}

/// 12 levels of 9 aliases: 637 bytes that a YAML loader would expand to 9^12
/// nodes (it took 24 GB before aliases were refused).
fn yaml_alias_bomb() -> String {
    let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        s.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    s
}

/// A YAML alias bomb as a pnpm lockfile is a warning naming the file, in
/// bounded memory (GNU time); as a `.vigiaignore` it is an error naming it.
#[test]
fn yaml_alias_bombs_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(dir.path().join("pnpm-lock.yaml"), yaml_alias_bomb()).unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "peak-kb=%M"])
        .arg(env!("CARGO_BIN_EXE_vigia"))
        .arg("--data-dir")
        .arg(home.path())
        .args(["sbom", dir.path().to_str().unwrap(), "--format", "json"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    vigia_test_support::assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pnpm-lock.yaml") && stderr.contains("aliases"),
        "{stderr}"
    );
    let peak_kb: u64 = stderr
        .split("peak-kb=")
        .nth(1)
        .and_then(|s| s.trim().parse().ok())
        .expect("GNU time's report");
    assert!(peak_kb < 100 * 1024, "peak RSS {peak_kb} KB");

    let project = tempfile::tempdir().unwrap();
    fs_err::write(project.path().join(".vigiaignore"), yaml_alias_bomb()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vigia"))
        .arg("--data-dir")
        .arg(home.path())
        .args(["scan", "dir", ".", "--scanners", "secret"])
        .current_dir(project.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(".vigiaignore") && stderr.contains("line 2") && stderr.contains("aliases"),
        "{stderr}"
    );
}
