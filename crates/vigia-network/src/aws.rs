//! AWS CLI JSON outputs, read into the network model.
//!
//! A folder holds one file per command, named after it
//! (`describe-instances.json`), each exactly as `aws ec2 …` / `aws elbv2 …`
//! prints it; field names are the EC2 and ELBv2 API models'. Required:
//! instances, security groups, subnets, route tables, network ACLs and
//! internet gateways. Read when present: network interfaces, addresses
//! (Elastic IPs), VPCs, VPC peering connections, VPN gateways, and the load
//! balancer set (load balancers, target groups, target health, listeners).
//!
//! `describe-target-health` answers for one target group at a time and does
//! not name it; the file may hold that output when there is one target
//! group, or a list of `{"TargetGroupArn": …, "TargetHealthDescriptions":
//! […]}` objects, or an object keyed by target group ARN.

// The structs below mirror the API's shapes, field names included.
#![allow(clippy::struct_field_names)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::model::{
    AclEntry, Action, Gateway, GatewayKind, Host, Interface, Listener, LoadBalancer, Network,
    NetworkAcl, Peer, PortRange, Protocol, Route, RouteTable, SecurityGroup, SgRule, Subnet,
    Target, Transport, Vpc,
};

/// What went wrong reading a folder of AWS CLI outputs.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// A required file is missing.
    #[error("{folder}: {file} is missing (the output of `aws {command}`)")]
    Missing {
        /// The folder.
        folder: String,
        /// The file.
        file: String,
        /// The command that prints it.
        command: String,
    },
    /// A file could not be read or parsed.
    #[error("{path}: {message}")]
    Bad {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct GroupRef {
    group_id: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Association {
    public_ip: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct PrivateIp {
    private_ip_address: Option<String>,
    association: Option<Association>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Ipv6Address {
    ipv6_address: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct EniAttachment {
    instance_id: Option<String>,
    device_index: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Eni {
    network_interface_id: String,
    subnet_id: Option<String>,
    groups: Vec<GroupRef>,
    association: Option<Association>,
    private_ip_address: Option<String>,
    private_ip_addresses: Vec<PrivateIp>,
    ipv6_addresses: Vec<Ipv6Address>,
    attachment: Option<EniAttachment>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct InstanceState {
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Instance {
    instance_id: String,
    subnet_id: Option<String>,
    private_ip_address: Option<String>,
    public_ip_address: Option<String>,
    security_groups: Vec<GroupRef>,
    network_interfaces: Vec<Eni>,
    state: Option<InstanceState>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Reservation {
    instances: Vec<Instance>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Instances {
    reservations: Vec<Reservation>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Enis {
    network_interfaces: Vec<Eni>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Address {
    public_ip: Option<String>,
    instance_id: Option<String>,
    network_interface_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Addresses {
    addresses: Vec<Address>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct IpRange {
    cidr_ip: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Ipv6Range {
    cidr_ipv6: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct PrefixListId {
    prefix_list_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct IpPermission {
    ip_protocol: String,
    from_port: Option<i64>,
    to_port: Option<i64>,
    ip_ranges: Vec<IpRange>,
    ipv6_ranges: Vec<Ipv6Range>,
    user_id_group_pairs: Vec<GroupRef>,
    prefix_list_ids: Vec<PrefixListId>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AwsGroup {
    group_id: String,
    group_name: Option<String>,
    vpc_id: Option<String>,
    ip_permissions: Vec<IpPermission>,
    ip_permissions_egress: Vec<IpPermission>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Groups {
    security_groups: Vec<AwsGroup>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Ipv6Block {
    ipv6_cidr_block: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Cidr4Block {
    cidr_block: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AwsSubnet {
    subnet_id: String,
    vpc_id: String,
    cidr_block: Option<String>,
    ipv6_cidr_block_association_set: Vec<Ipv6Block>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Subnets {
    subnets: Vec<AwsSubnet>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AwsVpc {
    vpc_id: String,
    cidr_block: Option<String>,
    cidr_block_association_set: Vec<Cidr4Block>,
    ipv6_cidr_block_association_set: Vec<Ipv6Block>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Vpcs {
    vpcs: Vec<AwsVpc>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RtAssociation {
    main: bool,
    subnet_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AwsRoute {
    destination_cidr_block: Option<String>,
    destination_ipv6_cidr_block: Option<String>,
    destination_prefix_list_id: Option<String>,
    gateway_id: Option<String>,
    nat_gateway_id: Option<String>,
    vpc_peering_connection_id: Option<String>,
    transit_gateway_id: Option<String>,
    network_interface_id: Option<String>,
    instance_id: Option<String>,
    egress_only_internet_gateway_id: Option<String>,
    state: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AwsRouteTable {
    route_table_id: String,
    vpc_id: String,
    associations: Vec<RtAssociation>,
    routes: Vec<AwsRoute>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RouteTables {
    route_tables: Vec<AwsRouteTable>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AclPortRange {
    from: Option<i64>,
    to: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AwsAclEntry {
    rule_number: u32,
    protocol: String,
    rule_action: String,
    egress: bool,
    cidr_block: Option<String>,
    ipv6_cidr_block: Option<String>,
    port_range: Option<AclPortRange>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AclAssociation {
    subnet_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AwsAcl {
    network_acl_id: String,
    vpc_id: String,
    is_default: bool,
    associations: Vec<AclAssociation>,
    entries: Vec<AwsAclEntry>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Acls {
    network_acls: Vec<AwsAcl>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct VpcAttachment {
    vpc_id: String,
    state: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Igw {
    internet_gateway_id: String,
    attachments: Vec<VpcAttachment>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Igws {
    internet_gateways: Vec<Igw>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct PeerVpcInfo {
    vpc_id: String,
    cidr_block: Option<String>,
    cidr_block_set: Vec<Cidr4Block>,
    ipv6_cidr_block_set: Vec<Ipv6Block>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct PeeringStatus {
    code: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Peering {
    vpc_peering_connection_id: String,
    accepter_vpc_info: PeerVpcInfo,
    requester_vpc_info: PeerVpcInfo,
    status: Option<PeeringStatus>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Peerings {
    vpc_peering_connections: Vec<Peering>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Vgw {
    vpn_gateway_id: String,
    state: Option<String>,
    vpc_attachments: Vec<VpcAttachment>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Vgws {
    vpn_gateways: Vec<Vgw>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Zone {
    subnet_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AwsLb {
    load_balancer_arn: String,
    load_balancer_name: Option<String>,
    scheme: Option<String>,
    availability_zones: Vec<Zone>,
    security_groups: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Lbs {
    load_balancers: Vec<AwsLb>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct TargetGroup {
    target_group_arn: String,
    protocol: Option<String>,
    port: Option<u16>,
    load_balancer_arns: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct TargetGroups {
    target_groups: Vec<TargetGroup>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct HealthTarget {
    id: String,
    port: Option<u16>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct HealthState {
    state: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct TargetHealth {
    target: HealthTarget,
    target_health: Option<HealthState>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct TargetHealths {
    target_group_arn: Option<String>,
    target_health_descriptions: Vec<TargetHealth>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct AwsListener {
    load_balancer_arn: String,
    port: Option<u16>,
    protocol: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Listeners {
    listeners: Vec<AwsListener>,
}

fn read<T: DeserializeOwned>(
    dir: &Path,
    file: &str,
    command: Option<&str>,
) -> Result<Option<T>, AwsError> {
    let path = dir.join(file);
    if !path.exists() {
        return match command {
            Some(c) => Err(AwsError::Missing {
                folder: dir.display().to_string(),
                file: file.to_owned(),
                command: c.to_owned(),
            }),
            None => Ok(None),
        };
    }
    let bad = |message: String| AwsError::Bad {
        path: path.display().to_string(),
        message,
    };
    let text = fs_err::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| bad(format!("not the output of this command: {e}")))
}

fn net(s: &str, path: &str) -> Result<IpNet, AwsError> {
    s.parse().map_err(|_| AwsError::Bad {
        path: path.to_owned(),
        message: format!("{s:?} is not an address block"),
    })
}

fn ip(s: &str, path: &str) -> Result<IpAddr, AwsError> {
    s.parse().map_err(|_| AwsError::Bad {
        path: path.to_owned(),
        message: format!("{s:?} is not an address"),
    })
}

fn port_range(from: Option<i64>, to: Option<i64>) -> Option<PortRange> {
    match (from, to) {
        (Some(f), Some(t)) if (0..=65535).contains(&f) && (0..=65535).contains(&t) => {
            Some(PortRange {
                from: u16::try_from(f).ok()?,
                to: u16::try_from(t).ok()?,
            })
        }
        _ => None,
    }
}

fn rules(perms: &[IpPermission], path: &str) -> Result<Vec<SgRule>, AwsError> {
    perms
        .iter()
        .map(|p| {
            let protocol =
                Protocol::try_from(p.ip_protocol.clone()).map_err(|message| AwsError::Bad {
                    path: path.to_owned(),
                    message,
                })?;
            let mut peers = Vec::new();
            for r in &p.ip_ranges {
                if let Some(c) = &r.cidr_ip {
                    peers.push(Peer::Cidr(net(c, path)?));
                }
            }
            for r in &p.ipv6_ranges {
                if let Some(c) = &r.cidr_ipv6 {
                    peers.push(Peer::Cidr(net(c, path)?));
                }
            }
            peers.extend(
                p.user_id_group_pairs
                    .iter()
                    .map(|g| Peer::Group(g.group_id.clone())),
            );
            peers.extend(
                p.prefix_list_ids
                    .iter()
                    .filter_map(|g| g.prefix_list_id.clone())
                    .map(Peer::PrefixList),
            );
            // For TCP and UDP the ports are the range; `-1` and other
            // protocols allow every port whatever the range says.
            let ports = match protocol {
                Protocol::Tcp | Protocol::Udp => port_range(p.from_port, p.to_port),
                _ => None,
            };
            Ok(SgRule {
                protocol,
                ports,
                peers,
            })
        })
        .collect()
}

fn interface(eni: &Eni, extra_public: &[IpAddr], path: &str) -> Result<Interface, AwsError> {
    let mut private = Vec::new();
    let mut public = Vec::new();
    if let Some(a) = &eni.private_ip_address {
        private.push(ip(a, path)?);
    }
    for p in &eni.private_ip_addresses {
        if let Some(a) = &p.private_ip_address {
            let a = ip(a, path)?;
            if !private.contains(&a) {
                private.push(a);
            }
        }
        if let Some(pub_ip) = p.association.as_ref().and_then(|x| x.public_ip.as_deref()) {
            public.push(ip(pub_ip, path)?);
        }
    }
    for a in &eni.ipv6_addresses {
        if let Some(a) = &a.ipv6_address {
            private.push(ip(a, path)?);
        }
    }
    if let Some(pub_ip) = eni
        .association
        .as_ref()
        .and_then(|x| x.public_ip.as_deref())
    {
        public.push(ip(pub_ip, path)?);
    }
    public.extend(extra_public.iter().copied());
    public.sort();
    public.dedup();
    Ok(Interface {
        id: eni.network_interface_id.clone(),
        subnet: eni.subnet_id.clone().unwrap_or_default(),
        security_groups: eni.groups.iter().map(|g| g.group_id.clone()).collect(),
        private_addresses: private,
        public_addresses: public,
    })
}

fn blocks(
    primary: Option<&String>,
    v4: &[Cidr4Block],
    v6: &[Ipv6Block],
    path: &str,
) -> Result<Vec<IpNet>, AwsError> {
    let mut out = Vec::new();
    for c in primary
        .into_iter()
        .chain(v4.iter().filter_map(|b| b.cidr_block.as_ref()))
    {
        let n = net(c, path)?;
        if !out.contains(&n) {
            out.push(n);
        }
    }
    for c in v6.iter().filter_map(|b| b.ipv6_cidr_block.as_ref()) {
        out.push(net(c, path)?);
    }
    Ok(out)
}

/// Reads a folder of AWS CLI outputs.
pub fn read_folder(dir: &Path) -> Result<Network, AwsError> {
    let p = |f: &str| dir.join(f).display().to_string();
    let instances: Instances = read(
        dir,
        "describe-instances.json",
        Some("ec2 describe-instances"),
    )?
    .unwrap_or_default();
    let groups: Groups = read(
        dir,
        "describe-security-groups.json",
        Some("ec2 describe-security-groups"),
    )?
    .unwrap_or_default();
    let subnets: Subnets =
        read(dir, "describe-subnets.json", Some("ec2 describe-subnets"))?.unwrap_or_default();
    let tables: RouteTables = read(
        dir,
        "describe-route-tables.json",
        Some("ec2 describe-route-tables"),
    )?
    .unwrap_or_default();
    let acls: Acls = read(
        dir,
        "describe-network-acls.json",
        Some("ec2 describe-network-acls"),
    )?
    .unwrap_or_default();
    let igws: Igws = read(
        dir,
        "describe-internet-gateways.json",
        Some("ec2 describe-internet-gateways"),
    )?
    .unwrap_or_default();
    let enis: Enis = read(dir, "describe-network-interfaces.json", None)?.unwrap_or_default();
    let addresses: Addresses = read(dir, "describe-addresses.json", None)?.unwrap_or_default();
    let vpcs: Vpcs = read(dir, "describe-vpcs.json", None)?.unwrap_or_default();
    let peerings: Peerings =
        read(dir, "describe-vpc-peering-connections.json", None)?.unwrap_or_default();
    let vgws: Vgws = read(dir, "describe-vpn-gateways.json", None)?.unwrap_or_default();
    let lbs: Lbs = read(dir, "describe-load-balancers.json", None)?.unwrap_or_default();
    let tgs: TargetGroups = read(dir, "describe-target-groups.json", None)?.unwrap_or_default();
    let health: Option<serde_json::Value> = read(dir, "describe-target-health.json", None)?;
    let listeners: Option<Listeners> = read(dir, "describe-listeners.json", None)?;

    let mut out = Network::default();
    let path = p("describe-vpcs.json");
    for v in &vpcs.vpcs {
        out.vpcs.push(Vpc {
            id: v.vpc_id.clone(),
            cidrs: blocks(
                v.cidr_block.as_ref(),
                &v.cidr_block_association_set,
                &v.ipv6_cidr_block_association_set,
                &path,
            )?,
        });
    }
    let path = p("describe-subnets.json");
    for s in &subnets.subnets {
        out.subnets.push(Subnet {
            id: s.subnet_id.clone(),
            vpc: s.vpc_id.clone(),
            cidrs: blocks(
                s.cidr_block.as_ref(),
                &[],
                &s.ipv6_cidr_block_association_set,
                &path,
            )?,
        });
    }
    let path = p("describe-route-tables.json");
    for t in &tables.route_tables {
        let mut routes = Vec::new();
        for r in &t.routes {
            let destination = match (&r.destination_cidr_block, &r.destination_ipv6_cidr_block) {
                (Some(c), _) | (None, Some(c)) => Some(net(c, &path)?),
                _ => None,
            };
            let target = [
                &r.gateway_id,
                &r.nat_gateway_id,
                &r.vpc_peering_connection_id,
                &r.transit_gateway_id,
                &r.egress_only_internet_gateway_id,
                &r.network_interface_id,
                &r.instance_id,
            ]
            .into_iter()
            .find_map(Clone::clone)
            .unwrap_or_default();
            routes.push(Route {
                destination,
                destination_prefix_list: r.destination_prefix_list_id.clone(),
                target,
                blackhole: r.state.as_deref() == Some("blackhole"),
            });
        }
        out.route_tables.push(RouteTable {
            id: t.route_table_id.clone(),
            vpc: t.vpc_id.clone(),
            main: t.associations.iter().any(|a| a.main),
            subnets: t
                .associations
                .iter()
                .filter_map(|a| a.subnet_id.clone())
                .collect(),
            routes,
        });
    }
    let path = p("describe-network-acls.json");
    for a in &acls.network_acls {
        let mut entries = Vec::new();
        for e in &a.entries {
            let cidr = match (&e.cidr_block, &e.ipv6_cidr_block) {
                (Some(c), _) | (None, Some(c)) => net(c, &path)?,
                _ => continue,
            };
            let protocol =
                Protocol::try_from(e.protocol.clone()).map_err(|message| AwsError::Bad {
                    path: path.clone(),
                    message,
                })?;
            entries.push(AclEntry {
                rule: e.rule_number,
                egress: e.egress,
                protocol,
                action: if e.rule_action.eq_ignore_ascii_case("allow") {
                    Action::Allow
                } else {
                    Action::Deny
                },
                cidr,
                ports: match protocol {
                    Protocol::Tcp | Protocol::Udp => {
                        e.port_range.as_ref().and_then(|r| port_range(r.from, r.to))
                    }
                    _ => None,
                },
            });
        }
        out.network_acls.push(NetworkAcl {
            id: a.network_acl_id.clone(),
            vpc: a.vpc_id.clone(),
            default: a.is_default,
            subnets: a
                .associations
                .iter()
                .filter_map(|x| x.subnet_id.clone())
                .collect(),
            entries,
        });
    }
    let path = p("describe-security-groups.json");
    for g in &groups.security_groups {
        out.security_groups.push(SecurityGroup {
            id: g.group_id.clone(),
            name: g.group_name.clone(),
            vpc: g.vpc_id.clone(),
            inbound: rules(&g.ip_permissions, &path)?,
            outbound: rules(&g.ip_permissions_egress, &path)?,
        });
    }
    let attached = |s: &Option<String>| {
        s.as_deref()
            .is_none_or(|s| matches!(s, "available" | "attached"))
    };
    for g in &igws.internet_gateways {
        out.gateways.push(Gateway {
            id: g.internet_gateway_id.clone(),
            kind: GatewayKind::Internet,
            vpcs: g
                .attachments
                .iter()
                .filter(|a| attached(&a.state))
                .map(|a| a.vpc_id.clone())
                .collect(),
            sources: Vec::new(),
        });
    }
    let path = p("describe-vpc-peering-connections.json");
    for c in &peerings.vpc_peering_connections {
        if c.status
            .as_ref()
            .and_then(|s| s.code.as_deref())
            .is_some_and(|s| s != "active")
        {
            continue;
        }
        for (here, there) in [
            (&c.accepter_vpc_info, &c.requester_vpc_info),
            (&c.requester_vpc_info, &c.accepter_vpc_info),
        ] {
            out.gateways.push(Gateway {
                id: c.vpc_peering_connection_id.clone(),
                kind: GatewayKind::Peering,
                vpcs: vec![here.vpc_id.clone()],
                sources: blocks(
                    there.cidr_block.as_ref(),
                    &there.cidr_block_set,
                    &there.ipv6_cidr_block_set,
                    &path,
                )?,
            });
        }
    }
    for g in &vgws.vpn_gateways {
        if !attached(&g.state) {
            continue;
        }
        out.gateways.push(Gateway {
            id: g.vpn_gateway_id.clone(),
            kind: GatewayKind::Vpn,
            vpcs: g
                .vpc_attachments
                .iter()
                .filter(|a| attached(&a.state))
                .map(|a| a.vpc_id.clone())
                .collect(),
            sources: Vec::new(),
        });
    }

    // Hosts: each instance's interfaces, with public addresses from every
    // place AWS reports them.
    let path = p("describe-instances.json");
    let mut eip: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
    for a in &addresses.addresses {
        if let Some(ipa) = &a.public_ip {
            let key = a
                .network_interface_id
                .clone()
                .or_else(|| a.instance_id.clone())
                .unwrap_or_default();
            eip.entry(key)
                .or_default()
                .push(ip(ipa, &p("describe-addresses.json"))?);
        }
    }
    for inst in instances.reservations.iter().flat_map(|r| &r.instances) {
        if inst
            .state
            .as_ref()
            .and_then(|s| s.name.as_deref())
            .is_some_and(|s| matches!(s, "terminated" | "shutting-down"))
        {
            continue;
        }
        let mut interfaces = Vec::new();
        let mut own: Vec<&Eni> = inst.network_interfaces.iter().collect();
        own.sort_by_key(|e| {
            e.attachment
                .as_ref()
                .and_then(|a| a.device_index)
                .unwrap_or(0)
        });
        for (i, eni) in own.iter().enumerate() {
            let mut extra: Vec<IpAddr> = eip
                .get(&eni.network_interface_id)
                .cloned()
                .unwrap_or_default();
            if i == 0 {
                if let Some(pub_ip) = &inst.public_ip_address {
                    extra.push(ip(pub_ip, &path)?);
                }
                extra.extend(eip.get(&inst.instance_id).cloned().unwrap_or_default());
            }
            let mut iface = interface(eni, &extra, &path)?;
            if let Some(more) = enis
                .network_interfaces
                .iter()
                .find(|e| e.network_interface_id == eni.network_interface_id)
            {
                let other = interface(more, &[], &p("describe-network-interfaces.json"))?;
                for a in other.public_addresses {
                    if !iface.public_addresses.contains(&a) {
                        iface.public_addresses.push(a);
                    }
                }
            }
            interfaces.push(iface);
        }
        // Interfaces attached to the instance that the instance listing left out.
        let listed: Vec<String> = interfaces
            .iter()
            .map(|i: &Interface| i.id.clone())
            .collect();
        for eni in enis.network_interfaces.iter().filter(|e| {
            e.attachment.as_ref().and_then(|a| a.instance_id.as_deref())
                == Some(inst.instance_id.as_str())
                && !listed.contains(&e.network_interface_id)
        }) {
            let extra = eip
                .get(&eni.network_interface_id)
                .cloned()
                .unwrap_or_default();
            interfaces.push(interface(
                eni,
                &extra,
                &p("describe-network-interfaces.json"),
            )?);
        }
        if interfaces.is_empty() {
            // An instance printed without its interfaces: one from its own fields.
            let mut public = Vec::new();
            if let Some(a) = &inst.public_ip_address {
                public.push(ip(a, &path)?);
            }
            interfaces.push(Interface {
                id: format!("{}/primary", inst.instance_id),
                subnet: inst.subnet_id.clone().unwrap_or_default(),
                security_groups: inst
                    .security_groups
                    .iter()
                    .map(|g| g.group_id.clone())
                    .collect(),
                private_addresses: inst
                    .private_ip_address
                    .iter()
                    .map(|a| ip(a, &path))
                    .collect::<Result<_, _>>()?,
                public_addresses: public,
            });
        }
        out.hosts.push(Host {
            id: inst.instance_id.clone(),
            interfaces,
            firewall: None,
            sockets: None,
        });
    }

    // Load balancers, their listeners and targets.
    let health_known = health.is_some();
    let mut health_by_group: BTreeMap<String, Vec<TargetHealth>> = BTreeMap::new();
    if let Some(h) = health {
        let hpath = p("describe-target-health.json");
        let bad = |e: serde_json::Error| AwsError::Bad {
            path: hpath.clone(),
            message: format!("not describe-target-health output: {e}"),
        };
        let parsed: Vec<TargetHealths> = match h {
            serde_json::Value::Array(_) => serde_json::from_value(h).map_err(bad)?,
            serde_json::Value::Object(ref o) if o.contains_key("TargetHealthDescriptions") => {
                let mut one: TargetHealths = serde_json::from_value(h).map_err(bad)?;
                if one.target_group_arn.is_none() {
                    match tgs.target_groups.as_slice() {
                        [only] => one.target_group_arn = Some(only.target_group_arn.clone()),
                        _ => {
                            return Err(AwsError::Bad {
                                path: hpath,
                                message: "holds the targets of one target group but does not say which, and there are several; write a list of {\"TargetGroupArn\", \"TargetHealthDescriptions\"} objects".into(),
                            });
                        }
                    }
                }
                vec![one]
            }
            serde_json::Value::Object(o) => o
                .into_iter()
                .map(|(arn, v)| {
                    let mut one: TargetHealths = serde_json::from_value(v)?;
                    one.target_group_arn = Some(arn);
                    Ok(one)
                })
                .collect::<Result<_, serde_json::Error>>()
                .map_err(bad)?,
            _ => {
                return Err(bad(serde::de::Error::custom(
                    "expected an object or a list",
                )));
            }
        };
        for t in parsed {
            if let Some(arn) = t.target_group_arn {
                health_by_group
                    .entry(arn)
                    .or_default()
                    .extend(t.target_health_descriptions);
            }
        }
    }
    let transports = |p: Option<&str>| -> Vec<Transport> {
        match p.unwrap_or("TCP").to_ascii_uppercase().as_str() {
            "UDP" => vec![Transport::Udp],
            "TCP_UDP" => vec![Transport::Tcp, Transport::Udp],
            "GENEVE" => Vec::new(),
            _ => vec![Transport::Tcp],
        }
    };
    for lb in &lbs.load_balancers {
        let mut targets = Vec::new();
        for tg in tgs
            .target_groups
            .iter()
            .filter(|g| g.load_balancer_arns.contains(&lb.load_balancer_arn))
        {
            for th in health_by_group
                .get(&tg.target_group_arn)
                .into_iter()
                .flatten()
            {
                if th.target_health.as_ref().and_then(|h| h.state.as_deref()) == Some("unused") {
                    continue;
                }
                let Some(port) = th.target.port.or(tg.port) else {
                    continue;
                };
                for protocol in transports(tg.protocol.as_deref()) {
                    targets.push(Target {
                        group: Some(tg.target_group_arn.clone()),
                        host: th.target.id.clone(),
                        port,
                        protocol,
                    });
                }
            }
        }
        let lb_listeners = listeners.as_ref().map(|ls| {
            ls.listeners
                .iter()
                .filter(|l| l.load_balancer_arn == lb.load_balancer_arn)
                .flat_map(|l| {
                    // A listener's rules (`describe-rules`, not read) may forward
                    // to any of the load balancer's target groups besides its
                    // default action's: every group counts as reachable from it.
                    let groups: Vec<String> = Vec::new();
                    let port = l.port.unwrap_or(0);
                    transports(l.protocol.as_deref())
                        .into_iter()
                        .map(move |protocol| Listener {
                            protocol,
                            port,
                            target_groups: groups.clone(),
                        })
                })
                .collect()
        });
        out.load_balancers.push(LoadBalancer {
            id: lb.load_balancer_arn.clone(),
            name: lb.load_balancer_name.clone(),
            internet_facing: lb.scheme.as_deref() == Some("internet-facing"),
            subnets: lb
                .availability_zones
                .iter()
                .filter_map(|z| z.subnet_id.clone())
                .collect(),
            security_groups: lb.security_groups.clone().filter(|g| !g.is_empty()),
            listeners: lb_listeners,
            targets,
            targets_known: health_known,
        });
    }
    Ok(out)
}
