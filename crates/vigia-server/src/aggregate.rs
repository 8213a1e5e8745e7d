//! `ListFindingAggregations`: findings counted by severity per finding type,
//! package, title, repository, image, image layer, instance or function, in
//! the response shapes of Inspector's model. Active findings only, as
//! Inspector counts them.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sqlx::Row as _;

use crate::db::{DbResult, StateDb};

/// A count column, whatever integer type the database gives it.
fn count(r: &sqlx::any::AnyRow, col: &str) -> Result<u64, sqlx::Error> {
    let n: i64 = r.try_get(col)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The aggregation types Vigia answers.
pub const TYPES: [&str; 8] = [
    "FINDING_TYPE",
    "PACKAGE",
    "TITLE",
    "REPOSITORY",
    "AWS_ECR_CONTAINER",
    "IMAGE_LAYER",
    "AWS_EC2_INSTANCE",
    "AWS_LAMBDA_FUNCTION",
];

#[derive(Default)]
struct Counts {
    all: u64,
    medium: u64,
    low: u64,
    informational: u64,
    untriaged: u64,
    high: u64,
    critical: u64,
    fix: u64,
    exploit: u64,
    network: u64,
    images: std::collections::BTreeSet<String>,
}

impl Counts {
    fn add(&mut self, f: &Value) {
        self.all += 1;
        match f["severity"].as_str() {
            Some("CRITICAL") => self.critical += 1,
            Some("HIGH") => self.high += 1,
            Some("MEDIUM") => self.medium += 1,
            Some("LOW") => self.low += 1,
            Some("INFORMATIONAL") => self.informational += 1,
            _ => self.untriaged += 1,
        }
        if f["fixAvailable"] == "YES" {
            self.fix += 1;
        }
        if f["exploitAvailable"] == "YES" {
            self.exploit += 1;
        }
        if f["type"] == "NETWORK_REACHABILITY" {
            self.network += 1;
        }
        if let Some(id) = f["resources"][0]["id"].as_str() {
            self.images.insert(id.to_owned());
        }
    }

    /// Adds `n` findings of one severity rank (0 CRITICAL … 5 UNTRIAGED).
    fn add_n(&mut self, rank: i64, n: u64) {
        self.all += n;
        match rank {
            0 => self.critical += n,
            1 => self.high += n,
            2 => self.medium += n,
            3 => self.low += n,
            4 => self.informational += n,
            _ => self.untriaged += n,
        }
    }

    fn severity(&self) -> Value {
        // Inspector's model counts critical, high and medium; Vigia adds the
        // rest under its own names, so that every severity adds up to all.
        json!({"all": self.all, "medium": self.medium, "high": self.high, "critical": self.critical,
               "vigiaLow": self.low, "vigiaInformational": self.informational, "vigiaUntriaged": self.untriaged})
    }
}

fn text(v: &Value, p: &str) -> Option<String> {
    v.pointer(p).and_then(Value::as_str).map(str::to_owned)
}

/// The request's string filters on the findings counted, by the member
/// that names them, and the finding value each reads.
const FINDING_FILTERS: &[(&str, &str)] = &[
    ("findingType", "/type"),
    ("resourceType", "/resources/0/type"),
    ("titles", "/title"),
    (
        "vulnerabilityIds",
        "/packageVulnerabilityDetails/vulnerabilityId",
    ),
    (
        "repositories",
        "/resources/0/details/awsEcrContainerImage/repositoryName",
    ),
    ("resourceIds", "/resources/0/id"),
    ("instanceIds", "/resources/0/id"),
    (
        "imageShas",
        "/resources/0/details/awsEcrContainerImage/imageHash",
    ),
    (
        "imageTags",
        "/resources/0/details/awsEcrContainerImage/imageTags/*",
    ),
    (
        "architectures",
        "/resources/0/details/awsEcrContainerImage/architecture",
    ),
    (
        "operatingSystems",
        "/resources/0/details/awsEc2Instance/platform",
    ),
    (
        "functionNames",
        "/resources/0/details/awsLambdaFunction/functionName",
    ),
    ("runtimes", "/resources/0/details/awsLambdaFunction/runtime"),
];

/// Filters on the group itself: (member, which part of the group's key).
const GROUP_FILTERS: &[(&str, usize)] = &[("packageNames", 0), ("layerHashes", 2)];

/// What one aggregation type's request may hold, as Inspector's model has
/// it: the member naming it in `aggregationRequest`, its lists of string
/// filters, its single-value enum members, its members for what Vigia's
/// resources never carry, and its `sortBy` values.
struct RequestShape {
    kind: &'static str,
    member: &'static str,
    filters: &'static [&'static str],
    enums: &'static [(&'static str, &'static [&'static str])],
    absent: &'static [(&'static str, Absent)],
    sort_by: &'static [&'static str],
}

/// The filter shape of a member whose value Vigia's resources never carry.
#[derive(Clone, Copy)]
enum Absent {
    Strings,
    Tags,
    Dates,
    Numbers,
}

const FINDING_TYPES: &[&str] = &[
    "NETWORK_REACHABILITY",
    "PACKAGE_VULNERABILITY",
    "CODE_VULNERABILITY",
];
const RESOURCE_TYPES: &[&str] = &[
    "AWS_EC2_INSTANCE",
    "AWS_ECR_CONTAINER_IMAGE",
    "AWS_LAMBDA_FUNCTION",
    "CODE_REPOSITORY",
];
const SORT: &[&str] = &["CRITICAL", "HIGH", "ALL"];

