//! Build info embedded in executables (Go's module list, cargo-auditable's
//! dependency list), read with bounded memory whatever the executable's size.
//!
//! An executable is parsed by its headers (`object`, ELF, Mach-O and PE) and
//! only the sections that hold build info are loaded: `.go.buildinfo` /
//! `__go_buildinfo` (Go 1.13+, its module list inline since Go 1.18), Go's
//! `.data` on Windows, and `.dep-v0` (cargo-auditable's zlib-compressed JSON).
//! A file on disk is read where those headers and sections are, nothing else;
//! a stream (a tar or zip entry, which cannot seek) is held in memory up to
//! [`IN_MEMORY`] and spooled to a temporary file beyond, so a 600 MB provider
//! binary costs disk, not memory. Most executables (C programs, shared
//! libraries) are rejected after their headers.

use std::io::Read;
use std::path::Path;

use object::{Object, ObjectSection, ReadRef};

use crate::extract::{auditable, gobinary};

/// The largest stream held in memory to be parsed; larger ones are spooled.
const IN_MEMORY: u64 = 32 << 20;
/// The largest cargo-auditable JSON inflated (its own default limit).
const MAX_AUDITABLE_JSON: u64 = 8 << 20;
/// The largest section read for build info.
const MAX_SECTION: u64 = 64 << 20;

/// A reader that refuses any single read over [`MAX_SECTION`]: `object`
/// reads what headers ask for (a section header table, a string table), and
/// a crafted header may ask for gigabytes of a sparse file.
#[derive(Clone, Copy)]
struct Bounded<R>(R);

impl<'a, R: ReadRef<'a>> ReadRef<'a> for Bounded<R> {
    fn len(self) -> Result<u64, ()> {
        self.0.len()
    }

    fn read_bytes_at(self, offset: u64, size: u64) -> Result<&'a [u8], ()> {
        if size > MAX_SECTION {
            return Err(());
        }
        self.0.read_bytes_at(offset, size)
    }

    fn read_bytes_at_until(
        self,
        range: std::ops::Range<u64>,
        delimiter: u8,
    ) -> Result<&'a [u8], ()> {
        let end = range.end.min(range.start.saturating_add(MAX_SECTION));
        self.0.read_bytes_at_until(range.start..end, delimiter)
    }
}

/// The first bytes of the executable formats Vigia reads build info from.
#[must_use]
pub(super) fn looks_executable(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF")
        || head.starts_with(b"MZ")
        || matches!(
            head.get(..4),
            Some(
                [0xfe, 0xed, 0xfa, 0xce | 0xcf]
                    | [0xce | 0xcf, 0xfa, 0xed, 0xfe]
                    | [0xca, 0xfe, 0xba, 0xbe]
            )
        )
}

/// The build info of an executable whose bytes `data` gives access to:
/// (the synthetic path suffix of its extractor, the payload).
fn sniff<'a, R: ReadRef<'a>>(data: R) -> Option<(&'static str, Vec<u8>)> {
    let file = object::File::parse(Bounded(data)).ok()?;
    let section = |name: &str| -> Option<&'a [u8]> {
        let s = file.section_by_name(name)?;
        (s.size() <= MAX_SECTION).then(|| s.data().ok()).flatten()
    };
    for name in [".go.buildinfo", "__go_buildinfo"] {
        if let Some(bytes) = section(name) {
            return gobinary::sniff(bytes).map(|p| (gobinary::SUFFIX, p));
        }
    }
    if let Some(bytes) = section(".dep-v0") {
        let mut json = Vec::new();
        flate2::read::ZlibDecoder::new(bytes)
            .take(MAX_AUDITABLE_JSON)
            .read_to_end(&mut json)
            .ok()?;
        return Some((auditable::SUFFIX, json));
    }
    // Go on Windows keeps its build info in `.data`.
    if file.format() == object::BinaryFormat::Pe {
        return section(".data")
            .and_then(gobinary::sniff)
            .map(|p| (gobinary::SUFFIX, p));
    }
    None
}

fn keep(path: &str, found: Option<(&'static str, Vec<u8>)>, files: &mut Vec<(String, Vec<u8>)>) {
    if let Some((suffix, payload)) = found {
        files.push((format!("{path}{suffix}"), payload));
    }
}

/// Reads the build info of the executable file at `disk`, kept under
/// `path`: only its headers and build-info sections are read.
pub(super) fn from_file(disk: &Path, path: &str, files: &mut Vec<(String, Vec<u8>)>) {
    let Ok(file) = fs_err::File::open(disk) else {
        return;
    };
    let cache = object::ReadCache::new(file.into_parts().0);
    keep(path, sniff(&cache), files);
}

/// Reads the build info of an executable streamed by `data` (`size` bytes),
/// kept under `path`: in memory up to [`IN_MEMORY`], spooled to a temporary
/// file beyond. Errors reading the stream are the caller's (the archive is
/// truncated or corrupt).
pub(super) fn from_stream(
    data: &mut dyn Read,
    size: u64,
    path: &str,
    files: &mut Vec<(String, Vec<u8>)>,
    warnings: &mut Vec<crate::Warning>,
) -> std::io::Result<()> {
    if size <= IN_MEMORY {
        let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        data.read_to_end(&mut buf)?;
        keep(path, sniff(buf.as_slice()), files);
        return Ok(());
    }
    // A temporary file that cannot be made costs this executable's build
    // info, named, not the scan.
    let Ok(mut spool) = tempfile::tempfile() else {
        std::io::copy(data, &mut std::io::sink())?;
        warnings.push(crate::Warning {
            path: path.to_owned(),
            line: None,
            message: "cannot spool it to a temporary file; its build info was not read".into(),
            unread: Some(crate::Unread::Binary),
        });
        return Ok(());
    };
    std::io::copy(data, &mut spool)?;
    let cache = object::ReadCache::new(spool);
    keep(path, sniff(&cache), files);
    Ok(())
}
