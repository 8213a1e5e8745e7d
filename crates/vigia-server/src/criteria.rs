//! Inspector's `FilterCriteria`, read strictly and evaluated on findings:
//! what `/findings/list` selects by and what a suppression rule matches.
//!
//! Several filters on one key: `EQUALS` and `PREFIX` values are ORed,
//! `NOT_EQUALS` values are ANDed (a finding must differ from each), and keys
//! are ANDed. Inspector does not document it; this is Security Hub's rule,
//! with `PREFIX` read like `EQUALS`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A criteria problem, in words for the API's `{message}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CriteriaError(pub String);

/// `StringFilter` comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Comparison {
    /// Equal.
    Equals,
    /// Starts with.
    Prefix,
    /// Differs.
    NotEquals,
}

/// `StringFilter`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StringFilter {
    /// How to compare.
    pub comparison: Comparison,
    /// With what.
    #[schemars(length(min = 1, max = 1024))]
    pub value: String,
}

/// `NumberFilter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NumberFilter {
    /// Lowest value matched.
    pub lower_inclusive: Option<f64>,
    /// Highest value matched.
    pub upper_inclusive: Option<f64>,
}

/// `DateFilter`: epoch seconds (rest-json) or RFC 3339 strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DateFilter {
    /// From.
    #[schemars(with = "Option<Timestamp>")]
    pub start_inclusive: Option<Value>,
    /// To.
    #[schemars(with = "Option<Timestamp>")]
    pub end_inclusive: Option<Value>,
}

/// `PortRangeFilter`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PortRangeFilter {
    /// First port.
    #[schemars(range(max = 65535))]
    pub begin_inclusive: Option<u32>,
    /// Last port.
    #[schemars(range(max = 65535))]
    pub end_inclusive: Option<u32>,
}

/// `MapFilter`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapFilter {
    /// Only `EQUALS`.
    #[schemars(extend("enum" = ["EQUALS"]))]
    pub comparison: String,
    /// The key.
    #[schemars(length(min = 1, max = 128))]
    pub key: String,
    /// The value.
    #[schemars(length(max = 256))]
    pub value: Option<String>,
}

/// `PackageFilter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PackageFilter {
    /// Name.
    pub name: Option<StringFilter>,
    /// Version.
    pub version: Option<StringFilter>,
    /// Epoch.
    pub epoch: Option<NumberFilter>,
    /// Release.
    pub release: Option<StringFilter>,
    /// Architecture.
    pub architecture: Option<StringFilter>,
    /// Image layer.
    pub source_layer_hash: Option<StringFilter>,
    /// Lambda layer.
    pub source_lambda_layer_arn: Option<StringFilter>,
    /// File.
    pub file_path: Option<StringFilter>,
    /// A qualifier of the package's purl.
    pub purl_qualifier: Option<PurlQualifierFilter>,
    /// Whether the package is reachable at run time.
    pub runtime_reachability: Option<RuntimeReachabilityFilter>,
    /// Why it is (or is not) reachable at run time.
    pub runtime_reachability_reason: Option<RuntimeReachabilityReasonFilter>,
}

/// The qualifier keys a `PurlQualifierFilter` takes, as Inspector's model
/// lists them.
pub const PURL_QUALIFIER_KEYS: &[&str] = &[
    "arch",
    "collector",
    "dev_dependency",
    "distro",
    "epoch",
    "go_toolchain",
    "hardened",
    "private",
    "rust_toolchain",
    "scope",
    "skip_chromium_download",
    "source",
    "stream",
    "transitive_dependency",
    "unresolved",
    "vendor",
];

/// `RuntimeReachability` values.
const REACHABILITY: &[&str] = &["REACHABLE", "NOT_REACHABLE", "UNKNOWN"];

/// `RuntimeReachabilityReason` values.
const REACHABILITY_REASONS: &[&str] = &[
    "PACKAGE_IN_DOCKERFILE_WORKLOAD_PATH",
    "PACKAGE_NOT_IN_DOCKERFILE_WORKLOAD_PATH",
    "PROCESS_OBSERVED_IN_EC2_RUNTIME",
    "PROCESS_NOT_OBSERVED_IN_EC2_RUNTIME",
];

/// `PurlQualifierFilter`: a qualifier of the package's purl equals a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PurlQualifierFilter {
    /// Only `EQUALS`.
    #[schemars(extend("enum" = ["EQUALS"]))]
    pub comparison: String,
    /// The qualifier ([`PURL_QUALIFIER_KEYS`]).
    #[schemars(extend("enum" = PURL_QUALIFIER_KEYS))]
    pub key: String,
    /// Its value.
    #[schemars(length(max = 256))]
    pub value: Option<String>,
}

/// `RuntimeReachabilityFilter`. Vigia does not observe run time: no
/// package has a status, so `EQUALS` matches nothing and `NOT_EQUALS`
/// every package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuntimeReachabilityFilter {
    /// `EQUALS` or `NOT_EQUALS`.
    #[schemars(extend("enum" = ["EQUALS", "NOT_EQUALS"]))]
    pub comparison: String,
    /// A status of Inspector's model.
    #[schemars(extend("enum" = REACHABILITY))]
    pub value: String,
}

