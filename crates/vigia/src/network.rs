//! `vigia network`: reachability findings of a network model.

use anyhow::Result;
use vigia_network::Transport;

use crate::cli::{Cli, Format, NetworkCheckArgs, NetworkCommand};
use crate::{Exit, exit, output};

/// `HOST:PORT/PROTO`.
fn parse_target(s: &str) -> Result<(String, u16, Transport)> {
    let bad = || Exit {
        code: 2,
        message: format!("--explain: `{s}` is not HOST:PORT/PROTO (i-0123456789abcdef0:22/tcp)"),
    };
    let (host, rest) = s.rsplit_once(':').ok_or_else(bad)?;
    let (port, proto) = rest.split_once('/').unwrap_or((rest, "tcp"));
    let proto = match proto.to_ascii_lowercase().as_str() {
        "tcp" => Transport::Tcp,
        "udp" => Transport::Udp,
        _ => return Err(bad().into()),
    };
    Ok((host.to_owned(), port.parse().map_err(|_| bad())?, proto))
}

pub(crate) fn run(cli: &Cli, cmd: &NetworkCommand) -> Result<u8> {
    let _ = cli;
    match cmd {
        NetworkCommand::Schema => {
            output::print(&vigia_network::file::schema());
            Ok(exit::OK)
        }
        NetworkCommand::Check(args) => check(args),
    }
}

fn check(args: &NetworkCheckArgs) -> Result<u8> {
    let net = vigia_network::load(&args.path)?;
    if let Some(target) = &args.explain {
        let (host, port, proto) = parse_target(target)?;
        let Some(h) = net.host(&host) else {
            let ids: Vec<&str> = net.hosts.iter().map(|h| h.id.as_str()).collect();
            return Err(Exit {
                code: 2,
                message: format!(
                    "--explain: no host {host} in {} (hosts: {})",
                    args.path.display(),
                    ids.join(", ")
                ),
            }
            .into());
        };
        let e = vigia_network::explain(&net, h, port, proto);
        match args.format {
            Format::Json => output::print_json(&e)?,
            Format::Table => output::print(&vigia_report::network::explanation(&e)),
        }
        return Ok(exit::OK);
    }
    let now = output::now_rfc3339();
    let findings = vigia_report::network::findings(&net, &now);
    match args.format {
        Format::Json => output::print_json(&serde_json::json!({ "findings": findings }))?,
        Format::Table => output::print(&vigia_report::network::table(
            &findings,
            output::stdout_is_terminal(),
        )),
    }
    Ok(exit::OK)
}
