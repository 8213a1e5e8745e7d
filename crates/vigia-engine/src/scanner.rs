//! The scan pipeline as a long-lived object: built once, scanning concurrently.

use std::path::Path;
use std::sync::{Arc, RwLock};
use vigia_inventory::source::scope::Scope;

use base64::Engine as _;
use sha2::{Digest, Sha256};
use vigia_inventory::Inventory;
use vigia_match::Index;
use vigia_scan::suppress::{IgnoreFile, Vex};
use vigia_scan::{Report, ResourceHints, Severity, TargetKind};
use vigia_store::{Generation, Store};

use crate::pool::Pool;
use crate::target::{Fetch, Local, localize};
use crate::{Config, Error, RegistryCredentials, Result, database};

/// Which scanners a scan runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scanners {
    /// Package vulnerabilities.
    pub vuln: bool,
    /// Hardcoded credentials.
    pub secret: bool,
    /// Network reachability (hosts).
    pub network: bool,
}

impl Scanners {
    /// The default for a kind of target: vulnerabilities and secrets, or
    /// vulnerabilities alone for an SBOM (it lists packages, not files).
    #[must_use]
    pub fn default_for(kind: TargetKind) -> Self {
        Self {
            vuln: true,
            secret: kind != TargetKind::Sbom,
            network: false,
        }
    }

    /// Their names, as reports list them.
    #[must_use]
    pub fn names(self) -> Vec<String> {
        let mut out = Vec::new();
        if self.vuln {
            out.push("vuln".to_owned());
        }
        if self.secret {
            out.push("secret".to_owned());
        }
        if self.network {
            out.push("network".to_owned());
        }
        out
    }
}

/// One scan.
// Each flag is an independent choice of the request.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone)]
pub struct ScanRequest {
    /// What the target is.
    pub kind: TargetKind,
    /// A path, a registry reference, or (for [`TargetKind::Sbom`]) an SBOM file.
    pub target: String,
    /// Which scanners run.
    pub scanners: Scanners,
    /// `os/arch[/variant]` of a multi-platform image (default: the host's).
    pub platform: Option<String>,
    /// Refuse to pull from a registry.
    pub offline: bool,
    /// Also report secrets that later image layers deleted or hid.
    pub secrets_all_layers: bool,
    /// Suppressions from a `.vigiaignore` file.
    pub ignore: Option<IgnoreFile>,
    /// OpenVEX statements.
    pub vex: Vec<Vex>,
    /// Only findings of these severities (all when empty).
    pub severities: Vec<Severity>,
    /// Leave out findings without a fix.
    pub ignore_unfixed: bool,
    /// Registry access for this scan, instead of the configuration's.
    pub registry: Option<RegistryCredentials>,
    /// The scan's time, written into the report.
    pub now: jiff::Timestamp,
    /// Also match packages a manifest names but its installed environment
    /// lacks (`declared`), and development dependencies in images, hosts and
    /// functions (`dev`; a folder's are always matched).
    pub keep: vigia_inventory::Selection,
    /// Trees of the target left out or brought back.
    pub scope: Scope,
    /// The network model and the host's place in it, for the network
    /// scanner and the contextual score (hosts).
    pub network: Option<crate::NetworkRequest>,
    /// Take the target's kind from what is found (an image, a root
    /// filesystem, a function) instead of checking it against `kind`: for
    /// watched folders, whose files say what they are only once read.
    pub detect_kind: bool,
    /// Refuse registry images whose layers add up to more than this many
    /// bytes, before pulling them.
    pub max_image_bytes: Option<u64>,
}

impl ScanRequest {
    /// A request with the default scanners for `kind`, no filters, now.
    #[must_use]
    pub fn new(kind: TargetKind, target: impl Into<String>) -> Self {
        Self {
            kind,
            target: target.into(),
            scanners: Scanners::default_for(kind),
            platform: None,
            offline: false,
            secrets_all_layers: false,
            ignore: None,
            vex: Vec::new(),
            severities: Vec::new(),
            ignore_unfixed: false,
            registry: None,
            now: jiff::Timestamp::now(),
            keep: vigia_inventory::Selection::default(),
            scope: Scope::default(),
            network: None,
            detect_kind: false,
            max_image_bytes: None,
        }
    }

