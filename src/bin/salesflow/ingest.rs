//! `salesflow ingest`: load files into PostgreSQL.

use std::path::PathBuf;

use anyhow::Context;
use salesflow::ingest::{IngestOptions, ingest_file};
use salesflow::report::{self, FileStatus};

use crate::{ContractArgs, DatabaseArgs, exit, files_to_read, progress_bar, write_json_report};

/// Load sales CSV files (.csv or .csv.gz) into raw.sales, one transaction per file.
///
/// A file whose exact bytes were already loaded successfully is skipped (--force loads
/// it again; rows then count as unchanged or updated). Prints a summary table per file.
#[derive(clap::Args)]
pub struct Args {
    /// Files, directories (their *.csv and *.csv.gz) or glob patterns.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    contract: ContractArgs,
    /// The feed the files come from (e.g. the vendor), kept in the ledger with each load and
    /// shown by `salesflow status`. The Airflow DAG names a feed after its landing folder.
    #[arg(long, value_name = "NAME")]
    feed: Option<String>,
    /// Load files even if the same bytes were loaded before.
    #[arg(long)]
    force: bool,
    /// Validate and merge in a transaction that is rolled back: full counts, no writes.
    #[arg(long)]
    dry_run: bool,
    /// Roll a file back when more than this share of its rows (0..1) is rejected; exit 3.
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    max_reject_rate: Option<f64>,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    report_json: Option<PathBuf>,
}

pub fn parse_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("\"{text}\" is not a rate between 0 and 1")),
    }
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let contract = args.contract.load()?;
    let files = files_to_read(&args.paths, "load").context("nothing was loaded")?;
    let mut warehouse = args.database.open()?;
    tracing::info!(
        target_db = warehouse.target(),
        files = files.len(),
        dry_run = args.dry_run,
        "ingesting"
    );
    let options = IngestOptions {
        feed: args.feed,
        force: args.force,
        dry_run: args.dry_run,
        max_reject_rate: args.max_reject_rate,
    };
    let mut reports = Vec::with_capacity(files.len());
    let mut stopped = None;
    for path in &files {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let bar = progress_bar(size, &path.display().to_string());
        let result = ingest_file(&mut warehouse, &contract, path, &options, &mut |bytes| {
            bar.set_position(bytes)
        });
        bar.finish_and_clear();
        match result {
            Ok(report) => {
                log_file(&report, contract.max_reject_rate);
                reports.push(report);
            }
            Err(error) => {
                // The database failed: the files before this one are committed, and the
                // summary and the JSON report must still say so.
                let mut report = report::FileReport::new(path.display().to_string());
                report.status = FileStatus::Failed;
                report.error = Some(error.to_string());
                reports.push(report);
                stopped = Some(error);
                break;
            }
        }
    }
    print!("{}", report::render_table(&reports));
    let written = write_json_report(args.report_json.as_deref(), &reports);
    if let Some(error) = stopped {
        if let Err(json_error) = written {
            tracing::error!("{json_error:#}");
        }
        let not_attempted = files.len() - reports.len();
        return Err(anyhow::Error::new(error).context(format!(
            "{}: stopped{}; the summary lists the files loaded before it",
            reports.last().map_or("", |report| report.path.as_str()),
            match not_attempted {
                0 => String::new(),
                n => format!(", {n} later file(s) not attempted"),
            }
        )));
    }
    written?;
    Ok(exit_code(&reports))
}

/// Logs a file's outcome; warns when its reject rate is over `gate_threshold`, the quality
/// gate's (the contract's `max_reject_rate`), which will hold the load back.
fn log_file(report: &report::FileReport, gate_threshold: f64) {
    let c = &report.counts;
    if report.status == FileStatus::Succeeded && report.reject_rate > gate_threshold {
        tracing::warn!(
            path = %report.path,
            load_id = report.load_id,
            rejected = c.rejected,
            read = c.read,
            "{:.2}% of the rows were rejected (over the quality gate's {:.0}%): they are in \
             raw.sales_rejects (`salesflow rejects LOAD_ID` shows them); --max-reject-rate \
             rolls such a file back instead",
            report.reject_rate * 100.0,
            gate_threshold * 100.0
        );
    }
    match &report.error {
        Some(error) => {
            tracing::error!(path = %report.path, status = report.status.label(), "{error}")
        }
        _ => tracing::info!(
            path = %report.path,
            status = report.status.label(),
            load_id = report.load_id,
            read = c.read,
            loaded = c.loaded,
            updated = c.updated,
            unchanged = c.unchanged,
            duplicate = c.duplicate,
            rejected = c.rejected,
            seconds = format!("{:.2}", report.seconds),
            "file done"
        ),
    }
}

/// 3 when a file's data was the problem, 1 when something else failed, else 0.
pub fn exit_code(reports: &[report::FileReport]) -> u8 {
    let statuses = || reports.iter().map(|report| report.status);
    if statuses().any(|s| matches!(s, FileStatus::RejectRateExceeded | FileStatus::Invalid)) {
        exit::DATA_QUALITY
    } else if statuses().any(|s| s == FileStatus::Failed) {
        exit::FAILURE
    } else {
        exit::OK
    }
}
