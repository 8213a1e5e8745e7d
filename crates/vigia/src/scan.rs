//! `vigia scan KIND TARGET`: findings for an image, host, function, folder or SBOM.

use std::path::Path;

use anyhow::{Context, Result};
use base64::Engine;
use sha2::{Digest, Sha256};
use vigia_scan::{DatabaseInfo, FindingStatus, Report, ResourceHints, Severity, TargetKind};

use crate::cli::{Cli, ScanArgs, ScanFormat, ScanKind, Scanner};
use crate::db::STALE_AFTER_DAYS;
use crate::output;
use crate::{Exit, exit};

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

/// The inventory's kind must fit what the user said the target is.
fn check_kind(kind: ScanKind, target: &str, found: &str) -> Result<()> {
    let ok = match kind {
        ScanKind::Image => found == "image",
        ScanKind::Host => found == "rootfs",
        ScanKind::Function | ScanKind::Dir => found != "image",
        ScanKind::Sbom => true,
    };
    if ok {
        return Ok(());
    }
    let hint = match found {
        "image" => "it is a container image: use `vigia scan image`",
        "rootfs" => "it is a root filesystem: use `vigia scan host`",
        "function" => "it is a zip: use `vigia scan function`",
        _ => {
            "it is a plain folder: use `vigia scan dir` (a host needs /etc and a package database)"
        }
    };
    anyhow::bail!(
        "{target} is not {}: {hint}",
        match kind {
            ScanKind::Image =>
                "a container image (OCI layout, docker archive or registry reference)",
            ScanKind::Host => "a root filesystem",
            _ => "what was asked",
        }
    )
}

async fn database_info(store: &vigia_store::Store) -> Result<DatabaseInfo> {
    let states = store.source_states().await?;
    let newest = states
        .iter()
        .filter_map(|s| s.checked_at.as_deref())
        .filter_map(vigia_feeds::parse::parse_time)
        .max();
    let age = newest.map(|t| jiff::Timestamp::now().as_second() - t.as_second());
    Ok(DatabaseInfo {
        updated_at: newest.map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
        stale: age.is_none_or(|a| a > STALE_AFTER_DAYS * 86_400),
        advisories: states
            .iter()
            .filter(|s| s.kind == "osv")
            .map(|s| s.records)
            .sum(),
    })
}

fn zip_sha256(path: &Path) -> Option<String> {
    let mut f = fs_err::File::open(path).ok()?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(h.finalize()))
}

