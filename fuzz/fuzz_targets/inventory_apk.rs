//! Fuzzes the os/apk extractor: any bytes must give packages and warnings, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let found = vigia_inventory::extract::run_one("os/apk", "/lib/apk/db/installed", data).expect("registered extractor");
    for p in &found.packages {
        assert!(!p.name.is_empty() && !p.purl.is_empty());
    }
});
