//! Vigia's secret scanner: credentials hardcoded in images, hosts, functions
//! and folders.
//!
//! [`rules`] are data (`rules/builtin.toml`, compiled in; users add or disable
//! rules with their own TOML). [`engine::Engine`] finds them: an Aho-Corasick
//! keyword pass over each file, regexes only around keyword hits, files
//! streamed in chunks. [`Collector`] is the inventory sources' visitor: it
//! receives every file as layers stream by (nothing is extracted to disk or
//! kept whole), scans them on the shared rayon pool, and works out which files later layers
//! deleted, overwrote or hid, so that a secret removed in a later layer is
//! still reported, with its layer, when asked for.
//!
//! A secret's value never leaves the engine: a [`Secret`] holds its SHA-256,
//! at most its first 4 characters and its length.

pub mod engine;
pub mod rules;

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde::Serialize;
use vigia_inventory::source::Visitor;

pub use engine::{Engine, IMAGE_CONFIG};
pub use rules::RuleFile;

/// Files up to this size are handed to the pool whole; larger ones are scanned
/// as they stream, in chunks, on the reading thread.
const HAND_OFF: u64 = 1 << 20;
/// How far past `max_file_size` a file is read to finish a value that
/// starts before it (as far as the engine's chunks overlap).
const VALUE_ROOM: u64 = 64 << 10;
/// File buffers kept for reuse (each holds up to [`HAND_OFF`] bytes).
const POOL_MAX: usize = 16;

/// Why a file in a lower layer is not in the final filesystem.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Hidden {
    /// A whiteout in a later layer deleted it.
    Deleted,
    /// A later layer put another file at the same path.
    Overwritten,
    /// A later layer made its folder opaque.
    Opaque,
}

/// One secret in one file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Secret {
    /// Rule ID.
    pub rule_id: String,
    /// Rule title.
    pub title: String,
    /// Rule severity.
    pub severity: String,
    /// Rule tags.
    pub tags: Vec<String>,
    /// The file, absolute inside the resource.
    pub path: String,
    /// First and last line (1-based).
    pub start_line: u64,
    /// Last line.
    pub end_line: u64,
    /// The layer (diff_id) whose tar holds the file, for images.
    pub layer: Option<String>,
    /// Its position, bottom first.
    pub layer_index: Option<usize>,
    /// Why the file is not in the final filesystem, when it is not.
    pub hidden: Option<Hidden>,
    /// SHA-256 of the value, hex.
    pub sha256: String,
    /// At most the first 4 characters of the value.
    pub prefix: String,
    /// The value's length in bytes.
    pub length: usize,
    /// An AWS key ID and secret key close together: the other one's line.
    pub paired_line: Option<u64>,
}

/// What a secret scan did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Report {
    /// Secrets, by path and line.
    pub secrets: Vec<Secret>,
    /// Files read.
    pub files_scanned: u64,
    /// Bytes read.
    pub bytes_scanned: u64,
    /// Files skipped as binary.
    pub files_binary: u64,
    /// Files that could not be read, and why.
    pub warnings: Vec<String>,
}

#[derive(Debug, Default)]
struct State {
    raw: Vec<(Option<String>, String, engine::Hit)>,
    files: u64,
    bytes: u64,
    binary: u64,
    warnings: Vec<String>,
    /// label → (index, diff_id)
    layers: HashMap<String, (usize, String)>,
    seen: HashMap<String, HashSet<String>>,
    whiteouts: HashMap<String, Vec<String>>,
    opaque: HashMap<String, Vec<String>>,
}

/// Scans files as a source streams them; see the crate documentation.
///
/// Small files are scanned as tasks on the current rayon pool (the engine's,
/// inside a scan), at most eight per pool thread at once; past that the
/// reading thread scans the file itself. The readers run on the same pool, so
/// waiting for room in a queue could leave every pool thread waiting.
pub struct Collector {
    engine: Arc<Engine>,
    /// Buffers going back from the tasks to the reading thread: reusing them
    /// saves faulting in (and zeroing) fresh memory for every file.
    buffers: Arc<Mutex<Vec<Vec<u8>>>>,
    state: Arc<Mutex<State>>,
    /// Tasks handed to the pool and not finished yet.
    queued: Arc<(Mutex<usize>, Condvar)>,
    max_queued: usize,
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector").finish_non_exhaustive()
    }
}

