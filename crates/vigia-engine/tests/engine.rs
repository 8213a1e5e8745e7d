//! The engine as a second front-end (the service) uses it: change sets from
//! real mirror edits, on SQLite and on a real PostgreSQL server, and concurrent
//! scans on one `Scanner` while an `Updater` publishes a new generation.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use vigia_engine::{
    ChangeSet, Config, FeedKind, Generation, PackageKey, ScanRequest, Scanner, SourceChange,
    UpdateOptions, Updater,
};
use vigia_scan::TargetKind;
use vigia_test_support as support;

fn options(mirror: &Path) -> UpdateOptions {
    UpdateOptions {
        mirror: Some(mirror.display().to_string()),
        ..UpdateOptions::default()
    }
}

/// Rewrites the records of `zip` for which `edit` returns true (after changing
/// them). Returns how many it changed.
fn edit_records(zip: &Path, mut edit: impl FnMut(&mut Value) -> bool) -> usize {
    let mut entries = support::read_zip(zip);
    let mut n = 0;
    for (_, body) in &mut entries {
        let mut rec: Value = serde_json::from_slice(body).unwrap();
        if edit(&mut rec) {
            *body = serde_json::to_vec(&rec).unwrap();
            n += 1;
        }
    }
    support::write_zip(zip, &entries);
    n
}

/// The only package of a record when it names exactly one, in `ecosystem`.
fn single_package(rec: &Value, ecosystem: &str) -> Option<String> {
    let affected = rec["affected"].as_array()?;
    let [only] = affected.as_slice() else {
        return None;
    };
    (only["package"]["ecosystem"] == ecosystem)
        .then(|| only["package"]["name"].as_str().map(str::to_owned))
        .flatten()
}

