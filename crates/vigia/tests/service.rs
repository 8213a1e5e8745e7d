//! `vigia serve` end to end on SQLite: a folder of copies of the shared
//! targets watched, a mirror copy that changes, findings that open, close,
//! are suppressed and reopened, each change with its cause, and nothing read
//! again to re-evaluate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod serve;
use serve::{
    Home, Server, arns, change_lodash_records, copy_targets, eq, list, serve_on, spawn_serve,
    start, token, vigia, wait_coverage,
};

fn token_keys(home: &Home, role: &str) -> (String, String) {
    let out = vigia(
        home,
        &[
            "token",
            "create",
            "--role",
            role,
            "--name",
            "aws-client",
            "-f",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["accessKeyId"].as_str().unwrap().to_owned(),
        v["secretAccessKey"].as_str().unwrap().to_owned(),
    )
}

/// Drives the service with botocore's own `inspector2` client, signing
/// with SigV4: what Inspector's clients do.
const BOTOCORE: &str = r#"
import json, sys
import botocore.session
from botocore.exceptions import ClientError
url, ak, sk = sys.argv[1:4]
def client(secret):
    return botocore.session.get_session().create_client(
        "inspector2", region_name="us-east-1", endpoint_url=url,
        aws_access_key_id=ak, aws_secret_access_key=secret)
c = client(sk)
out = {}
active = {"findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}]}
arns, token = [], None
while True:
    kw = {"maxResults": 25, "filterCriteria": active}
    if token:
        kw["nextToken"] = token
    page = c.list_findings(**kw)
    arns += [f["findingArn"] for f in page["findings"]]
    token = page.get("nextToken")
    if not token:
        break
out["findings"] = sorted(arns)
out["firstObservedAt"] = str(type(c.list_findings(maxResults=1)["findings"][0]["firstObservedAt"]))
out["coverage"] = len(c.list_coverage()["coveredResources"])
out["packages"] = len(c.list_finding_aggregations(aggregationType="PACKAGE")["responses"])
out["filter"] = c.create_filter(name="from-botocore", action="NONE",
                                filterCriteria={"severity": [{"comparison": "EQUALS", "value": "LOW"}]})["arn"]
try:
    client("0" * 64).list_findings()
    out["wrong"] = "accepted"
except ClientError as e:
    out["wrong"] = e.response["Error"]["Code"]
# A signed request whose body is swapped, its digest header kept: the
# signature covers the body, so it must be refused. The same request with
# its own body passes.
import hashlib, urllib.request, urllib.error
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
def send(signed_body, sent_body):
    req = AWSRequest(method="POST", url=url + "/filters/create", data=signed_body,
                     headers={"Content-Type": "application/json",
                              "X-Amz-Content-Sha256": hashlib.sha256(signed_body.encode()).hexdigest()})
    SigV4Auth(Credentials(ak, sk), "inspector2", "us-east-1").add_auth(req)
    raw = urllib.request.Request(url + "/filters/create", data=sent_body.encode(),
                                 headers=dict(req.headers.items()), method="POST")
    try:
        return urllib.request.urlopen(raw).status
    except urllib.error.HTTPError as e:
        return e.code
def rule(name):
    return json.dumps({"name": name, "action": "NONE",
                       "filterCriteria": {"severity": [{"comparison": "EQUALS", "value": "LOW"}]}})
out["tampered"] = send(rule("signed-body"), rule("swapped-body"))
out["untampered"] = send(rule("signed-body"), rule("signed-body"))
out["filters"] = sorted(f["name"] for f in c.list_filters()["filters"])
print(json.dumps(out))
"#;

/// Every finding in the order of `sort`, read `page` at a time.
fn list_sorted(s: &Server, token: &str, criteria: &Value, sort: &Value, page: u32) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        // A cursor that does not advance would page for ever.
        assert!(out.len() < 100_000, "paging does not end");
        let mut req =
            json!({ "filterCriteria": criteria, "maxResults": page, "sortCriteria": sort });
        if let Some(t) = &next {
            req["nextToken"] = json!(t);
        }
        let (status, body) = s.call("POST", "/findings/list", Some(token), Some(&req));
        assert_eq!(status, 200, "{req}: {body}\n{}", s.log());
        out.extend(body["findings"].as_array().cloned().unwrap_or_default());
        match body["nextToken"].as_str() {
            Some(t) => next = Some(t.to_owned()),
            None => return out,
        }
    }
}

/// What a test's own reading of the findings' JSON selects.
type Predicate = Box<dyn Fn(&Value) -> bool>;

/// Every sort field, both ways, pages of 9: each lists every finding once,
/// in its order; and each criteria key Vigia narrows in SQL selects what
/// the same test written over the findings' JSON selects.
fn listing_is_complete_and_ordered(s: &Server, token: &str) {
    let all = list(s, token, &json!({}));
    assert!(all.len() > 20, "{}", all.len());
    let everything = arns(&all);
    assert_eq!(everything.len(), all.len(), "a finding listed twice");
    let rank = |f: &Value| match f["severity"].as_str().unwrap() {
        "CRITICAL" => 5.0,
        "HIGH" => 4.0,
        "MEDIUM" => 3.0,
        "LOW" => 2.0,
        "INFORMATIONAL" => 1.0,
        _ => 0.0,
    };
    let text = |f: &Value, p: &str| json!(f.pointer(p).and_then(Value::as_str).unwrap_or(""));
    let key = |field: &str, f: &Value| -> Value {
        match field {
            "SEVERITY" => json!(rank(f)),
            "INSPECTOR_SCORE" => json!(f["inspectorScore"].as_f64().unwrap_or(-1.0)),
            "EPSS_SCORE" => json!(
                f.pointer("/epss/score")
                    .and_then(Value::as_f64)
                    .unwrap_or(-1.0)
            ),
            "UPDATED_AT" => text(f, "/updatedAt"),
            "FIRST_OBSERVED_AT" => text(f, "/firstObservedAt"),
            "VULNERABILITY_ID" => text(f, "/packageVulnerabilityDetails/vulnerabilityId"),
            "FINDING_TYPE" => text(f, "/type"),
            "RESOURCE_TYPE" => text(f, "/resources/0/type"),
            "ECR_IMAGE_REPOSITORY_NAME" => text(
                f,
                "/resources/0/details/awsEcrContainerImage/repositoryName",
            ),
            // Vendors' words by rank (GitHub's MODERATE, Debian's
            // unimportant): the most severe last in ascending order.
            "VENDOR_SEVERITY" => json!(match f
                .pointer("/packageVulnerabilityDetails/vendorSeverity")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                None | Some("") => -1.0,
                Some("critical") => 5.0,
                Some("high" | "important") => 4.0,
                Some("medium" | "moderate") => 3.0,
                Some("low") => 2.0,
                Some("negligible" | "unimportant") => 1.0,
                Some(_) => 0.0,
            }),
            _ => Value::Null,
        }
    };
    let before = |a: &Value, b: &Value| match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x <= y,
        _ => a.as_str() <= b.as_str(),
    };
    for field in [
        "AWS_ACCOUNT_ID",
        "FINDING_TYPE",
        "SEVERITY",
        "FIRST_OBSERVED_AT",
        "LAST_OBSERVED_AT",
        "FINDING_STATUS",
        "RESOURCE_TYPE",
        "ECR_IMAGE_PUSHED_AT",
        "ECR_IMAGE_REPOSITORY_NAME",
        "ECR_IMAGE_REGISTRY",
        "NETWORK_PROTOCOL",
        "COMPONENT_TYPE",
        "VULNERABILITY_ID",
        "VULNERABILITY_SOURCE",
        "INSPECTOR_SCORE",
        "VENDOR_SEVERITY",
        "EPSS_SCORE",
        // No sortCriteria: the latest update first.
        "UPDATED_AT",
    ] {
        for order in ["ASC", "DESC"] {
            let sort = if field == "UPDATED_AT" {
                if order == "ASC" {
                    continue;
                }
                Value::Null
            } else {
                json!({"field": field, "sortOrder": order})
            };
            let got = list_sorted(s, token, &json!({}), &sort, 9);
            assert_eq!(
                got.len(),
                all.len(),
                "{field} {order}: a finding listed twice or missed"
            );
            assert_eq!(arns(&got), everything, "{field} {order}");
            for w in got.windows(2) {
                let (a, b) = (key(field, &w[0]), key(field, &w[1]));
                if a.is_null() {
                    continue;
                }
                let ok = if order == "ASC" {
                    before(&a, &b)
                } else {
                    before(&b, &a)
                };
                assert!(ok, "{field} {order}: {a} then {b}");
            }
        }
    }
    let f0 = &all[0];
    let vuln = all
        .iter()
        .find_map(|f| {
            f.pointer("/packageVulnerabilityDetails/vulnerabilityId")
                .and_then(Value::as_str)
        })
        .unwrap()
        .to_owned();
    let resource = f0["resources"][0]["id"].as_str().unwrap().to_owned();
    let updated = f0["updatedAt"].as_str().unwrap().to_owned();
    let cases: Vec<(Value, Predicate)> = vec![
        (
            json!({"severity": [{"comparison": "PREFIX", "value": "CRIT"}, {"comparison": "EQUALS", "value": "LOW"}]}),
            Box::new(|f: &Value| f["severity"] == "CRITICAL" || f["severity"] == "LOW"),
        ),
        (
            json!({"severity": [{"comparison": "NOT_EQUALS", "value": "HIGH"}, {"comparison": "NOT_EQUALS", "value": "MEDIUM"}]}),
            Box::new(|f: &Value| f["severity"] != "HIGH" && f["severity"] != "MEDIUM"),
        ),
        (
            json!({"vulnerabilityId": [{"comparison": "NOT_EQUALS", "value": vuln}]}),
            Box::new({
                let vuln = vuln.clone();
                move |f: &Value| {
                    f.pointer("/packageVulnerabilityDetails/vulnerabilityId") != Some(&json!(vuln))
                }
            }),
        ),
        (
            json!({"resourceId": [{"comparison": "EQUALS", "value": resource}], "findingType": [{"comparison": "EQUALS", "value": "PACKAGE_VULNERABILITY"}]}),
            Box::new({
                let resource = resource.clone();
                move |f: &Value| {
                    f["resources"][0]["id"] == json!(resource)
                        && f["type"] == "PACKAGE_VULNERABILITY"
                }
            }),
        ),
        (
            json!({"inspectorScore": [{"lowerInclusive": 7.0, "upperInclusive": 8.9}, {"lowerInclusive": 9.5}]}),
            Box::new(|f: &Value| {
                f["inspectorScore"]
                    .as_f64()
                    .is_some_and(|x| (7.0..=8.9).contains(&x) || x >= 9.5)
            }),
        ),
        (
            json!({"epssScore": [{"lowerInclusive": 0.0}]}),
            Box::new(|f: &Value| f.pointer("/epss/score").is_some_and(Value::is_number)),
        ),
        (
            json!({"updatedAt": [{"startInclusive": updated, "endInclusive": updated}]}),
            Box::new({
                let updated = updated.clone();
                move |f: &Value| f["updatedAt"] == json!(updated)
            }),
        ),
        (
            json!({"title": [{"comparison": "PREFIX", "value": "CVE-"}]}),
            Box::new(|f: &Value| f["title"].as_str().unwrap().starts_with("CVE-")),
        ),
    ];
    let package = all
        .iter()
        .find_map(|f| {
            f.pointer("/packageVulnerabilityDetails/vulnerablePackages/0/name")
                .and_then(Value::as_str)
        })
        .unwrap()
        .to_owned();
    let named = move |f: &Value, name: &str| {
        f.pointer("/packageVulnerabilityDetails/vulnerablePackages")
            .and_then(Value::as_array)
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == name))
    };
    let mut cases = cases;
    cases.push((
        json!({"vulnerablePackages": [{"name": {"comparison": "EQUALS", "value": package}}, {"name": {"comparison": "EQUALS", "value": "openssl"}}]}),
        Box::new({
            let package = package.clone();
            move |f: &Value| named(f, &package) || named(f, "openssl")
        }),
    ));
    // A purl qualifier, read from the purls Vigia lists for the packages;
    // reachability at run time, which no package has.
    cases.push((
        json!({"vulnerablePackages": [{"purlQualifier": {"comparison": "EQUALS", "key": "distro", "value": "debian-12"}}]}),
        Box::new(|f: &Value| {
            f.pointer("/vigia/packages")
                .and_then(Value::as_array)
                .is_some_and(|ps| {
                    ps.iter().any(|p| {
                        p["purl"]
                            .as_str()
                            .is_some_and(|u| u.contains("distro=debian-12"))
                    })
                })
        }),
    ));
    cases.push((
        json!({"vulnerablePackages": [{"runtimeReachability": {"comparison": "NOT_EQUALS", "value": "REACHABLE"}}]}),
        Box::new(|f: &Value| {
            f.pointer("/packageVulnerabilityDetails/vulnerablePackages/0")
                .is_some()
        }),
    ));
    for (criteria, pred) in cases {
        let want: BTreeSet<String> =
            arns(&all.iter().filter(|f| pred(f)).cloned().collect::<Vec<_>>());
        assert!(
            !want.is_empty() || criteria.to_string().contains("NOT_EQUALS"),
            "{criteria} selects nothing here"
        );
        let got = list_sorted(
            s,
            token,
            &criteria,
            &json!({"field": "INSPECTOR_SCORE", "sortOrder": "DESC"}),
            4,
        );
        assert_eq!(arns(&got), want, "{criteria}");
        let got = list_sorted(
            s,
            token,
            &criteria,
            &json!({"field": "ECR_IMAGE_REGISTRY", "sortOrder": "ASC"}),
            50,
        );
        assert_eq!(arns(&got), want, "{criteria}");
    }
}