fn record(
    state: &Mutex<State>,
    layer: Option<&str>,
    path: &str,
    result: std::io::Result<engine::FileResult>,
) {
    let mut st = state.lock().expect("secret state lock");
    match result {
        Ok(r) => {
            st.files += 1;
            st.bytes += r.bytes;
            if r.binary {
                st.binary += 1;
            }
            for h in r.hits {
                st.raw.push((layer.map(str::to_owned), path.to_owned(), h));
            }
        }
        Err(e) => st.warnings.push(format!("{path}: cannot read: {e}")),
    }
}

fn under(path: &str, dir: &str) -> bool {
    dir == "/"
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

impl Collector {
    /// A collector scanning with `engine` on the current rayon pool.
    #[must_use]
    pub fn new(engine: Arc<Engine>) -> Arc<Self> {
        Arc::new(Self {
            engine,
            buffers: Arc::default(),
            state: Arc::default(),
            queued: Arc::default(),
            max_queued: rayon::current_num_threads() * 8,
        })
    }

    /// Scans one whole small file: on the pool when there is room in its
    /// queue, here otherwise.
    fn hand_off(&self, layer: Option<&str>, path: &str, data: Vec<u8>) {
        let queued = {
            let (count, _) = &*self.queued;
            let mut count = count.lock().expect("secret queue lock");
            if *count < self.max_queued {
                *count += 1;
                true
            } else {
                false
            }
        };
        let (layer, path) = (layer.map(str::to_owned), path.to_owned());
        let (engine, state, buffers) = (
            self.engine.clone(),
            self.state.clone(),
            self.buffers.clone(),
        );
        let job = move || {
            // A rule that panics costs this file, named, not the scan.
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                engine.scan_slice(&path, &data)
            }))
            .map_err(|_| std::io::Error::other("the secret engine failed on this file"));
            record(&state, layer.as_deref(), &path, r);
            let mut p = buffers.lock().expect("buffer pool lock");
            if p.len() < POOL_MAX {
                p.push(data);
            }
        };
        if queued {
            /// Counts a queued task done however it ends (a panic included),
            /// so that `drain` never waits for it forever.
            struct Done(Arc<(Mutex<usize>, Condvar)>);
            impl Drop for Done {
                fn drop(&mut self) {
                    let (count, cv) = &*self.0;
                    let mut count = count
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    *count -= 1;
                    cv.notify_all();
                }
            }
            let done = Done(self.queued.clone());
            rayon::spawn(move || {
                let _done = done;
                // A panic past the engine's own guard (a poisoned lock) would
                // abort the process from a rayon task: contained here.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            });
        } else {
            job();
        }
    }

    /// Waits until every task handed to the pool has run, running pool work
    /// meanwhile when called on a pool thread.
    fn drain(&self) {
        let (count, cv) = &*self.queued;
        loop {
            if *count.lock().expect("secret queue lock") == 0 {
                return;
            }
            if matches!(rayon::yield_now(), Some(rayon::Yield::Executed)) {
                continue;
            }
            // Nothing to run here: the last tasks are running on other threads.
            let guard = count.lock().expect("secret queue lock");
            if *guard == 0 {
                return;
            }
            let _ = cv
                .wait_timeout(guard, Duration::from_millis(1))
                .expect("secret queue lock");
        }
    }

    /// Returns a buffer to the pool.
    fn give_back(&self, buf: Vec<u8>) {
        let mut p = self.buffers.lock().expect("buffer pool lock");
        if p.len() < POOL_MAX {
            p.push(buf);
        }
    }

    /// Waits for the workers and returns the secrets. With `all_layers`, files
    /// that later layers deleted, overwrote or hid are reported too (with why);
    /// without it, only the final filesystem's.
    #[must_use]
    pub fn finish(&self, all_layers: bool) -> Report {
        self.drain();
        let st = std::mem::take(&mut *self.state.lock().expect("secret state lock"));
        let is_image = !st.layers.is_empty();
        let index_of = |label: &Option<String>| label.as_ref().and_then(|l| st.layers.get(l));
        let hidden = |label: &Option<String>, path: &str| -> Option<Hidden> {
            let (i, _) = index_of(label)?;
            for (l, (j, _)) in &st.layers {
                if j <= i {
                    continue;
                }
                if st
                    .whiteouts
                    .get(l)
                    .is_some_and(|w| w.iter().any(|w| w == path || under(path, w)))
                {
                    return Some(Hidden::Deleted);
                }
                if st
                    .opaque
                    .get(l)
                    .is_some_and(|o| o.iter().any(|d| under(path, d)))
                {
                    return Some(Hidden::Opaque);
                }
                if st.seen.get(l).is_some_and(|s| s.contains(path)) {
                    return Some(Hidden::Overwritten);
                }
            }
            None
        };
        let mut secrets: Vec<Secret> = Vec::new();
        for (label, path, h) in &st.raw {
            // In a `docker save` archive, files outside the layers are its
            // own metadata; the image's configuration is reported as such.
            if is_image && index_of(label).is_none() && path != IMAGE_CONFIG {
                continue;
            }
            if self.engine.path_allowed(path) {
                continue;
            }
            let why = hidden(label, path);
            if why.is_some() && !all_layers {
                continue;
            }
            let rule = self.engine.rule(h.rule);
            let layer = index_of(label);
            secrets.push(Secret {
                rule_id: rule.id.clone(),
                title: rule.title.clone(),
                severity: rule.severity.clone(),
                tags: rule.tags.clone(),
                path: path.clone(),
                start_line: h.start_line,
                end_line: h.end_line,
                layer: layer.map(|(_, d)| d.clone()),
                layer_index: layer.map(|(i, _)| *i),
                hidden: why,
                sha256: h.sha256.clone(),
                prefix: h.prefix.clone(),
                length: h.length,
                paired_line: None,
            });
        }
        secrets.sort_by(|a, b| {
            (&a.path, a.layer_index, a.start_line, &a.rule_id).cmp(&(
                &b.path,
                b.layer_index,
                b.start_line,
                &b.rule_id,
            ))
        });
        secrets.dedup_by(|a, b| {
            a.path == b.path && a.layer == b.layer && a.sha256 == b.sha256 && a.rule_id == b.rule_id
        });
        pair_aws(&mut secrets);
        Report {
            secrets,
            files_scanned: st.files,
            bytes_scanned: st.bytes,
            files_binary: st.binary,
            warnings: st.warnings,
        }
    }
}

