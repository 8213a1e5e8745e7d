//! Fetching a source only when it changed.
//!
//! HTTP sources are requested with `If-None-Match` / `If-Modified-Since` from the
//! previous fetch, so an unchanged upstream answers 304 and nothing is downloaded.
//! Whatever is downloaded is hashed on the way to disk; a body whose SHA-256 equals
//! the previous one is reported unchanged too (some hosts send no validators).
//! A body cut short (fewer bytes than `Content-Length`, or a dropped connection) is
//! an error, never a truncated file handed to the parser.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::catalog::{Location, Source};
use crate::{Error, Result};

pub use vigia_model::feed::Fingerprint;

/// A fetched file: either the mirror's own file or a downloaded temporary copy.
#[derive(Debug)]
pub enum FetchedFile {
    /// A file of a local mirror, read in place.
    Local(PathBuf),
    /// A download, removed when dropped.
    Temp(tempfile::TempPath),
}

impl FetchedFile {
    /// The path to read.
    #[must_use]
    pub fn path(&self) -> &Path {
        match self {
            Self::Local(p) => p,
            Self::Temp(t) => t,
        }
    }
}

/// The outcome of a fetch.
#[derive(Debug)]
pub enum Fetched {
    /// Same content as last time: nothing to ingest.
    Unchanged {
        /// The fingerprint to keep (validators may be new).
        fingerprint: Fingerprint,
        /// Whether any bytes were transferred to find out (a content-hash check).
        downloaded: bool,
    },
    /// New content.
    Changed {
        /// The content.
        file: FetchedFile,
        /// Its fingerprint.
        fingerprint: Fingerprint,
        /// Its size.
        bytes: u64,
    },
}

/// A builder for the HTTP client Vigia uses for feeds (rustls, timeouts, user agent).
#[must_use]
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("vigia/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(30))
        .read_timeout(std::time::Duration::from_secs(120))
        .build()
        .expect("a TLS backend is compiled in")
}

/// Fetches `src` unless it is unchanged since `prev`. Downloads go to `tmp_dir`.
/// `progress` is called with (bytes so far, total if known).
pub async fn fetch(
    client: &reqwest::Client,
    src: &Source,
    prev: Option<&Fingerprint>,
    tmp_dir: &Path,
    progress: &(dyn Fn(u64, Option<u64>) + Send + Sync),
) -> Result<Fetched> {
    match &src.location {
        Location::File(path) => fetch_file(src, path, prev).await,
        Location::Url(url) => fetch_url(client, src, url, prev, tmp_dir, progress).await,
    }
}

async fn fetch_file(src: &Source, path: &Path, prev: Option<&Fingerprint>) -> Result<Fetched> {
    let name = src.name.clone();
    let path = path.to_owned();
    let (sha, bytes) = tokio::task::spawn_blocking(move || -> Result<(String, u64)> {
        let io = |source| Error::Io {
            name: name.clone(),
            source,
        };
        let mut f = match fs_err::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    name: name.clone(),
                    location: path.display().to_string(),
                });
            }
            Err(e) => return Err(io(e)),
        };
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0u64;
        loop {
            let n = f.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            total += n as u64;
        }
        Ok((hex::encode(hasher.finalize()), total))
    })
    .await
    .expect("hashing does not panic")?;
    let fingerprint = Fingerprint {
        etag: None,
        last_modified: None,
        sha256: Some(sha),
    };
    if prev.and_then(|p| p.sha256.as_ref()) == fingerprint.sha256.as_ref() {
        return Ok(Fetched::Unchanged {
            fingerprint,
            downloaded: false,
        });
    }
    let Location::File(path) = &src.location else {
        unreachable!()
    };
    Ok(Fetched::Changed {
        file: FetchedFile::Local(path.clone()),
        fingerprint,
        bytes,
    })
}

