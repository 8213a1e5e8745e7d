//! Event delivery end to end: `vigia serve` watching copies of the shared
//! targets delivers `Inspector2 Scan`, `Inspector2 Coverage` and
//! `Inspector2 Finding` events to a real HTTP receiver (a Python server
//! that checks every signature with the Standard Webhooks reference library
//! from PyPI), each target getting what its event pattern selects; a
//! receiver that fails three times gets the event on the fourth attempt; one
//! that always fails ends in the dead-letter list, replayed once it heals;
//! a Slack target gets readable messages (a local stand-in checks what
//! Slack's incoming webhooks take); and a service killed while delivering
//! delivers everything after its restart.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod serve;
use serve::{Home, Server, change_lodash_records, copy_targets, start_with, token, wait_coverage};

/// A signing secret as Standard Webhooks writes them (24 bytes, base64).
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The Python receiver (see `serve/webhook-receiver.py`).
struct Receiver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Python server of `tests/serve/` that writes the port it listens on to
/// its first argument, once it listens.
// The callers keep the child in a struct that kills and waits for it when
// dropped.
#[allow(clippy::zombie_processes)]
fn python_server(dir: &Path, script: &str, args: &[&str]) -> (Child, u16) {
    let port_file = dir.join(format!("{script}.port"));
    let mut child = Command::new("python3")
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/serve")
                .join(script),
        )
        .arg(&port_file)
        .args(args)
        .stdin(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(p) = fs_err::read_to_string(&port_file) {
            return (child, p.trim().parse().unwrap());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{script} did not start (are the PyPI packages .ci/run installs there?)");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Receiver {
    fn start(dir: &Path) -> Self {
        let log = dir.join("receiver.log");
        let (child, port) =
            python_server(dir, "webhook-receiver.py", &[log.to_str().unwrap(), SECRET]);
        Self { child, port, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request so far, by path.
    fn requests(&self, path: &str) -> Vec<Value> {
        fs_err::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["path"] == path && e.get("arrived").is_none())
            .collect()
    }

    fn heal(&self) {
        let out = Command::new("python3")
            .args([
                "-c",
                "import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b'', method='POST'))",
            ])
            .arg(self.url("/control/heal"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
}

/// moto's Security Hub, checking signatures (see `serve/securityhub.py`).
struct SecurityHub {
    child: Child,
    url: String,
}

impl Drop for SecurityHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SECURITY_HUB_SCRIPT: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/serve/securityhub.py");

impl SecurityHub {
    fn start(dir: &Path) -> Self {
        let port = vigia_test_support::free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "3")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                fs_err::File::create(dir.join("moto.log"))
                    .unwrap()
                    .into_parts()
                    .0,
            )
            .spawn()
            .expect("python3 runs");
        vigia_test_support::wait_for_port(port);
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    fn run(&self, command: &str, args: &[&str]) -> Value {
        let out = Command::new("python3")
            .arg(SECURITY_HUB_SCRIPT)
            .args([command, &self.url])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// The Jira stand-in (see `serve/jira.py`).
struct Jira {
    child: Child,
    url: String,
}

impl Drop for Jira {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const JIRA_EMAIL: &str = "secops@example.com";
const JIRA_TOKEN: &str = "ATATT3xFfGF0-test-token";

impl Jira {
    fn start(dir: &Path) -> Self {
        let (child, port) = python_server(dir, "jira.py", &[JIRA_EMAIL, JIRA_TOKEN]);
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Every issue: its fields and comments.
    fn issues(&self) -> BTreeMap<String, Value> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let state: Value = rt.block_on(async {
            reqwest::get(format!("{}/control/state", self.url))
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        serde_json::from_value(state["issues"].clone()).unwrap()
    }
}

/// The Jira issues labelled for a finding.
fn issues_of<'a>(issues: &'a BTreeMap<String, Value>, arn: &str) -> Vec<&'a Value> {
    let digest = sha256_hex(arn);
    let label = format!("vigia-{}", &digest[..16]);
    issues
        .values()
        .filter(|i| {
            i["fields"]["labels"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l == label.as_str())
        })
        .collect()
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

fn create_target(s: &Server, admin: &str, body: &Value) -> String {
    let (status, out) = s.call("POST", "/v1/targets/create", Some(admin), Some(body));
    assert_eq!(status, 200, "{body}: {out}");
    assert!(out.get("secret").is_none(), "a given secret is not echoed");
    let listed = out["target"]["secretPrefix"].as_str().unwrap_or("");
    // At most four characters of a secret, and a hash.
    if body["secret"] == SECRET {
        assert!(listed.starts_with(&SECRET[..4]), "{listed}");
    }
    assert!(!listed.contains(&SECRET[..5]), "{listed}");
    out["target"]["id"].as_str().unwrap().to_owned()
}

fn deliveries(s: &Server, token: &str, target: &str, state: Option<&str>) -> Vec<Value> {
    let mut path = format!("/v1/targets/deliveries?id={target}&maxResults=1000");
    if let Some(st) = state {
        path.push_str(&format!("&state={st}"));
    }
    let (status, out) = s.call("GET", &path, Some(token), None);
    assert_eq!(status, 200, "{out}");
    out["deliveries"].as_array().cloned().unwrap()
}

/// Waits until `done` holds, or fails with the service's log.
fn wait(s: &Server, what: &str, done: impl FnMut() -> bool) {
    wait_within(s, what, 120, done);
}

fn wait_within(s: &Server, what: &str, seconds: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what} never happened:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until every event written so far is handed over and a target
/// has nothing pending.
fn settled(s: &Server, token: &str, target: &str) {
    wait(s, &format!("delivery to {target} settling"), || {
        s.metric(token, "vigia_events_waiting") == 0
            && deliveries(s, token, target, Some("PENDING")).is_empty()
    });
}

fn ids(requests: &[Value]) -> BTreeSet<String> {
    requests
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn detail_type(r: &Value) -> &str {
    r["body"]["detail-type"].as_str().unwrap_or("")
}

#[test]
fn events_reach_their_targets_signed_retried_and_dead_lettered() {
    events_reach_their_targets(&Home::sqlite());
}

/// The same on PostgreSQL, where claims skip rows another process locked.
#[test]
fn the_same_on_postgresql() {
    let pg = vigia_test_support::Postgres::start();
    events_reach_their_targets(&Home {
        dir: tempfile::tempdir().unwrap(),
        url: Some(pg.create_database("delivery")),
    });
}

fn events_reach_their_targets(home: &Home) {
    let watch = tempfile::tempdir().unwrap();
    let mirror = vigia_test_support::mirror_copy();
    let receiver = Receiver::start(home.dir.path());
    let hub = SecurityHub::start(home.dir.path());
    let jira = Jira::start(home.dir.path());
    let keys = hub.run("keys", &[]);
    let (key_id, key) = (
        keys["AccessKeyId"].as_str().unwrap(),
        keys["SecretAccessKey"].as_str().unwrap(),
    );
    let admin = token(home, "admin");
    let viewer = token(home, "viewer");
    // First scans are quiet here: the events below are those of changes
    // (a first scan's are `a_first_scan_announces_its_findings`).
    let s = start_with(
        home,
        mirror.path(),
        watch.path(),
        &["--quiet-first-scans"],
        &[],
    );

    // Patterns are checked when a target is created; viewers cannot create.
    let (status, out) = s.call(
        "POST",
        "/v1/targets/create",
        Some(&admin),
        Some(&json!({"type": "webhook", "url": receiver.url("/ok"),
                     "pattern": {"detail": {"severity": [{"contains": "HIGH"}]}}})),
    );
    assert_eq!(status, 400, "{out}");
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("detail.severity[0]"),
        "{out}"
    );
    let (status, _) = s.call(
        "POST",
        "/v1/targets/create",
        Some(&viewer),
        Some(&json!({"type": "webhook", "url": receiver.url("/ok")})),
    );
    assert_eq!(status, 403);
    // A webhook given no secret gets one, shown once.
    let (status, out) = s.call(
        "POST",
        "/v1/targets/create",
        Some(&admin),
        Some(
            &json!({"type": "webhook", "url": receiver.url("/unsigned-elsewhere"),
                     "pattern": {"detail-type": ["Inspector2 Nothing"]}}),
        ),
    );
    assert_eq!(status, 200, "{out}");
    let generated = out["secret"].as_str().unwrap();
    assert!(
        generated.starts_with("whsec_") && generated.len() > 40,
        "{out}"
    );
    let (_, listed) = s.call("GET", "/v1/targets", Some(&viewer), None);
    assert!(!listed.to_string().contains(&generated[10..]), "{listed}");

    let finding = json!(["Inspector2 Finding"]);
    let all = create_target(
        &s,
        &admin,
        &json!({"name": "all", "type": "webhook", "url": receiver.url("/ok"), "secret": SECRET}),
    );
    let flaky = create_target(
        &s,
        &admin,
        &json!({"name": "flaky", "type": "webhook", "url": receiver.url("/fail3"), "secret": SECRET,
                "pattern": {"detail-type": finding}, "maxAttempts": 5, "initialBackoffMillis": 100}),
    );
    let dead = create_target(
        &s,
        &admin,
        &json!({"name": "down", "type": "webhook", "url": receiver.url("/dead"), "secret": SECRET,
                "pattern": {"detail-type": finding, "detail": {"status": ["CLOSED"]}},
                "maxAttempts": 3, "initialBackoffMillis": 50}),
    );
    let slack = create_target(
        &s,
        &admin,
        &json!({"name": "slack", "type": "slack", "url": receiver.url("/slack"),
                "pattern": {"detail-type": finding, "detail": {"severity": ["HIGH", "CRITICAL"]}}}),
    );
    let (status, out) = s.call(
        "POST",
        "/v1/targets/create",
        Some(&admin),
        Some(&json!({"name": "security-hub", "type": "securityhub", "url": hub.url, "region": "us-east-1",
                     "accessKeyId": key_id, "secretAccessKey": key, "maxAttempts": 3, "initialBackoffMillis": 50})),
    );
    assert_eq!(status, 200, "{out}");
    assert!(
        !out.to_string().contains(key),
        "the secret key is not shown"
    );
    let security_hub = out["target"]["id"].as_str().unwrap().to_owned();
    let (status, out) = s.call(
        "POST",
        "/v1/targets/create",
        Some(&admin),
        Some(&json!({"name": "security-hub-wrong-key", "type": "securityhub", "url": hub.url, "region": "us-east-1",
                     "accessKeyId": key_id, "secretAccessKey": "not-the-key", "maxAttempts": 1})),
    );
    assert_eq!(status, 200, "{out}");
    let wrong_key = out["target"]["id"].as_str().unwrap().to_owned();
    let (status, out) = s.call(
        "POST",
        "/v1/targets/create",
        Some(&admin),
        Some(&json!({"name": "jira", "type": "jira", "url": jira.url, "project": "SEC",
                     "email": JIRA_EMAIL, "token": JIRA_TOKEN, "pattern": {"detail-type": finding}})),
    );
    assert_eq!(status, 200, "{out}");
    assert!(
        !out.to_string().contains(JIRA_TOKEN),
        "the token is not shown"
    );
    let jira_target = out["target"]["id"].as_str().unwrap().to_owned();
    let (status, out) = s.call(
        "POST",
        "/v1/targets/create",
        Some(&admin),
        Some(
            &json!({"name": "jira-wrong-token", "type": "jira", "url": jira.url, "project": "SEC",
                     "email": JIRA_EMAIL, "token": "expired", "maxAttempts": 1}),
        ),
    );
    assert_eq!(status, 200, "{out}");
    let jira_wrong = out["target"]["id"].as_str().unwrap().to_owned();
    let none = create_target(
        &s,
        &admin,
        &json!({"name": "none", "type": "webhook", "url": receiver.url("/none"), "secret": SECRET,
                "pattern": {"detail-type": finding, "detail": {"inspectorScore": [{"numeric": [">", 10]}]}}}),
    );

    // First scans: a scan event and coverage events per resource, and no
    // finding events (asked to be quiet).
    copy_targets(watch.path());
    wait_coverage(&s, &viewer, 3, "SUCCESSFUL");
    settled(&s, &viewer, &all);
    let first = receiver.requests("/ok");
    let scans: Vec<&Value> = first
        .iter()
        .filter(|r| detail_type(r) == "Inspector2 Scan")
        .collect();
    assert_eq!(scans.len(), 3, "{first:#?}");
    assert!(
        scans
            .iter()
            .all(|r| r["body"]["detail"]["scan-status"] == "INITIAL_SCAN_COMPLETE")
    );
    let image_scan = scans
        .iter()
        .find(|r| r["body"]["detail"].get("image-digest").is_some())
        .expect("the image's scan event names its digest");
    assert!(
        image_scan["body"]["detail"]["finding-severity-counts"]["TOTAL"]
            .as_i64()
            .unwrap()
            > 0
    );
    let successful = first
        .iter()
        .filter(|r| detail_type(r) == "Inspector2 Coverage")
        .filter(|r| r["body"]["detail"]["scanStatus"]["reason"] == "SUCCESSFUL")
        .count();
    assert_eq!(successful, 3, "{first:#?}");
    assert!(first.iter().all(|r| detail_type(r) != "Inspector2 Finding"));

    // An advisory change opens and closes findings: finding events.
    change_lodash_records(mirror.path());
    let (status, out) = s.call("POST", "/v1/db/update", Some(&admin), None);
    assert_eq!(status, 200, "{out}");
    let about = |requests: &[Value], cve: &str, status: &str| {
        requests.iter().any(|r| {
            detail_type(r) == "Inspector2 Finding"
                && r["body"]["detail"]["packageVulnerabilityDetails"]["vulnerabilityId"] == cve
                && r["body"]["detail"]["status"] == status
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = receiver.requests("/ok");
        if about(&got, "CVE-2020-28500", "CLOSED") && about(&got, "CVE-2020-8203", "ACTIVE") {
            break;
        }
        let seen: Vec<String> = got
            .iter()
            .filter(|r| detail_type(r) == "Inspector2 Finding")
            .map(|r| {
                let d = &r["body"]["detail"];
                format!(
                    "{} {} {}",
                    d["packageVulnerabilityDetails"]["vulnerabilityId"],
                    d["status"],
                    r["body"]["resources"]
                )
            })
            .collect();
        assert!(
            Instant::now() < deadline,
            "finding events: {seen:#?}\n{:#?}\n{}",
            deliveries(&s, &viewer, &all, None),
            s.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    settled(&s, &viewer, &all);
    settled(&s, &viewer, &flaky);
    settled(&s, &viewer, &slack);
    let everything = receiver.requests("/ok");
    let findings: Vec<&Value> = everything
        .iter()
        .filter(|r| detail_type(r) == "Inspector2 Finding")
        .collect();

    // Every request signed, webhook-id the event's ID, each event once.
    for r in &everything {
        assert_eq!(r["valid"], true, "{r}");
        assert_eq!(r["id"], r["body"]["id"], "{r}");
        assert_eq!(r["attempt"], 1, "delivered twice: {r}");
    }
    assert_eq!(
        deliveries(&s, &viewer, &all, Some("DELIVERED")).len(),
        everything.len()
    );

    // The flaky receiver: finding events only, each on its fourth attempt.
    let flaky_requests = receiver.requests("/fail3");
    let finding_ids = ids(&findings.iter().map(|r| (*r).clone()).collect::<Vec<_>>());
    assert_eq!(ids(&flaky_requests), finding_ids);
    let mut tries: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for r in &flaky_requests {
        assert_eq!(r["valid"], true, "{r}");
        tries
            .entry(r["id"].as_str().unwrap().to_owned())
            .or_default()
            .push(r["status"].as_u64().unwrap());
    }
    for (id, statuses) in &tries {
        assert_eq!(statuses, &[500, 500, 500, 200], "{id}");
    }
    for d in deliveries(&s, &viewer, &flaky, None) {
        assert_eq!(d["state"], "DELIVERED", "{d}");
        assert_eq!(d["attempts"], 4, "{d}");
    }

    // The receiver that is down: the closed findings' events, three
    // attempts each, then dead letters.
    let closed: BTreeSet<String> = findings
        .iter()
        .filter(|r| r["body"]["detail"]["status"] == "CLOSED")
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!closed.is_empty());
    wait(&s, "dead letters", || {
        deliveries(&s, &viewer, &dead, Some("DEAD")).len() == closed.len()
    });
    let letters = deliveries(&s, &viewer, &dead, Some("DEAD"));
    for d in &letters {
        assert_eq!(d["attempts"], 3, "{d}");
        assert_eq!(d["lastStatus"], 503, "{d}");
        assert!(closed.contains(d["eventId"].as_str().unwrap()), "{d}");
    }
    assert_eq!(receiver.requests("/dead").len(), closed.len() * 3);
    // Replayed once the receiver is back: delivered.
    let (status, _) = s.call(
        "POST",
        "/v1/targets/replay",
        Some(&viewer),
        Some(&json!({"id": dead})),
    );
    assert_eq!(status, 403, "a viewer cannot replay");
    receiver.heal();
    let (status, out) = s.call(
        "POST",
        "/v1/targets/replay",
        Some(&admin),
        Some(&json!({"id": dead})),
    );
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["replayed"], closed.len());
    settled(&s, &viewer, &dead);
    assert_eq!(
        deliveries(&s, &viewer, &dead, Some("DELIVERED")).len(),
        closed.len()
    );
    let healed: Vec<Value> = receiver
        .requests("/dead")
        .into_iter()
        .filter(|r| r["status"] == 200)
        .collect();
    assert_eq!(ids(&healed), closed);

    // Slack: one readable message per high or critical finding event.
    let severe = findings
        .iter()
        .filter(|r| {
            ["HIGH", "CRITICAL"].contains(&r["body"]["detail"]["severity"].as_str().unwrap())
        })
        .count();
    let messages = receiver.requests("/slack");
    assert_eq!(messages.len(), severe, "{messages:#?}");
    for m in &messages {
        let text = m["body"]["text"].as_str().unwrap();
        assert!(
            text.contains("finding") && text.contains("Resource:"),
            "{text}"
        );
    }

    // Security Hub: every finding event imported as an ASFF finding (signed:
    // moto checks), the closed ones archived and resolved, each in
    // Security Hub's shape; a wrong key ends in dead letters saying why.
    settled(&s, &viewer, &security_hub);
    for d in deliveries(&s, &viewer, &security_hub, None) {
        assert_eq!(d["state"], "DELIVERED", "{d}");
        assert_eq!(d["detailType"], "Inspector2 Finding", "{d}");
    }
    let imported = hub.run("findings", &[key_id, key]);
    let by_id: BTreeMap<String, &Value> = imported["Findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["Id"].as_str().unwrap().to_owned(), f))
        .collect();
    let arns: BTreeSet<String> = findings
        .iter()
        .map(|r| {
            r["body"]["detail"]["findingArn"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(by_id.keys().cloned().collect::<BTreeSet<_>>(), arns);
    for r in &findings {
        let detail = &r["body"]["detail"];
        let f = by_id[detail["findingArn"].as_str().unwrap()];
        let closed = detail["status"] == "CLOSED";
        assert_eq!(
            f["RecordState"],
            if closed { "ARCHIVED" } else { "ACTIVE" },
            "{f}"
        );
        assert_eq!(
            f["Workflow"]["Status"],
            if closed { "RESOLVED" } else { "NEW" },
            "{f}"
        );
        assert_eq!(
            f["Vulnerabilities"][0]["Id"],
            detail["packageVulnerabilityDetails"]["vulnerabilityId"]
        );
    }
    let doc = home.dir.path().join("imported.json");
    fs_err::write(&doc, imported.to_string()).unwrap();
    let check = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/validate-aws-shape.py"
        ))
        .args(["securityhub", "AwsSecurityFinding"])
        .arg(&doc)
        .args(["--list", "Findings"])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    wait(&s, "dead letters for the wrong key", || {
        deliveries(&s, &viewer, &wrong_key, Some("DEAD")).len() == findings.len()
    });
    for d in deliveries(&s, &viewer, &wrong_key, Some("DEAD")) {
        assert_eq!(d["lastStatus"], 403, "{d}");
        let error = d["lastError"].as_str().unwrap();
        assert!(
            error.contains("SignatureDoesNotMatch") && error.contains("403"),
            "{error}"
        );
    }

    // Jira: one issue per finding that is active, none for a finding closed
    // before it had one; a wrong token ends in dead letters.
    settled(&s, &viewer, &jira_target);
    let issues = jira.issues();
    let active: BTreeSet<&str> = findings
        .iter()
        .filter(|r| r["body"]["detail"]["status"] == "ACTIVE")
        .map(|r| r["body"]["detail"]["findingArn"].as_str().unwrap())
        .collect();
    assert!(!active.is_empty());
    assert_eq!(issues.len(), active.len(), "{issues:#?}");
    for arn in &active {
        let mine = issues_of(&issues, arn);
        assert_eq!(mine.len(), 1, "{arn}: {issues:#?}");
        let summary = mine[0]["fields"]["summary"].as_str().unwrap();
        assert!(summary.starts_with('['), "{summary}");
    }
    for d in deliveries(&s, &viewer, &jira_wrong, Some("DEAD")) {
        assert_eq!(d["lastStatus"], 401, "{d}");
    }
    assert_eq!(
        deliveries(&s, &viewer, &jira_wrong, Some("DEAD")).len(),
        findings.len()
    );

    // A pattern nothing matches: nothing sent.
    assert!(receiver.requests("/none").is_empty());
    assert!(deliveries(&s, &viewer, &none, None).is_empty());

    // The function is removed: its findings close, and the Jira issues of
    // those that had one get a comment saying so.
    let function_arns: Vec<String> = findings
        .iter()
        .filter(|r| r["body"]["detail"]["status"] == "ACTIVE")
        .filter(|r| r["body"]["detail"]["resources"][0]["type"] == "AWS_LAMBDA_FUNCTION")
        .map(|r| {
            r["body"]["detail"]["findingArn"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(!function_arns.is_empty(), "{findings:#?}");
    fs_err::remove_file(watch.path().join("fn-node.zip")).unwrap();
    wait(&s, "comments on the closed findings' issues", || {
        let issues = jira.issues();
        function_arns.iter().all(|arn| {
            issues_of(&issues, arn).iter().any(|i| {
                i["comments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c.as_str().unwrap().contains("closed"))
            })
        })
    });
    let issues = jira.issues();
    assert_eq!(
        issues.len(),
        active.len(),
        "no issue is made for a closed finding"
    );
}

#[test]
fn a_service_killed_while_delivering_delivers_everything_after_restart() {
    let home = &Home::sqlite();
    let watch = tempfile::tempdir().unwrap();
    let mirror = vigia_test_support::mirror_copy();
    let receiver = Receiver::start(home.dir.path());
    let admin = token(home, "admin");
    let viewer = token(home, "viewer");
    let quiet = ["--quiet-first-scans"];
    let mut s = start_with(home, mirror.path(), watch.path(), &quiet, &[]);
    let slow = create_target(
        &s,
        &admin,
        &json!({"type": "webhook", "url": receiver.url("/slow"), "secret": SECRET}),
    );
    copy_targets(watch.path());
    // Killed while the receiver holds a delivery.
    let arrived = |receiver: &Receiver| -> Vec<String> {
        fs_err::read_to_string(&receiver.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e.get("arrived").is_some())
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    };
    wait(&s, "a first delivery", || !arrived(&receiver).is_empty());
    s.child.kill().unwrap();
    let _ = s.child.wait();
    let interrupted = arrived(&receiver);
    drop(s);
    // Its successor takes its deliveries back at once (their lease would
    // last minutes): everything is delivered well within that.
    let s = start_with(home, mirror.path(), watch.path(), &quiet, &[]);
    wait_coverage(&s, &viewer, 3, "SUCCESSFUL");
    wait_within(&s, "every delivery", 30, || {
        let all = deliveries(&s, &viewer, &slow, None);
        !all.is_empty() && all.iter().all(|d| d["state"] == "DELIVERED")
    });
    let delivered: BTreeSet<String> = deliveries(&s, &viewer, &slow, None)
        .iter()
        .map(|d| d["eventId"].as_str().unwrap().to_owned())
        .collect();
    let got = receiver.requests("/slow");
    assert!(got.iter().all(|r| r["valid"] == true));
    // Every event was received, and those the kill interrupted again after
    // the restart (at least once: the receiver deduplicates by ID).
    assert!(delivered.is_subset(&ids(&got)), "{delivered:?}");
    for id in &interrupted {
        let times = got.iter().filter(|r| r["id"] == id.as_str()).count();
        assert!(times >= 2, "{id} was not sent again after the restart");
    }
}

#[test]
fn many_findings_opened_at_once_are_summarized_for_webhooks_not_for_jira() {
    let home = &Home::sqlite();
    let watch = tempfile::tempdir().unwrap();
    let mirror = vigia_test_support::mirror_copy();
    let receiver = Receiver::start(home.dir.path());
    let jira = Jira::start(home.dir.path());
    let admin = token(home, "admin");
    let viewer = token(home, "viewer");
    // Any finding opened is "many": every opening is summarized.
    let s = start_with(
        home,
        mirror.path(),
        watch.path(),
        &["--summarize-above", "0", "--quiet-first-scans"],
        &[],
    );
    let all = create_target(
        &s,
        &admin,
        &json!({"type": "webhook", "url": receiver.url("/ok"), "secret": SECRET}),
    );
    // A target whose pattern takes no summary gets the findings' own events.
    let inspector_only = create_target(
        &s,
        &admin,
        &json!({"type": "webhook", "url": receiver.url("/inspector-only"), "secret": SECRET,
                "pattern": {"source": ["aws.inspector2"]}}),
    );
    let (status, out) = s.call(
        "POST",
        "/v1/targets/create",
        Some(&admin),
        Some(&json!({"type": "jira", "url": jira.url, "project": "SEC", "email": JIRA_EMAIL, "token": JIRA_TOKEN})),
    );
    assert_eq!(status, 200, "{out}");
    let jira_target = out["target"]["id"].as_str().unwrap().to_owned();
    copy_targets(watch.path());
    wait_coverage(&s, &viewer, 3, "SUCCESSFUL");
    change_lodash_records(mirror.path());
    let (status, out) = s.call("POST", "/v1/db/update", Some(&admin), None);
    assert_eq!(status, 200, "{out}");
    wait(&s, "a summary", || {
        receiver
            .requests("/ok")
            .iter()
            .any(|r| detail_type(r) == "Vigia Findings Summary")
    });
    settled(&s, &viewer, &all);
    settled(&s, &viewer, &jira_target);
    let got = receiver.requests("/ok");
    let summaries: Vec<&Value> = got
        .iter()
        .filter(|r| detail_type(r) == "Vigia Findings Summary")
        .collect();
    let summarized: BTreeSet<String> = summaries
        .iter()
        .flat_map(|r| {
            r["body"]["detail"]["findingArns"]
                .as_array()
                .unwrap()
                .iter()
        })
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert!(!summarized.is_empty());
    for r in &summaries {
        assert_eq!(r["body"]["source"], "vigia", "{r}");
        assert_eq!(r["valid"], true, "{r}");
        let d = &r["body"]["detail"];
        assert_eq!(
            d["opened"],
            d["findingArns"].as_array().unwrap().len(),
            "{r}"
        );
        assert_eq!(d["finding-severity-counts"]["TOTAL"], d["opened"], "{r}");
    }
    // The findings a summary stands for have no event of their own here;
    // the closed ones do.
    let findings: Vec<&Value> = got
        .iter()
        .filter(|r| detail_type(r) == "Inspector2 Finding")
        .collect();
    assert!(
        findings
            .iter()
            .all(|r| !summarized.contains(r["body"]["detail"]["findingArn"].as_str().unwrap()))
    );
    assert!(
        findings
            .iter()
            .any(|r| r["body"]["detail"]["status"] == "CLOSED")
    );
    settled(&s, &viewer, &inspector_only);
    let own: BTreeSet<String> = receiver
        .requests("/inspector-only")
        .iter()
        .filter(|r| detail_type(r) == "Inspector2 Finding")
        .map(|r| {
            r["body"]["detail"]["findingArn"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(summarized.is_subset(&own), "{summarized:?} {own:?}");
    // Jira still gets each finding: an issue for every one summarized.
    let issues = jira.issues();
    for arn in &summarized {
        assert_eq!(issues_of(&issues, arn).len(), 1, "{arn}: {issues:#?}");
    }
}

#[test]
fn a_first_scan_announces_its_findings() {
    let home = &Home::sqlite();
    let watch = tempfile::tempdir().unwrap();
    let mirror = vigia_test_support::mirror_copy();
    let receiver = Receiver::start(home.dir.path());
    let jira = Jira::start(home.dir.path());
    let admin = token(home, "admin");
    let viewer = token(home, "viewer");
    // Above 40 findings opened at once, a summary (the shared targets have
    // 14, 38 and 66).
    let threshold = 40;
    let s = start_with(
        home,
        mirror.path(),
        watch.path(),
        &["--summarize-above", &threshold.to_string()],
        &[],
    );
    let all = create_target(
        &s,
        &admin,
        &json!({"type": "webhook", "url": receiver.url("/ok"), "secret": SECRET}),
    );
    let inspector_only = create_target(
        &s,
        &admin,
        &json!({"type": "webhook", "url": receiver.url("/inspector-only"), "secret": SECRET,
                "pattern": {"source": ["aws.inspector2"]}}),
    );
    let (status, out) = s.call(
        "POST",
        "/v1/targets/create",
        Some(&admin),
        Some(&json!({"type": "jira", "url": jira.url, "project": "SEC", "email": JIRA_EMAIL, "token": JIRA_TOKEN,
                     "pattern": {"detail-type": ["Inspector2 Finding"]}})),
    );
    assert_eq!(status, 200, "{out}");
    let jira_target = out["target"]["id"].as_str().unwrap().to_owned();
    copy_targets(watch.path());
    wait_coverage(&s, &viewer, 3, "SUCCESSFUL");
    for t in [&all, &inspector_only, &jira_target] {
        settled(&s, &viewer, t);
    }
    let active = serve::list(&s, &viewer, &serve::eq("findingStatus", "ACTIVE"));
    let mut by_resource: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &active {
        by_resource
            .entry(f["resources"][0]["id"].as_str().unwrap().to_owned())
            .or_default()
            .insert(f["findingArn"].as_str().unwrap().to_owned());
    }
    assert_eq!(by_resource.len(), 3, "every target has findings");
    assert!(
        by_resource.values().any(|a| a.len() > threshold)
            && by_resource.values().any(|a| a.len() <= threshold),
        "one resource above the summary threshold and one below: {:?}",
        by_resource.values().map(BTreeSet::len).collect::<Vec<_>>()
    );
    // Each resource's findings reach the target that takes everything
    // either one by one or, above the threshold, as one summary.
    let got = receiver.requests("/ok");
    for (resource, arns) in &by_resource {
        let own: BTreeSet<String> = got
            .iter()
            .filter(|r| detail_type(r) == "Inspector2 Finding")
            .filter(|r| r["body"]["resources"][0] == resource.as_str())
            .map(|r| {
                r["body"]["detail"]["findingArn"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        let summaries: Vec<&Value> = got
            .iter()
            .filter(|r| detail_type(r) == "Vigia Findings Summary")
            .filter(|r| r["body"]["resources"][0] == resource.as_str())
            .collect();
        if arns.len() > threshold {
            assert!(own.is_empty(), "{resource}: {own:?}");
            assert_eq!(summaries.len(), 1, "{resource}");
            let summarized: BTreeSet<String> = summaries[0]["body"]["detail"]["findingArns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            assert_eq!(&summarized, arns, "{resource}");
        } else {
            assert!(summaries.is_empty(), "{resource}");
            assert_eq!(&own, arns, "{resource}");
        }
    }
    // A target that takes Inspector's events only gets every finding's own.
    let own: BTreeSet<String> = receiver
        .requests("/inspector-only")
        .iter()
        .filter(|r| detail_type(r) == "Inspector2 Finding")
        .map(|r| {
            r["body"]["detail"]["findingArn"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(own, serve::arns(&active));
    // Jira: one issue per finding, however many of its events came at once.
    let issues = jira.issues();
    assert_eq!(issues.len(), active.len(), "{issues:#?}");
    for f in &active {
        let arn = f["findingArn"].as_str().unwrap();
        assert_eq!(issues_of(&issues, arn).len(), 1, "{arn}");
    }
}
