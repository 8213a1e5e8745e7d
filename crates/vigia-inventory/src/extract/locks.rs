//! Lockfiles and manifests with exact versions, one extractor each: Python
//! (`requirements*.txt` pins, `poetry.lock`, `Pipfile.lock`, `uv.lock`), npm
//! `yarn.lock` v1, Ruby (`Gemfile.lock`, `specifications/*.gemspec`), PHP
//! (`composer.lock`, `vendor/composer/installed.json`), .NET (`*.deps.json`,
//! `packages.lock.json`) and Go (`go.mod`).
//!
//! Only exact versions become packages: a range in a manifest says what may be
//! installed, not what is.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Ctx, Extractor, Found, json_or_warn, purl, toml_or_warn};
use crate::{Package, Warning};

fn pkg(kind: &str, name: &str, version: &str, purl: String, path: &str, found_by: &str) -> Package {
    Package::new(kind, name, version, purl, path, found_by)
}

fn pypi(name: &str, version: &str, path: &str, by: &str) -> Package {
    pkg(
        "pypi",
        name,
        version,
        purl(
            "pypi",
            None,
            &vigia_model::normalize_name("PyPI", name),
            version,
            &[],
        ),
        path,
        by,
    )
}

/// Whether a file name ends with `.txt` in any case.
fn is_txt(name: &str) -> bool {
    std::path::Path::new(name)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("txt"))
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `requirements.txt`, `requirements-dev.txt`, `requirements/prod.txt`: exact pins only.
pub(super) struct Requirements;

impl Extractor for Requirements {
    fn name(&self) -> &'static str {
        "python/requirements"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        let f = file_name(path);
        (f.starts_with("requirements") || path.contains("/requirements/")) && is_txt(f)
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        for line in String::from_utf8_lossy(data).lines() {
            let line = line.split(" #").next().unwrap_or_default().trim();
            let line = line.trim_end_matches('\\').trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('-') {
                continue;
            }
            let spec = line.split(';').next().unwrap_or_default().trim();
            let Some((name, version)) = spec.split_once("===").or_else(|| spec.split_once("=="))
            else {
                continue;
            };
            let name = name.split('[').next().unwrap_or_default().trim();
            let version = version.split([',', ' ']).next().unwrap_or_default().trim();
            if name.is_empty() || version.is_empty() || version.contains('*') {
                continue;
            }
            found.packages.push(pypi(name, version, path, self.name()));
        }
        found
    }
}

/// `poetry.lock` and `uv.lock`: `[[package]]` tables with name and version.
pub(super) struct PythonTomlLock;

impl Extractor for PythonTomlLock {
    fn name(&self) -> &'static str {
        "python/toml-lock"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        matches!(file_name(path), "poetry.lock" | "uv.lock")
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let Some(doc) = toml_or_warn::<toml::Table>(path, data, &mut found) else {
            return found;
        };
        for p in doc
            .get("package")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
        {
            let (Some(name), Some(version)) = (
                p.get("name").and_then(|v| v.as_str()),
                p.get("version").and_then(|v| v.as_str()),
            ) else {
                continue;
            };
            // uv marks the project itself (and workspace members) as editable or virtual.
            let source = p.get("source").and_then(|s| s.as_table());
            if source.is_some_and(|s| s.contains_key("editable") || s.contains_key("virtual")) {
                continue;
            }
            found.packages.push(pypi(name, version, path, self.name()));
        }
        found
    }
}

/// `Pipfile.lock`: `default` and `develop` sections, versions as `==x`.
pub(super) struct PipfileLock;

impl Extractor for PipfileLock {
    fn name(&self) -> &'static str {
        "python/pipfile-lock"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        file_name(path) == "Pipfile.lock"
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let Some(doc) = json_or_warn::<Value>(path, data, &mut found) else {
            return found;
        };
        for section in ["default", "develop"] {
            for (name, entry) in doc
                .get(section)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let Some(v) = entry
                    .get("version")
                    .and_then(Value::as_str)
                    .and_then(|v| v.strip_prefix("=="))
                {
                    found.packages.push(pypi(name, v, path, self.name()));
                }
            }
        }
        found
    }
}

/// `yarn.lock`: v1 (the classic format) here, berry (YAML) in `yaml_locks`.
pub(super) struct YarnLock;

