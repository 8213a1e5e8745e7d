//! `vigia db …`: update, status and show.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use owo_colors::OwoColorize;
use serde::Serialize;
use vigia_engine::{SourceStatus, UpdateEvent, UpdateOptions, UpdateReport, Updater};
use vigia_feeds::Malformed;

use crate::cli::{Cli, DbCommand, Format, MatchArgs, ShowArgs, UpdateArgs};
use crate::output::{self, paint};
use crate::{config, exit};

pub(crate) use vigia_engine::STALE_AFTER_DAYS;

pub(crate) async fn run(cli: &Cli, cmd: &DbCommand) -> Result<u8> {
    match cmd {
        DbCommand::Update(args) => update(cli, args).await,
        DbCommand::Status(args) => status(cli, args.format).await,
        DbCommand::Show(args) => show(cli, args).await,
        DbCommand::Match(args) => match_one(cli, args).await,
    }
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

fn progress_target(cli: &Cli) -> ProgressDrawTarget {
    if cli.quiet || !output::stderr_is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    }
}

/// Progress bars drawn from the updater's events: one per source while it is
/// fetched, one for the ingest.
struct Bars {
    multi: MultiProgress,
    fetching: HashMap<String, ProgressBar>,
    ingest: Option<ProgressBar>,
}

impl Bars {
    fn on(&mut self, event: &UpdateEvent) {
        match event {
            UpdateEvent::WaitingForLock => {
                output::warning("another `vigia db update` is running; waiting for it to finish");
            }
            UpdateEvent::Fetching {
                source,
                bytes,
                total,
            } => {
                let multi = &self.multi;
                let bar = self.fetching.entry(source.clone()).or_insert_with(|| {
                    let bar = multi.add(ProgressBar::no_length());
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} {msg:32} {bytes:>10}/{total_bytes:10} {bytes_per_sec}",
                        )
                        .expect("valid template"),
                    );
                    bar.set_message(source.clone());
                    bar
                });
                if let Some(t) = total {
                    bar.set_length(*t);
                }
                bar.set_position(*bytes);
            }
            UpdateEvent::Fetched { source } => {
                if let Some(bar) = self.fetching.remove(source) {
                    bar.finish_and_clear();
                }
            }
            UpdateEvent::Ingesting { source, .. } => {
                let bar = self.ingest.get_or_insert_with(|| {
                    let bar = self.multi.add(ProgressBar::no_length());
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} ingesting {msg:32} {pos} records")
                            .expect("valid template"),
                    );
                    bar
                });
                bar.set_message(source.clone());
                bar.set_position(0);
            }
            UpdateEvent::Ingested { records, .. } => {
                if let Some(bar) = &self.ingest {
                    bar.set_position(*records);
                }
            }
            UpdateEvent::Grouping | UpdateEvent::Publishing => {
                if let Some(bar) = self.ingest.take() {
                    bar.finish_and_clear();
                }
            }
            _ => {}
        }
    }
}

async fn update(cli: &Cli, args: &UpdateArgs) -> Result<u8> {
    let config = config::engine(cli, None)?;
    let bars = Arc::new(Mutex::new(Bars {
        multi: MultiProgress::with_draw_target(progress_target(cli)),
        fetching: HashMap::new(),
        ingest: None,
    }));
    let sink = bars.clone();
    let updater = Updater::new(config).with_events(Arc::new(move |e: &UpdateEvent| {
        sink.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .on(e);
    }));
    let options = UpdateOptions {
        mirror: args.mirror.clone(),
        ecosystems: args.ecosystems.clone(),
        skip_enrichment: args.no_enrichment,
    };
    let mut report = updater.update(&options).await?;
    if !args.changes {
        report.changes = vigia_engine::ChangeSet::default();
    }
    match args.format.format {
        Format::Json => output::print_json(&report)?,
        Format::Table => print_update_report(&report),
    }
    Ok(if report.failed > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    })
}

