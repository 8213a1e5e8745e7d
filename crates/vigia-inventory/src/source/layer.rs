//! Reading one layer's tar stream: decompression by magic bytes, the blob
//! digest check (hashed on another thread), whiteouts and entry kinds; and
//! merging the layers of an image in order.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{Visitor, Want, io_err, sniffs};
use crate::fsview::{FsView, LayerFiles, normalize};
use crate::{Error, Limits, Result, Warning, invalid};

/// SHA-256 of a stream, computed on another thread from copies of the bytes as
/// they are read: the thread that inflates a layer is the one an image scan
/// waits for, and hashing there cost it 8% (the other core was idle).
///
/// This is a pipeline stage with its own thread, not work for the shared
/// rayon pool: it waits on a channel for as long as the layer streams, and a
/// pool task that waits for the pool's other tasks can starve them all.
struct BackgroundSha256 {
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    done: Option<std::thread::JoinHandle<Vec<u8>>>,
    /// Bytes not sent yet: a tar reader reads 512-byte headers one by one, and
    /// a message per header cost more than hashing it.
    pending: Vec<u8>,
}

/// Bytes gathered before they go to the hashing thread.
const HASH_CHUNK: usize = 128 << 10;

impl BackgroundSha256 {
    fn new() -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
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
            pending: Vec::with_capacity(HASH_CHUNK),
        }
    }

    fn update(&mut self, data: &[u8]) {
        self.pending.extend_from_slice(data);
        if self.pending.len() >= HASH_CHUNK {
            self.send();
        }
    }

    fn send(&mut self) {
        let chunk = std::mem::replace(&mut self.pending, Vec::with_capacity(HASH_CHUNK));
        if let Some(tx) = &self.tx {
            // The thread only stops when `finish` closes the channel.
            let _ = tx.send(chunk);
        }
    }

    /// The digest of everything passed to `update`, as `sha256:<hex>`.
    fn finish(&mut self) -> String {
        if !self.pending.is_empty() {
            self.send();
        }
        drop(self.tx.take());
        let digest = self
            .done
            .take()
            .map(|t| t.join().expect("the hashing thread does not panic"))
            .unwrap_or_default();
        format!("sha256:{}", hex::encode(digest))
    }
}

/// Wraps a reader: counts bytes (to cap inflation), and hashes them when asked.
pub(super) struct Counting<R> {
    inner: R,
    count: u64,
    limit: u64,
    /// What the limit is about, for its error.
    over: &'static str,
    hasher: Option<BackgroundSha256>,
}

impl<R> Counting<R> {
    pub(super) fn new(inner: R, limit: u64, over: &'static str) -> Self {
        Self {
            inner,
            count: 0,
            limit,
            over,
            hasher: None,
        }
    }

    /// Hashes what is read from now on.
    pub(super) fn hashed(mut self) -> Self {
        self.hasher = Some(BackgroundSha256::new());
        self
    }
}

impl<R: Read> Counting<R> {
    /// Reads what is left (what a tar reader leaves after the end marker is
    /// part of the digest too) and returns the SHA-256 of everything read.
    pub(super) fn digest(&mut self) -> std::io::Result<Option<String>> {
        std::io::copy(self, &mut std::io::sink())?;
        Ok(self.hasher.as_mut().map(BackgroundSha256::finish))
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count > self.limit {
            return Err(std::io::Error::other(format!(
                "{} past the {}-byte limit",
                self.over, self.limit
            )));
        }
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// A possibly compressed tar stream, inflated and counted.
pub(super) type Inflated<'a> = Counting<Box<dyn Read + 'a>>;

/// A tar entry that could not be read. A first header that is no tar
/// header (not one cut short): the stream is no tar at all (a text file
/// named `.tar`), said without the tar reader's words, which quote the
/// bytes it found.
fn corrupt(name: &str, index: usize, e: &std::io::Error) -> crate::Error {
    if index == 0 && e.kind() != std::io::ErrorKind::UnexpectedEof {
        invalid(
            name,
            "not a tar archive: its first header is not a tar header",
        )
    } else {
        invalid(name, format!("truncated or corrupt layer: {e}"))
    }
}

/// Opens a possibly compressed tar stream by its magic bytes.
pub(super) fn decompress<'a, R: BufRead + 'a>(
    mut r: R,
    limit: u64,
) -> std::io::Result<Inflated<'a>> {
    let magic = r.fill_buf()?.to_vec();
    // Formats image layers never use (OCI: gzip, zstd or none) are named,
    // rather than read as a tar stream and called corrupt. bzip2's magic is
    // checked with its first block's (a tar entry could be named `BZh…`).
    let bzip2 = magic.len() >= 10
        && magic.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&magic[3])
        && &magic[4..10] == b"1AY&SY";
    let xz = magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]);
    if bzip2 || xz {
        return Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!(
                "unsupported compression ({}): Vigia reads gzip, zstd or uncompressed tar",
                if bzip2 { "bzip2" } else { "xz" }
            ),
        ));
    }
    let inner: Box<dyn Read + 'a> = if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(r))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::with_buffer(r)?)
    } else {
        Box::new(r)
    };
    Ok(Counting::new(
        inner,
        limit,
        "stream inflates (a decompression bomb?)",
    ))
}