impl Extractor for YarnLock {
    fn name(&self) -> &'static str {
        "javascript/yarn-lock"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        file_name(path) == "yarn.lock" && !path.contains("/node_modules/")
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let text = String::from_utf8_lossy(data);
        if text.contains("__metadata:") {
            return super::yaml_locks::yarn_berry(path, data, self.name());
        }
        let mut name: Option<String> = None;
        let mut seen = BTreeSet::new();
        for line in text.lines() {
            if !line.starts_with(' ') && line.ends_with(':') && !line.starts_with('#') {
                // `"@scope/a@^1.0.0", "@scope/a@^1.1.0":` → `@scope/a`
                let first = line
                    .trim_end_matches(':')
                    .split(", ")
                    .next()
                    .unwrap_or_default()
                    .trim_matches('"');
                let at = first
                    .get(1..)
                    .and_then(|rest| rest.find('@'))
                    .map(|i| i + 1);
                name = at.map(|i| first[..i].to_owned()).filter(|n| !n.is_empty());
            } else if let (Some(n), Some(v)) = (&name, line.trim().strip_prefix("version ")) {
                let v = v.trim_matches('"');
                if seen.insert((n.clone(), v.to_owned())) {
                    found
                        .packages
                        .push(pkg("npm", n, v, super::npm_purl(n, v), path, self.name()));
                }
            }
        }
        found
    }
}

/// `Gemfile.lock`: the `specs:` of its `GEM` section.
pub(super) struct GemfileLock;

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
pub(super) struct Gemspec;

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
            }),
        }
        found
    }
}

/// `composer.lock` and `vendor/composer/installed.json`.
pub(super) struct Composer;

impl Extractor for Composer {
    fn name(&self) -> &'static str {
        "php/composer"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        file_name(path) == "composer.lock" || path.ends_with("/vendor/composer/installed.json")
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let Some(doc) = json_or_warn::<Value>(path, data, &mut found) else {
            return found;
        };
        let lists: Vec<&Value> = match &doc {
            Value::Array(_) => vec![&doc],
            _ => ["packages", "packages-dev"]
                .iter()
                .filter_map(|k| doc.get(*k))
                .collect(),
        };
        for p in lists.into_iter().filter_map(Value::as_array).flatten() {
            let (Some(name), Some(version)) = (
                p.get("name").and_then(Value::as_str),
                p.get("version").and_then(Value::as_str),
            ) else {
                continue;
            };
            let (ns, base) = name.split_once('/').unwrap_or(("", name));
            found.packages.push(pkg(
                "composer",
                name,
                version,
                purl("composer", Some(ns), base, version, &[]),
                path,
                self.name(),
            ));
        }
        found
    }
}

/// .NET: `*.deps.json` (libraries of type `package`) and `packages.lock.json`.
pub(super) struct DotNet;

impl Extractor for DotNet {
    fn name(&self) -> &'static str {
        "dotnet/deps"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        path.ends_with(".deps.json") || file_name(path) == "packages.lock.json"
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let Some(doc) = json_or_warn::<Value>(path, data, &mut found) else {
            return found;
        };
        let mut seen = BTreeSet::new();
        let mut add = |name: &str, version: &str, found: &mut Found| {
            if seen.insert((name.to_owned(), version.to_owned())) {
                found.packages.push(pkg(
                    "nuget",
                    name,
                    version,
                    purl("nuget", None, name, version, &[]),
                    path,
                    "dotnet/deps",
                ));
            }
        };
        if let Some(libs) = doc.get("libraries").and_then(Value::as_object) {
            for (key, lib) in libs {
                if lib.get("type").and_then(Value::as_str) != Some("package") {
                    continue;
                }
                if let Some((n, v)) = key.split_once('/') {
                    add(n, v, &mut found);
                }
            }
        } else if let Some(frameworks) = doc.get("dependencies").and_then(Value::as_object) {
            for deps in frameworks.values().filter_map(Value::as_object) {
                for (n, d) in deps {
                    if d.get("type").and_then(Value::as_str) == Some("Project") {
                        continue;
                    }
                    if let Some(v) = d.get("resolved").and_then(Value::as_str) {
                        add(n, v, &mut found);
                    }
                }
            }
        }
        found
    }
}

/// `go.mod`: required modules (the module itself excluded).
pub(super) struct GoMod;

