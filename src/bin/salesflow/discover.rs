//! `salesflow discover`: the files of a landing directory that are not loaded yet.

use std::path::PathBuf;

use salesflow::discover::{DiscoverOptions, discover};

use crate::ingest::parse_rate;
use crate::{DatabaseArgs, exit};

/// List the files of a landing directory that are not loaded yet, each with its feed and
/// the contract that will judge it.
///
/// Files at the top of LANDING (*.csv, *.csv.gz) are judged by the built-in contract. Each
/// folder LANDING/<feed>/ is a feed: its files are judged by <contracts-dir>/<feed>.toml when
/// that file exists, else by the built-in contract; a feed contract that cannot be read or
/// is invalid is named with its error. A file is new unless a load of its bytes succeeded
/// (files unchanged since the ledger saw them are not hashed again). A new file whose bytes
/// last failed on data quality under the same contract is listed as held: loading it again
/// would fail the same way. This is what the Airflow DAG maps its ingest tasks over.
#[derive(clap::Args)]
pub struct Args {
    /// The landing directory.
    #[arg(value_name = "LANDING")]
    landing: PathBuf,
    /// Where the feeds' contracts are, as <feed>.toml.
    #[arg(long, value_name = "DIR", default_value = "contracts")]
    contracts_dir: PathBuf,
    /// The per-file reject limit the files will be loaded under (ingest --max-reject-rate):
    /// a file rolled back over a lower limit is new again under a higher one.
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    max_reject_rate: Option<f64>,
    /// List at most this many new files; the rest wait for the next discovery.
    #[arg(long, value_name = "N", default_value_t = 500)]
    max_files: usize,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut warehouse = args.database.open()?;
    warehouse.sweep_abandoned_loads()?;
    let options = DiscoverOptions {
        landing: &args.landing,
        contracts_dir: &args.contracts_dir,
        max_reject_rate: args.max_reject_rate,
        max_files: args.max_files,
    };
    let discovery = discover(&mut warehouse, &options)?;
    tracing::info!(
        landing = %args.landing.display(),
        new = discovery.files.len(),
        held = discovery.files.iter().filter(|f| f.held.is_some()).count(),
        already_loaded = discovery.already_loaded,
        same_content = discovery.same_content,
        deferred = discovery.deferred,
        "discovered"
    );
    if args.json {
        println!("{}", serde_json::to_string_pretty(&discovery)?);
        return Ok(exit::OK);
    }
    println!("{:<10}  {:<24}  {:<40}  file", "feed", "contract", "state");
    for file in &discovery.files {
        let state = match (&file.contract_error, &file.held) {
            (Some(_), _) => "contract error".to_string(),
            (None, Some(held)) => format!(
                "held: load {} failed ({})",
                held.load_id,
                held.failure.as_deref().unwrap_or("error")
            ),
            (None, None) => "new".to_string(),
        };
        println!(
            "{:<10}  {:<24}  {:<40}  {}",
            file.feed.as_deref().unwrap_or("-"),
            file.contract.as_deref().unwrap_or("built-in"),
            state,
            file.name
        );
        if let Some(error) = &file.contract_error {
            println!("{:<10}  {error}", "");
        }
    }
    if discovery.deferred > 0 {
        println!(
            "{} more new file(s) beyond --max-files {}",
            discovery.deferred, args.max_files
        );
    }
    Ok(exit::OK)
}
