//! Folders, plain or root filesystems (a live one included), walked on disk.

use std::path::Path;

use super::{Options, Want, sniffs};
use crate::fsview::LayerFiles;
use crate::{Error, Result, Warning};

/// Extensions of files that are never executables with build info (sources,
/// documents, data, archives, objects).
const NOT_EXECUTABLE: &[&str] = &[
    "a",
    "bz2",
    "c",
    "cc",
    "cfg",
    "class",
    "conf",
    "cpp",
    "crt",
    "css",
    "csv",
    "d",
    "el",
    "elc",
    "gif",
    "go",
    "gz",
    "h",
    "hpp",
    "html",
    "htm",
    "ico",
    "ini",
    "java",
    "jpeg",
    "jpg",
    "js",
    "json",
    "lua",
    "map",
    "md",
    "mjs",
    "mo",
    "o",
    "otf",
    "pdf",
    "pem",
    "pl",
    "pm",
    "png",
    "po",
    "properties",
    "py",
    "pyc",
    "pyi",
    "rb",
    "rlib",
    "rmeta",
    "rs",
    "rst",
    "sh",
    "sql",
    "svg",
    "tar",
    "tcl",
    "tmpl",
    "toml",
    "ts",
    "ttf",
    "txt",
    "woff",
    "woff2",
    "xml",
    "xz",
    "yaml",
    "yml",
    "zip",
    "zst",
];

fn not_executable(path: &str) -> bool {
    Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| NOT_EXECUTABLE.iter().any(|n| e.eq_ignore_ascii_case(n)))
}

/// Whether the scan looks into `entry`, a file no extractor wants by name,
/// for embedded build info.
fn sniffed(entry: &fs_err::DirEntry, vpath: &str, want: &Want<'_>) -> bool {
    use std::os::unix::fs::PermissionsExt;
    // A stat per file is most of a tree walk's time: files whose name says
    // they are no executable are not looked at.
    if not_executable(vpath) {
        return false;
    }
    entry
        .metadata()
        .is_ok_and(|m| sniffs(vpath, m.len(), m.permissions().mode(), want))
}

/// The files a walk of the folder under `root` reads for its inventory,
/// found as [`Walk`] finds them (the same trees left out, the same names
/// wanted, the same executables looked into) without reading any: what a
/// watcher follows to tell that the folder's software changed. What only a
/// visitor reads (the secret scan) is not among them.
pub(super) fn inventory_files(
    root: &Path,
    dir: &Path,
    want: &Want<'_>,
    skipped: &[super::scope::Skipped],
    depth: usize,
    out: &mut Vec<std::path::PathBuf>,
) {
    if depth > 64 {
        return;
    }
    let Ok(entries) = fs_err::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let vpath = format!(
            "/{}",
            path.strip_prefix(root).unwrap_or(&path).to_string_lossy()
        );
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if !super::scope::Scope::excludes(skipped, &vpath) {
                inventory_files(root, &path, want, skipped, depth + 1, out);
            }
        } else if kind.is_file() && (want(&vpath) || sniffed(&entry, &vpath, want)) {
            out.push(path);
        }
    }
}

/// A walk of a folder: where it starts, what it keeps and what it skips.
pub(super) struct Walk<'a> {
    pub(super) root: &'a Path,
    pub(super) opts: &'a Options,
    pub(super) want: &'a Want<'a>,
    /// Trees not walked at all.
    pub(super) skipped: &'a [super::scope::Skipped],
}

impl Walk<'_> {
    pub(super) fn dir(&self, dir: &Path, out: &mut LayerFiles, depth: usize) -> Result<()> {
        let Walk {
            root,
            opts,
            want,
            skipped,
        } = *self;
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
                    unread: Some(crate::Unread::of_path(&dir.display().to_string())),
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
        let mut subdirs = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            let Ok(meta) = entry.file_type() else {
                continue;
            };
            let vpath = format!("/{rel}");
            // A skipped tree is not walked at all (`/proc` on a live root).
            if meta.is_dir() && super::scope::Scope::excludes(skipped, &vpath) {
                continue;
            }
            let unread_kind = crate::Unread::of_path(&vpath);
            if meta.is_symlink() {
                // A package database or lockfile kept elsewhere in the root
                // and linked to (`/var/lib/dpkg/status -> /data/status`) is
                // read where the link leads, inside the root only.
                if want(&vpath) {
                    match linked_file(self.root, &vpath, self.opts.limits.max_file_bytes) {
                        Ok(data) => out.files.push((vpath.clone(), data)),
                        Err(why) => out.warnings.push(Warning {
                            path: vpath.clone(),
                            line: None,
                            message: format!("a symbolic link {why}; not read"),
                            unread: Some(unread_kind),
                        }),
                    }
                }
                if let Ok(t) = fs_err::read_link(&path) {
                    out.symlinks.push((vpath, t.to_string_lossy().into_owned()));
                }
            } else if meta.is_dir() {
                subdirs.push(path);
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
                            unread: Some(unread_kind),
                        }),
                    }
                }
            } else if meta.is_file() && !want(&vpath) {
                if sniffed(&entry, &vpath, want) {
                    super::binary::from_file(&path, &vpath, &mut out.files);
                }
            } else if meta.is_file() && crate::extract::java::is_archive(&vpath) {
                // Read by seeking to its central directory and the entries the
                // Java extractor reads, whatever the archive's size.
                if let Some(v) = &opts.visitor {
                    v.0.seen(None, &vpath);
                }
                match fs_err::File::open(&path) {
                    Ok(f) => {
                        let mut skipped = Vec::new();
                        let reduced =
                            super::jar::reduce(std::io::BufReader::new(f), &vpath, 0, &mut skipped);
                        super::keep_jar(
                            &vpath,
                            reduced,
                            skipped,
                            &mut out.files,
                            &mut out.warnings,
                        );
                    }
                    Err(e) => out.warnings.push(Warning {
                        path: vpath,
                        line: None,
                        message: e.to_string(),
                        unread: Some(unread_kind),
                    }),
                }
            } else if meta.is_file() {
                let size = entry.metadata().map_or(0, |m| m.len());
                if size > opts.limits.max_file_bytes {
                    out.warnings.push(Warning {
                        path: vpath,
                        line: None,
                        message: "over the file size limit; skipped".into(),
                        unread: Some(unread_kind),
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
                        unread: Some(unread_kind),
                    }),
                }
            }
        }
        // Subfolders are walked side by side on the current rayon pool (the
        // walk is mostly system calls), their findings merged in name order.
        let walked: Vec<Result<LayerFiles>> = {
            use rayon::prelude::*;
            subdirs
                .par_iter()
                .map(|d| {
                    let mut sub = LayerFiles::default();
                    self.dir(d, &mut sub, depth + 1).map(|()| sub)
                })
                .collect()
        };
        for sub in walked {
            let sub = sub?;
            out.files.extend(sub.files);
            out.symlinks.extend(sub.symlinks);
            out.warnings.extend(sub.warnings);
        }
        Ok(())
    }
}

