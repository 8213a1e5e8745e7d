//! Registries end to end: `vigia serve` and a real Docker Distribution
//! registry on 127.0.0.1, images pushed and deleted by a real client
//! (skopeo). The registry notifies the service of pushes (its own
//! notification configuration, with an agent token); the service's syncs
//! read the catalog and tags. What a user sees: a push scanned within
//! seconds, one resource per digest whatever its tags, deletions and the
//! rescan window closing findings, and registry errors as coverage
//! reasons.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod serve;
use serve::{Home, Server, list, start_with, token};

fn layout() -> std::path::PathBuf {
    vigia_test_support::shared_dir().join("targets/debian12-app")
}

fn coverage(s: &Server, token: &str) -> Vec<Value> {
    let (status, body) = s.call("POST", "/coverage/list", Some(token), Some(&json!({})));
    assert_eq!(status, 200, "{body}");
    body["coveredResources"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until `check` holds of the coverage list, within `secs`.
fn wait_for(
    s: &Server,
    token: &str,
    secs: u64,
    what: &str,
    check: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(secs);
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

fn reason_of<'a>(items: &'a [Value], repository: &str) -> Option<&'a str> {
    items
        .iter()
        .find(|i| i["resourceMetadata"]["ecrRepository"]["name"] == repository)
        .and_then(|i| i["scanStatus"]["reason"].as_str())
}

fn registry(s: &Server, admin: &str, config: &Value) {
    let (status, body) = s.call("POST", "/v1/registries/create", Some(admin), Some(config));
    assert_eq!(status, 200, "{body}");
}

fn registries(s: &Server, admin: &str) -> Vec<Value> {
    let (status, body) = s.call("GET", "/v1/registries", Some(admin), None);
    assert_eq!(status, 200, "{body}");
    body["registries"].as_array().cloned().unwrap()
}

fn scans_of(s: &Server, admin: &str, id: &str) -> usize {
    // Scans, not rematches.
    let (status, body) = s.call(
        "GET",
        &format!("/v1/resource?id={}", urlencode(id)),
        Some(admin),
        None,
    );
    assert_eq!(status, 200, "{body}");
    body["scans"]
        .as_array()
        .map_or(0, |a| a.iter().filter(|s| s["kind"] == "SCAN").count())
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn state_db(home: &Home) -> std::path::PathBuf {
    let found = walk(home.dir.path()).into_iter().find(|p| {
        p.file_name().is_some_and(|n| {
            n.to_string_lossy().starts_with("state") && n.to_string_lossy().ends_with(".db")
        })
    });
    found.expect("the service's state database")
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs_err::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn pushes_are_scanned_once_per_digest_and_deletions_and_rescan_windows_close_findings() {
    let home = Home::sqlite();
    let admin = token(&home, "admin");
    let agent = token(&home, "agent");
    let watch = tempfile::tempdir().unwrap();
    let server = start_with(
        &home,
        &vigia_test_support::vulndata(),
        watch.path(),
        &[],
        &[],
    );
    let notify = format!("{}/v1/registries/notifications?registry=local", server.base);
    let reg = vigia_test_support::Registry::start_configured(
        None,
        &format!(
            "notifications:\n  endpoints:\n    - name: vigia\n      url: {notify}\n      headers:\n        Authorization: [\"Bearer {agent}\"]\n      timeout: 2s\n      threshold: 3\n      backoff: 1s\n      ignoredmediatypes:\n        - application/octet-stream\n      ignore:\n        actions:\n          - pull\n"
        ),
    );
    // Syncs only hourly: what is scanned next is what a push notified.
    registry(
        &server,
        &admin,
        &json!({"name": "local", "url": format!("http://{}", reg.host), "syncSeconds": 3600}),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while registries(&server, &admin)[0]["syncedAt"].is_null() {
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(registries(&server, &admin)[0]["syncError"].is_null());
    // The notification endpoint takes agent tokens, not viewers'.
    let viewer = token(&home, "viewer");
    let (status, _) = server.call(
        "POST",
        "/v1/registries/notifications?registry=local",
        Some(&viewer),
        Some(&json!({"events": []})),
    );
    assert_eq!(status, 403);
    let (status, _) = server.call(
        "POST",
        "/v1/registries/notifications?registry=local",
        None,
        Some(&json!({"events": []})),
    );
    assert_eq!(status, 401);

    // A push is scanned within seconds.
    let pushed = Instant::now();
    reg.push(
        &layout(),
        "vigia/debian12-app:latest",
        "app/debian:1.0",
        None,
    );
    let items = wait_for(&server, &admin, 60, "the scan of the push", |i| {
        reason_of(i, "app/debian") == Some("SUCCESSFUL")
    });
    let took = pushed.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "scanned {took:?} after the push"
    );
    assert_eq!(items.len(), 1, "{items:#?}");
    let id = items[0]["resourceId"].as_str().unwrap().to_owned();
    assert!(
        id.starts_with(&format!("{}/app/debian@sha256:", reg.host)),
        "{id}"
    );
    assert_eq!(
        items[0]["resourceMetadata"]["ecrImage"]["tags"],
        json!(["1.0"])
    );
    let findings = list(&server, &admin, &serve::eq("resourceId", &id));
    assert!(!findings.is_empty());
    assert!(
        findings
            .iter()
            .all(|f| f["status"] == "ACTIVE" && f["type"] == "PACKAGE_VULNERABILITY")
    );
    // The same findings as the one-shot scan of the same image from the registry.
    let out = Command::new(env!("CARGO_BIN_EXE_vigia"))
        .env("VIGIA_HOME", home.dir.path().join("cli"))
        .args(["--data-dir"])
        .arg(home.dir.path())
        .args([
            "scan",
            "image",
            &format!("{}/app/debian:1.0", reg.host),
            "--insecure",
            "--scanners",
            "vuln",
            "-f",
            "json",
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let key = |f: &Value| {
        (
            f["packageVulnerabilityDetails"]["vulnerabilityId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            f["packageVulnerabilityDetails"]["vulnerablePackages"][0]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    };
    let from_service: std::collections::BTreeSet<_> = findings.iter().map(key).collect();
    let one_shot: std::collections::BTreeSet<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(key)
        .collect();
    assert_eq!(from_service, one_shot);

    // A second tag on the same digest: one resource, still one scan.
    reg.push(
        &layout(),
        "vigia/debian12-app:latest",
        "app/debian:latest",
        None,
    );
    wait_for(&server, &admin, 30, "the second tag", |i| {
        i.len() == 1 && i[0]["resourceMetadata"]["ecrImage"]["tags"] == json!(["1.0", "latest"])
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(scans_of(&server, &admin, &id), 1);
    assert_eq!(coverage(&server, &admin).len(), 1);

    // The same image in another repository is another resource; its
    // layers, read once, are not pulled again.
    reg.push(
        &layout(),
        "vigia/debian12-app:latest",
        "mirror/debian:1.0",
        None,
    );
    let items = wait_for(&server, &admin, 60, "the copy's scan", |i| {
        reason_of(i, "mirror/debian") == Some("SUCCESSFUL")
    });
    assert_eq!(items.len(), 2);
    let log = server.log();
    let pulls: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("pulled an image"))
        .collect();
    assert_eq!(pulls.len(), 2, "{log}");
    assert!(pulls[0].contains("cached=0"), "{}", pulls[0]);
    assert!(pulls[1].contains("pulled=0"), "{}", pulls[1]);
    let copy = items
        .iter()
        .find(|i| i["resourceMetadata"]["ecrRepository"]["name"] == "mirror/debian")
        .unwrap()["resourceId"]
        .as_str()
        .unwrap()
        .to_owned();

    // Deleting the copy's manifest terminates it and closes its findings;
    // the first repository's image stays.
    reg.delete("mirror/debian:1.0", None);
    let items = wait_for(&server, &admin, 60, "the deletion", |i| {
        reason_of(i, "mirror/debian") == Some("RESOURCE_TERMINATED")
    });
    assert_eq!(reason_of(&items, "app/debian"), Some("SUCCESSFUL"));
    let closed = list(&server, &admin, &serve::eq("resourceId", &copy));
    assert!(!closed.is_empty() && closed.iter().all(|f| f["status"] == "CLOSED"));

    // Past its rescan window (last pushed ten days ago, a window of 7):
    // not evaluated any more, findings closed; pushed again, evaluated
    // again, the same findings reopened.
    let db = state_db(&home);
    let ten_days_ago = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(240))
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let out = Command::new("sqlite3")
        .arg(&db)
        .arg(format!(
            "UPDATE registry_images SET pushed_at = '{ten_days_ago}' WHERE repository = 'app/debian'"
        ))
        .output()
        .expect("sqlite3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    registry(
        &server,
        &admin,
        &json!({"name": "local", "url": format!("http://{}", reg.host), "syncSeconds": 3600, "rescanDuration": "DAYS_7"}),
    );
    let items = wait_for(&server, &admin, 60, "the rescan window's end", |i| {
        reason_of(i, "app/debian") == Some("SCAN_ELIGIBILITY_EXPIRED")
    });
    let expired = items
        .iter()
        .find(|i| i["resourceId"] == id.as_str())
        .unwrap();
    assert_eq!(expired["scanStatus"]["statusCode"], "INACTIVE");
    let now_closed = list(&server, &admin, &serve::eq("resourceId", &id));
    assert!(now_closed.iter().all(|f| f["status"] == "CLOSED"));
    reg.push(
        &layout(),
        "vigia/debian12-app:latest",
        "app/debian:1.0",
        None,
    );
    wait_for(&server, &admin, 60, "the new push's scan", |i| {
        reason_of(i, "app/debian") == Some("SUCCESSFUL")
    });
    let reopened = list(&server, &admin, &serve::eq("resourceId", &id));
    assert_eq!(serve::arns(&reopened), serve::arns(&findings));
    assert!(reopened.iter().all(|f| f["status"] == "ACTIVE"));
}

/// Pushes an OCI artifact that is not a container image (a Helm chart's
/// media types) with plain Distribution API calls.
fn push_artifact(host: &str, repository: &str, tag: &str) {
    let script = r#"
import hashlib, json, sys, urllib.request
host, repo, tag = sys.argv[1:4]
def blob(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    req = urllib.request.Request(f"http://{host}/v2/{repo}/blobs/uploads/", method="POST", data=b"")
    loc = urllib.request.urlopen(req).headers["Location"]
    sep = "&" if "?" in loc else "?"
    url = loc if loc.startswith("http") else f"http://{host}{loc}"
    urllib.request.urlopen(urllib.request.Request(f"{url}{sep}digest={digest}", method="PUT", data=data,
        headers={"Content-Type": "application/octet-stream"}))
    return digest, len(data)
cfg = json.dumps({"name": "chart", "version": "1.0.0"}).encode()
content = b"not really a chart"
cd, cs = blob(cfg)
ld, ls = blob(content)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": cd, "size": cs},
    "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": ld, "size": ls}]}).encode()
urllib.request.urlopen(urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{tag}", method="PUT", data=manifest,
    headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"}))
"#;
    let out = Command::new("python3")
        .args(["-c", script, host, repository, tag])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Standard base64, as Docker writes `auth`.
fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn registry_errors_are_coverage_reasons_and_syncs_follow_pages_and_tokens() {
    let home = Home::sqlite();
    let admin = token(&home, "admin");
    // A registry that wants bearer tokens from its token service, as
    // Docker Hub and GHCR do.
    let reg = vigia_test_support::Registry::start_with_token_auth(("ci", "s3cret-pass"));
    let creds = Some(("ci", "s3cret-pass"));
    // Docker's configuration, for the registry that takes its credentials
    // from there (`dockerConfig`).
    let docker = tempfile::tempdir().unwrap();
    fs_err::write(
        docker.path().join("config.json"),
        json!({"auths": {reg.host.clone(): {"auth": base64_of("ci:s3cret-pass")}}}).to_string(),
    )
    .unwrap();
    let watch = tempfile::tempdir().unwrap();
    let server = start_with(
        &home,
        &vigia_test_support::vulndata(),
        watch.path(),
        &[],
        &[("DOCKER_CONFIG", docker.path().to_str().unwrap())],
    );
    reg.push(&layout(), "vigia/debian12-app:latest", "team/app:1", creds);
    reg.push(&layout(), "vigia/debian12-app:latest", "big/app:1", creds);
    reg.push(
        &layout(),
        "vigia/debian12-app:latest",
        "tmp/scratch:1",
        creds,
    );
    let url = format!("http://{}", reg.host);
    // Pages of one repository: the catalog and tags are read through
    // their Link headers.
    registry(
        &server,
        &admin,
        &json!({"name": "main", "url": url, "username": "ci", "password": "s3cret-pass",
                "include": ["team/*", "big/*"], "exclude": ["big/*"], "pageSize": 1, "syncSeconds": 2}),
    );
    registry(
        &server,
        &admin,
        &json!({"name": "small", "url": url, "dockerConfig": true,
                "include": ["big/*"], "maxImageBytes": 1000, "pageSize": 1}),
    );
    let items = wait_for(&server, &admin, 90, "both registries' images", |i| {
        reason_of(i, "team/app") == Some("SUCCESSFUL")
            && reason_of(i, "big/app")
                .is_some_and(|r| r != "PENDING_INITIAL_SCAN" && r != "SCAN_IN_PROGRESS")
    });
    assert_eq!(items.len(), 2, "tmp/scratch is not watched: {items:#?}");
    let big = items
        .iter()
        .find(|i| i["resourceMetadata"]["ecrRepository"]["name"] == "big/app")
        .unwrap();
    assert_eq!(
        big["scanStatus"]["reason"], "IMAGE_SIZE_EXCEEDED",
        "{big:#}"
    );
    assert_eq!(big["scanStatus"]["statusCode"], "INACTIVE");
    let (_, res) = server.call(
        "GET",
        &format!(
            "/v1/resource?id={}",
            urlencode(big["resourceId"].as_str().unwrap())
        ),
        Some(&admin),
        None,
    );
    assert!(res.to_string().contains("over the limit of 1000"), "{res}");

    // No notifications from this registry: a new image is found by the
    // periodic sync.
    reg.push(
        &vigia_test_support::shared_dir().join("targets/alpine-base"),
        "vigia/alpine-base:3.18.9",
        "team/base:3.18",
        creds,
    );
    wait_for(&server, &admin, 60, "the sync finding the new image", |i| {
        reason_of(i, "team/base") == Some("SUCCESSFUL")
    });

    // An artifact that is not an image.
    let anon = vigia_test_support::Registry::start(None);
    push_artifact(&anon.host, "charts/web", "1.0.0");
    registry(
        &server,
        &admin,
        &json!({"name": "charts", "url": format!("http://{}", anon.host)}),
    );
    wait_for(&server, &admin, 60, "the artifact's coverage", |i| {
        reason_of(i, "charts/web") == Some("UNSUPPORTED_MEDIA_TYPE")
    });

    // Wrong credentials: the sync says so, and the image it had found is
    // ACCESS_DENIED with its findings kept; right ones again, it is
    // scanned again.
    let team = items
        .iter()
        .find(|i| i["resourceMetadata"]["ecrRepository"]["name"] == "team/app")
        .unwrap()["resourceId"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = list(&server, &admin, &serve::eq("resourceId", &team));
    assert!(!before.is_empty());
    let main = |password: &str| {
        json!({"name": "main", "url": url, "username": "ci", "password": password,
        "include": ["team/*", "big/*"], "exclude": ["big/*"], "pageSize": 1, "syncSeconds": 2})
    };
    registry(&server, &admin, &main("wrong"));
    wait_for(&server, &admin, 60, "ACCESS_DENIED", |i| {
        reason_of(i, "team/app") == Some("ACCESS_DENIED")
    });
    let shown = registries(&server, &admin);
    let main_shown = shown.iter().find(|r| r["name"] == "main").unwrap();
    assert!(
        main_shown["syncError"]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{main_shown}"
    );
    assert!(
        !main_shown.to_string().contains("wrong"),
        "the password is never shown: {main_shown}"
    );
    // The state database, which holds the password, and its log are its
    // owner's only.
    {
        use std::os::unix::fs::PermissionsExt as _;
        let db = state_db(&home);
        let wal = db.with_extension("db-wal");
        for file in [&db, &wal] {
            let mode = fs_err::metadata(file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
    }
    let during = list(&server, &admin, &serve::eq("resourceId", &team));
    assert_eq!(serve::arns(&during), serve::arns(&before));
    assert!(during.iter().all(|f| f["status"] == "ACTIVE"));
    registry(&server, &admin, &main("s3cret-pass"));
    wait_for(&server, &admin, 60, "access again", |i| {
        reason_of(i, "team/app") == Some("SUCCESSFUL")
    });

    // The gate: a tag of a watched registry is resolved to its digest, and
    // an image never scanned (its registry is MANUAL) is scanned on demand
    // before the decision.
    registry(
        &server,
        &admin,
        &json!({"name": "manual", "url": url, "username": "ci", "password": "s3cret-pass",
                "include": ["ondemand/*"], "scanFrequency": "MANUAL", "syncSeconds": 2}),
    );
    // Pushed as a Docker schema 2 manifest: a digest of its own (the same
    // image under another digest is decided by that digest's scan).
    let out = Command::new("skopeo")
        .args([
            "--insecure-policy",
            "copy",
            "--dest-tls-verify=false",
            "--format",
            "v2s2",
            "--dest-creds=ci:s3cret-pass",
        ])
        .arg(format!(
            "oci:{}:vigia/alpine-base:3.18.9",
            vigia_test_support::shared_dir()
                .join("targets/alpine-base")
                .display()
        ))
        .arg(format!("docker://{}/ondemand/base:1", reg.host))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for(
        &server,
        &admin,
        60,
        "the manual registry's image found",
        |i| reason_of(i, "ondemand/base") == Some("SCAN_FREQUENCY_MANUAL"),
    );
    let check = |image: &str| {
        let (status, body) = server.call(
            "POST",
            "/v1/gate/check",
            Some(&admin),
            Some(&json!({"images": [image]})),
        );
        assert_eq!(status, 200, "{body}");
        body["decisions"][0].clone()
    };
    let d = check(&format!("{}/ondemand/base:1", reg.host));
    assert_eq!(d["unscanned"], false, "{d:#}");
    assert!(
        d["resourceId"]
            .as_str()
            .is_some_and(|r| r.contains("/ondemand/base@")),
        "decided by its own scan: {d:#}"
    );
    assert!(
        d["digest"]
            .as_str()
            .is_some_and(|x| x.starts_with("sha256:")),
        "{d:#}"
    );
    let items = coverage(&server, &admin);
    assert_eq!(
        reason_of(&items, "ondemand/base"),
        Some("SUCCESSFUL"),
        "{items:#?}\n{}",
        server.log()
    );
    let d = check(&format!("{}/team/app:1", reg.host));
    assert_eq!(d["unscanned"], false, "{d:#}");
    assert_eq!(d["resourceId"].as_str(), Some(team.as_str()), "{d:#}");
    let alone = d["violations"].as_array().unwrap().len();
    // The same digest watched as a layout too, whose scan searches for
    // secrets (a registry's does not): the decision counts every copy's
    // findings, whichever was scanned last, and still names the
    // reference's own copy.
    vigia_test_support::copy_dir(&layout(), &watch.path().join("debian12-app"));
    wait_for(&server, &admin, 60, "the watched copy scanned", |i| {
        i.iter().any(|c| {
            c["resourceId"]
                .as_str()
                .is_some_and(|r| r.starts_with("local/vigia/debian12-app@"))
                && c["scanStatus"]["reason"] == "SUCCESSFUL"
        })
    });
    let d = check(&format!("{}/team/app:1", reg.host));
    assert_eq!(d["resourceId"].as_str(), Some(team.as_str()), "{d:#}");
    let after = d["violations"].as_array().unwrap().len();
    assert!(
        after > alone,
        "the watched copy's secrets count ({alone} violations before): {d:#}"
    );
    // A tag moved in the registry since its last sync (this registry
    // syncs once an hour): decided on the image it pulls now.
    reg.push(
        &vigia_test_support::shared_dir().join("targets/alpine-base"),
        "vigia/alpine-base:3.18.9",
        "moved/app:1",
        creds,
    );
    registry(
        &server,
        &admin,
        &json!({"name": "hourly", "url": url, "username": "ci", "password": "s3cret-pass",
                "include": ["moved/*"], "syncSeconds": 3600}),
    );
    wait_for(&server, &admin, 60, "the first sync of moved/app", |i| {
        reason_of(i, "moved/app") == Some("SUCCESSFUL")
    });
    let base_digest = check(&format!("{}/moved/app:1", reg.host))["digest"].clone();
    reg.push(&layout(), "vigia/debian12-app:latest", "moved/app:1", creds);
    let d = check(&format!("{}/moved/app:1", reg.host));
    assert_ne!(d["digest"], base_digest, "{d:#}");
    assert_eq!(
        d["digest"].as_str(),
        team.rsplit_once('@').map(|(_, digest)| digest),
        "the tag's image now: {d:#}"
    );
    assert_eq!(d["allowed"], false, "{d:#}");
    // A tag no registry Vigia watches holds: unscanned, as before.
    let d = check("registry.invalid/none/app:1");
    assert_eq!(d["unscanned"], true, "{d:#}");

    // Removing a registry terminates its images.
    let (status, _) = server.call(
        "POST",
        "/v1/registries/delete",
        Some(&admin),
        Some(&json!({"name": "main"})),
    );
    assert_eq!(status, 200);
    wait_for(&server, &admin, 30, "the removal", |i| {
        reason_of(i, "team/app") == Some("RESOURCE_TERMINATED")
    });
    assert!(
        list(&server, &admin, &serve::eq("resourceId", &team))
            .iter()
            .all(|f| f["status"] == "CLOSED")
    );
}