impl Extractor for GoMod {
    fn name(&self) -> &'static str {
        "go/go-mod"
    }
    fn version(&self) -> u32 {
        1
    }
    fn wants(&self, path: &str) -> bool {
        file_name(path) == "go.mod" && !path.contains("/vendor/")
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let mut in_require = false;
        for line in String::from_utf8_lossy(data).lines() {
            let line = line.split("//").next().unwrap_or_default().trim();
            let spec = if in_require {
                if line == ")" {
                    in_require = false;
                    continue;
                }
                line
            } else if let Some(rest) = line.strip_prefix("require") {
                let rest = rest.trim();
                if rest == "(" {
                    in_require = true;
                    continue;
                }
                rest
            } else {
                continue;
            };
            let mut parts = spec.split_whitespace();
            let (Some(module), Some(version)) = (parts.next(), parts.next()) else {
                continue;
            };
            let (ns, name) = module.rsplit_once('/').unwrap_or(("", module));
            found.packages.push(pkg(
                "golang",
                module,
                version,
                purl("golang", Some(ns), name, version, &[]),
                path,
                self.name(),
            ));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(ex: &dyn Extractor, path: &str, text: &str) -> Vec<(String, String)> {
        assert!(ex.wants(path), "{} should want {path}", ex.name());
        let found = ex.extract(path, text.as_bytes(), &Ctx::default());
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
        found
            .packages
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn requirements_keep_exact_pins_only() {
        let got = run(
            &Requirements,
            "/app/requirements.txt",
            "# deps\nFlask==2.0.1\nrequests[socks]==2.25.1 ; python_version > '3'\nurllib3>=1.26\n-r other.txt\nidna===2.10 \\\n    --hash=sha256:abc\n",
        );
        assert_eq!(
            got,
            pairs(&[("Flask", "2.0.1"), ("requests", "2.25.1"), ("idna", "2.10")])
        );
    }

    #[test]
    fn poetry_uv_and_pipfile() {
        let poetry = "[[package]]\nname = \"jinja2\"\nversion = \"2.11.2\"\n\n[[package]]\nname = \"markupsafe\"\nversion = \"2.0.1\"\n";
        assert_eq!(
            run(&PythonTomlLock, "/p/poetry.lock", poetry),
            pairs(&[("jinja2", "2.11.2"), ("markupsafe", "2.0.1")])
        );
        let uv = "version = 1\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\n[[package]]\nname = \"click\"\nversion = \"8.0.1\"\nsource = { registry = \"https://pypi.org/simple\" }\n";
        assert_eq!(
            run(&PythonTomlLock, "/p/uv.lock", uv),
            pairs(&[("click", "8.0.1")])
        );
        let pipfile = r#"{"default": {"pyyaml": {"version": "==5.3.1"}}, "develop": {"pytest": {"version": "==7.0.0"}, "local": {"path": "."}}}"#;
        assert_eq!(
            run(&PipfileLock, "/p/Pipfile.lock", pipfile),
            pairs(&[("pyyaml", "5.3.1"), ("pytest", "7.0.0")])
        );
    }

    #[test]
    fn yarn_v1_with_scopes_and_merged_ranges() {
        let y = "# yarn lockfile v1\n\n\"@babel/core@^7.0.0\", \"@babel/core@^7.1.0\":\n  version \"7.1.2\"\n  resolved \"x\"\n\nlodash@^4.17.15:\n  version \"4.17.21\"\n";
        assert_eq!(
            run(&YarnLock, "/w/yarn.lock", y),
            pairs(&[("@babel/core", "7.1.2"), ("lodash", "4.17.21")])
        );
    }

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

    #[test]
    fn composer_dotnet_and_go() {
        let lock = r#"{"packages": [{"name": "monolog/monolog", "version": "2.3.5"}], "packages-dev": [{"name": "phpunit/phpunit", "version": "9.5.10"}]}"#;
        assert_eq!(
            run(&Composer, "/php/composer.lock", lock),
            pairs(&[("monolog/monolog", "2.3.5"), ("phpunit/phpunit", "9.5.10")])
        );
        let installed = r#"{"packages": [{"name": "guzzlehttp/guzzle", "version": "7.4.0"}]}"#;
        assert_eq!(
            run(&Composer, "/php/vendor/composer/installed.json", installed),
            pairs(&[("guzzlehttp/guzzle", "7.4.0")])
        );
        let deps = r#"{"libraries": {"App/1.0.0": {"type": "project"}, "Newtonsoft.Json/13.0.1": {"type": "package"}}}"#;
        assert_eq!(
            run(&DotNet, "/app/App.deps.json", deps),
            pairs(&[("Newtonsoft.Json", "13.0.1")])
        );
        let plock = r#"{"version": 1, "dependencies": {"net6.0": {"Serilog": {"type": "Direct", "resolved": "2.10.0"}, "Lib": {"type": "Project"}}, "net7.0": {"Serilog": {"type": "Direct", "resolved": "2.10.0"}}}}"#;
        assert_eq!(
            run(&DotNet, "/app/packages.lock.json", plock),
            pairs(&[("Serilog", "2.10.0")])
        );
        let gomod = "module example.com/app\n\ngo 1.21\n\nrequire golang.org/x/text v0.3.7\nrequire (\n\tgithub.com/gin-gonic/gin v1.7.0 // indirect\n\tgolang.org/x/crypto v0.0.0-20210921155107-089bfa567519\n)\n";
        assert_eq!(
            run(&GoMod, "/src/go.mod", gomod),
            pairs(&[
                ("golang.org/x/text", "v0.3.7"),
                ("github.com/gin-gonic/gin", "v1.7.0"),
                ("golang.org/x/crypto", "v0.0.0-20210921155107-089bfa567519")
            ])
        );
    }
}
