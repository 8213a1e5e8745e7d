//! The network model every importer produces and the analysis reads.
//!
//! It is AWS's VPC model made general: gateways are the edges traffic enters
//! by, subnets pick a route table and a network ACL, interfaces carry
//! security groups and addresses, load balancers forward to registered
//! targets, and a host may add its own firewall. Serialised, it is also the
//! Vigia network file (YAML or JSON) for networks that are not AWS; a filter
//! a network does not have is simply left out (no ACL, no security group, no
//! firewall: nothing filtered there).

use std::net::IpAddr;

use ipnet::IpNet;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A network: every component the analysis reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Virtual networks and their address blocks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vpcs: Vec<Vpc>,
    /// Subnets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subnets: Vec<Subnet>,
    /// Route tables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route_tables: Vec<RouteTable>,
    /// Stateless subnet filters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub network_acls: Vec<NetworkAcl>,
    /// Stateful interface filters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<SecurityGroup>,
    /// Named address lists that rules and routes refer to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefix_lists: Vec<PrefixList>,
    /// Where traffic enters: internet gateways, peering connections, VPN gateways.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateways: Vec<Gateway>,
    /// Load balancers and their targets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_balancers: Vec<LoadBalancer>,
    /// Hosts (instances).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<Host>,
}

/// A virtual network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Vpc {
    /// Its ID (`vpc-…`).
    pub id: String,
    /// Its address blocks, IPv4 and IPv6.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub cidrs: Vec<IpNet>,
}

/// A subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subnet {
    /// Its ID (`subnet-…`).
    pub id: String,
    /// The network it belongs to.
    pub vpc: String,
    /// Its address blocks, IPv4 and IPv6.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub cidrs: Vec<IpNet>,
}

/// A route table: used by the subnets it names, and by every other subnet
/// of its network when it is the main one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteTable {
    /// Its ID (`rtb-…`).
    pub id: String,
    /// The network it belongs to.
    pub vpc: String,
    /// Whether subnets without a table of their own use it.
    #[serde(default)]
    pub main: bool,
    /// Subnets explicitly associated with it.
    #[serde(default)]
    pub subnets: Vec<String>,
    /// Its routes.
    #[serde(default)]
    pub routes: Vec<Route>,
}

/// A route: a destination and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The destination block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub destination: Option<IpNet>,
    /// Or a prefix list's ID as the destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_prefix_list: Option<String>,
    /// The gateway, peering connection, NAT gateway, interface or `local`.
    pub target: String,
    /// A route whose target is gone (`blackhole`) carries nothing.
    #[serde(default, skip_serializing_if = "is_false")]
    pub blackhole: bool,
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_false(b: &bool) -> bool {
    !*b
}

/// A stateless subnet filter: entries evaluated lowest rule number first,
/// the first match decides, and what nothing matches is denied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkAcl {
    /// Its ID (`acl-…`).
    pub id: String,
    /// The network it belongs to.
    pub vpc: String,
    /// Whether it is the network's default ACL (used by subnets without one).
    #[serde(default)]
    pub default: bool,
    /// Subnets associated with it.
    #[serde(default)]
    pub subnets: Vec<String>,
    /// Inbound and outbound entries.
    #[serde(default)]
    pub entries: Vec<AclEntry>,
}

/// One network ACL entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AclEntry {
    /// Its rule number (lower first; `32767` is AWS's final `*`).
    pub rule: u32,
    /// Outbound when true, inbound when false.
    #[serde(default)]
    pub egress: bool,
    /// The protocol it matches.
    pub protocol: Protocol,
    /// Allow or deny.
    pub action: Action,
    /// The remote block it matches.
    #[schemars(with = "String")]
    pub cidr: IpNet,
    /// The ports it matches (TCP and UDP); every port when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<PortRange>,
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Let it through.
    Allow,
    /// Drop it.
    Deny,
}

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortRange {
    /// The first port.
    pub from: u16,
    /// The last port.
    pub to: u16,
}

/// An IP protocol as rules name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "ProtocolText", into = "String")]
#[schemars(with = "String")]
pub enum Protocol {
    /// Every protocol (`-1`, `all`).
    All,
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// Any other protocol number (ICMP is 1, ICMPv6 58, ESP 50, …).
    Number(u8),
}

impl Protocol {
    /// Whether a rule for this protocol matches traffic of `proto`.
    #[must_use]
    pub fn matches(self, proto: Transport) -> bool {
        matches!(
            (self, proto),
            (Self::All, _) | (Self::Tcp, Transport::Tcp) | (Self::Udp, Transport::Udp)
        )
    }
}

/// A protocol as written: a name or a number (YAML reads `-1` and `6` as
/// numbers).
#[derive(Deserialize)]
#[serde(untagged)]
enum ProtocolText {
    Text(String),
    Number(i64),
}