/// The response is valid against botocore's `inspector2` model of `shape`.
fn valid(shape: &str, doc: &Value) {
    let file = tempfile::NamedTempFile::new().unwrap();
    fs_err::write(file.path(), serde_json::to_vec(doc).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/validate-aws-shape.py");
    let out = Command::new("python3")
        .arg(script)
        .args(["inspector2", shape])
        .arg(file.path())
        .args([
            "--extra",
            "vigia",
            "--extra",
            "vigiaFindingType",
            "--extra",
            "vigiaGroupValue",
            // Severity counts beyond Inspector's three, so that they add up.
            "--extra",
            "vigiaLow",
            "--extra",
            "vigiaInformational",
            "--extra",
            "vigiaUntriaged",
            "--extra",
            "vigiaSuppressedCount",
            "--extra",
            "vigiaExpiresAt",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{shape}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn by_vuln<'a>(findings: &'a [Value], id: &str) -> &'a Value {
    findings
        .iter()
        .find(|f| f["packageVulnerabilityDetails"]["vulnerabilityId"] == id)
        .unwrap_or_else(|| panic!("no finding {id}"))
}

fn history(s: &Server, token: &str, arn: &str) -> Vec<Value> {
    let (status, body) = s.call(
        "GET",
        &format!(
            "/v1/findings/history?arn={}",
            arn.replace('/', "%2F").replace(':', "%3A")
        ),
        Some(token),
        None,
    );
    assert_eq!(status, 200, "{body}");
    body["history"].as_array().cloned().unwrap()
}

/// The service's active findings of each target are what `vigia scan`
/// finds on the same advisories: the same ARNs, the same content (apart
/// from times and status).
fn same_as_a_scan(home: &Home, s: &Server, viewer: &str, targets: &[PathBuf]) {
    let content = |f: &Value| {
        let mut f = f.clone();
        for k in ["firstObservedAt", "lastObservedAt", "updatedAt", "status"] {
            f.as_object_mut().unwrap().remove(k);
        }
        f
    };
    for (kind, t) in [
        ("image", &targets[0]),
        ("function", &targets[1]),
        ("host", &targets[2]),
    ] {
        let out = vigia(
            home,
            &[
                "scan",
                kind,
                t.to_str().unwrap(),
                "-f",
                "json",
                "--allow-incomplete",
            ],
        );
        let scan: Value = serde_json::from_slice(&out.stdout).unwrap();
        let resource = scan["scan"]["resource"]["id"].as_str().unwrap().to_owned();
        let mut criteria = eq("resourceId", &resource);
        criteria["findingStatus"] = json!([{"comparison": "EQUALS", "value": "ACTIVE"}]);
        let served = list(s, viewer, &criteria);
        let scanned = scan["findings"].as_array().unwrap();
        assert!(!served.is_empty(), "{kind}");
        assert_eq!(arns(&served), arns(scanned), "{kind}");
        for f in scanned {
            let arn = &f["findingArn"];
            let mine = served.iter().find(|g| &g["findingArn"] == arn).unwrap();
            assert_eq!(content(mine), content(f), "{kind}: {arn}");
        }
    }
}

#[test]
fn watched_resources_live_through_updates_filters_and_removal() {
    lifecycle(&Home::sqlite());
}

#[test]
fn the_same_on_postgresql() {
    let pg = vigia_test_support::Postgres::start();
    let home = Home {
        dir: tempfile::tempdir().unwrap(),
        url: Some(pg.create_database("service")),
    };
    lifecycle(&home);
}

/// Aggregations counted from the findings' columns (no filter) and from
/// their bodies (a filter on what only bodies say, here one that keeps every
/// finding) agree: the same groups, the same counts, in the same order.
fn aggregations_agree(s: &Server, viewer: &str) {
    let call = |req: &Value| {
        let (status, body) = s.call(
            "POST",
            "/findings/aggregation/list",
            Some(viewer),
            Some(req),
        );
        assert_eq!(status, 200, "{req}: {body}");
        body
    };
    // Each type with a filter its model has that keeps every finding.
    for (kind, member, filter) in [
        ("TITLE", "titleAggregation", "titles"),
        ("REPOSITORY", "repositoryAggregation", "repositories"),
        (
            "AWS_ECR_CONTAINER",
            "awsEcrContainerAggregation",
            "resourceIds",
        ),
        ("AWS_EC2_INSTANCE", "ec2InstanceAggregation", "instanceIds"),
        (
            "AWS_LAMBDA_FUNCTION",
            "lambdaFunctionAggregation",
            "resourceIds",
        ),
    ] {
        let a = call(&json!({"aggregationType": kind}));
        let b = call(
            &json!({"aggregationType": kind, "aggregationRequest": {member:
            {filter: [{"comparison": "NOT_EQUALS", "value": "nothing is named this"}]}}}),
        );
        assert!(
            !a["responses"].as_array().unwrap().is_empty() || kind != "TITLE",
            "{kind}: {a}"
        );
        assert_eq!(a["responses"], b["responses"], "{kind}");
    }
    // Finding types: each group counted from columns is the one its own
    // type's filter (read from bodies) answers.
    let types = call(&json!({"aggregationType": "FINDING_TYPE"}));
    let groups = types["responses"].as_array().unwrap();
    assert!(!groups.is_empty(), "{types}");
    for g in groups {
        let t = &g["findingTypeAggregation"]["vigiaFindingType"];
        let one = call(&json!({"aggregationType": "FINDING_TYPE",
            "aggregationRequest": {"findingTypeAggregation": {"findingType": t}}}));
        assert_eq!(one["responses"], json!([g]), "{t}");
    }
    let packages = call(&json!({"aggregationType": "PACKAGE"}));
    assert!(!packages["responses"].as_array().unwrap().is_empty());
    // Pages of three, followed by their tokens, are the whole list.
    let mut paged = Vec::new();
    let mut token = Value::Null;
    loop {
        let page =
            call(&json!({"aggregationType": "PACKAGE", "maxResults": 3, "nextToken": token}));
        paged.extend(page["responses"].as_array().unwrap().iter().cloned());
        token = page["nextToken"].clone();
        if token.is_null() {
            break;
        }
    }
    assert_eq!(Value::Array(paged), packages["responses"]);
    tokens_follow_only_their_query(s, viewer);
}

/// A page's token is followed with the query that gave it (another page
/// size allowed) and refused with another; coverage pages of one resource
/// are the whole list.
fn tokens_follow_only_their_query(s: &Server, viewer: &str) {
    let call = |path: &str, req: &Value| s.call("POST", path, Some(viewer), Some(req));
    let by_score = json!({"field": "INSPECTOR_SCORE", "sortOrder": "DESC"});
    let (status, first) = call(
        "/findings/list",
        &json!({"maxResults": 1, "sortCriteria": by_score}),
    );
    assert_eq!(status, 200, "{first}");
    let t = first["nextToken"].clone();
    assert!(t.is_string(), "{first}");
    let (status, more) = call(
        "/findings/list",
        &json!({"maxResults": 5, "sortCriteria": by_score, "nextToken": t}),
    );
    assert_eq!(status, 200, "{more}");
    assert_ne!(more["findings"][0], first["findings"][0]);
    for (path, req) in [
        (
            "/findings/list",
            json!({"sortCriteria": {"field": "SEVERITY", "sortOrder": "DESC"}, "nextToken": t}),
        ),
        (
            "/findings/list",
            json!({"sortCriteria": by_score, "filterCriteria": {"severity": [{"comparison": "EQUALS", "value": "HIGH"}]}, "nextToken": t}),
        ),
        (
            "/findings/aggregation/list",
            json!({"aggregationType": "PACKAGE", "nextToken": t}),
        ),
    ] {
        let (status, body) = call(path, &req);
        assert_eq!(status, 400, "{path} {req}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("another query"),
            "{body}"
        );
    }
    let (status, all) = call("/coverage/list", &json!({}));
    assert_eq!(status, 200, "{all}");
    let mut paged = Vec::new();
    let mut next = Value::Null;
    loop {
        let (status, page) = call(
            "/coverage/list",
            &json!({"maxResults": 1, "nextToken": next}),
        );
        assert_eq!(status, 200, "{page}");
        paged.extend(page["coveredResources"].as_array().unwrap().iter().cloned());
        next = page["nextToken"].clone();
        if next.is_null() {
            break;
        }
    }
    assert!(paged.len() > 1, "{all}");
    assert_eq!(Value::Array(paged), all["coveredResources"]);
}

fn lifecycle(home: &Home) {
    let watch = tempfile::tempdir().unwrap();
    let mirror = vigia_test_support::mirror_copy();
    let targets = copy_targets(watch.path());
    let admin = token(home, "admin");
    let viewer = token(home, "viewer");
    let s = start(home, mirror.path(), watch.path());
    let covered = wait_coverage(&s, &viewer, 3, "SUCCESSFUL");
    let types: BTreeSet<&str> = covered
        .iter()
        .map(|c| c["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "AWS_EC2_INSTANCE",
            "AWS_ECR_CONTAINER_IMAGE",
            "AWS_LAMBDA_FUNCTION"
        ]
        .into()
    );

    // The service's active findings are the one-shot scan's.
    same_as_a_scan(home, &s, &viewer, &targets);
    listing_is_complete_and_ordered(&s, &viewer);
    // The responses are what Inspector's model says, aggregations included.
    for (path, shape, req) in [
        (
            "/findings/list",
            "ListFindingsResponse",
            json!({"maxResults": 25}),
        ),
        ("/coverage/list", "ListCoverageResponse", json!({})),
        ("/filters/list", "ListFiltersResponse", json!({})),
        (
            "/coverage/statistics/list",
            "ListCoverageStatisticsResponse",
            json!({"groupBy": "RESOURCE_TYPE"}),
        ),
        (
            "/findings/aggregation/list",
            "ListFindingAggregationsResponse",
            json!({"aggregationType": "PACKAGE"}),
        ),
        (
            "/findings/aggregation/list",
            "ListFindingAggregationsResponse",
            json!({"aggregationType": "AWS_ECR_CONTAINER"}),
        ),
        (
            "/findings/aggregation/list",
            "ListFindingAggregationsResponse",
            json!({"aggregationType": "TITLE"}),
        ),
    ] {
        let (status, body) = s.call("POST", path, Some(&viewer), Some(&req));
        assert_eq!(status, 200, "{path}: {body}");
        valid(shape, &body);
    }
    aggregations_agree(&s, &viewer);
    // Coverage statistics (counted by the database) agree with the list.
    let (_, covered) = s.call("POST", "/coverage/list", Some(&viewer), Some(&json!({})));
    let covered = covered["coveredResources"].as_array().unwrap().clone();
    for (group, field) in [
        ("RESOURCE_TYPE", "/resourceType"),
        ("SCAN_STATUS_REASON", "/scanStatus/reason"),
        ("SCAN_STATUS_CODE", "/scanStatus/statusCode"),
    ] {
        let (_, stats) = s.call(
            "POST",
            "/coverage/statistics/list",
            Some(&viewer),
            Some(&json!({"groupBy": group})),
        );
        assert_eq!(stats["totalCounts"], covered.len(), "{stats}");
        for c in stats["countsByGroup"].as_array().unwrap() {
            let n = covered
                .iter()
                .filter(|r| r.pointer(field) == Some(&c["vigiaGroupValue"]))
                .count();
            assert_eq!(c["count"], n, "{group}: {c}");
        }
    }
    // A multi-cloud group: every resource in the total, none in a group.
    let (_, providers) = s.call(
        "POST",
        "/coverage/statistics/list",
        Some(&viewer),
        Some(&json!({"groupBy": "PROVIDER"})),
    );
    assert_eq!(providers["totalCounts"], covered.len(), "{providers}");
    assert_eq!(providers["countsByGroup"], json!([]), "{providers}");
    // A package's aggregated count is the number of its active findings.
    let (_, agg) = s.call(
        "POST",
        "/findings/aggregation/list",
        Some(&viewer),
        Some(&json!({"aggregationType": "PACKAGE"})),
    );
    let lodash = agg["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["packageAggregation"]["packageName"] == "lodash")
        .unwrap();
    let mut c =
        json!({"vulnerablePackages": [{"name": {"comparison": "EQUALS", "value": "lodash"}}]});
    c["findingStatus"] = json!([{"comparison": "EQUALS", "value": "ACTIVE"}]);
    assert_eq!(
        lodash["packageAggregation"]["severityCounts"]["all"],
        list(&s, &viewer, &c).len()
    );
    let (_, coverage_counts) = s.call(
        "POST",
        "/coverage/statistics/list",
        Some(&viewer),
        Some(&json!({"groupBy": "SCAN_STATUS_REASON"})),
    );
    assert_eq!(coverage_counts["totalCounts"], 3);
    let (_, images) = s.call(
        "POST",
        "/coverage/statistics/list",
        Some(&viewer),
        Some(&json!({"groupBy": "RESOURCE_TYPE", "filterCriteria": {"resourceType": [{"comparison": "EQUALS", "value": "AWS_ECR_CONTAINER_IMAGE"}]}})),
    );
    assert_eq!(images["totalCounts"], 1);
    assert_eq!(
        coverage_counts["countsByGroup"][0]["vigiaGroupValue"],
        "SUCCESSFUL"
    );
    // Inspector's own client, signing with SigV4, reads and writes the same.
    let (ak, sk) = token_keys(home, "admin");
    let out = Command::new("python3")
        .args(["-c", BOTOCORE, &s.base, &ak, &sk])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    let boto: Value = serde_json::from_slice(&out.stdout).unwrap();
    let active: BTreeSet<String> = boto["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        active,
        arns(&list(&s, &viewer, &eq("findingStatus", "ACTIVE")))
    );
    assert_eq!(boto["firstObservedAt"], "<class 'datetime.datetime'>");
    assert_eq!(boto["coverage"], 3);
    assert!(boto["packages"].as_u64().unwrap() > 0);
    assert!(
        boto["filter"]
            .as_str()
            .unwrap()
            .starts_with("vigia:filter/")
    );
    assert_eq!(boto["wrong"], "AccessDeniedException");
    assert_eq!(boto["tampered"], 401, "{boto}");
    assert_eq!(boto["untampered"], 200, "{boto}");
    let names = boto["filters"].to_string();
    assert!(
        names.contains("signed-body") && !names.contains("swapped-body"),
        "{names}"
    );
    // With findings suppressed by botocore's filter.
    aggregations_agree(&s, &viewer);
    let (status, body) = s.call(
        "POST",
        "/filters/delete",
        Some(&admin),
        Some(&json!({"arn": boto["filter"]})),
    );
    assert_eq!(status, 200, "{body}");
    let reads = s.metric(&viewer, "vigia_target_reads_total");
    assert_eq!(reads, 3, "{}", s.log());

    // Advisories change: only stored inventories are evaluated again.
    let before: BTreeMap<String, Value> = list(&s, &viewer, &json!({}))
        .into_iter()
        .map(|f| (f["findingArn"].as_str().unwrap().to_owned(), f))
        .collect();
    std::thread::sleep(Duration::from_millis(1100));
    change_lodash_records(mirror.path());
    let (status, update) = s.call("POST", "/v1/db/update", Some(&admin), None);
    assert_eq!(status, 200, "{update}");
    let generation = update["update"]["generation"].as_i64().unwrap();
    // The function and the image hold lodash; the host is not evaluated again.
    assert_eq!(update["rematch"]["resources"], 2, "{update}");
    assert_eq!(update["rematch"]["inventories"], 2, "{update}");
    // Of each, one package set (the image's layer holding lodash, the
    // function's packages) is read, and its lodash packages matched.
    assert_eq!(update["rematch"]["packageSets"], 2, "{update}");
    assert_eq!(update["rematch"]["evaluations"], 2, "{update}");
    // What the rematch left is what a scan finds on the new advisories.
    same_as_a_scan(home, &s, &viewer, &targets);
    // A rematch observes nothing new: the findings it leaves as they were
    // keep their times (Inspector: lastObservedAt "remains unchanged until
    // a finding is updated").
    let rematched_not_lodash: Vec<Value> = list(&s, &viewer, &json!({}))
        .into_iter()
        .filter(|f| {
            f["resources"][0]["type"] != "AWS_EC2_INSTANCE"
                && !f.to_string().contains("lodash")
                && f["type"] == "PACKAGE_VULNERABILITY"
        })
        .collect();
    assert!(
        rematched_not_lodash.len() > 5,
        "{}",
        rematched_not_lodash.len()
    );
    for f in &rematched_not_lodash {
        assert_eq!(Some(f), before.get(f["findingArn"].as_str().unwrap()));
    }
    assert_eq!(
        s.metric(&viewer, "vigia_target_reads_total"),
        reads,
        "no resource is read again"
    );
    let function = list(&s, &viewer, &eq("resourceType", "AWS_LAMBDA_FUNCTION"));
    let withdrawn = by_vuln(&function, "CVE-2020-28500");
    assert_eq!(withdrawn["status"], "CLOSED");
    let h = history(&s, &viewer, withdrawn["findingArn"].as_str().unwrap());
    assert_eq!(h.last().unwrap()["event"], "CLOSED");
    assert_eq!(
        h.last().unwrap()["cause"],
        format!("generation {generation}")
    );
    let widened = by_vuln(&function, "CVE-2020-8203");
    assert_eq!(widened["status"], "ACTIVE");
    let h = history(&s, &viewer, widened["findingArn"].as_str().unwrap());
    assert_eq!(
        (h[0]["event"].as_str(), h[0]["cause"].as_str()),
        (
            Some("OPENED"),
            Some(format!("generation {generation}").as_str())
        )
    );

    // KEV lists one of lodash's CVEs: only the inventories holding lodash
    // are evaluated again, and its findings say it is exploited.
    let kev_path = mirror
        .path()
        .join("kev/known_exploited_vulnerabilities.json");
    let mut catalog: Value = serde_json::from_slice(&fs_err::read(&kev_path).unwrap()).unwrap();
    let mut kev_entry = catalog["vulnerabilities"][0].clone();
    kev_entry["cveID"] = json!("CVE-2021-23337");
    catalog["vulnerabilities"]
        .as_array_mut()
        .unwrap()
        .push(kev_entry);
    let exploited = eq("vulnerabilityId", "CVE-2021-23337");
    assert!(
        list(&s, &viewer, &exploited)
            .iter()
            .all(|f| f["exploitAvailable"] == "NO")
    );
    std::thread::sleep(Duration::from_millis(1100));
    fs_err::write(&kev_path, serde_json::to_vec(&catalog).unwrap()).unwrap();
    let (status, update) = s.call("POST", "/v1/db/update", Some(&admin), None);
    assert_eq!(status, 200, "{update}");
    assert_eq!(update["rematch"]["resources"], 2, "{update}");
    let now_exploited = list(&s, &viewer, &exploited);
    assert_eq!(now_exploited.len(), 2, "{update}");
    assert!(
        now_exploited
            .iter()
            .all(|f| f["exploitAvailable"] == "YES" && f["status"] == "ACTIVE"),
        "{now_exploited:#?}"
    );
    same_as_a_scan(home, &s, &viewer, &targets);
    // Its details: KEV's dates and action; an unknown ARN is an error entry,
    // a malformed request a 400.
    let arn = now_exploited[0]["findingArn"].as_str().unwrap();
    let unknown =
        "arn:aws:inspector2:us-east-1:000000000000:finding/00000000000000000000000000000000";
    let (status, details) = s.call(
        "POST",
        "/findings/details/batch/get",
        Some(&viewer),
        Some(&json!({"findingArns": [arn, unknown]})),
    );
    assert_eq!(status, 200, "{details}");
    valid("BatchGetFindingDetailsResponse", &details);
    assert_eq!(details["findingDetails"][0]["findingArn"], arn);
    assert!(
        details["findingDetails"][0]["cisaData"]["dateAdded"].is_string(),
        "{details}"
    );
    assert_eq!(details["errors"][0]["findingArn"], unknown);
    for bad in [json!({"findingArns": [7]}), json!({"findingArns": []})] {
        let (status, body) = s.call(
            "POST",
            "/findings/details/batch/get",
            Some(&viewer),
            Some(&bad),
        );
        assert_eq!(status, 400, "{bad}: {body}");
    }

    // A suppression rule applies at once, and deleting it lifts it.
    let rule = json!({"name": "accepted-lodash", "action": "SUPPRESS", "reason": "not reachable in this function",
                      "filterCriteria": eq("vulnerabilityId", "CVE-2021-23337")});
    let (status, body) = s.call("POST", "/filters/create", Some(&viewer), Some(&rule));
    assert_eq!(status, 403, "a viewer cannot write: {body}");
    let (status, created) = s.call("POST", "/filters/create", Some(&admin), Some(&rule));
    assert_eq!(status, 200, "{created}\n{}", s.log());
    let arn = created["arn"].as_str().unwrap().to_owned();
    let suppressed = list(&s, &viewer, &eq("findingStatus", "SUPPRESSED"));
    // Lodash's CVE-2021-23337 in the function and in the image, nothing else.
    assert_eq!(suppressed.len(), 2);
    assert!(
        suppressed
            .iter()
            .all(|f| f["packageVulnerabilityDetails"]["vulnerabilityId"] == "CVE-2021-23337")
    );
    let h = history(&s, &viewer, suppressed[0]["findingArn"].as_str().unwrap());
    assert_eq!(h.last().unwrap()["cause"], format!("filter {arn}"));
    let (status, _) = s.call(
        "POST",
        "/filters/delete",
        Some(&admin),
        Some(&json!({"arn": arn})),
    );
    assert_eq!(status, 200);
    assert!(list(&s, &viewer, &eq("findingStatus", "SUPPRESSED")).is_empty());
    // Lifted: active again, the lifting recorded, the observation times untouched.
    let lifted = by_vuln(
        &list(&s, &viewer, &eq("resourceType", "AWS_LAMBDA_FUNCTION")),
        "CVE-2021-23337",
    )
    .clone();
    assert_eq!(lifted["status"], "ACTIVE");
    assert_eq!(
        lifted["lastObservedAt"],
        suppressed
            .iter()
            .find(|f| f["findingArn"] == lifted["findingArn"])
            .unwrap()["lastObservedAt"]
    );
    let h = history(&s, &viewer, lifted["findingArn"].as_str().unwrap());
    assert_eq!(h.last().unwrap()["event"], "UNSUPPRESSED");

    // A removed target closes its findings; brought back, they reopen with the same ARNs.
    let before = arns(&list(&s, &viewer, &{
        let mut c = eq("resourceType", "AWS_LAMBDA_FUNCTION");
        c["findingStatus"] = json!([{"comparison": "EQUALS", "value": "ACTIVE"}]);
        c
    }));
    let saved = fs_err::read(&targets[1]).unwrap();
    fs_err::remove_file(&targets[1]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = s.call("POST", "/coverage/list", Some(&viewer), Some(&json!({"filterCriteria": {"scanStatusReason": [{"comparison": "EQUALS", "value": "RESOURCE_TERMINATED"}]}})));
        if body["coveredResources"]
            .as_array()
            .is_some_and(|a| a.len() == 1)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the removed function was never terminated"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let gone = list(&s, &viewer, &eq("resourceType", "AWS_LAMBDA_FUNCTION"));
    assert!(!gone.is_empty() && gone.iter().all(|f| f["status"] == "CLOSED"));
    aggregations_agree(&s, &viewer);
    fs_err::write(&targets[1], saved).unwrap();
    wait_coverage(&s, &viewer, 3, "SUCCESSFUL");
    let back = list(&s, &viewer, &{
        let mut c = eq("resourceType", "AWS_LAMBDA_FUNCTION");
        c["findingStatus"] = json!([{"comparison": "EQUALS", "value": "ACTIVE"}]);
        c
    });
    assert_eq!(arns(&back), before);
    let h = history(&s, &viewer, back[0]["findingArn"].as_str().unwrap());
    assert_eq!(h.last().unwrap()["event"], "REOPENED");
    assert_eq!(
        s.metric(&viewer, "vigia_target_reads_total"),
        reads + 1,
        "only the re-added function is read"
    );
    aggregations_agree(&s, &viewer);
}

#[test]
fn bad_requests_get_inspector_errors_and_change_nothing() {
    let home = &Home::sqlite();
    let watch = tempfile::tempdir().unwrap();
    let mirror = vigia_test_support::mirror_copy();
    let admin = token(home, "admin");
    let viewer = token(home, "viewer");
    let s = start(home, mirror.path(), watch.path());
    // Health needs no token; everything else does.
    assert_eq!(s.call("GET", "/healthz", None, None).0, 200);
    let (status, body) = s.call("POST", "/findings/list", None, Some(&json!({})));
    assert_eq!(status, 401);
    assert!(body["message"].as_str().unwrap().contains("token"));
    // The wrong method is refused in the same shape as every other
    // refusal.
    let (status, body) = s.call("GET", "/findings/list", Some(&viewer), None);
    assert_eq!(status, 405, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("method"),
        "{body}"
    );
    // A value of the wrong type is said to be one, not missing.
    let (status, body) = s.call(
        "POST",
        "/findings/aggregation/list",
        Some(&viewer),
        Some(&json!({"aggregationType": 7})),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("must be one of"),
        "{body}"
    );
    assert_eq!(
        s.call(
            "POST",
            "/findings/list",
            Some("vgt_nope_nope"),
            Some(&json!({}))
        )
        .0,
        401
    );
    // An agent's token submits inventories and reads nothing.
    let agent = token(home, "agent");
    for (method, path) in [
        ("POST", "/findings/list"),
        ("POST", "/coverage/list"),
        ("GET", "/v1/resources"),
        ("POST", "/filters/create"),
    ] {
        let (status, body) = s.call(
            method,
            path,
            Some(&agent),
            (method == "POST").then(|| json!({})).as_ref(),
        );
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert!(body["message"].is_string(), "{body}");
    }
    // The same token with its last character changed to one no token uses.
    let forged = format!("{}z", &admin[..admin.len() - 1]);
    assert_eq!(
        s.call("POST", "/findings/list", Some(&forged), Some(&json!({})))
            .0,
        401
    );
    let eleven: Vec<Value> = (0..11)
        .map(|i| json!({"comparison": "EQUALS", "value": format!("CVE-{i}")}))
        .collect();
    for (body, says) in [
        ("{not json".to_owned(), "not JSON"),
        (
            json!({"filterCriteria": {"nope": []}}).to_string(),
            "no key `nope`",
        ),
        (
            json!({"filterCriteria": {"vulnerabilityId": eleven}}).to_string(),
            "1 to 10",
        ),
        (json!({"maxResults": -1}).to_string(), "maxResults"),
        (json!({"maxResults": 101}).to_string(), "maxResults"),
        (json!({"nextToken": "garbage"}).to_string(), "nextToken"),
        (
            json!({"sortCriteria": {"field": "NAME", "sortOrder": "ASC"}}).to_string(),
            "sort field",
        ),
    ] {
        let (status, answer) =
            s.call_raw("POST", "/findings/list", Some(&viewer), Some(body.clone()));
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(says),
            "{body}: {answer}"
        );
    }
    for (path, body) in [
        ("/coverage/list", json!({"nextToken": "later"})),
        (
            "/findings/aggregation/list",
            json!({"aggregationType": "AMI"}),
        ),
        (
            "/findings/aggregation/list",
            json!({"aggregationType": "PACKAGE", "aggregationRequest": {"packageAggregation": {"packageNames": "zlib"}}}),
        ),
        ("/coverage/statistics/list", json!({"groupBy": "SEVERITY"})),
    ] {
        assert_eq!(
            s.call("POST", path, Some(&viewer), Some(&body)).0,
            400,
            "{path} {body}"
        );
    }
    // A viewer cannot write; an admin's bad filter is refused; nothing is stored.
    let rule =
        json!({"name": "x-rule", "action": "SUPPRESS", "filterCriteria": eq("severity", "LOW")});
    assert_eq!(
        s.call("POST", "/filters/create", Some(&viewer), Some(&rule))
            .0,
        403
    );
    assert_eq!(s.call("POST", "/v1/db/update", Some(&viewer), None).0, 403);
    for bad in [
        json!({"name": "has space", "action": "SUPPRESS", "filterCriteria": eq("severity", "LOW")}),
        json!({"name": "ok-name", "action": "HIDE", "filterCriteria": eq("severity", "LOW")}),
        json!({"name": "ok-name", "action": "SUPPRESS", "filterCriteria": {}}),
    ] {
        assert_eq!(
            s.call("POST", "/filters/create", Some(&admin), Some(&bad))
                .0,
            400,
            "{bad}"
        );
    }
    // A rule that would have expired already suppresses nothing: refused,
    // saying why.
    let (status, refused) = s.call(
        "POST",
        "/filters/create",
        Some(&admin),
        Some(&json!({"name": "ok-name", "action": "SUPPRESS", "filterCriteria": eq("severity", "LOW"), "vigiaExpiresAt": 1_600_000_000})),
    );
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"].as_str().is_some_and(
            |m| m.contains("vigiaExpiresAt (2020-09-13T12:26:40Z) is not in the future")
        ),
        "{refused}"
    );
    let (_, filters) = s.call("POST", "/filters/list", Some(&viewer), Some(&json!({})));
    assert_eq!(filters["filters"], json!([]));
    assert_eq!(
        s.call(
            "POST",
            "/filters/delete",
            Some(&admin),
            Some(&json!({"arn": "vigia:filter/none"}))
        )
        .0,
        404
    );
    assert_eq!(
        s.call(
            "POST",
            "/no/such/operation",
            Some(&viewer),
            Some(&json!({}))
        )
        .0,
        404
    );
    // The OpenAPI document is valid, and every operation it lists is served.
    let (status, doc) = s.call("GET", "/openapi.json", Some(&admin), None);
    assert_eq!(status, 200);
    let file = tempfile::NamedTempFile::new().unwrap();
    fs_err::write(file.path(), serde_json::to_vec(&doc).unwrap()).unwrap();
    let checked = Command::new("python3")
        .args(["-c", "import sys, json; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1])))"])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    // Its request bodies are Inspector's, member by member, key by key
    // (botocore's model of inspector2).
    let checked = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/serve/openapi_inspector.py"))
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    // What a body declares is what its operation checks a body against
    // (the handler of each path reads that path's members): a member it
    // does not declare is refused as unknown, each it declares is not
    // (the body is still refused, as a wrong value or for what it lacks,
    // and changes nothing), and a body without its required members is
    // refused.
    let mut bodies = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let Some(schema) = ops
            .get("post")
            .map(|op| &op["requestBody"]["content"]["application/json"]["schema"])
            .filter(|s| s["additionalProperties"] == json!(false))
        else {
            continue;
        };
        bodies += 1;
        let (status, body) = s.call(
            "POST",
            path,
            Some(&admin),
            Some(&json!({"vigiaNoSuchMember": 1})),
        );
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("unknown member `vigiaNoSuchMember`"),
            "{path}: {body}"
        );
        for member in schema["properties"].as_object().unwrap().keys() {
            let (status, body) = s.call(
                "POST",
                path,
                Some(&admin),
                Some(&json!({ member: [[["not this"]]] })),
            );
            assert_eq!(status, 400, "{path} {member}: {body}");
            assert!(
                !body["message"].as_str().unwrap().contains("unknown member"),
                "{path} {member}: {body}"
            );
        }
        let (without, without_body) = s.call("POST", path, Some(&admin), Some(&json!({})));
        if schema.get("required").is_some() {
            assert_eq!(
                without, 400,
                "{path} without its required members: {without_body}"
            );
        }
        // An optional member given as null is read as left out (AWS's JSON
        // protocol): the answer is the one without it.
        let required = schema.get("required").cloned().unwrap_or(json!([]));
        for (member, declared) in schema["properties"].as_object().unwrap() {
            if required.as_array().unwrap().contains(&json!(member)) {
                continue;
            }
            let (status, body) = s.call("POST", path, Some(&admin), Some(&json!({ member: null })));
            assert_eq!(status, without, "{path} {member}: null: {body}");
            if status == 400 {
                assert_eq!(body, without_body, "{path} {member}: null");
            }
            let nullable = declared["anyOf"]
                .as_array()
                .or(declared["oneOf"].as_array())
                .is_some_and(|any| {
                    any.contains(&json!({"type": "null"}))
                        || any.iter().any(|a| a["type"] == "null")
                });
            assert!(nullable, "{path} {member}: optional, not declared nullable");
        }
    }
    assert!(bodies >= 24, "{bodies} bodies declared member by member");
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            if path == "/v1/db/update" {
                continue;
            }
            let (status, body) = s.call(
                &method.to_ascii_uppercase(),
                path,
                Some(&admin),
                (method == "post").then(|| json!({})).as_ref(),
            );
            assert_ne!(status, 404, "{method} {path}: {body}");
            // What it answered is a response the document declares.
            assert!(
                ops[method]["responses"].get(status.to_string()).is_some(),
                "{method} {path} answered {status}, not in the document: {body}"
            );
        }
    }
    assert_eq!(
        doc["paths"]["/readyz"]["get"]["responses"]["503"]["content"]["text/plain"]["schema"]["type"],
        "string"
    );
    assert!(doc["components"]["securitySchemes"]["sigv4"].is_object());
    // A revoked token stops working.
    let id = viewer
        .strip_prefix("vgt_")
        .unwrap()
        .split('_')
        .next()
        .unwrap()
        .to_owned();
    // Tokens are listed by ID, name and role, never with a secret.
    let listed = vigia(home, &["token", "list", "-f", "json"]);
    assert!(listed.status.success());
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let mine = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{listed:#}"));
    assert_eq!(mine["role"], "viewer");
    assert!(mine["revokedAt"].is_null());
    assert!(!listed.to_string().contains(&viewer), "{listed:#}");
    assert!(vigia(home, &["token", "revoke", &id]).status.success());
    let table = vigia(home, &["token", "list"]);
    let table = String::from_utf8_lossy(&table.stdout);
    let row = table
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        row.contains("viewer") && !row.trim_end().ends_with(" -"),
        "{row}"
    );
    assert_eq!(
        s.call("POST", "/findings/list", Some(&viewer), Some(&json!({})))
            .0,
        401
    );
}

