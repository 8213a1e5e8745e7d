//! Open ports as findings: one per (host, gateway kind, protocol, maximal
//! contiguous open range), rated by the port table in `docs/scoring.md`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::addr::{PortSet, all_ports, describe_ports};
use crate::model::{GatewayKind, Host, Network, Socket, Transport};
use crate::reach::{Blocked, OpenPath, Step, reachability};

/// A severity, in Inspector's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Level {
    /// Informational.
    Informational,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

/// How bad exposing a recognised service is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Remote shells and file sharing in clear text, databases and caches
    /// without authentication by default, management APIs.
    Critical,
    /// Remote administration and directory services.
    High,
    /// Web servers, which are usually meant to be reached.
    Web,
}

/// The recognised ports: Inspector Classic's table, plus services commonly
/// exposed by mistake today. (service, TCP ports, UDP ports, class).
const PORTS: &[(&str, &[u16], &[u16], Class)] = &[
    ("FTP", &[21], &[21], Class::Critical),
    ("SSH", &[22], &[22], Class::High),
    ("Telnet", &[23], &[23], Class::Critical),
    ("WINS", &[42, 1512], &[42, 1512], Class::Critical),
    (
        "DHCP",
        &[67, 68, 546, 547],
        &[67, 68, 546, 547],
        Class::High,
    ),
    ("HTTP", &[80, 8080], &[80], Class::Web),
    (
        "Kerberos",
        &[88, 464, 543, 544, 749, 751],
        &[88, 464, 749, 750, 751, 752],
        Class::High,
    ),
    ("RPC", &[111, 135, 530], &[111, 135, 530], Class::Critical),
    ("NetBIOS", &[137, 139], &[137, 138], Class::Critical),
    ("LDAP", &[389, 636, 3268, 3269], &[389], Class::High),
    ("HTTPS", &[443, 8443], &[443], Class::Web),
    ("SMB", &[445], &[445], Class::Critical),
    ("Print", &[515], &[], Class::High),
    ("Syslog", &[601], &[514], Class::High),
    (
        "NFS",
        &[1110, 2049, 4045],
        &[1110, 2049, 4045],
        Class::Critical,
    ),
    ("SQL Server", &[1433], &[1434], Class::Critical),
    ("Oracle", &[1521, 1630], &[], Class::Critical),
    ("Docker API", &[2375, 2376], &[], Class::Critical),
    ("etcd", &[2379, 2380], &[], Class::Critical),
    ("MySQL", &[3306], &[], Class::Critical),
    ("RDP", &[3389], &[3389], Class::High),
    ("PostgreSQL", &[5432], &[], Class::Critical),
    ("VNC", &[5900], &[], Class::Critical),
    ("Redis", &[6379], &[], Class::Critical),
    ("Elasticsearch", &[9200, 9300], &[], Class::Critical),
    ("Kubelet", &[10250], &[], Class::Critical),
    ("Memcached", &[11211], &[11211], Class::Critical),
    (
        "MongoDB",
        &[27017, 27018, 27019, 28017],
        &[],
        Class::Critical,
    ),
];

/// The recognised service on a port, if any.
#[must_use]
pub fn service(proto: Transport, port: u16) -> Option<&'static str> {
    recognised(proto, port).map(|(name, _)| name)
}

fn recognised(proto: Transport, port: u16) -> Option<(&'static str, Class)> {
    PORTS.iter().find_map(|(name, tcp, udp, class)| {
        let list = if proto == Transport::Tcp { tcp } else { udp };
        list.contains(&port).then_some((*name, *class))
    })
}

/// What is known about processes listening on a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listening {
    /// No socket list for the host.
    Unknown,
    /// A process listens on an address other hosts can reach.
    Yes,
    /// Only loopback listeners: other hosts cannot connect.
    LoopbackOnly,
    /// Nothing listens.
    No,
}

/// Whether something listens on `port`, from the host's sockets.
#[must_use]
pub fn listening(host: &Host, proto: Transport, port: u16) -> Listening {
    let Some(sockets) = &host.sockets else {
        return Listening::Unknown;
    };
    let here: Vec<&Socket> = sockets
        .iter()
        .filter(|s| s.protocol == proto && s.port == port)
        .collect();
    if here.iter().any(|s| !s.loopback_only()) {
        Listening::Yes
    } else if here.is_empty() {
        Listening::No
    } else {
        Listening::LoopbackOnly
    }
}