impl TryFrom<ProtocolText> for Protocol {
    type Error = String;
    fn try_from(p: ProtocolText) -> Result<Self, String> {
        match p {
            ProtocolText::Text(s) => Self::try_from(s),
            ProtocolText::Number(n) => Self::try_from(n.to_string()),
        }
    }
}

impl TryFrom<String> for Protocol {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "-1" | "all" | "*" => Self::All,
            "tcp" | "6" => Self::Tcp,
            "udp" | "17" => Self::Udp,
            "icmp" => Self::Number(1),
            "igmp" => Self::Number(2),
            "gre" => Self::Number(47),
            "esp" => Self::Number(50),
            "ah" => Self::Number(51),
            "icmpv6" | "ipv6-icmp" => Self::Number(58),
            "sctp" => Self::Number(132),
            "mh" | "ipv6-mh" => Self::Number(135),
            "udplite" => Self::Number(136),
            other => Self::Number(other.parse().map_err(|_| {
                format!("unknown protocol {s:?} (expected -1, tcp, udp or a protocol number)")
            })?),
        })
    }
}

impl From<Protocol> for String {
    fn from(p: Protocol) -> Self {
        match p {
            Protocol::All => "-1".into(),
            Protocol::Tcp => "tcp".into(),
            Protocol::Udp => "udp".into(),
            Protocol::Number(n) => n.to_string(),
        }
    }
}

/// The transports reachability is reported for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Transport {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Transport {
    /// `TCP` or `UDP`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
        }
    }

    /// Both, TCP first.
    pub const BOTH: [Self; 2] = [Self::Tcp, Self::Udp];
}

/// A stateful filter on interfaces: traffic a rule allows is let in, and its
/// replies out; what no rule allows is dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityGroup {
    /// Its ID (`sg-…`).
    pub id: String,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The network it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<String>,
    /// Inbound rules.
    #[serde(default)]
    pub inbound: Vec<SgRule>,
    /// Outbound rules.
    #[serde(default)]
    pub outbound: Vec<SgRule>,
}

/// A security group rule: a protocol, ports and the peers it allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SgRule {
    /// The protocol.
    pub protocol: Protocol,
    /// Ports (TCP and UDP); every port when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<PortRange>,
    /// Who is allowed.
    pub peers: Vec<Peer>,
}

/// Whom a security group rule allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Peer {
    /// An address block.
    Cidr(#[schemars(with = "String")] IpNet),
    /// The interfaces in a security group.
    Group(String),
    /// The blocks of a prefix list.
    PrefixList(String),
}

/// A named list of address blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrefixList {
    /// Its ID (`pl-…`).
    pub id: String,
    /// Its blocks.
    #[schemars(with = "Vec<String>")]
    pub cidrs: Vec<IpNet>,
}

/// Where traffic enters a network.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GatewayKind {
    /// The internet, through an internet gateway.
    Internet,
    /// Another network, through a peering connection.
    Peering,
    /// An on-premises network, through a VPN gateway.
    Vpn,
    /// Whatever networks a host without a network model is attached to:
    /// only its own firewall and its listening sockets are known.
    Attached,
}

impl GatewayKind {
    /// CloudFormation's type name.
    #[must_use]
    pub fn component_type(self) -> &'static str {
        match self {
            Self::Internet => "AWS::EC2::InternetGateway",
            Self::Peering => "AWS::EC2::VPCPeeringConnection",
            Self::Vpn => "AWS::EC2::VPNGateway",
            Self::Attached => "Vigia::Host::Network",
        }
    }

    /// "an Internet Gateway", as finding titles name it.
    #[must_use]
    pub fn phrase(self) -> &'static str {
        match self {
            Self::Internet => "an Internet Gateway",
            Self::Peering => "a VPC peering connection",
            Self::Vpn => "a Virtual Private Gateway",
            Self::Attached => "an attached network",
        }
    }

    /// `InternetGateway`, as finding descriptions name it.
    #[must_use]
    pub fn noun(self) -> &'static str {
        match self {
            Self::Internet => "InternetGateway",
            Self::Peering => "VpcPeeringConnection",
            Self::Vpn => "VirtualPrivateGateway",
            Self::Attached => "AttachedNetwork",
        }
    }
}

/// A gateway: an edge of the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    /// Its ID (`igw-…`, `pcx-…`, `vgw-…`).
    pub id: String,
    /// What it connects to.
    pub kind: GatewayKind,
    /// The networks it is attached to (both sides of a peering).
    #[serde(default)]
    pub vpcs: Vec<String>,
    /// The remote address blocks traffic through it comes from: the peer
    /// network's blocks, the on-premises blocks. Unused for the internet,
    /// whose sources are every public address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(with = "Vec<String>")]
    pub sources: Vec<IpNet>,
}

