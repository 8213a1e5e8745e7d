//! Address and port sets.
//!
//! The analysis asks "is there a source address and a port that every
//! component on the path accepts?". Rules differ by address only at the
//! edges of the blocks they name, so the source space is cut at every block
//! edge any component mentions: each piece (an atom) is treated the same by
//! every rule, and one address stands for it. The model is small (tens of
//! hosts, hundreds of rules), so this is exact without a solver.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use range_set_blaze::RangeSetBlaze;

use crate::model::PortRange;

/// A set of ports.
pub type PortSet = RangeSetBlaze<u16>;

/// A set of addresses of one family, as integers.
pub(crate) type AddrSet = RangeSetBlaze<u128>;

/// The ports clients send from and replies go back to (the range AWS
/// recommends network ACLs allow for them).
pub const EPHEMERAL: PortRange = PortRange {
    from: 1024,
    to: 65535,
};

/// Every port.
#[must_use]
pub fn all_ports() -> PortSet {
    PortSet::from_iter([0..=u16::MAX])
}

/// The ports of a range, every port when absent.
#[must_use]
pub fn ports_of(range: Option<PortRange>) -> PortSet {
    match range {
        Some(r) if r.from <= r.to => PortSet::from_iter([r.from..=r.to]),
        Some(r) => PortSet::from_iter([r.to..=r.from]),
        None => all_ports(),
    }
}

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl Family {
    pub(crate) fn of_net(net: &IpNet) -> Self {
        match net {
            IpNet::V4(_) => Self::V4,
            IpNet::V6(_) => Self::V6,
        }
    }

    /// The family of an address.
    #[must_use]
    pub fn of_ip(ip: &IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(_) => Self::V6,
        }
    }

    fn max(self) -> u128 {
        match self {
            Self::V4 => u128::from(u32::MAX),
            Self::V6 => u128::MAX,
        }
    }

    /// `IPv4` or `IPv6`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        }
    }
}

/// A block's first and last address as integers.
pub(crate) fn bounds(net: &IpNet) -> (u128, u128) {
    match net {
        IpNet::V4(n) => (
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        ),
        IpNet::V6(n) => (u128::from(n.network()), u128::from(n.broadcast())),
    }
}

/// Whether `net` holds the address `addr` of family `family`.
pub(crate) fn holds(net: &IpNet, family: Family, addr: u128) -> bool {
    if Family::of_net(net) != family {
        return false;
    }
    let (lo, hi) = bounds(net);
    (lo..=hi).contains(&addr)
}

/// An address from its integer.
pub(crate) fn to_ip(family: Family, addr: u128) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::from(u32::try_from(addr).unwrap_or(u32::MAX))),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(addr)),
    }
}

/// The set of the blocks of one family.
pub(crate) fn set_of<'a>(family: Family, nets: impl IntoIterator<Item = &'a IpNet>) -> AddrSet {
    nets.into_iter()
        .filter(|n| Family::of_net(n) == family)
        .map(|n| {
            let (lo, hi) = bounds(n);
            lo..=hi
        })
        .collect()
}

/// Blocks no internet host sends from: private, shared, loopback, link-local,
/// multicast and reserved space (RFC 6890). Documentation blocks stay in, as
/// examples and tests use them for "somewhere on the internet".
const NOT_INTERNET_V4: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "224.0.0.0/4",
    "240.0.0.0/4",
];

/// Whether an address is one the internet routes to (public IPv4, global
/// unicast IPv6).
#[must_use]
pub fn is_internet_address(ip: &std::net::IpAddr) -> bool {
    let (family, n) = match ip {
        IpAddr::V4(a) => (Family::V4, u128::from(u32::from(*a))),
        IpAddr::V6(a) => (Family::V6, u128::from(*a)),
    };
    internet(family, &[]).contains(n)
}

/// Every address of a family.
pub(crate) fn everything(family: Family) -> AddrSet {
    AddrSet::from_iter([0..=family.max()])
}

/// The addresses internet traffic comes from: every public address of the
/// family (IPv6: the global unicast block), minus the network's own blocks.
pub(crate) fn internet(family: Family, own: &[IpNet]) -> AddrSet {
    let everything = match family {
        Family::V4 => everything(Family::V4),
        Family::V6 => set_of(Family::V6, &["2000::/3".parse::<IpNet>().expect("valid")]),
    };
    let special: Vec<IpNet> = NOT_INTERNET_V4
        .iter()
        .map(|s| s.parse().expect("valid block"))
        .collect();
    everything - set_of(family, &special) - set_of(family, own)
}

/// Cuts `space` at the edges of `cuts` (blocks of any family; the others
/// are ignored): each returned piece is wholly inside or wholly outside
/// every cut, and is named by its first address.
pub(crate) fn atoms<'a>(
    space: &AddrSet,
    family: Family,
    cuts: impl IntoIterator<Item = &'a IpNet>,
) -> Vec<u128> {
    let mut edges: Vec<u128> = cuts
        .into_iter()
        .filter(|n| Family::of_net(n) == family)
        .flat_map(|n| {
            let (lo, hi) = bounds(n);
            [Some(lo), hi.checked_add(1)]
        })
        .flatten()
        .collect();
    edges.sort_unstable();
    edges.dedup();
    let mut out = Vec::new();
    for r in space.ranges() {
        let (lo, hi) = (*r.start(), *r.end());
        out.push(lo);
        let start = edges.partition_point(|e| *e <= lo);
        out.extend(edges[start..].iter().take_while(|e| **e <= hi).copied());
    }
    out
}

/// `22`, `22-25` or `every port`.
#[must_use]
pub fn describe_ports(set: &PortSet) -> String {
    let parts: Vec<String> = set
        .ranges()
        .map(|r| {
            if r.start() == r.end() {
                r.start().to_string()
            } else {
                format!("{}-{}", r.start(), r.end())
            }
        })
        .collect();
    if parts.len() == 1 && parts[0] == "0-65535" {
        "every port".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn atoms_split_at_every_edge() {
        let space = set_of(Family::V4, &[net("10.0.0.0/8")]);
        let a = atoms(
            &space,
            Family::V4,
            &[net("10.1.0.0/16"), net("192.168.0.0/16")],
        );
        let ips: Vec<String> = a
            .iter()
            .map(|x| to_ip(Family::V4, *x).to_string())
            .collect();
        assert_eq!(ips, ["10.0.0.0", "10.1.0.0", "10.2.0.0"]);
    }

    #[test]
    fn internet_leaves_out_private_and_own_space() {
        let own = [net("52.0.0.0/8")];
        let v4 = internet(Family::V4, &own);
        let has = |s: &str| {
            let IpAddr::V4(a) = s.parse::<IpAddr>().unwrap() else {
                unreachable!()
            };
            v4.contains(u128::from(u32::from(a)))
        };
        assert!(has("8.8.8.8"));
        assert!(!has("10.1.2.3") && !has("192.168.1.1") && !has("127.0.0.1") && !has("52.1.1.1"));
        let v6 = internet(Family::V6, &[]);
        assert!(v6.contains(u128::from("2600::1".parse::<Ipv6Addr>().unwrap())));
        assert!(!v6.contains(u128::from("fd00::1".parse::<Ipv6Addr>().unwrap())));
    }

    #[test]
    fn ports_read_as_people_write_them() {
        assert_eq!(describe_ports(&all_ports()), "every port");
        let s = PortSet::from_iter([22..=22, 80..=81]);
        assert_eq!(describe_ports(&s), "22, 80-81");
    }
}
