//! The data-quality page (`salesflow report`): a self-contained HTML file over a range of
//! loads, for people. Inline CSS and inline SVG charts, no script and nothing fetched when it
//! is viewed. Every value from the data is escaped ([`html::esc`]).
//!
//! It shows each load's outcomes, its reject rate against the quality gate's threshold, the
//! reasons of its rejects and the repair flags of its rows, the acceptances, revocations and
//! publications, and the newest quarantined rows. Not to be confused with [`crate::report`],
//! the report of one ingest run.

mod charts;
pub mod html;

use std::fmt::Write;

use charts::{HeatColumn, OUTCOMES, RateClass, RateMark};
use html::{esc, file_name, percent, readable_time, shorten, thousands};

use crate::load::{LoadHistory, LoadRecord};

/// What the page says around the data.
#[derive(Debug, Clone)]
pub struct PageSettings {
    /// The quality gate's threshold: the share of a load's rows that may be rejected.
    pub threshold: f64,
    /// Where the threshold comes from, e.g. `contract sales` or `--max-reject-rate`.
    pub threshold_source: String,
    /// The range asked for, e.g. `the newest 30 loads` or `loads since 2026-01-01`.
    pub range: String,
}

/// How the quality gate stands on a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// Not succeeded: nothing of it is in the warehouse to judge.
    NotJudged,
    Passed,
    Accepted,
    /// Over the threshold without a standing acceptance, yet covered by a publication (one
    /// made with a higher threshold).
    PublishedOver,
    Held,
}

struct View<'a> {
    history: &'a LoadHistory,
    settings: &'a PageSettings,
}

impl View<'_> {
    fn standing(&self, load: &LoadRecord) -> Standing {
        if load.status != "succeeded" || load.kind != "file" {
            return Standing::NotJudged;
        }
        if gate_rate(load) <= self.settings.threshold {
            return Standing::Passed;
        }
        let accepted = self.history.acceptances.iter().any(|accepted| {
            accepted.load_id == load.load_id && accepted.acceptance.revoked.is_none()
        });
        if accepted {
            Standing::Accepted
        } else if self.published(load) {
            Standing::PublishedOver
        } else {
            Standing::Held
        }
    }

    fn published(&self, load: &LoadRecord) -> bool {
        load.status == "succeeded" && load.load_id <= self.history.published_through
    }

    /// The loads with rows read: those the charts plot.
    fn charted(&self) -> impl Iterator<Item = &LoadRecord> {
        self.history
            .loads
            .iter()
            .filter(|load| load.counts.read > 0)
    }
}

/// The reject rate the quality gate judges a load by: a succeeded file's load by the rows still
/// in its quarantine (a replay may have loaded some since), any other by the ledger's counts.
fn gate_rate(load: &LoadRecord) -> f64 {
    if load.status == "succeeded" && load.kind == "file" {
        crate::report::reject_rate(load.counts.read, load.in_quarantine)
    } else {
        load.counts.reject_rate()
    }
}

/// The whole page.
pub fn render(history: &LoadHistory, settings: &PageSettings) -> String {
    let view = View { history, settings };
    let mut page = String::with_capacity(64 * 1024);
    let title = format!("Data quality · {}", history.target);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"salesflow report\">\
         <title>{}</title><style>{STYLE}</style></head><body>",
        esc(&title)
    );
    header(&mut page, &view);
    summary(&mut page, &view);
    if history.loads.is_empty() {
        page.push_str(
            "<section><p class=\"empty\">The ledger has no load in this range.</p></section>",
        );
    } else {
        outcomes(&mut page, &view);
        reject_rates(&mut page, &view);
        codes(&mut page, &view, Codes::Reasons);
        codes(&mut page, &view, Codes::Flags);
    }
    review(&mut page, &view);
    quarantine(&mut page, &view);
    let _ = writeln!(
        page,
        "<footer>salesflow report · {} · read {} UTC · every row read is exactly one of loaded, \
         updated, unchanged, duplicate or rejected</footer></body></html>",
        esc(&history.target),
        esc(&readable_time(&history.read_at))
    );
    page
}

