//! The contextual score (`inspectorScore`): the finding's CVSS v3 base
//! vector, adjusted for what is known about the resource and the
//! vulnerability, and scored again with the CVSS formula.
//!
//! - `AV:N` becomes `AV:L` when every listening socket of the vulnerable
//!   packages is bound to loopback, else `AV:A` when no port of the host is
//!   open to the internet (the network was modelled, and nothing the
//!   internet reaches has a listener).
//! - Exploit Code Maturity is set from exploit evidence: in CISA KEV →
//!   `E:H`; an EPSS probability at or above [`EPSS_THRESHOLD`] → `E:F`;
//!   below it → `E:U`; nothing known → `E:X` (left out).
//!
//! The score is the adjusted vector's score (temporal when `E` is set),
//! never above the base score. `docs/scoring.md` states the rules with
//! worked examples.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use cvss::v3::Vector;
use cvss::v3::metric::Metric;
use cvss::v3::metric::base::AttackVector;
use cvss::v3::metric::temporal::ExploitCodeMaturity;

use crate::CvssScoreAdjustment;

/// EPSS probability from which exploitation is taken as functional (`E:F`):
/// a 10% chance of exploitation activity in the next 30 days.
pub const EPSS_THRESHOLD: f64 = 0.1;

/// What a scan knows about the resource's network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkContext {
    /// Whether the internet can open a connection to the host: `Some(Ok)`
    /// with how, `Some(Err)` with why not, `None` when no network model was
    /// given (then `AV` stays as it is).
    pub internet: Option<Result<String, String>>,
    /// Packages whose every listening socket is bound to loopback, with
    /// those sockets (`redis-server on 127.0.0.1:6379`).
    pub loopback_only: BTreeMap<String, String>,
    /// Packages with a listening socket other hosts can reach.
    pub exposed: BTreeSet<String>,
}

/// Evidence of exploitation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExploitEvidence {
    /// In CISA's Known Exploited Vulnerabilities catalog.
    pub kev: bool,
    /// The EPSS probability, when known.
    pub epss: Option<f64>,
}

/// A re-scored vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Adjusted {
    /// The score of `vector`.
    pub score: f64,
    /// The adjusted vector.
    pub vector: String,
    /// What changed and why.
    pub adjustments: Vec<CvssScoreAdjustment>,
}

/// Re-scores a CVSS v3 base vector; `None` for other versions or a vector
/// that does not parse (the base score then stands).
#[must_use]
pub fn adjust(
    base_vector: &str,
    base_score: f64,
    packages: &[&str],
    exploit: ExploitEvidence,
    network: Option<&NetworkContext>,
) -> Option<Adjusted> {
    adjust_unclamped(base_vector, packages, exploit, network).map(|mut a| {
        // The rules only ever lower a metric; the cap holds should a source's
        // base score disagree with its own vector.
        a.score = a.score.min(base_score);
        a
    })
}

