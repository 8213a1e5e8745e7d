//! Inventories of every shared target equal `../shared/targets/expected.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vigia_inventory::source::{Options, open_with};
use vigia_inventory::{Inventory, inventory};

fn targets() -> PathBuf {
    vigia_test_support::shared_dir().join("targets")
}

fn expected() -> Value {
    serde_json::from_str(&fs_err::read_to_string(targets().join("expected.json")).unwrap()).unwrap()
}

/// expected.json's ecosystem names → purl types.
fn purl_type(eco: &str) -> &str {
    match eco {
        "dpkg" => "deb",
        "cargo" => "cargo",
        other => other,
    }
}

fn counts(inv: &Inventory) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for p in &inv.packages {
        *m.entry(p.kind.clone()).or_default() += 1;
    }
    m
}

fn expected_counts(target: &Value) -> BTreeMap<String, u64> {
    target["packages"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (purl_type(k).to_owned(), v.as_u64().unwrap()))
        .collect()
}

#[test]
fn every_target_matches_expected_counts() {
    let exp = expected();
    for (name, target) in exp["targets"].as_object().unwrap() {
        let path = targets().join(target["path"].as_str().unwrap().trim_end_matches('/'));
        let inv = inventory(&path, &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            counts(&inv),
            expected_counts(target),
            "{name}: {:#?}",
            inv.status
        );
        assert!(
            inv.status.warnings.is_empty(),
            "{name}: {:#?}",
            inv.status.warnings
        );
        if let Some(os) = target.get("os") {
            let got = inv
                .os
                .as_ref()
                .unwrap_or_else(|| panic!("{name}: no OS detected"));
            assert_eq!(got.id, os["ID"].as_str().unwrap());
            assert_eq!(got.version_id, os["VERSION_ID"].as_str().unwrap());
        }
    }
}

#[test]
fn debian_image_packages_are_exact_with_layers_and_purls() {
    let exp = expected();
    let t = &exp["targets"]["debian12-app"];
    let inv = inventory(&targets().join("debian12-app"), &Options::default()).unwrap();
    assert_eq!(
        inv.os.as_ref().unwrap().osv_ecosystem.as_deref(),
        Some("Debian:12")
    );
    let layers: Vec<&str> = t["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["diff_id"].as_str().unwrap())
        .collect();
    let deb = |n: &str| {
        inv.packages
            .iter()
            .find(|p| p.kind == "deb" && p.name == n)
            .unwrap_or_else(|| panic!("no deb {n}"))
    };
    for (n, v) in t["dpkg_selected"].as_object().unwrap() {
        assert_eq!(deb(n).version, v.as_str().unwrap(), "{n}");
        assert_eq!(
            deb(n).layer.as_deref(),
            Some(layers[0]),
            "{n} comes from the base layer"
        );
    }
    let libc = deb("libc6");
    assert_eq!(
        libc.purl,
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64&distro=debian-12"
    );
    assert_eq!(libc.source_name.as_deref(), Some("glibc"));
    // Python packages come from the pip layer, npm packages from the web layer.
    let flask = inv
        .packages
        .iter()
        .find(|p| p.kind == "pypi" && p.name == "Flask")
        .unwrap();
    assert_eq!(
        (flask.version.as_str(), flask.layer.as_deref()),
        ("2.0.1", Some(layers[1]))
    );
    assert_eq!(flask.purl, "pkg:pypi/flask@2.0.1");
    let direct = t["npm_lockfiles"]["/srv/web/package-lock.json"]["direct"]
        .as_object()
        .unwrap();
    for (n, v) in direct {
        let p = inv
            .packages
            .iter()
            .find(|p| p.kind == "npm" && p.name == *n && p.path == "/srv/web/package-lock.json")
            .unwrap();
        assert_eq!(p.version, v.as_str().unwrap());
        assert_eq!(p.layer.as_deref(), Some(layers[2]));
    }
}

#[test]
fn whiteouts_remove_files_from_the_final_filesystem() {
    let want = |p: &str| {
        matches!(
            p,
            "/etc/motd"
                | "/etc/hostname"
                | "/srv/web/config/old-deploy.env"
                | "/srv/web/tmp/session-cache.json"
                | "/srv/web/tmp/build/.npmrc"
                | "/srv/web/tmp/.keep"
                | "/srv/web/server.js"
        )
    };
    let (_, view, _) =
        open_with(&targets().join("debian12-app"), &Options::default(), &want).unwrap();
    let paths: Vec<&str> = view.paths().collect();
    assert_eq!(
        paths,
        ["/etc/hostname", "/srv/web/server.js", "/srv/web/tmp/.keep"]
    );
}

fn docker_archive(dir: &Path) -> PathBuf {
    let out = dir.join("debian12-app.tar");
    let st = std::process::Command::new("python3")
        .arg(targets().join("tools/oci-to-docker-archive.py"))
        .arg(targets().join("debian12-app"))
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    out
}

#[test]
fn docker_archive_and_oci_layout_give_the_same_inventory() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = docker_archive(tmp.path());
    let a = inventory(&targets().join("debian12-app"), &Options::default()).unwrap();
    let b = inventory(&archive, &Options::default()).unwrap();
    assert_eq!(b.kind, "image");
    assert_eq!(a.packages, b.packages);
    assert_eq!(a.os, b.os);
    // The same again, gzip-compressed as a whole.
    let gz = tmp.path().join("debian12-app.tar.gz");
    let mut enc = flate2::write::GzEncoder::new(
        fs_err::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut fs_err::File::open(&archive).unwrap(), &mut enc).unwrap();
    enc.finish().unwrap();
    assert_eq!(
        inventory(&gz, &Options::default()).unwrap().packages,
        a.packages
    );
}

