//! Which files Vigia fetches, and from where.

use std::path::PathBuf;

use url::Url;
use vigia_model::Ecosystem;

use crate::{Error, Result};

/// osv.dev's bucket of per-ecosystem exports.
pub const OSV_BASE: &str = "https://osv-vulnerabilities.storage.googleapis.com/";
/// CISA's Known Exploited Vulnerabilities catalogue.
pub const KEV_URL: &str =
    "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json";
/// FIRST EPSS scores, current day.
pub const EPSS_URL: &str = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz";
/// NVD 2.0 JSON feeds.
pub const NVD_BASE: &str = "https://nvd.nist.gov/feeds/json/cve/2.0/";
/// The first year NVD publishes a yearly feed for.
pub const NVD_FIRST_YEAR: i32 = 2002;

/// What a source holds, which decides how it is parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// An osv.dev export: a zip of OSV JSON records for one ecosystem.
    Osv {
        /// The ecosystem as osv.dev names it (`PyPI`, `Debian`, `crates.io`).
        ecosystem: String,
    },
    /// The CISA KEV JSON catalogue.
    Kev,
    /// The EPSS CSV (gzip).
    Epss,
    /// An NVD 2.0 feed or API response (JSON, gzip or plain).
    Nvd,
}

impl SourceKind {
    /// A short label for reports: the ecosystem, or `kev`, `epss`, `nvd`.
    #[must_use]
    pub fn label(&self) -> &str {
        match self {
            Self::Osv { ecosystem } => ecosystem,
            Self::Kev => "kev",
            Self::Epss => "epss",
            Self::Nvd => "nvd",
        }
    }
}

/// Where a source is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local file.
    File(PathBuf),
    /// An http(s) URL.
    Url(Url),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Url(u) => write!(f, "{u}"),
        }
    }
}

/// One file of one feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file's path in the upstream-shaped layout: its stable name.
    pub name: String,
    /// What it holds.
    pub kind: SourceKind,
    /// Where to read it.
    pub location: Location,
    /// Whether a missing file is normal (NVD yearly feeds before the first CVE of a year).
    pub optional: bool,
}

/// Where the sources come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The real upstream hosts.
    Upstream,
    /// A local folder laid out like the upstreams.
    MirrorDir(PathBuf),
    /// An http(s) base URL laid out like the upstreams.
    MirrorUrl(Url),
}

impl Origin {
    /// Reads `--mirror`: an `http://` or `https://` URL, else a folder.
    pub fn from_mirror_arg(arg: &str) -> Result<Self> {
        if arg.starts_with("http://") || arg.starts_with("https://") {
            let mut url = Url::parse(arg).map_err(|e| Error::NotFound {
                name: "mirror".into(),
                location: format!("{arg} ({e})"),
            })?;
            if !url.path().ends_with('/') {
                let path = format!("{}/", url.path());
                url.set_path(&path);
            }
            Ok(Self::MirrorUrl(url))
        } else {
            let path = PathBuf::from(arg);
            if !path.is_dir() {
                return Err(Error::NotFound {
                    name: "mirror".into(),
                    location: format!("{arg} (not a folder)"),
                });
            }
            Ok(Self::MirrorDir(path))
        }
    }
}

/// The relative path of an osv.dev ecosystem export.
#[must_use]
pub fn osv_path(ecosystem: &str) -> String {
    format!("{ecosystem}/all.zip")
}

/// Relative path of the KEV catalogue in a mirror.
pub const KEV_PATH: &str = "kev/known_exploited_vulnerabilities.json";
/// Relative path of the EPSS file in a mirror.
pub const EPSS_PATH: &str = "epss/epss_scores-current.csv.gz";

/// The kind of a file, from its path in the layout.
#[must_use]
pub fn kind_of_path(path: &str) -> Option<SourceKind> {
    if path == KEV_PATH {
        return Some(SourceKind::Kev);
    }
    if path == EPSS_PATH {
        return Some(SourceKind::Epss);
    }
    if let Some(file) = path.strip_prefix("nvd/") {
        let is_json = std::path::Path::new(file)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json") || e.eq_ignore_ascii_case("gz"));
        return (is_json && !file.contains('/')).then_some(SourceKind::Nvd);
    }
    let eco = path.strip_suffix("/all.zip")?;
    (!eco.is_empty() && !eco.contains('/')).then(|| SourceKind::Osv {
        ecosystem: eco.to_owned(),
    })
}

