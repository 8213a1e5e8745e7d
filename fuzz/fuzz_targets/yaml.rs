//! Fuzzes the YAML loader every YAML input goes through (pnpm and yarn berry
//! lockfiles, `.vigiaignore`, configs): any text must load or be refused with
//! an error, never expand an alias, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = vigia_inventory::yaml::load(&text);
});