/// [`adjust`] without the cap at the base score.
fn adjust_unclamped(
    base_vector: &str,
    packages: &[&str],
    exploit: ExploitEvidence,
    network: Option<&NetworkContext>,
) -> Option<Adjusted> {
    if !base_vector.starts_with("CVSS:3.") {
        return None;
    }
    let mut v = Vector::from_str(base_vector).ok()?;
    // Only base metrics are adjusted: a vector that already carries temporal
    // or environmental metrics is left as its source wrote it.
    if v.e.is_some() || v.rl.is_some() || v.rc.is_some() || v.mav.is_some() {
        return None;
    }
    let mut adjustments = Vec::new();
    if v.av == Some(AttackVector::Network)
        && let Some(net) = network
    {
        let loopback: Vec<&String> = packages
            .iter()
            .filter_map(|p| net.loopback_only.get(*p))
            .collect();
        // Every listener of the finding's packages is on loopback: none of
        // them (binary packages of one source share a finding) serves others.
        if !loopback.is_empty() && !packages.iter().any(|p| net.exposed.contains(*p)) {
            v.av = Some(AttackVector::Local);
            adjustments.push(CvssScoreAdjustment {
                metric: "AV".into(),
                reason: format!(
                    "LOOPBACK_ONLY: AV:N to AV:L, the vulnerable service listens only on loopback ({})",
                    loopback.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; ")
                ),
            });
        } else if let Some(Err(why)) = &net.internet {
            v.av = Some(AttackVector::Adjacent);
            adjustments.push(CvssScoreAdjustment {
                metric: "AV".into(),
                reason: format!("NO_INTERNET_PATH: AV:N to AV:A, {why}"),
            });
        }
    }
    let e = if exploit.kev {
        Some((
            ExploitCodeMaturity::High,
            "KNOWN_EXPLOITED: E:H, listed in CISA KEV".to_owned(),
        ))
    } else {
        exploit.epss.map(|p| {
            if p >= EPSS_THRESHOLD {
                (
                    ExploitCodeMaturity::Functional,
                    format!("EPSS: E:F, exploitation probability {p:.5} is at or above {EPSS_THRESHOLD}"),
                )
            } else {
                (
                    ExploitCodeMaturity::Unproven,
                    format!("EPSS: E:U, exploitation probability {p:.5} is below {EPSS_THRESHOLD} and it is not in CISA KEV"),
                )
            }
        })
    };
    let base = v.score().value();
    let score = match e {
        Some((e, reason)) => {
            v.e = Some(e);
            adjustments.push(CvssScoreAdjustment {
                metric: "E".into(),
                reason,
            });
            // CVSS v3 temporal score: Roundup(Base × E × RL × RC), RL and RC
            // not defined (1.0). The crate scores base and environmental
            // vectors only; its Roundup is the specification's.
            cvss::v3::Score::new(base * e.score())
                .roundup_for_version(v.minor_version)
                .value()
        }
        None => base,
    };
    Some(Adjusted {
        score,
        vector: v.to_string(),
        adjustments,
    })
}

