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

use crate::{Error, Result};

fn failed(reference: &str, message: impl Into<String>) -> Error {
    Error::Registry {
        reference: reference.to_owned(),
        message: message.into(),
    }
}

fn io(reference: &str, e: &std::io::Error) -> Error {
    failed(reference, format!("cannot write the pulled image: {e}"))
}

/// Whether `target` names a registry image rather than a local path
/// (`registry.example:5000/repo:tag`, `repo@sha256:…`).
#[must_use]
pub fn looks_like_reference(target: &str) -> bool {
    !Path::new(target).exists()
        && !target.starts_with(['.', '/', '~'])
        && target.contains('/')
        && Reference::try_from(target).is_ok()
}

/// Credentials for `registry` as Docker itself finds them in
/// `~/.docker/config.json` (or `$DOCKER_CONFIG`): a `credHelpers` entry for the
/// registry, its `auths` entry, then the `credsStore` helper. Helpers are the
/// `docker-credential-NAME` programs Docker runs (`docker_credential` speaks
/// their protocol). No configuration, or none for this registry, is anonymous
/// access; a broken one is said, naming the registry, and is anonymous too.
fn docker_config_auth(registry: &str) -> Option<RegistryAuth> {
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    // Docker files Docker Hub's credentials under its v1 index URL.
    let server = if registry == "docker.io" {
        "https://index.docker.io/v1/"
    } else {
        registry
    };
    match docker_credential::get_credential(server) {
        Ok(DockerCredential::UsernamePassword(user, pass)) => Some(RegistryAuth::Basic(user, pass)),
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
        if msg.contains("401") || msg.to_ascii_lowercase().contains("unauthorized") || msg.to_ascii_lowercase().contains("auth") {
            failed(p.reference, format!("the registry {registry} refused access ({msg}); give --username with VIGIA_REGISTRY_PASSWORD, or log in with `docker login`"))
        } else {
            failed(p.reference, format!("cannot pull the manifest from {registry}: {msg}"))
        }
    })?;
    let r = p.reference;
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
    for layer in &manifest.layers {
        let hex = layer
            .digest
            .strip_prefix("sha256:")
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| failed(r, format!("unsupported layer digest {}", layer.digest)))?;
        let file = tokio::fs::File::create(dir.join("blobs/sha256").join(hex))
            .await
            .map_err(|e| io(r, &e))?;
        client
            .pull_blob(&reference, layer, file)
            .await
            .map_err(|e| failed(r, format!("cannot pull layer {}: {e}", layer.digest)))?;
    }
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
