//! Running `vigia serve` in tests: a home (data directory, and PostgreSQL
//! when given), tokens, the service on a free port with its log, API calls,
//! and waiting for coverage. Shared by the service's end-to-end tests.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) log: PathBuf,
    pub(crate) base: String,
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) client: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        self.call_raw(method, path, token, body.map(Value::to_string))
    }

    pub(crate) fn call_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> (u16, Value) {
        self.rt.block_on(async {
            let url = format!("{}{path}", self.base);
            let mut req = if method == "GET" {
                self.client.get(url)
            } else {
                self.client.post(url)
            };
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(b) = body {
                req = req.header("content-type", "application/json").body(b);
            }
            let resp = req.send().await.expect("the service answers");
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        })
    }

    /// The service's log so far, for failure messages.
    pub(crate) fn log(&self) -> String {
        fs_err::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn metric(&self, token: &str, name: &str) -> u64 {
        let (_, text) = self.call("GET", "/metrics", Some(token), None);
        text.as_str()
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no metric {name}"))
    }
}

/// Where a service keeps its data: a data directory, and a PostgreSQL
/// database for both its advisories and its state when `url` is set.
pub(crate) struct Home {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) url: Option<String>,
}

impl Home {
    pub(crate) fn sqlite() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            url: None,
        }
    }

    pub(crate) fn args(&self) -> Vec<String> {
        let mut a = vec![
            "--data-dir".to_owned(),
            self.dir.path().display().to_string(),
        ];
        if let Some(u) = &self.url {
            a.extend(["--database-url".to_owned(), u.clone()]);
        }
        a
    }
}

