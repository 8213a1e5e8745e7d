//! Making a target local: a path as it is, a registry image pulled once into a
//! temporary OCI layout that the inventory then reads like any other.

use crate::registry::{self, Pull};
use crate::{Error, RegistryCredentials, Result};

/// A target made local: a path, or a registry image pulled into a temporary
/// OCI layout that lives as long as this value.
#[derive(Debug)]
pub struct Local {
    /// Where to read it.
    pub path: std::path::PathBuf,
    /// The registry reference and the manifest digest it resolved to.
    pub pulled: Option<(String, String)>,
    _layout: Option<tempfile::TempDir>,
}

/// How a registry image is fetched.
#[derive(Default)]
pub(crate) struct Fetch<'a> {
    pub platform: Option<&'a str>,
    /// Refuse registry references.
    pub offline: bool,
    /// See [`Pull::max_bytes`].
    pub max_bytes: Option<u64>,
    /// See [`Pull::skip_cached`].
    pub skip_cached: Option<vigia_inventory::cache::LayerCache>,
}

/// Makes `target` local.
pub(crate) async fn localize(
    target: &str,
    credentials: &RegistryCredentials,
    fetch: Fetch<'_>,
) -> Result<Local> {
    let Fetch {
        platform,
        offline,
        max_bytes,
        skip_cached,
    } = fetch;
    let is_path = std::path::Path::new(target).exists();
    if is_path || !registry::looks_like_reference(target) {
        return Ok(Local {
            path: target.into(),
            pulled: None,
            _layout: None,
        });
    }
    if offline {
        return Err(Error::request(format!(
            "{target} is not a local path, and --offline forbids pulling it from a registry"
        )));
    }
    let layout = tempfile::tempdir().map_err(|source| Error::File {
        what: "cannot create a temporary folder for the pull of",
        path: target.into(),
        source,
    })?;
    let pull = Pull {
        reference: target,
        insecure: credentials.insecure,
        username: credentials.username.clone(),
        password: credentials.password.clone(),
        platform: platform.map(str::to_owned),
        max_bytes,
        skip_cached,
    };
    let digest = registry::pull_to_layout(&pull, layout.path()).await?;
    Ok(Local {
        path: layout.path().to_owned(),
        pulled: Some((target.to_owned(), digest)),
        _layout: Some(layout),
    })
}
