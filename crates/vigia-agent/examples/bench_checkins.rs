//! A fleet of agents checking in at once, against a running service:
//!
//! ```text
//! cargo run --release -p vigia-agent --example bench_checkins -- URL TOKEN ROOT N
//! ```
//!
//! Reads ROOT once (as `vigia agent --root` does), then N simulated hosts
//! (`bench-0` … `bench-N-1`) check in concurrently, three times:
//! 1. whole inventories (each host's first check-in);
//! 2. heartbeats: an empty difference against what the service accepted;
//! 3. one package upgraded on every host (a difference, queued for
//!    evaluation).
//!
//! For each round it prints how many were accepted and the latency's
//! median, p99 and maximum, as JSON lines.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use vigia_agent::{Accepted, Checkin};

async fn send(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> (Duration, Option<Accepted>) {
    let start = Instant::now();
    let resp = client
        .post(url)
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let accepted = match resp {
        Ok(r) if r.status().is_success() => r.json::<Accepted>().await.ok(),
        Ok(r) => {
            eprintln!(
                "refused: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            );
            None
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "failed: {e}");
            None
        }
    };
    (start.elapsed(), accepted)
}

/// Encoded before any is sent: the latency measured is the service's.
fn encode(body: &Checkin) -> Vec<u8> {
    serde_json::to_vec(body).expect("a check-in encodes")
}

type Sent = tokio::task::JoinHandle<(Duration, Option<Accepted>)>;

/// Sends every body at once.
fn spawn_all(client: &reqwest::Client, url: &str, token: &str, bodies: Vec<Vec<u8>>) -> Vec<Sent> {
    bodies
        .into_iter()
        .map(|body| {
            let (client, url, token) = (client.clone(), url.to_owned(), token.to_owned());
            tokio::spawn(async move { send(&client, &url, &token, body).await })
        })
        .collect()
}

fn report(round: &str, mut times: Vec<Duration>, accepted: usize, n: usize) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |pct: usize| times[(times.len() * pct).div_ceil(100).clamp(1, times.len()) - 1];
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{}",
        serde_json::json!({
            "round": round,
            "agents": n,
            "accepted": accepted,
            "median_ms": (ms(at(50)) * 10.0).round() / 10.0,
            "p99_ms": (ms(at(99)) * 10.0).round() / 10.0,
            "max_ms": (ms(*times.last().unwrap()) * 10.0).round() / 10.0,
        })
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, server, token, root, n] = args.as_slice() else {
        let _ = writeln!(std::io::stderr(), "usage: bench_checkins URL TOKEN ROOT N");
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("N is a number");
    let root = PathBuf::from(root);
    let whole = vigia_agent::collect(&root, "bench").expect("the root is readable");
    let url = format!("{}/v1/agent/checkin", server.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(n)
        .build()
        .unwrap();

    // Round 1: whole inventories.
    let bodies: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut body = whole.clone();
            body.host_id = format!("bench-{i}");
            encode(&body)
        })
        .collect();
    let tasks = spawn_all(&client, &url, token, bodies);
    let mut bases = Vec::new();
    let mut times = Vec::new();
    for t in tasks {
        let (d, a) = t.await.unwrap();
        times.push(d);
        bases.push(a.map(|a| a.inventory_id));
    }
    let ok = bases.iter().filter(|b| b.is_some()).count();
    report("whole inventories", times, ok, n);

    // Rounds 2 and 3: differences.
    for (round, change) in [
        ("heartbeats (no change)", false),
        ("one package upgraded", true),
    ] {
        let mut bodies = Vec::new();
        for (i, base) in bases.iter().enumerate() {
            let mut body = whole.clone();
            body.host_id = format!("bench-{i}");
            body.inventory.packages = Vec::new();
            body.base.clone_from(base);
            if change && let Some(p) = whole.inventory.packages.first() {
                let mut upgraded = p.clone();
                upgraded.version = format!("{}+bench{i}", p.version);
                body.removed = vec![p.clone()];
                body.added = vec![upgraded];
            }
            bodies.push(encode(&body));
        }
        let tasks = spawn_all(&client, &url, token, bodies);
        let mut times = Vec::new();
        let mut next = Vec::new();
        for t in tasks {
            let (d, a) = t.await.unwrap();
            times.push(d);
            next.push(a.map(|a| a.inventory_id));
        }
        let ok = next.iter().filter(|b| b.is_some()).count();
        report(round, times, ok, n);
        bases = next;
    }
}