/// A real Go binary, built here by Debian's Go toolchain (no dependencies: no
/// module proxy is reachable), gives the toolchain's version as `stdlib`.
#[test]
fn go_binaries_report_their_toolchain() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root/usr/local/bin");
    fs_err::create_dir_all(&root).unwrap();
    let version = vigia_test_support::go_build(dir.path(), &root.join("hello"));
    let inv = inventory(&dir.path().join("root"), &Options::default()).unwrap();
    let go_pkgs: Vec<(String, String, String)> = inv
        .packages
        .iter()
        .filter(|p| p.kind == "golang")
        .map(|p| (p.name.clone(), p.version.clone(), p.path.clone()))
        .collect();
    // go.mod of the source tree is not inside this root; only the binary counts.
    assert_eq!(
        go_pkgs,
        [(
            "stdlib".to_owned(),
            version,
            "/usr/local/bin/hello".to_owned()
        )]
    );
}

fn run_tool(cmd: &str, args: &[&str]) {
    let out = std::process::Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e} (a Debian package; .ci/run installs it)"));
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A root filesystem with a real rpm database holding two packages built here
/// by Debian's `rpmbuild`, in the database format `backend` (`sqlite`).
fn rpm_root(dir: &Path, backend: &str) -> PathBuf {
    let top = dir.join("build");
    fs_err::create_dir_all(top.join("SPECS")).unwrap();
    for (name, version, release, epoch) in [
        ("vigia-hello", "1.2.3", "4.el9", "2"),
        ("vigia-world", "0.9", "1.el9", "0"),
    ] {
        fs_err::write(
            top.join(format!("SPECS/{name}.spec")),
            format!("Name: {name}\nVersion: {version}\nRelease: {release}\nEpoch: {epoch}\nSummary: t\nLicense: MIT\nBuildArch: noarch\n%description\nt\n%files\n"),
        )
        .unwrap();
        run_tool(
            "rpmbuild",
            &[
                "--define",
                &format!("_topdir {}", top.display()),
                "-bb",
                top.join(format!("SPECS/{name}.spec")).to_str().unwrap(),
            ],
        );
    }
    let root = dir.join("root");
    let db = root.join("var/lib/rpm");
    fs_err::create_dir_all(&db).unwrap();
    fs_err::create_dir_all(root.join("etc")).unwrap();
    fs_err::write(
        root.join("etc/os-release"),
        "ID=\"rhel\"\nVERSION_ID=\"9.4\"\n",
    )
    .unwrap();
    let backend_def = format!("_db_backend {backend}");
    run_tool(
        "rpm",
        &[
            "--define",
            &backend_def,
            "--dbpath",
            db.to_str().unwrap(),
            "--initdb",
        ],
    );
    for rpm in [
        "vigia-hello-1.2.3-4.el9.noarch.rpm",
        "vigia-world-0.9-1.el9.noarch.rpm",
    ] {
        run_tool(
            "rpm",
            &[
                "--define",
                &backend_def,
                "--dbpath",
                db.to_str().unwrap(),
                "-i",
                "--nodeps",
                "--justdb",
                top.join("RPMS/noarch").join(rpm).to_str().unwrap(),
            ],
        );
    }
    root
}

