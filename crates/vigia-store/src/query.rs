//! Reading the database: source states, one vulnerability with everything known
//! about it, and affected entries by package.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use vigia_model::osv::{Reference, Severity};

use crate::state::Generation;
use crate::{Error, Result, Store};
pub use vigia_model::advisory::{AffectedRow, MatchData};

pub(crate) fn u(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::Data(e.to_string()))
}

/// One stored advisory record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AdvisoryRow {
    /// The feed it came from.
    pub source: String,
    /// Its ID.
    pub id: String,
    /// Last modified.
    pub modified: String,
    /// Published.
    pub published: Option<String>,
    /// Withdrawn.
    pub withdrawn: Option<String>,
    /// Summary.
    pub summary: Option<String>,
    /// Details.
    pub details: Option<String>,
    /// Aliases.
    pub aliases: Vec<String>,
    /// Related IDs.
    pub related: Vec<String>,
    /// Upstream IDs.
    pub upstream: Vec<String>,
    /// Severity vectors as the record gives them.
    pub severity: Vec<Severity>,
    /// References.
    pub references: Vec<Reference>,
    /// Database-specific data.
    pub database_specific: Option<serde_json::Value>,
}

/// One CVSS vector with its provenance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CvssRow {
    /// The vulnerability ID it scores.
    pub vuln_id: String,
    /// The feed file it came from.
    pub source: String,
    /// `nvd` or `osv`.
    pub origin: String,
    /// Who scored it: NVD's scorer (`nvd@nist.gov`, a CNA) or the OSV record ID.
    pub scorer: String,
    /// NVD's `Primary` score.
    pub primary: bool,
    /// CVSS version.
    pub version: String,
    /// The vector.
    pub vector: String,
    /// Base score.
    pub score: f64,
    /// Band.
    pub severity: String,
}

/// KEV data for a CVE.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct KevInfo {
    /// The CVE.
    pub cve: String,
    /// Vendor or project.
    pub vendor_project: String,
    /// Product.
    pub product: String,
    /// Name.
    pub vulnerability_name: String,
    /// Date CISA added it.
    pub date_added: String,
    /// Due date.
    pub due_date: String,
    /// Known use in ransomware campaigns.
    pub known_ransomware_campaign_use: String,
    /// Required action.
    pub required_action: String,
}

/// EPSS data for a CVE.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EpssInfo {
    /// The CVE.
    pub cve: String,
    /// Probability of exploitation in 30 days.
    pub score: f64,
    /// Percentile.
    pub percentile: f64,
    /// Date of the score.
    pub score_date: Option<String>,
}

/// Everything known about one vulnerability (one alias group).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Vulnerability {
    /// The group's preferred ID (the CVE when there is one).
    pub id: String,
    /// Every ID in the group, sorted.
    pub aliases: Vec<String>,
    /// The records of the group.
    pub advisories: Vec<AdvisoryRow>,
    /// Their affected entries.
    pub affected: Vec<AffectedRow>,
    /// CVSS from each source, best first (NVD primary, then NVD secondary, then records).
    pub cvss: Vec<CvssRow>,
    /// KEV entries for the group's CVEs.
    pub kev: Vec<KevInfo>,
    /// EPSS scores for the group's CVEs.
    pub epss: Vec<EpssInfo>,
    /// Other records that name this vulnerability without being it (a DSA that
    /// fixes several CVEs, a `related` link), with how they name it.
    pub related: Vec<RelatedRecord>,
}

/// A record that names a vulnerability as upstream or related.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RelatedRecord {
    /// The record's ID.
    pub advisory_id: String,
    /// `upstream` or `related`.
    pub relation: String,
}

fn bind_all<'q>(
    sql: &'q str,
    members: &[String],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut q = sqlx::query(sql);
    for m in members {
        q = q.bind(m.clone());
    }
    q
}

/// Values bound in one `IN (…)` list. `SQLite` allows 32,766 bound values per
/// statement and `PostgreSQL` 65,535: a larger alias group is read in slices,
/// so that no group, however it grew, makes a lookup fail.
const IN_CHUNK: usize = 1000;

/// Runs `template` (with `{list}` where the `IN` list goes) once per slice of
/// `members` and returns every row, slice after slice.
pub(crate) async fn fetch_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    template: &str,
    members: &[String],
) -> Result<Vec<AnyRow>> {
    let mut rows = Vec::new();
    for chunk in members.chunks(IN_CHUNK) {
        let sql = template.replace("{list}", &in_list(1, chunk.len()));
        rows.extend(bind_all(&sql, chunk).fetch_all(&mut **tx).await?);
    }
    Ok(rows)
}

