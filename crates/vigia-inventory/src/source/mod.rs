//! Reading resources: OCI image layouts, `docker save` archives, root
//! filesystem folders and tarballs, function zips and folders.
//!
//! Everything is streamed once. A layer is read as a tar stream (gzip, zstd or
//! plain, by magic bytes) while its blob digest is computed; only the files an
//! extractor wants are kept. Layers are independent, so they are read on both
//! cores and merged in order afterwards.

mod binary;
mod folder;
mod jar;
mod layer;
mod oci;
pub mod scope;
mod tarball;
mod zip;

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use self::oci::oci_layout;
use self::tarball::tarball;
use self::zip::zip_tree;
use crate::fsview::{FsView, LayerFiles};
use crate::{Error, Limits, Result, invalid};

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
    /// Skips checking blobs and layers against their digests. Only for a pass
    /// whose files another pass of the same scan reads and checks (the secret
    /// pass beside the inventory's): nothing it reads is cached or trusted
    /// beyond that scan, whose outcome fails when the check does.
    pub unchecked: bool,
    /// Trees the user leaves out or brings back (`--skip-dirs`, `--include-dirs`).
    pub scope: scope::Scope,
}

/// Passes on only the files outside the skipped trees.
struct ScopedVisitor {
    inner: std::sync::Arc<dyn Visitor>,
    skipped: Vec<scope::Skipped>,
}

impl Visitor for ScopedVisitor {
    fn wants(&self, path: &str, size: u64) -> bool {
        !scope::Scope::excludes(&self.skipped, path) && self.inner.wants(path, size)
    }
    fn file(&self, layer: Option<&str>, path: &str, data: &mut dyn Read) {
        self.inner.file(layer, path, data);
    }
    fn seen(&self, layer: Option<&str>, path: &str) {
        self.inner.seen(layer, path);
    }
    fn whiteout(&self, layer: Option<&str>, path: &str) {
        self.inner.whiteout(layer, path);
    }
    fn opaque(&self, layer: Option<&str>, dir: &str) {
        self.inner.opaque(layer, dir);
    }
    fn layer(&self, index: usize, label: &str, diff_id: &str) {
        self.inner.layer(index, label, diff_id);
    }
    fn image_config(&self, lines: &ConfigLines) {
        self.inner.image_config(lines);
    }
}

/// Whether `target` is the machine's own root filesystem.
pub(crate) fn is_live_root(target: &Path) -> bool {
    fs_err::canonicalize(target).is_ok_and(|p| p == Path::new("/"))
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
    /// An image's configuration, as the lines a person wrote into it (see
    /// [`ConfigLines`]): anyone who pulls the image can read them.
    fn image_config(&self, _lines: &ConfigLines) {}
}

/// What an image's configuration holds that a person wrote, one line per
/// entry (a newline inside one is a space): anyone who pulls the image reads
/// them with `docker inspect` and `docker history`, so a credential there is
/// published with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigLines {
    /// `ENV K=V` for each variable of its environment, then `LABEL K=V` for
    /// each label, then its `ENTRYPOINT` and `CMD` (as JSON arrays).
    pub config: Vec<String>,
    /// Each build step's command from its history, one line per step (an
    /// empty one for a step that records none), oldest first.
    pub history: Vec<String>,
}

impl ConfigLines {
    /// The lines of an image's configuration.
    #[must_use]
    pub fn of(config: &oci_spec::image::ImageConfiguration) -> Self {
        let one_line = |s: &str| s.replace(['\r', '\n'], " ");
        let mut lines = Vec::new();
        if let Some(c) = config.config() {
            for e in c.env().iter().flatten() {
                lines.push(format!("ENV {}", one_line(e)));
            }
            let mut labels: Vec<_> = c.labels().iter().flatten().collect();
            labels.sort();
            for (k, v) in labels {
                lines.push(format!("LABEL {}={}", one_line(k), one_line(v)));
            }
            for (word, args) in [("ENTRYPOINT", c.entrypoint()), ("CMD", c.cmd())] {
                if let Some(args) = args {
                    let json = serde_json::to_string(args).unwrap_or_default();
                    lines.push(format!("{word} {json}"));
                }
            }
        }
        let history = config
            .history()
            .iter()
            .flatten()
            .map(|step| {
                step.created_by()
                    .as_deref()
                    .map(one_line)
                    .unwrap_or_default()
            })
            .collect();
        Self {
            config: lines,
            history,
        }
    }
}