/// The severity of one open port and why.
#[must_use]
pub fn port_level(proto: Transport, port: u16, state: Listening) -> (Level, String) {
    let p = format!("{} {port}", proto.as_str());
    match (recognised(proto, port), state) {
        (Some((name, class)), Listening::Yes) => (
            match class {
                Class::Critical => Level::Critical,
                Class::High => Level::High,
                Class::Web => Level::Low,
            },
            format!("{name} ({p}) with a process listening"),
        ),
        (Some((name, class)), Listening::Unknown) => (
            if class == Class::Web {
                Level::Low
            } else {
                Level::Medium
            },
            format!("{name} ({p}); whether a process listens is unknown"),
        ),
        (Some((name, class)), Listening::No | Listening::LoopbackOnly) => (
            if class == Class::Web {
                Level::Informational
            } else {
                Level::Low
            },
            format!(
                "{name} ({p}) open, nothing listening{}",
                loopback_note(state)
            ),
        ),
        (None, Listening::Yes) => (
            Level::Low,
            format!("an unrecognised port ({p}) with a process listening"),
        ),
        (None, Listening::Unknown) => (Level::Informational, format!("an unrecognised port ({p})")),
        (None, _) => (
            Level::Informational,
            format!(
                "an unrecognised port ({p}) open, nothing listening{}",
                loopback_note(state)
            ),
        ),
    }
}

fn loopback_note(state: Listening) -> &'static str {
    if state == Listening::LoopbackOnly {
        " on a reachable address (only on loopback)"
    } else {
        ""
    }
}

/// Every port's listening state; `None` without a socket list.
fn listening_states(host: &Host, proto: Transport) -> Option<BTreeMap<u16, Listening>> {
    let sockets = host.sockets.as_ref()?;
    let mut out: BTreeMap<u16, Listening> = BTreeMap::new();
    for s in sockets.iter().filter(|s| s.protocol == proto) {
        let state = if s.loopback_only() {
            Listening::LoopbackOnly
        } else {
            Listening::Yes
        };
        let e = out.entry(s.port).or_insert(state);
        if state == Listening::Yes {
            *e = Listening::Yes;
        }
    }
    Some(out)
}

/// The severity of a range: its worst port. Only recognised ports and ports
/// with a listener are looked at one by one; every other port of the range
/// rates as an unrecognised one.
#[must_use]
pub fn range_level(host: &Host, proto: Transport, begin: u16, end: u16) -> (Level, String) {
    let mut candidates: Vec<u16> = PORTS
        .iter()
        .flat_map(|(_, tcp, udp, _)| {
            if proto == Transport::Tcp {
                tcp.iter()
            } else {
                udp.iter()
            }
        })
        .copied()
        .chain(
            host.sockets
                .iter()
                .flatten()
                .filter(|s| s.protocol == proto)
                .map(|s| s.port),
        )
        .filter(|p| (begin..=end).contains(p))
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    let covered = candidates.len();
    // Each port's listening state, from one pass over the sockets.
    let states = listening_states(host, proto);
    let state_of = |p: u16| match &states {
        None => Listening::Unknown,
        Some(m) => m.get(&p).copied().unwrap_or(Listening::No),
    };
    let mut best = candidates
        .into_iter()
        .map(|p| port_level(proto, p, state_of(p)))
        .max_by(|a, b| a.0.cmp(&b.0));
    if covered < usize::from(end - begin) + 1 {
        // A port of the range that is neither recognised nor listened on.
        let state = if host.sockets.is_some() {
            Listening::No
        } else {
            Listening::Unknown
        };
        let other = (begin..=end)
            .find(|p| recognised(proto, *p).is_none() && state_of(*p) != Listening::Yes)
            .map(|p| port_level(proto, p, state));
        if let Some(o) = other
            && best.as_ref().is_none_or(|b| o.0 > b.0)
        {
            best = Some(o);
        }
    }
    best.unwrap_or((Level::Informational, String::new()))
}

