//! Lockfiles and manifests with exact versions, one extractor each: Python
//! (`requirements*.txt` pins, `poetry.lock`, `Pipfile.lock`, `uv.lock`), npm
//! `yarn.lock` v1, Ruby (`Gemfile.lock`, `specifications/*.gemspec`), PHP
//! (`composer.lock`, `vendor/composer/installed.json`), .NET (`*.deps.json`,
//! `packages.lock.json`) and Go (`go.mod`).
//!
//! Only exact versions become packages: a range in a manifest says what may be
//! installed, not what is.

mod dotnet;
mod go;
mod php;
mod python;
mod ruby;
mod yarn;

use crate::Package;

pub(super) use dotnet::DotNet;
pub(super) use go::GoMod;
pub(super) use php::Composer;
pub(super) use python::{PipfileLock, PythonTomlLock, Requirements};
pub(super) use ruby::{GemfileLock, Gemspec};
pub(super) use yarn::YarnLock;

fn pkg(kind: &str, name: &str, version: &str, purl: String, path: &str, found_by: &str) -> Package {
    Package::new(kind, name, version, purl, path, found_by)
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{Ctx, Extractor};

    pub(super) fn run(ex: &dyn Extractor, path: &str, text: &str) -> Vec<(String, String)> {
        assert!(ex.wants(path), "{} should want {path}", ex.name());
        let found = ex.extract(path, text.as_bytes(), &Ctx::default());
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
        found
            .packages
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect()
    }

    pub(super) fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
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
