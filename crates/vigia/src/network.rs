//! `vigia network`: reachability findings of a network model.

use anyhow::Result;

use crate::cli::{Cli, Format, NetworkCheckArgs, NetworkCommand};
use crate::{Exit, exit, output};

pub(crate) fn run(_cli: &Cli, cmd: &NetworkCommand) -> Result<u8> {
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
        let (host, port, proto) =
            vigia_network::exposure::parse_port_target(target).map_err(|e| Exit {
                code: 2,
                message: format!("--explain: {e}"),
            })?;
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
