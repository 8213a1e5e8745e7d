//! The advisory database's own outputs, for people: `vigia db update`,
//! `db status`, `db show` and `db match`. Colour only when `color` is set
//! (the caller knows whether it writes to a terminal).

use owo_colors::OwoColorize;
use vigia_engine::{DatabaseStatus, FeedKind, SourceStatus, UpdateReport};
use vigia_match::{Coverage, FixStatus, PackageResult};
use vigia_store::Vulnerability;

/// `text` painted with `f` when `color` is set.
fn paint(color: bool, text: &str, f: impl Fn(&str) -> String) -> String {
    if color { f(text) } else { text.to_owned() }
}

/// `vigia db update`'s table: each source's outcome, then the totals.
#[must_use]
pub fn update(r: &UpdateReport, color: bool) -> String {
    // Names, paths and advisory text come from feeds and inputs: escaped.
    crate::printable::render(r, color, update_drawn)
}

fn update_drawn(r: &UpdateReport, color: bool) -> String {
    let mut out = String::new();
    for s in &r.sources {
        let status = match s.status {
            SourceStatus::Updated => paint(color, "updated", |t| t.green().to_string()),
            SourceStatus::Failed => paint(color, "FAILED", |t| t.red().bold().to_string()),
            SourceStatus::Unchanged => paint(color, "unchanged", |t| t.dimmed().to_string()),
        };
        out.push_str(&format!(
            "{status:>9}  {:<45} {:>8} records",
            s.name, s.records
        ));
        if s.withdrawn > 0 {
            out.push_str(&format!(" ({} withdrawn)", s.withdrawn));
        }
        if !s.malformed.is_empty() {
            out.push_str(&format!(", {} malformed skipped", s.malformed.len()));
        }
        // Enrichment sources change scores, not which packages match.
        if s.status == SourceStatus::Updated && s.kind == FeedKind::Osv {
            out.push_str(&format!(", {} packages changed", s.changed_packages));
        }
        out.push('\n');
        for m in s.malformed.iter().take(20) {
            out.push_str(&format!("           skipped {}: {}\n", m.entry, m.reason));
        }
        if s.malformed.len() > 20 {
            out.push_str(&format!(
                "           … and {} more (see --format json)\n",
                s.malformed.len() - 20
            ));
        }
        if let Some(e) = &s.error {
            out.push_str(&format!("           {e}\n"));
        }
    }
    out.push_str(&format!(
        "\n{} updated, {} unchanged, {} failed; {} records ingested in {:.1}s into {} (generation {})\n",
        r.updated, r.unchanged, r.failed, r.records_ingested, r.seconds, r.database, r.generation
    ));
    if r.failed > 0 {
        out.push_str("The failed sources keep their previous data; run `vigia db update` again to retry them.\n");
    }
    out
}

/// `vigia db status`'s table: each source's records, update and snapshot
/// times and age, then the derived tables' counts.
#[must_use]
pub fn status(st: &DatabaseStatus, color: bool) -> String {
    // Names, paths and advisory text come from feeds and inputs: escaped.
    crate::printable::render(st, color, status_drawn)
}

fn status_drawn(st: &DatabaseStatus, color: bool) -> String {
    let mut out = format!("Database: {}\n\n", st.database);
    out.push_str(&format!(
        "{:<42} {:>9} {:>9} {:>9}  {:<20}  {:<20}  {}\n",
        "SOURCE", "RECORDS", "WITHDRAWN", "MALFORMED", "UPDATED", "SNAPSHOT", "AGE"
    ));
    for s in &st.sources {
        let age = s
            .age_seconds
            .map_or_else(|| "-".into(), vigia_engine::human_age);
        let age = if s.stale {
            paint(color, &format!("{age} (stale)"), |t| t.yellow().to_string())
        } else {
            age
        };
        out.push_str(&format!(
            "{:<42} {:>9} {:>9} {:>9}  {:<20}  {:<20}  {}\n",
            s.name,
            s.records,
            s.withdrawn,
            s.malformed,
            short_time(s.last_update.as_deref()),
            short_time(s.snapshot_at.as_deref()),
            age
        ));
        if let Some(e) = &s.last_error {
            out.push_str(&format!(
                "  {} {}: {e}\n",
                paint(color, "last attempt FAILED", |t| t.red().to_string()),
                short_time(s.last_attempt.as_deref()),
            ));
        }
    }
    out.push_str(&format!(
        "\n{} vulnerabilities (alias groups), {} KEV entries, {} EPSS scores, {} CVSS vectors\n",
        st.alias_groups, st.kev_entries, st.epss_scores, st.cvss_vectors
    ));
    out
}

