//! The advisory database update: fetch every source, ingest what changed,
//! rebuild the alias groups, publish a new generation atomically, and say which
//! packages' advisories changed.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use vigia_feeds::catalog::{self, Location, Origin, Selection};
use vigia_feeds::fetch::{self, Fetched, FetchedFile};
use vigia_feeds::{Item, Malformed, Source, SourceKind};
use vigia_store::{Generation, PackageKey, SourceState, Store};

use crate::{Config, Error, Result, error_chain};

/// What one update is asked to do.
#[derive(Debug, Clone, Default)]
pub struct UpdateOptions {
    /// A folder or web server laid out like the upstreams, instead of them.
    pub mirror: Option<String>,
    /// Only these osv.dev ecosystems (all defaults when empty).
    pub ecosystems: Vec<String>,
    /// Leave KEV, EPSS and NVD out.
    pub skip_enrichment: bool,
}

/// What an update is doing, as it does it. The command line draws progress bars
/// from these; the service logs them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum UpdateEvent {
    /// Another update holds the lock; this one waits for it.
    WaitingForLock,
    /// The sources are known; fetching starts.
    Started {
        /// Where they come from.
        origin: String,
        /// How many.
        sources: usize,
    },
    /// Bytes of one source fetched so far.
    Fetching {
        /// The source.
        source: String,
        /// Bytes so far.
        bytes: u64,
        /// The total, when the server said.
        total: Option<u64>,
    },
    /// One source is fetched (or found unchanged, or failed).
    Fetched {
        /// The source.
        source: String,
    },
    /// One source's new content is being ingested.
    Ingesting {
        /// The source.
        source: String,
        /// Its size.
        bytes: u64,
    },
    /// Records of the source being ingested, so far.
    Ingested {
        /// The source.
        source: String,
        /// Records so far.
        records: u64,
    },
    /// A source failed; it keeps its previous data.
    SourceFailed {
        /// The source.
        source: String,
        /// Why.
        error: String,
    },
    /// The alias groups are being rebuilt.
    Grouping,
    /// Everything is written; the new generation is being published.
    Publishing,
    /// The update is visible to readers.
    Published {
        /// The generation now in force.
        generation: Generation,
    },
}

/// What happened to one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceStatus {
    /// New content was ingested.
    Updated,
    /// The source was confirmed current.
    Unchanged,
    /// It could not be fetched or read; it keeps its previous data.
    Failed,
}

/// The kind of an advisory source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    /// An osv.dev export of one ecosystem.
    Osv,
    /// CISA's Known Exploited Vulnerabilities catalogue.
    Kev,
    /// FIRST's EPSS scores.
    Epss,
    /// NVD's CVSS vectors.
    Nvd,
}

impl FeedKind {
    fn of(kind: &SourceKind) -> Self {
        match kind {
            SourceKind::Osv { .. } => Self::Osv,
            SourceKind::Kev => Self::Kev,
            SourceKind::Epss => Self::Epss,
            SourceKind::Nvd => Self::Nvd,
        }
    }

    /// The name stored in the database and shown to people.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Osv => "osv",
            Self::Kev => "kev",
            Self::Epss => "epss",
            Self::Nvd => "nvd",
        }
    }
}

/// The outcome of one source in an update.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceReport {
    /// The source's path in the upstream layout (`PyPI/all.zip`).
    pub name: String,
    /// What it holds.
    pub kind: FeedKind,
    /// The osv.dev ecosystem, for OSV sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<String>,
    /// What happened.
    pub status: SourceStatus,
    /// Records it now holds.
    pub records: u64,
    /// Of those, withdrawn.
    pub withdrawn: u64,
    /// Records skipped as malformed, named.
    pub malformed: Vec<Malformed>,
    /// Bytes downloaded for it.
    pub bytes_downloaded: u64,
    /// Packages whose advisories in this source changed.
    pub changed_packages: usize,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The packages whose advisories one source changed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceChange {
    /// The source.
    pub source: String,
    /// What it holds. Enrichment sources (KEV, EPSS, NVD) change scores, not
    /// matches: they list no packages, and their presence here means "rescore".
    pub kind: FeedKind,
    /// The (ecosystem, normalised name) keys whose affected entries were added,
    /// changed, withdrawn or removed since the previous generation, sorted.
    pub packages: Vec<PackageKey>,
}