/// `RuntimeReachabilityReasonFilter`, as [`RuntimeReachabilityFilter`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuntimeReachabilityReasonFilter {
    /// `EQUALS` or `NOT_EQUALS`.
    #[schemars(extend("enum" = ["EQUALS", "NOT_EQUALS"]))]
    pub comparison: String,
    /// A reason of Inspector's model.
    #[schemars(extend("enum" = REACHABILITY_REASONS))]
    pub value: String,
}

/// String keys: the finding member each reads (JSON pointers, `*` for every
/// element of a list).
const STRING_KEYS: &[(&str, &str)] = &[
    ("findingArn", "/findingArn"),
    ("awsAccountId", "/awsAccountId"),
    ("findingType", "/type"),
    ("severity", "/severity"),
    ("findingStatus", "/status"),
    ("title", "/title"),
    ("resourceType", "/resources/*/type"),
    ("resourceId", "/resources/*/id"),
    (
        "ecrImageArchitecture",
        "/resources/*/details/awsEcrContainerImage/architecture",
    ),
    (
        "ecrImageRegistry",
        "/resources/*/details/awsEcrContainerImage/registry",
    ),
    (
        "ecrImageRepositoryName",
        "/resources/*/details/awsEcrContainerImage/repositoryName",
    ),
    (
        "ecrImageTags",
        "/resources/*/details/awsEcrContainerImage/imageTags/*",
    ),
    (
        "ecrImageHash",
        "/resources/*/details/awsEcrContainerImage/imageHash",
    ),
    ("networkProtocol", "/networkReachabilityDetails/protocol"),
    (
        "componentId",
        "/networkReachabilityDetails/networkPath/steps/*/componentId",
    ),
    (
        "componentType",
        "/networkReachabilityDetails/networkPath/steps/*/componentType",
    ),
    (
        "vulnerabilityId",
        "/packageVulnerabilityDetails/vulnerabilityId",
    ),
    ("vulnerabilitySource", "/packageVulnerabilityDetails/source"),
    (
        "vendorSeverity",
        "/packageVulnerabilityDetails/vendorSeverity",
    ),
    (
        "relatedVulnerabilities",
        "/packageVulnerabilityDetails/relatedVulnerabilities/*",
    ),
    ("fixAvailable", "/fixAvailable"),
    ("exploitAvailable", "/exploitAvailable"),
    (
        "lambdaFunctionName",
        "/resources/*/details/awsLambdaFunction/functionName",
    ),
    (
        "lambdaFunctionLayers",
        "/resources/*/details/awsLambdaFunction/layers/*",
    ),
    (
        "lambdaFunctionRuntime",
        "/resources/*/details/awsLambdaFunction/runtime",
    ),
    (
        "lambdaFunctionExecutionRoleArn",
        "/resources/*/details/awsLambdaFunction/executionRoleArn",
    ),
    (
        "codeVulnerabilityDetectorName",
        "/codeVulnerabilityDetails/detectorName",
    ),
    (
        "codeVulnerabilityDetectorTags",
        "/codeVulnerabilityDetails/detectorTags/*",
    ),
    (
        "codeVulnerabilityFilePath",
        "/codeVulnerabilityDetails/filePath/filePath",
    ),
    (
        "codeRepositoryProjectName",
        "/resources/*/details/codeRepository/projectName",
    ),
    (
        "codeRepositoryProviderType",
        "/resources/*/details/codeRepository/providerType",
    ),
    (
        "ec2InstanceImageId",
        "/resources/*/details/awsEc2Instance/imageId",
    ),
    (
        "ec2InstanceVpcId",
        "/resources/*/details/awsEc2Instance/vpcId",
    ),
    (
        "ec2InstanceSubnetId",
        "/resources/*/details/awsEc2Instance/subnetId",
    ),
];

/// Model keys for resources Vigia does not have (multi-cloud): accepted,
/// and match as absent values do.
const ABSENT_STRING_KEYS: &[&str] = &[
    "machineImageId",
    "machineImageName",
    "machineImageOwnerAccountId",
    "machineImagePlatform",
    "cloudProvider",
    "cloudProviderRegion",
    "cloudProviderAccountId",
    "cloudProviderOrgId",
    "cloudVmImageReference",
    "cloudVmNetworkId",
    "cloudVmSubnetIds",
    "cloudImageRepositoryName",
    "cloudImageRegistry",
    "cloudImageDigest",
    "cloudImageTags",
    "cloudImageArchitecture",
    "cloudServerlessFunctionName",
    "cloudServerlessFunctionRuntime",
    "cloudServerlessFunctionExecutionRole",
];

