//! Reachability: which ports of a host traffic entering by a gateway can
//! open a connection to, along which path, or what blocks it.
//!
//! A path from a gateway to a host is feasible for a port when some source
//! address behind the gateway passes every component on it (Reachability
//! Analyzer's definition):
//! 1. the gateway is attached to the host's network and the host has an
//!    address it can reach (a public IPv4 address or a global IPv6 address
//!    for the internet);
//! 2. the subnet's route table (its own, else the main one) sends replies to
//!    that source back through the gateway (longest prefix wins);
//! 3. the subnet's network ACL allows the port inbound from the source
//!    (lowest rule number first, the first match decides, nothing matched
//!    is denied) and allows the replies outbound to the source's ephemeral
//!    ports (1024-65535);
//! 4. one of the interface's security groups allows the port from the
//!    source (a union of allow rules);
//! 5. the host's own firewall, when known, accepts it.
//!
//! Through a load balancer, the front half (gateway to load balancer, on a
//! listener port) and the back half (load balancer nodes to the target, on
//! the target port) are each checked like this, with the load balancer's
//! security groups as the source of the back half.

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde::Serialize;

use crate::addr::{
    self, AddrSet, EPHEMERAL, Family, PortSet, all_ports, atoms, holds, ports_of, set_of, to_ip,
};
use crate::model::{
    AclEntry, Action, Gateway, GatewayKind, Host, Interface, LoadBalancer, Network, NetworkAcl,
    Peer, Subnet, Transport,
};

/// One hop of a path, with CloudFormation's type name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// The component's ID.
    pub component_id: String,
    /// Its type (`AWS::EC2::InternetGateway`).
    pub component_type: String,
}

impl Step {
    fn new(id: &str, ty: &str) -> Self {
        Self {
            component_id: id.to_owned(),
            component_type: ty.to_owned(),
        }
    }
}

/// A feasible path and the ports it opens.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenPath {
    /// The host.
    pub host: String,
    /// The gateway's kind.
    pub gateway: GatewayKind,
    /// The gateway's ID.
    pub gateway_id: String,
    /// The transport.
    pub protocol: Transport,
    /// The address family.
    pub family: Family,
    /// The open ports (on the host).
    pub ports: PortSet,
    /// The interface reached.
    pub interface: String,
    /// The load balancer on the way, if any.
    pub load_balancer: Option<String>,
    /// The hops, gateway first.
    pub steps: Vec<Step>,
}

/// A gateway whose traffic reaches none of the ports asked about, and the
/// first component on the path that stops it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Blocked {
    /// The gateway's kind.
    pub gateway: GatewayKind,
    /// The gateway's ID.
    pub gateway_id: String,
    /// The interface the path was for.
    pub interface: String,
    /// The address family.
    pub family: &'static str,
    /// The transport.
    pub protocol: Transport,
    /// The component that blocks.
    pub component_id: String,
    /// Its type.
    pub component_type: String,
    /// Why.
    pub reason: String,
}

/// What reaches a host.
#[derive(Debug, Clone, Default)]
pub struct Reachability {
    /// Feasible paths.
    pub paths: Vec<OpenPath>,
    /// Gateways that reach nothing asked about, and why.
    pub blocked: Vec<Blocked>,
}

/// The stages of a hop, in path order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Route,
    AclIn,
    AclReplies,
    Groups,
    Firewall,
    Open,
}

/// Evaluates every gateway of the host's networks, for the ports `wanted`.
#[must_use]
pub fn reachability(net: &Network, host: &Host, wanted: &PortSet) -> Reachability {
    let mut out = Reachability::default();
    for iface in &host.interfaces {
        let Some(subnet) = net.subnet(&iface.subnet) else {
            for proto in Transport::BOTH {
                out.blocked.push(Blocked {
                    gateway: GatewayKind::Internet,
                    gateway_id: String::new(),
                    interface: iface.id.clone(),
                    family: Family::V4.as_str(),
                    protocol: proto,
                    component_id: iface.subnet.clone(),
                    component_type: "AWS::EC2::Subnet".into(),
                    reason: format!(
                        "the interface's subnet {} is not in the network model",
                        iface.subnet
                    ),
                });
            }
            continue;
        };
        for gw in net.gateways.iter().filter(|g| g.vpcs.contains(&subnet.vpc)) {
            for family in [Family::V4, Family::V6] {
                for proto in Transport::BOTH {
                    let hop = Hop {
                        net,
                        host,
                        iface,
                        subnet,
                        gw,
                        family,
                        proto,
                    };
                    match hop.direct(wanted) {
                        Ok(paths) => out.paths.extend(paths),
                        Err(Some(b)) => out.blocked.push(*b),
                        Err(None) => {}
                    }
                }
            }
        }
    }
    for lb in &net.load_balancers {
        out.merge(through_balancer(net, host, lb, wanted));
    }
    // IPv4 and IPv6 paths of the same hop open the same ports twice; a
    // blocked family is only news when the other family is blocked too.
    let open: Vec<(String, String, Transport)> = out
        .paths
        .iter()
        .map(|p| (p.gateway_id.clone(), p.interface.clone(), p.protocol))
        .collect();
    out.blocked
        .retain(|b| !open.contains(&(b.gateway_id.clone(), b.interface.clone(), b.protocol)));
    out
}

