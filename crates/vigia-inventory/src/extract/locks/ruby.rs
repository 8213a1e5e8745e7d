//! Ruby: `Gemfile.lock` and installed `specifications/*.gemspec`.

use super::{file_name, pkg};
use crate::Warning;
use crate::extract::{Ctx, Extractor, Found, purl};

/// `Gemfile.lock`: the `specs:` of its `GEM` section.
pub(crate) struct GemfileLock;

impl Extractor for GemfileLock {
    fn name(&self) -> &'static str {
        "ruby/gemfile-lock"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        file_name(path) == "Gemfile.lock"
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let mut in_gem = false;
        for line in String::from_utf8_lossy(data).lines() {
            if !line.starts_with(' ') {
                in_gem = line.trim() == "GEM";
                continue;
            }
            // Exactly four spaces: a locked gem (six are its dependencies' ranges).
            if !in_gem || !line.starts_with("    ") || line.starts_with("     ") {
                continue;
            }
            let Some((name, rest)) = line.trim().split_once(" (") else {
                continue;
            };
            // `nokogiri (1.13.0-x86_64-linux)`: the platform is not part of the version.
            let version = rest
                .trim_end_matches(')')
                .split('-')
                .next()
                .unwrap_or_default();
            found.packages.push(pkg(
                "gem",
                name,
                version,
                purl("gem", None, name, version, &[]),
                path,
                self.name(),
            ));
        }
        found
    }
}

/// Installed gems: `specifications/<name>-<version>.gemspec`.
pub(crate) struct Gemspec;

impl Extractor for Gemspec {
    fn name(&self) -> &'static str {
        "ruby/gemspec"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        path.contains("/specifications/") && path.ends_with(".gemspec")
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let text = String::from_utf8_lossy(data);
        let field = |key: &str| {
            text.lines().find_map(|l| {
                let l = l.trim();
                let rest = l
                    .strip_prefix("s.")?
                    .strip_prefix(key)?
                    .trim_start()
                    .strip_prefix('=')?
                    .trim();
                let rest = rest.strip_prefix("Gem::Version.new(").unwrap_or(rest);
                let q = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
                rest[1..].split(q).next().map(str::to_owned)
            })
        };
        match (field("name"), field("version")) {
            (Some(n), Some(v)) => found.packages.push(pkg(
                "gem",
                &n,
                &v,
                purl("gem", None, &n, &v, &[]),
                path,
                self.name(),
            )),
            _ => found.warnings.push(Warning {
                path: path.to_owned(),
                line: None,
                message: "no s.name or s.version; skipped".into(),
                unread: None,
            }),
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::locks::tests::{pairs, run};

    #[test]
    fn ruby_lock_and_gemspec() {
        let lock = "GEM\n  remote: https://rubygems.org/\n  specs:\n    nokogiri (1.13.0-x86_64-linux)\n      racc (~> 1.4)\n    rack (2.2.3)\n\nPLATFORMS\n  x86_64-linux\n";
        assert_eq!(
            run(&GemfileLock, "/r/Gemfile.lock", lock),
            pairs(&[("nokogiri", "1.13.0"), ("rack", "2.2.3")])
        );
        let spec = "Gem::Specification.new do |s|\n  s.name = \"rack\".freeze\n  s.version = \"2.2.3\"\nend\n";
        assert_eq!(
            run(
                &Gemspec,
                "/usr/lib/ruby/gems/3.0.0/specifications/rack-2.2.3.gemspec",
                spec
            ),
            pairs(&[("rack", "2.2.3")])
        );
    }
}
