//! Go binaries: the build info the Go linker embeds (Go 1.18+): toolchain
//! version (for standard-library advisories), main module and dependencies.
//!
//! Sources hand every executable to [`sniff`], which keeps only the build-info
//! payload (a few kilobytes) under the synthetic path `<binary>#go-buildinfo`;
//! the extractor reads that. The format is written by hand: it is two
//! length-prefixed strings after a 32-byte header (`debug/buildinfo` in Go's
//! standard library), and no maintained Rust crate reads it.

use super::{Ctx, Extractor, Found, purl};
use crate::{Package, Warning};

const MAGIC: &[u8] = b"\xff Go buildinf:";
/// The suffix of the synthetic path that carries a binary's build info.
pub const SUFFIX: &str = "#go-buildinfo";

fn uvarint(data: &[u8], pos: &mut usize) -> Option<usize> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*pos)?;
        *pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return usize::try_from(value).ok();
        }
    }
    None
}

/// If `data` is a Go binary with readable build info, returns the payload to keep:
/// `<go version>\n<module info>`.
#[must_use]
pub fn sniff(data: &[u8]) -> Option<Vec<u8>> {
    // The build info is 16-byte aligned; the magic can also occur elsewhere.
    let finder = memchr::memmem::Finder::new(MAGIC);
    for at in finder.find_iter(data) {
        if at % 16 != 0 {
            continue;
        }
        let flags = *data.get(at + 15)?;
        if flags & 0x2 == 0 {
            // Go before 1.18 stored pointers to the strings; not read yet.
            return Some(b"unsupported: build info from before Go 1.18".to_vec());
        }
        let mut pos = at + 32;
        let vlen = uvarint(data, &mut pos)?;
        let version = data.get(pos..pos.checked_add(vlen)?)?;
        pos += vlen;
        let mlen = uvarint(data, &mut pos)?;
        let mut modinfo = data.get(pos..pos.checked_add(mlen)?)?;
        // Module info is framed by 16-byte sentinels.
        if modinfo.len() >= 32 {
            modinfo = &modinfo[16..modinfo.len() - 16];
        }
        let mut out = version.to_vec();
        out.push(b'\n');
        out.extend_from_slice(modinfo);
        return Some(out);
    }
    None
}

pub(super) struct GoBinary;

/// The version a build's linker flags give its main package
/// (`-ldflags="-X main.version=1.18.1"`, `-X ".../version.Version=28.2.2"`),
/// as a module version (`v1.18.1`): what many projects' builds stamp when Go
/// itself records the main module as `(devel)`.
fn ldflags_version(ldflags: &str) -> Option<String> {
    let mut tokens = ldflags
        .split_whitespace()
        .map(|t| t.trim_matches(|c| matches!(c, '"' | '\'' | '\\')));
    while let Some(t) = tokens.next() {
        if t != "-X" {
            continue;
        }
        let Some((key, value)) = tokens.next().and_then(|a| a.split_once('=')) else {
            continue;
        };
        let var = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
        if !matches!(
            var.as_str(),
            "version" | "gitversion" | "appversion" | "buildversion"
        ) {
            continue;
        }
        let v = value.trim_start_matches('v');
        let (core_text, suffix) = v.split_at(v.find(['-', '+']).unwrap_or(v.len()));
        let core: Vec<&str> = core_text.split('.').collect();
        if core.len() == 3
            && core
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            // A release candidate stays a pre-release; a vendor's build
            // suffix (`-gke.1`, `-dispatcher`) would sort the version below
            // the release it is built from, and is dropped.
            let pre = suffix
                .strip_prefix('-')
                .unwrap_or_default()
                .to_ascii_lowercase();
            let keep = ["rc", "alpha", "beta"].iter().any(|p| pre.starts_with(p));
            let pre_release = &suffix[..suffix.find('+').unwrap_or(suffix.len())];
            return Some(if keep {
                format!("v{core_text}{pre_release}")
            } else {
                format!("v{core_text}")
            });
        }
    }
    None
}

/// The Go toolchain's version as a module version, read as govulncheck reads
/// it (`GoTagToSemver`): the first field only (`go1.21.0 X:boringcrypto` is
/// 1.21.0), missing parts zero (`go1.22` is 1.22.0), `rc`/`beta` releases as
/// pre-releases (`go1.21rc2` is 1.21.0-rc.2), and a vendor's suffix after the
/// release dropped (`go1.22-20231128-RC02` is 1.22.0). `None` for a
/// development toolchain (`devel go1.23-abc123`), which has no release to
/// compare.
fn toolchain_version(tag: &str) -> Option<String> {
    let tag = tag.split_whitespace().next()?;
    let v = tag.strip_prefix("go")?;
    let core_len = v
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(v.len());
    let (core, rest) = v.split_at(core_len);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let mut version = parts.join(".");
    for _ in parts.len()..3 {
        version.push_str(".0");
    }
    for pre in ["rc", "beta"] {
        if let Some(n) = rest.strip_prefix(pre)
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
        {
            version.push_str(&format!("-{pre}.{n}"));
            return Some(version);
        }
    }
    // Nothing, or a vendor's build suffix (`-20231128-RC02`, `-fips`).
    (rest.is_empty() || rest.starts_with('-')).then_some(version)
}

