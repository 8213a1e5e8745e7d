//! The job table: the work every `vigia serve` process on one database
//! shares. Watchers and schedules add jobs (one pending job per subject:
//! adding it again is a no-op); workers claim one at a time under a lease
//! they renew while they work. A worker killed mid-job stops renewing, its
//! lease runs out, and another worker takes the job again. On PostgreSQL a
//! claim skips rows another worker has locked (`FOR UPDATE SKIP LOCKED`)
//! and a new job wakes the workers (`NOTIFY vigia_jobs`); on SQLite the
//! database takes one writer at a time and workers look every second.

use std::time::Duration;

use sqlx::Row;

use crate::db::{Backend, DbResult, StateDb};

/// [`StateDb::enqueue`] within a transaction of the caller's (PostgreSQL
/// delivers its `NOTIFY` when the transaction commits).
pub(crate) async fn enqueue_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    kind: JobKind,
    subject: &str,
    fingerprint: Option<&str>,
    now: &str,
) -> DbResult<bool> {
    let added = sqlx::query(
        "INSERT INTO jobs (kind, subject, fingerprint, state, attempts, created_at) \
         VALUES ($1, $2, $3, 'QUEUED', 0, $4) ON CONFLICT (kind, subject) DO NOTHING",
    )
    .bind(kind.as_str())
    .bind(subject)
    .bind(fingerprint)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        > 0;
    if added && backend == Backend::Postgres {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(kind.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(added)
}

/// The channel `NOTIFY` wakes workers on.
pub const CHANNEL: &str = "vigia_jobs";

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// Read a resource and evaluate it (subject: its source).
    Scan,
    /// Update advisories and rematch what changed (subject: `advisories`).
    Update,
    /// Bring every stored evaluation to the generation in force (subject:
    /// `advisories`): after a restart that interrupted one.
    Rematch,
    /// Reconcile a registry with its catalog (subject: `registry:NAME`).
    Discover,
}

impl JobKind {
    /// The name stored.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scan => "SCAN",
            Self::Update => "UPDATE",
            Self::Rematch => "REMATCH",
            Self::Discover => "DISCOVER",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "SCAN" => Some(Self::Scan),
            "UPDATE" => Some(Self::Update),
            "REMATCH" => Some(Self::Rematch),
            "DISCOVER" => Some(Self::Discover),
            _ => None,
        }
    }
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// What it does.
    pub kind: JobKind,
    /// What it does it to.
    pub subject: String,
    /// For a scan: the fingerprint the watcher saw.
    pub fingerprint: Option<String>,
    /// How many times it was claimed, this time included.
    pub attempts: i64,
}

/// Whether a lease `held` by a process was abandoned, seen from the
/// process `owner` (`host:pid:random`, as both are): the holder ran on this
/// host and is gone. A process with this one's ID that is not this one was
/// its predecessor (IDs are reused, in containers often 1).
pub(crate) fn abandoned(owner: &str, held: &str, alive: &impl Fn(u32) -> bool) -> bool {
    let mut parts = owner.splitn(3, ':');
    let (Some(host), Some(me)) = (parts.next(), parts.next()) else {
        return false;
    };
    let mut p = held.splitn(3, ':');
    let (Some(h), Some(pid)) = (p.next(), p.next().and_then(|x| x.parse::<u32>().ok())) else {
        return false;
    };
    h == host && held != owner && (pid.to_string() == me || !alive(pid))
}

fn epoch_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX).max(1)
}

