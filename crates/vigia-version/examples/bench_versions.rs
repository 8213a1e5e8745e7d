//! Comparisons per second per scheme, on each scheme's upstream vector strings.
//!
//!     cargo run --release -p vigia-version --example bench_versions -- ../shared/version-vectors
//!
//! Two figures per scheme: parse + compare (strings in, ordering out), and
//! compare only (pre-parsed, as the matcher does). Median of 5 runs.
#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::time::Instant;

use vigia_version::{Scheme, Version};

fn pairs(dir: &str, file: &str) -> Vec<(String, String)> {
    fs_err::read_to_string(format!("{dir}/{file}"))
        .expect("vectors")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('"') && l.split(' ').count() == 3)
        .map(|l| {
            let v: Vec<&str> = l.split(' ').collect();
            (v[0].to_owned(), v[2].to_owned())
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/version-vectors".into());
    println!("| scheme | pairs | parse+compare (M/s) | compare only (M/s) |");
    println!("| --- | ---: | ---: | ---: |");
    for (scheme, file) in [
        (Scheme::Dpkg, "dpkg.txt"),
        (Scheme::Rpm, "rpm.txt"),
        (Scheme::Apk, "apk.txt"),
        (Scheme::Pep440, "pep440.txt"),
        (Scheme::Semver, "semver.txt"),
        (Scheme::Go, "go.txt"),
        (Scheme::Maven, "maven.txt"),
        (Scheme::RubyGems, "rubygems.txt"),
        (Scheme::NuGet, "nuget.txt"),
        (Scheme::Composer, "composer.txt"),
    ] {
        let ps: Vec<(String, String)> = pairs(&dir, file)
            .into_iter()
            .filter(|(a, b)| Version::parse(scheme, a).is_ok() && Version::parse(scheme, b).is_ok())
            .collect();
        let parsed: Vec<(Version, Version)> = ps
            .iter()
            .map(|(a, b)| {
                (
                    Version::parse(scheme, a).unwrap(),
                    Version::parse(scheme, b).unwrap(),
                )
            })
            .collect();
        let rounds = 200_000 / ps.len().max(1) + 1;
        let mut full = Vec::new();
        let mut cmp_only = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            for _ in 0..rounds {
                for (a, b) in &ps {
                    black_box(vigia_version::compare(scheme, a, b).ok());
                }
            }
            #[allow(clippy::cast_precision_loss)]
            full.push((rounds * ps.len()) as f64 / t.elapsed().as_secs_f64() / 1e6);
            let t = Instant::now();
            for _ in 0..rounds * 10 {
                for (a, b) in &parsed {
                    black_box(a.cmp(b));
                }
            }
            #[allow(clippy::cast_precision_loss)]
            cmp_only.push((rounds * 10 * ps.len()) as f64 / t.elapsed().as_secs_f64() / 1e6);
        }
        println!(
            "| {scheme} | {} | {:.2} | {:.1} |",
            ps.len(),
            median(full),
            median(cmp_only)
        );
    }
}
