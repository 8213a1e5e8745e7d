//! The service's work: scan watched resources once, keep their inventories,
//! re-evaluate them from the stored inventories when advisories change.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use vigia_engine::{ScanRequest, Scanner, UpdateOptions, UpdateReport, Updater};
use vigia_scan::{FindingType, TargetKind};

use crate::db::{Backend, DbError, StateDb};
use crate::jobs::{Job, JobKind};

pub(crate) mod agents;
mod delivery;
pub(crate) mod exports;
mod functions;
mod gate;
pub(crate) mod registries;
mod rematch;

/// What went wrong in the service.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The state database.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The engine (database, scan, update).
    #[error(transparent)]
    Engine(#[from] vigia_engine::Error),
    /// The service key could not be read or made.
    #[error("cannot read or make the service key {path}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// How the service runs.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The engine's configuration (data directory, advisory database).
    pub engine: vigia_engine::Config,
    /// The state database URL (`sqlite://…/state.db` or `postgres://…`).
    pub state_url: String,
    /// Where advisories come from (a mirror folder or URL; the upstreams when absent).
    pub mirror: Option<String>,
    /// Folders whose images, function zips and root filesystems are watched.
    pub watch: Vec<PathBuf>,
    /// How often watched folders are looked at.
    pub poll_every: Duration,
    /// How often advisories are updated.
    pub update_every: Duration,
    /// What this process does.
    pub role: Role,
    /// How long a worker's claim on a job lasts unless renewed: a killed
    /// worker's job is taken again after it.
    pub lease: Duration,
    /// Above this many findings opened for one resource at once, one
    /// `Vigia Findings Summary` event stands for their events.
    pub summarize_above: usize,
    /// A deployment gate policy to put in force at start (from a file).
    pub gate_policy: Option<crate::gate::Policy>,
    /// Days delivered events are kept in the outbox (pending ones and dead
    /// letters are kept until they are delivered).
    pub events_retention_days: u32,
    /// An S3-compatible endpoint for findings reports and SBOM exports;
    /// without one, buckets are folders under `exports/` in the data
    /// directory.
    pub export_s3_endpoint: Option<String>,
    /// Registries from the configuration file (`--registries FILE`),
    /// added or updated at start.
    pub registries: Vec<crate::registries::Registry>,
    /// A host whose agent has not checked in for this long is
    /// `ACTIVE` / `STALE_INVENTORY`.
    pub agent_stale_after: Duration,
    /// ... and after this long, `INACTIVE` / `STALE_INVENTORY`.
    pub agent_inactive_after: Duration,
    /// No finding events for a resource's first scan.
    pub quiet_first_scans: bool,
}

/// The state database's URL: the `vigia_state` schema of the engine's
/// PostgreSQL when it has one, else `state.db` in the data directory
/// (created).
pub fn state_url(engine: &vigia_engine::Config) -> std::io::Result<String> {
    if let Some(url) = engine
        .database_url
        .as_deref()
        .filter(|u| u.starts_with("postgres"))
    {
        return Ok(url.to_owned());
    }
    fs_err::create_dir_all(&engine.data_dir)?;
    let path = engine.data_dir.join("state.db");
    // Readable by its owner only, as `service.key` is: it holds registry
    // passwords and delivery targets' secrets. SQLite gives its log and
    // shared-memory files the database file's permissions.
    let mut create = fs_err::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    {
        use fs_err::os::unix::fs::OpenOptionsExt;
        create.mode(0o600);
    }
    match create.open(&path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    Ok(format!("sqlite://{}", path.display()))
}

/// A task aborted when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What a `vigia serve` process does. Several processes on one PostgreSQL
/// database share the work through its job table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The API, the watchers and schedules, and a worker.
    All,
    /// The API, the watchers and schedules: jobs are left to workers.
    Api,
    /// A worker (and the watchers and schedules), without the API.
    Worker,
}

impl Role {
    /// `all`, `api` or `worker`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "all" => Some(Self::All),
            "api" => Some(Self::Api),
            "worker" => Some(Self::Worker),
            _ => None,
        }
    }
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Resources read (scans that read a target).
    pub target_reads: AtomicU64,
    /// Stored inventories evaluated again after an update.
    pub rematches: AtomicU64,
    /// Milliseconds the last rematch took.
    pub last_rematch_ms: AtomicU64,
    /// Scans that failed.
    pub scan_failures: AtomicU64,
    /// Advisory updates run.
    pub updates: AtomicU64,
}

/// What one rematch did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rematch {
    /// The generation it evaluated on.
    pub generation: i64,
    /// Resources evaluated again.
    pub resources: usize,
    /// Stored inventories holding a changed package (all live ones when
    /// the change is not known).
    pub inventories: usize,
    /// Package sets (image layers, functions' and hosts' packages) holding
    /// a changed package.
    pub package_sets: usize,
    /// Distinct evaluations: each inventory, or changed part of one, is
    /// matched once whatever the number of resources holding it.
    pub evaluations: usize,
    /// Findings opened, reopened, closed and updated.
    pub changes: crate::lifecycle::Changes,
    /// Milliseconds it took.
    pub millis: u64,
    /// Of which reading the stored inventories' changed packages,
    pub read_millis: u64,
    /// matching them,
    pub match_millis: u64,
    /// and writing the findings' changes.
    pub reconcile_millis: u64,
}

