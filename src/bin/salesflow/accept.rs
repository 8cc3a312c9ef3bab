//! `salesflow accept`: an operator's acceptance of a load over the quality threshold.

use crate::{DatabaseArgs, exit};

/// Accept a succeeded load for publication despite its rejects.
///
/// The Airflow DAG's quality gate holds back every load that rejected more than its
/// threshold of rows (max_reject_rate, 5 % by default), and every later run fails on it
/// too. After looking at its rows in raw.sales_rejects, accept the load: the gate then
/// publishes it, without raising the threshold for other loads (clear the failed
/// quality_gate task, or let the next run with new files judge it). The acceptance, with
/// who and why, is kept in salesflow.load_acceptances. Accepting a load twice keeps the
/// first acceptance.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The load id, as `salesflow status` and the quality gate's message show it.
    load_id: i64,
    /// Why the load may be published (kept with the acceptance).
    #[arg(long)]
    reason: String,
    /// Who accepts (default: the database role).
    #[arg(long)]
    by: Option<String>,
    /// Print JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut warehouse = args.database.open()?;
    let acceptance = warehouse.accept_load(args.load_id, &args.reason, args.by.as_deref())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&acceptance)?);
        return Ok(exit::OK);
    }
    let rate = if acceptance.rows_read > 0 {
        100.0 * acceptance.rows_rejected as f64 / acceptance.rows_read as f64
    } else {
        0.0
    };
    let verb = if acceptance.new {
        "accepted"
    } else {
        "was already accepted"
    };
    println!(
        "load {} ({}, {} of {} rows rejected = {rate:.2}%) {verb} by {} at {}: {}",
        acceptance.load_id,
        acceptance.source_path,
        acceptance.rows_rejected,
        acceptance.rows_read,
        acceptance.accepted.accepted_by,
        acceptance.accepted.accepted_at,
        acceptance.accepted.reason
    );
    Ok(exit::OK)
}
