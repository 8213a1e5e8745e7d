//! Streaming parsers: each file becomes a stream of [`Item`]s handed to a sink one
//! at a time, so memory stays flat however large the feed (NVD's yearly files
//! hold hundreds of megabytes of JSON).
//!
//! A malformed record is skipped, counted and named in the [`ParseReport`]; only
//! a file that cannot be read at all (a truncated zip, a broken gzip stream) is an
//! error for the whole source.

use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use vigia_model::Osv;

use crate::catalog::SourceKind;
use crate::{Error, Result};

/// The largest single OSV record Vigia reads (the biggest real ones are ~2 MB);
/// a larger zip entry is reported as malformed instead of filling memory.
pub const MAX_RECORD_BYTES: u64 = 32 << 20;

/// The most other IDs (aliases, upstream and related) one OSV record may name.
/// Real records name at most a few hundred (a distribution advisory fixing
/// many CVEs); a record naming tens of thousands is absurd, and would make every
/// lookup of its alias group a query past the database's limits.
pub const MAX_RECORD_IDS: usize = 4096;

pub use vigia_model::feed::{EpssRow, Item, KevEntry, Malformed, NvdCvss};

/// What a parse found.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ParseReport {
    /// Records (or rows, or entries) read.
    pub records: u64,
    /// Of those, withdrawn OSV records.
    pub withdrawn: u64,
    /// Records skipped, with the reason.
    pub malformed: Vec<Malformed>,
    /// The upstream snapshot time, when the feed says (RFC 3339).
    pub snapshot_at: Option<String>,
}

impl ParseReport {
    fn note_time(&mut self, t: &str) {
        let Some(ts) = parse_time(t) else { return };
        let newer = self
            .snapshot_at
            .as_deref()
            .and_then(parse_time)
            .is_none_or(|cur| ts > cur);
        if newer {
            self.snapshot_at = Some(ts.to_string());
        }
    }
}

/// Reads the timestamp shapes feeds use: RFC 3339 with `Z` or an offset (`+0000`
/// included), any fraction, and NVD's zone-less local form (taken as UTC).
#[must_use]
pub fn parse_time(s: &str) -> Option<jiff::Timestamp> {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t);
    }
    if let Ok(z) =
        jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M:%S%z", s).and_then(|p| p.to_timestamp())
    {
        return Some(z);
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    s.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
}

/// A sink for items; an `Err` stops the parse (the update was cancelled).
pub type Sink<'a> = dyn FnMut(Item) -> std::result::Result<(), String> + 'a;

/// Parses the file at `path` as a source of `kind`, handing each item to `sink`.
pub fn parse(
    name: &str,
    kind: &SourceKind,
    path: &Path,
    sink: &mut Sink<'_>,
) -> Result<ParseReport> {
    match kind {
        SourceKind::Osv { .. } => parse_osv_zip(name, path, sink),
        SourceKind::Kev => parse_kev(name, path, sink),
        SourceKind::Epss => parse_epss(name, path, sink),
        SourceKind::Nvd => parse_nvd(name, path, sink),
    }
}

fn io_err(name: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        name: name.to_owned(),
        source,
    }
}

fn stopped(name: &str, reason: String) -> Error {
    Error::Stopped {
        name: name.to_owned(),
        reason,
    }
}

/// One entry of an OSV zip, as the reading thread hands it over.
enum ZipEntry {
    /// A JSON record, inflated and checked against its CRC-32.
    Json { name: String, body: Vec<u8> },
    /// An entry that could not be read.
    Malformed(Malformed),
}

/// Inflated bytes per hand-over between the reading and the parsing thread:
/// large enough that the channel costs nothing per record, small enough that
/// the batches in flight stay a few megabytes.
const ZIP_BATCH_BYTES: usize = 256 << 10;

/// Batches in flight between the two threads.
const ZIP_BATCHES_IN_FLIGHT: usize = 8;

