//! The OSV ecosystem a package is matched in.

use vigia_inventory::{OsInfo, Package as InvPackage};

/// The OSV ecosystem a package is matched in, or why it cannot be matched.
pub fn ecosystem_of(pkg: &InvPackage, os: Option<&OsInfo>) -> Result<String, String> {
    let eco = match pkg.kind.as_str() {
        "deb" | "apk" | "rpm" => {
            return match os {
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

/// Whether a package type is an OS distribution's (`deb`, `apk`, `rpm`).
#[must_use]
pub fn is_os(kind: &str) -> bool {
    matches!(kind, "deb" | "apk" | "rpm")
}
