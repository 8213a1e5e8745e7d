//! Stored inventories: each kept once per content, its packages in package
//! sets (one per image layer, content-addressed, shared by every image that
//! holds the layer), indexed by the (ecosystem, package) keys an advisory
//! update's change set names. A rematch reads back only the packages a
//! change touches, not whole inventories.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};
use sqlx::Row;
use vigia_inventory::{Inventory, Package};
use vigia_store::PackageKey;

use crate::db::{DbError, DbResult, StateDb, placeholders};

/// Bind parameters per statement in the chunked `IN` lists below (well under
/// SQLite's and PostgreSQL's limits).
const CHUNK: usize = 400;

/// Rows a multi-row `INSERT` writes (4 columns each: 400 parameters).
const ROWS_PER_INSERT: usize = 100;

/// Sets the packages of an inventory without layers are spread over.
const SETS_PER_HOST: u8 = 16;

/// The keys a package is matched under: its ecosystem with its name and,
/// for OS packages, its source package's name.
fn keys_of(p: &Package, inv: &Inventory) -> Vec<PackageKey> {
    let Ok(eco) = vigia_scan::ecosystem_of(p, inv.os.as_ref()) else {
        return Vec::new();
    };
    let mut out = vec![PackageKey::new(&eco, &p.name)];
    if let Some(src) = &p.source_name {
        out.push(PackageKey::new(&eco, src));
    }
    out
}

/// The keys an inventory's packages are matched under.
#[must_use]
pub fn package_keys(inv: &Inventory) -> Vec<PackageKey> {
    let mut out: Vec<PackageKey> = inv.packages.iter().flat_map(|p| keys_of(p, inv)).collect();
    out.sort();
    out.dedup();
    out
}

/// The packages one finding can group (see `vigia_scan`'s findings: OS
/// packages by source package, others by name): a rematch reads a group
/// whole, so that a finding it rebuilds holds every package it held.
fn group_of(p: &Package) -> String {
    match p.kind.as_str() {
        "deb" | "apk" | "rpm" => {
            format!("{}|{}", p.kind, p.source_name.as_deref().unwrap_or(&p.name))
        }
        _ => format!("{}|{}", p.kind, p.name),
    }
}

fn json_error(what: &'static str) -> impl FnOnce(serde_json::Error) -> DbError {
    move |source| DbError::Json { what, source }
}

/// The inventories holding packages of a change set, each with only those
/// packages (and the rest of its packages' finding groups).
#[derive(Debug, Default)]
pub struct Affected {
    /// Inventory ID → the inventory with those packages only.
    pub inventories: BTreeMap<String, Inventory>,
    /// The package sets (layers) holding them.
    pub sets: usize,
}

/// An inventory ready to be written: its ID, its head and its package
/// sets, computed without the database (so that many check-ins are
/// prepared side by side and written in one transaction).
#[derive(Debug, Clone)]
pub struct PreparedInventory {
    /// The inventory's ID (see [`StateDb::store_inventory`]).
    pub id: String,
    /// The inventory without its packages, as JSON.
    head: String,
    sets: Vec<PreparedSet>,
}

/// A package set: one layer's packages, or one of a host's groups.
#[derive(Debug, Clone)]
struct PreparedSet {
    id: String,
    layer: Option<String>,
    /// (sequence, finding group, package as JSON).
    rows: Vec<(i64, String, String)>,
    /// (ecosystem, name, finding group).
    keys: BTreeSet<(String, String, String)>,
}