/// The SHA-256 digest a descriptor or config names, or why Vigia cannot
/// check it.
pub(super) fn sha256_digest<'a>(name: &str, digest: &'a str) -> Result<&'a str> {
    match digest.split_once(':') {
        Some(("sha256", hex)) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(digest)
        }
        _ => Err(invalid(
            name,
            format!("digest {digest} is not a SHA-256 digest, which is all Vigia can check"),
        )),
    }
}

/// Refuses what is not a regular file before it is opened: a blob that is a
/// FIFO blocks on open, and one that is a device (`/dev/zero` through a
/// symlink) never ends.
pub(super) fn regular_file(path: &Path) -> Result<()> {
    let name = path.display().to_string();
    match fs_err::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        Ok(_) => Err(invalid(&name, "not a regular file; not read")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(invalid(
            &name,
            "the manifest names this blob, but it is missing",
        )),
        Err(e) => Err(Error::Io {
            path: name,
            source: e,
        }),
    }
}

/// Reads one layer's tar stream, keeping wanted files, symlinks and whiteouts.
pub(super) fn read_layer<R: Read>(
    stream: R,
    name: &str,
    layer: Option<String>,
    limits: &Limits,
    want: &Want<'_>,
    visitor: Option<&dyn Visitor>,
) -> Result<(LayerFiles, Links)> {
    read_entries(stream, name, layer, limits, want, visitor, None)
}

/// The most bytes hard links may copy into one layer's kept files (each link
/// holds its own copy): ten thousand links to one large file cannot fill
/// memory.
const MAX_LINKED_BYTES: u64 = 256 << 20;

/// Hard links at wanted paths whose targets the stream holds but no extractor
/// kept when they went by: (link, target). A second read of the stream
/// ([`resolve_links`]) fetches them; tar holds a hard link's content only at
/// its target, which usually comes first.
pub(super) type Links = Vec<(String, String)>;

/// Reads `stream` again for the targets of `links`, adding each link's
/// content to `out` under the link's path; a target that cannot be kept is
/// named as not read.
pub(super) fn resolve_links<R: Read>(
    stream: R,
    name: &str,
    links: &Links,
    limits: &Limits,
    out: &mut LayerFiles,
) -> Result<()> {
    let mut wanted: std::collections::HashMap<&str, Vec<&str>> = std::collections::HashMap::new();
    for (link, target) in links {
        wanted
            .entry(target.as_str())
            .or_default()
            .push(link.as_str());
    }
    let mut linked: u64 = 0;
    let mut archive = tar::Archive::new(stream);
    let entries = archive
        .entries()
        .map_err(|e| invalid(name, format!("not a tar stream: {e}")))?;
    for (index, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| corrupt(name, index, &e))?;
        if !holds_content(entry.header().entry_type()) {
            continue;
        }
        let Some(path) = normalize(&String::from_utf8_lossy(&entry.path_bytes())) else {
            continue;
        };
        let Some(at) = wanted.remove(path.as_str()) else {
            continue;
        };
        let size = entry.size();
        if size > limits.max_file_bytes {
            for link in at {
                out.warnings.push(Warning::unread(
                    format!("{name}:{link}"),
                    format!(
                        "hard link to {path}, {size} bytes, over the {}-byte file limit; skipped",
                        limits.max_file_bytes
                    ),
                ));
            }
            continue;
        }
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        entry
            .read_to_end(&mut data)
            .map_err(|e| invalid(name, format!("truncated or corrupt layer at {path}: {e}")))?;
        for link in at {
            linked += data.len() as u64;
            if linked > MAX_LINKED_BYTES {
                out.warnings.push(Warning::unread(
                    format!("{name}:{link}"),
                    format!("hard link to {path}, past the {MAX_LINKED_BYTES}-byte budget of hard-linked files; skipped"),
                ));
                continue;
            }
            out.files.push((link.to_owned(), data.clone()));
        }
        if wanted.is_empty() {
            break;
        }
    }
    for (target, at) in wanted {
        for link in at {
            out.warnings.push(Warning::unread(
                format!("{name}:{link}"),
                format!("hard link to {target}, which was not found on a second read; skipped"),
            ));
        }
    }
    Ok(())
}