/// Everything an update changed: the input of rematching stored inventories.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChangeSet {
    /// One entry per source whose content changed.
    pub sources: Vec<SourceChange>,
    /// The packages of records that did not change themselves but share an
    /// alias group, before or after the update, with one that did: their
    /// findings show the group's preferred ID and its merged description,
    /// severity and references, so they are evaluated again too. Sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grouped: Vec<PackageKey>,
    /// Whether the vulnerabilities whose KEV, EPSS or NVD data changed were
    /// told apart (compared with the previous generation): the packages of
    /// their alias groups are in `grouped`. Not on a first load.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enrichment_narrowed: bool,
}

impl ChangeSet {
    /// Whether nothing changed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty() && self.grouped.is_empty()
    }

    /// Every changed package key, each once, sorted.
    #[must_use]
    pub fn packages(&self) -> Vec<PackageKey> {
        let mut all: Vec<PackageKey> = self
            .sources
            .iter()
            .flat_map(|s| s.packages.iter().cloned())
            .chain(self.grouped.iter().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// Whether scores may have changed (KEV, EPSS or NVD content changed).
    #[must_use]
    pub fn enrichment_changed(&self) -> bool {
        self.sources.iter().any(|s| s.kind != FeedKind::Osv)
    }

    /// Whether any finding may have been rescored without the change set
    /// naming its package: KEV, EPSS or NVD content changed and the
    /// vulnerabilities it changed are not known.
    #[must_use]
    pub fn rescores_all(&self) -> bool {
        self.enrichment_changed() && !self.enrichment_narrowed
    }
}

/// What an update did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdateReport {
    /// The database, named without a password.
    pub database: String,
    /// Where the sources came from (a URL without its credentials).
    pub origin: String,
    /// The generation before the update.
    pub previous_generation: Generation,
    /// The generation in force after it (the same when nothing new came in).
    pub generation: Generation,
    /// Each source's outcome, by name.
    pub sources: Vec<SourceReport>,
    /// Sources updated.
    pub updated: usize,
    /// Sources unchanged.
    pub unchanged: usize,
    /// Sources failed.
    pub failed: usize,
    /// Records ingested.
    pub records_ingested: u64,
    /// Alias groups after the update, when they were rebuilt.
    pub alias_groups: Option<u64>,
    /// Wall time.
    pub seconds: f64,
    /// Which packages' advisories changed.
    #[serde(default, skip_serializing_if = "ChangeSet::is_empty")]
    pub changes: ChangeSet,
}

/// A callback that receives every [`UpdateEvent`].
pub type EventSink = Arc<dyn Fn(&UpdateEvent) + Send + Sync>;

/// Updates the advisory database; one-shot ([`Updater::update`]) or in the
/// background ([`Updater::spawn_every`]).
#[derive(Clone)]
pub struct Updater {
    config: Config,
    client: reqwest::Client,
    events: Option<EventSink>,
}

