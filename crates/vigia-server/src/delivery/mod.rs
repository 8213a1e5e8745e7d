//! Delivery of the outbox's events to targets.
//!
//! Every finding change, scan and coverage change is written to the outbox
//! in the transaction that makes it (lifecycle.rs). Delivery then runs in
//! two steps, each safe to repeat and to share between processes:
//!
//! 1. **Hand-over** ([`crate::db::StateDb::dispatch`]): each event not yet handed over
//!    gets a delivery row for every target whose event pattern it matches,
//!    and is marked handed over, in one transaction. A target receives the
//!    events written after it was created.
//! 2. **Sending** ([`crate::db::StateDb::claim_deliveries`], [`Sender::send_all`]): due deliveries
//!    are claimed under a lease, sent, and recorded as delivered, retried
//!    later (the delay doubles per attempt from the target's first delay,
//!    capped at an hour, with jitter), or after the target's last attempt
//!    kept as a dead letter, listed and replayable through the API.
//!
//! A delivery is marked delivered only after the receiver answered 2xx: a
//! process killed while sending leaves the lease to run out (or to be
//! taken back at once by its successor on the same host), and the event is
//! sent again. Delivery is at least once; receivers deduplicate by the
//! event's ID, which is also the `webhook-id` header.

mod jira;
mod send;
mod store;

pub use send::{Outcome, Sender, TIMEOUT_MS, slack_text};
pub use store::{Claimed, DeliveryRecord};

use serde::Serialize;

/// What a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// Any HTTP endpoint: the event as JSON, signed the Standard Webhooks
    /// way.
    Webhook,
    /// A Slack incoming webhook: a readable message.
    Slack,
    /// AWS Security Hub: finding events as ASFF findings, through
    /// `BatchImportFindings` (signed with SigV4), up to 100 a request.
    SecurityHub,
    /// Jira: an issue per active finding, a comment when it is closed or
    /// suppressed.
    Jira,
}

impl TargetKind {
    /// Whether it takes finding events only (scan and coverage events are
    /// not handed to it).
    #[must_use]
    pub fn findings_only(self) -> bool {
        matches!(self, Self::SecurityHub | Self::Jira)
    }

    /// The name stored.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "WEBHOOK",
            Self::Slack => "SLACK",
            Self::SecurityHub => "SECURITYHUB",
            Self::Jira => "JIRA",
        }
    }

    /// From the API's `type` (`webhook`, `slack`) or the stored name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "webhook" => Some(Self::Webhook),
            "slack" => Some(Self::Slack),
            "securityhub" => Some(Self::SecurityHub),
            "jira" => Some(Self::Jira),
            _ => None,
        }
    }
}

/// A delivery target as stored.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its ID.
    pub id: String,
    /// A name people know it by.
    pub name: String,
    /// What it is.
    pub kind: TargetKind,
    /// Where events are posted.
    pub url: String,
    /// A webhook's signing secret, or Security Hub's secret access key.
    pub secret: Option<String>,
    /// What else its kind needs (Security Hub: `region`, `accessKeyId`,
    /// `accountId`); nothing secret.
    pub options: serde_json::Value,
    /// The pattern its events match.
    pub pattern: vigia_events::EventPattern,
    /// The pattern as given.
    pub pattern_json: serde_json::Value,
    /// Attempts before an event becomes a dead letter.
    pub max_attempts: i64,
    /// The first retry's delay, in milliseconds.
    pub backoff_ms: i64,
    /// When it was created.
    pub created_at: String,
}

