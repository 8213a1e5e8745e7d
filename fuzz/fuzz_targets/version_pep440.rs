//! Fuzzes the pep440 version parser and comparator: any input must parse or be
//! rejected without a panic, and comparing with itself must give Equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigia_version::{Scheme, Version};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let (a, b) = s.split_once('\n').unwrap_or((s, "1.0"));
    if let (Ok(x), Ok(y)) = (Version::parse(Scheme::Pep440, a), Version::parse(Scheme::Pep440, b)) {
        assert_eq!(x.cmp(&x), std::cmp::Ordering::Equal);
        assert_eq!(x.cmp(&y), y.cmp(&x).reverse());
    }
});
