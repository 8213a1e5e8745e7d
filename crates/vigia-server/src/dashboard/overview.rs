//! The overview: coverage, findings by severity, what to fix first, the
//! most affected resources, the trend, and the advisory feed's freshness.
//! Each figure is one API call, and each links to the list behind it.

use axum::Extension;
use axum::extract::State;
use axum::response::Html;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::view::{self, findings_link, int, num, text};
use super::{Ui, UiError};
use crate::accounts::Session;

/// Seconds between the overview's reloads (Inspector's console: five
/// minutes).
const REFRESH_SECONDS: u32 = 300;
/// ... and while newer figures are being computed.
const STALE_REFRESH_SECONDS: u32 = 5;

fn aggregation(kind: &str, inner_key: &str, sort_by: &str, max: u32) -> Value {
    json!({
        "aggregationType": kind,
        "aggregationRequest": { inner_key: { "sortBy": sort_by, "sortOrder": "DESC" } },
        "maxResults": max,
    })
}

fn responses(v: &Value) -> &[Value] {
    v["responses"].as_array().map_or(&[], Vec::as_slice)
}

/// The overview's figures: the answers of the API calls behind it (all but
/// the feeds' status, asked for each time).
#[derive(Debug)]
pub(super) struct Figures {
    by_type: Value,
    by_reason: Value,
    types: Value,
    packages: Value,
    titles: Value,
    images: Value,
    hosts: Value,
    functions: Value,
    repositories: Value,
    exploited: Value,
    likely: Value,
    trend: Value,
}

/// Asks the API for every figure, one call each.
async fn figures(ui: &Ui, s: &Session) -> Result<Figures, UiError> {
    let by_type = ui
        .call(
            s,
            "/coverage/statistics/list",
            Some(&json!({"groupBy": "RESOURCE_TYPE"})),
        )
        .await?;
    let by_reason = ui
        .call(
            s,
            "/coverage/statistics/list",
            Some(&json!({"groupBy": "SCAN_STATUS_REASON"})),
        )
        .await?;
    let types = ui
        .call(
            s,
            "/findings/aggregation/list",
            Some(&json!({"aggregationType": "FINDING_TYPE"})),
        )
        .await?;
    let packages = ui
        .call(
            s,
            "/findings/aggregation/list",
            Some(&aggregation("PACKAGE", "packageAggregation", "CRITICAL", 5)),
        )
        .await?;
    let titles = ui
        .call(
            s,
            "/findings/aggregation/list",
            Some(&aggregation("TITLE", "titleAggregation", "CRITICAL", 5)),
        )
        .await?;
    let images = ui
        .call(
            s,
            "/findings/aggregation/list",
            Some(&aggregation(
                "AWS_ECR_CONTAINER",
                "awsEcrContainerAggregation",
                "CRITICAL",
                5,
            )),
        )
        .await?;
    let hosts = ui
        .call(
            s,
            "/findings/aggregation/list",
            Some(&aggregation(
                "AWS_EC2_INSTANCE",
                "ec2InstanceAggregation",
                "CRITICAL",
                5,
            )),
        )
        .await?;
    let functions = ui
        .call(
            s,
            "/findings/aggregation/list",
            Some(&aggregation(
                "AWS_LAMBDA_FUNCTION",
                "lambdaFunctionAggregation",
                "CRITICAL",
                5,
            )),
        )
        .await?;
    let repositories = ui
        .call(
            s,
            "/findings/aggregation/list",
            Some(&aggregation(
                "REPOSITORY",
                "repositoryAggregation",
                "CRITICAL",
                5,
            )),
        )
        .await?;
    let exploited = ui
        .call(
            s,
            "/findings/list",
            Some(&json!({
                "filterCriteria": {
                    "findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}],
                    "exploitAvailable": [{"comparison": "EQUALS", "value": "YES"}],
                },
                "sortCriteria": {"field": "EPSS_SCORE", "sortOrder": "DESC"},
                "maxResults": 10,
            })),
        )
        .await?;
    let likely = ui
        .call(
            s,
            "/findings/list",
            Some(&json!({
                "filterCriteria": {
                    "findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}],
                    "epssScore": [{"lowerInclusive": 0.1, "upperInclusive": 1.0}],
                },
                "sortCriteria": {"field": "EPSS_SCORE", "sortOrder": "DESC"},
                "maxResults": 10,
            })),
        )
        .await?;
    let trend = ui.call(s, "/v1/findings/trend?days=30", None).await?;

    Ok(Figures {
        by_type,
        by_reason,
        types,
        packages,
        titles,
        images,
        hosts,
        functions,
        repositories,
        exploited,
        likely,
        trend,
    })
}

