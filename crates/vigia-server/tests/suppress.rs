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

/// A rule's expiry lifts what it suppressed, also when it passed while no
/// service was running (the service looks for expiries since it last
/// applied one, not only for those still ahead).
#[tokio::test(flavor = "multi_thread")]
async fn an_expiry_that_passed_while_stopped_is_applied() {
    let fleet = Fleet::start(false).await.unwrap();
    fleet.add_copies(3, 1).await.unwrap();
    fleet.evaluate_all().await.unwrap();
    let stamp = |t: jiff::Timestamp| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let now = jiff::Timestamp::now();
    let high = count(
        &fleet,
        "SELECT COUNT(*) FROM findings WHERE status = 'ACTIVE' AND severity = 'HIGH'",
    )
    .await;
    assert!(high > 0);
    sqlx::query(
        "INSERT INTO filters (arn, name, action, criteria, expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind("vigia:filter/two-seconds")
    .bind("two-seconds")
    .bind("SUPPRESS")
    .bind(serde_json::json!({"severity": [{"comparison": "EQUALS", "value": "HIGH"}]}).to_string())
    .bind(stamp(now + jiff::SignedDuration::from_secs(2)))
    .bind(stamp(now))
    .execute(fleet.svc.db.pool())
    .await
    .unwrap();
    fleet.svc.db.resuppress(&stamp(now)).await.unwrap();
    let suppressed = "SELECT COUNT(*) FROM findings WHERE status = 'SUPPRESSED'";
    assert_eq!(count(&fleet, suppressed).await, high);
    // The service's look before it stops: nothing has expired yet.
    fleet.svc.lift_expired().await.unwrap();
    assert_eq!(count(&fleet, suppressed).await, high);
    // The expiry passes while no service looks; the next look, later,
    // finds it behind it.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    fleet.svc.lift_expired().await.unwrap();
    assert_eq!(count(&fleet, suppressed).await, 0);
    assert_eq!(
        count(
            &fleet,
            "SELECT COUNT(*) FROM finding_history WHERE event = 'UNSUPPRESSED'"
        )
        .await,
        high
    );
}

/// A finding opened under a rule names the rule in its history, beside what
/// opened it.
#[tokio::test(flavor = "multi_thread")]
async fn a_finding_opened_under_a_rule_names_it() {
    let fleet = Fleet::start(false).await.unwrap();
    fleet.add_copies(2, 1).await.unwrap();
    sqlx::query(
        "INSERT INTO filters (arn, name, action, criteria, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind("vigia:filter/high")
    .bind("high")
    .bind("SUPPRESS")
    .bind(serde_json::json!({"severity": [{"comparison": "EQUALS", "value": "HIGH"}]}).to_string())
    .bind("2026-12-07T12:00:00Z")
    .execute(fleet.svc.db.pool())
    .await
    .unwrap();
    fleet.evaluate_all().await.unwrap();
    // The copies' findings open under the rule (the scanned image's opened
    // before it and were suppressed by it).
    let opened = count(
        &fleet,
        "SELECT COUNT(*) FROM finding_history WHERE event = 'OPENED' AND status = 'SUPPRESSED'",
    )
    .await;
    assert!(opened > 0);
    assert_eq!(
        count(
            &fleet,
            "SELECT COUNT(*) FROM finding_history WHERE event = 'OPENED' AND status = 'SUPPRESSED' \
             AND cause LIKE '%; suppressed by filter vigia:filter/high'"
        )
        .await,
        opened
    );
}
