//! The OSV ecosystem a package is matched in.

use vigia_inventory::{OsInfo, Package as InvPackage};

/// The OSV ecosystem a package is matched in, or why it cannot be matched.
pub fn ecosystem_of(pkg: &InvPackage, os: Option<&OsInfo>) -> Result<String, String> {
    let eco = match pkg.kind.as_str() {
        "deb" | "apk" | "rpm" => {
            return match os {
                // A distribution's advisories are about its own package
                // type: an apk package on a Debian root (or in a Debian
                // SBOM) is not matched to Debian's.
                Some(os)
                    if os
                        .osv_ecosystem
                        .as_deref()
                        .is_some_and(|e| package_type_of(e) != pkg.kind) =>
                {
                    Err(format!(
                        "a {} package cannot be matched to {}'s advisories, which are about its {} packages",
                        pkg.kind,
                        os.osv_ecosystem.as_deref().unwrap_or_default(),
                        os.osv_ecosystem.as_deref().map_or("", package_type_of)
                    ))
                }
                Some(os) => os.osv_ecosystem.clone().ok_or_else(|| os.coverage.clone()),
                None => Err(format!(
                    "no OS release was found, so {} packages cannot be matched to a distro's advisories",
                    pkg.kind
                )),
            };
        }
        other => match vigia_model::Ecosystem::of_package_type(other) {
            Some(e) => e.osv_name(),
            None => return Err(format!("Vigia has no advisories for {other} packages")),
        },
    };
    Ok(eco.to_owned())
}

/// The package type a distribution's OSV ecosystem (`Debian:12`,
/// `Alpine:v3.18`, `Red Hat:…`, `SUSE:…`) is about.
fn package_type_of(ecosystem: &str) -> &'static str {
    match ecosystem.split(':').next().unwrap_or_default() {
        "Debian" | "Ubuntu" => "deb",
        "Alpine" => "apk",
        _ => "rpm",
    }
}

/// Whether a package type is an OS distribution's (`deb`, `apk`, `rpm`).
#[must_use]
pub fn is_os(kind: &str) -> bool {
    matches!(kind, "deb" | "apk" | "rpm")
}