/// A load balancer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadBalancer {
    /// Its ID (the ARN, for AWS).
    pub id: String,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether it has public addresses (`internet-facing`).
    pub internet_facing: bool,
    /// The subnets its nodes are in.
    #[serde(default)]
    pub subnets: Vec<String>,
    /// Its security groups; `None` for one that has none (a network load
    /// balancer without groups filters nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<String>>,
    /// Its listeners; `None` when they are unknown (every port its filters
    /// admit is then taken as a listener).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listeners: Option<Vec<Listener>>,
    /// Registered targets.
    #[serde(default)]
    pub targets: Vec<Target>,
    /// Whether `targets` is the whole list. A model without the targets
    /// (no `describe-target-health`) cannot say a host is out of the load
    /// balancer's reach.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub targets_known: bool,
}

fn yes() -> bool {
    true
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_true(b: &bool) -> bool {
    *b
}

/// A load balancer listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    /// Its transport.
    pub protocol: Transport,
    /// Its port.
    pub port: u16,
    /// The target groups it forwards to; every target when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_groups: Vec<String>,
}

/// A registered target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Its target group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The host (instance ID), or the interface address for IP targets.
    pub host: String,
    /// The port traffic is forwarded to.
    pub port: u16,
    /// The transport to the target.
    pub protocol: Transport,
}

/// A host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Its ID (`i-…`, or any name).
    pub id: String,
    /// Its network interfaces.
    #[serde(default)]
    pub interfaces: Vec<Interface>,
    /// Its own firewall (iptables or nftables), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<crate::firewall::Firewall>,
    /// Its listening sockets, when known (from a snapshot or an agent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets: Option<Vec<Socket>>,
}

/// A network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    /// Its ID (`eni-…`).
    pub id: String,
    /// Its subnet.
    pub subnet: String,
    /// Its security groups.
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Private addresses (IPv4), and IPv6 addresses.
    #[serde(default)]
    pub private_addresses: Vec<IpAddr>,
    /// Public IPv4 addresses (instance, interface or Elastic IP associations).
    #[serde(default)]
    pub public_addresses: Vec<IpAddr>,
}

/// A listening socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Socket {
    /// Its transport.
    pub protocol: Transport,
    /// The address it is bound to (`0.0.0.0` and `::` are every address).
    pub address: IpAddr,
    /// Its port.
    pub port: u16,
    /// The package that owns the program listening, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The program listening, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// The owner's user ID, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
}

impl Socket {
    /// `sshd (openssh-server) on TCP 0.0.0.0:22`, `… on TCP [::1]:6379
    /// (loopback only, not reachable)`.
    #[must_use]
    pub fn describe(&self) -> String {
        let who = match (&self.program, &self.package) {
            (Some(p), Some(k)) => format!("{p} ({k})"),
            (Some(p), None) => p.clone(),
            (None, Some(k)) => k.clone(),
            (None, None) => "a process".into(),
        };
        let at = match self.address {
            IpAddr::V6(a) => format!("[{a}]:{}", self.port),
            IpAddr::V4(a) => format!("{a}:{}", self.port),
        };
        let note = if self.loopback_only() {
            " (loopback only, not reachable)"
        } else {
            ""
        };
        format!("{who} on {} {at}{note}", self.protocol.as_str())
    }

    /// Whether only the host itself can connect to it.
    #[must_use]
    pub fn loopback_only(&self) -> bool {
        match self.address {
            IpAddr::V4(a) => a.is_loopback(),
            IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v| v.is_loopback()),
        }
    }
}

impl Network {
    /// A host by ID.
    #[must_use]
    pub fn host(&self, id: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.id == id)
    }

    pub(crate) fn subnet(&self, id: &str) -> Option<&Subnet> {
        self.subnets.iter().find(|s| s.id == id)
    }

    pub(crate) fn group(&self, id: &str) -> Option<&SecurityGroup> {
        self.security_groups.iter().find(|g| g.id == id)
    }

    pub(crate) fn prefix_list(&self, id: &str) -> Option<&PrefixList> {
        self.prefix_lists.iter().find(|p| p.id == id)
    }

    pub(crate) fn vpc(&self, id: &str) -> Option<&Vpc> {
        self.vpcs.iter().find(|v| v.id == id)
    }

    /// A subnet's route table: its own, else its network's main one.
    pub(crate) fn route_table(&self, subnet: &Subnet) -> Option<&RouteTable> {
        self.route_tables
            .iter()
            .find(|t| t.subnets.contains(&subnet.id))
            .or_else(|| {
                self.route_tables
                    .iter()
                    .find(|t| t.main && t.vpc == subnet.vpc)
            })
    }

    /// A subnet's network ACL: its own, else its network's default one.
    pub(crate) fn acl(&self, subnet: &Subnet) -> Option<&NetworkAcl> {
        self.network_acls
            .iter()
            .find(|a| a.subnets.contains(&subnet.id))
            .or_else(|| {
                self.network_acls
                    .iter()
                    .find(|a| a.default && a.vpc == subnet.vpc)
            })
    }
}
