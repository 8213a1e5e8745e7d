//! `vigia db …`: update, status and show.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use futures_util::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use owo_colors::OwoColorize;
use serde::Serialize;
use vigia_feeds::catalog::{self, Origin, Selection};
use vigia_feeds::fetch::{self, Fetched};
use vigia_feeds::{Item, Malformed, Source, SourceKind};
use vigia_store::{SourceState, Store};

use crate::cli::{Cli, DbCommand, Format, MatchArgs, ShowArgs, UpdateArgs};
use crate::output::{self, paint};
use crate::{Exit, exit};

/// A database older than this (since its last successful update) is stale.
pub(crate) const STALE_AFTER_DAYS: i64 = 7;
const DB_FILE: &str = "vigia.db";

pub(crate) async fn run(cli: &Cli, cmd: &DbCommand) -> Result<u8> {
    match cmd {
        DbCommand::Update(args) => update(cli, args).await,
        DbCommand::Status(args) => status(cli, args.format).await,
        DbCommand::Show(args) => show(cli, args).await,
        DbCommand::Match(args) => match_one(cli, args).await,
    }
}

/// The data directory: `--data-dir`, `$VIGIA_HOME`, or `<XDG data dir>/vigia`.
pub(crate) fn data_dir(cli: &Cli) -> Result<PathBuf> {
    if let Some(d) = &cli.data_dir {
        return Ok(d.clone());
    }
    dirs::data_dir()
        .map(|d| d.join("vigia"))
        .context("cannot find a data directory: set --data-dir or VIGIA_HOME")
}

/// Opens the database for reading; a clear error (exit 4) when there is none yet.
pub(crate) async fn open_existing(cli: &Cli) -> Result<Store> {
    if let Some(url) = &cli.database_url {
        return Ok(Store::open(url).await?);
    }
    let path = data_dir(cli)?.join(DB_FILE);
    let store = match Store::open_sqlite_existing(&path).await {
        Err(e @ vigia_store::Error::Outdated { .. }) => {
            return Err(Exit {
                code: exit::NO_DATABASE,
                message: e.to_string(),
            }
            .into());
        }
        other => other?,
    };
    let store = store.ok_or_else(|| Exit {
        code: exit::NO_DATABASE,
        message: format!("no vulnerability database at {}: run `vigia db update` (or `vigia db update --mirror DIR` offline)", path.display()),
    })?;
    if store.source_states().await?.is_empty() {
        return Err(Exit {
            code: exit::NO_DATABASE,
            message: format!(
                "the vulnerability database at {} is empty: run `vigia db update`",
                path.display()
            ),
        }
        .into());
    }
    Ok(store)
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// The outcome of one source in an update.
#[derive(Debug, Serialize)]
struct SourceReport {
    name: String,
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ecosystem: Option<String>,
    /// updated | unchanged | failed
    status: &'static str,
    records: u64,
    withdrawn: u64,
    malformed: Vec<Malformed>,
    bytes_downloaded: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct UpdateReport {
    database: String,
    origin: String,
    sources: Vec<SourceReport>,
    updated: usize,
    unchanged: usize,
    failed: usize,
    records_ingested: u64,
    alias_groups: Option<u64>,
    seconds: f64,
}

fn kind_name(kind: &SourceKind) -> &'static str {
    match kind {
        SourceKind::Osv { .. } => "osv",
        SourceKind::Kev => "kev",
        SourceKind::Epss => "epss",
        SourceKind::Nvd => "nvd",
    }
}

/// Holds the update lock file; released on drop (and by the OS if the process dies).
struct UpdateLock(#[allow(dead_code)] std::fs::File);

fn lock_updates(dir: &Path) -> Result<UpdateLock> {
    let path = dir.join("update.lock");
    let file = fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?
        .into_file();
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            output::warning("another `vigia db update` is running; waiting for it to finish");
            file.lock()
                .with_context(|| format!("cannot lock {}", path.display()))?;
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock {}", path.display()));
        }
    }
    Ok(UpdateLock(file))
}