impl Reachability {
    fn merge(&mut self, other: Self) {
        self.paths.extend(other.paths);
        self.blocked.extend(other.blocked);
    }
}

struct Hop<'a> {
    net: &'a Network,
    host: &'a Host,
    iface: &'a Interface,
    subnet: &'a Subnet,
    gw: &'a Gateway,
    family: Family,
    proto: Transport,
}

/// A network's own blocks.
fn own_blocks(net: &Network, subnet: &Subnet) -> Vec<IpNet> {
    let mut own: Vec<IpNet> = net
        .vpc(&subnet.vpc)
        .map(|v| v.cidrs.clone())
        .unwrap_or_default();
    for s in net.subnets.iter().filter(|s| s.vpc == subnet.vpc) {
        own.extend(s.cidrs.iter().copied());
    }
    own
}

fn has_address(iface: &Interface, kind: GatewayKind, family: Family) -> bool {
    let all = || {
        iface
            .private_addresses
            .iter()
            .chain(&iface.public_addresses)
    };
    let of_family = |a: &&std::net::IpAddr| Family::of_ip(a) == family;
    if kind == GatewayKind::Internet {
        // A public address, wherever the model lists it (a network file may
        // put a routable address among the interface's own).
        iface
            .public_addresses
            .iter()
            .filter(of_family)
            .any(|a| family == Family::V4 || addr::is_internet_address(a))
            || all().filter(of_family).any(addr::is_internet_address)
    } else {
        all().any(|a| of_family(&a))
    }
}

/// The blocks every component on a hop names (where rules change).
fn cuts(net: &Network, subnet: &Subnet, groups: &[String], host: Option<&Host>) -> Vec<IpNet> {
    let mut out = Vec::new();
    if let Some(rt) = net.route_table(subnet) {
        for r in &rt.routes {
            out.extend(r.destination);
            if let Some(pl) = r
                .destination_prefix_list
                .as_deref()
                .and_then(|p| net.prefix_list(p))
            {
                out.extend(pl.cidrs.iter().copied());
            }
        }
    }
    if let Some(acl) = net.acl(subnet) {
        out.extend(acl.entries.iter().map(|e| e.cidr));
    }
    for g in groups.iter().filter_map(|g| net.group(g)) {
        for r in g.inbound.iter().chain(&g.outbound) {
            for p in &r.peers {
                match p {
                    Peer::Cidr(n) => out.push(*n),
                    Peer::PrefixList(id) => {
                        if let Some(pl) = net.prefix_list(id) {
                            out.extend(pl.cidrs.iter().copied());
                        }
                    }
                    Peer::Group(_) => {}
                }
            }
        }
    }
    if let Some(h) = host {
        out.extend(firewall_cuts(h));
    }
    out
}

/// The route a source address takes in a subnet's table (longest prefix).
fn route_for<'a>(
    net: &'a Network,
    subnet: &Subnet,
    family: Family,
    addr: u128,
) -> Option<&'a crate::model::Route> {
    let rt = net.route_table(subnet)?;
    rt.routes
        .iter()
        .filter_map(|r| {
            let nets: Vec<IpNet> = match (&r.destination, &r.destination_prefix_list) {
                (Some(n), _) => vec![*n],
                (None, Some(pl)) => net
                    .prefix_list(pl)
                    .map(|p| p.cidrs.clone())
                    .unwrap_or_default(),
                (None, None) => Vec::new(),
            };
            nets.iter()
                .filter(|n| holds(n, family, addr))
                .map(IpNet::prefix_len)
                .max()
                .map(|len| (len, r))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, r)| r)
}

