//! Amazon Inspector's finding shape, field for field (`inspector2` API model,
//! type `Finding`), with Vigia's additions under one `vigia` member.
//!
//! Timestamps are RFC 3339 strings, as in Inspector's exported findings reports
//! and its EventBridge events. Members the model marks optional are left out
//! when Vigia has nothing to put in them, never filled with placeholders.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `FindingType`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingType {
    /// A vulnerable package.
    PackageVulnerability,
    /// Hardcoded credentials and other code problems.
    CodeVulnerability,
    /// An open port reachable from outside.
    NetworkReachability,
}

/// `Severity`, ordered from most to least severe.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// CVSS 9.0–10.0.
    Critical,
    /// CVSS 7.0–8.9.
    High,
    /// CVSS 4.0–6.9.
    Medium,
    /// CVSS 0.1–3.9.
    Low,
    /// CVSS 0, or an informational notice (RustSec `unmaintained`).
    Informational,
    /// Nothing scores it yet.
    Untriaged,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 6] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
        Severity::Untriaged,
    ];

    /// `CRITICAL`, `HIGH`, …
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Informational => "INFORMATIONAL",
            Severity::Untriaged => "UNTRIAGED",
        }
    }

    /// `Critical`, `High`, … for people.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Severity::Critical => "Critical",
            Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
            Severity::Informational => "Informational",
            Severity::Untriaged => "Untriaged",
        }
    }

    /// Parses a severity name in any case (`high`, `HIGH`, `High`).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The band of a CVSS base score.
    #[must_use]
    pub fn from_score(score: f64) -> Self {
        match vigia_model::cvss::SeverityBand::from_score(score) {
            vigia_model::cvss::SeverityBand::Critical => Severity::Critical,
            vigia_model::cvss::SeverityBand::High => Severity::High,
            vigia_model::cvss::SeverityBand::Medium => Severity::Medium,
            vigia_model::cvss::SeverityBand::Low => Severity::Low,
            vigia_model::cvss::SeverityBand::None => Severity::Informational,
        }
    }
}

/// `FindingStatus`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingStatus {
    /// Open.
    Active,
    /// Matched by a `.vigiaignore` entry or a VEX statement.
    Suppressed,
    /// No longer observed.
    Closed,
}

/// `FixAvailable` / `ExploitAvailable` style yes/no/partial.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FixAvailable {
    /// Every vulnerable package has a fixed version.
    Yes,
    /// None has.
    No,
    /// Some have.
    Partial,
}

/// `ExploitAvailable`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExploitAvailable {
    /// Listed in CISA's Known Exploited Vulnerabilities catalog.
    Yes,
    /// Not listed.
    No,
}

/// `Recommendation` (the model spells its URL member `Url`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Recommendation {
    /// What to do.
    pub text: String,
    /// Where to read more.
    #[serde(rename = "Url", skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `Remediation`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Remediation {
    /// The recommendation.
    pub recommendation: Recommendation,
}

/// `ResourceType`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResourceType {
    /// A host (Inspector's type for hosts; any machine or root filesystem here).
    AwsEc2Instance,
    /// A container image from any registry, layout or archive.
    AwsEcrContainerImage,
    /// A function package (Lambda-style zip or folder).
    AwsLambdaFunction,
    /// A source tree or lockfile folder.
    CodeRepository,
}

/// `AwsEcrContainerImageDetails`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContainerImageDetails {
    /// Repository name (`library/nginx`), or the target as given when the image names none.
    pub repository_name: String,
    /// Tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_tags: Vec<String>,
    /// CPU architecture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Manifest digest (or config digest when the archive has no manifest digest).
    pub image_hash: String,
    /// Registry host, or `local` for a layout folder or archive.
    pub registry: String,
    /// OS of the image (`DEBIAN_12`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// When the image was last pushed (images found in a registry).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pushed_at: Option<String>,
}

/// `AwsEc2InstanceDetails` (only what a root filesystem tells).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct HostDetails {
    /// OS (`DEBIAN_12`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
}

/// `AwsLambdaFunctionDetails`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct FunctionDetails {
    /// The function name (the package's file or folder name without extension).
    pub function_name: String,
    /// Runtime (`PYTHON_3_11`, `NODEJS`), `UNSUPPORTED` when the package does not tell.
    pub runtime: String,
    /// Base64 SHA-256 of the zip, as Lambda reports `CodeSha256`.
    pub code_sha256: String,
    /// Always `$LATEST` for a package scanned from a file.
    pub version: String,
    /// Unknown outside AWS: `unknown`.
    pub execution_role_arn: String,
    /// `ZIP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_type: Option<String>,
    /// Its layers (`vigia:layer/NAME:VERSION`), from its manifest.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub layers: Vec<String>,
    /// `x86_64`, `arm64`, from its manifest.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub architectures: Vec<String>,
    /// What Vigia adds to Inspector's shape (the service's resources).
    #[serde(rename = "vigia", skip_serializing_if = "Option::is_none", default)]
    pub vigia: Option<FunctionExtras>,
}

