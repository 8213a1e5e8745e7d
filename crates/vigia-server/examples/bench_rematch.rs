//! Benchmark of the rematch after an advisory update, at scale:
//!
//! ```text
//! cargo run --release -p vigia-server --example bench_rematch -- IMAGES BASES CHANGED [postgres]
//! ```
//!
//! Scans the shared `debian12-app` image once, then stores IMAGES synthetic
//! copies of its inventory with varied versions: BASES distinct base layers
//! (its Debian layer, a few package versions changed per base), its Python
//! layer shared by all, and an application layer of its own per image (npm
//! versions varied). Every copy is a resource evaluated on the mirror's
//! advisories (the first load). Then CHANGED advisories of the mirror copy
//! that name packages those images hold are changed (every fourth
//! withdrawn, the others' fixed versions moved), the update runs, and the
//! rematch's own report is printed as JSON: its time, the package sets and
//! inventories holding a changed package, the distinct evaluations, the
//! resources reconciled and the findings changed. `postgres` keeps the
//! state in a PostgreSQL started for the run instead of SQLite.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigia_inventory::Package;
use vigia_server::resources::ScanRecord;
use vigia_server::service::{Role, Service, ServiceConfig};

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn digest(s: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(s.as_bytes())))
}

/// A version one step away, still a version of the same ecosystem: npm and
/// Python `x.y.z` get another patch number, Debian versions sort before.
fn vary(p: &mut Package, salt: usize) {
    let old = p.version.clone();
    let new = if p.kind == "deb" {
        format!("{old}~v{salt}")
    } else {
        let mut parts: Vec<String> = old.split('.').map(str::to_owned).collect();
        match parts.last().and_then(|l| l.parse::<usize>().ok()) {
            Some(n) => {
                let last = parts.len() - 1;
                parts[last] = (n + salt % 3 + 1).to_string();
                parts.join(".")
            }
            None => return,
        }
    };
    p.purl = p.purl.replace(&format!("@{old}"), &format!("@{new}"));
    p.version = new;
}

