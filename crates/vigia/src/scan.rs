//! `vigia scan KIND TARGET`: findings for an image, host, function, folder or SBOM.

use std::path::Path;

use anyhow::Result;
use vigia_engine::{ScanRequest, Scanner as Engine, Scanners};
use vigia_scan::{FindingStatus, Report, Severity, TargetKind};

use crate::cli::{Cli, ScanArgs, ScanFormat, ScanKind, Scanner};
use crate::db::STALE_AFTER_DAYS;
use crate::{Exit, config, exit, output};

fn usage(message: String) -> anyhow::Error {
    Exit { code: 2, message }.into()
}

fn parse_severity(s: &str, flag: &str) -> Result<Severity> {
    Severity::parse(s).ok_or_else(|| {
        usage(format!(
            "{flag}: `{s}` is not a severity (critical, high, medium, low, informational, untriaged)"
        ))
    })
}

fn target_kind(kind: ScanKind) -> TargetKind {
    match kind {
        ScanKind::Image => TargetKind::Image,
        ScanKind::Host => TargetKind::Host,
        ScanKind::Function => TargetKind::Function,
        ScanKind::Dir => TargetKind::Dir,
        ScanKind::Sbom => TargetKind::Sbom,
    }
}

/// The scan request the arguments describe.
fn request(args: &ScanArgs) -> Result<ScanRequest> {
    let kind = target_kind(args.kind);
    let mut req = ScanRequest::new(kind, args.target.clone());
    if !args.scanners.is_empty() {
        req.scanners = Scanners {
            vuln: args.scanners.contains(&Scanner::Vuln),
            secret: args.scanners.contains(&Scanner::Secret),
            network: args.scanners.contains(&Scanner::Network),
        };
    } else if args.network.is_some() {
        req.scanners.network = true;
    }
    let networked = args.network.is_some() || !args.firewall.is_empty() || req.scanners.network;
    if networked && kind != TargetKind::Host {
        return Err(usage(
            "--network, --firewall and the network scanner apply to hosts: `vigia scan host ROOTFS`"
                .into(),
        ));
    }
    if networked {
        let firewall = args
            .firewall
            .iter()
            .map(|p| Ok((p.display().to_string(), fs_err::read_to_string(p)?)))
            .collect::<Result<_>>()?;
        req.network = Some(vigia_engine::NetworkRequest {
            model: args
                .network
                .as_deref()
                .map(vigia_network::load)
                .transpose()?,
            host_id: args.host_id.clone(),
            firewall,
        });
    }
    req.severities = args
        .severity
        .iter()
        .map(|s| parse_severity(s, "--severity"))
        .collect::<Result<_>>()?;
    req.ignore_unfixed = args.ignore_unfixed;
    req.ignore = match &args.ignore_file {
        Some(p) => Some(vigia_scan::suppress::IgnoreFile::read(p)?),
        None if Path::new(".vigiaignore").is_file() => Some(
            vigia_scan::suppress::IgnoreFile::read(Path::new(".vigiaignore"))?,
        ),
        None => None,
    };
    req.vex = args
        .vex
        .iter()
        .map(|p| vigia_scan::suppress::Vex::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    req.platform.clone_from(&args.source.platform);
    req.offline = args.offline;
    req.secrets_all_layers = args.secrets_all_layers;
    req.scope = args.source.scope();
    req.keep = vigia_inventory::Selection {
        declared: args.source.include_declared,
        dev: args.include_dev,
    };
    req.now = output::now();
    Ok(req)
}

pub(crate) async fn run(cli: &Cli, args: &ScanArgs) -> Result<u8> {
    let fail_on = args
        .fail_on
        .as_deref()
        .map(|s| parse_severity(s, "--fail-on"))
        .transpose()?;
    let req = request(args)?;
    let mut config = config::engine(cli, Some(&args.source))?;
    config.secret_rules.clone_from(&args.secrets_config);
    let engine = Engine::new(config)?;
    let outcome = engine.scan(&req).await?;
    let report = outcome.report;

    warn(&report);
    let now = req.now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let text = render(args.format, &outcome.inventory, &report, &now)?;
    output::write_to(args.output.as_deref(), &text)?;

    if let Some(threshold) = fail_on {
        let hit = report
            .findings
            .iter()
            .any(|f| f.status == FindingStatus::Active && f.severity <= threshold);
        if hit {
            return Ok(args.exit_code);
        }
    }
    if report.scan.incomplete() && !args.allow_incomplete {
        return Ok(exit::INCOMPLETE);
    }
    Ok(exit::OK)
}

/// Messages people must not miss, on stderr whatever the format.
fn warn(report: &Report) {
    let scan = &report.scan;
    if scan.database.stale {
        output::warning(&format!(
            "the vulnerability database was last updated {} (more than {STALE_AFTER_DAYS} days ago): run `vigia db update`",
            scan.database.updated_at.as_deref().unwrap_or("never")
        ));
    }
    for n in &scan.not_scanned {
        output::warning(&format!("NOT SCANNED {}: {}", n.path, n.reason));
    }
    if !scan.not_evaluated.is_empty() {
        output::warning(&format!(
            "{} packages NOT EVALUATED (their installed version cannot be compared):",
            scan.not_evaluated.len()
        ));
        for n in &scan.not_evaluated {
            let at = if n.path.is_empty() {
                String::new()
            } else {
                format!(" in {}", n.path)
            };
            output::warning(&format!(
                "  {} {} {}{at}: {}",
                n.ecosystem, n.name, n.version, n.reason
            ));
        }
    }
    for gap in scan.database.gaps() {
        output::warning(&gap);
    }
    for c in scan.coverage.iter().filter(|c| !c.covered) {
        output::warning(&format!(
            "{} {} packages NOT COVERED: {}",
            c.packages,
            c.package_type,
            c.reason.as_deref().unwrap_or("")
        ));
    }
    for n in &scan.notes {
        output::warning(n);
    }
    for w in &scan.warnings {
        output::warning(w);
    }
}

fn render(
    format: ScanFormat,
    inv: &vigia_inventory::Inventory,
    report: &Report,
    now: &str,
) -> Result<String> {
    let version = env!("CARGO_PKG_VERSION");
    Ok(match format {
        ScanFormat::Table => vigia_report::findings::table(report, output::stdout_is_terminal()),
        ScanFormat::Json => serde_json::to_string_pretty(report)?,
        ScanFormat::Sarif => {
            serde_json::to_string_pretty(&vigia_report::findings::sarif(report, version))?
        }
        ScanFormat::Cyclonedx => serde_json::to_string_pretty(
            &vigia_report::findings::cyclonedx_vdr(inv, report, now, version),
        )?,
        ScanFormat::Spdx => serde_json::to_string_pretty(&vigia_report::findings::spdx_vdr(
            inv, report, now, version,
        ))?,
        ScanFormat::Csv => vigia_report::findings::csv(report)?,
        ScanFormat::Markdown => vigia_report::findings::markdown(report),
        ScanFormat::Asff => {
            let account = std::env::var("VIGIA_AWS_ACCOUNT_ID")
                .ok()
                .filter(|a| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()))
                .unwrap_or_else(|| vigia_scan::ACCOUNT_ID.to_owned());
            let region = std::env::var("AWS_REGION")
                .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|_| "us-east-1".into());
            serde_json::to_string_pretty(&vigia_report::findings::asff(
                report,
                &vigia_report::findings::AsffTarget { account, region },
            ))?
        }
    })
}
