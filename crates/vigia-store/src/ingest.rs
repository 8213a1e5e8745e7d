//! Writing an update: replace changed sources, keep the others, rebuild the
//! alias groups, publish everything at once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sqlx::any::AnyArguments;
use sqlx::{Any, AnyPool, Transaction};
use vigia_model::ecosystem::base_of;
use vigia_model::feed::{EpssRow, Item, KevEntry, Malformed, NvdCvss};
use vigia_model::osv::{Osv, SeverityType};
use vigia_model::{CvssScore, PackageKey, normalize_name};

use crate::state::{Generation, SourceState};
use crate::{Backend, Error, Result, Store};

/// Largest number of bound parameters per statement: under `SQLite`'s 32,766 and
/// `PostgreSQL`'s 65,535.
const MAX_PARAMS: usize = 30_000;
/// Rows buffered per table before a flush. Measured: 512 rows per statement
/// ingests ~3× faster than single-row inserts; larger gains little.
const BATCH_ROWS: usize = 512;

/// A value bound into a batched insert.
#[derive(Debug)]
enum Val {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    Float(f64),
}

/// One table that an update writes: its columns and what a duplicate key does.
struct Table {
    name: &'static str,
    columns: &'static [&'static str],
    on_conflict: &'static str,
}

const ADVISORIES: usize = 0;
const AFFECTED: usize = 1;
const IDS: usize = 2;
const CVSS: usize = 3;
const KEV: usize = 4;
const EPSS: usize = 5;

/// The tables that hold a source's rows (each has a `source` column), in the
/// order of the indexes above.
const TABLES: [Table; 6] = [
    Table {
        name: "advisories",
        columns: &[
            "source",
            "id",
            "modified",
            "published",
            "withdrawn",
            "summary",
            "details",
            "aliases",
            "related",
            "upstream",
            "severity",
            "refs",
            "database_specific",
        ],
        on_conflict: "ON CONFLICT (source, id) DO NOTHING",
    },
    Table {
        name: "affected",
        columns: &[
            "source",
            "advisory_id",
            "idx",
            "ecosystem",
            "name",
            "name_norm",
            "purl",
            "ranges",
            "versions",
            "severity",
            "ecosystem_specific",
            "database_specific",
            "digest",
        ],
        on_conflict: "ON CONFLICT (source, advisory_id, idx) DO NOTHING",
    },
    Table {
        name: "advisory_ids",
        columns: &["source", "advisory_id", "id", "relation", "same"],
        on_conflict: "",
    },
    Table {
        name: "cvss",
        columns: &[
            "vuln_id",
            "source",
            "origin",
            "scorer",
            "primary_score",
            "version",
            "vector",
            "score",
            "severity",
        ],
        on_conflict: "",
    },
    Table {
        name: "kev",
        columns: &[
            "cve",
            "source",
            "vendor_project",
            "product",
            "vulnerability_name",
            "date_added",
            "due_date",
            "ransomware",
            "short_description",
            "required_action",
            "notes",
        ],
        on_conflict: "ON CONFLICT (cve) DO NOTHING",
    },
    Table {
        name: "epss",
        columns: &["cve", "source", "score", "percentile", "score_date"],
        on_conflict: "ON CONFLICT (cve) DO NOTHING",
    },
];

/// A multi-row insert with its values bound, ready to run.
type Statement = sqlx::query::Query<'static, Any, AnyArguments<'static>>;

/// Rows made from parsed items, ready to write.
///
/// Building rows (serialising JSON columns, scoring CVSS vectors, normalising
/// package names) and binding them into statements is most of an ingest's work
/// outside the database engine; it happens here, on the parser's thread, so
/// that the writer only runs statements (see [`Rows::take_ready`]). Measured on
/// the 10x mirror, the writer was busy all the time and the parser idle half of
/// it while the writer did this itself.
pub struct Rows {
    backend: Backend,
    /// Each table's values, row after row, not yet bound.
    vals: [Vec<Val>; 6],
    /// Full batches, bound.
    ready: Vec<Statement>,
    /// Pairs of IDs that name the same vulnerability (for the alias groups).
    same: Vec<(String, String)>,
    /// The packages of the affected rows (a key repeated right after itself is
    /// left out), for the change set of a source that had no rows before.
    keys: Vec<PackageKey>,
    /// Records among the items (NVD vectors are not records).
    records: u64,
}

impl std::fmt::Debug for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rows")
            .field("rows", &self.len())
            .field("ready", &self.ready.len())
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

impl Rows {
    /// No rows yet, for a database of `backend`.
    #[must_use]
    pub fn new(backend: Backend) -> Self {
        Self {
            backend,
            vals: Default::default(),
            ready: Vec::new(),
            same: Vec::new(),
            keys: Vec::new(),
            records: 0,
        }
    }

    /// Binds every table's full batches into statements and hands them over with
    /// the alias pairs and record count gathered so far; rows short of a full
    /// batch stay here. `None` when there is nothing to hand over yet.
    pub fn take_ready(&mut self) -> Option<Rows> {
        for (t, table) in TABLES.iter().enumerate() {
            let full = batch_rows(table) * table.columns.len();
            while self.vals[t].len() >= full {
                let rest = self.vals[t].split_off(full);
                let batch = std::mem::replace(&mut self.vals[t], rest);
                self.ready
                    .push(bind_values(sqlx::query(full_sql(self.backend, t)), batch));
            }
        }
        if self.ready.is_empty() {
            return None;
        }
        Some(Rows {
            backend: self.backend,
            vals: Default::default(),
            ready: std::mem::take(&mut self.ready),
            same: std::mem::take(&mut self.same),
            keys: std::mem::take(&mut self.keys),
            records: std::mem::take(&mut self.records),
        })
    }