/// The figures, kept while nothing changes (see `super::snapshot`), and
/// when they are older than the latest change, as of when.
async fn kept_figures(
    ui: &Ui,
    s: &Session,
) -> Result<(std::sync::Arc<Figures>, Option<String>), UiError> {
    let failed = |message: String| UiError {
        status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        message,
    };
    let (latest, rest) = ui
        .svc
        .db
        .change_stamp()
        .await
        .map_err(|e| failed(vigia_engine::error_chain(&e)))?;
    let now = || {
        jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    // The trend's window moves with the day.
    let stamp = super::snapshot::Stamp {
        latest,
        rest: format!("{rest}|{}", &now()[..10]),
    };
    let overview = std::sync::Arc::clone(&ui.overview);
    let (ui, s) = (ui.clone(), s.clone());
    let compute = move || {
        let (ui, s) = (ui.clone(), s.clone());
        async move { figures(&ui, &s).await.map_err(|e| e.message) }
    };
    overview.get(&stamp, now, compute).await.map_err(failed)
}

/// Computes the figures once the service is ready (given up after ten
/// minutes without an advisory generation).
pub(super) async fn warm(ui: Ui) {
    for _ in 0..600 {
        if ui.svc.ready().await {
            let reader = Session {
                role: crate::auth::Role::Viewer,
                subject: "vigia:overview".into(),
                csrf: String::new(),
            };
            if let Err(e) = kept_figures(&ui, &reader).await {
                tracing::debug!(error = %e.message, "the overview's first figures failed");
            }
            return;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// `GET /ui/`.
pub(super) async fn page(
    State(ui): State<Ui>,
    Extension(s): Extension<Session>,
) -> Result<Html<String>, UiError> {
    let (f, as_of) = kept_figures(&ui, &s).await?;
    let Figures {
        by_type,
        by_reason,
        types,
        packages,
        titles,
        images,
        hosts,
        functions,
        repositories,
        exploited,
        likely,
        trend,
    } = &*f;
    let db = ui.call(&s, "/v1/db/status", None).await?;
    let body = html! {
        @if let Some(t) = &as_of {
            p.note role="status" {
                "Figures as of " time datetime=(t) { (t) }
                "; newer ones are being computed and show when this page reloads."
            }
        }
        div.grid {
            (coverage(by_type, by_reason))
            (severities(types))
        }
        (trend_chart(trend))
        div.grid {
            (fix_list("Known exploited (KEV)", "exploited", exploited,
                &findings_link(&[("status", "ACTIVE"), ("exploit", "YES"), ("sort", "EPSS_SCORE")])))
            (fix_list("Likely to be exploited (EPSS ≥ 0.1)", "likely", likely,
                &findings_link(&[("status", "ACTIVE"), ("epssMin", "0.1"), ("sort", "EPSS_SCORE")])))
        }
        (fix_plan(packages))
        div.grid {
            (top("Most common vulnerabilities", "titles", titles, |r| {
                let t = &r["titleAggregation"];
                let id = text(&t["vulnerabilityId"]);
                (text(&t["title"]).to_owned(), findings_link(&[("status", "ACTIVE"), ("vuln", id)]), t["severityCounts"].clone())
            }))
            (top("Most affected images", "images", images, |r| {
                let a = &r["awsEcrContainerAggregation"];
                let tag = a["imageTags"][0].as_str().map(|t| format!(":{t}")).unwrap_or_default();
                (format!("{}{tag}", text(&a["repository"])), format!("/ui/resource?id={}", view::enc(text(&a["resourceId"]))), a["severityCounts"].clone())
            }))
            (top("Most affected hosts", "hosts", hosts, |r| {
                let a = &r["ec2InstanceAggregation"];
                (text(&a["instanceId"]).to_owned(), format!("/ui/resource?id={}", view::enc(text(&a["instanceId"]))), a["severityCounts"].clone())
            }))
            (top("Most affected functions", "functions", functions, |r| {
                let a = &r["lambdaFunctionAggregation"];
                (text(&a["functionName"]).to_owned(), format!("/ui/resource?id={}", view::enc(text(&a["resourceId"]))), a["severityCounts"].clone())
            }))
            (top("Most affected repositories", "repositories", repositories, |r| {
                let a = &r["repositoryAggregation"];
                (text(&a["repository"]).to_owned(), findings_link(&[("status", "ACTIVE"), ("repository", text(&a["repository"]))]), a["severityCounts"].clone())
            }))
            (feed(&db))
        }
    };
    Ok(Html(
        view::page_with(
            "Overview",
            "/ui/",
            &s,
            Some(if as_of.is_some() {
                STALE_REFRESH_SECONDS
            } else {
                REFRESH_SECONDS
            }),
            &body,
        )
        .into_string(),
    ))
}

fn counts(v: &Value) -> &[Value] {
    v["countsByGroup"].as_array().map_or(&[], Vec::as_slice)
}

fn coverage(by_type: &Value, by_reason: &Value) -> Markup {
    let total = int(&by_type["totalCounts"]);
    let ok: i64 = counts(by_reason)
        .iter()
        .filter(|c| c["vigiaGroupValue"] == "SUCCESSFUL")
        .map(|c| int(&c["count"]))
        .sum();
    html! {
        section.card #coverage aria-labelledby="coverage-h" {
            h2 #coverage-h { "Coverage" }
            p.big { a href="/ui/resources" data-count="resources" { (num(total)) } " resources, "
                a href="/ui/resources?reason=SUCCESSFUL" data-count="successful" { (num(ok)) } " scanned successfully" }
            table {
                caption.visually-hidden { "Resources by type" }
                thead { tr { th scope="col" { "Type" } th.n scope="col" { "Resources" } } }
                tbody {
                    @for c in counts(by_type) {
                        tr {
                            th scope="row" { (view::resource_type(text(&c["vigiaGroupValue"]))) }
                            td.n { a href={ "/ui/resources?type=" (view::enc(text(&c["vigiaGroupValue"]))) }
                                data-count={ "type-" (text(&c["vigiaGroupValue"])) } { (num(int(&c["count"]))) } }
                        }
                    }
                }
            }
            @let other: Vec<&Value> = counts(by_reason).iter().filter(|c| c["vigiaGroupValue"] != "SUCCESSFUL").collect();
            @if !other.is_empty() {
                h3 { "Not scanned successfully" }
                ul.reasons {
                    @for c in other {
                        li { a href={ "/ui/resources?reason=" (view::enc(text(&c["vigiaGroupValue"]))) }
                            data-count={ "reason-" (text(&c["vigiaGroupValue"])) } {
                            (num(int(&c["count"]))) " " code { (text(&c["vigiaGroupValue"])) } } }
                    }
                }
            }
        }
    }
}

/// Active findings by severity: the finding-type aggregation's counts,
/// added over the types.
fn severities(types: &Value) -> Markup {
    let mut by = [0i64; 6];
    for r in responses(types) {
        let c = &r["findingTypeAggregation"]["severityCounts"];
        for (i, key) in [
            "critical",
            "high",
            "medium",
            "vigiaLow",
            "vigiaInformational",
            "vigiaUntriaged",
        ]
        .iter()
        .enumerate()
        {
            by[i] += int(&c[*key]);
        }
    }
    let total: i64 = by.iter().sum();
    html! {
        section.card #severity aria-labelledby="severity-h" {
            h2 #severity-h { "Active findings by severity" }
            p.big { a href=(findings_link(&[("status", "ACTIVE")])) data-count="active" { (num(total)) } " active findings" }
            ul.severities {
                @for (i, (name, class)) in view::SEVERITIES.iter().enumerate() {
                    li class={ "tile sev-" (class) } {
                        a href=(findings_link(&[("status", "ACTIVE"), ("severity", name)])) data-count={ "severity-" (name) } {
                            span.n { (num(by[i])) }
                            span { (name.to_lowercase()) }
                        }
                    }
                }
            }
        }
    }
}

fn severity_cells(c: &Value) -> Markup {
    html! {
        td.n { (num(int(&c["critical"]))) }
        td.n { (num(int(&c["high"]))) }
        td.n { (num(int(&c["all"]))) }
    }
}

fn top(
    title: &str,
    id: &str,
    agg: &Value,
    row: impl Fn(&Value) -> (String, String, Value),
) -> Markup {
    let rows = responses(agg);
    html! {
        section.card #(id) aria-labelledby={ (id) "-h" } {
            h2 id={ (id) "-h" } { (title) }
            @if rows.is_empty() {
                p.muted { "None with active findings." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Name" } th.n scope="col" { "Critical" } th.n scope="col" { "High" } th.n scope="col" { "All" } } }
                    tbody {
                        @for r in rows {
                            @let (name, link, c) = row(r);
                            tr { td.name { a href=(link) { (name) } } (severity_cells(&c)) }
                        }
                    }
                }
            }
        }
    }
}

/// "Which five upgrades close the most critical findings": the package
/// aggregation sorted by critical findings.
fn fix_plan(packages: &Value) -> Markup {
    html! {
        section.card #fix-plan aria-labelledby="fix-plan-h" {
            h2 #fix-plan-h { "Fix plan: the five packages with the most critical findings" }
            @if responses(packages).is_empty() {
                p.muted { "No package has active findings." }
            } @else {
                ol.plan {
                    @for r in responses(packages) {
                        @let p = &r["packageAggregation"];
                        @let name = text(&p["packageName"]);
                        li {
                            a href=(findings_link(&[("status", "ACTIVE"), ("package", name), ("sort", "SEVERITY")])) { code { (name) } }
                            " — " (num(int(&p["severityCounts"]["critical"]))) " critical, "
                            (num(int(&p["severityCounts"]["all"]))) " in all"
                        }
                    }
                }
            }
        }
    }
}

