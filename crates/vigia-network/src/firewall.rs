//! A host's own firewall: the `filter` table's input chains of
//! `iptables-save` (and `ip6tables-save`) output, and of `nft -j list
//! ruleset` output, reduced to what decides whether new TCP and UDP
//! connections from another machine get in.
//!
//! Rules are read for what they match: protocol, destination ports, source
//! blocks, the loopback interface and connection state. A rule with a match
//! Vigia does not model is uncertain: an uncertain accept is taken as
//! matching and an uncertain drop as not matching, so an unknown match can
//! only make a port look more open, never hide one.

use ipnet::IpNet;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::addr::{Family, PortSet, all_ports, holds, ports_of};
use crate::model::{PortRange, Protocol, Transport};

/// A host firewall: base chains on the input path, each of which must accept
/// a packet, and the chains they jump to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Firewall {
    /// Where the rules came from (files).
    pub sources: Vec<String>,
    /// Every chain.
    pub chains: Vec<Chain>,
}

/// A chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Chain {
    /// Its name (`INPUT`, `ufw-user-input`, `inet filter input`).
    pub name: String,
    /// The family it filters: `ipv4`, `ipv6` or both when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<FamilyName>,
    /// For a base chain on the input hook: what happens to what no rule
    /// decides. `None` for a chain that is only jumped to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
    /// Its rules, in order.
    #[serde(default)]
    pub rules: Vec<FwRule>,
}

/// The family a chain filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FamilyName {
    /// IPv4 only.
    Ipv4,
    /// IPv6 only.
    Ipv6,
}

/// A base chain's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Accept.
    Accept,
    /// Drop.
    Drop,
}

/// One rule.
// Each flag is one independent match of the rule.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FwRule {
    /// The protocol it matches; every protocol when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// Destination ports; every port when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<PortRange>>,
    /// Whether `ports` is negated (`! --dport`, `!=`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ports_negated: bool,
    /// Source blocks; every source when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<Vec<String>>")]
    pub sources: Option<Vec<IpNet>>,
    /// Whether `sources` is negated (`! -s`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sources_negated: bool,
    /// Matches only traffic on the loopback interface.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub loopback: bool,
    /// Matches only packets of connections already established.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub established: bool,
    /// Has a match Vigia does not model (see the module docs).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub uncertain: bool,
    /// What it does.
    pub verdict: Verdict,
    /// The rule as written, for explanations.
    pub text: String,
}

/// What a rule does with what it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Let it in.
    Accept,
    /// Drop or reject it.
    Drop,
    /// Evaluate another chain, then go on unless it decided.
    Jump(String),
    /// Back to the calling chain.
    Return,
    /// Nothing (logging, counting).
    Continue,
}

/// What went wrong reading a firewall file.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct FirewallError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

const MAX_DEPTH: usize = 16;

impl Firewall {
    /// The ports of `proto` that new connections from `addr` may reach.
    #[must_use]
    pub fn allowed(&self, proto: Transport, family: Family, addr: u128) -> PortSet {
        let mut out = all_ports();
        for chain in self.base_chains(family) {
            let (accepted, _) = self.eval(chain, proto, family, addr, all_ports(), 0, None);
            out = &out & &accepted;
        }
        out
    }

    /// Why `port` is dropped for `addr`, when it is: the rule or policy.
    #[must_use]
    pub fn blocker(
        &self,
        proto: Transport,
        family: Family,
        addr: u128,
        port: u16,
    ) -> Option<String> {
        for chain in self.base_chains(family) {
            let mut trace = None;
            let one = PortSet::from_iter([port..=port]);
            let (accepted, _) = self.eval(chain, proto, family, addr, one, 0, Some(&mut trace));
            if accepted.is_empty() {
                return Some(
                    trace.unwrap_or_else(|| format!("chain {} drops it by its policy", chain.name)),
                );
            }
        }
        None
    }