/// A path's last hops: the interface, the host's own firewall when it has
/// one, the instance.
fn last_steps(host: &Host, iface: &Interface) -> Vec<Step> {
    let mut out = vec![Step::new(&iface.id, "AWS::EC2::NetworkInterface")];
    if let Some(fw) = &host.firewall {
        out.push(Step::new(&fw.sources.join(", "), "Vigia::Host::Firewall"));
    }
    out.push(Step::new(&host.id, "AWS::EC2::Instance"));
    out
}

/// The source blocks a host's firewall rules name.
fn firewall_cuts(host: &Host) -> Vec<IpNet> {
    host.firewall
        .iter()
        .flat_map(|fw| {
            fw.chains.iter().flat_map(|c| {
                c.rules
                    .iter()
                    .flat_map(|r| r.sources.iter().flatten().copied())
            })
        })
        .collect()
}

fn sorted_entries(acl: &NetworkAcl, egress: bool) -> Vec<&AclEntry> {
    let mut e: Vec<&AclEntry> = acl.entries.iter().filter(|e| e.egress == egress).collect();
    e.sort_by_key(|e| e.rule);
    e
}

/// The ports an ACL lets through for a remote address (first match decides).
pub(crate) fn acl_ports(
    acl: &NetworkAcl,
    egress: bool,
    proto: Transport,
    family: Family,
    addr: u128,
) -> PortSet {
    let mut remaining = all_ports();
    let mut allowed = PortSet::new();
    for e in sorted_entries(acl, egress) {
        if !e.protocol.matches(proto) || !holds(&e.cidr, family, addr) {
            continue;
        }
        let hit = &entry_ports(e) & &remaining;
        if e.action == Action::Allow {
            allowed |= &hit;
        }
        remaining = remaining - &hit;
        if remaining.is_empty() {
            break;
        }
    }
    allowed
}

/// The ports an ACL entry covers: every port for all protocols (AWS takes no
/// range for `-1`), else its range.
fn entry_ports(e: &AclEntry) -> PortSet {
    if e.protocol == crate::model::Protocol::All {
        all_ports()
    } else {
        ports_of(e.ports)
    }
}

/// The entry that decides a port, `None` for the final implicit deny.
fn acl_decision(
    acl: &NetworkAcl,
    egress: bool,
    proto: Transport,
    family: Family,
    addr: u128,
    port: u16,
) -> Option<&AclEntry> {
    sorted_entries(acl, egress).into_iter().find(|e| {
        e.protocol.matches(proto) && holds(&e.cidr, family, addr) && entry_ports(e).contains(port)
    })
}

fn describe_entry(e: Option<&AclEntry>, acl: &NetworkAcl, what: &str) -> String {
    match e {
        Some(e) => format!(
            "network ACL {} rule {} denies {what} ({} {} {})",
            acl.id,
            e.rule,
            String::from(e.protocol),
            e.cidr,
            e.ports.map_or("all ports".to_owned(), |p| format!(
                "ports {}-{}",
                p.from, p.to
            ))
        ),
        None => format!(
            "network ACL {}: no rule allows {what}, so its final `*` rule denies it",
            acl.id
        ),
    }
}

/// The ports a set of security groups allows from a source (a union).
/// `peer_groups` are the groups the source is in (empty for outside traffic).
pub(crate) fn group_ports(
    net: &Network,
    group: &str,
    inbound: bool,
    proto: Transport,
    family: Family,
    addr: u128,
    peer_groups: &[String],
) -> PortSet {
    let Some(g) = net.group(group) else {
        return PortSet::new();
    };
    let mut out = PortSet::new();
    for r in if inbound { &g.inbound } else { &g.outbound } {
        if !r.protocol.matches(proto) {
            continue;
        }
        let matched = r.peers.iter().any(|p| match p {
            Peer::Cidr(n) => holds(n, family, addr),
            Peer::Group(id) => peer_groups.contains(id),
            // A prefix list whose entries are unknown is taken to hold the
            // source: an unknown can only make a port look more open.
            Peer::PrefixList(id) => net
                .prefix_list(id)
                .is_none_or(|pl| pl.cidrs.iter().any(|n| holds(n, family, addr))),
        });
        if matched {
            out |= &if r.protocol == crate::model::Protocol::All {
                all_ports()
            } else {
                ports_of(r.ports)
            };
        }
    }
    out
}

fn source_phrase(kind: GatewayKind, family: Family, addr: u128) -> String {
    match kind {
        GatewayKind::Internet => format!("the internet (e.g. {})", to_ip(family, addr)),
        _ => to_ip(family, addr).to_string(),
    }
}

