//! The layer cache: what each extractor wants from one layer, stored under
//! `(blob digest, diff_id, extractor name, extractor version)`.
//!
//! Only a layer whose blob and content were both checked against those two
//! digests while it was read is stored, and only under them: an image that
//! claims another image's diff_ids cannot write what a later scan of the real
//! image reads. Entries from before this keying (by claimed diff_id alone)
//! live in folders this version never opens.
//!
//! A second image that shares base layers reads them from here instead of
//! inflating them again, and bumping one extractor's version invalidates only
//! that extractor's entries. Entries are written to a temporary file and renamed
//! into place, so a killed process never leaves a half entry; an unreadable entry
//! is treated as a miss.
//!
//! The entry format is a few length-prefixed byte strings, written by hand:
//! the files are binary and small, and no serialisation crate adds anything here.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::fsview::LayerFiles;

/// A cache key: an extractor's name, version and the paths it wants.
pub type Key<'a> = (&'a str, u32, &'a (dyn Fn(&str) -> bool + Sync));

/// The version of the layer-metadata entry (symlinks, whiteouts, opaque folders).
pub const META_VERSION: u32 = 1;
const META_NAME: &str = "layer-meta";

/// A cache rooted at a folder.
#[derive(Debug, Clone)]
pub struct LayerCache {
    root: PathBuf,
}

fn entry_name(name: &str, version: u32) -> String {
    format!("{}@{version}", name.replace('/', "-"))
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u64).to_le_bytes());
    out.extend_from_slice(b);
}

fn get_bytes<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, rest) = input.split_at_checked(8)?;
    let len = usize::try_from(u64::from_le_bytes(len.try_into().ok()?)).ok()?;
    let (b, rest) = rest.split_at_checked(len)?;
    *input = rest;
    Some(b)
}

fn encode_pairs(pairs: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (p, d) in pairs {
        put_bytes(&mut out, p.as_bytes());
        put_bytes(&mut out, d);
    }
    out
}

fn decode_pairs(mut input: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let p = String::from_utf8(get_bytes(&mut input)?.to_vec()).ok()?;
        let d = get_bytes(&mut input)?.to_vec();
        out.push((p, d));
    }
    Some(out)
}

impl LayerCache {
    /// A cache in `root` (created on first write).
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The folder of one layer: `<blob digest hex>-<diff_id hex>`, both
    /// SHA-256 (the only algorithm whose digests Vigia checks).
    fn dir(&self, digest: &str, diff_id: &str) -> Option<PathBuf> {
        let hex = |d: &str| {
            d.strip_prefix("sha256:")
                .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(str::to_owned)
        };
        Some(
            self.root
                .join(format!("{}-{}", hex(digest)?, hex(diff_id)?)),
        )
    }