fn in_list(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn advisory_from(r: &AnyRow) -> Result<AdvisoryRow> {
    let db: Option<String> = r.try_get(12)?;
    Ok(AdvisoryRow {
        source: r.try_get(0)?,
        id: r.try_get(1)?,
        modified: r.try_get(2)?,
        published: r.try_get(3)?,
        withdrawn: r.try_get(4)?,
        summary: r.try_get(5)?,
        details: r.try_get(6)?,
        aliases: parse_json(&r.try_get::<String, _>(7)?)?,
        related: parse_json(&r.try_get::<String, _>(8)?)?,
        upstream: parse_json(&r.try_get::<String, _>(9)?)?,
        severity: parse_json(&r.try_get::<String, _>(10)?)?,
        references: parse_json(&r.try_get::<String, _>(11)?)?,
        database_specific: db.as_deref().map(parse_json).transpose()?,
    })
}

pub(crate) fn affected_from(r: &AnyRow) -> Result<AffectedRow> {
    let es: Option<String> = r.try_get(9)?;
    let ds: Option<String> = r.try_get(10)?;
    Ok(AffectedRow {
        source: r.try_get(0)?,
        advisory_id: r.try_get(1)?,
        idx: r.try_get(2)?,
        ecosystem: r.try_get(3)?,
        name: r.try_get(4)?,
        purl: r.try_get(5)?,
        ranges: parse_json(&r.try_get::<String, _>(6)?)?,
        versions: parse_json(&r.try_get::<String, _>(7)?)?,
        severity: parse_json(&r.try_get::<String, _>(8)?)?,
        ecosystem_specific: es.as_deref().map(parse_json).transpose()?,
        database_specific: ds.as_deref().map(parse_json).transpose()?,
    })
}

/// Columns of `affected` in the order [`affected_from`] reads them.
pub(crate) const AFFECTED_COLUMNS: &str = "source, advisory_id, idx, ecosystem, name, purl, ranges, versions, severity, ecosystem_specific, database_specific";

impl Store {
    /// Counts of the derived tables: (alias groups, KEV entries, EPSS rows, CVSS rows).
    pub async fn table_counts(&self) -> Result<(u64, u64, u64, u64)> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(DISTINCT group_id) FROM vuln_groups), (SELECT COUNT(*) FROM kev), (SELECT COUNT(*) FROM epss), (SELECT COUNT(*) FROM cvss)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((
            u(row.try_get(0)?),
            u(row.try_get(1)?),
            u(row.try_get(2)?),
            u(row.try_get(3)?),
        ))
    }

    /// A value of the `meta` table.
    pub async fn meta(&self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// The preferred ID of the group `id` belongs to, if the database knows `id`.
    pub async fn group_of(&self, id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT group_id FROM vuln_groups WHERE member = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Every ID of a group.
    pub async fn group_members(&self, group_id: &str) -> Result<Vec<String>> {
        let rows =
            sqlx::query("SELECT member FROM vuln_groups WHERE group_id = $1 ORDER BY member")
                .bind(group_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// The advisories that name `id` as the upstream or a related
    /// vulnerability without holding a record of their own for it (a Debian
    /// DSA names the CVEs it fixes): where a finding reported as `id` comes
    /// from when the database has no `id`. Read only when `id` is not found
    /// (it searches every advisory's lists).
    pub async fn naming(&self, id: &str) -> Result<Vec<String>> {
        let id = id.trim();
        // `%` and `_` in the ID match themselves among other characters:
        // the lists below decide.
        let quoted = serde_json::to_string(id).map_err(|e| Error::Data(e.to_string()))?;
        let pattern = format!("%{}%", quoted.replace('%', "_"));
        let rows = sqlx::query(
            "SELECT DISTINCT id, upstream, related FROM advisories WHERE upstream LIKE $1 OR related LIKE $1 ORDER BY id",
        )
        .bind(&pattern)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            // LIKE narrows; the lists decide.
            let listed = |col: usize| -> Result<bool> {
                let text: Option<String> = r.try_get(col)?;
                let list: Vec<String> = parse_json(text.as_deref().unwrap_or("[]"))?;
                Ok(list.iter().any(|x| x == id))
            };
            if listed(1)? || listed(2)? {
                let name: String = r.try_get(0)?;
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
        Ok(out)
    }

    /// [`Store::vulnerability`], or, for an ID with no record of its own,
    /// that of the first advisory naming it ([`Store::naming`]), with the
    /// IDs of every advisory that does (empty when `id` has its own).
    pub async fn vulnerability_or_naming(
        &self,
        id: &str,
    ) -> Result<Option<(Vulnerability, Vec<String>)>> {
        if let Some(v) = self.vulnerability(id).await? {
            return Ok(Some((v, Vec::new())));
        }
        let naming = self.naming(id).await?;
        let Some(first) = naming.first() else {
            return Ok(None);
        };
        Ok(self.vulnerability(first).await?.map(|v| (v, naming)))
    }

    /// Everything known about the vulnerability that `id` (any alias) names.
    /// Reads happen in one transaction, so they see a single committed state.
    pub async fn vulnerability(&self, id: &str) -> Result<Option<Vulnerability>> {
        let mut tx = self.pool.begin().await?;
        let v = Self::vulnerability_in(&mut tx, id.trim()).await?;
        tx.commit().await?;
        Ok(v)
    }

    /// [`Store::vulnerability`] for many IDs, read in one transaction (one
    /// consistent state); keyed by the ID asked for. IDs not in the database are left out.
    pub async fn vulnerabilities(
        &self,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vulnerability>> {
        let mut tx = self.pool.begin().await?;
        let mut out = std::collections::HashMap::with_capacity(ids.len());
        for id in ids {
            if let Some(v) = Self::vulnerability_in(&mut tx, id.trim()).await? {
                out.insert(id.clone(), v);
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn vulnerability_in(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        id: &str,
    ) -> Result<Option<Vulnerability>> {
        let group: Option<String> =
            sqlx::query("SELECT group_id FROM vuln_groups WHERE member = $1")
                .bind(id)
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
        let Some(group) = group else { return Ok(None) };
        let members: Vec<String> =
            sqlx::query("SELECT member FROM vuln_groups WHERE group_id = $1 ORDER BY member")
                .bind(&group)
                .fetch_all(&mut **tx)
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
        // `members` is sorted, and slices of it come back in its order: rows
        // ordered by a member column stay ordered; the others are sorted here.
        let advisories = fetch_in(tx, "SELECT source, id, modified, published, withdrawn, summary, details, aliases, related, upstream, severity, refs, database_specific FROM advisories WHERE id IN ({list}) ORDER BY id, source", &members)
            .await?
            .iter()
            .map(advisory_from)
            .collect::<Result<Vec<_>>>()?;
        let mut affected = fetch_in(
            tx,
            &format!("SELECT {AFFECTED_COLUMNS} FROM affected WHERE advisory_id IN ({{list}})"),
            &members,
        )
        .await?
        .iter()
        .map(affected_from)
        .collect::<Result<Vec<_>>>()?;
        affected.sort_by(|a, b| {
            (&a.ecosystem, &a.name, &a.advisory_id, a.idx).cmp(&(
                &b.ecosystem,
                &b.name,
                &b.advisory_id,
                b.idx,
            ))
        });
        let mut cvss = fetch_in(tx, "SELECT vuln_id, source, origin, scorer, primary_score, version, vector, score, severity FROM cvss WHERE vuln_id IN ({list})", &members)
        .await?
        .iter()
        .map(|r| {
            Ok(CvssRow {
                vuln_id: r.try_get(0)?,
                source: r.try_get(1)?,
                origin: r.try_get(2)?,
                scorer: r.try_get(3)?,
                primary: r.try_get::<i64, _>(4)? != 0,
                version: r.try_get(5)?,
                vector: r.try_get(6)?,
                score: r.try_get(7)?,
                severity: r.try_get(8)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        sort_cvss(&mut cvss);
        cvss.dedup_by(|a, b| {
            a.vector == b.vector && a.scorer == b.scorer && a.vuln_id == b.vuln_id
        });
        let kev = fetch_in(tx, "SELECT cve, vendor_project, product, vulnerability_name, date_added, due_date, ransomware, required_action FROM kev WHERE cve IN ({list}) ORDER BY cve", &members)
        .await?
        .iter()
        .map(|r| {
            Ok(KevInfo {
                cve: r.try_get(0)?,
                vendor_project: r.try_get(1)?,
                product: r.try_get(2)?,
                vulnerability_name: r.try_get(3)?,
                date_added: r.try_get(4)?,
                due_date: r.try_get(5)?,
                known_ransomware_campaign_use: r.try_get(6)?,
                required_action: r.try_get(7)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let epss = fetch_in(tx, "SELECT cve, score, percentile, score_date FROM epss WHERE cve IN ({list}) ORDER BY cve", &members)
            .await?
            .iter()
            .map(|r| Ok(EpssInfo { cve: r.try_get(0)?, score: r.try_get(1)?, percentile: r.try_get(2)?, score_date: r.try_get(3)? }))
            .collect::<Result<Vec<_>>>()?;
        let mut related = fetch_in(tx, "SELECT DISTINCT advisory_id, relation FROM advisory_ids WHERE id IN ({list}) AND same = 0", &members)
            .await?
            .iter()
            .map(|r| Ok(RelatedRecord { advisory_id: r.try_get(0)?, relation: r.try_get(1)? }))
            .collect::<Result<Vec<_>>>()?;
        related.sort_by(|a, b| (&a.advisory_id, &a.relation).cmp(&(&b.advisory_id, &b.relation)));
        related.dedup();
        related.retain(|r| !members.contains(&r.advisory_id));
        Ok(Some(Vulnerability {
            id: group,
            aliases: members,
            advisories,
            affected,
            cvss,
            kev,
            epss,
            related,
        }))
    }

    /// Everything an in-memory match index is built from: every affected entry
    /// of a record that is not withdrawn, the alias groups, the upstream links
    /// and the generation, read in one transaction, so the index reflects one
    /// committed state (on `PostgreSQL` too, where an update may commit
    /// meanwhile).
    pub async fn match_data(&self) -> Result<MatchData> {
        let mut tx = self.pool.begin().await?;
        if self.backend == crate::Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let cols = AFFECTED_COLUMNS
            .split(", ")
            .map(|c| format!("f.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let affected = sqlx::query(&format!(
            "SELECT {cols} FROM affected f JOIN advisories a ON a.source = f.source AND a.id = f.advisory_id WHERE a.withdrawn IS NULL"
        ))
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(affected_from)
        .collect::<Result<Vec<_>>>()?;
        let groups = sqlx::query("SELECT member, group_id FROM vuln_groups")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<Vec<_>>>()?;
        let upstream = sqlx::query("SELECT DISTINCT advisory_id, id FROM advisory_ids WHERE relation = 'upstream' AND same = 0")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<Vec<_>>>()?;
        let generation = generation_in(&mut tx).await?;
        tx.commit().await?;
        Ok(MatchData {
            generation: generation.0,
            affected,
            groups,
            upstream,
        })
    }

    /// The generation of the published database (see [`Generation`]).
    pub async fn generation(&self) -> Result<Generation> {
        let mut tx = self.pool.begin().await?;
        let g = generation_in(&mut tx).await?;
        tx.commit().await?;
        Ok(g)
    }

    /// Affected entries for a package: `ecosystem` is the full OSV ecosystem
    /// (`Debian:12`), `name_norm` the name normalised for it.
    pub async fn affected_for(&self, ecosystem: &str, name_norm: &str) -> Result<Vec<AffectedRow>> {
        sqlx::query(&format!("SELECT {AFFECTED_COLUMNS} FROM affected WHERE ecosystem = $1 AND name_norm = $2 ORDER BY advisory_id, idx"))
            .bind(ecosystem)
            .bind(name_norm)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(affected_from)
            .collect()
    }
}

/// Orders CVSS rows best first: NVD's primary score, then other NVD scorers, then
/// records' own vectors; within each, v3.1, v3.0, v4.0, v2 (v3.x is what most
/// tooling and Inspector report; v4 next as it becomes common).
pub(crate) fn sort_cvss(rows: &mut [CvssRow]) {
    fn version_rank(v: &str) -> u8 {
        match v {
            "3.1" => 0,
            "3.0" => 1,
            "4.0" => 2,
            _ => 3,
        }
    }
    rows.sort_by(|a, b| {
        let ka = (
            a.origin != "nvd",
            !a.primary,
            version_rank(&a.version),
            &a.scorer,
            &a.vector,
        );
        let kb = (
            b.origin != "nvd",
            !b.primary,
            version_rank(&b.version),
            &b.scorer,
            &b.vector,
        );
        ka.cmp(&kb)
    });
}

async fn generation_in(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<Generation> {
    let v: Option<(String,)> = sqlx::query_as("SELECT value FROM meta WHERE key = 'generation'")
        .fetch_optional(&mut **tx)
        .await?;
    Ok(Generation(v.and_then(|(v,)| v.parse().ok()).unwrap_or(0)))
}
