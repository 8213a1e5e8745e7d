//! The API's OpenAPI 3.1 document, generated from [`OPERATIONS`]: the one
//! table the router is built from and the middleware reads each
//! operation's access from, so no route exists undocumented or without its
//! access.

use serde_json::{Value, json};

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed.
    Open,
    /// A viewer or admin token.
    Read,
    /// An admin token.
    Write,
    /// An agent or admin token: what agents and registries send in.
    Push,
}

/// One operation: method, path, access, summary, and the Inspector
/// operation it answers as (when it does).
pub const OPERATIONS: &[(&str, &str, Access, &str, Option<&str>)] = &[
    (
        "get",
        "/healthz",
        Access::Open,
        "Liveness: the process answers.",
        None,
    ),
    (
        "get",
        "/readyz",
        Access::Open,
        "Readiness: an advisory generation is loaded (503 until then).",
        None,
    ),
    (
        "get",
        "/metrics",
        Access::Read,
        "Prometheus metrics: target reads, rematches, failures, updates, findings by status.",
        None,
    ),
    ("get", "/openapi.json", Access::Read, "This document.", None),
    (
        "post",
        "/findings/list",
        Access::Read,
        "Findings matching filterCriteria, sorted by sortCriteria, one page of at most maxResults (1-100). Every status is listed unless findingStatus says otherwise. Within one filterCriteria key, EQUALS and PREFIX values are ORed and NOT_EQUALS values ANDed; keys are ANDed. nextToken is a cursor (the last finding's sort value and ARN): findings added or removed between pages neither repeat nor go missing. A nextToken is followed only with the filters and sort of the request whose answer held it (maxResults may change); with others it is refused (400).",
        Some("ListFindings"),
    ),
    (
        "post",
        "/findings/aggregation/list",
        Access::Read,
        "Active findings counted by severity per FINDING_TYPE, PACKAGE, TITLE, REPOSITORY, AWS_ECR_CONTAINER, IMAGE_LAYER, AWS_EC2_INSTANCE or AWS_LAMBDA_FUNCTION. aggregationRequest holds the one member of that type, with the members Inspector's model gives it (findingType and resourceType single values; the others lists of 1-10 string filters, EQUALS and PREFIX values ORed, NOT_EQUALS values ANDed, members ANDed); a filter on what Vigia's resources never carry (AMIs, tags, in-use counts) matches nothing unless it asks for a difference. sortBy also takes AFFECTED_IMAGES (repositories) and NETWORK_FINDINGS (instances). accountIds filters on Vigia's one account.",
        Some("ListFindingAggregations"),
    ),
    (
        "post",
        "/findings/details/batch/get",
        Access::Read,
        "KEV and EPSS details of 1 to 10 findings.",
        Some("BatchGetFindingDetails"),
    ),
    (
        "post",
        "/coverage/list",
        Access::Read,
        "Resources and their scan status (statusCode, Inspector's reason): SUCCESSFUL when everything found was evaluated, INACTIVE with NO_INVENTORY when nothing to evaluate was found and UNSUPPORTED_OS when the OS release has no advisories. filterCriteria takes every CoverageFilterCriteria key of Inspector's model (EQUALS and NOT_EQUALS; within a key EQUALS values ORed and NOT_EQUALS values ANDed, keys ANDed); keys for what Vigia's resources never carry match nothing unless they ask for a difference.",
        Some("ListCoverage"),
    ),
    (
        "post",
        "/coverage/statistics/list",
        Access::Read,
        "Resources counted by SCAN_STATUS_CODE, SCAN_STATUS_REASON, RESOURCE_TYPE, ACCOUNT_ID or ECR_REPOSITORY_NAME (resources without one are in totalCounts and no group), filtered as /coverage/list; each count's value in vigiaGroupValue.",
        Some("ListCoverageStatistics"),
    ),
    (
        "post",
        "/filters/create",
        Access::Write,
        "Create a filter; with action SUPPRESS it suppresses every matching finding at once and every new one. vigiaExpiresAt (a timestamp) is Vigia's optional expiry.",
        Some("CreateFilter"),
    ),
    (
        "post",
        "/filters/update",
        Access::Write,
        "Change a filter; its effect is applied at once. vigiaExpiresAt sets the expiry, null clears it.",
        Some("UpdateFilter"),
    ),
    (
        "post",
        "/filters/delete",
        Access::Write,
        "Delete a filter; what it suppressed is active again.",
        Some("DeleteFilter"),
    ),
    (
        "post",
        "/filters/list",
        Access::Read,
        "The filters, oldest first, maxResults (1-100) at a time, each with vigiaSuppressedCount (the findings it suppresses now).",
        Some("ListFilters"),
    ),
    (
        "post",
        "/reporting/create",
        Access::Write,
        "Write the findings matching filterCriteria (ACTIVE only unless findingStatus says otherwise) as CSV or JSON to s3Destination {bucketName, keyPrefix, kmsKeyArn}: a bucket of the S3-compatible storage given to `vigia serve --export-s3-endpoint`, else a folder of that name under exports/ in the data directory, which must exist (BUCKET_NOT_FOUND otherwise). Returns the reportId; the report is written in the background.",
        Some("CreateFindingsReport"),
    ),
    (
        "post",
        "/reporting/status/get",
        Access::Read,
        "A findings report's status (IN_PROGRESS, SUCCEEDED, FAILED with errorCode and errorMessage, CANCELLED), destination and filter.",
        Some("GetFindingsReportStatus"),
    ),
    (
        "post",
        "/reporting/cancel",
        Access::Write,
        "Cancel a findings report in progress.",
        Some("CancelFindingsReport"),
    ),
    (
        "post",
        "/sbomexport/create",
        Access::Write,
        "Write an SBOM per resource matching resourceFilterCriteria (resourceId, resourceType, ecrRepositoryName, ecrImageTags, lambdaFunctionName, accountId; EQUALS, NOT_EQUALS) from its stored inventory, CYCLONEDX_1_4 (written as CycloneDX 1.6) or SPDX_2_3, to s3Destination as /reporting/create does, under keyPrefix/reportId/.",
        Some("CreateSbomExport"),
    ),
    (
        "post",
        "/sbomexport/get",
        Access::Read,
        "An SBOM export's status, format, destination and filter.",
        Some("GetSbomExport"),
    ),
    (
        "post",
        "/sbomexport/cancel",
        Access::Write,
        "Cancel an SBOM export in progress.",
        Some("CancelSbomExport"),
    ),
    (
        "get",
        "/v1/resources",
        Access::Read,
        "Every resource with its coverage state, source and content fingerprint.",
        None,
    ),
    (
        "get",
        "/v1/resource",
        Access::Read,
        "One resource (query parameter id): its record, its inventory and its scans, newest first.",
        None,
    ),
    (
        "post",
        "/v1/resources/register",
        Access::Write,
        "Register a resource by its absolute path (an image layout or archive, a function zip, a root filesystem): scanned at the next look, then watched.",
        None,
    ),
    (
        "post",
        "/v1/resources/rescan",
        Access::Write,
        "Scan a resource (by id) again at the next look.",
        None,
    ),
    (
        "post",
        "/v1/resources/delete",
        Access::Write,
        "Delete a resource (by id): its findings close and it is left alone until registered again.",
        None,
    ),
    (
        "get",
        "/v1/findings/history",
        Access::Read,
        "One finding (query parameter arn) and its history: each status change with its time and cause (scan, advisory generation, filter, resource terminated).",
        None,
    ),
    (
        "get",
        "/v1/findings/trend",
        Access::Read,
        "Findings ACTIVE at the end of each of the last `days` days (1-365, 30 by default), by their current severity, read from the findings' history: {severities, days: [{date, counts}]}.",
        None,
    ),
    (
        "get",
        "/v1/resource/sbom",
        Access::Read,
        "A resource's SBOM from its stored inventory (`id`, `format` cyclonedx (CycloneDX 1.6) or spdx (SPDX 2.3)), as a download.",
        None,
    ),
    (
        "get",
        "/v1/watches",
        Access::Read,
        "The folders the service watches (--watch), each with its resources and how many are scanned successfully: {folders: [{path, resources, successful}]}.",
        None,
    ),
    (
        "get",
        "/v1/tokens",
        Access::Write,
        "Every API token: id, name, role, createdAt, revokedAt (never a secret). Admins only.",
        None,
    ),
    (
        "post",
        "/v1/tokens/create",
        Access::Write,
        "Create a token {name, role: admin|viewer|agent}; the answer holds the token and its SigV4 key pair, shown this once.",
        None,
    ),
    (
        "post",
        "/v1/tokens/revoke",
        Access::Write,
        "Revoke a token {id}; sessions opened with it end.",
        None,
    ),
    (
        "post",
        "/v1/db/update",
        Access::Write,
        "Update the advisories now and re-evaluate the stored inventories holding a changed package. The update is a job any process's worker takes (a process serving only the API does none itself); the answer waits for its outcome {update, rematch} up to ten minutes, else 202 {queued} (GET /v1/db/status shows the new generation when it is loaded). An update already running answers for this request too.",
        None,
    ),
    (
        "get",
        "/v1/db/status",
        Access::Read,
        "The advisory generation in force, and the advisory database's state (database): each feed's records, last update and check, age and whether it is stale.",
        None,
    ),
    (
        "get",
        "/v1/gate/policy",
        Access::Read,
        "The deployment gate's policy: severity (refuse active findings at or above it; NONE for no such rule), fixableOnly, kev (refuse known exploited findings whatever their severity), maxScanAgeDays, unscanned (allow|deny: images never scanned, or referenced without a digest), exceptions [{repository (glob) or vulnerability (ID or alias), expires?, reason}].",
        None,
    ),
    (
        "post",
        "/v1/gate/policy/update",
        Access::Write,
        "Set the deployment gate's policy ({policy}), for every process on this database.",
        None,
    ),
    (
        "post",
        "/v1/gate/check",
        Access::Read,
        "Decide images ({images: [1-100 references]}) by the policy from their stored findings, by digest: {allowed, decisions: [{image, digest, allowed, reason, resourceId, violations}]}. What `vigia gate` asks.",
        None,
    ),
    (
        "post",
        "/v1/admission",
        Access::Read,
        "Kubernetes' validating admission webhook: an AdmissionReview (admission.k8s.io/v1) of a Pod or a workload with a pod template (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ReplicationController) is answered allowed, or refused (403) naming each refused image and the findings that break the policy; images let through unscanned come back as warnings. Other objects and deletions are allowed. When the service cannot answer, the webhook's failurePolicy decides (Fail refuses, Ignore admits).",
        None,
    ),
    (
        "get",
        "/v1/targets",
        Access::Read,
        "Event delivery targets (webhook, slack) with their event patterns; secrets only as a prefix.",
        None,
    ),
    (
        "post",
        "/v1/targets/create",
        Access::Write,
        "Create a delivery target: {name, type: webhook|slack|securityhub, url, secret?, pattern?, maxAttempts? (1-100, default 10), initialBackoffMillis? (default 2000)}; securityhub also takes region, accessKeyId, secretAccessKey and accountId?, and receives finding events only, as ASFF findings through BatchImportFindings (SigV4-signed, up to 100 a request). jira takes project, issueType?, email? and token, and receives finding events only: an issue per active finding, a comment when it is closed or suppressed. pattern is an EventBridge event pattern (exact values, prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists, cidr, $or; fields AND, values OR; an event array matches on overlap); the default takes every event. A webhook receives each matching event as JSON, signed the Standard Webhooks way (webhook-id is the event ID, stable across retries; webhook-signature v1 is an HMAC-SHA256 under secret, generated and returned once when not given). Delivery is at least once: failed attempts are retried with exponential backoff and jitter, then kept as dead letters.",
        None,
    ),
    (
        "post",
        "/v1/targets/delete",
        Access::Write,
        "Delete a target (by id) and its deliveries.",
        None,
    ),
    (
        "get",
        "/v1/targets/deliveries",
        Access::Read,
        "A target's deliveries (query parameters id, state PENDING|DELIVERED|DEAD, maxResults 1-1000), newest first: attempts, the receiver's last status and error.",
        None,
    ),
    (
        "post",
        "/v1/targets/replay",
        Access::Write,
        "Send a target's dead letters again ({id, eventIds?}; all of them without eventIds), with a fresh count of attempts.",
        None,
    ),
    (
        "get",
        "/v1/registries",
        Access::Read,
        "Registries images are found in, without passwords, with each one's last sync (syncedAt, syncError).",
        None,
    ),
    (
        "post",
        "/v1/registries/create",
        Access::Write,
        "Add a registry, or replace the configuration of the one of that name, and sync it: {name, url (http(s)://host[:port]), username? and password? (basic auth, and bearer token exchange), dockerConfig? (credentials from Docker's configuration and credential helpers), include? and exclude? (repository globs, * for any run), scanFrequency? MANUAL|SCAN_ON_PUSH|CONTINUOUS_SCAN (default CONTINUOUS_SCAN), rescanDuration? LIFETIME|DAYS_3|DAYS_7|DAYS_14|DAYS_30|DAYS_60|DAYS_90|DAYS_180 (by last push; default LIFETIME), maxImageBytes? (default 10 GiB), platform? (os/arch[/variant]), syncSeconds? (default 300), pageSize? (default 100)}. A sync lists the catalog and tags (following Link pages) and scans each new digest once, whatever the number of its tags; a digest no tag points at is RESOURCE_TERMINATED, an image past its rescan window SCAN_ELIGIBILITY_EXPIRED (findings closed either way). Registry errors are coverage reasons: ACCESS_DENIED, UNSUPPORTED_MEDIA_TYPE, IMAGE_SIZE_EXCEEDED.",
        None,
    ),
    (
        "post",
        "/v1/registries/delete",
        Access::Write,
        "Remove a registry ({name}): its images become RESOURCE_TERMINATED and their findings close.",
        None,
    ),
    (
        "post",
        "/v1/registries/sync",
        Access::Write,
        "Reconcile a registry ({name}) with its catalog now.",
        None,
    ),
    (
        "post",
        "/v1/registries/notifications",
        Access::Push,
        "Docker Distribution's notification endpoint (query parameter registry: the registry's name in Vigia). Takes the envelope {events: [...]} (application/vnd.docker.distribution.events.v2+json): a push of a manifest by tag to a watched repository is scanned within seconds (once per digest); a deletion syncs the registry. Configure the registry's notifications.endpoints with this URL and the header Authorization: Bearer <agent token>.",
        None,
    ),
    (
        "post",
        "/v1/agent/checkin",
        Access::Push,
        "What vigia agent sends: {hostId, agentVersion, hostname?, kernel?, interfaces, inventory} with the whole inventory, or with base (the inventoryId last accepted), added and removed packages, and the inventory without its packages. Answers at once {resourceId, inventoryId, queued}: queued is true when the inventory is not the one evaluated, and its evaluation is queued (findings follow within seconds). 409 when base is not the inventory held (send all of it); 503 before the first advisory generation. A host whose agent goes silent becomes ACTIVE / STALE_INVENTORY (findings kept), later INACTIVE / STALE_INVENTORY (vigia serve --agent-stale-after, --agent-inactive-after).",
        None,
    ),
    (
        "get",
        "/v1/agents",
        Access::Read,
        "Hosts with an agent: hostId, hostname, kernel, interfaces, agentVersion, first and last check-in, coverage.",
        None,
    ),
];

