//! Fuzzes the host firewall readers (iptables-save and `nft -j list ruleset`
//! output) and their evaluation: any text must give rules or an error naming
//! the file, and any rules an answer, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigia_network::{Family, Transport};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for name in ["/etc/iptables/rules.v4", "/etc/iptables/rules.v6"] {
        if let Ok(fw) = vigia_network::firewall::parse(name, &text) {
            let _ = fw.allowed(Transport::Tcp, Family::V4, 0x0808_0808);
            let _ = fw.blocker(Transport::Udp, Family::V6, 1, 53);
        }
    }
});