    fn base_chains(&self, family: Family) -> impl Iterator<Item = &Chain> {
        self.chains.iter().filter(move |c| {
            c.policy.is_some()
                && matches!(
                    (c.family, family),
                    (None, _)
                        | (Some(FamilyName::Ipv4), Family::V4)
                        | (Some(FamilyName::Ipv6), Family::V6)
                )
        })
    }

    /// Evaluates `chain` for the ports `ports`: (accepted, returned).
    #[allow(clippy::too_many_arguments)]
    fn eval(
        &self,
        chain: &Chain,
        proto: Transport,
        family: Family,
        addr: u128,
        ports: PortSet,
        depth: usize,
        mut trace: Option<&mut Option<String>>,
    ) -> (PortSet, PortSet) {
        let mut remaining = ports;
        let (mut accepted, mut returned) = (PortSet::new(), PortSet::new());
        for rule in &chain.rules {
            if remaining.is_empty() {
                break;
            }
            if rule.loopback || rule.established {
                continue;
            }
            if !rule.protocol.is_none_or(|p| p.matches(proto)) {
                continue;
            }
            if let Some(nets) = &rule.sources {
                let inside = nets.iter().any(|n| holds(n, family, addr));
                if inside == rule.sources_negated {
                    continue;
                }
            }
            let mut hit = match &rule.ports {
                Some(ranges) => ranges
                    .iter()
                    .map(|r| ports_of(Some(*r)))
                    .fold(PortSet::new(), |a, b| a | b),
                None => all_ports(),
            };
            if rule.ports_negated {
                hit = all_ports() - hit;
            }
            let hit = &hit & &remaining;
            if hit.is_empty() {
                continue;
            }
            match &rule.verdict {
                Verdict::Accept => {
                    accepted |= &hit;
                    remaining = remaining - &hit;
                }
                Verdict::Drop if rule.uncertain => {}
                Verdict::Drop => {
                    if let Some(t) = trace.as_deref_mut() {
                        t.get_or_insert_with(|| format!("{}: {}", chain.name, rule.text));
                    }
                    remaining = remaining - &hit;
                }
                Verdict::Return => {
                    returned |= &hit;
                    remaining = remaining - &hit;
                }
                Verdict::Continue => {}
                Verdict::Jump(target) => {
                    let Some(next) = self
                        .chains
                        .iter()
                        .find(|c| c.name == *target && c.policy.is_none())
                    else {
                        continue;
                    };
                    if depth >= MAX_DEPTH {
                        continue;
                    }
                    let (acc, ret) = self.eval(
                        next,
                        proto,
                        family,
                        addr,
                        hit.clone(),
                        depth + 1,
                        trace.as_deref_mut(),
                    );
                    accepted |= &acc;
                    // What the called chain neither accepted nor returned it dropped.
                    remaining = (remaining - &hit) | ret;
                }
            }
        }
        match chain.policy {
            Some(Policy::Accept) => accepted |= &remaining,
            Some(Policy::Drop) => {}
            None => returned |= &remaining,
        }
        (accepted, returned)
    }
}

