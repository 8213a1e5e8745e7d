//! Which score and rating a finding's severity comes from.

use vigia_store::{CvssRow, Vulnerability};

use crate::{Severity, source_name};

/// The score a finding's severity comes from, and where it came from.
pub(crate) struct Chosen<'a> {
    pub(crate) row: &'a CvssRow,
    pub(crate) origin: &'static str,
}

/// Severity: the distro vendor's CVSS, else NVD's, else the advisory's own.
pub(crate) fn choose_cvss<'a>(
    v: &'a Vulnerability,
    matched: &[&str],
    os: bool,
) -> Option<Chosen<'a>> {
    if os
        && let Some(row) = v
            .cvss
            .iter()
            .find(|c| c.origin == "osv" && matched.contains(&c.scorer.as_str()))
    {
        return Some(Chosen {
            row,
            origin: "vendor",
        });
    }
    if let Some(row) = v.cvss.iter().find(|c| c.origin == "nvd") {
        return Some(Chosen { row, origin: "nvd" });
    }
    v.cvss
        .iter()
        .filter(|c| c.origin == "osv")
        .min_by_key(|c| !matched.contains(&c.scorer.as_str()))
        .map(|row| Chosen {
            row,
            origin: "advisory",
        })
}

/// Without any CVSS vector: the vendor's own rating (Debian urgency), else the
/// advisory's (GitHub's reviewed severity). Debian's `unimportant` is Low, as
/// other scanners report it; `not yet assigned` is no rating.
pub(crate) fn rating(
    v: Option<&Vulnerability>,
    matched: &[&str],
    urgency: Option<&str>,
) -> Option<(Severity, &'static str)> {
    let word = |w: &str| -> Option<Severity> {
        match w.trim().trim_end_matches('*').to_ascii_lowercase().as_str() {
            "critical" => Some(Severity::Critical),
            "high" | "important" => Some(Severity::High),
            "medium" | "moderate" => Some(Severity::Medium),
            "low" | "unimportant" | "negligible" => Some(Severity::Low),
            _ => None,
        }
    };
    if let Some(sev) = urgency.and_then(word) {
        return Some((sev, "vendor-rating"));
    }
    let mut records: Vec<_> = v?.advisories.iter().collect();
    records.sort_by_key(|a| !matched.contains(&a.id.as_str()));
    records.iter().find_map(|a| {
        let w = a.database_specific.as_ref()?.get("severity")?.as_str()?;
        word(w).map(|s| (s, "advisory-rating"))
    })
}

/// Who a vector comes from: `NVD` for NVD's own analysts, the CNA for vectors
/// NVD carries from one (`secalert@redhat.com`), else the record's source.
pub(crate) fn cvss_source(row: &CvssRow) -> String {
    if row.origin == "nvd" {
        if row.scorer.is_empty() || row.scorer == "nvd@nist.gov" {
            "NVD".into()
        } else {
            row.scorer.clone()
        }
    } else {
        source_name(&row.scorer).into()
    }
}

pub(crate) fn vendor_severity(v: Option<&Vulnerability>, urgency: Option<&str>) -> Option<String> {
    // The tracker's `not yet assigned` is the absence of a rating.
    if let Some(u) = urgency.filter(|u| !u.is_empty() && !u.starts_with("not yet")) {
        return Some(u.to_owned());
    }
    v?.advisories.iter().find_map(|a| {
        a.database_specific
            .as_ref()?
            .get("severity")?
            .as_str()
            .map(str::to_owned)
    })
}