    /// Rows in all tables not yet bound.
    #[must_use]
    pub fn len(&self) -> usize {
        self.vals
            .iter()
            .zip(&TABLES)
            .map(|(v, t)| v.len() / t.columns.len())
            .sum()
    }

    /// Whether there is nothing to write.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.vals.iter().all(Vec::is_empty)
            && self.ready.is_empty()
            && self.same.is_empty()
            && self.keys.is_empty()
    }

    /// Records among the items added (KEV entries and EPSS rows count, NVD
    /// vectors do not).
    #[must_use]
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Adds one parsed item of source `source` (whose osv.dev ecosystem, if any,
    /// is `ecosystem`). Affected entries of other ecosystems are left to their own
    /// export: osv.dev puts a record in every ecosystem it affects.
    pub fn push(&mut self, source: &str, ecosystem: Option<&str>, item: Item) {
        match item {
            Item::Advisory { record } => {
                self.records += 1;
                self.push_advisory(source, ecosystem, &record);
            }
            Item::Kev(k) => {
                self.records += 1;
                self.push_kev(source, k);
            }
            Item::Epss(e) => {
                self.records += 1;
                self.push_epss(source, e);
            }
            Item::Cvss(c) => self.push_nvd_cvss(source, &c),
        }
    }

    fn push_advisory(&mut self, source: &str, ecosystem: Option<&str>, r: &Osv) {
        let s = || Val::Text(source.to_owned());
        self.vals[ADVISORIES].extend([
            s(),
            Val::Text(r.id.clone()),
            Val::Text(r.modified.clone()),
            Val::OptText(r.published.clone()),
            Val::OptText(r.withdrawn.clone()),
            Val::OptText(r.summary.clone()),
            Val::OptText(r.details.clone()),
            Val::Text(json(&r.aliases)),
            Val::Text(json(&r.related)),
            Val::Text(json(&r.upstream)),
            Val::Text(json(&r.severity)),
            Val::Text(json(&r.references)),
            Val::OptText(opt_json(r.database_specific.as_ref())),
        ]);
        // What findings show of the record itself: a change to it changes
        // the findings of every package it names.
        let record = json(&(
            &r.modified,
            &r.published,
            &r.summary,
            &r.details,
            &r.aliases,
            &r.related,
            &r.upstream,
            &r.severity,
            &r.references,
        ));
        for (idx, a) in r.affected.iter().enumerate() {
            let Some(pkg) = &a.package else { continue };
            if ecosystem.is_some_and(|e| !base_of(&pkg.ecosystem).eq_ignore_ascii_case(e)) {
                continue;
            }
            let ranges = json(&a.ranges);
            let versions = json(&a.versions);
            let eco_specific = opt_json(a.ecosystem_specific.as_ref());
            let db_specific = opt_json(a.database_specific.as_ref());
            let severity = json(&a.severity);
            let digest = entry_digest(&EntryParts {
                withdrawn: r.withdrawn.is_some(),
                record: &record,
                severity: &severity,
                name: &pkg.name,
                ranges: &ranges,
                versions: &versions,
                ecosystem_specific: eco_specific.as_deref(),
                database_specific: db_specific.as_deref(),
            });
            let name_norm = normalize_name(&pkg.ecosystem, &pkg.name);
            if self
                .keys
                .last()
                .is_none_or(|k| k.name != name_norm || k.ecosystem != pkg.ecosystem)
            {
                self.keys.push(PackageKey {
                    ecosystem: pkg.ecosystem.clone(),
                    name: name_norm.clone(),
                });
            }
            self.vals[AFFECTED].extend([
                s(),
                Val::Text(r.id.clone()),
                Val::Int(i64::try_from(idx).unwrap_or(i64::MAX)),
                Val::Text(pkg.ecosystem.clone()),
                Val::Text(pkg.name.clone()),
                Val::Text(name_norm),
                Val::OptText(pkg.purl.clone()),
                Val::Text(ranges),
                Val::Text(versions),
                Val::Text(severity),
                Val::OptText(eco_specific),
                Val::OptText(db_specific),
                Val::Int(digest),
            ]);
        }
        let same = r.same_vulnerability_ids();
        let ids = std::iter::once((r.id.as_str(), "self"))
            .chain(r.aliases.iter().map(|a| (a.as_str(), "alias")))
            .chain(r.upstream.iter().map(|u| (u.as_str(), "upstream")))
            .chain(r.related.iter().map(|x| (x.as_str(), "related")));
        for (id, relation) in ids {
            if same.binary_search(&id).is_ok() {
                // Same-vulnerability IDs are the advisory's own `aliases` (and
                // upstream IDs of the same CVE): the alias groups hold them, and
                // they are read back from the advisory row when the groups are
                // rebuilt, so they are not stored twice.
                self.same.push((r.id.clone(), id.to_owned()));
                continue;
            }
            self.vals[IDS].extend([
                s(),
                Val::Text(r.id.clone()),
                Val::Text(id.to_owned()),
                Val::Text(relation.to_owned()),
                Val::Int(0),
            ]);
        }
        let cves = r.cve_ids();
        let targets: Vec<&str> = if cves.is_empty() {
            vec![r.id.as_str()]
        } else {
            cves
        };
        let vectors = r
            .severity
            .iter()
            .chain(r.affected.iter().flat_map(|a| a.severity.iter()));
        let mut seen = Vec::new();
        for sev in vectors {
            if !matches!(
                sev.kind,
                SeverityType::CvssV2 | SeverityType::CvssV3 | SeverityType::CvssV4
            ) || seen.contains(&&sev.score)
            {
                continue;
            }
            seen.push(&sev.score);
            match CvssScore::parse(&sev.score) {
                Ok(score) => {
                    for vid in &targets {
                        self.vals[CVSS].extend(cvss_row(vid, source, "osv", &r.id, false, &score));
                    }
                }
                Err(e) => tracing::debug!(advisory = %r.id, "skipping severity: {e}"),
            }
        }
    }

    fn push_nvd_cvss(&mut self, source: &str, c: &NvdCvss) {
        match CvssScore::parse(&c.vector) {
            Ok(score) => {
                let row = cvss_row(
                    &c.cve,
                    source,
                    "nvd",
                    &c.scorer,
                    c.kind.eq_ignore_ascii_case("Primary"),
                    &score,
                );
                self.vals[CVSS].extend(row);
            }
            Err(e) => tracing::debug!(cve = %c.cve, "skipping NVD vector: {e}"),
        }
    }

    fn push_kev(&mut self, source: &str, k: KevEntry) {
        self.vals[KEV].extend([
            Val::Text(k.cve_id),
            Val::Text(source.to_owned()),
            Val::Text(k.vendor_project),
            Val::Text(k.product),
            Val::Text(k.vulnerability_name),
            Val::Text(k.date_added),
            Val::Text(k.due_date),
            Val::Text(k.known_ransomware_campaign_use),
            Val::Text(k.short_description),
            Val::Text(k.required_action),
            Val::Text(k.notes),
        ]);
    }

    fn push_epss(&mut self, source: &str, e: EpssRow) {
        self.vals[EPSS].extend([
            Val::Text(e.cve),
            Val::Text(source.to_owned()),
            Val::Float(e.score),
            Val::Float(e.percentile),
            Val::OptText(None),
        ]);
    }

    /// Moves every row of `other` behind this one's.
    fn append(&mut self, other: &mut Rows) {
        for (mine, theirs) in self.vals.iter_mut().zip(other.vals.iter_mut()) {
            mine.append(theirs);
        }
        self.ready.append(&mut other.ready);
        self.same.append(&mut other.same);
        self.keys.append(&mut other.keys);
        self.records += std::mem::take(&mut other.records);
    }
}

