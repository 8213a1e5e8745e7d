//! Findings that live: each evaluation of a resource is reconciled with what
//! is stored, as Inspector does it.
//!
//! - A finding seen for the first time is opened (`ACTIVE`, or `SUPPRESSED`
//!   when a suppression rule matches it).
//! - A finding seen again keeps its ARN and `firstObservedAt`; its
//!   `lastObservedAt` moves, and `updatedAt` moves when anything in it
//!   changed.
//! - A finding no longer seen is `CLOSED`; seen again later it is the same
//!   finding, reopened.
//!
//! Every status change is a row of the finding's history with its cause
//! (`scan …`, `generation …`, `filter …`, `resource terminated`), and an
//! `Inspector2 Finding` event in the outbox, written in the same
//! transaction (summarized per resource above a threshold; none for a
//! resource's first scan with `--quiet-first-scans`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};
use sqlx::Row;
use vigia_scan::{Finding, FindingStatus, FindingType, Severity};

use crate::criteria::Criteria;
use crate::db::{DbError, DbResult, StateDb, placeholders};
use crate::writes::{FindingRow, Update, Writes};

/// What a reconciliation changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Changes {
    /// Findings seen for the first time.
    pub opened: usize,
    /// Closed findings seen again.
    pub reopened: usize,
    /// Findings no longer seen.
    pub closed: usize,
    /// Findings whose content changed (score, fix, …).
    pub updated: usize,
    /// Findings a rule suppressed or stopped suppressing.
    pub suppression: usize,
}

impl Changes {
    /// Whether anything changed.
    #[must_use]
    pub fn any(&self) -> bool {
        self.opened + self.reopened + self.closed + self.updated + self.suppression > 0
    }

    /// Adds another reconciliation's changes.
    pub fn add(&mut self, other: &Self) {
        self.opened += other.opened;
        self.reopened += other.reopened;
        self.closed += other.closed;
        self.updated += other.updated;
        self.suppression += other.suppression;
    }
}

/// A suppression rule in force.
#[derive(Debug, Clone)]
pub struct ActiveFilter {
    /// Its ARN.
    pub arn: String,
    /// What it matches.
    pub criteria: Criteria,
}

fn status_str(s: FindingStatus) -> &'static str {
    match s {
        FindingStatus::Active => "ACTIVE",
        FindingStatus::Suppressed => "SUPPRESSED",
        FindingStatus::Closed => "CLOSED",
    }
}

fn kind_str(k: FindingType) -> &'static str {
    match k {
        FindingType::PackageVulnerability => "PACKAGE_VULNERABILITY",
        FindingType::CodeVulnerability => "CODE_VULNERABILITY",
        FindingType::NetworkReachability => "NETWORK_REACHABILITY",
    }
}

/// 0 for CRITICAL … 5 for UNTRIAGED.
pub(crate) fn severity_rank(s: Severity) -> i64 {
    Severity::ALL
        .iter()
        .position(|x| *x == s)
        .and_then(|p| i64::try_from(p).ok())
        .unwrap_or(5)
}