const DATE_KEYS: &[(&str, &str)] = &[
    ("firstObservedAt", "/firstObservedAt"),
    ("lastObservedAt", "/lastObservedAt"),
    ("updatedAt", "/updatedAt"),
    (
        "ecrImagePushedAt",
        "/resources/*/details/awsEcrContainerImage/pushedAt",
    ),
    (
        "ecrImageLastInUseAt",
        "/resources/*/details/awsEcrContainerImage/lastInUseAt",
    ),
    (
        "lambdaFunctionLastModifiedAt",
        "/resources/*/details/awsLambdaFunction/lastModifiedAt",
    ),
    ("cloudImagePushedAt", "/-"),
    ("cloudImageLastInUseAt", "/-"),
    ("cloudServerlessFunctionLastModifiedAt", "/-"),
];

const NUMBER_KEYS: &[(&str, &str)] = &[
    ("inspectorScore", "/inspectorScore"),
    ("epssScore", "/epss/score"),
    (
        "ecrImageInUseCount",
        "/resources/*/details/awsEcrContainerImage/inUseCount",
    ),
    ("cloudImageInUseCount", "/-"),
];

/// What one kind of criteria may hold, key by key, and the member of the
/// thing filtered that each key reads (JSON pointers, `*` for every element
/// of a list, `/-` for what is never there).
#[derive(Debug, PartialEq, Eq)]
pub struct Keys {
    /// The request member the criteria are, for messages.
    pub what: &'static str,
    strings: &'static [(&'static str, &'static str)],
    /// Keys for what Vigia's resources never carry: accepted, and match as
    /// absent values do.
    absent: &'static [&'static str],
    dates: &'static [(&'static str, &'static str)],
    numbers: &'static [(&'static str, &'static str)],
    /// `MapFilter` keys and the tag map each reads.
    maps: &'static [(&'static str, &'static str)],
    /// Whether `PREFIX` is a comparison of these criteria.
    prefix: bool,
    /// Whether `portRange` and `vulnerablePackages` are keys.
    findings: bool,
}

/// Inspector's `FilterCriteria`, over findings.
pub const FINDINGS: Keys = Keys {
    what: "filterCriteria",
    strings: STRING_KEYS,
    absent: ABSENT_STRING_KEYS,
    dates: DATE_KEYS,
    numbers: NUMBER_KEYS,
    maps: &[("resourceTags", "/resources/*/tags")],
    prefix: true,
    findings: true,
};

/// Inspector's `CoverageFilterCriteria`, over `CoveredResource`s as
/// `/coverage/list` answers them.
pub const COVERAGE: Keys = Keys {
    what: "filterCriteria",
    strings: &[
        ("scanStatusCode", "/scanStatus/statusCode"),
        ("scanStatusReason", "/scanStatus/reason"),
        ("accountId", "/accountId"),
        ("resourceId", "/resourceId"),
        ("resourceType", "/resourceType"),
        ("scanType", "/scanType"),
        ("scanMode", "/scanMode"),
        ("ecrRepositoryName", "/resourceMetadata/ecrRepository/name"),
        ("ecrImageTags", "/resourceMetadata/ecrImage/tags/*"),
        (
            "lambdaFunctionName",
            "/resourceMetadata/lambdaFunction/functionName",
        ),
        (
            "lambdaFunctionRuntime",
            "/resourceMetadata/lambdaFunction/runtime",
        ),
    ],
    absent: &[
        "cloudProvider",
        "cloudProviderRegion",
        "cloudProviderAccountId",
        "cloudProviderOrgId",
        "cloudContainerRegistryName",
        "cloudContainerRepositoryName",
        "cloudContainerImageTags",
        "cloudServerlessFunctionName",
        "cloudServerlessFunctionRuntime",
        "codeRepositoryProjectName",
        "codeRepositoryProviderType",
        "codeRepositoryProviderTypeVisibility",
        "lastScannedCommitId",
    ],
    dates: &[
        ("lastScannedAt", "/lastScannedAt"),
        ("imagePulledAt", "/resourceMetadata/ecrImage/imagePulledAt"),
        (
            "ecrImageLastInUseAt",
            "/resourceMetadata/ecrImage/lastInUseAt",
        ),
    ],
    numbers: &[(
        "ecrImageInUseCount",
        "/resourceMetadata/ecrImage/inUseCount",
    )],
    maps: &[
        ("ec2InstanceTags", "/resourceMetadata/ec2/tags"),
        (
            "lambdaFunctionTags",
            "/resourceMetadata/lambdaFunction/functionTags",
        ),
        ("cloudVmInstanceTags", "/-"),
        ("cloudServerlessFunctionTags", "/-"),
        ("machineImageTags", "/-"),
    ],
    prefix: false,
    findings: false,
};

/// A timestamp as a request may give it: epoch seconds, as AWS clients
/// send, or an RFC 3339 string (the schema of [`DateFilter`]'s bounds).
struct Timestamp;

impl JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "oneOf": [
                {"type": "number", "description": "Epoch seconds."},
                {"type": "string", "format": "date-time"},
            ]
        })
    }
}