fn header(page: &mut String, view: &View<'_>) {
    let loads = &view.history.loads;
    let span = match (loads.first(), loads.last()) {
        (Some(first), Some(last)) => format!(
            "loads <b>{}</b>–<b>{}</b> · {} → {} UTC",
            first.load_id,
            last.load_id,
            esc(&readable_time(&first.started_at)),
            esc(&readable_time(&last.started_at))
        ),
        _ => "no loads".to_string(),
    };
    let _ = write!(
        page,
        "<header><div class=\"brand\">salesflow</div><h1>Data quality</h1>\
         <p class=\"meta\"><span>database <code>{}</code></span><span>{}</span>\
         <span>{span}</span><span>read {} UTC</span></p></header>",
        esc(&view.history.target),
        esc(&view.settings.range),
        esc(&readable_time(&view.history.read_at))
    );
}

fn summary(page: &mut String, view: &View<'_>) {
    let loads = &view.history.loads;
    let with_status = |status: &str| loads.iter().filter(|load| load.status == status).count();
    let succeeded: Vec<&LoadRecord> = loads
        .iter()
        .filter(|load| load.status == "succeeded")
        .collect();
    let read: u64 = succeeded.iter().map(|load| load.counts.read).sum();
    let rejected: u64 = succeeded.iter().map(|load| load.counts.rejected).sum();
    let written: u64 = succeeded
        .iter()
        .map(|load| load.counts.loaded + load.counts.updated)
        .sum();
    let standing = |wanted: Standing| {
        loads
            .iter()
            .filter(|load| view.standing(load) == wanted)
            .count()
    };
    let held = standing(Standing::Held);
    let unpublished = succeeded
        .iter()
        .filter(|load| !view.published(load))
        .count();
    page.push_str("<section class=\"cards\">");
    card(
        page,
        "Loads",
        &loads.len().to_string(),
        &format!(
            "{} succeeded · {} failed · {} skipped",
            with_status("succeeded"),
            with_status("failed"),
            with_status("skipped")
        ),
        "",
    );
    card(
        page,
        "Rows read",
        &thousands(read),
        &format!("{} loaded or updated", thousands(written)),
        "",
    );
    card(
        page,
        "Rejected",
        &thousands(rejected),
        &format!(
            "{} of the rows read",
            percent(crate::report::reject_rate(read, rejected))
        ),
        if rejected > 0 { "warn" } else { "" },
    );
    card(
        page,
        "Quality gate",
        &percent(view.settings.threshold),
        &format!(
            "{} held · {} accepted ({})",
            held,
            standing(Standing::Accepted),
            view.settings.threshold_source
        ),
        if held > 0 { "bad" } else { "good" },
    );
    card(
        page,
        "Published through",
        &if view.history.published_through > 0 {
            format!("load {}", view.history.published_through)
        } else {
            "none yet".to_string()
        },
        &format!("{unpublished} succeeded load(s) here not yet"),
        "",
    );
    page.push_str("</section>");
}

fn card(page: &mut String, label: &str, value: &str, note: &str, class: &str) {
    let _ = write!(
        page,
        "<div class=\"card {class}\"><div class=\"label\">{}</div>\
         <div class=\"value\">{}</div><div class=\"note\">{}</div></div>",
        esc(label),
        esc(value),
        esc(note)
    );
}

fn legend(page: &mut String, items: &[(&str, &str)]) {
    page.push_str("<div class=\"legend\">");
    for (name, colour) in items {
        let _ = write!(
            page,
            "<span><i style=\"background:{colour}\"></i>{}</span>",
            esc(name)
        );
    }
    page.push_str("</div>");
}

