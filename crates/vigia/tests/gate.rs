//! The deployment gate end to end: `vigia serve` holding the shared image
//! answers Kubernetes `AdmissionReview` requests (shaped as the Kubernetes
//! API reference gives them) for a Pod, a Deployment and a CronJob, by its
//! policy, from the image's stored findings; `vigia gate` gives pipelines the
//! same decision as an exit code.

use std::process::Command;

use serde_json::{Value, json};

mod serve;
use serve::{Home, Server, copy_targets, list, start_with, token, wait_coverage};

fn review(uid: &str, object: &Value) -> Value {
    let kind = object["kind"].as_str().unwrap();
    let (group, version) = match object["apiVersion"].as_str().unwrap().split_once('/') {
        Some((g, v)) => (g.to_owned(), v.to_owned()),
        None => (
            String::new(),
            object["apiVersion"].as_str().unwrap().to_owned(),
        ),
    };
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": format!("{}s", kind.to_lowercase())},
            "requestKind": {"group": group, "version": version, "kind": kind},
            "requestResource": {"group": group, "version": version, "resource": format!("{}s", kind.to_lowercase())},
            "name": object["metadata"]["name"],
            "namespace": "shop",
            "operation": "CREATE",
            "userInfo": {"username": "ci-deployer", "uid": "a1b2", "groups": ["system:authenticated"]},
            "object": object,
            "oldObject": null,
            "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
        }
    })
}

fn pod(image: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "shop-api", "namespace": "shop", "labels": {"app": "shop"}},
        "spec": {"containers": [{"name": "api", "image": image, "ports": [{"containerPort": 8080}]}]}
    })
}

fn template(images: &[&str]) -> Value {
    json!({
        "metadata": {"labels": {"app": "shop"}},
        "spec": {
            "initContainers": [{"name": "migrate", "image": images[0]}],
            "containers": images[1..].iter().enumerate()
                .map(|(i, im)| json!({"name": format!("c{i}"), "image": im})).collect::<Vec<_>>()
        }
    })
}

fn deployment(images: &[&str]) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "shop", "namespace": "shop"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "shop"}}, "template": template(images)}
    })
}

fn cronjob(images: &[&str]) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": "shop"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template(images)}}}
    })
}

/// What the gate calls a finding: its vulnerability, or for a finding
/// without one (a hardcoded secret) its title.
fn id_of(f: &Value) -> String {
    f["packageVulnerabilityDetails"]["vulnerabilityId"]
        .as_str()
        .or_else(|| f["title"].as_str())
        .unwrap()
        .to_owned()
}

fn admit(s: &Server, token: &str, uid: &str, object: &Value) -> Value {
    let (status, out) = s.call(
        "POST",
        "/v1/admission",
        Some(token),
        Some(&review(uid, object)),
    );
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(out["kind"], "AdmissionReview");
    assert_eq!(out["response"]["uid"], uid, "the answer names the request");
    out["response"].clone()
}

fn set_policy(s: &Server, admin: &str, policy: &Value) {
    let (status, out) = s.call(
        "POST",
        "/v1/gate/policy/update",
        Some(admin),
        Some(&json!({ "policy": policy })),
    );
    assert_eq!(status, 200, "{out}");
}

fn gate_cli(s: &Server, token: &str, image: &str) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_vigia"))
        .args([
            "gate", image, "--server", &s.base, "--token", token, "-f", "json",
        ])
        .output()
        .unwrap();
    let body: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), body)
}