/// The evaluation of one hop's filters for one source address.
struct Filtered {
    stage: Stage,
    /// Ports open after the filters, per security group that allowed them
    /// first (the interface's group order).
    by_group: Vec<(String, PortSet)>,
    /// The ports that passed the stage before the one that emptied them.
    before: PortSet,
}

#[allow(clippy::too_many_arguments)]
fn filter(
    net: &Network,
    subnet: Option<&Subnet>,
    groups: Option<&[String]>,
    host: Option<&Host>,
    proto: Transport,
    family: Family,
    addr: u128,
    peer_groups: &[String],
    wanted: &PortSet,
) -> Filtered {
    let mut ports = wanted.clone();
    let stop = |stage, before: PortSet| Filtered {
        stage,
        by_group: Vec::new(),
        before,
    };
    if let Some(acl) = subnet.and_then(|s| net.acl(s)) {
        let inbound = &ports & &acl_ports(acl, false, proto, family, addr);
        if inbound.is_empty() {
            return stop(Stage::AclIn, ports);
        }
        let replies = &acl_ports(acl, true, proto, family, addr) & &ports_of(Some(EPHEMERAL));
        if replies.is_empty() {
            return stop(Stage::AclReplies, inbound);
        }
        ports = inbound;
    }
    if let Some(fw) = host.and_then(|h| h.firewall.as_ref()) {
        let through = &ports & &fw.allowed(proto, family, addr);
        // The firewall is the last hop; checked first here so that the
        // groups' split below only holds ports that get through.
        if through.is_empty() {
            let by_groups = groups.is_none_or(|gs| {
                gs.iter().any(|g| {
                    !(&group_ports(net, g, true, proto, family, addr, peer_groups) & &ports)
                        .is_empty()
                })
            });
            return if by_groups {
                stop(Stage::Firewall, ports)
            } else {
                stop(Stage::Groups, ports)
            };
        }
        ports = through;
    }
    let by_group = match groups {
        None => vec![(String::new(), ports.clone())],
        Some(gs) => {
            let mut left = ports.clone();
            let mut out = Vec::new();
            for g in gs {
                let mine = &left & &group_ports(net, g, true, proto, family, addr, peer_groups);
                if !mine.is_empty() {
                    left = left - &mine;
                    out.push((g.clone(), mine));
                }
            }
            out
        }
    };
    if by_group.is_empty() {
        return stop(Stage::Groups, ports);
    }
    Filtered {
        stage: Stage::Open,
        by_group,
        before: PortSet::new(),
    }
}

