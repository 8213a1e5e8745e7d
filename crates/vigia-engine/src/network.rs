//! A host scan's network part: the host placed in its network model (or
//! standing alone), its open ranges, and what the contextual score needs.

use std::collections::{BTreeMap, BTreeSet};

use vigia_inventory::host::{HostFacts, SocketProtocol};
use vigia_network::{Exposure, Host, InternetExposure, Network, PortSet, Socket, Transport};
use vigia_scan::score::NetworkContext;

use crate::{Error, Result};

/// The network part of a host scan.
#[derive(Debug, Clone, Default)]
pub struct NetworkRequest {
    /// The network model (`--network`); without one the host stands alone
    /// and only its own firewall and listening sockets are known.
    pub model: Option<Network>,
    /// The model's host that was scanned (`--host-id`); optional when the
    /// model has one host.
    pub host_id: Option<String>,
    /// Firewall rules files given beside the target: (name, text).
    pub firewall: Vec<(String, String)>,
}

/// What the network part found.
#[derive(Debug, Clone)]
pub(crate) struct HostNetwork {
    /// The model's host ID, when a model was given.
    pub host_id: Option<String>,
    /// Open ranges.
    pub exposures: Vec<Exposure>,
    /// For the contextual score.
    pub context: NetworkContext,
    /// Problems that did not stop the scan.
    pub warnings: Vec<String>,
}

fn sockets(facts: &HostFacts) -> Option<Vec<Socket>> {
    facts.sockets.as_ref().map(|list| {
        list.iter()
            .map(|s| Socket {
                protocol: match s.protocol {
                    SocketProtocol::Tcp => Transport::Tcp,
                    SocketProtocol::Udp => Transport::Udp,
                },
                address: s.address,
                port: s.port,
                package: s.package.clone(),
                program: s.program.clone(),
                uid: Some(s.uid),
            })
            .collect()
    })
}

/// Packages with a socket other hosts can reach.
fn exposed(host: &Host) -> BTreeSet<String> {
    host.sockets
        .iter()
        .flatten()
        .filter(|s| !s.loopback_only())
        .filter_map(|s| s.package.clone())
        .collect()
}

/// Packages every one of whose listening sockets is bound to loopback. A
/// package is left out when a reachable socket whose program is unknown has
/// the same owner (or an unknown one): it may be the same service.
fn loopback_only(host: &Host) -> BTreeMap<String, String> {
    let sockets: Vec<&Socket> = host.sockets.iter().flatten().collect();
    let mut by_package: BTreeMap<&str, Vec<&Socket>> = BTreeMap::new();
    for s in &sockets {
        if let Some(p) = &s.package {
            by_package.entry(p).or_default().push(s);
        }
    }
    let unknown_owners: BTreeSet<Option<u32>> = sockets
        .iter()
        .filter(|s| s.package.is_none() && !s.loopback_only())
        .map(|s| s.uid)
        .collect();
    by_package
        .into_iter()
        .filter(|(_, socks)| socks.iter().all(|s| s.loopback_only()))
        .filter(|(_, socks)| {
            !unknown_owners.contains(&None)
                && socks
                    .iter()
                    .all(|s| s.uid.is_some() && !unknown_owners.contains(&s.uid))
        })
        .map(|(p, socks)| {
            let at: Vec<String> = socks.iter().map(|s| s.describe()).collect();
            (p.to_owned(), at.join(", "))
        })
        .collect()
}

/// Places the scanned host in its model and evaluates it.
pub(crate) fn evaluate(
    req: &NetworkRequest,
    facts: Option<&HostFacts>,
    resource_id: &str,
) -> Result<HostNetwork> {
    let mut warnings = Vec::new();
    let mut firewalls = Vec::new();
    for f in facts.map(|f| f.firewall.as_slice()).unwrap_or_default() {
        match vigia_network::firewall::parse(&f.path, &f.text) {
            Ok(fw) => firewalls.push(fw),
            Err(e) => warnings.push(format!(
                "{e}; the host firewall in it is not taken into account"
            )),
        }
    }
    for (name, text) in &req.firewall {
        firewalls.push(
            vigia_network::firewall::parse(name, text)
                .map_err(|e| Error::request(e.to_string()))?,
        );
    }
    let firewall = vigia_network::firewall::merge(firewalls);
    let found_sockets = facts.and_then(sockets);
    let (net, host) = match &req.model {
        Some(model) => {
            let id = match (&req.host_id, model.hosts.as_slice()) {
                (Some(id), _) => id.clone(),
                (None, [only]) => only.id.clone(),
                (None, hosts) => {
                    let ids: Vec<&str> = hosts.iter().map(|h| h.id.as_str()).collect();
                    return Err(Error::request(format!(
                        "the network model has {} hosts ({}); name the scanned one with --host-id",
                        ids.len(),
                        ids.join(", ")
                    )));
                }
            };
            let Some(found) = model.host(&id) else {
                let ids: Vec<&str> = model.hosts.iter().map(|h| h.id.as_str()).collect();
                return Err(Error::request(format!(
                    "the network model has no host {id} (it has: {})",
                    if ids.is_empty() {
                        "none".to_owned()
                    } else {
                        ids.join(", ")
                    }
                )));
            };
            let mut host = found.clone();
            if host.sockets.is_none() {
                host.sockets = found_sockets;
            }
            if firewall.is_some() {
                host.firewall = firewall;
            }
            (Some(model), host)
        }
        None => (
            None,
            Host {
                id: resource_id.to_owned(),
                interfaces: Vec::new(),
                firewall,
                sockets: found_sockets,
            },
        ),
    };
    let all = PortSet::from_iter([0..=u16::MAX]);
    let paths = if let Some(net) = net {
        vigia_network::reachability(net, &host, &all).paths
    } else {
        if host.sockets.is_none() {
            warnings.push(
                "no socket tables (/proc/net) in this root filesystem and no network model: no port can be evaluated; give --network"
                    .to_owned(),
            );
        }
        vigia_network::reach::standalone(&host, &all).paths
    };
    let internet = net.map(|net| match vigia_network::internet_exposure(net, &host) {
        InternetExposure::Open(how) => Ok(how),
        InternetExposure::Closed(why) => Err(why),
    });
    Ok(HostNetwork {
        host_id: net.map(|_| host.id.clone()),
        exposures: vigia_network::exposures(&host, &paths),
        context: NetworkContext {
            internet,
            loopback_only: loopback_only(&host),
            exposed: exposed(&host),
        },
        warnings,
    })
}
