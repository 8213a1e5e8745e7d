//! What a [`crate::Scanner`] and an [`crate::Updater`] are built from.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Registry credentials: given here, they are used for every registry; without
/// them, `~/.docker/config.json` (or `$DOCKER_CONFIG`) is read per registry.
#[derive(Clone, Default)]
pub struct RegistryCredentials {
    /// Plain HTTP instead of HTTPS (a registry on a private network).
    pub insecure: bool,
    /// The user name.
    pub username: Option<String>,
    /// The password or token (never printed).
    pub password: Option<String>,
}

impl std::fmt::Debug for RegistryCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryCredentials")
            .field("insecure", &self.insecure)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "****"))
            .finish()
    }
}

/// The engine's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the advisory database (`vigia.db`), the layer cache and the update
    /// lock live.
    pub data_dir: PathBuf,
    /// A `postgres://…` (or `sqlite://…`) URL: the advisory database lives there
    /// instead of `data_dir/vigia.db`.
    pub database_url: Option<String>,
    /// How many blocking jobs (inventories, secret scans, matching) run at once,
    /// across every scan of a [`crate::Scanner`]. Defaults to the number of cores.
    pub parallelism: usize,
    /// Limits on what one target may make Vigia read.
    pub limits: vigia_inventory::Limits,
    /// Whether layers' extraction results are cached under `data_dir`.
    pub layer_cache: bool,
    /// Registry access.
    pub registry: RegistryCredentials,
    /// A rules file laid over the built-in secret rules.
    pub secret_rules: Option<PathBuf>,
}

impl Config {
    /// Defaults for a data directory: the database file in it, one blocking job
    /// per core, the layer cache on.
    #[must_use]
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database_url: None,
            parallelism: std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            limits: vigia_inventory::Limits::default(),
            layer_cache: true,
            registry: RegistryCredentials::default(),
            secret_rules: None,
        }
    }

    /// The default data directory: `$VIGIA_HOME` is read by the command line;
    /// this is `<XDG data dir>/vigia`.
    pub fn default_data_dir() -> Result<PathBuf> {
        dirs::data_dir().map(|d| d.join("vigia")).ok_or_else(|| {
            Error::request("cannot find a data directory: set --data-dir or VIGIA_HOME")
        })
    }

    /// The embedded database file (when no URL is given).
    #[must_use]
    pub fn database_file(&self) -> PathBuf {
        self.data_dir.join(crate::DB_FILE)
    }

    /// The database as people should see it named: the file, or the URL
    /// without its password.
    #[must_use]
    pub fn database_name(&self) -> String {
        match &self.database_url {
            Some(url) => vigia_store::redact_url(url),
            None => self.database_file().display().to_string(),
        }
    }

    /// The layer cache, unless turned off.
    pub(crate) fn layer_cache(&self) -> Option<vigia_inventory::cache::LayerCache> {
        self.layer_cache.then(|| {
            vigia_inventory::cache::LayerCache::new(self.data_dir.join("cache").join("layers"))
        })
    }

    /// The secret rules: the built-in set with the configured file laid over it.
    pub(crate) fn secret_engine(&self) -> Result<vigia_secrets::Engine> {
        let mut rules = vigia_secrets::RuleFile::builtin();
        let file = self.secret_rules.as_deref();
        if let Some(p) = file {
            let text = fs_err::read_to_string(p).map_err(|source| Error::File {
                what: "cannot read the secret rules",
                path: p.to_owned(),
                source,
            })?;
            // The parse error names the file itself: keep only its reason, so
            // that the message names the file once.
            let parsed =
                vigia_secrets::RuleFile::parse(&p.display().to_string(), &text).map_err(|e| {
                    Error::Rules {
                        file: p.display().to_string(),
                        source: e.reason.into(),
                    }
                })?;
            rules = rules.merged(parsed);
        }
        vigia_secrets::Engine::new(&rules).map_err(|e| rules_error(file, e))
    }
}

fn rules_error(file: Option<&Path>, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Rules {
        file: file.map_or_else(|| "the built-in set".into(), |p| p.display().to_string()),
        source: Box::new(e),
    }
}