/// Rows per multi-row insert of `table`: as many as the parameter limit allows,
/// at most [`BATCH_ROWS`].
fn batch_rows(table: &Table) -> usize {
    (MAX_PARAMS / table.columns.len()).clamp(1, BATCH_ROWS)
}

/// The SQL of a full batch into table `t`, built once per process.
fn full_sql(backend: Backend, t: usize) -> &'static str {
    static SQL: std::sync::OnceLock<[Vec<String>; 2]> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        [Backend::Sqlite, Backend::Postgres].map(|b| {
            TABLES
                .iter()
                .map(|table| insert_sql(table, batch_rows(table), b))
                .collect()
        })
    });
    &all[usize::from(backend == Backend::Postgres)][t]
}

/// A string bound by moving it into the statement's arguments.
///
/// sqlx's `Any` driver encodes a bound `String` by cloning it (its `Encode`
/// implementation only has the by-reference form), and every advisory's JSON
/// columns pass through here: the copies were 8% of an ingest's samples on the
/// 150x mirror. No crate offers a moving encoder, so this one is written here;
/// it relies on `AnyArgumentBuffer`'s public (if undocumented) value list.
struct Moved(Option<String>);

impl sqlx::Type<Any> for Moved {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<Any>>::type_info()
    }
}

impl<'q> sqlx::Encode<'q, Any> for Moved {
    fn encode(
        self,
        buf: &mut sqlx_core::any::AnyArgumentBuffer<'q>,
    ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        if let Some(text) = self.0 {
            buf.0
                .push(sqlx_core::any::AnyValueKind::Text(std::borrow::Cow::Owned(
                    text,
                )));
            Ok(sqlx::encode::IsNull::No)
        } else {
            buf.0.push(sqlx_core::any::AnyValueKind::Null(
                sqlx_core::any::AnyTypeInfoKind::Text,
            ));
            Ok(sqlx::encode::IsNull::Yes)
        }
    }

    fn encode_by_ref(
        &self,
        buf: &mut sqlx_core::any::AnyArgumentBuffer<'q>,
    ) -> std::result::Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        Moved(self.0.clone()).encode(buf)
    }
}

/// Binds `vals`, in order, to the placeholders of `q`.
fn bind_values<'q>(
    q: sqlx::query::Query<'q, Any, AnyArguments<'q>>,
    vals: Vec<Val>,
) -> sqlx::query::Query<'q, Any, AnyArguments<'q>> {
    vals.into_iter().fold(q, |q, v| match v {
        Val::Text(s) => q.bind(Moved(Some(s))),
        Val::OptText(s) => q.bind(Moved(s)),
        Val::Int(i) => q.bind(i),
        Val::Float(f) => q.bind(f),
    })
}

/// Where an update writes.
enum Target {
    /// Into the database itself, in one transaction (`PostgreSQL`; `SQLite` when
    /// only source states change).
    InPlace,
    /// Into a new `SQLite` file beside the published one, renamed into place at
    /// commit.
    Aside {
        /// The file being built.
        building: PathBuf,
        /// The published database it replaces.
        live: PathBuf,
        /// Whether the published database is attached as `prev`, to copy from.
        prev: bool,
        /// The pool of the file being built.
        pool: AnyPool,
    },
}

/// What rebuilding the alias groups found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Regrouped {
    /// The number of alias groups.
    pub groups: u64,
    /// The packages named by every record of the alias groups that held,
    /// before or after the update, a record whose entries changed (those
    /// records' own packages included); sorted.
    pub packages: Vec<PackageKey>,
}