#[test]
fn a_killed_service_loses_nothing() {
    let home = &Home::sqlite();
    let watch = tempfile::tempdir().unwrap();
    let mirror = vigia_test_support::mirror_copy();
    copy_targets(watch.path());
    let viewer = token(home, "viewer");
    let admin = token(home, "admin");
    // Killed while it loads advisories and scans.
    let mut s = start(home, mirror.path(), watch.path());
    std::thread::sleep(Duration::from_millis(1500));
    s.child.kill().unwrap();
    let _ = s.child.wait();
    drop(s);
    let s = start(home, mirror.path(), watch.path());
    wait_coverage(&s, &viewer, 3, "SUCCESSFUL");
    let before = list(&s, &viewer, &eq("findingStatus", "ACTIVE"));
    assert!(!before.is_empty());
    // Killed while it rematches after an advisory change.
    change_lodash_records(mirror.path());
    let base = s.base.clone();
    let token = admin.clone();
    let update = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let _ = reqwest::Client::new()
                .post(format!("{base}/v1/db/update"))
                .bearer_auth(token)
                .send()
                .await;
        });
    });
    // Killed as soon as the rematch has evaluated a first inventory (or,
    // should it finish first, right after).
    let started = s.metric(&viewer, "vigia_rematches_total");
    let deadline = Instant::now() + Duration::from_secs(60);
    while s.metric(&viewer, "vigia_rematches_total") == started && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut s = s;
    s.child.kill().unwrap();
    let _ = s.child.wait();
    let _ = update.join();
    drop(s);
    // After a restart the change is applied in full, whatever the kill interrupted.
    let s = start(home, mirror.path(), watch.path());
    wait_coverage(&s, &viewer, 3, "SUCCESSFUL");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let function = list(&s, &viewer, &eq("resourceType", "AWS_LAMBDA_FUNCTION"));
        let closed = function.iter().any(|f| {
            f["packageVulnerabilityDetails"]["vulnerabilityId"] == "CVE-2020-28500"
                && f["status"] == "CLOSED"
        });
        let opened = function.iter().any(|f| {
            f["packageVulnerabilityDetails"]["vulnerabilityId"] == "CVE-2020-8203"
                && f["status"] == "ACTIVE"
        });
        if closed && opened {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the update was never applied in full:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // Nothing else was lost: every other finding is still active.
    let after = arns(&list(&s, &viewer, &eq("findingStatus", "ACTIVE")));
    let lost: Vec<&Value> = before
        .iter()
        .filter(|f| f["packageVulnerabilityDetails"]["vulnerabilityId"] != "CVE-2020-28500")
        .filter(|f| !after.contains(f["findingArn"].as_str().unwrap()))
        .collect();
    assert!(lost.is_empty(), "{lost:?}");
}

