//! Alias groups: the records that name each other as the same vulnerability form
//! one group, whose preferred ID is its CVE when it has one.

use std::collections::BTreeSet;

use sqlx::{Any, Row, Transaction};
use vigia_model::Osv;
use vigia_model::osv::is_cve;

use crate::{Backend, Error, Result};

/// A union-find over interned IDs, borrowing them from the caller.
struct Groups<'a> {
    index: foldhash::HashMap<&'a str, u32>,
    names: Vec<&'a str>,
    parent: Vec<u32>,
}

impl<'a> Groups<'a> {
    fn with_capacity(n: usize) -> Self {
        Self {
            index: foldhash::HashMap::with_capacity_and_hasher(
                n,
                foldhash::fast::RandomState::default(),
            ),
            names: Vec::with_capacity(n),
            parent: Vec::with_capacity(n),
        }
    }

    fn intern(&mut self, id: &'a str) -> u32 {
        let next = u32::try_from(self.names.len()).expect("fewer than 4 billion IDs");
        let i = *self.index.entry(id).or_insert(next);
        if i == next {
            self.names.push(id);
            self.parent.push(i);
        }
        i
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

    /// Every ID with its group's preferred ID, sorted by ID.
    fn rows(&mut self) -> Vec<(&'a str, &'a str)> {
        // `intern` keeps the count within u32.
        let n = u32::try_from(self.names.len()).expect("fewer than 4 billion IDs");
        let mut best: Vec<u32> = (0..n).collect();
        for i in 0..n {
            let root = self.find(i) as usize;
            let current = self.names[best[root] as usize];
            if preference(self.names[i as usize]) < preference(current) {
                best[root] = i;
            }
        }
        let mut rows: Vec<(&str, &str)> = (0..n)
            .map(|i| {
                let root = self.find(i) as usize;
                (self.names[i as usize], self.names[best[root] as usize])
            })
            .collect();
        // In key order, every insert into the primary key's B-tree lands on its
        // last page (measured: a third faster than in hash order).
        rows.sort_unstable();
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

/// Recomputes `vuln_groups` inside the update's transaction, from the
/// same-vulnerability pairs `same` of the sources the update wrote and, when
/// `written` names them, the stored pairs of every other source.
pub(crate) async fn rebuild(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    same: Vec<(String, String)>,
    written: Option<&BTreeSet<String>>,
) -> Result<u64> {
    // The other sources' pairs, from their advisories' own ID lists.
    let mut others: Vec<(String, Vec<String>)> = Vec::new();
    if let Some(written) = written {
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
        let rows = q.fetch_all(&mut **tx).await?;
        let list = |row: &sqlx::any::AnyRow, i: usize| -> Result<Vec<String>> {
            let text: String = row.try_get(i)?;
            serde_json::from_str(&text).map_err(|e| Error::Data(e.to_string()))
        };
        for row in &rows {
            let record = Osv {
                id: row.try_get(0)?,
                aliases: list(row, 1)?,
                upstream: list(row, 2)?,
                related: list(row, 3)?,
                ..Osv::default()
            };
            let same = record
                .same_vulnerability_ids()
                .into_iter()
                .map(str::to_owned)
                .collect();
            others.push((record.id, same));
        }
    }
    let mut g = Groups::with_capacity(same.len() + others.len() * 2);
    for (a, b) in &same {
        let (ia, ib) = (g.intern(a), g.intern(b));
        g.union(ia, ib);
    }
    for (id, same) in &others {
        let ia = g.intern(id);
        for other in same {
            let ib = g.intern(other);
            g.union(ia, ib);
        }
    }
    let rows = g.rows();
    let groups = rows.iter().filter(|(m, p)| m == p).count() as u64;
    sqlx::query("DELETE FROM vuln_groups")
        .execute(&mut **tx)
        .await?;
    if backend == Backend::Sqlite {
        // One JSON array bound per 64k rows, taken apart by SQLite itself: two
        // short strings per row made binding them one by one cost more than
        // inserting them (measured: 85 ms → 25 ms for the 10x mirror's 59,000).
        for batch in rows.chunks(65_536) {
            sqlx::query(
                "INSERT INTO vuln_groups (member, group_id) SELECT value ->> 0, value ->> 1 FROM json_each($1)",
            )
            .bind(serde_json::to_string(batch).map_err(|e| Error::Data(e.to_string()))?)
            .execute(&mut **tx)
            .await?;
        }
    } else {
        for batch in rows.chunks(2048) {
            insert(tx, backend, batch).await?;
        }
    }
    Ok(groups)
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
        let mut g = Groups::with_capacity(4);
        let (ia, ib, ic, id) = (g.intern("a"), g.intern("b"), g.intern("c"), g.intern("d"));
        g.union(ia, ib);
        g.union(ic, ib);
        assert_eq!(g.find(ia), g.find(ic));
        assert_ne!(g.find(ia), g.find(id));
        assert_eq!(g.intern("b"), ib, "an ID is interned once");
        let rows = g.rows();
        assert_eq!(rows, vec![("a", "a"), ("b", "a"), ("c", "a"), ("d", "d")]);
    }
}
