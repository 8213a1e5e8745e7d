//! Properties of the analysis on random networks: denying more or allowing
//! less never opens a port, and without the internet gateway's route
//! nothing is internet-reachable.

use std::collections::BTreeMap;

use proptest::prelude::*;
use vigia_network::firewall::{Chain, Firewall, FwRule, Policy, Verdict};
use vigia_network::model::{
    AclEntry, Action, Gateway, GatewayKind, Host, Interface, NetworkAcl, Peer, PortRange, Protocol,
    Route, RouteTable, SecurityGroup, SgRule, Subnet, Vpc,
};
use vigia_network::{Network, PortSet, Transport};

const BLOCKS: [&str; 6] = [
    "0.0.0.0/0",
    "0.0.0.0/1",
    "128.0.0.0/1",
    "8.8.0.0/16",
    "10.0.0.0/8",
    "::/0",
];

fn protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![
        Just(Protocol::All),
        Just(Protocol::Tcp),
        Just(Protocol::Udp),
        Just(Protocol::Number(1))
    ]
}

fn ports() -> impl Strategy<Value = Option<PortRange>> {
    prop_oneof![
        Just(None),
        (0u16..2000, 0u16..2000).prop_map(|(a, b)| Some(PortRange {
            from: a.min(b),
            to: a.max(b)
        })),
        (1024u16..=65535).prop_map(|a| Some(PortRange { from: a, to: 65535 })),
    ]
}

fn entry() -> impl Strategy<Value = AclEntry> {
    (
        1u32..200,
        any::<bool>(),
        protocol(),
        any::<bool>(),
        0..BLOCKS.len(),
        ports(),
    )
        .prop_map(|(rule, egress, protocol, allow, b, ports)| AclEntry {
            rule: rule * 10,
            egress,
            protocol,
            action: if allow { Action::Allow } else { Action::Deny },
            cidr: BLOCKS[b].parse().unwrap(),
            ports,
        })
}

fn sg_rule() -> impl Strategy<Value = SgRule> {
    (protocol(), ports(), 0..BLOCKS.len()).prop_map(|(protocol, ports, b)| SgRule {
        protocol,
        ports,
        peers: vec![Peer::Cidr(BLOCKS[b].parse().unwrap())],
    })
}

fn network(entries: Vec<AclEntry>, rules: Vec<SgRule>) -> Network {
    Network {
        vpcs: vec![Vpc {
            id: "vpc-1".into(),
            cidrs: vec![
                "172.31.0.0/16".parse().unwrap(),
                "2600:1f18::/56".parse().unwrap(),
            ],
        }],
        subnets: vec![Subnet {
            id: "subnet-1".into(),
            vpc: "vpc-1".into(),
            cidrs: vec!["172.31.1.0/24".parse().unwrap()],
        }],
        route_tables: vec![RouteTable {
            id: "rtb-1".into(),
            vpc: "vpc-1".into(),
            main: true,
            subnets: Vec::new(),
            routes: vec![
                Route {
                    destination: Some("172.31.0.0/16".parse().unwrap()),
                    destination_prefix_list: None,
                    target: "local".into(),
                    blackhole: false,
                },
                Route {
                    destination: Some("0.0.0.0/0".parse().unwrap()),
                    destination_prefix_list: None,
                    target: "igw-1".into(),
                    blackhole: false,
                },
                Route {
                    destination: Some("::/0".parse().unwrap()),
                    destination_prefix_list: None,
                    target: "igw-1".into(),
                    blackhole: false,
                },
            ],
        }],
        network_acls: vec![NetworkAcl {
            id: "acl-1".into(),
            vpc: "vpc-1".into(),
            default: true,
            subnets: Vec::new(),
            entries,
        }],
        security_groups: vec![SecurityGroup {
            id: "sg-1".into(),
            name: None,
            vpc: Some("vpc-1".into()),
            inbound: rules,
            outbound: Vec::new(),
        }],
        prefix_lists: Vec::new(),
        gateways: vec![Gateway {
            id: "igw-1".into(),
            kind: GatewayKind::Internet,
            vpcs: vec!["vpc-1".into()],
            sources: Vec::new(),
        }],
        load_balancers: Vec::new(),
        hosts: vec![Host {
            id: "i-1".into(),
            interfaces: vec![Interface {
                id: "eni-1".into(),
                subnet: "subnet-1".into(),
                security_groups: vec!["sg-1".into()],
                private_addresses: vec![
                    "172.31.1.5".parse().unwrap(),
                    "2600:1f18::5".parse().unwrap(),
                ],
                public_addresses: vec!["3.3.3.3".parse().unwrap()],
            }],
            firewall: None,
            sockets: None,
        }],
    }
}

/// Open ports per (gateway kind, protocol).
fn open(net: &Network) -> BTreeMap<(GatewayKind, Transport), PortSet> {
    let all = PortSet::from_iter([0..=u16::MAX]);
    let mut out: BTreeMap<(GatewayKind, Transport), PortSet> = BTreeMap::new();
    for h in &net.hosts {
        for p in vigia_network::reachability(net, h, &all).paths {
            *out.entry((p.gateway, p.protocol)).or_default() |= &p.ports;
        }
    }
    out
}

fn within(
    after: &BTreeMap<(GatewayKind, Transport), PortSet>,
    before: &BTreeMap<(GatewayKind, Transport), PortSet>,
) -> bool {
    after
        .iter()
        .all(|(k, ports)| before.get(k).is_some_and(|b| ports.is_subset(b)))
}

