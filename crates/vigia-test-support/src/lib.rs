//! Helpers for Vigia's tests: the shared fixtures, a real nginx on 127.0.0.1, mirror copies.

use std::collections::BTreeMap;
use std::io::Write as _;

use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `shared/` folder beside the repository (`VIGIA_SHARED_DIR` overrides).
#[must_use]
pub fn shared_dir() -> PathBuf {
    if let Ok(d) = std::env::var("VIGIA_SHARED_DIR") {
        return PathBuf::from(d);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = repo.join("../shared");
    assert!(
        dir.join("vulndata/manifest.json").is_file(),
        "the shared fixtures are missing: expected {}",
        dir.display()
    );
    dir
}

/// The real advisory mirror.
#[must_use]
pub fn vulndata() -> PathBuf {
    shared_dir().join("vulndata")
}

/// The mirror's `manifest.json`.
#[must_use]
pub fn manifest() -> serde_json::Value {
    let text = fs_err::read_to_string(vulndata().join("manifest.json"))
        .expect("manifest.json is readable");
    serde_json::from_str(&text).expect("manifest.json is JSON")
}

/// Copies a folder tree (regular files and folders), making the copy writable.
pub fn copy_dir(from: &Path, to: &Path) {
    fs_err::create_dir_all(to).unwrap();
    for entry in fs_err::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let ty = entry.file_type().unwrap();
        let dest = to.join(entry.file_name());
        if ty.is_dir() {
            copy_dir(&entry.path(), &dest);
        } else if ty.is_file() {
            fs_err::copy(entry.path(), &dest).unwrap();
            let mut perms = fs_err::metadata(&dest).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            fs_err::set_permissions(&dest, perms).unwrap();
        }
    }
}

/// A copy of the mirror's data files (not its `tools/`) in a new temporary folder.
#[must_use]
pub fn mirror_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in fs_err::read_dir(vulndata()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "tools" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dir.path().join(&name));
        } else {
            fs_err::copy(entry.path(), dir.path().join(&name)).unwrap();
        }
    }
    dir
}

/// A free TCP port on 127.0.0.1.
#[must_use]
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on `port`.
pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nothing listens on 127.0.0.1:{port}");
}