/// One open range: what a network reachability finding reports.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exposure {
    /// The host.
    pub host: String,
    /// What the traffic enters by.
    pub gateway: GatewayKind,
    /// The gateway's ID.
    pub gateway_id: String,
    /// The transport.
    pub protocol: Transport,
    /// First port.
    pub begin: u16,
    /// Last port.
    pub end: u16,
    /// The path of the first open path of the range.
    pub steps: Vec<Step>,
    /// The interface reached.
    pub interface: String,
    /// The load balancer on the way, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<String>,
    /// The rating.
    pub severity: Level,
    /// Why that rating.
    pub severity_reason: String,
    /// Processes listening in the range (`sshd (openssh-server) on 0.0.0.0:22`).
    pub listeners: Vec<String>,
}

impl Exposure {
    /// Inspector's title: `Port 22 is reachable from an Internet Gateway - TCP`.
    #[must_use]
    pub fn title(&self) -> String {
        let what = if self.begin == self.end {
            format!("Port {}", self.begin)
        } else {
            format!("Port range {}-{}", self.begin, self.end)
        };
        format!(
            "{what} is reachable from {} - {}",
            self.gateway.phrase(),
            self.protocol.as_str()
        )
    }

    /// Inspector's description, with the load balancer and listeners added.
    #[must_use]
    pub fn description(&self) -> String {
        let via = self
            .load_balancer
            .as_ref()
            .map(|lb| format!(" through the load balancer {lb}"))
            .unwrap_or_default();
        let mut text = if self.gateway == GatewayKind::Attached {
            format!(
                "On the host {}, the port range {}-{} is reachable from any network the host is attached to: a process listens there and the host's own firewall lets it in. Without a network model (--network), what those networks allow is unknown.",
                self.host, self.begin, self.end
            )
        } else {
            format!(
                "On the instance {}, the port range {}-{} is reachable from the {} {}{via} from an attached ENI {}.",
                self.host,
                self.begin,
                self.end,
                self.gateway.noun(),
                self.gateway_id,
                self.interface
            )
        };
        let rating = format!(" Rated for {}.", self.severity_reason);
        if !self.listeners.is_empty() {
            let listening = format!(" Listening: {}.", self.listeners.join("; "));
            // Inspector's limit is 1,024 characters: the listener list gives way first.
            let room = 1024usize.saturating_sub(text.chars().count() + rating.chars().count());
            if listening.chars().count() <= room {
                text.push_str(&listening);
            } else if room > 4 {
                text.extend(listening.chars().take(room - 2));
                text.push_str("….");
            }
        }
        text.push_str(&rating);
        text.chars().take(1024).collect()
    }
}

/// Inspector's remediation for open paths.
pub const REMEDIATION: &str = "You can restrict access to your instance by modifying the Security Groups or ACLs in the network path.";

/// Groups open paths into findings.
#[must_use]
pub fn exposures(host: &Host, paths: &[OpenPath]) -> Vec<Exposure> {
    let mut groups: BTreeMap<(GatewayKind, Transport), Vec<&OpenPath>> = BTreeMap::new();
    for p in paths.iter().filter(|p| p.host == host.id) {
        groups.entry((p.gateway, p.protocol)).or_default().push(p);
    }
    let mut out = Vec::new();
    for ((gateway, protocol), paths) in groups {
        let union = paths.iter().fold(PortSet::new(), |a, p| a | &p.ports);
        for r in union.ranges() {
            let (begin, end) = (*r.start(), *r.end());
            let Some(path) = paths
                .iter()
                .find(|p| !(&p.ports & &PortSet::from_iter([begin..=end])).is_empty())
            else {
                continue;
            };
            let (severity, severity_reason) = range_level(host, protocol, begin, end);
            let listeners = host
                .sockets
                .iter()
                .flatten()
                .filter(|s| s.protocol == protocol && (begin..=end).contains(&s.port))
                .map(Socket::describe)
                .collect();
            out.push(Exposure {
                host: host.id.clone(),
                gateway,
                gateway_id: path.gateway_id.clone(),
                protocol,
                begin,
                end,
                steps: path.steps.clone(),
                interface: path.interface.clone(),
                load_balancer: path.load_balancer.clone(),
                severity,
                severity_reason,
                listeners,
            });
        }
    }
    out
}

/// Every host's findings.
#[must_use]
pub fn check(net: &Network) -> Vec<Exposure> {
    net.hosts
        .iter()
        .flat_map(|h| exposures(h, &reachability(net, h, &all_ports()).paths))
        .collect()
}

