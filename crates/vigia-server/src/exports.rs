//! Findings reports and SBOM exports (Inspector's `CreateFindingsReport`
//! and `CreateSbomExport`): rendered in the background and written to the
//! request's destination, a bucket and key prefix. The bucket is one of
//! S3-compatible storage when the service is given an endpoint
//! (`--export-s3-endpoint`, credentials from the usual `AWS_*` variables),
//! else a folder of the same name under `exports/` in the data directory.
//! Either way it must exist: a missing one fails the export with
//! `BUCKET_NOT_FOUND`, as Inspector does.

use std::path::PathBuf;
use std::sync::Arc;

use object_store::ObjectStore;
use serde_json::{Value, json};
use sqlx::Row;

use crate::db::{DbResult, StateDb};

/// Where exports go.
#[derive(Debug, Clone)]
pub enum Storage {
    /// Buckets are folders under this one.
    Folder(PathBuf),
    /// An S3-compatible endpoint (`http://127.0.0.1:9000`, AWS when
    /// `None` with a region from the environment).
    S3 {
        /// The endpoint URL.
        endpoint: Option<String>,
    },
}

/// An export's destination, as Inspector's `Destination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The bucket.
    pub bucket: String,
    /// Keys start with it.
    pub key_prefix: String,
}

impl Destination {
    /// Reads and checks `s3Destination`: `bucketName` and `kmsKeyArn` are
    /// required (as in Inspector's model; the key is not used to encrypt
    /// here).
    ///
    /// # Errors
    /// What is missing or malformed.
    pub fn parse(v: &Value) -> Result<Self, String> {
        let bucket = v
            .get("bucketName")
            .and_then(Value::as_str)
            .filter(|b| {
                !b.is_empty()
                    && b.len() <= 63
                    && b.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
            })
            .ok_or("s3Destination.bucketName must be a bucket name (lowercase letters, digits, '-', '.')")?;
        if v.get("kmsKeyArn")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err("s3Destination.kmsKeyArn is required".to_owned());
        }
        let key_prefix = v
            .get("keyPrefix")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim_matches('/')
            .to_owned();
        if key_prefix.split('/').any(|p| p == ".." || p == ".") {
            return Err("s3Destination.keyPrefix must not hold `.` or `..` segments".to_owned());
        }
        Ok(Self {
            bucket: bucket.to_owned(),
            key_prefix,
        })
    }

    /// The key of `name` under the prefix.
    #[must_use]
    pub fn key(&self, name: &str) -> String {
        if self.key_prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.key_prefix)
        }
    }
}

/// Why writing failed, as Inspector's `ReportingErrorCode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `BUCKET_NOT_FOUND`, `INVALID_PERMISSIONS`, `NO_FINDINGS_FOUND`,
    /// `INTERNAL_ERROR`.
    pub code: &'static str,
    /// In words.
    pub message: String,
}

