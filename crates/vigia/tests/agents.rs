//! Host agents end to end: `vigia agent` reading the shared host snapshot
//! (unpacked as a root filesystem) checks in with `vigia serve`, which
//! also scans the same snapshot agentlessly from a watched folder: both
//! ways give the same package findings. A package removed from the dpkg
//! database is seen by inotify and its findings close; a silent agent's
//! host becomes STALE_INVENTORY with its findings kept.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod serve;
use serve::{Home, Server, list, start_with, token};

fn coverage(s: &Server, token: &str) -> Vec<Value> {
    let (status, body) = s.call("POST", "/coverage/list", Some(token), Some(&json!({})));
    assert_eq!(status, 200, "{body}");
    body["coveredResources"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn reason(s: &Server, token: &str, id: &str) -> Option<(String, String)> {
    coverage(s, token)
        .iter()
        .find(|c| c["resourceId"] == id)
        .map(|c| {
            (
                c["scanStatus"]["statusCode"].as_str().unwrap().to_owned(),
                c["scanStatus"]["reason"].as_str().unwrap().to_owned(),
            )
        })
}

fn wait(what: &str, s: &Server, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !check() {
        assert!(
            Instant::now() < deadline,
            "{what} never happened\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn keys(findings: &[Value]) -> BTreeSet<(String, String, String)> {
    findings
        .iter()
        .filter(|f| f["type"] == "PACKAGE_VULNERABILITY" && f["status"] == "ACTIVE")
        .map(|f| {
            let p = &f["packageVulnerabilityDetails"]["vulnerablePackages"][0];
            (
                f["packageVulnerabilityDetails"]["vulnerabilityId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn agent(server: &Server, token: &str, root: &Path, more: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_vigia"));
    c.args([
        "agent",
        "--server",
        &server.base,
        "--token",
        token,
        "--root",
    ])
    .arg(root)
    .args(["--host-id", "web-7"])
    .args(more)
    .stdin(Stdio::null());
    c
}

/// Sets a package's version in a dpkg status file, as an upgrade leaves it
/// (written beside and renamed over, as dpkg does).
fn upgrade(status: &Path, package: &str, version: &str) {
    let text = fs_err::read_to_string(status).unwrap();
    let mut found = false;
    let stanzas: Vec<String> = text
        .split("\n\n")
        .map(|stanza| {
            if !stanza.lines().any(|l| l == format!("Package: {package}")) {
                return stanza.to_owned();
            }
            found = true;
            stanza
                .lines()
                .map(|l| {
                    if l.starts_with("Version: ") {
                        format!("Version: {version}")
                    } else {
                        l.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    assert!(found, "{package} is in the status file");
    let tmp = status.with_extension("new");
    fs_err::write(&tmp, stanzas.join("\n\n")).unwrap();
    fs_err::rename(&tmp, status).unwrap();
}

#[test]
fn an_agent_checks_in_its_host_and_keeps_it_current() {
    let home = Home::sqlite();
    let admin = token(&home, "admin");
    let agent_token = token(&home, "agent");
    // The agentless way: the same snapshot in a watched folder.
    let watch = tempfile::tempdir().unwrap();
    let snapshot = vigia_test_support::shared_dir().join("targets/host-snapshot.tar.gz");
    fs_err::copy(&snapshot, watch.path().join("host-snapshot.tar.gz")).unwrap();
    let root = tempfile::tempdir().unwrap();
    let out = Command::new("tar")
        .arg("xzf")
        .arg(&snapshot)
        .arg("-C")
        .arg(root.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = start_with(
        &home,
        &vigia_test_support::vulndata(),
        watch.path(),
        &["--agent-stale-after", "4", "--agent-inactive-after", "8"],
        &[],
    );
    wait("the agentless scan", &server, || {
        coverage(&server, &admin)
            .iter()
            .any(|c| c["scanStatus"]["reason"] == "SUCCESSFUL")
    });
    let agentless = coverage(&server, &admin)[0]["resourceId"]
        .as_str()
        .unwrap()
        .to_owned();

    // --once: one check-in, evaluated.
    let out = agent(
        &server,
        &agent_token,
        root.path(),
        &["--once", "-f", "json"],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(first["resourceId"], "web-7");
    assert_eq!(first["queued"], true);
    wait("the check-in's evaluation", &server, || {
        reason(&server, &admin, "web-7") == Some(("ACTIVE".into(), "SUCCESSFUL".into()))
    });
    let by_agent = list(&server, &admin, &serve::eq("resourceId", "web-7"));
    let by_scan = list(&server, &admin, &serve::eq("resourceId", &agentless));
    assert!(!by_agent.is_empty());
    assert_eq!(
        keys(&by_agent),
        keys(&by_scan),
        "the agent and the agentless scan disagree"
    );
    // Nothing changed: taken, not evaluated again.
    let out = agent(
        &server,
        &agent_token,
        root.path(),
        &["--once", "-f", "json"],
    )
    .output()
    .unwrap();
    let second: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(second["queued"], false);
    assert_eq!(second["inventoryId"], first["inventoryId"]);
    let (_, agents) = server.call("GET", "/v1/agents", Some(&admin), None);
    assert_eq!(agents["agents"][0]["hostId"], "web-7", "{agents}");
    // A difference against an inventory the service does not hold: 409.
    let (_, stored) = server.call("GET", "/v1/resource?id=web-7", Some(&admin), None);
    let mut head = stored["inventory"].clone();
    assert!(
        head["packages"].as_array().is_some_and(|p| !p.is_empty()),
        "{stored}"
    );
    head["packages"] = json!([]);
    let (status, body) = server.call(
        "POST",
        "/v1/agent/checkin",
        Some(&agent_token),
        Some(
            &json!({"hostId": "web-7", "agentVersion": "0", "interfaces": [],
                     "inventory": head, "base": "not-the-one", "added": [], "removed": []}),
        ),
    );
    assert_eq!(status, 409, "{body}");
    // Check-ins need an agent (or admin) token.
    let viewer = token(&home, "viewer");
    let (status, _) = server.call("POST", "/v1/agent/checkin", Some(&viewer), Some(&json!({})));
    assert_eq!(status, 403);

    // Running: a package purged from the dpkg database is seen within
    // seconds (inotify), sent as a difference, and its findings close.
    let mut running = agent(
        &server,
        &agent_token,
        root.path(),
        // No -v: an agent logs its check-ins by default.
        &["--debounce", "200", "--heartbeat", "1"],
    )
    .stdout(Stdio::null())
    .stderr(
        fs_err::File::create(home.dir.path().join("agent.log"))
            .unwrap()
            .into_parts()
            .0,
    )
    .spawn()
    .unwrap();
    // An OS package upgraded (the shared snapshot's OS findings have no
    // fixed version yet: the upgraded version is still affected, and its
    // findings say so).
    let pkg = |f: &Value| f["packageVulnerabilityDetails"]["vulnerablePackages"][0].clone();
    let target = by_agent
        .iter()
        .map(pkg)
        .find(|p| p["packageManager"] == "OS")
        .expect("an OS package finding");
    let victim = target["name"].as_str().unwrap().to_owned();
    let status = root.path().join("var/lib/dpkg/status");
    let old = fs_err::read_to_string(&status)
        .unwrap()
        .split("\n\n")
        .find(|s| s.lines().any(|l| l == format!("Package: {victim}")))
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Version: ").map(str::to_owned))
        })
        .unwrap();
    let new = format!("{old}+vigia1");
    std::thread::sleep(Duration::from_secs(2));
    upgrade(&status, &victim, &new);
    wait("the upgrade in the findings", &server, || {
        let now = list(&server, &admin, &serve::eq("resourceId", "web-7"));
        let of_victim: Vec<Value> = now
            .iter()
            .filter(|f| f["status"] == "ACTIVE")
            .map(pkg)
            .filter(|p| p["name"] == victim.as_str())
            .collect();
        !of_victim.is_empty()
            && of_victim.iter().all(|p| {
                let full = format!(
                    "{}{}",
                    p["version"].as_str().unwrap_or_default(),
                    p["release"]
                        .as_str()
                        .map(|r| format!("-{r}"))
                        .unwrap_or_default()
                );
                full.ends_with("+vigia1")
            })
    });
    let now = list(&server, &admin, &serve::eq("resourceId", "web-7"));
    assert!(
        now.iter().any(|f| f["status"] == "ACTIVE"),
        "the other packages' findings stay"
    );

    // The agent stops: STALE_INVENTORY, then INACTIVE, findings kept.
    let _ = running.kill();
    let _ = running.wait();
    // Every check-in after the first was a difference the service applied.
    let log = fs_err::read_to_string(home.dir.path().join("agent.log")).unwrap();
    assert!(log.matches("checked in").count() >= 3, "{log}");
    assert!(!log.contains("sending all of it"), "{log}");
    wait("STALE_INVENTORY", &server, || {
        reason(&server, &admin, "web-7") == Some(("ACTIVE".into(), "STALE_INVENTORY".into()))
    });
    wait("INACTIVE", &server, || {
        reason(&server, &admin, "web-7") == Some(("INACTIVE".into(), "STALE_INVENTORY".into()))
    });
    let kept = list(&server, &admin, &serve::eq("resourceId", "web-7"));
    assert_eq!(keys(&kept), keys(&now));
    // Back: SUCCESSFUL again.
    let out = agent(&server, &agent_token, root.path(), &["--once"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        reason(&server, &admin, "web-7"),
        Some(("ACTIVE".into(), "SUCCESSFUL".into()))
    );

    // The host is bound to its agent's token: another agent token may not
    // speak for it (hide its packages) while that one is active.
    let other = token(&home, "agent");
    let (_, stored) = server.call("GET", "/v1/resource?id=web-7", Some(&admin), None);
    let mut emptied = stored["inventory"].clone();
    emptied["packages"] = json!([]);
    let hide =
        json!({"hostId": "web-7", "agentVersion": "0", "interfaces": [], "inventory": emptied});
    let (status, body) = server.call("POST", "/v1/agent/checkin", Some(&other), Some(&hide));
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("another agent token"),
        "{body}"
    );
    assert_eq!(
        keys(&list(&server, &admin, &serve::eq("resourceId", "web-7"))),
        keys(&kept)
    );
    // Once that token is revoked, the host moves to the new one.
    let (_, tokens) = server.call("GET", "/v1/tokens", Some(&admin), None);
    let bound = agent_token
        .strip_prefix("vgt_")
        .and_then(|t| t.split_once('_'))
        .unwrap()
        .0;
    assert!(tokens.to_string().contains(bound), "{tokens}");
    let (status, body) = server.call(
        "POST",
        "/v1/tokens/revoke",
        Some(&admin),
        Some(&json!({"id": bound})),
    );
    assert_eq!(status, 200, "{body}");
    let out = agent(&server, &other, root.path(), &["--once"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One change, one check-in: the agent's own reading of the host at a
/// check-in is no change (it used to wake the agent again, for ever).
#[test]
fn a_change_makes_one_check_in() {
    let home = Home::sqlite();
    let agent_token = token(&home, "agent");
    let root = tempfile::tempdir().unwrap();
    let snapshot = vigia_test_support::shared_dir().join("targets/host-snapshot.tar.gz");
    let out = Command::new("tar")
        .arg("xzf")
        .arg(&snapshot)
        .arg("-C")
        .arg(root.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let watch = tempfile::tempdir().unwrap();
    let server = start_with(
        &home,
        &vigia_test_support::vulndata(),
        watch.path(),
        &[],
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.call("GET", "/readyz", None, None).0 != 200 {
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = home.dir.path().join("agent-once.log");
    let mut running = agent(
        &server,
        &agent_token,
        root.path(),
        &["--debounce", "100", "--heartbeat", "3600"],
    )
    .stdout(Stdio::null())
    .stderr(fs_err::File::create(&log).unwrap().into_parts().0)
    .spawn()
    .unwrap();
    let check_ins = || {
        fs_err::read_to_string(&log)
            .unwrap_or_default()
            .matches("checked in")
            .count()
    };
    let until = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while check_ins() < n {
            assert!(
                Instant::now() < deadline,
                "{}",
                fs_err::read_to_string(&log).unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    until(1);
    std::thread::sleep(Duration::from_secs(1));
    // The package database written in place, no package changed.
    let status = root.path().join("var/lib/dpkg/status");
    let mut f = fs_err::OpenOptions::new()
        .append(true)
        .open(&status)
        .unwrap();
    std::io::Write::write_all(&mut f, b"\n").unwrap();
    drop(f);
    until(2);
    std::thread::sleep(Duration::from_secs(3));
    let _ = running.kill();
    let _ = running.wait();
    assert_eq!(check_ins(), 2, "{}", fs_err::read_to_string(&log).unwrap());
}

#[test]
fn the_systemd_unit_is_valid() {
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist/vigia-agent.service");
    let text = fs_err::read_to_string(&unit).unwrap();
    assert!(text.contains("ExecStart=/usr/local/bin/vigia agent"));
    // systemd's own checker, with the binary under test in place.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("vigia-agent.service");
    fs_err::write(
        &copy,
        text.replace("/usr/local/bin/vigia", env!("CARGO_BIN_EXE_vigia")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify"])
        .arg(&copy)
        .output()
        .expect("systemd-analyze runs (.ci/run installs systemd)");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
