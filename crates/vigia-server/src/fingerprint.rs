//! What a watched path holds, told by content: the SHA-256 of its files
//! (of a folder, the files that say what it holds), so that a resource is
//! scanned again when its content changes, even with its size and time
//! kept, and not when only its modification time moves. A file is read
//! again only when its size or modification time moved since it was last
//! hashed: a look at an unchanged folder only reads metadata.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest as _, Sha256};

/// The files whose content makes a watched resource: a function's zip,
/// manifest and layers; an OCI layout's index (the rest is content-
/// addressed under it); otherwise the file itself. A root filesystem
/// folder is [`Fingerprints::tree`]'s.
fn parts(path: &Path) -> Vec<PathBuf> {
    if path.is_file() && crate::functions::manifest_path(path).is_file() {
        let mut out = vec![path.to_path_buf(), crate::functions::manifest_path(path)];
        if let Ok(Some(m)) = crate::functions::read(path) {
            out.extend(m.layers.iter().map(|l| l.path.clone()));
        }
        return out;
    }
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    if path.join("oci-layout").is_file() {
        return vec![path.join("index.json")];
    }
    Vec::new()
}

/// An OCI layout's blobs (`blobs/<algorithm>/<digest>`) and their sizes,
/// sorted. A blob is named by its digest, so its name and size stand for
/// its content without reading it: a layout copied blob by blob (a layer
/// still missing, or cut short, when the first scan failed) changes as the
/// copy completes, and is scanned again then.
fn blobs(layout: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let Ok(algorithms) = fs_err::read_dir(layout.join("blobs")) else {
        return out;
    };
    for algorithm in algorithms.filter_map(Result::ok) {
        let Ok(entries) = fs_err::read_dir(algorithm.path()) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            if let Ok(m) = e.metadata() {
                out.push((
                    format!(
                        "blobs/{}/{}",
                        algorithm.file_name().to_string_lossy(),
                        e.file_name().to_string_lossy()
                    ),
                    m.len(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// A root filesystem folder's package databases, by their usual paths.
fn package_databases(path: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = ["var/lib/dpkg/status", "lib/apk/db/installed"]
        .iter()
        .map(|f| path.join(f))
        .filter(|p| p.is_file())
        .collect();
    // An RPM database is a few files (Berkeley DB, NDB or SQLite).
    if let Ok(entries) = fs_err::read_dir(path.join("var/lib/rpm")) {
        let mut rpm: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        rpm.sort();
        out.extend(rpm);
    }
    out
}

/// How long ago a root filesystem folder's last walk must be, in multiples
/// of the time it took, before the folder is walked again: a small tree is
/// walked at every look, a whole machine's (a few hundred milliseconds of
/// system calls) every few seconds, so that watching it takes at most
/// about 5% of a core. Between walks the files found last are still
/// stamped at every look: a file changed is seen at once, a file added or
/// removed at the next walk.
const WALK_AGAIN_AFTER: u32 = 20;

/// A root filesystem folder's files as its last walk found them.
struct Tree {
    files: Vec<PathBuf>,
    walked: std::time::Instant,
    took: std::time::Duration,
    used: bool,
}

/// Size, modification time, inode and status-change time of a file: when
/// none moved, its content is taken as read before. The status-change time
/// is the kernel's and no program sets it: content rewritten in place with
/// its size and modification time put back (`cp -p`, `rsync -t
/// --inplace`) still moves it.
fn stamp(path: &Path) -> Option<String> {
    let m = fs_err::metadata(path).ok()?;
    let t = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    #[cfg(unix)]
    let kernel = {
        use std::os::unix::fs::MetadataExt as _;
        format!("{}:{}.{}", m.ino(), m.ctime(), m.ctime_nsec())
    };
    #[cfg(not(unix))]
    let kernel = String::new();
    Some(format!("{}:{t}:{kernel}", m.len()))
}

fn sha256_of(path: &Path) -> Option<String> {
    let mut file = fs_err::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0_u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Some(hex::encode(hasher.finalize()))
}

/// A file's hash, the stamp it was computed at, and whether it was asked
/// for since the last [`Fingerprints::sweep`].
struct Known {
    stamp: String,
    hash: String,
    used: bool,
}

/// Content fingerprints of watched paths, with each file's hash kept
/// beside the stamp it was computed at.
#[derive(Default)]
pub struct Fingerprints {
    known: Mutex<HashMap<PathBuf, Known>>,
    trees: Mutex<HashMap<PathBuf, Tree>>,
}

impl Fingerprints {
    /// The fingerprint of what `path` holds (`sha256:…`), or `None` when
    /// nothing in it can be read. Reads files: call it off the async
    /// runtime's threads.
    pub fn of(&self, path: &Path) -> Option<String> {
        let mut files = parts(path);
        if files.is_empty() && path.is_dir() {
            files = self.tree(path);
        }
        if files.is_empty() {
            return None;
        }
        let mut whole = Sha256::new();
        for file in &files {
            let Some(stamp) = stamp(file) else {
                // A part gone (a layer the manifest names): that is its state.
                whole.update(format!("{}\0missing\n", file.display()));
                continue;
            };
            let cached = self.known.lock().ok().and_then(|mut k| {
                let known = k.get_mut(file).filter(|c| c.stamp == stamp)?;
                known.used = true;
                Some(known.hash.clone())
            });
            let hash = if let Some(h) = cached {
                h
            } else {
                let Some(hash) = sha256_of(file) else {
                    // Unreadable (permissions): that is its state, as for a
                    // part gone; not kept, so it is tried again.
                    whole.update(format!("{}\0unreadable\n", file.display()));
                    continue;
                };
                if let Ok(mut k) = self.known.lock() {
                    k.insert(
                        file.clone(),
                        Known {
                            stamp,
                            hash: hash.clone(),
                            used: true,
                        },
                    );
                }
                hash
            };
            let name = file.strip_prefix(path).unwrap_or(file);
            whole.update(format!("{}\0{hash}\n", name.display()));
        }
        if path.join("oci-layout").is_file() {
            for (name, size) in blobs(path) {
                whole.update(format!("{name}\0{size}\n"));
            }
        }
        Some(format!("sha256:{}", hex::encode(whole.finalize())))
    }

    /// What makes a root filesystem folder: its package databases and
    /// every other file a scan of it reads for its inventory (language
    /// packages' metadata, lockfiles, archives, executables with build
    /// info), as [`vigia_inventory::source::inventory_files`] finds them.
    fn tree(&self, path: &Path) -> Vec<PathBuf> {
        let walked = self.trees.lock().ok().and_then(|mut t| {
            let tree = t.get_mut(path)?;
            tree.used = true;
            (tree.walked.elapsed() < tree.took * WALK_AGAIN_AFTER).then(|| tree.files.clone())
        });
        let found = walked.unwrap_or_else(|| {
            let start = std::time::Instant::now();
            let files = vigia_inventory::source::inventory_files(
                path,
                &vigia_inventory::source::scope::Scope::default(),
            );
            if let Ok(mut t) = self.trees.lock() {
                t.insert(
                    path.to_path_buf(),
                    Tree {
                        files: files.clone(),
                        walked: start,
                        took: start.elapsed(),
                        used: true,
                    },
                );
            }
            files
        });
        let mut out: std::collections::BTreeSet<PathBuf> =
            package_databases(path).into_iter().collect();
        out.extend(found);
        out.into_iter().collect()
    }

    /// Forgets the files and folders not asked for since the last sweep
    /// (their resources are no longer watched).
    pub fn sweep(&self) {
        if let Ok(mut k) = self.known.lock() {
            k.retain(|_, c| std::mem::take(&mut c.used));
        }
        if let Ok(mut t) = self.trees.lock() {
            t.retain(|_, c| std::mem::take(&mut c.used));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_not_time_tells_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("image.tar");
        fs_err::write(&f, b"first content").unwrap();
        let prints = Fingerprints::default();
        let a = prints.of(&f).unwrap();
        assert!(a.starts_with("sha256:"));
        // Same content written again (its time moves): the same print.
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs_err::write(&f, b"first content").unwrap();
        assert_eq!(prints.of(&f).unwrap(), a);
        // Other content of the same size, its modification time put back:
        // another print.
        let time = fs_err::metadata(&f).unwrap().modified().unwrap();
        fs_err::write(&f, b"other content").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(time)
            .unwrap();
        assert_eq!(fs_err::metadata(&f).unwrap().modified().unwrap(), time);
        let b = prints.of(&f).unwrap();
        assert_ne!(a, b);
        // A fresh process computes the same.
        assert_eq!(Fingerprints::default().of(&f).unwrap(), b);
        // Asked for since the last sweep: kept; then not: forgotten.
        prints.sweep();
        assert_eq!(prints.known.lock().unwrap().len(), 1);
        prints.sweep();
        assert!(prints.known.lock().unwrap().is_empty());
        // A folder is its package database.
        let root = dir.path().join("host");
        fs_err::create_dir_all(root.join("var/lib/dpkg")).unwrap();
        assert!(prints.of(&root).is_none());
        fs_err::write(root.join("var/lib/dpkg/status"), b"Package: a\n").unwrap();
        let c = prints.of(&root).unwrap();
        fs_err::write(root.join("var/lib/dpkg/status"), b"Package: b\n").unwrap();
        assert_ne!(prints.of(&root).unwrap(), c);
    }

    /// An OCI layout is its index and its blobs: a blob that arrives after
    /// the index (a layout copied blob by blob), or grows to its size, is a
    /// change; a blob's time moving is not.
    #[test]
    fn an_image_layout_is_its_index_and_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let layout = dir.path().join("image");
        let blobs = layout.join("blobs/sha256");
        fs_err::create_dir_all(&blobs).unwrap();
        fs_err::write(
            layout.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        fs_err::write(layout.join("index.json"), b"{}").unwrap();
        fs_err::write(blobs.join("aa"), b"manifest").unwrap();
        let prints = Fingerprints::default();
        let a = prints.of(&layout).unwrap();
        fs_err::write(blobs.join("bb"), b"layer, the first ha").unwrap();
        let b = prints.of(&layout).unwrap();
        assert_ne!(a, b);
        fs_err::write(blobs.join("bb"), b"layer, the first half and the second").unwrap();
        let c = prints.of(&layout).unwrap();
        assert_ne!(b, c);
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs_err::write(blobs.join("bb"), b"layer, the first half and the second").unwrap();
        assert_eq!(prints.of(&layout).unwrap(), c);
    }

    /// A root filesystem folder is every file its scan reads: a language
    /// package installed beside the OS packages is a change; a file no
    /// extractor reads, or a time moved, is not.
    #[test]
    fn a_root_filesystem_is_what_its_scan_reads() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("host");
        fs_err::create_dir_all(root.join("etc")).unwrap();
        fs_err::create_dir_all(root.join("var/lib/dpkg")).unwrap();
        fs_err::write(root.join("var/lib/dpkg/status"), b"Package: a\n").unwrap();
        let prints = Fingerprints::default();
        let walk = std::time::Duration::from_millis(50);
        let a = prints.of(&root).unwrap();
        // Notes nobody scans: the same.
        fs_err::create_dir_all(root.join("home/u")).unwrap();
        fs_err::write(root.join("home/u/notes.txt"), b"remember").unwrap();
        std::thread::sleep(walk);
        assert_eq!(prints.of(&root).unwrap(), a);
        // A Python package installed: another print.
        let meta = root.join("usr/lib/python3/dist-packages/requests-2.19.0.dist-info/METADATA");
        fs_err::create_dir_all(meta.parent().unwrap()).unwrap();
        fs_err::write(
            &meta,
            b"Metadata-Version: 2.1\nName: requests\nVersion: 2.19.0\n",
        )
        .unwrap();
        std::thread::sleep(walk);
        let b = prints.of(&root).unwrap();
        assert_ne!(b, a);
        assert_eq!(Fingerprints::default().of(&root).unwrap(), b);
        // Its time moved, its content not: the same.
        let time = fs_err::metadata(&meta).unwrap().modified().unwrap();
        std::fs::File::options()
            .write(true)
            .open(&meta)
            .unwrap()
            .set_modified(time + std::time::Duration::from_secs(60))
            .unwrap();
        assert_eq!(prints.of(&root).unwrap(), b);
        // A walk that took long is not made again at once: a file added is
        // seen later, a file the last walk found changed is seen now.
        prints.trees.lock().unwrap().get_mut(&root).unwrap().took =
            std::time::Duration::from_secs(3600);
        let lock = root.join("srv/app/package-lock.json");
        fs_err::create_dir_all(lock.parent().unwrap()).unwrap();
        fs_err::write(&lock, b"{\"lockfileVersion\": 3, \"packages\": {}}").unwrap();
        assert_eq!(prints.of(&root).unwrap(), b);
        fs_err::write(
            &meta,
            b"Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n",
        )
        .unwrap();
        let c = prints.of(&root).unwrap();
        assert_ne!(c, b);
        prints.trees.lock().unwrap().get_mut(&root).unwrap().took = std::time::Duration::ZERO;
        assert_ne!(prints.of(&root).unwrap(), c);
        // Not asked for: forgotten with its files.
        prints.sweep();
        prints.sweep();
        assert!(prints.trees.lock().unwrap().is_empty());
    }
}