fn parse_osv_zip(name: &str, path: &Path, sink: &mut Sink<'_>) -> Result<ParseReport> {
    let corrupt = |reason: String| Error::Corrupt {
        name: name.to_owned(),
        path: path.to_owned(),
        what: "zip archive",
        reason,
    };
    let file = fs_err::File::open(path).map_err(io_err(name))?;
    let reader = SeekBuf {
        inner: BufReader::with_capacity(64 << 10, file),
        pos: 0,
    };
    let zip = zip::ZipArchive::new(reader).map_err(|e| corrupt(e.to_string()))?;
    // Reading and inflating the entries runs on a thread of its own, beside
    // the JSON parsing on this one: a pipeline stage, not a pool of workers.
    // Measured on the 150x mirror, inflating was a fifth of this thread's time,
    // and this thread is what an update waits on (the database writer idled
    // 45% of the ingest).
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<ZipEntry>>(ZIP_BATCHES_IN_FLIGHT);
    std::thread::scope(|scope| {
        let reading = std::thread::Builder::new()
            .name("vigia-inflate".into())
            .spawn_scoped(scope, move || read_zip_entries(zip, &tx))
            .map_err(io_err(name))?;
        let outcome = parse_zip_entries(name, &rx, sink);
        // On an early stop the channel closes here, and the reader's next
        // hand-over fails and ends it.
        drop(rx);
        reading
            .join()
            .map_err(|_| stopped(name, "the zip reading thread panicked".into()))?;
        outcome
    })
}

/// Reads every JSON entry of `zip`, inflates it and checks its CRC-32, and
/// hands the entries over in batches; stops when the receiver is gone.
fn read_zip_entries<R: Read + std::io::Seek>(
    mut zip: zip::ZipArchive<R>,
    tx: &std::sync::mpsc::SyncSender<Vec<ZipEntry>>,
) {
    let mut raw = Vec::new();
    let mut inflater = libdeflater::Decompressor::new();
    let mut batch = Vec::new();
    let mut batch_bytes = 0;
    let malformed =
        |entry: String, reason: String| ZipEntry::Malformed(Malformed { entry, reason });
    for i in 0..zip.len() {
        if batch_bytes >= ZIP_BATCH_BYTES {
            if tx.send(std::mem::take(&mut batch)).is_err() {
                return;
            }
            batch_bytes = 0;
        }
        // Raw: the entry's compressed bytes, inflated below in one call.
        let mut entry = match zip.by_index_raw(i) {
            Ok(e) => e,
            Err(e) => {
                batch.push(malformed(format!("entry #{i}"), e.to_string()));
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        let entry_name = match entry.name() {
            Ok(n) => n.into_owned(),
            Err(e) => {
                batch.push(malformed(
                    format!("entry #{i}"),
                    format!("bad entry name: {e}"),
                ));
                continue;
            }
        };
        if !std::path::Path::new(&entry_name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            continue;
        }
        if entry.size() > MAX_RECORD_BYTES || entry.compressed_size() > MAX_RECORD_BYTES {
            let reason = format!(
                "record of {} bytes is over the {MAX_RECORD_BYTES}-byte limit",
                entry.size().max(entry.compressed_size())
            );
            batch.push(malformed(entry_name, reason));
            continue;
        }
        raw.clear();
        let (method, size, crc) = (entry.compression(), entry.size(), entry.crc32());
        if let Err(e) = (&mut entry).take(MAX_RECORD_BYTES).read_to_end(&mut raw) {
            batch.push(malformed(entry_name, format!("unreadable: {e}")));
            continue;
        }
        drop(entry);
        let mut body = Vec::new();
        match inflate_entry(&mut inflater, method, &raw, size, crc, &mut body) {
            Ok(()) => {
                batch_bytes += body.len();
                batch.push(ZipEntry::Json {
                    name: entry_name,
                    body,
                });
            }
            Err(reason) => batch.push(malformed(entry_name, reason)),
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(batch);
    }
}

/// Parses the records that [`read_zip_entries`] hands over, in zip order.
fn parse_zip_entries(
    name: &str,
    rx: &std::sync::mpsc::Receiver<Vec<ZipEntry>>,
    sink: &mut Sink<'_>,
) -> Result<ParseReport> {
    let mut report = ParseReport::default();
    for entry in rx.iter().flatten() {
        let (entry_name, body) = match entry {
            ZipEntry::Json { name, body } => (name, body),
            ZipEntry::Malformed(m) => {
                report.malformed.push(m);
                continue;
            }
        };
        let record: Osv = match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => {
                report.malformed.push(Malformed {
                    entry: entry_name,
                    reason: format!("invalid OSV JSON: {e}"),
                });
                continue;
            }
        };
        drop(body);
        if record.id.trim().is_empty() {
            report.malformed.push(Malformed {
                entry: entry_name,
                reason: "record has an empty id".into(),
            });
            continue;
        }
        let named = record.aliases.len() + record.upstream.len() + record.related.len();
        if named > MAX_RECORD_IDS {
            report.malformed.push(Malformed {
                entry: entry_name,
                reason: format!(
                    "record {} names {named} other IDs (aliases, upstream, related), over the {MAX_RECORD_IDS} limit",
                    record.id
                ),
            });
            continue;
        }
        report.records += 1;
        if record.withdrawn.is_some() {
            report.withdrawn += 1;
        }
        report.note_time(&record.modified);
        sink(Item::Advisory {
            record: Box::new(record),
        })
        .map_err(|r| stopped(name, r))?;
    }
    Ok(report)
}

/// Inflates one zip entry's raw bytes into `out`, checking its declared size
/// and CRC-32.
///
/// libdeflate inflates a whole buffer of known size in one call; osv.dev's
/// records are small, and a streaming inflater spent most of its time setting
/// up (measured: zlib-rs was a fifth of the parser's time on the 10x mirror,
/// half of it building Huffman tables).
fn inflate_entry(
    inflater: &mut libdeflater::Decompressor,
    method: zip::CompressionMethod,
    raw: &[u8],
    size: u64,
    crc: u32,
    out: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    out.clear();
    match method {
        zip::CompressionMethod::Stored => out.extend_from_slice(raw),
        zip::CompressionMethod::Deflated => {
            // `size` is at most MAX_RECORD_BYTES (checked by the caller).
            out.resize(usize::try_from(size).map_err(|e| e.to_string())?, 0);
            match inflater.deflate_decompress(raw, out) {
                Ok(n) if n as u64 == size => {}
                Ok(n) => return Err(format!("inflates to {n} bytes, not the {size} declared")),
                Err(libdeflater::DecompressionError::InsufficientSpace) => {
                    return Err(format!("inflates past the {size} bytes declared"));
                }
                Err(e) => return Err(format!("invalid deflate data: {e}")),
            }
        }
        other => return Err(format!("unsupported compression method {other}")),
    }
    let mut check = libdeflater::Crc::new();
    check.update(out);
    if check.sum() == crc {
        Ok(())
    } else {
        Err(format!(
            "CRC-32 {:08x} does not match the {crc:08x} declared",
            check.sum()
        ))
    }
}

/// A buffered reader that keeps its buffer across seeks that land inside it.
///
/// The zip reader seeks to every entry before reading it, and `BufReader`
/// drops its buffer on every `seek`: a read and a seek system call per record
/// (measured: 13% of the parser's time on the 10x mirror). Entries lie one
/// after the other, so most of those seeks land in the buffer already read.
struct SeekBuf<R> {
    inner: BufReader<R>,
    /// The position of the next byte `read` returns.
    pos: u64,
}

impl<R: Read + std::io::Seek> Read for SeekBuf<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + std::io::Seek> std::io::Seek for SeekBuf<R> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            std::io::SeekFrom::Start(n) => n,
            std::io::SeekFrom::Current(d) => self.pos.checked_add_signed(d).ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
            })?,
            std::io::SeekFrom::End(_) => {
                self.pos = self.inner.seek(to)?;
                return Ok(self.pos);
            }
        };
        let delta = i64::try_from(i128::from(target) - i128::from(self.pos))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek too far"))?;
        // Within the buffer this only moves the cursor; else it seeks the file.
        self.inner.seek_relative(delta)?;
        self.pos = target;
        Ok(target)
    }
}