fn assert_rpm_packages(root: &Path) {
    let inv = inventory(root, &Options::default()).unwrap();
    assert!(inv.status.warnings.is_empty(), "{:?}", inv.status.warnings);
    let rpms: Vec<_> = inv.packages.iter().filter(|p| p.kind == "rpm").collect();
    assert_eq!(rpms.len(), 2, "{rpms:?}");
    let p = rpms
        .iter()
        .find(|p| p.name == "vigia-hello")
        .expect("vigia-hello");
    assert_eq!(p.version, "2:1.2.3-4.el9");
    assert_eq!(p.source_name.as_deref(), Some("vigia-hello"));
    assert_eq!(p.source_version.as_deref(), Some("1.2.3-4.el9"));
    assert_eq!(
        p.purl,
        "pkg:rpm/rhel/vigia-hello@1.2.3-4.el9?arch=noarch&distro=rhel-9.4&epoch=2"
    );
    let w = rpms
        .iter()
        .find(|p| p.name == "vigia-world")
        .expect("vigia-world");
    assert_eq!(w.version, "0.9-1.el9");
}

/// A real rpm database (SQLite, rpm 4.16+), made here by Debian's `rpmbuild` and `rpm`.
#[test]
fn rpm_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let root = rpm_root(dir.path(), "sqlite");
    assert!(root.join("var/lib/rpm/rpmdb.sqlite").is_file());
    assert_rpm_packages(&root);
}

/// ndb (`Packages.db`) cannot be written by Debian's rpm, so it is not read:
/// the scan status says so instead of listing nothing.
#[test]
fn rpm_ndb_database_is_reported_as_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs_err::create_dir_all(root.join("var/lib/rpm")).unwrap();
    fs_err::create_dir_all(root.join("etc")).unwrap();
    fs_err::write(
        root.join("etc/os-release"),
        "ID=\"opensuse-leap\"\nVERSION_ID=\"15.6\"\n",
    )
    .unwrap();
    fs_err::write(root.join("var/lib/rpm/Packages.db"), b"RpmP\0\0\0\0").unwrap();
    let inv = inventory(root, &Options::default()).unwrap();
    assert!(
        inv.status
            .warnings
            .iter()
            .any(|w| w.path.ends_with("Packages.db") && w.message.contains("not read")),
        "{:?}",
        inv.status.warnings
    );
}

/// Berkeley DB (`Packages`, RHEL 7/8): Debian's rpm cannot write it, so the
/// same header blobs go into a real Berkeley DB hash database written by
/// Berkeley DB's own `db5.3_load`, as rpm stores them (key: package number;
/// key 0: rpm's counter), with small pages so that headers span overflow chains.
#[test]
fn rpm_berkeley_db_database() {
    let dir = tempfile::tempdir().unwrap();
    let root = rpm_root(dir.path(), "sqlite");
    let sqlite = root.join("var/lib/rpm/rpmdb.sqlite");
    let dump = dir.path().join("dump.txt");
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import sqlite3,sys,struct\n\
c=sqlite3.connect(sys.argv[1])\n\
lines=['VERSION=3','format=bytevalue','type=hash','db_pagesize=512','HEADER=END']\n\
rows=c.execute('SELECT hnum, blob FROM Packages').fetchall()\n\
lines+=[' '+struct.pack('<I',0).hex(),' '+struct.pack('<I',len(rows)+1).hex()]\n\
for h,b in rows: lines+=[' '+struct.pack('<I',h).hex(),' '+bytes(b).hex()]\n\
lines.append('DATA=END')\n\
open(sys.argv[2],'w').write('\\n'.join(lines)+'\\n')",
        )
        .arg(&sqlite)
        .arg(&dump)
        .output()
        .unwrap();
    vigia_test_support::assert_success(&out);
    let packages = root.join("var/lib/rpm/Packages");
    run_tool(
        "db5.3_load",
        &["-f", dump.to_str().unwrap(), packages.to_str().unwrap()],
    );
    fs_err::remove_file(&sqlite).unwrap();
    assert_rpm_packages(&root);
    // A damaged database is a warning naming it, not a panic.
    let mut bytes = fs_err::read(&packages).unwrap();
    let n = bytes.len();
    bytes.truncate(n / 2);
    fs_err::write(&packages, &bytes).unwrap();
    let inv = inventory(&root, &Options::default()).unwrap();
    assert!(
        inv.status
            .warnings
            .iter()
            .any(|w| w.path.ends_with("/var/lib/rpm/Packages")),
        "{:?}",
        inv.status.warnings
    );
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

