//! `vigia scan` end to end on the shared targets with the database built from
//! `../shared/vulndata`: findings, formats (schemas, the AWS models, golden
//! files), filters, suppressions and exit codes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};

/// A fixed scan time, so that reports are reproducible.
const EPOCH: &str = "1760000000";

/// One database built from the real mirror, shared by the tests (read-only).
fn data_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        vigia_test_support::database_from_mirror(Path::new(env!("CARGO_BIN_EXE_vigia")))
    })
    .path()
}

fn targets() -> PathBuf {
    vigia_test_support::shared_dir().join("targets")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Runs `vigia scan …` against the shared database, in `cwd` (for `.vigiaignore`).
fn scan_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigia"))
        .arg("--data-dir")
        .arg(data_dir())
        .arg("scan")
        .args(args)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn scan(args: &[&str]) -> Output {
    let empty = tempfile::tempdir().unwrap();
    scan_in(empty.path(), args)
}

/// A scan's JSON report; the vulnerability scanner only, unless `args` choose.
fn scan_json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    if !args.contains(&"--scanners") {
        all.extend(["--scanners", "vuln"]);
    }
    let out = scan(&all);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn findings(r: &Value) -> &Vec<Value> {
    r["findings"].as_array().unwrap()
}

fn ids(r: &Value) -> BTreeSet<String> {
    findings(r)
        .iter()
        .map(|f| {
            f["packageVulnerabilityDetails"]["vulnerabilityId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn finding<'a>(r: &'a Value, id: &str) -> &'a Value {
    findings(r)
        .iter()
        .find(|f| f["packageVulnerabilityDetails"]["vulnerabilityId"] == id)
        .unwrap_or_else(|| panic!("no finding {id} in {:?}", ids(r)))
}

fn package_names(f: &Value) -> Vec<&str> {
    f["packageVulnerabilityDetails"]["vulnerablePackages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect()
}

#[test]
fn image_findings_come_from_os_and_language_packages() {
    let r = scan_json(&["image", path(&targets().join("debian12-app"))]);
    // Debian packages match through their source package: libssl3 and openssl
    // share one finding, named by the tracker's `openssl` record.
    let f = finding(&r, "CVE-2024-5535");
    assert_eq!(package_names(f), ["libssl3", "openssl"]);
    assert_eq!(f["vigia"]["matched"][0]["package"], "openssl");
    assert_eq!(f["vigia"]["matched"][0]["ecosystem"], "Debian:12");
    assert_eq!(f["packageVulnerabilityDetails"]["source"], "DEBIAN_CVE");
    assert_eq!(f["fixAvailable"], "NO");
    let p = &f["packageVulnerabilityDetails"]["vulnerablePackages"][0];
    assert_eq!(p["packageManager"], "OS");
    assert_eq!(p["version"], "3.0.20");
    assert_eq!(p["release"], "1~deb12u2");
    assert_eq!(p["epoch"], 0);
    // L1 brought the Debian packages.
    assert_eq!(
        p["sourceLayerHash"],
        "sha256:807ecd9465606c7da2ec9aed3e708cc5033739c47c876d825e08b18114924e6d"
    );
    // A will-not-fix vulnerability is reported, with its state.
    let w = finding(&r, "CVE-2023-52426");
    assert_eq!(w["vigia"]["fixStatus"], "will_not_fix");
    assert_eq!(
        w["packageVulnerabilityDetails"]["vendorSeverity"],
        "unimportant"
    );
    // PyPI from dist-info (layer L2), npm from the lockfile (layer L3).
    let u = finding(&r, "CVE-2021-33503");
    assert_eq!(package_names(u), ["urllib3"]);
    assert_eq!(u["severity"], "HIGH");
    assert_eq!(
        u["packageVulnerabilityDetails"]["vulnerablePackages"][0]["fixedInVersion"],
        "1.26.5"
    );
    assert_eq!(
        u["packageVulnerabilityDetails"]["vulnerablePackages"][0]["sourceLayerHash"],
        "sha256:553ea1155ee04aa233c06dc924a9edea3d6efaa9a572af38d99b482ac10b0fc1"
    );
    let m = finding(&r, "CVE-2021-44906");
    assert_eq!(m["severity"], "CRITICAL");
    // NVD's 9.8, adjusted for exploit evidence: EPSS 0.01134 is below the
    // threshold and it is not in KEV, so E:U (9.8 × 0.91, rounded up).
    assert_eq!(
        m["packageVulnerabilityDetails"]["cvss"][0]["baseScore"],
        9.8
    );
    assert_eq!(m["inspectorScore"], 9.0);
    let adjusted = &m["inspectorScoreDetails"]["adjustedCvss"];
    assert_eq!(adjusted["scoreSource"], "NVD");
    assert_eq!(
        adjusted["scoringVector"],
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U"
    );
    assert_eq!(adjusted["adjustments"][0]["metric"], "E");
    assert_eq!(adjusted["adjustments"].as_array().unwrap().len(), 1);
    assert_eq!(m["fixAvailable"], "YES");
    assert!(m["epss"]["score"].as_f64().unwrap() > 0.0);
    assert_eq!(
        m["packageVulnerabilityDetails"]["vulnerablePackages"][0]["filePath"],
        "/srv/web/package-lock.json"
    );
    // The resource is the image, by repository and manifest digest.
    let res = &m["resources"][0];
    assert_eq!(res["type"], "AWS_ECR_CONTAINER_IMAGE");
    assert_eq!(
        res["details"]["awsEcrContainerImage"]["imageHash"],
        "sha256:3476b43f5a68f8141989210b3e22473422eb6b883282f12153b137e64850ae3f"
    );
    assert_eq!(
        res["details"]["awsEcrContainerImage"]["repositoryName"],
        "vigia/debian12-app"
    );
    // Every package type was matched; the summary counts what is listed.
    for c in r["scan"]["coverage"].as_array().unwrap() {
        assert_eq!(c["covered"], true, "{c}");
    }
    let s = &r["scan"]["summary"];
    assert_eq!(
        usize::try_from(s["total"].as_u64().unwrap()).unwrap(),
        findings(&r).len()
    );
    assert_eq!(s["packages"], 110 + 11 + 68);
    let by_sev: u64 = s["bySeverity"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(by_sev, s["total"].as_u64().unwrap());
}

#[test]
fn functions_hosts_and_lockfiles_have_findings() {
    let py = scan_json(&["function", path(&targets().join("fn-python.zip"))]);
    let f = finding(&py, "CVE-2023-43804");
    assert_eq!(package_names(f), ["urllib3"]);
    assert_eq!(f["resources"][0]["type"], "AWS_LAMBDA_FUNCTION");
    let lambda = &f["resources"][0]["details"]["awsLambdaFunction"];
    assert_eq!(lambda["functionName"], "fn-python");
    // Lambda's CodeSha256 is the base64 SHA-256 of the zip.
    assert_eq!(lambda["codeSha256"].as_str().unwrap().len(), 44);
    assert!(
        ids(&py).contains("CVE-2020-14343"),
        "PyYAML 5.3.1: {:?}",
        ids(&py)
    );

    let node = scan_json(&["function", path(&targets().join("fn-node.zip"))]);
    assert!(!findings(&node).is_empty());
    assert!(
        findings(&node)
            .iter()
            .all(|f| f["vigia"]["packages"][0]["type"] == "npm")
    );

    let host = scan_json(&["host", path(&targets().join("host-snapshot.tar.gz"))]);
    let h = finding(&host, "CVE-2024-28085");
    assert!(
        package_names(h).contains(&"util-linux"),
        "{:?}",
        package_names(h)
    );
    assert_eq!(h["resources"][0]["type"], "AWS_EC2_INSTANCE");
    assert_eq!(
        h["resources"][0]["details"]["awsEc2Instance"]["platform"],
        "DEBIAN_12"
    );

    let rust = scan_json(&["dir", path(&targets().join("rust-lockfile"))]);
    let sv = finding(&rust, "CVE-2021-25900");
    assert_eq!(package_names(sv), ["smallvec"]);
    assert!(
        sv["vigia"]["aliasGroup"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "RUSTSEC-2021-0003")
    );
    assert_eq!(
        sv["packageVulnerabilityDetails"]["vulnerablePackages"][0]["packageManager"],
        "CARGO"
    );
    // RustSec's informational notices are INFORMATIONAL, not vulnerabilities with a score.
    let inst = finding(&rust, "RUSTSEC-2024-0384");
    assert_eq!(inst["severity"], "INFORMATIONAL");
    assert_eq!(inst["vigia"]["informational"], "unmaintained");
    // The lockfile given alone: the same findings, at its own name.
    let lone = scan_json(&["dir", path(&targets().join("rust-lockfile/Cargo.lock"))]);
    let ids_of = |r: &Value| -> BTreeSet<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(!ids_of(&lone).is_empty());
    assert_eq!(ids_of(&lone), ids_of(&rust));
    let at = &finding(&lone, "CVE-2021-25900")["packageVulnerabilityDetails"]["vulnerablePackages"]
        [0]["filePath"];
    assert_eq!(at, "/Cargo.lock", "{lone:#}");
}

#[test]
fn twins_appear_once_and_withdrawn_records_never() {
    // Withdrawn records in the mirror.
    let mut withdrawn = BTreeSet::new();
    for eco in [
        "PyPI",
        "npm",
        "crates.io",
        "Debian",
        "Go",
        "Maven",
        "Alpine",
    ] {
        let file =
            fs_err::File::open(vigia_test_support::vulndata().join(eco).join("all.zip")).unwrap();
        let mut z = zip::ZipArchive::new(file).unwrap();
        for i in 0..z.len() {
            let mut e = z.by_index(i).unwrap();
            let mut s = String::new();
            e.read_to_string(&mut s).unwrap();
            let v: Value = serde_json::from_str(&s).unwrap();
            if v.get("withdrawn").is_some_and(|w| !w.is_null()) {
                withdrawn.insert(v["id"].as_str().unwrap().to_owned());
            }
        }
    }
    assert!(
        !withdrawn.is_empty(),
        "the mirror has withdrawn records to test with"
    );
    for (kind, t) in [
        ("image", "debian12-app"),
        ("function", "fn-python.zip"),
        ("function", "fn-node.zip"),
        ("dir", "rust-lockfile"),
    ] {
        let r = scan_json(&[kind, path(&targets().join(t))]);
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for f in findings(&r) {
            let id = f["packageVulnerabilityDetails"]["vulnerabilityId"]
                .as_str()
                .unwrap();
            let pkg = f["title"].as_str().unwrap();
            for m in f["vigia"]["matched"].as_array().unwrap() {
                let rid = m["id"].as_str().unwrap();
                assert!(!withdrawn.contains(rid), "{t}: withdrawn {rid} matched");
            }
            // No alias of this finding is another finding on the same package.
            for a in f["vigia"]["aliasGroup"].as_array().unwrap() {
                let key = format!(
                    "{}|{}",
                    a.as_str().unwrap(),
                    f["vigia"]["packages"][0]["purl"]
                );
                if let Some(other) = seen.insert(key, id.to_owned()) {
                    assert_eq!(other, id, "{t}: {a} reported twice ({pkg})");
                }
            }
        }
    }
    // urllib3's GHSA and PYSEC records for CVE-2021-33503 are one finding.
    let r = scan_json(&["function", path(&targets().join("fn-python.zip"))]);
    let twins: Vec<&Value> = findings(&r)
        .iter()
        .filter(|f| {
            f["vigia"]["aliasGroup"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == "CVE-2023-43804")
        })
        .collect();
    assert_eq!(twins.len(), 1);
    let group: Vec<&str> = twins[0]["vigia"]["aliasGroup"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(group.iter().any(|a| a.starts_with("GHSA-")), "{group:?}");
    assert!(group.iter().any(|a| a.starts_with("PYSEC-")), "{group:?}");
}

/// A host root filesystem whose dpkg database holds the given stanzas.
fn debian_host(stanzas: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    fs_err::create_dir_all(root.path().join("etc")).unwrap();
    fs_err::create_dir_all(root.path().join("var/lib/dpkg")).unwrap();
    fs_err::write(
        root.path().join("etc/os-release"),
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
    )
    .unwrap();
    fs_err::write(root.path().join("var/lib/dpkg/status"), stanzas).unwrap();
    root
}

fn stanza(name: &str, source: Option<&str>, version: &str) -> String {
    let src = source.map(|s| format!("Source: {s}\n")).unwrap_or_default();
    format!(
        "Package: {name}\nStatus: install ok installed\nArchitecture: amd64\n{src}Version: {version}\nDescription: test\n\n"
    )
}

#[test]
fn debian_security_updates_are_flagged_only_below_the_fix() {
    // libc6 (source glibc) before the +deb12u4 update: DSA-5611-1 / CVE-2023-6246 apply;
    // CVE-2023-4911 was fixed in +deb12u3 (DSA-5514-1), which is installed.
    // curl +deb12u4 carries CVE-2023-38545's fix but not CVE-2023-46218's (+deb12u5).
    let host = debian_host(
        &(stanza("libc6", Some("glibc"), "2.36-9+deb12u3")
            + &stanza("curl", None, "7.88.1-10+deb12u4")),
    );
    let r = scan_json(&["host", path(host.path())]);
    let found = ids(&r);
    let f = finding(&r, "CVE-2023-6246");
    assert_eq!(
        f["packageVulnerabilityDetails"]["vulnerablePackages"][0]["fixedInVersion"],
        "2.36-9+deb12u4"
    );
    assert!(f["vigia"]["matched"][0]["package"] == "glibc");
    assert!(found.contains("CVE-2023-46218"));
    assert!(
        !found.contains("CVE-2023-4911"),
        "already fixed in +deb12u3"
    );
    assert!(
        !found.contains("CVE-2023-38545"),
        "already fixed in +deb12u4"
    );
    // The DSA that fixes it is named with the finding.
    let related = f["packageVulnerabilityDetails"]["relatedVulnerabilities"].to_string();
    assert!(related.contains("DSA-5611-1"), "{related}");
    // Another distribution's advisory of the same CVE (the shared image's
    // OpenSSL and others have Alpine's too) is not related to a Debian
    // package's finding; Debian's own are.
    let image = scan_json(&["image", path(&targets().join("debian12-app"))]);
    let mut debian_related = 0;
    for f in findings(&image) {
        let related = f["packageVulnerabilityDetails"]["relatedVulnerabilities"].to_string();
        assert!(!related.contains("ALPINE-"), "{related}");
        debian_related += usize::from(related.contains("DSA-") || related.contains("DEBIAN-"));
    }
    assert!(debian_related > 0);
    // The fix plan takes libc6 to the highest fix of its findings.
    let plan = r["scan"]["fixPlan"].as_array().unwrap();
    let libc = plan.iter().find(|s| s["packages"][0] == "libc6").unwrap();
    assert_eq!(libc["fixed"], "2.36-9+deb12u7");
    assert_eq!(libc["installed"], "2.36-9+deb12u3");

    // Fully updated: none of those.
    let host = debian_host(
        &(stanza("libc6", Some("glibc"), "2.36-9+deb12u7")
            + &stanza("curl", None, "7.88.1-10+deb12u6")),
    );
    let r = scan_json(&["host", path(host.path())]);
    for f in findings(&r) {
        assert_ne!(f["vigia"]["fixStatus"], "fixed", "{}", f["title"]);
    }
}

/// An Alpine root filesystem of `release` holding `packages` (name, origin, version).
fn alpine_host(release: &str, packages: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    fs_err::create_dir_all(root.path().join("etc")).unwrap();
    fs_err::create_dir_all(root.path().join("lib/apk/db")).unwrap();
    fs_err::write(
        root.path().join("etc/os-release"),
        format!("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID={release}\nPRETTY_NAME=\"Alpine Linux v{release}\"\n"),
    )
    .unwrap();
    let mut db = String::new();
    for (name, origin, version) in packages {
        db.push_str(&format!("P:{name}\nV:{version}\nA:x86_64\no:{origin}\n\n"));
    }
    fs_err::write(root.path().join("lib/apk/db/installed"), db).unwrap();
    root
}

#[test]
fn unsupported_releases_are_not_covered_never_clean() {
    // The mirror has Alpine v3.18, v3.20 and v3.22; v3.12 is not covered.
    let host = alpine_host(
        "3.12.12",
        &[
            ("musl", "musl", "1.1.24-r10"),
            ("libcrypto1.1", "openssl", "1.1.1k-r0"),
        ],
    );
    let out = scan(&["host", path(host.path()), "--format", "json"]);
    assert!(out.status.success());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &r["scan"]["coverage"][0];
    assert_eq!(c["packageType"], "apk");
    assert_eq!(c["covered"], false);
    assert!(c["reason"].as_str().unwrap().contains("Alpine:v3.12"));
    assert_eq!(r["scan"]["summary"]["packagesNotCovered"], 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 apk packages NOT COVERED"), "{stderr}");
    let table = scan(&["host", path(host.path())]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("NOT COVERED"), "{text}");
    assert!(!text.contains("No known vulnerabilities"), "{text}");
}

#[test]
fn alpine_3_18_images_are_matched() {
    // The mirror's v3.18 secdb entries give openssl 3.1.7-r0 and musl 1.2.4-r2 fixes.
    let r = scan_json(&["image", path(&targets().join("alpine-base"))]);
    let c = &r["scan"]["coverage"][0];
    assert_eq!(c["packageType"], "apk");
    assert_eq!(c["covered"], true, "{c}");
    assert_eq!(r["scan"]["summary"]["packagesNotCovered"], 0);
    let names: std::collections::BTreeSet<String> = findings(&r)
        .iter()
        .flat_map(|f| {
            f["packageVulnerabilityDetails"]["vulnerablePackages"]
                .as_array()
                .unwrap()
                .iter()
        })
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.contains("musl"), "{names:?}");
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("libssl3") || n.starts_with("libcrypto3")),
        "{names:?}"
    );
}

/// A package whose installed version its ecosystem's scheme cannot read is
/// named as not evaluated, and makes the scan incomplete (exit 7), while every
/// other package of its ecosystem is matched as usual.
#[test]
fn an_unreadable_installed_version_is_not_evaluated_and_the_rest_is_matched() {
    let dir = tempfile::tempdir().unwrap();
    let lock = serde_json::json!({
        "name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
        "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "node_modules/lodash": {"version": "4.17.15"},
            "node_modules/node-fetch": {"version": "3.0.0"},
            "node_modules/left-pad": {"version": "1.0"}
        }
    });
    fs_err::write(
        dir.path().join("package-lock.json"),
        serde_json::to_vec_pretty(&lock).unwrap(),
    )
    .unwrap();
    let args = [
        "dir",
        path(dir.path()),
        "--scanners",
        "vuln",
        "--format",
        "json",
    ];
    let out = scan(&args);
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 packages NOT EVALUATED") && stderr.contains("left-pad 1.0"),
        "{stderr}"
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ne = r["scan"]["notEvaluated"].as_array().unwrap();
    assert_eq!(ne.len(), 1, "{ne:?}");
    assert_eq!(ne[0]["name"], "left-pad");
    assert_eq!(ne[0]["version"], "1.0");
    assert!(
        ne[0]["reason"].as_str().unwrap().contains("SemVer"),
        "{ne:?}"
    );
    assert_eq!(r["scan"]["summary"]["packagesNotEvaluated"], 1);
    assert_eq!(r["scan"]["summary"]["packagesNotCovered"], 0);
    let npm: Vec<&Value> = r["scan"]["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ecosystem"] == "npm")
        .collect();
    assert_eq!(npm.len(), 1, "{npm:?}");
    assert_eq!(npm[0]["covered"], true);
    assert_eq!(npm[0]["packages"], 3);
    assert_eq!(npm[0]["notEvaluated"], 1);
    let found = ids(&r);
    assert!(found.contains("CVE-2020-8203"), "lodash: {found:?}");
    assert!(found.contains("CVE-2022-0235"), "node-fetch: {found:?}");
    // The table says so too, instead of "no known vulnerabilities".
    let table = scan(&["dir", path(dir.path()), "--scanners", "vuln"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("1 packages were NOT evaluated") && text.contains("left-pad 1.0"),
        "{text}"
    );
    let allowed = scan(&[
        "dir",
        path(dir.path()),
        "--scanners",
        "vuln",
        "--allow-incomplete",
    ]);
    assert_eq!(allowed.status.code(), Some(0));
}

#[test]
fn no_database_is_an_error_with_its_own_exit_code() {
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vigia"))
        .arg("--data-dir")
        .arg(empty.path())
        .args(["scan", "dir"])
        .arg(targets().join("rust-lockfile"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("vigia db update"));
    assert!(out.stdout.is_empty());
}

#[test]
fn a_stale_database_warns() {
    let dir = tempfile::tempdir().unwrap();
    vigia_test_support::copy_dir(data_dir(), dir.path());
    let db = dir.path().join("vigia.db");
    let status = Command::new("python3")
        .arg("-c")
        .arg("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE sources SET checked_at='2026-01-01T00:00:00Z'\"); c.commit()")
        .arg(&db)
        .status()
        .unwrap();
    assert!(status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_vigia"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["scan", "dir", "--format", "json"])
        .arg(targets().join("rust-lockfile"))
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("last updated 2026-01-01") && stderr.contains("vigia db update"),
        "{stderr}"
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["scan"]["database"]["stale"], true);
    assert!(!findings(&r).is_empty(), "a stale database still scans");
}

#[test]
fn exit_codes_follow_fail_on() {
    let lock = targets().join("rust-lockfile");
    let t = path(&lock);
    // rust-lockfile has Critical findings (smallvec, hyper).
    assert_eq!(
        scan(&["dir", t, "--fail-on", "critical"]).status.code(),
        Some(6)
    );
    assert_eq!(
        scan(&["dir", t, "--fail-on", "HIGH", "--exit-code", "9"])
            .status
            .code(),
        Some(9)
    );
    assert_eq!(scan(&["dir", t]).status.code(), Some(0));
    // Filtered to Low and below: nothing at or above High remains.
    assert_eq!(
        scan(&[
            "dir",
            t,
            "--severity",
            "low,informational",
            "--fail-on",
            "high"
        ])
        .status
        .code(),
        Some(0)
    );
    let bad = scan(&["dir", t, "--fail-on", "severe"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("`severe` is not a severity"));
    // The wrong kind names what the target is.
    let wrong = scan(&["image", t]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("use `vigia scan dir`"));
    let host = scan(&["host", path(&targets().join("debian12-app"))]);
    assert!(String::from_utf8_lossy(&host.stderr).contains("use `vigia scan image`"));
    let function = scan(&["function", path(&targets().join("host-snapshot.tar.gz"))]);
    assert_eq!(function.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&function.stderr).contains("use `vigia scan host`"));
    let zip = scan(&["dir", path(&targets().join("fn-node.zip"))]);
    assert_eq!(zip.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&zip.stderr).contains("use `vigia scan function`"));
    // A lockfile alone is a folder's content, not a function.
    let lock = scan(&[
        "function",
        path(&targets().join("rust-lockfile/Cargo.lock")),
    ]);
    assert_eq!(lock.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&lock.stderr).contains("use `vigia scan dir`"));
    // A tarball with no OS release file and no package database is no host:
    // refused, not found clean.
    let empty = tempfile::NamedTempFile::new().unwrap();
    fs_err::write(empty.path(), vigia_test_support::tar_of(&[])).unwrap();
    let sources = tempfile::NamedTempFile::new().unwrap();
    fs_err::write(
        sources.path(),
        vigia_test_support::tar_of(&[("src/main.py", b"print('hi')\n")]),
    )
    .unwrap();
    for tarball in [empty.path(), sources.path()] {
        let host = scan(&["host", path(tarball)]);
        assert_eq!(host.status.code(), Some(1));
        let err = String::from_utf8_lossy(&host.stderr);
        assert!(
            err.contains("is not a root filesystem: it holds no OS release file"),
            "{err}"
        );
        assert!(host.stdout.is_empty());
    }
    // For secrets alone no package database is needed: the same files as a
    // folder and as a tarball are both a host's.
    let files = tempfile::tempdir().unwrap();
    fs_err::create_dir_all(files.path().join("etc/app")).unwrap();
    fs_err::write(
        files.path().join("etc/app/token.env"),
        "GITHUB_TOKEN=ghp_Q1w2E3r4T5y6U7i8O9p0AaSsDdFfGgHhJjKk\n",
    )
    .unwrap();
    for (secrets_only, token) in [(files.path(), true), (sources.path(), false)] {
        let out = scan(&[
            "host",
            path(secrets_only),
            "--scanners",
            "secret",
            "-f",
            "json",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).contains("github-classic-pat"),
            token
        );
    }
    // The network scanner is for hosts: asked of a folder it is refused, not skipped.
    let sec = scan(&["dir", t, "--scanners", "vuln,network"]);
    assert_eq!(sec.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&sec.stderr).contains("apply to hosts"));
    // --offline refuses a registry pull.
    let off = scan(&["image", "127.0.0.1:9/none/such:1", "--offline"]);
    assert_eq!(off.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&off.stderr).contains("--offline"));
}

#[test]
fn severity_and_unfixed_filters() {
    let t = targets().join("debian12-app");
    let all = scan_json(&["image", path(&t)]);
    let high = scan_json(&["image", path(&t), "--severity", "high,critical"]);
    assert!(!findings(&high).is_empty());
    assert!(
        findings(&high)
            .iter()
            .all(|f| f["severity"] == "HIGH" || f["severity"] == "CRITICAL")
    );
    let expected = findings(&all)
        .iter()
        .filter(|f| f["severity"] == "HIGH" || f["severity"] == "CRITICAL")
        .count();
    assert_eq!(findings(&high).len(), expected);
    let fixed = scan_json(&["image", path(&t), "--ignore-unfixed"]);
    assert!(findings(&fixed).iter().all(|f| f["fixAvailable"] != "NO"));
    let expected = findings(&all)
        .iter()
        .filter(|f| f["fixAvailable"] != "NO")
        .count();
    assert_eq!(findings(&fixed).len(), expected);
    assert!(
        expected < findings(&all).len(),
        "the image has unfixed findings too"
    );
    // Stable identities: the same scan gives the same finding IDs.
    let again = scan_json(&["image", path(&t)]);
    let arns = |r: &Value| -> Vec<String> {
        findings(r)
            .iter()
            .map(|f| f["findingArn"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(arns(&all), arns(&again));
    assert!(arns(&all).iter().all(|a| a.starts_with("vigia:finding/")));
    let unique: BTreeSet<String> = arns(&all).into_iter().collect();
    assert_eq!(unique.len(), findings(&all).len());
}

#[test]
fn vigiaignore_suppresses_until_it_expires() {
    let cwd = tempfile::tempdir().unwrap();
    fs_err::write(
        cwd.path().join(".vigiaignore"),
        "# accepted risks\n\
         - id: GHSA-43w2-9j62-hq99   # CVE-2021-25900 by its GHSA alias\n  reason: we never call insert_many\n  expires: 2099-12-31\n\
         - purl: pkg:cargo/hyper\n  reason: behind a proxy that normalises headers\n\
         - id: CVE-2022-24713\n  reason: patterns are not user input\n  expires: 2020-01-01\n",
    )
    .unwrap();
    let lock = targets().join("rust-lockfile");
    let out = scan_in(
        cwd.path(),
        &[
            "dir",
            path(&lock),
            "--format",
            "json",
            "--fail-on",
            "critical",
        ],
    );
    // Both Critical findings are suppressed: --fail-on does not fire.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sv = finding(&r, "CVE-2021-25900");
    assert_eq!(sv["status"], "SUPPRESSED");
    assert_eq!(sv["vigia"]["suppression"]["by"], "vigiaignore");
    assert_eq!(
        sv["vigia"]["suppression"]["reason"],
        "we never call insert_many"
    );
    for f in findings(&r)
        .iter()
        .filter(|f| package_names(f) == ["hyper"])
    {
        assert_eq!(f["status"], "SUPPRESSED", "{}", f["title"]);
    }
    // The expired entry no longer suppresses, and says so.
    assert_eq!(finding(&r, "CVE-2022-24713")["status"], "ACTIVE");
    let notes = r["scan"]["notes"].to_string();
    assert!(
        notes.contains("entry 3 (CVE-2022-24713) expired on 2020-01-01"),
        "{notes}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("expired on 2020-01-01"));
    let hyper = findings(&r)
        .iter()
        .filter(|f| package_names(f) == ["hyper"])
        .count();
    assert_eq!(
        usize::try_from(r["scan"]["summary"]["suppressed"].as_u64().unwrap()).unwrap(),
        1 + hyper
    );
    // The fix plan leaves out what is suppressed.
    let plan = r["scan"]["fixPlan"].to_string();
    assert!(
        !plan.contains("hyper") && !plan.contains("smallvec"),
        "{plan}"
    );
    // A bad file is an error naming it.
    fs_err::write(cwd.path().join(".vigiaignore"), "- id: CVE-1\n").unwrap();
    let bad = scan_in(cwd.path(), &["dir", path(&lock)]);
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains(".vigiaignore") && err.contains("no reason"),
        "{err}"
    );
}

#[test]
fn vex_not_affected_suppresses_and_affected_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let vex = dir.path().join("app.vex.json");
    fs_err::write(
        &vex,
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/1","author":"Team","timestamp":"2026-06-01T00:00:00Z","version":1,
        "statements":[
          {"vulnerability":{"name":"CVE-2022-24713"},"products":[{"@id":"pkg:cargo/regex@1.5.4"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"},
          {"vulnerability":{"name":"CVE-2020-26235"},"products":[{"@id":"pkg:cargo/time"}],"status":"affected","action_statement":"upgrade"},
          {"vulnerability":{"name":"CVE-2021-25900"},"products":[{"@id":"pkg:cargo/smallvec@9.9.9"}],"status":"not_affected","justification":"component_not_present"}
        ]}"#,
    )
    .unwrap();
    let r = scan_json(&[
        "dir",
        path(&targets().join("rust-lockfile")),
        "--vex",
        path(&vex),
    ]);
    let re = finding(&r, "CVE-2022-24713");
    assert_eq!(re["status"], "SUPPRESSED");
    assert_eq!(re["vigia"]["suppression"]["by"], "vex");
    assert_eq!(re["vigia"]["suppression"]["status"], "not_affected");
    assert_eq!(
        re["vigia"]["suppression"]["reason"],
        "vulnerable_code_not_in_execute_path"
    );
    assert_eq!(finding(&r, "CVE-2020-26235")["status"], "ACTIVE");
    // A statement about another version does not apply.
    assert_eq!(finding(&r, "CVE-2021-25900")["status"], "ACTIVE");
    // The table lists it under SUPPRESSED with the justification.
    let out = scan(&[
        "dir",
        path(&targets().join("rust-lockfile")),
        "--vex",
        path(&vex),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("SUPPRESSED (1)") && text.contains("vulnerable_code_not_in_execute_path"),
        "{text}"
    );
    // A subcomponent is the package inside its product only: a statement
    // about smallvec in another image leaves this one's finding as it is;
    // the same statement about this folder suppresses it.
    let here = finding(&r, "CVE-2021-25900")["resources"][0]["id"].clone();
    let scoped = |product: &Value| {
        let doc = json!({"@context": "https://openvex.dev/ns/v0.2.0", "timestamp": "2026-06-01T00:00:00Z",
            "statements": [{"vulnerability": {"name": "CVE-2021-25900"},
                "products": [{"@id": product, "subcomponents": [{"@id": "pkg:cargo/smallvec"}]}],
                "status": "not_affected", "justification": "inline_mitigations_already_exist"}]});
        fs_err::write(&vex, doc.to_string()).unwrap();
        let r = scan_json(&[
            "dir",
            path(&targets().join("rust-lockfile")),
            "--vex",
            path(&vex),
        ]);
        finding(&r, "CVE-2021-25900")["status"].clone()
    };
    assert_eq!(scoped(&json!("pkg:oci/other-image@sha256:0000")), "ACTIVE");
    assert_eq!(scoped(&here), "SUPPRESSED");
}

fn validate_aws(service: &str, shape: &str, list: &str, doc: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/validate-aws-shape.py");
    let out = Command::new("python3")
        .arg(script)
        .args([service, shape])
        .arg(doc)
        .args(["--list", list, "--extra", "vigia"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} against botocore's {service} {shape}:\n{}{}",
        doc.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_format_is_valid_for_every_target() {
    let out_dir = tempfile::tempdir().unwrap();
    for (kind, t) in [
        ("image", "debian12-app"),
        ("image", "alpine-base"),
        ("function", "fn-python.zip"),
        ("function", "fn-node.zip"),
        ("host", "host-snapshot.tar.gz"),
        ("dir", "rust-lockfile"),
    ] {
        let target = targets().join(t);
        let file = |ext: &str| out_dir.path().join(format!("{t}.{ext}"));
        for (format, ext) in [
            ("json", "json"),
            ("sarif", "sarif"),
            ("cyclonedx", "cdx.json"),
            ("spdx", "spdx.json"),
            ("asff", "asff.json"),
            ("csv", "csv"),
            ("markdown", "md"),
        ] {
            let out = scan(&[
                kind,
                path(&target),
                "--format",
                format,
                "--output",
                path(&file(ext)),
            ]);
            assert!(
                out.status.success(),
                "{t} {format}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        validate_aws("inspector2", "Finding", "findings", &file("json"));
        validate_aws(
            "securityhub",
            "AwsSecurityFinding",
            "Findings",
            &file("asff.json"),
        );
        vigia_test_support::validate_json_schema("sarif-schema-2.1.0.json", &file("sarif"));
        vigia_test_support::validate_json_schema(
            "cyclonedx-bom-1.6.schema.json",
            &file("cdx.json"),
        );
        vigia_test_support::validate_json_schema("spdx-2.3-schema.json", &file("spdx.json"));
        let report: Value =
            serde_json::from_str(&fs_err::read_to_string(file("json")).unwrap()).unwrap();
        let n = findings(&report).len();
        let csv = fs_err::read_to_string(file("csv")).unwrap();
        let mut rows = ::csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(rows.records().count(), n, "{t}: one CSV row per finding");
        let sarif: Value =
            serde_json::from_str(&fs_err::read_to_string(file("sarif")).unwrap()).unwrap();
        assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), n);
        let cdx: Value =
            serde_json::from_str(&fs_err::read_to_string(file("cdx.json")).unwrap()).unwrap();
        let packages = findings(&report)
            .iter()
            .filter(|f| f["type"] == "PACKAGE_VULNERABILITY")
            .count();
        assert_eq!(cdx["vulnerabilities"].as_array().unwrap().len(), packages);
        // Every VDR entry points at a component of the same BOM.
        let refs: BTreeSet<&str> = cdx["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["bom-ref"].as_str())
            .collect();
        for v in cdx["vulnerabilities"].as_array().unwrap() {
            for a in v["affects"].as_array().unwrap() {
                assert!(
                    refs.contains(a["ref"].as_str().unwrap()),
                    "{t}: dangling {}",
                    a["ref"]
                );
            }
        }
        let asff: Value =
            serde_json::from_str(&fs_err::read_to_string(file("asff.json")).unwrap()).unwrap();
        assert_eq!(asff["Findings"].as_array().unwrap().len(), n);
        // Each resource as Security Hub types it, as Inspector sends it.
        let want = match kind {
            "image" => Some("AwsEcrContainerImage"),
            "function" => Some("AwsLambdaFunction"),
            "host" => Some("AwsEc2Instance"),
            _ => None,
        };
        if let Some(want) = want {
            for f in asff["Findings"].as_array().unwrap() {
                let r = &f["Resources"][0];
                assert_eq!(r["Type"], want, "{t}: {r}");
                assert!(r["Details"][want].is_object(), "{t}: {r}");
            }
        }
    }
}

#[test]
fn sboms_scan_like_the_resource_they_describe() {
    for (kind, name) in [("image", "debian12-app"), ("function", "fn-node.zip")] {
        sboms_scan_like(kind, &targets().join(name));
    }
}

/// An SBOM of the target at `image` (of `kind`), in each format, scans to
/// the findings of the target itself, complete (exit 0: the document's
/// own subject is no component left unmatched).
fn sboms_scan_like(kind: &str, image: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let direct = ids(&scan_json(&[kind, path(image)]));
    for format in ["cyclonedx", "spdx"] {
        let sbom = dir.path().join(format!("app.{format}.json"));
        let home = tempfile::tempdir().unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_vigia"))
            .args([
                "sbom",
                path(image),
                "--format",
                format,
                "--output",
                path(&sbom),
            ])
            .env("VIGIA_HOME", home.path())
            .output()
            .unwrap();
        assert!(out.status.success());
        let via_sbom = ids(&scan_json(&["sbom", path(&sbom)]));
        assert_eq!(via_sbom, direct, "{kind} {format}");
    }
}

/// Replaces what differs between machines and database builds.
fn normalize(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut l = line.to_owned();
        // The database's update time.
        while let Some(i) = l.find("2026-").or_else(|| l.find("2027-")) {
            if l[i..].len() < 20 || !l[i..i + 20].ends_with('Z') {
                break;
            }
            l.replace_range(i..i + 20, "<db-updated>");
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// Golden files: a small SBOM through every format. Regenerate with
/// `VIGIA_BLESS=1 cargo test -p vigia --test scan golden` and review the diff.
#[test]
fn golden_reports() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let sbom = fixture("small.cdx.json");
    let out_dir = tempfile::tempdir().unwrap();
    for (format, ext) in [
        ("table", "txt"),
        ("json", "json"),
        ("sarif", "sarif"),
        ("cyclonedx", "cdx.json"),
        ("spdx", "spdx.json"),
        ("csv", "csv"),
        ("asff", "asff.json"),
        ("markdown", "md"),
    ] {
        let file = out_dir.path().join(format!("small.{ext}"));
        let out = scan(&[
            "sbom",
            path(&sbom),
            "--format",
            format,
            "--output",
            path(&file),
        ]);
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = normalize(&fs_err::read_to_string(&file).unwrap());
        let golden = dir.join(format!("small.{ext}"));
        if std::env::var_os("VIGIA_BLESS").is_some() {
            fs_err::create_dir_all(&dir).unwrap();
            fs_err::write(&golden, &got).unwrap();
            continue;
        }
        let want = fs_err::read_to_string(&golden)
            .unwrap_or_else(|e| panic!("{e}: run with VIGIA_BLESS=1 to create it"));
        assert!(
            got == want,
            "{format} differs from {}:\n{got}",
            golden.display()
        );
    }
}

/// Runs `scripts/<script> args…`, which must succeed and find nothing wrong
/// or missed; returns what it printed.
fn crosscheck(script: &str, args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(script);
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("none wrong, none missed"), "{text}");
    text
}

/// `alpine-base`'s findings are exactly those an independent reading gives:
/// its apk database read by a script, the mirror's `Alpine:v3.18` ranges,
/// versions compared by AboutCode's `univers` (`scripts/crosscheck-alpine.py`).
#[test]
fn alpine_findings_agree_with_an_independent_apk_comparison() {
    let text = crosscheck(
        "crosscheck-alpine.py",
        &[
            path(&targets().join("alpine-base")),
            path(&vigia_test_support::vulndata()),
            "--vigia",
            env!("CARGO_BIN_EXE_vigia"),
        ],
    );
    // musl and openssl findings at least: the check checked something.
    let n: usize = text.split_whitespace().next().unwrap().parse().unwrap();
    assert!(n >= 3, "{text}");
}

/// Every Debian finding on the Debian targets agrees with the security tracker's
/// own lines (release, fixed version, `dpkg --compare-versions`), and no
/// bookworm fix above an installed version is missed.
#[test]
fn debian_findings_agree_with_the_tracker() {
    let tracker =
        vigia_test_support::vulndata().join("tools/data/sources/aquasecurity+vuln-list-debian");
    let image = format!("image:{}", path(&targets().join("debian12-app")));
    let host = format!("host:{}", path(&targets().join("host-snapshot.tar.gz")));
    let mirror = vigia_test_support::vulndata();
    let text = crosscheck(
        "crosscheck-debian.py",
        &[
            path(&tracker),
            "--vigia",
            env!("CARGO_BIN_EXE_vigia"),
            "--mirror",
            path(&mirror),
            &image,
            &host,
        ],
    );
    // Both targets have Debian findings, so the check checked something.
    let n: usize = text.split_whitespace().next().unwrap().parse().unwrap();
    assert!(n >= 40, "{text}");
}

/// The SBOM formats carry an incomplete scan's gaps, as JSON, SARIF and
/// markdown do: a component listed without vulnerabilities is otherwise
/// read as matched and clean.
#[test]
fn sbom_formats_say_what_was_not_scanned() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(dir.path().join("requirements.txt"), "Django==3.2\n").unwrap();
    fs_err::write(
        dir.path().join("package-lock.json"),
        r#"{"lockfileVersion": 3, "packages": {"node_modules/lod"#,
    )
    .unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    for (format, file) in [("cyclonedx", "bom.cdx.json"), ("spdx", "bom.spdx.json")] {
        let target = out_dir.path().join(file);
        let out = scan(&[
            "dir",
            path(dir.path()),
            "--scanners",
            "vuln",
            "--format",
            format,
            "--output",
            path(&target),
        ]);
        assert_eq!(
            out.status.code(),
            Some(7),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Value = serde_json::from_str(&fs_err::read_to_string(&target).unwrap()).unwrap();
        let said = if format == "cyclonedx" {
            let props = doc["metadata"]["properties"].as_array().unwrap();
            assert!(
                props
                    .iter()
                    .any(|p| p["name"] == "vigia:incomplete" && p["value"] == "true"),
                "{props:?}"
            );
            vigia_test_support::validate_json_schema("cyclonedx-bom-1.6.schema.json", &target);
            serde_json::to_string(props).unwrap()
        } else {
            vigia_test_support::validate_json_schema("spdx-2.3-schema.json", &target);
            doc["comment"].as_str().unwrap().to_owned()
        };
        assert!(
            said.contains("NOT SCANNED") && said.contains("package-lock.json"),
            "{format}: {said}"
        );
    }
    // A complete scan carries no gap.
    fs_err::remove_file(dir.path().join("package-lock.json")).unwrap();
    let target = out_dir.path().join("clean.cdx.json");
    let out = scan(&[
        "dir",
        path(dir.path()),
        "--scanners",
        "vuln",
        "--format",
        "cyclonedx",
        "--output",
        path(&target),
    ]);
    assert!(
        out.status.code().is_some_and(|c| c != 7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&fs_err::read_to_string(&target).unwrap()).unwrap();
    assert!(
        !doc["metadata"].to_string().contains("vigia:incomplete"),
        "{doc}"
    );
}