/// Why a port of a host is or is not reachable.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// The host.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The transport.
    pub protocol: Transport,
    /// Whether any gateway's traffic reaches it.
    pub reachable: bool,
    /// The open paths' hops, one list per path.
    pub paths: Vec<Vec<Step>>,
    /// Gateways whose traffic does not reach it and the first component
    /// that stops it.
    pub blocked: Vec<Blocked>,
    /// What listens there, or that nothing does.
    pub listener: String,
}

/// Reads `HOST:PORT/PROTO` (`i-0123…:22/tcp`; TCP when the protocol is left out).
pub fn parse_port_target(s: &str) -> Result<(String, u16, Transport), String> {
    let bad = || format!("`{s}` is not HOST:PORT/PROTO (i-0123456789abcdef0:22/tcp)");
    let (host, rest) = s.rsplit_once(':').ok_or_else(bad)?;
    let (port, proto) = rest.split_once('/').unwrap_or((rest, "tcp"));
    let proto = match proto.to_ascii_lowercase().as_str() {
        "tcp" => Transport::Tcp,
        "udp" => Transport::Udp,
        _ => return Err(bad()),
    };
    Ok((host.to_owned(), port.parse().map_err(|_| bad())?, proto))
}

/// Explains one port of one host.
#[must_use]
pub fn explain(net: &Network, host: &Host, port: u16, protocol: Transport) -> Explanation {
    let one = PortSet::from_iter([port..=port]);
    let r = reachability(net, host, &one);
    let paths: Vec<Vec<Step>> = r
        .paths
        .iter()
        .filter(|p| p.protocol == protocol)
        .map(|p| p.steps.clone())
        .collect();
    let listener = match listening(host, protocol, port) {
        Listening::Unknown => {
            "whether a process listens is unknown (no socket list for this host)".to_owned()
        }
        Listening::No => "nothing listens on it".to_owned(),
        state => {
            let socks: Vec<String> = host
                .sockets
                .iter()
                .flatten()
                .filter(|s| s.protocol == protocol && s.port == port)
                .map(Socket::describe)
                .collect();
            if state == Listening::LoopbackOnly {
                format!(
                    "only a loopback listener ({}): other hosts cannot connect to it whatever the network allows",
                    socks.join("; ")
                )
            } else {
                socks.join("; ")
            }
        }
    };
    Explanation {
        host: host.id.clone(),
        port,
        protocol,
        reachable: !paths.is_empty(),
        paths,
        blocked: r
            .blocked
            .into_iter()
            .filter(|b| b.protocol == protocol)
            .collect(),
        listener,
    }
}

/// Whether a host is open to the internet, for re-scoring its
/// vulnerabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InternetExposure {
    /// A port is reachable and something (or possibly something) listens.
    Open(String),
    /// No open path from the internet, and why.
    Closed(String),
}

