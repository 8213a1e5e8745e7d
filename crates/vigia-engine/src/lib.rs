//! Vigia's engine: the two pipelines every front-end shares.
//!
//! - [`Updater`] builds and refreshes the advisory database, one-shot (the
//!   command line) or in the background (the service), reports its progress as
//!   typed [`UpdateEvent`]s and returns an [`UpdateReport`] with the change set
//!   that rematching stored inventories starts from.
//! - [`Scanner`] is built once from a [`Config`] and scans concurrently: it keeps
//!   the match index of the published database generation as a shared snapshot,
//!   notices a new generation and swaps to it while scans in flight finish on the
//!   old one, and runs blocking work on one bounded pool shared by every scan.
//!
//! The `vigia` binary is glue around these: it parses arguments, builds
//! requests and renders what comes back (rendering lives in `vigia-report`).

mod config;
mod database;
pub mod discovery;
mod error;
mod network;
mod pool;
pub mod registry;
mod scanner;
mod status;
mod target;
mod updater;

pub use config::{Config, RegistryCredentials};
pub use database::{DB_FILE, STALE_AFTER_DAYS, database_info, load_index, open_existing};
pub use error::{Error, RegistryFailure, Result, error_chain};
pub use network::NetworkRequest;
pub use scanner::{InventoryRequest, ScanOutcome, ScanRequest, Scanner, Scanners};
pub use status::{DatabaseStatus, StatusSource, human_age, status};
pub use target::Local;
pub use updater::{
    Background, ChangeSet, EventSink, FeedKind, SourceChange, SourceReport, SourceStatus,
    UpdateEvent, UpdateOptions, UpdateReport, Updater,
};
pub use vigia_store::{Generation, PackageKey};
