//! The operating system: `/etc/os-release` (or `/usr/lib/os-release`),
//! `/etc/alpine-release`, `/etc/debian_version`.

use crate::OsInfo;
use crate::fsview::FsView;

pub(super) fn wants(path: &str) -> bool {
    matches!(
        path,
        "/etc/os-release"
            | "/usr/lib/os-release"
            | "/etc/alpine-release"
            | "/etc/debian_version"
            | "/etc/redhat-release"
    )
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    v.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
        .unwrap_or(v)
        .to_owned()
}

/// Detects the OS and the OSV ecosystem its packages belong to.
#[must_use]
pub fn detect(view: &FsView) -> Option<OsInfo> {
    let release = view
        .read("/etc/os-release")
        .or_else(|| view.read("/usr/lib/os-release"));
    let mut info = OsInfo::default();
    if let Some(f) = release {
        for line in String::from_utf8_lossy(&f.data).lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            match k.trim() {
                "ID" => info.id = unquote(v),
                "VERSION_ID" => info.version_id = unquote(v),
                "PRETTY_NAME" => info.pretty_name = Some(unquote(v)),
                "VERSION_CODENAME" => info.codename = Some(unquote(v)),
                _ => {}
            }
        }
    }
    if let Some(f) = view.read("/etc/alpine-release") {
        info.id = "alpine".into();
        String::from_utf8_lossy(&f.data)
            .trim()
            .clone_into(&mut info.version_id);
    }
    if info.id.is_empty()
        && let Some(f) = view.read("/etc/debian_version")
    {
        info.id = "debian".into();
        let v = String::from_utf8_lossy(&f.data).trim().to_owned();
        v.split('.')
            .next()
            .unwrap_or_default()
            .clone_into(&mut info.version_id);
    }
    if info.id.is_empty() {
        return None;
    }
    classify(&mut info);
    Some(info)
}

/// Sets the OSV ecosystem and the coverage note of an OS from its `ID` and
/// `VERSION_ID` (used for filesystems and for SBOMs that name their distro).
pub fn classify(info: &mut OsInfo) {
    info.osv_ecosystem = match info.id.as_str() {
        // Debian's OSV releases are the major version (`Debian:12`).
        "debian" => info
            .version_id
            .split('.')
            .next()
            .filter(|v| !v.is_empty())
            .map(|v| format!("Debian:{v}")),
        // Alpine's are `v<major>.<minor>`.
        "alpine" => {
            let mut parts = info.version_id.split('.');
            match (parts.next(), parts.next()) {
                (Some(a), Some(b)) => Some(format!("Alpine:v{a}.{b}")),
                _ => None,
            }
        }
        "ubuntu" => Some(format!("Ubuntu:{}", info.version_id)),
        // Red Hat's OSV ecosystem names products (`Red Hat:enterprise_linux:9::baseos`);
        // which product a package belongs to is not in the rpm database.
        "rhel" | "rocky" | "almalinux" | "centos" | "fedora" => None,
        _ => None,
    };
    info.coverage = match &info.osv_ecosystem {
        Some(eco) => format!("covered: packages match {eco} advisories"),
        None => format!(
            "not covered: Vigia does not match {} {} packages yet; their vulnerabilities will not be reported",
            info.id, info.version_id
        ),
    };
}
