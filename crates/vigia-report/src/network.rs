//! `vigia network check`: findings of every host of a network model, as a
//! table, and one port's explanation.

use std::collections::BTreeMap;

use vigia_network::{Explanation, Network};
use vigia_scan::{
    Context, DatabaseInfo, Finding, Resource, ResourceDetails, ResourceType, Severity,
};

use crate::findings::table::paint;

/// Inspector-shaped findings for every host of `net`.
#[must_use]
pub fn findings(net: &Network, now: &str) -> Vec<Finding> {
    let mut by_host: BTreeMap<String, Vec<vigia_network::Exposure>> = BTreeMap::new();
    for e in vigia_network::check(net) {
        by_host.entry(e.host.clone()).or_default().push(e);
    }
    let mut out = Vec::new();
    for (host, exposures) in by_host {
        let ctx = Context {
            resource: Resource {
                kind: ResourceType::AwsEc2Instance,
                id: host,
                tags: BTreeMap::new(),
                details: ResourceDetails::default(),
            },
            now: now.to_owned(),
            scanner: format!("vigia {}", env!("CARGO_PKG_VERSION")),
            database: DatabaseInfo::default(),
            network: None,
        };
        out.extend(vigia_scan::network_findings(&exposures, &ctx));
    }
    out.sort_by(|a, b| {
        (a.severity, &a.resources[0].id, &a.title).cmp(&(b.severity, &b.resources[0].id, &b.title))
    });
    out
}

/// One line per finding, then its path.
#[must_use]
pub fn table(findings: &[Finding], color: bool) -> String {
    if findings.is_empty() {
        return "No port of any host is reachable from an internet gateway, a peering connection or a VPN gateway.\n"
            .to_owned();
    }
    let mut out = format!("{:<13} {:<22} {}\n", "SEVERITY", "HOST", "FINDING");
    for f in findings {
        let path: Vec<&str> = f
            .network_reachability_details
            .iter()
            .flat_map(|n| n.network_path.steps.iter().map(|s| s.component_id.as_str()))
            .collect();
        out.push_str(&format!(
            "{:<13} {:<22} {}\n{:<36} path: {}\n",
            paint(color, f.severity, f.severity.as_str()),
            f.resources.first().map_or("", |r| r.id.as_str()),
            f.title,
            "",
            path.join(" -> ")
        ));
    }
    let mut counts: BTreeMap<Severity, usize> = BTreeMap::new();
    for f in findings {
        *counts.entry(f.severity).or_default() += 1;
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{n} {}", s.as_str()))
        .collect();
    out.push_str(&format!(
        "\n{} findings: {}\n",
        findings.len(),
        parts.join(", ")
    ));
    out
}

/// Why a port is or is not reachable.
#[must_use]
pub fn explanation(e: &Explanation) -> String {
    let mut out = format!(
        "{} {}/{}: {}\n",
        e.host,
        e.port,
        e.protocol.as_str().to_ascii_lowercase(),
        if e.reachable {
            "REACHABLE"
        } else {
            "NOT REACHABLE"
        }
    );
    for p in &e.paths {
        let hops: Vec<String> = p
            .iter()
            .map(|s| format!("{} ({})", s.component_id, s.component_type))
            .collect();
        out.push_str(&format!("  open path: {}\n", hops.join(" -> ")));
    }
    for b in &e.blocked {
        out.push_str(&format!(
            "  blocked from {} {} ({}): at {} ({}): {}\n",
            b.gateway.noun(),
            b.gateway_id,
            b.family,
            b.component_id,
            b.component_type,
            b.reason
        ));
    }
    if e.paths.is_empty() && e.blocked.is_empty() {
        out.push_str("  no gateway (internet, peering, VPN) is attached to this host's networks\n");
    }
    out.push_str(&format!("  listener: {}\n", e.listener));
    out
}