/// An update in progress. Dropping it without [`Update::commit`] leaves the
/// database as it was.
pub struct Update {
    tx: Transaction<'static, Any>,
    backend: Backend,
    target: Target,
    /// Rows waiting to be written.
    pending: Rows,
    /// Sources whose rows this update replaced.
    written: BTreeSet<String>,
    /// The source between [`Update::begin_source`] and its end.
    open_source: Option<String>,
    /// Same-vulnerability pairs of the open source, kept until it is finished.
    open_same: Vec<(String, String)>,
    /// The packages of the open source's affected rows, gathered while they
    /// are written when there is no previous database to compare with.
    open_keys: BTreeSet<PackageKey>,
    /// The alias groups of the sources written so far (their pairs are
    /// added as each source is finished).
    groups: crate::groups::Groups,
    /// The records whose affected entries this update added, changed or
    /// removed, and the vulnerabilities whose KEV, EPSS or CVSS rows it
    /// changed (compared with a previous state; none on a first load).
    changed_ids: BTreeSet<String>,
    /// Whether the open source is an enrichment source.
    open_enrichment: bool,
    /// Whether an enrichment source changed with no previous state to
    /// compare it with (a first load): every finding may be rescored.
    enrichment_unknown: bool,
    /// Whether the alias groups were rebuilt.
    grouped: bool,
    /// Index definitions to create at commit (building aside), with their
    /// table.
    deferred_indexes: Vec<(String, String)>,
    /// A flush of the file being built, started before the end (building aside).
    early_flush: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// The columns of a source's affected rows that its change set compares.
const DIFF_COLUMNS: &str = "advisory_id, idx, ecosystem, name_norm, digest";

/// The tables an enrichment source (KEV, EPSS, NVD) writes, the column
/// naming each row's vulnerability, and the columns compared: what changed
/// in them is told by vulnerability, not by package. EPSS is compared on
/// its scores (each day's file dates every row anew; findings do not show
/// the date).
const ENRICHMENT: [(&str, &str, &str); 3] = [
    ("kev", "cve", ""),
    ("epss", "cve", "cve, score, percentile"),
    ("cvss", "vuln_id", ""),
];

/// The columns of `table` an enrichment change compares: `given`, or every
/// column rows are written with (a published database of another layout
/// compares on these alone).
fn columns_of(table: &str, given: &str) -> String {
    if !given.is_empty() {
        return given.to_owned();
    }
    TABLES
        .iter()
        .find(|t| t.name == table)
        .map(|t| t.columns.join(", "))
        .unwrap_or_default()
}

impl std::fmt::Debug for Update {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Update")
    }
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serialising plain data cannot fail")
}

fn opt_json(v: Option<&serde_json::Value>) -> Option<String> {
    v.map(json)
}

/// What an affected entry's digest covers: everything matching reads from it
/// (the package name, ranges, versions, the vendor's urgency and RustSec's
/// informational kind live in the two `*_specific` fields), whether its
/// record is withdrawn, and what findings show of the entry and its record
/// (severity, modified time, description, aliases, references): a finding
/// that would read differently is a change.
struct EntryParts<'a> {
    withdrawn: bool,
    record: &'a str,
    severity: &'a str,
    name: &'a str,
    ranges: &'a str,
    versions: &'a str,
    ecosystem_specific: Option<&'a str>,
    database_specific: Option<&'a str>,
}

/// A digest that is the same on every machine and in every release (XXH3 is
/// specified and seedless here), so that an update can compare it with the one
/// an older Vigia stored.
fn entry_digest(p: &EntryParts<'_>) -> i64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&[u8::from(p.withdrawn)]);
    for part in [
        Some(p.record),
        Some(p.severity),
        Some(p.name),
        Some(p.ranges),
        Some(p.versions),
        p.ecosystem_specific,
        p.database_specific,
    ] {
        // Length-prefixed, so that no two different entries hash the same parts.
        let part = part.unwrap_or("\u{0}null");
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    // Stored as SQL BIGINT: the same 64 bits, read as signed.
    i64::from_le_bytes(h.digest().to_le_bytes())
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `path` with `suffix` appended to its file name.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes `path` if it exists.
fn remove_if_present(path: &Path) -> Result<()> {
    match fs_err::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

impl Update {
    fn new(tx: Transaction<'static, Any>, backend: Backend, target: Target) -> Self {
        Self {
            tx,
            backend,
            target,
            pending: Rows::new(backend),
            written: BTreeSet::new(),
            open_source: None,
            open_same: Vec::new(),
            open_keys: BTreeSet::new(),
            groups: crate::groups::Groups::new(),
            changed_ids: BTreeSet::new(),
            open_enrichment: false,
            enrichment_unknown: false,
            grouped: false,
            deferred_indexes: Vec::new(),
            early_flush: None,
        }
    }

    /// Starts an update that builds a new `SQLite` database beside the published
    /// one at `live` and renames it into place at [`Update::commit`]. Sources that
    /// the update does not replace keep their rows: they are copied from the
    /// published database when its schema is this build's (else the new database
    /// holds only what this update writes).
    ///
    /// The caller serialises updates (the `vigia` binary holds a lock file); a
    /// file left by an update that was killed is removed here.
    pub async fn build_sqlite(live: &Path) -> Result<Self> {
        let building = beside(live, ".building");
        for leftover in [
            building.clone(),
            beside(&building, "-journal"),
            beside(&building, "-wal"),
            beside(&building, "-shm"),
        ] {
            remove_if_present(&leftover)?;
        }
        let prev = match Store::open_sqlite_existing(live).await {
            Ok(Some(store)) => {
                store.close().await;
                true
            }
            Ok(None) => false,
            Err(e @ Error::Outdated { .. }) => {
                tracing::info!("{e}; building it anew");
                false
            }
            Err(e) => return Err(e),
        };
        let url = format!("sqlite://{}?mode=rwc", building.display());
        let pool = crate::sqlite_pool(&url, crate::SqliteRole::Builder, 1).await?;
        crate::MIGRATOR.run(&pool).await?;
        if prev {
            sqlx::query("ATTACH DATABASE $1 AS prev")
                .bind(live.display().to_string())
                .execute(&pool)
                .await?;
        }
        let mut tx = pool.begin().await?;
        // Secondary indexes are built once at the end: sorting every key once
        // costs less than inserting keys one by one into random places.
        let indexes: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT name, tbl_name, sql FROM main.sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
        )
        .fetch_all(&mut *tx)
        .await?;
        for (name, _, _) in &indexes {
            sqlx::query(&format!("DROP INDEX main.\"{name}\""))
                .execute(&mut *tx)
                .await?;
        }
        let mut upd = Self::new(
            tx,
            Backend::Sqlite,
            Target::Aside {
                building,
                live: live.to_owned(),
                prev,
                pool,
            },
        );
        upd.deferred_indexes = indexes
            .into_iter()
            .map(|(_, table, sql)| (table, sql))
            .collect();
        Ok(upd)
    }
}
impl Store {
    /// Starts an update written in place, in one transaction. On `PostgreSQL` it
    /// also takes a transaction-scoped advisory lock, so that updates from several
    /// machines are serialised; on `SQLite` the caller holds a lock file (see the
    /// `vigia` binary), and uses [`Update::build_sqlite`] when new content comes in.
    pub async fn begin_update(&self) -> Result<Update> {
        let mut tx = self.pool.begin().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7610111)")
                .execute(&mut *tx)
                .await?;
        }
        Ok(Update::new(tx, self.backend, Target::InPlace))
    }

    /// The stored state of every source.
    pub async fn source_states(&self) -> Result<Vec<SourceState>> {
        crate::state::source_states(&self.pool).await
    }
}

