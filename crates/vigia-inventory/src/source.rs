//! Reading resources: OCI image layouts, `docker save` archives, root
//! filesystem folders and tarballs, function zips and folders.
//!
//! Everything is streamed once. A layer is read as a tar stream (gzip, zstd or
//! plain, by magic bytes) while its blob digest is computed; only the files an
//! extractor wants are kept. Layers are independent, so they are read on both
//! cores and merged in order afterwards.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fsview::{FsView, LayerFiles, normalize};
use crate::{Error, Limits, Result, Warning, invalid};

/// How to read a target.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `os/arch[/variant]` to pick from a multi-platform image (default: the host's).
    pub platform: Option<String>,
    /// Limits against hostile input.
    pub limits: Limits,
    /// Where to cache what extractors want from each image layer.
    pub cache: Option<crate::cache::LayerCache>,
    /// Receives every regular file as it streams by (secret scanning). Layer
    /// caching is off for a source with a visitor: every layer must be read.
    pub visitor: Option<VisitorHandle>,
}

/// Receives the files of a resource as they stream by, layer by layer, without
/// any of them being extracted or kept: what the secret scanner reads through.
/// Layers are read on several threads at once, so calls come concurrently.
pub trait Visitor: Send + Sync {
    /// Whether to read this file's content (`size` as its header or entry says).
    fn wants(&self, path: &str, size: u64) -> bool;
    /// One file's content. `layer` names the layer (a diff_id, or the layer's
    /// path inside a `docker save` archive until [`Visitor::layer`] maps it);
    /// `None` outside images. Reading errors are the visitor's to report.
    fn file(&self, layer: Option<&str>, path: &str, data: &mut dyn Read);
    /// A regular file or symlink a layer holds (whether read or not), so that
    /// the visitor can tell which files later layers overwrite.
    fn seen(&self, _layer: Option<&str>, _path: &str) {}
    /// A whiteout: `path` is deleted from lower layers.
    fn whiteout(&self, _layer: Option<&str>, _path: &str) {}
    /// An opaque directory: lower layers' content under `dir` is hidden.
    fn opaque(&self, _layer: Option<&str>, _dir: &str) {}
    /// The image's layer order: the layer the other calls named `label` is the
    /// `index`th from the bottom and has this diff_id.
    fn layer(&self, _index: usize, _label: &str, _diff_id: &str) {}
}

/// A shared [`Visitor`] in [`Options`].
#[derive(Clone)]
pub struct VisitorHandle(pub std::sync::Arc<dyn Visitor>);

impl std::fmt::Debug for VisitorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VisitorHandle")
    }
}

/// What an image is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ImageInfo {
    /// The manifest digest, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
    /// The config digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<String>,
    /// Repository tags or reference names.
    pub tags: Vec<String>,
    /// `os/architecture`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Layers, bottom first.
    pub layers: Vec<LayerInfo>,
}

/// One layer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LayerInfo {
    /// The diff_id (digest of the uncompressed tar).
    pub diff_id: String,
    /// The blob digest, for OCI layouts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