/// Reads `iptables-save` or `ip6tables-save` output (the `filter` table).
/// `family` says which family the rules are for when the text does not.
pub fn parse_iptables(
    file: &str,
    text: &str,
    family: Option<FamilyName>,
) -> Result<Firewall, FirewallError> {
    let err = |line: usize, message: String| FirewallError {
        file: file.to_owned(),
        message: format!("line {line}: {message}"),
    };
    let family = if text.contains("ip6tables-save") {
        Some(FamilyName::Ipv6)
    } else {
        family
    };
    let mut table = String::new();
    let mut chains: Vec<Chain> = Vec::new();
    let mut saw_filter = false;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line == "COMMIT" {
            continue;
        }
        if let Some(t) = line.strip_prefix('*') {
            t.trim().clone_into(&mut table);
            saw_filter |= table == "filter";
            continue;
        }
        if table != "filter" {
            continue;
        }
        if let Some(decl) = line.strip_prefix(':') {
            let mut parts = decl.split_whitespace();
            let name = parts
                .next()
                .ok_or_else(|| err(n, "a chain declaration without a name".into()))?;
            let policy = match parts.next() {
                Some("ACCEPT") if name == "INPUT" => Some(Policy::Accept),
                Some("DROP") if name == "INPUT" => Some(Policy::Drop),
                _ => None,
            };
            chains.push(Chain {
                name: name.to_owned(),
                family,
                policy,
                rules: Vec::new(),
            });
            continue;
        }
        let words = shlex::split(line).ok_or_else(|| err(n, "unbalanced quotes".into()))?;
        let (chain_name, rule) = iptables_rule(&words, line).map_err(|m| err(n, m))?;
        match chains.iter_mut().find(|c| c.name == chain_name) {
            Some(c) => c.rules.push(rule),
            None => return Err(err(n, format!("rule for undeclared chain {chain_name}"))),
        }
    }
    if !saw_filter {
        return Err(FirewallError {
            file: file.to_owned(),
            message: "no `*filter` table: not iptables-save output".into(),
        });
    }
    chains.retain(|c| c.name != "OUTPUT" && c.name != "FORWARD");
    Ok(Firewall {
        sources: vec![file.to_owned()],
        chains,
    })
}

fn port_list(s: &str) -> Result<Vec<PortRange>, String> {
    s.split(',')
        .map(|p| {
            let (a, b) = p.split_once(':').unwrap_or((p, p));
            let parse = |x: &str, dflt: u16| {
                if x.is_empty() {
                    Ok(dflt)
                } else {
                    x.parse::<u16>().map_err(|_| format!("bad port {p:?}"))
                }
            };
            Ok(PortRange {
                from: parse(a, 0)?,
                to: parse(b, u16::MAX)?,
            })
        })
        .collect()
}