/// Opens a file, transparently un-gzipping it when it starts with the gzip magic.
fn open_maybe_gzip(name: &str, path: &Path) -> Result<Box<dyn BufRead>> {
    let mut file = BufReader::new(fs_err::File::open(path).map_err(io_err(name))?);
    let magic = file.fill_buf().map_err(io_err(name))?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::new(
            flate2::bufread::MultiGzDecoder::new(file),
        )))
    } else {
        Ok(Box::new(file))
    }
}

/// The largest KEV catalogue Vigia reads (the real one is under 2 MB).
pub const MAX_KEV_BYTES: u64 = 256 << 20;

/// KEV catalogues up to this size are parsed from one slice (serde_json parses
/// a slice several times faster than a reader); a larger one streams, so memory
/// stays bounded whatever its size.
const KEV_SLICE_BYTES: u64 = 16 << 20;

fn parse_kev(name: &str, path: &Path, sink: &mut Sink<'_>) -> Result<ParseReport> {
    let corrupt = |reason: String| Error::Corrupt {
        name: name.to_owned(),
        path: path.to_owned(),
        what: "KEV catalogue",
        reason,
    };
    let mut reader = open_maybe_gzip(name, path)?.take(MAX_KEV_BYTES + 1);
    let mut head = Vec::new();
    (&mut reader)
        .take(KEV_SLICE_BYTES + 1)
        .read_to_end(&mut head)
        .map_err(|e| corrupt(e.to_string()))?;
    let mut report = ParseReport::default();
    let mut stop = None;
    let mut times = Vec::new();
    let mut on_item = |i: usize,
                       v: serde_json::Value,
                       report: &mut ParseReport|
     -> std::result::Result<(), String> {
        match serde_json::from_value::<KevEntry>(v) {
            Ok(e) if vigia_model::osv::is_cve(&e.cve_id) => {
                report.records += 1;
                sink(Item::Kev(e))
            }
            Ok(e) => {
                report.malformed.push(Malformed {
                    entry: format!("vulnerabilities[{i}]"),
                    reason: format!("cveID {:?} is not a CVE ID", e.cve_id),
                });
                Ok(())
            }
            Err(e) => {
                report.malformed.push(Malformed {
                    entry: format!("vulnerabilities[{i}]"),
                    reason: e.to_string(),
                });
                Ok(())
            }
        }
    };
    let mut on_meta = |k: &str, v: serde_json::Value| {
        if let (true, Some(t)) = (k == "dateReleased", v.as_str()) {
            times.push(t.to_owned());
        }
    };
    let stream = StreamArray {
        keys: &["vulnerabilities"],
        on_meta: &mut on_meta,
        on_item: &mut on_item,
        report: &mut report,
        stop: &mut stop,
    };
    let result = if head.len() as u64 <= KEV_SLICE_BYTES {
        stream.deserialize(&mut serde_json::Deserializer::from_slice(&head))
    } else {
        let rest = std::io::Cursor::new(head).chain(&mut reader);
        stream.deserialize(&mut serde_json::Deserializer::from_reader(
            BufReader::with_capacity(1 << 16, rest),
        ))
    };
    if reader.limit() == 0 {
        return Err(corrupt(format!("larger than {MAX_KEV_BYTES} bytes")));
    }
    if let Some(reason) = stop {
        return Err(stopped(name, reason));
    }
    result.map_err(|e| corrupt(e.to_string()))?;
    for t in times {
        report.note_time(&t);
    }
    Ok(report)
}

