//! Open findings by severity over time, from the findings' history: what
//! the dashboard's trend chart draws.

use serde::Serialize;
use sqlx::Row;

use crate::db::{DbResult, StateDb};

/// The severities counted, most severe first.
pub const SEVERITIES: [&str; 6] = [
    "CRITICAL",
    "HIGH",
    "MEDIUM",
    "LOW",
    "INFORMATIONAL",
    "UNTRIAGED",
];

/// Findings `ACTIVE` at the end of one day (UTC), by severity.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Counts in the order of [`SEVERITIES`].
    pub counts: [i64; 6],
}

impl StateDb {
    /// The `days` days up to and including `today`: how many findings were
    /// `ACTIVE` at the end of each, by their current severity.
    ///
    /// Read backwards from now: today's end is the findings `ACTIVE` now,
    /// and each earlier day's is the next one's less the changes the history
    /// records on it (a change into `ACTIVE` adds one, a change out of it
    /// takes one away). Only the history of the window is read, through its
    /// index by time.
    pub async fn open_trend(&self, days: u16, today: jiff::civil::Date) -> DbResult<Vec<Day>> {
        let n = usize::from(days.max(1));
        let first = today
            .checked_sub(jiff::Span::new().days(i64::from(days.max(1)) - 1))
            .unwrap_or(today);
        let mut now = [0i64; 6];
        for r in sqlx::query(
            "SELECT severity_rank, COUNT(*) AS n FROM findings WHERE status = 'ACTIVE' GROUP BY severity_rank",
        )
        .fetch_all(self.pool())
        .await?
        {
            let rank = usize::try_from(r.try_get::<i64, _>("severity_rank")?).unwrap_or(5);
            now[rank.min(5)] += r.try_get::<i64, _>("n")?;
        }
        let mut delta = vec![[0i64; 6]; n];
        let rows = sqlx::query(
            "SELECT substr(h.at, 1, 10) AS day, f.severity_rank AS rank, \
             SUM(CASE WHEN h.status = 'ACTIVE' AND (p.status IS NULL OR p.status <> 'ACTIVE') THEN 1 \
                      WHEN h.status <> 'ACTIVE' AND p.status = 'ACTIVE' THEN -1 ELSE 0 END) AS delta \
             FROM finding_history h JOIN findings f ON f.arn = h.arn \
             LEFT JOIN finding_history p ON p.arn = h.arn AND p.seq = h.seq - 1 \
             WHERE h.at >= $1 GROUP BY substr(h.at, 1, 10), f.severity_rank",
        )
        .bind(first.to_string())
        .fetch_all(self.pool())
        .await?;
        for r in rows {
            let day: String = r.try_get("day")?;
            let Ok(day) = day.parse::<jiff::civil::Date>() else {
                continue;
            };
            if day < first || day > today {
                continue;
            }
            let i = usize::try_from((day - first).get_days()).unwrap_or(0);
            let rank = usize::try_from(r.try_get::<i64, _>("rank")?)
                .unwrap_or(5)
                .min(5);
            if let Some(d) = delta.get_mut(i) {
                d[rank] += r.try_get::<Option<i64>, _>("delta")?.unwrap_or(0);
            }
        }
        let mut out = vec![
            Day {
                date: String::new(),
                counts: [0; 6],
            };
            n
        ];
        let mut running = now;
        for i in (0..n).rev() {
            let date = first
                .checked_add(jiff::Span::new().days(i64::try_from(i).unwrap_or(0)))
                .unwrap_or(first);
            out[i] = Day {
                date: date.to_string(),
                counts: running,
            };
            for (r, d) in running.iter_mut().zip(&delta[i]) {
                *r -= d;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_day_counts_what_was_active_at_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
            .await
            .unwrap();
        // a: HIGH, opened on the 1st, suppressed on the 3rd, unsuppressed on the 5th.
        // b: CRITICAL, opened on the 2nd, closed on the 4th.
        // c: HIGH, opened long before the window, still active.
        for (arn, status, sev, rank) in [
            ("a", "ACTIVE", "HIGH", 1),
            ("b", "CLOSED", "CRITICAL", 0),
            ("c", "ACTIVE", "HIGH", 1),
        ] {
            sqlx::query(
                "INSERT INTO findings (arn, resource_id, kind, status, severity, severity_rank, vulnerability_id, title, score, epss, \
                 first_observed_at, last_observed_at, updated_at, body) VALUES ($1, 'r', 'PACKAGE_VULNERABILITY', $2, $3, $4, '', '', -1, -1, '', '', '', '{}')",
            )
            .bind(arn)
            .bind(status)
            .bind(sev)
            .bind(rank)
            .execute(db.pool())
            .await
            .unwrap();
        }
        for (arn, seq, at, status) in [
            ("c", 1, "2026-10-01T00:00:00Z", "ACTIVE"),
            ("a", 1, "2026-12-01T10:00:00Z", "ACTIVE"),
            ("b", 1, "2026-12-02T10:00:00Z", "ACTIVE"),
            ("a", 2, "2026-12-03T10:00:00Z", "SUPPRESSED"),
            ("b", 2, "2026-12-04T10:00:00Z", "CLOSED"),
            ("a", 3, "2026-12-05T10:00:00Z", "ACTIVE"),
        ] {
            sqlx::query("INSERT INTO finding_history (arn, seq, at, status, event, cause) VALUES ($1, $2, $3, $4, 'X', 'test')")
                .bind(arn)
                .bind(seq)
                .bind(at)
                .bind(status)
                .execute(db.pool())
                .await
                .unwrap();
        }
        let today: jiff::civil::Date = "2026-12-06".parse().unwrap();
        let t = db.open_trend(7, today).await.unwrap();
        let got: Vec<(String, i64, i64)> = t
            .iter()
            .map(|d| (d.date.clone(), d.counts[0], d.counts[1]))
            .collect();
        let want: Vec<(String, i64, i64)> = [
            ("2026-11-30", 0, 1),
            ("2026-12-01", 0, 2),
            ("2026-12-02", 1, 2),
            ("2026-12-03", 1, 1),
            ("2026-12-04", 0, 1),
            ("2026-12-05", 0, 2),
            ("2026-12-06", 0, 2),
        ]
        .iter()
        .map(|(d, c, h)| ((*d).to_owned(), *c, *h))
        .collect();
        assert_eq!(got, want);
    }
}
