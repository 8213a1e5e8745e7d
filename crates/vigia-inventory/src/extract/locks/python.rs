//! Python: `requirements*.txt` pins, `poetry.lock` and `uv.lock`, `Pipfile.lock`.

use serde_json::Value;

use super::{file_name, pkg};
use crate::extract::{Ctx, Extractor, Found, json_or_warn, purl, toml_or_warn};
use crate::{Package, Warning};

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

/// `requirements.txt`, `requirements-dev.txt`, `requirements/prod.txt`: exact pins only.
pub(crate) struct Requirements;

impl Extractor for Requirements {
    fn name(&self) -> &'static str {
        "python/requirements"
    }
    fn version(&self) -> u32 {
        3
    }
    fn wants(&self, path: &str) -> bool {
        let f = file_name(path);
        // Every name pip users give them: `requirements.txt`,
        // `requirements-dev.txt`, `dev-requirements.txt`, `requirements/*.txt`.
        (f.contains("requirements") || path.contains("/requirements/")) && is_txt(f)
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let mut unpinned = Vec::new();
        for (n, line) in String::from_utf8_lossy(data).lines().enumerate() {
            let line = line.split(" #").next().unwrap_or_default().trim();
            let line = line.trim_end_matches('\\').trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(included) = included_file(line) {
                // Another file's requirements: read when its own name says
                // it holds them, named here either way.
                found.warnings.push(Warning {
                    path: path.to_owned(),
                    line: Some(n + 1),
                    message: format!(
                        "includes `{included}`: its pins are read only when that file is itself named like a requirements file"
                    ),
                    unread: None,
                });
                continue;
            }
            if line.starts_with('-') {
                continue;
            }
            // Options after a requirement (`--hash=…`) are pip's, not PEP 508's.
            let spec = line.split(" -").next().unwrap_or_default().trim();
            match pinned(spec) {
                Some(Pin::Exact(name, version)) => {
                    found
                        .packages
                        .push(pypi(&name, &version, path, self.name()));
                }
                Some(Pin::Loose(name)) => unpinned.push(name),
                None => {}
            }
        }
        if !unpinned.is_empty() {
            found.warnings.push(Warning {
                path: path.to_owned(),
                line: None,
                message: format!(
                    "{} requirement(s) not pinned to one version (`==`) were not matched: {}",
                    unpinned.len(),
                    unpinned.join(", ")
                ),
                unread: None,
            });
        }
        found
    }
}

/// The file a `-r FILE` / `--requirement FILE` (or `-c`, constraints) line names.
fn included_file(line: &str) -> Option<&str> {
    let rest = ["--requirement", "--constraint", "-r", "-c"]
        .iter()
        .find_map(|o| line.strip_prefix(o))?;
    let file = rest.trim_start_matches('=').trim();
    (!file.is_empty() && rest.len() > file.len()).then_some(file)
}

/// What one requirement pins.
enum Pin {
    /// `name==version` (or `===`): its name as written, its version.
    Exact(String, String),
    /// A requirement with no single version (`>=`, `~=`, none, a URL).
    Loose(String),
}

/// A PEP 508 requirement read with `pep508_rs` (spaces around the
/// operator, extras, markers, the `name (==1.0)` form); `None` for a line
/// that is not one (pip's own syntax: a path, an editable).
fn pinned(spec: &str) -> Option<Pin> {
    use pep508_rs::pep440_rs::Operator;
    // The name as the file writes it, which reports show; matching
    // normalizes it.
    let written: String = spec
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    // Not a name (PEP 508: it ends with a letter or digit). pep508_rs 0.9
    // panics on such a name followed by more text (`a_ ==1`), so it is
    // refused before the crate sees it.
    if written.ends_with(['.', '_', '-']) {
        return None;
    }
    // Its extras and markers say nothing of the version, and the crate
    // panics on some malformed extras too (`a[b_ ]`): both are left out
    // before it reads the rest.
    let spec = spec.split(';').next().unwrap_or_default();
    let spec = match (spec.find('['), spec.find(']')) {
        (Some(open), Some(close)) if open < close => {
            format!("{}{}", &spec[..open], &spec[close + 1..])
        }
        (None, None) => spec.to_owned(),
        _ => return None,
    };
    let req = spec
        .parse::<pep508_rs::Requirement<pep508_rs::VerbatimUrl>>()
        .ok()?;
    let name = if written.is_empty() {
        req.name.to_string()
    } else {
        written
    };
    if let Some(pep508_rs::VersionOrUrl::VersionSpecifier(specs)) = &req.version_or_url
        && let [one] = &specs[..]
        && matches!(one.operator(), Operator::Equal | Operator::ExactEqual)
    {
        return Some(Pin::Exact(name, one.version().to_string()));
    }
    Some(Pin::Loose(name))
}

/// `poetry.lock` and `uv.lock`: `[[package]]` tables with name and version.
pub(crate) struct PythonTomlLock;

