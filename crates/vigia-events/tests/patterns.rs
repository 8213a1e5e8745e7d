//! Event patterns against the examples published with AWS's Event Ruler and
//! the EventBridge documentation (`tests/data/patterns.json`: pattern,
//! event, and whether the documents say it matches), and patterns that
//! must be refused when a target is created.

use serde_json::{Value, json};
use vigia_events::EventPattern;

#[test]
fn published_examples_match_as_documented() {
    let text = fs_err::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/patterns.json"
    ))
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for case in cases {
        let pattern = EventPattern::parse(&case["pattern"])
            .unwrap_or_else(|e| panic!("{}: {e}", case["name"]));
        let expected = case["matches"].as_bool().unwrap();
        if pattern.matches(&case["event"]) != expected {
            wrong.push(format!("{} (expected {expected})", case["name"]));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn malformed_patterns_are_refused_naming_where() {
    let refused = [
        (json!("detail"), "$"),
        (json!({}), "$"),
        (json!({"detail": {"severity": "HIGH"}}), "detail.severity"),
        (json!({"detail": {"severity": []}}), "detail.severity"),
        (
            json!({"detail": {"severity": [{"contains": "H"}]}}),
            "detail.severity[0]",
        ),
        (
            json!({"detail": {"score": [{"numeric": [">", 1, ">", 2]}]}}),
            "detail.score[0].numeric",
        ),
        (
            json!({"detail": {"score": [{"numeric": ["=", 1, "<", 2]}]}}),
            "detail.score[0].numeric",
        ),
        (
            json!({"detail": {"score": [{"numeric": [">", 6e9]}]}}),
            "detail.score[0].numeric",
        ),
        (
            json!({"x": [{"anything-but": ["a", 1]}]}),
            "x[0].anything-but",
        ),
        (json!({"x": [{"wildcard": "a**b"}]}), "x[0].wildcard"),
        (json!({"x": [{"wildcard": "a\\b"}]}), "x[0].wildcard"),
        (json!({"x": [{"cidr": "10.0.0.0/33"}]}), "x[0].cidr"),
        (json!({"x": [{"exists": "yes"}]}), "x[0].exists"),
        (json!({"x": [{"prefix": "a", "suffix": "b"}]}), "x[0]"),
        (json!({"$or": [{"x": ["a"]}]}), "$or"),
        (json!({"x": [["a"]]}), "x[0]"),
    ];
    for (pattern, path) in refused {
        let e = EventPattern::parse(&pattern).expect_err(&pattern.to_string());
        assert_eq!(e.path, path, "{pattern}: {e}");
    }
    assert!(EventPattern::from_json("{").is_err());
}

#[test]
fn wildcards_anchor_both_ends_and_escape_stars() {
    let p = |w: &str| EventPattern::parse(&json!({"x": [{"wildcard": w}]})).unwrap();
    let on = |s: &str| json!({ "x": s });
    assert!(p("*.png").matches(&on("a.png")));
    assert!(!p("*.png").matches(&on("a.png.txt")));
    assert!(p("a*b*c").matches(&on("abc")));
    assert!(p("a*b*c").matches(&on("a-b-b-c")));
    assert!(!p("a*a").matches(&on("a")));
    assert!(p("a\\*b").matches(&on("a*b")));
    assert!(!p("a\\*b").matches(&on("axb")));
    assert!(p("exact").matches(&on("exact")));
    assert!(!p("exact").matches(&on("exactly")));
}

#[test]
fn cidr_masks_ipv4_and_ipv6() {
    let p = |c: &str| EventPattern::parse(&json!({"ip": [{"cidr": c}]})).unwrap();
    let on = |s: &str| json!({ "ip": s });
    assert!(p("192.168.0.0/16").matches(&on("192.168.255.1")));
    assert!(!p("192.168.0.0/16").matches(&on("192.169.0.1")));
    assert!(p("0.0.0.0/0").matches(&on("8.8.8.8")));
    assert!(p("2001:db8::/32").matches(&on("2001:db8:1::1")));
    assert!(!p("2001:db8::/32").matches(&on("2001:db9::1")));
    assert!(!p("10.0.0.0/8").matches(&on("not an address")));
    assert!(!p("10.0.0.0/8").matches(&on("::ffff:10.0.0.1")));
}

/// Under an array of objects, Event Ruler holds a field present when any
/// element holds it (its name state is shared by the array's elements), so
/// `exists: false` matches only when no element holds the field.
#[test]
fn exists_false_under_an_array_needs_every_element_without_the_field() {
    let p = EventPattern::parse(&json!({"detail": {"vulnerablePackages": {
        "fixedInVersion": [{"exists": false}]
    }}}))
    .unwrap();
    let packages = |list: Value| json!({"detail": {"vulnerablePackages": list}});
    assert!(!p.matches(&packages(
        json!([{"name": "a", "fixedInVersion": "1.1"}, {"name": "b"}])
    )));
    assert!(p.matches(&packages(json!([{"name": "a"}, {"name": "b"}]))));
    assert!(p.matches(&packages(json!([]))));
    assert!(!p.matches(&packages(json!({"name": "a", "fixedInVersion": "1.1"}))));
    assert!(p.matches(&packages(json!({"name": "a"}))));
    // Other operators still match within one element.
    let named = EventPattern::parse(&json!({"detail": {"vulnerablePackages": {
        "name": ["b"], "fixedInVersion": [{"exists": true}]
    }}}))
    .unwrap();
    assert!(!named.matches(&packages(
        json!([{"name": "a", "fixedInVersion": "1.1"}, {"name": "b"}])
    )));
    assert!(named.matches(&packages(
        json!([{"name": "a"}, {"name": "b", "fixedInVersion": "2"}])
    )));
}
