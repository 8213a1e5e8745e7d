//! Registries the service finds images in: how each is reached, which of
//! its repositories are watched and how often they are scanned (Inspector's
//! `scanFrequency` and `rescanDuration`), and what was last seen there
//! (tags, and the images they point at). The discovery itself is
//! `crate::service::registries`.

use serde_json::{Value, json};
use sqlx::Row;

use crate::db::{DbResult, StateDb};

/// When images are scanned, as Inspector's `EcrScanFrequency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    /// Found, not scanned until asked (`/v1/resources/rescan`): coverage
    /// says `SCAN_FREQUENCY_MANUAL`.
    Manual,
    /// Scanned when pushed (or first found), and not re-evaluated against
    /// later advisories: coverage says `SCAN_FREQUENCY_SCAN_ON_PUSH`.
    ScanOnPush,
    /// Scanned when pushed, and re-evaluated against every advisory
    /// generation for its rescan window.
    Continuous,
}

impl Frequency {
    /// Inspector's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "MANUAL",
            Self::ScanOnPush => "SCAN_ON_PUSH",
            Self::Continuous => "CONTINUOUS_SCAN",
        }
    }

    /// From Inspector's name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "MANUAL" => Some(Self::Manual),
            "SCAN_ON_PUSH" => Some(Self::ScanOnPush),
            "CONTINUOUS_SCAN" => Some(Self::Continuous),
            _ => None,
        }
    }
}

/// Inspector's `rescanDuration` values: how long after its last push an
/// image stays evaluated. `None` is `LIFETIME`.
const DURATIONS: &[(&str, Option<i64>)] = &[
    ("LIFETIME", None),
    ("DAYS_3", Some(3)),
    ("DAYS_7", Some(7)),
    ("DAYS_14", Some(14)),
    ("DAYS_30", Some(30)),
    ("DAYS_60", Some(60)),
    ("DAYS_90", Some(90)),
    ("DAYS_180", Some(180)),
];

/// The days of a `rescanDuration` (`None`: `LIFETIME`); `Err` for an
/// unknown name.
///
/// # Errors
/// A name that is not one of Inspector's.
pub fn rescan_days(name: &str) -> Result<Option<i64>, String> {
    DURATIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, d)| *d)
        .ok_or_else(|| {
            format!(
                "rescanDuration `{name}` is not one of {}",
                DURATIONS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// The default size limit of an image's layers (compressed): 10 GiB.
pub const DEFAULT_MAX_IMAGE_BYTES: i64 = 10 << 30;

/// A registry as configured.
#[derive(Clone, PartialEq, Eq)]
pub struct Registry {
    /// Its name (letters, digits, `.`, `_`, `-`).
    pub name: String,
    /// `http(s)://host[:port]`.
    pub url: String,
    /// User for basic auth and token exchange.
    pub username: Option<String>,
    /// Its password or access token (never listed).
    pub password: Option<String>,
    /// Credentials from Docker's configuration (`credHelpers`, `auths`,
    /// `credsStore`) for the registry's host.
    pub docker_config: bool,
    /// Repository globs watched (`*` any run; empty: every repository).
    pub include: Vec<String>,
    /// Repository globs left out, even when included.
    pub exclude: Vec<String>,
    /// When images are scanned.
    pub frequency: Frequency,
    /// `LIFETIME`, `DAYS_3` … `DAYS_180`.
    pub rescan_duration: String,
    /// Images whose layers add up to more are not pulled
    /// (`IMAGE_SIZE_EXCEEDED`).
    pub max_image_bytes: i64,
    /// `os/arch[/variant]` scanned of multi-platform images (default:
    /// the service host's).
    pub platform: Option<String>,
    /// How often the catalog is reconciled, in seconds.
    pub sync_seconds: i64,
    /// Entries asked for per catalog or tag page.
    pub page_size: i64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "****"))
            .finish_non_exhaustive()
    }
}

fn strings(v: Option<&Value>, key: &str) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|s| {
                s.as_str()
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{key} must be a list of non-empty strings"))
            })
            .collect(),
        Some(_) => Err(format!("{key} must be a list of strings")),
    }
}

fn int(v: Option<&Value>, key: &str, default: i64, min: i64) -> Result<i64, String> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(n) => n
            .as_i64()
            .filter(|n| *n >= min)
            .ok_or_else(|| format!("{key} must be an integer of at least {min}")),
    }
}