impl Hop<'_> {
    fn blocked(&self, id: &str, ty: &str, reason: String) -> Box<Blocked> {
        Box::new(Blocked {
            gateway: self.gw.kind,
            gateway_id: self.gw.id.clone(),
            interface: self.iface.id.clone(),
            family: self.family.as_str(),
            protocol: self.proto,
            component_id: id.to_owned(),
            component_type: ty.to_owned(),
            reason,
        })
    }

    /// The source addresses behind the gateway.
    fn sources(&self) -> AddrSet {
        let own = own_blocks(self.net, self.subnet);
        match self.gw.kind {
            GatewayKind::Internet => addr::internet(self.family, &own),
            GatewayKind::Peering => set_of(self.family, &self.gw.sources),
            GatewayKind::Attached => AddrSet::new(),
            GatewayKind::Vpn => {
                let mut nets = self.gw.sources.clone();
                if let Some(rt) = self.net.route_table(self.subnet) {
                    nets.extend(
                        rt.routes
                            .iter()
                            .filter(|r| r.target == self.gw.id)
                            .filter_map(|r| r.destination),
                    );
                }
                set_of(self.family, &nets)
            }
        }
    }

    /// `Err(None)`: the hop does not apply (no address of this family).
    fn direct(&self, wanted: &PortSet) -> Result<Vec<OpenPath>, Option<Box<Blocked>>> {
        let (net, iface, family, proto) = (self.net, self.iface, self.family, self.proto);
        if !has_address(iface, self.gw.kind, family) {
            return Err((family == Family::V4).then(|| {
                let what = match self.gw.kind {
                    GatewayKind::Internet => {
                        "no public IPv4 address (instance, interface or Elastic IP)"
                    }
                    _ => "no private IPv4 address",
                };
                self.blocked(
                    &iface.id,
                    "AWS::EC2::NetworkInterface",
                    format!("the interface {} has {what}", iface.id),
                )
            }));
        }
        let sources = self.sources();
        if sources.is_empty() {
            return Err(Some(self.blocked(
                &self.gw.id,
                self.gw.kind.component_type(),
                format!(
                    "no {} source blocks are known behind {}",
                    family.as_str(),
                    self.gw.id
                ),
            )));
        }
        let Some(rt) = net.route_table(self.subnet) else {
            return Err(Some(self.blocked(
                &self.subnet.id,
                "AWS::EC2::Subnet",
                format!("the subnet {} has no route table", self.subnet.id),
            )));
        };
        let cut = cuts(net, self.subnet, &iface.security_groups, Some(self.host));
        let mut by_group: BTreeMap<String, PortSet> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut worst: Option<(Stage, u128, PortSet)> = None;
        for a in atoms(&sources, family, &cut) {
            let routed = route_for(net, self.subnet, family, a)
                .is_some_and(|r| r.target == self.gw.id && !r.blackhole);
            let f = if routed {
                filter(
                    net,
                    Some(self.subnet),
                    (!iface.security_groups.is_empty()).then_some(iface.security_groups.as_slice()),
                    Some(self.host),
                    proto,
                    family,
                    a,
                    &[],
                    wanted,
                )
            } else {
                Filtered {
                    stage: Stage::Route,
                    by_group: Vec::new(),
                    before: wanted.clone(),
                }
            };
            if f.stage == Stage::Open {
                for (g, ports) in f.by_group {
                    if !order.contains(&g) {
                        order.push(g.clone());
                    }
                    *by_group.entry(g).or_default() |= &ports;
                }
            } else if worst.as_ref().is_none_or(|(s, _, _)| f.stage > *s) {
                worst = Some((f.stage, a, f.before));
            }
        }
        if by_group.is_empty() {
            let Some((stage, a, before)) = worst else {
                return Err(None);
            };
            return Err(Some(self.explain(stage, a, &before, rt)));
        }
        let acl = net.acl(self.subnet);
        Ok(order
            .into_iter()
            .map(|g| {
                let ports = by_group.remove(&g).unwrap_or_default();
                let mut steps = vec![Step::new(&self.gw.id, self.gw.kind.component_type())];
                if let Some(acl) = acl {
                    steps.push(Step::new(&acl.id, "AWS::EC2::NetworkAcl"));
                }
                if !g.is_empty() {
                    steps.push(Step::new(&g, "AWS::EC2::SecurityGroup"));
                }
                steps.extend(last_steps(self.host, iface));
                OpenPath {
                    host: self.host.id.clone(),
                    gateway: self.gw.kind,
                    gateway_id: self.gw.id.clone(),
                    protocol: proto,
                    family,
                    ports,
                    interface: iface.id.clone(),
                    load_balancer: None,
                    steps,
                }
            })
            .collect())
    }

    fn explain(
        &self,
        stage: Stage,
        a: u128,
        before: &PortSet,
        rt: &crate::model::RouteTable,
    ) -> Box<Blocked> {
        let (net, family, proto) = (self.net, self.family, self.proto);
        let from = source_phrase(self.gw.kind, family, a);
        let port = before.first().unwrap_or(0);
        let ports = addr::describe_ports(before);
        let p = proto.as_str();
        match stage {
            Stage::Route => {
                let reason = match route_for(net, self.subnet, family, a) {
                    Some(r) if r.blackhole => {
                        format!("route table {}: the route for {from} is a blackhole", rt.id)
                    }
                    Some(r) => format!(
                        "route table {} sends traffic for {from} to {}, not to {}{}",
                        rt.id,
                        r.target,
                        self.gw.id,
                        if self.gw.kind == GatewayKind::Internet {
                            " (the subnet is not public)"
                        } else {
                            ""
                        }
                    ),
                    None => format!(
                        "route table {} has no route to {} for {from}{}",
                        rt.id,
                        self.gw.id,
                        if self.gw.kind == GatewayKind::Internet {
                            " (the subnet is not public)"
                        } else {
                            ""
                        }
                    ),
                };
                self.blocked(&rt.id, "AWS::EC2::RouteTable", reason)
            }
            Stage::AclIn | Stage::AclReplies => {
                let acl = net.acl(self.subnet).expect("an ACL stage has an ACL");
                let reason = if stage == Stage::AclIn {
                    let e = acl_decision(acl, false, proto, family, a, port);
                    describe_entry(e, acl, &format!("{p} {ports} inbound from {from}"))
                } else {
                    // The replies go to the client's ephemeral ports.
                    let e = acl_decision(acl, true, proto, family, a, EPHEMERAL.from);
                    format!(
                        "{}: the {p} {ports} path is not open, because its replies are dropped",
                        describe_entry(
                            e,
                            acl,
                            &format!("the replies outbound to {from} (ports 1024-65535)")
                        )
                    )
                };
                self.blocked(&acl.id, "AWS::EC2::NetworkAcl", reason)
            }
            Stage::Groups => {
                let gs = self.iface.security_groups.join(", ");
                self.blocked(
                    self.iface
                        .security_groups
                        .first()
                        .map_or(&self.iface.id, |g| g),
                    "AWS::EC2::SecurityGroup",
                    format!(
                        "security groups {gs} of {} allow no {p} {ports} from {from}",
                        self.iface.id
                    ),
                )
            }
            Stage::Firewall | Stage::Open => {
                let fw = self
                    .host
                    .firewall
                    .as_ref()
                    .expect("a firewall stage has a firewall");
                let why = fw
                    .blocker(proto, family, a, port)
                    .unwrap_or_else(|| "it drops the traffic".into());
                self.blocked(
                    &fw.sources.join(", "),
                    "Vigia::Host::Firewall",
                    format!("the host firewall drops {p} {port} from {from}: {why}"),
                )
            }
        }
    }
}

