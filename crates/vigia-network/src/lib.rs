//! Vigia's network analysis: which ports of a host the internet (or a
//! peered network, or a VPN) can open a connection to, along which path,
//! and what blocks the others.
//!
//! - [`model`]: the network model every importer produces.
//! - [`aws`]: a folder of AWS CLI JSON outputs; [`mod@file`]: that, or a Vigia
//!   network file (YAML or JSON) for networks that are not AWS.
//! - [`firewall`]: a host's own iptables and nftables rules.
//! - [`reach`]: the reachability analysis; [`exposure`]: its results as
//!   findings (one per host, gateway kind, protocol and open range), the
//!   port table they are rated by, and explanations.
//!
//! The algorithm is published in `docs/scoring.md`.

pub mod addr;
pub mod aws;
pub mod exposure;
pub mod file;
pub mod firewall;
pub mod model;
pub mod reach;

pub use addr::{Family, PortSet, describe_ports};
pub use exposure::{
    Explanation, Exposure, InternetExposure, Level, check, explain, exposures, internet_exposure,
};
pub use file::{LoadError, load};
pub use model::{Host, Network, Socket, Transport};
pub use reach::{Blocked, OpenPath, Step, reachability};