fn text(v: Option<&Value>, key: &str) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(format!("{key} must be a non-empty string")),
    }
}

/// The members a registry is configured with (API and file alike).
pub const MEMBERS: &[&str] = &[
    "name",
    "url",
    "username",
    "password",
    "dockerConfig",
    "include",
    "exclude",
    "scanFrequency",
    "rescanDuration",
    "maxImageBytes",
    "platform",
    "syncSeconds",
    "pageSize",
];

impl Registry {
    /// Reads a registry's configuration (`{name, url, username?,
    /// password?, dockerConfig?, include?, exclude?, scanFrequency?,
    /// rescanDuration?, maxImageBytes?, platform?, syncSeconds?,
    /// pageSize?}`); the defaults are every repository,
    /// `CONTINUOUS_SCAN`, `LIFETIME`, 10 GiB, a sync every 5 minutes and
    /// pages of 100.
    ///
    /// # Errors
    /// What is missing, unknown or malformed, naming it.
    pub fn parse(v: &Value) -> Result<Self, String> {
        let obj = v.as_object().ok_or("a registry must be a JSON object")?;
        if let Some(k) = obj.keys().find(|k| !MEMBERS.contains(&k.as_str())) {
            return Err(format!(
                "unknown member `{k}` (known: {})",
                MEMBERS.join(", ")
            ));
        }
        let name = text(obj.get("name"), "name")?
            .filter(|n| {
                n.len() <= 64
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            })
            .ok_or("name is required: 1 to 64 letters, digits, '.', '_' or '-'")?;
        let url = text(obj.get("url"), "url")?.ok_or("url is required")?;
        let parsed = url::Url::parse(&url).map_err(|e| format!("url `{url}` is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.host().is_none()
            || !matches!(parsed.path(), "" | "/")
            || parsed.query().is_some()
            || !parsed.username().is_empty()
            || parsed.password().is_some()
        {
            return Err(format!(
                "url `{url}` must be http(s)://host[:port] (credentials go in username and password)"
            ));
        }
        let username = text(obj.get("username"), "username")?;
        let password = text(obj.get("password"), "password")?;
        if username.is_some() != password.is_some() {
            return Err("username and password go together".into());
        }
        let docker_config = match obj.get("dockerConfig") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err("dockerConfig must be true or false".into()),
        };
        if docker_config && username.is_some() {
            return Err("give either username and password or dockerConfig, not both".into());
        }
        let frequency = match text(obj.get("scanFrequency"), "scanFrequency")? {
            None => Frequency::Continuous,
            Some(f) => Frequency::parse(&f).ok_or_else(|| {
                format!("scanFrequency `{f}` is not one of MANUAL, SCAN_ON_PUSH, CONTINUOUS_SCAN")
            })?,
        };
        let rescan_duration = text(obj.get("rescanDuration"), "rescanDuration")?
            .unwrap_or_else(|| "LIFETIME".to_owned());
        rescan_days(&rescan_duration)?;
        let platform = text(obj.get("platform"), "platform")?;
        if let Some(p) = &platform
            && !(2..=3).contains(&p.split('/').filter(|s| !s.is_empty()).count())
        {
            return Err(format!(
                "platform `{p}` must be os/arch[/variant], like linux/amd64"
            ));
        }
        Ok(Self {
            name,
            url: url.trim_end_matches('/').to_owned(),
            username,
            password,
            docker_config,
            include: strings(obj.get("include"), "include")?,
            exclude: strings(obj.get("exclude"), "exclude")?,
            frequency,
            rescan_duration,
            max_image_bytes: int(
                obj.get("maxImageBytes"),
                "maxImageBytes",
                DEFAULT_MAX_IMAGE_BYTES,
                1,
            )?,
            platform,
            sync_seconds: int(obj.get("syncSeconds"), "syncSeconds", 300, 1)?,
            page_size: int(obj.get("pageSize"), "pageSize", 100, 1)?,
        })
    }

    /// Whether a repository is watched: included (or no include given)
    /// and not excluded.
    #[must_use]
    pub fn watches(&self, repository: &str) -> bool {
        (self.include.is_empty()
            || self
                .include
                .iter()
                .any(|p| crate::gate::glob(p, repository)))
            && !self
                .exclude
                .iter()
                .any(|p| crate::gate::glob(p, repository))
    }

    /// The registry's host (and port), as image references name it.
    #[must_use]
    pub fn host(&self) -> String {
        url::Url::parse(&self.url).map_or_else(
            |_| self.url.clone(),
            |u| {
                let host = u.host_str().unwrap_or_default().to_owned();
                u.port().map_or(host.clone(), |p| format!("{host}:{p}"))
            },
        )
    }

    /// Whether it is reached over plain HTTP.
    #[must_use]
    pub fn insecure(&self) -> bool {
        self.url.starts_with("http://")
    }

    /// The source (and pull reference) of an image in it.
    #[must_use]
    pub fn source(&self, repository: &str, digest: &str) -> String {
        format!("{}/{repository}@{digest}", self.host())
    }

    /// The user and password to present: configured ones, or Docker's.
    #[must_use]
    pub fn credentials(&self) -> Option<(String, String)> {
        match (&self.username, &self.password) {
            (Some(u), Some(p)) => Some((u.clone(), p.clone())),
            _ if self.docker_config => vigia_engine::registry::docker_credentials(&self.host()),
            _ => None,
        }
    }

    /// What the API shows: everything but the password.
    #[must_use]
    pub fn shown(&self, synced_at: Option<&str>, sync_error: Option<&str>) -> Value {
        json!({
            "name": self.name,
            "url": self.url,
            "username": self.username,
            "passwordSet": self.password.is_some(),
            "dockerConfig": self.docker_config,
            "include": self.include,
            "exclude": self.exclude,
            "scanFrequency": self.frequency.as_str(),
            "rescanDuration": self.rescan_duration,
            "maxImageBytes": self.max_image_bytes,
            "platform": self.platform,
            "syncSeconds": self.sync_seconds,
            "pageSize": self.page_size,
            "syncedAt": synced_at,
            "syncError": sync_error,
        })
    }
}

/// A registry with what its last sync said.
#[derive(Debug, Clone)]
pub struct RegistryState {
    /// The configuration.
    pub registry: Registry,
    /// When it was last reconciled.
    pub synced_at: Option<String>,
    /// What went wrong the last time, if anything did.
    pub sync_error: Option<String>,
}

/// An image found in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryImage {
    /// `host/repository@digest`.
    pub source: String,
    /// The registry's name.
    pub registry: String,
    /// The repository.
    pub repository: String,
    /// The manifest digest.
    pub digest: String,
    /// Its last push seen.
    pub pushed_at: String,
    /// No tag points at it any more.
    pub gone: bool,
}

