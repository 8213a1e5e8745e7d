//! Vigia's host agent (`vigia agent`): reads a host's inventory (packages,
//! OS, kernel, listening sockets, network interfaces) and sends it to the
//! service at start, whenever a package database or a watched lockfile
//! changes (inotify, debounced), and on a heartbeat. Once the service has
//! accepted an inventory, only the difference is sent: the packages added
//! and removed since, against the inventory the service named.
//!
//! The protocol ([`Checkin`], [`Accepted`]) is `POST /v1/agent/checkin`
//! with an agent token; the service answers 409 when it does not hold the
//! inventory a difference is against, and the agent sends all of it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vigia_inventory::{Inventory, Package};

/// A request's failure with its causes (reqwest's own message names none
/// of them), its URL left out: the caller names it, without credentials.
fn reason(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The root filesystem could not be read.
    #[error("cannot read the inventory of {root}")]
    Inventory {
        /// The root.
        root: PathBuf,
        /// Why.
        #[source]
        source: vigia_inventory::Error,
    },
    /// No host ID given, and none found.
    #[error("no host ID: {root} has no /etc/machine-id or /etc/hostname; give --host-id")]
    NoHostId {
        /// The root.
        root: PathBuf,
    },
    /// The service could not be reached.
    #[error("cannot reach the service at {url}: {message}")]
    Unreachable {
        /// Where.
        url: String,
        /// Why.
        message: String,
    },
    /// The service refused the check-in.
    #[error("the service refused the check-in ({status}): {message}")]
    Refused {
        /// Its HTTP status.
        status: u16,
        /// What it said.
        message: String,
    },
    /// The package databases could not be watched.
    #[error("cannot watch {path}: {message}")]
    Watch {
        /// What.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// A network interface, as `/sys/class/net` gives it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Interface {
    /// `eth0`.
    pub name: String,
    /// Its hardware address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// `up`, `down`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// A check-in: the host's facts, and its inventory whole or as the
/// difference from the one the service accepted last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkin {
    /// The host's stable ID.
    pub host_id: String,
    /// `vigia agent`'s version.
    pub agent_version: String,
    /// The host's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The running kernel's release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// Network interfaces.
    #[serde(default)]
    pub interfaces: Vec<Interface>,
    /// The whole inventory; or, with `base`, the inventory without its
    /// packages (OS, host facts, status).
    pub inventory: Inventory,
    /// The inventory the difference is against (`Accepted::inventory_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Packages added since `base`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<Package>,
    /// Packages removed since `base`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<Package>,
}

impl Checkin {
    /// The inventory a difference describes, applied to `base` (the
    /// service's copy of the inventory named `base`); the inventory as
    /// sent when whole.
    #[must_use]
    pub fn apply(self, base: Option<&Inventory>) -> Inventory {
        let mut inv = self.inventory;
        if let Some(base) = base {
            let removed: BTreeSet<&Package> = self.removed.iter().collect();
            inv.packages = base
                .packages
                .iter()
                .filter(|p| !removed.contains(p))
                .cloned()
                .chain(self.added)
                .collect();
            inv.packages.sort();
            inv.packages.dedup();
        }
        inv
    }
}

/// The service's answer to a check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// The host's resource ID in findings.
    pub resource_id: String,
    /// The inventory now held: the next difference is against it.
    pub inventory_id: String,
    /// Whether it is queued for evaluation (`false`: it is the one
    /// evaluated already).
    pub queued: bool,
}

