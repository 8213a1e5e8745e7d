//! npm `yarn.lock` v1.

use std::collections::BTreeSet;

use super::{file_name, pkg};
use crate::extract::{Ctx, Extractor, Found, npm_purl, yaml_locks};

/// `yarn.lock`: v1 (the classic format) here, berry (YAML) in `yaml_locks`.
pub(crate) struct YarnLock;

impl Extractor for YarnLock {
    fn name(&self) -> &'static str {
        "javascript/yarn-lock"
    }
    fn version(&self) -> u32 {
        2
    }
    fn wants(&self, path: &str) -> bool {
        file_name(path) == "yarn.lock" && !path.contains("/node_modules/")
    }
    fn is_lockfile(&self) -> bool {
        true
    }
    fn extract(&self, path: &str, data: &[u8], _ctx: &Ctx<'_>) -> Found {
        let mut found = Found::default();
        let text = String::from_utf8_lossy(data);
        if text.contains("__metadata:") {
            return yaml_locks::yarn_berry(path, data, self.name());
        }
        if data.contains(&0) || std::str::from_utf8(data).is_err() {
            crate::extract::malformed(&mut found, path, "not a yarn.lock: not UTF-8 text");
            return found;
        }
        let mut name: Option<String> = None;
        // An entry begun and not yet given its version.
        let mut pending: Option<String> = None;
        let mut strays = 0usize;
        let mut seen = BTreeSet::new();
        for line in text.lines() {
            if !line.starts_with(' ') && line.ends_with(':') && !line.starts_with('#') {
                if let Some(p) = pending.take() {
                    crate::extract::malformed(&mut found, path, format!("`{p}` has no version"));
                }
                // `"@scope/a@^1.0.0", "@scope/a@^1.1.0":` → `@scope/a`
                let first = line
                    .trim_end_matches(':')
                    .split(", ")
                    .next()
                    .unwrap_or_default()
                    .trim_matches('"');
                let at = first
                    .get(1..)
                    .and_then(|rest| rest.find('@'))
                    .map(|i| i + 1);
                name = at
                    .map(|i| aliased(&first[i + 1..]).unwrap_or(&first[..i]).to_owned())
                    .filter(|n| !n.is_empty());
                pending.clone_from(&name);
            } else if let (Some(n), Some(v)) = (&name, line.trim().strip_prefix("version ")) {
                let v = v.trim_matches('"');
                pending = None;
                if seen.insert((n.clone(), v.to_owned())) {
                    found
                        .packages
                        .push(pkg("npm", n, v, npm_purl(n, v), path, self.name()));
                }
            } else if !line.trim().is_empty() && !line.starts_with(' ') && !line.starts_with('#') {
                strays += 1;
            }
        }
        if let Some(p) = pending {
            crate::extract::malformed(
                &mut found,
                path,
                format!("`{p}` has no version: the file may be cut short"),
            );
        }
        if strays > 0 {
            crate::extract::malformed(
                &mut found,
                path,
                format!("{strays} line(s) are not yarn.lock entries"),
            );
        }
        found
    }
}

/// The package an alias range installs: `npm:lodash@4.17.19` is lodash
/// (installed under the alias's folder name).
fn aliased(range: &str) -> Option<&str> {
    let target = range.strip_prefix("npm:")?;
    let at = target.get(1..)?.rfind('@')? + 1;
    Some(&target[..at])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::locks::tests::{pairs, run};

    #[test]
    fn yarn_v1_aliases_and_damage() {
        let y = "# yarn lockfile v1\n\n\"lodash-alias@npm:lodash@4.17.19\":\n  version \"4.17.19\"\n\n\"@x/y@npm:@babel/core@^7\":\n  version \"7.1.2\"\n";
        assert_eq!(
            run(&YarnLock, "/w/yarn.lock", y),
            pairs(&[("lodash", "4.17.19"), ("@babel/core", "7.1.2")])
        );
        for (bad, says) in [
            (
                "lodash@^4:\n  version \"4.17.21\"\n\nminimist@^1:\n  resol",
                "cut short",
            ),
            ("\u{0}\u{1}garbage", "not UTF-8 text"),
            (
                "lodash@^4:\n  version \"4.17.21\"\nthis is not yarn\n",
                "not yarn.lock entries",
            ),
        ] {
            let found = YarnLock.extract("/w/yarn.lock", bad.as_bytes(), &Ctx::default());
            assert!(
                found.warnings.iter().any(|w| w.message.contains(says)
                    && w.unread == Some(crate::Unread::Inventory)),
                "{bad:?}: {:?}",
                found.warnings
            );
        }
    }

    #[test]
    fn yarn_v1_with_scopes_and_merged_ranges() {
        let y = "# yarn lockfile v1\n\n\"@babel/core@^7.0.0\", \"@babel/core@^7.1.0\":\n  version \"7.1.2\"\n  resolved \"x\"\n\nlodash@^4.17.15:\n  version \"4.17.21\"\n";
        assert_eq!(
            run(&YarnLock, "/w/yarn.lock", y),
            pairs(&[("@babel/core", "7.1.2"), ("lodash", "4.17.21")])
        );
    }
}
