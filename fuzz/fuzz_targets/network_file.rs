//! Fuzzes the Vigia network file reader (YAML or JSON): any text must give a
//! network model or an error naming the file, never a panic; a model that
//! loads must be analysable without one either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(net) = vigia_network::file::parse("network.yaml", &text) {
        let _ = vigia_network::check(&net);
    }
});