impl Keys {
    /// The JSON Schema of these criteria, for the OpenAPI document: every
    /// key this parser takes, with the filters it holds (schemas under
    /// `#/components/schemas`, named as in Inspector's model).
    #[must_use]
    pub fn schema(&self) -> Value {
        let (string, date, number, map) = if self.findings {
            ("StringFilter", "DateFilter", "NumberFilter", "MapFilter")
        } else {
            (
                "CoverageStringFilter",
                "CoverageDateFilter",
                "CoverageNumberFilter",
                "CoverageMapFilter",
            )
        };
        let list = |filter: &str| {
            json!({
                "type": "array", "minItems": 1, "maxItems": 10,
                "items": {"$ref": format!("#/components/schemas/{filter}")},
            })
        };
        let mut properties = serde_json::Map::new();
        for (key, _) in self.strings {
            properties.insert((*key).to_owned(), list(string));
        }
        for key in self.absent {
            properties.insert((*key).to_owned(), list(string));
        }
        for (key, _) in self.dates {
            properties.insert((*key).to_owned(), list(date));
        }
        for (key, _) in self.numbers {
            properties.insert((*key).to_owned(), list(number));
        }
        for (key, _) in self.maps {
            properties.insert((*key).to_owned(), list(map));
        }
        if self.findings {
            properties.insert("portRange".to_owned(), list("PortRangeFilter"));
            properties.insert("vulnerablePackages".to_owned(), list("PackageFilter"));
        }
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": properties,
            "description": "Keys are ANDed. Within one key, EQUALS and PREFIX values are ORed and NOT_EQUALS values ANDed; a key for what Vigia's resources never carry matches nothing unless it asks for a difference.",
        })
    }
}

/// Inclusive epoch-second bounds of one date filter.
type DateRange = (Option<i64>, Option<i64>);