/// The service.
pub struct Service {
    /// Its state.
    pub db: StateDb,
    scanner: Scanner,
    updater: Arc<Updater>,
    config: ServiceConfig,
    /// Counters.
    pub metrics: Metrics,
    ready: AtomicBool,
    busy: tokio::sync::Mutex<()>,
    /// The key SigV4 secrets are derived from (`service.key`).
    pub service_key: Vec<u8>,
    /// This process, as the holder of a job's lease: host, process ID and
    /// a random part.
    pub owner: String,
    wake: tokio::sync::Notify,
    /// Where findings reports and SBOM exports go.
    pub(crate) exports: crate::exports::Storage,
    /// The inventories agents checked in with last, by ID (content-
    /// addressed, so never stale): the next difference is applied to one
    /// without reading it back from the database.
    pub(crate) agent_inventories:
        std::sync::Mutex<lru::LruCache<String, Arc<vigia_inventory::Inventory>>>,
    /// Agents' check-ins, written together.
    pub(crate) checkins: Arc<crate::checkins::CheckinWriter>,
    /// What watched paths hold, by content.
    fingerprints: Arc<crate::fingerprint::Fingerprints>,
    /// Watched folders that could not be read at the last look.
    unreadable_folders: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
}

/// The state key the last advisory update's outcome is kept under.
const UPDATE_OUTCOME: &str = "advisories_update_outcome";

const ALL_TYPES: [FindingType; 3] = [
    FindingType::PackageVulnerability,
    FindingType::CodeVulnerability,
    FindingType::NetworkReachability,
];

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// What a path in a watched folder is, by its shape: `None` when it is not
/// something the service watches. (The name is lowercased first.)
#[allow(clippy::case_sensitive_file_extension_comparisons)]
fn candidate(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    if name.starts_with('.') {
        return None;
    }
    if path.is_dir() {
        if path.join("oci-layout").is_file() && path.join("index.json").is_file() {
            return Some("AWS_ECR_CONTAINER_IMAGE");
        }
        let rootfs = path.join("etc").is_dir()
            && (path.join("var/lib/dpkg/status").is_file()
                || path.join("lib/apk/db/installed").is_file()
                || path.join("var/lib/rpm").is_dir());
        return rootfs.then_some("AWS_EC2_INSTANCE");
    }
    if name.ends_with(".zip") {
        return Some("AWS_LAMBDA_FUNCTION");
    }
    if name.ends_with(".tar") {
        return Some("AWS_ECR_CONTAINER_IMAGE");
    }
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        // A root filesystem snapshot or a compressed `docker save` archive:
        // what it is, the scan finds out.
        return Some("AWS_EC2_INSTANCE");
    }
    None
}