/// What an [`Intercept`] did with a regular file.
pub(super) enum Intercepted {
    /// Nothing: the file is read like any other.
    Declined,
    /// It took the file whole (a `docker save` manifest or nested layer).
    Taken,
    /// It read the file's bytes, which are an ordinary file after all: kept
    /// when an extractor wants the path.
    Read(Vec<u8>),
}

/// Sees each regular file of a tar stream before the common handling, with its
/// path and size and the entry to read from.
pub(super) type Intercept<'a> = dyn FnMut(&str, u64, &mut dyn Read) -> Result<Intercepted> + 'a;

/// Reads the entries of one tar stream the same way for an image layer and a
/// root filesystem tarball: paths normalised (traversal refused and named),
/// whiteouts and opaque markers recorded, symlinks kept, hard links to wanted
/// files resolved against the files kept, wanted files read within the size
/// limit, other files offered to the visitor or sniffed for build info.
/// `intercept` sees each regular file first: a `docker save` archive takes its
/// manifests, configs and nested layers there.
/// Whether an entry of this type holds a file's content: a regular file,
/// a contiguous one, or a GNU sparse one (which the tar reader expands, its
/// holes as zeros, to the size `Entry::size` gives).
fn holds_content(kind: tar::EntryType) -> bool {
    kind.is_file() || kind == tar::EntryType::Continuous || kind.is_gnu_sparse()
}

/// The path a sparse file in the PAX format stands for (its `GNU.sparse.name`,
/// or its path without the `GNUSparseFile.N` folder the format adds), when
/// the entry is one: its content is a sparse map the tar reader does not
/// expand, so it cannot be read as the file.
fn pax_sparse<R: Read>(entry: &mut tar::Entry<'_, R>, path: &str) -> Option<String> {
    let extensions = entry.pax_extensions().ok()??;
    let mut sparse = false;
    let mut name = None;
    for e in extensions.flatten() {
        match e.key() {
            Ok("GNU.sparse.name") => {
                sparse = true;
                name = e.value().ok().and_then(normalize);
            }
            Ok(k) if k.starts_with("GNU.sparse.") => sparse = true,
            _ => {}
        }
    }
    sparse.then(|| {
        name.unwrap_or_else(|| {
            let parts: Vec<&str> = path
                .split('/')
                .filter(|p| !p.starts_with("GNUSparseFile."))
                .collect();
            parts.join("/")
        })
    })
}