fn registry_row(r: &sqlx::any::AnyRow) -> DbResult<RegistryState> {
    let list = |col: &str| -> DbResult<Vec<String>> {
        let s: String = r.try_get(col)?;
        Ok(serde_json::from_str(&s).unwrap_or_default())
    };
    let frequency: String = r.try_get("frequency")?;
    let docker: i64 = r.try_get("docker_config")?;
    Ok(RegistryState {
        registry: Registry {
            name: r.try_get("name")?,
            url: r.try_get("url")?,
            username: r.try_get("username")?,
            password: r.try_get("password")?,
            docker_config: docker != 0,
            include: list("include_patterns")?,
            exclude: list("exclude_patterns")?,
            frequency: Frequency::parse(&frequency).unwrap_or(Frequency::Continuous),
            rescan_duration: r.try_get("rescan_duration")?,
            max_image_bytes: r
                .try_get::<Option<i64>, _>("max_image_bytes")?
                .unwrap_or(DEFAULT_MAX_IMAGE_BYTES),
            platform: r.try_get("platform")?,
            sync_seconds: r.try_get("sync_seconds")?,
            page_size: r.try_get("page_size")?,
        },
        synced_at: r.try_get("synced_at")?,
        sync_error: r.try_get("sync_error")?,
    })
}

fn image_row(r: &sqlx::any::AnyRow) -> DbResult<RegistryImage> {
    let gone: i64 = r.try_get("gone")?;
    Ok(RegistryImage {
        source: r.try_get("source")?,
        registry: r.try_get("registry")?,
        repository: r.try_get("repository")?,
        digest: r.try_get("digest")?,
        pushed_at: r.try_get("pushed_at")?,
        gone: gone != 0,
    })
}

const IMAGE_COLUMNS: &str = "source, registry, repository, digest, pushed_at, gone";

