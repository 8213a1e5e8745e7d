//! Inspector's names for things: account ID, advisory sources and their
//! pages, package managers, version parts, platform labels.

use vigia_inventory::{OsInfo, Package as InvPackage};

/// The account ID written into findings: Vigia runs outside AWS accounts.
pub const ACCOUNT_ID: &str = "000000000000";

/// Inspector's name for an advisory source, from a record ID.
#[must_use]
pub fn source_name(record_id: &str) -> &'static str {
    let prefix = record_id.split('-').next().unwrap_or_default();
    match prefix {
        "GHSA" => "GITHUB",
        "PYSEC" => "PYPA",
        "RUSTSEC" => "RUSTSEC",
        "GO" => "GO_VULNDB",
        "DEBIAN" => "DEBIAN_CVE",
        "DSA" => "DEBIAN_DSA",
        "DLA" => "DEBIAN_DLA",
        "ALPINE" => "ALPINE_SECDB",
        "USN" | "UBUNTU" => "UBUNTU_CVE",
        "RHSA" | "RHBA" | "RHEA" => "REDHAT_CVE",
        "SUSE" | "openSUSE" => "SUSE_CVE",
        "MAL" => "OSV_MALICIOUS",
        "CVE" => "NVD",
        _ => "OSV",
    }
}

/// The page of an advisory.
#[must_use]
pub fn source_url(record_id: &str) -> String {
    let cve = vigia_model::osv::embedded_cve(record_id);
    match source_name(record_id) {
        "GITHUB" => format!("https://github.com/advisories/{record_id}"),
        "RUSTSEC" => format!("https://rustsec.org/advisories/{record_id}.html"),
        "DEBIAN_CVE" | "DEBIAN_DSA" | "DEBIAN_DLA" => format!(
            "https://security-tracker.debian.org/tracker/{}",
            cve.unwrap_or(record_id)
        ),
        "UBUNTU_CVE" if cve.is_some() => {
            format!("https://ubuntu.com/security/{}", cve.unwrap_or(record_id))
        }
        "NVD" => format!("https://nvd.nist.gov/vuln/detail/{record_id}"),
        _ => format!("https://osv.dev/vulnerability/{record_id}"),
    }
}

/// Inspector's `packageManager` for an extractor.
pub(crate) fn package_manager(p: &InvPackage) -> Option<&'static str> {
    Some(match p.found_by.as_str() {
        f if f.starts_with("os/") => "OS",
        "python/dist-info" => "PYTHONPKG",
        "python/requirements" => "PIP",
        "python/toml-lock" => "POETRY",
        "python/pipfile-lock" => "PIPENV",
        "javascript/package-lock" | "javascript/pnpm-lock" => "NPM",
        "javascript/node-modules" => "NODEPKG",
        "javascript/yarn-lock" => "YARN",
        "rust/cargo-lock" | "rust/auditable-binary" => "CARGO",
        "go/binary" => "GOBINARY",
        "go/go-mod" => "GOMOD",
        "java/archive" => "JAR",
        "java/pom-xml" => "POM",
        "ruby/gemfile-lock" => "BUNDLER",
        "ruby/gemspec" => "GEMSPEC",
        "php/composer" => "COMPOSER",
        "dotnet/deps" if p.path.ends_with(".deps.json") => "DOTNET_CORE",
        "dotnet/deps" => "NUGET",
        _ => return None,
    })
}

/// Splits a deb or rpm version into (epoch, version, release) as Inspector reports them.
pub(crate) fn split_version(kind: &str, v: &str) -> (Option<i64>, String, Option<String>) {
    if !matches!(kind, "deb" | "rpm") {
        return (None, v.to_owned(), None);
    }
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) if e.chars().all(|c| c.is_ascii_digit()) && !e.is_empty() => {
            (e.parse().ok(), r)
        }
        _ => (Some(0), v),
    };
    match rest.rsplit_once('-') {
        Some((up, rel)) => (epoch, up.to_owned(), Some(rel.to_owned())),
        None => (epoch, rest.to_owned(), None),
    }
}

pub(crate) fn upgrade_hint(kind: &str) -> Option<&'static str> {
    match kind {
        "deb" => Some("apt-get install --only-upgrade"),
        "apk" => Some("apk upgrade"),
        "rpm" => Some("dnf upgrade"),
        _ => None,
    }
}

/// A platform label from an OS: `DEBIAN_12`, `ALPINE_3_18_9`.
#[must_use]
pub fn platform_label(os: &OsInfo) -> String {
    format!("{}_{}", os.id, os.version_id)
        .to_ascii_uppercase()
        .replace(['.', '-', ' '], "_")
}

/// How Vigia names a function layer (`vigia:layer/NAME:VERSION`) where
/// Inspector names a Lambda layer by its ARN; a package whose `layer` has
/// this prefix came from that function layer.
pub const LAYER_ARN_PREFIX: &str = "vigia:layer/";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_split_like_inspector() {
        assert_eq!(
            split_version("deb", "1:1.2.13.dfsg-1"),
            (Some(1), "1.2.13.dfsg".into(), Some("1".into()))
        );
        assert_eq!(
            split_version("deb", "2.36-9+deb12u14"),
            (Some(0), "2.36".into(), Some("9+deb12u14".into()))
        );
        assert_eq!(
            split_version("rpm", "2.34-100.el9"),
            (Some(0), "2.34".into(), Some("100.el9".into()))
        );
        assert_eq!(split_version("pypi", "1.0-1"), (None, "1.0-1".into(), None));
        assert_eq!(split_version("deb", "5.2"), (Some(0), "5.2".into(), None));
    }

    #[test]
    fn sources_and_urls() {
        assert_eq!(source_name("GHSA-xxxx-yyyy-zzzz"), "GITHUB");
        assert_eq!(source_name("DEBIAN-CVE-2023-1234"), "DEBIAN_CVE");
        assert_eq!(
            source_url("DEBIAN-CVE-2023-1234"),
            "https://security-tracker.debian.org/tracker/CVE-2023-1234"
        );
        assert_eq!(
            source_url("RUSTSEC-2020-0071"),
            "https://rustsec.org/advisories/RUSTSEC-2020-0071.html"
        );
        assert_eq!(
            source_url("PYSEC-2021-1"),
            "https://osv.dev/vulnerability/PYSEC-2021-1"
        );
    }
}
