//! AWS Security Finding Format (Security Hub).

use serde_json::{Value, json};
use vigia_scan::{Finding, FindingStatus, Report, Severity};

use super::kev;

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Where findings go in Security Hub.
#[derive(Debug, Clone)]
pub struct AsffTarget {
    /// AWS account ID.
    pub account: String,
    /// AWS region.
    pub region: String,
}

/// AWS Security Finding Format, as `BatchImportFindings` takes it
/// (`{"Findings": [...]}`; Security Hub accepts up to 100 per call).
#[must_use]
pub fn asff(report: &Report, target: &AsffTarget) -> Value {
    let findings: Vec<Value> = report
        .findings
        .iter()
        .map(|f| asff_finding(f, target))
        .collect();
    json!({"Findings": findings})
}

/// One finding in AWS Security Finding Format. A closed finding is
/// `RecordState` `ARCHIVED` with its workflow `RESOLVED`, as Security Hub
/// expects a finding its provider no longer observes.
#[must_use]
pub fn asff_finding(f: &Finding, target: &AsffTarget) -> Value {
    let product_arn = format!(
        "arn:aws:securityhub:{}:{}:product/{}/default",
        target.region, target.account, target.account
    );
    let res = &f.resources[0];
    let (rtype, details) = if let Some(img) = &res.details.aws_ecr_container_image {
        let mut d = json!({
            "RepositoryName": img.repository_name,
            "ImageDigest": img.image_hash,
        });
        if !img.image_tags.is_empty() {
            d["ImageTags"] = json!(img.image_tags);
        }
        if let Some(a) = &img.architecture {
            d["Architecture"] = json!(a);
        }
        ("AwsEcrContainerImage", json!({"AwsEcrContainerImage": d}))
    } else if let Some(func) = &res.details.aws_lambda_function {
        // As Inspector sends a function's findings to Security Hub.
        let mut d = json!({
            "FunctionName": truncate(&func.function_name, 1024),
            "Runtime": func.runtime,
            "CodeSha256": func.code_sha256,
            "Version": func.version,
        });
        if func.execution_role_arn.starts_with("arn:") {
            d["Role"] = json!(func.execution_role_arn);
        }
        if let Some(t) = &func.package_type {
            d["PackageType"] = json!(t);
        }
        if !func.layers.is_empty() {
            d["Layers"] = json!(
                func.layers
                    .iter()
                    .map(|l| json!({"Arn": l}))
                    .collect::<Vec<_>>()
            );
        }
        if !func.architectures.is_empty() {
            d["Architectures"] = json!(func.architectures);
        }
        ("AwsLambdaFunction", json!({"AwsLambdaFunction": d}))
    } else if res.details.aws_ec2_instance.is_some() {
        // A host: Security Hub's instance type, whose details (VPC, image,
        // addresses) a host scanned from its files does not know.
        ("AwsEc2Instance", json!({"AwsEc2Instance": {}}))
    } else {
        let kind = serde_json::to_value(res.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        (
            "Other",
            json!({"Other": {"vigiaResourceType": kind, "vigiaResourceId": truncate(&res.id, 1024)}}),
        )
    };
    let label = match f.severity {
        Severity::Untriaged => "INFORMATIONAL",
        s => s.as_str(),
    };
    let types = if f.code_vulnerability_details.is_some() {
        "Sensitive Data Identifications/Passwords"
    } else if f.network_reachability_details.is_some() {
        "Software and Configuration Checks/AWS Security Best Practices/Network Reachability"
    } else {
        "Software and Configuration Checks/Vulnerabilities/CVE"
    };
    let mut out = json!({
        "SchemaVersion": "2018-10-08",
        "Id": f.finding_arn,
        "ProductArn": product_arn,
        "ProductName": "Vigia",
        "CompanyName": "Vigia",
        "Region": target.region,
        "GeneratorId": format!("vigia/{}", f.rule_id()),
        "AwsAccountId": target.account,
        "Types": [types],
        "FirstObservedAt": f.first_observed_at,
        "LastObservedAt": f.last_observed_at,
        "CreatedAt": f.first_observed_at,
        "UpdatedAt": f.updated_at,
        "Severity": {"Label": label, "Original": f.severity.as_str()},
        "Title": truncate(&f.title, 256),
        "Description": truncate(&f.description, 1024),
        "Remediation": {"Recommendation": {"Text": truncate(&f.remediation.recommendation.text, 512)}},
        "Resources": [{
            "Type": rtype,
            "Id": truncate(&res.id, 512),
            "Partition": "aws",
            "Region": target.region,
            "Details": details,
        }],
        "RecordState": if f.status == FindingStatus::Closed { "ARCHIVED" } else { "ACTIVE" },
        "Workflow": {"Status": match f.status {
            FindingStatus::Suppressed => "SUPPRESSED",
            FindingStatus::Closed => "RESOLVED",
            FindingStatus::Active => "NEW",
        }},
        "ProductFields": {"vigia/findingArn": f.finding_arn},
    });
    if let Some(u) = &f.remediation.recommendation.url {
        out["Remediation"]["Recommendation"]["Url"] = json!(u);
    }
    if let Some(d) = &f.package_vulnerability_details {
        let packages: Vec<Value> = d
            .vulnerable_packages
            .iter()
            .map(|p| {
                let mut v = json!({"Name": p.name, "Version": p.version});
                if let Some(e) = p.epoch {
                    v["Epoch"] = json!(e.to_string());
                }
                if let Some(r) = &p.release {
                    v["Release"] = json!(r);
                }
                if let Some(a) = &p.arch {
                    v["Architecture"] = json!(a);
                }
                if let Some(m) = &p.package_manager {
                    v["PackageManager"] = json!(m);
                }
                if let Some(fp) = &p.file_path {
                    v["FilePath"] = json!(fp);
                }
                if let Some(fx) = &p.fixed_in_version {
                    v["FixedInVersion"] = json!(fx);
                }
                if let Some(r) = &p.remediation {
                    v["Remediation"] = json!(r);
                }
                if let Some(l) = &p.source_layer_hash {
                    v["SourceLayerHash"] = json!(l);
                }
                v
            })
            .collect();
        let mut vendor = json!({"Name": d.source});
        if let Some(u) = &d.source_url {
            vendor["Url"] = json!(u);
        }
        if let Some(s) = &d.vendor_severity {
            vendor["VendorSeverity"] = json!(s);
        }
        if let Some(s) = &d.vendor_created_at {
            vendor["VendorCreatedAt"] = json!(s);
        }
        if let Some(s) = &d.vendor_updated_at {
            vendor["VendorUpdatedAt"] = json!(s);
        }
        let mut v = json!({
            "Id": d.vulnerability_id,
            "VulnerablePackages": packages,
            "Cvss": d.cvss.iter().map(|c| json!({"Version": c.version, "BaseScore": c.base_score, "BaseVector": c.scoring_vector, "Source": c.source})).collect::<Vec<_>>(),
            "Vendor": vendor,
            "FixAvailable": f.fix_available.map_or("NO", |x| match x {
                vigia_scan::FixAvailable::Yes => "YES",
                vigia_scan::FixAvailable::No => "NO",
                vigia_scan::FixAvailable::Partial => "PARTIAL",
            }),
            "ExploitAvailable": if kev(f).is_empty() { "NO" } else { "YES" },
        });
        if !d.related_vulnerabilities.is_empty() {
            v["RelatedVulnerabilities"] = json!(d.related_vulnerabilities);
        }
        if !d.reference_urls.is_empty() {
            v["ReferenceUrls"] = json!(d.reference_urls);
        }
        if let Some(e) = &f.epss {
            v["EpssScore"] = json!(e.score);
        }
        if let Some(k) = f
            .exploitability_details
            .as_ref()
            .and_then(|e| e.last_known_exploit_at.clone())
        {
            v["LastKnownExploitAt"] = json!(k);
        }
        out["Vulnerabilities"] = json!([v]);
    }
    out
}