fn golang(module: &str, version: &str, path: &str) -> Package {
    let (ns, name) = module.rsplit_once('/').unwrap_or(("", module));
    Package::new(
        "golang",
        module,
        version,
        purl("golang", Some(ns), name, version, &[]),
        path,
        "go/binary",
    )
}

impl Extractor for GoBinary {
    fn name(&self) -> &'static str {
        "go/binary"
    }
    fn version(&self) -> u32 {
        // 3: the main module (its version stamped, or from the linker flags),
        // and toolchain versions read as govulncheck does.
        3
    }
    fn wants(&self, path: &str) -> bool {
        path.ends_with(SUFFIX)
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let binary = path.strip_suffix(SUFFIX).unwrap_or(path);
        let mut found = Found::default();
        let text = String::from_utf8_lossy(data);
        if let Some(why) = text.strip_prefix("unsupported: ") {
            found.warnings.push(Warning {
                path: binary.to_owned(),
                line: None,
                message: why.to_owned(),
                unread: Some(crate::Unread::Binary),
            });
            return found;
        }
        let mut lines = text.lines();
        if let Some(tag) = lines.next().filter(|t| !t.trim().is_empty()) {
            // A toolchain version nobody can compare is kept as it is: the
            // matcher then names the package as not evaluated.
            let version = toolchain_version(tag).unwrap_or_else(|| tag.trim().to_owned());
            found.packages.push(golang("stdlib", &version, binary));
        }
        let mut deps: Vec<Package> = Vec::new();
        let mut main_module: Option<&str> = None;
        let mut ldflags: Option<String> = None;
        for line in lines {
            let cols: Vec<&str> = line.split('\t').collect();
            match cols.as_slice() {
                // The main module, when the build stamped its version (Go
                // 1.24 stamps the VCS tag; `(devel)` otherwise).
                ["mod", module, version, ..] if !version.is_empty() => {
                    if *version == "(devel)" {
                        main_module = Some(module);
                    }
                    deps.push(golang(module, version, binary));
                }
                ["build", setting] => {
                    if let Some(flags) = setting.strip_prefix("-ldflags=") {
                        ldflags = ldflags_version(flags);
                    }
                }
                ["dep", module, version, ..] => deps.push(golang(module, version, binary)),
                // A replacement applies to the dependency listed just before it.
                ["=>", module, version, ..] if deps.pop().is_some() => {
                    deps.push(golang(module, version, binary));
                }
                _ => {}
            }
        }
        // A main module Go records as `(devel)` takes the version its build's
        // linker flags stamp, when they stamp one (a lower confidence,
        // recorded as the evidence).
        if let (Some(module), Some(version)) = (main_module, ldflags) {
            let mut p = golang(module, &version, binary);
            p.evidence = Some("ldflags".into());
            deps.push(p);
        }
        found
            .packages
            .extend(deps.into_iter().filter(|p| p.version != "(devel)"));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_binary(version: &str, modinfo: &str) -> Vec<u8> {
        let mut data = vec![0u8; 64];
        data.extend_from_slice(MAGIC);
        data.push(8); // pointer size
        data.push(2); // inline strings
        data.extend_from_slice(&[0u8; 16]);
        data.push(u8::try_from(version.len()).unwrap());
        data.extend_from_slice(version.as_bytes());
        let framed = format!("{}{modinfo}{}", "0".repeat(16), "1".repeat(16));
        data.push(u8::try_from(framed.len() & 0x7f).unwrap() | 0x80);
        data.push(u8::try_from(framed.len() >> 7).unwrap());
        data.extend_from_slice(framed.as_bytes());
        data.extend_from_slice(&[0u8; 100]);
        data
    }

    #[test]
    fn main_module_versions_from_linker_flags() {
        assert_eq!(
            ldflags_version("\"-w -s -X main.version=1.18.1 -X main.gitCommit=5e16e50 \""),
            Some("v1.18.1".into())
        );
        assert_eq!(
            ldflags_version(
                " -X \"github.com/docker/cli/cli/version.Version=28.2.2\" -extldflags -static"
            ),
            Some("v28.2.2".into())
        );
        assert_eq!(
            ldflags_version("-X k8s.io/component-base/version.gitVersion=v1.27.16-gke.1"),
            Some("v1.27.16".into())
        );
        assert_eq!(
            ldflags_version("-X main.version=2.0.0-rc.1+abc"),
            Some("v2.0.0-rc.1".into())
        );
        for none in [
            "-s -w",
            "-X main.version=dev",
            "-X main.commit=1.2.3",
            "-X main.version=",
        ] {
            assert_eq!(ldflags_version(none), None, "{none}");
        }
        let info = "path\tgithub.com/anchore/syft/cmd/syft\nmod\tgithub.com/anchore/syft\t(devel)\t\nbuild\t-ldflags=\"-w -X main.version=1.18.1\"\n";
        let payload = sniff(&fake_binary("go1.23.4", info)).unwrap();
        let found = GoBinary.extract(&format!("/syft{SUFFIX}"), &payload, &Ctx::default());
        let main: Vec<(&str, &str, Option<&str>)> = found
            .packages
            .iter()
            .filter(|p| p.name != "stdlib")
            .map(|p| (p.name.as_str(), p.version.as_str(), p.evidence.as_deref()))
            .collect();
        assert_eq!(
            main,
            [("github.com/anchore/syft", "v1.18.1", Some("ldflags"))]
        );
    }

    #[test]
    fn toolchain_versions_read_as_govulncheck_reads_them() {
        for (tag, want) in [
            ("go1.21.8", Some("1.21.8")),
            ("go1.21.0 X:boringcrypto", Some("1.21.0")),
            ("go1.22", Some("1.22.0")),
            ("go1", Some("1.0.0")),
            ("go1.21rc2", Some("1.21.0-rc.2")),
            ("go1.18beta1", Some("1.18.0-beta.1")),
            (
                "go1.22-20231128-RC02 cl/585961232 +f2d1e3b X:boringcrypto",
                Some("1.22.0"),
            ),
            ("go1.20.12-fips", Some("1.20.12")),
            ("devel go1.23-a1b2c3d Tue Jan 2 15:04:05 2024", None),
            ("go1.21.x", None),
            ("gccgo", None),
        ] {
            assert_eq!(toolchain_version(tag).as_deref(), want, "{tag}");
        }
        // A development toolchain keeps its tag, for the matcher to name as
        // not evaluated.
        let payload = sniff(&fake_binary("devel go1.23-a1b2c3d", "")).unwrap();
        let found = GoBinary.extract(&format!("/app{SUFFIX}"), &payload, &Ctx::default());
        assert_eq!(found.packages[0].version, "devel go1.23-a1b2c3d");
    }

    #[test]
    fn build_info_with_deps_and_replacements() {
        let modinfo = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\ndep\tgolang.org/x/text\tv0.3.7\th1:abc\ndep\tgithub.com/old/lib\tv1.0.0\th1:x\n=>\tgithub.com/new/lib\tv1.2.0\th1:y\nbuild\t-compiler=gc\n";
        let payload = sniff(&fake_binary("go1.21.8", modinfo)).unwrap();
        let found = GoBinary.extract(
            &format!("/usr/local/bin/app{SUFFIX}"),
            &payload,
            &Ctx::default(),
        );
        let got: Vec<(String, String, String)> = found
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone(), p.purl.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "stdlib".into(),
                    "1.21.8".into(),
                    "pkg:golang/stdlib@1.21.8".into()
                ),
                (
                    "golang.org/x/text".into(),
                    "v0.3.7".into(),
                    "pkg:golang/golang.org/x/text@v0.3.7".into()
                ),
                (
                    "github.com/new/lib".into(),
                    "v1.2.0".into(),
                    "pkg:golang/github.com/new/lib@v1.2.0".into()
                ),
            ]
        );
        assert!(
            found
                .packages
                .iter()
                .all(|p| p.path == "/usr/local/bin/app")
        );
        assert!(sniff(b"no build info here at all").is_none());
        // The main module is reported when its version is stamped.
        let stamped = "path\tk8s.io/kubernetes/cmd/kubelet\nmod\tk8s.io/kubernetes\tv1.28.4\t\ndep\tgolang.org/x/net\tv0.17.0\th1:a\n";
        let payload = sniff(&fake_binary("go1.21.8", stamped)).unwrap();
        let found = GoBinary.extract(&format!("/kubelet{SUFFIX}"), &payload, &Ctx::default());
        let got: Vec<(&str, &str)> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("stdlib", "1.21.8"),
                ("k8s.io/kubernetes", "v1.28.4"),
                ("golang.org/x/net", "v0.17.0")
            ]
        );
        assert!(
            sniff(&fake_binary("go1.21.8", "")[..70]).is_none(),
            "truncated build info is not a panic"
        );
    }
}
