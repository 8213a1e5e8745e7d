//! What a host's root filesystem says about its network: listening sockets
//! (`/proc/net/tcp`, `tcp6`, `udp`, `udp6`, as a snapshot or an agent
//! captures them) with the package that owns each listening program where
//! the package database allows, and its firewall rules (`iptables-save`
//! output as iptables-persistent and RHEL keep it, `nft -j list ruleset`
//! output in `/etc/nftables.json`).
//!
//! `/proc/net` names no process, so the program is inferred: the daemons
//! that serve the port, or are named after the socket owner's user, are
//! looked up in the package database's file lists; the first one a package
//! installs is taken. Nothing is guessed when no package installs one.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::fsview::FsView;

/// A socket's transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SocketProtocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

/// A socket accepting connections (TCP `LISTEN`, or unconnected UDP).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ListeningSocket {
    /// Its transport.
    pub protocol: SocketProtocol,
    /// The address it is bound to.
    pub address: IpAddr,
    /// Its port.
    pub port: u16,
    /// The owner's user ID.
    pub uid: u32,
    /// The owner's user name, from `/etc/passwd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The program inferred to listen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// The package that installs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
}

/// A firewall rules file found in the root filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallFile {
    /// Its path.
    pub path: String,
    /// Its text.
    pub text: String,
}

/// A host's network facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFacts {
    /// Listening sockets; `None` when the root filesystem has no socket
    /// tables (nothing is known, which is not the same as nothing listening).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockets: Option<Vec<ListeningSocket>>,
    /// Firewall rules files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub firewall: Vec<FirewallFile>,
}

const TABLES: [(&str, SocketProtocol, bool); 4] = [
    ("/proc/net/tcp", SocketProtocol::Tcp, false),
    ("/proc/net/tcp6", SocketProtocol::Tcp, true),
    ("/proc/net/udp", SocketProtocol::Udp, false),
    ("/proc/net/udp6", SocketProtocol::Udp, true),
];

const FIREWALL_FILES: [&str; 5] = [
    "/etc/iptables/rules.v4",
    "/etc/iptables/rules.v6",
    "/etc/sysconfig/iptables",
    "/etc/sysconfig/ip6tables",
    "/etc/nftables.json",
];

/// Whether host facts read `path`.
#[must_use]
// dpkg names its file lists in lower case.
#[allow(clippy::case_sensitive_file_extension_comparisons)]
pub fn wants(path: &str) -> bool {
    TABLES.iter().any(|(p, _, _)| *p == path)
        || FIREWALL_FILES.contains(&path)
        || path == "/etc/passwd"
        || (path.starts_with("/var/lib/dpkg/info/") && path.ends_with(".list"))
}

/// Daemons that serve a port, to look for in the package database.
fn daemons(proto: SocketProtocol, port: u16) -> &'static [&'static str] {
    match (proto, port) {
        (SocketProtocol::Tcp, 21) => &["vsftpd", "proftpd", "pure-ftpd"],
        (_, 22) => &["sshd", "dropbear"],
        (SocketProtocol::Tcp, 23) => &["in.telnetd", "telnetd"],
        (SocketProtocol::Tcp, 25 | 465 | 587) => &["master", "exim4", "exim", "sendmail"],
        (_, 53) => &["named", "dnsmasq", "unbound", "systemd-resolved", "coredns"],
        (SocketProtocol::Udp, 67 | 68) => &[
            "dhclient",
            "dhcpcd",
            "systemd-networkd",
            "dnsmasq",
            "udhcpc",
        ],
        (SocketProtocol::Tcp, 80 | 443 | 8080 | 8443) => &[
            "nginx", "apache2", "httpd", "lighttpd", "caddy", "haproxy", "envoy", "traefik",
        ],
        (SocketProtocol::Tcp, 110 | 143 | 993 | 995) => &["dovecot"],
        (SocketProtocol::Udp, 123) => &["ntpd", "chronyd", "systemd-timesyncd"],
        (_, 111) => &["rpcbind"],
        (SocketProtocol::Tcp, 139 | 445) => &["smbd"],
        (SocketProtocol::Tcp, 389 | 636) => &["slapd"],
        (SocketProtocol::Udp, 514) | (SocketProtocol::Tcp, 601) => &["rsyslogd", "syslog-ng"],
        (SocketProtocol::Tcp, 2375 | 2376) => &["dockerd"],
        (SocketProtocol::Tcp, 2379 | 2380) => &["etcd"],
        (SocketProtocol::Tcp, 3306) => &["mariadbd", "mysqld"],
        (SocketProtocol::Tcp, 3389) => &["xrdp"],
        (SocketProtocol::Tcp, 5432) => &["postgres", "postmaster"],
        (SocketProtocol::Tcp, 5900) => &["Xvnc", "x11vnc"],
        (SocketProtocol::Tcp, 6379) => &["redis-server", "valkey-server", "keydb-server"],
        (SocketProtocol::Tcp, 10250) => &["kubelet"],
        (_, 11211) => &["memcached"],
        (SocketProtocol::Tcp, 27017..=27019) => &["mongod"],
        _ => &[],
    }
}

/// Parses one `/proc/net/{tcp,udp}[6]` table: its listening sockets.
#[must_use]
pub fn parse_table(text: &str, protocol: SocketProtocol, v6: bool) -> Vec<ListeningSocket> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 {
            continue;
        }
        let (Some(local), Some(remote)) = (endpoint(f[1], v6), endpoint(f[2], v6)) else {
            continue;
        };
        let listening = match protocol {
            SocketProtocol::Tcp => f[3] == "0A",
            // An unconnected UDP socket: state 07 and no remote end.
            SocketProtocol::Udp => f[3] == "07" && remote.1 == 0 && remote.0.is_unspecified(),
        };
        if !listening {
            continue;
        }
        out.push(ListeningSocket {
            protocol,
            address: local.0,
            port: local.1,
            uid: f[7].parse().unwrap_or(u32::MAX),
            user: None,
            program: None,
            package: None,
        });
    }
    out
}

