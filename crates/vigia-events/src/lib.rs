//! EventBridge-shaped events: the patterns that select them for a delivery
//! target. See the crate's README.

pub mod pattern;

pub use pattern::{EventPattern, PatternError};
