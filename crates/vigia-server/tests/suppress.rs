//! A suppression rule applies to every open finding, however many: the
//! findings it may match (or, when its keys narrow nothing, every open
//! finding) are read a page at a time, and none may be missed or changed
//! twice across pages.

mod fleet;

use fleet::Fleet;

async fn count(fleet: &Fleet, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(fleet.svc.db.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rule_reaches_every_open_finding_across_pages() {
    let fleet = Fleet::start(false).await.unwrap();
    fleet.add_copies(40, 3).await.unwrap();
    fleet.evaluate_all().await.unwrap();
    let open = count(
        &fleet,
        "SELECT COUNT(*) FROM findings WHERE status = 'ACTIVE'",
    )
    .await;
    assert!(open > 2_000, "more than two pages of open findings: {open}");
    let matching = count(
        &fleet,
        "SELECT COUNT(*) FROM findings WHERE status = 'ACTIVE' AND severity IN ('HIGH', 'MEDIUM')",
    )
    .await;
    assert!(matching > 1_000 && matching < open, "{matching} of {open}");
    let now = "2026-12-07T12:00:00Z";
    sqlx::query(
        "INSERT INTO filters (arn, name, action, criteria, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind("vigia:filter/high-and-medium")
    .bind("high and medium")
    .bind("SUPPRESS")
    .bind(
        serde_json::json!({"severity": [
            {"comparison": "EQUALS", "value": "HIGH"},
            {"comparison": "EQUALS", "value": "MEDIUM"}]})
        .to_string(),
    )
    .bind(now)
    .execute(fleet.svc.db.pool())
    .await
    .unwrap();
    let changed = fleet.svc.db.resuppress(now).await.unwrap();
    assert_eq!(i64::try_from(changed).unwrap(), matching);
    assert_eq!(
        count(
            &fleet,
            "SELECT COUNT(*) FROM findings WHERE status = 'SUPPRESSED' AND severity IN ('HIGH', 'MEDIUM')"
        )
        .await,
        matching
    );
    assert_eq!(
        count(
            &fleet,
            "SELECT COUNT(*) FROM findings WHERE status = 'ACTIVE'"
        )
        .await,
        open - matching
    );
    // Each change recorded once.
    assert_eq!(
        count(
            &fleet,
            "SELECT COUNT(*) FROM finding_history WHERE event = 'SUPPRESSED'"
        )
        .await,
        matching
    );
    // Applied again: nothing left to change.
    assert_eq!(fleet.svc.db.resuppress(now).await.unwrap(), 0);

    // The rule gone, what it suppressed is lifted (read as the findings
    // suppressed now, no rule narrowing anything).
    sqlx::query("DELETE FROM filters")
        .execute(fleet.svc.db.pool())
        .await
        .unwrap();
    let lifted = fleet.svc.db.resuppress(now).await.unwrap();
    assert_eq!(i64::try_from(lifted).unwrap(), matching);
    assert_eq!(
        count(
            &fleet,
            "SELECT COUNT(*) FROM findings WHERE status = 'ACTIVE'"
        )
        .await,
        open
    );

    // A rule whose keys no index narrows (a package name prefix): every
    // open finding is read, a page at a time.
    let prefixed = count(
        &fleet,
        "SELECT COUNT(DISTINCT p.arn) FROM finding_packages p JOIN findings f ON f.arn = p.arn \
         WHERE f.status = 'ACTIVE' AND p.name LIKE 'lib%'",
    )
    .await;
    assert!(prefixed > 0 && prefixed < open, "{prefixed} of {open}");
    sqlx::query(
        "INSERT INTO filters (arn, name, action, criteria, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind("vigia:filter/lib")
    .bind("lib")
    .bind("SUPPRESS")
    .bind(
        serde_json::json!({"vulnerablePackages": [
            {"name": {"comparison": "PREFIX", "value": "lib"}}]})
        .to_string(),
    )
    .bind(now)
    .execute(fleet.svc.db.pool())
    .await
    .unwrap();
    assert_eq!(
        i64::try_from(fleet.svc.db.resuppress(now).await.unwrap()).unwrap(),
        prefixed
    );
    assert_eq!(
        count(
            &fleet,
            "SELECT COUNT(*) FROM findings WHERE status = 'SUPPRESSED'"
        )
        .await,
        prefixed
    );
}