/// Selection of what to fetch.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these osv.dev ecosystems (all defaults when empty).
    pub ecosystems: Vec<String>,
    /// Also fetch KEV, EPSS and NVD.
    pub skip_enrichment: bool,
}

impl Selection {
    fn wants(&self, kind: &SourceKind) -> bool {
        match kind {
            SourceKind::Osv { ecosystem } => {
                self.ecosystems.is_empty()
                    || self
                        .ecosystems
                        .iter()
                        .any(|e| e.eq_ignore_ascii_case(ecosystem))
            }
            _ => !self.skip_enrichment,
        }
    }
}

/// The sources for the real upstreams.
#[must_use]
pub fn upstream_sources(sel: &Selection, current_year: i32) -> Vec<Source> {
    let mut out = Vec::new();
    let ecosystems: Vec<String> = if sel.ecosystems.is_empty() {
        Ecosystem::DEFAULT_FEEDS
            .iter()
            .map(|e| e.osv_name().to_owned())
            .collect()
    } else {
        sel.ecosystems.clone()
    };
    let base = Url::parse(OSV_BASE).expect("constant URL");
    for eco in ecosystems {
        let mut url = base.clone();
        url.path_segments_mut()
            .expect("http URL")
            .pop_if_empty()
            .push(&eco)
            .push("all.zip");
        out.push(Source {
            name: osv_path(&eco),
            kind: SourceKind::Osv { ecosystem: eco },
            location: Location::Url(url),
            optional: false,
        });
    }
    if !sel.skip_enrichment {
        out.push(Source {
            name: KEV_PATH.into(),
            kind: SourceKind::Kev,
            location: Location::Url(Url::parse(KEV_URL).expect("constant URL")),
            optional: false,
        });
        out.push(Source {
            name: EPSS_PATH.into(),
            kind: SourceKind::Epss,
            location: Location::Url(Url::parse(EPSS_URL).expect("constant URL")),
            optional: false,
        });
        let nvd = Url::parse(NVD_BASE).expect("constant URL");
        for year in NVD_FIRST_YEAR..=current_year {
            let file = format!("nvdcve-2.0-{year}.json.gz");
            out.push(Source {
                name: format!("nvd/{file}"),
                kind: SourceKind::Nvd,
                location: Location::Url(nvd.join(&file).expect("valid file name")),
                optional: year == current_year,
            });
        }
    }
    out
}

/// The sources in a local mirror folder: every file of the layout that exists.
pub fn mirror_dir_sources(root: &std::path::Path, sel: &Selection) -> Result<Vec<Source>> {
    let io = |source| Error::Io {
        name: "mirror".into(),
        source,
    };
    let mut paths = Vec::new();
    for entry in fs_err::read_dir(root).map_err(io)? {
        let entry = entry.map_err(io)?;
        if !entry.file_type().map_err(io)?.is_dir() {
            continue;
        }
        let dir = entry.file_name().to_string_lossy().into_owned();
        for file in fs_err::read_dir(entry.path()).map_err(io)? {
            let file = file.map_err(io)?;
            if file.file_type().map_err(io)?.is_file() {
                paths.push(format!("{dir}/{}", file.file_name().to_string_lossy()));
            }
        }
    }
    paths.sort();
    let mut out = sources_from_paths(&paths, sel, |p| Location::File(root.join(p)));
    require_selected(&mut out, sel, &root.display().to_string())?;
    Ok(out)
}

/// The URL of the file at `path` (`PyPI/all.zip`) under a mirror's `base`.
#[must_use]
pub fn join_url(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    if let Ok(mut segs) = url.path_segments_mut() {
        segs.pop_if_empty();
        for seg in path.split('/') {
            segs.push(seg);
        }
    }
    url
}

/// The sources of an HTTP mirror, from the file list of its `manifest.json`
/// (`{"files":[{"path":…},…]}`), or, without one, the upstream file names.
#[must_use]
pub fn mirror_url_sources(
    base: &Url,
    manifest_paths: Option<&[String]>,
    sel: &Selection,
    current_year: i32,
) -> Vec<Source> {
    let join = |p: &str| Location::Url(join_url(base, p));
    if let Some(paths) = manifest_paths {
        return sources_from_paths(paths, sel, join);
    }
    upstream_sources(sel, current_year)
        .into_iter()
        .map(|mut s| {
            s.location = join(&s.name);
            s.optional = s.optional || s.kind == SourceKind::Nvd;
            s
        })
        .collect()
}

