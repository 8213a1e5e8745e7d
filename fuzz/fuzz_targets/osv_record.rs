//! Fuzzes OSV advisory records as feeds deliver them: any bytes must parse or
//! be refused, and a parsed record's IDs must be computable, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = serde_json::from_slice::<vigia_model::Osv>(data) {
        let _ = record.same_vulnerability_ids();
        let _ = record.cve_ids();
    }
});