#[test]
fn https_with_a_certificate_and_a_clean_exit_on_sigterm() {
    let home = &Home::sqlite();
    let watch = tempfile::tempdir().unwrap();
    let mirror = vigia_test_support::mirror_copy();
    let viewer = token(home, "viewer");
    let (cert, key) = (
        home.dir.path().join("cert.pem"),
        home.dir.path().join("key.pem"),
    );
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args([
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .args(["-addext", "extendedKeyUsage=serverAuth", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let port = vigia_test_support::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigia"))
        .args(home.args())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--tls-cert",
        ])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .arg("--mirror")
        .arg(mirror.path())
        .arg("--watch")
        .arg(watch.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    vigia_test_support::wait_for_port(port);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pem = fs_err::read(&cert).unwrap();
    let (secure, plain) = rt.block_on(async {
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .build()
            .unwrap();
        let secure = client
            .post(format!("https://127.0.0.1:{port}/findings/list"))
            .bearer_auth(&viewer)
            .body("{}")
            .send()
            .await
            .map(|r| r.status().as_u16());
        let plain = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await;
        (secure, plain)
    });
    assert_eq!(secure.unwrap(), 200);
    assert!(
        plain.is_err() || !plain.unwrap().status().is_success(),
        "plain HTTP is not served"
    );
    // SIGTERM: the service stops and exits 0 (the client's connections closed first).
    drop(rt);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the service did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn resources_registered_rescanned_and_deleted_through_the_api() {
    let home = &Home::sqlite();
    let watch = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let mirror = vigia_test_support::mirror_copy();
    let zip = elsewhere.path().join("fn-python.zip");
    fs_err::copy(
        vigia_test_support::shared_dir().join("targets/fn-python.zip"),
        &zip,
    )
    .unwrap();
    let admin = token(home, "admin");
    let viewer = token(home, "viewer");
    let s = start(home, mirror.path(), watch.path());
    let register = json!({"source": zip.display().to_string()});
    assert_eq!(
        s.call(
            "POST",
            "/v1/resources/register",
            Some(&viewer),
            Some(&register)
        )
        .0,
        403
    );
    let (status, body) = s.call(
        "POST",
        "/v1/resources/register",
        Some(&admin),
        Some(&json!({"source": "relative/x.zip"})),
    );
    assert_eq!(status, 400, "{body}");
    let (status, body) = s.call(
        "POST",
        "/v1/resources/register",
        Some(&admin),
        Some(&register),
    );
    assert_eq!(status, 200, "{body}");
    let covered = wait_coverage(&s, &viewer, 1, "SUCCESSFUL");
    let id = covered[0]["resourceId"].as_str().unwrap().to_owned();
    let get = |s: &Server| {
        let (status, body) = s.call("GET", &resource_path(&id), Some(&viewer), None);
        assert_eq!(status, 200, "{body}");
        body
    };
    let one = get(&s);
    assert!(!one["inventory"]["packages"].as_array().unwrap().is_empty());
    assert_eq!(one["scans"].as_array().unwrap().len(), 1);
    let open = list(&s, &viewer, &eq("findingStatus", "ACTIVE"));
    assert!(!open.is_empty());
    // Rescan: read again, the same findings.
    assert_eq!(
        s.call(
            "POST",
            "/v1/resources/rescan",
            Some(&admin),
            Some(&json!({"id": id}))
        )
        .0,
        200
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while get(&s)["scans"].as_array().unwrap().len() < 2 {
        assert!(Instant::now() < deadline, "never rescanned");
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(
        arns(&list(&s, &viewer, &eq("findingStatus", "ACTIVE"))),
        arns(&open)
    );
    // Delete: its findings close and the watcher leaves it alone.
    assert_eq!(
        s.call(
            "POST",
            "/v1/resources/delete",
            Some(&admin),
            Some(&json!({"id": id}))
        )
        .0,
        200
    );
    wait_coverage(&s, &viewer, 1, "RESOURCE_TERMINATED");
    assert!(list(&s, &viewer, &eq("findingStatus", "ACTIVE")).is_empty());
    std::thread::sleep(Duration::from_millis(2500));
    wait_coverage(&s, &viewer, 1, "RESOURCE_TERMINATED");
    assert_eq!(
        s.call(
            "POST",
            "/v1/resources/delete",
            Some(&admin),
            Some(&json!({"id": "nope"}))
        )
        .0,
        404
    );
}

#[test]
fn copies_and_images_rebuilt_in_place() {
    let home = &Home::sqlite();
    let watch = tempfile::tempdir().unwrap();
    let mirror = vigia_test_support::mirror_copy();
    let shared = vigia_test_support::shared_dir().join("targets");
    // Two copies of one image, and a third folder that will be rebuilt.
    for name in ["app-a", "app-b", "web"] {
        vigia_test_support::copy_dir(&shared.join("debian12-app"), &watch.path().join(name));
    }
    let viewer = token(home, "viewer");
    let s = start(home, mirror.path(), watch.path());
    // Each source by its reason, once all three are scanned.
    let sources = |s: &Server| -> Vec<Value> {
        let (status, listed) = s.call("GET", "/v1/resources", Some(&viewer), None);
        assert_eq!(status, 200, "{listed}");
        listed["resources"].as_array().cloned().unwrap_or_default()
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    let listed = loop {
        let listed = sources(&s);
        if listed.len() == 3 && listed.iter().all(|r| r["statusReason"] == "SUCCESSFUL") {
            break listed;
        }
        assert!(Instant::now() < deadline, "never all scanned: {listed:#?}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let ids: BTreeSet<&str> = listed.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids.len(),
        1,
        "three copies of one image are one resource: {ids:?}"
    );
    // Coverage lists the resource once, as Inspector does, and counts it
    // once, in every group.
    let covered = wait_coverage(&s, &viewer, 1, "SUCCESSFUL");
    assert_eq!(covered[0]["resourceId"], *ids.iter().next().unwrap());
    for group in [None, Some("RESOURCE_TYPE"), Some("SCAN_STATUS_REASON")] {
        let mut req = json!({});
        if let Some(g) = group {
            req["groupBy"] = json!(g);
        }
        let (_, stats) = s.call(
            "POST",
            "/coverage/statistics/list",
            Some(&viewer),
            Some(&req),
        );
        assert_eq!(stats["totalCounts"], 1, "{group:?}: {stats}");
        if group.is_some() {
            assert_eq!(stats["countsByGroup"][0]["count"], 1, "{group:?}: {stats}");
        }
    }
    // Their inventory is stored once, by content, not once per copy.
    let inventories: BTreeSet<&str> = listed
        .iter()
        .map(|r| r["inventoryId"].as_str().unwrap())
        .collect();
    assert_eq!(inventories.len(), 1, "{listed:#?}");
    let image = (*ids.iter().next().unwrap()).to_owned();
    let active = |s: &Server| {
        let mut c = eq("resourceId", &image);
        c["findingStatus"] = json!([{"comparison": "EQUALS", "value": "ACTIVE"}]);
        arns(&list(s, &viewer, &c))
    };
    let open = active(&s);
    assert!(!open.is_empty());
    // One copy removed: the others still hold the image, nothing closes,
    // and its coverage still says what is true of it.
    fs_err::remove_dir_all(watch.path().join("app-a")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let gone = sources(&s)
            .iter()
            .filter(|r| r["statusReason"] == "RESOURCE_TERMINATED")
            .count();
        if gone == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the removed copy was never terminated"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(active(&s), open);
    let covered = wait_coverage(&s, &viewer, 1, "SUCCESSFUL");
    assert_eq!(covered[0]["resourceId"], image.as_str());
    // One rebuilt in place with other content (the Alpine image): its old
    // identity is still held by app-b, so nothing closes; the new one opens.
    fs_err::remove_dir_all(watch.path().join("web")).unwrap();
    vigia_test_support::copy_dir(&shared.join("alpine-base"), &watch.path().join("web"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let alpine = list(
            &s,
            &viewer,
            &eq("ecrImageRepositoryName", "vigia/alpine-base"),
        );
        if !alpine.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rebuilt image was never scanned:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(active(&s), open);
    // The last copy moved to another name: the same resource, nothing
    // closed or reopened on the way.
    let first = open.iter().next().unwrap().clone();
    let before_move = history(&s, &viewer, &first).len();
    fs_err::rename(watch.path().join("app-b"), watch.path().join("app-c")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listed = sources(&s);
        let at = |name: &str| {
            listed
                .iter()
                .find(|r| r["source"].as_str().is_some_and(|p| p.ends_with(name)))
                .map(|r| r["statusReason"].clone())
        };
        if at("/app-c") == Some(json!("SUCCESSFUL"))
            && at("/app-b") == Some(json!("RESOURCE_TERMINATED"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the move was never seen: {listed:#?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(active(&s), open);
    assert_eq!(
        history(&s, &viewer, &first).len(),
        before_move,
        "a move closed or reopened a finding"
    );
    // Now the last copy of the Debian image is rebuilt too: its findings close.
    fs_err::remove_dir_all(watch.path().join("app-c")).unwrap();
    vigia_test_support::copy_dir(&shared.join("alpine-base"), &watch.path().join("app-c"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while !active(&s).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the old image's findings never closed:\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let closed = list(&s, &viewer, &eq("resourceId", &image));
    let h = history(&s, &viewer, closed[0]["findingArn"].as_str().unwrap());
    assert!(
        h.last().unwrap()["cause"]
            .as_str()
            .unwrap()
            .contains("now holds"),
        "{h:?}"
    );
}

/// Rows of `sql` on PostgreSQL, `|`-separated.
fn psql(url: &str, sql: &str) -> Vec<String> {
    let out = Command::new("psql")
        .args([url, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Scale-out: an API process and two workers on one PostgreSQL, each with
/// its own data directory as on separate machines, share 50 watched
/// functions through the job table. One worker is killed (-9) while it
/// holds a scan; its lease runs out and the other worker does that job.
/// Every resource ends SUCCESSFUL, scanned exactly once (the killed job at
/// most twice, if the kill came between its last write and its removal).
#[test]
fn two_workers_share_the_work_and_one_killed_loses_nothing() {
    let pg = vigia_test_support::Postgres::start();
    let url = pg.create_database("scale");
    let home = || Home {
        dir: tempfile::tempdir().unwrap(),
        url: Some(url.clone()),
    };
    let (api_home, home1, home2) = (home(), home(), home());
    let mirror = vigia_test_support::mirror_copy();
    let watch = tempfile::tempdir().unwrap();
    let versions = ["4.17.4", "4.17.11", "4.17.15", "4.17.19", "4.17.20"];
    for i in 0..50 {
        let v = versions[i % versions.len()];
        let lock = json!({"name": format!("fn{i}"), "lockfileVersion": 3, "requires": true,
            "packages": {"": {"name": format!("fn{i}"), "dependencies": {"lodash": v}},
                         "node_modules/lodash": {"version": v}}});
        let file = fs_err::File::create(watch.path().join(format!("fn{i:02}.zip"))).unwrap();
        let mut z = zip::ZipWriter::new(file);
        let opts = zip::write::SimpleFileOptions::default();
        z.start_file("index.js", opts).unwrap();
        std::io::Write::write_all(
            &mut z,
            format!("exports.handler = async () => {i};\n").as_bytes(),
        )
        .unwrap();
        z.start_file("package-lock.json", opts).unwrap();
        std::io::Write::write_all(&mut z, lock.to_string().as_bytes()).unwrap();
        z.finish().unwrap();
    }
    let viewer = token(&api_home, "viewer");
    let admin = token(&api_home, "admin");
    let port = vigia_test_support::free_port();
    let listen = format!("127.0.0.1:{port}");
    let watch_arg = watch.path().display().to_string();
    let api = serve_on(
        &api_home,
        mirror.path(),
        port,
        &["--role", "api", "--listen", &listen, "--watch", &watch_arg],
    );
    let mut w1 = Reaped(spawn_serve(
        &home1,
        mirror.path(),
        &["--role", "worker", "--lease", "3"],
    ));
    // The second starts once the first has finished a scan (its advisory
    // index loaded), so that the first still holds scans when it is killed.
    let deadline = Instant::now() + Duration::from_secs(120);
    while psql(
        &url,
        "SELECT COUNT(*) FROM vigia_state.scans WHERE kind = 'SCAN'",
    ) == ["0"]
    {
        assert!(
            Instant::now() < deadline,
            "the first worker never finished a scan:\n{}",
            fs_err::read_to_string(home1.dir.path().join("serve.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut w2 = Reaped(spawn_serve(
        &home2,
        mirror.path(),
        &["--role", "worker", "--lease", "3"],
    ));
    // Kill the first worker while it holds a scan.
    let held = format!("%:{}:%", w1.0.id());
    let deadline = Instant::now() + Duration::from_secs(120);
    let killed_subject = loop {
        let rows = psql(
            &url,
            &format!(
                "SELECT subject FROM vigia_state.jobs WHERE kind = 'SCAN' AND state = 'RUNNING' AND owner LIKE '{held}'"
            ),
        );
        if let Some(subject) = rows.first() {
            w1.0.kill().unwrap();
            w1.0.wait().unwrap();
            break subject.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the first worker never held a scan:\n{}",
            fs_err::read_to_string(home1.dir.path().join("serve.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let covered = wait_coverage(&api, &viewer, 50, "SUCCESSFUL");
    assert_eq!(covered.len(), 50);
    let scans: BTreeMap<String, i64> = psql(
        &url,
        "SELECT r.source, COUNT(s.id) FROM vigia_state.resources r \
         LEFT JOIN vigia_state.scans s ON s.resource_id = r.id AND s.kind = 'SCAN' GROUP BY r.source",
    )
    .iter()
    .map(|l| {
        let (source, n) = l.rsplit_once('|').unwrap();
        (source.to_owned(), n.parse().unwrap())
    })
    .collect();
    assert_eq!(scans.len(), 50, "{scans:?}");
    for (source, n) in &scans {
        if *source == killed_subject {
            assert!((1..=2).contains(n), "{source}: {n} scans");
        } else {
            assert_eq!(*n, 1, "{source} scanned {n} times");
        }
    }
    // The second worker takes the killed one's job once its lease (3 s)
    // runs out, even when the kill came after the scan's last write (the
    // resource is SUCCESSFUL, the job still held): then no scan job is left.
    let deadline = Instant::now() + Duration::from_secs(30);
    while psql(
        &url,
        "SELECT COUNT(*) FROM vigia_state.jobs WHERE kind = 'SCAN'",
    ) != ["0"]
    {
        assert!(
            Instant::now() < deadline,
            "the killed worker's job was never done:\n{}",
            fs_err::read_to_string(home2.dir.path().join("serve.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        w2.0.try_wait().unwrap().is_none(),
        "the second worker stopped:\n{}",
        fs_err::read_to_string(home2.dir.path().join("serve.log")).unwrap_or_default()
    );

    // An update asked of the process that serves only the API is a job:
    // the worker does it, and the answer carries its outcome.
    let updates = |h: &Home| {
        fs_err::read_to_string(h.dir.path().join("serve.log"))
            .unwrap_or_default()
            .matches("advisories updated")
            .count()
    };
    let before = updates(&home2);
    let (status, out) = api.call("POST", "/v1/db/update", Some(&admin), None);
    assert_eq!(status, 200, "{out}");
    assert!(out["update"]["generation"].as_i64().is_some(), "{out}");
    assert_eq!(updates(&home2), before + 1, "the worker updated");
    assert_eq!(updates(&api_home), 0, "the API process updated nothing");
}

/// A child process killed and reaped when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Coverage until every resource's first scan has ended (none pending or
/// in progress), by resource type: (status code, reason).
fn settled_coverage(s: &Server, token: &str, n: usize) -> BTreeMap<String, (String, String)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let (status, body) = s.call("POST", "/coverage/list", Some(token), Some(&json!({})));
        assert_eq!(status, 200, "{body}");
        let items = body["coveredResources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let pending = items.iter().any(|i| {
            matches!(
                i["scanStatus"]["reason"].as_str(),
                Some("PENDING_INITIAL_SCAN" | "SCAN_IN_PROGRESS")
            )
        });
        if items.len() == n && !pending {
            return items
                .iter()
                .map(|i| {
                    (
                        i["resourceType"].as_str().unwrap().to_owned(),
                        (
                            i["scanStatus"]["statusCode"].as_str().unwrap().to_owned(),
                            i["scanStatus"]["reason"].as_str().unwrap().to_owned(),
                        ),
                    )
                })
                .collect();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{items:?}\n{}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Coverage never shows a resource scanned clean when it was not. An image
/// whose OS release has no advisories is `UNSUPPORTED_OS`, and becomes
/// `SUCCESSFUL` with its findings once an update brings them, without being
/// read again; a function with nothing to evaluate is `NO_INVENTORY`.
/// Coverage filters follow Inspector's model.
#[test]
fn coverage_tells_an_unsupported_os_and_no_inventory_from_clean() {
    let home = Home::sqlite();
    let viewer = token(&home, "viewer");
    let admin = token(&home, "admin");
    let mirror = vigia_test_support::mirror_copy();
    // The mirror as it was before it had Alpine 3.18's advisories.
    let alpine = mirror.path().join("Alpine/all.zip");
    let original = fs_err::read(&alpine).unwrap();
    let mut without = Vec::new();
    for (name, body) in vigia_test_support::read_zip(&alpine) {
        let mut rec: Value = serde_json::from_slice(&body).unwrap();
        let affected = rec["affected"].as_array_mut().unwrap();
        affected.retain(|a| a["package"]["ecosystem"] != "Alpine:v3.18");
        if !affected.is_empty() {
            without.push((name, serde_json::to_vec(&rec).unwrap()));
        }
    }
    vigia_test_support::write_zip(&alpine, &without);
    let watch = tempfile::tempdir().unwrap();
    vigia_test_support::copy_dir(
        &vigia_test_support::shared_dir().join("targets/alpine-base"),
        &watch.path().join("alpine-base"),
    );
    vigia_test_support::write_zip(
        &watch.path().join("nothing.zip"),
        &[("README.txt".to_owned(), b"no code here".to_vec())],
    );
    let s = start(&home, mirror.path(), watch.path());
    let covered = settled_coverage(&s, &viewer, 2);
    assert_eq!(
        covered["AWS_ECR_CONTAINER_IMAGE"],
        ("INACTIVE".to_owned(), "UNSUPPORTED_OS".to_owned()),
        "{}",
        s.log()
    );
    assert_eq!(
        covered["AWS_LAMBDA_FUNCTION"],
        ("INACTIVE".to_owned(), "NO_INVENTORY".to_owned())
    );
    let image = eq("resourceType", "AWS_ECR_CONTAINER_IMAGE");
    assert!(list(&s, &viewer, &image).is_empty());
    // Each scan counted by the coverage it left.
    for outcome in ["UNSUPPORTED_OS", "NO_INVENTORY"] {
        let name = format!("vigia_scans_total{{outcome=\"{outcome}\"}}");
        assert_eq!(s.metric(&viewer, &name), 1, "{name}");
    }
    // Coverage filters: by reason; PREFIX, an unknown key and 11 values
    // are refused; a key for what Vigia's resources lack matches nothing.
    let coverage = |criteria: Value| {
        s.call(
            "POST",
            "/coverage/list",
            Some(&viewer),
            Some(&json!({ "filterCriteria": criteria })),
        )
    };
    let (status, only) = coverage(eq("scanStatusReason", "UNSUPPORTED_OS"));
    assert_eq!(status, 200, "{only}");
    assert_eq!(only["coveredResources"].as_array().unwrap().len(), 1);
    assert_eq!(
        only["coveredResources"][0]["resourceType"],
        "AWS_ECR_CONTAINER_IMAGE"
    );
    let (_, none) = coverage(eq("scanType", "NETWORK"));
    assert_eq!(none["coveredResources"], json!([]));
    let (_, tagged) =
        coverage(json!({"lambdaFunctionTags": [{"comparison": "EQUALS", "key": "team"}]}));
    assert_eq!(tagged["coveredResources"], json!([]));
    for bad in [
        json!({"scanStatusReason": [{"comparison": "PREFIX", "value": "UNSUPPORTED"}]}),
        json!({"nope": [{"comparison": "EQUALS", "value": "x"}]}),
        json!({"resourceId": vec![json!({"comparison": "EQUALS", "value": "x"}); 11]}),
    ] {
        let (status, body) = coverage(bad.clone());
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["message"].is_string(), "{body}");
    }
    let (status, by_repo) = s.call(
        "POST",
        "/coverage/statistics/list",
        Some(&viewer),
        Some(&json!({"groupBy": "ECR_REPOSITORY_NAME"})),
    );
    assert_eq!(status, 200, "{by_repo}");
    assert_eq!(by_repo["totalCounts"], 2);
    assert_eq!(by_repo["countsByGroup"].as_array().unwrap().len(), 1);

    // The release's advisories arrive: the image is evaluated from its
    // stored inventory, not read again.
    let reads = s.metric(&viewer, "vigia_target_reads_total");
    std::thread::sleep(Duration::from_millis(1100));
    fs_err::write(&alpine, &original).unwrap();
    let (status, update) = s.call("POST", "/v1/db/update", Some(&admin), None);
    assert_eq!(status, 200, "{update}");
    let covered = settled_coverage(&s, &viewer, 2);
    assert_eq!(
        covered["AWS_ECR_CONTAINER_IMAGE"],
        ("ACTIVE".to_owned(), "SUCCESSFUL".to_owned()),
        "{update}\n{}",
        s.log()
    );
    assert_eq!(
        covered["AWS_LAMBDA_FUNCTION"],
        ("INACTIVE".to_owned(), "NO_INVENTORY".to_owned())
    );
    assert!(!list(&s, &viewer, &image).is_empty(), "{update}");
    assert_eq!(s.metric(&viewer, "vigia_target_reads_total"), reads);
}

/// A Debian 12 root filesystem holding one package at `version`.
fn debian_root(root: &Path, version: &str) {
    fs_err::create_dir_all(root.join("etc")).unwrap();
    fs_err::create_dir_all(root.join("var/lib/dpkg")).unwrap();
    fs_err::write(
        root.join("etc/os-release"),
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
    )
    .unwrap();
    fs_err::write(
        root.join("var/lib/dpkg/status"),
        format!(
            "Package: curl\nStatus: install ok installed\nPriority: optional\nSection: web\n\
             Installed-Size: 500\nMaintainer: Debian\nArchitecture: amd64\nVersion: {version}\n\
             Description: command line tool for transferring data with URL syntax\n\n"
        ),
    )
    .unwrap();
}

/// A watched resource is scanned again when its content changes, also with
/// its size and modification time put back, and not when only its time
/// moves. A root filesystem folder changes with any file its scan reads,
/// not only its OS package database.
#[test]
fn a_change_is_told_by_content_not_by_time() {
    let home = Home::sqlite();
    let viewer = token(&home, "viewer");
    let watch = tempfile::tempdir().unwrap();
    let root = watch.path().join("host");
    let status = root.join("var/lib/dpkg/status");
    // Before curl's fixes of CVE-2023-38545 and CVE-2023-46218; then after
    // them, in a version string of the same length.
    debian_root(&root, "7.88.1-10+deb12u3");
    let set_time = || {
        let out = Command::new("touch")
            .args(["-d", "@1700000000"])
            .arg(&status)
            .output()
            .unwrap();
        assert!(out.status.success());
    };
    set_time();
    let s = start(&home, &vigia_test_support::vulndata(), watch.path());
    wait_coverage(&s, &viewer, 1, "SUCCESSFUL");
    assert_eq!(s.metric(&viewer, "vigia_target_reads_total"), 1);
    let mut active = eq("findingStatus", "ACTIVE");
    active["vulnerablePackages"] = json!([{"name": {"comparison": "EQUALS", "value": "curl"}}]);
    let before = list(&s, &viewer, &active);
    assert!(
        before
            .iter()
            .any(|f| f["packageVulnerabilityDetails"]["vulnerabilityId"] == "CVE-2023-38545"),
        "{before:#?}"
    );

    // Its time moves, and back, its content does not: not read again.
    let out = Command::new("touch").arg(&status).output().unwrap();
    assert!(out.status.success());
    std::thread::sleep(Duration::from_secs(3));
    set_time();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        s.metric(&viewer, "vigia_target_reads_total"),
        1,
        "{}",
        s.log()
    );

    // Its content changes, its size and time are put back: read again.
    let size = fs_err::metadata(&status).unwrap().len();
    debian_root(&root, "7.88.1-10+deb12u6");
    set_time();
    assert_eq!(fs_err::metadata(&status).unwrap().len(), size);
    let deadline = Instant::now() + Duration::from_secs(120);
    while s.metric(&viewer, "vigia_target_reads_total") < 2 {
        assert!(Instant::now() < deadline, "never read again\n{}", s.log());
        std::thread::sleep(Duration::from_millis(300));
    }
    wait_coverage(&s, &viewer, 1, "SUCCESSFUL");
    let after = list(&s, &viewer, &active);
    assert!(
        after
            .iter()
            .all(|f| f["packageVulnerabilityDetails"]["vulnerabilityId"] != "CVE-2023-38545"),
        "{after:#?}"
    );

    // A Python package installed beside the OS packages, which stay as they
    // are: read again, and its vulnerability found.
    let meta = root.join("usr/lib/python3/dist-packages/requests-2.19.0.dist-info/METADATA");
    fs_err::create_dir_all(meta.parent().unwrap()).unwrap();
    fs_err::write(
        &meta,
        "Metadata-Version: 2.1\nName: requests\nVersion: 2.19.0\n",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while s.metric(&viewer, "vigia_target_reads_total") < 3 {
        assert!(Instant::now() < deadline, "never read again\n{}", s.log());
        std::thread::sleep(Duration::from_millis(300));
    }
    wait_coverage(&s, &viewer, 1, "SUCCESSFUL");
    let mut requests = eq("findingStatus", "ACTIVE");
    requests["vulnerablePackages"] =
        json!([{"name": {"comparison": "EQUALS", "value": "requests"}}]);
    let found = list(&s, &viewer, &requests);
    assert!(
        found
            .iter()
            .any(|f| f["packageVulnerabilityDetails"]["vulnerabilityId"] == "CVE-2023-32681"),
        "{found:#?}\n{}",
        s.log()
    );
}

/// Text from a watched file reaches the log escaped: a tar entry named
/// with a line break and terminal escapes forges no line of the log and
/// sends no escape sequence to the terminal reading it.
#[test]
fn a_watched_file_cannot_forge_log_lines() {
    let home = Home::sqlite();
    let viewer = token(&home, "viewer");
    let watch = tempfile::tempdir().unwrap();
    // A file named with a line and escape sequences, which no scan can
    // read: its name is in the log's scan line.
    let evil = watch
        .path()
        .join("evil\n2026-12-07T00:00:00.000000Z  INFO vigia_server::service: FORGED \x1b[31m.tar");
    fs_err::write(&evil, "not a tar at all".repeat(64)).unwrap();
    // And a folder that does not exist: said once, with why.
    let missing = watch.path().join("not-there");
    let s = serve::start_with(
        &home,
        &vigia_test_support::vulndata(),
        watch.path(),
        &["--watch", missing.to_str().unwrap()],
        &[],
    );
    let covered = wait_coverage(&s, &viewer, 1, "INTERNAL_ERROR");
    assert_eq!(covered[0]["resourceType"], "AWS_ECR_CONTAINER_IMAGE");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !s.log().contains("scan failed") {
        assert!(Instant::now() < deadline, "{}", s.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = s.log();
    assert!(
        !log.lines()
            .any(|l| l.contains("FORGED") && !l.contains("scan failed")),
        "{log}"
    );
    assert!(!log.contains('\u{1b}'), "{log:?}");
    assert!(log.contains("evil\\n2026-12-07"), "{log}");
    // The failed scan is counted and in the resource's history, with why.
    let (_, metrics) = s.call("GET", "/metrics", Some(&viewer), None);
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("vigia_scans_total{outcome=\"INTERNAL_ERROR\"} 1"),
        "{metrics}"
    );
    let id = covered[0]["resourceId"].as_str().unwrap();
    let (status, one) = s.call("GET", &resource_path(id), Some(&viewer), None);
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["scans"][0]["outcome"], "INTERNAL_ERROR", "{one}");
    assert!(
        one["scans"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("evil")),
        "{one}"
    );
    // Several looks later (one a second), the missing folder said once.
    std::thread::sleep(Duration::from_secs(3));
    let log = s.log();
    let said: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("cannot read a watched folder"))
        .collect();
    assert_eq!(said.len(), 1, "{log}");
    assert!(said[0].contains("No such file or directory"), "{log}");
}

/// `vigia serve --watch NAME` started in `cwd`, a relative folder name.
fn serve_in(home: &Home, cwd: &Path, watch: &str) -> Server {
    let port = vigia_test_support::free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_vigia"))
        .current_dir(cwd)
        .args(home.args())
        .args(["serve", "--poll-every", "1", "--mirror"])
        .arg(vigia_test_support::vulndata())
        .args(["--listen", &format!("127.0.0.1:{port}"), "--watch", watch])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        // Without -v: what an operator reads by default.
        .stderr(
            fs_err::OpenOptions::new()
                .create(true)
                .append(true)
                .open(home.dir.path().join("serve-default.log"))
                .unwrap()
                .into_parts()
                .0,
        )
        .spawn()
        .unwrap();
    serve::attach(home, child, port)
}

/// A folder watched by a relative name is the same folder when the service
/// starts again elsewhere under another name for it: its resources are
/// not registered twice, and one removed closes its findings.
#[test]
fn a_watched_folder_is_one_whatever_name_it_is_given() {
    let home = Home::sqlite();
    let viewer = token(&home, "viewer");
    let top = tempfile::tempdir().unwrap();
    let watch = top.path().join("targets");
    fs_err::create_dir_all(top.path().join("elsewhere")).unwrap();
    fs_err::create_dir_all(&watch).unwrap();
    fs_err::copy(
        vigia_test_support::shared_dir().join("targets/fn-node.zip"),
        watch.join("fn-node.zip"),
    )
    .unwrap();
    // A link to nothing is no resource: it would stay pending for ever.
    std::os::unix::fs::symlink(top.path().join("gone.tar"), watch.join("dangling.tar")).unwrap();
    let s = serve_in(&home, top.path(), "targets");
    wait_coverage(&s, &viewer, 1, "SUCCESSFUL");
    let open = list(&s, &viewer, &eq("findingStatus", "ACTIVE"));
    assert!(!open.is_empty());
    drop(s);
    let s = serve_in(&home, &top.path().join("elsewhere"), "../targets");
    std::thread::sleep(Duration::from_secs(3));
    wait_coverage(&s, &viewer, 1, "SUCCESSFUL");
    fs_err::remove_file(watch.join("fn-node.zip")).unwrap();
    wait_coverage(&s, &viewer, 1, "RESOURCE_TERMINATED");
    assert!(list(&s, &viewer, &eq("findingStatus", "ACTIVE")).is_empty());
    assert_eq!(
        arns(&list(&s, &viewer, &eq("findingStatus", "CLOSED"))),
        arns(&open)
    );
    // The service's log says, without -v, what it serves, each update, and
    // each scan and removal by its source, with what the scan found.
    let log = fs_err::read_to_string(home.dir.path().join("serve-default.log")).unwrap();
    let source = watch.join("fn-node.zip").display().to_string();
    assert!(log.contains("serving addr=127.0.0.1:"), "{log}");
    assert!(log.contains("advisories updated generation=1"), "{log}");
    assert!(
        log.lines().any(|l| l.contains("scanned")
            && l.contains(&source)
            && l.contains("status=\"SUCCESSFUL\"")
            && l.contains(&format!("opened={}", open.len()))),
        "{log}"
    );
    assert!(
        log.lines().any(|l| l.contains("terminated")
            && l.contains(&source)
            && l.contains(&format!("closed={}", open.len()))),
        "{log}"
    );
}

/// `GET /v1/resource` of one resource ID, encoded for a query string.
fn resource_path(id: &str) -> String {
    format!(
        "/v1/resource?id={}",
        url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
    )
}
