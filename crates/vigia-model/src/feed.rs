//! What advisory feeds hand over, one item at a time, and what Vigia remembers
//! of a fetch: the types the feed parsers produce and the store consumes.

use serde::{Deserialize, Serialize};

use crate::Osv;

/// What Vigia remembers of a source's last successful fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The `ETag` the server sent.
    pub etag: Option<String>,
    /// The `Last-Modified` the server sent.
    pub last_modified: Option<String>,
    /// SHA-256 of the content, hex.
    pub sha256: Option<String>,
}

/// One parsed item.
#[derive(Debug)]
pub enum Item {
    /// An OSV record.
    Advisory {
        /// The parsed record.
        record: Box<Osv>,
    },
    /// A KEV catalogue entry.
    Kev(KevEntry),
    /// An EPSS score.
    Epss(EpssRow),
    /// A CVSS vector from NVD.
    Cvss(NvdCvss),
}

/// One entry of CISA's KEV catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KevEntry {
    /// The CVE.
    #[serde(rename = "cveID")]
    pub cve_id: String,
    /// Vendor or project.
    #[serde(default)]
    pub vendor_project: String,
    /// Product.
    #[serde(default)]
    pub product: String,
    /// Name of the vulnerability.
    #[serde(default)]
    pub vulnerability_name: String,
    /// When CISA added it (date).
    #[serde(default)]
    pub date_added: String,
    /// Short description.
    #[serde(default)]
    pub short_description: String,
    /// Required action.
    #[serde(default)]
    pub required_action: String,
    /// Due date for US federal agencies.
    #[serde(default)]
    pub due_date: String,
    /// `Known` or `Unknown`.
    #[serde(default)]
    pub known_ransomware_campaign_use: String,
    /// Notes.
    #[serde(default)]
    pub notes: String,
}

/// One EPSS score.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EpssRow {
    /// The CVE.
    pub cve: String,
    /// Probability of exploitation in the next 30 days.
    pub score: f64,
    /// Percentile among all scored CVEs.
    pub percentile: f64,
}

/// One CVSS metric of one NVD CVE.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NvdCvss {
    /// The CVE.
    pub cve: String,
    /// Who scored it (`nvd@nist.gov`, a CNA's address).
    pub scorer: String,
    /// `Primary` or `Secondary`.
    pub kind: String,
    /// The vector string as NVD gives it.
    pub vector: String,
}

/// A record that was skipped.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Malformed {
    /// Where it is: a zip entry name, `line N`, `vulnerabilities[N]`.
    pub entry: String,
    /// Why it was skipped.
    pub reason: String,
}