fn short_time(t: Option<&str>) -> String {
    t.and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or_else(|| "-".into(), |t| t.strftime("%Y-%m-%d %H:%M").to_string())
}

/// `vigia db show`: one vulnerability with its IDs, scores, KEV, EPSS,
/// advisories, affected ranges and references.
#[must_use]
pub fn vulnerability(v: &Vulnerability, color: bool) -> String {
    // Names, paths and advisory text come from feeds and inputs: escaped.
    crate::printable::render(v, color, vulnerability_drawn)
}

fn vulnerability_drawn(v: &Vulnerability, color: bool) -> String {
    let mut out = String::new();
    out.push_str(&paint(color, &v.id, |t| t.bold().to_string()));
    out.push('\n');
    let others: Vec<&str> = v
        .aliases
        .iter()
        .map(String::as_str)
        .filter(|a| *a != v.id)
        .collect();
    if !others.is_empty() {
        out.push_str(&format!("Also known as: {}\n", others.join(", ")));
    }
    if let Some(summary) = v
        .advisories
        .iter()
        .find_map(|a| a.summary.as_deref())
        .or_else(|| v.advisories.iter().find_map(|a| a.details.as_deref()))
    {
        out.push_str(&format!(
            "\n{}\n",
            summary.lines().next().unwrap_or_default()
        ));
    }
    if let Some(c) = v.cvss.first() {
        out.push_str(&format!(
            "\nSeverity: {} {} ({} CVSS {}, {})\n",
            c.severity, c.score, c.scorer, c.version, c.vector
        ));
    } else {
        out.push_str("\nSeverity: untriaged (no CVSS vector in any source)\n");
    }
    if v.cvss.len() > 1 {
        out.push_str("CVSS by source:\n");
        for c in &v.cvss {
            out.push_str(&format!(
                "  {:<28} {:>4} {:<8} CVSS {} {}\n",
                format!("{} ({})", c.scorer, c.origin),
                c.score,
                c.severity,
                c.version,
                c.vector
            ));
        }
    }
    for k in &v.kev {
        out.push_str(&format!(
            "{}: {} — added {} (due {}), ransomware use: {}\n",
            paint(color, "Known exploited (CISA KEV)", |t| t
                .red()
                .bold()
                .to_string()),
            k.vulnerability_name,
            k.date_added,
            k.due_date,
            k.known_ransomware_campaign_use
        ));
    }
    for e in &v.epss {
        out.push_str(&format!(
            "EPSS: {:.5} (percentile {:.5}) for {}\n",
            e.score, e.percentile, e.cve
        ));
    }
    out.push_str("\nAdvisories:\n");
    for a in &v.advisories {
        let withdrawn = a
            .withdrawn
            .as_deref()
            .map(|w| format!(" WITHDRAWN {w}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "  {:<24} {:<22} modified {}{withdrawn}\n",
            a.id, a.source, a.modified
        ));
    }
    if !v.related.is_empty() {
        let rel: Vec<String> = v
            .related
            .iter()
            .map(|r| format!("{} ({})", r.advisory_id, r.relation))
            .collect();
        out.push_str(&format!("Also named by: {}\n", rel.join(", ")));
    }
    if !v.affected.is_empty() {
        out.push_str("\nAffected:\n");
        for a in &v.affected {
            out.push_str(&format!(
                "  {} {} ({})\n",
                a.ecosystem, a.name, a.advisory_id
            ));
            for r in &a.ranges {
                let events: Vec<String> = r
                    .events
                    .iter()
                    .map(|e| {
                        if let Some(x) = &e.introduced {
                            format!("introduced {x}")
                        } else if let Some(x) = &e.fixed {
                            format!("fixed {x}")
                        } else if let Some(x) = &e.last_affected {
                            format!("last affected {x}")
                        } else if let Some(x) = &e.limit {
                            format!("limit {x}")
                        } else {
                            "?".into()
                        }
                    })
                    .collect();
                out.push_str(&format!("    {:?}: {}\n", r.kind, events.join(", ")));
            }
            if !a.versions.is_empty() {
                let shown: Vec<&str> = a.versions.iter().take(12).map(String::as_str).collect();
                let more = if a.versions.len() > 12 {
                    format!(" … ({} in all)", a.versions.len())
                } else {
                    String::new()
                };
                out.push_str(&format!("    versions: {}{more}\n", shown.join(", ")));
            }
            if let Some(urgency) = a
                .ecosystem_specific
                .as_ref()
                .and_then(|e| e.get("urgency"))
                .and_then(|u| u.as_str())
            {
                out.push_str(&format!("    urgency: {urgency}\n"));
            }
        }
    }
    let refs: Vec<&str> = v
        .advisories
        .iter()
        .flat_map(|a| a.references.iter().map(|r| r.url.as_str()))
        .collect();
    if !refs.is_empty() {
        out.push_str("\nReferences:\n");
        let mut seen = std::collections::BTreeSet::new();
        for r in refs.into_iter().filter(|r| seen.insert(*r)).take(15) {
            out.push_str(&format!("  {r}\n"));
        }
    }
    out
}

