//! `vigia db match` on real records from `../shared/vulndata`: the answers a user
//! gets to "why is this flagged?", one ecosystem at a time.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// One database built from the real mirror, shared by the tests (read-only).
fn data_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        vigia_test_support::database_from_mirror(Path::new(env!("CARGO_BIN_EXE_vigia")))
    })
    .path()
}

fn matches(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_vigia"))
        .arg("--data-dir")
        .arg(data_dir())
        .args(["db", "match"])
        .args(args)
        .args(["--format", "json"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    vigia_test_support::assert_success(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ids(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["vulnerability_id"].as_str().unwrap().to_owned())
        .collect()
}

fn finding<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["vulnerability_id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {v:#}"))
}

fn advisory_ids(f: &Value) -> Vec<&str> {
    f["advisories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect()
}

/// A DSA that fixes several CVEs is reported as those CVEs: folded into
/// the finding of a CVE that matched on its own record, and the finding of
/// a CVE that has no record of the package (only the DSA names it); never
/// as a DSA finding beside them.
#[test]
fn a_dsa_is_reported_as_the_cves_it_fixes() {
    let related = |f: &Value| -> Vec<String> {
        f["related"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect()
    };
    for (package, version, source, dsa, cves) in [
        (
            "curl",
            "7.88.1-10+deb12u3",
            "curl",
            "DSA-5523-1",
            &["CVE-2023-38545", "CVE-2023-38546"][..],
        ),
        (
            "openssh-server",
            "1:9.2p1-2+deb12u1",
            "openssh",
            "DSA-5586-1",
            &["CVE-2023-48795", "CVE-2023-51385"][..],
        ),
    ] {
        let r = matches(&[
            "Debian",
            package,
            version,
            "--distro",
            "debian:12",
            "--source-name",
            source,
        ]);
        let found = ids(&r);
        assert!(
            !found.iter().any(|i| i.starts_with("DSA-")),
            "{package}: {found:?}"
        );
        for cve in cves {
            let f = finding(&r, cve);
            assert!(
                related(f).contains(&dsa.to_owned()),
                "{package} {cve}: {f:#}"
            );
            assert_eq!(f["fix_status"], "fixed", "{package} {cve}: {f:#}");
        }
    }
}

#[test]
fn debian_deb12u_fix_through_the_source_package() {
    // libc6 is built from glibc: the advisories name glibc.
    let old = matches(&[
        "Debian",
        "libc6",
        "2.36-9+deb12u3",
        "--distro",
        "debian:12",
        "--source-name",
        "glibc",
    ]);
    assert_eq!(old["coverage"]["status"], "covered");
    let f = finding(&old, "CVE-2023-6246");
    assert_eq!(f["fixed_version"], "2.36-9+deb12u4");
    assert_eq!(f["fix_status"], "fixed");
    // DSA-5611-1 fixes three CVEs: it is named under each, never a finding of its own.
    assert!(
        f["related"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "DSA-5611-1")
    );
    assert!(
        !ids(&old).iter().any(|i| i.starts_with("DSA-")),
        "{:?}",
        ids(&old)
    );
    // The version in the test image (+deb12u14) already carries every fix up to u14.
    let new = matches(&[
        "Debian",
        "libc6",
        "2.36-9+deb12u14",
        "--distro",
        "debian:12",
        "--source-name",
        "glibc",
    ]);
    assert!(!ids(&new).contains(&"CVE-2023-6246".to_owned()));
    assert!(ids(&new).len() < ids(&old).len());
    // Never a fallback to the binary package's own name.
    let by_binary = matches(&["Debian", "libc6", "2.36-9+deb12u3", "--distro", "debian:12"]);
    assert!(ids(&by_binary).is_empty(), "{by_binary:#}");
}

#[test]
fn debian_epochs_and_tildes() {
    // openssh fixes carry epoch 1: (DSA-5586-1 fixed 1:9.2p1-2+deb12u2 for Debian 12).
    let v = matches(&[
        "Debian",
        "openssh-server",
        "1:9.2p1-2+deb12u1",
        "--distro",
        "debian:12",
        "--source-name",
        "openssh",
    ]);
    let f = finding(&v, "CVE-2024-6387");
    assert_eq!(f["fixed_version"], "1:9.2p1-2+deb12u3");
    let fixed = matches(&[
        "Debian",
        "openssh-server",
        "1:9.2p1-2+deb12u3",
        "--distro",
        "debian:12",
        "--source-name",
        "openssh",
    ]);
    assert!(!ids(&fixed).contains(&"CVE-2024-6387".to_owned()));
    // Without the epoch the installed version is older than every epoch-1 fix.
    let no_epoch = matches(&[
        "Debian",
        "openssh-server",
        "9.9p1-1",
        "--distro",
        "debian:12",
        "--source-name",
        "openssh",
    ]);
    assert!(ids(&no_epoch).contains(&"CVE-2024-6387".to_owned()));
    // Tilde: 3.0.11-1~deb12u1 is below the fix 3.0.11-1~deb12u2 of DSA-5532-1,
    // and 3.0.20-1~deb12u2 (the image's libssl3) is above every fix in the data.
    let before = matches(&[
        "Debian",
        "libssl3",
        "3.0.11-1~deb12u1",
        "--distro",
        "debian:12",
        "--source-name",
        "openssl",
    ]);
    assert!(
        before["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| advisory_ids(f).contains(&"DSA-5532-1")
                || f["related"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|x| x == "DSA-5532-1"))),
        "{before:#}"
    );
    let after = matches(&[
        "Debian",
        "libssl3",
        "3.0.20-1~deb12u2",
        "--distro",
        "debian:12",
        "--source-name",
        "openssl",
    ]);
    for f in after["findings"].as_array().unwrap() {
        assert_ne!(
            f["fix_status"], "fixed",
            "3.0.20-1~deb12u2 is past every fix: {f:#}"
        );
    }
}

#[test]
fn debian_unimportant_is_will_not_fix() {
    // CVE-2011-3374 is `unimportant` for apt in Debian 12, with no fix.
    let v = matches(&["Debian", "apt", "2.6.1", "--distro", "debian:12"]);
    let f = finding(&v, "CVE-2011-3374");
    assert_eq!(f["fix_status"], "will_not_fix");
    assert_eq!(f["urgency"], "unimportant");
    assert!(f.get("fixed_version").is_none());
}

#[test]
fn alpine_by_origin_and_release() {
    let v = matches(&[
        "Alpine",
        "libcrypto3",
        "3.0.0-r0",
        "--distro",
        "alpine:3.22",
        "--source-name",
        "openssl",
    ]);
    assert_eq!(v["coverage"]["status"], "covered");
    let f = v["findings"].as_array().unwrap();
    assert!(!f.is_empty());
    assert!(
        f.iter()
            .all(|x| advisory_ids(x).iter().all(|a| a.starts_with("ALPINE-CVE-")))
    );
    // The shared data has v3.18, v3.20 and v3.22: 3.18's openssl 3.1.7-r0 has
    // fixes there, and 3.12 is not covered, not "clean".
    let args = |release| {
        [
            "Alpine",
            "libcrypto3",
            "3.1.7-r0",
            "--distro",
            release,
            "--source-name",
            "openssl",
        ]
    };
    let v318 = matches(&args("alpine:3.18"));
    assert_eq!(v318["coverage"]["status"], "covered");
    assert!(!v318["findings"].as_array().unwrap().is_empty());
    let old = matches(&args("alpine:3.12"));
    assert_eq!(old["coverage"]["status"], "not_covered");
    assert!(
        old["coverage"]["reason"]
            .as_str()
            .unwrap()
            .contains("Alpine:v3.12")
    );
}

#[test]
fn pypi_ghsa_and_pysec_twins_are_one_finding() {
    let v = matches(&["PyPI", "Flask", "2.0.1"]);
    let f = finding(&v, "CVE-2023-30861");
    assert_eq!(advisory_ids(f), ["GHSA-m2qf-hxjv-5gpq", "PYSEC-2023-62"]);
    assert_eq!(f["fixed_version"], "2.2.5");
    assert_eq!(ids(&v).iter().filter(|i| *i == "CVE-2023-30861").count(), 1);
    // Fixed versions are not flagged.
    assert!(!ids(&matches(&["PyPI", "flask", "2.2.5"])).contains(&"CVE-2023-30861".to_owned()));
    // PEP 503 names: Jinja2 and jinja2 are one package.
    assert_eq!(
        ids(&matches(&["PyPI", "Jinja2", "2.11.2"])),
        ids(&matches(&["PyPI", "jinja2", "2.11.2"]))
    );
}

#[test]
fn npm_ranges_and_a_range_that_must_not_match() {
    let v = matches(&["npm", "lodash", "4.17.15"]);
    assert!(
        ids(&v).contains(&"CVE-2020-8203".to_owned()),
        "{:?}",
        ids(&v)
    );
    // follow-redirects GHSA-jchw-25xp-jwwc affects < 1.15.4 only.
    let fr = matches(&["npm", "follow-redirects", "1.16.3"]);
    assert!(ids(&fr).is_empty(), "{fr:#}");
    let fr_old = matches(&["npm", "follow-redirects", "1.15.3"]);
    assert!(!ids(&fr_old).is_empty());
}

/// GHSA-r683-j2x4-v87g (CVE-2022-0235) names `introduced: "1.0"`: a partial
/// version, read as npm reads `>=1.0` (1.0.0), never skipped.
#[test]
fn npm_partial_range_bounds_are_completed_with_zeros() {
    for (version, affected) in [
        ("3.0.0", true),
        ("3.1.0", true),
        ("1.0.0", true),
        ("3.1.1", false),
    ] {
        let v = matches(&["npm", "node-fetch", version]);
        assert_eq!(
            ids(&v).contains(&"CVE-2022-0235".to_owned()),
            affected,
            "node-fetch {version}: {v:#}"
        );
        assert!(
            v["warnings"].as_array().is_none_or(Vec::is_empty),
            "no range left undecided: {v:#}"
        );
    }
}

#[test]
fn maven_text4shell() {
    let v = matches(&["Maven", "org.apache.commons:commons-text", "1.9"]);
    assert_eq!(finding(&v, "CVE-2022-42889")["fixed_version"], "1.10.0");
    assert!(
        ids(&matches(&[
            "Maven",
            "org.apache.commons:commons-text",
            "1.10.0"
        ]))
        .is_empty()
    );
}

#[test]
fn crates_io_informational_advisories_are_marked() {
    let v = matches(&["crates.io", "tempdir", "0.3.7"]);
    let f = finding(&v, "RUSTSEC-2018-0017");
    assert_eq!(f["informational"], "unmaintained");
    assert_eq!(f["fix_status"], "not_fixed");
}

#[test]
fn go_stdlib_and_pseudo_versions() {
    let v = matches(&["Go", "stdlib", "1.21.8"]);
    assert_eq!(finding(&v, "CVE-2023-45288")["fixed_version"], "1.21.9");
    assert!(!ids(&matches(&["Go", "stdlib", "1.22.2"])).contains(&"CVE-2023-45288".to_owned()));
    // GO-2020-0013 is fixed in a pseudo-version of golang.org/x/crypto.
    let before = matches(&[
        "Go",
        "golang.org/x/crypto",
        "v0.0.0-20170101000000-aaaaaaaaaaaa",
    ]);
    assert!(
        before["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| advisory_ids(f).contains(&"GO-2020-0013"))
    );
    let after = matches(&[
        "Go",
        "golang.org/x/crypto",
        "v0.0.0-20170401000000-bbbbbbbbbbbb",
    ]);
    assert!(
        !after["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| advisory_ids(f).contains(&"GO-2020-0013"))
    );
}

#[test]
fn withdrawn_records_never_match() {
    // GO-2022-0617 (k8s.io/kubernetes, every version) is withdrawn.
    let v = matches(&["Go", "k8s.io/kubernetes", "v1.20.0"]);
    assert!(
        !v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| advisory_ids(f).contains(&"GO-2022-0617")),
        "{v:#}"
    );
    // PYSEC-2019-144 (arrayfire < 3.6.0) is withdrawn.
    let a = matches(&["PyPI", "arrayfire", "3.0.20150914"]);
    assert!(
        !a["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| advisory_ids(f).contains(&"PYSEC-2019-144"))
    );
}

#[test]
fn unknown_ecosystems_and_bad_versions_are_not_covered() {
    let v = matches(&["Hackage", "aeson", "1.0"]);
    assert_eq!(v["coverage"]["status"], "not_covered");
    // Debian is covered; this one package's version cannot be compared.
    let v = matches(&["Debian", "bash", "not a version", "--distro", "debian:12"]);
    assert_eq!(v["coverage"]["status"], "not_evaluated");
    assert!(
        v["coverage"]["reason"]
            .as_str()
            .unwrap()
            .contains("invalid dpkg version")
    );
}

#[test]
fn last_affected_is_inclusive_and_several_pairs_per_range_work() {
    // GHSA-29mw-wpgm-hmr9 gives lodash.trim `last_affected: 4.5.1` and no fix.
    let at = matches(&["npm", "lodash.trim", "4.5.1"]);
    let f = at["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| advisory_ids(f).contains(&"GHSA-29mw-wpgm-hmr9"))
        .expect("4.5.1 is the last affected version");
    assert_eq!(f["fix_status"], "not_fixed");
    let above = matches(&["npm", "lodash.trim", "4.5.2"]);
    assert!(
        !above["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| advisory_ids(f).contains(&"GHSA-29mw-wpgm-hmr9"))
    );
    // PYSEC-2023-62: introduced 0, fixed 2.2.5, introduced 2.3.0, fixed 2.3.2.
    let second_pair = matches(&["PyPI", "flask", "2.3.1"]);
    assert_eq!(
        finding(&second_pair, "CVE-2023-30861")["fixed_version"],
        "2.3.2"
    );
    assert!(!ids(&matches(&["PyPI", "flask", "2.3.2"])).contains(&"CVE-2023-30861".to_owned()));
    assert!(
        !ids(&matches(&["PyPI", "flask", "2.2.9"])).contains(&"CVE-2023-30861".to_owned()),
        "between the two pairs"
    );
}