impl PreparedInventory {
    /// Hashes and splits an inventory.
    ///
    /// # Errors
    ///
    /// A package that cannot be written as JSON.
    pub fn new(inv: &Inventory) -> DbResult<Self> {
        let mut inv = inv.clone();
        inv.target = String::new();
        let body = serde_json::to_string(&inv).map_err(json_error("inventory"))?;
        let id = hex::encode(Sha256::digest(body.as_bytes()));
        // One set per image layer; the packages of what has no layers (a
        // host, a function) in SETS_PER_HOST sets by finding group, so that
        // a host whose agent reports one upgrade stores one small set again,
        // not all of its packages.
        let mut by_layer: BTreeMap<(Option<&str>, u8), Vec<&Package>> = BTreeMap::new();
        for p in &inv.packages {
            let bucket = if p.layer.is_some() {
                0
            } else {
                Sha256::digest(group_of(p).as_bytes())[0] % SETS_PER_HOST
            };
            by_layer
                .entry((p.layer.as_deref(), bucket))
                .or_default()
                .push(p);
        }
        let os = serde_json::to_string(&inv.os).map_err(json_error("inventory"))?;
        let mut sets = Vec::new();
        for ((layer, _), packages) in by_layer {
            let bodies = packages
                .iter()
                .map(serde_json::to_string)
                .collect::<Result<Vec<_>, _>>()
                .map_err(json_error("package"))?;
            // The OS is part of a set's identity: it decides the ecosystem
            // its OS packages are matched in.
            let mut h = Sha256::new();
            h.update(os.as_bytes());
            for b in &bodies {
                h.update([0]);
                h.update(b.as_bytes());
            }
            let mut keys = BTreeSet::new();
            for p in &packages {
                let group = group_of(p);
                for k in keys_of(p, &inv) {
                    keys.insert((k.ecosystem, k.name, group.clone()));
                }
            }
            sets.push(PreparedSet {
                id: hex::encode(h.finalize()),
                layer: layer.map(str::to_owned),
                rows: packages
                    .iter()
                    .zip(bodies)
                    .enumerate()
                    .map(|(seq, (p, b))| (i64::try_from(seq).unwrap_or(i64::MAX), group_of(p), b))
                    .collect(),
                keys,
            });
        }
        let mut header = inv;
        header.packages = Vec::new();
        let head = serde_json::to_string(&header).map_err(json_error("inventory"))?;
        Ok(Self { id, head, sets })
    }
}