fn fw_rule() -> impl Strategy<Value = FwRule> {
    (
        prop::option::of(protocol()),
        ports(),
        prop::option::of(0..BLOCKS.len()),
        any::<bool>(),
        0u8..4,
        any::<bool>(),
    )
        .prop_map(
            |(protocol, ports, src, negated, verdict, uncertain)| FwRule {
                protocol,
                ports: ports.map(|p| vec![p]),
                ports_negated: false,
                sources: src.map(|b| vec![BLOCKS[b].parse().unwrap()]),
                sources_negated: negated && src.is_some(),
                loopback: false,
                established: false,
                uncertain,
                family: None,
                verdict: match verdict {
                    0 => Verdict::Accept,
                    1 => Verdict::Drop,
                    2 => Verdict::Jump("sub".into()),
                    _ => Verdict::Return,
                },
                text: String::new(),
            },
        )
}

fn firewall(input: Vec<FwRule>, sub: Vec<FwRule>, drop_policy: bool) -> Firewall {
    Firewall {
        sources: vec!["rules".into()],
        chains: vec![
            Chain {
                name: "INPUT".into(),
                family: None,
                policy: Some(if drop_policy {
                    Policy::Drop
                } else {
                    Policy::Accept
                }),
                rules: input,
            },
            Chain {
                name: "sub".into(),
                family: None,
                policy: None,
                rules: sub
                    .into_iter()
                    .filter(|r| !matches!(r.verdict, Verdict::Jump(_)))
                    .collect(),
            },
        ],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_host_firewall_drop_never_opens_a_port(
        rules in prop::collection::vec(sg_rule(), 1..4),
        input in prop::collection::vec(fw_rule(), 0..6),
        sub in prop::collection::vec(fw_rule(), 0..4),
        drop_policy in any::<bool>(),
        extra in fw_rule(),
        at in any::<prop::sample::Index>(),
    ) {
        let all_open = vec![
            AclEntry { rule: 100, egress: false, protocol: Protocol::All, action: Action::Allow, cidr: "0.0.0.0/0".parse().unwrap(), ports: None },
            AclEntry { rule: 100, egress: true, protocol: Protocol::All, action: Action::Allow, cidr: "0.0.0.0/0".parse().unwrap(), ports: None },
        ];
        let mut net = network(all_open, rules);
        net.hosts[0].firewall = Some(firewall(input.clone(), sub.clone(), drop_policy));
        let before = open(&net);
        let mut more = input;
        let drop = FwRule { verdict: Verdict::Drop, ..extra };
        let i = at.index(more.len() + 1);
        more.insert(i, drop);
        net.hosts[0].firewall = Some(firewall(more, sub, drop_policy));
        prop_assert!(within(&open(&net), &before));
    }

    #[test]
    fn a_deny_entry_never_opens_a_port(entries in prop::collection::vec(entry(), 0..8), rules in prop::collection::vec(sg_rule(), 1..5), extra in entry()) {
        let before = open(&network(entries.clone(), rules.clone()));
        let mut more = entries;
        more.push(AclEntry { action: Action::Deny, ..extra });
        let after = open(&network(more, rules));
        prop_assert!(within(&after, &before), "{after:?} not within {before:?}");
    }

    #[test]
    fn removing_an_allow_never_opens_a_port(entries in prop::collection::vec(entry(), 0..8), rules in prop::collection::vec(sg_rule(), 1..5), which in any::<prop::sample::Index>()) {
        let before = open(&network(entries.clone(), rules.clone()));
        let mut fewer = rules.clone();
        fewer.remove(which.index(rules.len()));
        prop_assert!(within(&open(&network(entries.clone(), fewer)), &before));
        // An ACL allow entry too.
        let allows: Vec<usize> = entries.iter().enumerate().filter(|(_, e)| e.action == Action::Allow).map(|(i, _)| i).collect();
        if !allows.is_empty() {
            let mut acl = entries;
            acl.remove(allows[which.index(allows.len())]);
            prop_assert!(within(&open(&network(acl, rules)), &before));
        }
    }

    #[test]
    fn without_the_gateway_route_nothing_is_internet_reachable(entries in prop::collection::vec(entry(), 0..8), rules in prop::collection::vec(sg_rule(), 1..5)) {
        let mut net = network(entries, rules);
        net.route_tables[0].routes.retain(|r| r.target != "igw-1");
        prop_assert!(open(&net).keys().all(|(g, _)| *g != GatewayKind::Internet));
        prop_assert!(vigia_network::check(&net).is_empty());
    }
}

#[test]
fn the_open_baseline_is_open() {
    // Guards the properties against a generator that never opens anything.
    let net = network(
        vec![
            AclEntry {
                rule: 100,
                egress: false,
                protocol: Protocol::All,
                action: Action::Allow,
                cidr: "0.0.0.0/0".parse().unwrap(),
                ports: None,
            },
            AclEntry {
                rule: 100,
                egress: true,
                protocol: Protocol::All,
                action: Action::Allow,
                cidr: "0.0.0.0/0".parse().unwrap(),
                ports: None,
            },
        ],
        vec![SgRule {
            protocol: Protocol::Tcp,
            ports: Some(PortRange { from: 22, to: 22 }),
            peers: vec![Peer::Cidr("0.0.0.0/0".parse().unwrap())],
        }],
    );
    let o = open(&net);
    assert_eq!(
        o.get(&(GatewayKind::Internet, Transport::Tcp))
            .map(vigia_network::describe_ports),
        Some("22".into())
    );
}