impl StateDb {
    /// Adds a registry, or replaces the configuration of the one of that
    /// name (what was seen there is kept).
    pub async fn put_registry(&self, r: &Registry, now: &str) -> DbResult<()> {
        let include = serde_json::to_string(&r.include).unwrap_or_else(|_| "[]".into());
        let exclude = serde_json::to_string(&r.exclude).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO registries (name, url, username, password, docker_config, include_patterns, exclude_patterns, frequency, rescan_duration, max_image_bytes, platform, sync_seconds, page_size, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
             ON CONFLICT (name) DO UPDATE SET url = $2, username = $3, password = $4, docker_config = $5, include_patterns = $6, exclude_patterns = $7, \
             frequency = $8, rescan_duration = $9, max_image_bytes = $10, platform = $11, sync_seconds = $12, page_size = $13, updated_at = $14, synced_at = NULL",
        )
        .bind(&r.name)
        .bind(&r.url)
        .bind(&r.username)
        .bind(&r.password)
        .bind(i64::from(r.docker_config))
        .bind(include)
        .bind(exclude)
        .bind(r.frequency.as_str())
        .bind(&r.rescan_duration)
        .bind(r.max_image_bytes)
        .bind(&r.platform)
        .bind(r.sync_seconds)
        .bind(r.page_size)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every registry, by name.
    pub async fn registries(&self) -> DbResult<Vec<RegistryState>> {
        sqlx::query("SELECT * FROM registries ORDER BY name")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(registry_row)
            .collect()
    }

    /// One registry.
    pub async fn registry(&self, name: &str) -> DbResult<Option<RegistryState>> {
        sqlx::query("SELECT * FROM registries WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(registry_row)
            .transpose()
    }

    /// Removes a registry and what was seen there; `false` when there is
    /// none. (Its images' resources are terminated by the caller.)
    pub async fn delete_registry(&self, name: &str) -> DbResult<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM registries WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM registry_tags WHERE registry = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Records a sync's end: when, and what went wrong if anything did.
    pub async fn registry_synced(&self, name: &str, at: &str, error: Option<&str>) -> DbResult<()> {
        sqlx::query("UPDATE registries SET synced_at = $1, sync_error = $2 WHERE name = $3")
            .bind(at)
            .bind(error)
            .bind(name)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The tags of a registry as last seen: (repository, tag, digest, seen
    /// at).
    pub async fn registry_tags(
        &self,
        registry: &str,
    ) -> DbResult<Vec<(String, String, String, String)>> {
        sqlx::query(
            "SELECT repository, tag, digest, seen_at FROM registry_tags WHERE registry = $1 ORDER BY repository, tag",
        )
        .bind(registry)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("repository")?,
                r.try_get("tag")?,
                r.try_get("digest")?,
                r.try_get("seen_at")?,
            ))
        })
        .collect()
    }

    /// Points a tag at a digest.
    pub async fn put_tag(
        &self,
        registry: &str,
        repository: &str,
        tag: &str,
        digest: &str,
        now: &str,
    ) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO registry_tags (registry, repository, tag, digest, seen_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (registry, repository, tag) DO UPDATE SET digest = $4, seen_at = $5",
        )
        .bind(registry)
        .bind(repository)
        .bind(tag)
        .bind(digest)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Forgets a tag.
    pub async fn delete_tag(&self, registry: &str, repository: &str, tag: &str) -> DbResult<()> {
        sqlx::query(
            "DELETE FROM registry_tags WHERE registry = $1 AND repository = $2 AND tag = $3",
        )
        .bind(registry)
        .bind(repository)
        .bind(tag)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The tags pointing at an image.
    pub async fn tags_of(&self, image: &RegistryImage) -> DbResult<Vec<String>> {
        sqlx::query(
            "SELECT tag FROM registry_tags WHERE registry = $1 AND repository = $2 AND digest = $3 ORDER BY tag",
        )
        .bind(&image.registry)
        .bind(&image.repository)
        .bind(&image.digest)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| r.try_get("tag").map_err(Into::into))
        .collect()
    }

    /// An image found in a registry, by its source.
    pub async fn registry_image(&self, source: &str) -> DbResult<Option<RegistryImage>> {
        sqlx::query(&format!(
            "SELECT {IMAGE_COLUMNS} FROM registry_images WHERE source = $1"
        ))
        .bind(source)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(image_row)
        .transpose()
    }

