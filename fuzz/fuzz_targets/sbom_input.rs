//! Fuzzes SBOM input (CycloneDX and SPDX JSON, `vigia scan sbom`): any text
//! must give an inventory or an error naming the file, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = vigia_scan::sbom_in::read("fuzz.cdx.json", &text);
});
