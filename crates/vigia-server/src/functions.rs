//! Function packages with a manifest, in the spirit of a Lambda function
//! and its layers: `NAME.zip` in a watched folder, and beside it
//! `NAME.function.json`:
//!
//! ```json
//! {"functionName": "orders-api", "runtime": "python3.11",
//!  "architectures": ["arm64"],
//!  "layers": ["layers/common.zip", {"path": "layers/otel.zip", "name": "otel", "version": 3}]}
//! ```
//!
//! Every member is optional. Layer paths are relative to the manifest's
//! folder; a layer zip is part of the functions that name it (its packages
//! are theirs, marked with the layer), never a function of its own. The
//! runtime is Lambda's identifier (`python3.12`, `nodejs20.x`, `java17`),
//! reported in Inspector's form (`PYTHON_3_12`, `NODEJS_20_X`, `JAVA_17`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// A function layer named by a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Its zip.
    pub path: PathBuf,
    /// Its name (default: the zip's name without `.zip`).
    pub name: String,
    /// Its version (default 1).
    pub version: u64,
}

impl Layer {
    /// How findings name it: `vigia:layer/NAME:VERSION`.
    #[must_use]
    pub fn arn(&self) -> String {
        format!(
            "{}{}:{}",
            vigia_scan::LAYER_ARN_PREFIX,
            self.name,
            self.version
        )
    }
}

/// What a function's manifest says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The function's name (default: the zip's name).
    pub function_name: Option<String>,
    /// Inspector's runtime (`PYTHON_3_12`), from Lambda's identifier.
    pub runtime: Option<String>,
    /// `x86_64`, `arm64`.
    pub architectures: Vec<String>,
    /// Its layers, in order (at most 5, as Lambda allows).
    pub layers: Vec<Layer>,
}

/// The manifest of a function zip: `NAME.function.json` beside `NAME.zip`.
#[must_use]
pub fn manifest_path(zip: &Path) -> PathBuf {
    let name = zip
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".zip")
        .or_else(|| name.strip_suffix(".ZIP"))
        .unwrap_or(&name);
    zip.with_file_name(format!("{stem}.function.json"))
}

/// Inspector's runtime for Lambda's identifier: `python3.12` →
/// `PYTHON_3_12`, `nodejs20.x` → `NODEJS_20_X`, `java8.al2` →
/// `JAVA_8_AL2`, `go1.x` → `GO_1_X`, `dotnet8` → `DOTNET_8`,
/// `dotnetcore3.1` → `DOTNETCORE_3_1`, `ruby3.3` → `RUBY_3_3`; OS-only
/// runtimes (`provided.al2023`) and unknown names are `UNSUPPORTED`.
#[must_use]
pub fn runtime(lambda: &str) -> String {
    let lower = lambda.trim().to_ascii_lowercase();
    let families = [
        "python",
        "nodejs",
        "java",
        "go",
        "dotnetcore",
        "dotnet",
        "ruby",
    ];
    let Some(family) = families.iter().find(|f| lower.starts_with(**f)) else {
        return "UNSUPPORTED".to_owned();
    };
    let rest = &lower[family.len()..];
    if rest.is_empty()
        || !rest.starts_with(|c: char| c.is_ascii_digit())
        || !rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
    {
        return "UNSUPPORTED".to_owned();
    }
    format!(
        "{}_{}",
        family.to_ascii_uppercase(),
        rest.replace('.', "_").to_ascii_uppercase()
    )
}

fn string(v: &Value, key: &str) -> Result<Option<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(format!("{key} must be a non-empty string")),
    }
}

/// Reads the manifest of `zip`, if it has one.
///
/// # Errors
/// A manifest that is unreadable or malformed, or names a layer that is
/// not a zip in (or under) the manifest's folder, said with its path.
pub fn read(zip: &Path) -> Result<Option<Manifest>, String> {
    let path = manifest_path(zip);
    if !path.is_file() {
        return Ok(None);
    }
    let shown = path.display();
    let meta = fs_err::metadata(&path).map_err(|e| format!("{shown}: {e}"))?;
    if meta.len() > 1 << 20 {
        return Err(format!(
            "{shown}: a manifest of {} bytes is too large (1 MiB at most)",
            meta.len()
        ));
    }
    let text = fs_err::read_to_string(&path).map_err(|e| format!("{shown}: {e}"))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{shown}: not JSON: {e}"))?;
    let known = ["functionName", "runtime", "architectures", "layers"];
    if let Some(k) = v
        .as_object()
        .ok_or_else(|| format!("{shown}: must be a JSON object"))?
        .keys()
        .find(|k| !known.contains(&k.as_str()))
    {
        return Err(format!(
            "{shown}: unknown member `{k}` (known: {})",
            known.join(", ")
        ));
    }
    let err = |e: String| format!("{shown}: {e}");
    let architectures = match v.get("architectures") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .filter(|s| matches!(*s, "x86_64" | "arm64"))
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{shown}: architectures are x86_64 or arm64"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(format!("{shown}: architectures must be a list")),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let root = fs_err::canonicalize(dir).map_err(|e| format!("{shown}: {e}"))?;
    let mut layers = Vec::new();
    for (i, l) in v
        .get("layers")
        .map(|l| {
            l.as_array()
                .cloned()
                .ok_or_else(|| format!("{shown}: layers must be a list"))
        })
        .transpose()?
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let (rel, name, version) = match l {
            Value::String(s) => (s.clone(), None, 1),
            Value::Object(_) => (
                string(l, "path")
                    .map_err(err)?
                    .ok_or_else(|| format!("{shown}: layer {i} needs a path"))?,
                string(l, "name").map_err(err)?,
                match l.get("version") {
                    None | Some(Value::Null) => 1,
                    Some(n) => n.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                        format!("{shown}: layer {i}: version must be a positive integer")
                    })?,
                },
            ),
            _ => {
                return Err(format!(
                    "{shown}: layer {i} must be a path or {{path, name?, version?}}"
                ));
            }
        };
        // Layers live beside the function: a path that leaves its folder
        // is refused rather than read.
        let full = fs_err::canonicalize(dir.join(&rel))
            .map_err(|e| format!("{shown}: layer {rel}: {e}"))?;
        if !full.starts_with(&root) || !full.is_file() {
            return Err(format!(
                "{shown}: layer {rel} must be a zip file in the manifest's folder or under it"
            ));
        }
        let name = name.unwrap_or_else(|| {
            full.file_name()
                .map(|n| n.to_string_lossy().trim_end_matches(".zip").to_owned())
                .unwrap_or_default()
        });
        layers.push(Layer {
            path: full,
            name,
            version,
        });
    }
    if layers.len() > 5 {
        return Err(format!(
            "{shown}: {} layers; a function has at most 5",
            layers.len()
        ));
    }
    Ok(Some(Manifest {
        function_name: string(&v, "functionName").map_err(err)?,
        runtime: string(&v, "runtime").map_err(err)?.map(|r| runtime(&r)),
        architectures,
        layers,
    }))
}

