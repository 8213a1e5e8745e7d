//! OCI image layouts: the index (nested indexes and platform choice), the
//! manifest, the image config and the descriptor types they share.

use std::io::Read;
use std::path::Path;

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest, Platform};

use super::layer::{BlobClaims, merge_layers, read_blob_layer, regular_file, sha256_digest};
use super::{ImageInfo, LayerInfo, Options, Want, image_platform};
use crate::fsview::{FsView, LayerFiles};
use crate::{Error, Result, invalid};

fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("linux/{arch}")
}

/// The file of the blob a descriptor names. `oci-spec` has checked the digest's
/// shape when it parsed the descriptor; Vigia reads only hex-encoded blobs.
fn blob_path(root: &Path, d: &Descriptor) -> Result<std::path::PathBuf> {
    let digest = d.digest();
    let (algo, hex) = (digest.algorithm().as_ref(), digest.digest());
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) || algo.contains(['/', '.']) {
        return Err(invalid(digest.to_string(), "not a digest Vigia reads"));
    }
    Ok(root.join("blobs").join(algo).join(hex))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, limit: u64) -> Result<T> {
    let name = path.display().to_string();
    let data = read_regular(path, limit)?;
    serde_json::from_slice(&data).map_err(|e| invalid(&name, format!("invalid JSON: {e}")))
}

/// A regular file's bytes, at most `limit` of them.
fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let name = path.display().to_string();
    regular_file(path)?;
    let f = fs_err::File::open(path).map_err(|e| Error::Io {
        path: name.clone(),
        source: e,
    })?;
    let mut data = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut data)
        .map_err(|e| Error::Io {
            path: name.clone(),
            source: e,
        })?;
    if data.len() as u64 > limit {
        return Err(invalid(
            &name,
            format!("larger than the {limit}-byte limit"),
        ));
    }
    Ok(data)
}

/// A JSON blob a descriptor names (an index, a manifest, a config), read only
/// when its bytes are the ones the descriptor's digest and size name.
fn read_blob_json<T: serde::de::DeserializeOwned>(
    root: &Path,
    d: &Descriptor,
    limit: u64,
) -> Result<T> {
    use sha2::Digest as _;
    let path = blob_path(root, d)?;
    let name = path.display().to_string();
    let claimed = d.digest().to_string();
    let expected = sha256_digest(&name, &claimed)?;
    let data = read_regular(&path, limit.min(d.size()))?;
    let got = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&data)));
    if got != expected {
        return Err(invalid(
            &name,
            format!("digest mismatch: the descriptor says {expected}, the blob is {got}"),
        ));
    }
    if data.len() as u64 != d.size() {
        return Err(invalid(
            &name,
            format!(
                "the descriptor says {} bytes, the blob has {}",
                d.size(),
                data.len()
            ),
        ));
    }
    serde_json::from_slice(&data).map_err(|e| invalid(&name, format!("invalid JSON: {e}")))
}

fn platform_matches(p: &Platform, want: &str) -> bool {
    let mut parts = want.split('/');
    let (os, arch, variant) = (parts.next(), parts.next(), parts.next());
    Some(p.os().to_string().as_str()) == os
        && Some(p.architecture().to_string().as_str()) == arch
        && (variant.is_none() || p.variant().as_deref() == variant)
}