impl Service {
    /// Opens the service's state and engine.
    pub async fn open(mut config: ServiceConfig) -> Result<Arc<Self>, ServiceError> {
        // Watched folders made absolute, so that a resource is one whatever
        // folder the service is started from.
        config.watch = config
            .watch
            .iter()
            .map(|w| {
                fs_err::canonicalize(w)
                    .or_else(|_| std::path::absolute(w))
                    .unwrap_or_else(|_| w.clone())
            })
            .collect();
        let db = StateDb::open(&config.state_url).await?;
        db.set_summarize_above(config.summarize_above);
        // Exports run in the process that took them.
        db.fail_interrupted_exports().await?;
        if let Some(policy) = &config.gate_policy {
            db.set_state(
                "gate_policy",
                &serde_json::to_string(policy).unwrap_or_default(),
            )
            .await?;
        }
        let service_key = crate::sigv4::service_key(&config.engine.data_dir).map_err(|source| {
            ServiceError::Key {
                path: config.engine.data_dir.join("service.key"),
                source,
            }
        })?;
        let exports = match &config.export_s3_endpoint {
            Some(url) => crate::exports::Storage::S3 {
                endpoint: Some(url.clone()),
            },
            None => crate::exports::Storage::Folder(config.engine.data_dir.join("exports")),
        };
        for r in &config.registries {
            db.put_registry(r, &now()).await?;
        }
        let scanner = Scanner::new(config.engine.clone())?;
        let updater = Arc::new(Updater::new(config.engine.clone()));
        Ok(Arc::new(Self {
            db,
            scanner,
            updater,
            config,
            metrics: Metrics::default(),
            ready: AtomicBool::new(false),
            busy: tokio::sync::Mutex::new(()),
            service_key,
            // The host part names the PID namespace too: containers that
            // share a host name (host networking) do not share PIDs.
            owner: format!(
                "{}/{}:{}:{}",
                fs_err::read_to_string("/proc/sys/kernel/hostname")
                    .map_or_else(|_| "host".to_owned(), |h| h.trim().to_owned()),
                std::fs::read_link("/proc/self/ns/pid")
                    .map(|l| l
                        .display()
                        .to_string()
                        .chars()
                        .filter(char::is_ascii_digit)
                        .collect::<String>())
                    .unwrap_or_default(),
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            wake: tokio::sync::Notify::new(),
            exports,
            agent_inventories: std::sync::Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(agents::CACHED_INVENTORIES)
                    .unwrap_or(std::num::NonZeroUsize::MIN),
            )),
            checkins: Arc::default(),
            fingerprints: Arc::default(),
            unreadable_folders: std::sync::Mutex::default(),
        }))
    }

    /// Whether an advisory generation is loaded. Generation 0 is a
    /// database no update has written content to yet (a worker started
    /// beside the process loading the first one): scanning on it would
    /// match nothing and call every OS unsupported.
    pub async fn ready(&self) -> bool {
        if self.ready.load(Ordering::Relaxed) {
            return true;
        }
        let ok = self.scanner.generation().await.is_ok_and(|g| g.0 > 0);
        self.ready.store(ok, Ordering::Relaxed);
        ok
    }

    /// The advisory generation in force, if any.
    pub async fn generation(&self) -> Option<i64> {
        self.scanner
            .generation()
            .await
            .ok()
            .and_then(|g| i64::try_from(g.0).ok())
    }

    /// The folders `--watch` names.
    #[must_use]
    pub fn watched(&self) -> &[PathBuf] {
        &self.config.watch
    }

    /// The advisory database's state: each feed's age and whether it is
    /// stale (`None` when it cannot be read, as before the first update).
    pub async fn feeds(&self) -> Option<vigia_engine::DatabaseStatus> {
        vigia_engine::status(&self.config.engine, jiff::Timestamp::now())
            .await
            .ok()
    }

    /// Updates advisories now and rematches what the change set touches.
    pub async fn update_now(&self) -> Result<(UpdateReport, Option<Rematch>), ServiceError> {
        let options = UpdateOptions {
            mirror: self.config.mirror.clone(),
            ..UpdateOptions::default()
        };
        // One at a time with scans and other rematches: an evaluation never
        // reconciles from an inventory another has just replaced.
        let _turn = self.busy.lock().await;
        let report = self.updater.update(&options).await?;
        self.metrics.updates.fetch_add(1, Ordering::Relaxed);
        let rematch = self.rematch_locked(Some(&report)).await?;
        Ok((report, rematch))
    }

    /// Updates advisories through the job table, as any process's worker
    /// takes it (this one's, or another's: a process serving only the API
    /// does no update itself), and waits up to `wait` for its outcome:
    /// `{update, rematch}`, or `{error}`. `None` when it did not come in
    /// time (the update stays queued). An update already running answers
    /// for this request too.
    ///
    /// # Errors
    ///
    /// The state database failed.
    pub async fn update_through_jobs(
        &self,
        wait: Duration,
    ) -> Result<Option<serde_json::Value>, ServiceError> {
        let before = self.db.get_state(UPDATE_OUTCOME).await?;
        if self
            .db
            .enqueue(JobKind::Update, "advisories", None, &now())
            .await?
        {
            self.wake.notify_one();
        }
        let deadline = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let after = self.db.get_state(UPDATE_OUTCOME).await?;
            if after.is_some() && after != before {
                return Ok(after.and_then(|o| serde_json::from_str(&o).ok()));
            }
        }
        Ok(None)
    }

    /// Brings every stored evaluation to the generation in force: after an
    /// update, the resources holding a changed package (all of them when
    /// scores may have changed); after a restart that interrupted a
    /// rematch, all of them.
    pub async fn catch_up(
        &self,
        report: Option<&UpdateReport>,
    ) -> Result<Option<Rematch>, ServiceError> {
        let _turn = self.busy.lock().await;
        self.rematch_locked(report).await
    }

    /// Scans one resource read from `source` (reading it once) and records
    /// its inventory, findings and coverage.
    pub async fn scan(
        &self,
        source: &Path,
        fingerprint: Option<String>,
    ) -> Result<(), ServiceError> {
        Box::pin(self.scan_source(&source.display().to_string(), fingerprint, None)).await
    }

    /// Scans the resource read from `source_str`: a path, or (with
    /// `image`) an image in a registry, pulled with the registry's access.
    async fn scan_source(
        &self,
        source_str: &str,
        fingerprint: Option<String>,
        image: Option<crate::registries::RegistryImage>,
    ) -> Result<(), ServiceError> {
        let source_str = source_str.to_owned();
        let source = Path::new(&source_str);
        let registry_request = match &image {
            Some(i) => match self.registry_request(i).await? {
                Some(r) => Some(r),
                // Its registry was removed meanwhile.
                None => return Ok(()),
            },
            None => None,
        };
        let kind = if image.is_some() {
            "AWS_ECR_CONTAINER_IMAGE"
        } else {
            candidate(source).unwrap_or("AWS_EC2_INSTANCE")
        };
        // One at a time with rematches, deletions and other scans.
        let _turn = self.busy.lock().await;
        // A registry image no tag points at any more, or past its rescan
        // window, since the job was queued: not scanned.
        if image.is_some() {
            let gone = self
                .db
                .registry_image(&source_str)
                .await?
                .is_none_or(|i| i.gone);
            let expired = self
                .db
                .resource_by_source(&source_str)
                .await?
                .is_some_and(|r| crate::resources::retired(&r.status_reason));
            if gone || expired {
                return Ok(());
            }
        }
        let now_s = now();
        let started_at = now_s.clone();
        let record = self.db.register(&source_str, kind, &now_s).await?;
        if record.origin == "deleted" {
            return Ok(());
        }
        let first = record.last_scanned_at.is_none();
        self.db
            .set_coverage(&source_str, "ACTIVE", "SCAN_IN_PROGRESS", None, &now_s)
            .await?;
        let guess = match kind {
            "AWS_LAMBDA_FUNCTION" => TargetKind::Function,
            "AWS_ECR_CONTAINER_IMAGE" => TargetKind::Image,
            _ => TargetKind::Host,
        };
        let request = registry_request.unwrap_or_else(|| {
            let mut request = ScanRequest::new(guess, source_str.clone());
            request.detect_kind = true;
            request.offline = true;
            request
        });
        let scan_id = uuid::Uuid::new_v4().to_string();
        self.metrics.target_reads.fetch_add(1, Ordering::Relaxed);
        let outcome = match self.scanner.scan(&request).await {
            Ok(o) => o,
            Err(vigia_engine::Error::NoDatabase { .. }) => {
                // Scanned once an advisory generation exists.
                self.db
                    .set_coverage(&source_str, "ACTIVE", "PENDING_INITIAL_SCAN", None, &now())
                    .await?;
                return Ok(());
            }
            Err(e) => {
                self.metrics.scan_failures.fetch_add(1, Ordering::Relaxed);
                let message = vigia_engine::error_chain(&e);
                let reason = match &e {
                    vigia_engine::Error::Registry { failure, .. } => match failure {
                        vigia_engine::RegistryFailure::AccessDenied => "ACCESS_DENIED",
                        vigia_engine::RegistryFailure::UnsupportedMediaType => {
                            "UNSUPPORTED_MEDIA_TYPE"
                        }
                        vigia_engine::RegistryFailure::SizeExceeded => "IMAGE_SIZE_EXCEEDED",
                        vigia_engine::RegistryFailure::Other => "INTERNAL_ERROR",
                    },
                    _ => "INTERNAL_ERROR",
                };
                self.unreadable_because(&source_str, fingerprint.as_deref(), reason, &message)
                    .await?;
                tracing::warn!(source = %source_str, error = %message, "scan failed");
                return Ok(());
            }
        };
        // A function's manifest and layers.
        let outcome = if outcome
            .report
            .scan
            .resource
            .details
            .aws_lambda_function
            .is_some()
        {
            match Box::pin(self.with_layers(source, outcome)).await? {
                Ok(o) => o,
                Err((reason, message)) => {
                    self.unreadable_because(&source_str, fingerprint.as_deref(), reason, &message)
                        .await?;
                    tracing::warn!(source = %source_str, error = %message, "scan failed");
                    return Ok(());
                }
            }
        } else {
            outcome
        };
        let now_s = now();
        let inventory_id = self.db.store_inventory(&outcome.inventory, &now_s).await?;
        let resource = outcome.report.scan.resource.clone();
        // Two copies of one image are one resource, as in findings. The
        // content of this source changed identity (an image rebuilt in
        // place): the old identity's findings close, unless another copy
        // still holds it.
        if record.inventory_id.is_some()
            && record.id != resource.id
            && !self.db.shared(&record.id, &source_str).await?
        {
            self.db
                .reconcile(
                    &record.id,
                    &[],
                    &ALL_TYPES,
                    &format!("scan {scan_id}: {source_str} now holds {}", resource.id),
                    &now_s,
                    true,
                    true,
                )
                .await?;
        }
        let kind_name = serde_json::to_value(resource.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| kind.to_owned());
        // A registry image: the tags pointing at it and its push time.
        let mut resource = resource;
        if let Some(i) = &image
            && let Some(d) = &mut resource.details.aws_ecr_container_image
        {
            d.image_tags = self.db.tags_of(i).await?;
            d.pushed_at = Some(i.pushed_at.clone());
        }
        let details = serde_json::to_value(&resource).unwrap_or_default();
        let generation = i64::try_from(outcome.generation.0).unwrap_or(i64::MAX);
        let scan_status = crate::resources::ScanStatus::of(
            &outcome.report.scan,
            self.scanned_reason(&source_str).await?,
        );
        let mut findings = outcome.report.findings;
        for f in &mut findings {
            f.resources = vec![resource.clone()];
        }
        let changes = self
            .db
            .reconcile(
                &resource.id,
                &findings,
                &ALL_TYPES,
                &format!("scan {scan_id}"),
                &now_s,
                !(first && self.config.quiet_first_scans),
                true,
            )
            .await?;
        // Coverage says SUCCESSFUL once the findings are stored.
        self.db
            .scanned(&crate::resources::ScanRecord {
                id: &scan_id,
                source: &source_str,
                resource_id: &resource.id,
                kind: &kind_name,
                details: &details,
                content_hash: fingerprint.as_deref(),
                inventory_id: &inventory_id,
                started_at: &started_at,
                finished_at: &now_s,
                generation,
                first,
                status: &scan_status,
                opened: changes.opened + changes.reopened,
                closed: changes.closed,
            })
            .await?;
        tracing::info!(
            source = %source_str,
            resource = %resource.id,
            status = scan_status.reason,
            findings = findings.len(),
            opened = changes.opened,
            reopened = changes.reopened,
            closed = changes.closed,
            "scanned"
        );
        // Matched on a generation that an update replaced while this scan
        // ran: evaluated again on the one now in force.
        Box::pin(self.evaluate_again(
            &source_str,
            &resource,
            outcome.inventory,
            generation,
            &scan_status,
        ))
        .await?;
        Ok(())
    }

    /// A resource whose scan matched on a generation that an update
    /// replaced while the scan ran (another process published it, and its
    /// rematch may have read this resource before this scan was stored):
    /// evaluated again on the generation now in force, from the inventory
    /// just read, so that it is not left on the old advisories until its
    /// packages next change.
    async fn evaluate_again(
        &self,
        source_str: &str,
        resource: &vigia_scan::Resource,
        inventory: vigia_inventory::Inventory,
        generation: i64,
        scan_status: &crate::resources::ScanStatus,
    ) -> Result<(), ServiceError> {
        if let Some(current) = self.generation().await
            && current > generation
        {
            let again = self
                .scanner
                .evaluate(inventory, resource.clone(), jiff::Timestamp::now())
                .await?;
            let mut findings: Vec<_> = again
                .report
                .findings
                .into_iter()
                .filter(|f| f.kind == FindingType::PackageVulnerability)
                .collect();
            for f in &mut findings {
                f.resources = vec![resource.clone()];
            }
            self.db
                .reconcile(
                    &resource.id,
                    &findings,
                    &[FindingType::PackageVulnerability],
                    &format!("generation {current}"),
                    &now(),
                    true,
                    false,
                )
                .await?;
            // And its coverage with them: an OS whose advisories the newer
            // generation holds is no longer `UNSUPPORTED_OS`.
            let status = crate::resources::ScanStatus::of(
                &again.report.scan,
                self.scanned_reason(source_str).await?,
            );
            if status != *scan_status {
                self.db
                    .set_coverage(
                        source_str,
                        status.code,
                        status.reason,
                        status.message.as_deref(),
                        &now(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// What `path` holds, by content ([`crate::fingerprint`]), read off the
    /// runtime's threads.
    async fn fingerprint(&self, path: &Path) -> Option<String> {
        let prints = Arc::clone(&self.fingerprints);
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || prints.of(&path))
            .await
            .ok()
            .flatten()
    }

    /// Looks at every watched folder once: scans new and changed resources,
    /// terminates removed ones.
    pub async fn watch_once(
        &self,
        stop: Option<&tokio::sync::watch::Receiver<bool>>,
    ) -> Result<(), ServiceError> {
        if !self.ready().await {
            return Ok(());
        }
        let stopping = || stop.is_some_and(|s| *s.borrow());
        let mut present: BTreeMap<String, (PathBuf, Option<String>)> = BTreeMap::new();
        // Folders not read completely: nothing in them is taken as removed.
        let mut unread: Vec<PathBuf> = Vec::new();
        for dir in &self.config.watch {
            let entries = match std::fs::read_dir(dir) {
                Ok(entries) => {
                    if self
                        .unreadable_folders
                        .lock()
                        .is_ok_and(|mut u| u.remove(dir))
                    {
                        tracing::info!(folder = %dir.display(), "a watched folder is readable again");
                    }
                    entries
                }
                Err(e) => {
                    // Said once, not at every look.
                    if self
                        .unreadable_folders
                        .lock()
                        .is_ok_and(|mut u| u.insert(dir.clone()))
                    {
                        tracing::warn!(folder = %dir.display(), error = %e, "cannot read a watched folder");
                    }
                    unread.push(dir.clone());
                    continue;
                }
            };
            let entries: Vec<_> = entries.collect();
            if entries.iter().any(Result::is_err) {
                tracing::warn!(folder = %dir.display(), "cannot read every entry of a watched folder");
                unread.push(dir.clone());
            }
            let mut paths: Vec<PathBuf> = entries
                .into_iter()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .collect();
            paths.sort();
            // Layer zips are part of the functions that name them.
            let layers = crate::functions::layers_in(dir);
            for p in paths {
                let layer = !layers.is_empty()
                    && fs_err::canonicalize(&p).is_ok_and(|c| layers.contains(&c));
                // A link to nothing holds nothing to scan: not a resource
                // (one it pointed at before is gone, and terminated below).
                if !layer && candidate(&p).is_some() && p.exists() {
                    let print = self.fingerprint(&p).await;
                    present.insert(p.display().to_string(), (p.clone(), print));
                }
            }
        }
        let watched: Vec<String> = self
            .config
            .watch
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        let known = self.db.watched_resources(&watched).await?;
        // Resources registered through the API are watched wherever they are.
        for r in known.iter().filter(|r| r.origin == "api") {
            let p = PathBuf::from(&r.source);
            if p.exists() {
                let print = self.fingerprint(&p).await;
                present.insert(r.source.clone(), (p.clone(), print));
            }
        }
        if unread.is_empty() {
            self.fingerprints.sweep();
        }
        let by_source: BTreeMap<&str, &crate::resources::ResourceRecord> =
            known.iter().map(|r| (r.source.as_str(), r)).collect();
        // Queued or being scanned: nothing to add.
        let queued = self.db.pending_subjects(JobKind::Scan).await?;
        // What is being scanned at a path, by content: a resource moved (a
        // folder renamed, a file moved between watched folders) is the
        // same content at a new path.
        let mut arriving: BTreeSet<&str> = BTreeSet::new();
        for (source, (path, print)) in &present {
            let record = by_source.get(source.as_str());
            // Deleted through the API: left alone until registered again.
            if record.is_some_and(|r| r.origin == "deleted") {
                continue;
            }
            if queued.contains(source) {
                arriving.extend(print.as_deref());
                continue;
            }
            let due = record.is_none_or(|r| {
                // New, never scanned, back after removal, or changed (a failed
                // scan is retried when the resource changes).
                r.status_reason == "PENDING_INITIAL_SCAN"
                    || r.status_reason == "RESOURCE_TERMINATED"
                    || r.content_hash != *print
            });
            if due {
                if stopping() {
                    return Ok(());
                }
                arriving.extend(print.as_deref());
                let kind = candidate(path).unwrap_or("AWS_EC2_INSTANCE");
                let now_s = now();
                if record.is_none() {
                    self.db.register(source, kind, &now_s).await?;
                }
                if self
                    .db
                    .enqueue(JobKind::Scan, source, print.as_deref(), &now_s)
                    .await?
                {
                    self.wake.notify_one();
                }
            }
        }
        for r in known {
            let parent = Path::new(&r.source).parent();
            let in_watched =
                r.origin == "api" || watched.iter().any(|w| parent == Some(Path::new(w)));
            let unreadable = unread.iter().any(|u| parent == Some(u.as_path()));
            // Gone from here, but its content is being scanned at another
            // path: removed once that scan is stored, when the resource is
            // seen to live on there (its findings stay open), rather than
            // closed now and reopened in a moment.
            let moved = r
                .content_hash
                .as_deref()
                .is_some_and(|h| arriving.contains(h));
            if in_watched
                && !unreadable
                && !moved
                && !present.contains_key(&r.source)
                && r.status_reason != "RESOURCE_TERMINATED"
                && r.origin != "deleted"
            {
                self.remove(&r).await?;
            }
        }
        Ok(())
    }

    /// Registers a resource read from `source` (a path the service can
    /// read): scanned at the next look, and watched from then on.
    pub async fn register(
        &self,
        source: &Path,
    ) -> Result<Option<crate::resources::ResourceRecord>, ServiceError> {
        let Some(kind) = candidate(source) else {
            return Ok(None);
        };
        let s = source.display().to_string();
        let r = self.db.register(&s, kind, &now()).await?;
        self.db.set_origin(&s, "api").await?;
        if r.status_reason == "RESOURCE_TERMINATED" || r.origin == "deleted" {
            self.db.set_content_hash(&s, None).await?;
            self.db
                .set_coverage(&s, "ACTIVE", "PENDING_INITIAL_SCAN", None, &now())
                .await?;
        }
        Ok(self.db.resource_by_source(&s).await?)
    }

    /// Scans a resource again at the next look; `false` for one deleted
    /// through the API (register it again).
    pub async fn rescan(&self, r: &crate::resources::ResourceRecord) -> Result<bool, ServiceError> {
        if r.origin == "deleted" {
            return Ok(false);
        }
        self.db.set_content_hash(&r.source, None).await?;
        // A registry image is not looked at by the watcher: queued now
        // (whatever its registry's scanFrequency: it was asked for).
        if let Some(image) = self.db.registry_image(&r.source).await?
            && !image.gone
        {
            if crate::resources::retired(&r.status_reason) {
                self.db
                    .set_coverage(&r.source, "ACTIVE", "PENDING_INITIAL_SCAN", None, &now())
                    .await?;
            }
            if self
                .db
                .enqueue(JobKind::Scan, &r.source, Some(&image.digest), &now())
                .await?
            {
                self.wake.notify_one();
            }
        }
        Ok(true)
    }

    /// A source gone: it becomes `RESOURCE_TERMINATED`, and its findings
    /// close unless another live source holds the same resource.
    async fn remove(&self, r: &crate::resources::ResourceRecord) -> Result<(), ServiceError> {
        let now = now();
        let _turn = self.busy.lock().await;
        // The findings close first: coverage says RESOURCE_TERMINATED only
        // once they have.
        let closed = if self.db.shared(&r.id, &r.source).await? {
            0
        } else {
            self.db.terminate(&r.id, &now).await?.closed
        };
        self.db
            .set_coverage(&r.source, "INACTIVE", "RESOURCE_TERMINATED", None, &now)
            .await?;
        tracing::info!(source = %r.source, resource = %r.id, closed, "terminated");
        Ok(())
    }

    /// Deletes a resource: its findings close (`RESOURCE_TERMINATED`) and
    /// the watcher leaves it alone until it is registered again.
    pub async fn delete(&self, r: &crate::resources::ResourceRecord) -> Result<(), ServiceError> {
        self.db.set_origin(&r.source, "deleted").await?;
        self.remove(r).await
    }

    /// Applies the rules again when one expired since they were last
    /// applied for an expiry; the time they were is kept in the state
    /// database, so that every process and every start sees it.
    pub async fn lift_expired(&self) -> Result<(), DbError> {
        const KEY: &str = "expiries_applied_through";
        let now_s = now();
        let through = self.db.get_state(KEY).await?.unwrap_or_default();
        let due = self.db.expired_between(&through, &now_s).await?;
        if due {
            self.db.resuppress(&now_s).await?;
        }
        if due || through.is_empty() {
            self.db.set_state(KEY, &now_s).await?;
        }
        Ok(())
    }

    /// Runs the watchers and schedules until `stop` fires: they add jobs,
    /// workers do them. An advisory update is due at start and every
    /// `update_every` after the last one that succeeded (a minute after one
    /// that failed), whichever process ran it; a generation not yet
    /// rematched (a rematch interrupted) gets a rematch; watched folders
    /// are looked at every `poll_every`.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            // A suppression rule that expired lifts what it suppressed: also
            // one that expired while no service ran, or between two looks.
            if let Err(e) = self.lift_expired().await {
                tracing::warn!(error = %vigia_engine::error_chain(&e), "applying rules failed");
            }
            if let Err(e) = self.schedule().await {
                tracing::warn!(error = %vigia_engine::error_chain(&e), "scheduling failed");
            }
            if let Err(e) = self.watch_once(Some(&stop)).await {
                tracing::warn!(error = %vigia_engine::error_chain(&e), "watching failed");
            }
            tokio::select! {
                () = tokio::time::sleep(self.config.poll_every) => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
    }

    /// Adds the advisory jobs that are due.
    async fn schedule(&self) -> Result<(), ServiceError> {
        self.schedule_syncs().await?;
        self.mark_silent_agents().await?;
        self.queue_unevaluated_agents().await?;
        let epoch = jiff::Timestamp::now().as_second();
        let at = |key: &'static str| async move {
            self.db
                .get_state(key)
                .await
                .map(|v| v.and_then(|v| v.parse::<i64>().ok()))
        };
        let every = i64::try_from(self.config.update_every.as_secs()).unwrap_or(i64::MAX);
        let updated = at("advisories_updated_at").await?;
        let failed = at("advisories_failed_at").await?;
        let due = updated.is_none_or(|t| epoch >= t.saturating_add(every))
            && failed.is_none_or(|t| epoch >= t + 60);
        if due
            && self
                .db
                .enqueue(JobKind::Update, "advisories", None, &now())
                .await?
        {
            self.wake.notify_one();
        }
        if let Some(generation) = self.generation().await {
            let done: Option<i64> = at("rematched_generation").await?;
            if done != Some(generation)
                && !self.db.pending(JobKind::Update).await?
                && self
                    .db
                    .enqueue(JobKind::Rematch, "advisories", None, &now())
                    .await?
            {
                self.wake.notify_one();
            }
        }
        Ok(())
    }

    /// Does jobs until `stop` fires: claims one, renews its lease while it
    /// runs, removes it when done. A job in flight when `stop` fires
    /// finishes first. Woken by a job this process added, by `NOTIFY` on
    /// PostgreSQL, or every second.
    pub async fn work(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut listener = match self.db.backend() {
            Backend::Postgres => {
                match sqlx::postgres::PgListener::connect(&self.config.state_url).await {
                    Ok(mut l) => match l.listen(crate::jobs::CHANNEL).await {
                        Ok(()) => Some(l),
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot listen for new jobs: looking every second");
                            None
                        }
                    },
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for new jobs: looking every second");
                        None
                    }
                }
            }
            Backend::Sqlite => None,
        };
        match self
            .db
            .release_abandoned(&self.owner, |pid| {
                Path::new(&format!("/proc/{pid}")).exists()
            })
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "took back the jobs of a process that is gone"),
            Err(e) => {
                tracing::warn!(error = %vigia_engine::error_chain(&e), "freeing abandoned jobs failed");
            }
        }
        loop {
            if *stop.borrow() {
                break;
            }
            match self.db.claim(&self.owner, self.config.lease).await {
                Ok(Some(job)) => {
                    self.run_job(job).await;
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %vigia_engine::error_chain(&e), "claiming a job failed");
                }
            }
            let notified = async {
                match listener.as_mut() {
                    Some(l) => {
                        let _ = l.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = self.wake.notified() => {}
                () = notified => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// A scan job: skipped when the resource is gone (the watcher
    /// terminates it) or this content was scanned already (a watcher that
    /// looked while the scan ran adds the job again once it is done).
    async fn scan_job(&self, job: &Job) -> Result<(), ServiceError> {
        if job.subject.starts_with("agent:") {
            return self.evaluate_agent(&job.subject).await;
        }
        let image = self.db.registry_image(&job.subject).await?;
        match &image {
            // No tag points at it any more: the sync terminated it.
            Some(i) if i.gone => return Ok(()),
            Some(_) => {}
            None if !Path::new(&job.subject).exists() => return Ok(()),
            None => {}
        }
        if let Some(r) = self.db.resource_by_source(&job.subject).await?
            && job.fingerprint.is_some()
            && r.content_hash == job.fingerprint
            && crate::resources::scanned_ok(&r.status_reason)
        {
            return Ok(());
        }
        self.scan_source(&job.subject, job.fingerprint.clone(), image)
            .await
    }

    /// Records a resource that could not be scanned: `INACTIVE` /
    /// `INTERNAL_ERROR` with the reason, its content remembered as read so
    /// that it is tried again only when it changes.
    async fn unreadable(
        &self,
        source: &str,
        fingerprint: Option<&str>,
        message: &str,
    ) -> Result<(), ServiceError> {
        self.unreadable_because(source, fingerprint, "INTERNAL_ERROR", message)
            .await
    }

    /// [`Service::unreadable`] with the coverage reason that says why.
    async fn unreadable_because(
        &self,
        source: &str,
        fingerprint: Option<&str>,
        reason: &str,
        message: &str,
    ) -> Result<(), ServiceError> {
        let now_s = now();
        self.db
            .set_coverage(source, "INACTIVE", reason, Some(message), &now_s)
            .await?;
        self.db.set_content_hash(source, fingerprint).await?;
        self.db.failed_scan(source, reason, message, &now_s).await?;
        Ok(())
    }

    /// A scan whose job was taken this many times without finishing (its
    /// worker killed or gone each time: a resource that crashes or exhausts
    /// whoever reads it) is given up until the resource changes.
    pub const MAX_SCAN_ATTEMPTS: i64 = 5;

    /// Gives up a scan that never finished: its resource `INACTIVE` /
    /// `INTERNAL_ERROR` with the reason, remembered as read (so the watcher
    /// tries it again only when it changes), its job done.
    async fn give_up(&self, job: &Job) -> Result<(), ServiceError> {
        // Deleted through the API or gone meanwhile: nothing to record.
        let live = self
            .db
            .resource_by_source(&job.subject)
            .await?
            .is_some_and(|r| r.origin != "deleted" && r.status_reason != "RESOURCE_TERMINATED");
        if !live {
            return Ok(());
        }
        let message = format!(
            "its scan was started {} times and never finished (the worker stopped each time); it is tried again when it changes",
            job.attempts - 1
        );
        tracing::warn!(subject = %job.subject, attempts = job.attempts - 1, "giving up a scan that never finished");
        self.unreadable(&job.subject, job.fingerprint.as_deref(), &message)
            .await
    }

    async fn run_job(&self, job: Job) {
        if job.kind == JobKind::Scan && job.attempts > Self::MAX_SCAN_ATTEMPTS {
            if let Err(e) = self.give_up(&job).await {
                tracing::warn!(error = %vigia_engine::error_chain(&e), "giving up a scan failed");
            }
            if let Err(e) = self.db.finish(&job, &self.owner).await {
                tracing::warn!(error = %vigia_engine::error_chain(&e), "finishing a job failed");
            }
            return;
        }
        let lease = self.config.lease;
        // Aborted when this function returns or unwinds.
        let mut renewing = AbortOnDrop({
            let (db, job, owner) = (self.db.clone(), job.clone(), self.owner.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    match db.renew(&job, &owner, lease).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(subject = %job.subject, "lost the lease on a job");
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %vigia_engine::error_chain(&e), "renewing a lease failed");
                        }
                    }
                }
            })
        });
        tracing::debug!(kind = job.kind.as_str(), subject = %job.subject, attempts = job.attempts, "job");
        let work = async {
            match job.kind {
                JobKind::Scan => self.scan_job(&job).await,
                JobKind::Update => {
                    let (key, outcome) = match self.update_now().await {
                        Ok((report, rematch)) => {
                            tracing::info!(
                                generation = report.generation.0,
                                rematched = rematch.as_ref().map_or(0, |r| r.resources),
                                "advisories updated"
                            );
                            (
                                "advisories_updated_at",
                                serde_json::json!({"update": report, "rematch": rematch}),
                            )
                        }
                        Err(e) => {
                            let error = vigia_engine::error_chain(&e);
                            tracing::warn!(%error, "advisory update failed");
                            ("advisories_failed_at", serde_json::json!({"error": error}))
                        }
                    };
                    // What `POST /v1/db/update` waits for, in any process.
                    let mut outcome = outcome;
                    outcome["id"] = serde_json::json!(uuid::Uuid::new_v4().to_string());
                    self.db
                        .set_state(UPDATE_OUTCOME, &outcome.to_string())
                        .await?;
                    self.db
                        .set_state(key, &jiff::Timestamp::now().as_second().to_string())
                        .await
                        .map_err(ServiceError::from)
                }
                JobKind::Rematch => self.catch_up(None).await.map(|_| ()),
                JobKind::Discover => match job.subject.strip_prefix("registry:") {
                    Some(name) => self.sync_registry(name).await,
                    None => Ok(()),
                },
            }
        };
        // A lease lost (another worker has the job now): this one stops.
        let result = tokio::select! {
            r = work => r,
            _ = &mut renewing.0 => {
                tracing::warn!(subject = %job.subject, "stopped a job whose lease was lost");
                return;
            }
        };
        if let Err(e) = result {
            tracing::warn!(subject = %job.subject, error = %vigia_engine::error_chain(&e), "job failed");
        }
        if let Err(e) = self.db.finish(&job, &self.owner).await {
            tracing::warn!(error = %vigia_engine::error_chain(&e), "finishing a job failed");
        }
    }
}