fn fix_list(title: &str, id: &str, list: &Value, more: &str) -> Markup {
    let findings = list["findings"].as_array().map_or(&[][..], Vec::as_slice);
    html! {
        section.card #(id) aria-labelledby={ (id) "-h" } {
            h2 id={ (id) "-h" } { (title) }
            @if findings.is_empty() {
                p.muted { "None active." }
            } @else {
                table {
                    thead { tr { th scope="col" { "Severity" } th scope="col" { "Finding" } th.n scope="col" { "EPSS" } } }
                    tbody {
                        @for f in findings {
                            tr {
                                td { (view::severity(text(&f["severity"]))) }
                                td.name { a href={ "/ui/finding?arn=" (view::enc(text(&f["findingArn"]))) } { (text(&f["title"])) } }
                                td.n { (f["epss"]["score"].as_f64().map_or_else(|| "–".to_owned(), |e| format!("{e:.3}"))) }
                            }
                        }
                    }
                }
                p { a href=(more) { "All of them" } }
            }
        }
    }
}

/// Open findings by severity, a stacked bar per day (SVG drawn here: no
/// chart library, no script).
fn trend_chart(trend: &Value) -> Markup {
    let days = trend["days"].as_array().map_or(&[][..], Vec::as_slice);
    let totals: Vec<i64> = days
        .iter()
        .map(|d| {
            d["counts"]
                .as_array()
                .map_or(0, |c| c.iter().map(int).sum())
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let (w, h, pad) = (720i64, 180i64, 24i64);
    let n = i64::try_from(days.len()).unwrap_or(1).max(1);
    let step = (w - pad) / n;
    let bar = (step - 2).max(1);
    html! {
        section.card.wide #trend aria-labelledby="trend-h" {
            h2 #trend-h { "Open findings, last " (days.len()) " days" }
            svg.chart viewBox={ "0 0 " (w) " " (h + 20) } role="img" aria-labelledby="trend-h trend-desc" {
                desc #trend-desc { "Active findings at the end of each day, stacked by severity. The table below has the same numbers." }
                line.axis x1=(pad) y1=(h) x2=(w) y2=(h) {}
                text.axis-label x="0" y="12" { (num(max)) }
                text.axis-label x="0" y=(h) { "0" }
                @for (i, d) in days.iter().enumerate() {
                    @let x = pad + i64::try_from(i).unwrap_or(0) * step;
                    @let mut y = h;
                    @for (j, (name, class)) in view::SEVERITIES.iter().enumerate() {
                        @let c = int(&d["counts"][j]);
                        @if c > 0 {
                            @let bh = (c * (h - 16) / max).max(1);
                            @let top_y = { y -= bh; y };
                            rect class={ "bar sev-" (class) } x=(x) y=(top_y) width=(bar) height=(bh) {
                                title { (text(&d["date"])) ": " (num(c)) " " (name.to_lowercase()) }
                            }
                        }
                    }
                }
                @if let (Some(first), Some(last)) = (days.first(), days.last()) {
                    text.axis-label x=(pad) y=(h + 16) { (text(&first["date"])) }
                    text.axis-label.end x=(w) y=(h + 16) { (text(&last["date"])) }
                }
            }
            ul.legend {
                @for (name, class) in view::SEVERITIES {
                    li { span class={ "swatch sev-" (class) } {} (name.to_lowercase()) }
                }
            }
            details {
                summary { "The numbers" }
                div.scroll {
                    table {
                        thead { tr { th scope="col" { "Day" } @for (name, _) in view::SEVERITIES { th.n scope="col" { (name.to_lowercase()) } } } }
                        tbody {
                            @for d in days {
                                tr { th scope="row" { (text(&d["date"])) } @for j in 0..6 { td.n { (num(int(&d["counts"][j]))) } } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn feed(db: &Value) -> Markup {
    let d = &db["database"];
    let sources = d["sources"].as_array().map_or(&[][..], Vec::as_slice);
    html! {
        section.card #feed aria-labelledby="feed-h" {
            h2 #feed-h { "Advisory feeds" }
            @if db["generation"].is_null() {
                p.error { "No advisory generation is loaded: nothing has been matched yet." }
            } @else {
                p { "Generation " strong { (db["generation"]) } ", " (num(int(&d["alias_groups"]))) " vulnerabilities." }
                @for w in d["warnings"].as_array().map_or(&[][..], Vec::as_slice) {
                    p.error role="status" { (text(w)) }
                }
                div.scroll {
                    table {
                        thead { tr { th scope="col" { "Feed" } th.n scope="col" { "Records" } th scope="col" { "Checked" } } }
                        tbody {
                            @for src in sources {
                                tr class=[src["stale"].as_bool().filter(|s| *s).map(|_| "stale")] {
                                    td.name { (text(&src["name"])) }
                                    td.n { (num(int(&src["records"]))) }
                                    td { @if let Some(a) = src["age_seconds"].as_i64() { (vigia_engine::human_age(a)) " ago" } @else { "never" }
                                         @if src["stale"] == true { " (stale)" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