/// The layer zips the manifests in `dir` name: not functions themselves.
#[must_use]
pub fn layers_in(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let Ok(entries) = fs_err::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(stem) = name.strip_suffix(".function.json")
            && let Ok(Some(m)) = read(&p.with_file_name(format!("{stem}.zip")))
        {
            out.extend(m.layers.into_iter().map(|l| l.path));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_runtimes_in_inspector_form() {
        for (lambda, inspector) in [
            ("python3.12", "PYTHON_3_12"),
            ("python3.9", "PYTHON_3_9"),
            ("nodejs20.x", "NODEJS_20_X"),
            ("nodejs", "UNSUPPORTED"),
            ("java8.al2", "JAVA_8_AL2"),
            ("java17", "JAVA_17"),
            ("go1.x", "GO_1_X"),
            ("dotnet8", "DOTNET_8"),
            ("dotnetcore3.1", "DOTNETCORE_3_1"),
            ("ruby3.2", "RUBY_3_2"),
            ("provided.al2023", "UNSUPPORTED"),
            ("cobol", "UNSUPPORTED"),
            ("python3.12; rm -rf", "UNSUPPORTED"),
        ] {
            assert_eq!(runtime(lambda), inspector, "{lambda}");
        }
    }

    #[test]
    fn manifests_name_layers_beside_the_function() {
        let dir = tempfile::tempdir().unwrap();
        let d = &dir.path().join("functions");
        fs_err::create_dir_all(d.join("layers")).unwrap();
        fs_err::write(dir.path().join("outside.zip"), b"zip").unwrap();
        fs_err::write(d.join("api.zip"), b"zip").unwrap();
        fs_err::write(d.join("layers/common.zip"), b"zip").unwrap();
        fs_err::write(d.join("layers/otel.zip"), b"zip").unwrap();
        assert_eq!(read(&d.join("api.zip")), Ok(None));
        fs_err::write(
            d.join("api.function.json"),
            r#"{"functionName": "orders-api", "runtime": "python3.11", "architectures": ["arm64"],
                "layers": ["layers/common.zip", {"path": "layers/otel.zip", "name": "otel", "version": 3}]}"#,
        )
        .unwrap();
        let m = read(&d.join("api.zip")).unwrap().unwrap();
        assert_eq!(m.function_name.as_deref(), Some("orders-api"));
        assert_eq!(m.runtime.as_deref(), Some("PYTHON_3_11"));
        assert_eq!(m.architectures, ["arm64"]);
        let arns: Vec<String> = m.layers.iter().map(Layer::arn).collect();
        assert_eq!(arns, ["vigia:layer/common:1", "vigia:layer/otel:3"]);
        let layers = layers_in(d);
        assert_eq!(layers.len(), 2);
        assert!(layers.contains(&fs_err::canonicalize(d.join("layers/common.zip")).unwrap()));
        // Outside the folder, missing, or malformed: said, with the path.
        for (bad, says) in [
            (
                r#"{"layers": ["../outside.zip"]}"#,
                "must be a zip file in the manifest's folder",
            ),
            (
                r#"{"layers": ["layers/none.zip"]}"#,
                "layer layers/none.zip",
            ),
            (r#"{"layers": [{"name": "x"}]}"#, "needs a path"),
            (r#"{"runtime": 3}"#, "runtime must be"),
            (r#"{"handler": "x"}"#, "unknown member `handler`"),
            (r#"{"architectures": ["mips"]}"#, "x86_64 or arm64"),
            ("[1,", "not JSON"),
        ] {
            fs_err::write(d.join("api.function.json"), bad).unwrap();
            let e = read(&d.join("api.zip")).unwrap_err();
            assert!(
                e.contains("api.function.json") && e.contains(says),
                "{bad}: {e}"
            );
        }
    }
}