impl Update {
    /// Starts replacing one source. In place, its previous rows are removed
    /// and a savepoint lets [`Update::abandon_source`] bring them back if its
    /// content turns out unreadable, so one bad file never costs the other
    /// sources their update. Building aside, the new file holds no rows of the
    /// source yet, and abandoning it removes what was written (its previous rows
    /// are copied in at the end), which spares `SQLite` the savepoint's
    /// sub-journal (measured: 7% of its time on the 10x mirror).
    ///
    /// `enrichment`: the source holds KEV, EPSS or NVD data, whose changes are
    /// told by vulnerability ([`Update::enrichment_known`]).
    pub async fn begin_source(&mut self, name: &str, enrichment: bool) -> Result<()> {
        self.flush().await?;
        if matches!(self.target, Target::InPlace) && enrichment {
            // As for affected rows below: the rows about to go, kept until
            // the source is finished.
            for (table, _, compared) in ENRICHMENT {
                let columns = columns_of(table, compared);
                sqlx::query(&format!(
                    "CREATE TEMP TABLE IF NOT EXISTS vigia_old_{table} AS SELECT {columns} FROM {table} WHERE 1 = 0"
                ))
                .execute(&mut *self.tx)
                .await?;
                sqlx::query(&format!("DELETE FROM vigia_old_{table}"))
                    .execute(&mut *self.tx)
                    .await?;
                sqlx::query(&format!(
                    "INSERT INTO vigia_old_{table} ({columns}) SELECT {columns} FROM {table} WHERE source = $1"
                ))
                .bind(name)
                .execute(&mut *self.tx)
                .await?;
            }
        }
        self.open_enrichment = enrichment;
        if matches!(self.target, Target::InPlace) {
            sqlx::query("SAVEPOINT vigia_source")
                .execute(&mut *self.tx)
                .await?;
            // The rows about to go, kept (their compared columns only) until
            // the source is finished, for its change set.
            sqlx::query(
                "CREATE TEMP TABLE IF NOT EXISTS vigia_old_affected (advisory_id TEXT NOT NULL, idx BIGINT NOT NULL, ecosystem TEXT NOT NULL, name_norm TEXT NOT NULL, digest BIGINT NOT NULL)",
            )
            .execute(&mut *self.tx)
            .await?;
            sqlx::query("DELETE FROM vigia_old_affected")
                .execute(&mut *self.tx)
                .await?;
            sqlx::query(&format!(
                "INSERT INTO vigia_old_affected ({DIFF_COLUMNS}) SELECT {DIFF_COLUMNS} FROM affected WHERE source = $1"
            ))
            .bind(name)
            .execute(&mut *self.tx)
            .await?;
            self.delete_rows(name).await?;
        }
        self.open_source = Some(name.to_owned());
        self.open_same.clear();
        self.open_keys.clear();
        Ok(())
    }