fn io_err(path: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Which files to keep.
pub type Want = dyn Fn(&str) -> bool + Sync;

/// The largest executable looked into for embedded build info.
const MAX_BINARY_BYTES: u64 = 512 << 20;

/// Whether an executable at `path` should be read to look for build info.
fn sniffs(path: &str, size: u64, mode: u32, want: &Want) -> bool {
    mode & 0o111 != 0
        && (1024..=MAX_BINARY_BYTES).contains(&size)
        && (want(&format!("{path}{}", crate::extract::gobinary::SUFFIX))
            || want(&format!("{path}{}", crate::extract::auditable::SUFFIX)))
}

/// Keeps only the build-info payload of a binary, under its synthetic path.
fn keep_build_info(path: &str, data: &[u8], files: &mut Vec<(String, Vec<u8>)>) {
    if let Some(payload) = crate::extract::gobinary::sniff(data) {
        files.push((
            format!("{path}{}", crate::extract::gobinary::SUFFIX),
            payload,
        ));
    } else if let Some(payload) = crate::extract::auditable::sniff(data) {
        files.push((
            format!("{path}{}", crate::extract::auditable::SUFFIX),
            payload,
        ));
    }
}

/// Opens a target and reads the files extractors want (through the layer cache, if any).
pub fn open(target: &Path, opts: &Options) -> Result<(&'static str, FsView, Option<ImageInfo>)> {
    open_impl(target, opts, &crate::extract::wants, opts.cache.as_ref())
}

/// Opens a target and keeps the files `want` selects (absolute paths inside it).
pub fn open_with(
    target: &Path,
    opts: &Options,
    want: &Want,
) -> Result<(&'static str, FsView, Option<ImageInfo>)> {
    open_impl(target, opts, want, None)
}

fn open_impl(
    target: &Path,
    opts: &Options,
    want: &Want,
    cache: Option<&crate::cache::LayerCache>,
) -> Result<(&'static str, FsView, Option<ImageInfo>)> {
    let name = target.display().to_string();
    let meta = fs_err::metadata(target).map_err(io_err(&name))?;
    if meta.is_dir() {
        if target.join("oci-layout").is_file() && target.join("index.json").is_file() {
            let (view, info) = oci_layout(target, opts, want, cache)?;
            return Ok(("image", view, Some(info)));
        }
        let mut view = FsView::default();
        let mut layer = LayerFiles::default();
        walk_dir(target, target, opts, want, &mut layer, 0)?;
        view.apply(layer);
        let kind = if target.join("etc").is_dir()
            && (target.join("var/lib/dpkg").is_dir()
                || target.join("lib/apk/db").is_dir()
                || target.join("var/lib/rpm").is_dir()
                || target.join("usr/lib/os-release").exists())
        {
            "rootfs"
        } else {
            "directory"
        };
        return Ok((kind, view, None));
    }
    let mut head = [0u8; 4];
    {
        let mut f = fs_err::File::open(target).map_err(io_err(&name))?;
        let n = f.read(&mut head).map_err(io_err(&name))?;
        if n < 4 {
            return Err(invalid(&name, "too short to be an image, archive or zip"));
        }
    }
    if head == *b"PK\x03\x04" || head == *b"PK\x05\x06" {
        let view = zip_tree(target, opts, want)?;
        return Ok(("function", view, None));
    }
    tarball(target, opts, want)
}

/// SHA-256 of a stream, computed on another thread from copies of the bytes as
/// they are read: the thread that inflates a layer is the one an image scan
/// waits for, and hashing there cost it 8% (the other core was idle).
struct BackgroundSha256 {
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    done: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl BackgroundSha256 {
    fn new() -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(32);
        let done = std::thread::spawn(move || {
            let mut h = Sha256::new();
            for chunk in rx {
                h.update(&chunk);
            }
            h.finalize().to_vec()
        });
        Self {
            tx: Some(tx),
            done: Some(done),
        }
    }

    fn update(&mut self, data: &[u8]) {
        if let Some(tx) = &self.tx {
            // The thread only stops when `finish` closes the channel.
            let _ = tx.send(data.to_vec());
        }
    }

    /// The digest of everything passed to `update`, as lowercase hex.
    fn finish(&mut self) -> String {
        drop(self.tx.take());
        let digest = self
            .done
            .take()
            .map(|t| t.join().expect("the hashing thread does not panic"))
            .unwrap_or_default();
        hex::encode(digest)
    }
}

/// Wraps a reader: counts bytes (to cap inflation) and hashes them.
struct Counting<R> {
    inner: R,
    count: u64,
    limit: u64,
    hasher: Option<BackgroundSha256>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count > self.limit {
            return Err(std::io::Error::other(format!(
                "stream inflates past the {}-byte limit (a decompression bomb?)",
                self.limit
            )));
        }
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// Opens a possibly compressed tar stream by its magic bytes.
fn decompress<'a, R: BufRead + 'a>(mut r: R, limit: u64) -> std::io::Result<Box<dyn Read + 'a>> {
    let magic = r.fill_buf()?.to_vec();
    let inner: Box<dyn Read + 'a> = if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(r))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::with_buffer(r)?)
    } else {
        Box::new(r)
    };
    Ok(Box::new(Counting {
        inner,
        count: 0,
        limit,
        hasher: None,
    }))
}

