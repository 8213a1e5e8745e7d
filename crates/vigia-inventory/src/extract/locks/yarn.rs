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
        1
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
        let mut name: Option<String> = None;
        let mut seen = BTreeSet::new();
        for line in text.lines() {
            if !line.starts_with(' ') && line.ends_with(':') && !line.starts_with('#') {
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
                name = at.map(|i| first[..i].to_owned()).filter(|n| !n.is_empty());
            } else if let (Some(n), Some(v)) = (&name, line.trim().strip_prefix("version ")) {
                let v = v.trim_matches('"');
                if seen.insert((n.clone(), v.to_owned())) {
                    found
                        .packages
                        .push(pkg("npm", n, v, npm_purl(n, v), path, self.name()));
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
    fn yarn_v1_with_scopes_and_merged_ranges() {
        let y = "# yarn lockfile v1\n\n\"@babel/core@^7.0.0\", \"@babel/core@^7.1.0\":\n  version \"7.1.2\"\n  resolved \"x\"\n\nlodash@^4.17.15:\n  version \"4.17.21\"\n";
        assert_eq!(
            run(&YarnLock, "/w/yarn.lock", y),
            pairs(&[("@babel/core", "7.1.2"), ("lodash", "4.17.21")])
        );
    }
}
