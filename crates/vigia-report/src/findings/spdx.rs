//! The SPDX VDR: the SBOM with the advisories as external references.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use vigia_inventory::Inventory;
use vigia_scan::{FindingStatus, Report};

/// An SPDX 2.3 document whose packages carry their advisories as `SECURITY`
/// external references (SPDX 2.3 has no vulnerability model of its own).
#[must_use]
pub fn spdx_vdr(inv: &Inventory, report: &Report, created: &str, tool_version: &str) -> Value {
    let mut doc = crate::spdx(inv, created, tool_version);
    let mut by_package: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for f in &report.findings {
        if f.status == FindingStatus::Suppressed {
            continue;
        }
        let Some(url) = &f.remediation.recommendation.url else {
            continue;
        };
        for p in &f.vigia.packages {
            let urls = by_package
                .entry((p.purl.clone(), p.path.clone()))
                .or_default();
            if !urls.contains(url) {
                urls.push(url.clone());
            }
        }
    }
    if let Some(pkgs) = doc.get_mut("packages").and_then(Value::as_array_mut) {
        for (i, p) in inv.packages.iter().enumerate() {
            let Some(urls) = by_package.get(&(p.purl.clone(), p.path.clone())) else {
                continue;
            };
            // Package 0 is the target itself.
            if let Some(refs) = pkgs
                .get_mut(i + 1)
                .and_then(|v| v.get_mut("externalRefs"))
                .and_then(Value::as_array_mut)
            {
                for u in urls {
                    refs.push(json!({"referenceCategory": "SECURITY", "referenceType": "advisory", "referenceLocator": u}));
                }
            }
        }
    }
    // What was not looked at, in the document's comment: a package
    // listed without advisories was not necessarily matched.
    let gaps = super::gaps(&report.scan);
    if !gaps.is_empty() {
        doc["comment"] = json!(format!(
            "Incomplete scan: what these packages' advisories are is unknown where a gap below says so. {}",
            gaps.join("; ")
        ));
    }
    doc
}
