//! Dashboard accounts and sessions.
//!
//! - Users (`vigia user create`) sign in with a password, stored as an
//!   Argon2id PHC string (RustCrypto's `argon2`).
//! - A session is opened by a password or an API token. The browser holds
//!   its secret in an `HttpOnly`, `SameSite=Strict` cookie; the database
//!   holds only the secret's SHA-256, the role, and the form token (CSRF)
//!   every write must carry. A session opened with a token ends when that
//!   token is revoked.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::auth::Role;
use crate::db::{DbResult, StateDb};

/// How long a session lasts without signing in again.
pub const SESSION_HOURS: i64 = 12;

/// A password could not be hashed (the operating system gave no random
/// numbers, or the hasher refused its input).
#[derive(Debug, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub struct HashError(String);

/// An open session.
#[derive(Debug, Clone)]
pub struct Session {
    /// What it may do.
    pub role: Role,
    /// `user:<name>` or `token:<id>`.
    pub subject: String,
    /// The form token every write must carry.
    pub csrf: String,
}

/// A random token for a form (32 bytes, as hex).
///
/// # Errors
///
/// The system gave no random numbers.
pub(crate) fn random_token() -> Result<String, HashError> {
    random_hex(32)
}

fn random_hex(bytes: usize) -> Result<String, HashError> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).map_err(|e| HashError(e.to_string()))?;
    Ok(hex::encode(buf))
}

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The Argon2id PHC string of a password, with a random salt.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| HashError(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether a password is the one a PHC string was made from.
#[must_use]
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash of no user's password, verified when the name is unknown so that
/// a wrong name takes as long as a wrong password.
fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("vigia-decoy").unwrap_or_default())
}

impl StateDb {
    /// Creates a user, or sets the password and role of an existing one.
    pub async fn put_user(&self, name: &str, role: Role, phc: &str, now: &str) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash, disabled_at = NULL",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(phc)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The role of a user whose password this is; `None` otherwise. Slow on
    /// purpose (Argon2): call it off the request threads.
    pub async fn check_password(&self, name: &str, password: &str) -> DbResult<Option<Role>> {
        let row = sqlx::query(
            "SELECT role, password_hash FROM users WHERE name = $1 AND disabled_at IS NULL",
        )
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        let (role, phc) = match row {
            Some(r) => (
                Role::parse(&r.try_get::<String, _>("role")?),
                r.try_get::<String, _>("password_hash")?,
            ),
            None => (None, decoy().to_owned()),
        };
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
            .await
            .unwrap_or(false);
        Ok(role.filter(|_| ok))
    }

    /// Opens a session: the cookie's secret (shown to the browser only) and
    /// the session.
    pub async fn open_session(
        &self,
        role: Role,
        subject: &str,
        now: jiff::Timestamp,
    ) -> Result<(String, Session), SessionError> {
        let secret = random_hex(32)?;
        let csrf = random_hex(32)?;
        let expires = now + jiff::SignedDuration::from_hours(SESSION_HOURS);
        sqlx::query(
            "INSERT INTO sessions (id_sha256, role, subject, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(sha256(&secret))
        .bind(role.as_str())
        .bind(subject)
        .bind(&csrf)
        .bind(stamp(now))
        .bind(stamp(expires))
        .execute(self.pool())
        .await
        .map_err(crate::db::DbError::from)?;
        // Expired sessions go when new ones come.
        sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
            .bind(stamp(now))
            .execute(self.pool())
            .await
            .map_err(crate::db::DbError::from)?;
        Ok((
            secret,
            Session {
                role,
                subject: subject.to_owned(),
                csrf,
            },
        ))
    }

    /// The live session a cookie's secret opens; `None` when it is unknown,
    /// expired, or its token was revoked.
    pub async fn session(&self, secret: &str, now: jiff::Timestamp) -> DbResult<Option<Session>> {
        let row = sqlx::query(
            "SELECT role, subject, csrf FROM sessions WHERE id_sha256 = $1 AND expires_at > $2",
        )
        .bind(sha256(secret))
        .bind(stamp(now))
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let subject: String = row.try_get("subject")?;
        let live = if let Some(id) = subject.strip_prefix("token:") {
            self.token_role(id).await?.is_some()
        } else if let Some(name) = subject.strip_prefix("user:") {
            sqlx::query("SELECT name FROM users WHERE name = $1 AND disabled_at IS NULL")
                .bind(name)
                .fetch_optional(self.pool())
                .await?
                .is_some()
        } else {
            false
        };
        if !live {
            return Ok(None);
        }
        Ok(
            Role::parse(&row.try_get::<String, _>("role")?).map(|role| Session {
                role,
                subject,
                csrf: row.try_get("csrf").unwrap_or_default(),
            }),
        )
    }

    /// Ends a session.
    pub async fn close_session(&self, secret: &str) -> DbResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_sha256 = $1")
            .bind(sha256(secret))
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

/// A session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No random numbers.
    #[error(transparent)]
    Random(#[from] HashError),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

fn stamp(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(!phc.contains("correct horse"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct hors", &phc));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[tokio::test]
    async fn sessions_end_with_expiry_logout_and_revoked_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
            .await
            .unwrap();
        let now: jiff::Timestamp = "2026-12-06T00:00:00Z".parse().unwrap();
        db.put_user(
            "ana",
            Role::Viewer,
            &hash_password("pw-ana-123").unwrap(),
            "2026-12-06T00:00:00Z",
        )
        .await
        .unwrap();
        assert_eq!(
            db.check_password("ana", "pw-ana-123").await.unwrap(),
            Some(Role::Viewer)
        );
        assert_eq!(db.check_password("ana", "wrong").await.unwrap(), None);
        assert_eq!(db.check_password("bob", "pw-ana-123").await.unwrap(), None);

        let (secret, s) = db
            .open_session(Role::Viewer, "user:ana", now)
            .await
            .unwrap();
        assert_eq!(s.csrf.len(), 64);
        // Only the secret's hash is stored.
        let stored: String = sqlx::query("SELECT id_sha256 FROM sessions")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        assert_ne!(stored, secret);
        let later = now + jiff::SignedDuration::from_hours(1);
        assert_eq!(
            db.session(&secret, later).await.unwrap().unwrap().role,
            Role::Viewer
        );
        let expired = now + jiff::SignedDuration::from_hours(SESSION_HOURS + 1);
        assert!(db.session(&secret, expired).await.unwrap().is_none());
        db.close_session(&secret).await.unwrap();
        assert!(db.session(&secret, later).await.unwrap().is_none());

        let t = db
            .create_token("ui", Role::Admin, "2026-12-06T00:00:00Z")
            .await
            .unwrap();
        let (secret, _) = db
            .open_session(Role::Admin, &format!("token:{}", t.id), now)
            .await
            .unwrap();
        assert!(db.session(&secret, later).await.unwrap().is_some());
        db.revoke_token(&t.id, "2026-12-06T00:10:00Z")
            .await
            .unwrap();
        assert!(db.session(&secret, later).await.unwrap().is_none());
    }
}
