//! `vigia sbom TARGET`: the package inventory of a resource, as JSON, CycloneDX or SPDX.

use anyhow::Result;
use vigia_engine::{InventoryRequest, Scanner};

use crate::cli::{Cli, SbomArgs, SbomFormat};
use crate::{config, exit, output};

pub(crate) async fn run(cli: &Cli, args: &SbomArgs) -> Result<u8> {
    let scanner = Scanner::new(config::engine(cli, Some(&args.source))?)?;
    let request = InventoryRequest {
        target: args.target.display().to_string(),
        platform: args.source.platform.clone(),
        offline: false,
        registry: None,
        include_declared: args.source.include_declared,
        scope: args.source.scope(),
    };
    let inv = scanner.inventory(&request).await?;
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
    // Names, versions and paths come from the target: escaped before printing.
    vigia_report::printable::render(inv, false, |inv, _| table_drawn(inv))
}

fn table_drawn(inv: &vigia_inventory::Inventory) -> String {
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