/// What Vigia says of a function beyond Inspector's fields.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct FunctionExtras {
    /// Where `runtime` comes from: `MANIFEST` (the function's manifest
    /// says it) or `GUESSED` (from the packages in its code).
    pub runtime_source: String,
}

/// `CodeRepositoryDetails`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CodeRepositoryDetails {
    /// The folder's name.
    pub project_name: String,
}

/// `ResourceDetails`: one member set, matching the resource type.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDetails {
    /// For hosts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_ec2_instance: Option<HostDetails>,
    /// For images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_ecr_container_image: Option<ContainerImageDetails>,
    /// For functions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_lambda_function: Option<FunctionDetails>,
    /// For folders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_repository: Option<CodeRepositoryDetails>,
}

/// `Resource`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Resource {
    /// The resource type.
    #[serde(rename = "type")]
    pub kind: ResourceType,
    /// A stable ID: `registry/repository@digest` for images, the canonical path otherwise.
    pub id: String,
    /// Tags (none for now; kept for the shape).
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub tags: BTreeMap<String, String>,
    /// Details.
    pub details: ResourceDetails,
}

/// `CvssScoreAdjustment`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CvssScoreAdjustment {
    /// The CVSS metric adjusted.
    pub metric: String,
    /// Why.
    pub reason: String,
}

/// `CvssScoreDetails`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CvssScoreDetails {
    /// Who the score comes from (`NVD`, `DEBIAN_CVE`, `GITHUB`).
    pub score_source: String,
    /// The scorer within that source (`nvd@nist.gov`, a record ID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss_source: Option<String>,
    /// CVSS version.
    pub version: String,
    /// The score after adjustments.
    pub score: f64,
    /// The vector.
    pub scoring_vector: String,
    /// Adjustments made for the resource's context.
    pub adjustments: Vec<CvssScoreAdjustment>,
}

/// `InspectorScoreDetails`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InspectorScoreDetails {
    /// The score used.
    pub adjusted_cvss: CvssScoreDetails,
}

/// `CvssScore`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CvssScore {
    /// Base score.
    pub base_score: f64,
    /// Vector.
    pub scoring_vector: String,
    /// CVSS version.
    pub version: String,
    /// Who scored it.
    pub source: String,
}

/// `VulnerablePackage`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VulnerablePackage {
    /// Name.
    pub name: String,
    /// Version (for deb and rpm: the upstream part; epoch and release apart).
    pub version: String,
    /// Layer (diff_id) that brought it, for images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_layer_hash: Option<String>,
    /// The function layer that brought it, for functions
    /// (`vigia:layer/NAME:VERSION`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source_lambda_layer_arn: Option<String>,
    /// Epoch (deb, rpm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch: Option<i64>,
    /// Release (deb revision, rpm release).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Architecture.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// `PackageManager` (`OS`, `PYTHONPKG`, `NPM`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_manager: Option<String>,
    /// The file it was found in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    /// The version that closes the vulnerability.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_in_version: Option<String>,
    /// What to do for this package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
}

/// `PackageVulnerabilityDetails`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PackageVulnerabilityDetails {
    /// The alias group's preferred ID (the CVE when there is one).
    pub vulnerability_id: String,
    /// The packages it affects in this resource.
    pub vulnerable_packages: Vec<VulnerablePackage>,
    /// The advisory source (`DEBIAN_CVE`, `GITHUB`, `PYPA`, `NVD`, …).
    pub source: String,
    /// CVSS from every source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cvss: Vec<CvssScore>,
    /// Other IDs of the same vulnerability and records that fix it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_vulnerabilities: Vec<String>,
    /// The advisory's page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// The vendor's own rating (Debian urgency, GitHub severity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_severity: Option<String>,
    /// When the vendor published it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_created_at: Option<String>,
    /// When the vendor last changed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_updated_at: Option<String>,
    /// References.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_urls: Vec<String>,
}

/// `CodeFilePath`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CodeFilePath {
    /// File name.
    pub file_name: String,
    /// Full path inside the resource.
    pub file_path: String,
    /// First line (1-based).
    pub start_line: u64,
    /// Last line.
    pub end_line: u64,
}

/// `CodeVulnerabilityDetails`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CodeVulnerabilityDetails {
    /// Where.
    pub file_path: CodeFilePath,
    /// Detector tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detector_tags: Vec<String>,
    /// References.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_urls: Vec<String>,
    /// The rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// Detector ID.
    pub detector_id: String,
    /// Detector name.
    pub detector_name: String,
    /// CWEs (`CWE-798`).
    pub cwes: Vec<String>,
}

/// `PortRange`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct PortRange {
    /// First port.
    pub begin: u16,
    /// Last port.
    pub end: u16,
}

/// `Step` of a `NetworkPath`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// The component's ID (`igw-…`, `sg-…`).
    pub component_id: String,
    /// Its CloudFormation type (`AWS::EC2::InternetGateway`).
    pub component_type: String,
}

/// `NetworkPath`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NetworkPath {
    /// Hops, from the edge to the instance.
    pub steps: Vec<Step>,
}

