//! Folders, plain or root filesystems (a live one included), walked on disk.

use std::path::Path;

use super::{Options, Want, keep_build_info, sniffs};
use crate::fsview::LayerFiles;
use crate::{Error, Result, Warning};

/// Folders never walked on a live root filesystem.
const SKIP_ON_ROOT: &[&str] = &["proc", "sys", "dev", "run", "tmp"];

pub(super) fn walk_dir(
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
        let unread_kind = crate::Unread::of_path(&vpath);
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
                        unread: Some(unread_kind),
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
    Ok(())
}
