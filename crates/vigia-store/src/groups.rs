//! Alias groups: the records that name each other as the same vulnerability form
//! one group, whose preferred ID is its CVE when it has one.

use std::collections::{BTreeSet, HashMap};

use sqlx::{Any, Row, Transaction};
use vigia_model::Osv;
use vigia_model::osv::is_cve;

use crate::{Backend, Error, Result};

/// A union-find over interned IDs.
struct Groups {
    index: HashMap<String, usize>,
    names: Vec<String>,
    parent: Vec<usize>,
}

impl Groups {
    fn new() -> Self {
        Self {
            index: HashMap::new(),
            names: Vec::new(),
            parent: Vec::new(),
        }
    }

    fn intern(&mut self, id: &str) -> usize {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = self.names.len();
        self.index.insert(id.to_owned(), i);
        self.names.push(id.to_owned());
        self.parent.push(i);
        i
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
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
    let mut g = Groups::new();
    for (a, b) in &same {
        let (ia, ib) = (g.intern(a), g.intern(b));
        g.union(ia, ib);
    }
    drop(same);
    if let Some(written) = written {
        // The other sources' pairs, from their advisories' own ID lists.
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
            let ia = g.intern(&record.id);
            for id in record.same_vulnerability_ids() {
                let ib = g.intern(id);
                g.union(ia, ib);
            }
        }
    }
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..g.names.len() {
        let root = g.find(i);
        members.entry(root).or_default().push(i);
    }
    sqlx::query("DELETE FROM vuln_groups")
        .execute(&mut **tx)
        .await?;
    let mut rows: Vec<(&str, &str)> = Vec::with_capacity(g.names.len());
    for ids in members.values() {
        let preferred = ids
            .iter()
            .map(|&i| g.names[i].as_str())
            .min_by(|a, b| preference(a).cmp(&preference(b)))
            .expect("a group has a member");
        rows.extend(ids.iter().map(|&i| (g.names[i].as_str(), preferred)));
    }
    // In key order, every insert into the primary key's B-tree lands on its last
    // page (measured: a third faster than in hash order).
    rows.sort_unstable();
    for batch in rows.chunks(2048) {
        insert(tx, backend, batch).await?;
    }
    Ok(members.len() as u64)
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
    }
}
