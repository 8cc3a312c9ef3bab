//! `salesflow replay`: quarantined rows judged again after a contract fix.

use std::path::PathBuf;

use anyhow::Context;
use salesflow::replay::{ReplayReport, replay};

use crate::{ContractArgs, DatabaseArgs, exit};

/// Judge the quarantined rows of earlier loads again, under the current contract (or
/// --contract), and merge those that now pass into raw.sales as their file would have merged
/// them.
///
/// Each row is read with the header its file had (the ledger keeps it) and cleaned exactly as
/// `ingest` cleans a file's rows. The replay is a load of its own in the ledger (status shows
/// it as "replay of load N"), in one transaction under the load lock: the rows it writes carry
/// its load id, so the warehouse's next incremental build takes them in.
///
/// Which word on a sale is newer: every version of a sale comes from one line of one file's
/// load (its origin). A replayed row of load N never replaces a version whose origin is a later
/// load, including a later file that sent the same sale again unchanged, nor a later line of
/// load N's own file; it does replace a version from an earlier load. Outcomes: loaded (a new
/// sale), updated (replaced a version from an earlier load), unchanged (the same content as the
/// stored version), duplicate (a later line of the same file has the last word on the sale),
/// superseded (a later load's word on the sale stands), rejected (fails again: stays in
/// quarantine, with its reasons judged again). read = loaded + updated + unchanged + duplicate
/// + superseded + rejected.
///
/// Rows that pass, whatever their outcome, leave the quarantine; every row's outcome is kept
/// in raw.sales_replays. A second replay under the same contract finds only rows that fail
/// again and changes nothing.
#[derive(clap::Args)]
#[command(
    after_help = "Exit codes as for ingest: 0 ok; 1 failure (nothing of the replay is \
    written); 2 usage or settings error (no such load, a load that did not succeed or whose \
    header the contract cannot read, an invalid --contract, the database URL or login); 4 \
    database unreachable or connection lost."
)]
pub struct Args {
    /// The loads whose quarantined rows to judge again (`salesflow status` shows load ids).
    #[arg(required = true, value_name = "LOAD_ID")]
    load_ids: Vec<i64>,
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    contract: ContractArgs,
    /// Judge and merge in a transaction that is rolled back: the outcomes, no writes.
    #[arg(long)]
    dry_run: bool,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    report_json: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let contract = args.contract.load()?;
    let mut warehouse = args.database.open()?;
    tracing::info!(
        target_db = warehouse.target(),
        loads = ?args.load_ids,
        dry_run = args.dry_run,
        "replaying"
    );
    let report = replay(&mut warehouse, &contract, &args.load_ids, args.dry_run)?;
    print!("{}", render(&report));
    if let Some(path) = &args.report_json {
        let json = serde_json::to_string_pretty(&report).expect("reports serialize");
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    let c = &report.counts;
    tracing::info!(
        load_id = report.load_id,
        read = c.read,
        loaded = c.loaded,
        updated = c.updated,
        unchanged = c.unchanged,
        duplicate = c.duplicate,
        superseded = c.superseded,
        rejected = c.rejected,
        seconds = format!("{:.2}", report.seconds),
        "replay done"
    );
    Ok(exit::OK)
}

/// The summary: one line of counts, then the reasons of the rows that fail again.
fn render(report: &ReplayReport) -> String {
    let c = &report.counts;
    let loads: Vec<String> = report.replays.iter().map(ToString::to_string).collect();
    let status = if report.dry_run {
        "validated"
    } else {
        "succeeded"
    };
    let header = [
        "replay of",
        "status",
        "load",
        "read",
        "loaded",
        "updated",
        "unchanged",
        "duplicate",
        "superseded",
        "rejected",
        "seconds",
    ];
    let cells = [
        loads.join(","),
        status.to_string(),
        report.load_id.map_or("-".into(), |id| id.to_string()),
        c.read.to_string(),
        c.loaded.to_string(),
        c.updated.to_string(),
        c.unchanged.to_string(),
        c.duplicate.to_string(),
        c.superseded.to_string(),
        c.rejected.to_string(),
        format!("{:.2}", report.seconds),
    ];
    let mut out = salesflow::report::render_columns(&header, &[cells], 3);
    if !report.reject_reasons.is_empty() {
        let reasons: Vec<String> = report
            .reject_reasons
            .iter()
            .map(|(reason, count)| format!("{reason} {count}"))
            .collect();
        out.push_str(&format!("still rejected: {}\n", reasons.join(", ")));
    }
    out
}
