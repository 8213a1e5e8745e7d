//! Alias groups: the records that name each other as the same vulnerability form
//! one group, whose preferred ID is its CVE when it has one.

use std::collections::BTreeSet;

use sqlx::{Any, Row, Transaction};
use vigia_model::osv::is_cve;
use vigia_model::{Osv, PackageKey};

use crate::{Backend, Error, Result};

/// A union-find over interned IDs. Each ID is stored once, in one string arena
/// with its end offset, and found through a hash table of indexes: about 30
/// bytes per ID in all (a `String` key in a map costs about 90), so that the
/// millions of IDs of a full upstream database group in tens of megabytes. The
/// advisory rows themselves are never held: pairs are added as each source is
/// finished, and sources an update keeps are streamed from the database.
pub(crate) struct Groups {
    arena: String,
    ends: Vec<u32>,
    table: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    parent: Vec<u32>,
}

impl std::fmt::Debug for Groups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Groups")
            .field("ids", &self.ends.len())
            .finish_non_exhaustive()
    }
}

/// ID `i` of an arena with end offsets `ends`.
fn name_at<'a>(arena: &'a str, ends: &[u32], i: u32) -> &'a str {
    let i = i as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    &arena[start..ends[i] as usize]
}

impl Groups {
    pub(crate) fn new() -> Self {
        Self {
            arena: String::new(),
            ends: Vec::new(),
            table: hashbrown::HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
            parent: Vec::new(),
        }
    }

    fn name(&self, i: u32) -> &str {
        name_at(&self.arena, &self.ends, i)
    }

    /// The index of `id`, when it was interned.
    fn index(&self, id: &str) -> Option<u32> {
        use std::hash::BuildHasher;
        let hash = self.hasher.hash_one(id);
        self.table.find(hash, |&i| self.name(i) == id).copied()
    }

    fn intern(&mut self, id: &str) -> u32 {
        use std::hash::BuildHasher;
        let Self {
            arena,
            ends,
            table,
            hasher,
            parent,
        } = self;
        let hash = hasher.hash_one(id);
        if let Some(&i) = table.find(hash, |&i| name_at(arena, ends, i) == id) {
            return i;
        }
        let i = u32::try_from(ends.len()).expect("fewer than 4 billion IDs");
        arena.push_str(id);
        ends.push(u32::try_from(arena.len()).expect("IDs under 4 GiB in all"));
        parent.push(i);
        table.insert_unique(hash, i, |&j| hasher.hash_one(name_at(arena, ends, j)));
        i
    }

    /// Records that `a` and `b` name the same vulnerability.
    pub(crate) fn join(&mut self, a: &str, b: &str) {
        let (ia, ib) = (self.intern(a), self.intern(b));
        self.union(ia, ib);
    }

    fn find(&mut self, mut i: u32) -> u32 {
        while self.parent[i as usize] != i {
            let up = self.parent[self.parent[i as usize] as usize];
            self.parent[i as usize] = up;
            i = up;
        }
        i
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb) as usize] = ra.min(rb);
        }
    }

    /// Every ID (by index) with its group's preferred ID, sorted by ID: in key
    /// order, every insert into the primary key's B-tree lands on its last page
    /// (measured: a third faster than in hash order).
    fn rows(&mut self) -> Vec<(u32, u32)> {
        let n = u32::try_from(self.ends.len()).expect("fewer than 4 billion IDs");
        let mut best: Vec<u32> = (0..n).collect();
        for i in 0..n {
            let root = self.find(i) as usize;
            if preference(self.name(i)) < preference(self.name(best[root])) {
                best[root] = i;
            }
        }
        let mut rows: Vec<(u32, u32)> = (0..n)
            .map(|i| {
                let root = self.find(i) as usize;
                (i, best[root])
            })
            .collect();
        rows.sort_unstable_by(|a, b| self.name(a.0).cmp(self.name(b.0)));
        rows
    }
}

/// Orders candidate preferred IDs: a CVE first (the oldest when a group holds
/// several), then a GHSA, then any other ID alphabetically.
pub(crate) fn preference(id: &str) -> (u8, u32, u64, &str) {
    if is_cve(id) {
        let mut parts = id[4..].splitn(2, '-');
        let year = parts
            .next()
            .and_then(|y| y.parse().ok())
            .unwrap_or(u32::MAX);
        let num = parts
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(u64::MAX);
        return (0, year, num, id);
    }
    if id.starts_with("GHSA-") {
        return (1, 0, 0, id);
    }
    (2, 0, 0, id)
}

