//! Every extractor on hostile bytes: lines made of the tokens its format uses,
//! broken JSON and TOML, invalid UTF-8 and NUL bytes. It must return packages
//! and warnings, never panic, and never a package without a name or version.

use proptest::prelude::*;

const EXTRACTORS: &[(&str, &str)] = &[
    ("os/dpkg", "/var/lib/dpkg/status"),
    ("os/apk", "/lib/apk/db/installed"),
    ("python/dist-info", "/x/a-1.dist-info/METADATA"),
    ("javascript/package-lock", "/app/package-lock.json"),
    (
        "javascript/node-modules",
        "/app/node_modules/a/package.json",
    ),
    ("rust/cargo-lock", "/app/Cargo.lock"),
    ("python/requirements", "/app/requirements.txt"),
    ("python/toml-lock", "/app/poetry.lock"),
    ("python/pipfile-lock", "/app/Pipfile.lock"),
    ("javascript/yarn-lock", "/app/yarn.lock"),
    ("javascript/pnpm-lock", "/app/pnpm-lock.yaml"),
    ("ruby/gemfile-lock", "/app/Gemfile.lock"),
    ("ruby/gemspec", "/g/specifications/a-1.gemspec"),
    ("php/composer", "/app/composer.lock"),
    ("dotnet/deps", "/app/a.deps.json"),
    ("go/go-mod", "/app/go.mod"),
    ("java/pom-xml", "/app/pom.xml"),
];

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Package:".to_owned()),
        Just("Version:".to_owned()),
        Just("Status: install ok installed".to_owned()),
        Just("Source: x (1".to_owned()),
        Just("P:".to_owned()),
        Just("V:".to_owned()),
        Just(":".to_owned()),
        Just("\"".to_owned()),
        Just("@".to_owned()),
        Just("  version \"".to_owned()),
        Just("    ".to_owned()),
        Just(" (".to_owned()),
        Just("==".to_owned()),
        Just("GEM".to_owned()),
        Just("<project><dependencies><dependency><version>".to_owned()),
        Just("${".to_owned()),
        Just("__metadata:".to_owned()),
        Just("packages:".to_owned()),
        Just("  resolution: \"a@npm:1\"".to_owned()),
        Just("  /@x/y@1.0.0(".to_owned()),
        Just("require (".to_owned()),
        Just("{\"packages\": {\"node_modules/\": {\"version\": 1}}".to_owned()),
        Just("[[package]]\nname = \"\"".to_owned()),
        Just("s.name = '".to_owned()),
        "[a-z0-9._~+-]{0,8}",
        "\\PC{0,6}",
    ]
}

fn document() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(
            prop::collection::vec(token(), 0..5).prop_map(|t| t.join(" ")),
            0..12
        )
        .prop_map(|lines| lines.join("\n").into_bytes()),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, .. ProptestConfig::default() })]

    #[test]
    fn extractors_never_panic_or_emit_empty_packages(doc in document(), which in 0..EXTRACTORS.len()) {
        let (name, path) = EXTRACTORS[which];
        let found = vigia_inventory::extract::run_one(name, path, &doc).expect("registered");
        for p in &found.packages {
            prop_assert!(!p.name.trim().is_empty() && !p.version.trim().is_empty(), "{name}: {p:?}");
        }
    }
}