fn parse_epss(name: &str, path: &Path, sink: &mut Sink<'_>) -> Result<ParseReport> {
    let reader = open_maybe_gzip(name, path)?;
    let mut report = ParseReport::default();
    for (i, line) in reader.lines().enumerate() {
        let lineno = i + 1;
        let line = line.map_err(|e| Error::Corrupt {
            name: name.to_owned(),
            path: path.to_owned(),
            what: "gzip CSV",
            reason: format!("line {lineno}: {e}"),
        })?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(meta) = line.strip_prefix('#') {
            // `#model_version:v2025.03.14,score_date:2025-08-15T00:00:00+0000`
            for kv in meta.split(',') {
                if let Some(date) = kv.trim().strip_prefix("score_date:") {
                    report.note_time(date);
                }
            }
            continue;
        }
        if line.starts_with("cve,") {
            continue;
        }
        let mut cols = line.split(',');
        let (Some(cve), Some(score), Some(pct)) = (cols.next(), cols.next(), cols.next()) else {
            report.malformed.push(Malformed {
                entry: format!("line {lineno}"),
                reason: "expected cve,epss,percentile".into(),
            });
            continue;
        };
        let parsed = (score.trim().parse::<f64>(), pct.trim().parse::<f64>());
        match parsed {
            (Ok(score), Ok(percentile))
                if vigia_model::osv::is_cve(cve.trim())
                    && (0.0..=1.0).contains(&score)
                    && (0.0..=1.0).contains(&percentile) =>
            {
                report.records += 1;
                sink(Item::Epss(EpssRow {
                    cve: cve.trim().to_owned(),
                    score,
                    percentile,
                }))
                .map_err(|r| stopped(name, r))?;
            }
            _ => report.malformed.push(Malformed {
                entry: format!("line {lineno}"),
                reason: format!("not a CVE with two scores in [0, 1]: {line:?}"),
            }),
        }
    }
    Ok(report)
}