fn read_trimmed(path: &Path) -> Option<String> {
    fs_err::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// The host's ID: `/etc/machine-id` (systemd's, stable across reboots),
/// else its host name.
///
/// # Errors
/// Neither exists under `root`.
pub fn host_id(root: &Path) -> Result<String, AgentError> {
    read_trimmed(&root.join("etc/machine-id"))
        .or_else(|| read_trimmed(&root.join("etc/hostname")))
        .ok_or_else(|| AgentError::NoHostId {
            root: root.to_owned(),
        })
}

fn interfaces(root: &Path) -> Vec<Interface> {
    let Ok(entries) = fs_err::read_dir(root.join("sys/class/net")) else {
        return Vec::new();
    };
    let mut out: Vec<Interface> = entries
        .flatten()
        .map(|e| {
            let dir = e.path();
            Interface {
                name: e.file_name().to_string_lossy().into_owned(),
                mac: read_trimmed(&dir.join("address")),
                state: read_trimmed(&dir.join("operstate")),
            }
        })
        .collect();
    out.sort();
    out
}

/// Reads the host under `root` whole.
///
/// # Errors
/// The root cannot be read.
pub fn collect(root: &Path, host_id: &str) -> Result<Checkin, AgentError> {
    let mut inventory =
        vigia_inventory::inventory(root, &vigia_inventory::source::Options::default()).map_err(
            |source| AgentError::Inventory {
                root: root.to_owned(),
                source,
            },
        )?;
    // The live root's socket tables are in /proc, which a filesystem read
    // leaves out.
    if root == Path::new("/")
        && let Some(host) = &mut inventory.host
        && host.sockets.is_none()
    {
        use vigia_inventory::host::{SocketProtocol, parse_table};
        let mut sockets = Vec::new();
        for (file, proto, v6) in [
            ("tcp", SocketProtocol::Tcp, false),
            ("tcp6", SocketProtocol::Tcp, true),
            ("udp", SocketProtocol::Udp, false),
            ("udp6", SocketProtocol::Udp, true),
        ] {
            if let Ok(text) = fs_err::read_to_string(Path::new("/proc/net").join(file)) {
                sockets.extend(parse_table(&text, proto, v6));
            }
        }
        host.sockets = Some(sockets);
    }
    inventory.packages.sort();
    inventory.packages.dedup();
    Ok(Checkin {
        host_id: host_id.to_owned(),
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        hostname: read_trimmed(&root.join("etc/hostname")),
        kernel: read_trimmed(&root.join("proc/sys/kernel/osrelease")),
        interfaces: interfaces(root),
        inventory,
        base: None,
        added: Vec::new(),
        removed: Vec::new(),
    })
}

/// Package databases an agent watches, under a root.
const DATABASES: &[&str] = &[
    "var/lib/dpkg",
    "lib/apk/db",
    "var/lib/rpm",
    "usr/lib/sysimage/rpm",
];

/// Lockfiles and package records whose folders an agent watches too.
const LOCKFILES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "Cargo.lock",
    "go.sum",
    "poetry.lock",
    "Pipfile.lock",
    "uv.lock",
    "requirements.txt",
    "Gemfile.lock",
    "composer.lock",
    "packages.lock.json",
];

/// At most this many folders are watched (inotify watches are a
/// per-user budget the host's own programs share).
pub const MAX_WATCHED: usize = 256;

/// The folders to watch: the package databases under `root`, and the
/// folders of the lockfiles and Python package records the inventory
/// found (where `pip install` adds a `.dist-info`).
#[must_use]
pub fn watched(root: &Path, inventory: &Inventory) -> Vec<PathBuf> {
    let mut out: BTreeSet<PathBuf> = DATABASES
        .iter()
        .map(|d| root.join(d))
        .filter(|p| p.is_dir())
        .collect();
    for p in &inventory.packages {
        let path = Path::new(p.path.trim_start_matches('/'));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let folder = if LOCKFILES.contains(&name.as_str()) {
            path.parent()
        } else if path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|d| d.to_string_lossy().ends_with(".dist-info"))
        {
            path.parent().and_then(Path::parent)
        } else {
            None
        };
        if let Some(f) = folder {
            let full = root.join(f);
            if full.is_dir() {
                out.insert(full);
            }
        }
        if out.len() >= MAX_WATCHED {
            break;
        }
    }
    out.into_iter().take(MAX_WATCHED).collect()
}

/// How an agent runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The service's base URL (`http://127.0.0.1:8080`).
    pub server: String,
    /// An agent token.
    pub token: String,
    /// The root filesystem read (`/` for this host).
    pub root: PathBuf,
    /// The host's ID (default: [`host_id`]).
    pub host_id: Option<String>,
    /// A check-in at least this often.
    pub heartbeat: Duration,
    /// Changes within this time are sent as one.
    pub debounce: Duration,
}

