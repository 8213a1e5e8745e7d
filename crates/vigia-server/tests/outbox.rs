//! The outbox's retention: delivered events older than the retention are
//! deleted with their deliveries; events still pending for a target, dead
//! letters and recent events stay.

use vigia_server::db::StateDb;

async fn count(db: &StateDb, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db.pool()).await.unwrap()
}

#[tokio::test]
async fn delivered_events_are_pruned_after_the_retention() {
    let dir = tempfile::tempdir().unwrap();
    let db = StateDb::open(&format!(
        "sqlite://{}",
        dir.path().join("state.db").display()
    ))
    .await
    .unwrap();
    for (id, created, handed) in [
        ("old-delivered", "2026-10-01T00:00:00Z", true),
        ("old-pending", "2026-10-01T00:00:00Z", true),
        ("old-dead", "2026-10-01T00:00:00Z", true),
        ("old-no-target", "2026-10-01T00:00:00Z", true),
        ("old-not-handed", "2026-10-01T00:00:00Z", false),
        ("new-delivered", "2026-12-05T00:00:00Z", true),
    ] {
        sqlx::query("INSERT INTO outbox (id, created_at, detail_type, resource_id, body, delivered_at) VALUES ($1, $2, 'Inspector2 Finding', 'r', '{}', $3)")
            .bind(id)
            .bind(created)
            .bind(handed.then_some(created))
            .execute(db.pool())
            .await
            .unwrap();
    }
    sqlx::query("INSERT INTO targets (id, name, kind, url, pattern, max_attempts, backoff_ms, created_at) VALUES ('t', 't', 'WEBHOOK', 'http://127.0.0.1/', '{}', 3, 10, '2026-01-01T00:00:00Z')")
        .execute(db.pool())
        .await
        .unwrap();
    for (event, state) in [
        ("old-delivered", "DELIVERED"),
        ("old-pending", "PENDING"),
        ("old-dead", "DEAD"),
        ("new-delivered", "DELIVERED"),
    ] {
        sqlx::query("INSERT INTO deliveries (target_id, event_id, state, attempts, next_at, created_at) VALUES ('t', $1, $2, 1, 0, '2026-10-01T00:00:00Z')")
            .bind(event)
            .bind(state)
            .execute(db.pool())
            .await
            .unwrap();
    }
    let pruned = db.prune_events("2026-11-06T00:00:00Z").await.unwrap();
    assert_eq!(
        pruned, 2,
        "the old delivered event and the old one no target took"
    );
    let left: Vec<String> = sqlx::query_scalar("SELECT id FROM outbox ORDER BY id")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(
        left,
        ["new-delivered", "old-dead", "old-not-handed", "old-pending"]
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM deliveries").await, 3);
}