impl Storage {
    fn store(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>, Failure> {
        match self {
            Self::Folder(root) => {
                let dir = root.join(bucket);
                if !dir.is_dir() {
                    return Err(Failure {
                        code: "BUCKET_NOT_FOUND",
                        message: format!("no bucket {bucket}: create the folder {}", dir.display()),
                    });
                }
                object_store::local::LocalFileSystem::new_with_prefix(&dir)
                    .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
                    .map_err(|e| internal(&e))
            }
            Self::S3 { endpoint } => {
                let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
                if let Some(url) = endpoint {
                    b = b
                        .with_endpoint(url)
                        .with_allow_http(url.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                b.build()
                    .map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
                    .map_err(|e| internal(&e))
            }
        }
    }

    /// Writes `body` at `key` of `bucket`.
    ///
    /// # Errors
    /// The bucket is missing, access is refused, or the write failed.
    pub async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), Failure> {
        let store = self.store(bucket)?;
        let path = object_store::path::Path::parse(key).map_err(|e| internal(&e))?;
        store
            .put(&path, object_store::PutPayload::from(body))
            .await
            .map(|_| ())
            .map_err(|e| {
                let text = e.to_string();
                match e {
                    object_store::Error::NotFound { .. } => Failure {
                        code: "BUCKET_NOT_FOUND",
                        message: format!("no bucket {bucket}: {text}"),
                    },
                    object_store::Error::PermissionDenied { .. }
                    | object_store::Error::Unauthenticated { .. } => Failure {
                        code: "INVALID_PERMISSIONS",
                        message: text,
                    },
                    _ if text.contains("NoSuchBucket") => Failure {
                        code: "BUCKET_NOT_FOUND",
                        message: format!("no bucket {bucket}"),
                    },
                    _ if text.contains("AccessDenied")
                        || text.contains("SignatureDoesNotMatch") =>
                    {
                        Failure {
                            code: "INVALID_PERMISSIONS",
                            message: text,
                        }
                    }
                    _ => Failure {
                        code: "INTERNAL_ERROR",
                        message: text,
                    },
                }
            })
    }
}

fn internal(e: &dyn std::fmt::Display) -> Failure {
    Failure {
        code: "INTERNAL_ERROR",
        message: e.to_string(),
    }
}

/// An export as stored.
#[derive(Debug, Clone)]
pub struct ExportRecord {
    /// Its ID.
    pub id: String,
    /// `FINDINGS` or `SBOM`.
    pub kind: String,
    /// Its format.
    pub format: String,
    /// `IN_PROGRESS`, `SUCCEEDED`, `FAILED` or `CANCELLED`.
    pub status: String,
    /// Inspector's `Destination`.
    pub destination: Value,
    /// The criteria it was made with.
    pub filter: Value,
    /// Why it failed.
    pub error_code: Option<String>,
    /// In words.
    pub error_message: Option<String>,
    /// The keys written.
    pub keys: Vec<String>,
}

/// Microseconds, fixed width: exports created within one second still
/// sort in the order they were made (the last one is asked for by time).
fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

impl StateDb {
    /// Records a new export, in progress.
    pub async fn create_export(
        &self,
        id: &str,
        kind: &str,
        format: &str,
        destination: &Value,
        filter: &Value,
    ) -> DbResult<()> {
        sqlx::query(
            "INSERT INTO exports (id, kind, format, status, destination, filter, created_at) \
             VALUES ($1, $2, $3, 'IN_PROGRESS', $4, $5, $6)",
        )
        .bind(id)
        .bind(kind)
        .bind(format)
        .bind(destination.to_string())
        .bind(filter.to_string())
        .bind(now())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// One export of `kind`.
    pub async fn export(&self, id: &str, kind: &str) -> DbResult<Option<ExportRecord>> {
        let row = sqlx::query(
            "SELECT id, kind, format, status, destination, filter, error_code, error_message, keys \
             FROM exports WHERE id = $1 AND kind = $2",
        )
        .bind(id)
        .bind(kind)
        .fetch_optional(self.pool())
        .await?;
        Self::export_record(row)
    }

    /// The export of `kind` created last (what Inspector's
    /// `GetFindingsReportStatus` answers without a `reportId`).
    pub async fn latest_export(&self, kind: &str) -> DbResult<Option<ExportRecord>> {
        let row = sqlx::query(
            "SELECT id, kind, format, status, destination, filter, error_code, error_message, keys \
             FROM exports WHERE kind = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .bind(kind)
        .fetch_optional(self.pool())
        .await?;
        Self::export_record(row)
    }

    fn export_record(row: Option<sqlx::any::AnyRow>) -> DbResult<Option<ExportRecord>> {
        let Some(r) = row else { return Ok(None) };
        let json = |col: &str| -> DbResult<Value> {
            let t: Option<String> = r.try_get(col)?;
            Ok(t.and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null))
        };
        Ok(Some(ExportRecord {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            format: r.try_get("format")?,
            status: r.try_get("status")?,
            destination: json("destination")?,
            filter: json("filter")?,
            error_code: r.try_get("error_code")?,
            error_message: r.try_get("error_message")?,
            keys: serde_json::from_value(json("keys")?).unwrap_or_default(),
        }))
    }

    /// Ends an export in progress: `SUCCEEDED` with the keys written, or
    /// `FAILED`. One cancelled meanwhile stays cancelled.
    pub async fn finish_export(
        &self,
        id: &str,
        outcome: Result<Vec<String>, Failure>,
    ) -> DbResult<()> {
        let (status, code, message, keys) = match outcome {
            Ok(keys) => ("SUCCEEDED", None, None, json!(keys)),
            Err(f) => ("FAILED", Some(f.code), Some(f.message), json!([])),
        };
        sqlx::query(
            "UPDATE exports SET status = $1, error_code = $2, error_message = $3, keys = $4, finished_at = $5 \
             WHERE id = $6 AND status = 'IN_PROGRESS'",
        )
        .bind(status)
        .bind(code)
        .bind(message)
        .bind(keys.to_string())
        .bind(now())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Cancels an export in progress; `false` when there is none.
    pub async fn cancel_export(&self, id: &str, kind: &str) -> DbResult<bool> {
        let n = sqlx::query(
            "UPDATE exports SET status = 'CANCELLED', finished_at = $1 WHERE id = $2 AND kind = $3 AND status = 'IN_PROGRESS'",
        )
        .bind(now())
        .bind(id)
        .bind(kind)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n > 0)
    }

    /// Exports a process stopped in the middle of (at start: exports run
    /// in the process that took them).
    pub async fn fail_interrupted_exports(&self) -> DbResult<u64> {
        Ok(sqlx::query(
            "UPDATE exports SET status = 'FAILED', error_code = 'INTERNAL_ERROR', \
             error_message = 'the service stopped before the export was written: create it again', finished_at = $1 \
             WHERE status = 'IN_PROGRESS'",
        )
        .bind(now())
        .execute(self.pool())
        .await?
        .rows_affected())
    }
}

/// Whether a resource passes Inspector's `ResourceFilterCriteria` (the keys
/// Vigia's resources have: `resourceId`, `resourceType`,
/// `ecrRepositoryName`, `ecrImageTags`, `lambdaFunctionName`; `EQUALS`
/// values ORed, `NOT_EQUALS` values ANDed, keys ANDed).
///
/// # Errors
/// A key Vigia's resources do not have, or a malformed filter.
pub fn resource_matches(
    filter: &Value,
    r: &crate::resources::ResourceRecord,
) -> Result<bool, String> {
    let details = &r.details;
    let image = details
        .pointer("/details/awsEcrContainerImage")
        .unwrap_or(&Value::Null);
    let function = details
        .pointer("/details/awsLambdaFunction")
        .unwrap_or(&Value::Null);
    let values = |key: &str| -> Option<Vec<String>> {
        let one = |v: &Value| v.as_str().map(str::to_owned);
        Some(match key {
            "resourceId" => vec![r.id.clone()],
            "resourceType" => vec![r.kind.clone()],
            "ecrRepositoryName" => one(&image["repositoryName"]).into_iter().collect(),
            "ecrImageTags" => image["imageTags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(one)
                .collect(),
            "lambdaFunctionName" => one(&function["functionName"]).into_iter().collect(),
            "accountId" => vec![vigia_scan::ACCOUNT_ID.to_owned()],
            _ => return None,
        })
    };
    let Some(filter) = filter.as_object() else {
        return Ok(true);
    };
    for (key, conditions) in filter {
        let have =
            values(key).ok_or_else(|| format!("resourceFilterCriteria: unknown key `{key}`"))?;
        let conditions = conditions
            .as_array()
            .ok_or_else(|| format!("resourceFilterCriteria.{key} must be a list"))?;
        let mut any_equals = false;
        let mut equals_hit = false;
        for c in conditions {
            let value = c["value"]
                .as_str()
                .ok_or_else(|| format!("resourceFilterCriteria.{key}: each needs a value"))?;
            match c["comparison"].as_str() {
                Some("EQUALS") => {
                    any_equals = true;
                    equals_hit |= have.iter().any(|h| h == value);
                }
                Some("NOT_EQUALS") => {
                    if have.iter().any(|h| h == value) {
                        return Ok(false);
                    }
                }
                _ => {
                    return Err(format!(
                        "resourceFilterCriteria.{key}: comparison is EQUALS or NOT_EQUALS"
                    ));
                }
            }
        }
        if any_equals && !equals_hit {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_are_checked() {
        let d = Destination::parse(&json!({"bucketName": "reports", "keyPrefix": "/team/a/", "kmsKeyArn": "arn:aws:kms:k"})).unwrap();
        assert_eq!(d.key("r.json"), "team/a/r.json");
        assert!(Destination::parse(&json!({"bucketName": "Reports", "kmsKeyArn": "k"})).is_err());
        assert!(Destination::parse(&json!({"bucketName": "reports"})).is_err());
        assert!(
            Destination::parse(
                &json!({"bucketName": "reports", "kmsKeyArn": "k", "keyPrefix": "a/../b"})
            )
            .is_err()
        );
    }

    #[tokio::test]
    async fn a_folder_bucket_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::Folder(dir.path().to_owned());
        let e = s
            .put("reports", "a/b.json", b"{}".to_vec())
            .await
            .unwrap_err();
        assert_eq!(e.code, "BUCKET_NOT_FOUND");
        fs_err::create_dir(dir.path().join("reports")).unwrap();
        s.put("reports", "a/b.json", b"{}".to_vec()).await.unwrap();
        assert_eq!(
            fs_err::read(dir.path().join("reports/a/b.json")).unwrap(),
            b"{}"
        );
    }
}