/// A real nginx serving a folder on 127.0.0.1, stopped on drop.
pub struct Nginx {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    prefix: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx (Debian's `nginx` or `nginx-light`) serving `root`, with
    /// `ETag`, Last-Modified and an access log of every request.
    #[must_use]
    pub fn serve(root: &Path) -> Self {
        let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("nginx is not installed: `apt-get install nginx-light` (.ci/run does this)");
        let prefix = tempfile::tempdir().unwrap();
        let port = free_port();
        let p = prefix.path();
        for d in ["logs", "tmp"] {
            fs_err::create_dir_all(p.join(d)).unwrap();
        }
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\nerror_log {p}/logs/error.log;\npid {p}/nginx.pid;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log {p}/logs/access.log;\n  client_body_temp_path {p}/tmp/body;\n  proxy_temp_path {p}/tmp/proxy;\n\
             fastcgi_temp_path {p}/tmp/fastcgi;\n  uwsgi_temp_path {p}/tmp/uwsgi;\n  scgi_temp_path {p}/tmp/scgi;\n\
             types {{ application/json json; application/zip zip; application/gzip gz; }}\n\
             server {{\n    listen 127.0.0.1:{port};\n    root {root};\n    etag on;\n  }}\n}}\n",
            p = p.display(),
            root = root.display(),
        );
        fs_err::write(p.join("nginx.conf"), conf).unwrap();
        let child = Command::new(nginx)
            .args([
                "-p",
                &p.display().to_string(),
                "-c",
                &p.join("nginx.conf").display().to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx starts");
        wait_for_port(port);
        Self {
            child,
            port,
            prefix,
        }
    }

    /// The base URL.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The access log so far: one line per request.
    #[must_use]
    pub fn access_log(&self) -> String {
        fs_err::read_to_string(self.prefix.path().join("logs/access.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real PostgreSQL server (Debian's `postgresql`) in a temporary folder,
/// listening on a free 127.0.0.1 port with trust authentication; stopped on drop.
/// As root, the server runs as the `postgres` user (PostgreSQL refuses root).
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    run_as_postgres_user: bool,
    /// The port it listens on.
    pub port: u16,
}

impl Postgres {
    /// Initialises and starts a new cluster.
    #[must_use]
    pub fn start() -> Self {
        let mut bins: Vec<PathBuf> = fs_err::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is not installed: `apt-get install postgresql` (.ci/run does this)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists())
            .collect();
        bins.sort();
        let bin = bins
            .pop()
            .expect("no initdb under /usr/lib/postgresql/*/bin");
        let dir = tempfile::tempdir().unwrap();
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if is_root {
            let st = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(st.success(), "chown to postgres failed");
        }
        let pg = Self {
            dir,
            bin,
            run_as_postgres_user: is_root,
            port: free_port(),
        };
        let data = pg.dir.path().join("data");
        pg.run(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            pg.port,
            pg.dir.path().display()
        );
        let log = pg.dir.path().join("server.log");
        pg.run(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-o",
                &opts,
                "-l",
                &log.display().to_string(),
                "-w",
                "start",
            ],
        );
        pg
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let out = if self.run_as_postgres_user {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(args)
                .current_dir(self.dir.path())
                .output()
        } else {
            Command::new(&exe)
                .args(args)
                .current_dir(self.dir.path())
                .output()
        }
        .unwrap_or_else(|e| panic!("{tool} did not run: {e}"));
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A connection URL for the `postgres` database.
    #[must_use]
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    fn url_of(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates another database on the server; returns its URL.
    #[must_use]
    pub fn create_database(&self, name: &str) -> String {
        let port = self.port.to_string();
        let host = self.dir.path().display().to_string();
        self.run(
            "createdb",
            &["-h", &host, "-p", &port, "-U", "postgres", name],
        );
        self.url_of(name)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data").display().to_string();
        let exe = self.bin.join("pg_ctl");
        let _ = if self.run_as_postgres_user {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&exe)
                .args(["-D", &data, "-m", "immediate", "stop"])
                .output()
        } else {
            Command::new(&exe)
                .args(["-D", &data, "-m", "immediate", "stop"])
                .output()
        };
    }
}

/// A real OCI registry (Debian's `docker-registry`, the CNCF distribution
/// server) on a free 127.0.0.1 port, plain HTTP, optionally with htpasswd or
/// bearer-token authentication; stopped on drop.
pub struct Registry {
    child: Child,
    token_server: Option<Child>,
    _dir: tempfile::TempDir,
    /// `127.0.0.1:PORT`.
    pub host: String,
}

impl Registry {
    /// Starts a registry; with `user` set, it requires that user and password.
    #[must_use]
    pub fn start(user: Option<(&str, &str)>) -> Self {
        Self::start_with(user, false)
    }

    /// Starts a registry that wants bearer tokens, and the token server that
    /// issues them (`assets/token-server.py`, RS256 with a fresh key) to
    /// `user` with its password, as Docker Hub and GHCR do.
    #[must_use]
    pub fn start_with_token_auth(user: (&str, &str)) -> Self {
        Self::start_with(Some(user), true)
    }

    /// A registry with more configuration (YAML top-level sections such as
    /// `notifications:`), manifests deletable, and `user` as in
    /// [`Registry::start`].
    #[must_use]
    pub fn start_configured(user: Option<(&str, &str)>, extra: &str) -> Self {
        Self::start_full(user, false, extra)
    }

    fn start_with(user: Option<(&str, &str)>, token: bool) -> Self {
        Self::start_full(user, token, "")
    }

    fn start_full(user: Option<(&str, &str)>, token: bool, extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut conf = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{extra}",
            dir.path().join("data").display()
        );
        let mut token_server = None;
        if let (Some((u, p)), true) = (user, token) {
            let key = dir.path().join("token.key");
            let cert = dir.path().join("token.crt");
            let out = Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "1",
                    "-subj",
                    "/CN=vigia-test-token",
                ])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&cert)
                .output()
                .expect("openssl runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let tport = free_port();
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/token-server.py");
            token_server = Some(
                Command::new("python3")
                    .arg(script)
                    .arg(tport.to_string())
                    .arg(&key)
                    .arg(&cert)
                    .args([u, p, "vigia-test-issuer", "vigia-test"])
                    .stdin(Stdio::null())
                    .spawn()
                    .expect("python3 runs the token server"),
            );
            wait_for_port(tport);
            conf.push_str(&format!(
                "auth:\n  token:\n    realm: http://127.0.0.1:{tport}/token\n    service: vigia-test\n    issuer: vigia-test-issuer\n    rootcertbundle: {}\n",
                cert.display()
            ));
        } else if let Some((u, p)) = user {
            let htpasswd = dir.path().join("htpasswd");
            let out = Command::new("htpasswd")
                .args(["-Bbn", u, p])
                .output()
                .expect("htpasswd (apache2-utils) runs");
            assert!(out.status.success());
            fs_err::write(&htpasswd, out.stdout).unwrap();
            conf.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: vigia-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let conf_path = dir.path().join("config.yml");
        fs_err::write(&conf_path, conf).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry is not installed: `apt-get install docker-registry` (.ci/run does this)");
        wait_for_port(port);
        Self {
            child,
            token_server,
            _dir: dir,
            host: format!("127.0.0.1:{port}"),
        }
    }

    /// Deletes a manifest (`repo@digest` or `repo:tag`, whose manifest goes)
    /// with a real client (`skopeo delete`).
    pub fn delete(&self, reference: &str, creds: Option<(&str, &str)>) {
        let mut cmd = Command::new("skopeo");
        cmd.args(["delete", "--tls-verify=false"]);
        if let Some((u, p)) = creds {
            cmd.arg(format!("--creds={u}:{p}"));
        }
        let out = cmd
            .arg(format!("docker://{}/{reference}", self.host))
            .output()
            .expect("skopeo runs");
        assert!(
            out.status.success(),
            "skopeo delete failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Pushes an OCI layout's tagged image with a real client (`skopeo copy`).
    pub fn push(
        &self,
        layout: &Path,
        layout_ref: &str,
        repo_tag: &str,
        creds: Option<(&str, &str)>,
    ) {
        let mut cmd = Command::new("skopeo");
        cmd.args(["--insecure-policy", "copy", "--dest-tls-verify=false"]);
        if let Some((u, p)) = creds {
            cmd.arg(format!("--dest-creds={u}:{p}"));
        }
        let out = cmd
            .arg(format!("oci:{}:{layout_ref}", layout.display()))
            .arg(format!("docker://{}/{repo_tag}", self.host))
            .output()
            .expect("skopeo is not installed: `apt-get install skopeo` (.ci/run does this)");
        assert!(
            out.status.success(),
            "skopeo copy failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(t) = &mut self.token_server {
            let _ = t.kill();
            let _ = t.wait();
        }
    }
}

/// Asserts that a JSON document is valid against one of the official schemas
/// in `../shared/schemas` (`scripts/validate-json.py`, Python's `jsonschema`).
pub fn validate_json_schema(schema: &str, doc: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/validate-json.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(shared_dir().join("schemas").join(schema))
        .arg(doc)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{} is not valid against {schema}:\n{}{}",
        doc.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A data directory with a database built by `vigia` (the binary under test)
/// from the real mirror: `vigia --data-dir DIR db update --mirror ../shared/vulndata`.
#[must_use]
pub fn database_from_mirror(vigia: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(vigia)
        .arg("--data-dir")
        .arg(dir.path())
        .args(["db", "update", "--mirror"])
        .arg(vulndata())
        .stdin(Stdio::null())
        .output()
        .expect("vigia runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// A zip's entries, in order: (name, content).
#[must_use]
pub fn read_zip(path: &Path) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut z = zip::ZipArchive::new(fs_err::File::open(path).unwrap()).unwrap();
    (0..z.len())
        .map(|i| {
            let mut e = z.by_index(i).unwrap();
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            (e.name().unwrap().into_owned(), body)
        })
        .collect()
}

/// Rewrites a zip with `entries`, deflated.
pub fn write_zip(path: &Path, entries: &[(String, Vec<u8>)]) {
    use std::io::Write;
    let f = fs_err::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    for (name, body) in entries {
        z.start_file(
            name.as_str(),
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated),
        )
        .unwrap();
        z.write_all(body).unwrap();
    }
    z.finish().unwrap();
}

/// Changes a mirror's `npm/all.zip` as upstream does between two exports: one
/// record removed, one withdrawn. Returns the removed record's ID.
#[must_use]
pub fn change_npm_export(mirror: &Path) -> String {
    let npm = mirror.join("npm/all.zip");
    let mut entries = read_zip(&npm);
    let dropped = entries.remove(0).0;
    let (name, body) = entries[0].clone();
    let mut rec: serde_json::Value = serde_json::from_slice(&body).unwrap();
    rec["withdrawn"] = serde_json::Value::String("2026-11-01T00:00:00Z".into());
    entries[0] = (name, serde_json::to_vec(&rec).unwrap());
    // nginx's ETag is mtime+size: make sure the mtime moves.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    write_zip(&npm, &entries);
    dropped.trim_end_matches(".json").to_owned()
}

/// A single-threaded runtime and a one-connection pool on the database at `url`.
fn open_database(url: &str) -> (tokio::runtime::Runtime, sqlx::AnyPool) {
    sqlx::any::install_default_drivers();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pool = rt
        .block_on(
            sqlx::any::AnyPoolOptions::new()
                .max_connections(1)
                .connect(url),
        )
        .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    (rt, pool)
}

/// The rows of one database's advisory tables, as [`dump_advisory_tables`] gives them.
pub type TableDump = BTreeMap<String, Vec<Vec<Option<String>>>>;

/// Every row of the advisory tables of the database at `url` (`sqlite://…` or
/// `postgres://…`), each row as its columns cast to text, sorted: two databases
/// with equal dumps hold the same advisories, scores and alias groups.
#[must_use]
pub fn dump_advisory_tables(url: &str) -> TableDump {
    use sqlx::{Column, Row};
    let (rt, pool) = open_database(url);
    rt.block_on(async {
        let mut out = BTreeMap::new();
        for table in [
            "advisories",
            "affected",
            "advisory_ids",
            "cvss",
            "kev",
            "epss",
            "vuln_groups",
        ] {
            // Column names from the table itself (it has rows in every test mirror).
            let first = sqlx::query(&format!("SELECT * FROM {table} LIMIT 1"))
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("{table}: {e}"));
            let cols: Vec<String> = first
                .columns()
                .iter()
                .map(|c| format!("CAST({} AS TEXT)", c.name()))
                .collect();
            let rows = sqlx::query(&format!("SELECT {} FROM {table}", cols.join(", ")))
                .fetch_all(&pool)
                .await
                .unwrap();
            let mut rows: Vec<Vec<Option<String>>> = rows
                .iter()
                .map(|r| (0..cols.len()).map(|i| r.try_get(i).unwrap()).collect())
                .collect();
            rows.sort();
            out.insert(table.to_owned(), rows);
        }
        pool.close().await;
        out
    })
}

/// Fails unless the update from `before` to `after` applied
/// [`change_npm_export`]'s change, whose removed record is `gone`.
pub fn assert_npm_change_applied(before: &TableDump, after: &TableDump, gone: &str) {
    assert_ne!(before, after, "the npm change must show");
    assert!(
        !after["advisories"]
            .iter()
            .any(|r| r[1].as_deref() == Some(gone)),
        "{gone} was removed upstream"
    );
}

/// Fails, naming the table, unless `incremental` holds exactly the rows of `cold`.
pub fn assert_same_rows(incremental: &TableDump, cold: &TableDump) {
    for (table, rows) in cold {
        assert!(
            incremental[table] == *rows,
            "{table}: the incremental update differs from a cold build"
        );
    }
}

/// Runs one SQL statement on the database at `url`.
pub fn execute_sql(url: &str, sql: &str) {
    let (rt, pool) = open_database(url);
    rt.block_on(async {
        sqlx::query(sql)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        pool.close().await;
    });
}

/// Fails with the command's standard error unless it exited with 0.
#[track_caller]
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds a real Go binary (a module without dependencies: no module proxy is
/// reachable) with Debian's Go toolchain into `out`, working in `dir`.
/// Returns the toolchain's version (`1.19.8`), which the binary records as
/// its `stdlib`.
#[must_use = "the toolchain's version is what the binary records"]
pub fn go_build(dir: &Path, out: &Path) -> String {
    let src = dir.join("go-src");
    fs_err::create_dir_all(&src).unwrap();
    fs_err::write(src.join("go.mod"), "module example.com/hello\n\ngo 1.19\n").unwrap();
    fs_err::write(
        src.join("main.go"),
        "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hi\") }\n",
    )
    .unwrap();
    let go = |args: &[&str]| {
        Command::new("go")
            .args(args)
            .current_dir(&src)
            .env("GOCACHE", dir.join("go-cache"))
            .env("GOPATH", dir.join("go-path"))
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-buildvcs=false")
            .env("GOTOOLCHAIN", "local")
            .env("CGO_ENABLED", "0")
            .output()
            .expect("Debian's golang-go is installed (.ci/run does this)")
    };
    assert_success(&go(&["build", "-o", out.to_str().unwrap(), "."]));
    let version = String::from_utf8(go(&["env", "GOVERSION"]).stdout).unwrap();
    version.trim().trim_start_matches("go").to_owned()
}

// Building images in tests: tar layers, gzip, OCI layouts.

/// A tar archive of regular files (mode 0644).
#[must_use]
pub fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    append_files(&mut b, files);
    b.into_inner().unwrap()
}

/// Appends `files` to a tar archive as regular files (mode 0644).
pub fn append_files(b: &mut tar::Builder<Vec<u8>>, files: &[(&str, &[u8])]) {
    for (path, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, *data).unwrap();
    }
}

#[must_use]
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// `sha256:<hex>` of `data`.
#[must_use]
pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// Writes an OCI layout whose blobs are `layers` (as stored) and whose config
/// claims `diff_ids`. Every descriptor's digest and size are the blob's own:
/// only the claims about content may lie.
pub fn write_layout(dir: &Path, layers: &[Vec<u8>], diff_ids: &[String]) {
    write_layout_for(dir, layers, diff_ids, "amd64");
}

/// [`write_layout`] for an image of architecture `arch`.
pub fn write_layout_for(dir: &Path, layers: &[Vec<u8>], diff_ids: &[String], arch: &str) {
    write_layout_with(dir, layers, diff_ids, arch, &json!({}), &json!([]));
}

/// [`write_layout_for`] with the config's `config` section (environment,
/// command) and its build `history`.
pub fn write_layout_with(
    dir: &Path,
    layers: &[Vec<u8>],
    diff_ids: &[String],
    arch: &str,
    run: &Value,
    history: &Value,
) {
    let blobs = dir.join("blobs/sha256");
    fs_err::create_dir_all(&blobs).unwrap();
    let put = |data: &[u8]| -> Value {
        let digest = sha256(data);
        fs_err::write(blobs.join(digest.strip_prefix("sha256:").unwrap()), data).unwrap();
        json!({"digest": digest, "size": data.len()})
    };
    let config = serde_json::to_vec(&json!({
        "architecture": arch,
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "config": run,
        "history": history,
    }))
    .unwrap();
    let mut config_desc = put(&config);
    config_desc["mediaType"] = json!("application/vnd.oci.image.config.v1+json");
    let layer_descs: Vec<Value> = layers
        .iter()
        .map(|l| {
            let mut d = put(l);
            d["mediaType"] = json!("application/vnd.oci.image.layer.v1.tar+gzip");
            d
        })
        .collect();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config_desc,
        "layers": layer_descs,
    }))
    .unwrap();
    let mut manifest_desc = put(&manifest);
    manifest_desc["mediaType"] = json!("application/vnd.oci.image.manifest.v1+json");
    fs_err::write(
        dir.join("index.json"),
        serde_json::to_vec(&json!({"schemaVersion": 2, "manifests": [manifest_desc]})).unwrap(),
    )
    .unwrap();
    fs_err::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}