fn outcomes(page: &mut String, view: &View<'_>) {
    page.push_str(
        "<section id=\"outcomes\"><h2>Outcome of every row, per load</h2>\
         <p class=\"hint\">Each bar is one load's rows read, split by outcome (hover for the \
         counts). A failed load wrote nothing: its bar, where it has one, says what it would \
         have written. A replay judges quarantined rows again: its superseded rows now pass but \
         lose to a later file's word on the same sale.</p>",
    );
    legend(page, &OUTCOMES);
    let any_feed = view.history.loads.iter().any(|load| load.feed.is_some());
    let any_kind = view.history.loads.iter().any(|load| load.kind != "file");
    let _ = write!(
        page,
        "<div class=\"scroll\"><table class=\"loads\"><thead><tr><th>load</th><th>file</th>{}{}\
         <th>started (UTC)</th><th>status</th><th class=\"barcol\">outcomes</th>\
         <th class=\"num\">read</th><th class=\"num\">rejected</th><th class=\"num\">reject %</th>\
         <th>quality gate</th></tr></thead><tbody>",
        if any_feed { "<th>feed</th>" } else { "" },
        if any_kind { "<th>kind</th>" } else { "" },
    );
    for load in view.history.loads.iter().rev() {
        let counts = &load.counts;
        let bar = if counts.read > 0 {
            charts::outcome_bar(
                [
                    counts.loaded,
                    counts.updated,
                    counts.unchanged,
                    counts.duplicate,
                    counts.superseded,
                    counts.rejected,
                ],
                counts.read,
            )
        } else {
            String::new()
        };
        let error = load
            .error
            .as_deref()
            .map(|error| {
                format!(
                    "<div class=\"error\" title=\"{}\">{}</div>",
                    esc(error),
                    esc(&shorten(error, 160))
                )
            })
            .unwrap_or_default();
        let status = match &load.failure {
            Some(failure) => format!("{} ({})", load.status, failure),
            None => load.status.clone(),
        };
        let (gate_class, gate) = match view.standing(load) {
            Standing::NotJudged => ("muted", "—".to_string()),
            Standing::Passed => ("good", "passed".to_string()),
            Standing::Accepted => ("warn", "accepted".to_string()),
            Standing::PublishedOver => ("warn", "published over the gate".to_string()),
            Standing::Held => ("bad", "held back".to_string()),
        };
        let published = if view.published(load) {
            " <span class=\"pill muted\">published</span>"
        } else {
            ""
        };
        let optional = |value: Option<&str>, shown: bool| {
            if shown {
                format!("<td>{}</td>", esc(value.unwrap_or("")))
            } else {
                String::new()
            }
        };
        let rate_class = if gate_rate(load) > view.settings.threshold {
            " over"
        } else {
            ""
        };
        let _ = write!(
            page,
            "<tr><td class=\"id\">{}</td><td class=\"file\" title=\"{}\">{}</td>{}{}\
             <td class=\"time\">{}</td><td><span class=\"status {}\">{}</span></td>\
             <td class=\"barcol\">{bar}{error}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num{rate_class}\">{}</td>\
             <td><span class=\"pill {gate_class}\">{}</span>{published}</td></tr>",
            load.load_id,
            esc(&load.source_path),
            esc(file_name(&load.source_path)),
            optional(load.feed.as_deref(), any_feed),
            optional(Some(&kind(load)), any_kind),
            esc(&readable_time(&load.started_at)),
            esc(&load.status),
            esc(&status),
            thousands(counts.read),
            rejected_cell(load),
            if counts.read > 0 {
                percent(gate_rate(load))
            } else {
                "—".to_string()
            },
            esc(&gate),
        );
    }
    page.push_str("</tbody></table></div></section>");
}

/// The rows a load rejected, and how many are still in quarantine when a replay has loaded
/// some since.
fn rejected_cell(load: &LoadRecord) -> String {
    let rejected = thousands(load.counts.rejected);
    if load.status == "succeeded"
        && load.kind == "file"
        && load.in_quarantine < load.counts.rejected
    {
        format!(
            "{rejected}<div class=\"note\">{} still quarantined</div>",
            thousands(load.in_quarantine)
        )
    } else {
        rejected
    }
}

