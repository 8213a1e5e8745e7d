//! `vigia sbom TARGET`: the package inventory of a resource, as JSON, CycloneDX or SPDX.

use anyhow::{Context, Result};

use crate::cli::{Cli, SbomArgs, SbomFormat, SourceArgs};
use crate::exit;
use crate::output;

/// A target made local: a path, or a registry image pulled into a temporary
/// OCI layout that lives as long as this value.
pub(crate) struct Local {
    pub(crate) path: std::path::PathBuf,
    /// The registry reference and the manifest digest it resolved to.
    pub(crate) pulled: Option<(String, String)>,
    _layout: Option<tempfile::TempDir>,
}

/// Makes `target` local: a path as it is, a registry reference pulled once.
/// `offline` refuses registry references.
pub(crate) async fn localize(target: &str, args: &SourceArgs, offline: bool) -> Result<Local> {
    let is_path = std::path::Path::new(target).exists();
    if is_path || !crate::registry::looks_like_reference(target) {
        return Ok(Local {
            path: target.into(),
            pulled: None,
            _layout: None,
        });
    }
    if offline {
        anyhow::bail!(
            "{target} is not a local path, and --offline forbids pulling it from a registry"
        );
    }
    let layout = tempfile::tempdir().context("cannot create a temporary folder for the pull")?;
    let pull = crate::registry::Pull {
        reference: target,
        insecure: args.insecure,
        username: args.username.clone(),
        password: args.password.clone(),
        platform: args.platform.clone(),
    };
    let digest = crate::registry::pull_to_layout(&pull, layout.path()).await?;
    Ok(Local {
        path: layout.path().to_owned(),
        pulled: Some((target.to_owned(), digest)),
        _layout: Some(layout),
    })
}

/// The inventory sources' options from the command line.
pub(crate) fn source_options(cli: &Cli, args: &SourceArgs) -> vigia_inventory::source::Options {
    let cache = if args.no_cache {
        None
    } else {
        crate::db::data_dir(cli)
            .ok()
            .map(|d| vigia_inventory::cache::LayerCache::new(d.join("cache").join("layers")))
    };
    vigia_inventory::source::Options {
        platform: args.platform.clone(),
        cache,
        limits: vigia_inventory::Limits {
            max_inflated_bytes: args.max_inflate,
            max_file_bytes: args.max_file_size,
            ..Default::default()
        },
        visitor: None,
    }
}

/// Builds the inventory of a local target, named as the user named it.
pub(crate) async fn inventory_of(
    cli: &Cli,
    target: &str,
    local: &Local,
    args: &SourceArgs,
) -> Result<vigia_inventory::Inventory> {
    let opts = source_options(cli, args);
    let path = local.path.clone();
    let mut inv = tokio::task::spawn_blocking(move || vigia_inventory::inventory(&path, &opts))
        .await
        .context("the inventory thread failed")?
        .with_context(|| format!("cannot inventory {target}"))?;
    if let Some((reference, digest)) = &local.pulled {
        reference.clone_into(&mut inv.target);
        if let Some(image) = &mut inv.image {
            image.manifest_digest = Some(digest.clone());
        }
    }
    Ok(inv)
}

pub(crate) async fn run(cli: &Cli, args: &SbomArgs) -> Result<u8> {
    let target_str = args.target.display().to_string();
    let local = localize(&target_str, &args.source, false).await?;
    let inv = inventory_of(cli, &target_str, &local, &args.source).await?;
    for w in &inv.status.warnings {
        let at = w.line.map(|l| format!(":{l}")).unwrap_or_default();
        output::warning(&format!("{}{at}: {}", w.path, w.message));
    }
    let now = output::now_rfc3339();
    let version = env!("CARGO_PKG_VERSION");
    let text = match args.format {
        SbomFormat::Json => serde_json::to_string_pretty(&inv)?,
        SbomFormat::Cyclonedx => {
            serde_json::to_string_pretty(&vigia_report::cyclonedx(&inv, &now, version))?
        }
        SbomFormat::Spdx => serde_json::to_string_pretty(&vigia_report::spdx(&inv, &now, version))?,
        SbomFormat::Table => table(&inv),
    };
    output::write_to(args.output.as_deref(), &text)?;
    Ok(exit::OK)
}

fn table(inv: &vigia_inventory::Inventory) -> String {
    let mut out = String::new();
    if let Some(os) = &inv.os {
        out.push_str(&format!(
            "OS: {} ({})\n",
            os.pretty_name.as_deref().unwrap_or(&os.id),
            os.coverage
        ));
    }
    out.push_str(&format!(
        "{:<8} {:<40} {:<32} {}\n",
        "TYPE", "NAME", "VERSION", "PATH"
    ));
    for p in &inv.packages {
        out.push_str(&format!(
            "{:<8} {:<40} {:<32} {}\n",
            p.kind, p.name, p.version, p.path
        ));
    }
    out.push_str(&format!("\n{} packages\n", inv.packages.len()));
    out
}
