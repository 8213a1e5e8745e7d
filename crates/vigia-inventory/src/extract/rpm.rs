//! RPM packages from the SQLite package database (`rpmdb.sqlite`, rpm 4.16+:
//! RHEL 9, Fedora, Rocky, Alma) and the Berkeley DB one (`Packages`: RHEL 7/8,
//! CentOS, Amazon Linux 2). Each holds one rpm header blob per package, read
//! here: a count, a data length, 16-byte index entries (tag, type, offset,
//! count) and a data store.
//!
//! Written by hand: no maintained crate reads these without linking librpm or
//! Berkeley DB, and only a small, stable part is needed: Berkeley DB's hash
//! pages and overflow chains, read-only, as rpm's own `bdb_ro` backend does.
//! ndb (`Packages.db`, openSUSE and SLES 15) is reported as not read.

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

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The header blobs of a Berkeley DB hash database (`Packages`): hash pages
/// hold key/value pairs; rpm's keys are package numbers and its values, far
/// larger than a page, are overflow items (a chain of overflow pages).
fn bdb_blobs(data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    const HASH_MAGIC: u32 = 0x0006_1561;
    const P_HASH_UNSORTED: u8 = 2;
    const P_OVERFLOW: u8 = 7;
    const P_HASH: u8 = 13;
    const H_KEYDATA: u8 = 1;
    const H_OFFPAGE: u8 = 3;
    // Berkeley DB writes in the host's byte order: the magic tells which.
    let swapped = match (le32(data, 12), be32(data, 12)) {
        (Some(HASH_MAGIC), _) => false,
        (_, Some(HASH_MAGIC)) => true,
        _ => return Err("not a Berkeley DB hash database".into()),
    };
    let u32_at = |b: &[u8], at: usize| if swapped { be32(b, at) } else { le32(b, at) };
    let u16_at = |b: &[u8], at: usize| {
        let x: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(if swapped {
            u16::from_be_bytes(x)
        } else {
            u16::from_le_bytes(x)
        })
    };
    let page_size = usize::try_from(u32_at(data, 20).unwrap_or(0)).unwrap_or(0);
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(format!("implausible page size {page_size}"));
    }
    let page = |n: usize| data.get(n.checked_mul(page_size)?..(n + 1).checked_mul(page_size)?);
    let pages = data.len() / page_size;
    let last = usize::try_from(u32_at(data, 32).unwrap_or(0)).unwrap_or(usize::MAX);
    if last >= pages {
        return Err(format!(
            "the database is cut short: it has {pages} pages of {page_size} bytes, its header says {}",
            last.saturating_add(1)
        ));
    }
    let overflow = |mut pgno: usize, total: usize| -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(total.min(64 << 20));
        let mut hops = 0;
        while pgno != 0 && out.len() < total {
            hops += 1;
            let p = page(pgno)
                .filter(|_| hops <= pages)
                .ok_or("overflow chain leaves the file")?;
            if p[25] != P_OVERFLOW {
                return Err(format!("page {pgno} should be an overflow page"));
            }
            let used = usize::from(u16_at(p, 22).unwrap_or(0));
            out.extend_from_slice(p.get(26..26 + used).ok_or("overflow page overruns")?);
            pgno = usize::try_from(u32_at(p, 16).unwrap_or(0)).unwrap_or(0);
        }
        if out.len() < total {
            return Err("overflow chain is cut short".into());
        }
        out.truncate(total);
        Ok(out)
    };
    let mut blobs = Vec::new();
    for n in 1..pages {
        let Some(p) = page(n) else { break };
        if !matches!(p[25], P_HASH | P_HASH_UNSORTED) {
            continue;
        }
        let entries = usize::from(u16_at(p, 20).unwrap_or(0));
        // Items come in pairs: index 2k is the key, 2k + 1 its value; items
        // fill the page from its end, so an item runs to the previous one's start.
        let item = |i: usize| -> Option<&[u8]> {
            let off = usize::from(u16_at(p, 26 + 2 * i)?);
            let end = if i == 0 {
                page_size
            } else {
                usize::from(u16_at(p, 26 + 2 * (i - 1))?)
            };
            p.get(off..end)
        };
        for k in (1..entries).step_by(2) {
            // rpm keeps its next package number under key 0: not a package.
            if item(k - 1)
                .is_some_and(|key| key.len() == 5 && key[0] == H_KEYDATA && key[1..] == [0; 4])
            {
                continue;
            }
            let Some(off) = u16_at(p, 26 + 2 * k).map(usize::from) else {
                break;
            };
            let Some(&kind) = p.get(off) else { continue };
            match kind {
                H_OFFPAGE => {
                    let (Some(pgno), Some(len)) = (u32_at(p, off + 4), u32_at(p, off + 8)) else {
                        continue;
                    };
                    let (pgno, len) = (
                        usize::try_from(pgno).unwrap_or(0),
                        usize::try_from(len).unwrap_or(0),
                    );
                    blobs.push(overflow(pgno, len)?);
                }
                H_KEYDATA => {
                    if let Some(v) = item(k).and_then(|v| v.get(1..)) {
                        blobs.push(v.to_vec());
                    }
                }
                _ => {}
            }
        }
    }
    Ok(blobs)
}

fn sqlite_blobs(data: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    // SQLite reads files: the database goes to a private temporary file.
    let tmp = tempfile::NamedTempFile::new()
        .and_then(|mut f| std::io::Write::write_all(&mut f, data).map(|()| f))
        .map_err(|e| format!("cannot stage the database: {e}"))?;
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    rusqlite::Connection::open_with_flags(tmp.path(), flags)
        .and_then(|conn| {
            let mut stmt = conn.prepare("SELECT blob FROM Packages")?;
            let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0))?;
            rows.collect()
        })
        .map_err(|e| format!("not a readable rpm database: {e}"))
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
        2
    }
    fn wants(&self, path: &str) -> bool {
        matches!(
            path,
            "/var/lib/rpm/rpmdb.sqlite"
                | "/usr/lib/sysimage/rpm/rpmdb.sqlite"
                | "/var/lib/rpm/Packages.db"
                | "/usr/lib/sysimage/rpm/Packages.db"
                | "/var/lib/rpm/Packages"
                | "/usr/lib/sysimage/rpm/Packages"
        )
    }
    fn extract(&self, path: &str, data: &[u8], ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let warn = |found: &mut Found, message: String| {
            found.warnings.push(Warning {
                path: path.to_owned(),
                line: None,
                message,
                unread: Some(crate::Unread::Inventory),
            });
        };
        // `wants` accepts exactly these file names.
        let file = path.rsplit('/').next().unwrap_or(path);
        let blobs = if file == "rpmdb.sqlite" {
            sqlite_blobs(data)
        } else if file == "Packages.db" {
            // Debian's rpm cannot write ndb, so no reader could be checked
            // against a real database here: say so rather than guess.
            Err("ndb rpm databases (Packages.db: openSUSE, SLES 15) are not read yet; this resource's rpm packages are not listed".into())
        } else {
            bdb_blobs(data)
        };
        let blobs = match blobs {
            Ok(b) => b,
            Err(e) => {
                warn(&mut found, e);
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
                declared: false,
                dev: false,
                evidence: None,
                install_dir: None,
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