/// Paths to `host` through an internet-facing load balancer.
fn through_balancer(
    net: &Network,
    host: &Host,
    lb: &LoadBalancer,
    wanted: &PortSet,
) -> Reachability {
    let mut out = Reachability::default();
    if !lb.internet_facing {
        return out;
    }
    let targets: Vec<_> = lb
        .targets
        .iter()
        .filter(|t| {
            (t.host == host.id
                || host
                    .interfaces
                    .iter()
                    .any(|i| i.private_addresses.iter().any(|a| a.to_string() == t.host)))
                && wanted.contains(t.port)
        })
        .collect();
    if targets.is_empty() {
        return out;
    }
    let lb_groups = lb.security_groups.clone();
    for t in targets {
        let Some(iface) = host
            .interfaces
            .iter()
            .find(|i| i.private_addresses.iter().any(|a| a.to_string() == t.host))
            .or_else(|| host.interfaces.first())
        else {
            continue;
        };
        let Some(tsubnet) = net.subnet(&iface.subnet) else {
            continue;
        };
        let blocked = |id: &str, ty: &str, gw: Option<&Gateway>, reason: String| Blocked {
            gateway: GatewayKind::Internet,
            gateway_id: gw.map(|g| g.id.clone()).unwrap_or_default(),
            interface: iface.id.clone(),
            family: Family::V4.as_str(),
            protocol: t.protocol,
            component_id: id.to_owned(),
            component_type: ty.to_owned(),
            reason,
        };
        // Listener ports that forward to this target's group.
        let listener_ports: PortSet = match &lb.listeners {
            Some(ls) => ls
                .iter()
                .filter(|l| {
                    l.protocol == t.protocol
                        && (l.target_groups.is_empty()
                            || t.group
                                .as_ref()
                                .is_some_and(|g| l.target_groups.contains(g)))
                })
                .map(|l| PortSet::from_iter([l.port..=l.port]))
                .fold(PortSet::new(), |a, b| a | b),
            None => all_ports(),
        };
        if listener_ports.is_empty() {
            out.blocked.push(blocked(
                &lb.id,
                "AWS::ElasticLoadBalancingV2::LoadBalancer",
                None,
                format!(
                    "no listener of {} forwards {} to target port {}",
                    lb.id,
                    t.protocol.as_str(),
                    t.port
                ),
            ));
            continue;
        }
        let mut found = None;
        let mut why = None;
        'subnets: for sid in &lb.subnets {
            let Some(lsub) = net.subnet(sid) else {
                continue;
            };
            let Some(gw) = net
                .gateways
                .iter()
                .find(|g| g.kind == GatewayKind::Internet && g.vpcs.contains(&lsub.vpc))
            else {
                why.get_or_insert_with(|| {
                    blocked(
                        sid,
                        "AWS::EC2::Subnet",
                        None,
                        format!("no internet gateway is attached to {}", lsub.vpc),
                    )
                });
                continue;
            };
            let family = Family::V4;
            let groups: Option<&[String]> = lb_groups.as_deref();
            // Front half: the internet to the load balancer.
            let sources = addr::internet(family, &own_blocks(net, lsub));
            let cut = cuts(net, lsub, groups.unwrap_or_default(), None);
            let mut front = PortSet::new();
            let mut front_group = String::new();
            for a in atoms(&sources, family, &cut) {
                if !route_for(net, lsub, family, a)
                    .is_some_and(|r| r.target == gw.id && !r.blackhole)
                {
                    continue;
                }
                let f = filter(
                    net,
                    Some(lsub),
                    groups,
                    None,
                    t.protocol,
                    family,
                    a,
                    &[],
                    &listener_ports,
                );
                for (g, ports) in f.by_group {
                    if front_group.is_empty() {
                        front_group = g;
                    }
                    front |= &ports;
                }
            }
            if front.is_empty() {
                why.get_or_insert_with(|| {
                    blocked(
                        &lb.id,
                        "AWS::ElasticLoadBalancingV2::LoadBalancer",
                        Some(gw),
                        format!(
                            "no listener port of {} ({}) is reachable from the internet through its subnet {sid} (route table, network ACL and security groups)",
                            lb.name.as_deref().unwrap_or(&lb.id),
                            addr::describe_ports(&listener_ports)
                        ),
                    )
                });
                continue;
            }
            // Back half: the load balancer's nodes (addresses of its subnet) to the target.
            let node_space = set_of(family, &lsub.cidrs);
            let mut tcut = cuts(net, tsubnet, &iface.security_groups, Some(host));
            tcut.extend(cuts(net, lsub, groups.unwrap_or_default(), None));
            let one = PortSet::from_iter([t.port..=t.port]);
            let target_addr =
                iface
                    .private_addresses
                    .iter()
                    .find(|a| a.is_ipv4())
                    .map(|a| match a {
                        std::net::IpAddr::V4(v) => u128::from(u32::from(*v)),
                        std::net::IpAddr::V6(_) => 0,
                    });
            // The load balancer's groups must let the connection out to the target.
            if let (Some(gs), Some(ta)) = (groups, target_addr) {
                let out_ok = gs.iter().any(|g| {
                    group_ports(
                        net,
                        g,
                        false,
                        t.protocol,
                        family,
                        ta,
                        &iface.security_groups,
                    )
                    .contains(t.port)
                });
                if !out_ok {
                    why.get_or_insert_with(|| {
                        blocked(
                            gs.first().map_or("", String::as_str),
                            "AWS::EC2::SecurityGroup",
                            Some(gw),
                            format!("the load balancer's security groups allow no outbound {} {} to the target", t.protocol.as_str(), t.port),
                        )
                    });
                    continue;
                }
            }
            let same_subnet = lsub.id == tsubnet.id;
            // Leaving the load balancer's subnet for another, its ACL must let
            // the connection out to the target and the replies back in.
            if let (false, Some(acl), Some(ta)) = (same_subnet, net.acl(lsub), target_addr) {
                let out_ok = acl_ports(acl, true, t.protocol, family, ta).contains(t.port);
                let back_ok = !(&acl_ports(acl, false, t.protocol, family, ta)
                    & &ports_of(Some(EPHEMERAL)))
                    .is_empty();
                if !(out_ok && back_ok) {
                    why.get_or_insert_with(|| {
                        blocked(
                            &acl.id,
                            "AWS::EC2::NetworkAcl",
                            Some(gw),
                            format!(
                                "network ACL {} of the load balancer's subnet {sid} {} {} {} to the target",
                                acl.id,
                                if out_ok { "drops the replies of" } else { "denies outbound" },
                                t.protocol.as_str(),
                                t.port
                            ),
                        )
                    });
                    continue;
                }
            }
            for a in atoms(&node_space, family, &tcut) {
                let f = filter(
                    net,
                    (!same_subnet).then_some(tsubnet),
                    (!iface.security_groups.is_empty()).then_some(iface.security_groups.as_slice()),
                    Some(host),
                    t.protocol,
                    family,
                    a,
                    groups.unwrap_or_default(),
                    &one,
                );
                if let Some((g, _)) = f.by_group.into_iter().next() {
                    let mut steps = vec![Step::new(&gw.id, GatewayKind::Internet.component_type())];
                    if let Some(acl) = net.acl(lsub) {
                        steps.push(Step::new(&acl.id, "AWS::EC2::NetworkAcl"));
                    }
                    if !front_group.is_empty() {
                        steps.push(Step::new(&front_group, "AWS::EC2::SecurityGroup"));
                    }
                    steps.push(Step::new(
                        &lb.id,
                        "AWS::ElasticLoadBalancingV2::LoadBalancer",
                    ));
                    if let Some(acl) = net.acl(tsubnet).filter(|_| !same_subnet) {
                        steps.push(Step::new(&acl.id, "AWS::EC2::NetworkAcl"));
                    }
                    if !g.is_empty() {
                        steps.push(Step::new(&g, "AWS::EC2::SecurityGroup"));
                    }
                    steps.extend(last_steps(host, iface));
                    found = Some(OpenPath {
                        host: host.id.clone(),
                        gateway: GatewayKind::Internet,
                        gateway_id: gw.id.clone(),
                        protocol: t.protocol,
                        family,
                        ports: one.clone(),
                        interface: iface.id.clone(),
                        load_balancer: Some(lb.id.clone()),
                        steps,
                    });
                    break 'subnets;
                }
                why.get_or_insert_with(|| {
                    let (id, ty) = match f.stage {
                        Stage::AclIn | Stage::AclReplies => (
                            net.acl(tsubnet).map_or(String::new(), |a| a.id.clone()),
                            "AWS::EC2::NetworkAcl",
                        ),
                        Stage::Firewall => ("host firewall".to_owned(), "Vigia::Host::Firewall"),
                        _ => (iface.security_groups.join(", "), "AWS::EC2::SecurityGroup"),
                    };
                    blocked(
                        &id,
                        ty,
                        Some(gw),
                        format!(
                            "{id} stops {} {} from the load balancer {} (its nodes in {sid})",
                            t.protocol.as_str(),
                            t.port,
                            lb.name.as_deref().unwrap_or(&lb.id)
                        ),
                    )
                });
            }
        }
        match (found, why) {
            (Some(p), _) => out.paths.push(p),
            (None, Some(b)) => out.blocked.push(b),
            (None, None) => {}
        }
    }
    out
}

