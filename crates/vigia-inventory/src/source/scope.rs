//! Which trees of a resource are read: all of it, except the kernel's and the
//! runtime's pseudo-filesystems on a live root (`/proc`, `/sys`, `/dev`,
//! `/run`, `/tmp`), and what the user leaves out (`--skip-dirs`) or brings
//! back (`--include-dirs`). Every tree left out is named with its reason, so
//! a scan says what it did not look at.

use serde::{Deserialize, Serialize};

/// Trees a live root filesystem holds that no package installs.
const LIVE_ROOT_SKIPS: &[(&str, &str)] = &[
    (
        "/proc",
        "the kernel's process and system information, not files",
    ),
    ("/sys", "the kernel's device and driver objects, not files"),
    ("/dev", "device nodes"),
    (
        "/run",
        "runtime state (sockets, PID files), rebuilt at every boot",
    ),
    ("/tmp", "temporary files"),
];

/// The user's choices of trees, as absolute paths inside the resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Trees not read (`--skip-dirs`).
    pub skip: Vec<String>,
    /// Trees read even where Vigia skips them by default (`--include-dirs`).
    pub include: Vec<String>,
}

/// A tree that was not read, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skipped {
    /// The tree, as an absolute path inside the resource.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// `/a/b` with one leading slash and no trailing one.
fn normalise(dir: &str) -> String {
    format!("/{}", dir.trim_matches('/'))
}

/// Whether `path` is `tree` or inside it.
fn under(path: &str, tree: &str) -> bool {
    tree == "/"
        || path == tree
        || path.starts_with(tree) && path.as_bytes().get(tree.len()) == Some(&b'/')
}

impl Scope {
    /// The trees left out of a resource (`live_root`: the machine's own `/`).
    #[must_use]
    pub fn skipped(&self, live_root: bool) -> Vec<Skipped> {
        // An empty entry (`--skip-dirs ''`, a trailing comma) names no tree;
        // read as `/`, it would skip everything.
        let given = |d: &&String| !d.trim().is_empty();
        let include: Vec<String> = self
            .include
            .iter()
            .filter(given)
            .map(|d| normalise(d))
            .collect();
        let mut out: Vec<Skipped> = self
            .skip
            .iter()
            .filter(given)
            .map(|d| Skipped {
                path: normalise(d),
                reason: "--skip-dirs".into(),
            })
            .collect();
        if live_root {
            out.extend(
                LIVE_ROOT_SKIPS
                    .iter()
                    .filter(|(d, _)| !include.iter().any(|i| under(d, i) || under(i, d)))
                    .map(|(d, why)| Skipped {
                        path: (*d).to_owned(),
                        reason: format!("{why} (--include-dirs {d} reads it)"),
                    }),
            );
        }
        out.sort();
        out.dedup_by(|a, b| a.path == b.path);
        out
    }

    /// Whether `path` (absolute inside the resource) lies in a skipped tree.
    #[must_use]
    pub fn excludes(skipped: &[Skipped], path: &str) -> bool {
        skipped.iter().any(|s| under(path, &s.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_roots_skip_pseudo_filesystems_unless_included() {
        let none = Scope::default();
        assert!(none.skipped(false).is_empty());
        let live = none.skipped(true);
        assert_eq!(
            live.iter().map(|s| s.path.as_str()).collect::<Vec<_>>(),
            ["/dev", "/proc", "/run", "/sys", "/tmp"]
        );
        let empty = Scope {
            skip: vec![String::new(), " ".into()],
            include: vec![String::new()],
        };
        assert_eq!(empty.skipped(true), none.skipped(true));
        assert!(empty.skipped(false).is_empty());
        let scope = Scope {
            skip: vec!["var/cache/".into(), "/home".into()],
            include: vec!["/tmp".into()],
        };
        let skipped = scope.skipped(true);
        assert!(
            skipped
                .iter()
                .any(|s| s.path == "/var/cache" && s.reason == "--skip-dirs")
        );
        assert!(!skipped.iter().any(|s| s.path == "/tmp"));
        assert!(Scope::excludes(&skipped, "/home/bob/app/package-lock.json"));
        assert!(Scope::excludes(&skipped, "/proc/1/status"));
        assert!(!Scope::excludes(&skipped, "/homework/requirements.txt"));
        assert!(!Scope::excludes(&skipped, "/tmp/build/requirements.txt"));
    }
}
