//! Kubernetes' validating admission webhook: the images of an
//! `AdmissionReview` (`admission.k8s.io/v1`) and the answer to it.
//!
//! A Pod's containers, init containers and ephemeral containers are read,
//! and so are those of the pod template of a Deployment, ReplicaSet,
//! StatefulSet, DaemonSet, Job, ReplicationController and CronJob. Any
//! other object, and a deletion, is allowed without a look.

use serde_json::{Value, json};

use super::Decision;

/// Where each kind keeps its pod spec.
fn pod_spec<'a>(kind: &str, object: &'a Value) -> Option<&'a Value> {
    match kind {
        "Pod" => object.get("spec"),
        "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "Job"
        | "ReplicationController" => object.pointer("/spec/template/spec"),
        "CronJob" => object.pointer("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// The review's UID and the images its object would run (each once, in the
/// order of the spec); `None` for the images when there is nothing to
/// decide.
///
/// # Errors
/// When the body is not an `AdmissionReview` with a request and its UID.
pub fn images(review: &Value) -> Result<(String, Option<Vec<String>>), String> {
    if review.get("kind").and_then(Value::as_str) != Some("AdmissionReview") {
        return Err("the body is not an AdmissionReview".to_owned());
    }
    let request = review
        .get("request")
        .ok_or("the AdmissionReview has no request")?;
    let uid = request
        .get("uid")
        .and_then(Value::as_str)
        .ok_or("the AdmissionReview's request has no uid")?
        .to_owned();
    let operation = request
        .get("operation")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !matches!(operation, "CREATE" | "UPDATE") {
        return Ok((uid, None));
    }
    // The kind the API server names (an object may leave its own out).
    let kind = request
        .pointer("/kind/kind")
        .and_then(Value::as_str)
        .or_else(|| request.pointer("/object/kind").and_then(Value::as_str))
        .unwrap_or("");
    let Some(object) = request.get("object") else {
        return Ok((uid, None));
    };
    // An object being deleted only loses finalizers.
    if object.pointer("/metadata/deletionTimestamp").is_some() {
        return Ok((uid, None));
    }
    let Some(spec) = pod_spec(kind, object) else {
        return Ok((uid, None));
    };
    let mut out = images_of(spec);
    // An update is decided on the images it brings: a label change is not
    // refused for an image already running.
    if operation == "UPDATE" {
        let before = request
            .get("oldObject")
            .and_then(|o| pod_spec(kind, o))
            .map(images_of)
            .unwrap_or_default();
        out.retain(|i| !before.contains(i));
    }
    Ok((uid, Some(out)))
}

fn images_of(spec: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(image) = c.get("image").and_then(Value::as_str)
                && !out.iter().any(|i| i == image)
            {
                out.push(image.to_owned());
            }
        }
    }
    out
}