/// The content of the regular file the symbolic link at `vpath` leads to,
/// followed as the root's own system would follow it: an absolute target
/// from `root`, a relative one from the link's folder. Never outside
/// `root`, whatever the links on the way (the file found is checked to be
/// under the root once every link is resolved). `Err`: why not, as words
/// that follow "a symbolic link".
fn linked_file(root: &Path, vpath: &str, max_bytes: u64) -> std::result::Result<Vec<u8>, String> {
    let mut at = vpath.to_owned();
    for _ in 0..40 {
        let host = root.join(at.trim_start_matches('/'));
        let meta = fs_err::symlink_metadata(&host).map_err(|e| format!("to {at}: {e}"))?;
        if meta.file_type().is_symlink() {
            let target = fs_err::read_link(&host).map_err(|e| format!("to {at}: {e}"))?;
            let target = target.to_string_lossy();
            let base = if target.starts_with('/') {
                ""
            } else {
                at.rsplit_once('/').map_or("", |(d, _)| d)
            };
            at = crate::fsview::normalize(&format!("{base}/{target}"))
                .ok_or_else(|| format!("to {target}, which leads out of the root"))?;
            continue;
        }
        let inside = fs_err::canonicalize(&host)
            .ok()
            .zip(fs_err::canonicalize(root).ok())
            .is_some_and(|(file, root)| file.starts_with(root));
        if !inside {
            return Err(format!("to {at}, which leads out of the root"));
        }
        if !meta.is_file() {
            return Err(format!("to {at}, which is not a regular file"));
        }
        if meta.len() > max_bytes {
            return Err(format!("to {at}, over the file size limit"));
        }
        return fs_err::read(&host).map_err(|e| format!("to {at}: {e}"));
    }
    Err("chain of more than 40 links".to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::scope::Scope;

    /// The files a watcher follows are those the scan reads: wanted names
    /// and executables with build info, not other files, not skipped trees.
    #[test]
    fn inventory_files_are_what_the_scan_reads() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let write = |rel: &str, data: &[u8]| {
            let p = root.join(rel);
            fs_err::create_dir_all(p.parent().unwrap()).unwrap();
            fs_err::write(&p, data).unwrap();
            p
        };
        let meta = write(
            "usr/lib/python3/dist-packages/requests-2.19.0.dist-info/METADATA",
            b"Metadata-Version: 2.1\nName: requests\nVersion: 2.19.0\n",
        );
        let lock = write("srv/app/package-lock.json", b"{}");
        write("home/u/notes.txt", b"remember");
        write("opt/skipped/package-lock.json", b"{}");
        // An executable without build info is looked into by the scan (it
        // cannot tell before reading), so it is followed too.
        let tool = write("usr/local/bin/tool", &[0_u8; 2048]);
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs_err::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let scope = Scope {
            skip: vec!["/opt/skipped".into()],
            include: Vec::new(),
        };
        let found = super::super::inventory_files(root, &scope);
        assert_eq!(found, vec![lock.clone(), meta.clone(), tool]);
        // What the scan reads of the same tree, by path.
        let opts = super::super::Options {
            scope,
            ..Default::default()
        };
        let (_, view, _) = super::super::open(root, &opts).unwrap();
        for f in [&lock, &meta] {
            let rel = format!("/{}", f.strip_prefix(root).unwrap().display());
            assert!(view.read(&rel).is_some(), "{rel} not read by the scan");
        }
        assert!(view.read("/opt/skipped/package-lock.json").is_none());
        assert!(view.read("/home/u/notes.txt").is_none());
    }
}
