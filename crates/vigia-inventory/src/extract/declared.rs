//! Installed evidence beats declarations.
//!
//! A manifest or lockfile names what a project wants; an installed environment
//! says what is there. When a project has an environment (a Python
//! `site-packages` of its own or the resource's global pip environment, the
//! `node_modules` beside a `package-lock.json`), that environment is the
//! inventory: a package it holds at the declared version is reported once, as
//! installed (Python) or from the lockfile (npm, whose entries carry the
//! install folder), and a package it lacks, or holds at another version, is
//! marked [`Package::declared`]. A project without an environment keeps its
//! lockfile as its inventory, whatever copies of the same packages other
//! projects on the resource have installed.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::Package;
use crate::fsview::FsView;

/// Extractors that read Python declarations (pins and lockfiles).
const PYTHON_DECLARATIONS: &[&str] = &[
    "python/requirements",
    "python/pipfile-lock",
    "python/toml-lock",
];

/// Folders where pip installs for the whole resource (not one project's own
/// virtual environment, and not the distribution's own packages such as
/// Debian's `/usr/lib/python3/dist-packages`, which apt manages).
fn is_global_pip_environment(root: &str) -> bool {
    let python_dir = |s: &str| {
        s.strip_prefix("python")
            .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
    };
    let parts: Vec<&str> = root.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["usr", "local", "lib", py, "site-packages" | "dist-packages"] => python_dir(py),
        ["usr", "lib" | "lib64", py, "site-packages"] => python_dir(py),
        ["opt", _, "lib", py, "site-packages"] => python_dir(py),
        ["root", ".local", "lib", py, "site-packages"] => python_dir(py),
        ["home", _, ".local", "lib", py, "site-packages"] => python_dir(py),
        _ => false,
    }
}

/// The folder an installed distribution's metadata lies in (`…/site-packages`
/// for `…/site-packages/requests-2.31.0.dist-info/METADATA`).
fn environment_of(path: &str) -> &str {
    let mut meta_dir = if path.ends_with(".egg-info") {
        path
    } else {
        path.rsplit_once('/').map_or("", |(d, _)| d)
    };
    // An egg folder: `…/site-packages/foo-1.0-py3.8.egg/EGG-INFO/PKG-INFO`.
    if let Some(egg) = meta_dir.strip_suffix("/EGG-INFO") {
        meta_dir = egg;
    }
    meta_dir.rsplit_once('/').map_or("", |(d, _)| d)
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// Whether `dir` is `project` or inside it.
fn within(dir: &str, project: &str) -> bool {
    dir == project || dir.starts_with(project) && dir.as_bytes().get(project.len()) == Some(&b'/')
}

/// Applies the rule of this module to `packages`, found in `view`.
pub(super) fn reconcile(view: &FsView, packages: &mut Vec<Package>) {
    reconcile_python(packages);
    reconcile_npm(view, packages);
}

fn reconcile_python(packages: &mut Vec<Package>) {
    // Installed distributions: environment folder → (normalised name, version).
    let mut installed: BTreeMap<&str, BTreeSet<(String, String)>> = BTreeMap::new();
    for p in packages.iter().filter(|p| p.found_by == "python/dist-info") {
        installed
            .entry(environment_of(&p.path))
            .or_default()
            .insert((
                vigia_model::normalize_name("PyPI", &p.name),
                p.version.clone(),
            ));
    }
    let mut drop = vec![false; packages.len()];
    let mut declared = vec![false; packages.len()];
    for (i, p) in packages.iter().enumerate() {
        if !PYTHON_DECLARATIONS.contains(&p.found_by.as_str()) {
            continue;
        }
        let project = parent(&p.path);
        // The project's own environments (a virtual environment in it, or
        // packages installed into it with `pip install -t`); else the
        // resource's global pip environments.
        let own: Vec<&BTreeSet<(String, String)>> = installed
            .iter()
            .filter(|(env, _)| within(env, project))
            .map(|(_, set)| set)
            .collect();
        let envs = if own.is_empty() {
            installed
                .iter()
                .filter(|(env, _)| is_global_pip_environment(env))
                .map(|(_, set)| set)
                .collect()
        } else {
            own
        };
        if envs.is_empty() {
            continue;
        }
        let key = (
            vigia_model::normalize_name("PyPI", &p.name),
            p.version.clone(),
        );
        if envs.iter().any(|set| set.contains(&key)) {
            drop[i] = true;
        } else {
            declared[i] = true;
        }
    }
    let mut i = 0;
    packages.retain_mut(|p| {
        let keep = !drop[i];
        p.declared |= declared[i];
        i += 1;
        keep
    });
}

fn reconcile_npm(view: &FsView, packages: &mut Vec<Package>) {
    // Projects with an installed `node_modules`.
    let with_modules: BTreeSet<&str> = view
        .paths()
        .filter_map(|p| p.find("/node_modules/").map(|i| &p[..i]))
        .collect();
    let mut installed_instead = Vec::new();
    for p in packages
        .iter_mut()
        .filter(|p| p.found_by == "javascript/package-lock")
    {
        let Some(dir) = p.install_dir.as_deref() else {
            continue;
        };
        if !with_modules.contains(parent(&p.path)) {
            continue;
        }
        let manifest = format!("{dir}/package.json");
        let Some(current) = view.history(&manifest).and_then(<[_]>::last) else {
            p.declared = true;
            continue;
        };
        let Ok(doc) = serde_json::from_slice::<Value>(&current.data) else {
            continue;
        };
        // Installed without a version: the lockfile's entry stays the record.
        let Some(version) = doc.get("version").and_then(Value::as_str) else {
            continue;
        };
        if version == p.version {
            continue;
        }
        p.declared = true;
        // The lockfile's entry covered this folder, so its `package.json` was
        // not read as a package: the installed version is reported here.
        {
            let mut real = Package::new(
                "npm",
                doc.get("name").and_then(Value::as_str).unwrap_or(&p.name),
                version,
                super::npm_purl(&p.name, version),
                &manifest,
                "javascript/node-modules",
            );
            real.layer.clone_from(&current.layer);
            real.dev = p.dev;
            installed_instead.push(real);
        }
    }
    packages.extend(installed_instead);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_environments_and_metadata_folders() {
        assert!(is_global_pip_environment(
            "/usr/local/lib/python3.11/site-packages"
        ));
        assert!(is_global_pip_environment(
            "/usr/local/lib/python3.11/dist-packages"
        ));
        assert!(is_global_pip_environment(
            "/opt/venv/lib/python3.12/site-packages"
        ));
        assert!(!is_global_pip_environment("/usr/lib/python3/dist-packages"));
        assert!(!is_global_pip_environment(
            "/home/bob/proj/.venv/lib/python3.11/site-packages"
        ));
        assert_eq!(
            environment_of("/usr/lib/python3/dist-packages/six-1.16.0.egg-info"),
            "/usr/lib/python3/dist-packages"
        );
        assert_eq!(
            environment_of("/srv/app/venv/lib/python3.11/site-packages/a-1.0.dist-info/METADATA"),
            "/srv/app/venv/lib/python3.11/site-packages"
        );
        assert_eq!(environment_of("/a-1.0.dist-info/METADATA"), "");
        assert_eq!(
            environment_of("/usr/lib/python3.8/site-packages/foo-1.0-py3.8.egg/EGG-INFO/PKG-INFO"),
            "/usr/lib/python3.8/site-packages"
        );
        assert!(within("/srv/app/venv", "/srv/app"));
        assert!(within("/srv/app", "/srv/app"));
        assert!(!within("/srv/application", "/srv/app"));
        assert!(within("/x", ""));
    }
}