/// The part of a finding that says whether it changed (not its times or status).
fn content(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        for k in ["firstObservedAt", "lastObservedAt", "updatedAt", "status"] {
            o.remove(k);
        }
        if let Some(vigia) = o.get_mut("vigia").and_then(Value::as_object_mut) {
            vigia.remove("suppression");
        }
    }
    v
}

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Appends a status change to a finding's history.
async fn record_history(
    tx: &mut Tx,
    arn: &str,
    now: &str,
    status: &str,
    event: &str,
    cause: &str,
) -> DbResult<()> {
    let seq: i64 = sqlx::query("SELECT COUNT(*) AS n FROM finding_history WHERE arn = $1")
        .bind(arn)
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?;
    sqlx::query("INSERT INTO finding_history (arn, seq, at, status, event, cause) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(arn)
        .bind(seq + 1)
        .bind(now)
        .bind(status)
        .bind(event)
        .bind(cause)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Writes an `Inspector2 Finding` event to the outbox.
async fn record_event(tx: &mut Tx, now: &str, resource: &str, finding: &Value) -> DbResult<()> {
    crate::events::write(tx, now, crate::events::FINDING, resource, finding).await
}

struct Stored {
    status: String,
    kind: String,
    first_observed_at: String,
    updated_at: String,
    suppressed_by: Option<String>,
    /// Its body as stored, parsed when needed: most findings a rematch reads
    /// are unchanged, which the text shows without parsing it.
    text: String,
    parsed: std::cell::OnceCell<Value>,
    /// Its other columns, to write only those that change.
    columns: StoredColumns,
}

impl Stored {
    /// Its body.
    fn body(&self) -> DbResult<&Value> {
        if let Some(v) = self.parsed.get() {
            return Ok(v);
        }
        let v = serde_json::from_str(&self.text).map_err(|source| DbError::Json {
            what: "finding",
            source,
        })?;
        Ok(self.parsed.get_or_init(|| v))
    }
}

/// The columns of a stored finding read beside its body.
struct StoredColumns {
    severity: String,
    severity_rank: i64,
    vulnerability_id: String,
    title: String,
    score: f64,
    epss: f64,
    last_observed_at: String,
    fix_available: Option<String>,
    exploit_available: Option<String>,
}

/// What writing `new` over the stored finding `old` changes. Numbers
/// compare by their bits: one computation stores the same ones.
/// `content_changed`: whether the finding's content differs from the stored
/// one; when it does not, neither do its package names, and the stored body
/// is not parsed for them (a scan writes every finding it sees again).
fn update_of(old: &Stored, new: &FindingRow, content_changed: bool) -> Update {
    let c = &old.columns;
    let differs = [
        old.kind != new.kind,
        old.status != new.status,
        c.severity != new.severity,
        c.severity_rank != new.severity_rank,
        c.vulnerability_id != new.vulnerability_id,
        c.title != new.title,
        c.score.to_bits() != new.score.to_bits(),
        c.epss.to_bits() != new.epss.to_bits(),
        old.first_observed_at != new.first_observed_at,
        c.last_observed_at != new.last_observed_at,
        old.updated_at != new.updated_at,
        old.suppressed_by != new.suppressed_by,
        // A finding is written when something in it changed: its body did.
        true,
        c.fix_available.as_deref() != Some(new.fix_available.as_str()),
        c.exploit_available.as_deref() != Some(new.exploit_available.as_str()),
    ];
    let columns = differs
        .iter()
        .enumerate()
        .filter(|(_, d)| **d)
        .fold(0_u16, |m, (i, _)| m | (1 << i));
    let names_changed = content_changed && {
        let old_names: BTreeSet<&str> = old.body().map_or(&Value::Null, |b| b)
            ["packageVulnerabilityDetails"]["vulnerablePackages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str())
            .collect();
        !old_names
            .iter()
            .copied()
            .eq(new.packages.iter().map(String::as_str))
    };
    let packages =
        names_changed || old.status != new.status || c.severity_rank != new.severity_rank;
    Update { columns, packages }
}

/// A finding's row as [`Writes`] writes it.
/// A yes/no/partial member as Inspector writes it (`''` when absent).
fn enum_str<T: serde::Serialize>(v: Option<T>) -> String {
    v.and_then(|v| serde_json::to_value(v).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn finding_row(resource: &str, f: &Finding, suppressed_by: Option<String>) -> DbResult<FindingRow> {
    let body = serde_json::to_string(f).map_err(|source| DbError::Json {
        what: "finding",
        source,
    })?;
    let packages: BTreeSet<&str> = f
        .package_vulnerability_details
        .iter()
        .flat_map(|d| d.vulnerable_packages.iter().map(|p| p.name.as_str()))
        .collect();
    Ok(FindingRow {
        arn: f.finding_arn.clone(),
        resource: resource.to_owned(),
        kind: kind_str(f.kind),
        status: status_str(f.status),
        severity: f.severity.as_str().to_owned(),
        severity_rank: severity_rank(f.severity),
        vulnerability_id: f
            .package_vulnerability_details
            .as_ref()
            .map(|p| p.vulnerability_id.clone())
            .unwrap_or_default(),
        title: f.title.clone(),
        // Absent numbers sort first, as -1.
        score: f.inspector_score.unwrap_or(-1.0),
        epss: f.epss.as_ref().map_or(-1.0, |e| e.score),
        first_observed_at: f.first_observed_at.clone(),
        last_observed_at: f.last_observed_at.clone(),
        updated_at: f.updated_at.clone(),
        suppressed_by,
        fix_available: enum_str(f.fix_available),
        exploit_available: enum_str(f.exploit_available),
        body,
        packages: packages.into_iter().map(str::to_owned).collect(),
        update: None,
    })
}

/// A resource's PostgreSQL advisory lock key: the first 8 bytes of the
/// SHA-256 of its ID, computed here so that a batch can take its locks in
/// key order.
fn lock_key(resource: &str) -> i64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(resource.as_bytes());
    let mut b = [0_u8; 8];
    b.copy_from_slice(&d[..8]);
    i64::from_le_bytes(b)
}

/// One evaluation of a resource, for `apply`.
struct Evaluation<'a> {
    resource: &'a str,
    findings: &'a [Finding],
    scope: &'a [FindingType],
    cause: &'a str,
    now: &'a str,
    notify: bool,
    observed: bool,
    /// See [`StateDb::set_summarize_above`].
    summarize_above: usize,
}

/// One resource rematched from its stored inventory, for
/// [`StateDb::rematch`].
#[derive(Debug, Clone)]
pub struct RematchItem {
    /// Where the resource is read from (the source whose stored inventory
    /// was evaluated).
    pub source: String,
    /// That inventory.
    pub inventory_id: String,
    /// The resource's ID.
    pub resource_id: String,
    /// Its package findings from those packages.
    pub findings: Vec<Finding>,
    /// The packages evaluated, by (name, path): stored findings of its
    /// other packages are left as they are. `None`: every package.
    pub packages: Option<BTreeSet<(String, String)>>,
}

const STORED: &str = "f.resource_id, f.arn, f.status, f.kind, f.first_observed_at, f.updated_at, f.suppressed_by, f.body, \
     f.severity, f.severity_rank, f.vulnerability_id, f.title, f.score, f.epss, f.last_observed_at, f.fix_available, f.exploit_available";

fn stored_row(r: &sqlx::any::AnyRow) -> DbResult<(String, String, Stored)> {
    let body: String = r.try_get("body")?;
    Ok((
        r.try_get("resource_id")?,
        r.try_get("arn")?,
        Stored {
            status: r.try_get("status")?,
            kind: r.try_get("kind")?,
            first_observed_at: r.try_get("first_observed_at")?,
            updated_at: r.try_get("updated_at")?,
            suppressed_by: r.try_get("suppressed_by")?,
            text: body,
            parsed: std::cell::OnceCell::new(),
            columns: StoredColumns {
                severity: r.try_get("severity")?,
                severity_rank: r.try_get("severity_rank")?,
                vulnerability_id: r.try_get("vulnerability_id")?,
                title: r.try_get("title")?,
                score: r.try_get("score")?,
                epss: r.try_get("epss")?,
                last_observed_at: r.try_get("last_observed_at")?,
                fix_available: r.try_get("fix_available")?,
                exploit_available: r.try_get("exploit_available")?,
            },
        },
    ))
}

/// A resource's stored findings.
async fn load_stored(tx: &mut Tx, resource: &str) -> DbResult<BTreeMap<String, Stored>> {
    let rows = sqlx::query(&format!(
        "SELECT {STORED} FROM findings f WHERE f.resource_id = $1"
    ))
    .bind(resource)
    .fetch_all(&mut **tx)
    .await?;
    let mut stored = BTreeMap::new();
    for r in &rows {
        let (_, arn, s) = stored_row(r)?;
        stored.insert(arn, s);
    }
    Ok(stored)
}

/// Whether a stored finding is of one of `packages` (name, file path): a
/// name alone is not enough, one resource can hold an npm and a Debian
/// package of one name. Only those members are parsed from the body.
fn of_packages(body: &str, packages: &BTreeSet<(String, String)>) -> DbResult<bool> {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(rename = "packageVulnerabilityDetails")]
        details: Option<Details>,
    }
    #[derive(serde::Deserialize)]
    struct Details {
        #[serde(rename = "vulnerablePackages", default)]
        packages: Option<Vec<Package>>,
    }
    #[derive(serde::Deserialize)]
    struct Package {
        name: Option<String>,
        #[serde(rename = "filePath")]
        file_path: Option<String>,
    }
    let body: Body = serde_json::from_str(body).map_err(|source| DbError::Json {
        what: "finding",
        source,
    })?;
    Ok(body
        .details
        .and_then(|d| d.packages)
        .into_iter()
        .flatten()
        .any(|p| packages.contains(&(p.name.unwrap_or_default(), p.file_path.unwrap_or_default()))))
}

/// The stored findings of many rematched resources, a few statements for
/// all: every finding of an item that names no packages, else the package
/// findings of its packages (read from the resources' package names, so
/// only those findings are visited).
async fn load_stored_many(
    tx: &mut Tx,
    items: &[&RematchItem],
) -> DbResult<HashMap<String, BTreeMap<String, Stored>>> {
    const RESOURCES: usize = 200;
    let backend = crate::db::backend_of(tx);
    let mut out: HashMap<String, BTreeMap<String, Stored>> = HashMap::new();
    let by_resource: HashMap<&str, &RematchItem> =
        items.iter().map(|i| (i.resource_id.as_str(), *i)).collect();
    let (whole, partial): (Vec<&RematchItem>, Vec<&RematchItem>) =
        items.iter().partition(|i| i.packages.is_none());
    let names: BTreeSet<&str> = partial
        .iter()
        .flat_map(|i| i.packages.iter().flatten().map(|(n, _)| n.as_str()))
        .collect();
    for chunk in whole.chunks(RESOURCES) {
        let sql = format!(
            "SELECT {STORED} FROM findings f WHERE f.resource_id IN ({})",
            placeholders(backend, chunk.len(), 1, 0)
        );
        let mut q = sqlx::query(&sql);
        for i in chunk {
            q = q.bind(&i.resource_id);
        }
        for r in &q.fetch_all(&mut **tx).await? {
            let (resource, arn, s) = stored_row(r)?;
            out.entry(resource).or_default().insert(arn, s);
        }
    }
    // Names a few hundred at a time too: a large change set names
    // thousands of packages.
    let names: Vec<&str> = names.into_iter().collect();
    for chunk in partial.chunks(RESOURCES) {
        for some in names.chunks(500) {
            let sql = format!(
                "SELECT {STORED} FROM findings f WHERE f.arn IN \
                 (SELECT p.arn FROM finding_packages p WHERE p.resource_id IN ({}) AND p.name IN ({})) \
                 AND f.kind = 'PACKAGE_VULNERABILITY'",
                placeholders(backend, chunk.len(), 1, 0),
                placeholders(backend, some.len(), 1, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for i in chunk {
                q = q.bind(&i.resource_id);
            }
            for n in some {
                q = q.bind(*n);
            }
            for r in &q.fetch_all(&mut **tx).await? {
                let (resource, arn, s) = stored_row(r)?;
                let wanted = match by_resource
                    .get(resource.as_str())
                    .and_then(|i| i.packages.as_ref())
                {
                    Some(p) => of_packages(&s.text, p)?,
                    None => false,
                };
                if wanted {
                    out.entry(resource).or_default().insert(arn, s);
                }
            }
        }
    }
    Ok(out)
}

impl StateDb {
    /// The suppression rules in force at `now`.
    pub async fn active_filters(&self, now: &str) -> DbResult<Vec<ActiveFilter>> {
        let rows = sqlx::query(
            "SELECT arn, criteria, expires_at FROM filters WHERE action = 'SUPPRESS' ORDER BY created_at, arn",
        )
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let expires: Option<String> = r.try_get("expires_at")?;
            if expires.as_deref().is_some_and(|e| e <= now) {
                continue;
            }
            let raw: String = r.try_get("criteria")?;
            let value: Value = serde_json::from_str(&raw).map_err(|source| DbError::Json {
                what: "filter's criteria",
                source,
            })?;
            // A stored rule was valid when it was created; one an older
            // version accepted and this one refuses is named, not applied.
            let arn: String = r.try_get("arn")?;
            match Criteria::parse(&value) {
                Ok(criteria) => out.push(ActiveFilter { arn, criteria }),
                Err(e) => {
                    tracing::warn!(filter = %arn, "a suppression rule is not applied: {e}; update its criteria");
                }
            }
        }
        Ok(out)
    }

    /// Reconciles one evaluation of `resource` with the stored findings.
    /// `scope` is the finding types this evaluation speaks for (a rematch
    /// after an advisory update speaks for package findings only, and leaves
    /// secrets and open ports as they are). `notify`: write events to the
    /// outbox (the caller's choice: not for a first scan with
    /// `--quiet-first-scans`).
    /// `observed`: the resource was read (a scan), so every finding it
    /// holds was observed now; a rematch from the stored inventory observes
    /// nothing new and writes only the findings it changes (Inspector:
    /// `lastObservedAt` "remains unchanged until a finding is updated").
    #[allow(clippy::too_many_lines, clippy::too_many_arguments)]
    pub async fn reconcile(
        &self,
        resource: &str,
        findings: &[Finding],
        scope: &[FindingType],
        cause: &str,
        now: &str,
        notify: bool,
        observed: bool,
    ) -> DbResult<Changes> {
        let filters = self.active_filters(now).await?;
        let _turn = self.turns.lock().await;
        let mut tx = self.begin_write().await?;
        self.lock_resource(&mut tx, resource).await?;
        let stored = load_stored(&mut tx, resource).await?;
        let mut writes = Writes::default();
        let changes = Self::apply(
            &Evaluation {
                resource,
                findings,
                scope,
                cause,
                now,
                notify,
                observed,
                summarize_above: self
                    .summarize_above
                    .load(std::sync::atomic::Ordering::Relaxed),
            },
            &stored,
            &filters,
            &mut writes,
        )?;
        writes.flush(&mut tx, now).await?;
        tx.commit().await?;
        Ok(changes)
    }

    /// One evaluation of a resource at a time across every process
    /// (SQLite's `BEGIN IMMEDIATE` already takes the one write lock).
    async fn lock_resource(&self, tx: &mut Tx, resource: &str) -> DbResult<()> {
        if self.backend() == crate::db::Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(lock_key(resource))
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// [`Self::lock_resource`] for many resources, in the order given (that
    /// of their keys), a few hundred per statement: a round trip per
    /// resource was a third of a rematch batch on PostgreSQL.
    async fn lock_resources(&self, tx: &mut Tx, keys: &[i64]) -> DbResult<()> {
        if self.backend() != crate::db::Backend::Postgres {
            return Ok(());
        }
        for chunk in keys.chunks(400) {
            // A VALUES list is read in its order, so the locks are taken
            // in key order.
            let sql = format!(
                "SELECT pg_advisory_xact_lock(k) FROM (VALUES {}) AS v (k)",
                placeholders(crate::db::Backend::Postgres, chunk.len(), 1, 0)
            );
            let mut q = sqlx::query(&sql);
            for k in chunk {
                q = q.bind(*k);
            }
            q.fetch_all(&mut **tx).await?;
        }
        Ok(())
    }

    /// Reconciles a rematch of many resources from their stored inventories,
    /// in one transaction: each item's findings against its stored package
    /// findings (of the packages it evaluated, when it names them). An item
    /// whose resource was scanned again meanwhile (its source holds another
    /// inventory now) is skipped: that scan's findings stand. Returns each
    /// item's changes, `None` for those skipped. Nothing is observed again;
    /// events go to the outbox.
    pub async fn rematch(
        &self,
        items: &[RematchItem],
        cause: &str,
        now: &str,
    ) -> DbResult<Vec<Option<Changes>>> {
        let filters = self.active_filters(now).await?;
        let _turn = self.turns.lock().await;
        let mut tx = self.begin_write().await?;
        let mut order: Vec<(usize, &RematchItem)> = items.iter().enumerate().collect();
        // Locks taken in the order of their keys, in every process: no
        // deadlock between two.
        order.sort_by_key(|(_, item)| (lock_key(&item.resource_id), item.resource_id.clone()));
        let mut out = vec![None; items.len()];
        // Scanned again meanwhile: skipped.
        let mut current: HashMap<String, Option<String>> = HashMap::new();
        for chunk in order.chunks(400) {
            let sql = format!(
                "SELECT source, inventory_id FROM resources WHERE source IN ({})",
                placeholders(self.backend(), chunk.len(), 1, 0)
            );
            let mut q = sqlx::query(&sql);
            for (_, item) in chunk {
                q = q.bind(&item.source);
            }
            for r in q.fetch_all(&mut *tx).await? {
                current.insert(r.try_get("source")?, r.try_get("inventory_id")?);
            }
        }
        order.retain(|(_, item)| {
            current.get(&item.source).cloned().flatten().as_deref()
                == Some(item.inventory_id.as_str())
        });
        let keys: Vec<i64> = order
            .iter()
            .map(|(_, item)| lock_key(&item.resource_id))
            .collect();
        self.lock_resources(&mut tx, &keys).await?;
        let live: Vec<&RematchItem> = order.iter().map(|(_, item)| *item).collect();
        let mut stored_all = load_stored_many(&mut tx, &live).await?;
        let mut writes = Writes::default();
        for (i, item) in order {
            let stored = stored_all.remove(&item.resource_id).unwrap_or_default();
            let c = Self::apply(
                &Evaluation {
                    resource: &item.resource_id,
                    findings: &item.findings,
                    scope: &[FindingType::PackageVulnerability],
                    cause,
                    now,
                    notify: true,
                    observed: false,
                    summarize_above: self
                        .summarize_above
                        .load(std::sync::atomic::Ordering::Relaxed),
                },
                &stored,
                &filters,
                &mut writes,
            )?;
            out[i] = Some(c);
            // Written as it goes, in the same transaction: memory stays
            // bounded whatever the number of changes.
            if writes.findings.len() + writes.closes.len() >= 1_000 {
                std::mem::take(&mut writes).flush(&mut tx, now).await?;
            }
        }
        writes.flush(&mut tx, now).await?;
        tx.commit().await?;
        Ok(out)
    }

    fn apply(
        e: &Evaluation<'_>,
        stored: &BTreeMap<String, Stored>,
        filters: &[ActiveFilter],
        out: &mut Writes,
    ) -> DbResult<Changes> {
        let Evaluation {
            resource,
            findings,
            scope,
            cause,
            now,
            notify,
            observed,
            summarize_above,
        } = *e;
        let mut changes = Changes::default();
        let events_from = out.events.len();
        let mut opened: BTreeSet<String> = BTreeSet::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for f in findings {
            let mut f = f.clone();
            let arn = f.finding_arn.clone();
            seen.insert(arn.clone());
            let previous = stored.get(&arn);
            // Rules see the finding as it will be stored: its first
            // observation, its last one now, its current status.
            if let Some(previous) = previous {
                f.first_observed_at.clone_from(&previous.first_observed_at);
                f.updated_at.clone_from(&previous.updated_at);
                f.status = match previous.status.as_str() {
                    "SUPPRESSED" => FindingStatus::Suppressed,
                    _ => FindingStatus::Active,
                };
            } else {
                now.clone_into(&mut f.first_observed_at);
                now.clone_into(&mut f.updated_at);
            }
            // As stored, unless its content changed: the text says so
            // without parsing the stored body (which is parsed only when the
            // texts differ, or it was written another way).
            let same_text = match previous {
                Some(p) => {
                    f.last_observed_at.clone_from(&p.columns.last_observed_at);
                    serde_json::to_string(&f).is_ok_and(|t| t == p.text)
                }
                None => false,
            };
            // Rules see what was observed: a rematch observes nothing new.
            if observed || previous.is_none() {
                now.clone_into(&mut f.last_observed_at);
            }
            let as_json = if same_text && filters.is_empty() {
                None
            } else {
                Some(serde_json::to_value(&f).map_err(|source| DbError::Json {
                    what: "finding",
                    source,
                })?)
            };
            let suppressed_by = as_json.as_ref().and_then(|j| {
                filters
                    .iter()
                    .find(|flt| flt.criteria.matches(j))
                    .map(|flt| flt.arn.clone())
            });
            let differs = match (previous, &as_json) {
                (Some(p), Some(j)) if !same_text => content(p.body()?) != content(j),
                _ => false,
            };
            f.status = if suppressed_by.is_some() {
                FindingStatus::Suppressed
            } else {
                FindingStatus::Active
            };
            let new_status = status_str(f.status);
            let (event, first, updated) = match stored.get(&arn) {
                None => {
                    changes.opened += 1;
                    (Some("OPENED"), now.to_owned(), now.to_owned())
                }
                Some(previous) => {
                    if differs {
                        changes.updated += 1;
                    }
                    let event = match (previous.status.as_str(), new_status) {
                        ("CLOSED", _) => {
                            changes.reopened += 1;
                            Some("REOPENED")
                        }
                        ("ACTIVE", "SUPPRESSED") => {
                            changes.suppression += 1;
                            Some("SUPPRESSED")
                        }
                        ("SUPPRESSED", "ACTIVE") => {
                            changes.suppression += 1;
                            Some("UNSUPPRESSED")
                        }
                        _ => None,
                    };
                    let updated = if differs || event.is_some() {
                        now.to_owned()
                    } else {
                        previous.updated_at.clone()
                    };
                    (event, previous.first_observed_at.clone(), updated)
                }
            };
            if !observed
                && event.is_none()
                && !differs
                && previous.is_some_and(|o| o.suppressed_by == suppressed_by)
            {
                continue;
            }
            f.first_observed_at = first;
            now.clone_into(&mut f.last_observed_at);
            f.updated_at = updated;
            let event_cause = match (event, &suppressed_by) {
                (Some("SUPPRESSED"), Some(flt)) => format!("filter {flt}"),
                // Opened (or back) under a rule: both are its cause.
                (Some("OPENED" | "REOPENED"), Some(flt)) => {
                    format!("{cause}; suppressed by filter {flt}")
                }
                (Some("UNSUPPRESSED"), _) => stored
                    .get(&arn)
                    .and_then(|o| o.suppressed_by.clone())
                    .map_or_else(
                        || cause.to_owned(),
                        |flt| format!("filter {flt} no longer matches"),
                    ),
                _ => cause.to_owned(),
            };
            let content_changed = differs;
            if let Some(e) = event {
                out.history
                    .push((arn.clone(), new_status.to_owned(), e, event_cause));
            }
            if notify && (event.is_some() || content_changed) {
                if matches!(event, Some("OPENED" | "REOPENED")) && new_status == "ACTIVE" {
                    opened.insert(arn.clone());
                }
                out.events.push(crate::events::Event {
                    resource: resource.to_owned(),
                    detail_type: crate::events::FINDING,
                    detail: serde_json::to_value(&f).unwrap_or(Value::Null),
                    summarized: false,
                });
            }
            let mut row = finding_row(resource, &f, suppressed_by)?;
            row.update = stored.get(&arn).map(|old| update_of(old, &row, differs));
            out.findings.push(row);
        }
        let scope: Vec<&str> = scope.iter().map(|k| kind_str(*k)).collect();
        for (arn, old) in stored {
            if seen.contains(arn) || old.status == "CLOSED" || !scope.contains(&old.kind.as_str()) {
                continue;
            }
            changes.closed += 1;
            let mut body = old.body()?.clone();
            body["status"] = json!("CLOSED");
            body["updatedAt"] = json!(now);
            out.closes.push((arn.clone(), body.to_string()));
            out.history
                .push((arn.clone(), "CLOSED".into(), "CLOSED", cause.to_owned()));
            if notify {
                out.events.push(crate::events::Event {
                    resource: resource.to_owned(),
                    detail_type: crate::events::FINDING,
                    detail: body,
                    summarized: false,
                });
            }
        }
        crate::events::summarize(
            &mut out.events,
            events_from,
            &opened,
            resource,
            cause,
            summarize_above,
        );
        Ok(changes)
    }

    /// Applies the suppression rules in force to every open finding at
    /// once (after a rule is created, changed, deleted or expires): only
    /// `status`, the rule and `updatedAt` change, each change recorded with
    /// the rule as its cause. Nothing is observed again.
    pub async fn resuppress(&self, now: &str) -> DbResult<usize> {
        let filters = self.active_filters(now).await?;
        let _turn = self.turns.lock().await;
        let mut tx = self.begin_write().await?;
        let mut changed = 0;
        // Only the findings a rule may match, and those suppressed now (a
        // rule that no longer matches lifts them), when the rules' keys
        // narrow them through the indexes: a rule on one vulnerability at
        // a million findings reads its few, not every body.
        if let Some(arns) = self.suppression_candidates(&mut tx, &filters).await? {
            for chunk in arns.chunks(1000) {
                let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "SELECT arn, resource_id, status, suppressed_by, updated_at, body FROM findings \
                     WHERE status <> 'CLOSED' AND arn IN ({}) ORDER BY arn",
                    marks.join(", ")
                );
                let mut q = sqlx::query(&sql);
                for a in chunk {
                    q = q.bind(a.as_str());
                }
                let rows = q.fetch_all(&mut *tx).await?;
                changed += self.resuppress_page(&mut tx, rows, &filters, now).await?;
            }
            tx.commit().await?;
            return Ok(changed);
        }
        // Else a page of open findings at a time, by ARN: memory stays that
        // of one page whatever the number of findings (all of them at once
        // held gigabytes at a million).
        let mut after = String::new();
        loop {
            let rows = sqlx::query(
                "SELECT arn, resource_id, status, suppressed_by, updated_at, body FROM findings \
                 WHERE status <> 'CLOSED' AND arn > $1 ORDER BY arn LIMIT 1000",
            )
            .bind(&after)
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("arn")?;
            changed += self.resuppress_page(&mut tx, rows, &filters, now).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// The open findings [`Self::resuppress`] must look at, sorted: those
    /// suppressed now and those each rule may match. `None` when a rule's
    /// keys do not narrow its findings through the indexes, or when they
    /// are so many that paging through every open finding costs less than
    /// holding their ARNs.
    async fn suppression_candidates(
        &self,
        tx: &mut Tx,
        filters: &[ActiveFilter],
    ) -> DbResult<Option<Vec<String>>> {
        const MOST: usize = 250_000;
        let mut arns: BTreeSet<String> = BTreeSet::new();
        for f in filters {
            let left = MOST.saturating_sub(arns.len());
            match crate::listing::open_candidates(tx, self.backend(), &f.criteria, left).await? {
                Some(found) => arns.extend(found),
                None => return Ok(None),
            }
            if arns.len() > MOST {
                return Ok(None);
            }
        }
        let suppressed: Vec<(String,)> =
            sqlx::query_as("SELECT arn FROM findings WHERE status = 'SUPPRESSED'")
                .fetch_all(&mut **tx)
                .await?;
        arns.extend(suppressed.into_iter().map(|(a,)| a));
        if arns.len() > MOST {
            return Ok(None);
        }
        Ok(Some(arns.into_iter().collect()))
    }

    /// [`Self::resuppress`] for one page of open findings; returns how many
    /// changed.
    async fn resuppress_page(
        &self,
        tx: &mut Tx,
        rows: Vec<sqlx::any::AnyRow>,
        filters: &[ActiveFilter],
        now: &str,
    ) -> DbResult<usize> {
        let mut changed = 0;
        for r in rows {
            let arn: String = r.try_get("arn")?;
            let status: String = r.try_get("status")?;
            let before: Option<String> = r.try_get("suppressed_by")?;
            let resource: String = r.try_get("resource_id")?;
            let read_at: String = r.try_get("updated_at")?;
            let body: String = r.try_get("body")?;
            let mut v: Value = serde_json::from_str(&body).map_err(|source| DbError::Json {
                what: "finding",
                source,
            })?;
            let by = filters
                .iter()
                .find(|f| f.criteria.matches(&v))
                .map(|f| f.arn.clone());
            let new_status = if by.is_some() { "SUPPRESSED" } else { "ACTIVE" };
            if new_status == status && by == before {
                continue;
            }
            v["status"] = json!(new_status);
            v["updatedAt"] = json!(now);
            // Only as it was read: a finding another process changed since
            // (closed, rematched) is left to it.
            let done = sqlx::query(
                "UPDATE findings SET status = $1, suppressed_by = $2, updated_at = $3, body = $4 \
                 WHERE arn = $5 AND status = $6 AND updated_at = $7",
            )
            .bind(new_status)
            .bind(by.as_deref())
            .bind(now)
            .bind(v.to_string())
            .bind(&arn)
            .bind(&status)
            .bind(&read_at)
            .execute(&mut **tx)
            .await?;
            if done.rows_affected() == 0 {
                continue;
            }
            changed += 1;
            sqlx::query("UPDATE finding_packages SET status = $1 WHERE arn = $2")
                .bind(new_status)
                .bind(&arn)
                .execute(&mut **tx)
                .await?;
            if new_status != status {
                let (event, why) = if new_status == "SUPPRESSED" {
                    (
                        "SUPPRESSED",
                        format!("filter {}", by.as_deref().unwrap_or_default()),
                    )
                } else {
                    (
                        "UNSUPPRESSED",
                        format!(
                            "filter {} no longer matches",
                            before.as_deref().unwrap_or_default()
                        ),
                    )
                };
                record_history(tx, &arn, now, new_status, event, &why).await?;
                record_event(tx, now, &resource, &v).await?;
            }
        }
        Ok(changed)
    }

    /// Whether a suppression rule expired after `since` and at or before
    /// `now`.
    pub async fn expired_between(&self, since: &str, now: &str) -> DbResult<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM filters WHERE expires_at IS NOT NULL AND expires_at > $1 AND expires_at <= $2",
        )
        .bind(since)
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        Ok(n > 0)
    }

    /// Closes every open finding of a resource that is gone.
    pub async fn terminate(&self, resource: &str, now: &str) -> DbResult<Changes> {
        let all = [
            FindingType::PackageVulnerability,
            FindingType::CodeVulnerability,
            FindingType::NetworkReachability,
        ];
        self.reconcile(resource, &[], &all, "resource terminated", now, true, true)
            .await
    }

    /// A finding's history: (at, status, event, cause), oldest first.
    pub async fn history(&self, arn: &str) -> DbResult<Vec<Value>> {
        let rows = sqlx::query(
            "SELECT at, status, event, cause FROM finding_history WHERE arn = $1 ORDER BY seq",
        )
        .bind(arn)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(json!({
                    "at": r.try_get::<String, _>("at")?,
                    "status": r.try_get::<String, _>("status")?,
                    "event": r.try_get::<String, _>("event")?,
                    "cause": r.try_get::<String, _>("cause")?,
                }))
            })
            .collect()
    }
}