    async fn delete_rows(&mut self, name: &str) -> Result<()> {
        for t in &TABLES {
            sqlx::query(&format!("DELETE FROM {} WHERE source = $1", t.name))
                .bind(name)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    /// Keeps what was written for the source since [`Update::begin_source`],
    /// and returns its change set: the packages whose affected entries in this
    /// source were added, changed, withdrawn or removed since the published
    /// generation, sorted.
    pub async fn finish_source(&mut self) -> Result<Vec<PackageKey>> {
        self.flush().await?;
        let changes = match self.open_source.clone() {
            Some(name) => {
                if self.open_enrichment {
                    self.changed_vulnerabilities(&name).await?;
                }
                self.changed_packages(&name).await?
            }
            None => Vec::new(),
        };
        if matches!(self.target, Target::InPlace) {
            sqlx::query("RELEASE SAVEPOINT vigia_source")
                .execute(&mut *self.tx)
                .await?;
        }
        if let Some(name) = self.open_source.take() {
            self.written.insert(name);
        }
        for (a, b) in self.open_same.drain(..) {
            self.groups.join(&a, &b);
        }
        Ok(changes)
    }

    /// The packages whose rows of source `name` differ between the previous
    /// state and what this update wrote. The database engine compares the two
    /// sets (both read through the primary key), so no side is held in memory.
    async fn changed_packages(&mut self, name: &str) -> Result<Vec<PackageKey>> {
        // Unqualified, `affected` is this update's own table (SQLite looks in
        // `main` before an attached `prev`).
        let new = format!("SELECT {DIFF_COLUMNS} FROM affected WHERE source = $1");
        let old = match &self.target {
            Target::InPlace => format!("SELECT {DIFF_COLUMNS} FROM vigia_old_affected"),
            Target::Aside { prev: true, .. } => {
                format!("SELECT {DIFF_COLUMNS} FROM prev.affected WHERE source = $1")
            }
            // No previous database: every package of the source is new, and
            // they were gathered as its rows were written (reading them back
            // cost a quarter of a second per large source at 150x). A record
            // that a source repeats under the same ID is stored once, but its
            // packages count here either way: nothing to compare them with.
            Target::Aside { prev: false, .. } => {
                return Ok(std::mem::take(&mut self.open_keys).into_iter().collect());
            }
        };
        let sql = format!(
            "SELECT DISTINCT advisory_id, ecosystem, name_norm FROM ({old} EXCEPT {new}) removed \
             UNION SELECT DISTINCT advisory_id, ecosystem, name_norm FROM ({new} EXCEPT {old}) added"
        );
        let rows: Vec<(String, String, String)> = sqlx::query_as(&sql)
            .bind(name)
            .fetch_all(&mut *self.tx)
            .await?;
        let mut keys = BTreeSet::new();
        for (advisory_id, ecosystem, name) in rows {
            keys.insert(PackageKey { ecosystem, name });
            self.changed_ids.insert(advisory_id);
        }
        Ok(keys.into_iter().collect())
    }

    /// Adds to [`Update::changed_ids`] the vulnerabilities whose rows of the
    /// enrichment source `name` differ between the previous state and this
    /// update; their alias groups' packages join the change set when the
    /// groups are rebuilt. With no previous state, none are known.
    async fn changed_vulnerabilities(&mut self, name: &str) -> Result<()> {
        for (table, id, compared) in ENRICHMENT {
            let columns = columns_of(table, compared);
            let new = format!("SELECT {columns} FROM {table} WHERE source = $1");
            let old = match &self.target {
                Target::InPlace => format!("SELECT {columns} FROM vigia_old_{table}"),
                Target::Aside { prev: true, .. } => {
                    format!("SELECT {columns} FROM prev.{table} WHERE source = $1")
                }
                Target::Aside { prev: false, .. } => {
                    self.enrichment_unknown = true;
                    return Ok(());
                }
            };
            let sql = format!(
                "SELECT {id} FROM ({old} EXCEPT {new}) removed UNION SELECT {id} FROM ({new} EXCEPT {old}) added"
            );
            let ids: Vec<(String,)> = sqlx::query_as(&sql)
                .bind(name)
                .fetch_all(&mut *self.tx)
                .await?;
            self.changed_ids.extend(ids.into_iter().map(|(i,)| i));
        }
        Ok(())
    }

    /// Whether the vulnerabilities whose KEV, EPSS or NVD data this update
    /// changed are known, so that the change set names their packages
    /// (false after an enrichment source changed on a first load).
    #[must_use]
    pub fn enrichment_known(&self) -> bool {
        !self.enrichment_unknown
    }

    /// Undoes everything written for the source since [`Update::begin_source`]:
    /// its previous rows are back.
    pub async fn abandon_source(&mut self) -> Result<()> {
        self.pending = Rows::new(self.backend);
        self.open_same.clear();
        self.open_keys.clear();
        let name = self.open_source.take();
        if matches!(self.target, Target::InPlace) {
            sqlx::query("ROLLBACK TO SAVEPOINT vigia_source")
                .execute(&mut *self.tx)
                .await?;
            sqlx::query("RELEASE SAVEPOINT vigia_source")
                .execute(&mut *self.tx)
                .await?;
        } else if let Some(name) = name {
            self.delete_rows(&name).await?;
        }
        Ok(())
    }

    /// The engine written to (what [`Rows::new`] needs).
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Adds rows built by [`Rows::push`], writing them in large batches.
    pub async fn write(&mut self, mut rows: Rows) -> Result<()> {
        self.open_same.append(&mut rows.same);
        if matches!(self.target, Target::Aside { prev: false, .. }) {
            self.open_keys.extend(rows.keys.drain(..));
        } else {
            rows.keys.clear();
        }
        for q in std::mem::take(&mut rows.ready) {
            q.execute(&mut *self.tx).await?;
        }
        self.pending.append(&mut rows);
        for (t, table) in TABLES.iter().enumerate() {
            if self.pending.vals[t].len() >= BATCH_ROWS * table.columns.len() {
                self.write_table(t).await?;
            }
        }
        Ok(())
    }

    /// Writes every buffered row.
    pub async fn flush(&mut self) -> Result<()> {
        for t in 0..TABLES.len() {
            self.write_table(t).await?;
        }
        Ok(())
    }

    /// Records a source's new state (after its items were added, or when it was
    /// found unchanged).
    pub async fn put_source(&mut self, st: &SourceState) -> Result<()> {
        self.flush().await?;
        if st.kind == "epss" {
            sqlx::query("UPDATE epss SET score_date = $1 WHERE source = $2")
                .bind(st.snapshot_at.clone())
                .bind(&st.name)
                .execute(&mut *self.tx)
                .await?;
        }
        let sample: Vec<&Malformed> = st.malformed_entries.iter().take(100).collect();
        sqlx::query(
            "INSERT INTO sources (name, kind, ecosystem, location, etag, last_modified, sha256, bytes, records, withdrawn, malformed, malformed_entries, snapshot_at, changed_at, checked_at, attempted_at, last_error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, ecosystem = excluded.ecosystem, location = excluded.location,
               etag = excluded.etag, last_modified = excluded.last_modified, sha256 = excluded.sha256, bytes = excluded.bytes,
               records = excluded.records, withdrawn = excluded.withdrawn, malformed = excluded.malformed,
               malformed_entries = excluded.malformed_entries, snapshot_at = excluded.snapshot_at,
               changed_at = excluded.changed_at, checked_at = excluded.checked_at,
               attempted_at = excluded.attempted_at, last_error = excluded.last_error",
        )
        .bind(&st.name)
        .bind(&st.kind)
        .bind(st.ecosystem.clone())
        .bind(&st.location)
        .bind(st.fingerprint.etag.clone())
        .bind(st.fingerprint.last_modified.clone())
        .bind(st.fingerprint.sha256.clone())
        .bind(to_i64(st.bytes))
        .bind(to_i64(st.records))
        .bind(to_i64(st.withdrawn))
        .bind(to_i64(st.malformed))
        .bind(json(&sample))
        .bind(st.snapshot_at.clone())
        .bind(st.changed_at.clone())
        .bind(st.checked_at.clone())
        .bind(st.attempted_at.clone())
        .bind(st.error.clone())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Sets a key of the `meta` table (last update time, …).
    pub async fn put_meta(&mut self, key: &str, value: &str) -> Result<()> {
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Copies, from the published database, the rows of every source this
    /// update did not write, and the source states and meta keys it did not set.
    async fn copy_unwritten(&mut self) -> Result<()> {
        let names: Vec<(String,)> = sqlx::query_as("SELECT name FROM prev.sources")
            .fetch_all(&mut *self.tx)
            .await?;
        for (name,) in names {
            if self.written.contains(&name) {
                continue;
            }
            for t in &TABLES {
                let cols = t.columns.join(", ");
                sqlx::query(&format!(
                    "INSERT INTO main.{0} ({cols}) SELECT {cols} FROM prev.{0} WHERE source = $1",
                    t.name
                ))
                .bind(&name)
                .execute(&mut *self.tx)
                .await?;
            }
        }
        sqlx::query(
            "INSERT INTO main.sources SELECT * FROM prev.sources WHERE name NOT IN (SELECT name FROM main.sources)",
        )
        .execute(&mut *self.tx)
        .await?;
        sqlx::query(
            "INSERT INTO main.meta SELECT * FROM prev.meta WHERE key NOT IN (SELECT key FROM main.meta)",
        )
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Rebuilds the alias groups from every stored record. Call it last, when
    /// every source is written.
    ///
    /// It returns the number of groups, and the packages of every record in
    /// a group that held (before this update) or holds (after it) a record
    /// whose entries changed: their findings show the group's preferred ID
    /// and its merged description, severity and references, so they belong
    /// in the update's change set although their own entries may not have
    /// changed.
    pub async fn rebuild_groups(&mut self) -> Result<Regrouped> {
        self.flush().await?;
        // The groups the changed records belonged to, read before the table
        // is replaced (in place) or from the published database (aside).
        let stored = match &self.target {
            Target::InPlace => Some("vuln_groups"),
            Target::Aside { prev: true, .. } => Some("prev.vuln_groups"),
            Target::Aside { prev: false, .. } => None,
        };
        let mut members = match stored {
            Some(table) if !self.changed_ids.is_empty() => {
                crate::groups::stored_members(&mut self.tx, table, &self.changed_ids).await?
            }
            _ => BTreeSet::new(),
        };
        // Rows not written by this update: in place they are in the database
        // already; building aside they are copied from the published one, or
        // there are none.
        let others = match &self.target {
            Target::InPlace => true,
            Target::Aside { prev, building, .. } => {
                let (prev, building) = (*prev, building.clone());
                if prev && !self.grouped {
                    self.copy_unwritten().await?;
                }
                if self.early_flush.is_none() {
                    // Start writing what `SQLite` has handed to the OS while the
                    // groups and indexes are built; the flush at commit then has
                    // less left to wait for.
                    self.early_flush = Some(tokio::task::spawn_blocking(move || {
                        fs_err::File::open(building).and_then(|f| f.sync_data())
                    }));
                }
                prev
            }
        };
        self.grouped = true;
        for (a, b) in self.open_same.drain(..) {
            self.groups.join(&a, &b);
        }
        let mut groups = std::mem::replace(&mut self.groups, crate::groups::Groups::new());
        let written = others.then_some(&self.written);
        crate::groups::gather(&mut self.tx, &mut groups, written).await?;
        let formed = if matches!(self.target, Target::Aside { .. }) {
            // Building aside, the groups form on a blocking thread while SQLite
            // builds the other tables' indexes: both are serial work at the end
            // of an update, and each takes about a second at the size of the
            // real upstreams.
            let forming = tokio::task::spawn_blocking(move || crate::groups::form(groups));
            self.build_indexes(|table| table != "vuln_groups").await?;
            forming
                .await
                .map_err(|e| Error::Data(format!("forming the alias groups failed: {e}")))?
        } else {
            crate::groups::form(groups)
        };
        members.extend(crate::groups::members_of(&formed, &self.changed_ids));
        let groups = crate::groups::write(&mut self.tx, self.backend, formed).await?;
        let packages = if members.is_empty() {
            Vec::new()
        } else {
            crate::groups::packages_of(&mut self.tx, &members)
                .await?
                .into_iter()
                .collect()
        };
        Ok(Regrouped { groups, packages })
    }

    /// Creates the deferred indexes of the tables that `which` accepts.
    async fn build_indexes(&mut self, which: impl Fn(&str) -> bool) -> Result<()> {
        let (now, later) = std::mem::take(&mut self.deferred_indexes)
            .into_iter()
            .partition(|(table, _)| which(table));
        self.deferred_indexes = later;
        for (_, sql) in now {
            sqlx::query(&sql).execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    /// Makes the whole update visible at once.
    ///
    /// Building aside, the new file is completed, flushed to disk and renamed
    /// over the published one: a reader that opened the old file keeps reading
    /// it, and the next one opens the new.
    pub async fn commit(mut self) -> Result<Generation> {
        self.flush().await?;
        if matches!(self.target, Target::Aside { .. }) && !self.grouped {
            self.rebuild_groups().await?;
        }
        let generation = self.next_generation().await?;
        let started = std::time::Instant::now();
        self.build_indexes(|_| true).await?;
        let indexed = started.elapsed();
        let Target::Aside {
            building,
            live,
            prev,
            pool,
        } = self.target
        else {
            self.tx.commit().await?;
            return Ok(generation);
        };
        self.tx.commit().await?;
        if prev {
            sqlx::query("DETACH DATABASE prev").execute(&pool).await?;
        }
        pool.close().await;
        if let Some(flush) = self.early_flush.take() {
            // Only a head start: its outcome is the final flush's to report.
            let _ = flush.await;
        }
        let written = started.elapsed();
        tokio::task::spawn_blocking(move || publish(&building, &live))
            .await
            .map_err(|e| Error::Data(format!("publishing the database failed: {e}")))??;
        tracing::debug!(
            indexes = indexed.as_secs_f64(),
            written = written.as_secs_f64(),
            published = started.elapsed().as_secs_f64(),
            "new database in place"
        );
        Ok(generation)
    }

    /// The generation this update publishes: one more than the published one
    /// when it wrote content, the same when it only confirmed sources current.
    async fn next_generation(&mut self) -> Result<Generation> {
        let from = match &self.target {
            Target::InPlace => Some("meta"),
            Target::Aside { prev: true, .. } => Some("prev.meta"),
            Target::Aside { prev: false, .. } => None,
        };
        let current = match from {
            Some(table) => {
                let v: Option<(String,)> = sqlx::query_as(&format!(
                    "SELECT value FROM {table} WHERE key = 'generation'"
                ))
                .fetch_optional(&mut *self.tx)
                .await?;
                v.and_then(|(v,)| v.parse::<u64>().ok()).unwrap_or(0)
            }
            None => 0,
        };
        let next = if self.written.is_empty() {
            current
        } else {
            current + 1
        };
        self.put_meta("generation", &next.to_string()).await?;
        Ok(Generation(next))
    }
}

/// Flushes the finished file `building` to disk and renames it over `live`.
fn publish(building: &Path, live: &Path) -> Result<()> {
    fs_err::File::open(building)?.sync_all()?;
    // Journals of the old file must not outlive it: `SQLite` would replay a
    // write-ahead log or hot journal found beside the new file onto it.
    for suffix in ["-wal", "-shm", "-journal"] {
        remove_if_present(&beside(live, suffix))?;
    }
    fs_err::rename(building, live)?;
    if let Some(dir) = live.parent() {
        // The rename is durable once the folder is flushed.
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        fs_err::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn cvss_row(
    vuln_id: &str,
    source: &str,
    origin: &str,
    scorer: &str,
    primary: bool,
    s: &CvssScore,
) -> [Val; 9] {
    [
        Val::Text(vuln_id.to_owned()),
        Val::Text(source.to_owned()),
        Val::Text(origin.to_owned()),
        Val::Text(scorer.to_owned()),
        Val::Int(i64::from(primary)),
        Val::Text(s.version.as_str().to_owned()),
        Val::Text(s.vector.clone()),
        Val::Float(s.score),
        Val::Text(s.severity.as_str().to_owned()),
    ]
}

impl Update {
    /// Writes table `t`'s buffered rows as multi-row inserts, as many rows per
    /// statement as the parameter limit allows.
    ///
    /// `SQLite` gets anonymous `?` placeholders: with numbered `$N` ones it looks
    /// each parameter up by name, which is quadratic in the row count (measured:
    /// 80% of ingest time went to `sqlite3_bind_parameter_name`).
    async fn write_table(&mut self, t: usize) -> Result<()> {
        let table = &TABLES[t];
        let ncol = table.columns.len();
        let mut vals = std::mem::take(&mut self.pending.vals[t]);
        let per_stmt = batch_rows(table);
        while !vals.is_empty() {
            let rest = vals.split_off(vals.len().min(per_stmt * ncol));
            let rows = vals.len() / ncol;
            let sql;
            let q = if rows == per_stmt {
                sqlx::query(full_sql(self.backend, t))
            } else {
                sql = insert_sql(table, rows, self.backend);
                sqlx::query(&sql)
            };
            bind_values(q, vals).execute(&mut *self.tx).await?;
            vals = rest;
        }
        Ok(())
    }
}

/// `INSERT INTO table (…) VALUES (…), …` for `rows` rows.
fn insert_sql(table: &Table, rows: usize, backend: Backend) -> String {
    let ncol = table.columns.len();
    let mut sql = String::with_capacity(64 + rows * ncol * 5);
    sql.push_str("INSERT INTO ");
    sql.push_str(table.name);
    sql.push_str(" (");
    sql.push_str(&table.columns.join(", "));
    sql.push_str(") VALUES ");
    let mut n = 0;
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..ncol {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            if backend == Backend::Sqlite {
                sql.push('?');
            } else {
                sql.push('$');
                sql.push_str(&n.to_string());
            }
        }
        sql.push(')');
    }
    sql.push(' ');
    sql.push_str(table.on_conflict);
    sql
}