async fn fetch_url(
    client: &reqwest::Client,
    src: &Source,
    url: &url::Url,
    prev: Option<&Fingerprint>,
    tmp_dir: &Path,
    progress: &(dyn Fn(u64, Option<u64>) + Send + Sync),
) -> Result<Fetched> {
    let dl = |reason: String| Error::Download {
        name: src.name.clone(),
        url: shown(url),
        reason,
    };
    let mut req = client.get(url.clone());
    if let Some(prev) = prev {
        if let Some(etag) = &prev.etag {
            req = req.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &prev.last_modified {
            req = req.header(reqwest::header::IF_MODIFIED_SINCE, lm);
        }
    }
    let resp = req.send().await.map_err(|e| dl(error_chain(&e)))?;
    let status = resp.status();
    let header = |h: reqwest::header::HeaderName| {
        resp.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let etag = header(reqwest::header::ETAG);
    let last_modified = header(reqwest::header::LAST_MODIFIED);
    if status == reqwest::StatusCode::NOT_MODIFIED {
        let prev = prev.cloned().unwrap_or_default();
        return Ok(Fetched::Unchanged {
            fingerprint: Fingerprint {
                etag: etag.or(prev.etag),
                last_modified: last_modified.or(prev.last_modified),
                sha256: prev.sha256,
            },
            downloaded: false,
        });
    }
    if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
        return Err(Error::NotFound {
            name: src.name.clone(),
            location: url.to_string(),
        });
    }
    if !status.is_success() {
        return Err(dl(format!("HTTP {status}")));
    }
    let expected = resp.content_length();
    let io = |source| Error::Io {
        name: src.name.clone(),
        source,
    };
    fs_err::create_dir_all(tmp_dir).map_err(io)?;
    let tmp = tempfile::NamedTempFile::new_in(tmp_dir).map_err(io)?;
    let (file, tmp_path) = tmp.into_parts();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
    let mut hasher = Sha256::new();
    let mut got = 0u64;
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            dl(format!(
                "connection cut after {got} of {} bytes: {}",
                expected.map_or("?".into(), |n| n.to_string()),
                error_chain(&e)
            ))
        })?;
        hasher.update(&chunk);
        out.write_all(&chunk).map_err(&io)?;
        got += chunk.len() as u64;
        progress(got, expected);
    }
    out.flush().map_err(io)?;
    if let Some(n) = expected
        && n != got
    {
        return Err(dl(format!("body cut short: {got} of {n} bytes")));
    }
    let sha = hex::encode(hasher.finalize());
    let fingerprint = Fingerprint {
        etag,
        last_modified,
        sha256: Some(sha),
    };
    if prev.and_then(|p| p.sha256.as_ref()) == fingerprint.sha256.as_ref() {
        return Ok(Fetched::Unchanged {
            fingerprint,
            downloaded: true,
        });
    }
    Ok(Fetched::Changed {
        file: FetchedFile::Temp(tmp_path),
        fingerprint,
        bytes: got,
    })
}

/// An error and its causes on one line (reqwest hides the useful part in `source()`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// A URL as an error may show it: without the credentials a mirror's URL
/// may carry (the error is logged and kept in the database's status).
fn shown(url: &url::Url) -> String {
    vigia_model::redact::redact_url(url.as_str())
}

/// Fetches a small JSON document (a mirror's `manifest.json`); `None` when absent.
pub async fn fetch_json(
    client: &reqwest::Client,
    url: &url::Url,
) -> Result<Option<serde_json::Value>> {
    let dl = |reason: String| Error::Download {
        name: "manifest.json".into(),
        url: shown(url),
        reason,
    };
    let resp = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| dl(error_chain(&e)))?;
    if resp.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !resp.status().is_success() {
        return Err(dl(format!("HTTP {}", resp.status())));
    }
    let body = resp.bytes().await.map_err(|e| dl(error_chain(&e)))?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| dl(format!("not JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failed download names its URL without the credentials in it.
    #[tokio::test]
    async fn a_download_error_shows_no_credentials() {
        // Nothing listens on port 1.
        let url =
            url::Url::parse("http://mirror-user:s3cret-token@127.0.0.1:1/manifest.json").unwrap();
        let err = fetch_json(&http_client(), &url)
            .await
            .unwrap_err()
            .to_string();
        // The user shown and the password masked, as pip shows an index URL.
        assert!(
            err.contains("http://mirror-user:****@127.0.0.1:1/manifest.json"),
            "{err}"
        );
        assert!(!err.contains("s3cret-token"), "{err}");
        // A user name alone is often a token: masked.
        let url = url::Url::parse("http://s3cret-token@127.0.0.1:1/manifest.json").unwrap();
        let err = fetch_json(&http_client(), &url)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("http://****@127.0.0.1:1/"), "{err}");
        assert!(!err.contains("s3cret-token"), "{err}");
    }
}