    /// The packages this scan matches besides those installed for run time.
    fn selection(&self) -> vigia_inventory::Selection {
        vigia_inventory::Selection {
            declared: self.keep.declared,
            dev: self.keep.dev || self.kind == TargetKind::Dir,
        }
    }
}

/// What a scan found, with the inventory it matched (SBOM renderers need it).
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    /// The inventory.
    pub inventory: Inventory,
    /// The findings and the scan's status.
    pub report: Report,
    /// The advisory database generation it was matched against (0 without
    /// vulnerability scanning).
    pub generation: Generation,
}

/// An inventory request (`vigia sbom`).
#[derive(Debug, Clone)]
pub struct InventoryRequest {
    /// A path or a registry reference.
    pub target: String,
    /// `os/arch[/variant]` of a multi-platform image.
    pub platform: Option<String>,
    /// Refuse to pull from a registry.
    pub offline: bool,
    /// Registry access for this request, instead of the configuration's.
    pub registry: Option<RegistryCredentials>,
    /// Keep packages a manifest names but its installed environment lacks
    /// (marked declared). Development dependencies are always kept (marked).
    pub include_declared: bool,
    /// Trees of the target left out or brought back.
    pub scope: Scope,
}

/// Identity of the published database file: a new update replaces the file
/// (new inode); a state-only update rewrites it in place (new mtime).
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    modified: Option<std::time::SystemTime>,
    len: u64,
}

impl FileId {
    fn of(path: &Path) -> Option<Self> {
        let m = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Some(Self {
            dev,
            ino,
            modified: m.modified().ok(),
            len: m.len(),
        })
    }
}

/// One published generation: a store open on it and, once a scan needs it,
/// its match index. Scans hold an `Arc` of it, so a swap never pulls data from
/// under a scan.
#[derive(Debug)]
struct Snapshot {
    generation: Generation,
    store: Store,
    file: Option<FileId>,
    index: tokio::sync::OnceCell<Arc<Index>>,
}

impl Snapshot {
    /// The match index, read from this snapshot's store the first time a scan
    /// asks (so a one-shot scan reads it after its inventory and never holds
    /// both at their peak); every later scan of the generation shares it.
    async fn index(&self) -> Result<Arc<Index>> {
        self.index
            .get_or_try_init(|| async {
                tracing::info!(generation = %self.generation, "loading the match index");
                Ok::<_, Error>(Arc::new(database::load_index(&self.store).await?))
            })
            .await
            .cloned()
    }
}

/// The scan pipeline: built once from a [`Config`], shared by every scan.
///
/// It holds the secret rules (compiled once), the match index of the current
/// database generation, and one bounded pool for blocking work. `scan` and
/// `inventory` may be called concurrently from async code; each checks, cheaply,
/// whether a new generation was published, and if so the first to notice loads
/// it while the others keep scanning on the one they hold.
#[derive(Debug)]
pub struct Scanner {
    config: Config,
    /// The secret rules, compiled at the first secret scan (an inventory or a
    /// vulnerability-only scan never pays for their regexes).
    secrets: tokio::sync::OnceCell<Arc<vigia_secrets::Engine>>,
    pool: Pool,
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    reload: tokio::sync::Mutex<()>,
}

impl Scanner {
    /// Builds a scanner. The secret rules are compiled at the first secret
    /// scan (a bad rules file fails that scan, naming the file, before it reads
    /// anything) and the advisory database is opened at the first vulnerability
    /// scan.
    pub fn new(config: Config) -> Result<Self> {
        Ok(Self {
            pool: Pool::new(config.parallelism)?,
            config,
            secrets: tokio::sync::OnceCell::new(),
            snapshot: RwLock::new(None),
            reload: tokio::sync::Mutex::new(()),
        })
    }