const SHAPES: &[RequestShape] = &[
    RequestShape {
        kind: "FINDING_TYPE",
        member: "findingTypeAggregation",
        filters: &[],
        enums: &[
            ("findingType", FINDING_TYPES),
            ("resourceType", RESOURCE_TYPES),
        ],
        absent: &[],
        sort_by: SORT,
    },
    RequestShape {
        kind: "PACKAGE",
        member: "packageAggregation",
        filters: &["packageNames"],
        enums: &[],
        absent: &[],
        sort_by: SORT,
    },
    RequestShape {
        kind: "TITLE",
        member: "titleAggregation",
        filters: &["titles", "vulnerabilityIds"],
        enums: &[
            ("findingType", FINDING_TYPES),
            ("resourceType", RESOURCE_TYPES),
        ],
        absent: &[],
        sort_by: SORT,
    },
    RequestShape {
        kind: "REPOSITORY",
        member: "repositoryAggregation",
        filters: &["repositories"],
        enums: &[],
        absent: &[],
        sort_by: &["CRITICAL", "HIGH", "ALL", "AFFECTED_IMAGES"],
    },
    RequestShape {
        kind: "AWS_ECR_CONTAINER",
        member: "awsEcrContainerAggregation",
        filters: &[
            "resourceIds",
            "imageShas",
            "repositories",
            "architectures",
            "imageTags",
        ],
        enums: &[],
        absent: &[
            ("lastInUseAt", Absent::Dates),
            ("inUseCount", Absent::Numbers),
        ],
        sort_by: SORT,
    },
    RequestShape {
        kind: "IMAGE_LAYER",
        member: "imageLayerAggregation",
        filters: &["repositories", "resourceIds", "layerHashes"],
        enums: &[],
        // The newest model's multi-cloud members.
        absent: &[
            ("cloudProviders", Absent::Strings),
            ("cloudAccountIds", Absent::Strings),
            ("cloudOrgIds", Absent::Strings),
            ("cloudRegions", Absent::Strings),
            ("cloudPartitions", Absent::Strings),
        ],
        sort_by: SORT,
    },
    RequestShape {
        kind: "AWS_EC2_INSTANCE",
        member: "ec2InstanceAggregation",
        filters: &["operatingSystems", "instanceIds"],
        enums: &[],
        absent: &[("amis", Absent::Strings), ("instanceTags", Absent::Tags)],
        sort_by: &["NETWORK_FINDINGS", "CRITICAL", "HIGH", "ALL"],
    },
    RequestShape {
        kind: "AWS_LAMBDA_FUNCTION",
        member: "lambdaFunctionAggregation",
        filters: &["resourceIds", "functionNames", "runtimes"],
        enums: &[],
        absent: &[("functionTags", Absent::Tags)],
        sort_by: SORT,
    },
];

/// The JSON Schema of `aggregationRequest`, for the OpenAPI document: the
/// one member of its type, with what [`Aggregation::new`] reads of it.
#[must_use]
pub fn request_schema() -> Value {
    let list = |filter: &str| {
        json!({
            "type": "array", "minItems": 1, "maxItems": 10,
            "items": {"$ref": format!("#/components/schemas/{filter}")},
        })
    };
    let mut variants = vec![json!({"type": "object", "maxProperties": 0})];
    for shape in SHAPES {
        let mut properties = serde_json::Map::new();
        for member in shape.filters {
            properties.insert((*member).to_owned(), list("StringFilter"));
        }
        for (member, values) in shape.enums {
            properties.insert(
                (*member).to_owned(),
                json!({"type": "string", "enum": values}),
            );
        }
        for (member, absent) in shape.absent {
            let filter = match absent {
                Absent::Strings => "StringFilter",
                Absent::Tags => "MapFilter",
                Absent::Dates => "DateFilter",
                Absent::Numbers => "NumberFilter",
            };
            properties.insert((*member).to_owned(), list(filter));
        }
        properties.insert(
            "sortBy".to_owned(),
            json!({"type": "string", "enum": shape.sort_by}),
        );
        properties.insert(
            "sortOrder".to_owned(),
            json!({"type": "string", "enum": ["ASC", "DESC"]}),
        );
        variants.push(json!({
            "type": "object",
            "additionalProperties": false,
            "required": [shape.member],
            "properties": {shape.member: {
                "type": "object",
                "additionalProperties": false,
                "properties": properties,
                "description": format!("For aggregationType {}.", shape.kind),
            }},
        }));
    }
    json!({"oneOf": variants})
}

/// A list of 1 to 10 filters of `member`, each as `one` reads it.
fn filter_list<T>(
    member: &str,
    v: &Value,
    one: impl Fn(&Value) -> Option<T>,
) -> Result<Vec<T>, String> {
    let list = v
        .as_array()
        .filter(|l| (1..=10).contains(&l.len()))
        .ok_or_else(|| format!("{member} is a list of 1 to 10 filters"))?;
    list.iter()
        .map(|f| one(f).ok_or_else(|| format!("{member}: {f} is not a valid filter")))
        .collect()
}

/// A `StringFilter` as the model has it: `comparison` EQUALS, PREFIX or
/// NOT_EQUALS, `value` 1 to 1024 characters, nothing else.
fn string_filter(f: &Value) -> Option<Value> {
    let o = f.as_object()?;
    let value = o.get("value")?.as_str()?;
    let known = o.keys().all(|k| k == "comparison" || k == "value");
    (known
        && matches!(
            o.get("comparison")?.as_str()?,
            "EQUALS" | "PREFIX" | "NOT_EQUALS"
        )
        && (1..=1024).contains(&value.chars().count()))
    .then(|| f.clone())
}

/// Whether the request's `accountIds` (a `StringFilterList`) let Vigia's
/// one account through; an error names what is not valid.
pub fn account_passes(filters: Option<&Value>) -> Result<bool, String> {
    let Some(v) = filters else {
        return Ok(true);
    };
    let list = filter_list("accountIds", v, string_filter)?;
    Ok(passes(&list, &[vigia_scan::ACCOUNT_ID.to_owned()]))
}

