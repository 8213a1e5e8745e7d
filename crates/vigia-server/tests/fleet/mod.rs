//! A fleet of synthetic images for the rematch's test and benchmark: copies
//! of the shared `debian12-app` image's inventory with varied versions, on
//! a chosen number of base layers, stored as a scan would store them.
//! Shared by `tests/rematch.rs` and `examples/bench_rematch.rs`.

#![allow(dead_code, clippy::missing_panics_doc)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigia_inventory::{Inventory, Package};
use vigia_server::resources::{ResourceRecord, ScanRecord, ScanStatus};
use vigia_server::service::{Role, Service, ServiceConfig};

/// A service on a copy of the mirror, with the shared image scanned once.
pub(crate) struct Fleet {
    pub(crate) svc: Arc<Service>,
    pub(crate) mirror: tempfile::TempDir,
    /// The shared image's stored inventory and record.
    pub(crate) real: Inventory,
    pub(crate) record: ResourceRecord,
    /// Its packages' (ecosystem, name) keys, Debian's by source package.
    pub(crate) held: BTreeSet<(String, String)>,
    work: tempfile::TempDir,
    pg: Option<vigia_test_support::Postgres>,
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

impl Fleet {
    /// Opens a service (its state on PostgreSQL when asked), loads the
    /// mirror and scans the shared image.
    pub(crate) async fn start(postgres: bool) -> anyhow::Result<Self> {
        let work = tempfile::tempdir()?;
        let mirror = vigia_test_support::mirror_copy();
        let pg = postgres.then(vigia_test_support::Postgres::start);
        let mut engine = vigia_engine::Config::new(work.path().join("data"));
        engine.database_url = pg.as_ref().map(|p| p.create_database("fleet"));
        let config = ServiceConfig {
            state_url: vigia_server::service::state_url(&engine)?,
            engine,
            mirror: Some(mirror.path().display().to_string()),
            watch: Vec::new(),
            poll_every: Duration::from_secs(3600),
            update_every: Duration::from_secs(86_400),
            role: Role::All,
            lease: Duration::from_secs(60),
            summarize_above: vigia_server::events::SUMMARIZE_ABOVE,
            gate_policy: None,
            export_s3_endpoint: None,
            registries: Vec::new(),
            agent_stale_after: std::time::Duration::from_secs(3600),
            agent_inactive_after: std::time::Duration::from_secs(86_400),
            events_retention_days: 30,
            quiet_first_scans: false,
        };
        let svc = Service::open(config).await?;
        svc.update_now().await?;
        let target = vigia_test_support::shared_dir().join("targets/debian12-app");
        svc.scan(&target, None).await?;
        let record = svc
            .db
            .resource_by_source(&target.display().to_string())
            .await?
            .ok_or_else(|| anyhow::anyhow!("the image was not recorded"))?;
        let inventory_id = record.inventory_id.clone().ok_or_else(|| {
            anyhow::anyhow!("the image was not scanned: {}", record.status_reason)
        })?;
        let real = svc
            .db
            .inventory(&inventory_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no stored inventory"))?;
        let held = real
            .packages
            .iter()
            .filter_map(|p| {
                let eco = vigia_scan::ecosystem_of(p, real.os.as_ref()).ok()?;
                Some((eco, p.source_name.clone().unwrap_or_else(|| p.name.clone())))
            })
            .collect();
        Ok(Self {
            svc,
            mirror,
            real,
            record,
            held,
            work,
            pg,
        })
    }

    /// Stores `images` copies of the shared image, as scanned: `bases`
    /// distinct base layers (the Debian layer, a few versions changed per
    /// base), the Python layer shared by all, and an application layer of
    /// its own per image (npm versions varied).
    pub(crate) async fn add_copies(&self, images: usize, bases: usize) -> anyhow::Result<()> {
        let base_layer = self
            .real
            .image
            .as_ref()
            .and_then(|i| i.layers.first())
            .map(|l| l.diff_id.clone())
            .ok_or_else(|| anyhow::anyhow!("the image has no layers"))?;
        let app_layer = self
            .real
            .packages
            .iter()
            .find(|p| p.kind == "npm")
            .and_then(|p| p.layer.clone())
            .ok_or_else(|| anyhow::anyhow!("the image has no npm packages"))?;
        let now = "2026-12-06T00:00:00Z";
        for i in 0..images {
            let b = i % bases.max(1);
            let mut inv = self.real.clone();
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
            let id = self.svc.db.store_inventory(&inv, now).await?;
            let source = format!("fleet://image/{i}");
            let resource_id = format!("fleet.example/app-{i}@{}", digest(&id));
            let mut details = self.record.details.clone();
            details["id"] = json!(resource_id);
            self.svc
                .db
                .register(&source, "AWS_ECR_CONTAINER_IMAGE", now)
                .await?;
            self.svc
                .db
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
                    first: true,
                    status: &ScanStatus {
                        code: "ACTIVE",
                        reason: "SUCCESSFUL",
                        message: None,
                    },
                    opened: 0,
                    closed: 0,
                })
                .await?;
        }
        Ok(())
    }

