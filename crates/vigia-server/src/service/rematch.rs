//! The rematch after an advisory update: stored inventories evaluated on
//! the new generation, without reading any resource again.
//!
//! After an update whose change set is known, only the package sets
//! (image layers, functions' and hosts' packages) holding a changed package
//! are read, and of them only the changed packages' finding groups; each
//! distinct selection is matched once, for every resource holding it, and
//! only the findings of those packages are reconciled (a change of KEV,
//! EPSS or NVD names the packages of the vulnerabilities it changed).
//! Otherwise (a first generation, enrichment changed on a first load, a
//! generation skipped) every live inventory is evaluated whole.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

use sha2::{Digest, Sha256};
use vigia_engine::UpdateReport;
use vigia_inventory::Inventory;

use super::{Rematch, Service, ServiceError, now};
use crate::db::DbError;
use crate::lifecycle::RematchItem;
use crate::resources::{ResourceRecord, ScanStatus};

/// Resources reconciled per transaction.
const BATCH: usize = 250;

/// One evaluation: an inventory (or the changed part of one) and the
/// resources holding it, with the stored inventory each was read from.
struct Evaluation {
    /// The changed part of an inventory, or `None`: all of the inventory
    /// `inventory_id`.
    inventory: Option<Inventory>,
    inventory_id: String,
    holders: Vec<(String, ResourceRecord, vigia_scan::Resource)>,
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The coverage a rematch leaves a resource whose last scan left
/// `previous`, when it changes it. An evaluation of the whole inventory
/// says it all again; one of changed packages only (`partial`) lifts
/// `UNSUPPORTED_OS` once the OS's packages are evaluated, as when the
/// advisories of its release arrive.
fn coverage_after(
    previous: &str,
    scan: &vigia_scan::ScanInfo,
    partial: bool,
) -> Option<ScanStatus> {
    let ok = match previous {
        "SCAN_FREQUENCY_SCAN_ON_PUSH" => "SCAN_FREQUENCY_SCAN_ON_PUSH",
        "SUCCESSFUL" | "UNSUPPORTED_OS" | "NO_INVENTORY" => "SUCCESSFUL",
        // Being scanned, failed, terminated: the scan's to say.
        _ => return None,
    };
    let next = if partial {
        (previous == "UNSUPPORTED_OS" && scan.os_evaluated()).then_some(ScanStatus {
            code: "ACTIVE",
            reason: ok,
            message: None,
        })?
    } else {
        ScanStatus::of(scan, ok)
    };
    (next.reason != previous).then_some(next)
}

impl Service {
    pub(super) async fn rematch_locked(
        &self,
        report: Option<&UpdateReport>,
    ) -> Result<Option<Rematch>, ServiceError> {
        let Some(generation) = self.generation().await else {
            return Ok(None);
        };
        let done: Option<i64> = self
            .db
            .get_state("rematched_generation")
            .await?
            .and_then(|v| v.parse().ok());
        if done == Some(generation) {
            return Ok(None);
        }
        let started = std::time::Instant::now();
        let changed = match (report, done) {
            (Some(r), Some(prev))
                if i64::try_from(r.previous_generation.0).ok() == Some(prev)
                    && !r.changes.rescores_all() =>
            {
                Some(r.changes.packages())
            }
            // The first generation: every resource still pending is scanned
            // by the watcher; those scanned before it existed are evaluated.
            _ => None,
        };
        let mut summary = Rematch {
            generation,
            ..Rematch::default()
        };
        // Inventory ID → the part of it to evaluate (None: all of it).
        let mut selected: BTreeMap<String, Option<Inventory>> = match &changed {
            Some(keys) => {
                let affected = self.db.affected(keys).await?;
                summary.package_sets = affected.sets;
                affected
                    .inventories
                    .into_iter()
                    .map(|(id, inv)| (id, Some(inv)))
                    .collect()
            }
            None => self
                .db
                .resources()
                .await?
                .into_iter()
                .filter(|r| {
                    !crate::resources::retired(&r.status_reason)
                        && r.status_reason != "SCAN_FREQUENCY_SCAN_ON_PUSH"
                })
                .filter_map(|r| r.inventory_id)
                .map(|id| (id, None))
                .collect(),
        };
        summary.read_millis = ms(started.elapsed());
        let ids: Vec<&String> = selected.keys().collect();
        let holders = self.db.resources_holding(&ids).await?;
        // Two sources holding one resource (copies, or one digest under
        // other tags): the one scanned last speaks for it.
        let mut by_id: BTreeMap<String, ResourceRecord> = BTreeMap::new();
        for r in holders {
            match by_id.get(&r.id) {
                Some(kept) if kept.last_scanned_at >= r.last_scanned_at => {}
                _ => {
                    by_id.insert(r.id.clone(), r);
                }
            }
        }
        let mut by_inventory: BTreeMap<String, Vec<ResourceRecord>> = BTreeMap::new();
        for r in by_id.into_values() {
            if let Some(inv) = r.inventory_id.clone() {
                by_inventory.entry(inv).or_default().push(r);
            }
        }
        summary.inventories = by_inventory.len();
        // Each distinct selection is matched once: a change in a base layer
        // is matched once for every image built on it.
        let mut evaluations: BTreeMap<String, Evaluation> = BTreeMap::new();
        for (inventory_id, holders) in by_inventory {
            // Whole inventories are read when their batch is matched, not
            // all at once.
            let inventory = selected.remove(&inventory_id).flatten();
            let key = match &inventory {
                Some(inv) => {
                    hex::encode(Sha256::digest(serde_json::to_vec(inv).unwrap_or_default()))
                }
                None => inventory_id.clone(),
            };
            let entry = evaluations.entry(key).or_insert_with(|| Evaluation {
                inventory,
                inventory_id: inventory_id.clone(),
                holders: Vec::new(),
            });
            for r in holders {
                if let Ok(resource) =
                    serde_json::from_value::<vigia_scan::Resource>(r.details.clone())
                {
                    entry.holders.push((inventory_id.clone(), r, resource));
                } else {
                    tracing::warn!(source = %r.source, "stored resource unreadable: scanning it again");
                    self.db.set_content_hash(&r.source, None).await?;
                }
            }
        }
        let cause = format!("generation {generation}");
        // Matched and reconciled about BATCH resources at a time: memory
        // stays bounded however many resources a change touches.
        let mut chunk: Vec<Evaluation> = Vec::new();
        let mut held = 0;
        // An evaluation held by more than BATCH resources is matched once
        // per BATCH of them: a transaction locks at most about 2 x BATCH
        // resources, and their findings are held only that long.
        let pieces = evaluations.into_values().flat_map(|mut e| {
            let mut out = Vec::new();
            while e.holders.len() > BATCH {
                let rest = e.holders.split_off(BATCH);
                let next = Evaluation {
                    inventory: e.inventory.clone(),
                    inventory_id: e.inventory_id.clone(),
                    holders: rest,
                };
                out.push(e);
                e = next;
            }
            out.push(e);
            out
        });
        for evaluation in pieces {
            if evaluation.holders.is_empty() {
                continue;
            }
            held += evaluation.holders.len();
            chunk.push(evaluation);
            if held >= BATCH {
                self.evaluate_batch(
                    std::mem::take(&mut chunk),
                    changed.is_some(),
                    &cause,
                    &mut summary,
                )
                .await?;
                held = 0;
            }
        }
        self.evaluate_batch(chunk, changed.is_some(), &cause, &mut summary)
            .await?;
        self.db
            .set_state("rematched_generation", &generation.to_string())
            .await?;
        summary.millis = ms(started.elapsed());
        self.metrics
            .last_rematch_ms
            .store(summary.millis, Ordering::Relaxed);
        tracing::info!(
            generation,
            resources = summary.resources,
            inventories = summary.inventories,
            evaluations = summary.evaluations,
            opened = summary.changes.opened,
            reopened = summary.changes.reopened,
            closed = summary.changes.closed,
            updated = summary.changes.updated,
            millis = summary.millis,
            "rematched stored inventories"
        );
        Ok(Some(summary))
    }