pub(crate) async fn run(cli: &Cli, args: &ScanArgs) -> Result<u8> {
    let severities: Vec<Severity> = args
        .severity
        .iter()
        .map(|s| parse_severity(s, "--severity"))
        .collect::<Result<_>>()?;
    let fail_on = args
        .fail_on
        .as_deref()
        .map(|s| parse_severity(s, "--fail-on"))
        .transpose()?;
    if args.scanners.contains(&Scanner::Network) {
        return Err(usage(
            "the network scanner is not part of this version of Vigia yet; use --scanners vuln,secret".into(),
        ));
    }
    let scanners: Vec<Scanner> = if args.scanners.is_empty() {
        if args.kind == ScanKind::Sbom {
            vec![Scanner::Vuln]
        } else {
            vec![Scanner::Vuln, Scanner::Secret]
        }
    } else {
        args.scanners.clone()
    };
    let vuln = scanners.contains(&Scanner::Vuln);
    let secret = scanners.contains(&Scanner::Secret);
    let ignore = match &args.ignore_file {
        Some(p) => Some(vigia_scan::suppress::IgnoreFile::read(p)?),
        None if Path::new(".vigiaignore").is_file() => Some(
            vigia_scan::suppress::IgnoreFile::read(Path::new(".vigiaignore"))?,
        ),
        None => None,
    };
    let vex = args
        .vex
        .iter()
        .map(|p| vigia_scan::suppress::Vex::read(p))
        .collect::<Result<Vec<_>, _>>()?;
    let engine = if secret {
        let mut rules = vigia_secrets::RuleFile::builtin();
        if let Some(p) = &args.secrets_config {
            let text = fs_err::read_to_string(p)?;
            rules = rules.merged(vigia_secrets::RuleFile::parse(
                &p.display().to_string(),
                &text,
            )?);
        }
        Some(std::sync::Arc::new(
            vigia_secrets::Engine::new(&rules).with_context(|| {
                format!(
                    "bad secret rules in {}",
                    args.secrets_config
                        .as_ref()
                        .map_or_else(|| "the built-in set".into(), |p| p.display().to_string())
                )
            })?,
        ))
    } else {
        None
    };

    // The database first: no database is an error before any slow work.
    let (store, database) = if vuln {
        let store = crate::db::open_existing(cli).await?;
        let info = database_info(&store).await?;
        (Some(store), info)
    } else {
        (None, DatabaseInfo::default())
    };

    let local = if args.kind == ScanKind::Sbom {
        None
    } else {
        Some(crate::sbom::localize(&args.target, &args.source, args.offline).await?)
    };
    let mut notes = Vec::new();
    // The secret scan reads the target on its own thread while the inventory
    // reads it on another: on two cores a cold image scan waits for the slower
    // of the two reads, not for both in turn.
    let secret_task = match (&engine, &local) {
        (Some(engine), Some(local)) => {
            let opts = crate::sbom::source_options(cli, &args.source);
            let (engine, path, all) = (engine.clone(), local.path.clone(), args.secrets_all_layers);
            Some(tokio::task::spawn_blocking(move || {
                vigia_secrets::scan(&path, &opts, engine, all)
            }))
        }
        _ => None,
    };
    let inv = match &local {
        None => {
            let text = fs_err::read_to_string(&args.target)?;
            vigia_scan::sbom_in::read(&args.target, &text)?
        }
        Some(local) if vuln => {
            crate::sbom::inventory_of(cli, &args.target, local, &args.source).await?
        }
        Some(_) => vigia_inventory::Inventory {
            target: args.target.clone(),
            ..Default::default()
        },
    };
    let secrets = match (&engine, secret_task) {
        (Some(_), Some(task)) => {
            let (report, kind, image) = task
                .await
                .context("the secret scan thread failed")?
                .with_context(|| format!("cannot scan {} for secrets", args.target))?;
            Some((report, kind, image))
        }
        (Some(_), None) => {
            notes.push(
                "secret scanning does not apply to an SBOM (it lists packages, not files)".into(),
            );
            None
        }
        _ => None,
    };
    let mut inv = inv;
    if !vuln && let Some((_, kind, image)) = &secrets {
        (*kind).clone_into(&mut inv.kind);
        inv.image.clone_from(image);
        if let (Some(img), Some(Some((_, digest)))) =
            (&mut inv.image, local.as_ref().map(|l| l.pulled.as_ref()))
        {
            img.manifest_digest = Some(digest.clone());
        }
    }
    check_kind(args.kind, &args.target, &inv.kind)?;
    let reference = local
        .as_ref()
        .and_then(|l| l.pulled.as_ref())
        .map(|(r, _)| r.clone());
    // An SBOM names its subject; a registry reference is its own name.
    let canonical = if args.kind == ScanKind::Sbom || reference.is_some() {
        inv.target.clone()
    } else {
        fs_err::canonicalize(&args.target)
            .map_or_else(|_| args.target.clone(), |p| p.display().to_string())
    };
    let code_sha256 = (args.kind == ScanKind::Function && Path::new(&args.target).is_file())
        .then(|| zip_sha256(Path::new(&args.target)))
        .flatten();
    let resource = vigia_scan::resource_for(
        target_kind(args.kind),
        &inv,
        &ResourceHints {
            reference,
            canonical,
            code_sha256,
        },
    );

    let (matched, vulns) = match &store {
        Some(store) => {
            let index = vigia_match::Index::load(store)
                .await
                .context("cannot load the match index")?;
            let matched = vigia_scan::match_inventory(&inv, &index);
            let ids = vigia_scan::vulnerability_ids(&matched);
            let vulns = store.vulnerabilities(&ids).await?;
            store.close().await;
            (matched, vulns)
        }
        None => (Vec::new(), std::collections::HashMap::new()),
    };
    let now = output::now_rfc3339();
    let ctx = vigia_scan::Context {
        resource,
        now: now.clone(),
        scanner: format!("vigia {}", env!("CARGO_PKG_VERSION")),
        database,
    };
    let mut report = vigia_scan::build(&inv, &matched, &vulns, &ctx);
    report.scan.scanners = scanners
        .iter()
        .map(|s| {
            match s {
                Scanner::Vuln => "vuln",
                Scanner::Secret => "secret",
                Scanner::Network => "network",
            }
            .to_owned()
        })
        .collect();
    if let Some((sr, _, _)) = &secrets {
        report
            .findings
            .extend(vigia_scan::secret_findings(sr, &ctx));
        report.scan.secrets = Some(vigia_scan::SecretScanInfo {
            files_scanned: sr.files_scanned,
            bytes_scanned: sr.bytes_scanned,
            files_binary: sr.files_binary,
            all_layers: args.secrets_all_layers,
        });
        report.scan.warnings.extend(sr.warnings.iter().cloned());
    }
    let today = output::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    notes.extend(vigia_scan::suppress::apply(
        &mut report.findings,
        ignore.as_ref(),
        &vex,
        today,
    ));
    report.scan.notes = notes;
    vigia_scan::filter(&mut report, &severities, args.ignore_unfixed);
    vigia_scan::sort_findings(&mut report.findings);

    warn(&report);
    let text = render(args.format, &inv, &report, &now)?;
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
