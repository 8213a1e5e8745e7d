//! Vigia's service: resources scanned once and kept, their inventories
//! stored, findings that live (opened, suppressed, closed, reopened, each
//! change with its cause), and re-evaluation when advisories change.
//!
//! - [`db`]: the service's own database (SQLite or PostgreSQL).
//! - [`criteria`]: Inspector's `FilterCriteria`, for listing findings and
//!   for suppression rules.

pub mod criteria;
pub mod db;