    /// Every image found in a registry.
    pub async fn registry_images(&self, registry: &str) -> DbResult<Vec<RegistryImage>> {
        sqlx::query(&format!(
            "SELECT {IMAGE_COLUMNS} FROM registry_images WHERE registry = $1 ORDER BY source"
        ))
        .bind(registry)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(image_row)
        .collect()
    }

    /// Records an image seen (pushed at `pushed_at`, or found then), or
    /// a push of one known; it is pointed at again either way.
    pub async fn put_registry_image(&self, image: &RegistryImage) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO registry_images (source, registry, repository, digest, pushed_at, gone) VALUES ($1, $2, $3, $4, $5, 0) \
             ON CONFLICT (source) DO UPDATE SET pushed_at = $5, gone = 0",
        )
        .bind(&image.source)
        .bind(&image.registry)
        .bind(&image.repository)
        .bind(&image.digest)
        .bind(&image.pushed_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Marks an image no tag points at any more.
    pub async fn registry_image_gone(&self, source: &str) -> DbResult<()> {
        sqlx::query("UPDATE registry_images SET gone = 1 WHERE source = $1")
            .bind(source)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configurations_are_checked_and_defaulted() {
        let r =
            Registry::parse(&json!({"name": "local", "url": "http://127.0.0.1:5000/"})).unwrap();
        assert_eq!(r.url, "http://127.0.0.1:5000");
        assert_eq!(r.host(), "127.0.0.1:5000");
        assert!(r.insecure());
        assert_eq!(r.frequency, Frequency::Continuous);
        assert_eq!(r.rescan_duration, "LIFETIME");
        assert_eq!(r.source("a/b", "sha256:00"), "127.0.0.1:5000/a/b@sha256:00");
        for (bad, says) in [
            (json!({"url": "http://r"}), "name is required"),
            (
                json!({"name": "a b", "url": "http://r"}),
                "name is required",
            ),
            (json!({"name": "r"}), "url is required"),
            (json!({"name": "r", "url": "ftp://r"}), "must be http(s)"),
            (
                json!({"name": "r", "url": "https://u:p@r"}),
                "must be http(s)",
            ),
            (
                json!({"name": "r", "url": "https://:secret@r"}),
                "must be http(s)",
            ),
            (
                json!({"name": "r", "url": "https://r/v2"}),
                "must be http(s)",
            ),
            (
                json!({"name": "r", "url": "https://r", "username": "u"}),
                "go together",
            ),
            (
                json!({"name": "r", "url": "https://r", "scanFrequency": "DAILY"}),
                "scanFrequency",
            ),
            (
                json!({"name": "r", "url": "https://r", "rescanDuration": "DAYS_5"}),
                "rescanDuration",
            ),
            (
                json!({"name": "r", "url": "https://r", "platform": "amd64"}),
                "os/arch",
            ),
            (
                json!({"name": "r", "url": "https://r", "pageSize": 0}),
                "pageSize",
            ),
            (
                json!({"name": "r", "url": "https://r", "tags": []}),
                "unknown member `tags`",
            ),
        ] {
            let e = Registry::parse(&bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert_eq!(rescan_days("DAYS_14"), Ok(Some(14)));
        assert_eq!(rescan_days("LIFETIME"), Ok(None));
    }

    #[test]
    fn include_and_exclude_globs() {
        let r = Registry::parse(&json!({
            "name": "r", "url": "https://r",
            "include": ["team-a/*", "base"], "exclude": ["team-a/tmp-*"]
        }))
        .unwrap();
        assert!(r.watches("team-a/api"));
        assert!(r.watches("base"));
        assert!(!r.watches("team-a/tmp-1"));
        assert!(!r.watches("team-b/api"));
        assert!(!r.watches("base-2"));
        let all = Registry::parse(&json!({"name": "r", "url": "https://r"})).unwrap();
        assert!(all.watches("anything/at/all"));
    }

    #[test]
    fn the_password_is_not_shown() {
        let r = Registry::parse(&json!({
            "name": "r", "url": "https://r", "username": "u", "password": "hunter2-secret"
        }))
        .unwrap();
        let shown = r.shown(None, None).to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("\"passwordSet\":true"));
        assert!(!format!("{r:?}").contains("hunter2"));
    }
}
