//! The rematch after an update reads only the changed packages of the
//! stored inventories, matches each base layer's once, and reconciles a
//! resource only when its findings may change. What it leaves must be what
//! evaluating every stored inventory whole would leave.

mod fleet;

use fleet::Fleet;

async fn selective_equals_full(postgres: bool) {
    let fleet = Fleet::start(postgres).await.unwrap();
    fleet.add_copies(12, 3).await.unwrap();
    let first = fleet.evaluate_all().await.unwrap();
    assert_eq!(first.resources, 13, "{first:?}");
    assert!(first.changes.opened > 13 * 20, "{first:?}");

    // Advisories of packages the images hold change: every image's findings
    // change.
    let (changed, touching) =
        fleet::change_advisories(fleet.mirror.path(), &fleet.held, 40, true, true);
    assert_eq!((changed, touching), (40, 40));
    let (_, rematch) = fleet.svc.update_now().await.unwrap();
    let rematch = rematch.unwrap();
    assert!(rematch.changes.any(), "{rematch:?}");
    assert_eq!(rematch.resources, 13, "{rematch:?}");
    // The changes are Debian's: the packages of the 3 base layers (and the
    // shared image's own) are read and matched once each.
    assert_eq!(rematch.package_sets, 4, "{rematch:?}");
    assert_eq!(rematch.evaluations, 4, "{rematch:?}");
    assert!(fleet.assert_columns_agree().await.unwrap() > 13 * 20);
    let full = fleet.evaluate_all().await.unwrap();
    assert!(!full.changes.any(), "the rematch left changes: {full:?}");

    // An update spread over the mirror, most of it about other packages:
    // the images sharing a base layer are matched once and read only when
    // their first one's findings change.
    let (changed, touching) =
        fleet::change_advisories(fleet.mirror.path(), &fleet.held, 60, false, true);
    assert_eq!(changed, 60);
    assert!(touching < changed, "{touching}");
    let (_, rematch) = fleet.svc.update_now().await.unwrap();
    let rematch = rematch.unwrap();
    assert!(rematch.evaluations < rematch.resources, "{rematch:?}");
    assert!(fleet.assert_columns_agree().await.unwrap() > 13 * 20);
    let full = fleet.evaluate_all().await.unwrap();
    assert!(!full.changes.any(), "the rematch left changes: {full:?}");

    // A record of another ecosystem joins the alias group of a record the
    // images match: their findings show the group's IDs and references,
    // so they are evaluated again although no package they hold changed.
    let (joined, into) = fleet::join_group(fleet.mirror.path(), &fleet.held);
    let (report, rematch) = fleet.svc.update_now().await.unwrap();
    assert!(
        !report.changes.grouped.is_empty(),
        "{joined} joined {into}: {:?}",
        report.changes
    );
    let rematch = rematch.unwrap();
    assert!(rematch.changes.any(), "{joined} joined {into}: {rematch:?}");
    assert!(fleet.assert_columns_agree().await.unwrap() > 13 * 20);
    let full = fleet.evaluate_all().await.unwrap();
    assert!(!full.changes.any(), "the rematch left changes: {full:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rematch_of_changed_packages_leaves_what_a_full_one_would() {
    selective_equals_full(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_on_postgresql() {
    selective_equals_full(true).await;
}
