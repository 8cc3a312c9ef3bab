//! `salesflow rejects`: a load's quarantined rows, read back from raw.sales_rejects.

use crate::{DatabaseArgs, describe_load, exit};

/// Show the rows a load quarantined (raw.sales_rejects): how many carry each reason, then
/// each row's line in the file, reasons, message and text as it was in the file.
///
/// This is what to look at when the Airflow DAG's quality gate holds a load back, before
/// accepting it (`salesflow accept`). A load that failed wrote nothing, rejects included: its
/// error in `salesflow status` says why; `salesflow check FILE` counts its rejects again
/// without a database.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArgs,
    /// The load id, as `salesflow status` and the quality gate's message show it.
    load_id: i64,
    /// How many rows to show, in file order (the reason counts cover them all).
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut warehouse = args.database.open()?;
    let found = warehouse.load_rejects(args.load_id, args.limit.into())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
        return Ok(exit::OK);
    }
    let status = match &found.failure {
        Some(failure) => format!("{} ({failure})", found.status),
        None => found.status.clone(),
    };
    println!(
        "load {} ({}): {status}",
        found.load.load_id,
        describe_load(&found.load)
    );
    if found.status != "succeeded" {
        println!("nothing of this load was written, its rejects included");
        return Ok(exit::OK);
    }
    let replayed = found.load.rows_rejected.saturating_sub(found.in_quarantine);
    if replayed > 0 {
        println!(
            "{replayed} of its {} rejected rows were loaded by a replay since (salesflow status)",
            found.load.rows_rejected
        );
    }
    if found.reasons.is_empty() {
        println!("no rows in quarantine");
        return Ok(exit::OK);
    }
    let reasons: Vec<String> = found
        .reasons
        .iter()
        .map(|count| format!("{} {}", count.reason, count.rows))
        .collect();
    println!("reasons: {}", reasons.join(", "));
    for reject in &found.rejects {
        println!(
            "line {}: {}: {}",
            reject.source_line,
            reject.reasons.join(", "),
            reject.message
        );
        println!("    {}", reject.raw_record);
    }
    let hidden = found
        .in_quarantine
        .saturating_sub(found.rejects.len() as u64);
    if hidden > 0 {
        println!("... and {hidden} more (--limit N shows more)");
    }
    Ok(exit::OK)
}