fn read_json_file(path: &Path) -> Value {
    serde_json::from_str(&fs_err::read_to_string(path).unwrap()).unwrap()
}

fn blob(root: &Path, digest: &str) -> PathBuf {
    root.join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

/// The same image with every layer recompressed with zstd gives the same inventory.
#[test]
fn zstd_layers() {
    let src = targets().join("debian12-app");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    vigia_test_support::copy_dir(&src, root);
    let index = read_json_file(&root.join("index.json"));
    let mdigest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let mut manifest = read_json_file(&blob(root, &mdigest));
    for layer in manifest["layers"].as_array_mut().unwrap() {
        let gz = fs_err::read(blob(root, layer["digest"].as_str().unwrap())).unwrap();
        let mut tar = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut tar).unwrap();
        let zst = zstd::encode_all(&tar[..], 3).unwrap();
        let digest = format!("sha256:{}", sha256_hex(&zst));
        fs_err::write(blob(root, &digest), &zst).unwrap();
        layer["digest"] = Value::String(digest);
        layer["size"] = Value::from(zst.len());
        layer["mediaType"] = Value::String("application/vnd.oci.image.layer.v1.tar+zstd".into());
    }
    let mbytes = serde_json::to_vec(&manifest).unwrap();
    let new_mdigest = format!("sha256:{}", sha256_hex(&mbytes));
    fs_err::write(blob(root, &new_mdigest), &mbytes).unwrap();
    let mut index = index;
    index["manifests"][0]["digest"] = Value::String(new_mdigest);
    index["manifests"][0]["size"] = Value::from(mbytes.len());
    fs_err::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    let a = inventory(&src, &Options::default()).unwrap();
    let b = inventory(root, &Options::default()).unwrap();
    assert_eq!(a.packages, b.packages);
}

/// A multi-platform index: `--platform` picks the image; a platform it lacks is an error.
#[test]
fn platform_choice_in_an_image_index() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    vigia_test_support::copy_dir(&targets().join("debian12-app"), root);
    vigia_test_support::copy_dir(&targets().join("alpine-base/blobs"), &root.join("blobs"));
    let deb = read_json_file(&targets().join("debian12-app/index.json"))["manifests"][0].clone();
    let alp = read_json_file(&targets().join("alpine-base/index.json"))["manifests"][0].clone();
    let entry = |m: &Value, arch: &str| serde_json::json!({"mediaType": m["mediaType"], "digest": m["digest"], "size": m["size"], "platform": {"os": "linux", "architecture": arch}});
    let list = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [entry(&alp, "arm64"), entry(&deb, "amd64")]});
    let lbytes = serde_json::to_vec(&list).unwrap();
    let ldigest = format!("sha256:{}", sha256_hex(&lbytes));
    fs_err::write(blob(root, &ldigest), &lbytes).unwrap();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": ldigest, "size": lbytes.len()}]});
    fs_err::write(root.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    let pick = |p: &str| {
        inventory(
            root,
            &Options {
                platform: Some(p.into()),
                ..Options::default()
            },
        )
    };
    let arm = pick("linux/arm64").unwrap();
    assert!(arm.packages.iter().all(|p| p.kind == "apk") && !arm.packages.is_empty());
    let amd = pick("linux/amd64").unwrap();
    assert!(amd.packages.iter().any(|p| p.kind == "deb"));
    let err = pick("linux/s390x").unwrap_err().to_string();
    assert!(err.contains("no image for platform linux/s390x"), "{err}");
}