/// Writes inventories in the caller's transaction, each once: an inventory
/// stored already is left as it is, and so is every package set stored
/// already (most of a host's, after its first check-in). Many rows a
/// statement: a statement each was most of the time a host's first
/// check-in took.
pub(crate) async fn write_inventories(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: crate::db::Backend,
    inventories: &[&PreparedInventory],
    now: &str,
) -> DbResult<()> {
    let mut heads: BTreeMap<&str, &PreparedInventory> = BTreeMap::new();
    for inv in inventories {
        heads.insert(&inv.id, inv);
    }
    let heads: Vec<(&str, &PreparedInventory)> = heads.into_iter().collect();
    // The inventories new to the database.
    let mut new_inventories: Vec<&PreparedInventory> = Vec::new();
    for chunk in heads.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO inventories (id, body, created_at) VALUES {} ON CONFLICT (id) DO NOTHING RETURNING id",
            placeholders(backend, chunk.len(), 3, 0)
        );
        let mut q = sqlx::query(&sql);
        for (id, inv) in chunk {
            q = q.bind(*id).bind(&inv.head).bind(now);
        }
        let added: BTreeSet<String> = q
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .filter_map(|r| r.try_get::<String, _>("id").ok())
            .collect();
        new_inventories.extend(
            chunk
                .iter()
                .filter(|(id, _)| added.contains(*id))
                .map(|(_, inv)| *inv),
        );
    }
    // Their sets, each once.
    let mut sets: BTreeMap<&str, &PreparedSet> = BTreeMap::new();
    let mut links: Vec<(&str, &str)> = Vec::new();
    for inv in &new_inventories {
        for set in &inv.sets {
            sets.insert(&set.id, set);
            links.push((&inv.id, &set.id));
        }
    }
    let sets: Vec<&PreparedSet> = sets.into_values().collect();
    let mut new_sets: Vec<&PreparedSet> = Vec::new();
    for chunk in sets.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO package_sets (id, layer, created_at) VALUES {} ON CONFLICT (id) DO NOTHING RETURNING id",
            placeholders(backend, chunk.len(), 3, 0)
        );
        let mut q = sqlx::query(&sql);
        for set in chunk {
            q = q.bind(&set.id).bind(set.layer.as_deref()).bind(now);
        }
        let added: BTreeSet<String> = q
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .filter_map(|r| r.try_get::<String, _>("id").ok())
            .collect();
        new_sets.extend(chunk.iter().filter(|s| added.contains(&s.id)));
    }
    let rows: Vec<(&str, &(i64, String, String))> = new_sets
        .iter()
        .flat_map(|s| s.rows.iter().map(move |r| (s.id.as_str(), r)))
        .collect();
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO set_packages (set_id, seq, grp, body) VALUES {} ON CONFLICT DO NOTHING",
            placeholders(backend, chunk.len(), 4, 0)
        );
        let mut q = sqlx::query(&sql);
        for (set_id, (seq, group, body)) in chunk {
            q = q.bind(*set_id).bind(*seq).bind(group).bind(body);
        }
        q.execute(&mut **tx).await?;
    }
    let keys: Vec<(&str, &(String, String, String))> = new_sets
        .iter()
        .flat_map(|s| s.keys.iter().map(move |k| (s.id.as_str(), k)))
        .collect();
    for chunk in keys.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO set_keys (ecosystem, name, set_id, grp) VALUES {} ON CONFLICT DO NOTHING",
            placeholders(backend, chunk.len(), 4, 0)
        );
        let mut q = sqlx::query(&sql);
        for (set_id, (ecosystem, name, group)) in chunk {
            q = q.bind(ecosystem).bind(name).bind(*set_id).bind(group);
        }
        q.execute(&mut **tx).await?;
    }
    for chunk in links.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO inventory_sets (inventory_id, set_id) VALUES {} ON CONFLICT DO NOTHING",
            placeholders(backend, chunk.len(), 2, 0)
        );
        let mut q = sqlx::query(&sql);
        for (inventory_id, set_id) in chunk {
            q = q.bind(*inventory_id).bind(*set_id);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

impl StateDb {
    /// Stores an inventory once per content; its ID is the SHA-256 of its
    /// JSON without the target's name (where it was read from is the
    /// resource's `source`): resources with the same content share one.
    /// Its packages go to package sets, one per image layer, each stored
    /// once however many images hold it.
    pub async fn store_inventory(&self, inv: &Inventory, now: &str) -> DbResult<String> {
        let prepared = PreparedInventory::new(inv)?;
        let mut tx = self.begin_write().await?;
        write_inventories(&mut tx, self.backend(), &[&prepared], now).await?;
        tx.commit().await?;
        Ok(prepared.id)
    }

    /// A stored inventory, whole.
    pub async fn inventory(&self, id: &str) -> DbResult<Option<Inventory>> {
        let Some(row) = sqlx::query("SELECT body FROM inventories WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let body: String = row.try_get("body")?;
        let mut inv: Inventory = serde_json::from_str(&body).map_err(json_error("inventory"))?;
        let rows = sqlx::query(
            "SELECT p.body FROM inventory_sets i JOIN set_packages p ON p.set_id = i.set_id WHERE i.inventory_id = $1",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        for r in rows {
            let body: String = r.try_get("body")?;
            inv.packages
                .push(serde_json::from_str(&body).map_err(json_error("package"))?);
        }
        inv.packages.sort();
        Ok(Some(inv))
    }

    /// The stored inventories holding a package of `keys`, each with only
    /// the packages of the finding groups those keys touch: what a rematch
    /// after a change set evaluates. Reads the affected groups' packages
    /// once per package set, not whole inventories.
    pub async fn affected(&self, keys: &[PackageKey]) -> DbResult<Affected> {
        // The (set, group) pairs holding a key.
        let mut groups: BTreeSet<(String, String)> = BTreeSet::new();
        for chunk in keys.chunks(CHUNK / 2) {
            let sql = format!(
                "SELECT DISTINCT set_id, grp FROM set_keys WHERE (ecosystem, name) IN ({})",
                placeholders(self.backend(), chunk.len(), 2, 0)
            );
            let mut q = sqlx::query(&sql);
            for k in chunk {
                q = q.bind(&k.ecosystem).bind(&k.name);
            }
            for r in q.fetch_all(self.pool()).await? {
                groups.insert((r.try_get("set_id")?, r.try_get("grp")?));
            }
        }
        let named: BTreeSet<&str> = groups.iter().map(|(set, _)| set.as_str()).collect();
        let wanted: Vec<&str> = groups
            .iter()
            .map(|(_, g)| g.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // The inventories holding those sets.
        let named: Vec<&str> = named.into_iter().collect();
        let mut inventories: BTreeSet<String> = BTreeSet::new();
        for r in self
            .fetch_in(
                "SELECT DISTINCT inventory_id FROM inventory_sets WHERE set_id IN ({})",
                &named,
            )
            .await?
        {
            inventories.insert(r.try_get("inventory_id")?);
        }
        // Every set of those inventories: one finding can group a source
        // package's binaries from several layers (an advisory naming one
        // binary selects its group in every layer).
        let listed: Vec<&String> = inventories.iter().collect();
        let mut holding: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in self
            .fetch_in(
                "SELECT inventory_id, set_id FROM inventory_sets WHERE inventory_id IN ({})",
                &listed,
            )
            .await?
        {
            holding
                .entry(r.try_get("inventory_id")?)
                .or_default()
                .push(r.try_get("set_id")?);
        }
        // Those sets' packages of the groups touched.
        let sets: Vec<&String> = holding
            .values()
            .flatten()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut packages: BTreeMap<String, Vec<Package>> = BTreeMap::new();
        for chunk in sets.chunks(CHUNK / 2) {
            for some in wanted.chunks(CHUNK / 2) {
                let sql = format!(
                    "SELECT set_id, body FROM set_packages WHERE set_id IN ({}) AND grp IN ({})",
                    placeholders(self.backend(), chunk.len(), 1, 0),
                    placeholders(self.backend(), some.len(), 1, chunk.len())
                );
                let mut q = sqlx::query(&sql);
                for s in chunk {
                    q = q.bind(*s);
                }
                for g in some {
                    q = q.bind(*g);
                }
                for r in q.fetch_all(self.pool()).await? {
                    let body: String = r.try_get("body")?;
                    packages
                        .entry(r.try_get("set_id")?)
                        .or_default()
                        .push(serde_json::from_str(&body).map_err(json_error("package"))?);
                }
            }
        }
        let ids: Vec<&String> = holding.keys().collect();
        let mut out = Affected {
            sets: named.len(),
            ..Affected::default()
        };
        for r in self
            .fetch_in("SELECT id, body FROM inventories WHERE id IN ({})", &ids)
            .await?
        {
            let id: String = r.try_get("id")?;
            let body: String = r.try_get("body")?;
            let mut inv: Inventory =
                serde_json::from_str(&body).map_err(json_error("inventory"))?;
            // Only what matching reads: images with different manifests
            // but the same changed packages are one evaluation.
            inv.image = None;
            inv.status = vigia_inventory::ScanStatus::default();
            for set in holding.get(&id).into_iter().flatten() {
                inv.packages
                    .extend(packages.get(set).into_iter().flatten().cloned());
            }
            inv.packages.sort();
            out.inventories.insert(id, inv);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deb(name: &str, source: &str, version: &str, layer: &str) -> serde_json::Value {
        json!({"type": "deb", "name": name, "version": version, "source_name": source,
               "purl": format!("pkg:deb/debian/{name}@{version}?distro=debian-12"),
               "path": "/var/lib/dpkg/status", "layer": layer, "found_by": "os/dpkg"})
    }

    fn image(top: &str, extra: serde_json::Value) -> Inventory {
        let mut packages = vec![
            deb("libssl3", "openssl", "3.0.11-1~deb12u2", "sha256:base"),
            deb("openssl", "openssl", "3.0.11-1~deb12u2", "sha256:base"),
            deb("zlib1g", "zlib", "1:1.2.13.dfsg-1", "sha256:base"),
            json!({"type": "npm", "name": "openssl", "version": "1.0.0", "purl": "pkg:npm/openssl@1.0.0",
                   "path": "/app/package-lock.json", "layer": top, "found_by": "javascript/package-lock"}),
        ];
        packages.push(extra);
        let mut inv: Inventory = serde_json::from_value(json!({
            "target": top, "kind": "image",
            "os": {"id": "debian", "version_id": "12", "osv_ecosystem": "Debian:12", "coverage": "covered"},
            "packages": packages,
            "status": {"extractors": [], "warnings": []}
        }))
        .unwrap();
        inv.packages.sort();
        inv
    }

    /// Two images on one base layer: the base's packages are stored once;
    /// each image reads back whole; a change to a Debian source package
    /// selects that source's packages of both images from the one set,
    /// and not the npm package of the same name.
    #[tokio::test]
    async fn layers_are_stored_once_and_changes_select_their_packages() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("state.db").display());
        let db = StateDb::open(&url).await.unwrap();
        let a = image("sha256:a", deb("curl", "curl", "7.88.1-10", "sha256:a"));
        let b = image("sha256:b", deb("bash", "bash", "5.2.15-2", "sha256:b"));
        let now = "2026-12-06T00:00:00Z";
        let ida = db.store_inventory(&a, now).await.unwrap();
        let idb = db.store_inventory(&b, now).await.unwrap();
        assert_ne!(ida, idb);
        assert_eq!(db.store_inventory(&a, now).await.unwrap(), ida);
        for (id, inv) in [(&ida, &a), (&idb, &b)] {
            let mut want = inv.clone();
            want.target = String::new();
            assert_eq!(db.inventory(id).await.unwrap().as_ref(), Some(&want));
        }
        let count = |table: &'static str| {
            let db = db.clone();
            async move {
                let n: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
                    .fetch_one(db.pool())
                    .await
                    .unwrap()
                    .try_get("n")
                    .unwrap();
                n
            }
        };
        assert_eq!(count("package_sets").await, 3);
        assert_eq!(count("set_packages").await, 3 + 2 + 2);

        let affected = db
            .affected(&[PackageKey::new("Debian:12", "openssl")])
            .await
            .unwrap();
        assert_eq!(affected.sets, 1);
        assert_eq!(affected.inventories.len(), 2);
        for inv in affected.inventories.values() {
            let names: Vec<(&str, &str)> = inv
                .packages
                .iter()
                .map(|p| (p.kind.as_str(), p.name.as_str()))
                .collect();
            assert_eq!(names, [("deb", "libssl3"), ("deb", "openssl")]);
            assert_eq!(inv.os, a.os);
        }
        // A binary package's own name selects its whole source group, in
        // every layer: a third image adds a binary of openssl in its own.
        let c = image(
            "sha256:c",
            deb("libssl-dev", "openssl", "3.0.11-1~deb12u2", "sha256:c"),
        );
        let idc = db.store_inventory(&c, now).await.unwrap();
        let affected = db
            .affected(&[PackageKey::new("Debian:12", "libssl3")])
            .await
            .unwrap();
        assert_eq!(affected.sets, 1);
        assert_eq!(affected.inventories.len(), 3);
        for (id, inv) in &affected.inventories {
            let names: Vec<&str> = inv.packages.iter().map(|p| p.name.as_str()).collect();
            if *id == idc {
                assert_eq!(names, ["libssl-dev", "libssl3", "openssl"]);
            } else {
                assert_eq!(names, ["libssl3", "openssl"]);
            }
        }
        let affected = db
            .affected(&[PackageKey::new("npm", "openssl")])
            .await
            .unwrap();
        assert_eq!(affected.sets, 3);
        assert!(
            affected
                .inventories
                .values()
                .all(|i| i.packages.len() == 1 && i.packages[0].kind == "npm")
        );
        assert!(
            db.affected(&[PackageKey::new("npm", "left-pad")])
                .await
                .unwrap()
                .inventories
                .is_empty()
        );
    }
}
