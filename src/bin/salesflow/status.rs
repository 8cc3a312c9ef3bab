//! `salesflow status`: recent loads from the ledger.

use salesflow::report::Counts;

use crate::{DatabaseArgs, exit};

/// Show recent loads from the ledger (salesflow.loads), newest first. Loads whose
/// process died are marked failed first.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArgs,
    /// How many loads to show.
    #[arg(long, default_value_t = 20)]
    limit: i64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut warehouse = args.database.open()?;
    warehouse.sweep_abandoned_loads()?;
    let loads = warehouse.recent_loads(args.limit)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&loads)?);
        return Ok(exit::OK);
    }
    println!("loads in {} (newest first)", warehouse.target());
    let header = format!(
        "{:>6}  {:<10}  {:<19}  {:>8}  {:>9}  {:>8}  {:>8}  {:>9}  {:>9}  {:>8}  file",
        "load",
        "status",
        "started",
        "seconds",
        "read",
        "loaded",
        "updated",
        "unchanged",
        "duplicate",
        "rejected"
    );
    println!("{header}");
    for load in &loads {
        let Counts {
            read,
            loaded,
            updated,
            unchanged,
            duplicate,
            rejected,
        } = load.counts;
        println!(
            "{:>6}  {:<10}  {:<19}  {:>8.2}  {:>9}  {:>8}  {:>8}  {:>9}  {:>9}  {:>8}  {}",
            load.load_id,
            load.status,
            load.started_at,
            load.seconds,
            read,
            loaded,
            updated,
            unchanged,
            duplicate,
            rejected,
            load.source_path
        );
        if let Some(error) = &load.error {
            println!("{:>6}  error: {error}", "");
        }
    }
    Ok(exit::OK)
}
