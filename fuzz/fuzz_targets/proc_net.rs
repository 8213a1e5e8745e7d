//! Fuzzes the `/proc/net/{tcp,udp}[6]` socket table reader: any bytes give a
//! list of listening sockets, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigia_inventory::host::{SocketProtocol, parse_table};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for proto in [SocketProtocol::Tcp, SocketProtocol::Udp] {
        for v6 in [false, true] {
            let _ = parse_table(&text, proto, v6);
        }
    }
});
