//! What is installed beats what is declared: images whose manifests name
//! packages their installed environments lack, development dependencies,
//! and projects with no environment of their own.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use vigia_test_support::{gzip, tar_of, write_layout};

fn vigia(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigia"))
        .args(args)
        .env("VIGIA_HOME", home)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The JSON that a successful run of `vigia args…` prints.
fn json_of(home: &Path, args: &[&str]) -> Value {
    let out = vigia(home, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `(name, version, declared, dev, path)` of every package of a JSON inventory.
fn packages(out: &Output) -> Vec<(String, String, bool, bool, String)> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
    inv["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
                p["declared"].as_bool().unwrap_or(false),
                p["dev"].as_bool().unwrap_or(false),
                p["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn has(pkgs: &[(String, String, bool, bool, String)], name: &str, version: &str) -> bool {
    pkgs.iter().any(|p| p.0 == name && p.1 == version)
}

fn metadata(name: &str, version: &str) -> Vec<u8> {
    format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n").into_bytes()
}

/// Layer 1 installs an app with its pins and its environment; layer 2 removes
/// one installed distribution (a whiteout, as `pip uninstall` in a later
/// `RUN` leaves) and the npm project's `minimist`.
fn image(dir: &Path) {
    let site = "usr/local/lib/python3.11/site-packages";
    let lock = json!({
        "name": "web", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
        "packages": {
            "": {"name": "web", "version": "1.0.0"},
            "node_modules/lodash": {"version": "4.17.15"},
            "node_modules/minimist": {"version": "1.2.0"},
            "node_modules/left-pad": {"version": "1.3.0", "dev": true}
        }
    })
    .to_string();
    let files: Vec<(String, Vec<u8>)> = vec![
        (
            "srv/app/requirements.txt".into(),
            b"requests==2.25.0\nurllib3==1.26.4\nflask==2.0.0\njinja2==3.0.0\n".to_vec(),
        ),
        (
            format!("{site}/requests-2.25.0.dist-info/METADATA"),
            metadata("requests", "2.25.0"),
        ),
        (
            format!("{site}/urllib3-1.26.18.dist-info/METADATA"),
            metadata("urllib3", "1.26.18"),
        ),
        (
            format!("{site}/Jinja2-3.0.0.dist-info/METADATA"),
            metadata("Jinja2", "3.0.0"),
        ),
        // Debian's own packages are not the app's environment.
        (
            "usr/lib/python3/dist-packages/six-1.16.0.egg-info".into(),
            metadata("six", "1.16.0"),
        ),
        ("srv/web/package-lock.json".into(), lock.into_bytes()),
        (
            "srv/web/node_modules/lodash/package.json".into(),
            br#"{"name": "lodash", "version": "4.17.21"}"#.to_vec(),
        ),
        (
            "srv/web/node_modules/minimist/package.json".into(),
            br#"{"name": "minimist", "version": "1.2.0"}"#.to_vec(),
        ),
        (
            "srv/web/node_modules/left-pad/package.json".into(),
            br#"{"name": "left-pad", "version": "1.3.0"}"#.to_vec(),
        ),
    ];
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, d)| (p.as_str(), d.as_slice()))
        .collect();
    let layer1 = tar_of(&refs);
    let layer2 = tar_of(&[
        (
            &format!("{site}/.wh.Jinja2-3.0.0.dist-info"),
            b"".as_slice(),
        ),
        ("srv/web/node_modules/.wh.minimist", b""),
    ]);
    let diff_ids: Vec<String> = [&layer1, &layer2]
        .iter()
        .map(|l| {
            use sha2::Digest;
            format!("sha256:{}", hex::encode(sha2::Sha256::digest(l)))
        })
        .collect();
    write_layout(dir, &[gzip(&layer1), gzip(&layer2)], &diff_ids);
}

#[test]
fn installed_environments_are_the_inventory() {
    let home = tempfile::tempdir().unwrap();
    let img = tempfile::tempdir().unwrap();
    image(img.path());
    let target = img.path().to_str().unwrap();

    let out = vigia(home.path(), &["sbom", target, "--format", "json"]);
    let pkgs = packages(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Installed at the pinned version: reported once, where it is installed.
    let requests: Vec<_> = pkgs.iter().filter(|p| p.0 == "requests").collect();
    assert_eq!(requests.len(), 1, "{pkgs:?}");
    assert!(
        requests[0]
            .4
            .ends_with("requests-2.25.0.dist-info/METADATA")
    );
    // Installed at another version: the installed one only.
    assert!(has(&pkgs, "urllib3", "1.26.18"), "{pkgs:?}");
    assert!(!has(&pkgs, "urllib3", "1.26.4"), "{pkgs:?}");
    // Never installed, and removed by a later layer: left out, and said so.
    assert!(!pkgs.iter().any(|p| p.0 == "flask"), "{pkgs:?}");
    assert!(
        !pkgs.iter().any(|p| p.0.eq_ignore_ascii_case("jinja2")),
        "{pkgs:?}"
    );
    assert!(
        stderr.contains("/srv/app/requirements.txt")
            && stderr.contains("flask 2.0.0")
            && stderr.contains("jinja2 3.0.0")
            && stderr.contains("--include-declared"),
        "{stderr}"
    );
    // Debian's single-file egg-info is a package of its own.
    assert!(
        pkgs.iter()
            .any(|p| p.0 == "six" && p.4.ends_with("six-1.16.0.egg-info")),
        "{pkgs:?}"
    );
    // npm: the installed lodash, not the locked one; minimist removed.
    assert!(has(&pkgs, "lodash", "4.17.21"), "{pkgs:?}");
    assert!(!has(&pkgs, "lodash", "4.17.15"), "{pkgs:?}");
    assert!(!pkgs.iter().any(|p| p.0 == "minimist"), "{pkgs:?}");
    // Development dependencies stay in an SBOM, marked.
    assert!(pkgs.iter().any(|p| p.0 == "left-pad" && p.3), "{pkgs:?}");

    // Asked for, the declarations come back, marked.
    let all = packages(&vigia(
        home.path(),
        &["sbom", target, "--format", "json", "--include-declared"],
    ));
    for (name, version) in [
        ("flask", "2.0.0"),
        ("jinja2", "3.0.0"),
        ("urllib3", "1.26.4"),
        ("lodash", "4.17.15"),
        ("minimist", "1.2.0"),
    ] {
        assert!(
            all.iter().any(|p| p.0 == name && p.1 == version && p.2),
            "{name} {version} declared: {all:?}"
        );
    }
    assert!(!all.iter().any(|p| p.0 == "requests" && p.2), "{all:?}");

    // SBOMs carry the marks: CycloneDX properties (and `scope: excluded`
    // for development dependencies), SPDX annotations; both stay valid.
    let bom = json_of(
        home.path(),
        &[
            "sbom",
            target,
            "--format",
            "cyclonedx",
            "--include-declared",
        ],
    );
    let component = |name: &str| -> Value {
        bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {bom:#}"))
            .clone()
    };
    let props = |c: &Value| c["properties"].to_string();
    assert!(props(&component("flask")).contains("vigia:package:declared"));
    assert_eq!(component("left-pad")["scope"], "excluded");
    assert!(props(&component("left-pad")).contains("vigia:package:dev"));
    assert!(!props(&component("requests")).contains("declared"));
    let spdx = json_of(
        home.path(),
        &["sbom", target, "--format", "spdx", "--include-declared"],
    );
    assert!(spdx.to_string().contains("vigia:package:declared=true"));
    let dir = tempfile::tempdir().unwrap();
    for (doc, schema) in [
        (&bom, "cyclonedx-bom-1.6.schema.json"),
        (&spdx, "spdx-2.3-schema.json"),
    ] {
        let file = dir.path().join(schema);
        fs_err::write(&file, doc.to_string()).unwrap();
        vigia_test_support::validate_json_schema(schema, &file);
    }
}

#[test]
fn development_dependencies_are_matched_in_folders_and_on_request() {
    let home = tempfile::tempdir().unwrap();
    let data = vigia_test_support::database_from_mirror(Path::new(env!("CARGO_BIN_EXE_vigia")));
    let dir = tempfile::tempdir().unwrap();
    let lock = json!({
        "name": "web", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
        "packages": {
            "": {"name": "web", "version": "1.0.0"},
            "node_modules/lodash": {"version": "4.17.15", "dev": true}
        }
    });
    let root = dir.path().join("srv/web");
    fs_err::create_dir_all(&root).unwrap();
    fs_err::write(root.join("package-lock.json"), lock.to_string()).unwrap();
    // A Debian host: another project pins `six` and has no environment of its
    // own; Debian's unrelated copy of `six` does not make its pin go away.
    let host = dir.path();
    for (path, text) in [
        ("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
        ("etc/debian_version", "12.5\n"),
        ("var/lib/dpkg/status", ""),
        ("srv/tool/requirements.txt", "six==1.16.0\n"),
        (
            "usr/lib/python3/dist-packages/six-1.16.0.egg-info",
            "Metadata-Version: 1.1\nName: six\nVersion: 1.16.0\n\n",
        ),
    ] {
        let file = host.join(path);
        fs_err::create_dir_all(file.parent().unwrap()).unwrap();
        fs_err::write(file, text).unwrap();
    }
    let scan = |kind: &str, extra: &[&str]| -> Value {
        let mut args = vec![
            "--data-dir",
            data.path().to_str().unwrap(),
            "scan",
            kind,
            dir.path().to_str().unwrap(),
            "--scanners",
            "vuln",
            "--format",
            "json",
        ];
        args.extend(extra);
        json_of(home.path(), &args)
    };
    let cve = |r: &Value| r.to_string().contains("CVE-2020-8203");
    // A folder is a project: its development dependencies are its own.
    assert!(cve(&scan("dir", &[])));
    // On a host, development dependencies are left out, and said so.
    let host = scan("host", &[]);
    assert!(!cve(&host), "{host:#}");
    assert!(
        host["scan"]["warnings"]
            .to_string()
            .contains("1 development dependencies left out: lodash 4.17.15"),
        "{:#}",
        host["scan"]["warnings"]
    );
    assert!(cve(&scan("host", &["--include-dev"])));
    let sbom = vigia(
        home.path(),
        &["sbom", dir.path().to_str().unwrap(), "--format", "json"],
    );
    let pkgs = packages(&sbom);
    for path in [
        "/srv/tool/requirements.txt",
        "/usr/lib/python3/dist-packages/six-1.16.0.egg-info",
    ] {
        assert!(
            pkgs.iter().any(|p| p.0 == "six" && p.4 == path && !p.2),
            "six at {path}: {pkgs:?}"
        );
    }
}

/// What a scan does not read is chosen (`--skip-dirs`, `--include-dirs`) and
/// always named: on the machine's own root, `/proc`, `/sys`, `/dev`, `/run`
/// and `/tmp` are not read unless brought back.
#[test]
fn skipped_trees_are_chosen_and_named() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lock = json!({
        "name": "x", "version": "1.0.0", "lockfileVersion": 3, "requires": true,
        "packages": {"": {"name": "x"}, "node_modules/lodash": {"version": "4.17.15"}}
    })
    .to_string();
    for project in ["srv/app", "srv/old"] {
        let p = dir.path().join(project);
        fs_err::create_dir_all(&p).unwrap();
        fs_err::write(p.join("package-lock.json"), &lock).unwrap();
    }
    let target = dir.path().to_str().unwrap();
    let inv = |extra: &[&str]| -> Value {
        let mut args = vec!["sbom", target, "--format", "json"];
        args.extend(extra);
        json_of(home.path(), &args)
    };
    let paths = |v: &Value| -> Vec<String> {
        v["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["path"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = inv(&[]);
    assert_eq!(paths(&all).len(), 2);
    assert!(
        all["status"]["skipped"].is_null(),
        "nothing skipped in a folder"
    );
    let some = inv(&["--skip-dirs", "/srv/old/"]);
    assert_eq!(paths(&some), ["/srv/app/package-lock.json"]);
    assert_eq!(
        some["status"]["skipped"],
        json!([{"path": "/srv/old", "reason": "--skip-dirs"}])
    );

    // The live root: this test's own folder is under /tmp.
    let under_tmp = dir.path().starts_with("/tmp");
    let root = |extra: &[&str]| -> Value {
        let mut args = vec![
            "sbom",
            "/",
            "--format",
            "json",
            "--skip-dirs",
            "/usr,/var,/opt,/root,/home,/work",
        ];
        args.extend(extra);
        json_of(home.path(), &args)
    };
    let plain = root(&[]);
    let skipped: Vec<&str> = plain["status"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["path"].as_str().unwrap())
        .collect();
    for tree in ["/proc", "/sys", "/dev", "/run", "/tmp"] {
        assert!(skipped.contains(&tree), "{tree} in {skipped:?}");
    }
    let ours = format!("{}/srv/app/package-lock.json", dir.path().display());
    assert!(!paths(&plain).contains(&ours));
    if under_tmp {
        let with_tmp = root(&["--include-dirs", "/tmp"]);
        assert!(paths(&with_tmp).contains(&ours), "{:?}", paths(&with_tmp));
        assert!(
            !with_tmp["status"]["skipped"]
                .to_string()
                .contains("\"/tmp\"")
        );
    }
}
