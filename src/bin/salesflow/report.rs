//! `salesflow report`: the data-quality page, a self-contained HTML file over recent loads.

use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;
use salesflow::load::LoadRange;
use salesflow::quality_report::{self, PageSettings};

use crate::gate::ThresholdArgs;
use crate::{DatabaseArgs, exit};

/// Write the data-quality page: one self-contained HTML file over recent loads, for people.
///
/// The page shows each load's outcomes (loaded, updated, unchanged, duplicate, superseded for a
/// replay, rejected) as a stacked bar; its reject rate against the quality gate's threshold (the
/// one `salesflow gate` applies: the contract's quality_gate.max_reject_rate, or
/// --max-reject-rate, judged as the gate judges it: by the rows still in quarantine); the
/// reasons of its quarantined rows and the repair flags of its rows, load by load; the
/// acceptances, revocations and publications; and the newest quarantined rows with their line,
/// reasons and text. It has no script and fetches nothing: styles and charts (SVG) are inline, so it can
/// be mailed, archived or opened offline. Values from the data are escaped.
///
/// The loads are the newest --loads N ledger rows (default 30), or every load started since
/// --since DATE. The file is replaced whole (written aside, then renamed). --json prints what
/// was written, for programs such as the Airflow DAG.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    threshold: ThresholdArgs,
    /// Every load started on or after this day (UTC), e.g. 2026-01-31.
    #[arg(long, value_name = "DATE", conflicts_with = "loads")]
    since: Option<NaiveDate>,
    /// The newest N loads of the ledger, of any status.
    #[arg(long, value_name = "N", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..))]
    loads: u32,
    /// How many quarantined rows to list (the newest loads' first).
    #[arg(long, value_name = "N", default_value_t = 50)]
    rejects: u32,
    /// The HTML file to write.
    #[arg(short, long, value_name = "FILE.html")]
    output: PathBuf,
    /// Print what was written as JSON on stdout: the file, the loads it covers.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let (threshold, threshold_source) = args.threshold.threshold_and_source()?;
    let (range, range_label) = match args.since {
        Some(day) => (LoadRange::Since(day), format!("loads since {day}")),
        None => (
            LoadRange::Newest(args.loads),
            format!("the newest {} loads", args.loads),
        ),
    };
    let mut warehouse = args.database.open()?;
    warehouse.sweep_abandoned_loads()?;
    let history = warehouse.load_history(range, args.rejects.into())?;
    let page = quality_report::render(
        &history,
        &PageSettings {
            threshold,
            threshold_source,
            range: range_label,
        },
    );
    write_whole(&args.output, page.as_bytes())?;
    let first = history.loads.first().map(|load| load.load_id);
    let last = history.loads.last().map(|load| load.load_id);
    tracing::info!(
        path = %args.output.display(),
        loads = history.loads.len(),
        first_load_id = first,
        last_load_id = last,
        "wrote the data-quality page"
    );
    if args.json {
        let written = serde_json::json!({
            "path": args.output,
            "loads": history.loads.len(),
            "first_load_id": first,
            "last_load_id": last,
            "threshold": threshold,
            "read_at": history.read_at,
        });
        println!("{}", serde_json::to_string_pretty(&written)?);
    }
    Ok(exit::OK)
}

/// Writes `bytes` beside `path`, then renames it over `path`: a reader sees the old page or
/// the new one, never half of one.
fn write_whole(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("{} is not a file name", path.display()))?;
    let mut aside = name.to_os_string();
    aside.push(format!(".{}.tmp", std::process::id()));
    let aside = path.with_file_name(aside);
    std::fs::write(&aside, bytes).with_context(|| format!("writing {}", aside.display()))?;
    std::fs::rename(&aside, path).with_context(|| {
        let _ = std::fs::remove_file(&aside);
        format!("replacing {}", path.display())
    })
}