    /// The compiled secret rules, compiling them (on the pool) the first time.
    async fn secret_engine(&self) -> Result<Arc<vigia_secrets::Engine>> {
        self.secrets
            .get_or_try_init(|| async {
                let config = self.config.clone();
                self.pool
                    .run("compiling the secret rules", move || config.secret_engine())
                    .await?
                    .map(Arc::new)
            })
            .await
            .cloned()
    }

    /// The configuration it was built from.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// How many blocking jobs may run at once.
    #[must_use]
    pub fn parallelism(&self) -> usize {
        self.pool.size()
    }

    /// Blocking jobs running now.
    #[must_use]
    pub fn busy(&self) -> usize {
        self.pool.busy()
    }

    /// The generation of the match index in use (loading it if none is yet).
    pub async fn generation(&self) -> Result<Generation> {
        Ok(self.current().await?.generation)
    }

    /// Matches one package against the current generation (`vigia db match`).
    pub async fn match_package(
        &self,
        pkg: &vigia_match::Package,
    ) -> Result<vigia_match::PackageResult> {
        let snap = self.current().await?;
        let pkg = pkg.clone();
        self.pool
            .run("matching", {
                let index = snap.index().await?;
                move || index.matches(&pkg)
            })
            .await
    }

    fn held(&self) -> Option<Arc<Snapshot>> {
        self.snapshot
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Whether `snap` is still the published generation. SQLite: the file's
    /// identity (no query); PostgreSQL: the generation row.
    async fn is_current(&self, snap: &Snapshot) -> Result<bool> {
        match &self.config.database_url {
            None => Ok(FileId::of(&self.config.database_file()) == snap.file),
            Some(_) => Ok(snap.store.generation().await? == snap.generation),
        }
    }

    /// The snapshot of the published generation, loading a new one if an
    /// update published it since.
    async fn current(&self) -> Result<Arc<Snapshot>> {
        if let Some(snap) = self.held()
            && self.is_current(&snap).await?
        {
            return Ok(snap);
        }
        let _one_loader = self.reload.lock().await;
        let held = self.held();
        if let Some(snap) = &held
            && self.is_current(snap).await?
        {
            return Ok(snap.clone());
        }
        let file = if self.config.database_url.is_none() {
            FileId::of(&self.config.database_file())
        } else {
            None
        };
        let store = database::open_existing(&self.config).await?;
        let generation = store.generation().await?;
        // The same generation rewritten in place (sources confirmed current):
        // keep its index, take the new store.
        let index = tokio::sync::OnceCell::new();
        if let Some(old) = &held
            && old.generation == generation
            && let Some(loaded) = old.index.get()
        {
            let _ = index.set(loaded.clone());
        }
        let snap = Arc::new(Snapshot {
            generation,
            store,
            file,
            index,
        });
        *self
            .snapshot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(snap.clone());
        Ok(snap)
    }

    fn credentials<'a>(
        &'a self,
        given: Option<&'a RegistryCredentials>,
    ) -> &'a RegistryCredentials {
        given.unwrap_or(&self.config.registry)
    }

    fn source_options(
        &self,
        platform: Option<&str>,
        scope: &Scope,
    ) -> vigia_inventory::source::Options {
        vigia_inventory::source::Options {
            platform: platform.map(str::to_owned),
            cache: self.config.layer_cache(),
            limits: self.config.limits,
            scope: scope.clone(),
            ..vigia_inventory::source::Options::default()
        }
    }

    /// The inventory of a target (`vigia sbom`): a path, or a registry image
    /// pulled once.
    pub async fn inventory(&self, request: &InventoryRequest) -> Result<Inventory> {
        let local = localize(
            &request.target,
            self.credentials(request.registry.as_ref()),
            Fetch {
                platform: request.platform.as_deref(),
                offline: request.offline,
                ..Fetch::default()
            },
        )
        .await?;
        let keep = vigia_inventory::Selection {
            declared: request.include_declared,
            dev: true,
        };
        let opts = self.source_options(request.platform.as_deref(), &request.scope);
        self.inventory_of(&request.target, &local, opts, keep).await
    }

    async fn inventory_of(
        &self,
        target: &str,
        local: &Local,
        opts: vigia_inventory::source::Options,
        keep: vigia_inventory::Selection,
    ) -> Result<Inventory> {
        let path = local.path.clone();
        let mut inv = self
            .pool
            .run("the inventory", move || {
                vigia_inventory::inventory(&path, &opts)
            })
            .await?
            .map_err(|e| Error::target(target, e))?;
        inv.select(keep);
        if let Some((reference, digest)) = &local.pulled {
            reference.clone_into(&mut inv.target);
            if let Some(image) = &mut inv.image {
                image.manifest_digest = Some(digest.clone());
            }
        }
        Ok(inv)
    }

    /// Scans one target: its inventory matched against the current advisory
    /// generation, its files read for secrets (at the same time, on the pool),
    /// suppressions and filters applied, findings sorted.
    /// Matches an inventory on a generation's index and reads the matched
    /// vulnerabilities.
    async fn match_on(
        &self,
        snap: &Snapshot,
        inv: Inventory,
    ) -> Result<(
        Inventory,
        Vec<vigia_scan::Matched>,
        std::collections::HashMap<String, vigia_store::Vulnerability>,
    )> {
        let (index, inv) = (snap.index().await?, Arc::new(inv));
        let for_match = inv.clone();
        let matched = self
            .pool
            .run("matching", move || {
                vigia_scan::match_inventory(&for_match, &index)
            })
            .await?;
        let ids = vigia_scan::vulnerability_ids(&matched);
        let vulns = snap.store.vulnerabilities(&ids).await?;
        let inv = Arc::try_unwrap(inv).unwrap_or_else(|shared| (*shared).clone());
        Ok((inv, matched, vulns))
    }

    /// Evaluates a stored inventory on the current advisory generation: the
    /// package findings of `resource`, without reading the resource again.
    /// The service's rematch after an update runs this.
    pub async fn evaluate(
        &self,
        inventory: Inventory,
        resource: vigia_scan::Resource,
        now: jiff::Timestamp,
    ) -> Result<ScanOutcome> {
        let (inv, generation, mut reports) =
            self.evaluate_each(inventory, vec![resource], now).await?;
        let report = reports
            .pop()
            .ok_or_else(|| Error::request("an evaluation for one resource gave no report"))?;
        Ok(ScanOutcome {
            inventory: inv,
            report,
            generation,
        })
    }

    /// Evaluates one stored inventory for every resource that holds it (the
    /// copies of an image, images built from one content): matched once,
    /// one report per resource, in the order given.
    pub async fn evaluate_each(
        &self,
        inventory: Inventory,
        resources: Vec<vigia_scan::Resource>,
        now: jiff::Timestamp,
    ) -> Result<(Inventory, Generation, Vec<Report>)> {
        let (generation, mut out) = self
            .evaluate_many(vec![(inventory, resources)], now)
            .await?;
        let (inv, reports) = out
            .pop()
            .ok_or_else(|| Error::request("an evaluation gave no inventory back"))?;
        Ok((inv, generation, reports))
    }

    /// Evaluates many stored inventories at once, each for the resources
    /// holding it: one generation, its index read once, every inventory
    /// matched in one job on the pool, and the matched vulnerabilities read
    /// once for all (a CVE found in 1,000 inventories is read once). Each
    /// inventory comes back with its reports, in the order given.
    pub async fn evaluate_many(
        &self,
        items: Vec<(Inventory, Vec<vigia_scan::Resource>)>,
        now: jiff::Timestamp,
    ) -> Result<(Generation, Vec<(Inventory, Vec<Report>)>)> {
        let snap = self.current().await?;
        let database = database::database_info(&snap.store).await?;
        let index = snap.index().await?;
        let matched = self
            .pool
            .run("matching", move || {
                items
                    .into_iter()
                    .map(|(inv, resources)| {
                        let m = vigia_scan::match_inventory(&inv, &index);
                        (inv, resources, m)
                    })
                    .collect::<Vec<_>>()
            })
            .await?;
        let mut ids: Vec<String> = matched
            .iter()
            .flat_map(|(_, _, m)| vigia_scan::vulnerability_ids(m))
            .collect();
        ids.sort();
        ids.dedup();
        let vulns = snap.store.vulnerabilities(&ids).await?;
        let now = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let reports = matched
            .into_iter()
            .map(|(inv, resources, m)| {
                let reports = resources
                    .into_iter()
                    .map(|resource| {
                        let ctx = vigia_scan::Context {
                            resource,
                            now: now.clone(),
                            scanner: format!("vigia {}", env!("CARGO_PKG_VERSION")),
                            database: database.clone(),
                            network: None,
                        };
                        let mut report = vigia_scan::build(&inv, &m, &vulns, &ctx);
                        report.scan.scanners = vec!["vuln".to_owned()];
                        vigia_scan::sort_findings(&mut report.findings);
                        report
                    })
                    .collect();
                (inv, reports)
            })
            .collect();
        Ok((snap.generation, reports))
    }

    pub async fn scan(&self, request: &ScanRequest) -> Result<ScanOutcome> {
        let ScanRequest {
            kind,
            target,
            scanners,
            ..
        } = request;
        // The database first: no database is an error before any slow work. The
        // scan keeps this generation to the end (its index is read when the
        // inventory is done, see `Snapshot::index`).
        let snap = if scanners.vuln {
            Some(self.current().await?)
        } else {
            None
        };
        if (scanners.network || request.network.is_some()) && *kind != TargetKind::Host {
            return Err(Error::request(
                "network reachability applies to hosts: scan a root filesystem with `vigia scan host`",
            ));
        }
        // Bad secret rules are an error before anything is pulled or read.
        if scanners.secret && *kind != TargetKind::Sbom {
            self.secret_engine().await?;
        }
        let local = if *kind == TargetKind::Sbom {
            None
        } else {
            Some(
                localize(
                    target,
                    self.credentials(request.registry.as_ref()),
                    Fetch {
                        platform: request.platform.as_deref(),
                        offline: request.offline,
                        max_bytes: request.max_image_bytes,
                        // A secret scan reads every layer's files.
                        skip_cached: if scanners.secret {
                            None
                        } else {
                            self.config.layer_cache()
                        },
                    },
                )
                .await?,
            )
        };
        let mut notes = Vec::new();
        // The secret scan reads the target while the inventory reads it too: on
        // two cores a cold image scan waits for the slower of the two reads, not
        // for both in turn.
        let secret_job = match (&local, scanners.secret) {
            (Some(local), true) => {
                let mut opts = self.source_options(request.platform.as_deref(), &request.scope);
                // The inventory pass reads the same blobs and checks them (the
                // scan fails if they are not what the image claims), unless the
                // layer cache spares it reading them.
                opts.unchecked = scanners.vuln && opts.cache.is_none();
                let (engine, path, all) = (
                    self.secret_engine().await?,
                    local.path.clone(),
                    request.secrets_all_layers,
                );
                let pool = self.pool.clone();
                Some(tokio::spawn(async move {
                    pool.run("the secret scan", move || {
                        vigia_secrets::scan(&path, &opts, engine, all)
                    })
                    .await
                }))
            }
            (None, true) => {
                notes.push(
                    "secret scanning does not apply to an SBOM (it lists packages, not files)"
                        .to_owned(),
                );
                None
            }
            _ => None,
        };
        let inv = match &local {
            None => {
                let path = target.clone();
                self.pool
                    .run("reading the SBOM", move || -> Result<Inventory> {
                        let text =
                            fs_err::read_to_string(&path).map_err(|e| Error::target(&path, e))?;
                        vigia_scan::sbom_in::read(&path, &text).map_err(|e| Error::target(&path, e))
                    })
                    .await??
            }
            Some(local) if scanners.vuln || scanners.network || request.network.is_some() => {
                self.inventory_of(
                    target,
                    local,
                    self.source_options(request.platform.as_deref(), &request.scope),
                    request.selection(),
                )
                .await?
            }
            Some(_) => Inventory {
                target: target.clone(),
                ..Default::default()
            },
        };
        let secrets = match secret_job {
            Some(job) => {
                let (report, found_kind, image) = job
                    .await
                    .map_err(|e| Error::worker("the secret scan", e))??
                    .map_err(|e| Error::target(target, e))?;
                Some((report, found_kind, image))
            }
            None => None,
        };
        let mut inv = inv;
        if !scanners.vuln
            && let Some((_, found_kind, image)) = &secrets
        {
            (*found_kind).clone_into(&mut inv.kind);
            inv.image.clone_from(image);
            if let (Some(img), Some(Some((_, digest)))) =
                (&mut inv.image, local.as_ref().map(|l| l.pulled.as_ref()))
            {
                img.manifest_digest = Some(digest.clone());
            }
        }
        let kind = &if request.detect_kind {
            match inv.kind.as_str() {
                "image" => TargetKind::Image,
                "rootfs" => TargetKind::Host,
                "function" => TargetKind::Function,
                _ => TargetKind::Dir,
            }
        } else {
            // Whether the inventory was read (not for secrets alone): only
            // then does it tell what the target holds.
            let read = scanners.vuln || scanners.network || request.network.is_some();
            check_kind(*kind, target, &inv, read)?;
            *kind
        };
        let reference = local
            .as_ref()
            .and_then(|l| l.pulled.as_ref())
            .map(|(r, _)| r.clone());
        // An SBOM names its subject; a registry reference is its own name.
        let canonical = if *kind == TargetKind::Sbom || reference.is_some() {
            inv.target.clone()
        } else {
            fs_err::canonicalize(target)
                .map_or_else(|_| target.clone(), |p| p.display().to_string())
        };
        let code_sha256 = if *kind == TargetKind::Function && Path::new(target).is_file() {
            let path = target.clone();
            self.pool
                .run("hashing the function", move || zip_sha256(Path::new(&path)))
                .await?
        } else {
            None
        };
        let mut resource = vigia_scan::resource_for(
            *kind,
            &inv,
            &ResourceHints {
                reference,
                canonical,
                code_sha256,
            },
        );

        let network = match (&request.network, scanners.network) {
            (Some(n), _) => Some(crate::network::evaluate(
                n,
                inv.host.as_ref(),
                &resource.id,
            )?),
            (None, true) => Some(crate::network::evaluate(
                &crate::NetworkRequest::default(),
                inv.host.as_ref(),
                &resource.id,
            )?),
            (None, false) => None,
        };
        if let Some(id) = network.as_ref().and_then(|n| n.host_id.clone()) {
            // The snapshot is of this instance of the model.
            resource.id = id;
        }
        if !scanners.vuln {
            // Read for its sockets and firewall only: no package is evaluated.
            inv.packages.clear();
        }
        let database = match &snap {
            Some(s) => database::database_info(&s.store).await?,
            None => vigia_scan::DatabaseInfo::default(),
        };
        let (inv, matched, vulns) = match &snap {
            Some(snap) => self.match_on(snap, inv).await?,
            None => (inv, Vec::new(), std::collections::HashMap::new()),
        };
        let now = request.now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let ctx = vigia_scan::Context {
            resource,
            now,
            scanner: format!("vigia {}", env!("CARGO_PKG_VERSION")),
            database,
            network: network.as_ref().map(|n| n.context.clone()),
        };
        let mut report = vigia_scan::build(&inv, &matched, &vulns, &ctx);
        if let Some(n) = &network {
            if scanners.network {
                report
                    .findings
                    .extend(vigia_scan::network_findings(&n.exposures, &ctx));
            }
            report.scan.warnings.extend(n.warnings.iter().cloned());
        }
        report.scan.scanners = scanners.names();
        if let Some((sr, _, _)) = &secrets {
            report
                .findings
                .extend(vigia_scan::secret_findings(sr, &ctx));
            report.scan.secrets = Some(vigia_scan::SecretScanInfo {
                files_scanned: sr.files_scanned,
                bytes_scanned: sr.bytes_scanned,
                files_binary: sr.files_binary,
                all_layers: request.secrets_all_layers,
            });
            report.scan.warnings.extend(sr.warnings.iter().cloned());
        }
        // The inventory and the secret scan read the same files: a problem
        // both met (an entry escaping the archive) is said once.
        let mut said = std::collections::HashSet::new();
        report.scan.warnings.retain(|w| said.insert(w.clone()));
        let today = request.now.to_zoned(jiff::tz::TimeZone::UTC).date();
        notes.extend(vigia_scan::suppress::apply(
            &mut report.findings,
            request.ignore.as_ref(),
            &request.vex,
            today,
        ));
        report.scan.notes = notes;
        vigia_scan::filter(&mut report, &request.severities, request.ignore_unfixed);
        vigia_scan::sort_findings(&mut report.findings);
        Ok(ScanOutcome {
            inventory: inv,
            report,
            generation: snap.map_or(Generation::default(), |s| s.generation),
        })
    }
}