async fn resolve_sources(
    client: &reqwest::Client,
    args: &UpdateArgs,
) -> Result<(String, Vec<Source>)> {
    let sel = Selection {
        ecosystems: args.ecosystems.clone(),
        skip_enrichment: args.no_enrichment,
    };
    let year = i32::from(jiff::Zoned::now().year());
    let Some(mirror) = &args.mirror else {
        return Ok(("upstream".into(), catalog::upstream_sources(&sel, year)));
    };
    match Origin::from_mirror_arg(mirror)? {
        Origin::MirrorDir(dir) => Ok((
            dir.display().to_string(),
            catalog::mirror_dir_sources(&dir, &sel)?,
        )),
        Origin::MirrorUrl(base) => {
            let manifest_url = base.join("manifest.json").context("mirror URL")?;
            let manifest = fetch::fetch_json(client, &manifest_url).await?;
            let paths: Option<Vec<String>> = manifest
                .as_ref()
                .and_then(|m| m.get("files"))
                .and_then(|f| f.as_array())
                .map(|files| {
                    files
                        .iter()
                        .filter_map(|f| f.get("path").and_then(|p| p.as_str()).map(str::to_owned))
                        .collect()
                });
            let mut sources = catalog::mirror_url_sources(&base, paths.as_deref(), &sel, year);
            if paths.is_some() {
                catalog::require_selected(&mut sources, &sel, base.as_str())?;
            }
            Ok((base.to_string(), sources))
        }
        Origin::Upstream => unreachable!("from_mirror_arg never returns Upstream"),
    }
}

fn progress_target(cli: &Cli) -> ProgressDrawTarget {
    if cli.quiet || !output::stderr_is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    }
}

