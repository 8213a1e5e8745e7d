//! `vigia sbom TARGET`: the package inventory of a resource, as JSON, CycloneDX or SPDX.

use std::io::Write;

use anyhow::{Context, Result};

use crate::cli::{Cli, SbomArgs, SbomFormat};
use crate::exit;
use crate::output;

pub(crate) async fn run(cli: &Cli, args: &SbomArgs) -> Result<u8> {
    let cache = if args.no_cache {
        None
    } else {
        crate::db::data_dir(cli)
            .ok()
            .map(|d| vigia_inventory::cache::LayerCache::new(d.join("cache").join("layers")))
    };
    let limits = vigia_inventory::Limits {
        max_inflated_bytes: args.max_inflate,
        max_file_bytes: args.max_file_size,
        ..Default::default()
    };
    let opts = vigia_inventory::source::Options {
        platform: args.platform.clone(),
        cache,
        limits,
    };
    let target_str = args.target.display().to_string();
    let inv = if crate::registry::looks_like_reference(&target_str) {
        let layout =
            tempfile::tempdir().context("cannot create a temporary folder for the pull")?;
        let pull = crate::registry::Pull {
            reference: &target_str,
            insecure: args.insecure,
            username: args.username.clone(),
            password: args.password.clone(),
            platform: args.platform.clone(),
        };
        let digest = crate::registry::pull_to_layout(&pull, layout.path()).await?;
        let path = layout.path().to_owned();
        let mut inv = tokio::task::spawn_blocking(move || vigia_inventory::inventory(&path, &opts))
            .await
            .context("the inventory thread failed")?
            .with_context(|| format!("cannot inventory {target_str}"))?;
        inv.target.clone_from(&target_str);
        if let Some(image) = &mut inv.image {
            image.manifest_digest = Some(digest);
        }
        inv
    } else {
        let target = args.target.clone();
        tokio::task::spawn_blocking(move || vigia_inventory::inventory(&target, &opts))
            .await
            .context("the inventory thread failed")?
            .with_context(|| format!("cannot inventory {}", args.target.display()))?
    };
    for w in &inv.status.warnings {
        let at = w.line.map(|l| format!(":{l}")).unwrap_or_default();
        output::warning(&format!("{}{at}: {}", w.path, w.message));
    }
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let version = env!("CARGO_PKG_VERSION");
    let text = match args.format {
        SbomFormat::Json => serde_json::to_string_pretty(&inv)?,
        SbomFormat::Cyclonedx => {
            serde_json::to_string_pretty(&vigia_report::cyclonedx(&inv, &now, version))?
        }
        SbomFormat::Spdx => serde_json::to_string_pretty(&vigia_report::spdx(&inv, &now, version))?,
        SbomFormat::Table => table(&inv),
    };
    match &args.output {
        Some(path) => {
            let mut f = fs_err::File::create(path)?;
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
        }
        None => output::print(&format!("{text}\n")),
    }
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