/// Adds to `g`, when `written` names the sources this update wrote, the stored
/// same-vulnerability pairs of every other source, streamed from their
/// advisories' own ID lists.
pub(crate) async fn gather(
    tx: &mut Transaction<'static, Any>,
    g: &mut Groups,
    written: Option<&BTreeSet<String>>,
) -> Result<()> {
    use futures_util::TryStreamExt;
    let Some(written) = written else {
        return Ok(());
    };
    let mut sql = String::from("SELECT id, aliases, upstream, related FROM advisories");
    if !written.is_empty() {
        sql.push_str(" WHERE source NOT IN (");
        for i in 0..written.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", i + 1));
        }
        sql.push(')');
    }
    let mut q = sqlx::query(&sql);
    for w in written {
        q = q.bind(w.as_str());
    }
    let list = |row: &sqlx::any::AnyRow, i: usize| -> Result<Vec<String>> {
        let text: String = row.try_get(i)?;
        serde_json::from_str(&text).map_err(|e| Error::Data(e.to_string()))
    };
    let mut rows = q.fetch(&mut **tx);
    while let Some(row) = rows.try_next().await? {
        let record = Osv {
            id: row.try_get(0)?,
            aliases: list(&row, 1)?,
            upstream: list(&row, 2)?,
            related: list(&row, 3)?,
            ..Osv::default()
        };
        let id = g.intern(&record.id);
        for other in record.same_vulnerability_ids() {
            let other = g.intern(other);
            g.union(id, other);
        }
    }
    Ok(())
}

/// The alias groups formed: every ID with its group's preferred ID, ready to
/// write.
pub(crate) struct Formed {
    g: Groups,
    rows: Vec<(u32, u32)>,
    groups: u64,
}

/// Forms the groups of `g` (pure computation: it may run on a blocking thread
/// while the database does other work).
pub(crate) fn form(mut g: Groups) -> Formed {
    let started = std::time::Instant::now();
    let rows = g.rows();
    let groups = rows.iter().filter(|(m, p)| m == p).count() as u64;
    tracing::debug!(
        ids = rows.len(),
        seconds = started.elapsed().as_secs_f64(),
        "alias groups formed"
    );
    Formed { g, rows, groups }
}

/// Replaces `vuln_groups` with the groups `formed`, inside the update's
/// transaction; returns the number of groups.
pub(crate) async fn write(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    formed: Formed,
) -> Result<u64> {
    let started = std::time::Instant::now();
    let Formed { g, rows, groups } = formed;
    sqlx::query("DELETE FROM vuln_groups")
        .execute(&mut **tx)
        .await?;
    // One batch of names at a time, so that only the batch is ever copied.
    let (chunk, named) = if backend == Backend::Sqlite {
        (65_536, true)
    } else {
        (2048, false)
    };
    for batch in rows.chunks(chunk) {
        let batch: Vec<(&str, &str)> = batch.iter().map(|&(m, p)| (g.name(m), g.name(p))).collect();
        if named {
            // One JSON array bound per 64k rows, taken apart by SQLite itself:
            // two short strings per row made binding them one by one cost more
            // than inserting them (measured: 85 ms → 25 ms for the 10x mirror's
            // 59,000).
            sqlx::query(
                "INSERT INTO vuln_groups (member, group_id) SELECT value ->> 0, value ->> 1 FROM json_each($1)",
            )
            .bind(serde_json::to_string(&batch).map_err(|e| Error::Data(e.to_string()))?)
            .execute(&mut **tx)
            .await?;
        } else {
            insert(tx, backend, &batch).await?;
        }
    }
    tracing::debug!(
        seconds = started.elapsed().as_secs_f64(),
        "alias groups written"
    );
    Ok(groups)
}

/// Every ID of the groups `formed` that hold one of `ids` (those of `ids`
/// that are grouped included): one pass over the formed rows.
pub(crate) fn members_of(formed: &Formed, ids: &BTreeSet<String>) -> BTreeSet<String> {
    let Formed { g, rows, .. } = formed;
    // The rows are sorted by member name: each ID's preferred one is found by
    // a binary search.
    let preferred: std::collections::HashSet<u32> = ids
        .iter()
        .filter_map(|id| g.index(id))
        .filter_map(|i| {
            rows.binary_search_by(|r| g.name(r.0).cmp(g.name(i)))
                .ok()
                .map(|at| rows[at].1)
        })
        .collect();
    if preferred.is_empty() {
        return BTreeSet::new();
    }
    rows.iter()
        .filter(|(_, p)| preferred.contains(p))
        .map(|&(m, _)| g.name(m).to_owned())
        .collect()
}