impl std::fmt::Debug for Updater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Updater")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Holds the update lock file; released on drop (and by the OS if the process dies).
struct UpdateLock(#[allow(dead_code)] std::fs::File);

/// A background update loop; stops when dropped or [`Background::stop`]ped.
#[derive(Debug)]
pub struct Background {
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Background {
    /// Stops the loop after the update in progress, if any, and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

impl Updater {
    /// An updater for the database `config` names.
    #[must_use]
    pub fn new(config: Config) -> Self {
        Self {
            config,
            client: fetch::http_client(),
            events: None,
        }
    }

    /// Sends every event to `sink`.
    #[must_use]
    pub fn with_events(mut self, sink: EventSink) -> Self {
        self.events = Some(sink);
        self
    }

    fn emit(&self, event: &UpdateEvent) {
        if let Some(sink) = &self.events {
            sink(event);
        }
    }

    /// A failed source: logged, announced, reported; it keeps its previous data.
    fn failed(
        &self,
        src: &Source,
        old: Option<&SourceState>,
        e: &vigia_feeds::Error,
    ) -> SourceReport {
        let error = error_chain(e);
        tracing::info!(source = %src.name, "{error}");
        self.emit(&UpdateEvent::SourceFailed {
            source: src.name.clone(),
            error: error.clone(),
        });
        source_report(src, old, SourceStatus::Failed, Some(error))
    }

    /// Runs [`Updater::update`] now and then every `every`, handing each outcome
    /// to `on_report`, until the returned handle is stopped.
    pub fn spawn_every(
        self: Arc<Self>,
        options: UpdateOptions,
        every: Duration,
        on_report: impl Fn(Result<UpdateReport>) + Send + Sync + 'static,
    ) -> Background {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let outcome = self.update(&options).await;
                on_report(outcome);
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    _ = stopped.changed() => break,
                }
                if *stopped.borrow() {
                    break;
                }
            }
        });
        Background { stop, task }
    }

    async fn lock(&self, dir: &Path) -> Result<UpdateLock> {
        let path = dir.join("update.lock");
        let file = fs_err::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| Error::File {
                what: "cannot open the update lock",
                path: path.clone(),
                source,
            })?
            .into_file();
        match file.try_lock() {
            Ok(()) => return Ok(UpdateLock(file)),
            Err(std::fs::TryLockError::WouldBlock) => self.emit(&UpdateEvent::WaitingForLock),
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(Error::File {
                    what: "cannot lock",
                    path,
                    source,
                });
            }
        }
        tokio::task::spawn_blocking(move || {
            file.lock().map_err(|source| Error::File {
                what: "cannot lock",
                path,
                source,
            })?;
            Ok(UpdateLock(file))
        })
        .await
        .map_err(|e| Error::worker("waiting for the update lock", e))?
    }

    /// The sources to fetch: those the origin lists, and those it is expected
    /// to hold (see [`catalog::add_expected`]): `held` names what the
    /// database holds now.
    async fn resolve_sources(
        &self,
        options: &UpdateOptions,
        held: &[String],
    ) -> Result<(String, Vec<Source>)> {
        let (origin, mut sources, listing) = self.listed_sources(options).await?;
        let sel = Selection {
            ecosystems: options.ecosystems.clone(),
            skip_enrichment: options.skip_enrichment,
        };
        let mut expected: Vec<String> = catalog::enrichment_paths().into();
        expected.extend(held.iter().cloned());
        if let Some(Listing { locate, manifest }) = listing {
            expected.extend(manifest);
            catalog::add_expected(&mut sources, expected, &sel, locate);
        }
        Ok((origin, sources))
    }

    /// The sources the origin lists, and for a mirror how to locate one it
    /// does not list (the real upstreams' list is complete).
    async fn listed_sources(
        &self,
        options: &UpdateOptions,
    ) -> Result<(String, Vec<Source>, Option<Listing>)> {
        let sel = Selection {
            ecosystems: options.ecosystems.clone(),
            skip_enrichment: options.skip_enrichment,
        };
        let year = i32::from(jiff::Zoned::now().year());
        let Some(mirror) = &options.mirror else {
            return Ok((
                "upstream".into(),
                catalog::upstream_sources(&sel, year),
                None,
            ));
        };
        match Origin::from_mirror_arg(mirror)? {
            Origin::MirrorDir(dir) => {
                let sources = catalog::mirror_dir_sources(&dir, &sel)?;
                let manifest = manifest_paths(&dir.join("manifest.json"))?;
                let root = dir.clone();
                let locate = Box::new(move |p: &str| Location::File(root.join(p)));
                Ok((
                    dir.display().to_string(),
                    sources,
                    Some(Listing { locate, manifest }),
                ))
            }
            Origin::MirrorUrl(base) => {
                let manifest_url = base.join("manifest.json").map_err(|e| {
                    Error::request(format!(
                        "mirror URL {}: {e}",
                        vigia_store::redact_url(base.as_str())
                    ))
                })?;
                let manifest = fetch::fetch_json(&self.client, &manifest_url).await?;
                let paths: Option<Vec<String>> = manifest
                    .as_ref()
                    .and_then(|m| m.get("files"))
                    .and_then(|f| f.as_array())
                    .map(|files| {
                        files
                            .iter()
                            .filter_map(|f| {
                                f.get("path").and_then(|p| p.as_str()).map(str::to_owned)
                            })
                            .collect()
                    });
                let mut sources = catalog::mirror_url_sources(&base, paths.as_deref(), &sel, year);
                if paths.is_some() {
                    catalog::require_selected(
                        &mut sources,
                        &sel,
                        &vigia_store::redact_url(base.as_str()),
                    )?;
                }
                let root = base.clone();
                let locate = Box::new(move |p: &str| Location::Url(catalog::join_url(&root, p)));
                Ok((
                    base.to_string(),
                    sources,
                    Some(Listing {
                        locate,
                        manifest: Vec::new(),
                    }),
                ))
            }
            Origin::Upstream => Ok((
                "upstream".into(),
                catalog::upstream_sources(&sel, year),
                None,
            )),
        }
    }

    /// Fetches every source, ingests what changed and publishes the result at
    /// once. A source that fails keeps its previous data and is reported
    /// [`SourceStatus::Failed`]; only a database error fails the whole update,
    /// and then nothing of it is visible.
    pub async fn update(&self, options: &UpdateOptions) -> Result<UpdateReport> {
        self.run_update(options).await.map_err(|e| match e {
            Error::Store(source) => Error::Database {
                database: self.config.database_name(),
                source,
            },
            other => other,
        })
    }

    async fn run_update(&self, options: &UpdateOptions) -> Result<UpdateReport> {
        let started = Instant::now();
        let dir = &self.config.data_dir;
        fs_err::create_dir_all(dir).map_err(|source| Error::File {
            what: "cannot create the data directory",
            path: dir.clone(),
            source,
        })?;
        let _lock = self.lock(dir).await?;
        // PostgreSQL is updated in place, in one transaction. SQLite is read here
        // for the sources' previous state; new content is then built into a new
        // file beside it (see `vigia_store::Update::build_sqlite`).
        let (pg, live) = match &self.config.database_url {
            Some(url) => (Some(Store::open(url).await?), None),
            None => (None, Some(self.config.database_file())),
        };
        let prev_store = match (&pg, &live) {
            (Some(store), _) => Some(store.clone()),
            (None, Some(path)) => match Store::open_sqlite_existing(path).await {
                Ok(store) => store,
                Err(e @ vigia_store::Error::Outdated { .. }) => {
                    tracing::warn!("{e}; rebuilding it from every source");
                    None
                }
                Err(e) => return Err(e.into()),
            },
            (None, None) => None,
        };
        let (prev, previous_generation): (HashMap<String, SourceState>, Generation) =
            match &prev_store {
                Some(store) => (
                    store
                        .source_states()
                        .await?
                        .into_iter()
                        .map(|s| (s.name.clone(), s))
                        .collect(),
                    store.generation().await?,
                ),
                None => (HashMap::new(), Generation::default()),
            };
        let fresh = prev_store.is_none();
        if let (None, Some(store)) = (&pg, prev_store) {
            store.close().await;
        }
        // Sources that once held data: a source that only ever failed is not
        // expected again from an origin that no longer lists it.
        let held: Vec<String> = prev
            .values()
            .filter(|s| s.changed_at.is_some())
            .map(|s| s.name.clone())
            .collect();
        let (origin, sources) = self.resolve_sources(options, &held).await?;
        // A mirror's URL may carry its credentials: never shown.
        let shown = vigia_store::redact_url(&origin);
        tracing::info!(sources = sources.len(), origin = %shown, "updating the vulnerability database");
        self.emit(&UpdateEvent::Started {
            origin: shown,
            sources: sources.len(),
        });
        let fetched = self.fetch_all(sources, &prev, &dir.join("tmp")).await;

        let any_new = fetched
            .iter()
            .any(|(_, r)| matches!(r, Ok(Fetched::Changed { .. })));
        let mut in_place = None;
        let mut upd = match (&pg, &live) {
            (Some(store), _) => store.begin_update().await?,
            (None, Some(path)) if any_new || fresh => {
                vigia_store::Update::build_sqlite(path).await?
            }
            (None, Some(path)) => {
                // Only source states change: a small write in place.
                let store = Store::open_sqlite(path).await?;
                let upd = store.begin_update().await?;
                in_place = Some(store);
                upd
            }
            (None, None) => unreachable!("a database URL or a data directory is given"),
        };
        let mut reports = Vec::new();
        let mut changed = Vec::new();
        let mut files = Vec::new();
        for (src, result) in fetched {
            let old = prev.get(&src.name);
            match result {
                Err(vigia_feeds::Error::NotFound { .. }) if src.optional => {
                    tracing::info!(source = %src.name, "optional source not published; skipped");
                }
                Err(e) => {
                    let report = self.failed(&src, old, &e);
                    upd.put_source(&failed_state(&src, old, report.error.clone()))
                        .await?;
                    reports.push(report);
                }
                Ok(Fetched::Unchanged {
                    fingerprint,
                    downloaded,
                }) => {
                    let mut st = old.cloned().unwrap_or_default();
                    st.fingerprint = fingerprint;
                    st.checked_at = Some(now());
                    st.attempted_at.clone_from(&st.checked_at);
                    st.error = None;
                    st.location = src.location.to_string();
                    upd.put_source(&st).await?;
                    let mut r = source_report(&src, old, SourceStatus::Unchanged, None);
                    if downloaded {
                        r.bytes_downloaded = st.bytes;
                    }
                    reports.push(r);
                }
                Ok(Fetched::Changed {
                    file,
                    fingerprint,
                    bytes,
                }) => {
                    files.push(file);
                    changed.push((src, fingerprint, bytes));
                }
            }
        }
        // Every changed source through one parser thread, so that it starts on
        // the next file while the writer finishes the last.
        let outcomes = self.ingest_all(&mut upd, &changed, files).await?;
        let mut change_set = ChangeSet::default();
        let mut any_changed = false;
        let mut ingested = 0u64;
        for ((src, _, _), outcome) in changed.iter().zip(outcomes) {
            let old = prev.get(&src.name);
            match outcome.parsed {
                Ok(parsed) => {
                    any_changed = true;
                    ingested += parsed.records;
                    for m in &parsed.malformed {
                        tracing::info!(source = %src.name, entry = %m.entry, "skipped malformed record: {}", m.reason);
                    }
                    let mut r = source_report(src, old, SourceStatus::Updated, None);
                    r.records = parsed.records;
                    r.withdrawn = parsed.withdrawn;
                    r.malformed = parsed.malformed;
                    r.bytes_downloaded = outcome.downloaded;
                    r.changed_packages = outcome.packages.len();
                    reports.push(r);
                    change_set.sources.push(SourceChange {
                        source: src.name.clone(),
                        kind: FeedKind::of(&src.kind),
                        packages: outcome.packages,
                    });
                }
                // The file is unreadable (a truncated zip, a broken gzip
                // stream): this source keeps its previous rows.
                Err(e) => {
                    let report = self.failed(src, old, &e);
                    upd.put_source(&failed_state(src, old, report.error.clone()))
                        .await?;
                    reports.push(report);
                }
            }
        }
        reports.sort_by(|a, b| a.name.cmp(&b.name));
        change_set.sources.sort_by(|a, b| a.source.cmp(&b.source));
        let groups = if any_changed {
            tracing::info!("rebuilding alias groups");
            self.emit(&UpdateEvent::Grouping);
            let regrouped = upd.rebuild_groups().await?;
            // Only what no source's own change set names already.
            let named: BTreeSet<&PackageKey> = change_set
                .sources
                .iter()
                .flat_map(|s| &s.packages)
                .collect();
            change_set.grouped = regrouped
                .packages
                .into_iter()
                .filter(|p| !named.contains(p))
                .collect();
            Some(regrouped.groups)
        } else {
            None
        };
        change_set.enrichment_narrowed = change_set.enrichment_changed() && upd.enrichment_known();
        upd.put_meta("last_update", &now()).await?;
        tracing::info!("committing");
        self.emit(&UpdateEvent::Publishing);
        let generation = upd.commit().await?;
        for store in pg.iter().chain(in_place.iter()) {
            store.close().await;
        }
        tracing::info!(generation = generation.0, "committed and closed");
        self.emit(&UpdateEvent::Published { generation });
        let count = |s| reports.iter().filter(|r| r.status == s).count();
        Ok(UpdateReport {
            database: self.config.database_name(),
            origin: vigia_store::redact_url(&origin),
            previous_generation,
            generation,
            updated: count(SourceStatus::Updated),
            unchanged: count(SourceStatus::Unchanged),
            failed: count(SourceStatus::Failed),
            records_ingested: ingested,
            alias_groups: groups,
            seconds: started.elapsed().as_secs_f64(),
            sources: reports,
            changes: change_set,
        })
    }

    /// Fetches every source (four at a time), sorted by name; nothing is
    /// written until all are in.
    async fn fetch_all(
        &self,
        sources: Vec<Source>,
        prev: &HashMap<String, SourceState>,
        tmp_dir: &Path,
    ) -> Vec<(Source, Result<Fetched, vigia_feeds::Error>)> {
        let mut fetched: Vec<_> = futures_util::stream::iter(sources)
            .map(|src| {
                let prev = prev.get(&src.name).map(|p| p.fingerprint.clone());
                let events = self.events.clone();
                async move {
                    let name = src.name.clone();
                    let progress = move |bytes: u64, total: Option<u64>| {
                        if let Some(sink) = &events {
                            sink(&UpdateEvent::Fetching {
                                source: name.clone(),
                                bytes,
                                total,
                            });
                        }
                    };
                    let r =
                        fetch::fetch(&self.client, &src, prev.as_ref(), tmp_dir, &progress).await;
                    self.emit(&UpdateEvent::Fetched {
                        source: src.name.clone(),
                    });
                    (src, r)
                }
            })
            .buffer_unordered(4)
            .collect()
            .await;
        fetched.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        fetched
    }

    /// Ingests the changed sources: one blocking thread parses the files one
    /// after the other and binds their rows while this task writes them, so
    /// parsing and the database engine each get a core, and neither waits at
    /// the boundary between two files. Each source is written between
    /// `begin_source` and `finish_source` (or `abandon_source` when its file is
    /// unreadable: it keeps its previous rows), with its new state.
    ///
    /// The error is the database's (the update cannot go on).
    async fn ingest_all(
        &self,
        upd: &mut vigia_store::Update,
        changed: &[(Source, vigia_feeds::Fingerprint, u64)],
        files: Vec<FetchedFile>,
    ) -> Result<Vec<Ingested>> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Parsed>(4);
        let jobs: Vec<(String, SourceKind, Option<String>)> = changed
            .iter()
            .map(|(src, _, _)| (src.name.clone(), src.kind.clone(), ecosystem_of(src)))
            .collect();
        let downloaded: Vec<bool> = files
            .iter()
            .map(|f| matches!(f, FetchedFile::Temp(_)))
            .collect();
        let backend = upd.backend();
        let parser = tokio::task::spawn_blocking(move || {
            for (i, ((name, kind, ecosystem), file)) in jobs.iter().zip(&files).enumerate() {
                if tx.blocking_send(Parsed::Start(i)).is_err() {
                    return;
                }
                let mut rows = vigia_store::Rows::new(backend);
                let mut sink = |item: Item| {
                    rows.push(name, ecosystem.as_deref(), item);
                    if let Some(ready) = rows.take_ready() {
                        tx.blocking_send(Parsed::Rows(ready))
                            .map_err(|_| "the writer stopped".to_owned())?;
                    }
                    Ok(())
                };
                let report = vigia_feeds::parse::parse(name, kind, file.path(), &mut sink);
                if report.is_ok()
                    && !rows.is_empty()
                    && tx.blocking_send(Parsed::Rows(rows)).is_err()
                {
                    return;
                }
                if tx.blocking_send(Parsed::Done(report)).is_err() {
                    return;
                }
            }
            // The fetched files (temporary downloads are deleted) go here.
            drop(files);
        });
        let mut outcomes = Vec::with_capacity(changed.len());
        let mut current = 0;
        let mut records = 0u64;
        let mut started = Instant::now();
        let mut waited = Duration::ZERO;
        let result: Result<()> = async {
            loop {
                let wait = Instant::now();
                let Some(msg) = rx.recv().await else { break };
                waited += wait.elapsed();
                match msg {
                    Parsed::Start(i) => {
                        let (src, _, bytes) = &changed[i];
                        current = i;
                        records = 0;
                        (started, waited) = (Instant::now(), Duration::ZERO);
                        tracing::info!(source = %src.name, bytes, "ingesting");
                        self.emit(&UpdateEvent::Ingesting {
                            source: src.name.clone(),
                            bytes: *bytes,
                        });
                        upd.begin_source(&src.name, FeedKind::of(&src.kind) != FeedKind::Osv)
                            .await?;
                    }
                    Parsed::Rows(rows) => {
                        records += rows.records();
                        upd.write(rows).await?;
                        self.emit(&UpdateEvent::Ingested {
                            source: changed[current].0.name.clone(),
                            records,
                        });
                    }
                    Parsed::Done(report) => {
                        let (src, fingerprint, bytes) = &changed[current];
                        // Which side limits the ingest: the writer waiting on the parser, or not.
                        tracing::debug!(source = %src.name, seconds = started.elapsed().as_secs_f64(), writer_waited = waited.as_secs_f64(), "ingested");
                        let packages = if let Ok(parsed) = &report {
                            let at = now();
                            upd.put_source(&SourceState {
                                name: src.name.clone(),
                                kind: FeedKind::of(&src.kind).as_str().into(),
                                ecosystem: ecosystem_of(src),
                                location: src.location.to_string(),
                                fingerprint: fingerprint.clone(),
                                bytes: *bytes,
                                records: parsed.records,
                                withdrawn: parsed.withdrawn,
                                malformed: parsed.malformed.len() as u64,
                                malformed_entries: parsed.malformed.clone(),
                                snapshot_at: parsed.snapshot_at.clone(),
                                changed_at: Some(at.clone()),
                                checked_at: Some(at.clone()),
                                attempted_at: Some(at),
                                error: None,
                            })
                            .await?;
                            upd.finish_source().await?
                        } else {
                            upd.abandon_source().await?;
                            Vec::new()
                        };
                        outcomes.push(Ingested {
                            parsed: report,
                            downloaded: if downloaded[current] { *bytes } else { 0 },
                            packages,
                        });
                    }
                }
            }
            Ok(())
        }
        .await;
        // On a database error the channel closes here and the parser stops.
        drop(rx);
        parser
            .await
            .map_err(|e| Error::worker("the parser thread", e))?;
        result?;
        Ok(outcomes)
    }
}