fn iptables_rule(words: &[String], line: &str) -> Result<(String, FwRule), String> {
    let mut rule = FwRule {
        protocol: None,
        ports: None,
        ports_negated: false,
        sources: None,
        sources_negated: false,
        loopback: false,
        established: false,
        uncertain: false,
        verdict: Verdict::Continue,
        text: line.to_owned(),
    };
    let mut chain = None;
    let mut negate = false;
    let mut i = 0;
    let next = |i: &mut usize| -> Result<&str, String> {
        *i += 1;
        words
            .get(*i)
            .map(String::as_str)
            .ok_or_else(|| format!("{} needs a value", words[*i - 1]))
    };
    while i < words.len() {
        let w = words[i].as_str();
        match w {
            "!" => {
                negate = true;
                i += 1;
                continue;
            }
            "-A" | "--append" => chain = Some(next(&mut i)?.to_owned()),
            "-p" | "--protocol" => {
                let p = next(&mut i)?;
                if negate {
                    rule.uncertain = true;
                } else {
                    rule.protocol = Some(Protocol::try_from(p.to_owned())?);
                }
            }
            "-s" | "--source" | "--src" => {
                let v = next(&mut i)?;
                rule.sources = Some(
                    v.split(',')
                        .map(|a| {
                            a.parse::<IpNet>()
                                .or_else(|_| a.parse::<std::net::IpAddr>().map(IpNet::from))
                        })
                        .collect::<Result<_, _>>()
                        .map_err(|_| format!("bad source {v:?}"))?,
                );
                rule.sources_negated = negate;
            }
            "--dport" | "--destination-port" | "--dports" | "--destination-ports" => {
                rule.ports = Some(port_list(next(&mut i)?)?);
                rule.ports_negated = negate;
            }
            "-i" | "--in-interface" => {
                let v = next(&mut i)?;
                if v == "lo" && !negate {
                    rule.loopback = true;
                } else if !(v == "lo" && negate) {
                    rule.uncertain = true;
                }
            }
            "--state" | "--ctstate" => {
                let v = next(&mut i)?;
                let new = v.split(',').any(|s| s.eq_ignore_ascii_case("NEW"));
                if negate == new {
                    rule.established = true;
                }
            }
            "-m" | "--match" => {
                next(&mut i)?;
            }
            "-j" | "--jump" | "-g" | "--goto" => {
                rule.verdict = match next(&mut i)? {
                    "ACCEPT" => Verdict::Accept,
                    "DROP" | "REJECT" => Verdict::Drop,
                    "RETURN" => Verdict::Return,
                    "LOG" | "NFLOG" | "ULOG" | "MARK" | "CONNMARK" | "TRACE" => Verdict::Continue,
                    other => Verdict::Jump(other.to_owned()),
                };
                // Target options (--reject-with, --log-prefix) follow; none matter.
                break;
            }
            "-c" | "--set-counters" => {
                next(&mut i)?;
                next(&mut i)?;
            }
            // Match options with one value that do not narrow new inbound
            // traffic in a way the analysis models.
            "--comment" => {
                next(&mut i)?;
            }
            "-d" | "--destination" | "--dst" | "--sport" | "--source-port" | "--sports"
            | "--source-ports" | "-o" | "--out-interface" | "--icmp-type" | "--icmpv6-type"
            | "--tcp-flags" | "--limit" | "--limit-burst" | "--uid-owner" | "--src-type"
            | "--dst-type" | "--match-set" | "--set" | "--seconds" | "--hitcount" | "--name" => {
                rule.uncertain = true;
                // Options take one value, `--tcp-flags` and `--match-set` two.
                next(&mut i)?;
                if matches!(w, "--tcp-flags" | "--match-set") {
                    next(&mut i)?;
                }
            }
            "--syn" | "--rcheck" | "--update" | "--rsource" => {
                if w == "--syn" {
                    // Only the first packet of a connection: still a new connection.
                } else {
                    rule.uncertain = true;
                }
            }
            _ if w.starts_with('-') => rule.uncertain = true,
            _ => {}
        }
        negate = false;
        i += 1;
    }
    let chain = chain.ok_or("a rule line without -A CHAIN")?;
    Ok((chain, rule))
}

/// Reads `nft -j list ruleset` output: the filter chains on the input hook
/// of the `ip`, `ip6` and `inet` families, and the chains they jump to.
pub fn parse_nft_json(file: &str, text: &str) -> Result<Firewall, FirewallError> {
    use serde_json::Value;
    let err = |message: String| FirewallError {
        file: file.to_owned(),
        message,
    };
    let doc: Value = serde_json::from_str(text).map_err(|e| err(format!("not JSON: {e}")))?;
    let items = doc
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or_else(|| err("no `nftables` array: not `nft -j list ruleset` output".into()))?;
    let key = |o: &Value| -> Option<String> {
        let family = o.get("family")?.as_str()?;
        let table = o.get("table")?.as_str()?;
        let name = o.get("chain").or_else(|| o.get("name"))?.as_str()?;
        Some(format!("{family} {table} {name}"))
    };
    let fam = |o: &Value| match o.get("family").and_then(Value::as_str) {
        Some("ip") => Some(Some(FamilyName::Ipv4)),
        Some("ip6") => Some(Some(FamilyName::Ipv6)),
        Some("inet") => Some(None),
        _ => None,
    };
    let mut chains: Vec<Chain> = Vec::new();
    for item in items {
        if let Some(c) = item.get("chain") {
            let (Some(name), Some(family)) = (key(c), fam(c)) else {
                continue;
            };
            let input = c.get("hook").and_then(Value::as_str) == Some("input")
                && c.get("type")
                    .and_then(Value::as_str)
                    .is_none_or(|t| t == "filter");
            let policy = input.then(|| match c.get("policy").and_then(Value::as_str) {
                Some("drop") => Policy::Drop,
                _ => Policy::Accept,
            });
            chains.push(Chain {
                name,
                family,
                policy,
                rules: Vec::new(),
            });
        }
    }
    for item in items {
        let Some(r) = item.get("rule") else { continue };
        let Some(name) = key(r) else { continue };
        let prefix = name.rsplit_once(' ').map_or("", |(p, _)| p).to_owned();
        let Some(chain) = chains.iter_mut().find(|c| c.name == name) else {
            continue;
        };
        let exprs = r
            .get("expr")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        chain.rules.push(nft_rule(&exprs, &prefix));
    }
    Ok(Firewall {
        sources: vec![file.to_owned()],
        chains,
    })
}