/// Every ID of the groups that hold one of `ids` in the stored groups table
/// `table` (`vuln_groups` before it is replaced, or the published database's
/// `prev.vuln_groups`).
pub(crate) async fn stored_members(
    tx: &mut Transaction<'static, Any>,
    table: &str,
    ids: &BTreeSet<String>,
) -> Result<BTreeSet<String>> {
    let ids: Vec<String> = ids.iter().cloned().collect();
    let rows = crate::query::fetch_in(
        tx,
        &format!(
            "SELECT member FROM {table} WHERE group_id IN (SELECT group_id FROM {table} WHERE member IN ({{list}}))"
        ),
        &ids,
    )
    .await?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).map_err(Error::from))
        .collect()
}

/// The packages that the affected entries of the records `ids` name, as this
/// update left them.
pub(crate) async fn packages_of(
    tx: &mut Transaction<'static, Any>,
    ids: &BTreeSet<String>,
) -> Result<BTreeSet<PackageKey>> {
    let ids: Vec<String> = ids.iter().cloned().collect();
    let rows = crate::query::fetch_in(
        tx,
        "SELECT DISTINCT ecosystem, name_norm FROM affected WHERE advisory_id IN ({list})",
        &ids,
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PackageKey {
                ecosystem: r.try_get(0)?,
                name: r.try_get(1)?,
            })
        })
        .collect()
}

async fn insert(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    rows: &[(&str, &str)],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut sql = String::from("INSERT INTO vuln_groups (member, group_id) VALUES ");
    for i in 0..rows.len() {
        if i > 0 {
            sql.push_str(", ");
        }
        if backend == Backend::Sqlite {
            sql.push_str("(?, ?)");
        } else {
            sql.push_str(&format!("(${}, ${})", 2 * i + 1, 2 * i + 2));
        }
    }
    let mut q = sqlx::query(&sql);
    for (m, gid) in rows {
        q = q.bind(*m).bind(*gid);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_is_preferred_then_ghsa() {
        let mut ids = ["PYSEC-2023-62", "GHSA-m2qf-hxjv-5gpq", "CVE-2023-30861"];
        ids.sort_by_key(|i| preference(i));
        assert_eq!(ids[0], "CVE-2023-30861");
        let mut ids = ["PYSEC-2023-62", "GHSA-m2qf-hxjv-5gpq"];
        ids.sort_by_key(|i| preference(i));
        assert_eq!(ids[0], "GHSA-m2qf-hxjv-5gpq");
        let mut ids = vec!["CVE-2023-10000", "CVE-2023-9999", "CVE-2022-50000"];
        ids.sort_by_key(|i| preference(i));
        assert_eq!(
            ids,
            vec!["CVE-2022-50000", "CVE-2023-9999", "CVE-2023-10000"]
        );
    }

    #[test]
    fn union_find_joins_transitively() {
        let mut g = Groups::new();
        let (ia, ib, ic, id) = (g.intern("a"), g.intern("b"), g.intern("c"), g.intern("d"));
        g.union(ia, ib);
        g.union(ic, ib);
        assert_eq!(g.find(ia), g.find(ic));
        assert_ne!(g.find(ia), g.find(id));
        assert_eq!(g.intern("b"), ib, "an ID is interned once");
        let rows: Vec<(&str, &str)> = g
            .rows()
            .into_iter()
            .map(|(m, p)| (g.name(m), g.name(p)))
            .collect();
        assert_eq!(rows, vec![("a", "a"), ("b", "a"), ("c", "a"), ("d", "d")]);
    }

    #[test]
    fn interning_survives_growth_and_keeps_every_id_apart() {
        let mut g = Groups::new();
        let ids: Vec<String> = (10_000..30_000).map(|i| format!("CVE-2024-{i}")).collect();
        let idx: Vec<u32> = ids.iter().map(|i| g.intern(i)).collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(g.intern(id), idx[i]);
            assert_eq!(g.name(idx[i]), id);
        }
        g.join("CVE-2024-10007", "GHSA-aaaa-bbbb-cccc");
        g.join("PYSEC-2024-1", "GHSA-aaaa-bbbb-cccc");
        let rows = g.rows();
        let preferred = |id: &str| {
            let i = g
                .table
                .find(std::hash::BuildHasher::hash_one(&g.hasher, id), |&j| {
                    g.name(j) == id
                });
            let i = *i.unwrap();
            g.name(rows.iter().find(|r| r.0 == i).unwrap().1)
        };
        assert_eq!(preferred("PYSEC-2024-1"), "CVE-2024-10007");
        assert_eq!(preferred("GHSA-aaaa-bbbb-cccc"), "CVE-2024-10007");
        assert_eq!(preferred("CVE-2024-10008"), "CVE-2024-10008");
    }
}
