//! Tarballs, read in one pass: `docker save` archives (classic or OCI-style)
//! and root filesystem tarballs.

use std::collections::HashMap;
use std::io::{BufReader, Read};
use std::path::Path;

use serde::Deserialize;

use super::layer::{Counting, Intercepted, decompress, read_entries, read_layer, resolve_links};
use super::{ImageInfo, LayerInfo, Options, Want, image_platform, io_err};
use crate::fsview::{FsView, LayerFiles, normalize};
use crate::{Result, invalid};
use oci_spec::image::ImageConfiguration;

/// A tar stream that remembers whether it ran out. The tar reader stops at
/// an archive's end-of-archive marker (a zero block) without reading on,
/// so a stream that ran out between two entries was cut there: a file
/// still being copied into a watched folder, whose entries so far would
/// otherwise read as the whole.
struct Ends<R> {
    inner: R,
    ended: bool,
}

impl<R: Read> Read for Ends<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.ended = true;
        }
        Ok(n)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifest {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// A tarball: a `docker save` archive (classic or OCI-style) or a root filesystem.
/// One pass: nested layer tars are read as they stream by, and the top-level
/// files a root filesystem would hold are kept too; `manifest.json` decides at the
/// end which reading applies.
// Layer entries of `docker save` archives are named `<hex>/layer.tar` or
// `<hex>.tar` in lowercase by every tool that writes them.
#[allow(clippy::case_sensitive_file_extension_comparisons)]
pub(super) fn tarball(
    target: &Path,
    opts: &Options,
    want: &Want<'_>,
) -> Result<(&'static str, FsView, Option<ImageInfo>)> {
    let name = target.display().to_string();
    let file = fs_err::File::open(target).map_err(io_err(&name))?;
    let stream = decompress(
        BufReader::with_capacity(1 << 16, file),
        opts.limits.max_inflated_bytes,
    )
    .map_err(io_err(&name))?;
    let mut layers: HashMap<String, LayerFiles> = HashMap::new();
    let mut small_json: HashMap<String, Vec<u8>> = HashMap::new();
    let mut unreadable: HashMap<String, crate::Error> = HashMap::new();
    // Each layer's (content digest, digest of its bytes as stored when checked).
    let mut digests: HashMap<String, (String, Option<String>)> = HashMap::new();
    // What only a `docker save` archive holds; every other entry is read by the
    // same code as an image layer's.
    let mut docker_parts = |path: &str, size: u64, entry: &mut dyn Read| -> Result<Intercepted> {
        let depth = path.matches('/').count();
        let top_level = depth == 1;
        // Where `docker save` puts layers, and nowhere else: `<hex>.tar` and
        // `<hex>/layer.tar` at the top, `blobs/sha256/<hex>` (OCI-style). A
        // `.tar` deeper down is a file of a root filesystem, not a layer.
        let is_layer_name = (top_level && path.ends_with(".tar"))
            || (depth == 2 && path.ends_with("/layer.tar"))
            || (depth == 3 && path.starts_with("/blobs/sha256/"));
        if (top_level && path.ends_with(".json"))
            || (path.starts_with("/blobs/sha256/") && size < 1 << 20)
        {
            // manifest.json, index.json, configs, OCI manifests: small JSON documents.
            let mut data = Vec::new();
            entry
                .take(64 << 20)
                .read_to_end(&mut data)
                .map_err(|e| invalid(&name, format!("truncated archive at {path}: {e}")))?;
            if data.first() == Some(&b'{') || data.first() == Some(&b'[') {
                small_json.insert(path.to_owned(), data);
                return Ok(Intercepted::Taken);
            }
            return Ok(Intercepted::Read(data));
        }
        if !is_layer_name {
            return Ok(Intercepted::Declined);
        }
        // The layer's bytes as stored are hashed when its name is their digest
        // (`blobs/sha256/<hex>`); its content always, for its diff_id.
        let label = format!("{name}:{path}");
        let mut raw = Counting::new(entry, u64::MAX, "the layer");
        if path.starts_with("/blobs/sha256/") && !opts.unchecked {
            raw = raw.hashed();
        }
        let visitor = opts.visitor.as_ref().map(|v| v.0.as_ref());
        let read = {
            let mut inner = decompress(BufReader::new(&mut raw), opts.limits.max_inflated_bytes)
                .map_err(io_err(&label))?;
            if !opts.unchecked {
                inner = inner.hashed();
            }
            read_layer(
                &mut inner,
                &label,
                Some(path.to_owned()),
                &opts.limits,
                want,
                visitor,
            )
            .and_then(|l| Ok((l, inner.digest().map_err(io_err(&label))?)))
        };
        let read = read.and_then(|((mut l, links), content)| {
            let stored = raw.digest().map_err(io_err(&label))?;
            digests.insert(path.to_owned(), (content.unwrap_or_default(), stored));
            // A layer inside the archive cannot be read a second time.
            for (link, target) in links {
                l.warnings.push(crate::Warning::unread(
                    format!("{label}:{link}"),
                    format!(
                        "hard link to {target}, which no extractor kept as this layer streamed by; skipped"
                    ),
                ));
            }
            Ok(l)
        });
        match read {
            Ok(l) => {
                layers.insert(path.to_owned(), l);
            }
            // Whether this was a layer at all is known only at the end, from
            // manifest.json: an unreadable one fails the image then, and is
            // nothing to a root filesystem.
            Err(e) => {
                unreadable.insert(path.to_owned(), e);
            }
        }
        Ok(Intercepted::Taken)
    };
    let visitor = opts.visitor.as_ref().map(|v| v.0.as_ref());
    let mut stream = Ends {
        inner: stream,
        ended: false,
    };
    let (mut rootfs, links) = read_entries(
        &mut stream,
        &name,
        None,
        &opts.limits,
        want,
        visitor,
        Some(&mut docker_parts),
    )?;
    if stream.ended {
        return Err(invalid(
            &name,
            "truncated: the archive ends without its end-of-archive marker (cut short, or still being written)",
        ));
    }
    if let Some(m) = small_json.get("/manifest.json") {
        let manifests: Vec<DockerManifest> = serde_json::from_slice(m)
            .map_err(|e| invalid(format!("{name}:manifest.json"), e.to_string()))?;
        let m = manifests
            .into_iter()
            .next()
            .ok_or_else(|| invalid(format!("{name}:manifest.json"), "lists no image"))?;
        let config_path = normalize(&m.config).unwrap_or_default();
        let config_digest = digest_in_name(&config_path);
        let config_bytes = small_json
            .get(&config_path)
            .ok_or_else(|| invalid(&name, format!("the image config {} is missing", m.config)))?;
        if let Some(expected) = config_digest.as_ref().filter(|_| !opts.unchecked) {
            use sha2::Digest as _;
            let got = format!("sha256:{}", hex::encode(sha2::Sha256::digest(config_bytes)));
            if &got != expected {
                return Err(invalid(
                    format!("{name}:{}", m.config),
                    format!("digest mismatch: its name says {expected}, its content is {got}"),
                ));
            }
        }
        let config: ImageConfiguration = serde_json::from_slice(config_bytes)
            .map_err(|e| invalid(format!("{name}:{}", m.config), e.to_string()))?;
        let platform = image_platform(&name, &config, opts, false)?;
        let diff_ids = config.rootfs().diff_ids();
        if diff_ids.len() != m.layers.len() {
            return Err(invalid(
                &name,
                "manifest.json and the image config disagree on the number of layers",
            ));
        }
        if let Some(v) = &opts.visitor {
            v.0.image_config(&super::ConfigLines::of(&config));
        }
        let mut view = FsView::default();
        let mut info_layers = Vec::new();
        for (lp, diff_id) in m.layers.iter().zip(diff_ids) {
            let key = normalize(lp).unwrap_or_default();
            if let Some(e) = unreadable.remove(&key) {
                return Err(e);
            }
            let mut l = layers.remove(&key).ok_or_else(|| {
                invalid(
                    &name,
                    format!("manifest.json names layer {lp}, which the archive does not hold"),
                )
            })?;
            // A layer is trusted only as what it is: its content must be the
            // diff_id the config names, and a blob named by its digest must be
            // that blob.
            let (content, stored) = digests.remove(&key).unwrap_or_default();
            if !opts.unchecked && &content != diff_id {
                return Err(invalid(
                    format!("{name}:{lp}"),
                    format!(
                        "diff_id mismatch: the image config says {diff_id}, the layer's content is {content}"
                    ),
                ));
            }
            if let (Some(stored), Some(expected)) = (stored, digest_in_name(&key))
                && stored != expected
            {
                return Err(invalid(
                    format!("{name}:{lp}"),
                    format!("digest mismatch: its name says {expected}, the blob is {stored}"),
                ));
            }
            l.layer = Some(diff_id.clone());
            if let Some(v) = &opts.visitor {
                v.0.layer(info_layers.len(), &key, diff_id);
            }
            view.apply(l);
            info_layers.push(LayerInfo {
                diff_id: diff_id.clone(),
                digest: None,
            });
        }
        let info = ImageInfo {
            manifest_digest: None,
            config_digest,
            tags: m.repo_tags.unwrap_or_default(),
            platform: Some(platform),
            layers: info_layers,
        };
        view.warnings.extend(rootfs.warnings);
        return Ok(("image", view, Some(info)));
    }
    if !links.is_empty() {
        // Rare: read the tarball a second time for the hard links' targets.
        let again = fs_err::File::open(target).map_err(io_err(&name))?;
        let stream = decompress(
            BufReader::with_capacity(1 << 16, again),
            opts.limits.max_inflated_bytes,
        )
        .map_err(io_err(&name))?;
        resolve_links(stream, &name, &links, &opts.limits, &mut rootfs)?;
    }
    // A root filesystem: the top-level JSON documents held back in case this
    // was an image are its files (a `/package-lock.json` at the root).
    for (path, data) in small_json {
        if !top_level_file(&path) {
            continue;
        }
        if let Some(v) = &opts.visitor {
            v.0.seen(None, &path);
            if v.0.wants(&path, data.len() as u64) {
                v.0.file(None, &path, &mut data.as_slice());
            }
        }
        if want(&path) && data.len() as u64 <= opts.limits.max_file_bytes {
            rootfs.files.push((path, data));
        }
    }
    let mut view = FsView::default();
    view.apply(rootfs);
    Ok(("rootfs", view, None))
}

/// The SHA-256 digest a `docker save` file's name gives: `blobs/sha256/<hex>`
/// or `<hex>.json` at the top.
fn digest_in_name(path: &str) -> Option<String> {
    let hex = path
        .strip_prefix("/blobs/sha256/")
        .or_else(|| path.strip_prefix('/').and_then(|f| f.strip_suffix(".json")))?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| format!("sha256:{hex}"))
}

fn top_level_file(path: &str) -> bool {
    path.matches('/').count() == 1
}
