//! Vigia's scan: an inventory matched against the advisory database, turned
//! into Amazon Inspector-shaped findings with scores, fix plan and suppressions.
//!
//! The steps are apart so that each can be tested and reused by the service:
//! [`match_inventory`] (in memory, per package), [`Store::vulnerabilities`]
//! for the matched IDs (one read), [`build`] (findings, one per vulnerability
//! and package), then [`suppress::apply`], [`filter`] and [`finish`] (summary
//! and fix plan).
//!
//! [`Store::vulnerabilities`]: vigia_store::Store::vulnerabilities

pub mod finding;
pub mod sbom_in;
pub mod suppress;

mod ecosystem;
mod filtering;
mod fixplan;
mod inspector;
mod network;
mod report;
mod resource;
pub mod score;
mod secret;
mod severity;
mod vuln;

pub use ecosystem::{ecosystem_of, is_os};
pub use filtering::{filter, finish, sort_findings};
pub use finding::*;
pub use fixplan::{FixStep, fix_plan};
pub use inspector::{ACCOUNT_ID, LAYER_ARN_PREFIX, platform_label, source_name, source_url};
pub use network::network_findings;
pub use report::{
    DatabaseInfo, EcosystemCoverage, NotEvaluated, NotScanned, Report, ScanInfo, SecretScanInfo,
    Summary,
};
pub use resource::{ResourceHints, TargetKind, resource_for, split_reference};
pub use secret::{SECRET_REMEDIATION, secret_findings};
pub use vuln::{Context, Matched, build, match_inventory, vulnerability_ids};
