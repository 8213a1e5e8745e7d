//! The engine's errors. Each names the input it is about; causes are kept as
//! sources, never repeated in the message.

use std::path::PathBuf;

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// There is no usable vulnerability database yet (`vigia db update` makes one).
    #[error("{message}")]
    NoDatabase {
        /// What is missing, and what to run.
        message: String,
    },
    /// The request does not fit its target (an image asked to be scanned as a
    /// host, a registry reference while offline, …).
    #[error("{message}")]
    Request {
        /// What is wrong with the request.
        message: String,
    },
    /// A target could not be read.
    #[error("cannot read {target}")]
    Target {
        /// The target, as the request named it.
        target: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A registry refused or failed a pull.
    #[error("{reference}: {message}")]
    Registry {
        /// The image reference.
        reference: String,
        /// What the registry said, and what to do about it.
        message: String,
        /// What kind of failure it is.
        failure: RegistryFailure,
    },
    /// A file of the engine's own (data directory, lock, secret rules) failed.
    #[error("{what} {}", path.display())]
    File {
        /// What was being done (`cannot create the data directory`).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The advisory database failed.
    #[error(transparent)]
    Store(#[from] vigia_store::Error),
    /// The advisory database failed during an update (a full disk, a lost
    /// connection): named, since the store's own errors do not say which.
    #[error("the vulnerability database {database} failed")]
    Database {
        /// The database (file path, or URL without password).
        database: String,
        /// Why.
        #[source]
        source: vigia_store::Error,
    },
    /// Advisory sources could not be listed.
    #[error(transparent)]
    Feeds(#[from] vigia_feeds::Error),
    /// The secret rules are not valid.
    #[error("bad secret rules in {file}")]
    Rules {
        /// The rules file (`the built-in set` for Vigia's own).
        file: String,
        /// What is wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A worker thread died or could not start (a bug: it says which work).
    #[error("{what} failed")]
    Worker {
        /// The work (`the secret scan`).
        what: &'static str,
        /// Why: the thread's panic or cancellation.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    pub(crate) fn target(
        target: &str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Target {
            target: target.to_owned(),
            source: source.into(),
        }
    }

    pub(crate) fn worker(
        what: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Worker {
            what,
            source: source.into(),
        }
    }

    pub(crate) fn request(message: impl Into<String>) -> Self {
        Self::Request {
            message: message.into(),
        }
    }
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error and its causes in one line (`a: b: c`), for reports and logs that
/// hold a string: each cause once, outermost first.
#[must_use]
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let mut text = c.to_string();
        // A cause that names again what the message ends with ("cannot read
        // X" caused by "X: truncated") names it once.
        if let Some((subject, rest)) = text.split_once(": ")
            && (out == subject || out.ends_with(&format!(" {subject}")))
        {
            text = rest.to_owned();
        }
        // A message that already ends with its cause's text (from a foreign
        // crate that prints it inline) is not repeated.
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

/// What kind of registry failure a pull met: the service reports each as
/// its own coverage reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryFailure {
    /// The registry refused the credentials (401, 403): `ACCESS_DENIED`.
    AccessDenied,
    /// The manifest, config or a layer is of a type Vigia does not read
    /// (a Helm chart, a signature, a Docker schema 1 manifest):
    /// `UNSUPPORTED_MEDIA_TYPE`.
    UnsupportedMediaType,
    /// The image is larger than the limit set: `IMAGE_SIZE_EXCEEDED`.
    SizeExceeded,
    /// Anything else (the registry unreachable, a tag missing, a digest
    /// mismatch).
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_names_each_subject_once() {
        let e = Error::Target {
            target: "/srv/fn.zip".to_owned(),
            source: Box::new(vigia_inventory::Error::Invalid {
                path: "/srv/fn.zip".to_owned(),
                reason: "too short to be an image, archive or zip".to_owned(),
            }),
        };
        assert_eq!(
            error_chain(&e),
            "cannot read /srv/fn.zip: too short to be an image, archive or zip"
        );
        // A cause about another file whose name ends the same keeps it.
        let e = Error::Target {
            target: "/srv/backup-app.tar".to_owned(),
            source: Box::new(vigia_inventory::Error::Invalid {
                path: "app.tar".to_owned(),
                reason: "truncated".to_owned(),
            }),
        };
        assert_eq!(
            error_chain(&e),
            "cannot read /srv/backup-app.tar: app.tar: truncated"
        );
        // A cause about a part of the target keeps its name.
        let e = Error::Target {
            target: "/srv/image.tar".to_owned(),
            source: Box::new(vigia_inventory::Error::Invalid {
                path: "blobs/sha256/ab12".to_owned(),
                reason: "truncated or corrupt layer".to_owned(),
            }),
        };
        assert_eq!(
            error_chain(&e),
            "cannot read /srv/image.tar: blobs/sha256/ab12: truncated or corrupt layer"
        );
    }
}
