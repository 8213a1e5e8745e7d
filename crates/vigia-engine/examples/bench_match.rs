//! Matching benchmark: full-inventory match time per target, and for 1,000 packages.
//!
//!     cargo run --release -p vigia-engine --example bench_match -- DATA_DIR INVENTORIES.json
//!
//! DATA_DIR holds a `vigia.db` built by `vigia db update`; INVENTORIES.json is
//! what `scripts/bench-inventories.py` writes. Prints a Markdown table of
//! medians over 101 runs.
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::time::Instant;

use vigia_match::Package;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let store = vigia_store::Store::open_sqlite(&std::path::Path::new(&args[1]).join("vigia.db"))
        .await
        .expect("database");
    let t = Instant::now();
    let index = vigia_engine::load_index(&store).await.expect("index");
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let text = fs_err::read_to_string(&args[2]).expect("inventories");
    let inv: BTreeMap<String, Vec<Package>> = serde_json::from_str(&text).expect("inventory JSON");
    println!(
        "Index: {} affected entries, built in {load_ms:.1} ms\n",
        index.len()
    );
    println!("| inventory | packages | findings | median match time (ms) | µs per package |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let mut all: Vec<Package> = inv.values().flatten().cloned().collect();
    let base = all.clone();
    while all.len() < 1000 {
        all.extend(base.iter().take(1000 - all.len()).cloned());
    }
    let mut rows: Vec<(String, Vec<Package>)> = inv.into_iter().collect();
    rows.push(("all targets, repeated to 1,000".into(), all));
    for (name, pkgs) in rows {
        let mut times = Vec::new();
        let mut findings = 0;
        for _ in 0..101 {
            let t = Instant::now();
            findings = pkgs
                .iter()
                .map(|p| index.matches(p).findings.len())
                .sum::<usize>();
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let m = median(times);
        #[allow(clippy::cast_precision_loss)]
        let per = m * 1e3 / pkgs.len() as f64;
        println!(
            "| {name} | {} | {findings} | {m:.3} | {per:.2} |",
            pkgs.len()
        );
    }
}