/// A real Rust binary carrying a cargo-auditable `.dep-v0` section. The section
/// is put there by the program itself (`#[link_section]`), with the exact bytes
/// `cargo auditable` embeds, so the test needs no network and no extra tool.
#[test]
fn rust_binaries_built_with_cargo_auditable() {
    let json = br#"{"packages":[{"name":"app","version":"0.1.0","source":"local","root":true,"dependencies":[1,2]},{"name":"smallvec","version":"1.6.0","source":"crates.io"},{"name":"cc","version":"1.0.0","source":"crates.io","kind":"build"}]}"#;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut z, json).unwrap();
    let compressed = z.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let krate = dir.path().join("app");
    fs_err::create_dir_all(krate.join("src")).unwrap();
    fs_err::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n",
    )
    .unwrap();
    let bytes: Vec<String> = compressed.iter().map(u8::to_string).collect();
    fs_err::write(
        krate.join("src/main.rs"),
        format!(
            "#[used]\n#[unsafe(link_section = \".dep-v0\")]\nstatic AUDITABLE_VERSION_INFO: [u8; {}] = [{}];\nfn main() {{ println!(\"hi\"); }}\n",
            compressed.len(),
            bytes.join(",")
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", dir.path().join("target"))
        .output()
        .unwrap();
    vigia_test_support::assert_success(&out);
    let root = dir.path().join("root/usr/local/bin");
    fs_err::create_dir_all(&root).unwrap();
    fs_err::copy(dir.path().join("target/debug/app"), root.join("app")).unwrap();
    let inv = inventory(&dir.path().join("root"), &Options::default()).unwrap();
    let got: Vec<(&str, &str, &str)> = inv
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.path.as_str()))
        .collect();
    assert_eq!(got, [("smallvec", "1.6.0", "/usr/local/bin/app")]);
}

/// Writes a plain tar of `(path, bytes)` regular files.
fn write_tar(path: &Path, files: &[(&str, &[u8])]) {
    let mut b = tar::Builder::new(fs_err::File::create(path).unwrap());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.finish().unwrap();
}

/// A root filesystem tarball may hold `.tar` files of its own (backups,
/// caches) and JSON documents at its root: the first are files, not image
/// layers (a corrupt one must not fail the host), the second are read like any
/// other file.
#[test]
fn rootfs_tarballs_keep_their_own_tars_and_top_level_json() {
    let dir = tempfile::tempdir().unwrap();
    let tarball = dir.path().join("host.tar");
    let lock = br#"{"name":"root-app","lockfileVersion":3,"packages":{"":{"name":"root-app"},"node_modules/left-pad":{"version":"1.3.0"}}}"#;
    write_tar(
        &tarball,
        &[
            ("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
            (
                "var/lib/dpkg/status",
                b"Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\nArchitecture: amd64\n\n",
            ),
            ("var/backups/old.tar", b"this is not a tar archive at all"),
            ("srv/layer.tar", b"nor is this"),
            ("package-lock.json", lock),
        ],
    );
    let inv = inventory(&tarball, &Options::default()).expect("a host with stray .tar files reads");
    assert_eq!(inv.kind, "rootfs");
    let names: Vec<(&str, &str)> = inv
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert!(names.contains(&("zlib1g", "1:1.2.13.dfsg-1")), "{names:?}");
    assert!(names.contains(&("left-pad", "1.3.0")), "{names:?}");
}

/// In a `docker save` archive, a layer that manifest.json names and that cannot
/// be read fails the image, naming the layer.
#[test]
fn an_unreadable_docker_layer_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("image.tar");
    let diff = format!("sha256:{}", "0".repeat(64));
    let config = format!(
        r#"{{"os":"linux","architecture":"amd64","rootfs":{{"type":"layers","diff_ids":["{diff}"]}}}}"#
    );
    write_tar(
        &archive,
        &[
            (
                "manifest.json",
                br#"[{"Config":"config.json","RepoTags":["t:1"],"Layers":["abc/layer.tar"]}]"#,
            ),
            ("config.json", config.as_bytes()),
            ("abc/layer.tar", b"truncated garbage"),
        ],
    );
    let err = inventory(&archive, &Options::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("abc/layer.tar"), "{err}");
}

/// An OCI layout whose index names a blob by a digest that is not one (here a
/// path out of the layout) is refused as it is parsed, naming the file.
#[test]
fn digests_that_are_not_digests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(
        dir.path().join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    fs_err::create_dir_all(dir.path().join("blobs/sha256")).unwrap();
    fs_err::write(
        dir.path().join("index.json"),
        r#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../../etc/passwd","size":1}]}"#,
    )
    .unwrap();
    let err = inventory(dir.path(), &Options::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("index.json"), "{err}");
}