pub(super) fn oci_layout(
    root: &Path,
    opts: &Options,
    want: &Want<'_>,
    cache: Option<&crate::cache::LayerCache>,
) -> Result<(FsView, ImageInfo)> {
    let mut index: ImageIndex = read_json(&root.join("index.json"), 16 << 20)?;
    let platform = opts.platform.clone().unwrap_or_else(host_platform);
    let mut tags = Vec::new();
    // Follow nested indexes (manifest lists) down to one image manifest.
    // Whether an index entry's platform chose the image (else its config is
    // checked against the platform asked for).
    let mut chosen_by_platform = false;
    let manifest_desc = loop {
        let mut manifests: Vec<Descriptor> = index.manifests().clone();
        if manifests.is_empty() {
            return Err(invalid(
                root.display().to_string(),
                "its index lists no image (no manifests)",
            ));
        }
        let by_platform = |d: &Descriptor| {
            d.platform()
                .as_ref()
                .is_some_and(|p| platform_matches(p, &platform))
        };
        let pick = if manifests.len() == 1 {
            chosen_by_platform |= by_platform(&manifests[0]);
            0
        } else {
            chosen_by_platform = true;
            manifests.iter().position(by_platform).ok_or_else(|| {
                invalid(
                    root.display().to_string(),
                    format!("no image for platform {platform} (use --platform)"),
                )
            })?
        };
        let d = manifests.swap_remove(pick);
        if let Some(r) = d
            .annotations()
            .as_ref()
            .and_then(|a| a.get("org.opencontainers.image.ref.name"))
        {
            tags.push(r.clone());
        }
        // An image index, or Docker's manifest list (a media type oci-spec
        // names only as `Other`).
        let media_type = d.media_type().to_string();
        if media_type.contains("index") || media_type.contains("manifest.list") {
            index = read_blob_json(root, &d, 16 << 20)?;
            continue;
        }
        break d;
    };
    let manifest: ImageManifest = read_blob_json(root, &manifest_desc, 16 << 20)?;
    let config: ImageConfiguration = read_blob_json(root, manifest.config(), 64 << 20)?;
    // An index of one image is read whatever its platform, unless one was
    // asked for: then the image must be that platform, not merely the only one.
    let scanned = image_platform(
        &root.display().to_string(),
        &config,
        opts,
        chosen_by_platform,
    )?;
    let diff_ids = config.rootfs().diff_ids();
    if diff_ids.len() != manifest.layers().len() {
        return Err(invalid(
            root.display().to_string(),
            "the manifest and the config disagree on the number of layers",
        ));
    }
    let limits = opts.limits;
    let visitor = opts.visitor.as_ref().map(|v| v.0.as_ref());
    if let Some(v) = visitor {
        v.image_config(&super::ConfigLines::of(&config));
    }
    let cache = if visitor.is_some() { None } else { cache };
    let mut jobs: Vec<Box<dyn FnOnce() -> Result<LayerFiles> + Send + '_>> = Vec::new();
    let mut layers = Vec::new();
    for (i, (desc, diff_id)) in manifest.layers().iter().zip(diff_ids).enumerate() {
        if let Some(v) = visitor {
            v.layer(i, diff_id, diff_id);
        }
        let path = blob_path(root, desc)?;
        let digest = desc.digest().to_string();
        let size = desc.size();
        let diff = diff_id.clone();
        layers.push(LayerInfo {
            diff_id: diff_id.clone(),
            digest: Some(digest.clone()),
        });
        jobs.push(Box::new(move || {
            let claims = BlobClaims {
                digest: &digest,
                size,
                diff_id: &diff,
                unchecked: opts.unchecked,
            };
            let Some(cache) = cache else {
                return read_blob_layer(&path, &claims, &limits, want, visitor);
            };
            let keys = crate::extract::cache_keys();
            let versions: Vec<(&str, u32)> = keys.iter().map(|(n, v, _)| (*n, *v)).collect();
            // Entries exist only for blobs whose digest and content were
            // checked. A hit stands for that content unless the blob is
            // there at another size than the manifest gives (one stat): a
            // blob cut short is read, and its check says so. An absent blob
            // is the cache's to serve: a registry pull leaves out the layers
            // the cache holds.
            let intact = match std::fs::metadata(&path) {
                Ok(m) => m.len() == size,
                Err(e) => e.kind() == std::io::ErrorKind::NotFound,
            };
            if intact && let Some(hit) = cache.load(&digest, &diff, &versions) {
                tracing::debug!(layer = %diff, "layer cache hit");
                return Ok(hit);
            }
            let layer = read_blob_layer(&path, &claims, &limits, want, None)?;
            if layer.warnings.is_empty() {
                let entries: Vec<crate::cache::Key<'_>> =
                    keys.iter().map(|(n, v, w)| (*n, *v, w.as_ref())).collect();
                cache.store(&digest, &diff, &layer, &entries);
            }
            Ok(layer)
        }));
    }
    let view = merge_layers(jobs)?;
    let info = ImageInfo {
        manifest_digest: Some(manifest_desc.digest().to_string()),
        config_digest: Some(manifest.config().digest().to_string()),
        tags,
        platform: Some(scanned),
        layers,
    };
    Ok((view, info))
}
