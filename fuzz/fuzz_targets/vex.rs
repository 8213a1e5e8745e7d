//! Fuzzes OpenVEX input (`--vex`) and `.vigiaignore` files: any text must
//! parse or be refused naming the file, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = vigia_scan::suppress::Vex::parse("fuzz.vex.json", &text);
    let _ = vigia_scan::suppress::IgnoreFile::parse(".vigiaignore", &text);
});