fn print_update_report(r: &UpdateReport) {
    let mut out = String::new();
    for s in &r.sources {
        let status = match s.status {
            SourceStatus::Updated => paint("updated", |t| t.green().to_string()),
            SourceStatus::Failed => paint("FAILED", |t| t.red().bold().to_string()),
            SourceStatus::Unchanged => paint("unchanged", |t| t.dimmed().to_string()),
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
        if s.status == SourceStatus::Updated {
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
    output::print(&out);
}

#[derive(Debug, Serialize)]
struct StatusSource {
    name: String,
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ecosystem: Option<String>,
    records: u64,
    withdrawn: u64,
    malformed: u64,
    malformed_entries: Vec<Malformed>,
    last_update: Option<String>,
    last_check: Option<String>,
    snapshot_at: Option<String>,
    age_seconds: Option<i64>,
    stale: bool,
    location: String,
}

#[derive(Debug, Serialize)]
struct Status {
    database: String,
    sources: Vec<StatusSource>,
    alias_groups: u64,
    kev_entries: u64,
    epss_scores: u64,
    cvss_vectors: u64,
    stale: bool,
    warnings: Vec<String>,
}

async fn status(cli: &Cli, format: Format) -> Result<u8> {
    let config = config::engine(cli, None)?;
    let store = vigia_engine::open_existing(&config).await?;
    let states = store.source_states().await?;
    let (groups, kev, epss, cvss) = store.table_counts().await?;
    let now = now();
    let mut warnings = Vec::new();
    let sources: Vec<StatusSource> = states
        .into_iter()
        .map(|s| {
            let age = s.checked_at.as_deref().and_then(vigia_feeds::parse::parse_time).map(|t| now.as_second() - t.as_second());
            let stale = age.is_none_or(|a| a > STALE_AFTER_DAYS * 86_400);
            if stale {
                warnings.push(format!(
                    "{} was last updated {} ago (more than {STALE_AFTER_DAYS} days): run `vigia db update`",
                    s.name,
                    age.map_or_else(|| "never".into(), output::human_age)
                ));
            }
            StatusSource {
                name: s.name,
                kind: s.kind,
                ecosystem: s.ecosystem,
                records: s.records,
                withdrawn: s.withdrawn,
                malformed: s.malformed,
                malformed_entries: s.malformed_entries,
                last_update: s.changed_at,
                last_check: s.checked_at,
                snapshot_at: s.snapshot_at,
                age_seconds: age,
                stale,
                location: s.location,
            }
        })
        .collect();
    let database = config.database_name();
    let st = Status {
        database,
        stale: sources.iter().any(|s| s.stale),
        sources,
        alias_groups: groups,
        kev_entries: kev,
        epss_scores: epss,
        cvss_vectors: cvss,
        warnings,
    };
    for w in &st.warnings {
        output::warning(w);
    }
    match format {
        Format::Json => output::print_json(&st)?,
        Format::Table => {
            let mut out = format!("Database: {}\n\n", st.database);
            out.push_str(&format!(
                "{:<42} {:>9} {:>9} {:>9}  {:<20}  {:<20}  {}\n",
                "SOURCE", "RECORDS", "WITHDRAWN", "MALFORMED", "UPDATED", "SNAPSHOT", "AGE"
            ));
            for s in &st.sources {
                let age = s.age_seconds.map_or_else(|| "-".into(), output::human_age);
                let age = if s.stale {
                    paint(&format!("{age} (stale)"), |t| t.yellow().to_string())
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
            }
            out.push_str(&format!(
                "\n{} vulnerabilities (alias groups), {} KEV entries, {} EPSS scores, {} CVSS vectors\n",
                st.alias_groups, st.kev_entries, st.epss_scores, st.cvss_vectors
            ));
            output::print(&out);
        }
    }
    Ok(exit::OK)
}

fn short_time(t: Option<&str>) -> String {
    t.and_then(vigia_feeds::parse::parse_time)
        .map_or_else(|| "-".into(), |t| t.strftime("%Y-%m-%d %H:%M").to_string())
}

async fn show(cli: &Cli, args: &ShowArgs) -> Result<u8> {
    let store = vigia_engine::open_existing(&config::engine(cli, None)?).await?;
    let Some(v) = store.vulnerability(&args.id).await? else {
        return Err(crate::Exit {
            code: exit::NOT_FOUND,
            message: format!("{} is not in the vulnerability database", args.id.trim()),
        }
        .into());
    };
    match args.format.format {
        Format::Json => output::print_json(&v)?,
        Format::Table => output::print(&render_vulnerability(&v)),
    }
    Ok(exit::OK)
}

fn render_vulnerability(v: &vigia_store::Vulnerability) -> String {
    let mut out = String::new();
    out.push_str(&paint(&v.id, |t| t.bold().to_string()));
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
            paint("Known exploited (CISA KEV)", |t| t.red().bold().to_string()),
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

/// The OSV spelling of an ecosystem a user typed (`pypi` → `PyPI`, `cargo` → `crates.io`).
pub(crate) fn canonical_ecosystem(input: &str) -> String {
    let (base, release) = match input.split_once(':') {
        Some((b, r)) => (b, Some(r)),
        None => (input, None),
    };
    let base = match base.to_ascii_lowercase().as_str() {
        "debian" | "deb" => "Debian",
        "ubuntu" => "Ubuntu",
        "alpine" | "apk" => "Alpine",
        "redhat" | "red hat" | "rhel" => "Red Hat",
        "suse" => "SUSE",
        "pypi" | "python" | "pip" => "PyPI",
        "npm" | "node" => "npm",
        "crates.io" | "cargo" | "rust" => "crates.io",
        "go" | "golang" => "Go",
        "maven" | "java" => "Maven",
        "rubygems" | "gem" | "ruby" => "RubyGems",
        "nuget" | ".net" | "dotnet" => "NuGet",
        "packagist" | "composer" | "php" => "Packagist",
        _ => base,
    }
    .to_owned();
    match release {
        // Alpine releases are `v3.20` in OSV; users often write `3.20`.
        Some(r) if base == "Alpine" && !r.starts_with('v') => format!("Alpine:v{r}"),
        Some(r) => format!("{base}:{r}"),
        None => base,
    }
}

async fn match_one(cli: &Cli, args: &MatchArgs) -> Result<u8> {
    let scanner = vigia_engine::Scanner::new(config::engine(cli, None)?)?;
    let ecosystem = match &args.distro {
        Some(d) => canonical_ecosystem(d),
        None => canonical_ecosystem(&args.ecosystem),
    };
    let pkg = vigia_match::Package {
        ecosystem,
        name: args.name.clone(),
        version: args.installed.clone(),
        source_name: args.source_name.clone(),
        source_version: args.source_version.clone(),
    };
    let result = scanner.match_package(&pkg).await?;
    match args.format.format {
        Format::Json => output::print_json(&result)?,
        Format::Table => output::print(&render_match(&result)),
    }
    Ok(exit::OK)
}

fn render_match(r: &vigia_match::PackageResult) -> String {
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
    if let vigia_match::Coverage::NotCovered { reason } = &r.coverage {
        out.push_str(&format!(
            "{}: {reason}\n",
            paint("NOT COVERED", |t| t.yellow().bold().to_string())
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
            (None, vigia_match::FixStatus::WillNotFix) => "will not fix".into(),
            (None, _) => "no fix yet".into(),
        };
        out.push_str(&format!(
            "\n{}  {}\n",
            paint(&f.vulnerability_id, |t| t.bold().to_string()),
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