/// An AWS access key ID and a secret key within 5 lines of each other in the
/// same file are one credential: each names the other's line.
fn pair_aws(secrets: &mut [Secret]) {
    let ids: Vec<(usize, String, Option<String>, u64)> = secrets
        .iter()
        .enumerate()
        .filter(|(_, s)| s.rule_id == "aws-access-key-id")
        .map(|(i, s)| (i, s.path.clone(), s.layer.clone(), s.start_line))
        .collect();
    for (i, path, layer, line) in ids {
        let partner = secrets.iter().position(|s| {
            s.rule_id == "aws-secret-access-key"
                && s.path == path
                && s.layer == layer
                && s.start_line.abs_diff(line) <= 5
        });
        if let Some(j) = partner {
            let other = secrets[j].start_line;
            secrets[j].paired_line = Some(line);
            secrets[i].paired_line = Some(other);
        }
    }
}

impl Visitor for Collector {
    // A text file over the size limit is still searched, up to the limit,
    // and named in a warning: skipping it without a word would let a scan
    // look clean where it did not look. Binary files over the limit are told
    // by their first bytes, as smaller ones are, and skipped as binary.
    fn wants(&self, path: &str, size: u64) -> bool {
        size > 0 && self.engine.wants_path(path)
    }

    fn file(&self, layer: Option<&str>, path: &str, data: &mut dyn Read) {
        let mut head = self
            .buffers
            .lock()
            .expect("buffer pool lock")
            .pop()
            .unwrap_or_default();
        head.clear();
        // Room for a whole small file up front: growing the buffer step by step
        // cost a copy and fresh pages at every step (measured: a sixth of the
        // time on an image's filesystem).
        head.reserve(usize::try_from(HAND_OFF).unwrap_or(usize::MAX) + 1);
        // The first bytes decide whether the file is binary; a binary file is
        // not read further (most of an image's bytes are binaries).
        let sniffed = Read::take(&mut *data, engine::BINARY_SNIFF as u64).read_to_end(&mut head);
        match sniffed {
            Ok(n) if engine::looks_binary(&head) => {
                let r = engine::FileResult {
                    binary: true,
                    bytes: n as u64,
                    ..engine::FileResult::default()
                };
                record(&self.state, layer, path, Ok(r));
                self.give_back(head);
                return;
            }
            Ok(_) => {}
            Err(e) => {
                record(&self.state, layer, path, Err(e));
                self.give_back(head);
                return;
            }
        }
        // Small files go to the workers whole; big ones are scanned here,
        // streaming, up to the size limit.
        let limit = self.engine.max_file_size();
        let small = HAND_OFF.min(limit);
        let rest = (small + 1).saturating_sub(head.len() as u64);
        match Read::take(&mut *data, rest).read_to_end(&mut head) {
            Ok(_) if head.len() as u64 <= small => self.hand_off(layer, path, head),
            Ok(_) => {
                // A value that starts before the limit is read whole: the
                // search runs a value's room past it, keeping only what
                // starts before.
                let room = limit.saturating_add(VALUE_ROOM);
                let kept = head.len().min(usize::try_from(room).unwrap_or(usize::MAX));
                let left = room - kept as u64;
                let mut chained = head[..kept].chain(Read::take(&mut *data, left));
                let mut r = self.engine.scan_reader(path, &mut chained);
                let over = match &mut r {
                    Ok(found) => {
                        found.hits.retain(|h| h.offset < limit);
                        found.bytes > limit
                            || head.len() > kept
                            || matches!(data.read(&mut [0u8; 1]), Ok(1))
                    }
                    Err(_) => false,
                };
                record(&self.state, layer, path, r);
                if over {
                    let mut st = self.state.lock().expect("secret state lock");
                    st.warnings.push(format!(
                        "{path}: only its first {limit} bytes were searched for secrets: \
                         it is larger (raise max_file_size in the secrets config to search it all)"
                    ));
                }
                self.give_back(head);
            }
            Err(e) => {
                record(&self.state, layer, path, Err(e));
                self.give_back(head);
            }
        }
    }