/// `vigia db match`: why a package version is (or is not) affected.
#[must_use]
pub fn package_match(r: &PackageResult, color: bool) -> String {
    // Names, paths and advisory text come from feeds and inputs: escaped.
    crate::printable::render(r, color, package_match_drawn)
}

fn package_match_drawn(r: &PackageResult, color: bool) -> String {
    let p = &r.package;
    let mut out = String::new();
    let via = match &p.source_name {
        Some(s) if *s != p.name => format!(", source package {s} {}", p.lookup_version()),
        _ => String::new(),
    };
    out.push_str(&format!(
        "{} {} ({}{via})\n",
        p.name, p.version, p.ecosystem
    ));
    if let Coverage::NotCovered { reason } = &r.coverage {
        out.push_str(&format!(
            "{}: {reason}\n",
            paint(color, "NOT COVERED", |t| t.yellow().bold().to_string())
        ));
        out.push_str("No findings here do not mean the package is safe.\n");
        return out;
    }
    if let Coverage::NotEvaluated { reason } = &r.coverage {
        out.push_str(&format!(
            "{}: {reason}\n",
            paint(color, "NOT EVALUATED", |t| t.yellow().bold().to_string())
        ));
        out.push_str("No findings here do not mean the package is safe.\n");
        return out;
    }
    if r.findings.is_empty() {
        out.push_str("No known vulnerability affects this version.\n");
    }
    for f in &r.findings {
        let fix = match (&f.fixed_version, f.fix_status) {
            (Some(v), _) => format!("fixed in {v}"),
            (None, FixStatus::WillNotFix) => "will not fix".into(),
            (None, _) => "no fix yet".into(),
        };
        out.push_str(&format!(
            "\n{}  {}\n",
            paint(color, &f.vulnerability_id, |t| t.bold().to_string()),
            fix
        ));
        let others: Vec<&str> = f
            .aliases
            .iter()
            .map(String::as_str)
            .filter(|a| *a != f.vulnerability_id)
            .collect();
        if !others.is_empty() {
            out.push_str(&format!("  also known as: {}\n", others.join(", ")));
        }
        if !f.related.is_empty() {
            out.push_str(&format!("  also fixed by: {}\n", f.related.join(", ")));
        }
        if let Some(u) = &f.urgency {
            out.push_str(&format!("  vendor urgency: {u}\n"));
        }
        if let Some(i) = &f.informational {
            out.push_str(&format!("  informational: {i}\n"));
        }
        out.push_str(&format!("  why: {}\n", f.reason));
        for a in f.advisories.iter().skip(1) {
            out.push_str(&format!(
                "       and {} ({}): {}\n",
                a.id, a.ecosystem, a.matched
            ));
        }
    }
    for w in &r.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out
}