/// A shared [`Visitor`] in [`Options`].
#[derive(Clone)]
pub struct VisitorHandle(pub std::sync::Arc<dyn Visitor>);

impl std::fmt::Debug for VisitorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VisitorHandle")
    }
}

/// Whether the platform `have` (`os/arch[/variant]`) is the one asked for;
/// an ask without a variant takes any.
fn same_platform(have: &str, asked: &str) -> bool {
    let (h, a): (Vec<&str>, Vec<&str>) = (have.split('/').collect(), asked.split('/').collect());
    h.get(..2) == a.get(..2) && (a.len() < 3 || h.get(2) == a.get(2))
}

/// The platform of an image (`os/arch[/variant]`, from its config), checked
/// against the one asked for unless an index already chose the image by that
/// platform: an image that is not that platform is an error naming both, even
/// when it is the only image there is.
fn image_platform(
    name: &str,
    config: &oci_spec::image::ImageConfiguration,
    opts: &Options,
    chosen_by_platform: bool,
) -> Result<String> {
    let scanned = match config.variant() {
        Some(v) => format!("{}/{}/{v}", config.os(), config.architecture()),
        None => format!("{}/{}", config.os(), config.architecture()),
    };
    match &opts.platform {
        Some(asked) if !chosen_by_platform && !same_platform(&scanned, asked) => Err(invalid(
            name,
            format!("no image for platform {asked}: the image is {scanned}"),
        )),
        _ => Ok(scanned),
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
pub type Want<'a> = dyn Fn(&str) -> bool + Sync + 'a;

/// The largest executable looked into for embedded build info. Only its
/// headers and build-info sections are read (a stream beyond 32 MiB is
/// spooled to disk), so this bounds disk and time, not memory.
pub(super) const MAX_BINARY_BYTES: u64 = 4 << 30;

/// Whether a file at `path` should be looked into for build info: an
/// executable, or a file without the execute bit that may still be one (a Go
/// binary copied without its mode). Shared libraries without the execute bit
/// (`libfoo.so.1`, 0644 on Debian) are left out: they are C libraries, and
/// thousands of them on a host would each cost a read.
fn sniffs(path: &str, size: u64, mode: u32, want: &Want<'_>) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    let shared_library = std::path::Path::new(&lower)
        .extension()
        .is_some_and(|e| e == "so")
        || lower.contains(".so.");
    (mode & 0o111 != 0 || !shared_library)
        && (1024..=MAX_BINARY_BYTES).contains(&size)
        && (want(&format!("{path}{}", crate::extract::gobinary::SUFFIX))
            || want(&format!("{path}{}", crate::extract::auditable::SUFFIX)))
}

/// Keeps a reduced Java archive ([`jar::reduce`]) under `path`, or names why
/// it, or a nested archive, could not be read.
fn keep_jar(
    path: &str,
    reduced: std::result::Result<Vec<u8>, String>,
    skipped: jar::Skipped,
    files: &mut Vec<(String, Vec<u8>)>,
    warnings: &mut Vec<crate::Warning>,
) {
    match reduced {
        Ok(r) => files.push((path.to_owned(), r)),
        Err(why) => warnings.push(crate::Warning {
            path: path.to_owned(),
            line: None,
            message: why,
            unread: Some(crate::Unread::Binary),
        }),
    }
    for (p, why) in skipped {
        warnings.push(crate::Warning {
            path: p,
            line: None,
            message: why,
            unread: Some(crate::Unread::Binary),
        });
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
    want: &Want<'_>,
) -> Result<(&'static str, FsView, Option<ImageInfo>)> {
    open_impl(target, opts, want, None)
}

/// The files a scan of the folder `target` reads for its inventory, in
/// name order, without reading them: a watcher stamps these to tell that
/// the folder's software changed (a language package installed beside the
/// OS packages, a binary replaced). Trees `scope` leaves out are not
/// walked; an unreadable subfolder is left out as the scan leaves it.
#[must_use]
pub fn inventory_files(target: &Path, scope: &scope::Scope) -> Vec<std::path::PathBuf> {
    let skipped = scope.skipped(is_live_root(target));
    let want = |p: &str| crate::extract::wants(p);
    let mut out = Vec::new();
    folder::inventory_files(target, target, &want, &skipped, 0, &mut out);
    out.sort();
    out
}

fn open_impl(
    target: &Path,
    opts: &Options,
    want: &Want<'_>,
    cache: Option<&crate::cache::LayerCache>,
) -> Result<(&'static str, FsView, Option<ImageInfo>)> {
    let skipped = opts.scope.skipped(is_live_root(target));
    if skipped.is_empty() {
        return open_scoped(target, opts, want, cache, &[]);
    }
    // Skipped trees: neither extractors nor the visitor see their files, and
    // the layer cache is not used (a layer cached without them would be
    // missing files for the next scan).
    let mut scoped = opts.clone();
    scoped.visitor = opts.visitor.as_ref().map(|v| {
        VisitorHandle(std::sync::Arc::new(ScopedVisitor {
            inner: v.0.clone(),
            skipped: skipped.clone(),
        }))
    });
    let scoped_want = |p: &str| !scope::Scope::excludes(&skipped, p) && want(p);
    open_scoped(target, &scoped, &scoped_want, None, &skipped)
}

/// A lockfile or manifest given alone (`vigia scan dir Cargo.lock`), read
/// as a folder holding only it, at its own name: `None` when the file's name
/// is none an extractor reads (an archive, an image, a zip). A Java archive
/// is a zip, and read as one.
fn lone_file(
    target: &Path,
    name: &str,
    size: u64,
    opts: &Options,
    want: &Want<'_>,
) -> Result<Option<FsView>> {
    let Some(file_name) = target.file_name() else {
        return Ok(None);
    };
    let vpath = format!("/{}", file_name.to_string_lossy());
    if !crate::extract::wants(&vpath) || crate::extract::java::is_archive(&vpath) {
        return Ok(None);
    }
    if size > opts.limits.max_file_bytes {
        return Err(invalid(
            name,
            format!(
                "{size} bytes is over the {}-byte file limit",
                opts.limits.max_file_bytes
            ),
        ));
    }
    let data = fs_err::read(target).map_err(io_err(name))?;
    if let Some(v) = &opts.visitor {
        v.0.seen(None, &vpath);
        if v.0.wants(&vpath, size) {
            v.0.file(None, &vpath, &mut data.as_slice());
        }
    }
    let mut layer = LayerFiles::default();
    if want(&vpath) {
        layer.files.push((vpath, data));
    }
    let mut view = FsView::default();
    view.apply(layer);
    Ok(Some(view))
}

fn open_scoped(
    target: &Path,
    opts: &Options,
    want: &Want<'_>,
    cache: Option<&crate::cache::LayerCache>,
    skipped: &[scope::Skipped],
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
        let walk = folder::Walk {
            root: target,
            opts,
            want,
            skipped,
        };
        walk.dir(target, &mut layer, 0)?;
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
    if let Some(view) = lone_file(target, &name, meta.len(), opts, want)? {
        return Ok(("directory", view, None));
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
    // Named as a zip, but not one: said as such, not as a tar that is not.
    let named_zip = target
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip") || e.eq_ignore_ascii_case("jar"));
    if named_zip {
        return Err(invalid(
            &name,
            "not a zip archive: it does not start with a zip header",
        ));
    }
    tarball(target, opts, want)
}
