//! `vigia db …`: update, status and show.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use vigia_engine::{UpdateEvent, UpdateOptions, Updater};

use crate::cli::{Cli, DbCommand, Format, MatchArgs, ShowArgs, UpdateArgs};
use crate::output;
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
                    bar.set_message(vigia_report::printable::escape_line(source).into_owned());
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
                bar.set_message(vigia_report::printable::escape_line(source).into_owned());
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
        Format::Table => output::print(&vigia_report::db::update(
            &report,
            output::stdout_is_terminal(),
        )),
    }
    Ok(if report.failed > 0 {
        exit::PARTIAL
    } else {
        exit::OK
    })
}

async fn status(cli: &Cli, format: Format) -> Result<u8> {
    let st = vigia_engine::status(&config::engine(cli, None)?, now()).await?;
    for w in &st.warnings {
        output::warning(w);
    }
    match format {
        Format::Json => output::print_json(&st)?,
        Format::Table => {
            output::print(&vigia_report::db::status(&st, output::stdout_is_terminal()));
        }
    }
    Ok(exit::OK)
}

async fn show(cli: &Cli, args: &ShowArgs) -> Result<u8> {
    let store = vigia_engine::open_existing(&config::engine(cli, None)?).await?;
    let id = args.id.trim();
    // A CVE with no record of its own may still be reported, from the
    // advisory that names it (a DSA fixing several CVEs): that advisory is
    // what a finding of it rests on.
    let Some((v, naming)) = store.vulnerability_or_naming(id).await? else {
        return Err(crate::Exit {
            code: exit::NOT_FOUND,
            message: format!("{id} is not in the vulnerability database"),
        }
        .into());
    };
    if !naming.is_empty() {
        output::warning(&format!(
            "{id} has no record of its own in the vulnerability database; it is named by {} (shown{}), whose record findings of {id} rest on",
            naming.join(", "),
            if naming.len() > 1 { ": the first" } else { "" }
        ));
    }
    match args.format.format {
        Format::Json => output::print_json(&v)?,
        Format::Table => output::print(&vigia_report::db::vulnerability(
            &v,
            output::stdout_is_terminal(),
        )),
    }
    Ok(exit::OK)
}

/// The OSV ecosystem a user typed (`pypi` → `PyPI`, `cargo` → `crates.io`,
/// `debian:12` → `Debian:12`); a name Vigia does not know is kept as typed, and
/// matching then reports it not covered.
pub(crate) fn canonical_ecosystem(input: &str) -> String {
    let (base, release) = match input.split_once(':') {
        Some((b, r)) => (b, Some(r)),
        None => (input, None),
    };
    let Some(eco) = vigia_model::Ecosystem::from_user(base) else {
        return input.to_owned();
    };
    match release {
        // Alpine releases are `v3.20` in OSV; users often write `3.20`.
        Some(r) if eco == vigia_model::Ecosystem::Alpine && !r.starts_with('v') => {
            format!("Alpine:v{r}")
        }
        Some(r) => format!("{eco}:{r}"),
        None => eco.osv_name().to_owned(),
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
        Format::Table => output::print(&vigia_report::db::package_match(
            &result,
            output::stdout_is_terminal(),
        )),
    }
    Ok(exit::OK)
}
