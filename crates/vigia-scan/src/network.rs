//! Network reachability findings in Inspector's shape, from the open
//! ranges the network analysis found.

use vigia_network::{Exposure, Level};

use crate::vuln::digest_id;
use crate::{
    ACCOUNT_ID, Context, Finding, FindingStatus, FindingType, NetworkPath,
    NetworkReachabilityDetails, PortRange, Recommendation, Remediation, Severity, Step,
    VigiaDetails,
};

fn severity(level: Level) -> Severity {
    match level {
        Level::Critical => Severity::Critical,
        Level::High => Severity::High,
        Level::Medium => Severity::Medium,
        Level::Low => Severity::Low,
        Level::Informational => Severity::Informational,
    }
}

/// One finding per open range. The finding's identity is the resource, the
/// edge kind, the protocol and the range: the same exposure found again is
/// the same finding.
#[must_use]
pub fn network_findings(exposures: &[Exposure], ctx: &Context) -> Vec<Finding> {
    exposures
        .iter()
        .map(|e| {
            let range = format!("{}-{}", e.begin, e.end);
            Finding {
                finding_arn: format!(
                    "vigia:finding/{}",
                    digest_id(&[
                        &ctx.resource.id,
                        "NETWORK_REACHABILITY",
                        e.gateway.noun(),
                        e.protocol.as_str(),
                        &range,
                    ])
                ),
                aws_account_id: ACCOUNT_ID.into(),
                kind: FindingType::NetworkReachability,
                title: e.title(),
                description: e.description(),
                remediation: Remediation {
                    recommendation: Recommendation {
                        text: vigia_network::exposure::REMEDIATION.into(),
                        url: None,
                    },
                },
                severity: severity(e.severity),
                first_observed_at: ctx.now.clone(),
                last_observed_at: ctx.now.clone(),
                updated_at: ctx.now.clone(),
                status: FindingStatus::Active,
                resources: vec![ctx.resource.clone()],
                inspector_score: None,
                inspector_score_details: None,
                package_vulnerability_details: None,
                code_vulnerability_details: None,
                network_reachability_details: Some(NetworkReachabilityDetails {
                    open_port_range: PortRange {
                        begin: e.begin,
                        end: e.end,
                    },
                    protocol: e.protocol.as_str().into(),
                    network_path: NetworkPath {
                        steps: e
                            .steps
                            .iter()
                            .map(|s| Step {
                                component_id: s.component_id.clone(),
                                component_type: s.component_type.clone(),
                            })
                            .collect(),
                    },
                }),
                fix_available: None,
                exploit_available: None,
                exploitability_details: None,
                epss: None,
                vigia: VigiaDetails {
                    reason: Some(format!(
                        "Rated {} for {}.",
                        severity(e.severity).as_str(),
                        e.severity_reason
                    )),
                    ..VigiaDetails::default()
                },
            }
        })
        .collect()
}
