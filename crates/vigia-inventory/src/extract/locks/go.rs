//! Go: `go.mod`.

use super::{file_name, pkg};
use crate::extract::{Ctx, Extractor, Found, purl};

/// `go.mod`: required modules (the module itself excluded).
pub(crate) struct GoMod;

impl Extractor for GoMod {
    fn name(&self) -> &'static str {
        "go/go-mod"
    }
    fn version(&self) -> u32 {
        2
    }
    fn wants(&self, path: &str) -> bool {
        file_name(path) == "go.mod" && !path.contains("/vendor/")
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let mut requires: Vec<(String, String)> = Vec::new();
        let mut replacements: Vec<(ModuleAt, ModuleAt)> = Vec::new();
        let mut strays = 0usize;
        // go.mod's grammar is a few directives, each on a line or in a
        // `(` block; no maintained crate reads it with `replace`, so it is
        // read here.
        let mut block: Option<String> = None;
        for line in String::from_utf8_lossy(data).lines() {
            let line = line.split("//").next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let (directive, spec) = match &block {
                Some(_) if line == ")" => {
                    block = None;
                    continue;
                }
                Some(d) => (d.clone(), line),
                None => {
                    let (d, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                    if !DIRECTIVES.contains(&d) {
                        strays += 1;
                        continue;
                    }
                    if rest.trim() == "(" {
                        block = Some(d.to_owned());
                        continue;
                    }
                    (d.to_owned(), rest.trim())
                }
            };
            match directive.as_str() {
                "require" => {
                    let mut parts = spec.split_whitespace();
                    if let (Some(m), Some(v)) = (parts.next(), parts.next()) {
                        requires.push((m.to_owned(), v.to_owned()));
                    } else {
                        strays += 1;
                    }
                }
                "replace" => match spec.split_once("=>") {
                    Some((from, to)) => {
                        let mut f = from.split_whitespace();
                        let mut t = to.split_whitespace();
                        match (f.next(), t.next()) {
                            (Some(fm), Some(tm)) => replacements.push((
                                (fm.to_owned(), f.next().map(str::to_owned)),
                                (tm.to_owned(), t.next().map(str::to_owned)),
                            )),
                            _ => strays += 1,
                        }
                    }
                    None => strays += 1,
                },
                _ => {}
            }
        }
        if strays > 0 {
            crate::extract::malformed(
                &mut found,
                path,
                format!("{strays} line(s) are not go.mod directives"),
            );
        }
        for (module, version) in requires {
            // A replacement for this version, or for every version, wins.
            let replaced = replacements
                .iter()
                .rev()
                .find(|((m, v), _)| *m == module && v.as_ref().is_none_or(|v| *v == version));
            let (module, version) = match replaced {
                None => (module, version),
                Some((_, (to, Some(v)))) => (to.clone(), v.clone()),
                // A folder of the build's own: no published version to match.
                Some((_, (to, None))) => {
                    found.warnings.push(crate::Warning {
                        path: path.to_owned(),
                        line: None,
                        message: format!(
                            "{module} {version} is replaced by the folder {to}: not matched"
                        ),
                        unread: None,
                    });
                    continue;
                }
            };
            let (ns, name) = module.rsplit_once('/').unwrap_or(("", &module));
            found.packages.push(pkg(
                "golang",
                &module,
                &version,
                purl("golang", Some(ns), name, &version, &[]),
                path,
                self.name(),
            ));
        }
        found
    }
}

/// A module and its version, if named: what a `replace` replaces (any
/// version when none), and what replaces it (a folder has no version).
type ModuleAt = (String, Option<String>);

/// go.mod's directives (<https://go.dev/ref/mod#go-mod-file-grammar>).
const DIRECTIVES: &[&str] = &[
    "module",
    "go",
    "toolchain",
    "godebug",
    "require",
    "replace",
    "exclude",
    "retract",
    "tool",
    "ignore",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Found {
        GoMod.extract("/src/go.mod", text.as_bytes(), &Ctx::default())
    }

    #[test]
    fn replacements_decide_what_is_built() {
        let found = read(
            "module example.com/app\n\ngo 1.22\n\nrequire (\n\tgithub.com/microcosm-cc/bluemonday v1.0.4\n\tgolang.org/x/text v0.3.0 // indirect\n\texample.com/local v1.0.0\n)\n\nreplace github.com/microcosm-cc/bluemonday v1.0.4 => github.com/microcosm-cc/bluemonday v1.0.20\nreplace (\n\tgolang.org/x/text => golang.org/x/text v0.3.8\n\texample.com/local => ../local\n)\n",
        );
        let got: Vec<(&str, &str)> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("github.com/microcosm-cc/bluemonday", "v1.0.20"),
                ("golang.org/x/text", "v0.3.8")
            ]
        );
        assert!(
            found
                .warnings
                .iter()
                .any(|w| w.message.contains("replaced by the folder ../local")),
            "{:?}",
            found.warnings
        );
        // A replacement of another version leaves the requirement as it is.
        let found =
            read("module m\nrequire a.io/b v1.0.0\nreplace a.io/b v0.9.0 => a.io/b v1.1.0\n");
        assert_eq!(found.packages[0].version, "v1.0.0");
    }

    #[test]
    fn a_file_that_is_not_go_mod_is_unread() {
        let found = read("\u{7f}ELF garbage\nnot go\n");
        assert!(
            found
                .warnings
                .iter()
                .any(|w| w.unread == Some(crate::Unread::Inventory)),
            "{:?}",
            found.warnings
        );
    }
}
