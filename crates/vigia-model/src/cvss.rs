//! CVSS vectors: parse, score and band, always keeping the vector.
//!
//! Parsing and scoring are the `RustSec` `cvss` crate's. The severity band is Vigia's
//! one rule for every version (Critical 9.0–10.0, High 7.0–8.9, Medium 4.0–6.9,
//! Low 0.1–3.9, None 0), so that a v2 score and a v3 score band the same way.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// CVSS versions Vigia scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum CvssVersion {
    /// CVSS 2.0.
    #[serde(rename = "2.0")]
    V2,
    /// CVSS 3.0.
    #[serde(rename = "3.0")]
    V30,
    /// CVSS 3.1.
    #[serde(rename = "3.1")]
    V31,
    /// CVSS 4.0.
    #[serde(rename = "4.0")]
    V40,
}

impl CvssVersion {
    /// `2.0`, `3.0`, `3.1` or `4.0`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2 => "2.0",
            Self::V30 => "3.0",
            Self::V31 => "3.1",
            Self::V40 => "4.0",
        }
    }
}

/// A severity band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SeverityBand {
    /// Score 0.
    None,
    /// 0.1–3.9.
    Low,
    /// 4.0–6.9.
    Medium,
    /// 7.0–8.9.
    High,
    /// 9.0–10.0.
    Critical,
}

impl SeverityBand {
    /// The band of a base score.
    #[must_use]
    pub fn from_score(score: f64) -> Self {
        // Scores are reported to one decimal; compare in tenths to avoid float edges.
        #[allow(clippy::cast_possible_truncation)]
        let tenths = (score * 10.0).round() as i64;
        match tenths {
            i64::MIN..=0 => Self::None,
            1..=39 => Self::Low,
            40..=69 => Self::Medium,
            70..=89 => Self::High,
            _ => Self::Critical,
        }
    }

    /// `CRITICAL`, `HIGH`, …
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
            Self::Critical => "CRITICAL",
        }
    }
}

/// A parsed and scored CVSS vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvssScore {
    /// The version the vector declares.
    pub version: CvssVersion,
    /// The vector exactly as given.
    pub vector: String,
    /// The base score (for v4, the CVSS-B/BT/BE/BTE score the vector supports).
    pub score: f64,
    /// The band of `score`.
    pub severity: SeverityBand,
}

/// A vector Vigia could not parse.
#[derive(Debug, thiserror::Error)]
#[error("invalid CVSS vector {vector:?}: {reason}")]
pub struct CvssError {
    /// The vector as given.
    pub vector: String,
    /// Why it failed.
    pub reason: String,
}

impl CvssScore {
    /// Parses and scores a vector. v3.x and v4 vectors carry their `CVSS:x.y/`
    /// prefix; a vector without one is read as v2 (`AV:N/AC:L/Au:N/…`), and a v2
    /// vector written with a `CVSS:2.0/` prefix is accepted too.
    pub fn parse(vector: &str) -> Result<Self, CvssError> {
        let vector = vector.trim();
        let err = |e: &dyn std::fmt::Display| CvssError {
            vector: vector.to_owned(),
            reason: e.to_string(),
        };
        let (version, score) = if let Some(rest) = vector.strip_prefix("CVSS:") {
            let (ver, _) = rest
                .split_once('/')
                .ok_or_else(|| err(&"missing metrics"))?;
            match ver {
                "3.0" | "3.1" => {
                    let v = cvss::v3::Vector::from_str(vector).map_err(|e| err(&e))?;
                    let version = if ver == "3.0" {
                        CvssVersion::V30
                    } else {
                        CvssVersion::V31
                    };
                    (version, v.score().value())
                }
                "4.0" => {
                    let v = cvss::v4::Vector::from_str(vector).map_err(|e| err(&e))?;
                    (CvssVersion::V40, v.score().value())
                }
                "2.0" => {
                    let body = &rest[4..];
                    let v = cvss::v2::Vector::from_str(body).map_err(|e| err(&e))?;
                    (CvssVersion::V2, v.score().value())
                }
                other => return Err(err(&format!("unsupported CVSS version {other}"))),
            }
        } else {
            let v = cvss::v2::Vector::from_str(vector).map_err(|e| err(&e))?;
            (CvssVersion::V2, v.score().value())
        };
        Ok(Self {
            version,
            vector: vector.to_owned(),
            score,
            severity: SeverityBand::from_score(score),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_each_version() {
        let v31 = CvssScore::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
        assert_eq!(
            (v31.version, v31.score, v31.severity),
            (CvssVersion::V31, 9.8, SeverityBand::Critical)
        );
        let v30 = CvssScore::parse("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N").unwrap();
        assert_eq!(
            (v30.version, v30.score, v30.severity),
            (CvssVersion::V30, 5.9, SeverityBand::Medium)
        );
        let v2 = CvssScore::parse("AV:N/AC:L/Au:N/C:P/I:P/A:P").unwrap();
        assert_eq!(
            (v2.version, v2.score, v2.severity),
            (CvssVersion::V2, 7.5, SeverityBand::High)
        );
        let v4 =
            CvssScore::parse("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
                .unwrap();
        assert_eq!(
            (v4.version, v4.score, v4.severity),
            (CvssVersion::V40, 9.3, SeverityBand::Critical)
        );
        assert_eq!(
            v4.vector,
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
        );
    }

    #[test]
    fn bands_at_their_edges() {
        assert_eq!(SeverityBand::from_score(0.0), SeverityBand::None);
        assert_eq!(SeverityBand::from_score(0.1), SeverityBand::Low);
        assert_eq!(SeverityBand::from_score(3.9), SeverityBand::Low);
        assert_eq!(SeverityBand::from_score(4.0), SeverityBand::Medium);
        assert_eq!(SeverityBand::from_score(6.9), SeverityBand::Medium);
        assert_eq!(SeverityBand::from_score(7.0), SeverityBand::High);
        assert_eq!(SeverityBand::from_score(8.9), SeverityBand::High);
        assert_eq!(SeverityBand::from_score(9.0), SeverityBand::Critical);
        assert_eq!(SeverityBand::from_score(10.0), SeverityBand::Critical);
    }

    #[test]
    fn bad_vectors_are_errors() {
        assert!(CvssScore::parse("CVSS:3.1/AV:X").is_err());
        assert!(CvssScore::parse("CVSS:9.9/AV:N").is_err());
        assert!(CvssScore::parse("").is_err());
        assert!(CvssScore::parse("CVSS:3.1").is_err());
    }
}
