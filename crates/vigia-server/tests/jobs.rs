//! Jobs that never finish: a scan whose worker stopped every time it was
//! taken is given up, its resource's coverage says why, and it is not
//! taken again until the resource changes.

mod fleet;

use std::time::{Duration, Instant};

use fleet::Fleet;
use vigia_server::jobs::JobKind;

#[tokio::test(flavor = "multi_thread")]
async fn a_scan_that_never_finishes_is_given_up_until_its_resource_changes() {
    let fleet = Fleet::start(false).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let shared = vigia_test_support::shared_dir().join("targets/fn-node.zip");
    let now = "2026-12-06T00:00:00Z";
    let db = &fleet.svc.db;
    // Taken five times already (the limit), and four times.
    let mut sources = Vec::new();
    for (name, attempts) in [("poison.zip", 5), ("retried.zip", 4)] {
        let path = dir.path().join(name);
        fs_err::copy(&shared, &path).unwrap();
        let source = path.display().to_string();
        db.register(&source, "AWS_LAMBDA_FUNCTION", now)
            .await
            .unwrap();
        assert!(
            db.enqueue(JobKind::Scan, &source, Some(name), now)
                .await
                .unwrap()
        );
        sqlx::query("UPDATE jobs SET attempts = $1 WHERE subject = $2")
            .bind(attempts)
            .bind(&source)
            .execute(db.pool())
            .await
            .unwrap();
        sources.push(source);
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(fleet.svc.clone().work(stopped));
    let deadline = Instant::now() + Duration::from_secs(60);
    while db.pending(JobKind::Scan).await.unwrap() {
        assert!(Instant::now() < deadline, "the jobs were never done");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send(true).unwrap();
    worker.await.unwrap();

    let poison = db.resource_by_source(&sources[0]).await.unwrap().unwrap();
    assert_eq!(
        (poison.status_code.as_str(), poison.status_reason.as_str()),
        ("INACTIVE", "INTERNAL_ERROR")
    );
    assert!(
        poison
            .status_message
            .as_deref()
            .unwrap_or_default()
            .contains("5 times"),
        "{poison:?}"
    );
    // Remembered as read: the watcher takes it again only when it changes.
    assert_eq!(poison.content_hash.as_deref(), Some("poison.zip"));
    assert!(poison.last_scanned_at.is_none());
    let retried = db.resource_by_source(&sources[1]).await.unwrap().unwrap();
    assert_eq!(retried.status_reason, "SUCCESSFUL", "{retried:?}");
}
