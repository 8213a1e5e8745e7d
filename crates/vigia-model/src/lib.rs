//! Vigia's shared types: OSV advisory records, ecosystems, CVSS scores and severities.
//!
//! The crate does no I/O. OSV records are parsed leniently: unknown fields are
//! ignored, `null` where a list is expected reads as an empty list, and unknown
//! enum values land in an `Unknown` variant instead of failing the record,
//! because real feeds vary across schema versions (1.3.0 to 1.7).

pub mod advisory;
pub mod cvss;
pub mod ecosystem;
pub mod feed;
pub mod osv;
pub mod redact;

pub use crate::cvss::{CvssScore, CvssVersion, SeverityBand};
pub use crate::ecosystem::{Ecosystem, PackageKey, normalize_name};
pub use crate::osv::Osv;