/// Reads one layer's tar stream, keeping wanted files, symlinks and whiteouts.
fn read_layer<R: Read>(
    stream: R,
    name: &str,
    layer: Option<String>,
    limits: &Limits,
    want: &Want,
    visitor: Option<&dyn Visitor>,
) -> Result<LayerFiles> {
    let label = layer.clone();
    let mut out = LayerFiles {
        layer,
        ..LayerFiles::default()
    };
    let mut archive = tar::Archive::new(stream);
    let entries = archive
        .entries()
        .map_err(|e| invalid(name, format!("not a tar stream: {e}")))?;
    let mut hardlinks: Vec<(String, String)> = Vec::new();
    for entry in entries {
        let mut entry =
            entry.map_err(|e| invalid(name, format!("truncated or corrupt layer: {e}")))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(path) = normalize(&raw) else {
            out.warnings.push(Warning {
                path: format!("{name}:{raw}"),
                line: None,
                message: "path escapes the root (path traversal); skipped".into(),
            });
            continue;
        };
        let (dir, base) = path.rsplit_once('/').unwrap_or(("", &path));
        let dir = if dir.is_empty() { "/" } else { dir };
        if base == ".wh..wh..opq" {
            if let Some(v) = visitor {
                v.opaque(label.as_deref(), dir);
            }
            out.opaque.push(dir.to_owned());
            continue;
        }
        if let Some(hidden) = base.strip_prefix(".wh.") {
            let gone = if dir == "/" {
                format!("/{hidden}")
            } else {
                format!("{dir}/{hidden}")
            };
            if let Some(v) = visitor {
                v.whiteout(label.as_deref(), &gone);
            }
            out.whiteouts.push(gone);
            continue;
        }
        let kind = entry.header().entry_type();
        if let Some(v) = visitor
            && (kind.is_symlink() || kind.is_hard_link() || kind.is_file())
        {
            v.seen(label.as_deref(), &path);
        }
        if kind.is_symlink() {
            if let Some(t) = entry
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
            {
                out.symlinks.push((path, t));
            }
            continue;
        }
        if kind.is_hard_link() {
            if want(&path)
                && let Some(t) = entry
                    .link_name_bytes()
                    .and_then(|b| normalize(&String::from_utf8_lossy(&b)))
            {
                hardlinks.push((path, t));
            }
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            continue;
        }
        let size = entry.header().size().unwrap_or(0);
        if let Some(v) = visitor
            && !want(&path)
            && v.wants(&path, size)
        {
            v.file(label.as_deref(), &path, &mut entry);
            continue;
        }
        if !want(&path) {
            if sniffs(&path, size, entry.header().mode().unwrap_or(0), want) {
                let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
                entry.read_to_end(&mut data).map_err(|e| {
                    invalid(name, format!("truncated or corrupt layer at {path}: {e}"))
                })?;
                keep_build_info(&path, &data, &mut out.files);
            }
            continue;
        }
        if size > limits.max_file_bytes {
            out.warnings.push(Warning {
                path: format!("{name}:{path}"),
                line: None,
                message: format!(
                    "{size} bytes is over the {}-byte file limit; skipped",
                    limits.max_file_bytes
                ),
            });
            continue;
        }
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        entry
            .read_to_end(&mut data)
            .map_err(|e| invalid(name, format!("truncated or corrupt layer at {path}: {e}")))?;
        if let Some(v) = visitor
            && v.wants(&path, size)
        {
            v.file(label.as_deref(), &path, &mut data.as_slice());
        }
        out.files.push((path, data));
    }
    for (path, target) in hardlinks {
        if let Some(data) = out
            .files
            .iter()
            .find(|(p, _)| *p == target)
            .map(|(_, d)| d.clone())
        {
            out.files.push((path, data));
        } else {
            out.warnings.push(Warning {
                path: format!("{name}:{path}"),
                line: None,
                message: format!("hard link to {target}, which this layer does not hold; skipped"),
            });
        }
    }
    Ok(out)
}