    fn seen(&self, layer: Option<&str>, path: &str) {
        if let Some(l) = layer {
            let mut st = self.state.lock().expect("secret state lock");
            st.seen
                .entry(l.to_owned())
                .or_default()
                .insert(path.to_owned());
        }
    }

    fn whiteout(&self, layer: Option<&str>, path: &str) {
        if let Some(l) = layer {
            let mut st = self.state.lock().expect("secret state lock");
            st.whiteouts
                .entry(l.to_owned())
                .or_default()
                .push(path.to_owned());
        }
    }

    fn opaque(&self, layer: Option<&str>, dir: &str) {
        if let Some(l) = layer {
            let mut st = self.state.lock().expect("secret state lock");
            st.opaque
                .entry(l.to_owned())
                .or_default()
                .push(dir.to_owned());
        }
    }

    fn image_config(&self, lines: &vigia_inventory::source::ConfigLines) {
        let (config, history) = (&lines.config, &lines.history);
        if config.is_empty() && history.is_empty() {
            return;
        }
        let text = config
            .iter()
            .chain(history)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n");
        let mut r = self.engine.scan_slice(IMAGE_CONFIG, text.as_bytes());
        // A variable set by `ENV` is in the environment and in the history
        // step that set it: one secret, said at the configuration's line. A
        // value the configuration holds twice (two variables) is said twice.
        let first_step = config.len() as u64 + 1;
        let mut said: HashSet<(usize, String)> = r
            .hits
            .iter()
            .filter(|h| h.start_line < first_step)
            .map(|h| (h.rule, h.sha256.clone()))
            .collect();
        r.hits
            .retain(|h| h.start_line < first_step || said.insert((h.rule, h.sha256.clone())));
        r.binary = false;
        record(&self.state, None, IMAGE_CONFIG, Ok(r));
    }

    fn layer(&self, index: usize, label: &str, diff_id: &str) {
        let mut st = self.state.lock().expect("secret state lock");
        st.layers
            .insert(label.to_owned(), (index, diff_id.to_owned()));
    }
}