/// A host without a network model: the ports its listening sockets (not
/// bound to loopback) serve that its own firewall lets in from some
/// address. Without a socket list nothing is known and nothing is reported.
#[must_use]
pub fn standalone(host: &Host, wanted: &PortSet) -> Reachability {
    let mut out = Reachability::default();
    let Some(sockets) = &host.sockets else {
        return out;
    };
    for proto in Transport::BOTH {
        for family in [Family::V4, Family::V6] {
            let listening: PortSet = sockets
                .iter()
                .filter(|s| s.protocol == proto && !s.loopback_only())
                .filter(|s| match (s.address, family) {
                    (std::net::IpAddr::V4(_), Family::V4) => true,
                    // A `::` socket takes IPv4 connections too (dual stack).
                    (std::net::IpAddr::V6(a), Family::V4) => a.is_unspecified(),
                    (std::net::IpAddr::V6(_), Family::V6) => true,
                    (std::net::IpAddr::V4(_), Family::V6) => false,
                })
                .map(|s| PortSet::from_iter([s.port..=s.port]))
                .fold(PortSet::new(), |a, b| a | b);
            let listening = &listening & wanted;
            if listening.is_empty() {
                continue;
            }
            // Any other machine: every address but the host's own loopback.
            let loopback: IpNet = match family {
                Family::V4 => "127.0.0.0/8".parse().expect("valid block"),
                Family::V6 => "::1/128".parse().expect("valid block"),
            };
            let space = addr::everything(family) - set_of(family, &[loopback]);
            let cut = firewall_cuts(host);
            let mut open = PortSet::new();
            for a in atoms(&space, family, &cut) {
                open |= &match &host.firewall {
                    Some(fw) => &listening & &fw.allowed(proto, family, a),
                    None => listening.clone(),
                };
            }
            if open.is_empty() {
                continue;
            }
            let mut steps = vec![Step::new(
                "attached-networks",
                GatewayKind::Attached.component_type(),
            )];
            if let Some(fw) = &host.firewall {
                steps.push(Step::new(&fw.sources.join(", "), "Vigia::Host::Firewall"));
            }
            steps.push(Step::new(&host.id, "AWS::EC2::Instance"));
            out.paths.push(OpenPath {
                host: host.id.clone(),
                gateway: GatewayKind::Attached,
                gateway_id: "attached-networks".into(),
                protocol: proto,
                family,
                ports: open,
                interface: String::new(),
                load_balancer: None,
                steps,
            });
        }
    }
    out
}