/// An agent: its client and what the service accepted last.
pub struct Agent {
    options: Options,
    host_id: String,
    client: reqwest::Client,
    /// The inventory the service holds, and its packages.
    last: Option<(String, BTreeSet<Package>)>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("server", &self.options.server)
            .field("host_id", &self.host_id)
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// An agent for `options`.
    ///
    /// # Errors
    /// No host ID.
    pub fn new(options: Options) -> Result<Self, AgentError> {
        let host_id = match &options.host_id {
            Some(h) => h.clone(),
            None => host_id(&options.root)?,
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("vigia-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AgentError::Unreachable {
                url: vigia_model::redact::redact_url(&options.server),
                message: reason(&e.without_url()),
            })?;
        Ok(Self {
            options,
            host_id,
            client,
            last: None,
        })
    }

    /// The host's ID.
    #[must_use]
    pub fn host_id(&self) -> &str {
        &self.host_id
    }

    async fn post(&self, body: &Checkin) -> Result<Result<Accepted, u16>, AgentError> {
        let url = format!(
            "{}/v1/agent/checkin",
            self.options.server.trim_end_matches('/')
        );
        let resp = self
            .client
            .post(&url)
            .bearer_auth(&self.options.token)
            .json(body)
            .send()
            .await
            .map_err(|e| AgentError::Unreachable {
                url: vigia_model::redact::redact_url(&url),
                message: reason(&e.without_url()),
            })?;
        let status = resp.status().as_u16();
        if status == 409 {
            return Ok(Err(status));
        }
        let text = resp.text().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["message"].as_str().map(str::to_owned))
                .unwrap_or(text);
            return Err(AgentError::Refused { status, message });
        }
        serde_json::from_str(&text)
            .map(Ok)
            .map_err(|e| AgentError::Refused {
                status,
                message: format!("an answer that is not a check-in's: {e}"),
            })
    }

    /// Reads the host and checks in: the difference from the last
    /// accepted inventory when there is one (all of it when the service
    /// does not hold that one any more).
    ///
    /// # Errors
    /// The host cannot be read, or the service refused or was not reached.
    pub async fn check_in(&mut self) -> Result<Accepted, AgentError> {
        let root = self.options.root.clone();
        let host_id = self.host_id.clone();
        let full = tokio::task::spawn_blocking(move || collect(&root, &host_id))
            .await
            .map_err(|e| AgentError::Unreachable {
                url: vigia_model::redact::redact_url(&self.options.server),
                message: format!("the inventory's reading stopped: {e}"),
            })??;
        let packages: BTreeSet<Package> = full.inventory.packages.iter().cloned().collect();
        if let Some((base, held)) = &self.last {
            let mut diff = full.clone();
            diff.inventory.packages = Vec::new();
            diff.base = Some(base.clone());
            diff.added = packages.difference(held).cloned().collect();
            diff.removed = held.difference(&packages).cloned().collect();
            if let Ok(accepted) = self.post(&diff).await? {
                self.last = Some((accepted.inventory_id.clone(), packages));
                return Ok(accepted);
            }
            tracing::info!("the service does not hold the last inventory: sending all of it");
        }
        match self.post(&full).await? {
            Ok(accepted) => {
                self.last = Some((accepted.inventory_id.clone(), packages));
                Ok(accepted)
            }
            Err(status) => Err(AgentError::Refused {
                status,
                message: "the service refused a whole inventory as if it were a difference".into(),
            }),
        }
    }

    /// Checks in at start, on every change of a watched folder (after
    /// `debounce`), and every `heartbeat`, until `stop` fires. A failed
    /// check-in is logged and tried again at the next occasion.
    ///
    /// # Errors
    /// The folders cannot be watched.
    pub async fn run(
        &mut self,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), AgentError> {
        use notify::Watcher as _;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok_and(|e| changes(e.kind)) {
                    let _ = tx.send(());
                }
            })
            .map_err(|e| AgentError::Watch {
                path: self.options.root.clone(),
                message: e.to_string(),
            })?;
        let mut watching: BTreeSet<PathBuf> = BTreeSet::new();
        loop {
            match self.check_in().await {
                Ok(a) => {
                    tracing::info!(inventory = %a.inventory_id, queued = a.queued, "checked in");
                }
                Err(e) => tracing::warn!(error = %e, "check-in failed"),
            }
            // What to watch follows what the host holds.
            let root = self.options.root.clone();
            let want: BTreeSet<PathBuf> = match vigia_inventory::inventory(
                &root,
                &vigia_inventory::source::Options::default(),
            ) {
                Ok(inv) => watched(&root, &inv).into_iter().collect(),
                Err(_) => watching.clone(),
            };
            for gone in watching.difference(&want) {
                let _ = watcher.unwatch(gone);
            }
            for new in want.difference(&watching) {
                if let Err(e) = watcher.watch(new, notify::RecursiveMode::NonRecursive) {
                    tracing::warn!(folder = %new.display(), error = %e, "cannot watch a folder");
                }
            }
            watching = want;
            tokio::select! {
                _ = stop.changed() => return Ok(()),
                () = tokio::time::sleep(self.options.heartbeat) => {}
                Some(()) = rx.recv() => {
                    // Debounce: a package manager writes many files.
                    tokio::time::sleep(self.options.debounce).await;
                    while rx.try_recv().is_ok() {}
                }
            }
            if *stop.borrow() {
                return Ok(());
            }
        }
    }
}