pub(crate) fn vigia(home: &Home, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vigia"))
        .args(home.args())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub(crate) fn token(home: &Home, role: &str) -> String {
    let out = vigia(
        home,
        &[
            "token", "create", "--role", role, "--name", role, "-f", "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["token"].as_str().unwrap().to_owned()
}

/// `vigia serve` on a free port, logging to `serve.log` in its home.
pub(crate) fn start(home: &Home, mirror: &Path, watch: &Path) -> Server {
    start_with(home, mirror, watch, &[], &[])
}

/// [`start`] with more arguments and environment variables for the service.
pub(crate) fn start_with(
    home: &Home,
    mirror: &Path,
    watch: &Path,
    more: &[&str],
    env: &[(&str, &str)],
) -> Server {
    let port = vigia_test_support::free_port();
    let listen = format!("127.0.0.1:{port}");
    let watch = watch.display().to_string();
    let mut args = vec!["--listen", &listen, "--watch", &watch];
    args.extend_from_slice(more);
    serve_on_with(home, mirror, port, &args, env)
}

/// `vigia serve` with `args` (which listen on `port`), once it answers.
pub(crate) fn serve_on(home: &Home, mirror: &Path, port: u16, args: &[&str]) -> Server {
    serve_on_with(home, mirror, port, args, &[])
}

/// [`serve_on`] with environment variables set for the service.
pub(crate) fn serve_on_with(
    home: &Home,
    mirror: &Path,
    port: u16,
    args: &[&str],
    env: &[(&str, &str)],
) -> Server {
    attach(home, spawn_serve_with(home, mirror, args, env), port)
}

/// A service started as `child`, listening on `port`, once it answers.
pub(crate) fn attach(home: &Home, child: Child, port: u16) -> Server {
    vigia_test_support::wait_for_port(port);
    Server {
        child,
        log: home.dir.path().join("serve.log"),
        base: format!("http://127.0.0.1:{port}"),
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        client: reqwest::Client::new(),
    }
}

pub(crate) fn spawn_serve(home: &Home, mirror: &Path, args: &[&str]) -> Child {
    spawn_serve_with(home, mirror, args, &[])
}

fn spawn_serve_with(home: &Home, mirror: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vigia"))
        .envs(env.iter().copied())
        .args(home.args())
        .args(["serve", "--poll-every", "1", "--mirror"])
        .arg(mirror)
        .args(args)
        // serve logs at info by default.
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(
            fs_err::File::create(home.dir.path().join("serve.log"))
                .unwrap()
                .into_parts()
                .0,
        )
        .spawn()
        .unwrap()
}

/// Waits until every covered resource has the given reason (and there are `n`).
pub(crate) fn wait_coverage(s: &Server, token: &str, n: usize, reason: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (status, body) = s.call("POST", "/coverage/list", Some(token), Some(&json!({})));
        assert_eq!(status, 200, "{body}");
        let items = body["coveredResources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if items.len() == n && items.iter().all(|i| i["scanStatus"]["reason"] == reason) {
            return items;
        }
        assert!(
            Instant::now() < deadline,
            "coverage never reached {reason}: {items:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Every finding matching `criteria`, through every page.
pub(crate) fn list(s: &Server, token: &str, criteria: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        // A cursor that does not advance would page for ever.
        assert!(out.len() < 100_000, "paging does not end");
        let mut req = json!({ "filterCriteria": criteria, "maxResults": 7, "sortCriteria": {"field": "SEVERITY", "sortOrder": "DESC"} });
        if let Some(t) = &next {
            req["nextToken"] = json!(t);
        }
        let (status, body) = s.call("POST", "/findings/list", Some(token), Some(&req));
        assert_eq!(status, 200, "{body}");
        out.extend(body["findings"].as_array().cloned().unwrap_or_default());
        match body["nextToken"].as_str() {
            Some(t) => next = Some(t.to_owned()),
            None => return out,
        }
    }
}

pub(crate) fn eq(key: &str, value: &str) -> Value {
    json!({ key: [{"comparison": "EQUALS", "value": value}] })
}

pub(crate) fn arns(findings: &[Value]) -> BTreeSet<String> {
    findings
        .iter()
        .map(|f| f["findingArn"].as_str().unwrap().to_owned())
        .collect()
}

/// The npm export as upstream changes it between two days: GHSA-29mw-wpgm-hmr9
/// (CVE-2020-28500, lodash) withdrawn, and GHSA-p6mc-m468-83gw (CVE-2020-8203)
/// fixed in 4.17.21 instead of 4.17.20, so lodash 4.17.20 becomes affected.
pub(crate) fn change_lodash_records(mirror: &Path) {
    let npm = mirror.join("npm/all.zip");
    let mut entries = vigia_test_support::read_zip(&npm);
    for (name, body) in &mut entries {
        let mut rec: Value = serde_json::from_slice(body).unwrap();
        if name.starts_with("GHSA-29mw-wpgm-hmr9") {
            rec["withdrawn"] = json!("2026-12-06T00:00:00Z");
        } else if name.starts_with("GHSA-p6mc-m468-83gw") {
            for a in rec["affected"].as_array_mut().unwrap() {
                for r in a["ranges"].as_array_mut().unwrap() {
                    for e in r["events"].as_array_mut().unwrap() {
                        if e.get("fixed").is_some() {
                            e["fixed"] = json!("4.17.21");
                        }
                    }
                }
            }
        } else {
            continue;
        }
        *body = serde_json::to_vec(&rec).unwrap();
    }
    vigia_test_support::write_zip(&npm, &entries);
}

pub(crate) fn copy_targets(to: &Path) -> Vec<PathBuf> {
    let shared = vigia_test_support::shared_dir().join("targets");
    fs_err::create_dir_all(to).unwrap();
    vigia_test_support::copy_dir(&shared.join("debian12-app"), &to.join("debian12-app"));
    for f in ["fn-node.zip", "host-snapshot.tar.gz"] {
        fs_err::copy(shared.join(f), to.join(f)).unwrap();
    }
    vec![
        to.join("debian12-app"),
        to.join("fn-node.zip"),
        to.join("host-snapshot.tar.gz"),
    ]
}