fn parse_nvd(name: &str, path: &Path, sink: &mut Sink<'_>) -> Result<ParseReport> {
    let reader = open_maybe_gzip(name, path)?;
    let mut report = ParseReport::default();
    let mut stop = None;
    let mut times = Vec::new();
    let mut on_item = |i: usize,
                       v: serde_json::Value,
                       report: &mut ParseReport|
     -> std::result::Result<(), String> {
        let at = format!("vulnerabilities[{i}]");
        let w: NvdWrapper = match serde_json::from_value(v) {
            Ok(w) => w,
            Err(e) => {
                report.malformed.push(Malformed {
                    entry: at,
                    reason: e.to_string(),
                });
                return Ok(());
            }
        };
        if !vigia_model::osv::is_cve(&w.cve.id) {
            report.malformed.push(Malformed {
                entry: at,
                reason: format!("id {:?} is not a CVE ID", w.cve.id),
            });
            return Ok(());
        }
        report.records += 1;
        for metric in w.cve.metrics.values().flatten() {
            sink(Item::Cvss(NvdCvss {
                cve: w.cve.id.clone(),
                scorer: metric.source.clone(),
                kind: metric.kind.clone(),
                vector: metric.cvss_data.vector_string.clone(),
            }))?;
        }
        Ok(())
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let result = StreamArray {
        keys: &["vulnerabilities", "CVE_Items"],
        on_meta: &mut |k, v| {
            if let (true, Some(t)) = (k == "timestamp", v.as_str()) {
                times.push(t.to_owned());
            }
        },
        on_item: &mut on_item,
        report: &mut report,
        stop: &mut stop,
    }
    .deserialize(&mut de);
    if let Some(reason) = stop {
        return Err(stopped(name, reason));
    }
    result.map_err(|e| Error::Corrupt {
        name: name.to_owned(),
        path: path.to_owned(),
        what: "NVD 2.0 JSON feed",
        reason: e.to_string(),
    })?;
    for t in times {
        report.note_time(&t);
    }
    Ok(report)
}

#[derive(Deserialize)]
struct NvdWrapper {
    cve: NvdCve,
}

#[derive(Deserialize)]
struct NvdCve {
    id: String,
    #[serde(default)]
    metrics: std::collections::BTreeMap<String, Vec<NvdMetric>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NvdMetric {
    #[serde(default)]
    source: String,
    #[serde(default, rename = "type")]
    kind: String,
    cvss_data: NvdCvssData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NvdCvssData {
    vector_string: String,
}

type OnMeta<'a> = dyn FnMut(&str, serde_json::Value) + 'a;
type OnItem<'a> =
    dyn FnMut(usize, serde_json::Value, &mut ParseReport) -> std::result::Result<(), String> + 'a;

/// Streams a JSON object whose array under one of `keys` holds the records, one
/// element at a time; other top-level keys go to `on_meta`. Each element is read
/// as a generic value first, so that one malformed element is skipped and named
/// by `on_item` instead of failing the file. Memory holds one element at a time.
struct StreamArray<'a, 'b> {
    keys: &'a [&'a str],
    on_meta: &'a mut OnMeta<'b>,
    on_item: &'a mut OnItem<'b>,
    report: &'a mut ParseReport,
    stop: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for StreamArray<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for StreamArray<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object with a {:?} array", self.keys[0])
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        let mut seen = false;
        while let Some(key) = map.next_key::<String>()? {
            if self.keys.contains(&key.as_str()) {
                seen = true;
                map.next_value_seed(Elements {
                    on_item: &mut *self.on_item,
                    report: &mut *self.report,
                    stop: &mut *self.stop,
                })?;
            } else if key == "timestamp" || key == "dateReleased" || key == "catalogVersion" {
                let v: serde_json::Value = map.next_value()?;
                (self.on_meta)(&key, v);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if seen {
            Ok(())
        } else {
            Err(serde::de::Error::missing_field("vulnerabilities"))
        }
    }
}

struct Elements<'a, 'b> {
    on_item: &'a mut OnItem<'b>,
    report: &'a mut ParseReport,
    stop: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for Elements<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        let mut i = 0usize;
        while let Some(v) = seq.next_element::<serde_json::Value>()? {
            if self.stop.is_none()
                && let Err(reason) = (self.on_item)(i, v, self.report)
            {
                *self.stop = Some(reason);
            }
            i += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A KEV catalogue of `n` entries, each padded with `pad` bytes of notes.
    fn kev_catalogue(n: usize, pad: usize) -> String {
        let notes = "x".repeat(pad);
        let entries: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"cveID":"CVE-2024-{}","vendorProject":"v","product":"p","vulnerabilityName":"n","dateAdded":"2024-01-01","shortDescription":"d","requiredAction":"a","dueDate":"2024-02-01","knownRansomwareCampaignUse":"Unknown","notes":"{notes}"}}"#,
                    10_000 + i
                )
            })
            .collect();
        format!(
            r#"{{"title":"KEV","catalogVersion":"1","dateReleased":"2024-10-10T17:22:00.000Z","count":{n},"vulnerabilities":[{},{{"cveID":"not-a-cve"}}]}}"#,
            entries.join(",")
        )
    }

    fn parse_kev_text(text: &str) -> (ParseReport, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kev.json");
        fs_err::write(&path, text).unwrap();
        let mut cves = Vec::new();
        let report = parse("kev", &SourceKind::Kev, &path, &mut |item| {
            if let Item::Kev(k) = item {
                cves.push(k.cve_id);
            }
            Ok(())
        })
        .unwrap();
        (report, cves)
    }

    /// A catalogue over the slice limit streams, with the same outcome as a
    /// small one: every entry in order, the bad one named, the release time.
    #[test]
    fn large_kev_catalogues_stream_with_the_same_outcome() {
        for (n, pad) in [(50, 10), (3_000, 6_000)] {
            let text = kev_catalogue(n, pad);
            assert_eq!(
                text.len() as u64 > KEV_SLICE_BYTES,
                pad > 10,
                "the large case streams, the small one does not"
            );
            let (report, cves) = parse_kev_text(&text);
            assert_eq!(report.records, n as u64);
            assert_eq!(cves.len(), n);
            assert_eq!(cves[n - 1], format!("CVE-2024-{}", 10_000 + n - 1));
            assert_eq!(report.malformed.len(), 1);
            assert_eq!(report.malformed[0].entry, format!("vulnerabilities[{n}]"));
            assert_eq!(
                report
                    .snapshot_at
                    .as_deref()
                    .map(|t| parse_time(t).unwrap()),
                parse_time("2024-10-10T17:22:00Z")
            );
        }
    }

    #[test]
    fn times_in_every_shape() {
        let z = parse_time("2024-10-10T17:22:00Z").unwrap();
        assert_eq!(parse_time("2024-10-10T17:22:00+0000"), Some(z));
        assert_eq!(parse_time("2024-10-10T17:22:00"), Some(z));
        assert_eq!(parse_time("2024-10-10T17:22:00.00000Z").unwrap(), z);
        assert!(parse_time("2024-10-10T17:22:00.587279Z").unwrap() > z);
        assert!(parse_time("yesterday").is_none());
    }

    fn collect(kind: &SourceKind, path: &Path) -> (Vec<Item>, ParseReport) {
        let mut items = Vec::new();
        let report = parse("test", kind, path, &mut |i| {
            items.push(i);
            Ok(())
        })
        .unwrap();
        (items, report)
    }

    #[test]
    fn epss_rows_and_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.csv");
        fs_err::write(&p, "#model_version:v1,score_date:2025-08-15T00:00:00+0000\ncve,epss,percentile\nCVE-2024-0001,0.5,0.9\nCVE-2024-0002,abc,0.1\nnot-a-cve,0.1,0.1\n").unwrap();
        let (items, report) = collect(&SourceKind::Epss, &p);
        assert_eq!(items.len(), 1);
        assert_eq!(report.records, 1);
        assert_eq!(report.malformed.len(), 2);
        assert_eq!(report.malformed[0].entry, "line 4");
        assert_eq!(report.snapshot_at.as_deref(), Some("2025-08-15T00:00:00Z"));
    }

    #[test]
    fn nvd_streams_metrics_and_skips_bad_objects() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("n.json");
        fs_err::write(&p, r#"{"timestamp":"2026-11-28T00:00:00.000","vulnerabilities":[
            {"cve":{"id":"CVE-2021-44906","metrics":{"cvssMetricV31":[{"source":"nvd@nist.gov","type":"Primary","cvssData":{"vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}],
              "cvssMetricV2":[{"source":"nvd@nist.gov","type":"Primary","cvssData":{"vectorString":"AV:N/AC:L/Au:N/C:P/I:P/A:P"}}]}}},
            {"cve":{"nope":1}},
            {"cve":{"id":"CVE-2024-37371","metrics":{}}}]}"#).unwrap();
        let (items, report) = collect(&SourceKind::Nvd, &p);
        assert_eq!(report.records, 2);
        assert_eq!(items.len(), 2);
        assert_eq!(report.malformed[0].entry, "vulnerabilities[1]");
        assert_eq!(report.snapshot_at.as_deref(), Some("2026-11-28T00:00:00Z"));
    }
}