/// The inventory's kind must fit what the request said the target is.
fn check_kind(kind: TargetKind, target: &str, inv: &Inventory, read: bool) -> Result<()> {
    let found = inv.kind.as_str();
    // A tarball that is not an image is read as a root filesystem; it is one
    // when it holds an OS release file or an OS package database, as a
    // folder is one when it holds /etc and a package database. An empty
    // tarball, or one of source code, is refused rather than found clean.
    let system = !read
        || Path::new(target).is_dir()
        || inv.os.is_some()
        || inv.packages.iter().any(|p| vigia_scan::is_os(&p.kind));
    if kind == TargetKind::Host && found == "rootfs" && !system {
        return Err(Error::request(format!(
            "{target} is not a root filesystem: it holds no OS release file (/etc/os-release) and no OS package database; for a tarball of other files, unpack it and use `vigia scan dir`"
        )));
    }
    let ok = match kind {
        TargetKind::Image => found == "image",
        // A secret scan alone needs no package database: a folder is a
        // host's files as a tarball of them is.
        TargetKind::Host => found == "rootfs" || !read && Path::new(target).is_dir(),
        // A function's zip, or a folder of its code.
        TargetKind::Function => {
            found == "function" || found == "directory" && Path::new(target).is_dir()
        }
        // A folder (a root filesystem's too), or a lockfile given alone;
        // not an archive.
        TargetKind::Dir => found == "directory" || found == "rootfs" && Path::new(target).is_dir(),
        TargetKind::Sbom => true,
    };
    if ok {
        return Ok(());
    }
    let hint = match found {
        "image" => "it is a container image: use `vigia scan image`",
        "rootfs" => "it is a root filesystem: use `vigia scan host`",
        "function" => "it is a zip: use `vigia scan function`",
        _ => {
            "it is a plain folder: use `vigia scan dir` (a host needs /etc and a package database)"
        }
    };
    let expected = match kind {
        TargetKind::Image => "a container image (OCI layout, docker archive or registry reference)",
        TargetKind::Host => "a root filesystem",
        TargetKind::Function => "a function (its zip, or a folder of its code)",
        TargetKind::Dir => "a folder",
        TargetKind::Sbom => "what was asked",
    };
    Err(Error::request(format!(
        "{target} is not {expected}: {hint}"
    )))
}

/// Base64 SHA-256 of a function zip (Inspector's `codeSha256`).
fn zip_sha256(path: &Path) -> Option<String> {
    let mut f = fs_err::File::open(path).ok()?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(h.finalize()))
}
