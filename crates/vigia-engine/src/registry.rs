//! Pulling an image from an OCI distribution registry into a temporary OCI
//! layout, which the inventory then reads like any other layout (layer cache
//! and digest checks included). Anonymous, basic and bearer-token auth (the
//! token dance is `oci-client`'s), credentials from the flags, the environment
//! or `~/.docker/config.json`, manifest lists resolved to one platform.

use std::path::Path;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::ImageIndexEntry;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};

use crate::{Error, RegistryFailure, Result};

fn failed(reference: &str, message: impl Into<String>) -> Error {
    refused(reference, RegistryFailure::Other, message)
}

fn refused(reference: &str, failure: RegistryFailure, message: impl Into<String>) -> Error {
    Error::Registry {
        reference: reference.to_owned(),
        message: message.into(),
        failure,
    }
}

/// What kind of failure an `oci-client` error is, by its variant and the
/// registry's status or error codes (never by its text, which holds
/// references and digests).
fn failure_of(e: &oci_client::errors::OciDistributionError) -> RegistryFailure {
    use oci_client::errors::{OciDistributionError as E, OciErrorCode as C};
    match e {
        E::AuthenticationFailure(_) | E::UnauthorizedError { .. } => RegistryFailure::AccessDenied,
        E::ServerError {
            code: 401 | 403, ..
        } => RegistryFailure::AccessDenied,
        E::RegistryError { envelope, .. }
            if envelope
                .errors
                .iter()
                .any(|x| matches!(x.code, C::Unauthorized | C::Denied)) =>
        {
            RegistryFailure::AccessDenied
        }
        E::RegistryError { envelope, .. }
            if envelope
                .errors
                .iter()
                .any(|x| matches!(x.code, C::Unsupported)) =>
        {
            RegistryFailure::UnsupportedMediaType
        }
        E::UnsupportedMediaTypeError(_)
        | E::IncompatibleLayerMediaTypeError(_)
        | E::UnsupportedSchemaVersionError(_)
        | E::ManifestParsingError(_)
        | E::VersionedParsingError(_) => RegistryFailure::UnsupportedMediaType,
        _ => RegistryFailure::Other,
    }
}

/// Image config media types Vigia reads.
const CONFIG_TYPES: &[&str] = &[
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

/// Whether a layer's media type is a filesystem tar Vigia reads (plain,
/// gzip or zstd; Docker's and OCI's names, foreign layers included).
fn readable_layer(media_type: &str) -> bool {
    media_type.starts_with("application/vnd.oci.image.layer.")
        || media_type.starts_with("application/vnd.docker.image.rootfs.")
}

fn io(reference: &str, e: &std::io::Error) -> Error {
    failed(reference, format!("cannot write the pulled image: {e}"))
}

/// Whether `target` names a registry image rather than a local path
/// (`registry.example:5000/repo:tag`, `repo@sha256:…`, and Docker Hub's
/// short names with a tag or digest, `alpine:3.18`, as Docker reads them:
/// `docker.io/library/alpine:3.18`). A bare name (`alpine`) is taken for a
/// path: it is more often a file name mistyped than an image.
#[must_use]
pub fn looks_like_reference(target: &str) -> bool {
    !Path::new(target).exists()
        && !target.starts_with(['.', '/', '~'])
        && target.contains(['/', ':', '@'])
        && Reference::try_from(target).is_ok()
}

/// Credentials for `registry` as Docker itself finds them in
/// `~/.docker/config.json` (or `$DOCKER_CONFIG`): a `credHelpers` entry for the
/// registry, its `auths` entry, then the `credsStore` helper. Helpers are the
/// `docker-credential-NAME` programs Docker runs (`docker_credential` speaks
/// their protocol). No configuration, or none for this registry, is anonymous
/// access; a broken one is said, naming the registry, and is anonymous too.
fn docker_config_auth(registry: &str) -> Option<RegistryAuth> {
    docker_credentials(registry).map(|(u, p)| RegistryAuth::Basic(u, p))
}

/// The user and password Docker's configuration holds for `registry`:
/// a `credHelpers` entry for it, its `auths` entry, then the `credsStore`
/// helper, as Docker looks them up.
#[must_use]
pub fn docker_credentials(registry: &str) -> Option<(String, String)> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    // Docker files Docker Hub's credentials under its v1 index URL.
    let server = if registry == "docker.io" {
        "https://index.docker.io/v1/"
    } else {
        registry
    };
    match docker_credential::get_credential(server) {
        Ok(DockerCredential::UsernamePassword(user, pass)) => Some((user, pass)),
        Ok(DockerCredential::IdentityToken(_)) => {
            tracing::warn!(
                registry,
                "the Docker configuration holds an identity token for this registry, which Vigia cannot exchange yet; give --username with VIGIA_REGISTRY_PASSWORD"
            );
            None
        }
        Err(E::ConfigNotFound | E::ConfigReadError | E::NoCredentialConfigured) => None,
        Err(e) => {
            tracing::warn!(
                registry,
                "cannot read credentials from the Docker configuration: {e}"
            );
            None
        }
    }
}

