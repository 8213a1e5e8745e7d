//! Inspector's `FilterCriteria`, read strictly and evaluated on findings:
//! what `/findings/list` selects by and what a suppression rule matches.
//!
//! Several filters on one key: `EQUALS` and `PREFIX` values are ORed,
//! `NOT_EQUALS` values are ANDed (a finding must differ from each), and keys
//! are ANDed. Inspector does not document it; this is Security Hub's rule,
//! with `PREFIX` read like `EQUALS`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A criteria problem, in words for the API's `{message}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CriteriaError(pub String);

/// `StringFilter` comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StringFilter {
    /// How to compare.
    pub comparison: Comparison,
    /// With what.
    pub value: String,
}

/// `NumberFilter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NumberFilter {
    /// Lowest value matched.
    pub lower_inclusive: Option<f64>,
    /// Highest value matched.
    pub upper_inclusive: Option<f64>,
}

/// `DateFilter`: epoch seconds (rest-json) or RFC 3339 strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DateFilter {
    /// From.
    pub start_inclusive: Option<Value>,
    /// To.
    pub end_inclusive: Option<Value>,
}

/// `PortRangeFilter`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PortRangeFilter {
    /// First port.
    pub begin_inclusive: Option<u32>,
    /// Last port.
    pub end_inclusive: Option<u32>,
}

/// `MapFilter`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapFilter {
    /// Only `EQUALS`.
    pub comparison: String,
    /// The key.
    pub key: String,
    /// The value.
    pub value: Option<String>,
}

/// `PackageFilter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
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
    ],
    prefix: false,
    findings: false,
};

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
            let hit = self.packages.iter().any(|pf| {
                pkgs.iter().any(|p| {
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
