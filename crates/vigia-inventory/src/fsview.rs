//! The final filesystem of a resource, reduced to the files extractors want.
//!
//! Each layer (or the single tree of a folder, tarball or zip) contributes a
//! [`LayerFiles`]; [`FsView::apply`] lays them over each other in order,
//! honouring whiteouts (`.wh.name` deletes a path and everything under it;
//! `.wh..wh..opq` hides what lower layers put in a folder). Each path keeps the
//! history of its versions, so a package can be attributed to the layer that
//! first had it.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::Warning;

/// What one layer holds of interest.
#[derive(Debug, Default, Clone)]
pub struct LayerFiles {
    /// The layer's diff_id, for images.
    pub layer: Option<String>,
    /// Wanted regular files, by normalised absolute path.
    pub files: Vec<(String, Vec<u8>)>,
    /// Symbolic links: path → target as stored.
    pub symlinks: Vec<(String, String)>,
    /// Paths deleted by whiteouts.
    pub whiteouts: Vec<String>,
    /// Folders made opaque.
    pub opaque: Vec<String>,
    /// Problems met reading the layer.
    pub warnings: Vec<Warning>,
}

/// One version of a file.
#[derive(Debug, Clone)]
pub struct FileVersion {
    /// The layer it came from.
    pub layer: Option<String>,
    /// Its content.
    pub data: Arc<Vec<u8>>,
}

/// The files of the final filesystem that extractors want.
#[derive(Debug, Default)]
pub struct FsView {
    files: BTreeMap<String, Vec<FileVersion>>,
    symlinks: BTreeMap<String, String>,
    /// Problems met building the view.
    pub warnings: Vec<Warning>,
}

fn under(path: &str, dir: &str) -> bool {
    dir == "/"
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Normalises a path from an archive to an absolute path inside the root:
/// `./a/b`, `a/b` and `/a/b` are `/a/b`; `.` segments go; a `..` that would
/// leave the root makes it `None` (path traversal).
#[must_use]
pub fn normalize(raw: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for seg in raw.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

impl FsView {
    /// Lays one layer over what is there.
    pub fn apply(&mut self, mut layer: LayerFiles) {
        // Credentials in URLs never reach an extractor or a report. Java
        // archives are masked entry by entry when they are reduced (masking a
        // zip's bytes would break its checksums).
        for (path, data) in &mut layer.files {
            if !crate::extract::java::is_archive(path) {
                crate::redact::userinfo(data);
            }
        }
        for w in &layer.whiteouts {
            self.files.retain(|p, _| p != w && !under(p, w));
            self.symlinks.retain(|p, _| p != w && !under(p, w));
        }
        for d in &layer.opaque {
            self.files.retain(|p, _| !under(p, d));
            self.symlinks.retain(|p, _| !under(p, d));
        }
        for (p, t) in layer.symlinks {
            self.files.remove(&p);
            self.symlinks.insert(p, t);
        }
        for (p, data) in layer.files {
            self.symlinks.remove(&p);
            self.files.entry(p).or_default().push(FileVersion {
                layer: layer.layer.clone(),
                data: Arc::new(data),
            });
        }
        self.warnings.extend(layer.warnings);
    }

    /// Every file path, sorted.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// The versions of a file, oldest first (the last one is current).
    #[must_use]
    pub fn history(&self, path: &str) -> Option<&[FileVersion]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// The symbolic links at paths `want` selects whose content the view
    /// does not hold (their target was not kept, is absent, or leads out of
    /// the root): (link, target). What they stand for was not read.
    pub fn unresolved_links(&self, want: impl Fn(&str) -> bool) -> Vec<(String, String)> {
        self.symlinks
            .iter()
            .filter(|(p, _)| want(p) && self.read(p).is_none())
            .map(|(p, t)| (p.clone(), t.clone()))
            .collect()
    }

    /// The current content of a path, following symbolic links inside the view
    /// (never outside the root; loops give `None`).
    #[must_use]
    pub fn read(&self, path: &str) -> Option<&FileVersion> {
        let mut cur = normalize(path)?;
        for _ in 0..40 {
            if let Some(v) = self.files.get(&cur) {
                return v.last();
            }
            let target = self.symlinks.get(&cur)?;
            let base = if target.starts_with('/') {
                String::new()
            } else {
                cur.rsplit_once('/')
                    .map(|(d, _)| d.to_owned())
                    .unwrap_or_default()
            };
            cur = normalize(&format!("{base}/{target}"))?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_and_traversal() {
        assert_eq!(
            normalize("./etc/os-release").as_deref(),
            Some("/etc/os-release")
        );
        assert_eq!(normalize("/usr//lib/./x").as_deref(), Some("/usr/lib/x"));
        assert_eq!(normalize("a/../b").as_deref(), Some("/b"));
        assert_eq!(normalize("../etc/passwd"), None);
        assert_eq!(normalize("a/../../x"), None);
    }

    fn layer(files: &[&str], whiteouts: &[&str], opaque: &[&str]) -> LayerFiles {
        LayerFiles {
            layer: Some(format!("L{}", files.len())),
            files: files
                .iter()
                .map(|f| ((*f).to_owned(), b"x".to_vec()))
                .collect(),
            whiteouts: whiteouts.iter().map(|s| (*s).to_owned()).collect(),
            opaque: opaque.iter().map(|s| (*s).to_owned()).collect(),
            ..LayerFiles::default()
        }
    }

    #[test]
    fn whiteouts_and_opaque_folders() {
        let mut v = FsView::default();
        v.apply(layer(
            &["/etc/motd", "/srv/tmp/a", "/srv/tmp/b/c", "/srv/keep"],
            &[],
            &[],
        ));
        v.apply(layer(&["/srv/tmp/new"], &["/etc/motd"], &["/srv/tmp"]));
        let paths: Vec<&str> = v.paths().collect();
        assert_eq!(paths, ["/srv/keep", "/srv/tmp/new"]);
    }

    #[test]
    fn symlinks_resolve_inside_the_root_only() {
        let mut v = FsView::default();
        let mut l = layer(&["/usr/lib/os-release"], &[], &[]);
        l.symlinks = vec![
            ("/etc/os-release".into(), "../usr/lib/os-release".into()),
            ("/etc/loop".into(), "/etc/loop".into()),
            ("/etc/escape".into(), "../../../../../etc/shadow".into()),
        ];
        v.apply(l);
        assert!(v.read("/etc/os-release").is_some());
        assert!(v.read("/etc/loop").is_none());
        assert!(v.read("/etc/escape").is_none());
    }
}
