//! How long finding the files a scan of a folder reads takes, without
//! reading them: what the service does each time it walks a watched root
//! filesystem folder again (`docs/benchmarks.md`).
//!
//! `cargo run --release -p vigia-inventory --example bench_inventory_files -- DIR [RUNS]`

#![allow(clippy::print_stdout, clippy::print_stderr)]

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(root) = args.next() else {
        eprintln!("usage: bench_inventory_files DIR [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(11);
    let root = std::path::PathBuf::from(root);
    let scope = vigia_inventory::source::scope::Scope::default();
    let mut times = Vec::with_capacity(runs);
    let mut found = 0;
    for _ in 0..runs {
        let start = std::time::Instant::now();
        found = vigia_inventory::source::inventory_files(&root, &scope).len();
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "{}: {found} files a scan reads; walk median {:.1} ms, slowest {:.1} ms over {runs} runs",
        root.display(),
        times[runs / 2].as_secs_f64() * 1000.0,
        times[runs - 1].as_secs_f64() * 1000.0,
    );
}
