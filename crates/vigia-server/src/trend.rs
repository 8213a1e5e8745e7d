//! Open findings by severity over time, from the findings' history: what
//! the dashboard's trend chart draws.

use futures_util::TryStreamExt as _;
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

fn rank(severity: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|s| *s == severity)
        .unwrap_or(SEVERITIES.len() - 1)
}

impl StateDb {
    /// The `days` days up to and including `today`: how many findings were
    /// `ACTIVE` at the end of each, by their current severity. Read from
    /// the history as one ordered stream (a finding's rows in turn), so
    /// memory does not grow with the findings stored.
    pub async fn open_trend(&self, days: u16, today: jiff::civil::Date) -> DbResult<Vec<Day>> {
        let first = today
            .checked_sub(jiff::Span::new().days(i64::from(days.max(1)) - 1))
            .unwrap_or(today);
        let n = usize::from(days.max(1));
        // delta[d][s]: change on day d; before[s]: open before the window.
        let mut delta = vec![[0i64; 6]; n];
        let mut before = [0i64; 6];
        let mut rows = sqlx::query(
            "SELECT h.arn, h.at, h.status, f.severity FROM finding_history h JOIN findings f ON f.arn = h.arn ORDER BY h.arn, h.seq",
        )
        .fetch(self.pool());
        let (mut arn, mut open) = (String::new(), false);
        while let Some(r) = rows.try_next().await? {
            let this: String = r.try_get("arn")?;
            if this != arn {
                arn = this;
                open = false;
            }
            let now_open = r.try_get::<String, _>("status")? == "ACTIVE";
            if now_open == open {
                continue;
            }
            open = now_open;
            let sign = if now_open { 1 } else { -1 };
            let s = rank(&r.try_get::<String, _>("severity")?);
            let at: String = r.try_get("at")?;
            let Ok(day) = at
                .get(..10)
                .unwrap_or_default()
                .parse::<jiff::civil::Date>()
            else {
                continue;
            };
            if day < first {
                before[s] += sign;
            } else if day <= today {
                let i = usize::try_from((day - first).get_days()).unwrap_or(0);
                if let Some(d) = delta.get_mut(i) {
                    d[s] += sign;
                }
            }
        }
        let mut out = Vec::with_capacity(n);
        let mut running = before;
        let mut day = first;
        for d in &delta {
            for (r, x) in running.iter_mut().zip(d) {
                *r += x;
            }
            out.push(Day {
                date: day.to_string(),
                counts: running,
            });
            day = day.tomorrow().unwrap_or(day);
        }
        Ok(out)
    }
}
