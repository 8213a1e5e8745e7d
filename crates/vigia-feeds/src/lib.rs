//! Vigia's advisory sources: catalogue, incremental fetch and streaming parse.
//!
//! A [`Source`] is one file of one feed, named by its path in the upstream-shaped
//! layout (`PyPI/all.zip`, `kev/known_exploited_vulnerabilities.json`, …), so a
//! mirror and the real upstreams share names and stored state. [`fetch::fetch`]
//! gets a file only when it changed; [`parse::parse`] streams its items.

pub mod catalog;
pub mod fetch;
pub mod parse;

pub use catalog::{Location, Source, SourceKind};
pub use fetch::{Fetched, Fingerprint};
pub use parse::{Item, Malformed, ParseReport};

use std::path::PathBuf;

/// Errors while fetching or parsing a source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The source does not exist at its location.
    #[error("{name}: not found at {location}")]
    NotFound {
        /// Source name.
        name: String,
        /// Where it was looked for.
        location: String,
    },
    /// An HTTP error or a cut connection.
    #[error("{name}: download from {url} failed: {reason}")]
    Download {
        /// Source name.
        name: String,
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// A local read or write failed.
    #[error("{name}")]
    Io {
        /// Source name.
        name: String,
        /// The I/O error (names the path).
        #[source]
        source: std::io::Error,
    },
    /// The file is not what its kind says (truncated zip, bad gzip, bad JSON).
    #[error("{name}: {path} is not a valid {what}: {reason}")]
    Corrupt {
        /// Source name.
        name: String,
        /// The file.
        path: PathBuf,
        /// What it should be.
        what: &'static str,
        /// Why it is not.
        reason: String,
    },
    /// The consumer of parsed items stopped (the update was cancelled).
    #[error("{name}: ingest stopped: {reason}")]
    Stopped {
        /// Source name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