/// What a member of a request body holds.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// A string.
    Text,
    /// A timestamp: epoch seconds or an RFC 3339 string (`null` clears it
    /// where it is kept).
    Time,
    /// An integer in this inclusive range.
    Int(i64, i64),
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// A list of 1 to N strings.
    Texts(usize),
    /// A list of strings.
    List,
    /// The schema of that name under `#/components/schemas`.
    Ref(&'static str),
    /// A list of 1 to 10 filters of that schema.
    Filters(&'static str),
    /// Strings by string (tags).
    Map,
    /// An object, as the operation's summary describes it.
    Object,
}

/// A member of a request body: its name, what it holds, and whether it
/// is required.
#[derive(Debug, Clone, Copy)]
pub struct Member(pub &'static str, pub Ty, pub bool);

const fn opt(name: &'static str, ty: Ty) -> Member {
    Member(name, ty, false)
}

const fn req(name: &'static str, ty: Ty) -> Member {
    Member(name, ty, true)
}

/// The members each operation's request body may hold: what the document
/// declares, and what the operation's handler checks a body against
/// ([`members`]), so that the two cannot differ. Bodies of the operations
/// not listed are objects the summaries describe.
pub const REQUESTS: &[(&str, &[Member])] = &[
    (
        "/findings/list",
        &[
            opt("filterCriteria", Ty::Ref("FilterCriteria")),
            opt("sortCriteria", Ty::Ref("SortCriteria")),
            opt("maxResults", Ty::Int(1, 100)),
            opt("nextToken", Ty::Text),
        ],
    ),
    (
        "/findings/aggregation/list",
        &[
            req("aggregationType", Ty::OneOf(&crate::aggregate::TYPES)),
            opt("aggregationRequest", Ty::Ref("AggregationRequest")),
            opt("accountIds", Ty::Filters("StringFilter")),
            opt("maxResults", Ty::Int(1, 100)),
            opt("nextToken", Ty::Text),
        ],
    ),
    (
        "/findings/details/batch/get",
        &[req("findingArns", Ty::Texts(10))],
    ),
    (
        "/coverage/list",
        &[
            opt("filterCriteria", Ty::Ref("CoverageFilterCriteria")),
            opt("maxResults", Ty::Int(1, 200)),
            opt("nextToken", Ty::Text),
        ],
    ),
    (
        "/coverage/statistics/list",
        &[
            opt("filterCriteria", Ty::Ref("CoverageFilterCriteria")),
            opt("groupBy", Ty::OneOf(crate::api::COVERAGE_GROUPS)),
            opt("nextToken", Ty::Text),
        ],
    ),
    (
        "/filters/create",
        &[
            req("action", Ty::OneOf(&["NONE", "SUPPRESS"])),
            req("filterCriteria", Ty::Ref("FilterCriteria")),
            req("name", Ty::Text),
            opt("description", Ty::Text),
            opt("reason", Ty::Text),
            opt("tags", Ty::Map),
            opt("vigiaExpiresAt", Ty::Time),
        ],
    ),
    (
        "/filters/update",
        &[
            req("filterArn", Ty::Text),
            opt("action", Ty::OneOf(&["NONE", "SUPPRESS"])),
            opt("filterCriteria", Ty::Ref("FilterCriteria")),
            opt("name", Ty::Text),
            opt("description", Ty::Text),
            opt("reason", Ty::Text),
            opt("vigiaExpiresAt", Ty::Time),
        ],
    ),
    ("/filters/delete", &[req("arn", Ty::Text)]),
    (
        "/filters/list",
        &[
            opt("arns", Ty::List),
            opt("action", Ty::OneOf(&["NONE", "SUPPRESS"])),
            opt("maxResults", Ty::Int(1, 100)),
            opt("nextToken", Ty::Text),
        ],
    ),
    (
        "/reporting/create",
        &[
            opt("filterCriteria", Ty::Ref("FilterCriteria")),
            req("reportFormat", Ty::OneOf(&["CSV", "JSON"])),
            req("s3Destination", Ty::Object),
        ],
    ),
    ("/reporting/status/get", &[opt("reportId", Ty::Text)]),
    ("/reporting/cancel", &[req("reportId", Ty::Text)]),
    (
        "/sbomexport/create",
        &[
            opt("resourceFilterCriteria", Ty::Object),
            req("reportFormat", Ty::OneOf(&["CYCLONEDX_1_4", "SPDX_2_3"])),
            req("s3Destination", Ty::Object),
        ],
    ),
    ("/sbomexport/get", &[req("reportId", Ty::Text)]),
    ("/sbomexport/cancel", &[req("reportId", Ty::Text)]),
    ("/v1/resources/register", &[req("source", Ty::Text)]),
    ("/v1/resources/rescan", &[req("id", Ty::Text)]),
    ("/v1/resources/delete", &[req("id", Ty::Text)]),
    (
        "/v1/tokens/create",
        &[
            req("name", Ty::Text),
            req("role", Ty::OneOf(&["admin", "viewer", "agent"])),
        ],
    ),
    ("/v1/tokens/revoke", &[req("id", Ty::Text)]),
    ("/v1/gate/policy/update", &[req("policy", Ty::Object)]),
    ("/v1/gate/check", &[req("images", Ty::Texts(100))]),
    (
        "/v1/targets/create",
        &[
            // The URL's host when not given.
            opt("name", Ty::Text),
            req(
                "type",
                Ty::OneOf(&["webhook", "slack", "securityhub", "jira"]),
            ),
            opt("url", Ty::Text),
            opt("secret", Ty::Text),
            opt("pattern", Ty::Object),
            opt("maxAttempts", Ty::Int(1, 100)),
            opt("initialBackoffMillis", Ty::Int(10, 3_600_000)),
            opt("region", Ty::Text),
            opt("accessKeyId", Ty::Text),
            opt("secretAccessKey", Ty::Text),
            opt("accountId", Ty::Text),
            opt("project", Ty::Text),
            opt("issueType", Ty::Text),
            opt("email", Ty::Text),
            opt("token", Ty::Text),
        ],
    ),
    ("/v1/targets/delete", &[req("id", Ty::Text)]),
    (
        "/v1/targets/replay",
        &[req("id", Ty::Text), opt("eventIds", Ty::List)],
    ),
];

/// The members a body of the operation at `path` may hold (none for a
/// path [`REQUESTS`] does not list).
#[must_use]
pub fn members(path: &str) -> &'static [Member] {
    REQUESTS
        .iter()
        .find(|(p, _)| *p == path)
        .map_or(&[], |(_, m)| *m)
}

impl Member {
    /// Whether a `null` value of this member is read as the member left
    /// out: every optional member but a timestamp, whose `null` clears it.
    #[must_use]
    pub const fn null_is_absent(&self) -> bool {
        !self.2 && !matches!(self.1, Ty::Time)
    }
}

/// Checks a request body of the operation at `path` against the members
/// it declares ([`REQUESTS`]): a member it does not declare is refused.
/// Optional members given as `null` are dropped, as Inspector's JSON
/// protocol reads a `null` member as one not set (a generated client may
/// send every optional member, unset ones as `null`); a timestamp's `null`
/// is kept, since it clears the value.
///
/// # Errors
/// The message naming the first member not declared.
pub fn check_body(body: &mut Value, path: &str) -> Result<(), String> {
    let declared = members(path);
    let Some(object) = body.as_object_mut() else {
        return Ok(());
    };
    if let Some(k) = object.keys().find(|k| !declared.iter().any(|m| m.0 == *k)) {
        return Err(format!("unknown member `{k}`"));
    }
    object.retain(|k, v| !(v.is_null() && declared.iter().any(|m| m.0 == k && m.null_is_absent())));
    Ok(())
}

fn member_schema(ty: Ty) -> Value {
    match ty {
        Ty::Text => json!({"type": "string"}),
        Ty::Time => json!({"oneOf": [
            {"type": "number", "description": "Epoch seconds."},
            {"type": "string", "format": "date-time"},
            {"type": "null", "description": "No expiry."},
        ]}),
        Ty::Int(min, max) => json!({"type": "integer", "minimum": min, "maximum": max}),
        Ty::OneOf(values) => json!({"type": "string", "enum": values}),
        Ty::Texts(max) => {
            json!({"type": "array", "minItems": 1, "maxItems": max, "items": {"type": "string"}})
        }
        Ty::List => json!({"type": "array", "items": {"type": "string"}}),
        Ty::Ref(name) => json!({"$ref": format!("#/components/schemas/{name}")}),
        Ty::Filters(name) => json!({
            "type": "array", "minItems": 1, "maxItems": 10,
            "items": {"$ref": format!("#/components/schemas/{name}")},
        }),
        Ty::Map => json!({"type": "object", "additionalProperties": {"type": "string"}}),
        Ty::Object => json!({"type": "object"}),
    }
}

/// The schema of a request body holding `members`.
fn request_schema(members: &[Member]) -> Value {
    let properties: serde_json::Map<String, Value> = members
        .iter()
        .map(|m| {
            let schema = member_schema(m.1);
            let schema = if m.null_is_absent() {
                json!({
                    "anyOf": [schema, {"type": "null"}],
                    "description": "`null` is read as the member left out.",
                })
            } else {
                schema
            };
            (m.0.to_owned(), schema)
        })
        .collect();
    let required: Vec<&str> = members
        .iter()
        .filter(|m| m.2)
        .map(|Member(name, ..)| *name)
        .collect();
    let mut schema =
        json!({"type": "object", "additionalProperties": false, "properties": properties});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

/// The schemas the request bodies refer to: Inspector's filter types
/// (from the types the criteria parser reads them into), the criteria
/// (from the parser's tables of keys) and the sort.
fn component_schemas() -> serde_json::Map<String, Value> {
    use crate::criteria::{
        COVERAGE, DateFilter, FINDINGS, MapFilter, NumberFilter, PackageFilter, PortRangeFilter,
        StringFilter,
    };
    let mut generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator();
    let _ = generator.subschema_for::<StringFilter>();
    let _ = generator.subschema_for::<DateFilter>();
    let _ = generator.subschema_for::<NumberFilter>();
    let _ = generator.subschema_for::<MapFilter>();
    let _ = generator.subschema_for::<PortRangeFilter>();
    let _ = generator.subschema_for::<PackageFilter>();
    let mut schemas = generator.take_definitions(true);
    // Coverage's filters are Inspector's with its own names; its string
    // filters compare EQUALS or NOT_EQUALS only.
    schemas.insert(
        "CoverageStringFilter".to_owned(),
        json!({
            "allOf": [{"$ref": "#/components/schemas/StringFilter"}],
            "properties": {"comparison": {"enum": ["EQUALS", "NOT_EQUALS"]}},
        }),
    );
    for (name, same) in [
        ("CoverageDateFilter", "DateFilter"),
        ("CoverageNumberFilter", "NumberFilter"),
        ("CoverageMapFilter", "MapFilter"),
    ] {
        schemas.insert(
            name.to_owned(),
            json!({"$ref": format!("#/components/schemas/{same}")}),
        );
    }
    schemas.insert("FilterCriteria".to_owned(), FINDINGS.schema());
    schemas.insert(
        "AggregationRequest".to_owned(),
        crate::aggregate::request_schema(),
    );
    schemas.insert("CoverageFilterCriteria".to_owned(), COVERAGE.schema());
    schemas.insert(
        "SortCriteria".to_owned(),
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["field", "sortOrder"],
            "properties": {
                "field": {"type": "string", "enum": crate::listing::SORT_FIELDS},
                "sortOrder": {"type": "string", "enum": ["ASC", "DESC"]},
            },
        }),
    );
    schemas.insert(
        "Error".to_owned(),
        json!({"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}),
    );
    schemas
}

/// The document.
#[must_use]
pub fn document() -> Value {
    let error = json!({
        "description": "An error in Inspector's shape; its type is in the x-amzn-ErrorType header.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    });
    let mut paths = serde_json::Map::new();
    for (method, path, access, summary, inspector) in OPERATIONS {
        let mut op = json!({
            "summary": summary,
            "operationId": inspector.map_or_else(
                || path.trim_start_matches('/').replace(['/', '.'], "_"),
                str::to_owned
            ),
            "responses": {
                "200": {"description": "Success.", "content": {"application/json": {"schema": {"type": "object"}}}},
                "400": error.clone(),
                "500": error.clone(),
            },
        });
        // The probes and metrics answer text.
        if matches!(*path, "/healthz" | "/readyz" | "/metrics") {
            op["responses"] = json!({
                "200": {"description": "Success.", "content": {"text/plain": {"schema": {"type": "string"}}}},
            });
            if *path == "/readyz" {
                op["responses"]["503"] = json!({"description": "No advisory generation is loaded yet.",
                    "content": {"text/plain": {"schema": {"type": "string"}}}});
            }
        }
        if *path == "/v1/db/update" {
            op["responses"]["202"] = json!({"description": "Queued and not done within ten minutes: GET /v1/db/status shows when a new generation is loaded.",
                "content": {"application/json": {"schema": {"type": "object"}}}});
        }
        if *access != Access::Open {
            op["security"] = json!([{"token": []}, {"sigv4": []}]);
            op["responses"]["401"] = error.clone();
            op["responses"]["403"] = error.clone();
            op["responses"]["404"] = error.clone();
        }
        if *access == Access::Write {
            op["description"] = json!("Needs an admin token.");
        }
        if *access == Access::Push {
            op["description"] =
                json!("Needs an agent token (vigia token create --role agent) or an admin token.");
        }
        if *method == "post" {
            let members = REQUESTS.iter().find(|(p, _)| p == path).map(|(_, m)| *m);
            let schema = members.map_or_else(|| json!({"type": "object"}), request_schema);
            // A body is needed when it has a member that is.
            let needed = members.is_some_and(|m| m.iter().any(|m| m.2));
            op["requestBody"] =
                json!({"required": needed, "content": {"application/json": {"schema": schema}}});
        }
        if let Some(name) = inspector {
            op["externalDocs"] = json!({
                "description": format!("Amazon Inspector's {name}: the same request and response shapes"),
                "url": format!("https://docs.aws.amazon.com/inspector/v2/APIReference/API_{name}.html"),
            });
        }
        paths
            .entry((*path).to_owned())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("an object")
            .insert((*method).to_owned(), op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Vigia",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Vigia's service API: Amazon Inspector's operations at Inspector's paths, and Vigia's own under /v1.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer", "description": "A token from `vigia token create` (vgt_…)."},
                "sigv4": {"type": "apiKey", "in": "header", "name": "Authorization",
                    "description": "AWS Signature Version 4 (AWS4-HMAC-SHA256, X-Amz-Date within fifteen minutes, the body signed by its SHA-256), with a token's access key ID and SigV4 secret from `vigia token create`: what Inspector's own clients send."},
            },
            "schemas": component_schemas(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_optional_member_is_left_out_but_a_null_time_is_kept() {
        let mut body = json!({
            "filterArn": null,
            "description": null,
            "vigiaExpiresAt": null,
            "name": "n",
        });
        check_body(&mut body, "/filters/update").unwrap();
        // The required member stays, to be refused as given; the
        // timestamp's null clears the expiry.
        assert_eq!(
            body,
            json!({"filterArn": null, "vigiaExpiresAt": null, "name": "n"})
        );
        let mut body = json!({"description": null, "vigiaOther": null});
        assert_eq!(
            check_body(&mut body, "/filters/update").unwrap_err(),
            "unknown member `vigiaOther`"
        );
    }

    #[test]
    fn every_request_table_entry_is_a_post_operation_listed_once() {
        for (i, (path, members)) in REQUESTS.iter().enumerate() {
            assert!(
                OPERATIONS
                    .iter()
                    .any(|(m, p, ..)| *m == "post" && p == path),
                "{path}"
            );
            assert!(REQUESTS[..i].iter().all(|(p, _)| p != path), "{path}");
            let mut names: Vec<&str> = members.iter().map(|m| m.0).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), members.len(), "{path}");
        }
    }

    #[test]
    fn the_criteria_schemas_refer_to_declared_filters() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        for criteria in ["FilterCriteria", "CoverageFilterCriteria"] {
            let properties = schemas[criteria]["properties"].as_object().unwrap();
            assert!(properties.len() > 15, "{criteria}");
            for (key, p) in properties {
                let target = p["items"]["$ref"].as_str().unwrap();
                let name = target.trim_start_matches("#/components/schemas/");
                assert!(schemas.get(name).is_some(), "{criteria}.{key}: {name}");
            }
        }
        // The filter types' own members, as the parser reads them.
        assert_eq!(
            schemas["StringFilter"]["required"],
            json!(["comparison", "value"])
        );
        assert_eq!(
            schemas["PortRangeFilter"]["properties"]["endInclusive"]["maximum"],
            65535
        );
    }
}