    fn read(path: &Path) -> Option<Vec<u8>> {
        let mut f = fs_err::File::open(path).ok()?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).ok()?;
        Some(buf)
    }

    fn write(path: &Path, data: &[u8]) -> std::io::Result<()> {
        let dir = path.parent().expect("entries live in a folder");
        fs_err::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(data)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// The layer's files for every `(name, version)` in `extractors`, or `None`
    /// if any entry is missing (then the layer is read again).
    #[must_use]
    pub fn load(
        &self,
        digest: &str,
        diff_id: &str,
        extractors: &[(&str, u32)],
    ) -> Option<LayerFiles> {
        let dir = self.dir(digest, diff_id)?;
        let meta = decode_pairs(&Self::read(&dir.join(entry_name(META_NAME, META_VERSION)))?)?;
        let mut layer = LayerFiles {
            layer: Some(diff_id.to_owned()),
            ..LayerFiles::default()
        };
        for (kind, value) in meta {
            let value = String::from_utf8(value).ok()?;
            match kind.split_once('\0') {
                Some(("symlink", path)) => layer.symlinks.push((path.to_owned(), value)),
                _ if kind == "whiteout" => layer.whiteouts.push(value),
                _ if kind == "opaque" => layer.opaque.push(value),
                _ => return None,
            }
        }
        for (name, version) in extractors {
            let files = decode_pairs(&Self::read(&dir.join(entry_name(name, *version)))?)?;
            for f in files {
                if !layer.files.iter().any(|(p, _)| *p == f.0) {
                    layer.files.push(f);
                }
            }
        }
        Some(layer)
    }

    /// Whether [`LayerCache::load`] would find the layer for every
    /// extractor in `extractors` (without reading the entries): a registry
    /// pull skips such layers.
    #[must_use]
    pub fn holds(&self, digest: &str, diff_id: &str, extractors: &[(&str, u32)]) -> bool {
        let Some(dir) = self.dir(digest, diff_id) else {
            return false;
        };
        dir.join(entry_name(META_NAME, META_VERSION)).is_file()
            && extractors
                .iter()
                .all(|(name, version)| dir.join(entry_name(name, *version)).is_file())
    }

    /// Stores a freshly read layer, one entry per extractor with the files it
    /// wants. The caller has checked the blob against `digest` and its content
    /// against `diff_id` while reading it.
    pub fn store(&self, digest: &str, diff_id: &str, layer: &LayerFiles, extractors: &[Key<'_>]) {
        let Some(dir) = self.dir(digest, diff_id) else {
            return;
        };
        let mut meta: Vec<(String, Vec<u8>)> = Vec::new();
        for (p, t) in &layer.symlinks {
            meta.push((format!("symlink\0{p}"), t.clone().into_bytes()));
        }
        for w in &layer.whiteouts {
            meta.push(("whiteout".into(), w.clone().into_bytes()));
        }
        for o in &layer.opaque {
            meta.push(("opaque".into(), o.clone().into_bytes()));
        }
        for (name, version, wants) in extractors {
            let mut files: Vec<(String, Vec<u8>)> = layer
                .files
                .iter()
                .filter(|(p, _)| wants(p))
                .cloned()
                .collect();
            // Credentials in URLs are never stored.
            for (path, data) in &mut files {
                if !crate::extract::java::is_archive(path) {
                    crate::redact::userinfo(data);
                }
            }
            if let Err(e) =
                Self::write(&dir.join(entry_name(name, *version)), &encode_pairs(&files))
            {
                tracing::debug!("layer cache write failed: {e}");
                return;
            }
        }
        // The metadata goes last: its presence marks a complete set of entries.
        if let Err(e) = Self::write(
            &dir.join(entry_name(META_NAME, META_VERSION)),
            &encode_pairs(&meta),
        ) {
            tracing::debug!("layer cache write failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_per_extractor_invalidation() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LayerCache::new(dir.path());
        let blob = format!("sha256:{}", "b".repeat(64));
        let id = format!("sha256:{}", "0123abcd".repeat(8));
        let id = id.as_str();
        let layer = LayerFiles {
            layer: Some(id.into()),
            files: vec![
                ("/a/x".into(), b"xx".to_vec()),
                ("/b/y".into(), b"yy".to_vec()),
            ],
            symlinks: vec![("/etc/os-release".into(), "../usr/lib/os-release".into())],
            whiteouts: vec!["/etc/motd".into()],
            opaque: vec!["/tmp".into()],
            warnings: vec![],
        };
        let wa = |p: &str| p.starts_with("/a/");
        let wb = |p: &str| p.starts_with("/b/");
        cache.store(&blob, id, &layer, &[("ex/a", 1, &wa), ("ex/b", 1, &wb)]);
        let back = cache.load(&blob, id, &[("ex/a", 1), ("ex/b", 1)]).unwrap();
        assert_eq!(back.files, layer.files);
        assert_eq!(back.symlinks, layer.symlinks);
        assert_eq!(back.whiteouts, layer.whiteouts);
        assert_eq!(back.opaque, layer.opaque);
        // A new version of one extractor is a miss.
        assert!(cache.load(&blob, id, &[("ex/a", 2), ("ex/b", 1)]).is_none());
        // The same diff_id under another blob is another layer: a miss.
        let other = format!("sha256:{}", "c".repeat(64));
        assert!(cache.load(&other, id, &[("ex/a", 1)]).is_none());
        // Garbage in an entry is a miss, not a panic.
        let folder = format!("{}-{}", "b".repeat(64), "0123abcd".repeat(8));
        fs_err::write(dir.path().join(folder).join("ex-a@1"), b"\xff\xff").unwrap();
        assert!(cache.load(&blob, id, &[("ex/a", 1)]).is_none());
        assert!(cache.load("not-a-digest", id, &[]).is_none());
        assert!(cache.load(&blob, "sha256:0123", &[]).is_none());
    }
}
