//! Exit codes: the one table of what each code means, and the one mapping from an error to
//! its code. The README, `--help` and the Airflow DAG (airflow/dags/salesflow_pipeline/
//! exit_codes.py, which `salesflow exit-codes --json` renders and a test keeps in sync) all
//! say what this table says.

use salesflow::contract::ContractError;
use salesflow::discover::DiscoverError;
use salesflow::load::LoadError;
use salesflow::read::ReadError;

pub const OK: u8 = 0;
/// Anything else: a retry may pass (a load that fails leaves nothing behind).
pub const FAILURE: u8 = 1;
/// Wrong arguments or settings (clap's own code for usage errors): retrying the same
/// command cannot help.
pub const USAGE: u8 = 2;
pub const DATA_QUALITY: u8 = 3;
pub const DATABASE_UNREACHABLE: u8 = 4;

/// Every exit code: (code, name, meaning).
pub const TABLE: [(u8, &str, &str); 5] = [
    (OK, "OK", "done (skipped files included)"),
    (
        FAILURE,
        "FAILURE",
        "another failure; a retry may pass (a failed load leaves nothing behind)",
    ),
    (
        USAGE,
        "USAGE",
        "wrong arguments or settings (a path, a contract, the database URL, a login, TLS): \
         a retry cannot pass",
    ),
    (
        DATA_QUALITY,
        "DATA_QUALITY",
        "a data-quality problem: a file that is not a sales feed, a file over \
         --max-reject-rate, or a load the quality gate holds back",
    ),
    (
        DATABASE_UNREACHABLE,
        "DATABASE_UNREACHABLE",
        "the database is unreachable or the connection was lost: worth a retry",
    ),
];

/// Maps an error to its exit code, logging it.
pub fn fail(error: &anyhow::Error) -> u8 {
    tracing::error!("{error:#}");
    if let Some(load_error) = error.downcast_ref::<LoadError>() {
        return load_error_code(load_error);
    }
    if let Some(discover_error) = error.downcast_ref::<DiscoverError>() {
        return match discover_error {
            DiscoverError::Load(load_error) => load_error_code(load_error),
            DiscoverError::NoLandingDirectory(_) => USAGE,
            DiscoverError::Io { .. } => FAILURE,
        };
    }
    if error.is::<ReadError>() || error.is::<ContractError>() {
        return USAGE;
    }
    FAILURE
}

fn load_error_code(error: &LoadError) -> u8 {
    if error.is_unreachable() {
        return DATABASE_UNREACHABLE;
    }
    if error.is_configuration()
        || matches!(
            error,
            LoadError::NotAcceptable { .. }
                | LoadError::NotRevocable { .. }
                | LoadError::NoSuchLoad { .. }
                | LoadError::NotReplayable { .. }
        )
    {
        return USAGE;
    }
    FAILURE
}

/// Print the exit codes and what they mean (--json: for programs, such as the Airflow DAG).
#[derive(clap::Args)]
pub struct Args {
    /// Print JSON: a list of {code, name, meaning}.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    if args.json {
        let table: Vec<serde_json::Value> = TABLE
            .iter()
            .map(|(code, name, meaning)| {
                serde_json::json!({"code": code, "name": name, "meaning": meaning})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&table)?);
    } else {
        for (code, name, meaning) in TABLE {
            println!("{code}  {name:<20}  {meaning}");
        }
    }
    Ok(OK)
}