impl Extractor for PythonTomlLock {
    fn name(&self) -> &'static str {
        "python/toml-lock"
    }
    fn version(&self) -> u32 {
        3
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
        if doc.get("package").is_some_and(|p| !p.is_array()) {
            crate::extract::malformed(&mut found, path, "`package` is not a list of tables");
        }
        for p in doc
            .get("package")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
        {
            // uv marks the project itself (and workspace members) as editable or virtual.
            let source = p.get("source").and_then(|s| s.as_table());
            if source.is_some_and(|s| s.contains_key("editable") || s.contains_key("virtual")) {
                continue;
            }
            let (Some(name), Some(version)) = (
                p.get("name").and_then(|v| v.as_str()),
                p.get("version").and_then(|v| v.as_str()),
            ) else {
                let what = p.get("name").and_then(|v| v.as_str()).unwrap_or("?");
                crate::extract::malformed(
                    &mut found,
                    path,
                    format!("package `{what}` has no name or version"),
                );
                continue;
            };
            // Poetry 1.x: `category = "dev"`; Poetry 2: `groups = ["dev"]`
            // (a package also in `main` is not only for development).
            let category_dev = p.get("category").and_then(|c| c.as_str()) == Some("dev");
            let groups: Vec<&str> = p
                .get("groups")
                .and_then(|g| g.as_array())
                .into_iter()
                .flatten()
                .filter_map(|g| g.as_str())
                .collect();
            let groups_dev = !groups.is_empty() && !groups.contains(&"main");
            let mut pkg = pypi(name, version, path, self.name());
            pkg.dev = category_dev || groups_dev;
            found.packages.push(pkg);
        }
        found
    }
}

/// `Pipfile.lock`: `default` and `develop` sections, versions as `==x`.
pub(crate) struct PipfileLock;

impl Extractor for PipfileLock {
    fn name(&self) -> &'static str {
        "python/pipfile-lock"
    }
    fn version(&self) -> u32 {
        3
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
        if !doc.is_object()
            || ["default", "develop"]
                .iter()
                .any(|s| doc.get(*s).is_some_and(|v| !v.is_object()))
        {
            crate::extract::malformed(
                &mut found,
                path,
                "not a Pipfile.lock: `default` and `develop` are not tables of packages",
            );
        }
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
                    let mut pkg = pypi(name, v, path, self.name());
                    pkg.dev = section == "develop";
                    found.packages.push(pkg);
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::locks::tests::{pairs, run};

    #[test]
    fn requirements_keep_exact_pins_only() {
        let got = run(
            &Requirements,
            "/app/requirements.txt",
            "# deps\nFlask==2.0.1\nrequests[socks]==2.25.1 ; python_version > '3'\nidna===2.10 \\\n    --hash=sha256:abc\n",
        );
        assert_eq!(
            got,
            pairs(&[("Flask", "2.0.1"), ("requests", "2.25.1"), ("idna", "2.10")])
        );
    }

    #[test]
    fn names_pep_508_refuses_are_not_read_and_never_panic() {
        for line in [
            "a_ ==1",
            "a_==1",
            "a. (==1)",
            "-x ==1",
            "a-\t==1",
            "a[b_ ]==1 ]",
            "a[b==1",
        ] {
            let found =
                Requirements.extract("/r/requirements.txt", line.as_bytes(), &Ctx::default());
            assert!(found.packages.is_empty(), "{line}");
        }
    }

    #[test]
    fn requirements_read_as_pep_508_writes_them() {
        let text = "Jinja2 == 2.11.2\nMarkupSafe== 1.1.1\nclick[extra] == 7.0\nitsdangerous (==1.1.0)\nWerkzeug === 0.15.3 ; python_version >= '3'\nsix==1.15.0 --hash=sha256:abc\npytz>=2020\ncertifi\n-r deps/common.txt\n--constraint=c.txt\n./local/pkg\n";
        let found = Requirements.extract("/app/requirements.txt", text.as_bytes(), &Ctx::default());
        let got: Vec<(&str, &str)> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("Jinja2", "2.11.2"),
                ("MarkupSafe", "1.1.1"),
                ("click", "7.0"),
                ("itsdangerous", "1.1.0"),
                ("Werkzeug", "0.15.3"),
                ("six", "1.15.0")
            ]
        );
        let said: Vec<&str> = found.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(said.len(), 3, "{said:?}");
        assert!(
            said[0].starts_with("includes `deps/common.txt`"),
            "{said:?}"
        );
        assert!(said[1].starts_with("includes `c.txt`"), "{said:?}");
        assert!(
            said[2].contains("2 requirement(s) not pinned") && said[2].ends_with("pytz, certifi"),
            "{said:?}"
        );
    }

    #[test]
    fn every_requirements_file_name_pip_users_use() {
        for path in [
            "/app/requirements.txt",
            "/app/requirements-dev.txt",
            "/app/dev-requirements.txt",
            "/app/requirements_test.txt",
            "/app/requirements/prod.txt",
            "/app/requirements/base.txt",
        ] {
            assert!(Requirements.wants(path), "{path}");
        }
        for path in [
            "/app/requirements.in",
            "/app/README.txt",
            "/app/notes/prod.txt",
        ] {
            assert!(!Requirements.wants(path), "{path}");
        }
    }

    #[test]
    fn development_dependencies_are_marked() {
        let poetry2 = "[[package]]\nname = \"pytest\"\nversion = \"8.0.0\"\ngroups = [\"dev\"]\n\n[[package]]\nname = \"click\"\nversion = \"8.1.7\"\ngroups = [\"main\", \"dev\"]\n\n[[package]]\nname = \"black\"\nversion = \"24.1.0\"\ncategory = \"dev\"\n";
        let found = PythonTomlLock.extract("/p/poetry.lock", poetry2.as_bytes(), &Ctx::default());
        let dev: Vec<(&str, bool)> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.dev))
            .collect();
        assert_eq!(dev, [("pytest", true), ("click", false), ("black", true)]);
        let pipfile = r#"{"default": {"flask": {"version": "==2.0.1"}}, "develop": {"pytest": {"version": "==7.0.0"}}}"#;
        let found = PipfileLock.extract("/p/Pipfile.lock", pipfile.as_bytes(), &Ctx::default());
        let dev: Vec<(&str, bool)> = found
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.dev))
            .collect();
        assert_eq!(dev, [("flask", false), ("pytest", true)]);
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
}