/// How a mirror's files are found, and which its manifest lists.
struct Listing {
    locate: Box<dyn Fn(&str) -> Location + Send>,
    manifest: Vec<String>,
}

/// What the parser thread tells the writer, in order.
enum Parsed {
    /// The next source starts.
    Start(usize),
    /// Rows of the current source.
    Rows(vigia_store::Rows),
    /// The current source is done, or its file could not be read.
    Done(Result<vigia_feeds::ParseReport, vigia_feeds::Error>),
}

/// One changed source's ingest.
struct Ingested {
    parsed: Result<vigia_feeds::ParseReport, vigia_feeds::Error>,
    downloaded: u64,
    packages: Vec<PackageKey>,
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

/// The files a mirror folder's `manifest.json` lists (`{"files":[{"path":…}]}`),
/// none when it has no manifest.
fn manifest_paths(path: &Path) -> Result<Vec<String>> {
    let text = match fs_err::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::File {
                what: "cannot read the mirror's manifest",
                path: path.to_owned(),
                source: e,
            });
        }
    };
    let manifest: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::request(format!("{}: not a mirror manifest: {e}", path.display())))?;
    Ok(manifest
        .get("files")
        .and_then(|f| f.as_array())
        .map(|files| {
            files
                .iter()
                .filter_map(|f| f.get("path").and_then(|p| p.as_str()).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

fn ecosystem_of(src: &Source) -> Option<String> {
    match &src.kind {
        SourceKind::Osv { ecosystem } => Some(ecosystem.clone()),
        _ => None,
    }
}

/// The state a source keeps after a failed attempt: what it held before (or,
/// never read yet, nothing), with the attempt's time and error.
fn failed_state(src: &Source, old: Option<&SourceState>, error: Option<String>) -> SourceState {
    let mut st = old.cloned().unwrap_or_else(|| SourceState {
        name: src.name.clone(),
        kind: FeedKind::of(&src.kind).as_str().into(),
        ecosystem: ecosystem_of(src),
        location: src.location.to_string(),
        ..SourceState::default()
    });
    st.attempted_at = Some(now());
    st.error = error;
    st
}

/// A source's report before its outcome is known: its previous counts.
fn source_report(
    src: &Source,
    old: Option<&SourceState>,
    status: SourceStatus,
    error: Option<String>,
) -> SourceReport {
    SourceReport {
        name: src.name.clone(),
        kind: FeedKind::of(&src.kind),
        ecosystem: ecosystem_of(src),
        status,
        records: old.map_or(0, |o| o.records),
        withdrawn: old.map_or(0, |o| o.withdrawn),
        malformed: Vec::new(),
        bytes_downloaded: 0,
        changed_packages: 0,
        error,
    }
}
