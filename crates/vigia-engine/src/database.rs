//! Opening the published advisory database and reading what scans need of it.

use vigia_store::Store;

use crate::{Config, Error, Result};

/// The embedded database's file name in the data directory.
pub const DB_FILE: &str = "vigia.db";

/// A database older than this (since its last successful check) is stale.
pub const STALE_AFTER_DAYS: i64 = 7;

/// Opens the published database for reading; [`Error::NoDatabase`] when there
/// is none yet, it is empty, or it was written with another schema.
pub async fn open_existing(config: &Config) -> Result<Store> {
    if let Some(url) = &config.database_url {
        return Ok(Store::open(url).await?);
    }
    let path = config.database_file();
    let store = match Store::open_sqlite_existing(&path).await {
        Err(e @ vigia_store::Error::Outdated { .. }) => {
            return Err(Error::NoDatabase {
                message: e.to_string(),
            });
        }
        other => other?,
    };
    let store = store.ok_or_else(|| Error::NoDatabase {
        message: format!(
            "no vulnerability database at {}: run `vigia db update` (or `vigia db update --mirror DIR` offline)",
            path.display()
        ),
    })?;
    if store.source_states().await?.is_empty() {
        store.close().await;
        return Err(Error::NoDatabase {
            message: format!(
                "the vulnerability database at {} is empty: run `vigia db update`",
                path.display()
            ),
        });
    }
    Ok(store)
}

/// The match index of the database `store` is open on, read in one consistent
/// state.
pub async fn load_index(store: &Store) -> Result<vigia_match::Index> {
    let data = store.match_data().await?;
    Ok(vigia_match::Index::build(data))
}

/// What a scan report says about the database it was matched against.
pub async fn database_info(store: &Store) -> Result<vigia_scan::DatabaseInfo> {
    let states = store.source_states().await?;
    let newest = states
        .iter()
        .filter_map(|s| s.checked_at.as_deref())
        .filter_map(vigia_feeds::parse::parse_time)
        .max();
    let age = newest.map(|t| jiff::Timestamp::now().as_second() - t.as_second());
    Ok(vigia_scan::DatabaseInfo {
        updated_at: newest.map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
        stale: age.is_none_or(|a| a > STALE_AFTER_DAYS * 86_400),
        advisories: states
            .iter()
            .filter(|s| s.kind == "osv")
            .map(|s| s.records)
            .sum(),
        lacks: ["kev", "epss", "nvd"]
            .into_iter()
            .filter(|k| !states.iter().any(|s| s.kind == *k && s.records > 0))
            .map(str::to_owned)
            .collect(),
    })
}