    /// Checks that every finding's columns (what `/findings/list` filters
    /// and sorts by) and package names say what its body says: a write that
    /// leaves a changed column behind fails here. Returns how many findings
    /// were checked.
    pub(crate) async fn assert_columns_agree(&self) -> anyhow::Result<usize> {
        use sqlx::Row;
        let pool = self.svc.db.pool();
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let rows = sqlx::query(
            "SELECT arn, kind, status, severity, severity_rank, vulnerability_id, title, score, epss, \
             first_observed_at, last_observed_at, updated_at, fix_available, exploit_available, body FROM findings",
        )
        .fetch_all(pool)
        .await?;
        let mut expected_packages: BTreeSet<(String, String, String, i64)> = BTreeSet::new();
        for r in &rows {
            let arn: String = r.try_get("arn")?;
            let body: Value = serde_json::from_str(&r.try_get::<String, _>("body")?)?;
            let rank = vigia_server::trend::SEVERITIES
                .iter()
                .position(|s| *s == body["severity"])
                .map_or(5, |p| i64::try_from(p).unwrap_or(5));
            let columns = (
                r.try_get::<String, _>("kind")?,
                r.try_get::<String, _>("status")?,
                r.try_get::<String, _>("severity")?,
                r.try_get::<i64, _>("severity_rank")?,
                r.try_get::<String, _>("vulnerability_id")?,
                r.try_get::<String, _>("title")?,
            );
            let said = (
                text(&body["type"]),
                text(&body["status"]),
                text(&body["severity"]),
                rank,
                text(&body["packageVulnerabilityDetails"]["vulnerabilityId"]),
                text(&body["title"]),
            );
            anyhow::ensure!(columns == said, "{arn}: columns {columns:?}, body {said:?}");
            let numbers = (r.try_get::<f64, _>("score")?, r.try_get::<f64, _>("epss")?);
            let said = (
                body["inspectorScore"].as_f64().unwrap_or(-1.0),
                body["epss"]["score"].as_f64().unwrap_or(-1.0),
            );
            anyhow::ensure!(numbers == said, "{arn}: columns {numbers:?}, body {said:?}");
            let times = (
                r.try_get::<String, _>("first_observed_at")?,
                r.try_get::<String, _>("last_observed_at")?,
                r.try_get::<String, _>("updated_at")?,
                r.try_get::<Option<String>, _>("fix_available")?
                    .unwrap_or_default(),
                r.try_get::<Option<String>, _>("exploit_available")?
                    .unwrap_or_default(),
            );
            let said = (
                text(&body["firstObservedAt"]),
                text(&body["lastObservedAt"]),
                text(&body["updatedAt"]),
                text(&body["fixAvailable"]),
                text(&body["exploitAvailable"]),
            );
            anyhow::ensure!(times == said, "{arn}: columns {times:?}, body {said:?}");
            for p in body["packageVulnerabilityDetails"]["vulnerablePackages"]
                .as_array()
                .into_iter()
                .flatten()
            {
                expected_packages.insert((
                    arn.clone(),
                    text(&p["name"]),
                    text(&body["status"]),
                    rank,
                ));
            }
        }
        let stored: BTreeSet<(String, String, String, i64)> =
            sqlx::query("SELECT arn, name, status, severity_rank FROM finding_packages")
                .fetch_all(pool)
                .await?
                .iter()
                .map(|r| {
                    Ok((
                        r.try_get("arn")?,
                        r.try_get("name")?,
                        r.try_get("status")?,
                        r.try_get("severity_rank")?,
                    ))
                })
                .collect::<Result<_, sqlx::Error>>()?;
        anyhow::ensure!(
            stored == expected_packages,
            "package names: {} stored, {} in the bodies; first differing: {:?}",
            stored.len(),
            expected_packages.len(),
            stored.symmetric_difference(&expected_packages).next()
        );
        Ok(rows.len())
    }

    /// Every live stored inventory evaluated whole, as after a first load.
    pub(crate) async fn evaluate_all(&self) -> anyhow::Result<vigia_server::service::Rematch> {
        self.svc.db.set_state("rematched_generation", "0").await?;
        self.svc
            .catch_up(None)
            .await?
            .ok_or_else(|| anyhow::anyhow!("nothing evaluated"))
    }
}

