//! Fuzzes the archive readers through `vigia_inventory::inventory`: the bytes
//! are written to a file read as a target (a tar stream, gzip or zstd
//! compressed or not, a `docker save` archive with its JSON documents, a zip).
//! Any bytes must give an inventory or an error naming the file, never a
//! panic, a hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("vigia-fuzz-archive-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("target");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let opts = vigia_inventory::source::Options {
        limits: vigia_inventory::Limits {
            max_file_bytes: 1 << 20,
            max_inflated_bytes: 64 << 20,
            max_ratio: 1000,
        },
        ..Default::default()
    };
    let _ = vigia_inventory::inventory(&path, &opts);
});