/// Whether a watched folder's event is a change worth a check-in. A file
/// opened or read is not: the agent's own reading of the host at each
/// check-in would otherwise wake it again, for ever.
fn changes(kind: notify::EventKind) -> bool {
    !matches!(kind, notify::EventKind::Access(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_a_file_is_no_change() {
        use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RemoveKind};
        assert!(!changes(notify::EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!changes(notify::EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(changes(notify::EventKind::Create(CreateKind::File)));
        assert!(changes(notify::EventKind::Modify(ModifyKind::Any)));
        assert!(changes(notify::EventKind::Remove(RemoveKind::File)));
    }

    fn pkg(name: &str, version: &str) -> Package {
        Package::new(
            "deb",
            name,
            version,
            format!("pkg:deb/debian/{name}@{version}"),
            "/var/lib/dpkg/status",
            "dpkg",
        )
    }

    #[test]
    fn a_difference_applied_to_its_base_is_the_whole() {
        let base = Inventory {
            packages: vec![pkg("bash", "5.2"), pkg("curl", "7.88"), pkg("zlib", "1.2")],
            ..Inventory::default()
        };
        let checkin = Checkin {
            host_id: "h".into(),
            agent_version: "0".into(),
            hostname: None,
            kernel: None,
            interfaces: Vec::new(),
            inventory: Inventory::default(),
            base: Some("id".into()),
            added: vec![pkg("curl", "8.0")],
            removed: vec![pkg("curl", "7.88")],
        };
        let whole = checkin.apply(Some(&base));
        assert_eq!(
            whole.packages,
            vec![pkg("bash", "5.2"), pkg("curl", "8.0"), pkg("zlib", "1.2")]
        );
    }

    #[test]
    fn host_ids_and_watched_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(matches!(host_id(root), Err(AgentError::NoHostId { .. })));
        fs_err::create_dir_all(root.join("etc")).unwrap();
        fs_err::write(root.join("etc/hostname"), "web-1\n").unwrap();
        assert_eq!(host_id(root).unwrap(), "web-1");
        fs_err::write(root.join("etc/machine-id"), "0123abcd\n").unwrap();
        assert_eq!(host_id(root).unwrap(), "0123abcd");
        fs_err::create_dir_all(root.join("var/lib/dpkg")).unwrap();
        fs_err::create_dir_all(root.join("srv/app")).unwrap();
        fs_err::create_dir_all(root.join("usr/lib/python3/dist-packages/requests-2.0.dist-info"))
            .unwrap();
        let mut lock = pkg("left-pad", "1.0");
        lock.path = "/srv/app/package-lock.json".into();
        let mut py = pkg("requests", "2.0");
        py.path = "/usr/lib/python3/dist-packages/requests-2.0.dist-info/METADATA".into();
        let inv = Inventory {
            packages: vec![lock, py, pkg("bash", "5.2")],
            ..Inventory::default()
        };
        let w = watched(root, &inv);
        assert_eq!(
            w,
            vec![
                root.join("srv/app"),
                root.join("usr/lib/python3/dist-packages"),
                root.join("var/lib/dpkg"),
            ]
        );
    }
}