#[cfg(test)]
// Scores are one-decimal values from the same formula: compared exactly.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    fn base_of(v: &str) -> f64 {
        vigia_model::cvss::CvssScore::parse(v).unwrap().score
    }

    fn closed() -> NetworkContext {
        NetworkContext {
            internet: Some(Err("no public IPv4 address".into())),
            loopback_only: BTreeMap::new(),
            exposed: BTreeSet::new(),
        }
    }

    fn loopback() -> NetworkContext {
        NetworkContext {
            internet: Some(Ok("TCP 22".into())),
            loopback_only: [(
                "redis-server".to_owned(),
                "redis-server on 127.0.0.1:6379".to_owned(),
            )]
            .into(),
            exposed: BTreeSet::new(),
        }
    }

    fn score(v: &str, e: ExploitEvidence, net: Option<&NetworkContext>) -> (f64, String) {
        let base = base_of(v);
        let a = adjust(v, base, &["redis-server"], e, net).unwrap();
        (a.score, a.vector)
    }

    const NONE: ExploitEvidence = ExploitEvidence {
        kev: false,
        epss: None,
    };

    /// The reference's worked table: (vector, AV:N, AV:A, AV:L).
    const TABLE: [(&str, f64, f64, Option<f64>); 5] = [
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
            7.5,
            6.5,
            Some(6.2),
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
            7.5,
            6.5,
            None,
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            9.8,
            8.8,
            Some(8.4),
        ),
        (
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
            10.0,
            9.6,
            None,
        ),
        (
            "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:H/A:N",
            6.5,
            5.9,
            None,
        ),
    ];

    #[test]
    fn the_worked_vectors() {
        for (v, n, a, l) in TABLE {
            assert_eq!(base_of(v), n, "{v}");
            let (s, vec) = score(v, NONE, None);
            assert_eq!((s, vec.as_str()), (n, v), "nothing known: the base");
            let (s, vec) = score(v, NONE, Some(&closed()));
            assert_eq!(s, a, "{v} as AV:A");
            assert!(vec.contains("/AV:A/"), "{vec}");
            if let Some(l) = l {
                assert_eq!(score(v, NONE, Some(&loopback())).0, l, "{v} as AV:L");
            }
        }
    }

    #[test]
    fn the_worked_vectors_with_each_exploit_value() {
        let kev = ExploitEvidence {
            kev: true,
            epss: Some(0.01),
        };
        let high = ExploitEvidence {
            kev: false,
            epss: Some(0.5),
        };
        let low = ExploitEvidence {
            kev: false,
            epss: Some(0.001),
        };
        // Temporal = Roundup(base × E): H 1.0, F 0.97, U 0.91, X 1.0.
        let expect = |b: f64, w: f64| cvss::v3::Score::new(b * w).roundup().value();
        for (v, n, a, _) in TABLE {
            let (s, vec) = score(v, kev, None);
            assert_eq!(s, n, "E:H keeps the base");
            assert!(vec.ends_with("/E:H"), "{vec}");
            let (s, vec) = score(v, high, None);
            assert_eq!(s, expect(n, 0.97));
            assert!(vec.ends_with("/E:F"), "{vec}");
            let (s, _) = score(v, low, None);
            assert_eq!(s, expect(n, 0.91));
            let (s, vec) = score(v, low, Some(&closed()));
            assert_eq!(s, expect(a, 0.91), "{vec}");
        }
        // 7.5 × 0.91 = 6.825 → 6.9; 9.8 × 0.97 = 9.506 → 9.6.
        assert_eq!(score(TABLE[0].0, low, None).0, 6.9);
        assert_eq!(score(TABLE[2].0, high, None).0, 9.6);
    }

    #[test]
    fn only_network_vectors_and_v3_are_adjusted() {
        let local = "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H";
        let a = adjust(local, 7.8, &["x"], NONE, Some(&closed())).unwrap();
        assert!(a.adjustments.is_empty());
        assert_eq!(a.score, 7.8);
        assert!(
            adjust(
                "AV:N/AC:L/Au:N/C:P/I:P/A:P",
                7.5,
                &["x"],
                NONE,
                Some(&closed())
            )
            .is_none()
        );
        assert!(
            adjust(
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
                &["x"],
                NONE,
                None
            )
            .is_none()
        );
        let a = adjust(TABLE[0].0, 7.5, &["x"], NONE, Some(&closed())).unwrap();
        assert_eq!(a.adjustments.len(), 1);
        assert!(a.adjustments[0].reason.starts_with("NO_INTERNET_PATH"));
        // An internet-facing host keeps AV:N.
        let open = NetworkContext {
            internet: Some(Ok("TCP 22".into())),
            loopback_only: BTreeMap::new(),
            exposed: BTreeSet::new(),
        };
        assert!(
            adjust(TABLE[0].0, 7.5, &["x"], NONE, Some(&open))
                .unwrap()
                .adjustments
                .is_empty()
        );
    }

    proptest::proptest! {
        #[test]
        fn never_above_the_base(
            av in 0usize..4, ac in 0usize..2, pr in 0usize..3, ui in 0usize..2, scope in 0usize..2,
            c in 0usize..3, i in 0usize..3, a in 0usize..3,
            kev in proptest::bool::ANY, epss in proptest::option::of(0.0f64..1.0),
            closed_net in proptest::bool::ANY, on_loopback in proptest::bool::ANY,
        ) {
            let v = format!(
                "CVSS:3.1/AV:{}/AC:{}/PR:{}/UI:{}/S:{}/C:{}/I:{}/A:{}",
                ["N", "A", "L", "P"][av], ["L", "H"][ac], ["N", "L", "H"][pr], ["N", "R"][ui],
                ["U", "C"][scope], ["N", "L", "H"][c], ["N", "L", "H"][i], ["N", "L", "H"][a]
            );
            let base = base_of(&v);
            let mut net = if closed_net { closed() } else { loopback() };
            if !on_loopback {
                net.loopback_only.clear();
            }
            // Uncapped: the rules themselves never raise the score.
            let adj = adjust_unclamped(&v, &["redis-server"], ExploitEvidence { kev, epss }, Some(&net)).unwrap();
            proptest::prop_assert!(adj.score <= base, "{} -> {} {}", v, adj.vector, adj.score);
            proptest::prop_assert_eq!(adj.adjustments.is_empty(), adj.vector == v);
        }
    }
}