async fn update(cli: &Cli, args: &UpdateArgs) -> Result<u8> {
    let started = Instant::now();
    let dir = data_dir(cli)?;
    fs_err::create_dir_all(&dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    let _lock = lock_updates(&dir)?;
    // PostgreSQL is updated in place, in one transaction. SQLite is read here for
    // the sources' previous state; new content is then built into a new file
    // beside it (see `vigia_store::Update::build_sqlite`).
    let (pg, db_name, live) = if let Some(url) = &cli.database_url {
        (
            Some(Store::open(url).await?),
            vigia_store::redact_url(url),
            None,
        )
    } else {
        let path = dir.join(DB_FILE);
        (None, path.display().to_string(), Some(path))
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
    let prev: HashMap<String, SourceState> = match &prev_store {
        Some(store) => store
            .source_states()
            .await?
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect(),
        None => HashMap::new(),
    };
    let fresh = prev_store.is_none();
    if let (None, Some(store)) = (&pg, prev_store) {
        store.close().await;
    }
    let client = fetch::http_client();
    let (origin, sources) = resolve_sources(&client, args).await?;
    tracing::info!(sources = sources.len(), %origin, "updating the vulnerability database");
    // Fetch every source first (four at a time); nothing is written until all are in.
    let multi = MultiProgress::with_draw_target(progress_target(cli));
    let tmp_dir = dir.join("tmp");
    let fetched: Vec<(Source, Result<Fetched, vigia_feeds::Error>)> =
        futures_util::stream::iter(sources)
            .map(|src| {
                let client = &client;
                let prev = prev.get(&src.name).map(|p| p.fingerprint.clone());
                let tmp_dir = &tmp_dir;
                let bar = multi.add(ProgressBar::no_length());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {msg:32} {bytes:>10}/{total_bytes:10} {bytes_per_sec}",
                    )
                    .expect("valid template"),
                );
                bar.set_message(src.name.clone());
                async move {
                    let b = bar.clone();
                    let progress = move |n: u64, total: Option<u64>| {
                        if let Some(t) = total {
                            b.set_length(t);
                        }
                        b.set_position(n);
                    };
                    let r = fetch::fetch(client, &src, prev.as_ref(), tmp_dir, &progress).await;
                    bar.finish_and_clear();
                    (src, r)
                }
            })
            .buffer_unordered(4)
            .collect()
            .await;
    let mut fetched = fetched;
    fetched.sort_by(|a, b| a.0.name.cmp(&b.0.name));

    let any_new = fetched
        .iter()
        .any(|(_, r)| matches!(r, Ok(Fetched::Changed { .. })));
    let mut in_place = None;
    let mut upd = match (&pg, &live) {
        (Some(store), _) => store.begin_update().await?,
        (None, Some(path)) if any_new || fresh => vigia_store::Update::build_sqlite(path).await?,
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
    let mut any_changed = false;
    let mut ingested = 0u64;
    let ingest_bar = multi.add(ProgressBar::no_length());
    ingest_bar.set_style(
        ProgressStyle::with_template("{spinner} ingesting {msg:32} {pos} records")
            .expect("valid template"),
    );
    let mut changed = Vec::new();
    let mut files = Vec::new();
    for (src, result) in fetched {
        let at = now().to_string();
        let old = prev.get(&src.name);
        let base_report = |status, error: Option<String>| SourceReport {
            name: src.name.clone(),
            kind: kind_name(&src.kind).into(),
            ecosystem: match &src.kind {
                SourceKind::Osv { ecosystem } => Some(ecosystem.clone()),
                _ => None,
            },
            status,
            records: old.map_or(0, |o| o.records),
            withdrawn: old.map_or(0, |o| o.withdrawn),
            malformed: Vec::new(),
            bytes_downloaded: 0,
            error,
        };
        match result {
            Err(vigia_feeds::Error::NotFound { .. }) if src.optional => {
                tracing::info!(source = %src.name, "optional source not published; skipped");
            }
            Err(e) => {
                tracing::warn!(source = %src.name, "{e}");
                reports.push(base_report("failed", Some(e.to_string())));
            }
            Ok(Fetched::Unchanged {
                fingerprint,
                downloaded,
            }) => {
                let mut st = old.cloned().unwrap_or_default();
                st.fingerprint = fingerprint;
                st.checked_at = Some(at.clone());
                st.location = src.location.to_string();
                upd.put_source(&st).await?;
                let mut r = base_report("unchanged", None);
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
    // Every changed source through one parser thread, so that it starts on the
    // next file while the writer finishes the last.
    let outcomes = ingest_all(&mut upd, &changed, files, &ingest_bar).await?;
    for ((src, _, _), (parsed, downloaded)) in changed.iter().zip(outcomes) {
        let old = prev.get(&src.name);
        let base = SourceReport {
            name: src.name.clone(),
            kind: kind_name(&src.kind).into(),
            ecosystem: ecosystem_of(src),
            status: "failed",
            records: old.map_or(0, |o| o.records),
            withdrawn: old.map_or(0, |o| o.withdrawn),
            malformed: Vec::new(),
            bytes_downloaded: 0,
            error: None,
        };
        match parsed {
            Ok(parsed) => {
                any_changed = true;
                ingested += parsed.records;
                for m in &parsed.malformed {
                    tracing::warn!(source = %src.name, entry = %m.entry, "skipped malformed record: {}", m.reason);
                }
                reports.push(SourceReport {
                    status: "updated",
                    records: parsed.records,
                    withdrawn: parsed.withdrawn,
                    malformed: parsed.malformed,
                    bytes_downloaded: downloaded,
                    ..base
                });
            }
            Err(e) => {
                // The file is unreadable (a truncated zip, a broken gzip
                // stream): this source keeps its previous rows.
                tracing::warn!(source = %src.name, "{e}");
                reports.push(SourceReport {
                    error: Some(e.to_string()),
                    ..base
                });
            }
        }
    }
    reports.sort_by(|a, b| a.name.cmp(&b.name));
    ingest_bar.finish_and_clear();
    let groups = if any_changed {
        tracing::info!("rebuilding alias groups");
        Some(upd.rebuild_groups().await?)
    } else {
        None
    };
    upd.put_meta("last_update", &now().to_string()).await?;
    tracing::info!("committing");
    upd.commit().await.context("committing the update")?;
    for store in pg.iter().chain(in_place.iter()) {
        store.close().await;
    }
    tracing::info!("committed and closed");

    let failed = reports.iter().filter(|r| r.status == "failed").count();
    let report = UpdateReport {
        database: db_name,
        origin,
        updated: reports.iter().filter(|r| r.status == "updated").count(),
        unchanged: reports.iter().filter(|r| r.status == "unchanged").count(),
        failed,
        records_ingested: ingested,
        alias_groups: groups,
        seconds: started.elapsed().as_secs_f64(),
        sources: reports,
    };
    match args.format.format {
        Format::Json => output::print_json(&report)?,
        Format::Table => print_update_report(&report),
    }
    Ok(if failed > 0 { exit::PARTIAL } else { exit::OK })
}

fn ecosystem_of(src: &Source) -> Option<String> {
    match &src.kind {
        SourceKind::Osv { ecosystem } => Some(ecosystem.clone()),
        _ => None,
    }
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

/// Ingests the changed sources: one blocking thread parses the files one after
/// the other and binds their rows while this task writes them, so parsing and
/// the database engine each get a core, and neither waits at the boundary
/// between two files. Each source is written between `begin_source` and
/// `finish_source` (or `abandon_source` when its file is unreadable: it keeps
/// its previous rows), with its new state.
///
/// Returns, per source, what its parse found and the bytes downloaded for it.
/// The error is the database's (the update cannot go on).
async fn ingest_all(
    upd: &mut vigia_store::Update,
    changed: &[(Source, vigia_feeds::Fingerprint, u64)],
    files: Vec<vigia_feeds::fetch::FetchedFile>,
    bar: &ProgressBar,
) -> Result<Vec<(Result<vigia_feeds::ParseReport, vigia_feeds::Error>, u64)>> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Parsed>(4);
    let jobs: Vec<(String, SourceKind, Option<String>)> = changed
        .iter()
        .map(|(src, _, _)| (src.name.clone(), src.kind.clone(), ecosystem_of(src)))
        .collect();
    let downloaded: Vec<bool> = files
        .iter()
        .map(|f| matches!(f, vigia_feeds::fetch::FetchedFile::Temp(_)))
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
            if report.is_ok() && !rows.is_empty() && tx.blocking_send(Parsed::Rows(rows)).is_err() {
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
    let mut waited = std::time::Duration::ZERO;
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
                    (started, waited) = (Instant::now(), std::time::Duration::ZERO);
                    bar.set_message(src.name.clone());
                    bar.set_position(0);
                    tracing::info!(source = %src.name, bytes, "ingesting");
                    upd.begin_source(&src.name).await?;
                }
                Parsed::Rows(rows) => {
                    records += rows.records();
                    upd.write(rows).await?;
                    bar.set_position(records);
                }
                Parsed::Done(report) => {
                    let (src, fingerprint, bytes) = &changed[current];
                    // Which side limits the ingest: the writer waiting on the parser, or not.
                    tracing::debug!(source = %src.name, seconds = started.elapsed().as_secs_f64(), writer_waited = waited.as_secs_f64(), "ingested");
                    match &report {
                        Ok(parsed) => {
                            let at = now().to_string();
                            upd.put_source(&SourceState {
                                name: src.name.clone(),
                                kind: kind_name(&src.kind).into(),
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
                                checked_at: Some(at),
                            })
                            .await?;
                            upd.finish_source().await?;
                        }
                        Err(_) => upd.abandon_source().await?,
                    }
                    let sent = if downloaded[current] { *bytes } else { 0 };
                    outcomes.push((report, sent));
                }
            }
        }
        Ok(())
    }
    .await;
    // On a database error the channel closes here and the parser stops.
    drop(rx);
    parser.await.context("the parser thread failed")?;
    result?;
    Ok(outcomes)
}

fn print_update_report(r: &UpdateReport) {
    let mut out = String::new();
    for s in &r.sources {
        let status = match s.status {
            "updated" => paint("updated", |t| t.green().to_string()),
            "failed" => paint("FAILED", |t| t.red().bold().to_string()),
            _ => paint("unchanged", |t| t.dimmed().to_string()),
        };
        out.push_str(&format!(
            "{status:>9}  {:<45} {:>8} records",
            s.name, s.records
        ));
        if s.withdrawn > 0 {
            out.push_str(&format!(" ({} withdrawn)", s.withdrawn));
        }
        if !s.malformed.is_empty() {
            out.push_str(&format!(", {} malformed skipped", s.malformed.len()));
        }
        out.push('\n');
        for m in s.malformed.iter().take(20) {
            out.push_str(&format!("           skipped {}: {}\n", m.entry, m.reason));
        }
        if s.malformed.len() > 20 {
            out.push_str(&format!(
                "           … and {} more (see --format json)\n",
                s.malformed.len() - 20
            ));
        }
        if let Some(e) = &s.error {
            out.push_str(&format!("           {e}\n"));
        }
    }
    out.push_str(&format!(
        "\n{} updated, {} unchanged, {} failed; {} records ingested in {:.1}s into {}\n",
        r.updated, r.unchanged, r.failed, r.records_ingested, r.seconds, r.database
    ));
    if r.failed > 0 {
        out.push_str("The failed sources keep their previous data; run `vigia db update` again to retry them.\n");
    }
    output::print(&out);
}

#[derive(Debug, Serialize)]
struct StatusSource {
    name: String,
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ecosystem: Option<String>,
    records: u64,
    withdrawn: u64,
    malformed: u64,
    malformed_entries: Vec<Malformed>,
    last_update: Option<String>,
    last_check: Option<String>,
    snapshot_at: Option<String>,
    age_seconds: Option<i64>,
    stale: bool,
    location: String,
}

#[derive(Debug, Serialize)]
struct Status {
    database: String,
    sources: Vec<StatusSource>,
    alias_groups: u64,
    kev_entries: u64,
    epss_scores: u64,
    cvss_vectors: u64,
    stale: bool,
    warnings: Vec<String>,
}

async fn status(cli: &Cli, format: Format) -> Result<u8> {
    let store = open_existing(cli).await?;
    let states = store.source_states().await?;
    let (groups, kev, epss, cvss) = store.table_counts().await?;
    let now = now();
    let mut warnings = Vec::new();
    let sources: Vec<StatusSource> = states
        .into_iter()
        .map(|s| {
            let age = s.checked_at.as_deref().and_then(vigia_feeds::parse::parse_time).map(|t| now.as_second() - t.as_second());
            let stale = age.is_none_or(|a| a > STALE_AFTER_DAYS * 86_400);
            if stale {
                warnings.push(format!(
                    "{} was last updated {} ago (more than {STALE_AFTER_DAYS} days): run `vigia db update`",
                    s.name,
                    age.map_or_else(|| "never".into(), output::human_age)
                ));
            }
            StatusSource {
                name: s.name,
                kind: s.kind,
                ecosystem: s.ecosystem,
                records: s.records,
                withdrawn: s.withdrawn,
                malformed: s.malformed,
                malformed_entries: s.malformed_entries,
                last_update: s.changed_at,
                last_check: s.checked_at,
                snapshot_at: s.snapshot_at,
                age_seconds: age,
                stale,
                location: s.location,
            }
        })
        .collect();
    let database = match &cli.database_url {
        Some(url) => vigia_store::redact_url(url),
        None => data_dir(cli)?.join(DB_FILE).display().to_string(),
    };
    let st = Status {
        database,
        stale: sources.iter().any(|s| s.stale),
        sources,
        alias_groups: groups,
        kev_entries: kev,
        epss_scores: epss,
        cvss_vectors: cvss,
        warnings,
    };
    for w in &st.warnings {
        output::warning(w);
    }
    match format {
        Format::Json => output::print_json(&st)?,
        Format::Table => {
            let mut out = format!("Database: {}\n\n", st.database);
            out.push_str(&format!(
                "{:<42} {:>9} {:>9} {:>9}  {:<20}  {:<20}  {}\n",
                "SOURCE", "RECORDS", "WITHDRAWN", "MALFORMED", "UPDATED", "SNAPSHOT", "AGE"
            ));
            for s in &st.sources {
                let age = s.age_seconds.map_or_else(|| "-".into(), output::human_age);
                let age = if s.stale {
                    paint(&format!("{age} (stale)"), |t| t.yellow().to_string())
                } else {
                    age
                };
                out.push_str(&format!(
                    "{:<42} {:>9} {:>9} {:>9}  {:<20}  {:<20}  {}\n",
                    s.name,
                    s.records,
                    s.withdrawn,
                    s.malformed,
                    short_time(s.last_update.as_deref()),
                    short_time(s.snapshot_at.as_deref()),
                    age
                ));
            }
            out.push_str(&format!(
                "\n{} vulnerabilities (alias groups), {} KEV entries, {} EPSS scores, {} CVSS vectors\n",
                st.alias_groups, st.kev_entries, st.epss_scores, st.cvss_vectors
            ));
            output::print(&out);
        }
    }
    Ok(exit::OK)
}

fn short_time(t: Option<&str>) -> String {
    t.and_then(vigia_feeds::parse::parse_time)
        .map_or_else(|| "-".into(), |t| t.strftime("%Y-%m-%d %H:%M").to_string())
}

async fn show(cli: &Cli, args: &ShowArgs) -> Result<u8> {
    let store = open_existing(cli).await?;
    let Some(v) = store.vulnerability(&args.id).await? else {
        return Err(Exit {
            code: exit::NOT_FOUND,
            message: format!("{} is not in the vulnerability database", args.id.trim()),
        }
        .into());
    };
    match args.format.format {
        Format::Json => output::print_json(&v)?,
        Format::Table => output::print(&render_vulnerability(&v)),
    }
    Ok(exit::OK)
}

fn render_vulnerability(v: &vigia_store::Vulnerability) -> String {
    let mut out = String::new();
    out.push_str(&paint(&v.id, |t| t.bold().to_string()));
    out.push('\n');
    let others: Vec<&str> = v
        .aliases
        .iter()
        .map(String::as_str)
        .filter(|a| *a != v.id)
        .collect();
    if !others.is_empty() {
        out.push_str(&format!("Also known as: {}\n", others.join(", ")));
    }
    if let Some(summary) = v
        .advisories
        .iter()
        .find_map(|a| a.summary.as_deref())
        .or_else(|| v.advisories.iter().find_map(|a| a.details.as_deref()))
    {
        out.push_str(&format!(
            "\n{}\n",
            summary.lines().next().unwrap_or_default()
        ));
    }
    if let Some(c) = v.cvss.first() {
        out.push_str(&format!(
            "\nSeverity: {} {} ({} CVSS {}, {})\n",
            c.severity, c.score, c.scorer, c.version, c.vector
        ));
    } else {
        out.push_str("\nSeverity: untriaged (no CVSS vector in any source)\n");
    }
    if v.cvss.len() > 1 {
        out.push_str("CVSS by source:\n");
        for c in &v.cvss {
            out.push_str(&format!(
                "  {:<28} {:>4} {:<8} CVSS {} {}\n",
                format!("{} ({})", c.scorer, c.origin),
                c.score,
                c.severity,
                c.version,
                c.vector
            ));
        }
    }
    for k in &v.kev {
        out.push_str(&format!(
            "{}: {} — added {} (due {}), ransomware use: {}\n",
            paint("Known exploited (CISA KEV)", |t| t.red().bold().to_string()),
            k.vulnerability_name,
            k.date_added,
            k.due_date,
            k.known_ransomware_campaign_use
        ));
    }
    for e in &v.epss {
        out.push_str(&format!(
            "EPSS: {:.5} (percentile {:.5}) for {}\n",
            e.score, e.percentile, e.cve
        ));
    }
    out.push_str("\nAdvisories:\n");
    for a in &v.advisories {
        let withdrawn = a
            .withdrawn
            .as_deref()
            .map(|w| format!(" WITHDRAWN {w}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<24} {:<22} modified {}{withdrawn}\n",
            a.id, a.source, a.modified
        ));
    }
    if !v.related.is_empty() {
        let rel: Vec<String> = v
            .related
            .iter()
            .map(|r| format!("{} ({})", r.advisory_id, r.relation))
            .collect();
        out.push_str(&format!("Also named by: {}\n", rel.join(", ")));
    }
    if !v.affected.is_empty() {
        out.push_str("\nAffected:\n");
        for a in &v.affected {
            out.push_str(&format!(
                "  {} {} ({})\n",
                a.ecosystem, a.name, a.advisory_id
            ));
            for r in &a.ranges {
                let events: Vec<String> = r
                    .events
                    .iter()
                    .map(|e| {
                        if let Some(x) = &e.introduced {
                            format!("introduced {x}")
                        } else if let Some(x) = &e.fixed {
                            format!("fixed {x}")
                        } else if let Some(x) = &e.last_affected {
                            format!("last affected {x}")
                        } else if let Some(x) = &e.limit {
                            format!("limit {x}")
                        } else {
                            "?".into()
                        }
                    })
                    .collect();
                out.push_str(&format!("    {:?}: {}\n", r.kind, events.join(", ")));
            }
            if !a.versions.is_empty() {
                let shown: Vec<&str> = a.versions.iter().take(12).map(String::as_str).collect();
                let more = if a.versions.len() > 12 {
                    format!(" … ({} in all)", a.versions.len())
                } else {
                    String::new()
                };
                out.push_str(&format!("    versions: {}{more}\n", shown.join(", ")));
            }
            if let Some(urgency) = a
                .ecosystem_specific
                .as_ref()
                .and_then(|e| e.get("urgency"))
                .and_then(|u| u.as_str())
            {
                out.push_str(&format!("    urgency: {urgency}\n"));
            }
        }
    }
    let refs: Vec<&str> = v
        .advisories
        .iter()
        .flat_map(|a| a.references.iter().map(|r| r.url.as_str()))
        .collect();
    if !refs.is_empty() {
        out.push_str("\nReferences:\n");
        let mut seen = std::collections::BTreeSet::new();
        for r in refs.into_iter().filter(|r| seen.insert(*r)).take(15) {
            out.push_str(&format!("  {r}\n"));
        }
    }
    out
}

/// The OSV spelling of an ecosystem a user typed (`pypi` → `PyPI`, `cargo` → `crates.io`).
pub(crate) fn canonical_ecosystem(input: &str) -> String {
    let (base, release) = match input.split_once(':') {
        Some((b, r)) => (b, Some(r)),
        None => (input, None),
    };
    let base = match base.to_ascii_lowercase().as_str() {
        "debian" | "deb" => "Debian",
        "ubuntu" => "Ubuntu",
        "alpine" | "apk" => "Alpine",
        "redhat" | "red hat" | "rhel" => "Red Hat",
        "suse" => "SUSE",
        "pypi" | "python" | "pip" => "PyPI",
        "npm" | "node" => "npm",
        "crates.io" | "cargo" | "rust" => "crates.io",
        "go" | "golang" => "Go",
        "maven" | "java" => "Maven",
        "rubygems" | "gem" | "ruby" => "RubyGems",
        "nuget" | ".net" | "dotnet" => "NuGet",
        "packagist" | "composer" | "php" => "Packagist",
        _ => base,
    }
    .to_owned();
    match release {
        // Alpine releases are `v3.20` in OSV; users often write `3.20`.
        Some(r) if base == "Alpine" && !r.starts_with('v') => format!("Alpine:v{r}"),
        Some(r) => format!("{base}:{r}"),
        None => base,
    }
}

async fn match_one(cli: &Cli, args: &MatchArgs) -> Result<u8> {
    let store = open_existing(cli).await?;
    let index = vigia_match::Index::load(&store).await?;
    let ecosystem = match &args.distro {
        Some(d) => canonical_ecosystem(d),
        None => canonical_ecosystem(&args.ecosystem),
    };
    let pkg = vigia_match::Package {
        ecosystem,
        name: args.name.clone(),
        version: args.installed.clone(),
        source_name: args.source_name.clone(),
        source_version: args.source_version.clone(),
    };
    let result = index.matches(&pkg);
    match args.format.format {
        Format::Json => output::print_json(&result)?,
        Format::Table => output::print(&render_match(&result)),
    }
    Ok(exit::OK)
}

fn render_match(r: &vigia_match::PackageResult) -> String {
    let p = &r.package;
    let mut out = String::new();
    let via = match &p.source_name {
        Some(s) if *s != p.name => format!(", source package {s} {}", p.lookup_version()),
        _ => String::new(),
    };
    out.push_str(&format!(
        "{} {} ({}{via})\n",
        p.name, p.version, p.ecosystem
    ));
    if let vigia_match::Coverage::NotCovered { reason } = &r.coverage {
        out.push_str(&format!(
            "{}: {reason}\n",
            paint("NOT COVERED", |t| t.yellow().bold().to_string())
        ));
        out.push_str("No findings here do not mean the package is safe.\n");
        return out;
    }
    if r.findings.is_empty() {
        out.push_str("No known vulnerability affects this version.\n");
    }
    for f in &r.findings {
        let fix = match (&f.fixed_version, f.fix_status) {
            (Some(v), _) => format!("fixed in {v}"),
            (None, vigia_match::FixStatus::WillNotFix) => "will not fix".into(),
            (None, _) => "no fix yet".into(),
        };
        out.push_str(&format!(
            "\n{}  {}\n",
            paint(&f.vulnerability_id, |t| t.bold().to_string()),
            fix
        ));
        let others: Vec<&str> = f
            .aliases
            .iter()
            .map(String::as_str)
            .filter(|a| *a != f.vulnerability_id)
            .collect();
        if !others.is_empty() {
            out.push_str(&format!("  also known as: {}\n", others.join(", ")));
        }
        if !f.related.is_empty() {
            out.push_str(&format!("  also fixed by: {}\n", f.related.join(", ")));
        }
        if let Some(u) = &f.urgency {
            out.push_str(&format!("  vendor urgency: {u}\n"));
        }
        if let Some(i) = &f.informational {
            out.push_str(&format!("  informational: {i}\n"));
        }
        out.push_str(&format!("  why: {}\n", f.reason));
        for a in f.advisories.iter().skip(1) {
            out.push_str(&format!(
                "       and {} ({}): {}\n",
                a.id, a.ecosystem, a.matched
            ));
        }
    }
    for w in &r.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}
