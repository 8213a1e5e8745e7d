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
                use std::os::unix::fs::PermissionsExt;
                // A stat per file is most of a tree walk's time: files whose name
                // says they are no executable are not looked at.
                if not_executable(&vpath) {
                    continue;
                }
                let Ok(m) = entry.metadata() else { continue };
                if sniffs(&vpath, m.len(), m.permissions().mode(), want) {
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
