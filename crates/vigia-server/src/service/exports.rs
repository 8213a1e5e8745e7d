//! Findings reports and SBOM exports, made in the background (see
//! `crate::exports`).

use std::sync::Arc;

use serde_json::{Value, json};

use super::Service;
use crate::exports::{Destination, Failure};

/// Export kinds, as stored.
pub(crate) const FINDINGS: &str = "FINDINGS";
/// See [`FINDINGS`].
pub(crate) const SBOM: &str = "SBOM";

fn internal(e: &dyn std::fmt::Display) -> Failure {
    Failure {
        code: "INTERNAL_ERROR",
        message: e.to_string(),
    }
}

/// A name safe as one segment of an object key.
fn key_segment(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect();
    out.trim_start_matches('.').to_owned()
}

impl Service {
    /// Whether an export was cancelled meanwhile.
    async fn cancelled(&self, id: &str, kind: &str) -> bool {
        matches!(self.db.export(id, kind).await, Ok(Some(e)) if e.status == "CANCELLED")
    }

    /// Makes a findings report and records how it ended.
    pub(crate) async fn findings_report(
        self: Arc<Self>,
        id: String,
        format: String,
        destination: Destination,
        criteria: Value,
    ) {
        let outcome = self
            .findings_report_inner(&id, &format, &destination, criteria)
            .await;
        if let Err(e) = self.db.finish_export(&id, outcome).await {
            tracing::warn!(report = %id, error = %vigia_engine::error_chain(&e), "recording a findings report failed");
        }
    }

    async fn findings_report_inner(
        &self,
        id: &str,
        format: &str,
        destination: &Destination,
        mut criteria: Value,
    ) -> Result<Vec<String>, Failure> {
        // Only active findings unless the criteria say otherwise, as Inspector.
        if criteria.get("findingStatus").is_none() {
            criteria["findingStatus"] = json!([{"comparison": "EQUALS", "value": "ACTIVE"}]);
        }
        let mut findings: Vec<Value> = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let mut req = json!({ "filterCriteria": criteria, "maxResults": 100 });
            if let Some(t) = &next {
                req["nextToken"] = json!(t);
            }
            let page = crate::listing::list(&self.db, &req)
                .await
                .map_err(|e| match e {
                    crate::listing::ListError::Invalid(m) => internal(&m),
                    crate::listing::ListError::Db(e) => internal(&vigia_engine::error_chain(&e)),
                })?;
            findings.extend(page["findings"].as_array().cloned().unwrap_or_default());
            match page["nextToken"].as_str() {
                Some(t) => next = Some(t.to_owned()),
                None => break,
            }
            if self.cancelled(id, crate::service::exports::FINDINGS).await {
                return Err(internal(&"cancelled"));
            }
        }
        if findings.is_empty() {
            return Err(Failure {
                code: "NO_FINDINGS_FOUND",
                message: "no finding matches the report's filter criteria".to_owned(),
            });
        }
        let (body, ext) = if format == "CSV" {
            let parsed: Vec<vigia_scan::Finding> = findings
                .into_iter()
                .filter_map(|f| serde_json::from_value(f).ok())
                .collect();
            let text =
                vigia_report::findings::csv_findings(&parsed, true).map_err(|e| internal(&e))?;
            (text.into_bytes(), "csv")
        } else {
            let text = serde_json::to_vec_pretty(&json!({ "findings": findings }))
                .map_err(|e| internal(&e))?;
            (text, "json")
        };
        let key = destination.key(&format!("{id}.{ext}"));
        if self.cancelled(id, FINDINGS).await {
            return Err(internal(&"cancelled"));
        }
        self.exports.put(&destination.bucket, &key, body).await?;
        Ok(vec![key])
    }

    /// Makes an SBOM export and records how it ended.
    pub(crate) async fn sbom_export(
        self: Arc<Self>,
        id: String,
        format: String,
        destination: Destination,
        filter: Value,
    ) {
        let outcome = self
            .sbom_export_inner(&id, &format, &destination, &filter)
            .await;
        if let Err(e) = self.db.finish_export(&id, outcome).await {
            tracing::warn!(export = %id, error = %vigia_engine::error_chain(&e), "recording an SBOM export failed");
        }
    }

    async fn sbom_export_inner(
        &self,
        id: &str,
        format: &str,
        destination: &Destination,
        filter: &Value,
    ) -> Result<Vec<String>, Failure> {
        let resources = self
            .db
            .resources()
            .await
            .map_err(|e| internal(&vigia_engine::error_chain(&e)))?;
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let version = env!("CARGO_PKG_VERSION");
        let mut keys = Vec::new();
        for r in resources {
            if r.status_reason == "RESOURCE_TERMINATED"
                || !crate::exports::resource_matches(filter, &r).unwrap_or(false)
            {
                continue;
            }
            let Some(inventory_id) = &r.inventory_id else {
                continue;
            };
            let Some(mut inv) = self
                .db
                .inventory(inventory_id)
                .await
                .map_err(|e| internal(&vigia_engine::error_chain(&e)))?
            else {
                continue;
            };
            inv.target.clone_from(&r.id);
            let (doc, ext) = if format == "SPDX_2_3" {
                (vigia_report::spdx(&inv, &now, version), "spdx.json")
            } else {
                (vigia_report::cyclonedx(&inv, &now, version), "cdx.json")
            };
            let key = destination.key(&format!("{id}/{}.{ext}", key_segment(&r.id)));
            let body = serde_json::to_vec_pretty(&doc).map_err(|e| internal(&e))?;
            if self.cancelled(id, SBOM).await {
                return Err(internal(&"cancelled"));
            }
            self.exports.put(&destination.bucket, &key, body).await?;
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(Failure {
                code: "NO_FINDINGS_FOUND",
                message: "no scanned resource matches the export's resource filter criteria"
                    .to_owned(),
            });
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_one_safe_segment() {
        assert_eq!(
            super::key_segment("local/vigia/app@sha256:ab"),
            "local_vigia_app_sha256_ab"
        );
        assert_eq!(super::key_segment("../../etc"), "_.._etc");
    }
}