/// Picks one manifest of a manifest list.
type Resolver = Box<dyn Fn(&[ImageIndexEntry]) -> Option<String> + Send + Sync>;

fn platform_resolver(want: String) -> Resolver {
    Box::new(move |entries| {
        let mut parts = want.split('/');
        let (os, arch, variant) = (parts.next(), parts.next(), parts.next());
        entries
            .iter()
            .find(|e| {
                e.platform.as_ref().is_some_and(|p| {
                    Some(p.os.to_string().as_str()) == os
                        && Some(p.architecture.to_string().as_str()) == arch
                        && (variant.is_none() || p.variant.as_deref() == variant)
                })
            })
            .map(|e| e.digest.clone())
    })
}

/// Pull options.
pub struct Pull<'a> {
    pub reference: &'a str,
    pub insecure: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    pub platform: Option<String>,
    /// Refuse images whose layers add up to more than this many bytes
    /// (compressed, as the manifest gives them), before pulling any.
    pub max_bytes: Option<u64>,
    /// Layers this cache holds for every extractor are not pulled: the
    /// inventory reads them from the cache (only for scans that read no
    /// layer's files otherwise, such as secret scans).
    pub skip_cached: Option<vigia_inventory::cache::LayerCache>,
}

fn write_blob(dir: &Path, data: &[u8]) -> std::io::Result<String> {
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(data)));
    fs_err::write(dir.join("blobs/sha256").join(&digest[7..]), data)?;
    Ok(digest)
}

