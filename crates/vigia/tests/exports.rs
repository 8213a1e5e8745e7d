//! Findings reports and SBOM exports end to end (Inspector's
//! `CreateFindingsReport` and `CreateSbomExport`): `vigia serve` holding
//! copies of the shared targets writes them to S3 (moto's server from PyPI,
//! read back with botocore) and to folder buckets.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod serve;
use serve::{Home, Server, copy_targets, list, start_with, token, wait_coverage};

const S3: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/serve/s3.py");

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn s3(url: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new("python3")
        .arg(S3)
        .arg(url)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Waits for an export to end; returns its status.
fn finished(s: &Server, token: &str, path: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, out) = s.call("POST", path, Some(token), Some(&json!({"reportId": id})));
        assert_eq!(status, 200, "{out}");
        if out["status"] != "IN_PROGRESS" {
            return out;
        }
        assert!(Instant::now() < deadline, "{id} never ended:\n{}", s.log());
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn create(s: &Server, admin: &str, path: &str, body: &Value) -> String {
    let (status, out) = s.call("POST", path, Some(admin), Some(body));
    assert_eq!(status, 200, "{body}: {out}");
    out["reportId"].as_str().unwrap().to_owned()
}

fn valid_shape(shape: &str, doc: &Value, dir: &Path) {
    let file = dir.join(format!("{shape}.json"));
    fs_err::write(&file, doc.to_string()).unwrap();
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/validate-aws-shape.py"
        ))
        .args(["inspector2", shape])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn reports_and_sboms_reach_s3_and_folders() {
    let home = &Home::sqlite();
    let watch = tempfile::tempdir().unwrap();
    let mirror = vigia_test_support::mirror_copy();
    copy_targets(watch.path());
    let admin = token(home, "admin");
    let viewer = token(home, "viewer");
    let moto_port = vigia_test_support::free_port();
    let moto = Moto(
        Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &moto_port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    vigia_test_support::wait_for_port(moto_port);
    let moto_url = format!("http://127.0.0.1:{moto_port}");
    s3(&moto_url, &["mkbucket", "security-reports"]);
    let s = start_with(
        home,
        mirror.path(),
        watch.path(),
        &["--export-s3-endpoint", &moto_url],
        &[
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ],
    );
    wait_coverage(&s, &viewer, 3, "SUCCESSFUL");
    let dest = json!({"bucketName": "security-reports", "keyPrefix": "vigia/daily", "kmsKeyArn": "arn:aws:kms:us-east-1:000000000000:key/test"});

    // JSON, no criteria: every active finding (only ACTIVE by default).
    let id = create(
        &s,
        &admin,
        "/reporting/create",
        &json!({"reportFormat": "JSON", "s3Destination": dest}),
    );
    let status = finished(&s, &viewer, "/reporting/status/get", &id);
    assert_eq!(status["status"], "SUCCEEDED", "{status}");
    valid_shape("GetFindingsReportStatusResponse", &status, home.dir.path());
    let body: Value = serde_json::from_slice(&s3(
        &moto_url,
        &["get", "security-reports", &format!("vigia/daily/{id}.json")],
    ))
    .unwrap();
    let active = list(
        &s,
        &viewer,
        &json!({"findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}]}),
    );
    let arns = |v: &[Value]| -> BTreeSet<String> {
        v.iter()
            .map(|f| f["findingArn"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(arns(body["findings"].as_array().unwrap()), arns(&active));

    // CSV of the critical ones, with the resource of each.
    let critical = json!({"severity": [{"comparison": "EQUALS", "value": "CRITICAL"}]});
    let id = create(
        &s,
        &admin,
        "/reporting/create",
        &json!({"reportFormat": "CSV", "s3Destination": dest, "filterCriteria": critical}),
    );
    assert_eq!(
        finished(&s, &viewer, "/reporting/status/get", &id)["status"],
        "SUCCEEDED"
    );
    let csv = String::from_utf8(s3(
        &moto_url,
        &["get", "security-reports", &format!("vigia/daily/{id}.csv")],
    ))
    .unwrap();
    let mut rows = csv.lines();
    let header = rows.next().unwrap();
    assert!(header.ends_with("resource_type,resource_id"), "{header}");
    let expected = active
        .iter()
        .filter(|f| f["severity"] == "CRITICAL")
        .count();
    assert!(expected > 0);
    assert_eq!(rows.filter(|l| !l.is_empty()).count(), expected, "{csv}");

    // Failures: a bucket that does not exist, a filter nothing matches.
    let missing = json!({"bucketName": "no-such-bucket", "kmsKeyArn": "k"});
    let id = create(
        &s,
        &admin,
        "/reporting/create",
        &json!({"reportFormat": "JSON", "s3Destination": missing}),
    );
    let status = finished(&s, &viewer, "/reporting/status/get", &id);
    assert_eq!(
        (status["status"].as_str(), status["errorCode"].as_str()),
        (Some("FAILED"), Some("BUCKET_NOT_FOUND")),
        "{status}"
    );
    let nothing = json!({"vulnerabilityId": [{"comparison": "EQUALS", "value": "CVE-1999-0000"}]});
    let id = create(
        &s,
        &admin,
        "/reporting/create",
        &json!({"reportFormat": "JSON", "s3Destination": dest, "filterCriteria": nothing}),
    );
    assert_eq!(
        finished(&s, &viewer, "/reporting/status/get", &id)["errorCode"],
        "NO_FINDINGS_FOUND"
    );
    // Without a reportId, as Inspector: the last findings report.
    let (code, last) = s.call(
        "POST",
        "/reporting/status/get",
        Some(&viewer),
        Some(&json!({})),
    );
    assert_eq!(code, 200, "{last}");
    assert_eq!(last["reportId"], json!(id), "{last}");

    // SBOMs: CycloneDX of the image, SPDX of the function, by resource type.
    let image =
        json!({"resourceType": [{"comparison": "EQUALS", "value": "AWS_ECR_CONTAINER_IMAGE"}]});
    let id = create(
        &s,
        &admin,
        "/sbomexport/create",
        &json!({"reportFormat": "CYCLONEDX_1_4", "s3Destination": dest, "resourceFilterCriteria": image}),
    );
    let status = finished(&s, &viewer, "/sbomexport/get", &id);
    assert_eq!(status["status"], "SUCCEEDED", "{status}");
    valid_shape("GetSbomExportResponse", &status, home.dir.path());
    let keys: Vec<String> = serde_json::from_slice(&s3(
        &moto_url,
        &["list", "security-reports", &format!("vigia/daily/{id}/")],
    ))
    .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].ends_with(".cdx.json"));
    let bom: Value =
        serde_json::from_slice(&s3(&moto_url, &["get", "security-reports", &keys[0]])).unwrap();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert!(
        bom["components"].as_array().unwrap().len() > 50,
        "the image's packages"
    );
    let function =
        json!({"resourceType": [{"comparison": "EQUALS", "value": "AWS_LAMBDA_FUNCTION"}]});
    let id = create(
        &s,
        &admin,
        "/sbomexport/create",
        &json!({"reportFormat": "SPDX_2_3", "s3Destination": dest, "resourceFilterCriteria": function}),
    );
    assert_eq!(
        finished(&s, &viewer, "/sbomexport/get", &id)["status"],
        "SUCCEEDED"
    );
    let keys: Vec<String> = serde_json::from_slice(&s3(
        &moto_url,
        &["list", "security-reports", &format!("vigia/daily/{id}/")],
    ))
    .unwrap();
    let doc: Value =
        serde_json::from_slice(&s3(&moto_url, &["get", "security-reports", &keys[0]])).unwrap();
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    let names: BTreeSet<&str> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(names.contains("lodash"), "{names:?}");

    // Bad requests: a format Inspector does not have, no KMS key, a key
    // Vigia's resources lack, a viewer creating, an unknown report.
    for (path, body) in [
        (
            "/reporting/create",
            json!({"reportFormat": "XML", "s3Destination": dest}),
        ),
        (
            "/reporting/create",
            json!({"reportFormat": "CSV", "s3Destination": {"bucketName": "security-reports"}}),
        ),
        (
            "/reporting/create",
            json!({"reportFormat": "CSV", "s3Destination": dest, "filterCriteria": {"colour": []}}),
        ),
        (
            "/sbomexport/create",
            json!({"reportFormat": "SPDX_2_3", "s3Destination": dest, "resourceFilterCriteria": {"ec2InstanceTags": []}}),
        ),
    ] {
        let (status, out) = s.call("POST", path, Some(&admin), Some(&body));
        assert_eq!(status, 400, "{body}: {out}");
    }
    let (status, _) = s.call(
        "POST",
        "/reporting/create",
        Some(&viewer),
        Some(&json!({"reportFormat": "CSV", "s3Destination": dest})),
    );
    assert_eq!(status, 403);
    let (status, _) = s.call(
        "POST",
        "/reporting/status/get",
        Some(&viewer),
        Some(&json!({"reportId": "nope"})),
    );
    assert_eq!(status, 404);
    drop(moto);
}

#[test]
fn without_s3_buckets_are_folders() {
    let home = &Home::sqlite();
    let watch = tempfile::tempdir().unwrap();
    let mirror = vigia_test_support::mirror_copy();
    copy_targets(watch.path());
    let admin = token(home, "admin");
    let viewer = token(home, "viewer");
    let s = start_with(home, mirror.path(), watch.path(), &[], &[]);
    wait_coverage(&s, &viewer, 3, "SUCCESSFUL");
    let dest = json!({"bucketName": "reports", "keyPrefix": "q4", "kmsKeyArn": "local"});
    let id = create(
        &s,
        &admin,
        "/reporting/create",
        &json!({"reportFormat": "JSON", "s3Destination": dest}),
    );
    assert_eq!(
        finished(&s, &viewer, "/reporting/status/get", &id)["errorCode"],
        "BUCKET_NOT_FOUND"
    );
    let bucket = home.dir.path().join("exports/reports");
    fs_err::create_dir_all(&bucket).unwrap();
    let id = create(
        &s,
        &admin,
        "/reporting/create",
        &json!({"reportFormat": "JSON", "s3Destination": dest}),
    );
    assert_eq!(
        finished(&s, &viewer, "/reporting/status/get", &id)["status"],
        "SUCCEEDED"
    );
    let body: Value = serde_json::from_str(
        &fs_err::read_to_string(bucket.join(format!("q4/{id}.json"))).unwrap(),
    )
    .unwrap();
    assert!(!body["findings"].as_array().unwrap().is_empty());
}
