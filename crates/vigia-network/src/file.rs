//! Loading a network model: a folder of AWS CLI outputs, or a Vigia
//! network file (YAML or JSON; its schema is `docs/network.schema.json`).

use std::path::Path;

use crate::model::Network;

/// What went wrong loading a network model.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A folder of AWS CLI outputs that could not be read.
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
    /// A network file that could not be read.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// The largest network file read (a model of thousands of hosts fits).
const MAX_FILE_BYTES: u64 = 64 << 20;

/// Loads `path`: a folder is read as AWS CLI outputs, a file as a Vigia
/// network file.
pub fn load(path: &Path) -> Result<Network, LoadError> {
    if path.is_dir() {
        return Ok(crate::aws::read_folder(path)?);
    }
    let name = path.display().to_string();
    let bad = |message: String| LoadError::File {
        path: name.clone(),
        message,
    };
    let size = fs_err::metadata(path)
        .map_err(|e| bad(e.to_string()))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(bad(format!(
            "{size} bytes; a network file is at most {MAX_FILE_BYTES}"
        )));
    }
    let text = fs_err::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    parse(&name, &text)
}

/// Parses a Vigia network file's text; JSON or YAML.
pub fn parse(name: &str, text: &str) -> Result<Network, LoadError> {
    let bad = |message: String| LoadError::File {
        path: name.to_owned(),
        message,
    };
    let value = if text.trim_start().starts_with('{') {
        serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| bad(format!("invalid JSON: {e}")))?
    } else {
        let docs = vigia_inventory::yaml::load(text).map_err(|e| {
            bad(match e.line {
                Some(l) => format!("line {l}: {}", e.message),
                None => e.message,
            })
        })?;
        docs.first()
            .map_or(serde_json::Value::Null, vigia_inventory::yaml::to_json)
    };
    let net: Network =
        serde_json::from_value(value).map_err(|e| bad(format!("not a Vigia network file: {e}")))?;
    validate(&net).map_err(bad)?;
    Ok(net)
}

/// References that must resolve: a model that names a subnet or group it
/// does not define is a mistake worth stopping for.
fn validate(net: &Network) -> Result<(), String> {
    for h in &net.hosts {
        for i in &h.interfaces {
            if net.subnet(&i.subnet).is_none() {
                return Err(format!(
                    "host {}: interface {} is in subnet {:?}, which is not defined",
                    h.id, i.id, i.subnet
                ));
            }
            if let Some(g) = i.security_groups.iter().find(|g| net.group(g).is_none()) {
                return Err(format!(
                    "host {}: interface {} names security group {g:?}, which is not defined",
                    h.id, i.id
                ));
            }
        }
    }
    Ok(())
}

/// The JSON Schema of the Vigia network file.
#[must_use]
pub fn schema() -> String {
    let schema = schemars::schema_for!(Network);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
