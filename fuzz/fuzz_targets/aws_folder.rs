//! Fuzzes the AWS CLI importer: the bytes are each of its files in turn, the
//! others holding a valid minimal output. Any bytes must give a model or an
//! error naming the file, and a model an analysis, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

const FILES: [(&str, &str); 6] = [
    ("describe-instances.json", r#"{"Reservations":[]}"#),
    ("describe-security-groups.json", r#"{"SecurityGroups":[]}"#),
    ("describe-subnets.json", r#"{"Subnets":[]}"#),
    ("describe-route-tables.json", r#"{"RouteTables":[]}"#),
    ("describe-network-acls.json", r#"{"NetworkAcls":[]}"#),
    ("describe-internet-gateways.json", r#"{"InternetGateways":[]}"#),
];

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("vigia-fuzz-aws-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let which = data.first().map_or(0, |b| usize::from(*b) % FILES.len());
    for (i, (name, minimal)) in FILES.iter().enumerate() {
        let body: &[u8] = if i == which { data.get(1..).unwrap_or_default() } else { minimal.as_bytes() };
        if std::fs::write(dir.join(name), body).is_err() {
            return;
        }
    }
    if let Ok(net) = vigia_network::aws::read_folder(&dir) {
        let _ = vigia_network::check(&net);
    }
});
