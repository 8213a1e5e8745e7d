//! Order laws for every scheme (antisymmetry, transitivity, reflexivity), and
//! parse → display → parse round trips, on generated version-like strings.

use proptest::prelude::*;
use vigia_version::{Scheme, Version};

const SCHEMES: [Scheme; 10] = [
    Scheme::Dpkg,
    Scheme::Rpm,
    Scheme::Apk,
    Scheme::Pep440,
    Scheme::Semver,
    Scheme::Go,
    Scheme::Maven,
    Scheme::RubyGems,
    Scheme::NuGet,
    Scheme::Composer,
];

/// Strings shaped like versions of many schemes, so that most parse somewhere.
fn version_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}",
        "v?[0-9]{1,2}\\.[0-9]{1,2}\\.[0-9]{1,2}(-(alpha|beta|rc|0|1|pre\\.1)(\\.[0-9])?)?(\\+[a-z0-9]{1,4})?",
        "([0-9]:)?[0-9]{1,2}\\.[0-9]{1,2}(~[a-z0-9]{1,4})?(\\+deb[0-9]{1,2}u[0-9])?(-[0-9]{1,2}(~deb[0-9]{1,2}u[0-9])?)?",
        "[0-9]{1,2}\\.[0-9]{1,2}[a-z]?(_(alpha|beta|pre|rc|p|git)[0-9]{0,2}){0,2}(-r[0-9]{1,2})?",
        "[0-9]{1,2}(\\.[0-9]{1,2}){0,2}((a|b|rc|\\.post|\\.dev)[0-9])?",
        "[0-9]{1,2}\\.[0-9]{1,2}([.-](alpha|beta|m|rc|sp|snapshot|ga|final)[0-9]?)?",
        "[0-9a-z.~^_+-]{1,12}",
    ]
}

fn parse_all(s: &str) -> Vec<(Scheme, Version)> {
    SCHEMES
        .iter()
        .filter_map(|&sc| Version::parse(sc, s).ok().map(|v| (sc, v)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn antisymmetric_and_reflexive(a in version_like(), b in version_like()) {
        for sc in SCHEMES {
            if let (Ok(x), Ok(y)) = (Version::parse(sc, &a), Version::parse(sc, &b)) {
                prop_assert_eq!(x.cmp(&y), y.cmp(&x).reverse(), "{} {:?} vs {:?}", sc, a, b);
                prop_assert_eq!(x.cmp(&x), std::cmp::Ordering::Equal);
            }
        }
    }

    #[test]
    fn transitive(a in version_like(), b in version_like(), c in version_like()) {
        for sc in SCHEMES {
            if let (Ok(x), Ok(y), Ok(z)) = (Version::parse(sc, &a), Version::parse(sc, &b), Version::parse(sc, &c)) {
                let mut v = [x, y, z];
                v.sort();
                prop_assert!(v[0] <= v[1] && v[1] <= v[2] && v[0] <= v[2], "{} {:?} {:?} {:?}", sc, a, b, c);
            }
        }
    }

    #[test]
    fn display_round_trips(a in version_like()) {
        for (sc, v) in parse_all(&a) {
            let shown = match &v {
                Version::Dpkg(x) => x.to_string(),
                Version::Rpm(x) => x.to_string(),
                Version::Apk(x) => x.to_string(),
                Version::Pep440(x) => x.to_string(),
                Version::Semver(x) => x.to_string(),
                Version::Go(x) => x.to_string(),
                Version::Maven(x) => x.to_string(),
                Version::RubyGems(x) => x.to_string(),
                Version::NuGet(x) => x.to_string(),
                Version::Composer(x) => x.to_string(),
            };
            let again = Version::parse(sc, &shown);
            prop_assert!(again.is_ok(), "{} {:?} displays as {:?}, which does not parse", sc, a, shown);
            prop_assert_eq!(again.unwrap().cmp(&v), std::cmp::Ordering::Equal, "{} {:?} → {:?}", sc, a, shown);
        }
    }

    #[test]
    fn never_panics_on_any_input(s in "\\PC{0,40}") {
        for sc in SCHEMES {
            let _ = Version::parse(sc, &s);
        }
    }
}

#[test]
fn invalid_versions_are_errors_not_equal() {
    for (sc, bad) in [
        (Scheme::Dpkg, "1:"),
        (Scheme::Apk, "1.0_foo"),
        (Scheme::Pep440, "1.0+"),
        (Scheme::Semver, "1.2"),
        (Scheme::Go, "1.2"),
        (Scheme::NuGet, "1.2.3.4.5"),
    ] {
        assert!(Version::parse(sc, bad).is_err(), "{sc} accepted {bad:?}");
    }
}

#[test]
fn schemes_for_ecosystems() {
    assert_eq!(Scheme::for_ecosystem("Debian:12"), Some(Scheme::Dpkg));
    assert_eq!(Scheme::for_ecosystem("Alpine:v3.20"), Some(Scheme::Apk));
    assert_eq!(
        Scheme::for_ecosystem("Red Hat:enterprise_linux:9::appstream"),
        Some(Scheme::Rpm)
    );
    assert_eq!(Scheme::for_ecosystem("crates.io"), Some(Scheme::Semver));
    assert_eq!(Scheme::for_ecosystem("Hackage"), None);
}