/// Scans a target (any source the inventory reads) for secrets. Returns the
/// report, the kind of resource (`image`, `rootfs`, …) and the image's details.
pub fn scan(
    target: &std::path::Path,
    opts: &vigia_inventory::source::Options,
    engine: Arc<Engine>,
    all_layers: bool,
) -> vigia_inventory::Result<(
    Report,
    &'static str,
    Option<vigia_inventory::source::ImageInfo>,
)> {
    let collector = Collector::new(engine);
    let mut opts = opts.clone();
    opts.cache = None;
    opts.visitor = Some(vigia_inventory::source::VisitorHandle(collector.clone()));
    let result = vigia_inventory::source::open_with(target, &opts, &|_| false);
    let mut report = collector.finish(all_layers);
    let (kind, view, image) = result?;
    report.warnings.extend(
        view.warnings
            .iter()
            .map(|w| format!("{}: {}", w.path, w.message)),
    );
    Ok((report, kind, image))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the bytes a reader handed out.
    struct Counted<'a> {
        inner: &'a [u8],
        read: usize,
    }

    impl Read for Counted<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read += n;
            Ok(n)
        }
    }

    #[test]
    fn a_binary_file_is_not_read_past_its_first_bytes() {
        let engine = Arc::new(Engine::new(&rules::RuleFile::builtin()).unwrap());
        let collector = Collector::new(engine);
        // A NUL early, then a token that would be found in a text file.
        let mut data = vec![0u8; 16];
        data.extend_from_slice(b"ghp_YwxxS8BQ35dDTQq45yfuLK6Q3DvjEN3ZTO6i\n");
        data.resize(4 << 20, b'a');
        let mut reader = Counted {
            inner: &data,
            read: 0,
        };
        collector.file(None, "/usr/bin/tool", &mut reader);
        assert!(
            reader.read <= engine::BINARY_SNIFF,
            "read {} bytes of a binary file",
            reader.read
        );
        // The same bytes without the NUL are text, read whole and scanned.
        data[..16].fill(b' ');
        let mut reader = Counted {
            inner: &data,
            read: 0,
        };
        collector.file(None, "/srv/app.txt", &mut reader);
        assert_eq!(reader.read, data.len());
        let report = collector.finish(false);
        assert_eq!(report.files_binary, 1);
        assert_eq!(report.secrets.len(), 1, "{:?}", report.secrets);
        assert_eq!(report.secrets[0].path, "/srv/app.txt");
    }

    /// On a pool of one thread, the reading thread is the pool's only thread:
    /// files past the queue's room are scanned by the reader itself, the queue
    /// is drained by `finish` on that same thread, and every file is scanned.
    #[test]
    fn a_pool_of_one_thread_scans_every_file_without_waiting_on_itself() {
        let engine = Arc::new(Engine::new(&rules::RuleFile::builtin()).unwrap());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let report = pool.install(|| {
            let collector = Collector::new(engine);
            for i in 0..100 {
                let text = format!("token = ghp_YwxxS8BQ35dDTQq45yfuLK6Q3DvjEN3ZTO{i:02}\n");
                collector.file(None, &format!("/srv/{i}.txt"), &mut text.as_bytes());
            }
            collector.finish(false)
        });
        assert_eq!(report.files_scanned, 100);
        assert_eq!(report.secrets.len(), 100, "{:?}", report.warnings);
    }

    /// A file over `max_file_size` is searched up to it and named: a value
    /// that starts before the limit is found whole (its hash is the whole
    /// value's), one that starts after it is not, and a file within the
    /// limit is not named.
    #[test]
    fn a_file_over_the_limit_is_searched_to_it_and_named() {
        use sha2::Digest as _;
        let user = rules::RuleFile::parse("r.toml", "max_file_size = 2097152").unwrap();
        let engine = Arc::new(Engine::new(&rules::RuleFile::builtin().merged(user)).unwrap());
        let collector = Collector::new(engine);
        let straddling = "ghp_YwxxS8BQ35dDTQq45yfuLK6Q3DvjEN3ZTO6i";
        let after = "ghp_Q1w2E3r4T5y6U7i8O9p0AaSsDdFfGgHhJjKk";
        let mut data = vec![b'a'; (2 << 20) - 20];
        data.extend_from_slice(format!(" {straddling}\n").as_bytes());
        data.resize(3 << 20, b'b');
        data.extend_from_slice(format!(" {after}\n").as_bytes());
        collector.file(None, "/srv/big.log", &mut data.as_slice());
        let small = format!("t = {after}\n");
        collector.file(None, "/srv/small.txt", &mut small.as_bytes());
        let report = collector.finish(false);
        let found: Vec<(&str, &str, usize)> = report
            .secrets
            .iter()
            .map(|s| (s.path.as_str(), s.sha256.as_str(), s.length))
            .collect();
        let hash = |v: &str| hex::encode(sha2::Sha256::digest(v.as_bytes()));
        assert_eq!(
            found,
            vec![
                ("/srv/big.log", hash(straddling).as_str(), straddling.len()),
                ("/srv/small.txt", hash(after).as_str(), after.len()),
            ]
        );
        assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
        assert!(
            report.warnings[0].starts_with("/srv/big.log: only its first 2097152 bytes"),
            "{:?}",
            report.warnings
        );
    }
}