#[test]
fn admission_and_pipelines_follow_the_policy() {
    let home = &Home::sqlite();
    let watch = tempfile::tempdir().unwrap();
    let mirror = vigia_test_support::mirror_copy();
    copy_targets(watch.path());
    let admin = token(home, "admin");
    let viewer = token(home, "viewer");
    // A policy file put in force at start.
    let file = home.dir.path().join("gate.json");
    fs_err::write(
        &file,
        r#"{"severity": "CRITICAL", "kev": true, "unscanned": "deny"}"#,
    )
    .unwrap();
    let s = start_with(
        home,
        mirror.path(),
        watch.path(),
        &["--gate-policy", file.to_str().unwrap()],
        &[],
    );
    wait_coverage(&s, &viewer, 3, "SUCCESSFUL");
    let (_, policy) = s.call("GET", "/v1/gate/policy", Some(&viewer), None);
    assert_eq!(policy["policy"]["severity"], "CRITICAL", "{policy}");

    // The shared image, pushed under another name: decided by its digest.
    let (_, resources) = s.call("GET", "/v1/resources", Some(&viewer), None);
    let image_id = resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "AWS_ECR_CONTAINER_IMAGE")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let digest = image_id.split_once('@').unwrap().1.to_owned();
    let image = format!("registry.example.com/shop/api@{digest}");
    let mut criteria = json!({"resourceId": [{"comparison": "EQUALS", "value": image_id}],
                              "findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}],
                              "severity": [{"comparison": "EQUALS", "value": "CRITICAL"}]});
    let critical = list(&s, &viewer, &criteria);
    assert!(
        !critical.is_empty(),
        "the shared image has critical findings"
    );
    criteria["severity"] = json!([{"comparison": "EQUALS", "value": "HIGH"}]);

    // Pod: refused, naming critical findings of the image.
    let r = admit(&s, &viewer, "uid-pod", &pod(&image));
    assert_eq!(r["allowed"], false, "{r}");
    assert_eq!(r["status"]["code"], 403);
    let message = r["status"]["message"].as_str().unwrap();
    assert!(message.contains(&image), "{message}");
    let named = critical.iter().any(|f| message.contains(&id_of(f)));
    assert!(named, "{message}");

    // Deployment: the image as an init container, and an image by tag only.
    let r = admit(
        &s,
        &viewer,
        "uid-deploy",
        &deployment(&[&image, "busybox:1.36"]),
    );
    assert_eq!(r["allowed"], false, "{r}");
    let message = r["status"]["message"].as_str().unwrap();
    assert!(message.contains("refused 2 image(s)"), "{message}");
    assert!(
        message.contains("busybox:1.36: the reference has no digest"),
        "{message}"
    );

    // CronJob: an exception for the repository, until it expires.
    set_policy(
        &s,
        &admin,
        &json!({"severity": "CRITICAL", "exceptions": [
            {"repository": "registry.example.com/shop/*", "expires": "2999-01-01T00:00:00Z", "reason": "rebuild scheduled"}]}),
    );
    let r = admit(&s, &viewer, "uid-cron", &cronjob(&[&image, &image]));
    assert_eq!(r["allowed"], true, "{r}");
    set_policy(
        &s,
        &admin,
        &json!({"severity": "CRITICAL", "exceptions": [
            {"repository": "registry.example.com/shop/*", "expires": "2020-01-01T00:00:00Z", "reason": "expired"}]}),
    );
    assert_eq!(
        admit(&s, &viewer, "uid-cron-2", &cronjob(&[&image, &image]))["allowed"],
        false
    );

    // Exceptions by vulnerability: every critical one excepted, no KEV rule.
    let exceptions: Vec<Value> = critical
        .iter()
        .map(|f| json!({"vulnerability": id_of(f), "reason": "not reachable"}))
        .collect();
    set_policy(
        &s,
        &admin,
        &json!({"severity": "CRITICAL", "kev": false, "exceptions": exceptions}),
    );
    assert_eq!(
        admit(&s, &viewer, "uid-pod-2", &pod(&image))["allowed"],
        true
    );

    // An image never scanned: refused, or let through with a warning.
    let unknown = format!("registry.example.com/shop/api@sha256:{}", "0".repeat(64));
    set_policy(
        &s,
        &admin,
        &json!({"severity": "NONE", "kev": false, "unscanned": "deny"}),
    );
    let r = admit(&s, &viewer, "uid-unknown", &pod(&unknown));
    assert_eq!(r["allowed"], false);
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("has not scanned this digest"),
        "{r}"
    );
    set_policy(
        &s,
        &admin,
        &json!({"severity": "NONE", "kev": false, "unscanned": "allow"}),
    );
    let r = admit(&s, &viewer, "uid-unknown-2", &pod(&unknown));
    assert_eq!(r["allowed"], true, "{r}");
    assert!(
        r["warnings"][0]
            .as_str()
            .unwrap()
            .contains("has not scanned"),
        "{r}"
    );

    // Objects without pods, and deletions, are not looked at.
    let config_map =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}});
    assert_eq!(admit(&s, &viewer, "uid-cm", &config_map)["allowed"], true);

    // Pipelines: the same decision as an exit code.
    set_policy(&s, &admin, &json!({"severity": "CRITICAL"}));
    let (code, body) = gate_cli(&s, &viewer, &image);
    assert_eq!(code, 8, "{body}");
    assert_eq!(body["allowed"], false);
    assert!(
        !body["decisions"][0]["violations"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    set_policy(&s, &admin, &json!({"severity": "NONE", "kev": false}));
    let (code, body) = gate_cli(&s, &viewer, &image);
    assert_eq!(code, 0, "{body}");
    let (code, _) = gate_cli(&s, "vgt_wrong", &image);
    assert_eq!(code, 1);

    // Bad input: a malformed policy, a viewer setting one, no token.
    let (status, out) = s.call(
        "POST",
        "/v1/gate/policy/update",
        Some(&admin),
        Some(&json!({"policy": {"severity": "SEVERE"}})),
    );
    assert_eq!(status, 400, "{out}");
    let (status, _) = s.call(
        "POST",
        "/v1/gate/policy/update",
        Some(&viewer),
        Some(&json!({"policy": {}})),
    );
    assert_eq!(status, 403);
    let (status, _) = s.call(
        "POST",
        "/v1/admission",
        None,
        Some(&review("u", &pod(&image))),
    );
    assert_eq!(status, 401);
    let (status, _) = s.call(
        "POST",
        "/v1/admission",
        Some(&viewer),
        Some(&json!({"kind": "Pod"})),
    );
    assert_eq!(status, 400);

    // A digest that is not one (upper-case hex) is no tag: refused even
    // where unscanned images may pass.
    set_policy(
        &s,
        &admin,
        &json!({"severity": "CRITICAL", "unscanned": "allow"}),
    );
    let shouted = format!(
        "registry.example.com/shop/api@sha256:{}",
        digest.trim_start_matches("sha256:").to_ascii_uppercase()
    );
    let (code, body) = gate_cli(&s, &viewer, &shouted);
    assert_eq!(code, 8, "{body}");
    assert!(
        body["decisions"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("digest is not sha256"),
        "{body}"
    );

    // The image removed from where Vigia watched it: its findings close,
    // but a copy still running is as vulnerable as before. Decided by the
    // findings it had, not let through as never scanned.
    fs_err::remove_dir_all(watch.path().join("debian12-app")).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let body = loop {
        let (code, body) = gate_cli(&s, &viewer, &image);
        let reason = body["decisions"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if reason.contains("no longer tracks") {
            assert_eq!(code, 8, "{body}");
            break body;
        }
        assert!(std::time::Instant::now() < deadline, "{body}\n{}", s.log());
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    let refused: Vec<&str> = body["decisions"][0]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["findingArn"].as_str().unwrap())
        .collect();
    for f in &critical {
        assert!(
            refused.contains(&f["findingArn"].as_str().unwrap()),
            "{body}"
        );
    }
}
