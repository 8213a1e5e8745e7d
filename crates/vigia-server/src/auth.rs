//! API tokens: `vgt_<id>_<secret>`, stored as the SHA-256 of the secret,
//! each with one role.
//!
//! - `viewer` reads.
//! - `admin` reads and writes.
//! - `agent` only submits inventories.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::{DbResult, StateDb};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Submits inventories only.
    Agent,
    /// Reads.
    Viewer,
    /// Reads and writes.
    Admin,
}

impl Role {
    /// `admin`, `viewer`, `agent`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Viewer => "viewer",
            Self::Admin => "admin",
        }
    }

    /// From its name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "agent" => Some(Self::Agent),
            "viewer" => Some(Self::Viewer),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// A token as created: the secret is shown this once.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewToken {
    /// Its public ID.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// The whole token, to send as `Authorization: Bearer …`.
    pub token: String,
    /// For AWS clients (SigV4): the access key ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// For AWS clients (SigV4): the secret access key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<String>,
}

fn random_hex(bytes: usize) -> String {
    let id = (0..bytes.div_ceil(16))
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect::<String>();
    id[..bytes * 2].to_owned()
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two equal-length strings without stopping at the first
/// difference. Written here because it is four lines; the strings compared
/// are SHA-256 digests, never secrets.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether a token's name is one the API and the CLI accept: 1 to 64
/// characters.
#[must_use]
pub fn valid_token_name(name: &str) -> bool {
    (1..=64).contains(&name.chars().count())
}

impl StateDb {
    /// Creates a token.
    pub async fn create_token(&self, name: &str, role: Role, now: &str) -> DbResult<NewToken> {
        let id = random_hex(8);
        let secret = random_hex(24);
        sqlx::query("INSERT INTO tokens (id, name, role, secret_sha256, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(name)
            .bind(role.as_str())
            .bind(hash(&secret))
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(NewToken {
            token: format!("vgt_{id}_{secret}"),
            access_key_id: None,
            secret_access_key: None,
            id,
            name: name.to_owned(),
            role,
        })
    }

    /// The role of a presented token; `None` when it is unknown, malformed
    /// or revoked.
    pub async fn check_token(&self, presented: &str) -> DbResult<Option<Role>> {
        let Some((id, secret)) = presented
            .strip_prefix("vgt_")
            .and_then(|t| t.split_once('_'))
        else {
            return Ok(None);
        };
        let row = sqlx::query("SELECT role, secret_sha256, revoked_at FROM tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let revoked: Option<String> = row.try_get("revoked_at")?;
        let stored: String = row.try_get("secret_sha256")?;
        if revoked.is_some() || !same(&stored, &hash(secret)) {
            return Ok(None);
        }
        let role: String = row.try_get("role")?;
        Ok(Role::parse(&role))
    }

    /// The role of an active token, by ID (for requests signed with its
    /// SigV4 secret).
    pub async fn token_role(&self, id: &str) -> DbResult<Option<Role>> {
        let row = sqlx::query("SELECT role FROM tokens WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row
            .and_then(|r| r.try_get::<String, _>("role").ok())
            .and_then(|r| Role::parse(&r)))
    }

    /// Every token: ID, name, role, when created and revoked (never a
    /// secret or its hash).
    pub async fn tokens(&self) -> DbResult<Vec<serde_json::Value>> {
        let rows = sqlx::query(
            "SELECT id, name, role, created_at, revoked_at FROM tokens ORDER BY created_at, id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(serde_json::json!({
                    "id": r.try_get::<String, _>("id")?,
                    "name": r.try_get::<String, _>("name")?,
                    "role": r.try_get::<String, _>("role")?,
                    "createdAt": r.try_get::<String, _>("created_at")?,
                    "revokedAt": r.try_get::<Option<String>, _>("revoked_at")?,
                }))
            })
            .collect()
    }

    /// Revokes a token by ID; whether it existed.
    pub async fn revoke_token(&self, id: &str, now: &str) -> DbResult<bool> {
        let done =
            sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tokens_are_hashed_checked_and_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
            .await
            .unwrap();
        let t = db
            .create_token("ci", Role::Viewer, "2026-12-06T00:00:00Z")
            .await
            .unwrap();
        assert_eq!(db.check_token(&t.token).await.unwrap(), Some(Role::Viewer));
        // The secret is not stored.
        let (_, secret) = t
            .token
            .strip_prefix("vgt_")
            .unwrap()
            .split_once('_')
            .unwrap();
        let stored: String = sqlx::query("SELECT secret_sha256 FROM tokens")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        assert!(!stored.contains(secret));
        let wrong = format!("{}x", &t.token[..t.token.len() - 1]);
        assert_eq!(db.check_token(&wrong).await.unwrap(), None);
        assert_eq!(db.check_token("Bearer nonsense").await.unwrap(), None);
        assert!(
            db.revoke_token(&t.id, "2026-12-06T00:00:01Z")
                .await
                .unwrap()
        );
        assert_eq!(db.check_token(&t.token).await.unwrap(), None);
    }
}