/// Reads a blob file as a layer and checks its digest.
fn read_blob_layer(
    path: &Path,
    digest: Option<&str>,
    diff_id: Option<String>,
    limits: &Limits,
    want: &Want,
    visitor: Option<&dyn Visitor>,
) -> Result<LayerFiles> {
    let name = path.display().to_string();
    let file = fs_err::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            invalid(&name, "the manifest names this blob, but it is missing")
        }
        _ => Error::Io {
            path: name.clone(),
            source: e,
        },
    })?;
    let mut hashing = Counting {
        inner: file,
        count: 0,
        limit: u64::MAX,
        hasher: digest.map(|_| BackgroundSha256::new()),
    };
    let result = {
        let stream = decompress(
            BufReader::with_capacity(1 << 16, &mut hashing),
            limits.max_inflated_bytes,
        )
        .map_err(io_err(&name))?;
        read_layer(stream, &name, diff_id, limits, want, visitor)
    };
    if digest.is_some() {
        // Hash what is left after the tar end marker too: the digest covers the blob.
        std::io::copy(&mut hashing, &mut std::io::sink()).map_err(io_err(&name))?;
    }
    let layer = result?;
    if let Some(expected) = digest {
        let got = format!(
            "sha256:{}",
            hashing.hasher.as_mut().expect("hashing").finish()
        );
        if expected.starts_with("sha256:") && got != expected {
            return Err(invalid(
                &name,
                format!("digest mismatch: the manifest says {expected}, the blob is {got}"),
            ));
        }
    }
    Ok(layer)
}

/// Reads layers on both cores, then merges them bottom first.
fn merge_layers<'a>(
    jobs: Vec<Box<dyn FnOnce() -> Result<LayerFiles> + Send + 'a>>,
) -> Result<FsView> {
    let n = jobs.len();
    let mut results: Vec<Option<Result<LayerFiles>>> = (0..n).map(|_| None).collect();
    let workers = std::thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .min(n.max(1));
    let queue = std::sync::Mutex::new(jobs.into_iter().enumerate().collect::<Vec<_>>());
    let done = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let job = queue.lock().expect("queue lock").pop();
                    let Some((i, job)) = job else { break };
                    let r = job();
                    done.lock().expect("results lock").push((i, r));
                }
            });
        }
    });
    for (i, r) in done.into_inner().expect("results lock") {
        results[i] = Some(r);
    }
    let mut view = FsView::default();
    for r in results {
        view.apply(r.expect("every layer ran")?);
    }
    Ok(view)
}

fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("linux/{arch}")
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    platform: Option<Platform>,
    #[serde(default)]
    annotations: HashMap<String, String>,
}

#[derive(Deserialize)]
struct Platform {
    os: String,
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Deserialize)]
struct Index {
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Manifest {
    config: Descriptor,
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    rootfs: RootFs,
}

#[derive(Deserialize)]
struct RootFs {
    diff_ids: Vec<String>,
}

fn blob_path(root: &Path, digest: &str) -> Result<std::path::PathBuf> {
    let (algo, hex) = digest
        .split_once(':')
        .ok_or_else(|| invalid(digest, "not a digest"))?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) || algo.contains(['/', '.']) {
        return Err(invalid(digest, "not a digest"));
    }
    Ok(root.join("blobs").join(algo).join(hex))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, limit: u64) -> Result<T> {
    let name = path.display().to_string();
    let f = fs_err::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => invalid(&name, "missing"),
        _ => Error::Io {
            path: name.clone(),
            source: e,
        },
    })?;
    serde_json::from_reader(f.take(limit)).map_err(|e| invalid(&name, format!("invalid JSON: {e}")))
}

fn platform_matches(p: &Platform, want: &str) -> bool {
    let mut parts = want.split('/');
    let (os, arch, variant) = (parts.next(), parts.next(), parts.next());
    Some(p.os.as_str()) == os
        && Some(p.architecture.as_str()) == arch
        && (variant.is_none() || p.variant.as_deref() == variant)
}