/// `file`, or `replay of 3, 4`.
fn kind(load: &LoadRecord) -> String {
    match &load.replays {
        Some(replayed) => {
            let loads: Vec<String> = replayed.iter().map(ToString::to_string).collect();
            format!("{} of {}", load.kind, loads.join(", "))
        }
        None => load.kind.clone(),
    }
}

fn reject_rates(page: &mut String, view: &View<'_>) {
    let marks: Vec<RateMark> = view
        .charted()
        .filter(|load| load.kind == "file")
        .map(|load| {
            let over = gate_rate(load) > view.settings.threshold;
            RateMark {
                load_id: load.load_id,
                rate: gate_rate(load),
                rejected: if load.status == "succeeded" {
                    load.in_quarantine
                } else {
                    load.counts.rejected
                },
                read: load.counts.read,
                class: match (load.status.as_str(), over, view.standing(load)) {
                    ("succeeded", false, _) => RateClass::Within,
                    ("succeeded", true, Standing::Held) => RateClass::Held,
                    ("succeeded", true, _) => RateClass::Accepted,
                    _ => RateClass::RolledBack,
                },
            }
        })
        .collect();
    let _ = write!(
        page,
        "<section id=\"reject-rate\"><h2>Reject rate per load</h2>\
         <p class=\"hint\">The share of each file's rows in quarantine (less the rows a replay has \
         loaded since), against the quality gate's threshold of {} ({}). A load over it is held back from publication until an operator \
         accepts it (<code>salesflow accept</code>).</p>",
        esc(&percent(view.settings.threshold)),
        esc(&view.settings.threshold_source)
    );
    if marks.is_empty() {
        page.push_str("<p class=\"empty\">No load in this range read any row.</p></section>");
        return;
    }
    legend(
        page,
        &[
            RateClass::Within,
            RateClass::Accepted,
            RateClass::Held,
            RateClass::RolledBack,
        ]
        .map(|class| (class.label(), class.colour())),
    );
    page.push_str(&charts::reject_rate_chart(&marks, view.settings.threshold));
    page.push_str("</section>");
}

#[derive(Clone, Copy)]
enum Codes {
    Reasons,
    Flags,
}

fn codes(page: &mut String, view: &View<'_>, which: Codes) {
    let columns: Vec<HeatColumn<'_>> = view
        .charted()
        .map(|load| HeatColumn {
            load_id: load.load_id,
            read: load.counts.read,
            counts: match which {
                Codes::Reasons => load
                    .reasons
                    .iter()
                    .map(|count| (count.reason.as_str(), count.rows))
                    .collect(),
                Codes::Flags => load
                    .flags
                    .iter()
                    .map(|count| (count.flag.as_str(), count.rows))
                    .collect(),
            },
        })
        .collect();
    let (id, title, hint, hue, none) = match which {
        Codes::Reasons => (
            "reasons",
            "Reject reasons per load",
            "Why rows were quarantined (raw.sales_rejects.reasons; a row may carry several). \
             The darker the cell, the larger the share of the load's rows; the number is rows. \
             A failed load kept no rejects; rows a replay let through have left the quarantine.",
            (214, 69, 69),
            "No row of these loads was rejected.",
        ),
        Codes::Flags => (
            "flags",
            "Repair flags per load",
            "Rows loaded after an unambiguous repair (raw.sales.dq_flags), counted on the rows \
             each load wrote that no later load has replaced. The darker the cell, the larger \
             the share of the load's rows.",
            (59, 125, 216),
            "No row of these loads carries a repair flag.",
        ),
    };
    let _ = write!(
        page,
        "<section id=\"{id}\"><h2>{title}</h2><p class=\"hint\">{hint}</p>"
    );
    if columns.iter().all(|column| column.counts.is_empty()) {
        let _ = write!(page, "<p class=\"empty\">{none}</p></section>");
        return;
    }
    let _ = write!(
        page,
        "<div class=\"scroll\">{}</div></section>",
        charts::heat_map(&columns, hue, title)
    );
}

