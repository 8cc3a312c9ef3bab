//! `salesflow check`: the data-quality report of files, without a database.

use std::path::PathBuf;

use salesflow::ingest::check_file;
use salesflow::report;

use crate::{ContractArgs, exit, files_to_read, progress_bar, write_json_report};

/// Validate sales files against the contract and print what would be loaded, flagged
/// and rejected, with reasons. Needs no database. (Duplicates across and within files
/// are only known to `ingest`, which sees the warehouse.)
#[derive(clap::Args)]
pub struct Args {
    /// Files, directories (their *.csv and *.csv.gz) or glob patterns.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,
    #[command(flatten)]
    contract: ContractArgs,
    /// Exit 3 when more than this share of a file's rows (0..1) is rejected.
    #[arg(long, value_name = "RATE", value_parser = crate::ingest::parse_rate)]
    max_reject_rate: Option<f64>,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    report_json: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let contract = args.contract.load()?;
    let files = files_to_read(&args.paths, "check")?;
    let mut reports = Vec::with_capacity(files.len());
    for path in &files {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let bar = progress_bar(size, &path.display().to_string());
        reports.push(check_file(&contract, path, &mut |bytes| {
            bar.set_position(bytes)
        }));
        bar.finish_and_clear();
    }
    print!("{}", report::render_table(&reports));
    if reports.iter().any(|report| report.counts.loaded > 0) {
        // The shared table's "loaded" column means something weaker here.
        println!(
            "(check: \"loaded\" counts the rows that pass the contract; which of them are new, \
             updated, unchanged or duplicates only ingest can tell)"
        );
    }
    write_json_report(args.report_json.as_deref(), &reports)?;
    let over_limit = args
        .max_reject_rate
        .is_some_and(|limit| reports.iter().any(|report| report.reject_rate > limit));
    Ok(if over_limit {
        exit::DATA_QUALITY
    } else {
        crate::ingest::exit_code(&reports)
    })
}