impl StateDb {
    /// Adds a job unless one for the same subject is pending; `true` when
    /// it was added.
    pub async fn enqueue(
        &self,
        kind: JobKind,
        subject: &str,
        fingerprint: Option<&str>,
        now: &str,
    ) -> DbResult<bool> {
        let mut tx = self.begin_write().await?;
        let added = enqueue_in(&mut tx, self.backend(), kind, subject, fingerprint, now).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// Claims the oldest job nobody holds (queued, or running under a lease
    /// that ran out) for `owner`, until `lease` from now. Advisory work
    /// comes before scans.
    pub async fn claim(&self, owner: &str, lease: Duration) -> DbResult<Option<Job>> {
        let now = epoch_now();
        let skip_locked = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'RUNNING', owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE (kind, subject) = (SELECT kind, subject FROM jobs \
             WHERE state = 'QUEUED' OR lease_until < $3 \
             ORDER BY CASE kind WHEN 'SCAN' THEN 1 ELSE 0 END, created_at, subject LIMIT 1{skip_locked}) \
             RETURNING kind, subject, fingerprint, attempts"
        );
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&sql)
            .bind(owner)
            .bind(now + seconds(lease))
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let kind: String = row.try_get("kind")?;
        let Some(kind) = JobKind::parse(&kind) else {
            // A kind this version does not know: left to the version that
            // added it, and not taken again by this one for a lease.
            return Ok(None);
        };
        Ok(Some(Job {
            kind,
            subject: row.try_get("subject")?,
            fingerprint: row.try_get("fingerprint")?,
            attempts: row.try_get("attempts")?,
        }))
    }

    /// Extends `owner`'s lease on a job; `false` when it no longer holds it.
    pub async fn renew(&self, job: &Job, owner: &str, lease: Duration) -> DbResult<bool> {
        let n = sqlx::query(
            "UPDATE jobs SET lease_until = $1 WHERE kind = $2 AND subject = $3 AND owner = $4 AND state = 'RUNNING'",
        )
        .bind(epoch_now() + seconds(lease))
        .bind(job.kind.as_str())
        .bind(&job.subject)
        .bind(owner)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Removes a job `owner` finished.
    pub async fn finish(&self, job: &Job, owner: &str) -> DbResult<()> {
        sqlx::query("DELETE FROM jobs WHERE kind = $1 AND subject = $2 AND owner = $3")
            .bind(job.kind.as_str())
            .bind(&job.subject)
            .bind(owner)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Frees the jobs held by processes of this host that are gone (a
    /// service killed and started again need not wait for its own leases
    /// to run out). `owner` is this process's (`host:pid:random`); `alive`
    /// says whether a process ID is running. Returns how many were freed.
    pub async fn release_abandoned(
        &self,
        owner: &str,
        alive: impl Fn(u32) -> bool,
    ) -> DbResult<u64> {
        let rows = sqlx::query("SELECT kind, subject, owner FROM jobs WHERE state = 'RUNNING'")
            .fetch_all(self.pool())
            .await?;
        let mut freed = 0;
        for r in rows {
            let held: Option<String> = r.try_get("owner")?;
            let Some(held) = held else { continue };
            if abandoned(owner, &held, &alive) {
                freed += sqlx::query(
                    "UPDATE jobs SET state = 'QUEUED', owner = NULL, lease_until = NULL \
                     WHERE kind = $1 AND subject = $2 AND owner = $3",
                )
                .bind(r.try_get::<String, _>("kind")?)
                .bind(r.try_get::<String, _>("subject")?)
                .bind(&held)
                .execute(self.pool())
                .await?
                .rows_affected();
            }
        }
        Ok(freed)
    }

    /// Jobs waiting or running, by kind.
    pub async fn queue(&self) -> DbResult<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT kind, state, COUNT(*) AS n FROM jobs GROUP BY kind, state ORDER BY kind, state",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("kind")?, r.try_get("state")?, r.try_get("n")?)))
            .collect()
    }

    /// The subjects of the pending jobs of `kind`.
    pub async fn pending_subjects(
        &self,
        kind: JobKind,
    ) -> DbResult<std::collections::BTreeSet<String>> {
        let rows = sqlx::query("SELECT subject FROM jobs WHERE kind = $1")
            .bind(kind.as_str())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok(r.try_get("subject")?)).collect()
    }

    /// Whether a job of `kind` is pending (queued or running).
    pub async fn pending(&self, kind: JobKind) -> DbResult<bool> {
        Ok(
            sqlx::query("SELECT subject FROM jobs WHERE kind = $1 LIMIT 1")
                .bind(kind.as_str())
                .fetch_optional(self.pool())
                .await?
                .is_some(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db() -> (tempfile::TempDir, StateDb) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("state.db").display());
        let db = StateDb::open(&url).await.unwrap();
        (dir, db)
    }

    #[tokio::test]
    async fn one_pending_job_per_subject_and_advisories_first() {
        let (_dir, db) = db().await;
        let now = "2026-12-06T00:00:00Z";
        assert!(
            db.enqueue(JobKind::Scan, "/a", Some("1"), now)
                .await
                .unwrap()
        );
        assert!(
            !db.enqueue(JobKind::Scan, "/a", Some("2"), now)
                .await
                .unwrap()
        );
        assert!(db.enqueue(JobKind::Scan, "/b", None, now).await.unwrap());
        assert!(
            db.enqueue(JobKind::Update, "advisories", None, "2026-12-06T00:00:01Z")
                .await
                .unwrap()
        );
        let lease = Duration::from_secs(60);
        let first = db.claim("w1", lease).await.unwrap().unwrap();
        assert_eq!(first.kind, JobKind::Update);
        let second = db.claim("w2", lease).await.unwrap().unwrap();
        assert_eq!(
            (second.subject.as_str(), second.fingerprint.as_deref()),
            ("/a", Some("1"))
        );
        let third = db.claim("w1", lease).await.unwrap().unwrap();
        assert_eq!(third.subject, "/b");
        assert_eq!(db.claim("w2", lease).await.unwrap(), None);
        // Only the holder renews or finishes.
        assert!(!db.renew(&second, "w1", lease).await.unwrap());
        assert!(db.renew(&second, "w2", lease).await.unwrap());
        db.finish(&second, "w1").await.unwrap();
        assert!(db.pending(JobKind::Scan).await.unwrap());
        db.finish(&second, "w2").await.unwrap();
        db.finish(&third, "w1").await.unwrap();
        assert!(!db.pending(JobKind::Scan).await.unwrap());
        // Finished, the subject can be queued again.
        assert!(
            db.enqueue(JobKind::Scan, "/a", Some("2"), now)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn jobs_of_a_dead_process_of_this_host_are_freed_at_once() {
        let (_dir, db) = db().await;
        let now = "2026-12-06T00:00:00Z";
        let lease = Duration::from_secs(600);
        for (subject, owner) in [
            ("/dead", "h1:41:aaaa"),
            ("/alive", "h1:42:bbbb"),
            ("/other-host", "h2:41:cccc"),
            ("/same-pid-earlier", "h1:7:dddd"),
        ] {
            db.enqueue(JobKind::Scan, subject, None, now).await.unwrap();
            db.claim(owner, lease).await.unwrap().unwrap();
        }
        let freed = db
            .release_abandoned("h1:7:eeee", |pid| pid == 42 || pid == 7)
            .await
            .unwrap();
        assert_eq!(freed, 2);
        let mut taken = Vec::new();
        while let Some(j) = db.claim("h1:7:eeee", lease).await.unwrap() {
            taken.push(j.subject);
        }
        taken.sort();
        assert_eq!(taken, ["/dead", "/same-pid-earlier"]);
    }

    #[tokio::test]
    async fn a_lease_that_runs_out_lets_another_worker_take_the_job() {
        let (_dir, db) = db().await;
        db.enqueue(JobKind::Scan, "/a", None, "2026-12-06T00:00:00Z")
            .await
            .unwrap();
        let job = db
            .claim("dead", Duration::from_secs(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            db.claim("alive", Duration::from_secs(60)).await.unwrap(),
            None
        );
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let again = db
            .claim("alive", Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((again.subject.as_str(), again.attempts), ("/a", 2));
        // The first holder lost it: it can neither renew nor finish it.
        assert!(
            !db.renew(&job, "dead", Duration::from_secs(60))
                .await
                .unwrap()
        );
        db.finish(&job, "dead").await.unwrap();
        assert!(db.pending(JobKind::Scan).await.unwrap());
    }
}