/// The `AdmissionReview` answering `uid`: allowed when every image is, else
/// refused (403) with each refused image and why. Images let through
/// unscanned are named in `warnings`, which `kubectl` prints.
#[must_use]
pub fn response(uid: &str, decisions: &[Decision]) -> Value {
    let refused: Vec<String> = decisions
        .iter()
        .filter(|d| !d.allowed)
        .map(|d| format!("{}: {}", d.image, d.reason))
        .collect();
    let warnings: Vec<String> = decisions
        .iter()
        .filter(|d| d.allowed && d.unscanned)
        .map(|d| format!("Vigia: {}: {}", d.image, d.reason))
        .collect();
    let mut response = json!({ "uid": uid, "allowed": refused.is_empty() });
    if !refused.is_empty() {
        // The API server shows the message to whoever applied the object.
        let mut message = format!(
            "Vigia refused {} image(s): {}",
            refused.len(),
            refused.join(" | ")
        );
        if message.chars().count() > 4_000 {
            message = message.chars().take(3_990).collect::<String>() + " …";
        }
        response["status"] = json!({ "code": 403, "reason": "Forbidden", "message": message });
    }
    if !warnings.is_empty() {
        response["warnings"] = json!(warnings);
    }
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": response,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(object: &Value) -> Value {
        json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
                "kind": {"group": "", "version": "v1", "kind": object["kind"]},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": "default",
                "operation": "CREATE",
                "userInfo": {"username": "admin", "uid": "014fbff9a07c", "groups": ["system:authenticated"]},
                "object": object,
                "oldObject": null,
                "dryRun": false,
                "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
            }
        })
    }

    #[test]
    fn images_of_pods_and_pod_templates() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {
            "initContainers": [{"name": "init", "image": "busybox:1.36"}],
            "containers": [{"name": "app", "image": "registry.example/app@sha256:aa"}, {"name": "side", "image": "busybox:1.36"}]}});
        let (uid, found) = images(&review(&pod)).unwrap();
        assert_eq!(uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
        assert_eq!(
            found.unwrap(),
            ["busybox:1.36", "registry.example/app@sha256:aa"]
        );
        let template = json!({"spec": {"containers": [{"name": "a", "image": "app:2"}]}});
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 2, "template": template}});
        assert_eq!(images(&review(&deployment)).unwrap().1.unwrap(), ["app:2"]);
        let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}});
        assert_eq!(images(&review(&cron)).unwrap().1.unwrap(), ["app:2"]);
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {}});
        assert_eq!(images(&review(&config)).unwrap().1, None);
        assert!(images(&json!({"kind": "Pod"})).is_err());
        // The API server's kind counts, not the object's.
        let mut bare = review(&pod);
        bare["request"]["object"]
            .as_object_mut()
            .unwrap()
            .remove("kind");
        assert_eq!(images(&bare).unwrap().1.unwrap().len(), 2);
    }

    #[test]
    fn updates_are_decided_on_the_images_they_bring() {
        let with = |images: &[&str]| {
            let containers: Vec<Value> = images
                .iter()
                .map(|i| json!({"name": "c", "image": i}))
                .collect();
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                   "spec": {"template": {"spec": {"containers": containers}}}})
        };
        let mut r = review(&with(&["app@sha256:1", "side:2"]));
        r["request"]["operation"] = json!("UPDATE");
        r["request"]["oldObject"] = with(&["app@sha256:1"]);
        assert_eq!(images(&r).unwrap().1.unwrap(), ["side:2"]);
        r["request"]["oldObject"] = with(&["app@sha256:1", "side:2"]);
        assert!(
            images(&r).unwrap().1.unwrap().is_empty(),
            "a label change brings no image"
        );
        let mut deleting = review(&with(&["new:1"]));
        deleting["request"]["object"]["metadata"]["deletionTimestamp"] =
            json!("2026-12-06T00:00:00Z");
        assert_eq!(images(&deleting).unwrap().1, None);
        let mut delete = review(&with(&["new:1"]));
        delete["request"]["operation"] = json!("DELETE");
        assert_eq!(images(&delete).unwrap().1, None);
    }

    #[test]
    fn answers_name_what_was_refused() {
        let d = |image: &str, allowed: bool, reason: &str| Decision {
            image: image.into(),
            digest: None,
            allowed,
            reason: reason.into(),
            resource_id: None,
            violations: vec![],
            unscanned: allowed,
        };
        let out = response(
            "u1",
            &[
                d("a", true, "not scanned"),
                d("b", false, "2 findings break the policy: CVE-1"),
            ],
        );
        assert_eq!(out["response"]["uid"], "u1");
        assert_eq!(out["response"]["allowed"], false);
        assert_eq!(out["response"]["status"]["code"], 403);
        assert!(
            out["response"]["status"]["message"]
                .as_str()
                .unwrap()
                .contains("b: 2 findings break the policy: CVE-1")
        );
        assert_eq!(out["response"]["warnings"][0], "Vigia: a: not scanned");
        let ok = response("u2", &[]);
        assert_eq!(ok["response"]["allowed"], true);
        assert!(ok["response"].get("status").is_none());
    }
}
