//! Fuzzes every inventory extractor: the first byte picks one (with a path it
//! reads), the rest is the file. Any bytes must give packages and warnings,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

const EXTRACTORS: &[(&str, &str)] = &[
    ("os/dpkg", "/var/lib/dpkg/status"),
    ("os/apk", "/lib/apk/db/installed"),
    ("os/rpm", "/var/lib/rpm/rpmdb.sqlite"),
    ("os/rpm", "/var/lib/rpm/Packages"),
    ("java/archive", "/app/lib/app.jar"),
    ("java/pom-xml", "/app/pom.xml"),
    ("go/binary", "/usr/bin/app#go-buildinfo"),
    ("go/go-mod", "/src/go.mod"),
    ("rust/auditable-binary", "/usr/bin/app#cargo-auditable"),
    ("rust/cargo-lock", "/src/Cargo.lock"),
    ("javascript/package-lock", "/app/package-lock.json"),
    ("javascript/node-modules", "/app/node_modules/x/package.json"),
    ("javascript/pnpm-lock", "/app/pnpm-lock.yaml"),
    ("javascript/yarn-lock", "/app/yarn.lock"),
    ("python/dist-info", "/usr/lib/python3/site-packages/x-1.0.dist-info/METADATA"),
    ("python/requirements", "/app/requirements.txt"),
    ("python/toml-lock", "/app/poetry.lock"),
    ("python/pipfile-lock", "/app/Pipfile.lock"),
    ("php/composer", "/app/composer.lock"),
    ("dotnet/deps", "/app/app.deps.json"),
    ("ruby/gemfile-lock", "/app/Gemfile.lock"),
    ("ruby/gemspec", "/usr/lib/ruby/gems/3.1.0/specifications/x-1.0.gemspec"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let (name, path) = EXTRACTORS[usize::from(pick) % EXTRACTORS.len()];
    let found = vigia_inventory::extract::run_one(name, path, file).expect("registered extractor");
    for p in &found.packages {
        assert!(!p.name.is_empty() && !p.version.is_empty(), "{name}: {p:?}");
    }
});
