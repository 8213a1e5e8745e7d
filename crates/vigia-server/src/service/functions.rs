//! Functions with a manifest (see `crate::functions`): the manifest's
//! name, runtime and architectures fill the function's details, and its
//! layers' packages join the function's inventory, each marked with its
//! layer, before the inventory is matched and stored (so that a rematch
//! evaluates the layers too, without reading them again).

use std::path::Path;

use vigia_engine::{InventoryRequest, ScanOutcome};
use vigia_scan::FindingType;

use super::{Service, ServiceError};

/// Why a function could not be evaluated with its layers: a coverage
/// reason and the message.
pub(super) type Refusal = (&'static str, String);

impl Service {
    /// `outcome` (the scan of the function's own zip) with its manifest
    /// applied and its layers evaluated; as it is when there is no
    /// manifest.
    pub(super) async fn with_layers(
        &self,
        zip: &Path,
        mut outcome: ScanOutcome,
    ) -> Result<Result<ScanOutcome, Refusal>, ServiceError> {
        let manifest = match crate::functions::read(zip) {
            Ok(Some(m)) => m,
            Ok(None) => {
                if let Some(d) = &mut outcome.report.scan.resource.details.aws_lambda_function {
                    d.vigia = Some(vigia_scan::FunctionExtras {
                        runtime_source: "GUESSED".into(),
                    });
                }
                return Ok(Ok(outcome));
            }
            Err(message) => return Ok(Err(("UNSUPPORTED_CONFIG_FILE", message))),
        };
        let mut resource = outcome.report.scan.resource.clone();
        if let Some(d) = &mut resource.details.aws_lambda_function {
            if let Some(name) = &manifest.function_name {
                d.function_name.clone_from(name);
            }
            if let Some(runtime) = &manifest.runtime {
                d.runtime.clone_from(runtime);
            }
            d.vigia = Some(vigia_scan::FunctionExtras {
                runtime_source: if manifest.runtime.is_some() {
                    "MANIFEST"
                } else {
                    "GUESSED"
                }
                .into(),
            });
            d.architectures.clone_from(&manifest.architectures);
            d.layers = manifest
                .layers
                .iter()
                .map(crate::functions::Layer::arn)
                .collect();
        }
        let mut inventory = outcome.inventory.clone();
        for layer in &manifest.layers {
            let request = InventoryRequest {
                target: layer.path.display().to_string(),
                platform: None,
                offline: true,
                registry: None,
                include_declared: false,
                scope: vigia_inventory::source::scope::Scope::default(),
            };
            let mut layer_inventory = match self.scanner.inventory(&request).await {
                Ok(i) => i,
                Err(e) => {
                    return Ok(Err((
                        "INTERNAL_ERROR",
                        format!("layer {}: {}", layer.arn(), vigia_engine::error_chain(&e)),
                    )));
                }
            };
            // What the function runs with, as for its own code.
            layer_inventory.select(vigia_inventory::Selection::default());
            let arn = layer.arn();
            for mut p in layer_inventory.packages {
                // Lambda unpacks layers into /opt.
                p.path = format!("/opt/{}", p.path.trim_start_matches('/'));
                p.layer = Some(arn.clone());
                inventory.packages.push(p);
            }
        }
        let evaluated = self
            .scanner
            .evaluate(inventory, resource.clone(), jiff::Timestamp::now())
            .await?;
        // The package findings of code and layers together; the rest (the
        // code's secrets) as the scan found them.
        let mut findings: Vec<_> = outcome
            .report
            .findings
            .into_iter()
            .filter(|f| f.kind != FindingType::PackageVulnerability)
            .collect();
        findings.extend(evaluated.report.findings);
        vigia_scan::sort_findings(&mut findings);
        outcome.report.findings = findings;
        outcome.report.scan.resource = resource;
        // What was evaluated is code and layers together too (coverage
        // says so, not the code's alone).
        let scan = &mut outcome.report.scan;
        scan.coverage = evaluated.report.scan.coverage;
        scan.not_evaluated = evaluated.report.scan.not_evaluated;
        for n in evaluated.report.scan.not_scanned {
            if !scan.not_scanned.contains(&n) {
                scan.not_scanned.push(n);
            }
        }
        outcome.inventory = evaluated.inventory;
        Ok(Ok(outcome))
    }
}