/// Whether a filter on a value no resource carries lets a finding through:
/// only a string or tag filter that asks for a difference does.
fn absent_passes(shape: Absent, f: &Value) -> Option<bool> {
    f.as_object()?;
    match shape {
        Absent::Strings => string_filter(f).map(|f| f["comparison"] == "NOT_EQUALS"),
        // Read as the criteria's filter types read them (what the OpenAPI
        // document declares), a null member as an absent one.
        Absent::Tags => {
            let m: crate::criteria::MapFilter = serde_json::from_value(f.clone()).ok()?;
            (m.comparison == "EQUALS"
                && (1..=128).contains(&m.key.chars().count())
                && m.value.is_none_or(|v| v.chars().count() <= 256))
            .then_some(false)
        }
        Absent::Dates => {
            let d: crate::criteria::DateFilter = serde_json::from_value(f.clone()).ok()?;
            [d.start_inclusive, d.end_inclusive]
                .iter()
                .flatten()
                .all(|v| crate::criteria::epoch(v).is_some())
                .then_some(false)
        }
        Absent::Numbers => {
            let _: crate::criteria::NumberFilter = serde_json::from_value(f.clone()).ok()?;
            Some(false)
        }
    }
}

fn values_at(f: &Value, path: &str) -> Vec<String> {
    match path.strip_suffix("/*") {
        Some(list) => f
            .pointer(list)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        None => f
            .pointer(path)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .into_iter()
            .collect(),
    }
}

/// Whether values pass a list of `StringFilter`s (EQUALS and PREFIX ORed,
/// NOT_EQUALS ANDed).
fn passes(filters: &[Value], found: &[String]) -> bool {
    let (neg, pos): (Vec<&Value>, Vec<&Value>) = filters
        .iter()
        .partition(|f| f["comparison"] == "NOT_EQUALS");
    let hit = |f: &Value, v: &String| {
        let want = f["value"].as_str().unwrap_or_default();
        if f["comparison"] == "PREFIX" {
            v.starts_with(want)
        } else {
            v == want
        }
    };
    (pos.is_empty() || pos.iter().any(|f| found.iter().any(|v| hit(f, v))))
        && neg.iter().all(|f| found.iter().all(|v| !hit(f, v)))
}

