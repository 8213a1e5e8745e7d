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
        1
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
        if let Some(go) = lines.next().and_then(|v| v.strip_prefix("go")) {
            // `go1.21.0`, possibly with experiments: `go1.21.0 X:boringcrypto`.
            let v = go.split_whitespace().next().unwrap_or(go);
            found.packages.push(golang("stdlib", v, binary));
        }
        let mut deps: Vec<Package> = Vec::new();
        for line in lines {
            let cols: Vec<&str> = line.split('\t').collect();
            match cols.as_slice() {
                ["dep", module, version, ..] => deps.push(golang(module, version, binary)),
                // A replacement applies to the dependency listed just before it.
                ["=>", module, version, ..] if deps.pop().is_some() => {
                    deps.push(golang(module, version, binary));
                }
                _ => {}
            }
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
        assert!(
            sniff(&fake_binary("go1.21.8", "")[..70]).is_none(),
            "truncated build info is not a panic"
        );
    }
}