fn sources_from_paths(
    paths: &[String],
    sel: &Selection,
    locate: impl Fn(&str) -> Location,
) -> Vec<Source> {
    paths
        .iter()
        .filter_map(|p| {
            let kind = kind_of_path(p)?;
            sel.wants(&kind).then(|| Source {
                name: p.clone(),
                location: locate(p),
                kind,
                optional: false,
            })
        })
        .collect()
}

/// Adds the sources an origin is expected to hold but does not list (the
/// files its `manifest.json` names, the enrichment feeds, what the database
/// already holds), so that an absent one is fetched, fails and is reported
/// failed, never silently left out. Names that are no source, or that the
/// selection does not want, are ignored.
pub fn add_expected(
    sources: &mut Vec<Source>,
    names: impl IntoIterator<Item = String>,
    sel: &Selection,
    locate: impl Fn(&str) -> Location,
) {
    for name in names {
        if sources.iter().any(|s| s.name == name) {
            continue;
        }
        let Some(kind) = kind_of_path(&name) else {
            continue;
        };
        if sel.wants(&kind) {
            sources.push(Source {
                location: locate(&name),
                name,
                kind,
                optional: false,
            });
        }
    }
    sources.sort_by(|a, b| a.name.cmp(&b.name));
}

/// The enrichment feeds every origin is expected to hold.
#[must_use]
pub fn enrichment_paths() -> [String; 2] {
    [KEV_PATH.to_owned(), EPSS_PATH.to_owned()]
}

/// Every ecosystem the user named must be in the mirror.
pub fn require_selected(sources: &mut [Source], sel: &Selection, where_: &str) -> Result<()> {
    for eco in &sel.ecosystems {
        let found = sources.iter().any(|s| matches!(&s.kind, SourceKind::Osv { ecosystem } if ecosystem.eq_ignore_ascii_case(eco)));
        if !found {
            return Err(Error::NotFound {
                name: osv_path(eco),
                location: where_.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_paths() {
        assert_eq!(
            kind_of_path("PyPI/all.zip"),
            Some(SourceKind::Osv {
                ecosystem: "PyPI".into()
            })
        );
        assert_eq!(
            kind_of_path("crates.io/all.zip"),
            Some(SourceKind::Osv {
                ecosystem: "crates.io".into()
            })
        );
        assert_eq!(kind_of_path(KEV_PATH), Some(SourceKind::Kev));
        assert_eq!(kind_of_path(EPSS_PATH), Some(SourceKind::Epss));
        assert_eq!(
            kind_of_path("nvd/nvdcve-2.0-2024.json.gz"),
            Some(SourceKind::Nvd)
        );
        assert_eq!(kind_of_path("README.md"), None);
        assert_eq!(kind_of_path("tools/data/x.json"), None);
        assert_eq!(kind_of_path("/all.zip"), None);
    }

    #[test]
    fn upstream_urls_are_the_real_ones() {
        let s = upstream_sources(
            &Selection {
                ecosystems: vec!["Red Hat".into()],
                skip_enrichment: false,
            },
            2026,
        );
        let Location::Url(u) = &s[0].location else {
            panic!()
        };
        assert_eq!(
            u.as_str(),
            "https://osv-vulnerabilities.storage.googleapis.com/Red%20Hat/all.zip"
        );
        assert_eq!(s[0].name, "Red Hat/all.zip");
        assert!(
            s.iter()
                .any(|s| s.name == "nvd/nvdcve-2.0-2026.json.gz" && s.optional)
        );
        assert!(
            s.iter()
                .any(|s| s.name == "nvd/nvdcve-2.0-2002.json.gz" && !s.optional)
        );
        assert_eq!(s.iter().filter(|s| s.kind == SourceKind::Kev).count(), 1);
    }

    #[test]
    fn http_mirror_with_manifest() {
        let base = Url::parse("http://127.0.0.1:8080/mirror").unwrap();
        let base = Origin::from_mirror_arg(base.as_str()).unwrap();
        let Origin::MirrorUrl(base) = base else {
            panic!()
        };
        let paths = vec![
            "Go/all.zip".to_owned(),
            "README.md".to_owned(),
            KEV_PATH.to_owned(),
        ];
        let s = mirror_url_sources(&base, Some(&paths), &Selection::default(), 2026);
        assert_eq!(s.len(), 2);
        let Location::Url(u) = &s[0].location else {
            panic!()
        };
        assert_eq!(u.as_str(), "http://127.0.0.1:8080/mirror/Go/all.zip");
    }
}