/// Pulls the image into `dir` as an OCI layout; returns the manifest digest.
pub async fn pull_to_layout(p: &Pull<'_>, dir: &Path) -> Result<String> {
    // reqwest's rustls uses ring; make it the process default for oci-client too.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let reference = Reference::try_from(p.reference)
        .map_err(|e| failed(p.reference, format!("not an image reference: {e}")))?;
    let platform = p.platform.clone().unwrap_or_else(|| {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        format!("linux/{arch}")
    });
    let config = ClientConfig {
        protocol: if p.insecure {
            ClientProtocol::Http
        } else {
            ClientProtocol::Https
        },
        platform_resolver: Some(platform_resolver(platform.clone())),
        ..ClientConfig::default()
    };
    let client = Client::new(config);
    let registry = reference.resolve_registry().to_owned();
    let auth = match (&p.username, &p.password) {
        (Some(u), Some(pw)) => RegistryAuth::Basic(u.clone(), pw.clone()),
        (Some(_), None) => {
            return Err(Error::request(
                "--username needs a password: set VIGIA_REGISTRY_PASSWORD",
            ));
        }
        _ => docker_config_auth(&registry).unwrap_or(RegistryAuth::Anonymous),
    };
    let (manifest, digest, config_json) = client.pull_manifest_and_config(&reference, &auth).await.map_err(|e| {
        let msg = e.to_string();
        match failure_of(&e) {
            RegistryFailure::AccessDenied => refused(p.reference, RegistryFailure::AccessDenied, format!("the registry {registry} refused access ({msg}); give --username with VIGIA_REGISTRY_PASSWORD, or log in with `docker login`")),
            RegistryFailure::UnsupportedMediaType => refused(p.reference, RegistryFailure::UnsupportedMediaType, format!("the registry {registry} serves a manifest Vigia does not read: {msg}")),
            _ => failed(p.reference, format!("cannot pull the manifest from {registry}: {msg}")),
        }
    })?;
    let r = p.reference;
    if !CONFIG_TYPES.contains(&manifest.config.media_type.as_str()) {
        return Err(refused(
            r,
            RegistryFailure::UnsupportedMediaType,
            format!(
                "not a container image: its config is {} (an artifact such as a Helm chart or a signature)",
                manifest.config.media_type
            ),
        ));
    }
    if let Some(layer) = manifest
        .layers
        .iter()
        .find(|l| !readable_layer(&l.media_type))
    {
        return Err(refused(
            r,
            RegistryFailure::UnsupportedMediaType,
            format!(
                "layer {} is {}, which is not a filesystem layer Vigia reads",
                layer.digest, layer.media_type
            ),
        ));
    }
    if let Some(layer) = manifest.layers.iter().find(|l| l.size < 0) {
        return Err(failed(
            r,
            format!(
                "layer {} has a negative size ({})",
                layer.digest, layer.size
            ),
        ));
    }
    let total: u64 = manifest
        .layers
        .iter()
        .map(|l| u64::try_from(l.size).unwrap_or(0))
        .sum();
    if let Some(max) = p.max_bytes
        && total > max
    {
        return Err(refused(
            r,
            RegistryFailure::SizeExceeded,
            format!("its layers add up to {total} bytes, over the limit of {max}"),
        ));
    }
    // The config's diff_ids key the layer cache with the layers' digests.
    let diff_ids: Vec<String> = serde_json::from_str::<serde_json::Value>(&config_json)
        .ok()
        .and_then(|c| {
            c["rootfs"]["diff_ids"].as_array().map(|a| {
                a.iter()
                    .filter_map(|d| d.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default();
    // Names and versions only: the keys' path filters are not `Send`.
    let versions: Vec<(&'static str, u32)> = vigia_inventory::extract::cache_keys()
        .iter()
        .map(|(n, v, _)| (*n, *v))
        .collect();
    fs_err::create_dir_all(dir.join("blobs/sha256")).map_err(|e| io(r, &e))?;
    fs_err::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)
        .map_err(|e| io(r, &e))?;
    let config_digest = write_blob(dir, config_json.as_bytes()).map_err(|e| io(r, &e))?;
    if config_digest != manifest.config.digest {
        return Err(failed(
            r,
            format!(
                "the config blob's digest is {config_digest}, the manifest says {}",
                manifest.config.digest
            ),
        ));
    }
    let mut cached = 0;
    for (i, layer) in manifest.layers.iter().enumerate() {
        if let (Some(cache), Some(diff_id)) = (&p.skip_cached, diff_ids.get(i))
            // Read, not only found: an entry that cannot be read would
            // leave the inventory without the layer's blob.
            && cache.load(&layer.digest, diff_id, &versions).is_some()
        {
            tracing::debug!(layer = %layer.digest, "in the layer cache: not pulled");
            cached += 1;
            continue;
        }
        let hex = layer
            .digest
            .strip_prefix("sha256:")
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| failed(r, format!("unsupported layer digest {}", layer.digest)))?;
        let mut file = tokio::fs::File::create(dir.join("blobs/sha256").join(hex))
            .await
            .map_err(|e| io(r, &e))?;
        // Streamed and counted: a blob larger than its manifest says is
        // cut off there (the manifest's sizes are what the limit checked).
        let declared = u64::try_from(layer.size).unwrap_or(0);
        let mut stream = client
            .pull_blob_stream(&reference, layer)
            .await
            .map_err(|e| failed(r, format!("cannot pull layer {}: {e}", layer.digest)))?;
        let mut written: u64 = 0;
        while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
            let chunk =
                chunk.map_err(|e| failed(r, format!("cannot pull layer {}: {e}", layer.digest)))?;
            written += chunk.len() as u64;
            if written > declared {
                return Err(refused(
                    r,
                    RegistryFailure::SizeExceeded,
                    format!(
                        "layer {} is larger than the {declared} bytes its manifest says",
                        layer.digest
                    ),
                ));
            }
            tokio::io::AsyncWriteExt::write_all(&mut file, &chunk)
                .await
                .map_err(|e| io(r, &e))?;
        }
        tokio::io::AsyncWriteExt::flush(&mut file)
            .await
            .map_err(|e| io(r, &e))?;
    }
    tracing::info!(
        reference = r,
        pulled = manifest.layers.len() - cached,
        cached,
        "pulled an image"
    );
    let manifest_bytes = serde_json::to_vec(&manifest).expect("a manifest serialises");
    let manifest_digest = write_blob(dir, &manifest_bytes).map_err(|e| io(r, &e))?;
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest_bytes.len(),
            "annotations": {"org.opencontainers.image.ref.name": p.reference},
        }],
    });
    fs_err::write(
        dir.join("index.json"),
        serde_json::to_vec(&index).expect("an index serialises"),
    )
    .map_err(|e| io(r, &e))?;
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use oci_client::errors::OciDistributionError as E;

    use super::{RegistryFailure, failure_of, looks_like_reference};

    #[test]
    fn docker_hub_short_names_with_a_tag_or_digest_are_references() {
        let digest = format!("alpine@sha256:{}", "a".repeat(64));
        for reference in [
            "alpine:3.18",
            digest.as_str(),
            "library/alpine",
            "registry.example:5000/app:1",
        ] {
            assert!(looks_like_reference(reference), "{reference}");
        }
        // A bare name, or what is written as a path, is a path.
        for path in [
            "alpine",
            "./alpine:3.18",
            "/no/such:1",
            "~/x:1",
            "Not Valid:1",
        ] {
            assert!(!looks_like_reference(path), "{path}");
        }
    }

    #[test]
    fn failures_are_told_by_kind_not_by_text() {
        // A digest holding "401" in a 404 is not a refusal.
        let missing = E::ServerError {
            code: 404,
            url: "http://r/v2/app/manifests/sha256:4010403aa".into(),
            message: "manifest unknown: denied? no".into(),
        };
        assert_eq!(failure_of(&missing), RegistryFailure::Other);
        for refused in [
            E::ServerError {
                code: 401,
                url: "http://r".into(),
                message: String::new(),
            },
            E::ServerError {
                code: 403,
                url: "http://r".into(),
                message: String::new(),
            },
            E::UnauthorizedError {
                url: "http://r".into(),
            },
            E::AuthenticationFailure("bad token".into()),
        ] {
            assert_eq!(
                failure_of(&refused),
                RegistryFailure::AccessDenied,
                "{refused}"
            );
        }
        assert_eq!(
            failure_of(&E::UnsupportedMediaTypeError(
                "application/vnd.cncf.helm".into()
            )),
            RegistryFailure::UnsupportedMediaType
        );
        assert_eq!(
            failure_of(&E::UnsupportedSchemaVersionError(1)),
            RegistryFailure::UnsupportedMediaType
        );
        let envelope: oci_client::errors::OciEnvelope =
            serde_json::from_str(r#"{"errors": [{"code": "DENIED", "message": "requested access to the resource is denied"}]}"#)
                .unwrap();
        assert_eq!(
            failure_of(&E::RegistryError {
                envelope,
                url: "http://r".into()
            }),
            RegistryFailure::AccessDenied
        );
    }
}