fn oci_layout(
    root: &Path,
    opts: &Options,
    want: &Want,
    cache: Option<&crate::cache::LayerCache>,
) -> Result<(FsView, ImageInfo)> {
    let mut index: Index = read_json(&root.join("index.json"), 16 << 20)?;
    let platform = opts.platform.clone().unwrap_or_else(host_platform);
    let mut tags = Vec::new();
    // Follow nested indexes (manifest lists) down to one image manifest.
    let manifest_desc = loop {
        let pick = if index.manifests.len() == 1 {
            0
        } else {
            index
                .manifests
                .iter()
                .position(|d| {
                    d.platform
                        .as_ref()
                        .is_some_and(|p| platform_matches(p, &platform))
                })
                .ok_or_else(|| {
                    invalid(
                        root.display().to_string(),
                        format!("no image for platform {platform} (use --platform)"),
                    )
                })?
        };
        let d = index.manifests.swap_remove(pick);
        if let Some(r) = d.annotations.get("org.opencontainers.image.ref.name") {
            tags.push(r.clone());
        }
        if d.media_type.contains("index") || d.media_type.contains("manifest.list") {
            index = read_json(&blob_path(root, &d.digest)?, 16 << 20)?;
            continue;
        }
        break d;
    };
    let manifest: Manifest = read_json(&blob_path(root, &manifest_desc.digest)?, 16 << 20)?;
    let config: Config = read_json(&blob_path(root, &manifest.config.digest)?, 64 << 20)?;
    if config.rootfs.diff_ids.len() != manifest.layers.len() {
        return Err(invalid(
            root.display().to_string(),
            "the manifest and the config disagree on the number of layers",
        ));
    }
    let limits = opts.limits;
    let visitor = opts.visitor.as_ref().map(|v| v.0.as_ref());
    let cache = if visitor.is_some() { None } else { cache };
    let mut jobs: Vec<Box<dyn FnOnce() -> Result<LayerFiles> + Send + '_>> = Vec::new();
    let mut layers = Vec::new();
    for (i, (desc, diff_id)) in manifest
        .layers
        .iter()
        .zip(&config.rootfs.diff_ids)
        .enumerate()
    {
        if let Some(v) = visitor {
            v.layer(i, diff_id, diff_id);
        }
        let path = blob_path(root, &desc.digest)?;
        let digest = desc.digest.clone();
        let diff = diff_id.clone();
        layers.push(LayerInfo {
            diff_id: diff_id.clone(),
            digest: Some(desc.digest.clone()),
        });
        jobs.push(Box::new(move || {
            let Some(cache) = cache else {
                return read_blob_layer(&path, Some(&digest), Some(diff), &limits, want, visitor);
            };
            let keys = crate::extract::cache_keys();
            let versions: Vec<(&str, u32)> = keys.iter().map(|(n, v, _)| (*n, *v)).collect();
            if let Some(hit) = cache.load(&diff, &versions) {
                tracing::debug!(layer = %diff, "layer cache hit");
                return Ok(hit);
            }
            let layer = read_blob_layer(
                &path,
                Some(&digest),
                Some(diff.clone()),
                &limits,
                want,
                None,
            )?;
            if layer.warnings.is_empty() {
                let entries: Vec<crate::cache::Key<'_>> =
                    keys.iter().map(|(n, v, w)| (*n, *v, w.as_ref())).collect();
                cache.store(&diff, &layer, &entries);
            }
            Ok(layer)
        }));
    }
    let view = merge_layers(jobs)?;
    let info = ImageInfo {
        manifest_digest: Some(manifest_desc.digest),
        config_digest: Some(manifest.config.digest),
        tags,
        platform: Some(format!("{}/{}", config.os, config.architecture)),
        layers,
    };
    Ok((view, info))
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
fn tarball(
    target: &Path,
    opts: &Options,
    want: &Want,
) -> Result<(&'static str, FsView, Option<ImageInfo>)> {
    let name = target.display().to_string();
    let file = fs_err::File::open(target).map_err(io_err(&name))?;
    let stream = decompress(
        BufReader::with_capacity(1 << 16, file),
        opts.limits.max_inflated_bytes,
    )
    .map_err(io_err(&name))?;
    let mut archive = tar::Archive::new(stream);
    let mut rootfs = LayerFiles::default();
    let mut layers: HashMap<String, LayerFiles> = HashMap::new();
    let mut small_json: HashMap<String, Vec<u8>> = HashMap::new();
    let mut hardlinks = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| invalid(&name, format!("not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| invalid(&name, format!("truncated or corrupt archive: {e}")))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(path) = normalize(&raw) else {
            rootfs.warnings.push(Warning {
                path: format!("{name}:{raw}"),
                line: None,
                message: "path escapes the root (path traversal); skipped".into(),
            });
            continue;
        };
        let kind = entry.header().entry_type();
        if kind.is_symlink() {
            if let Some(t) = entry
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
            {
                rootfs.symlinks.push((path, t));
            }
            continue;
        }
        if kind.is_hard_link() {
            if want(&path)
                && let Some(t) = entry
                    .link_name_bytes()
                    .and_then(|b| normalize(&String::from_utf8_lossy(&b)))
            {
                hardlinks.push((path, t));
            }
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let size = entry.header().size().unwrap_or(0);
        let top_level = path.matches('/').count() == 1;
        let is_layer_name = path.ends_with(".tar")
            || path.ends_with("/layer.tar")
            || path.starts_with("/blobs/sha256/");
        if (top_level && path.ends_with(".json"))
            || (path.starts_with("/blobs/sha256/") && size < 1 << 20)
        {
            // manifest.json, index.json, configs, OCI manifests: small JSON documents.
            let mut data = Vec::new();
            (&mut entry)
                .take(64 << 20)
                .read_to_end(&mut data)
                .map_err(|e| invalid(&name, format!("truncated archive at {path}: {e}")))?;
            if data.first() == Some(&b'{') || data.first() == Some(&b'[') {
                small_json.insert(path, data);
                continue;
            }
            if want(&path) && size <= opts.limits.max_file_bytes {
                rootfs.files.push((path, data));
            }
            continue;
        }
        if is_layer_name {
            let inner = decompress(BufReader::new(&mut entry), opts.limits.max_inflated_bytes)
                .map_err(io_err(&format!("{name}:{path}")))?;
            let visitor = opts.visitor.as_ref().map(|v| v.0.as_ref());
            match read_layer(
                inner,
                &format!("{name}:{path}"),
                Some(path.clone()),
                &opts.limits,
                want,
                visitor,
            ) {
                Ok(l) => {
                    layers.insert(path, l);
                }
                Err(e) if path.starts_with("/blobs/") => rootfs.warnings.push(Warning {
                    path: path.clone(),
                    line: None,
                    message: e.to_string(),
                }),
                Err(e) => return Err(e),
            }
            continue;
        }
        if let Some(v) = &opts.visitor {
            v.0.seen(None, &path);
            if !want(&path) && v.0.wants(&path, size) {
                v.0.file(None, &path, &mut entry);
                continue;
            }
        }
        if want(&path) {
            if size > opts.limits.max_file_bytes {
                rootfs.warnings.push(Warning {
                    path,
                    line: None,
                    message: "over the file size limit; skipped".into(),
                });
                continue;
            }
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .map_err(|e| invalid(&name, format!("truncated archive at {path}: {e}")))?;
            if let Some(v) = &opts.visitor
                && v.0.wants(&path, size)
            {
                v.0.file(None, &path, &mut data.as_slice());
            }
            rootfs.files.push((path, data));
        } else if sniffs(&path, size, entry.header().mode().unwrap_or(0), want) {
            let mut data = Vec::new();
            entry
                .read_to_end(&mut data)
                .map_err(|e| invalid(&name, format!("truncated archive at {path}: {e}")))?;
            keep_build_info(&path, &data, &mut rootfs.files);
        }
    }
    for (path, target) in hardlinks {
        if let Some(data) = rootfs
            .files
            .iter()
            .find(|(p, _)| *p == target)
            .map(|(_, d)| d.clone())
        {
            rootfs.files.push((path, data));
        }
    }
    if let Some(m) = small_json.get("/manifest.json") {
        let manifests: Vec<DockerManifest> = serde_json::from_slice(m)
            .map_err(|e| invalid(format!("{name}:manifest.json"), e.to_string()))?;
        let m = manifests
            .into_iter()
            .next()
            .ok_or_else(|| invalid(format!("{name}:manifest.json"), "lists no image"))?;
        let config_path = normalize(&m.config).unwrap_or_default();
        let config: Config = small_json
            .get(&config_path)
            .ok_or_else(|| invalid(&name, format!("the image config {} is missing", m.config)))
            .and_then(|c| {
                serde_json::from_slice(c)
                    .map_err(|e| invalid(format!("{name}:{}", m.config), e.to_string()))
            })?;
        if config.rootfs.diff_ids.len() != m.layers.len() {
            return Err(invalid(
                &name,
                "manifest.json and the image config disagree on the number of layers",
            ));
        }
        let mut view = FsView::default();
        let mut info_layers = Vec::new();
        for (lp, diff_id) in m.layers.iter().zip(&config.rootfs.diff_ids) {
            let key = normalize(lp).unwrap_or_default();
            let mut l = layers.remove(&key).ok_or_else(|| {
                invalid(
                    &name,
                    format!("manifest.json names layer {lp}, which the archive does not hold"),
                )
            })?;
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
        let config_digest = config_path
            .strip_prefix("/blobs/sha256/")
            .map(|h| format!("sha256:{h}"))
            .or_else(|| {
                config_path
                    .strip_prefix('/')
                    .and_then(|f| f.strip_suffix(".json"))
                    .filter(|h| h.len() == 64)
                    .map(|h| format!("sha256:{h}"))
            });
        let info = ImageInfo {
            manifest_digest: None,
            config_digest,
            tags: m.repo_tags.unwrap_or_default(),
            platform: Some(format!("{}/{}", config.os, config.architecture)),
            layers: info_layers,
        };
        view.warnings.extend(rootfs.warnings);
        return Ok(("image", view, Some(info)));
    }
    let mut view = FsView::default();
    view.apply(rootfs);
    Ok(("rootfs", view, None))
}

fn zip_tree(target: &Path, opts: &Options, want: &Want) -> Result<FsView> {
    let name = target.display().to_string();
    let file = fs_err::File::open(target).map_err(io_err(&name))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| invalid(&name, format!("not a valid zip archive: {e}")))?;
    let mut layer = LayerFiles::default();
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let mut entry = match zip.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                layer.warnings.push(Warning {
                    path: format!("{name}#{i}"),
                    line: None,
                    message: format!("unreadable entry: {e}"),
                });
                continue;
            }
        };
        let raw = entry
            .name()
            .map(std::borrow::Cow::into_owned)
            .unwrap_or_default();
        if entry.is_dir() {
            continue;
        }
        let Some(path) = normalize(&raw) else {
            layer.warnings.push(Warning {
                path: format!("{name}:{raw}"),
                line: None,
                message: "path escapes the root (path traversal); skipped".into(),
            });
            continue;
        };
        let (size, packed) = (entry.size(), entry.compressed_size().max(1));
        if let Some(v) = &opts.visitor {
            v.0.seen(None, &path);
            if !want(&path) && v.0.wants(&path, size) {
                if size / packed > opts.limits.max_ratio {
                    layer.warnings.push(Warning {
                        path: format!("{name}:{path}"),
                        line: None,
                        message: format!("compressed {}x (a zip bomb?); not read", size / packed),
                    });
                    continue;
                }
                // Never more than the entry declares, whatever it inflates to.
                v.0.file(None, &path, &mut (&mut entry).take(size));
                continue;
            }
        }
        if !want(&path) {
            continue;
        }
        if size > opts.limits.max_file_bytes || size / packed > opts.limits.max_ratio {
            layer.warnings.push(Warning {
                path: format!("{name}:{path}"),
                line: None,
                message: format!(
                    "{size} bytes ({}x compressed) is over the limits; skipped",
                    size / packed
                ),
            });
            continue;
        }
        total += size;
        if total > opts.limits.max_inflated_bytes {
            return Err(invalid(
                &name,
                "inflates past the total size limit (a zip bomb?)",
            ));
        }
        let mut data = Vec::new();
        match (&mut entry)
            .take(opts.limits.max_file_bytes + 1)
            .read_to_end(&mut data)
        {
            Ok(_) if data.len() as u64 <= opts.limits.max_file_bytes => {
                if let Some(v) = &opts.visitor
                    && v.0.wants(&path, size)
                {
                    v.0.file(None, &path, &mut data.as_slice());
                }
                layer.files.push((path, data));
            }
            Ok(_) => layer.warnings.push(Warning {
                path: format!("{name}:{path}"),
                line: None,
                message: "inflates past its declared size; skipped".into(),
            }),
            Err(e) => layer.warnings.push(Warning {
                path: format!("{name}:{path}"),
                line: None,
                message: format!("corrupt entry: {e}"),
            }),
        }
    }
    let mut view = FsView::default();
    view.apply(layer);
    Ok(view)
}

