//! RPM packages: the SQLite package database (`rpmdb.sqlite`, rpm 4.16+: RHEL 9,
//! Fedora, Rocky, Alma, openSUSE). Each row of `Packages` is an rpm header blob,
//! read here: a count, a data length, 16-byte index entries (tag, type, offset,
//! count) and a data store. The format is small and stable, and no maintained
//! crate reads it without also needing librpm.
//!
//! Berkeley DB (`Packages`) and ndb (`Packages.db`) databases of older releases
//! are not read yet; they are reported in the scan status.

use super::{Ctx, Extractor, Found, purl};
use crate::{Package, Warning};

pub(super) struct RpmDb;

const NAME: u32 = 1000;
const VERSION: u32 = 1001;
const RELEASE: u32 = 1002;
const EPOCH: u32 = 1003;
const LICENSE: u32 = 1014;
const ARCH: u32 = 1022;
const SOURCERPM: u32 = 1044;

#[derive(Debug, Default)]
struct Header {
    name: Option<String>,
    version: Option<String>,
    release: Option<String>,
    epoch: Option<u32>,
    arch: Option<String>,
    license: Option<String>,
    source_rpm: Option<String>,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn parse_header(blob: &[u8]) -> Option<Header> {
    let il = usize::try_from(be32(blob, 0)?).ok()?;
    let dl = usize::try_from(be32(blob, 4)?).ok()?;
    let data_start = il.checked_mul(16)?.checked_add(8)?;
    let data = blob.get(data_start..data_start.checked_add(dl)?)?;
    let mut h = Header::default();
    for i in 0..il {
        let e = 8 + i * 16;
        let (tag, ty, off) = (
            be32(blob, e)?,
            be32(blob, e + 4)?,
            usize::try_from(be32(blob, e + 8)?).ok()?,
        );
        let string = || {
            let rest = data.get(off..)?;
            let end = rest.iter().position(|&b| b == 0)?;
            Some(String::from_utf8_lossy(&rest[..end]).into_owned())
        };
        // Types: 4 = INT32, 6 = STRING, 9 = I18NSTRING (first string is the default).
        match (tag, ty) {
            (NAME, 6 | 9) => h.name = string(),
            (VERSION, 6 | 9) => h.version = string(),
            (RELEASE, 6 | 9) => h.release = string(),
            (EPOCH, 4) => h.epoch = be32(data, off),
            (ARCH, 6 | 9) => h.arch = string(),
            (LICENSE, 6 | 9) => h.license = string(),
            (SOURCERPM, 6 | 9) => h.source_rpm = string(),
            _ => {}
        }
    }
    Some(h)
}

/// `glibc-2.34-60.el9.src.rpm` → (`glibc`, `2.34-60.el9`).
fn split_source(src: &str) -> Option<(String, String)> {
    let stem = src
        .strip_suffix(".src.rpm")
        .or_else(|| src.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    Some((name.to_owned(), format!("{version}-{release}")))
}

impl Extractor for RpmDb {
    fn name(&self) -> &'static str {
        "os/rpm"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        matches!(
            path,
            "/var/lib/rpm/rpmdb.sqlite" | "/usr/lib/sysimage/rpm/rpmdb.sqlite"
        )
    }
    fn extract(&self, path: &str, data: &[u8], ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let warn = |found: &mut Found, message: String| {
            found.warnings.push(Warning {
                path: path.to_owned(),
                line: None,
                message,
            });
        };
        // SQLite reads files: the database goes to a private temporary file.
        let tmp = match tempfile::NamedTempFile::new()
            .and_then(|mut f| std::io::Write::write_all(&mut f, data).map(|()| f))
        {
            Ok(f) => f,
            Err(e) => {
                warn(&mut found, format!("cannot stage the database: {e}"));
                return found;
            }
        };
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let blobs: Result<Vec<Vec<u8>>, rusqlite::Error> =
            rusqlite::Connection::open_with_flags(tmp.path(), flags).and_then(|conn| {
                let mut stmt = conn.prepare("SELECT blob FROM Packages")?;
                let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
                rows.collect()
            });
        let blobs = match blobs {
            Ok(b) => b,
            Err(e) => {
                warn(&mut found, format!("not a readable rpm database: {e}"));
                return found;
            }
        };
        let (ns, distro) = match ctx.os {
            Some(os) => (os.id.clone(), format!("{}-{}", os.id, os.version_id)),
            None => ("redhat".to_owned(), String::new()),
        };
        for (i, blob) in blobs.iter().enumerate() {
            let Some(h) = parse_header(blob) else {
                warn(
                    &mut found,
                    format!("package header #{} is malformed; skipped", i + 1),
                );
                continue;
            };
            let (Some(name), Some(version), Some(release)) = (h.name, h.version, h.release) else {
                continue;
            };
            // The public key pseudo-packages are not software.
            if name == "gpg-pubkey" {
                continue;
            }
            let evr = match h.epoch {
                Some(e) if e > 0 => format!("{e}:{version}-{release}"),
                _ => format!("{version}-{release}"),
            };
            let epoch = h
                .epoch
                .filter(|e| *e > 0)
                .map(|e| e.to_string())
                .unwrap_or_default();
            let (source_name, source_version) = h
                .source_rpm
                .as_deref()
                .and_then(split_source)
                .map_or((None, None), |(n, v)| (Some(n), Some(v)));
            found.packages.push(Package {
                kind: "rpm".into(),
                purl: purl(
                    "rpm",
                    Some(&ns),
                    &name,
                    &format!("{version}-{release}"),
                    &[
                        ("arch", h.arch.as_deref().unwrap_or_default()),
                        ("epoch", &epoch),
                        ("distro", &distro),
                    ],
                ),
                name,
                version: evr,
                path: path.to_owned(),
                layer: None,
                source_name,
                source_version,
                arch: h.arch,
                license: h.license,
                found_by: self.name().into(),
            });
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_rpm_names() {
        assert_eq!(
            split_source("glibc-2.34-60.el9.src.rpm"),
            Some(("glibc".into(), "2.34-60.el9".into()))
        );
        assert_eq!(
            split_source("python3-pip-21.2.3-6.el9.src.rpm"),
            Some(("python3-pip".into(), "21.2.3-6.el9".into()))
        );
        assert_eq!(split_source("garbage"), None);
    }

    #[test]
    fn malformed_headers_are_none_not_panics() {
        assert!(parse_header(b"").is_none());
        assert!(parse_header(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1]).is_none());
        assert!(parse_header(&[0, 0, 0, 1, 0, 0, 0, 0]).is_none());
    }
}
