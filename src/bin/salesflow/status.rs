//! `salesflow status`: recent loads from the ledger.

use salesflow::report::Counts;

use crate::{DatabaseArgs, exit};

/// Show recent loads from the ledger (salesflow.loads), newest first, with the feed each came
/// from (`ingest --feed`) and the contract that judged it (the first 8 digits of its SHA-256;
/// --json: the whole hash, the contract's name and the file's header), their errors and
/// acceptances (`salesflow accept`; a revoked one is shown with its revocation, unless the
/// load was accepted again). Loads whose process died are marked failed first.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    database: DatabaseArgs,
    /// How many loads to show.
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// Only loads with this status (`--status succeeded --limit 1`: the newest load whose
    /// rows are in raw.sales).
    #[arg(long, value_enum)]
    status: Option<LoadStatus>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// A load's status in the ledger.
#[derive(Clone, Copy, clap::ValueEnum)]
enum LoadStatus {
    Running,
    Succeeded,
    Failed,
    Skipped,
}

impl LoadStatus {
    fn name(self) -> &'static str {
        match self {
            LoadStatus::Running => "running",
            LoadStatus::Succeeded => "succeeded",
            LoadStatus::Failed => "failed",
            LoadStatus::Skipped => "skipped",
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let mut warehouse = args.database.open()?;
    warehouse.sweep_abandoned_loads()?;
    let loads = warehouse.recent_loads(args.limit.into(), args.status.map(LoadStatus::name))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&loads)?);
        return Ok(exit::OK);
    }
    println!("loads in {} (newest first)", warehouse.target());
    println!(
        "{}",
        line([
            "load",
            "status",
            "started",
            "seconds",
            "read",
            "loaded",
            "updated",
            "unchanged",
            "duplicate",
            "rejected",
            "feed",
            "contract",
            "file",
        ])
    );
    for load in &loads {
        let Counts {
            read,
            loaded,
            updated,
            unchanged,
            duplicate,
            rejected,
            superseded,
        } = load.counts;
        let numbers =
            [read, loaded, updated, unchanged, duplicate, rejected].map(|n| n.to_string());
        let [read, loaded, updated, unchanged, duplicate, rejected] =
            numbers.each_ref().map(String::as_str);
        println!(
            "{}",
            line([
                &load.load_id.to_string(),
                &load.status,
                &load.started_at,
                &format!("{:.2}", load.seconds),
                read,
                loaded,
                updated,
                unchanged,
                duplicate,
                rejected,
                load.feed.as_deref().unwrap_or("-"),
                &short_hash(load.contract_sha256.as_deref()),
                &load.source_path,
            ])
        );
        if let Some(replays) = &load.replays {
            let loads: Vec<String> = replays.iter().map(ToString::to_string).collect();
            println!(
                "{:>6}  replay of load(s) {}: {superseded} superseded by later files",
                "",
                loads.join(", ")
            );
        }
        match (&load.error, &load.failure) {
            (Some(error), Some(failure)) => println!("{:>6}  error ({failure}): {error}", ""),
            (Some(error), None) => println!("{:>6}  error: {error}", ""),
            _ => {}
        }
        if let Some(accepted) = &load.acceptance {
            println!(
                "{:>6}  accepted at the quality gate {} by {}: {}",
                "", accepted.accepted_at, accepted.accepted_by, accepted.reason
            );
            if let Some(revoked) = &accepted.revoked {
                println!(
                    "{:>6}  acceptance revoked {} by {}: {}",
                    "", revoked.revoked_at, revoked.revoked_by, revoked.reason
                );
            }
        }
    }
    Ok(exit::OK)
}

/// One line of the table: the header and the loads share the column widths.
/// The first 8 hex digits of a contract's SHA-256, enough to tell versions apart at a glance
/// (`--json` has the whole hash and the contract's name); `-` for loads before contracts were
/// recorded.
fn short_hash(sha256: Option<&str>) -> String {
    sha256.map_or("-".into(), |sha256| sha256.chars().take(8).collect())
}

fn line(cells: [&str; 13]) -> String {
    let [
        load,
        status,
        started,
        seconds,
        read,
        loaded,
        updated,
        unchanged,
        duplicate,
        rejected,
        feed,
        contract,
        file,
    ] = cells;
    format!(
        "{load:>6}  {status:<10}  {started:<20}  {seconds:>8}  {read:>9}  {loaded:>8}  \
         {updated:>8}  {unchanged:>9}  {duplicate:>9}  {rejected:>8}  {feed:<10}  {contract:<8}  {file}"
    )
}
