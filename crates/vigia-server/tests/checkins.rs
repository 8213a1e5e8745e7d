//! Agents checking in at the same instant are written together (one
//! transaction for all that came meanwhile): each must still be stored as
//! if it had been alone, its inventory whole, its host registered once and
//! its evaluation queued once.

mod fleet;

use std::collections::BTreeSet;

use fleet::Fleet;
use vigia_agent::{Accepted, Checkin};
use vigia_inventory::Inventory;

const HOSTS: usize = 40;

fn checkin(host: usize, inventory: Inventory) -> Checkin {
    Checkin {
        host_id: format!("host-{host}"),
        agent_version: "test".into(),
        hostname: Some(format!("host-{host}.example")),
        kernel: Some("6.1.0-test".into()),
        interfaces: Vec::new(),
        inventory,
        base: None,
        added: Vec::new(),
        removed: Vec::new(),
    }
}

async fn all_at_once(fleet: &Fleet, checkins: Vec<Checkin>) -> Vec<Accepted> {
    let tasks: Vec<_> = checkins
        .into_iter()
        .map(|c| {
            let svc = fleet.svc.clone();
            tokio::spawn(async move { svc.agent_checkin(c, None).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap().unwrap().expect("a check-in was refused"));
    }
    out
}

async fn count(fleet: &Fleet, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(fleet.svc.db.pool())
        .await
        .unwrap()
}

async fn burst(postgres: bool) {
    let fleet = Fleet::start(postgres).await.unwrap();
    // A host's inventory: the shared image's packages, without layers.
    let mut host = fleet.real.clone();
    for p in &mut host.packages {
        p.layer = None;
    }
    // Whole inventories, every host its own (one package's version made
    // the host's).
    let inventories: Vec<Inventory> = (0..HOSTS)
        .map(|i| {
            let mut inv = host.clone();
            let n = inv.packages.len();
            inv.packages[i % n].version.push_str(&format!("+h{i}"));
            inv.packages.sort();
            inv
        })
        .collect();
    let accepted = all_at_once(
        &fleet,
        inventories
            .iter()
            .enumerate()
            .map(|(i, inv)| checkin(i, inv.clone()))
            .collect(),
    )
    .await;
    let ids: BTreeSet<&str> = accepted.iter().map(|a| a.inventory_id.as_str()).collect();
    assert_eq!(ids.len(), HOSTS, "each host's inventory is its own");
    for (a, sent) in accepted.iter().zip(&inventories) {
        assert!(a.queued);
        let stored = fleet
            .svc
            .db
            .inventory(&a.inventory_id)
            .await
            .unwrap()
            .expect("an accepted inventory is stored");
        assert_eq!(stored.packages, sent.packages);
    }
    assert_eq!(
        count(
            &fleet,
            "SELECT COUNT(*) FROM resources WHERE source LIKE 'agent:%'"
        )
        .await,
        i64::try_from(HOSTS).unwrap()
    );
    assert_eq!(
        count(
            &fleet,
            "SELECT COUNT(*) FROM jobs WHERE subject LIKE 'agent:%'"
        )
        .await,
        i64::try_from(HOSTS).unwrap()
    );

    // Then differences, every host upgrading one package, one host twice
    // in the same burst, with the same content.
    let mut diffs = Vec::new();
    let mut expected = Vec::new();
    for (i, (a, inv)) in accepted.iter().zip(&inventories).enumerate() {
        let old = inv.packages[0].clone();
        let mut new = old.clone();
        new.version.push_str("+up");
        let mut head = inv.clone();
        head.packages = Vec::new();
        let mut c = checkin(i, head);
        c.base = Some(a.inventory_id.clone());
        c.removed = vec![old.clone()];
        c.added = vec![new.clone()];
        let mut after = inv.clone();
        after.packages[0] = new;
        after.packages.sort();
        diffs.push(c);
        expected.push(after);
    }
    // The same host again, whole (a difference against the inventory the
    // other one replaces could be refused, rightly, as against an
    // inventory no longer held).
    diffs.push(checkin(0, expected[0].clone()));
    let accepted = all_at_once(&fleet, diffs).await;
    for (a, after) in accepted.iter().zip(&expected) {
        let stored = fleet
            .svc
            .db
            .inventory(&a.inventory_id)
            .await
            .unwrap()
            .expect("an accepted difference is stored");
        assert_eq!(stored.packages, after.packages);
    }
    // The host that sent twice holds one of its two: the same content.
    assert_eq!(accepted[0].inventory_id, accepted[HOSTS].inventory_id);
    let held: String =
        sqlx::query_scalar("SELECT inventory_id FROM agents WHERE host_id = 'host-0'")
            .fetch_one(fleet.svc.db.pool())
            .await
            .unwrap();
    assert_eq!(held, accepted[0].inventory_id);
    assert_eq!(
        count(&fleet, "SELECT COUNT(*) FROM agents").await,
        i64::try_from(HOSTS).unwrap()
    );
    // Still one job a host (the first burst's are not taken yet).
    assert_eq!(
        count(
            &fleet,
            "SELECT COUNT(*) FROM jobs WHERE subject LIKE 'agent:%'"
        )
        .await,
        i64::try_from(HOSTS).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hosts_checking_in_at_once_are_each_stored_as_if_alone() {
    burst(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_on_postgresql() {
    burst(true).await;
}