/// The host's exposure to the internet: open when some port is reachable
/// from an internet gateway and a process listens on it (or the sockets are
/// unknown).
#[must_use]
pub fn internet_exposure(net: &Network, host: &Host) -> InternetExposure {
    let vpc_of = |subnet: &str| {
        net.subnets
            .iter()
            .find(|s| s.id == subnet)
            .map(|s| s.vpc.as_str())
    };
    let host_vpcs: Vec<&str> = host
        .interfaces
        .iter()
        .filter_map(|i| vpc_of(&i.subnet))
        .collect();
    if let Some(lb) = net.load_balancers.iter().find(|lb| {
        lb.internet_facing
            && !lb.targets_known
            && lb
                .subnets
                .iter()
                .any(|s| vpc_of(s).is_some_and(|v| host_vpcs.contains(&v)))
    }) {
        return InternetExposure::Open(format!(
            "the internet-facing load balancer {} may forward to it (its targets are unknown: no describe-target-health output)",
            lb.name.as_deref().unwrap_or(&lb.id)
        ));
    }
    let r = reachability(net, host, &all_ports());
    let internet: Vec<&OpenPath> = r
        .paths
        .iter()
        .filter(|p| p.gateway == GatewayKind::Internet)
        .collect();
    let mut reachable_unheard = Vec::new();
    for p in &internet {
        for range in p.ports.ranges() {
            let ports: Vec<u16> = match &host.sockets {
                None => {
                    return InternetExposure::Open(format!(
                        "{} {} reachable from {} (listeners unknown)",
                        p.protocol.as_str(),
                        describe_ports(&p.ports),
                        p.gateway_id
                    ));
                }
                Some(s) => s
                    .iter()
                    .filter(|s| {
                        s.protocol == p.protocol && range.contains(&s.port) && !s.loopback_only()
                    })
                    .map(|s| s.port)
                    .collect(),
            };
            if let Some(port) = ports.first() {
                return InternetExposure::Open(format!(
                    "{} {port} is reachable from {} and a process listens on it",
                    p.protocol.as_str(),
                    p.gateway_id
                ));
            }
            reachable_unheard.push(format!(
                "{} {}",
                p.protocol.as_str(),
                describe_ports(&p.ports)
            ));
        }
    }
    if !reachable_unheard.is_empty() {
        reachable_unheard.dedup();
        return InternetExposure::Closed(format!(
            "{} reachable from the internet, but no process listens there",
            reachable_unheard.join(", ")
        ));
    }
    let why: Vec<String> = r
        .blocked
        .iter()
        .filter(|b| b.gateway == GatewayKind::Internet && b.protocol == Transport::Tcp)
        .map(|b| b.reason.clone())
        .collect();
    InternetExposure::Closed(if why.is_empty() {
        format!(
            "no internet gateway is attached to the networks of {}",
            host.id
        )
    } else {
        let mut why = why;
        why.dedup();
        format!(
            "no network path from the internet reaches {}: {}",
            host.id,
            why.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_targets() {
        assert_eq!(
            parse_port_target("i-1:22/tcp"),
            Ok(("i-1".into(), 22, Transport::Tcp))
        );
        assert_eq!(
            parse_port_target("web:53/UDP"),
            Ok(("web".into(), 53, Transport::Udp))
        );
        assert_eq!(
            parse_port_target("web:80"),
            Ok(("web".into(), 80, Transport::Tcp))
        );
        assert!(
            parse_port_target("web:http").is_err()
                && parse_port_target("web").is_err()
                && parse_port_target("w:1/icmp").is_err()
        );
    }

    #[test]
    fn ratings_follow_the_table() {
        assert_eq!(
            port_level(Transport::Tcp, 22, Listening::Unknown).0,
            Level::Medium
        );
        assert_eq!(
            port_level(Transport::Tcp, 22, Listening::Yes).0,
            Level::High
        );
        assert_eq!(port_level(Transport::Tcp, 22, Listening::No).0, Level::Low);
        assert_eq!(
            port_level(Transport::Tcp, 80, Listening::Unknown).0,
            Level::Low
        );
        assert_eq!(
            port_level(Transport::Tcp, 5432, Listening::Yes).0,
            Level::Critical
        );
        assert_eq!(
            port_level(Transport::Tcp, 6379, Listening::LoopbackOnly).0,
            Level::Low
        );
        assert_eq!(
            port_level(Transport::Tcp, 40000, Listening::Yes).0,
            Level::Low
        );
        assert_eq!(
            port_level(Transport::Tcp, 40000, Listening::Unknown).0,
            Level::Informational
        );
        assert_eq!(
            port_level(Transport::Udp, 5432, Listening::Unknown).0,
            Level::Informational
        );
    }

    #[test]
    fn a_range_rates_as_its_worst_port() {
        let mut host = Host {
            id: "i-1".into(),
            interfaces: Vec::new(),
            firewall: None,
            sockets: None,
        };
        assert_eq!(
            range_level(&host, Transport::Tcp, 0, 65535).0,
            Level::Medium
        );
        assert_eq!(
            range_level(&host, Transport::Tcp, 30000, 30010).0,
            Level::Informational
        );
        host.sockets = Some(vec![Socket {
            protocol: Transport::Tcp,
            address: "0.0.0.0".parse().unwrap(),
            port: 3306,
            package: None,
            program: None,
            uid: None,
        }]);
        assert_eq!(
            range_level(&host, Transport::Tcp, 0, 65535).0,
            Level::Critical
        );
        assert_eq!(range_level(&host, Transport::Tcp, 20, 25).0, Level::Low);
    }
}
