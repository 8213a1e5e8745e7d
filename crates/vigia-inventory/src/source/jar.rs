//! Java archives reduced, as they are read, to what the Java extractor reads:
//! each `META-INF/maven/**/pom.properties`, the `MANIFEST.MF`, and nested
//! archives reduced in turn. A 60 MB shaded jar becomes a few kilobytes kept
//! until extraction, instead of 60 MB held beside every other jar of a tree
//! (`vigia sbom /` held 250 MB of jars at once), and a jar over the file size
//! limit is read anyway: its central directory is read by seeking (on disk)
//! or from a spooled copy (a stream), never whole in memory.
//!
//! The reduced archive is a zip of the kept entries, stored, so the extractor
//! reads it as it reads any jar.

use std::io::{Cursor, Read, Seek, Write};

use crate::extract::java::{MAX_DEPTH, MAX_NESTED_BYTES, is_archive};

/// The largest stream held in memory to be reduced; larger ones are spooled.
const IN_MEMORY: u64 = 32 << 20;
/// The largest `pom.properties` or `MANIFEST.MF` kept.
const MAX_TEXT: u64 = 64 << 10;
/// The most a reduced archive may hold, nested archives included: a jar of
/// thousands of inflated `pom.properties` cannot fill memory.
const MAX_REDUCED: u64 = 8 << 20;

/// A nested archive that was not read, and why: (entry path, reason).
pub(super) type Skipped = Vec<(String, String)>;

fn wanted_text(name: &str) -> bool {
    (name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties"))
        || name.eq_ignore_ascii_case("META-INF/MANIFEST.MF")
}

/// Reduces the archive `r` (named `path` in messages about nested archives).
pub(super) fn reduce<R: Read + Seek>(
    r: R,
    path: &str,
    depth: usize,
    skipped: &mut Skipped,
) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipArchive::new(r).map_err(|e| format!("not a valid Java archive: {e}"))?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut kept: u64 = 0;
    for i in 0..zip.len() {
        let Ok(mut entry) = zip.by_index(i) else {
            continue;
        };
        let Ok(name) = entry.name().map(std::borrow::Cow::into_owned) else {
            continue;
        };
        let (size, packed) = (entry.size(), entry.compressed_size().max(1));
        let data = if wanted_text(&name) {
            if size / packed > 1000 {
                continue;
            }
            let mut text = Vec::new();
            if (&mut entry).take(MAX_TEXT).read_to_end(&mut text).is_err() {
                continue;
            }
            // Masked here, before the entry's checksum is computed: masking
            // the reduced archive later would break it.
            crate::redact::userinfo(&mut text);
            text
        } else if is_archive(&name) && depth < MAX_DEPTH {
            if size > MAX_NESTED_BYTES || size / packed > 1000 {
                skipped.push((
                    format!("{path}!{name}"),
                    "nested archive over the size limits; skipped".into(),
                ));
                continue;
            }
            let mut inner = Vec::new();
            if (&mut entry)
                .take(MAX_NESTED_BYTES)
                .read_to_end(&mut inner)
                .is_err()
            {
                continue;
            }
            let nested = format!("{path}!{name}");
            match reduce(Cursor::new(inner), &nested, depth + 1, skipped) {
                Ok(r) => r,
                Err(why) => {
                    skipped.push((nested, why));
                    continue;
                }
            }
        } else {
            continue;
        };
        kept += data.len() as u64;
        if kept > MAX_REDUCED {
            return Err(format!(
                "its package metadata is over {MAX_REDUCED} bytes (an archive bomb?); not read"
            ));
        }
        out.start_file(name, stored).map_err(|e| e.to_string())?;
        out.write_all(&data).map_err(|e| e.to_string())?;
    }
    Ok(out.finish().map_err(|e| e.to_string())?.into_inner())
}

/// Reduces an archive streamed by `data` (`size` bytes): in memory up to
/// [`IN_MEMORY`], spooled to a temporary file beyond.
pub(super) fn reduce_stream(
    data: &mut dyn Read,
    size: u64,
    path: &str,
    skipped: &mut Skipped,
) -> std::io::Result<Result<Vec<u8>, String>> {
    if size <= IN_MEMORY {
        let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        data.read_to_end(&mut buf)?;
        return Ok(reduce(Cursor::new(buf), path, 0, skipped));
    }
    // A temporary file that cannot be made fails this archive, not the scan.
    let Ok(mut spool) = tempfile::tempfile() else {
        std::io::copy(data, &mut std::io::sink())?;
        return Ok(Err("cannot spool it to a temporary file; not read".into()));
    };
    std::io::copy(data, &mut spool)?;
    spool.rewind()?;
    Ok(reduce(std::io::BufReader::new(spool), path, 0, skipped))
}