impl Target {
    /// The target as the API shows it: its secret only as a prefix.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "name": self.name,
            "type": self.kind,
            "url": self.shown_url(),
            "secretPrefix": self.secret.as_deref().map(secret_prefix),
            "options": self.options,
            "pattern": self.pattern_json,
            "maxAttempts": self.max_attempts,
            "initialBackoffMillis": self.backoff_ms,
            "createdAt": self.created_at,
        })
    }

    /// The URL as the API, the logs and the delivery errors show it: a
    /// Slack webhook's path is its secret, and any URL's user, password
    /// and query may hold one.
    #[must_use]
    pub fn shown_url(&self) -> String {
        let Ok(url) = reqwest::Url::parse(&self.url) else {
            return "(not a URL)".to_owned();
        };
        let host = url.host_str().unwrap_or("");
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let path = match self.kind {
            TargetKind::Slack => "/…".to_owned(),
            _ if url.query().is_some() => format!("{}?…", url.path()),
            _ => url.path().to_owned(),
        };
        format!("{}://{host}{port}{path}", url.scheme())
    }

    /// The delay before attempt `attempts + 1`, after `attempts` failed:
    /// the first delay doubled per failure, at most an hour, drawn between
    /// half of it and all of it (so that receivers that failed together are
    /// not retried together).
    #[must_use]
    pub fn backoff(&self, attempts: i64) -> i64 {
        const HOUR_MS: i64 = 3_600_000;
        let doublings = u32::try_from((attempts - 1).clamp(0, 30)).unwrap_or(30);
        let full = self
            .backoff_ms
            .saturating_mul(1_i64 << doublings)
            .min(HOUR_MS);
        let half = full / 2;
        half + fastrand::i64(0..=full - half)
    }
}

/// A secret as the API lists it: its first characters (at most four, and
/// none of one under 16 characters) and a short hash of the whole, enough
/// to tell two apart, never to use or guess one: an AWS secret access key's
/// or a Jira token's first ten characters were a quarter of it.
#[must_use]
pub fn secret_prefix(secret: &str) -> String {
    use sha2::Digest as _;
    let n = secret.chars().count();
    let shown: String = secret.chars().take(if n < 16 { 0 } else { 4 }).collect();
    let hash = hex::encode(&sha2::Sha256::digest(secret.as_bytes())[..4]);
    format!("{shown}… (sha256 {hash}…)")
}

/// A delivery's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryState {
    /// Not yet delivered; tried again at its next time.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed: kept, listed, replayable.
    Dead,
}

impl DeliveryState {
    /// The name stored.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Delivered => "DELIVERED",
            Self::Dead => "DEAD",
        }
    }

    /// From the stored or requested name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "PENDING" => Some(Self::Pending),
            "DELIVERED" => Some(Self::Delivered),
            "DEAD" => Some(Self::Dead),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(backoff_ms: i64) -> Target {
        Target {
            id: "t".into(),
            name: "t".into(),
            kind: TargetKind::Webhook,
            url: "http://127.0.0.1/".into(),
            secret: None,
            options: serde_json::Value::Null,
            pattern: vigia_events::EventPattern::parse(&serde_json::json!({"source": ["x"]}))
                .unwrap(),
            pattern_json: serde_json::Value::Null,
            max_attempts: 5,
            backoff_ms,
            created_at: String::new(),
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_stops_at_an_hour() {
        let t = target(1_000);
        for _ in 0..200 {
            let first = t.backoff(1);
            assert!((500..=1_000).contains(&first), "{first}");
            let third = t.backoff(3);
            assert!((2_000..=4_000).contains(&third), "{third}");
            let late = t.backoff(40);
            assert!((1_800_000..=3_600_000).contains(&late), "{late}");
        }
        // Jitter: not always the same delay.
        let draws: std::collections::BTreeSet<i64> = (0..50).map(|_| t.backoff(2)).collect();
        assert!(draws.len() > 10, "{draws:?}");
    }

    #[test]
    fn urls_are_shown_without_what_may_be_secret() {
        let mut t = target(1);
        t.url = "https://user:pw@hooks.example:8443/in/abc?token=s3cret".into();
        assert_eq!(t.shown_url(), "https://hooks.example:8443/in/abc?…");
        t.kind = TargetKind::Slack;
        t.url = "https://hooks.slack.com/services/T000/B000/XXXXXXXX".into();
        assert_eq!(t.shown_url(), "https://hooks.slack.com/…");
    }

    #[test]
    fn secrets_show_only_a_prefix() {
        let p = secret_prefix("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert!(p.starts_with("whse… (sha256 ") && p.len() < 30, "{p}");
        assert_ne!(p, secret_prefix("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSx"));
        // A short one shows none of its characters.
        assert!(secret_prefix("hunter2pass").starts_with("… (sha256 "));
    }
}
