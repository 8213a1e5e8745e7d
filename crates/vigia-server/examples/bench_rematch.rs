//! Benchmark of the rematch after an advisory update, at scale:
//!
//! ```text
//! cargo run --release -p vigia-server --example bench_rematch -- IMAGES BASES CHANGED spread|held [postgres]
//! ```
//!
//! Scans the shared `debian12-app` image once, then stores IMAGES synthetic
//! copies of its inventory with varied versions: BASES distinct base layers
//! (its Debian layer, a few package versions changed per base), its Python
//! layer shared by all, and an application layer of its own per image (npm
//! versions varied). Every copy is a resource evaluated on the mirror's
//! advisories (the first load). Then CHANGED advisories of the mirror copy
//! are changed (every fourth withdrawn, the others' fixed versions moved):
//! `spread` takes them evenly over the whole mirror, `held` only records
//! naming packages the images hold. The update runs, and the
//! rematch's own report is printed as JSON: its time, the package sets and
//! inventories holding a changed package, the distinct evaluations, the
//! resources reconciled and the findings changed. `postgres` keeps the
//! state in a PostgreSQL started for the run instead of SQLite.

use std::io::Write;
use std::time::Instant;

use serde_json::json;

#[path = "../tests/fleet/mod.rs"]
mod fleet;

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let images = arg(1, 10_000);
    let bases = arg(2, 50).max(1);
    let count = arg(3, 100);
    let only_held = std::env::args().nth(4).is_some_and(|a| a == "held");
    let postgres = std::env::args().nth(5).is_some_and(|a| a == "postgres");
    let fleet = fleet::Fleet::start(postgres).await?;
    let started = Instant::now();
    fleet.add_copies(images, bases).await?;
    let stored_s = started.elapsed().as_secs_f64();
    // The first load: every stored inventory evaluated whole.
    let first = fleet.evaluate_all().await?;

    let (changed, touching) =
        fleet::change_advisories(fleet.mirror.path(), &fleet.held, count, only_held, false);
    let (_, rematch) = fleet.svc.update_now().await?;
    let rematch = rematch.ok_or_else(|| anyhow::anyhow!("no rematch after the update"))?;
    let findings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM findings")
        .fetch_one(fleet.svc.db.pool())
        .await?;
    let body_bytes: f64 =
        sqlx::query_scalar("SELECT CAST(AVG(LENGTH(body)) AS DOUBLE PRECISION) FROM findings")
            .fetch_one(fleet.svc.db.pool())
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
            "naming_held_packages": touching,
            "rematch": rematch,
        })
    )?;
    Ok(())
}