/// A parsed `FilterCriteria`.
#[derive(Debug, Clone, PartialEq)]
pub struct Criteria {
    keys: &'static Keys,
    strings: Vec<(&'static str, Vec<StringFilter>)>,
    dates: Vec<(&'static str, Vec<DateRange>)>,
    numbers: Vec<(&'static str, Vec<NumberFilter>)>,
    ports: Vec<PortRangeFilter>,
    packages: Vec<PackageFilter>,
    tags: Vec<(&'static str, Vec<MapFilter>)>,
    /// The criteria as given (stored with filters).
    pub raw: Value,
}

impl Default for Criteria {
    fn default() -> Self {
        Self {
            keys: &FINDINGS,
            strings: Vec::new(),
            dates: Vec::new(),
            numbers: Vec::new(),
            ports: Vec::new(),
            packages: Vec::new(),
            tags: Vec::new(),
            raw: Value::Null,
        }
    }
}

/// Every value of `f` at `path` (`*` walks every list element).
fn values<'a>(f: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut current = vec![f];
    for part in path.trim_start_matches('/').split('/') {
        let mut next = Vec::new();
        for v in current {
            if part == "*" {
                if let Some(list) = v.as_array() {
                    next.extend(list.iter());
                }
            } else if let Some(x) = v.get(part) {
                next.push(x);
            }
        }
        current = next;
    }
    current.into_iter().filter(|v| !v.is_null()).collect()
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Epoch seconds from a rest-json timestamp (a number) or an RFC 3339 string.
pub fn epoch(v: &Value) -> Option<i64> {
    match v {
        #[allow(clippy::cast_possible_truncation)]
        Value::Number(n) => n.as_f64().map(|f| f.floor() as i64),
        Value::String(s) => s
            .parse::<jiff::Timestamp>()
            .ok()
            .map(jiff::Timestamp::as_second),
        _ => None,
    }
}

/// A qualifier of a package URL, when it has it.
fn purl_qualifier(purl: &str, key: &str) -> Option<String> {
    let purl: packageurl::PackageUrl<'static> = purl.parse().ok()?;
    purl.qualifiers().get(key).map(ToString::to_string)
}

fn string_matches(filters: &[StringFilter], found: &[String]) -> bool {
    let (neg, pos): (Vec<&StringFilter>, Vec<&StringFilter>) = filters
        .iter()
        .partition(|f| f.comparison == Comparison::NotEquals);
    let pos_ok = pos.is_empty()
        || pos.iter().any(|f| {
            found.iter().any(|v| match f.comparison {
                Comparison::Equals => *v == f.value,
                Comparison::Prefix => v.starts_with(&f.value),
                Comparison::NotEquals => false,
            })
        });
    let neg_ok = neg.iter().all(|f| found.iter().all(|v| *v != f.value));
    pos_ok && neg_ok
}

fn number_matches(filters: &[NumberFilter], found: &[f64]) -> bool {
    filters.iter().any(|f| {
        found.iter().any(|v| {
            f.lower_inclusive.is_none_or(|lo| *v >= lo)
                && f.upper_inclusive.is_none_or(|hi| *v <= hi)
        })
    })
}

fn list<T: serde::de::DeserializeOwned>(
    what: &str,
    key: &str,
    v: &Value,
) -> Result<Vec<T>, CriteriaError> {
    let Some(items) = v.as_array() else {
        return Err(CriteriaError(format!(
            "{what}.{key} must be a list of filters"
        )));
    };
    if items.is_empty() || items.len() > 10 {
        return Err(CriteriaError(format!(
            "{what}.{key} holds {} filters; it takes 1 to 10",
            items.len()
        )));
    }
    items
        .iter()
        .map(|i| {
            serde_json::from_value(i.clone())
                .map_err(|e| CriteriaError(format!("{what}.{key}: {e}")))
        })
        .collect()
}

impl Criteria {
    /// Reads `FilterCriteria` strictly: an unknown key, a list of more than
    /// 10 filters or a malformed filter is an error.
    pub fn parse(raw: &Value) -> Result<Self, CriteriaError> {
        Self::parse_in(raw, &FINDINGS)
    }

    /// Reads criteria of the kind `keys` describes, as strictly.
    pub fn parse_in(raw: &Value, keys: &'static Keys) -> Result<Self, CriteriaError> {
        let mut out = Self {
            keys,
            raw: raw.clone(),
            ..Self::default()
        };
        let what = keys.what;
        let Some(obj) = raw.as_object() else {
            if raw.is_null() {
                return Ok(out);
            }
            return Err(CriteriaError(format!("{what} must be an object")));
        };
        let named = |key: &str, table: &'static [(&'static str, &'static str)]| {
            table.iter().find(|(k, _)| *k == key).map(|(k, _)| *k)
        };
        for (key, v) in obj {
            if let Some(k) =
                named(key, keys.strings).or_else(|| keys.absent.iter().find(|k| *k == key).copied())
            {
                let filters: Vec<StringFilter> = list(what, key, v)?;
                if filters
                    .iter()
                    .any(|f| f.value.is_empty() || f.value.chars().count() > 1024)
                {
                    return Err(CriteriaError(format!(
                        "{what}.{key}: a value is 1 to 1024 characters"
                    )));
                }
                if !keys.prefix && filters.iter().any(|f| f.comparison == Comparison::Prefix) {
                    return Err(CriteriaError(format!(
                        "{what}.{key}: the comparison is EQUALS or NOT_EQUALS"
                    )));
                }
                out.strings.push((k, filters));
            } else if let Some(k) = named(key, keys.dates) {
                let filters: Vec<DateFilter> = list(what, key, v)?;
                let mut ranges = Vec::new();
                for f in filters {
                    let conv = |x: &Option<Value>| -> Result<Option<i64>, CriteriaError> {
                        match x {
                            None => Ok(None),
                            Some(v) => epoch(v).map(Some).ok_or_else(|| {
                                CriteriaError(format!("{what}.{key}: {v} is not a timestamp"))
                            }),
                        }
                    };
                    ranges.push((conv(&f.start_inclusive)?, conv(&f.end_inclusive)?));
                }
                out.dates.push((k, ranges));
            } else if let Some(k) = named(key, keys.numbers) {
                out.numbers.push((k, list(what, key, v)?));
            } else if let Some(k) = named(key, keys.maps) {
                let filters: Vec<MapFilter> = list(what, key, v)?;
                if filters.iter().any(|f| {
                    f.comparison != "EQUALS"
                        || !(1..=128).contains(&f.key.chars().count())
                        || f.value.as_ref().is_some_and(|v| v.chars().count() > 256)
                }) {
                    return Err(CriteriaError(format!(
                        "{what}.{key}: a tag filter compares EQUALS, a key of 1 to 128 characters and a value of at most 256"
                    )));
                }
                out.tags.push((k, filters));
            } else if keys.findings && key == "portRange" {
                let ports: Vec<PortRangeFilter> = list(what, key, v)?;
                if ports.iter().any(|p| {
                    p.begin_inclusive.is_some_and(|b| b > 65535)
                        || p.end_inclusive.is_some_and(|e| e > 65535)
                }) {
                    return Err(CriteriaError(format!(
                        "{what}.portRange: ports are 0 to 65535"
                    )));
                }
                out.ports = ports;
            } else if keys.findings && key == "vulnerablePackages" {
                out.packages = list(what, key, v)?;
                for p in &out.packages {
                    let strings = [
                        &p.name,
                        &p.version,
                        &p.release,
                        &p.architecture,
                        &p.source_layer_hash,
                        &p.source_lambda_layer_arn,
                        &p.file_path,
                    ];
                    if strings
                        .into_iter()
                        .flatten()
                        .any(|f| f.value.is_empty() || f.value.chars().count() > 1024)
                    {
                        return Err(CriteriaError(format!(
                            "{what}.vulnerablePackages: a value is 1 to 1024 characters"
                        )));
                    }
                    if p.purl_qualifier.as_ref().is_some_and(|q| {
                        q.comparison != "EQUALS"
                            || !PURL_QUALIFIER_KEYS.contains(&q.key.as_str())
                            || q.value.as_ref().is_some_and(|v| v.chars().count() > 256)
                    }) {
                        return Err(CriteriaError(format!(
                            "{what}.vulnerablePackages: a purlQualifier compares EQUALS, its key is one of {} and its value is at most 256 characters",
                            PURL_QUALIFIER_KEYS.join(", ")
                        )));
                    }
                    let reachability = [
                        p.runtime_reachability
                            .as_ref()
                            .map(|r| (&r.comparison, &r.value, REACHABILITY)),
                        p.runtime_reachability_reason
                            .as_ref()
                            .map(|r| (&r.comparison, &r.value, REACHABILITY_REASONS)),
                    ];
                    for (comparison, value, values) in reachability.into_iter().flatten() {
                        if !matches!(comparison.as_str(), "EQUALS" | "NOT_EQUALS")
                            || !values.contains(&value.as_str())
                        {
                            return Err(CriteriaError(format!(
                                "{what}.vulnerablePackages: a runtime reachability filter compares EQUALS or NOT_EQUALS with one of {}",
                                values.join(", ")
                            )));
                        }
                    }
                }
            } else {
                return Err(CriteriaError(format!("{what} has no key `{key}`")));
            }
        }
        Ok(out)
    }

    /// Whether the criteria select nothing in particular.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
            && self.dates.is_empty()
            && self.numbers.is_empty()
            && self.ports.is_empty()
            && self.packages.is_empty()
            && self.tags.is_empty()
    }

    /// The filters on a string key, when it has any.
    #[must_use]
    pub fn string_filters(&self, key: &str) -> Option<&[StringFilter]> {
        self.strings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, f)| f.as_slice())
    }