fn nft_ports(v: &serde_json::Value) -> Option<Vec<PortRange>> {
    use serde_json::Value;
    let one = |v: &Value| -> Option<PortRange> {
        if let Some(p) = v.as_u64() {
            let p = u16::try_from(p).ok()?;
            return Some(PortRange { from: p, to: p });
        }
        let r = v.get("range")?.as_array()?;
        Some(PortRange {
            from: u16::try_from(r.first()?.as_u64()?).ok()?,
            to: u16::try_from(r.get(1)?.as_u64()?).ok()?,
        })
    };
    match v.get("set").and_then(Value::as_array) {
        Some(set) => set.iter().map(one).collect(),
        None => one(v).map(|r| vec![r]),
    }
}

fn nft_addrs(v: &serde_json::Value) -> Option<Vec<IpNet>> {
    use serde_json::Value;
    let one = |v: &Value| -> Option<IpNet> {
        if let Some(s) = v.as_str() {
            return s
                .parse::<IpNet>()
                .ok()
                .or_else(|| s.parse::<std::net::IpAddr>().ok().map(IpNet::from));
        }
        let p = v.get("prefix")?;
        format!("{}/{}", p.get("addr")?.as_str()?, p.get("len")?.as_u64()?)
            .parse()
            .ok()
    };
    match v.get("set").and_then(Value::as_array) {
        Some(set) => set.iter().map(one).collect(),
        None => one(v).map(|n| vec![n]),
    }
}

