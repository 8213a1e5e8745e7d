//! `vigia db` end to end, against the real mirror in `../shared/vulndata`, a real
//! nginx on 127.0.0.1, and hostile inputs.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use vigia_test_support as support;

fn vigia(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigia"));
    c.arg("--data-dir")
        .arg(data)
        .env_remove("VIGIA_HOME")
        .env_remove("VIGIA_DATABASE_URL")
        .env_remove("VIGIA_LOG");
    c
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("vigia runs")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn update(data: &Path, mirror: &str, extra: &[&str]) -> (i32, Value) {
    let out = run(vigia(data)
        .args(["db", "update", "--mirror", mirror, "--format", "json"])
        .args(extra));
    (out.status.code().unwrap_or(-1), json_of(&out))
}

fn status(data: &Path) -> Value {
    let out = run(vigia(data).args(["db", "status", "--format", "json"]));
    assert!(
        out.status.success(),
        "db status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_of(&out)
}

/// (records, withdrawn) per osv ecosystem, as `db status` reports them.
fn osv_counts(status: &Value) -> BTreeMap<String, (u64, u64)> {
    status["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "osv")
        .map(|s| {
            (
                s["ecosystem"].as_str().unwrap().to_owned(),
                (
                    s["records"].as_u64().unwrap(),
                    s["withdrawn"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

/// (records, withdrawn) per osv ecosystem, as a mirror's manifest gives them.
fn manifest_counts(manifest: &Value) -> BTreeMap<String, (u64, u64)> {
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f.get("ecosystem").is_some())
        .map(|f| {
            (
                f["ecosystem"].as_str().unwrap().to_owned(),
                (
                    f["records"].as_u64().unwrap(),
                    f["withdrawn"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

fn source<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no source {name} in {v:#}"))
}

fn manifest_file<'a>(m: &'a Value, path: &str) -> &'a Value {
    m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap()
}

fn assert_matches_manifest(st: &Value, manifest: &Value) {
    assert_eq!(osv_counts(st), manifest_counts(manifest));
    let kev = manifest_file(manifest, "kev/known_exploited_vulnerabilities.json");
    assert_eq!(
        source(st, "kev/known_exploited_vulnerabilities.json")["records"],
        kev["entries"]
    );
    assert_eq!(st["kev_entries"], kev["entries"]);
    let epss = manifest_file(manifest, "epss/epss_scores-current.csv.gz");
    assert_eq!(
        source(st, "epss/epss_scores-current.csv.gz")["records"],
        epss["rows"]
    );
    assert_eq!(st["epss_scores"], epss["rows"]);
    let nvd = manifest_file(manifest, "nvd/nvdcve-2.0-subset.json.gz");
    assert_eq!(
        source(st, "nvd/nvdcve-2.0-subset.json.gz")["records"],
        nvd["cves"]
    );
    for s in st["sources"].as_array().unwrap() {
        assert_eq!(s["malformed"], 0, "{s:#}");
    }
}

#[test]
fn mirror_folder_ingests_every_file_with_the_manifest_counts() {
    let data = tempfile::tempdir().unwrap();
    let mirror = support::vulndata();
    let (code, report) = update(data.path(), mirror.to_str().unwrap(), &[]);
    assert_eq!(code, 0, "{report:#}");
    let manifest = support::manifest();
    // Every data file of the mirror is a source that was ingested.
    let data_files: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .filter(|p| !p.starts_with("tools/") && *p != "README.md")
        .collect();
    assert_eq!(
        usize::try_from(report["updated"].as_u64().unwrap()).unwrap(),
        data_files.len(),
        "{report:#}"
    );
    for p in &data_files {
        assert_eq!(source(&report, p)["status"], "updated");
    }
    let st = status(data.path());
    assert_matches_manifest(&st, &manifest);
    assert_eq!(st["stale"], false);

    // A second run finds nothing new and ingests nothing.
    let (code, again) = update(data.path(), mirror.to_str().unwrap(), &[]);
    assert_eq!(code, 0);
    assert_eq!(again["updated"], 0);
    assert_eq!(again["records_ingested"], 0);
    assert_eq!(
        usize::try_from(again["unchanged"].as_u64().unwrap()).unwrap(),
        data_files.len()
    );
    assert_matches_manifest(&status(data.path()), &manifest);
}

#[test]
fn show_finds_a_vulnerability_by_any_alias_with_scores_kev_and_epss() {
    let data = tempfile::tempdir().unwrap();
    let (code, _) = update(data.path(), support::vulndata().to_str().unwrap(), &[]);
    assert_eq!(code, 0);
    // A PYSEC/GHSA twin pair forms one group named by its CVE.
    for id in ["PYSEC-2023-62", "GHSA-m2qf-hxjv-5gpq", "CVE-2023-30861"] {
        let out = run(vigia(data.path()).args(["db", "show", id, "--format", "json"]));
        assert!(out.status.success());
        let v = json_of(&out);
        assert_eq!(v["id"], "CVE-2023-30861");
        let aliases: Vec<&str> = v["aliases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            aliases,
            ["CVE-2023-30861", "GHSA-m2qf-hxjv-5gpq", "PYSEC-2023-62"]
        );
    }
    // minimist's CVE: NVD's own v3.1 score comes first, KEV-less, with its EPSS score.
    let out = run(vigia(data.path()).args(["db", "show", "CVE-2021-44906", "--format", "json"]));
    let v = json_of(&out);
    let first = &v["cvss"][0];
    assert_eq!(
        (
            first["origin"].as_str(),
            first["scorer"].as_str(),
            first["version"].as_str()
        ),
        (Some("nvd"), Some("nvd@nist.gov"), Some("3.1"))
    );
    assert_eq!(first["score"], 9.8);
    assert!(
        v["cvss"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["origin"] == "osv"),
        "the GHSA's own vector is kept too: {v:#}"
    );
    assert_eq!(v["epss"][0]["score"], 0.01134);
    assert_eq!(v["epss"][0]["score_date"], "2025-08-15T00:00:00Z");
    // Looney Tunables is in KEV.
    let out = run(vigia(data.path()).args(["db", "show", "CVE-2023-4911", "--format", "json"]));
    let v = json_of(&out);
    assert_eq!(v["kev"][0]["cve"], "CVE-2023-4911");
    // A multi-CVE DSA names the CVE without being merged into it.
    let out = run(vigia(data.path()).args(["db", "show", "CVE-2023-6246", "--format", "json"]));
    let v = json_of(&out);
    assert!(
        !v["aliases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "DSA-5611-1")
    );
    assert!(
        v["related"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["advisory_id"] == "DSA-5611-1")
    );
    // A CVE with no record of its own that a DSA names (and that scans
    // report from it): the DSA's record, and a warning saying why.
    let out = run(vigia(data.path()).args(["db", "show", "CVE-2023-48795", "--format", "json"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_of(&out)["id"], "DSA-5586-1");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("CVE-2023-48795 has no record of its own") && said.contains("DSA-5586-1"),
        "{said}"
    );
    // Unknown IDs exit 5.
    let out = run(vigia(data.path()).args(["db", "show", "CVE-1999-99999"]));
    assert_eq!(out.status.code(), Some(5));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("CVE-1999-99999 is not in the vulnerability database")
    );
}

#[test]
fn commands_without_a_database_say_so_with_exit_4() {
    let data = tempfile::tempdir().unwrap();
    let out = run(vigia(data.path()).args(["db", "status"]));
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("run `vigia db update`"));
    assert!(
        !data.path().join("vigia.db").exists(),
        "status must not create a database"
    );
}

#[test]
fn http_mirror_uses_etags_and_refetches_only_what_changed() {
    let mirror = support::mirror_copy();
    let nginx = support::Nginx::serve(mirror.path());
    let data = tempfile::tempdir().unwrap();
    let manifest = support::manifest();

    let (code, first) = update(data.path(), &nginx.url(), &[]);
    assert_eq!(code, 0, "{first:#}");
    assert_matches_manifest(&status(data.path()), &manifest);
    let zip_bytes = fs_err::metadata(mirror.path().join("PyPI/all.zip"))
        .unwrap()
        .len();
    assert_eq!(
        source(&first, "PyPI/all.zip")["bytes_downloaded"].as_u64(),
        Some(zip_bytes)
    );

    // Second run: conditional requests only; nginx answers 304 and sends no body.
    let log_before = nginx.access_log().lines().count();
    let (code, second) = update(data.path(), &nginx.url(), &[]);
    assert_eq!(code, 0);
    assert_eq!(second["updated"], 0, "{second:#}");
    for s in second["sources"].as_array().unwrap() {
        assert_eq!(s["bytes_downloaded"], 0, "{s:#}");
    }
    let log = nginx.access_log();
    let new_lines: Vec<&str> = log.lines().skip(log_before).collect();
    let data_requests: Vec<&&str> = new_lines
        .iter()
        .filter(|l| !l.contains("manifest.json"))
        .collect();
    assert!(!data_requests.is_empty());
    for l in &data_requests {
        assert!(l.contains("\" 304 "), "expected 304 Not Modified: {l}");
    }

    // Change npm/all.zip: drop one record and withdraw another.
    let gone = support::change_npm_export(mirror.path());
    let (code, third) = update(data.path(), &nginx.url(), &[]);
    assert_eq!(code, 0);
    assert_eq!(third["updated"], 1, "{third:#}");
    assert_eq!(source(&third, "npm/all.zip")["status"], "updated");
    let st = status(data.path());
    let mut expected = manifest_counts(&manifest);
    let npm_before = expected["npm"];
    expected.insert("npm".into(), (npm_before.0 - 1, npm_before.1 + 1));
    assert_eq!(osv_counts(&st), expected);
    let out = run(vigia(data.path()).args(["db", "show", &gone]));
    assert_eq!(
        out.status.code(),
        Some(5),
        "{gone} was removed upstream and must be gone"
    );
}

#[test]
fn truncated_zip_fails_that_source_only_and_keeps_its_previous_data() {
    let mirror = support::mirror_copy();
    let data = tempfile::tempdir().unwrap();
    let (code, _) = update(data.path(), mirror.path().to_str().unwrap(), &[]);
    assert_eq!(code, 0);
    let pypi = mirror.path().join("PyPI/all.zip");
    let bytes = fs_err::read(&pypi).unwrap();
    fs_err::write(&pypi, &bytes[..bytes.len() / 2]).unwrap();
    let (code, report) = update(data.path(), mirror.path().to_str().unwrap(), &[]);
    assert_eq!(code, 3, "a failed source is a partial update: {report:#}");
    let s = source(&report, "PyPI/all.zip");
    assert_eq!(s["status"], "failed");
    assert!(
        s["error"].as_str().unwrap().contains("PyPI/all.zip"),
        "{s:#}"
    );
    assert!(s["error"].as_str().unwrap().contains("zip"), "{s:#}");
    assert_matches_manifest(&status(data.path()), &support::manifest());
}

#[test]
fn malformed_records_are_skipped_counted_and_named() {
    let mirror = tempfile::tempdir().unwrap();
    let src = support::read_zip(&support::vulndata().join("PyPI/all.zip"));
    let good: Vec<(String, Vec<u8>)> = src.into_iter().take(5).collect();
    let mut entries = good.clone();
    entries.insert(
        2,
        (
            "BROKEN-1.json".into(),
            b"{\"id\": \"BROKEN-1\", \"modified\": ".to_vec(),
        ),
    );
    entries.push((
        "NOID-1.json".into(),
        br#"{"id": "", "modified": "2024-01-01T00:00:00Z"}"#.to_vec(),
    ));
    entries.push((
        "WRONGTYPE-1.json".into(),
        br#"{"id": "X", "modified": "2024-01-01T00:00:00Z", "affected": "nope"}"#.to_vec(),
    ));
    fs_err::create_dir_all(mirror.path().join("PyPI")).unwrap();
    support::write_zip(&mirror.path().join("PyPI/all.zip"), &entries);
    let data = tempfile::tempdir().unwrap();
    // A mirror of PyPI alone: the enrichment feeds are not expected.
    let (code, report) = update(
        data.path(),
        mirror.path().to_str().unwrap(),
        &["--no-enrichment"],
    );
    assert_eq!(
        code, 0,
        "malformed records never fail the update: {report:#}"
    );
    let s = source(&report, "PyPI/all.zip");
    assert_eq!(s["records"], 5);
    let named: Vec<&str> = s["malformed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["entry"].as_str().unwrap())
        .collect();
    assert_eq!(named, ["BROKEN-1.json", "NOID-1.json", "WRONGTYPE-1.json"]);
    let st = status(data.path());
    assert_eq!(source(&st, "PyPI/all.zip")["malformed"], 3);
    // The text report names them too.
    let out = run(vigia(tempfile::tempdir().unwrap().path()).args([
        "db",
        "update",
        "--no-enrichment",
        "--mirror",
        mirror.path().to_str().unwrap(),
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("skipped BROKEN-1.json: invalid OSV JSON"),
        "{text}"
    );
}

#[test]
fn unknown_ecosystem_in_a_mirror_is_an_error_naming_it() {
    let data = tempfile::tempdir().unwrap();
    let out = run(vigia(data.path()).args([
        "db",
        "update",
        "--mirror",
        support::vulndata().to_str().unwrap(),
        "--ecosystems",
        "Ubuntu",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Ubuntu/all.zip: not found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A server that answers `manifest.json` with one file and then sends only half
/// of that file's body before closing the connection.
fn cutting_server(body: Vec<u8>) -> (u16, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut sock, _) = listener.accept().unwrap();
            let mut req = String::new();
            let mut reader = BufReader::new(sock.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                req.push_str(&line);
            }
            if req.starts_with("GET /manifest.json") {
                let m = br#"{"files":[{"path":"PyPI/all.zip"}]}"#;
                write!(
                    sock,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    m.len()
                )
                .unwrap();
                sock.write_all(m).unwrap();
            } else {
                write!(
                    sock,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .unwrap();
                sock.write_all(&body[..body.len() / 2]).unwrap();
            }
            sock.flush().unwrap();
        }
    });
    (port, handle)
}

#[test]
fn download_cut_midway_fails_that_source_and_keeps_the_database() {
    let data = tempfile::tempdir().unwrap();
    let (code, _) = update(data.path(), support::vulndata().to_str().unwrap(), &[]);
    assert_eq!(code, 0);
    let body = fs_err::read(support::vulndata().join("PyPI/all.zip")).unwrap();
    let (port, server) = cutting_server(body);
    // Only PyPI is asked for: the other sources the database holds are not
    // expected from this mirror.
    let (code, report) = update(
        data.path(),
        &format!("http://127.0.0.1:{port}/"),
        &["--ecosystems", "PyPI", "--no-enrichment"],
    );
    server.join().unwrap();
    assert_eq!(code, 3, "{report:#}");
    let s = source(&report, "PyPI/all.zip");
    assert_eq!(s["status"], "failed");
    let err = s["error"].as_str().unwrap();
    assert!(err.contains("cut") || err.contains("short"), "{err}");
    assert_matches_manifest(&status(data.path()), &support::manifest());
    // Nothing half-downloaded is left behind.
    let leftovers: Vec<_> = fs_err::read_dir(data.path().join("tmp"))
        .map(std::iter::Iterator::collect::<Vec<_>>)
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A 10× synthetic mirror made from the real records by the repository's script.
fn synth_mirror(factor: u32) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/synth-mirror.py");
    let st = Command::new("python3")
        .arg(script)
        .arg(support::vulndata())
        .arg(factor.to_string())
        .arg(out.path())
        .status()
        .expect("python3 runs");
    assert!(st.success());
    out
}

fn synth_manifest(dir: &Path) -> Value {
    serde_json::from_str(&fs_err::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

#[test]
fn killed_update_leaves_the_previous_database_usable() {
    let synth = synth_mirror(10);
    let data = tempfile::tempdir().unwrap();
    let (code, _) = update(data.path(), support::vulndata().to_str().unwrap(), &[]);
    assert_eq!(code, 0);
    // Kill the second update while it ingests.
    let mut child = vigia(data.path())
        .args([
            "-v",
            "db",
            "update",
            "--mirror",
            synth.path().to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = 0;
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if line.contains("ingesting") {
            seen += 1;
            // Past the first source: rows of several sources are written, none committed.
            if seen == 3 {
                break;
            }
        }
        line.clear();
    }
    assert_eq!(seen, 3, "the update never reached its third source");
    std::thread::sleep(Duration::from_millis(50));
    child.kill().unwrap();
    let st = child.wait().unwrap();
    assert!(!st.success(), "the update was killed, not finished");
    let after = status(data.path());
    assert_matches_manifest(&after, &support::manifest());
    let out =
        run(vigia(data.path()).args(["db", "show", "GHSA-m2qf-hxjv-5gpq", "--format", "json"]));
    assert!(out.status.success());
    // And the next update goes through, clearing what the killed one left.
    let (code, report) = update(data.path(), synth.path().to_str().unwrap(), &[]);
    assert_eq!(code, 0, "{report:#}");
    let left: Vec<_> = fs_err::read_dir(data.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("vigia.db") && n != "vigia.db")
        .collect();
    assert!(left.is_empty(), "files left beside the database: {left:?}");
    assert_eq!(
        osv_counts(&status(data.path())),
        manifest_counts(&synth_manifest(synth.path()))
    );
}

#[test]
fn concurrent_updates_run_one_after_the_other() {
    let synth = synth_mirror(3);
    let data = tempfile::tempdir().unwrap();
    let spawn = || {
        vigia(data.path())
            .args([
                "db",
                "update",
                "--mirror",
                synth.path().to_str().unwrap(),
                "--format",
                "json",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = spawn();
    let b = spawn();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let (ra, rb) = (json_of(&a), json_of(&b));
    let mut updated = [
        ra["updated"].as_u64().unwrap(),
        rb["updated"].as_u64().unwrap(),
    ];
    updated.sort_unstable();
    // One did the work; the other waited for the lock, then found nothing changed.
    assert_eq!(updated[0], 0, "{ra:#}\n{rb:#}");
    assert!(updated[1] > 0);
    assert_eq!(
        osv_counts(&status(data.path())),
        manifest_counts(&synth_manifest(synth.path()))
    );
}

#[test]
fn readers_during_an_update_see_one_state_or_the_next() {
    let synth = synth_mirror(10);
    let data = tempfile::tempdir().unwrap();
    let (code, _) = update(data.path(), support::vulndata().to_str().unwrap(), &[]);
    assert_eq!(code, 0);
    let old = manifest_counts(&support::manifest());
    let new = manifest_counts(&synth_manifest(synth.path()));
    let mut child = vigia(data.path())
        .args(["db", "update", "--mirror", synth.path().to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut saw = (0, 0);
    loop {
        let done = child.try_wait().unwrap().is_some();
        let counts = osv_counts(&status(data.path()));
        if counts == old {
            saw.0 += 1;
        } else if counts == new {
            saw.1 += 1;
        } else {
            panic!("a reader saw a mixed state: {counts:?}");
        }
        if done {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120));
    }
    assert!(
        saw.0 > 0,
        "the update finished before any read: the test proved nothing"
    );
    assert!(saw.1 > 0, "the final state was never seen");
}

fn sqlite_url(data: &Path) -> String {
    format!("sqlite://{}?mode=ro", data.join("vigia.db").display())
}

#[test]
fn an_incremental_update_holds_the_same_rows_as_a_cold_build() {
    let mirror = support::mirror_copy();
    let m = mirror.path().to_str().unwrap();
    let data = tempfile::tempdir().unwrap();
    assert_eq!(update(data.path(), m, &[]).0, 0);
    let before = support::dump_advisory_tables(&sqlite_url(data.path()));
    let gone = support::change_npm_export(mirror.path());
    let (code, report) = update(data.path(), m, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["updated"], 1, "{report:#}");
    let incremental = support::dump_advisory_tables(&sqlite_url(data.path()));
    support::assert_npm_change_applied(&before, &incremental, &gone);
    let cold = tempfile::tempdir().unwrap();
    assert_eq!(update(cold.path(), m, &[]).0, 0);
    let cold = support::dump_advisory_tables(&sqlite_url(cold.path()));
    support::assert_same_rows(&incremental, &cold);
}

#[test]
fn a_database_of_another_schema_version_is_rebuilt_whole() {
    let mirror = support::vulndata();
    let data = tempfile::tempdir().unwrap();
    assert_eq!(update(data.path(), mirror.to_str().unwrap(), &[]).0, 0);
    // What a database written by another Vigia looks like: a different last migration.
    let rw = format!(
        "sqlite://{}?mode=rw",
        data.path().join("vigia.db").display()
    );
    support::execute_sql(&rw, "UPDATE _sqlx_migrations SET version = version + 1000");
    let out = run(vigia(data.path()).args(["db", "status", "--format", "json"]));
    assert_eq!(
        out.status.code(),
        Some(4),
        "no usable database: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("schema version") && err.contains("vigia db update"),
        "{err}"
    );
    // The next update reads every source again and builds the current schema.
    let (code, report) = update(data.path(), mirror.to_str().unwrap(), &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["unchanged"], 0, "nothing can be kept: {report:#}");
    assert_matches_manifest(&status(data.path()), &support::manifest());
}
