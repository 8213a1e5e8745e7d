//! The Inspector resource a scan target becomes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vigia_inventory::Inventory;

use crate::{
    CodeRepositoryDetails, ContainerImageDetails, FunctionDetails, HostDetails, Resource,
    ResourceDetails, ResourceType, platform_label,
};

/// Which kind of resource the user asked to scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A container image.
    Image,
    /// A host root filesystem.
    Host,
    /// A function package.
    Function,
    /// A folder of source and lockfiles.
    Dir,
    /// A CycloneDX or SPDX document.
    Sbom,
}

/// Splits an image reference into (registry, repository, tag):
/// `127.0.0.1:5000/team/app:1.0` → (`127.0.0.1:5000`, `team/app`, `1.0`);
/// `vigia/app:latest` → (`None`, `vigia/app`, `latest`). It keeps what was
/// written (a local image is not Docker Hub's, no tag is invented) and never
/// fails: it names a resource, while pulling parses references by the OCI
/// grammar (`oci_client::Reference`). That grammar's regex costs 27 MB and
/// 40 ms to compile (measured on a scan of `alpine-base`), too much for a
/// name.
#[must_use]
pub fn split_reference(reference: &str) -> (Option<String>, String, Option<String>) {
    let reference = reference.split('@').next().unwrap_or(reference);
    let (registry, rest) = match reference.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first.to_owned()), rest)
        }
        _ => (None, reference),
    };
    // A tag follows the last `:` after the last `/`.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[last_slash..].rfind(':') {
        Some(i) => {
            let at = last_slash + i;
            (
                registry,
                rest[..at].to_owned(),
                Some(rest[at + 1..].to_owned()),
            )
        }
        None => (registry, rest.to_owned(), None),
    }
}

/// What [`resource_for`] needs to know beyond the inventory.
#[derive(Debug, Clone, Default)]
pub struct ResourceHints {
    /// The registry reference the image was pulled by.
    pub reference: Option<String>,
    /// A stable local name for the target (its canonical path).
    pub canonical: String,
    /// Base64 SHA-256 of a function zip.
    pub code_sha256: Option<String>,
}

/// The Inspector resource for an inventory scanned as `kind`.
#[must_use]
pub fn resource_for(kind: TargetKind, inv: &Inventory, hints: &ResourceHints) -> Resource {
    let platform = inv.os.as_ref().map(platform_label);
    let file_name = hints
        .canonical
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("/")
        .to_owned();
    let image = inv.image.as_ref();
    let mut details = ResourceDetails::default();
    let (rtype, id) = match (kind, image) {
        (TargetKind::Image, _) | (TargetKind::Sbom, Some(_)) => {
            let named = hints
                .reference
                .clone()
                .or_else(|| image.and_then(|i| i.tags.first().cloned()));
            let (registry, repository, tag) = match &named {
                Some(n) => split_reference(n),
                None => (None, file_name.clone(), None),
            };
            let hash = image
                .and_then(|i| {
                    i.manifest_digest
                        .clone()
                        .or_else(|| i.config_digest.clone())
                })
                .unwrap_or_default();
            let registry = registry.unwrap_or_else(|| "local".into());
            let mut tags: Vec<String> = tag.into_iter().collect();
            if let Some(i) = image {
                for t in &i.tags {
                    if let (_, _, Some(tag)) = split_reference(t)
                        && !tags.contains(&tag)
                    {
                        tags.push(tag);
                    }
                }
            }
            details.aws_ecr_container_image = Some(ContainerImageDetails {
                repository_name: repository.clone(),
                image_tags: tags,
                architecture: image
                    .and_then(|i| i.platform.as_deref())
                    .and_then(|p| p.split('/').nth(1))
                    .map(str::to_owned),
                image_hash: hash.clone(),
                registry: registry.clone(),
                platform: platform.clone(),
                pushed_at: None,
            });
            (
                ResourceType::AwsEcrContainerImage,
                format!("{registry}/{repository}@{hash}"),
            )
        }
        (TargetKind::Host, _) => {
            details.aws_ec2_instance = Some(HostDetails {
                platform: platform.clone(),
            });
            (ResourceType::AwsEc2Instance, hints.canonical.clone())
        }
        (TargetKind::Function, _) => {
            let has = |t: &str| inv.packages.iter().any(|p| p.kind == t);
            let runtime = if has("npm") && !has("pypi") {
                "NODEJS"
            } else {
                "UNSUPPORTED"
            };
            let name = file_name
                .strip_suffix(".zip")
                .unwrap_or(&file_name)
                .to_owned();
            details.aws_lambda_function = Some(FunctionDetails {
                function_name: name,
                runtime: runtime.into(),
                code_sha256: hints
                    .code_sha256
                    .clone()
                    .unwrap_or_else(|| "unknown".into()),
                version: "$LATEST".into(),
                execution_role_arn: "unknown".into(),
                package_type: Some("ZIP".into()),
                layers: Vec::new(),
                architectures: Vec::new(),
                // No manifest here: the runtime is a guess from the code.
                vigia: Some(crate::FunctionExtras {
                    runtime_source: "GUESSED".into(),
                }),
            });
            (ResourceType::AwsLambdaFunction, hints.canonical.clone())
        }
        (TargetKind::Dir | TargetKind::Sbom, _) => {
            details.code_repository = Some(CodeRepositoryDetails {
                project_name: file_name,
            });
            (ResourceType::CodeRepository, hints.canonical.clone())
        }
    };
    Resource {
        kind: rtype,
        id,
        tags: BTreeMap::new(),
        details,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_registry_repository_tag() {
        assert_eq!(
            split_reference("127.0.0.1:5000/team/app:1.0"),
            (
                Some("127.0.0.1:5000".into()),
                "team/app".into(),
                Some("1.0".into())
            )
        );
        assert_eq!(
            split_reference("vigia/debian12-app:latest"),
            (None, "vigia/debian12-app".into(), Some("latest".into()))
        );
        assert_eq!(
            split_reference("localhost/app@sha256:abc"),
            (Some("localhost".into()), "app".into(), None)
        );
        assert_eq!(split_reference("alpine"), (None, "alpine".into(), None));
        // A port is not a tag; a tag after a port is.
        assert_eq!(
            split_reference("registry.example:5000/app"),
            (Some("registry.example:5000".into()), "app".into(), None)
        );
        assert_eq!(
            split_reference("docker.io/library/nginx:1.27@sha256:0123"),
            (
                Some("docker.io".into()),
                "library/nginx".into(),
                Some("1.27".into())
            )
        );
        // Not a reference at all: still a name, never a panic.
        assert_eq!(split_reference(""), (None, String::new(), None));
    }
}
