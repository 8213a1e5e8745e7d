//! Function zips.

use std::io::{BufReader, Read};
use std::path::Path;

use super::{Options, Want, io_err};
use crate::fsview::{FsView, LayerFiles, normalize};
use crate::{Result, Warning, invalid};

pub(super) fn zip_tree(target: &Path, opts: &Options, want: &Want<'_>) -> Result<FsView> {
    let name = target.display().to_string();
    let file = fs_err::File::open(target).map_err(io_err(&name))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| invalid(&name, format!("not a valid zip archive: {e}")))?;
    let mut layer = LayerFiles::default();
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        // Opened twice: the entry borrows the archive, and naming an entry
        // that cannot be opened needs the archive again.
        if let Some(e) = zip.by_index(i).err() {
            // Named as the archive names it (an encrypted entry's name is
            // readable even when its content is not).
            let entry = zip
                .by_index_raw(i)
                .ok()
                .and_then(|r| r.name().ok().map(std::borrow::Cow::into_owned));
            let wanted = entry
                .as_deref()
                .and_then(normalize)
                .is_some_and(|p| want(&p));
            let label = entry.unwrap_or_else(|| format!("entry #{i}"));
            layer.warnings.push(Warning {
                path: format!("{name}:{label}"),
                line: None,
                message: format!("unreadable entry: {e}"),
                unread: wanted.then(|| crate::Unread::of_path(&label)),
            });
            continue;
        }
        let Ok(mut entry) = zip.by_index(i) else {
            continue;
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
                unread: None,
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
                        // Not an inventory file: the secret scan's gap, named here.
                        unread: None,
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
                unread: Some(crate::Unread::of_path(&format!("{name}:{path}"))),
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
                unread: Some(crate::Unread::of_path(&format!("{name}:{path}"))),
            }),
            Err(e) => layer.warnings.push(Warning {
                path: format!("{name}:{path}"),
                line: None,
                message: format!("corrupt entry: {e}"),
                unread: Some(crate::Unread::of_path(&format!("{name}:{path}"))),
            }),
        }
    }
    let mut view = FsView::default();
    view.apply(layer);
    Ok(view)
}