fn nft_strings(v: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    let list = v.get("set").unwrap_or(v);
    match list {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn nft_rule(exprs: &[serde_json::Value], chain_prefix: &str) -> FwRule {
    use serde_json::Value;
    let mut rule = FwRule {
        protocol: None,
        ports: None,
        ports_negated: false,
        sources: None,
        sources_negated: false,
        loopback: false,
        established: false,
        uncertain: false,
        verdict: Verdict::Continue,
        text: serde_json::to_string(exprs).unwrap_or_default(),
    };
    for e in exprs {
        let Some(obj) = e.as_object() else { continue };
        let Some((kind, body)) = obj.iter().next() else {
            continue;
        };
        match kind.as_str() {
            "match" => {
                let op = body.get("op").and_then(Value::as_str).unwrap_or("==");
                let negated = op == "!=";
                let (Some(left), Some(right)) = (body.get("left"), body.get("right")) else {
                    rule.uncertain = true;
                    continue;
                };
                if !matches!(op, "==" | "!=" | "in") {
                    rule.uncertain = true;
                    continue;
                }
                if let Some(p) = left.get("payload") {
                    let proto = p
                        .get("protocol")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    match (
                        proto,
                        p.get("field").and_then(Value::as_str).unwrap_or_default(),
                    ) {
                        ("tcp" | "udp" | "th", "dport") => {
                            if proto != "th" {
                                rule.protocol = Protocol::try_from(proto.to_owned()).ok();
                            }
                            match nft_ports(right) {
                                Some(ports) => {
                                    rule.ports = Some(ports);
                                    rule.ports_negated = negated;
                                }
                                None => rule.uncertain = true,
                            }
                        }
                        ("ip" | "ip6", "saddr") => match nft_addrs(right) {
                            Some(nets) => {
                                rule.sources = Some(nets);
                                rule.sources_negated = negated;
                            }
                            None => rule.uncertain = true,
                        },
                        _ => rule.uncertain = true,
                    }
                } else if let Some(m) = left.get("meta") {
                    match m.get("key").and_then(Value::as_str) {
                        Some("l4proto") => {
                            let names = nft_strings(right);
                            match names.as_slice() {
                                [one] if !negated => {
                                    rule.protocol = Protocol::try_from(one.clone()).ok();
                                }
                                _ => rule.uncertain = true,
                            }
                        }
                        Some("iifname" | "iif") => {
                            let lo = nft_strings(right).iter().all(|s| s == "lo");
                            match (lo, negated) {
                                (true, false) => rule.loopback = true,
                                (true, true) => {}
                                _ => rule.uncertain = true,
                            }
                        }
                        Some("nfproto") => {}
                        _ => rule.uncertain = true,
                    }
                } else if let Some(ct) = left.get("ct") {
                    if ct.get("key").and_then(Value::as_str) == Some("state") {
                        let new = nft_strings(right).iter().any(|s| s == "new");
                        if negated == new {
                            rule.established = true;
                        }
                    } else {
                        rule.uncertain = true;
                    }
                } else {
                    rule.uncertain = true;
                }
            }
            "accept" => rule.verdict = Verdict::Accept,
            "drop" | "reject" => rule.verdict = Verdict::Drop,
            "return" => rule.verdict = Verdict::Return,
            "jump" | "goto" => {
                if let Some(t) = body.get("target").and_then(Value::as_str) {
                    rule.verdict = Verdict::Jump(format!("{chain_prefix} {t}"));
                }
            }
            "counter" | "log" | "comment" => {}
            _ => rule.uncertain = true,
        }
    }
    rule
}

/// Reads a firewall file of either kind, told apart by its content.
pub fn parse(file: &str, text: &str) -> Result<Firewall, FirewallError> {
    if text.trim_start().starts_with('{') {
        return parse_nft_json(file, text);
    }
    let family = if file.ends_with("v6") || file.contains("ip6tables") {
        Some(FamilyName::Ipv6)
    } else if file.ends_with("v4") || file.ends_with("/iptables") {
        Some(FamilyName::Ipv4)
    } else {
        None
    };
    parse_iptables(file, text, family)
}

/// Joins firewalls read from several files into one.
#[must_use]
pub fn merge(parts: Vec<Firewall>) -> Option<Firewall> {
    let mut out: Option<Firewall> = None;
    for p in parts {
        match &mut out {
            None => out = Some(p),
            Some(o) => {
                o.sources.extend(p.sources);
                o.chains.extend(p.chains);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> u128 {
        u128::from(u32::from(s.parse::<std::net::Ipv4Addr>().unwrap()))
    }

    const SAVE: &str = "# Generated by iptables-save v1.8.9 on Sun Dec  6 08:00:00 2026
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 8080 -j REDIRECT --to-ports 80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:ssh-in - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ssh-in
-A INPUT -p tcp -m multiport --dports 80,443,8000:8010 -m comment --comment \"web \\\"front\\\"\" -j ACCEPT
-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 5432 -j ACCEPT
-A INPUT -p udp -m udp --dport 68 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 6379 -j REJECT --reject-with tcp-reset
-A ssh-in -s 192.0.2.0/24 -j RETURN
-A ssh-in -j ACCEPT
COMMIT
";

    #[test]
    fn iptables_input_chain() {
        let fw = parse("/etc/iptables/rules.v4", SAVE).unwrap();
        let open = fw.allowed(Transport::Tcp, Family::V4, v4("8.8.8.8"));
        assert_eq!(crate::addr::describe_ports(&open), "22, 80, 443, 8000-8010");
        let inside = fw.allowed(Transport::Tcp, Family::V4, v4("10.1.2.3"));
        assert!(inside.contains(5432));
        // Returned from ssh-in, then dropped by the INPUT policy.
        assert!(
            !fw.allowed(Transport::Tcp, Family::V4, v4("192.0.2.9"))
                .contains(22)
        );
        assert!(
            fw.blocker(Transport::Tcp, Family::V4, v4("8.8.8.8"), 6379)
                .unwrap()
                .contains("--dport 6379")
        );
        assert!(
            fw.blocker(Transport::Tcp, Family::V4, v4("8.8.8.8"), 22)
                .is_none()
        );
        assert!(
            fw.blocker(Transport::Tcp, Family::V4, v4("8.8.8.8"), 9999)
                .unwrap()
                .contains("policy")
        );
        let udp = fw.allowed(Transport::Udp, Family::V4, v4("8.8.8.8"));
        assert_eq!(crate::addr::describe_ports(&udp), "68");
        // Rules for v4 do not filter v6.
        assert_eq!(fw.allowed(Transport::Tcp, Family::V6, 1), all_ports());
    }

    #[test]
    fn uncertain_matches_only_open() {
        let text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -m recent --rcheck -j DROP\n-A INPUT -p tcp -d 10.0.0.5 --dport 80 -j DROP\nCOMMIT\n";
        let fw = parse_iptables("x", text, None).unwrap();
        let open = fw.allowed(Transport::Tcp, Family::V4, v4("8.8.8.8"));
        assert!(open.contains(22) && open.contains(80));
    }

    #[test]
    fn bad_iptables_is_an_error_naming_the_file() {
        let e = parse_iptables(
            "/etc/iptables/rules.v4",
            "*filter\n-A NOPE -j ACCEPT\n",
            None,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("/etc/iptables/rules.v4: line 2"),
            "{e}"
        );
        assert!(parse_iptables("f", "hello\n", None).is_err());
    }

    #[test]
    fn nft_input_hook() {
        let text = r#"{"nftables":[{"metainfo":{"version":"1.0.6","json_schema_version":1}},
 {"table":{"family":"inet","name":"filter","handle":1}},
 {"chain":{"family":"inet","table":"filter","name":"input","handle":1,"type":"filter","hook":"input","prio":0,"policy":"drop"}},
 {"chain":{"family":"inet","table":"filter","name":"web","handle":2}},
 {"rule":{"family":"inet","table":"filter","chain":"input","handle":3,"expr":[{"match":{"op":"==","left":{"meta":{"key":"iifname"}},"right":"lo"}},{"accept":null}]}},
 {"rule":{"family":"inet","table":"filter","chain":"input","handle":4,"expr":[{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":["established","related"]}},{"accept":null}]}},
 {"rule":{"family":"inet","table":"filter","chain":"input","handle":5,"expr":[{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":22}},{"counter":{"packets":0,"bytes":0}},{"accept":null}]}},
 {"rule":{"family":"inet","table":"filter","chain":"input","handle":6,"expr":[{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":{"set":[80,443,{"range":[9000,9009]}]}}},{"jump":{"target":"web"}}]}},
 {"rule":{"family":"inet","table":"filter","chain":"web","handle":7,"expr":[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"prefix":{"addr":"10.0.0.0","len":8}}}},{"drop":null}]}},
 {"rule":{"family":"inet","table":"filter","chain":"web","handle":8,"expr":[{"accept":null}]}}
]}"#;
        let fw = parse("/etc/nftables.json", text).unwrap();
        let open = fw.allowed(Transport::Tcp, Family::V4, v4("8.8.8.8"));
        assert_eq!(crate::addr::describe_ports(&open), "22, 80, 443, 9000-9009");
        let inside = fw.allowed(Transport::Tcp, Family::V4, v4("10.9.9.9"));
        assert_eq!(crate::addr::describe_ports(&inside), "22");
        assert!(fw.allowed(Transport::Udp, Family::V6, 7).is_empty());
        assert!(parse_nft_json("f", "{}").is_err());
    }
}