/// Every package name that records of `zip` name in `ecosystem`, with how many
/// records name it.
fn package_counts(zip: &Path, ecosystem: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (_, body) in support::read_zip(zip) {
        let rec: Value = serde_json::from_slice(&body).unwrap();
        for a in rec["affected"].as_array().into_iter().flatten() {
            if a["package"]["ecosystem"] == ecosystem
                && let Some(name) = a["package"]["name"].as_str()
            {
                *counts.entry(name.to_owned()).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// One update of a copy of the real mirror, then an unchanged one, then an
/// edit of the PyPI export: one record's fixed version moves, another record
/// is withdrawn. The change set must name exactly those two packages.
async fn change_set_scenario(config: Config) {
    let mirror = support::mirror_copy();
    let pypi = mirror.path().join("PyPI/all.zip");
    let updater = Updater::new(config);

    let first = updater.update(&options(mirror.path())).await.unwrap();
    assert_eq!(first.failed, 0, "{:?}", first.sources);
    assert_eq!(first.previous_generation, Generation(0));
    assert_eq!(first.generation, Generation(1));
    // A first update changes every package of every source: the PyPI source
    // lists every PyPI package its records name.
    let pypi_change = first
        .changes
        .sources
        .iter()
        .find(|s| s.source == "PyPI/all.zip")
        .expect("PyPI changed on the first update");
    let named: Vec<PackageKey> = package_counts(&pypi, "PyPI")
        .keys()
        .map(|n| PackageKey::new("PyPI", n))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(pypi_change.packages, named);
    assert!(first.changes.enrichment_changed());

    let second = updater.update(&options(mirror.path())).await.unwrap();
    assert_eq!(second.changes, ChangeSet::default(), "nothing changed");
    assert_eq!(
        second.generation,
        Generation(1),
        "no new content, no new generation"
    );

    // Two records, each the only one to name its package, so that the packages
    // changed are exactly theirs.
    let counts = package_counts(&pypi, "PyPI");
    let mut ranged = None;
    let mut withdrawn = None;
    let mut described = None;
    edit_records(&pypi, |rec| {
        let Some(name) = single_package(rec, "PyPI") else {
            return false;
        };
        if counts[&name] != 1 || rec["withdrawn"].is_string() {
            return false;
        }
        if ranged.is_none() {
            let events = &mut rec["affected"][0]["ranges"][0]["events"];
            let Some(fixed) = events
                .as_array_mut()
                .and_then(|e| e.iter_mut().find(|e| e["fixed"].is_string()))
            else {
                return false;
            };
            fixed["fixed"] = Value::String("999.0".into());
            ranged = Some(name);
            return true;
        }
        if withdrawn.is_none() {
            rec["withdrawn"] = Value::String("2026-12-01T00:00:00Z".into());
            withdrawn = Some(name);
            return true;
        }
        // Only what findings show (the description) changes: its findings
        // read differently, so its package changed too.
        if described.is_none() {
            rec["details"] = Value::String("Described again.".into());
            described = Some(name);
            return true;
        }
        false
    });
    let (ranged, withdrawn, described) = (ranged.unwrap(), withdrawn.unwrap(), described.unwrap());

    let third = updater.update(&options(mirror.path())).await.unwrap();
    assert_eq!(third.previous_generation, Generation(1));
    assert_eq!(third.generation, Generation(2));
    let mut expected = vec![
        PackageKey::new("PyPI", &ranged),
        PackageKey::new("PyPI", &withdrawn),
        PackageKey::new("PyPI", &described),
    ];
    expected.sort();
    assert_eq!(
        third.changes.sources,
        vec![SourceChange {
            source: "PyPI/all.zip".into(),
            kind: FeedKind::Osv,
            packages: expected,
        }]
    );
    assert!(!third.changes.enrichment_changed());

    // KEV lists a vulnerability that one PyPI record (the only one naming
    // its package) names: the change set names that record's alias group's
    // packages, not every package a rescore could touch.
    let kev = mirror
        .path()
        .join("kev/known_exploited_vulnerabilities.json");
    let mut catalog: Value = serde_json::from_slice(&fs_err::read(&kev).unwrap()).unwrap();
    let listed: BTreeSet<String> = catalog["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["cveID"].as_str().unwrap().to_owned())
        .collect();
    let counts = package_counts(&pypi, "PyPI");
    let mut picked = None;
    for (_, body) in support::read_zip(&pypi) {
        let rec: Value = serde_json::from_slice(&body).unwrap();
        let Some(name) = single_package(&rec, "PyPI") else {
            continue;
        };
        let cve = rec["aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find(|a| a.starts_with("CVE-") && !listed.contains(*a));
        if let (Some(cve), 1) = (cve, counts[&name]) {
            picked = Some((cve.to_owned(), name));
            break;
        }
    }
    let (cve, name) = picked.expect("a PyPI record with a CVE not in KEV");
    let mut entry = catalog["vulnerabilities"][0].clone();
    entry["cveID"] = Value::String(cve.clone());
    catalog["vulnerabilities"]
        .as_array_mut()
        .unwrap()
        .push(entry);
    fs_err::write(&kev, serde_json::to_vec(&catalog).unwrap()).unwrap();
    let fourth = updater.update(&options(mirror.path())).await.unwrap();
    assert_eq!(fourth.generation, Generation(3));
    let changes = &fourth.changes;
    assert!(changes.enrichment_changed());
    assert!(changes.enrichment_narrowed, "{changes:?}");
    assert!(!changes.rescores_all());
    assert!(
        changes.grouped.contains(&PackageKey::new("PyPI", &name)),
        "{cve} of {name}: {changes:?}"
    );
    assert!(
        changes.grouped.len() < 10,
        "only the packages of {cve}'s group: {changes:?}"
    );
    assert!(changes.sources.iter().all(|s| s.packages.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_sets_name_exactly_the_changed_packages_on_sqlite() {
    let data = tempfile::tempdir().unwrap();
    change_set_scenario(Config::new(data.path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_sets_name_exactly_the_changed_packages_on_postgresql() {
    let pg = support::Postgres::start();
    let data = tempfile::tempdir().unwrap();
    let mut config = Config::new(data.path());
    config.database_url = Some(pg.create_database("changes"));
    change_set_scenario(config).await;
}

/// The OSV sources of the mirror: (folder, which is the source's ecosystem).
const OSV_SOURCES: [&str; 7] = [
    "Alpine",
    "Debian",
    "Go",
    "Maven",
    "PyPI",
    "crates.io",
    "npm",
];

/// One record of the mirror, with the package keys its source stores for it.
struct MirrorRecord {
    folder: &'static str,
    record: vigia_model::Osv,
    keys: BTreeSet<PackageKey>,
}

fn mirror_records(mirror: &Path) -> Vec<MirrorRecord> {
    let mut all = Vec::new();
    for folder in OSV_SOURCES {
        for (_, body) in support::read_zip(&mirror.join(folder).join("all.zip")) {
            let record: vigia_model::Osv = serde_json::from_slice(&body).unwrap();
            // A source keeps the entries of its own ecosystem.
            let keys = record
                .affected
                .iter()
                .filter_map(|a| a.package.as_ref())
                .filter(|p| {
                    p.ecosystem
                        .split(':')
                        .next()
                        .is_some_and(|e| e.eq_ignore_ascii_case(folder))
                })
                .map(|p| PackageKey::new(&p.ecosystem, &p.name))
                .collect();
            all.push(MirrorRecord {
                folder,
                record,
                keys,
            });
        }
    }
    all
}

/// The indexes of the records in the alias group of the record with ID `id`,
/// grouped by the model's own rule (`same_vulnerability_ids`) with a plain
/// union-find, independent of the store's.
fn group_of(records: &[MirrorRecord], id: &str) -> BTreeSet<usize> {
    fn root(parent: &mut HashMap<String, String>, id: &str) -> String {
        let mut at = id.to_owned();
        while let Some(up) = parent.get(&at).filter(|up| **up != at) {
            at = up.clone();
        }
        at
    }
    let mut parent: HashMap<String, String> = HashMap::new();
    for r in records {
        let ids = r.record.same_vulnerability_ids();
        let first = root(&mut parent, ids[0]);
        for other in &ids[1..] {
            let other = root(&mut parent, other);
            if other != first {
                parent.insert(other, first.clone());
            }
        }
    }
    let target = root(&mut parent, id);
    records
        .iter()
        .enumerate()
        .filter(|(_, r)| root(&mut parent, &r.record.id) == target)
        .map(|(i, _)| i)
        .collect()
}

/// The packages of the records `group`, less those of `changed`.
fn keys_of(
    records: &[MirrorRecord],
    group: &BTreeSet<usize>,
    changed: &BTreeSet<PackageKey>,
) -> Vec<PackageKey> {
    let all: BTreeSet<PackageKey> = group
        .iter()
        .flat_map(|&i| records[i].keys.iter().cloned())
        .collect();
    all.difference(changed).cloned().collect()
}

/// A change to one record of an alias group changes what every finding of
/// the group shows (its preferred ID, merged description and references):
/// the change set names the packages of the group's other records, in every
/// ecosystem, before and after the change. Three updates of a copy of the
/// mirror: one record's description changes, then it drops its aliases (it
/// leaves its group), then a record of another ecosystem names it as an
/// alias (joins its group).
async fn alias_group_scenario(config: Config) {
    let mirror = support::mirror_copy();
    let updater = Updater::new(config);
    let first = updater.update(&options(mirror.path())).await.unwrap();
    assert_eq!(first.failed, 0, "{:?}", first.sources);

    // A record whose group holds a record of another source with packages
    // of its own: the change must reach across ecosystems.
    let records = mirror_records(mirror.path());
    let (a, group) = records
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.keys.is_empty() && r.record.withdrawn.is_none())
        .find_map(|(i, r)| {
            let group = group_of(&records, &r.record.id);
            group
                .iter()
                .any(|&j| records[j].folder != r.folder && !records[j].keys.is_subset(&r.keys))
                .then_some((i, group))
        })
        .expect("the mirror holds an alias group across two sources");
    let a_id = records[a].record.id.clone();
    let a_zip = mirror.path().join(records[a].folder).join("all.zip");
    let a_keys = records[a].keys.clone();
    let a_source = format!("{}/all.zip", records[a].folder);
    let only_a = |rec: &Value| rec["id"] == a_id.as_str();

    // 1. Only the description changes.
    assert_eq!(
        edit_records(&a_zip, |rec| {
            only_a(rec) && {
                rec["details"] = Value::String("Described again.".into());
                true
            }
        }),
        1
    );
    let described = updater.update(&options(mirror.path())).await.unwrap();
    assert_eq!(
        described.changes.sources,
        vec![SourceChange {
            source: a_source.clone(),
            kind: FeedKind::Osv,
            packages: a_keys.iter().cloned().collect(),
        }]
    );
    let expected = keys_of(&records, &group, &a_keys);
    assert!(
        expected
            .iter()
            .any(|k| !k.ecosystem.starts_with(records[a].folder)),
        "the group reaches another ecosystem: {expected:?}"
    );
    assert_eq!(described.changes.grouped, expected);

    // 2. It drops its aliases: the group it left is evaluated again.
    edit_records(&a_zip, |rec| {
        only_a(rec) && {
            rec["aliases"] = Value::Array(Vec::new());
            rec["upstream"] = Value::Array(Vec::new());
            true
        }
    });
    let records_after = mirror_records(mirror.path());
    let mut both = group.clone();
    both.extend(group_of(&records_after, &a_id));
    let left = updater.update(&options(mirror.path())).await.unwrap();
    assert_eq!(left.changes.packages().len(), {
        let mut all = keys_of(&records_after, &both, &BTreeSet::new());
        all.extend(a_keys.iter().cloned());
        all.sort();
        all.dedup();
        all.len()
    });
    assert_eq!(
        left.changes.grouped,
        keys_of(&records_after, &both, &a_keys)
    );

    // 3. A record of another source, alone in its group until now, names it
    // as an alias: that record's packages and A's group's are evaluated.
    let records = records_after;
    let c = records
        .iter()
        .position(|r| {
            r.folder != records[a].folder
                && !r.keys.is_empty()
                && r.keys.is_disjoint(&a_keys)
                && group_of(&records, &r.record.id).len() == 1
        })
        .expect("a record alone in its group");
    let c_id = records[c].record.id.clone();
    let c_keys = records[c].keys.clone();
    edit_records(
        &mirror.path().join(records[c].folder).join("all.zip"),
        |rec| {
            rec["id"] == c_id.as_str() && {
                rec["aliases"]
                    .as_array_mut()
                    .map(|list| list.push(Value::String(a_id.clone())))
                    .is_some()
                    || {
                        rec["aliases"] = Value::Array(vec![Value::String(a_id.clone())]);
                        true
                    }
            }
        },
    );
    let records_joined = mirror_records(mirror.path());
    let joined_group = group_of(&records_joined, &c_id);
    assert!(joined_group.len() > 1, "C joined A's group");
    let joined = updater.update(&options(mirror.path())).await.unwrap();
    assert_eq!(
        joined.changes.sources,
        vec![SourceChange {
            source: format!("{}/all.zip", records[c].folder),
            kind: FeedKind::Osv,
            packages: c_keys.iter().cloned().collect(),
        }]
    );
    let expected = keys_of(&records_joined, &joined_group, &c_keys);
    assert!(
        a_keys.iter().all(|k| expected.contains(k)),
        "A's packages are evaluated again: {expected:?}"
    );
    assert_eq!(joined.changes.grouped, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_sets_reach_every_record_of_a_changed_alias_group_on_sqlite() {
    let data = tempfile::tempdir().unwrap();
    alias_group_scenario(Config::new(data.path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_sets_reach_every_record_of_a_changed_alias_group_on_postgresql() {
    let pg = support::Postgres::start();
    let data = tempfile::tempdir().unwrap();
    let mut config = Config::new(data.path());
    config.database_url = Some(pg.create_database("aliases"));
    alias_group_scenario(config).await;
}

fn request(kind: TargetKind, target: &Path) -> ScanRequest {
    let mut r = ScanRequest::new(kind, target.display().to_string());
    r.now = jiff::Timestamp::from_second(1_780_000_000).unwrap();
    r
}

/// Two scans of different shared targets run at once on one `Scanner` while an
/// `Updater` publishes a new generation that changes one target's findings.
/// Each report must equal what a single scan gives on the generation it was
/// matched against; a scan after the update must see the new generation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_scans_on_one_scanner_while_a_new_generation_is_published() {
    let targets = support::shared_dir().join("targets");
    let image = request(TargetKind::Image, &targets.join("debian12-app"));
    let lockfile = request(TargetKind::Dir, &targets.join("rust-lockfile"));
    let mirror = support::mirror_copy();
    let data = tempfile::tempdir().unwrap();
    let config = Config::new(data.path());
    let updater = Updater::new(config.clone());
    updater.update(&options(mirror.path())).await.unwrap();

    // Single scans on generation 1, each on a scanner of its own.
    let single = |req: ScanRequest| {
        let config = config.clone();
        async move {
            let s = Scanner::new(config).unwrap();
            s.scan(&req).await.unwrap()
        }
    };
    let image_1 = single(image.clone()).await;
    let lock_1 = single(lockfile.clone()).await;
    assert_eq!(image_1.generation, Generation(1));
    assert!(
        !lock_1.report.findings.is_empty(),
        "the lockfile has known vulnerabilities"
    );

    // Generation 2 withdraws every crates.io record of one crate the lockfile's
    // findings name.
    let crate_name = lock_1.report.findings[0]
        .package_vulnerability_details
        .as_ref()
        .map(|d| d.vulnerable_packages[0].name.clone())
        .expect("a package finding");
    let withdrawn = edit_records(&mirror.path().join("crates.io/all.zip"), |rec| {
        let names_it = rec["affected"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| a["package"]["name"] == crate_name.as_str());
        if names_it {
            rec["withdrawn"] = Value::String("2026-12-01T00:00:00Z".into());
        }
        names_it
    });
    assert!(withdrawn > 0);

    let scanner = Arc::new(Scanner::new(config.clone()).unwrap());
    // The scanner holds generation 1 before the race starts.
    assert_eq!(scanner.generation().await.unwrap(), Generation(1));
    let opts = options(mirror.path());
    let (a, b, update) = tokio::join!(
        scanner.scan(&image),
        scanner.scan(&lockfile),
        updater.update(&opts),
    );
    let (a, b, update) = (a.unwrap(), b.unwrap(), update.unwrap());
    assert_eq!(update.generation, Generation(2));
    assert_eq!(
        update.changes.packages(),
        vec![PackageKey::new("crates.io", &crate_name)]
    );

    let image_2 = single(image.clone()).await;
    let lock_2 = single(lockfile.clone()).await;
    assert_eq!(lock_2.generation, Generation(2));
    assert!(
        lock_2.report.findings.len() < lock_1.report.findings.len(),
        "generation 2 closes the withdrawn crate's findings"
    );
    let expect = |generation: Generation, one, two| {
        if generation == Generation(1) {
            one
        } else {
            two
        }
    };
    assert_eq!(a.report, expect(a.generation, &image_1, &image_2).report);
    assert_eq!(b.report, expect(b.generation, &lock_1, &lock_2).report);

    // The next scans on the same scanner see generation 2.
    let b_after = scanner.scan(&lockfile).await.unwrap();
    assert_eq!(b_after.generation, Generation(2));
    assert_eq!(b_after.report, lock_2.report);
    let a_after = scanner.scan(&image).await.unwrap();
    assert_eq!(a_after.report, image_2.report);
}