/// Changes `count` records of the mirror copy: with `only_held`, only
/// records that name a package of `held` (the worst case, every change
/// touching the images); otherwise records spread
/// evenly over every ecosystem of the mirror (an update's usual mix, most
/// of it about packages these images do not hold). Every fourth is
/// withdrawn, the others' fixed versions move; with `severities`, one in
/// four of those also gets a critical CVSS vector. Returns how many
/// changed, and how many of them name a held package.
pub(crate) fn change_advisories(
    mirror: &Path,
    held: &BTreeSet<(String, String)>,
    count: usize,
    only_held: bool,
    severities: bool,
) -> (usize, usize) {
    let mut zips: Vec<std::path::PathBuf> = std::fs::read_dir(mirror)
        .expect("the mirror copy")
        .filter_map(Result::ok)
        .map(|e| e.path().join("all.zip"))
        .filter(|p| p.exists())
        .collect();
    zips.sort();
    let total: usize = zips
        .iter()
        .map(|z| vigia_test_support::read_zip(z).len())
        .sum();
    let step = if only_held {
        1
    } else {
        (total / count.max(1)).max(1)
    };
    let (mut changed, mut touching, mut seen) = (0, 0, 0_usize);
    for path in zips {
        let debian = path.parent().is_some_and(|p| p.ends_with("Debian"));
        let mut entries = vigia_test_support::read_zip(&path);
        for (_, body) in &mut entries {
            if changed == count {
                break;
            }
            let mut rec: Value = serde_json::from_slice(body).expect("an OSV record");
            let holds = rec["affected"].as_array().into_iter().flatten().any(|a| {
                let key = (
                    a["package"]["ecosystem"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    a["package"]["name"].as_str().unwrap_or_default().to_owned(),
                );
                held.contains(&key)
            });
            if only_held && !holds {
                continue;
            }
            seen += 1;
            if !(seen - 1).is_multiple_of(step) {
                continue;
            }
            if changed.is_multiple_of(4) {
                rec["withdrawn"] = json!("2026-12-06T00:00:00Z");
            } else {
                for a in rec["affected"].as_array_mut().into_iter().flatten() {
                    for r in a["ranges"].as_array_mut().into_iter().flatten() {
                        for e in r["events"].as_array_mut().into_iter().flatten() {
                            if let Some(f) = e["fixed"].as_str() {
                                e["fixed"] = json!(if debian {
                                    format!("{f}+b1")
                                } else {
                                    format!("{f}-1")
                                });
                            }
                        }
                    }
                }
            }
            // Some records' severity changes as well: a finding's severity,
            // rank and score columns move with its body.
            if severities && changed % 4 == 2 {
                rec["severity"] = json!([{
                    "type": "CVSS_V3",
                    "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
                }]);
            }
            rec["modified"] = json!("2026-12-06T00:00:00Z");
            *body = serde_json::to_vec(&rec).expect("JSON");
            changed += 1;
            touching += usize::from(holds);
        }
        vigia_test_support::write_zip(&path, &entries);
    }
    (changed, touching)
}

/// Makes a record that names none of the `held` packages (in another
/// ecosystem than Debian's) name, as the same vulnerability, a Debian record
/// that names a held package, and gives it a reference of its own: the
/// findings of that Debian record's group now show one more ID and one more
/// reference, though no held package's entries changed. Returns the two
/// records' IDs (the one changed, the one it joined).
pub(crate) fn join_group(mirror: &Path, held: &BTreeSet<(String, String)>) -> (String, String) {
    let names_held = |rec: &Value| {
        rec["affected"].as_array().into_iter().flatten().any(|a| {
            held.contains(&(
                a["package"]["ecosystem"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                a["package"]["name"].as_str().unwrap_or_default().to_owned(),
            ))
        })
    };
    let into = vigia_test_support::read_zip(&mirror.join("Debian/all.zip"))
        .into_iter()
        .map(|(_, body)| serde_json::from_slice::<Value>(&body).expect("an OSV record"))
        .find(|rec| names_held(rec) && rec["withdrawn"].is_null())
        .and_then(|rec| rec["id"].as_str().map(str::to_owned))
        .expect("a Debian record of a held package");
    let path = mirror.join("npm/all.zip");
    let mut entries = vigia_test_support::read_zip(&path);
    let mut joined = None;
    for (_, body) in &mut entries {
        let mut rec: Value = serde_json::from_slice(body).expect("an OSV record");
        if names_held(&rec) || !rec["withdrawn"].is_null() {
            continue;
        }
        let mut aliases = rec["aliases"].as_array().cloned().unwrap_or_default();
        aliases.push(json!(into));
        rec["aliases"] = Value::Array(aliases);
        let mut refs = rec["references"].as_array().cloned().unwrap_or_default();
        refs.push(json!({"type": "WEB", "url": "https://vigia.test/joined"}));
        rec["references"] = Value::Array(refs);
        rec["modified"] = json!("2026-12-07T00:00:00Z");
        joined = rec["id"].as_str().map(str::to_owned);
        *body = serde_json::to_vec(&rec).expect("JSON");
        break;
    }
    vigia_test_support::write_zip(&path, &entries);
    (joined.expect("an npm record"), into)
}