/// One aggregation being counted: findings are added one at a time (the
/// API streams them from the database, so memory follows the number of
/// groups, not of findings), then [`Aggregation::finish`] sorts the groups.
pub struct Aggregation {
    kind: &'static str,
    inner: Value,
    finding_filters: Vec<(&'static str, Vec<Value>)>,
    group_filters: Vec<(usize, Vec<Value>)>,
    /// A filter on what no resource carries asks for a value: no group.
    nothing: bool,
    /// Each group's counts and its first finding's resource.
    groups: BTreeMap<Vec<String>, (Counts, Value)>,
}

fn resource_type(f: &Value) -> &str {
    f["resources"][0]["type"].as_str().unwrap_or_default()
}

impl Aggregation {
    /// An aggregation of `kind` as `request` (Inspector's
    /// `aggregationRequest`) asks; an error names what is not valid.
    pub fn new(kind: &str, request: &Value) -> Result<Self, String> {
        let Some(kind) = TYPES.iter().find(|t| **t == kind).copied() else {
            return Err(format!(
                "aggregationType `{kind}` is not one Vigia answers ({})",
                TYPES.join(", ")
            ));
        };
        let shape = SHAPES
            .iter()
            .find(|sh| sh.kind == kind)
            .ok_or_else(|| format!("aggregationType `{kind}` has no request shape"))?;
        let inner = match request {
            Value::Null => Value::Null,
            Value::Object(o) if o.is_empty() => Value::Null,
            Value::Object(o) => {
                // A union in the model: one member, the one of this type.
                let (name, v) = o
                    .iter()
                    .next()
                    .filter(|_| o.len() == 1)
                    .ok_or_else(|| "aggregationRequest holds exactly one member".to_owned())?;
                if name != shape.member {
                    return Err(format!(
                        "aggregationRequest for {kind} is `{}`, not `{name}`",
                        shape.member
                    ));
                }
                if !v.is_object() {
                    return Err(format!("aggregationRequest.{name} must be an object"));
                }
                v.clone()
            }
            _ => return Err("aggregationRequest must be an object".to_owned()),
        };
        let mut finding_filters: Vec<(&'static str, Vec<Value>)> = Vec::new();
        let mut group_filters: Vec<(usize, Vec<Value>)> = Vec::new();
        let mut nothing = false;
        let path_of = |member: &str| format!("aggregationRequest.{}.{member}", shape.member);
        for (member, v) in inner.as_object().into_iter().flatten() {
            let member = member.as_str();
            if member == "sortOrder" {
                if !matches!(v.as_str(), Some("ASC" | "DESC")) {
                    return Err(format!(
                        "aggregationRequest: sortOrder is ASC or DESC, not {v}"
                    ));
                }
            } else if member == "sortBy" {
                if !v.as_str().is_some_and(|b| shape.sort_by.contains(&b)) {
                    return Err(format!(
                        "aggregationRequest: sortBy for {kind} is one of {}, not {v}",
                        shape.sort_by.join(", ")
                    ));
                }
            } else if let Some((_, values)) = shape.enums.iter().find(|(m, _)| *m == member) {
                let Some(one) = v.as_str().filter(|x| values.contains(x)) else {
                    return Err(format!(
                        "aggregationRequest: {member} is one of {}, not {v}",
                        values.join(", ")
                    ));
                };
                let path = FINDING_FILTERS
                    .iter()
                    .find(|(m, _)| *m == member)
                    .map_or("/-", |(_, p)| *p);
                finding_filters.push((path, vec![json!({"comparison": "EQUALS", "value": one})]));
            } else if let Some((_, absent)) = shape.absent.iter().find(|(m, _)| *m == member) {
                // Vigia's resources never carry it: a filter that asks for
                // a value matches nothing, one that asks for a difference
                // matches everything.
                let passes = filter_list(&path_of(member), v, |f| absent_passes(*absent, f))?;
                nothing |= !passes.iter().all(|p| *p);
            } else if shape.filters.contains(&member) {
                let list = filter_list(&path_of(member), v, string_filter)?;
                if let Some((_, path)) = FINDING_FILTERS.iter().find(|(m, _)| *m == member) {
                    finding_filters.push((path, list));
                } else if let Some((_, part)) = GROUP_FILTERS.iter().find(|(m, _)| *m == member) {
                    group_filters.push((*part, list));
                }
            } else {
                return Err(format!(
                    "aggregationRequest.{} has no member `{member}`",
                    shape.member
                ));
            }
        }
        Ok(Self {
            kind,
            inner,
            finding_filters,
            group_filters,
            nothing,
            groups: BTreeMap::new(),
        })
    }

    /// A finding's group keys (a finding with several packages or layers
    /// counts in each).
    fn keys(&self, f: &Value) -> Vec<Vec<String>> {
        let one = |k: Option<String>| k.map(|k| vec![vec![k]]).unwrap_or_default();
        match self.kind {
            "FINDING_TYPE" => one(text(f, "/type")),
            "TITLE" => vec![vec![
                text(f, "/title").unwrap_or_default(),
                text(f, "/packageVulnerabilityDetails/vulnerabilityId").unwrap_or_default(),
            ]],
            "PACKAGE" => f
                .pointer("/packageVulnerabilityDetails/vulnerablePackages")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .filter_map(|p| text(p, "/name"))
                        .map(|n| vec![n])
                        .collect()
                })
                .unwrap_or_default(),
            "REPOSITORY" | "AWS_ECR_CONTAINER" if resource_type(f) != "AWS_ECR_CONTAINER_IMAGE" => {
                Vec::new()
            }
            "REPOSITORY" => one(text(
                f,
                "/resources/0/details/awsEcrContainerImage/repositoryName",
            )),
            "AWS_ECR_CONTAINER" | "AWS_EC2_INSTANCE" | "AWS_LAMBDA_FUNCTION" => {
                let want = match self.kind {
                    "AWS_ECR_CONTAINER" => "AWS_ECR_CONTAINER_IMAGE",
                    "AWS_EC2_INSTANCE" => "AWS_EC2_INSTANCE",
                    _ => "AWS_LAMBDA_FUNCTION",
                };
                if resource_type(f) == want {
                    one(text(f, "/resources/0/id"))
                } else {
                    Vec::new()
                }
            }
            "IMAGE_LAYER" => f
                .pointer("/packageVulnerabilityDetails/vulnerablePackages")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .filter_map(|p| text(p, "/sourceLayerHash"))
                        .map(|l| {
                            vec![
                                text(
                                    f,
                                    "/resources/0/details/awsEcrContainerImage/repositoryName",
                                )
                                .unwrap_or_default(),
                                text(f, "/resources/0/id").unwrap_or_default(),
                                l,
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Whether the groups can be counted from the findings' columns and
    /// indexes alone ([`Aggregation::count_stored`]): no filter on the
    /// findings themselves, and not image layers (which only bodies name).
    #[must_use]
    pub fn by_columns(&self) -> bool {
        self.finding_filters.is_empty() && self.kind != "IMAGE_LAYER"
    }

    fn group(&mut self, key: Vec<String>, resource: &Value) -> Option<&mut Counts> {
        if self.nothing
            || !self.group_filters.iter().all(|(part, list)| {
                passes(
                    list,
                    &key.get(*part).cloned().into_iter().collect::<Vec<_>>(),
                )
            })
        {
            return None;
        }
        Some(
            &mut self
                .groups
                .entry(key)
                .or_insert_with(|| (Counts::default(), resource.clone()))
                .0,
        )
    }

    /// Counts the stored `ACTIVE` findings by SQL over their columns
    /// (`by_columns` must hold): the same groups and counts as adding every
    /// finding, without reading a body but one per resource the service no
    /// longer has a record of. A resource's details are its record's.
    pub async fn count_stored(&mut self, db: &StateDb) -> DbResult<()> {
        let pool = db.pool();
        let none = Value::Null;
        match self.kind {
            "FINDING_TYPE" => {
                let rows = sqlx::query(
                    "SELECT kind, severity_rank, COUNT(*) AS n, \
                     SUM(CASE WHEN fix_available = 'YES' THEN 1 ELSE 0 END) AS fix, \
                     SUM(CASE WHEN exploit_available = 'YES' THEN 1 ELSE 0 END) AS exploit \
                     FROM findings WHERE status = 'ACTIVE' GROUP BY kind, severity_rank",
                )
                .fetch_all(pool)
                .await?;
                for r in rows {
                    let kind: String = r.try_get("kind")?;
                    let (rank, n, fix, exploit) = (
                        r.try_get::<i64, _>("severity_rank")?,
                        count(&r, "n")?,
                        count(&r, "fix")?,
                        count(&r, "exploit")?,
                    );
                    if let Some(c) = self.group(vec![kind.clone()], &none) {
                        c.add_n(rank, n);
                        c.fix += fix;
                        c.exploit += exploit;
                        if kind == "NETWORK_REACHABILITY" {
                            c.network += n;
                        }
                    }
                }
            }
            "TITLE" => {
                let rows = sqlx::query(
                    "SELECT title, vulnerability_id, severity_rank, COUNT(*) AS n FROM findings \
                     WHERE status = 'ACTIVE' GROUP BY title, vulnerability_id, severity_rank",
                )
                .fetch_all(pool)
                .await?;
                for r in rows {
                    let key = vec![r.try_get("title")?, r.try_get("vulnerability_id")?];
                    let (rank, n) = (r.try_get::<i64, _>("severity_rank")?, count(&r, "n")?);
                    if let Some(c) = self.group(key, &none) {
                        c.add_n(rank, n);
                    }
                }
            }
            "PACKAGE" => {
                // Each name carries its finding's status and severity:
                // counted from one index, no finding read.
                let rows = sqlx::query(
                    "SELECT name, severity_rank, COUNT(*) AS n FROM finding_packages \
                     WHERE status = 'ACTIVE' GROUP BY name, severity_rank",
                )
                .fetch_all(pool)
                .await?;
                for r in rows {
                    let key = vec![r.try_get("name")?];
                    let (rank, n) = (r.try_get::<i64, _>("severity_rank")?, count(&r, "n")?);
                    if let Some(c) = self.group(key, &none) {
                        c.add_n(rank, n);
                    }
                }
            }
            _ => self.count_by_resource(db).await?,
        }
        Ok(())
    }

    /// REPOSITORY and the per-resource kinds: findings counted per
    /// resource, then grouped by its type (a column of its record) and, for
    /// repositories, the name its record gives. The details shown for a
    /// resource are read afterwards, for the page answered only
    /// ([`Aggregation::resources_on_page`]).
    async fn count_by_resource(&mut self, db: &StateDb) -> DbResult<()> {
        let mut types: BTreeMap<String, String> = BTreeMap::new();
        for r in sqlx::query("SELECT id, kind FROM resources")
            .fetch_all(db.pool())
            .await?
        {
            types.insert(r.try_get("id")?, r.try_get("kind")?);
        }
        let mut repositories: BTreeMap<String, String> = BTreeMap::new();
        if self.kind == "REPOSITORY" {
            for r in sqlx::query(
                "SELECT id, details FROM resources WHERE kind = 'AWS_ECR_CONTAINER_IMAGE'",
            )
            .fetch_all(db.pool())
            .await?
            {
                let details: String = r.try_get("details")?;
                let v: Value = serde_json::from_str(&details).unwrap_or_default();
                if let Some(name) = v
                    .pointer("/details/awsEcrContainerImage/repositoryName")
                    .and_then(Value::as_str)
                {
                    repositories.insert(r.try_get("id")?, name.to_owned());
                }
            }
        }
        let rows = sqlx::query(
            "SELECT resource_id, severity_rank, COUNT(*) AS n, \
             SUM(CASE WHEN kind = 'NETWORK_REACHABILITY' THEN 1 ELSE 0 END) AS network FROM findings \
             WHERE status = 'ACTIVE' GROUP BY resource_id, severity_rank",
        )
        .fetch_all(db.pool())
        .await?;
        let none = Value::Null;
        for r in rows {
            let id: String = r.try_get("resource_id")?;
            let (rank, n, network) = (
                r.try_get::<i64, _>("severity_rank")?,
                count(&r, "n")?,
                count(&r, "network")?,
            );
            if !types.contains_key(&id) {
                // A finding whose resource has no record: its own copy says.
                let body: Option<String> =
                    sqlx::query_scalar("SELECT body FROM findings WHERE resource_id = $1 LIMIT 1")
                        .bind(&id)
                        .fetch_optional(db.pool())
                        .await?;
                let f = body
                    .and_then(|b| serde_json::from_str::<Value>(&b).ok())
                    .unwrap_or_default();
                let res = &f["resources"][0];
                types.insert(id.clone(), res["type"].as_str().unwrap_or("").to_owned());
                if let Some(name) = res
                    .pointer("/details/awsEcrContainerImage/repositoryName")
                    .and_then(Value::as_str)
                {
                    repositories.insert(id.clone(), name.to_owned());
                }
            }
            let rtype = types.get(&id).map_or("", String::as_str);
            let key = match self.kind {
                "REPOSITORY" if rtype == "AWS_ECR_CONTAINER_IMAGE" => {
                    repositories.get(&id).map(|n| vec![n.clone()])
                }
                "AWS_ECR_CONTAINER" if rtype == "AWS_ECR_CONTAINER_IMAGE" => Some(vec![id.clone()]),
                "AWS_EC2_INSTANCE" if rtype == "AWS_EC2_INSTANCE" => Some(vec![id.clone()]),
                "AWS_LAMBDA_FUNCTION" if rtype == "AWS_LAMBDA_FUNCTION" => Some(vec![id.clone()]),
                _ => None,
            };
            if let Some(c) = key.and_then(|k| self.group(k, &none)) {
                c.add_n(rank, n);
                c.images.insert(id);
                c.network += network;
            }
        }
        Ok(())
    }

    /// The order groups are answered in (`sortBy` CRITICAL, HIGH, ALL,
    /// AFFECTED_IMAGES for repositories or NETWORK_FINDINGS for instances;
    /// `sortOrder` ASC or DESC; CRITICAL descending by default).
    /// What a group is sorted by: the `sortBy` count, then all findings.
    fn sort_values(&self, c: &Counts) -> (u64, u64) {
        let by = match self.inner["sortBy"].as_str().unwrap_or("CRITICAL") {
            "HIGH" => c.high,
            "ALL" => c.all,
            "AFFECTED_IMAGES" => u64::try_from(c.images.len()).unwrap_or(u64::MAX),
            "NETWORK_FINDINGS" => c.network,
            _ => c.critical,
        };
        (by, c.all)
    }

    fn ascending(&self) -> bool {
        self.inner["sortOrder"].as_str() == Some("ASC")
    }

    /// The groups in the order answered: by their sort values, in the
    /// order asked, and groups with equal values by key (ascending).
    fn order(&self) -> Vec<&Vec<String>> {
        let asc = self.ascending();
        let mut keys: Vec<(&Vec<String>, (u64, u64))> = self
            .groups
            .iter()
            .map(|(k, (c, _))| (k, self.sort_values(c)))
            .collect();
        // Stable: the map's key order stays among equal values.
        keys.sort_by(|a, b| if asc { a.1.cmp(&b.1) } else { b.1.cmp(&a.1) });
        keys.into_iter().map(|(k, _)| k).collect()
    }

    /// How many groups there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there is no group.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The `nextToken` of a page that ends with the `index`th group: that
    /// group's sort values and key.
    #[must_use]
    pub fn token_after(&self, index: usize) -> Option<String> {
        let key = *self.order().get(index)?;
        let (counts, _) = self.groups.get(key)?;
        let (by, all) = self.sort_values(counts);
        serde_json::to_string(&json!({"by": by, "all": all, "key": key})).ok()
    }

    /// Where the page after `token` begins: at the first group that sorts
    /// after the group the token names, wherever that group is now, so that
    /// groups added or removed between pages neither repeat nor go missing
    /// (an offset did both). `None`: not a token this service gave.
    #[must_use]
    pub fn start_after(&self, token: &str) -> Option<usize> {
        let t: Value = serde_json::from_str(token).ok()?;
        let by = t["by"].as_u64()?;
        let all = t["all"].as_u64()?;
        let key: Vec<String> = serde_json::from_value(t["key"].clone()).ok()?;
        let asc = self.ascending();
        let order = self.order();
        let after = |k: &Vec<String>| {
            let values = self.groups.get(k).map(|(c, _)| self.sort_values(c));
            let o = values.unwrap_or_default().cmp(&(by, all));
            let o = if asc { o } else { o.reverse() };
            o.then_with(|| k.cmp(&key)) == std::cmp::Ordering::Greater
        };
        Some(order.iter().position(|k| after(k)).unwrap_or(order.len()))
    }

    /// Reads the records of the resources whose groups are on the page
    /// answered (`start`, `limit`), for the details their answers show, when
    /// they were counted from columns.
    pub async fn resources_on_page(
        &mut self,
        db: &StateDb,
        start: usize,
        limit: usize,
    ) -> DbResult<()> {
        if !matches!(
            self.kind,
            "AWS_ECR_CONTAINER" | "AWS_EC2_INSTANCE" | "AWS_LAMBDA_FUNCTION"
        ) {
            return Ok(());
        }
        let ids: Vec<String> = self
            .order()
            .into_iter()
            .skip(start)
            .take(limit)
            .filter_map(|k| k.first().cloned())
            .collect();
        for id in ids {
            let Some((_, sample)) = self.groups.get_mut(&vec![id.clone()]) else {
                continue;
            };
            if !sample.is_null() {
                continue;
            }
            let details: Option<String> =
                sqlx::query_scalar("SELECT details FROM resources WHERE id = $1 LIMIT 1")
                    .bind(&id)
                    .fetch_optional(db.pool())
                    .await?;
            *sample = if let Some(d) = details {
                serde_json::from_str(&d).unwrap_or_default()
            } else {
                let body: Option<String> =
                    sqlx::query_scalar("SELECT body FROM findings WHERE resource_id = $1 LIMIT 1")
                        .bind(&id)
                        .fetch_optional(db.pool())
                        .await?;
                body.and_then(|b| serde_json::from_str::<Value>(&b).ok())
                    .map_or(Value::Null, |f| f["resources"][0].clone())
            };
        }
        Ok(())
    }

    /// Counts one finding (only `ACTIVE` ones count, as in Inspector).
    pub fn add(&mut self, f: &Value) {
        if self.nothing
            || f["status"] != "ACTIVE"
            || !self
                .finding_filters
                .iter()
                .all(|(path, list)| passes(list, &values_at(f, path)))
        {
            return;
        }
        let mut ks = self.keys(f);
        ks.sort();
        ks.dedup();
        for k in ks {
            if !self.group_filters.iter().all(|(part, list)| {
                passes(list, &k.get(*part).cloned().into_iter().collect::<Vec<_>>())
            }) {
                continue;
            }
            let entry = self
                .groups
                .entry(k)
                .or_insert_with(|| (Counts::default(), f["resources"][0].clone()));
            entry.0.add(f);
        }
    }

    /// The response objects, sorted as asked (`sortBy` CRITICAL, HIGH or
    /// ALL; `sortOrder` ASC or DESC; CRITICAL descending by default).
    #[must_use]
    pub fn finish(self) -> Vec<Value> {
        let account = vigia_scan::ACCOUNT_ID;
        let kind = self.kind;
        let order: Vec<Vec<String>> = self.order().into_iter().cloned().collect();
        let mut groups = self.groups;
        order
            .into_iter()
            .filter_map(|k| groups.remove(&k).map(|g| (k, g)))
            .map(|(k, (c, r))| {
                let body = match kind {
                    "FINDING_TYPE" => json!({"findingTypeAggregation": {
                        "accountId": account, "severityCounts": c.severity(),
                        "exploitAvailableCount": c.exploit, "fixAvailableCount": c.fix, "vigiaFindingType": k[0]}}),
                    "PACKAGE" => json!({"packageAggregation": {"packageName": k[0], "accountId": account, "severityCounts": c.severity()}}),
                    "TITLE" => json!({"titleAggregation": {"title": k[0], "vulnerabilityId": k[1], "accountId": account, "severityCounts": c.severity()}}),
                    "REPOSITORY" => json!({"repositoryAggregation": {"repository": k[0], "accountId": account,
                        "severityCounts": c.severity(), "affectedImages": c.images.len()}}),
                    "AWS_ECR_CONTAINER" => {
                        let img = &r["details"]["awsEcrContainerImage"];
                        json!({"awsEcrContainerAggregation": {"resourceId": k[0], "imageSha": img["imageHash"],
                            "repository": img["repositoryName"], "architecture": img["architecture"], "imageTags": img["imageTags"],
                            "accountId": account, "severityCounts": c.severity()}})
                    }
                    "IMAGE_LAYER" => json!({"imageLayerAggregation": {"repository": k[0], "resourceId": k[1], "layerHash": k[2],
                        "accountId": account, "severityCounts": c.severity()}}),
                    "AWS_EC2_INSTANCE" => json!({"ec2InstanceAggregation": {"instanceId": k[0],
                        "operatingSystem": r["details"]["awsEc2Instance"]["platform"],
                        "accountId": account, "severityCounts": c.severity(), "networkFindings": c.network}}),
                    _ => {
                        let l = &r["details"]["awsLambdaFunction"];
                        json!({"lambdaFunctionAggregation": {"resourceId": k[0], "functionName": l["functionName"],
                            "runtime": l["runtime"], "accountId": account, "severityCounts": c.severity()}})
                    }
                };
                strip_nulls(body)
            })
            .collect()
    }
}

/// The response objects of one aggregation type over `findings` (see
/// [`Aggregation`]).
pub fn aggregate(kind: &str, request: &Value, findings: &[Value]) -> Result<Vec<Value>, String> {
    let mut a = Aggregation::new(kind, request)?;
    for f in findings {
        a.add(f);
    }
    Ok(a.finish())
}

/// Leaves out members with no value, as Inspector's responses do.
fn strip_nulls(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.retain(|_, x| !x.is_null());
        for x in o.values_mut() {
            *x = strip_nulls(x.take());
        }
    }
    v
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_aggregation_type_has_its_shape() {
        let shapes: Vec<&str> = SHAPES.iter().map(|s| s.kind).collect();
        assert_eq!(shapes, TYPES);
    }

    use super::*;

    fn f(sev: &str, pkg: &str, img: &str, status: &str) -> Value {
        json!({"status": status, "severity": sev, "type": "PACKAGE_VULNERABILITY", "title": format!("CVE-1 - {pkg}"),
               "fixAvailable": "YES",
               "resources": [{"type": "AWS_ECR_CONTAINER_IMAGE", "id": img, "details": {"awsEcrContainerImage": {"repositoryName": "app", "imageHash": "sha256:1"}}}],
               "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-1", "vulnerablePackages": [{"name": pkg, "sourceLayerHash": "sha256:l1"}]}})
    }

    /// A page's token names its last group, not a position: groups added
    /// before it or removed between pages neither repeat nor go missing,
    /// in either order; a token this service did not give is refused.
    #[test]
    fn pages_continue_after_the_group_their_token_names() {
        let counted = |order: &str, packages: &[(&str, usize)]| {
            let request = json!({"packageAggregation": {"sortBy": "ALL", "sortOrder": order}});
            let mut a = Aggregation::new("PACKAGE", &request).unwrap();
            for (name, n) in packages {
                for _ in 0..*n {
                    a.add(&f("HIGH", name, "img", "ACTIVE"));
                }
            }
            a
        };
        let names = |a: Aggregation, from: usize| -> Vec<String> {
            a.finish()
                .iter()
                .skip(from)
                .map(|g| {
                    g["packageAggregation"]["packageName"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect()
        };
        // Five groups, `b` and `c` tied; a first page of two.
        let five = [("a", 5), ("b", 3), ("c", 3), ("d", 2), ("e", 1)];
        let added = [("z", 9), ("a", 5), ("b", 3), ("c", 3), ("d", 2), ("e", 1)];
        let removed = [("b", 3), ("c", 3), ("d", 2), ("e", 1)];
        for (order, first, after_added, after_removed) in [
            ("DESC", ["a", "b"], vec!["c", "d", "e"], vec!["c", "d", "e"]),
            ("ASC", ["e", "d"], vec!["b", "c", "a", "z"], vec!["b", "c"]),
        ] {
            let before = counted(order, &five);
            let token = before.token_after(1).unwrap();
            assert_eq!(names(counted(order, &five), 0)[..2], first, "{order}");
            for (now, rest) in [(&added[..], after_added), (&removed[..], after_removed)] {
                let a = counted(order, now);
                let start = a.start_after(&token).unwrap();
                assert_eq!(names(a, start), rest, "{order}: {now:?}");
            }
            assert!(before.start_after("3").is_none());
            assert!(before.start_after("{\"by\": 1}").is_none());
        }
    }

    #[test]
    fn counts_active_findings_by_group() {
        let all = [
            f("CRITICAL", "openssl", "a", "ACTIVE"),
            f("HIGH", "openssl", "b", "ACTIVE"),
            f("LOW", "zlib", "a", "ACTIVE"),
            f("CRITICAL", "zlib", "a", "CLOSED"),
        ];
        let p = aggregate("PACKAGE", &json!({}), &all).unwrap();
        assert_eq!(p[0]["packageAggregation"]["packageName"], "openssl");
        assert_eq!(
            p[0]["packageAggregation"]["severityCounts"],
            json!({"all": 2, "medium": 0, "high": 1, "critical": 1,
                   "vigiaLow": 0, "vigiaInformational": 0, "vigiaUntriaged": 0})
        );
        assert_eq!(p[1]["packageAggregation"]["severityCounts"]["all"], 1);
        assert_eq!(p[1]["packageAggregation"]["severityCounts"]["vigiaLow"], 1);
        let r = aggregate("REPOSITORY", &json!({}), &all).unwrap();
        assert_eq!(r[0]["repositoryAggregation"]["affectedImages"], 2);
        let l = aggregate("IMAGE_LAYER", &json!({}), &all).unwrap();
        assert_eq!(l.len(), 2);
        let asc = aggregate(
            "PACKAGE",
            &json!({"packageAggregation": {"sortBy": "ALL", "sortOrder": "ASC"}}),
            &all,
        )
        .unwrap();
        assert_eq!(asc[0]["packageAggregation"]["packageName"], "zlib");
        assert!(aggregate("AMI", &json!({}), &all).is_err());
        // The request's filters: on the package, on the findings counted.
        let only = aggregate("PACKAGE", &json!({"packageAggregation": {"packageNames": [{"comparison": "EQUALS", "value": "zlib"}]}}), &all).unwrap();
        assert_eq!(only.len(), 1);
        assert_eq!(only[0]["packageAggregation"]["packageName"], "zlib");
        let in_b = aggregate("AWS_ECR_CONTAINER", &json!({"awsEcrContainerAggregation": {"resourceIds": [{"comparison": "EQUALS", "value": "b"}]}}), &all).unwrap();
        assert_eq!(in_b.len(), 1);
        assert_eq!(
            in_b[0]["awsEcrContainerAggregation"]["severityCounts"]["all"],
            1
        );
        let not_a = aggregate("IMAGE_LAYER", &json!({"imageLayerAggregation": {"resourceIds": [{"comparison": "NOT_EQUALS", "value": "a"}]}}), &all).unwrap();
        assert_eq!(not_a.len(), 1);
        assert_eq!(not_a[0]["imageLayerAggregation"]["resourceId"], "b");
        assert!(
            aggregate(
                "PACKAGE",
                &json!({"packageAggregation": {"nope": []}}),
                &all
            )
            .is_err()
        );
    }

    /// Requests are read as Inspector's model has them, member by member.
    #[test]
    fn requests_follow_the_model() {
        let all = [
            f("CRITICAL", "openssl", "a", "ACTIVE"),
            f("HIGH", "openssl", "b", "ACTIVE"),
            f("LOW", "zlib", "a", "ACTIVE"),
        ];
        let ok = |kind: &str, req: Value| aggregate(kind, &req, &all);
        // Enum members are single values, as botocore sends them.
        let typed = ok("FINDING_TYPE", json!({"findingTypeAggregation": {"findingType": "PACKAGE_VULNERABILITY", "resourceType": "AWS_ECR_CONTAINER_IMAGE"}})).unwrap();
        assert_eq!(
            typed[0]["findingTypeAggregation"]["severityCounts"]["all"],
            3
        );
        assert!(
            ok(
                "FINDING_TYPE",
                json!({"findingTypeAggregation": {"findingType": "NETWORK_REACHABILITY"}})
            )
            .unwrap()
            .is_empty()
        );
        assert!(
            ok(
                "TITLE",
                json!({"titleAggregation": {"resourceType": "AWS_LAMBDA_FUNCTION"}})
            )
            .unwrap()
            .is_empty()
        );
        // Refused: a list where the model has one value, a value outside
        // the enum, another type's member or one the type does not have,
        // a comparison the model lacks, 11 filters, an empty value, a
        // sortBy of another type, two members in the union.
        for (kind, bad) in [
            (
                "FINDING_TYPE",
                json!({"findingTypeAggregation": {"findingType": [{"comparison": "EQUALS", "value": "PACKAGE_VULNERABILITY"}]}}),
            ),
            (
                "FINDING_TYPE",
                json!({"findingTypeAggregation": {"findingType": "SECRET"}}),
            ),
            ("PACKAGE", json!({"titleAggregation": {}})),
            (
                "PACKAGE",
                json!({"packageAggregation": {"functionNames": [{"comparison": "EQUALS", "value": "f"}]}}),
            ),
            (
                "PACKAGE",
                json!({"packageAggregation": {"packageNames": [{"comparison": "LIKE", "value": "z"}]}}),
            ),
            (
                "PACKAGE",
                json!({"packageAggregation": {"packageNames": vec![json!({"comparison": "EQUALS", "value": "z"}); 11]}}),
            ),
            (
                "PACKAGE",
                json!({"packageAggregation": {"packageNames": [{"comparison": "EQUALS", "value": ""}]}}),
            ),
            (
                "PACKAGE",
                json!({"packageAggregation": {"sortBy": "AFFECTED_IMAGES"}}),
            ),
            (
                "PACKAGE",
                json!({"packageAggregation": {"sortOrder": "UP"}}),
            ),
            (
                "PACKAGE",
                json!({"packageAggregation": {}, "titleAggregation": {}}),
            ),
            (
                "AWS_EC2_INSTANCE",
                json!({"ec2InstanceAggregation": {"instanceTags": [{"comparison": "PREFIX", "key": "k", "value": "v"}]}}),
            ),
        ] {
            assert!(ok(kind, bad.clone()).is_err(), "{bad}");
        }
        // What Vigia's resources never carry: asked for, nothing matches;
        // asked to differ, everything does.
        let img = |req: Value| {
            ok(
                "AWS_ECR_CONTAINER",
                json!({"awsEcrContainerAggregation": req}),
            )
            .unwrap()
            .len()
        };
        assert_eq!(img(json!({})), 2);
        assert_eq!(img(json!({"inUseCount": [{"lowerInclusive": 1}]})), 0);
        let fns = |req: Value| {
            ok(
                "AWS_LAMBDA_FUNCTION",
                json!({"lambdaFunctionAggregation": req}),
            )
        };
        assert!(
            fns(json!({"functionTags": [{"comparison": "EQUALS", "key": "team", "value": "a"}]}))
                .unwrap()
                .is_empty()
        );
        // Repositories by the images they affect.
        let mut more = all.to_vec();
        let mut other = f("CRITICAL", "zlib", "c", "ACTIVE");
        other["resources"][0]["details"]["awsEcrContainerImage"]["repositoryName"] = json!("other");
        more.push(other.clone());
        more.push(other);
        let by_images = aggregate(
            "REPOSITORY",
            &json!({"repositoryAggregation": {"sortBy": "AFFECTED_IMAGES"}}),
            &more,
        )
        .unwrap();
        assert_eq!(by_images[0]["repositoryAggregation"]["repository"], "app");
        let by_critical = aggregate(
            "REPOSITORY",
            &json!({"repositoryAggregation": {"sortBy": "CRITICAL"}}),
            &more,
        )
        .unwrap();
        assert_eq!(
            by_critical[0]["repositoryAggregation"]["repository"],
            "other"
        );
    }
}