/// Changes `count` records of the mirror copy that name one of `held`
/// (Debian source or npm/PyPI package names), returning how many changed.
fn change_advisories(mirror: &Path, held: &BTreeSet<String>, count: usize) -> usize {
    let mut changed = 0;
    for eco in ["Debian", "npm", "PyPI"] {
        let path = mirror.join(eco).join("all.zip");
        let mut entries = vigia_test_support::read_zip(&path);
        for (_, body) in &mut entries {
            if changed == count {
                break;
            }
            let mut rec: Value = serde_json::from_slice(body).expect("an OSV record");
            let names: Vec<String> = rec["affected"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["package"]["name"].as_str().map(str::to_owned))
                .collect();
            if !names.iter().any(|n| held.contains(n)) {
                continue;
            }
            if changed.is_multiple_of(4) {
                rec["withdrawn"] = json!("2026-12-06T00:00:00Z");
            } else {
                for a in rec["affected"].as_array_mut().into_iter().flatten() {
                    for r in a["ranges"].as_array_mut().into_iter().flatten() {
                        for e in r["events"].as_array_mut().into_iter().flatten() {
                            if let Some(f) = e["fixed"].as_str() {
                                e["fixed"] = json!(if eco == "Debian" {
                                    format!("{f}+b1")
                                } else {
                                    format!("{f}-1")
                                });
                            }
                        }
                    }
                }
            }
            rec["modified"] = json!("2026-12-06T00:00:00Z");
            *body = serde_json::to_vec(&rec).expect("JSON");
            changed += 1;
        }
        vigia_test_support::write_zip(&path, &entries);
    }
    changed
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let images = arg(1, 10_000);
    let bases = arg(2, 50).max(1);
    let count = arg(3, 100);
    let postgres = std::env::args().nth(4).is_some_and(|a| a == "postgres");
    let work = tempfile::tempdir()?;
    let mirror = vigia_test_support::mirror_copy();
    let pg = postgres.then(vigia_test_support::Postgres::start);
    let mut engine = vigia_engine::Config::new(work.path().join("data"));
    engine.database_url = pg.as_ref().map(|p| p.create_database("bench"));
    let config = ServiceConfig {
        state_url: vigia_server::service::state_url(&engine)?,
        engine,
        mirror: Some(mirror.path().display().to_string()),
        watch: Vec::new(),
        poll_every: Duration::from_secs(3600),
        update_every: Duration::from_secs(86_400),
        role: Role::All,
        lease: Duration::from_secs(60),
    };
    let svc = Service::open(config).await?;
    svc.update_now().await?;

    // The real image, read once.
    let target = vigia_test_support::shared_dir().join("targets/debian12-app");
    svc.scan(&target, None).await?;
    let record = svc
        .db
        .resource_by_source(&target.display().to_string())
        .await?
        .ok_or_else(|| anyhow::anyhow!("the image was not recorded"))?;
    let inventory_id = record
        .inventory_id
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the image was not scanned: {}", record.status_reason))?;
    let real = svc
        .db
        .inventory(&inventory_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no stored inventory"))?;
    let base_layer = real
        .image
        .as_ref()
        .and_then(|i| i.layers.first())
        .map(|l| l.diff_id.clone())
        .ok_or_else(|| anyhow::anyhow!("the image has no layers"))?;
    let app_layer = real
        .packages
        .iter()
        .find(|p| p.kind == "npm")
        .and_then(|p| p.layer.clone())
        .ok_or_else(|| anyhow::anyhow!("the image has no npm packages"))?;
    let held: BTreeSet<String> = real
        .packages
        .iter()
        .map(|p| p.source_name.clone().unwrap_or_else(|| p.name.clone()))
        .collect();

    // The copies.
    let started = Instant::now();
    let now = "2026-12-06T00:00:00Z";
    for i in 0..images {
        let b = i % bases;
        let mut inv = real.clone();
        for (j, p) in inv.packages.iter_mut().enumerate() {
            if p.layer.as_deref() == Some(base_layer.as_str()) {
                if (j + b).is_multiple_of(13) && b > 0 {
                    vary(p, b);
                }
                p.layer = Some(digest(&format!("base {b}")));
            } else if p.layer.as_deref() == Some(app_layer.as_str()) {
                if (j + i).is_multiple_of(7) {
                    vary(p, i);
                }
                p.layer = Some(digest(&format!("app {i}")));
            }
        }
        inv.packages.sort();
        let id = svc.db.store_inventory(&inv, now).await?;
        let source = format!("bench://image/{i}");
        let resource_id = format!("bench.example/app-{i}@{}", digest(&id));
        let mut details = record.details.clone();
        details["id"] = json!(resource_id);
        svc.db
            .register(&source, "AWS_ECR_CONTAINER_IMAGE", now)
            .await?;
        svc.db
            .scanned(&ScanRecord {
                id: &format!("seed-{i}"),
                source: &source,
                resource_id: &resource_id,
                kind: "AWS_ECR_CONTAINER_IMAGE",
                details: &details,
                content_hash: None,
                inventory_id: &id,
                started_at: now,
                finished_at: now,
                generation: 0,
                opened: 0,
                closed: 0,
            })
            .await?;
    }
    let stored_s = started.elapsed().as_secs_f64();
    // The first load: every stored inventory evaluated whole.
    svc.db.set_state("rematched_generation", "0").await?;
    let first = svc
        .catch_up(None)
        .await?
        .ok_or_else(|| anyhow::anyhow!("nothing evaluated"))?;

    let changed = change_advisories(mirror.path(), &held, count);
    let (_, rematch) = svc.update_now().await?;
    let rematch = rematch.ok_or_else(|| anyhow::anyhow!("no rematch after the update"))?;
    let findings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM findings")
        .fetch_one(svc.db.pool())
        .await?;
    let body_bytes: f64 =
        sqlx::query_scalar("SELECT CAST(AVG(LENGTH(body)) AS DOUBLE PRECISION) FROM findings")
            .fetch_one(svc.db.pool())
            .await?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        json!({
            "state": if postgres { "postgres" } else { "sqlite" },
            "images": images,
            "base_layers": bases,
            "stored_s": (stored_s * 10.0).round() / 10.0,
            "first_load_ms": first.millis,
            "findings": findings,
            "finding_bytes": body_bytes.round(),
            "changed_advisories": changed,
            "rematch": rematch,
        })
    )?;
    Ok(())
}
