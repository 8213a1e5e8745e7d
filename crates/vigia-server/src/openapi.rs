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
        "Findings matching filterCriteria, sorted by sortCriteria, one page of at most maxResults (1-100). Every status is listed unless findingStatus says otherwise. Within one filterCriteria key, EQUALS and PREFIX values are ORed and NOT_EQUALS values ANDed; keys are ANDed. nextToken is a cursor (the last finding's sort value and ARN): findings added or removed between pages neither repeat nor go missing.",
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
            op["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": {"type": "object"}}}});
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
            "schemas": {"Error": {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}},
        },
    })
}