fn review(page: &mut String, view: &View<'_>) {
    struct Event<'a> {
        at: &'a str,
        kind: &'static str,
        class: &'static str,
        what: String,
        by: &'a str,
        why: &'a str,
    }
    let mut events: Vec<Event<'_>> = Vec::new();
    for accepted in &view.history.acceptances {
        let acceptance = &accepted.acceptance;
        events.push(Event {
            at: &acceptance.accepted_at,
            kind: "accepted",
            class: "warn",
            what: format!("load {}", accepted.load_id),
            by: &acceptance.accepted_by,
            why: &acceptance.reason,
        });
        if let Some(revoked) = &acceptance.revoked {
            events.push(Event {
                at: &revoked.revoked_at,
                kind: "revoked",
                class: "bad",
                what: format!("load {}", accepted.load_id),
                by: &revoked.revoked_by,
                why: &revoked.reason,
            });
        }
    }
    for publication in &view.history.publications {
        events.push(Event {
            at: &publication.published_at,
            kind: "published",
            class: "good",
            what: format!(
                "publication {} through load {}",
                publication.publication_id, publication.through_load_id
            ),
            by: &publication.published_by,
            why: "",
        });
    }
    // Oldest first (a revocation after its acceptance within the same second), then reversed.
    events.sort_by(|a, b| a.at.cmp(b.at));
    events.reverse();
    page.push_str(
        "<section id=\"review\"><h2>Acceptances, revocations and publications</h2>\
         <p class=\"hint\">Operators' decisions at the quality gate (<code>salesflow accept</code>, \
         <code>--revoke</code>) on the loads above, and the publications of the marts \
         (<code>salesflow publish</code>) from the last one before these loads on, newest \
         first.</p>",
    );
    if events.is_empty() {
        page.push_str("<p class=\"empty\">None.</p></section>");
        return;
    }
    page.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>when (UTC)</th><th>event</th><th>what</th>\
         <th>by</th><th>reason</th></tr></thead><tbody>",
    );
    for event in &events {
        let _ = write!(
            page,
            "<tr><td class=\"time\">{}</td><td><span class=\"pill {}\">{}</span></td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&readable_time(event.at)),
            event.class,
            event.kind,
            esc(&event.what),
            esc(event.by),
            esc(event.why)
        );
    }
    page.push_str("</tbody></table></div></section>");
}

fn quarantine(page: &mut String, view: &View<'_>) {
    let rejects = &view.history.recent_rejects;
    let total: u64 = view
        .history
        .loads
        .iter()
        .map(|load| load.in_quarantine)
        .sum();
    let _ = write!(
        page,
        "<section id=\"quarantine\"><h2>Newest quarantined rows</h2>\
         <p class=\"hint\">{} of the {} rows of these loads in quarantine, newest load first, in file \
         order, as they were in the file (<code>salesflow rejects LOAD_ID</code> shows a load's \
         rows).</p>",
        thousands(rejects.len() as u64),
        thousands(total)
    );
    if rejects.is_empty() {
        page.push_str("<p class=\"empty\">None.</p></section>");
        return;
    }
    page.push_str(
        "<div class=\"scroll\"><table class=\"rejects\"><thead><tr><th>load</th>\
         <th class=\"num\">line</th><th>reasons</th><th>message</th><th>text in the file</th>\
         </tr></thead><tbody>",
    );
    for reject in rejects {
        let row = &reject.row;
        let reasons: String = row
            .reasons
            .iter()
            .map(|reason| format!("<span class=\"pill bad\">{}</span>", esc(reason)))
            .collect();
        let _ = write!(
            page,
            "<tr><td class=\"id\">{}</td><td class=\"num\">{}</td><td>{reasons}</td>\
             <td>{}</td><td><code class=\"raw\" title=\"{}\">{}</code></td></tr>",
            reject.load_id,
            row.source_line,
            esc(&shorten(&row.message, 300)),
            esc(&shorten(&row.raw_record, 2000)),
            esc(&shorten(&row.raw_record, 240))
        );
    }
    page.push_str("</tbody></table></div></section>");
}