/// `0100007F:18EB` (the kernel prints each 32-bit word in host order; the
/// tables are read as a little-endian machine wrote them).
fn endpoint(s: &str, v6: bool) -> Option<(IpAddr, u16)> {
    let (addr, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = if v6 {
        if addr.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (i, chunk) in bytes.chunks_mut(4).enumerate() {
            let word = u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok()?;
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        let v6 = Ipv6Addr::from(bytes);
        // A v4-mapped wildcard or address is the v4 one.
        v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
    } else {
        if addr.len() != 8 {
            return None;
        }
        IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(addr, 16).ok()?.to_le_bytes(),
        ))
    };
    Some((ip, port))
}

/// Programs the package database installs: program name → package.
#[allow(clippy::case_sensitive_file_extension_comparisons)]
fn programs(view: &FsView) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut add = |path: &str, package: &str| {
        let Some((dir, name)) = path.rsplit_once('/') else {
            return;
        };
        if dir.ends_with("/bin")
            || dir.ends_with("/sbin")
            || dir.ends_with("/libexec")
            || dir.contains("/lib/postgresql/")
        {
            out.entry(name.to_owned())
                .or_insert_with(|| package.to_owned());
        }
    };
    for path in view
        .paths()
        .filter(|p| p.starts_with("/var/lib/dpkg/info/") && p.ends_with(".list"))
    {
        let stem = &path["/var/lib/dpkg/info/".len()..path.len() - ".list".len()];
        let package = stem.split(':').next().unwrap_or(stem);
        if let Some(v) = view.read(path) {
            for line in String::from_utf8_lossy(&v.data).lines() {
                add(line.trim(), package);
            }
        }
    }
    if let Some(v) = view.read("/lib/apk/db/installed") {
        let (mut package, mut dir) = (String::new(), String::new());
        for line in String::from_utf8_lossy(&v.data).lines() {
            if let Some(p) = line.strip_prefix("P:") {
                p.clone_into(&mut package);
            } else if let Some(d) = line.strip_prefix("F:") {
                dir = format!("/{d}");
            } else if let Some(r) = line.strip_prefix("R:") {
                add(&format!("{dir}/{r}"), &package);
            }
        }
    }
    out
}

fn users(view: &FsView) -> BTreeMap<u32, String> {
    view.read("/etc/passwd")
        .map(|v| {
            String::from_utf8_lossy(&v.data)
                .lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    Some((f.get(2)?.parse().ok()?, (*f.first()?).to_owned()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Reads the host facts of a root filesystem. `live` reads the socket
/// tables of the running machine (a live root's `/proc` is not in the view).
#[must_use]
pub fn facts(view: &FsView, live: bool) -> HostFacts {
    let mut sockets: Option<Vec<ListeningSocket>> = None;
    for (path, proto, v6) in TABLES {
        let text = if live {
            fs_err::read_to_string(path).ok()
        } else {
            view.read(path)
                .map(|v| String::from_utf8_lossy(&v.data).into_owned())
        };
        if let Some(text) = text {
            sockets
                .get_or_insert_with(Vec::new)
                .extend(parse_table(&text, proto, v6));
        }
    }
    if let Some(list) = &mut sockets {
        let (programs, users) = (programs(view), users(view));
        for s in list.iter_mut() {
            s.user = users.get(&s.uid).cloned();
            let by_user: Vec<String> = s
                .user
                .iter()
                .filter(|u| *u != "root")
                .flat_map(|u| [u.clone(), format!("{u}-server"), format!("{u}d")])
                .collect();
            // A service's own user names it best (`redis`, `postgres`,
            // `systemd-resolve`); then the daemons that serve the port.
            let found = by_user
                .into_iter()
                .chain(daemons(s.protocol, s.port).iter().map(|d| (*d).to_owned()))
                .find_map(|d| programs.get(&d).map(|pkg| (d, pkg.clone())));
            if let Some((program, package)) = found {
                s.program = Some(program);
                s.package = Some(package);
            }
        }
        list.sort();
        list.dedup();
    }
    let firewall = FIREWALL_FILES
        .iter()
        .filter_map(|p| {
            view.read(p).map(|v| FirewallFile {
                path: (*p).to_owned(),
                text: String::from_utf8_lossy(&v.data).into_owned(),
            })
        })
        .collect();
    HostFacts { sockets, firewall }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18181 1 0000000000000000 100 0 0 10 0
   1: 0100007F:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000   100        0 18200 1 0000000000000000 100 0 0 10 0
   2: 0500140A:0016 6300140A:C802 01 00000000:00000000 02:000A7B4B 00000000     0        0 18300 4 0000000000000000 20 4 1 10 -1
";

    #[test]
    fn listening_sockets_only() {
        let s = parse_table(TCP, SocketProtocol::Tcp, false);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].address.to_string(), s[0].port),
            ("0.0.0.0".into(), 22)
        );
        assert_eq!(
            (s[1].address.to_string(), s[1].port, s[1].uid),
            ("127.0.0.1".into(), 6379, 100)
        );
    }

    #[test]
    fn ipv6_words_in_host_order() {
        let text = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0000000000000000FFFF00000500140A:0050 0000000000000000FFFF00004D00140A:C3FA 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0
";
        let s = parse_table(text, SocketProtocol::Tcp, true);
        let shown: Vec<String> = s
            .iter()
            .map(|s| format!("{}:{}", s.address, s.port))
            .collect();
        assert_eq!(shown, [":::80", "::1:631"]);
    }
}