/// `NetworkReachabilityDetails`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkReachabilityDetails {
    /// The open ports.
    pub open_port_range: PortRange,
    /// `TCP` or `UDP`.
    pub protocol: String,
    /// How traffic gets there.
    pub network_path: NetworkPath,
}

/// `ExploitabilityDetails`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ExploitabilityDetails {
    /// When exploitation was last known: the date CISA added it to KEV.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_known_exploit_at: Option<String>,
}

/// `EpssDetails`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EpssDetails {
    /// Probability of exploitation in the next 30 days.
    pub score: f64,
}

/// Why a finding is suppressed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Suppression {
    /// `vigiaignore` or `vex`.
    pub by: String,
    /// The file the rule came from.
    pub file: String,
    /// The reason or VEX justification.
    pub reason: String,
    /// VEX status (`not_affected`, `fixed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Expiry date of an ignore entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// One advisory record that matched.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MatchedRecord {
    /// Record ID.
    pub id: String,
    /// Feed file.
    pub source: String,
    /// Ecosystem of the affected entry.
    pub ecosystem: String,
    /// Package named by the record.
    pub package: String,
    /// The range that matched, in words.
    pub matched_range: String,
    /// The record's fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
}

/// A vulnerable package as the inventory has it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PackageRef {
    /// Package URL.
    pub purl: String,
    /// Full installed version (`1:1.2.13.dfsg-1`).
    pub version: String,
    /// The file it was found in.
    pub path: String,
    /// Package type (`deb`, `pypi`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Source package, for OS packages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Source package version, when it differs from the binary's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
}

/// Vigia's additions to a finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct VigiaDetails {
    /// `fixed`, `not_fixed`, `will_not_fix`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_status: Option<String>,
    /// Every ID of the alias group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alias_group: Vec<String>,
    /// The records that matched and their ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched: Vec<MatchedRecord>,
    /// Why it matched, in one sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The vulnerable packages as the inventory has them: purl, full version, file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<PackageRef>,
    /// Where the severity came from: `vendor`, `nvd`, `advisory` (CVSS), `vendor-rating`,
    /// `advisory-rating` (a qualitative rating when no source has a vector), `informational`, `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity_source: Option<String>,
    /// EPSS percentile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epss_percentile: Option<f64>,
    /// KEV: date added, due date, ransomware use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kev: Option<serde_json::Value>,
    /// RustSec informational kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub informational: Option<String>,
    /// Why it is suppressed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
    /// For secrets: redacted excerpt (first characters only) and SHA-256 of the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<serde_json::Value>,
}

/// One finding.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Stable ID: `vigia:finding/<sha256 of resource, vulnerability and package>`.
    pub finding_arn: String,
    /// Account ID (`000000000000` outside AWS).
    pub aws_account_id: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: FindingType,
    /// `CVE-… - package`.
    pub title: String,
    /// The advisory's description.
    pub description: String,
    /// What to do.
    pub remediation: Remediation,
    /// Severity.
    pub severity: Severity,
    /// First seen.
    pub first_observed_at: String,
    /// Last seen.
    pub last_observed_at: String,
    /// Last changed.
    pub updated_at: String,
    /// Status.
    pub status: FindingStatus,
    /// The resource.
    pub resources: Vec<Resource>,
    /// Score used for severity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspector_score: Option<f64>,
    /// How it was scored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inspector_score_details: Option<InspectorScoreDetails>,
    /// For package vulnerabilities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_vulnerability_details: Option<PackageVulnerabilityDetails>,
    /// For code vulnerabilities (secrets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_vulnerability_details: Option<CodeVulnerabilityDetails>,
    /// For open network paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_reachability_details: Option<NetworkReachabilityDetails>,
    /// Whether a fix exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_available: Option<FixAvailable>,
    /// Whether it is known exploited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exploit_available: Option<ExploitAvailable>,
    /// KEV date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exploitability_details: Option<ExploitabilityDetails>,
    /// EPSS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epss: Option<EpssDetails>,
    /// Vigia's additions.
    pub vigia: VigiaDetails,
}

impl Finding {
    /// The vulnerability or rule ID.
    #[must_use]
    pub fn rule_id(&self) -> &str {
        if let Some(p) = &self.package_vulnerability_details {
            return &p.vulnerability_id;
        }
        if let Some(c) = &self.code_vulnerability_details {
            return c.rule_id.as_deref().unwrap_or(&c.detector_id);
        }
        &self.title
    }

    /// Package URLs of the vulnerable packages.
    pub fn purls(&self) -> impl Iterator<Item = &str> {
        self.vigia.packages.iter().map(|p| p.purl.as_str())
    }

    /// Whether a fix exists for at least one package.
    #[must_use]
    pub fn has_fix(&self) -> bool {
        matches!(
            self.fix_available,
            Some(FixAvailable::Yes | FixAvailable::Partial)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_names_round_trip() {
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
            assert_eq!(Severity::parse(&s.title().to_lowercase()), Some(s));
        }
        assert_eq!(Severity::parse("severe"), None);
        assert_eq!(Severity::from_score(9.8), Severity::Critical);
        assert_eq!(Severity::from_score(0.0), Severity::Informational);
    }
}