    /// The `vulnerablePackages` filters.
    #[must_use]
    pub fn package_filters(&self) -> &[PackageFilter] {
        &self.packages
    }

    /// The filters on a number key, when it has any.
    #[must_use]
    pub fn number_filters(&self, key: &str) -> Option<&[NumberFilter]> {
        self.numbers
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, f)| f.as_slice())
    }

    /// The epoch-second ranges on a date key, when it has any.
    #[must_use]
    pub fn date_ranges(&self, key: &str) -> Option<&[(Option<i64>, Option<i64>)]> {
        self.dates
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, r)| r.as_slice())
    }

    /// Whether the finding (Inspector's JSON) matches.
    #[must_use]
    pub fn matches(&self, f: &Value) -> bool {
        for (key, filters) in &self.strings {
            let path = self
                .keys
                .strings
                .iter()
                .find(|(k, _)| k == key)
                .map_or("/-", |(_, p)| *p);
            let found: Vec<String> = values(f, path).into_iter().filter_map(as_text).collect();
            if !string_matches(filters, &found) {
                return false;
            }
        }
        for (key, ranges) in &self.dates {
            let path = self
                .keys
                .dates
                .iter()
                .find(|(k, _)| k == key)
                .map_or("/-", |(_, p)| *p);
            let found: Vec<i64> = values(f, path).into_iter().filter_map(epoch).collect();
            let hit = ranges.iter().any(|(lo, hi)| {
                found
                    .iter()
                    .any(|t| lo.is_none_or(|l| *t >= l) && hi.is_none_or(|h| *t <= h))
            });
            if !hit {
                return false;
            }
        }
        for (key, filters) in &self.numbers {
            let path = self
                .keys
                .numbers
                .iter()
                .find(|(k, _)| k == key)
                .map_or("/-", |(_, p)| *p);
            let found: Vec<f64> = values(f, path)
                .into_iter()
                .filter_map(Value::as_f64)
                .collect();
            if !number_matches(filters, &found) {
                return false;
            }
        }
        if !self.ports.is_empty() {
            let range = values(f, "/networkReachabilityDetails/openPortRange");
            let hit = range.iter().any(|r| {
                let (b, e) = (
                    r["begin"].as_u64().unwrap_or(0),
                    r["end"].as_u64().unwrap_or(0),
                );
                self.ports.iter().any(|p| {
                    // The open range overlaps the filter's.
                    p.begin_inclusive.is_none_or(|x| e >= u64::from(x))
                        && p.end_inclusive.is_none_or(|x| b <= u64::from(x))
                })
            });
            if !hit {
                return false;
            }
        }
        if !self.packages.is_empty() {
            let pkgs = values(f, "/packageVulnerabilityDetails/vulnerablePackages/*");
            // Each vulnerable package's purl: its own `purl` (Inspector's
            // newer model), else the one Vigia's details list for it (in
            // the same order).
            let vigia_purls = values(f, "/vigia/packages/*/purl");
            let purl_of = |i: usize, p: &Value| {
                p.get("purl")
                    .or_else(|| (vigia_purls.len() == pkgs.len()).then(|| vigia_purls[i]))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            let hit = self.packages.iter().any(|pf| {
                pkgs.iter().enumerate().any(|(i, p)| {
                    let s = |field: &str, filt: &Option<StringFilter>| {
                        filt.as_ref().is_none_or(|x| {
                            string_matches(
                                std::slice::from_ref(x),
                                &values(p, field)
                                    .into_iter()
                                    .filter_map(as_text)
                                    .collect::<Vec<_>>(),
                            )
                        })
                    };
                    s("/name", &pf.name)
                        && s("/version", &pf.version)
                        && s("/release", &pf.release)
                        && s("/arch", &pf.architecture)
                        && s("/sourceLayerHash", &pf.source_layer_hash)
                        && s("/sourceLambdaLayerArn", &pf.source_lambda_layer_arn)
                        && s("/filePath", &pf.file_path)
                        && pf.purl_qualifier.as_ref().is_none_or(|q| {
                            purl_of(i, p)
                                .and_then(|purl| purl_qualifier(&purl, &q.key))
                                .as_deref()
                                == Some(q.value.as_deref().unwrap_or(""))
                        })
                        && [
                            (
                                "/runtimeReachability",
                                pf.runtime_reachability
                                    .as_ref()
                                    .map(|r| (&r.comparison, &r.value)),
                            ),
                            (
                                "/runtimeReachabilityReason",
                                pf.runtime_reachability_reason
                                    .as_ref()
                                    .map(|r| (&r.comparison, &r.value)),
                            ),
                        ]
                        .into_iter()
                        .all(|(field, filter)| {
                            filter.is_none_or(|(comparison, value)| {
                                let found: Vec<String> =
                                    values(p, field).into_iter().filter_map(as_text).collect();
                                (comparison == "EQUALS") == found.contains(value)
                            })
                        })
                        && pf.epoch.as_ref().is_none_or(|n| {
                            number_matches(
                                std::slice::from_ref(n),
                                &values(p, "/epoch")
                                    .into_iter()
                                    .filter_map(Value::as_f64)
                                    .collect::<Vec<_>>(),
                            )
                        })
                })
            });
            if !hit {
                return false;
            }
        }
        for (key, filters) in &self.tags {
            let path = self
                .keys
                .maps
                .iter()
                .find(|(k, _)| k == key)
                .map_or("/-", |(_, p)| *p);
            let maps = values(f, path);
            for t in filters {
                let found = maps.iter().any(|tags| {
                    tags.get(&t.key).and_then(Value::as_str)
                        == Some(t.value.as_deref().unwrap_or(""))
                });
                if !found {
                    return false;
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finding() -> Value {
        json!({"findingArn": "vigia:finding/1", "type": "PACKAGE_VULNERABILITY", "severity": "HIGH", "status": "ACTIVE",
               "title": "CVE-2023-1 - openssl", "firstObservedAt": "2026-12-01T00:00:00Z",
               "inspectorScore": 7.5, "epss": {"score": 0.2},
               "resources": [{"type": "AWS_ECR_CONTAINER_IMAGE", "id": "local/app@sha256:1",
                               "details": {"awsEcrContainerImage": {"repositoryName": "app", "imageTags": ["1.0", "latest"]}}}],
               "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2023-1", "relatedVulnerabilities": ["DSA-1"],
                   "vulnerablePackages": [{"name": "libssl3", "version": "3.0.1", "epoch": 0, "filePath": "/var/lib/dpkg/status"}]}})
    }

    #[allow(clippy::needless_pass_by_value)]
    fn c(v: Value) -> Criteria {
        Criteria::parse(&v).unwrap()
    }

    /// The keys and package filters of Inspector's newer model: what no
    /// Vigia resource carries matches as absent values do; a purl's
    /// qualifiers are read from the purl.
    #[test]
    fn newer_model_keys_are_read_strictly_and_match_as_absent() {
        let f = finding();
        let pkg = |filter: Value| json!({"vulnerablePackages": [filter]});
        let reach = |cmp: &str| {
            pkg(json!({"runtimeReachability": {"comparison": cmp, "value": "REACHABLE"}}))
        };
        assert!(!c(reach("EQUALS")).matches(&f));
        assert!(c(reach("NOT_EQUALS")).matches(&f));
        let ami = |cmp: &str| json!({"machineImageId": [{"comparison": cmp, "value": "ami-1"}]});
        assert!(!c(ami("EQUALS")).matches(&f));
        assert!(c(ami("NOT_EQUALS")).matches(&f));
        let distro = pkg(
            json!({"purlQualifier": {"comparison": "EQUALS", "key": "distro", "value": "debian-12"}}),
        );
        assert!(!c(distro.clone()).matches(&f));
        let mut with_purl = f.clone();
        with_purl["packageVulnerabilityDetails"]["vulnerablePackages"][0]["purl"] =
            json!("pkg:deb/debian/libssl3@3.0.1?arch=amd64&distro=debian-12");
        assert!(c(distro.clone()).matches(&with_purl));
        // As Vigia's details list it.
        let mut in_details = f.clone();
        in_details["vigia"] = json!({"packages": [
            {"purl": "pkg:deb/debian/libssl3@3.0.1?arch=amd64&distro=debian-12"}]});
        assert!(c(distro).matches(&in_details));
        let arch = pkg(
            json!({"purlQualifier": {"comparison": "EQUALS", "key": "arch", "value": "arm64"}}),
        );
        assert!(!c(arch).matches(&with_purl));
        // Outside the model's values: refused.
        for bad in [
            pkg(json!({"purlQualifier": {"comparison": "EQUALS", "key": "colour", "value": "x"}})),
            pkg(json!({"purlQualifier": {"comparison": "PREFIX", "key": "distro", "value": "x"}})),
            pkg(json!({"runtimeReachability": {"comparison": "EQUALS", "value": "MAYBE"}})),
            pkg(json!({"runtimeReachabilityReason": {"comparison": "PREFIX", "value": "UNKNOWN"}})),
            // Each filter takes its own enum's values.
            pkg(
                json!({"runtimeReachability": {"comparison": "EQUALS", "value": "PROCESS_OBSERVED_IN_EC2_RUNTIME"}}),
            ),
            pkg(
                json!({"runtimeReachabilityReason": {"comparison": "EQUALS", "value": "REACHABLE"}}),
            ),
            pkg(json!({"name": {"comparison": "EQUALS", "value": ""}})),
            pkg(
                json!({"purlQualifier": {"comparison": "EQUALS", "key": "distro", "value": "x".repeat(257)}}),
            ),
        ] {
            assert!(Criteria::parse(&bad).is_err(), "{bad}");
        }
        for key in ["cloudVmInstanceTags", "machineImageTags"] {
            let tags = json!({ key: [{"comparison": "EQUALS", "key": "team", "value": "a"}] });
            let criteria = Criteria::parse_in(&tags, &COVERAGE).unwrap();
            assert!(!criteria.matches(&json!({"resourceId": "r"})), "{key}");
        }
    }

    #[test]
    fn strings_or_within_a_key_and_across_keys() {
        let f = finding();
        assert!(c(json!({"severity": [{"comparison": "EQUALS", "value": "CRITICAL"}, {"comparison": "EQUALS", "value": "HIGH"}]})).matches(&f));
        assert!(
            !c(json!({"severity": [{"comparison": "EQUALS", "value": "CRITICAL"}]})).matches(&f)
        );
        assert!(c(json!({"title": [{"comparison": "PREFIX", "value": "CVE-2023"}]})).matches(&f));
        assert!(
            c(json!({"ecrImageTags": [{"comparison": "EQUALS", "value": "latest"}]})).matches(&f)
        );
        // NOT_EQUALS values are ANDed.
        let not = c(
            json!({"severity": [{"comparison": "NOT_EQUALS", "value": "LOW"}, {"comparison": "NOT_EQUALS", "value": "HIGH"}]}),
        );
        assert!(!not.matches(&f));
        // Keys are ANDed.
        assert!(!c(json!({"severity": [{"comparison": "EQUALS", "value": "HIGH"}], "findingStatus": [{"comparison": "EQUALS", "value": "CLOSED"}]})).matches(&f));
        // A key Vigia's resources never have: NOT_EQUALS holds, EQUALS does not.
        assert!(
            c(json!({"cloudProvider": [{"comparison": "NOT_EQUALS", "value": "AZURE"}]}))
                .matches(&f)
        );
        assert!(
            !c(json!({"ec2InstanceVpcId": [{"comparison": "EQUALS", "value": "vpc-1"}]}))
                .matches(&f)
        );
    }

    #[test]
    fn numbers_dates_and_packages() {
        let f = finding();
        assert!(
            c(json!({"inspectorScore": [{"lowerInclusive": 7.0, "upperInclusive": 8.0}]}))
                .matches(&f)
        );
        assert!(!c(json!({"epssScore": [{"lowerInclusive": 0.5}]})).matches(&f));
        // 2026-12-01T00:00:00Z is 1,796,083,200 epoch seconds.
        assert!(c(json!({"firstObservedAt": [{"startInclusive": 1_796_083_200, "endInclusive": 1_796_169_600}]})).matches(&f));
        assert!(
            !c(json!({"firstObservedAt": [{"startInclusive": "2026-12-02T00:00:00Z"}]}))
                .matches(&f)
        );
        assert!(c(json!({"vulnerablePackages": [{"name": {"comparison": "EQUALS", "value": "libssl3"}, "epoch": {"lowerInclusive": 0, "upperInclusive": 0}}]})).matches(&f));
        assert!(!c(json!({"vulnerablePackages": [{"name": {"comparison": "EQUALS", "value": "libssl3"}, "version": {"comparison": "EQUALS", "value": "3.0.2"}}]})).matches(&f));
    }

    #[test]
    fn strict_reading() {
        assert!(
            Criteria::parse(&json!({"nope": []}))
                .unwrap_err()
                .0
                .contains("no key `nope`")
        );
        let eleven: Vec<Value> = (0..11)
            .map(|i| json!({"comparison": "EQUALS", "value": format!("v{i}")}))
            .collect();
        assert!(
            Criteria::parse(&json!({"title": eleven}))
                .unwrap_err()
                .0
                .contains("1 to 10")
        );
        assert!(
            Criteria::parse(&json!({"title": [{"comparison": "LIKE", "value": "x"}]})).is_err()
        );
        assert!(
            Criteria::parse(
                &json!({"title": [{"comparison": "EQUALS", "value": "x", "extra": 1}]})
            )
            .is_err()
        );
        assert!(Criteria::parse(&json!({"portRange": [{"beginInclusive": 70000}]})).is_err());
        assert!(Criteria::parse(&json!(null)).unwrap().is_empty());
    }
}