    /// Matches a batch of evaluations at once and reconciles their
    /// resources in one transaction. `partial`: each evaluation holds only
    /// the changed packages, and only those packages' findings are
    /// reconciled.
    async fn evaluate_batch(
        &self,
        batch: Vec<Evaluation>,
        partial: bool,
        cause: &str,
        summary: &mut Rematch,
    ) -> Result<(), ServiceError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut holders = Vec::with_capacity(batch.len());
        let mut inputs = Vec::with_capacity(batch.len());
        for evaluation in batch {
            let inventory = match evaluation.inventory {
                Some(inv) => inv,
                None => match self.db.inventory(&evaluation.inventory_id).await {
                    Ok(Some(inv)) => inv,
                    // A stored inventory that no longer reads back (an older
                    // format) is scanned again rather than stalling the rematch.
                    Ok(None) | Err(DbError::Json { .. }) => {
                        for (_, r, _) in &evaluation.holders {
                            tracing::warn!(source = %r.source, "stored inventory unreadable: scanning the resource again");
                            self.db.set_content_hash(&r.source, None).await?;
                        }
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                },
            };
            let packages: Option<BTreeSet<(String, String)>> = partial.then(|| {
                inventory
                    .packages
                    .iter()
                    .map(|p| (p.name.clone(), p.path.clone()))
                    .collect()
            });
            let resources = evaluation
                .holders
                .iter()
                .map(|(_, _, res)| res.clone())
                .collect();
            inputs.push((inventory, resources));
            holders.push((evaluation.holders, packages));
        }
        summary.evaluations += inputs.len();
        let matching = std::time::Instant::now();
        let (_, evaluated) = self
            .scanner
            .evaluate_many(inputs, jiff::Timestamp::now())
            .await?;
        summary.match_millis += ms(matching.elapsed());
        let mut items: Vec<RematchItem> = Vec::new();
        let mut coverage: Vec<Option<ScanStatus>> = Vec::new();
        for ((holders, packages), (_, reports)) in holders.into_iter().zip(evaluated) {
            for ((inventory_id, r, _), report) in holders.into_iter().zip(reports) {
                coverage.push(coverage_after(&r.status_reason, &report.scan, partial));
                items.push(RematchItem {
                    source: r.source,
                    inventory_id,
                    resource_id: r.id,
                    findings: report
                        .findings
                        .into_iter()
                        .filter(|f| f.kind == vigia_scan::FindingType::PackageVulnerability)
                        .collect(),
                    packages: packages.clone(),
                });
            }
        }
        // Every holder is read and reconciled: holders of one selection may
        // hold findings from different generations (a resource scanned on
        // the new one by another worker before this rematch ran).
        let writing = std::time::Instant::now();
        let results = self.db.rematch(&items, cause, &now()).await?;
        summary.reconcile_millis += ms(writing.elapsed());
        // Coverage that the evaluation changes (an OS release whose
        // advisories arrived), for the resources reconciled.
        let now_s = now();
        for ((item, result), status) in items.iter().zip(&results).zip(coverage) {
            if let (Some(_), Some(st)) = (result, status) {
                self.db
                    .set_coverage(
                        &item.source,
                        st.code,
                        st.reason,
                        st.message.as_deref(),
                        &now_s,
                    )
                    .await?;
            }
        }
        let reconciled = results.iter().flatten().count();
        for c in results.iter().flatten() {
            summary.changes.add(c);
        }
        summary.resources += reconciled;
        self.metrics.rematches.fetch_add(
            u64::try_from(reconciled).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        Ok(())
    }
}
