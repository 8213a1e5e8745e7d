//! The deployment gate's facts and decisions (see `crate::gate`).

use serde_json::{Value, json};
use sqlx::Row;

use super::{Service, ServiceError};
use crate::gate::{Decision, Facts, ImageRef, Policy, decide};

/// Where the policy is kept in the state database.
const POLICY_KEY: &str = "gate_policy";

impl Service {
    /// The gate's policy: the one last set, or the default (refuse
    /// critical and known exploited findings, and unscanned images).
    pub async fn gate_policy(&self) -> Result<Policy, ServiceError> {
        Ok(match self.db.get_state(POLICY_KEY).await? {
            Some(text) => serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| Policy::parse(&v).ok())
                .unwrap_or_default(),
            None => Policy::default(),
        })
    }

    /// Sets the gate's policy for every process on this database.
    pub async fn set_gate_policy(&self, policy: &Policy) -> Result<(), ServiceError> {
        let text = serde_json::to_string(policy).unwrap_or_default();
        self.db.set_state(POLICY_KEY, &text).await?;
        Ok(())
    }

    /// Decides each image by the policy in force, from stored findings.
    pub async fn gate(&self, images: &[String]) -> Result<Vec<Decision>, ServiceError> {
        let policy = self.gate_policy().await?;
        let now = jiff::Timestamp::now();
        let mut out = Vec::with_capacity(images.len());
        let wait = std::time::Duration::from_secs(u64::from(policy.scan_timeout_seconds));
        for image in images {
            let mut image = ImageRef::parse(image);
            // An image in a registry Vigia watches: a tag is resolved to
            // its digest there, and a digest never scanned is scanned now.
            let known = self.registry_of(&image).await?;
            if let Some((reg, repository, Some(tag))) = &known
                && image.digest.is_none()
            {
                image.digest = self.resolve_tag(reg, repository, tag).await?;
            }
            let mut facts = self.gate_facts(&image).await?;
            if !facts.scanned
                && let (Some((reg, repository, _)), Some(digest)) = (&known, &image.digest)
                && self.scan_on_demand(reg, repository, digest, wait).await?
            {
                facts = self.gate_facts(&image).await?;
            }
            out.push(decide(&policy, &image, &facts, now));
        }
        Ok(out)
    }

    /// The image resources holding `digest`, live or retired (terminated,
    /// or past the rescan window), the one scanned last first: each one's
    /// ID and when it was scanned. One never scanned comes after every
    /// scanned one (on both databases: PostgreSQL sorts nulls first when
    /// descending).
    async fn images_of(
        &self,
        digest: &str,
        retired: bool,
    ) -> Result<Vec<(String, Option<String>)>, ServiceError> {
        let status = if retired { "IN" } else { "NOT IN" };
        let rows = sqlx::query(&format!(
            "SELECT id, last_scanned_at FROM resources \
             WHERE kind = 'AWS_ECR_CONTAINER_IMAGE' AND status_reason {status} ('RESOURCE_TERMINATED', 'SCAN_ELIGIBILITY_EXPIRED') \
             AND id LIKE $1 ORDER BY last_scanned_at IS NULL, last_scanned_at DESC, id",
        ))
        .bind(format!("%@{digest}"))
        .fetch_all(self.db.pool())
        .await
        .map_err(crate::db::DbError::from)?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("id").map_err(crate::db::DbError::from)?,
                    row.try_get("last_scanned_at")
                        .map_err(crate::db::DbError::from)?,
                ))
            })
            .collect()
    }

    /// The finding bodies `query` selects of the resource bound as `$1`.
    async fn bodies(&self, query: &str, resource_id: &str) -> Result<Vec<Value>, ServiceError> {
        Ok(sqlx::query(query)
            .bind(resource_id)
            .fetch_all(self.db.pool())
            .await
            .map_err(crate::db::DbError::from)?
            .iter()
            .filter_map(|r| r.try_get::<String, _>("body").ok())
            .filter_map(|b| serde_json::from_str(&b).ok())
            .collect())
    }

    /// What is stored of an image's digest: every live image resource that
    /// holds it (one digest is one image, under whichever repositories it
    /// was scanned: a registry's copy is not searched for secrets, a
    /// watched layout's is) and their active findings, each issue once.
    /// The copy in the reference's repository names the decision's
    /// resource, else the one scanned last.
    async fn gate_facts(&self, image: &ImageRef) -> Result<Facts, ServiceError> {
        let Some(digest) = &image.digest else {
            return Ok(Facts::default());
        };
        let copies = self.images_of(digest, false).await?;
        let named = copies.iter().find(|(id, _)| {
            id.rsplit_once('@')
                .is_some_and(|(repo, _)| repo == image.repository || repo == image.canonical)
        });
        let Some((resource_id, last_scanned_at)) = named.or(copies.first()).cloned() else {
            return self.retired_facts(digest).await;
        };
        let mut findings = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (id, _) in &copies {
            for f in self
                .bodies(
                    "SELECT body FROM findings WHERE resource_id = $1 AND status = 'ACTIVE'",
                    id,
                )
                .await?
            {
                if seen.insert(same_issue(&f)) {
                    findings.push(f);
                }
            }
        }
        Ok(Facts {
            resource_id: Some(resource_id),
            // Scanned once is enough: a rescan in progress or one that
            // failed leaves the stored findings standing, and they decide.
            scanned: copies.iter().any(|(_, at)| at.is_some()),
            last_scanned_at,
            findings,
            retired: false,
        })
    }

    /// What is stored of a digest Vigia scanned and no longer tracks (its
    /// image removed from the registry, or past the rescan window): the
    /// findings that were active when it was retired. Their closing is no
    /// fix: an image still running elsewhere is as vulnerable as before.
    async fn retired_facts(&self, digest: &str) -> Result<Facts, ServiceError> {
        let Some((resource_id, last_scanned_at @ Some(_))) =
            self.images_of(digest, true).await?.into_iter().next()
        else {
            return Ok(Facts::default());
        };
        // Closed by the retirement (the last change in their history), and
        // active, not suppressed, just before it.
        let findings = self
            .bodies(
                "SELECT f.body FROM findings f JOIN finding_history h ON h.arn = f.arn \
                 WHERE f.resource_id = $1 AND f.status = 'CLOSED' \
                 AND h.seq = (SELECT MAX(seq) FROM finding_history l WHERE l.arn = f.arn) \
                 AND (h.cause = 'resource terminated' OR h.cause LIKE 'rescan window %') \
                 AND (SELECT p.status FROM finding_history p WHERE p.arn = f.arn AND p.seq < h.seq \
                      ORDER BY p.seq DESC LIMIT 1) = 'ACTIVE'",
                &resource_id,
            )
            .await?;
        Ok(Facts {
            resource_id: Some(resource_id),
            scanned: true,
            last_scanned_at,
            findings,
            retired: true,
        })
    }
}

/// What makes two copies' findings one issue of the image: the finding's
/// type, title, vulnerability, packages and file, not its ARN, resource or
/// times.
fn same_issue(f: &Value) -> String {
    json!([
        f["type"],
        f["title"],
        f["packageVulnerabilityDetails"]["vulnerabilityId"],
        f["packageVulnerabilityDetails"]["vulnerablePackages"],
        f["codeVulnerabilityDetails"]["filePath"],
    ])
    .to_string()
}
