//! `vigia`: continuous vulnerability management for images, hosts and functions.

mod cli;
mod config;
mod db;
mod logging;
mod network;
mod output;
mod sbom;
mod scan;
mod serve;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, LogFormat};

/// Exit codes, documented in `vigia --help` and README.md.
pub(crate) mod exit {
    /// Success.
    pub(crate) const OK: u8 = 0;
    /// An error (its message says what and where).
    pub(crate) const ERROR: u8 = 1;
    // 2 is a usage error, from clap.
    /// `db update` finished but some sources could not be updated (their previous data is kept).
    pub(crate) const PARTIAL: u8 = 3;
    /// There is no vulnerability database yet: run `vigia db update`.
    pub(crate) const NO_DATABASE: u8 = 4;
    /// The vulnerability asked for is not in the database.
    pub(crate) const NOT_FOUND: u8 = 5;
    // 6 is `vigia scan --fail-on`'s default `--exit-code`.
    /// `vigia scan`: a package database, lockfile or manifest could not be
    /// read, so the findings may be incomplete (`--allow-incomplete` exits 0).
    pub(crate) const INCOMPLETE: u8 = 7;
    /// `vigia gate`: at least one image is refused by the deployment gate.
    pub(crate) const DENIED: u8 = 8;
}

/// An error that carries its own exit code.
#[derive(Debug)]
pub(crate) struct Exit {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// The log level without `VIGIA_LOG`. A service or an agent (`daemon`) is
/// read through its log (what it serves, each update, scan and check-in):
/// it starts a level higher, and each -v adds one to where the command
/// starts.
fn log_level(quiet: bool, verbose: u8, daemon: bool) -> &'static str {
    const LEVELS: [&str; 4] = ["warn", "info", "debug", "trace"];
    if quiet {
        return "error";
    }
    LEVELS[(usize::from(daemon) + usize::from(verbose)).min(LEVELS.len() - 1)]
}

fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let daemon = matches!(cli.command, Command::Serve(_) | Command::Agent(_));
    let default = log_level(cli.quiet, cli.verbose, daemon);
    let filter = EnvFilter::try_from_env("VIGIA_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder
            .fmt_fields(logging::EscapedFields)
            .with_ansi(output::stderr_is_terminal())
            .init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            output::error(&format!("cannot start the runtime: {e}"));
            return ExitCode::from(exit::ERROR);
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Db(cmd) => db::run(&cli, cmd).await,
            Command::Sbom(args) => sbom::run(&cli, args).await,
            Command::Scan(args) => scan::run(&cli, args).await,
            Command::Network(cmd) => network::run(&cli, cmd),
            Command::Serve(args) => serve::run(&cli, args).await,
            Command::Token(cmd) => serve::token(&cli, cmd).await,
            Command::User(cmd) => serve::user(&cli, cmd).await,
            Command::Gate(args) => serve::gate(args).await,
            Command::Agent(args) => serve::agent(args).await,
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<Exit>() {
                output::error(&exit.message);
                return ExitCode::from(exit.code);
            }
            if let Some(vigia_engine::Error::NoDatabase { message }) =
                e.downcast_ref::<vigia_engine::Error>()
            {
                output::error(message);
                return ExitCode::from(exit::NO_DATABASE);
            }
            // Each cause once, even when a wrapper and its cause say the same.
            output::error(&vigia_engine::error_chain(e.as_ref()));
            ExitCode::from(exit::ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::log_level;

    #[test]
    fn each_v_adds_a_level_to_where_the_command_starts() {
        assert_eq!(log_level(false, 0, false), "warn");
        assert_eq!(log_level(false, 1, false), "info");
        assert_eq!(log_level(false, 0, true), "info");
        assert_eq!(log_level(false, 1, true), "debug");
        assert_eq!(log_level(false, 2, true), "trace");
        assert_eq!(log_level(false, 9, false), "trace");
        assert_eq!(log_level(true, 0, true), "error");
    }
}