const STYLE: &str = "
:root{--ink:#1f2933;--muted:#66727f;--line:#e3e7ec;--bg:#f6f7f9;--card:#fff;
--good:#2f8a5b;--warn:#b7791f;--bad:#c53030}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}
header{background:#1f2d3d;color:#fff;padding:22px 32px 18px}
header .brand{font-size:12px;letter-spacing:.12em;text-transform:uppercase;color:#9fb3c8}
header h1{margin:2px 0 8px;font-size:26px;font-weight:650}
header .meta{margin:0;color:#d5dee8;display:flex;flex-wrap:wrap;gap:6px 22px;font-size:13px}
header code{color:#fff;background:rgba(255,255,255,.1);padding:1px 6px;border-radius:4px}
section{background:var(--card);margin:18px 32px;padding:18px 22px;border:1px solid var(--line);
border-radius:10px}
h2{margin:0 0 4px;font-size:17px;font-weight:650}
.hint{margin:0 0 12px;color:var(--muted);font-size:13px;max-width:980px}
.empty{color:var(--muted);font-style:italic;margin:4px 0}
code{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:14px;
background:none;border:0;padding:0}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;
border-top:4px solid #9fb3c8}
.card.good{border-top-color:var(--good)}.card.warn{border-top-color:var(--warn)}
.card.bad{border-top-color:var(--bad)}
.card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.06em}
.card .value{font-size:26px;font-weight:650;margin:2px 0;font-variant-numeric:tabular-nums}
.card .note{color:var(--muted);font-size:12.5px}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;margin:0 0 10px;font-size:12.5px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:6px;
vertical-align:-1px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;font-weight:600;color:var(--muted);font-size:12px;border-bottom:2px solid var(--line);
padding:6px 8px;white-space:nowrap}
td{border-bottom:1px solid var(--line);padding:6px 8px;vertical-align:top}
tbody tr:hover{background:#f9fafb}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.num.over{color:var(--bad);font-weight:650}
td.num .note{color:var(--muted);font-size:11.5px}
.id{font-weight:650;font-variant-numeric:tabular-nums}
.time{white-space:nowrap;color:var(--muted);font-variant-numeric:tabular-nums}
.file{max-width:260px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.barcol{width:34%;min-width:200px}
svg.bar{display:block;width:100%;height:14px;margin-top:3px;border-radius:3px;background:#f1f3f6}
.error{color:var(--bad);font-size:12px;margin-top:3px}
.status{font-size:12px;white-space:nowrap}
.status.failed{color:var(--bad);font-weight:600}.status.skipped{color:var(--muted)}
.pill{display:inline-block;font-size:11.5px;padding:1px 8px;border-radius:999px;margin:1px 4px 1px 0;
white-space:nowrap;background:#eef1f4;color:var(--ink)}
.pill.good{background:#e3f4ea;color:#1e6b43}.pill.warn{background:#fcf0d9;color:#8a5a12}
.pill.bad{background:#fde6e6;color:#9b2424}.pill.muted{background:#eef1f4;color:var(--muted)}
svg.chart{display:block;width:100%;height:auto;max-height:320px}
svg text{font-family:inherit}
.tick{font-size:11px;fill:var(--muted)}.axis-title{font-size:11px;fill:var(--muted)}
.grid{stroke:#edf0f3}.axis{stroke:#c3cad3}
.threshold{stroke:var(--bad);stroke-width:1.5;stroke-dasharray:6 4}
.threshold-label{font-size:11.5px;fill:var(--bad);font-weight:600;paint-order:stroke;
stroke:#fff;stroke-width:4px;stroke-linejoin:round}
.code{font-size:12px;fill:var(--ink)}.cell{font-size:11px;font-weight:600}
.total{font-size:11.5px;fill:var(--muted);font-variant-numeric:tabular-nums}
table.rejects td:nth-child(4){max-width:320px}
code.raw{display:block;white-space:pre-wrap;word-break:break-all;background:#f6f7f9;
padding:3px 6px;border-radius:4px;max-width:520px}
footer{color:var(--muted);font-size:12px;margin:8px 32px 28px}
@media (max-width:700px){section{margin:12px}header{padding:16px}}
";