/// Folders never walked on a live root filesystem.
const SKIP_ON_ROOT: &[&str] = &["proc", "sys", "dev", "run", "tmp"];

fn walk_dir(
    root: &Path,
    dir: &Path,
    opts: &Options,
    want: &Want,
    out: &mut LayerFiles,
    depth: usize,
) -> Result<()> {
    if depth > 64 {
        return Ok(());
    }
    let entries = match fs_err::read_dir(dir) {
        Ok(e) => e,
        Err(e) if depth > 0 => {
            out.warnings.push(Warning {
                path: dir.display().to_string(),
                line: None,
                message: e.to_string(),
            });
            return Ok(());
        }
        Err(e) => {
            return Err(Error::Io {
                path: dir.display().to_string(),
                source: e,
            });
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        if depth == 0 && root == Path::new("/") && SKIP_ON_ROOT.contains(&rel.as_str()) {
            continue;
        }
        let Ok(meta) = entry.file_type() else {
            continue;
        };
        let vpath = format!("/{rel}");
        if meta.is_symlink() {
            if let Ok(t) = fs_err::read_link(&path) {
                out.symlinks.push((vpath, t.to_string_lossy().into_owned()));
            }
        } else if meta.is_dir() {
            walk_dir(root, &path, opts, want, out, depth + 1)?;
        } else if meta.is_file()
            && !want(&vpath)
            && let Some(v) = &opts.visitor
        {
            v.0.seen(None, &vpath);
            let size = entry.metadata().map_or(0, |m| m.len());
            if v.0.wants(&vpath, size) {
                match fs_err::File::open(&path) {
                    Ok(mut f) => v.0.file(None, &vpath, &mut f),
                    Err(e) => out.warnings.push(Warning {
                        path: vpath,
                        line: None,
                        message: e.to_string(),
                    }),
                }
            }
        } else if meta.is_file() && !want(&vpath) {
            use std::os::unix::fs::PermissionsExt;
            let Ok(m) = entry.metadata() else { continue };
            if sniffs(&vpath, m.len(), m.permissions().mode(), want)
                && let Ok(data) = fs_err::read(&path)
            {
                keep_build_info(&vpath, &data, &mut out.files);
            }
        } else if meta.is_file() {
            let size = entry.metadata().map_or(0, |m| m.len());
            if size > opts.limits.max_file_bytes {
                out.warnings.push(Warning {
                    path: vpath,
                    line: None,
                    message: "over the file size limit; skipped".into(),
                });
                continue;
            }
            match fs_err::read(&path) {
                Ok(data) => {
                    if let Some(v) = &opts.visitor {
                        v.0.seen(None, &vpath);
                        if v.0.wants(&vpath, size) {
                            v.0.file(None, &vpath, &mut data.as_slice());
                        }
                    }
                    out.files.push((vpath, data));
                }
                Err(e) => out.warnings.push(Warning {
                    path: vpath,
                    line: None,
                    message: e.to_string(),
                }),
            }
        }
    }
    Ok(())
}
