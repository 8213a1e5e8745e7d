//! Fuzzes the OCI documents Vigia reads from images (index, manifest, image
//! config, through `oci-spec`'s types, as the layout reader does): any bytes
//! must parse or be refused, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};

fuzz_target!(|data: &[u8]| {
    if let Ok(index) = serde_json::from_slice::<ImageIndex>(data) {
        for m in index.manifests() {
            let _ = (m.digest().to_string(), m.platform());
        }
    }
    if let Ok(manifest) = serde_json::from_slice::<ImageManifest>(data) {
        let _ = (manifest.config().digest().to_string(), manifest.layers().len());
    }
    if let Ok(config) = serde_json::from_slice::<ImageConfiguration>(data) {
        let _ = (config.rootfs().diff_ids().len(), config.os(), config.architecture());
    }
});
