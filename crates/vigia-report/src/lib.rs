//! Vigia's output formats: CycloneDX 1.6 and SPDX 2.3 JSON SBOMs, and the
//! findings formats ([`findings`]).
//!
//! Documents are built as `serde_json` values; the tests validate them against
//! the official schemas. Output is deterministic for the same inventory and
//! time: the serial number and document namespace derive from the content.

pub mod db;
pub mod findings;
pub mod network;
pub mod printable;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use vigia_inventory::{Inventory, Package};

/// A UUID-shaped identifier derived from the inventory (the same content gives
/// the same BOM serial number), with the RFC 4122 version and variant bits set.
fn content_uuid(inv: &Inventory) -> String {
    let mut h = Sha256::new();
    h.update(inv.target.as_bytes());
    for p in &inv.packages {
        h.update(p.purl.as_bytes());
        h.update(p.path.as_bytes());
    }
    let b: [u8; 16] = h.finalize()[..16].try_into().expect("16 bytes");
    // RFC 4122 name-based layout (version 5 and variant bits), here over a
    // SHA-256 of the content.
    uuid::Builder::from_sha1_bytes(b).into_uuid().to_string()
}

fn properties(p: &Package) -> Vec<Value> {
    let mut props = vec![
        json!({"name": "vigia:package:path", "value": p.path}),
        json!({"name": "vigia:package:found-by", "value": p.found_by}),
    ];
    if let Some(l) = &p.layer {
        props.push(json!({"name": "vigia:layer:diff-id", "value": l}));
    }
    if let Some(s) = &p.source_name {
        props.push(json!({"name": "vigia:package:source-name", "value": s}));
    }
    if let Some(s) = &p.source_version {
        props.push(json!({"name": "vigia:package:source-version", "value": s}));
    }
    for (name, value) in marks(p) {
        props.push(json!({"name": name, "value": value}));
    }
    props
}

/// What an inventory says of a package beyond its identity: declared only,
/// a development dependency, how its identity was read.
fn marks(p: &Package) -> Vec<(&'static str, String)> {
    let mut marks = Vec::new();
    if p.declared {
        marks.push(("vigia:package:declared", "true".to_owned()));
    }
    if p.dev {
        marks.push(("vigia:package:dev", "true".to_owned()));
    }
    if let Some(e) = &p.evidence {
        marks.push(("vigia:package:evidence", e.clone()));
    }
    marks
}

/// A CycloneDX 1.6 JSON BOM. `timestamp` is RFC 3339 (UTC).
#[must_use]
pub fn cyclonedx(inv: &Inventory, timestamp: &str, tool_version: &str) -> Value {
    let root_type = match inv.kind.as_str() {
        "image" => "container",
        "rootfs" => "operating-system",
        _ => "application",
    };
    let mut components: Vec<Value> = Vec::new();
    if let Some(os) = &inv.os {
        components.push(json!({
            "type": "operating-system",
            "bom-ref": format!("os:{}@{}", os.id, os.version_id),
            "name": os.id,
            "version": os.version_id,
            "description": os.pretty_name.clone().unwrap_or_default(),
        }));
    }
    for p in &inv.packages {
        let mut c = json!({
            "type": "library",
            "bom-ref": format!("{}|{}", p.purl, p.path),
            "name": p.name,
            "version": p.version,
            "purl": p.purl,
            "properties": properties(p),
        });
        if let Some(l) = &p.license {
            c["licenses"] = json!([{"license": {"name": l}}]);
        }
        // CycloneDX's own word for what is not needed at run time.
        if p.dev {
            c["scope"] = json!("excluded");
        }
        components.push(c);
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", content_uuid(inv)),
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {"components": [{"type": "application", "name": "vigia", "version": tool_version}]},
            "component": {"type": root_type, "bom-ref": "vigia:target", "name": inv.target},
        },
        "components": components,
    })
}

/// An SPDX 2.3 JSON document. `created` is RFC 3339 (UTC, whole seconds).
#[must_use]
pub fn spdx(inv: &Inventory, created: &str, tool_version: &str) -> Value {
    let mut packages = vec![json!({
        "SPDXID": "SPDXRef-Target",
        "name": inv.target,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": match inv.kind.as_str() { "image" => "CONTAINER", "rootfs" => "OPERATING_SYSTEM", _ => "APPLICATION" },
    })];
    let mut relationships = vec![
        json!({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Target"}),
    ];
    for (i, p) in inv.packages.iter().enumerate() {
        let id = format!("SPDXRef-Package-{}-{i}", p.kind);
        let mut source = format!("found in {}", p.path);
        if let Some(l) = &p.layer {
            source.push_str(&format!(" (layer {l})"));
        }
        // SPDX 2.3 has no field for a source package: annotations keep it, so
        // that `vigia scan sbom` matches OS packages by their source again.
        let marks = marks(p);
        let annotations: Vec<Value> = [
            ("vigia:package:source-name", p.source_name.as_deref()),
            ("vigia:package:source-version", p.source_version.as_deref()),
            ("vigia:layer:diff-id", p.layer.as_deref()),
            ("vigia:package:path", Some(p.path.as_str())),
        ]
        .into_iter()
        .chain(marks.iter().map(|(k, v)| (*k, Some(v.as_str()))))
        .filter_map(|(k, v)| {
            v.map(|v| json!({"annotationDate": created, "annotationType": "OTHER", "annotator": format!("Tool: vigia-{tool_version}"), "comment": format!("{k}={v}")}))
        })
        .collect();
        packages.push(json!({
            "annotations": annotations,
            "SPDXID": id,
            "name": p.name,
            "versionInfo": p.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "sourceInfo": source,
            "primaryPackagePurpose": "LIBRARY",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": p.purl}],
        }));
        relationships.push(json!({"spdxElementId": "SPDXRef-Target", "relationshipType": "CONTAINS", "relatedSpdxElement": id}));
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": inv.target,
        "documentNamespace": format!("https://vigia.invalid/spdx/{}", content_uuid(inv)),
        "creationInfo": {"created": created, "creators": [format!("Tool: vigia-{tool_version}")]},
        "packages": packages,
        "relationships": relationships,
    })
}
