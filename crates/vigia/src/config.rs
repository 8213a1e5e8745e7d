//! The engine's configuration from the command line.

use anyhow::Result;
use vigia_engine::{Config, RegistryCredentials};

use crate::cli::{Cli, SourceArgs};

/// The engine configuration for this invocation: the data directory
/// (`--data-dir`, `$VIGIA_HOME`, or `<XDG data dir>/vigia`), the database URL,
/// and, for commands that read targets, the limits, cache and registry access.
pub(crate) fn engine(cli: &Cli, source: Option<&SourceArgs>) -> Result<Config> {
    let data_dir = match &cli.data_dir {
        Some(d) => d.clone(),
        None => Config::default_data_dir()?,
    };
    let mut config = Config::new(data_dir);
    config.database_url.clone_from(&cli.database_url);
    if let Some(args) = source {
        config.limits = vigia_inventory::Limits {
            max_inflated_bytes: args.max_inflate,
            max_file_bytes: args.max_file_size,
            ..Default::default()
        };
        config.layer_cache = !args.no_cache;
        config.registry = RegistryCredentials {
            insecure: args.insecure,
            username: args.username.clone(),
            password: args.password.clone(),
        };
    }
    Ok(config)
}
