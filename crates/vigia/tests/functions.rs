//! Function folders end to end: `vigia serve` watching a folder of function
//! zips, one of them with a manifest naming its runtime and a layer. The
//! layer's packages are the function's, marked with the layer; the layer
//! is not a function of its own; a changed layer rescans the function and
//! closes what it no longer holds; a broken manifest is a coverage reason.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod serve;
use serve::{Home, Server, list, start_with, token};

/// Writes `to` (a zip) with the members of the shared `fn-python.zip`
/// that `keep` takes, renamed by it.
fn rezip(to: &Path, keep: &str) {
    let script = r#"
import sys, zipfile
src, dst, keep = sys.argv[1:4]
with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
    for info in z.infolist():
        name = info.filename
        code = name.endswith(".py") and "/" not in name
        lib = not code and name not in ("README.md", "requirements.txt")
        if keep == "code" and code:
            out.writestr(name, z.read(name))
        elif keep.startswith("layer") and lib:
            # PyJWT left out of the second version of the layer.
            if keep == "layer-without-jwt" and ("PyJWT" in name or name.startswith("jwt/")):
                continue
            out.writestr("python/" + name, z.read(name))
"#;
    let src = vigia_test_support::shared_dir().join("targets/fn-python.zip");
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&src)
        .arg(to)
        .arg(keep)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn coverage(s: &Server, token: &str) -> Vec<Value> {
    let (status, body) = s.call("POST", "/coverage/list", Some(token), Some(&json!({})));
    assert_eq!(status, 200, "{body}");
    body["coveredResources"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn wait_for(s: &Server, token: &str, what: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let items = coverage(s, token);
        if check(&items) {
            return items;
        }
        assert!(
            Instant::now() < deadline,
            "{what} never happened: {items:#?}\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn by_name<'a>(items: &'a [Value], name: &str) -> Option<&'a Value> {
    items
        .iter()
        .find(|i| i["resourceMetadata"]["lambdaFunction"]["functionName"] == name)
}

fn package_keys(findings: &[Value]) -> BTreeSet<(String, String)> {
    findings
        .iter()
        .filter(|f| f["type"] == "PACKAGE_VULNERABILITY")
        .map(|f| {
            (
                f["packageVulnerabilityDetails"]["vulnerabilityId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                f["packageVulnerabilityDetails"]["vulnerablePackages"][0]["name"]
                    .as_str()
                    .unwrap()
                    .to_lowercase(),
            )
        })
        .collect()
}

#[test]
fn a_manifest_names_the_runtime_and_layers_whose_packages_are_the_functions() {
    let home = Home::sqlite();
    let admin = token(&home, "admin");
    let folder = tempfile::tempdir().unwrap();
    let d = folder.path();
    fs_err::copy(
        vigia_test_support::shared_dir().join("targets/fn-python.zip"),
        d.join("fn-python.zip"),
    )
    .unwrap();
    fs_err::create_dir_all(d.join("layers")).unwrap();
    rezip(&d.join("orders.zip"), "code");
    rezip(&d.join("deps.zip"), "layer");
    fs_err::write(
        d.join("orders.function.json"),
        r#"{"functionName": "orders-api", "runtime": "python3.11", "architectures": ["arm64"],
            "layers": [{"path": "deps.zip", "name": "deps", "version": 2}]}"#,
    )
    .unwrap();
    let server = start_with(&home, &vigia_test_support::vulndata(), d, &[], &[]);
    let items = wait_for(&server, &admin, "both functions scanned", |i| {
        i.len() == 2 && i.iter().all(|c| c["scanStatus"]["reason"] == "SUCCESSFUL")
    });
    // The layer is not a function of its own.
    assert!(
        items
            .iter()
            .all(|i| !i["resourceId"].as_str().unwrap().ends_with("deps.zip")),
        "{items:#?}"
    );
    let orders = by_name(&items, "orders-api").expect("the manifest's name");
    assert_eq!(
        orders["resourceMetadata"]["lambdaFunction"]["runtime"],
        "PYTHON_3_11"
    );
    assert_eq!(
        orders["resourceMetadata"]["lambdaFunction"]["layers"],
        json!(["vigia:layer/deps:2"])
    );
    let orders_id = orders["resourceId"].as_str().unwrap().to_owned();
    let plain_id = by_name(&items, "fn-python").expect("named by its zip")["resourceId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, res) = server.call(
        "GET",
        &format!("/v1/resource?id={}", orders_id.replace('/', "%2F")),
        Some(&admin),
        None,
    );
    let details = &res["resource"]["details"]["details"]["awsLambdaFunction"];
    assert_eq!(details["vigia"]["runtimeSource"], "MANIFEST", "{res:#}");
    assert_eq!(details["architectures"], json!(["arm64"]));
    let (_, res) = server.call(
        "GET",
        &format!("/v1/resource?id={}", plain_id.replace('/', "%2F")),
        Some(&admin),
        None,
    );
    assert_eq!(
        res["resource"]["details"]["details"]["awsLambdaFunction"]["vigia"]["runtimeSource"],
        "GUESSED",
        "{res:#}"
    );

    // The same libraries in a layer or in the code: the same vulnerabilities,
    // the layer's marked with it and found under /opt.
    let with_layer = list(&server, &admin, &serve::eq("resourceId", &orders_id));
    let in_code = list(&server, &admin, &serve::eq("resourceId", &plain_id));
    assert!(!with_layer.is_empty());
    assert_eq!(package_keys(&with_layer), package_keys(&in_code));
    for f in with_layer
        .iter()
        .filter(|f| f["type"] == "PACKAGE_VULNERABILITY")
    {
        let p = &f["packageVulnerabilityDetails"]["vulnerablePackages"][0];
        assert_eq!(p["sourceLambdaLayerArn"], "vigia:layer/deps:2", "{p}");
        assert!(
            p["filePath"].as_str().unwrap().starts_with("/opt/python/"),
            "{p}"
        );
        assert!(p.get("sourceLayerHash").is_none(), "{p}");
    }
    assert!(
        package_keys(&with_layer)
            .iter()
            .any(|(_, name)| name == "pyjwt")
    );

    // A new version of the layer without PyJWT: the function is scanned
    // again, and its PyJWT findings close.
    std::thread::sleep(Duration::from_millis(1100));
    rezip(&d.join("deps.zip"), "layer-without-jwt");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let now = list(&server, &admin, &serve::eq("resourceId", &orders_id));
        let jwt: Vec<&Value> = now
            .iter()
            .filter(|f| {
                f["packageVulnerabilityDetails"]["vulnerablePackages"][0]["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case("pyjwt"))
            })
            .collect();
        if !jwt.is_empty() && jwt.iter().all(|f| f["status"] == "CLOSED") {
            assert!(
                now.iter().any(|f| f["status"] == "ACTIVE"),
                "the other libraries stay"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "PyJWT's findings never closed\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    // A fixed version of the shared function replaces the old one: the
    // findings its upgrade fixes close.
    let jwt = |f: &Value| {
        f["packageVulnerabilityDetails"]["vulnerablePackages"][0]["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case("pyjwt"))
    };
    let fixed_in: BTreeSet<String> = in_code
        .iter()
        .filter(|f| jwt(f))
        .filter_map(|f| {
            f["packageVulnerabilityDetails"]["vulnerablePackages"][0]["fixedInVersion"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    let fixed = fixed_in
        .iter()
        .max_by_key(|v| {
            v.split('.')
                .map(|p| p.parse::<u64>().unwrap_or(0))
                .collect::<Vec<_>>()
        })
        .expect("PyJWT findings with a fix")
        .clone();
    let script = r#"
import sys, zipfile
src, dst, fixed = sys.argv[1:4]
with zipfile.ZipFile(src) as z, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
    for info in z.infolist():
        data = z.read(info.filename)
        name = info.filename.replace("PyJWT-1.7.1.dist-info", f"PyJWT-{fixed}.dist-info")
        if name.endswith(".dist-info/METADATA") and name.startswith("PyJWT-"):
            data = data.replace(b"Version: 1.7.1", f"Version: {fixed}".encode())
        out.writestr(name, data)
"#;
    let tmp = folder.path().join("fixed.tmp");
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(vigia_test_support::shared_dir().join("targets/fn-python.zip"))
        .arg(&tmp)
        .arg(&fixed)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fs_err::rename(&tmp, d.join("fn-python.zip")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let now = list(&server, &admin, &serve::eq("resourceId", &plain_id));
        let old: Vec<&Value> = now.iter().filter(|f| jwt(f)).collect();
        let closed = old.iter().filter(|f| f["status"] == "CLOSED").count();
        if closed > 0 && old.iter().all(|f| f["status"] == "CLOSED") {
            // The other libraries' findings stay.
            assert!(now.iter().any(|f| f["status"] == "ACTIVE" && !jwt(f)));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "PyJWT {fixed} never closed its findings: {old:#?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    // A broken manifest is said, not guessed around.
    fs_err::write(
        d.join("orders.function.json"),
        r#"{"runtime": "python3.11", "layers": ["../../etc/passwd"]}"#,
    )
    .unwrap();
    wait_for(&server, &admin, "the broken manifest", |i| {
        i.iter().any(|c| {
            c["resourceId"] == orders_id.as_str()
                && c["scanStatus"]["reason"] == "UNSUPPORTED_CONFIG_FILE"
        })
    });
    let (_, res) = server.call(
        "GET",
        &format!("/v1/resource?id={}", orders_id.replace('/', "%2F")),
        Some(&admin),
        None,
    );
    assert!(res.to_string().contains("orders.function.json"), "{res}");
}