pub(super) fn read_entries<R: Read>(
    stream: R,
    name: &str,
    layer: Option<String>,
    limits: &Limits,
    want: &Want<'_>,
    visitor: Option<&dyn Visitor>,
    mut intercept: Option<&mut Intercept<'_>>,
) -> Result<(LayerFiles, Links)> {
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
    // The regular files the stream holds, by path hash: whether a hard link's
    // target was here at all, without keeping every path.
    let mut regular_files: std::collections::HashSet<u64> = std::collections::HashSet::new();
    let path_hash = |p: &str| {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        BuildHasherDefault::<DefaultHasher>::default().hash_one(p)
    };
    for (index, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| corrupt(name, index, &e))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(path) = normalize(&raw) else {
            out.warnings.push(Warning {
                path: format!("{name}:{raw}"),
                line: None,
                message: "path escapes the root (path traversal); skipped".into(),
                unread: None,
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
        let regular = holds_content(kind);
        if regular && let Some(real) = pax_sparse(&mut entry, &path) {
            if want(&real) {
                out.warnings.push(Warning::unread(
                    format!("{name}:{real}"),
                    "a sparse file in the PAX format (GNU.sparse), which is not read; skipped"
                        .to_owned(),
                ));
            }
            continue;
        }
        if regular && let Some(f) = intercept.as_deref_mut() {
            let size = entry.size();
            match f(&path, size, &mut entry)? {
                Intercepted::Declined => {}
                Intercepted::Taken => continue,
                Intercepted::Read(data) => {
                    if want(&path) && size <= limits.max_file_bytes {
                        out.files.push((path, data));
                    }
                    continue;
                }
            }
        }
        if let Some(v) = visitor
            && (kind.is_symlink() || kind.is_hard_link() || regular)
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
            if want(&path) {
                let raw_target = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                match normalize(&raw_target) {
                    Some(t) => hardlinks.push((path, t)),
                    // What it stands for is outside the archive: not read,
                    // and said, as a traversal entry is.
                    None => out.warnings.push(Warning::unread(
                        format!("{name}:{path}"),
                        format!(
                            "hard link to {raw_target}, which escapes the root (path traversal); not read"
                        ),
                    )),
                }
            }
            continue;
        }
        if !regular {
            continue;
        }
        regular_files.insert(path_hash(&path));
        let size = entry.size();
        if let Some(v) = visitor
            && !want(&path)
            && v.wants(&path, size)
        {
            v.file(label.as_deref(), &path, &mut entry);
            continue;
        }
        if !want(&path) {
            if sniffs(&path, size, entry.header().mode().unwrap_or(0), want) {
                let corrupt =
                    |e| invalid(name, format!("truncated or corrupt layer at {path}: {e}"));
                let mut head = Vec::with_capacity(64);
                (&mut entry)
                    .take(64)
                    .read_to_end(&mut head)
                    .map_err(corrupt)?;
                // Not an executable format: the rest is never read into memory.
                if super::binary::looks_executable(&head) {
                    let mut rest = head.as_slice().chain(&mut entry);
                    super::binary::from_stream(
                        &mut rest,
                        size,
                        &path,
                        &mut out.files,
                        &mut out.warnings,
                    )
                    .map_err(corrupt)?;
                }
            }
            continue;
        }
        if crate::extract::java::is_archive(&path) && size <= super::MAX_BINARY_BYTES {
            // Reduced as it is read to the entries the Java extractor reads
            // (spooled to disk when large), whatever the archive's size.
            let mut skipped = Vec::new();
            let reduced = super::jar::reduce_stream(&mut entry, size, &path, &mut skipped)
                .map_err(|e| invalid(name, format!("truncated or corrupt layer at {path}: {e}")))?;
            super::keep_jar(&path, reduced, skipped, &mut out.files, &mut out.warnings);
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
                unread: Some(crate::Unread::of_path(&path)),
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
    let mut unkept = Links::new();
    let mut linked: u64 = 0;
    for (path, target) in hardlinks {
        if let Some(data) = out
            .files
            .iter()
            .find(|(p, _)| *p == target)
            .map(|(_, d)| d.clone())
        {
            linked += data.len() as u64;
            if linked > MAX_LINKED_BYTES {
                out.warnings.push(Warning::unread(
                    format!("{name}:{path}"),
                    format!("hard link to {target}, past the {MAX_LINKED_BYTES}-byte budget of hard-linked files; skipped"),
                ));
                continue;
            }
            out.files.push((path, data));
        } else if regular_files.contains(&path_hash(&target)) {
            unkept.push((path, target));
        } else {
            out.warnings.push(Warning::unread(
                format!("{name}:{path}"),
                format!("hard link to {target}, which this layer does not hold; skipped"),
            ));
        }
    }
    Ok((out, unkept))
}

/// What a layer blob must be: its digest and size from the manifest, its
/// content's digest (diff_id) from the image config.
pub(super) struct BlobClaims<'a> {
    pub(super) digest: &'a str,
    pub(super) size: u64,
    pub(super) diff_id: &'a str,
    /// Read without checking them (see [`super::Options::unchecked`]).
    pub(super) unchecked: bool,
}

/// Reads a blob file as a layer, checking as it streams that the blob is the
/// one the manifest names (digest and size) and that its content is the one
/// the image config names (diff_id). Nothing read is returned unless both hold.
pub(super) fn read_blob_layer(
    path: &Path,
    claims: &BlobClaims<'_>,
    limits: &Limits,
    want: &Want<'_>,
    visitor: Option<&dyn Visitor>,
) -> Result<LayerFiles> {
    let name = path.display().to_string();
    let digest = sha256_digest(&name, claims.digest)?;
    let diff_id = sha256_digest(&name, claims.diff_id)?;
    regular_file(path)?;
    let file = fs_err::File::open(path).map_err(io_err(&name))?;
    let mut blob = Counting::new(
        file,
        claims.size,
        "the blob is larger than its manifest says:",
    );
    if claims.unchecked {
        let stream = decompress(
            BufReader::with_capacity(1 << 16, &mut blob),
            limits.max_inflated_bytes,
        )
        .map_err(io_err(&name))?;
        // The pass that checks the blob also fetches hard-linked files.
        return read_layer(
            stream,
            &name,
            Some(diff_id.to_owned()),
            limits,
            want,
            visitor,
        )
        .map(|(layer, _)| layer);
    }
    blob = blob.hashed();
    let (result, content) = {
        let mut stream = decompress(
            BufReader::with_capacity(1 << 16, &mut blob),
            limits.max_inflated_bytes,
        )
        .map_err(io_err(&name))?
        .hashed();
        let result = read_layer(
            &mut stream,
            &name,
            Some(diff_id.to_owned()),
            limits,
            want,
            visitor,
        );
        // The digests cover what a tar reader leaves after the end marker too.
        let content = match &result {
            Ok(_) => stream.digest().map_err(io_err(&name))?,
            Err(_) => None,
        };
        (result, content)
    };
    let (mut layer, links) = result?;
    let got = blob.digest().map_err(io_err(&name))?.unwrap_or_default();
    if got != digest {
        return Err(invalid(
            &name,
            format!("digest mismatch: the manifest says {digest}, the blob is {got}"),
        ));
    }
    if blob.count != claims.size {
        return Err(invalid(
            &name,
            format!(
                "the manifest says {} bytes, the blob has {}",
                claims.size, blob.count
            ),
        ));
    }
    let content = content.unwrap_or_default();
    if content != diff_id {
        return Err(invalid(
            &name,
            format!(
                "diff_id mismatch: the image config says {diff_id}, the layer's content is {content}"
            ),
        ));
    }
    if !links.is_empty() {
        // Rare: read the blob a second time for the targets alone, checked
        // again (it is a file someone else may change between two reads).
        regular_file(path)?;
        let again = fs_err::File::open(path).map_err(io_err(&name))?;
        let mut blob = Counting::new(
            again,
            claims.size,
            "the blob is larger than its manifest says:",
        )
        .hashed();
        let mut linked = LayerFiles::default();
        {
            let stream = decompress(
                BufReader::with_capacity(1 << 16, &mut blob),
                limits.max_inflated_bytes,
            )
            .map_err(io_err(&name))?;
            resolve_links(stream, &name, &links, limits, &mut linked)?;
        }
        let again = blob.digest().map_err(io_err(&name))?.unwrap_or_default();
        if again != digest {
            return Err(invalid(
                &name,
                format!("the blob changed while it was read: it is now {again}"),
            ));
        }
        layer.files.extend(linked.files);
        layer.warnings.extend(linked.warnings);
    }
    Ok(layer)
}

/// Reads layers in parallel on the current rayon pool (the engine's, inside a
/// scan), then merges them bottom first.
pub(super) fn merge_layers<'a>(
    jobs: Vec<Box<dyn FnOnce() -> Result<LayerFiles> + Send + 'a>>,
) -> Result<FsView> {
    use rayon::prelude::*;
    let results: Vec<Result<LayerFiles>> = jobs.into_par_iter().map(|job| job()).collect();
    let mut view = FsView::default();
    for r in results {
        view.apply(r?);
    }
    Ok(view)
}
