//! The `salesflow` command line: argument parsing, progress, output and exit codes.
//! The work itself is in the library.

mod accept;
mod check;
mod discover;
mod exit;
mod gate;
mod generate;
mod ingest;
mod rejects;
mod replay;
mod report;
mod sniff;
mod status;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use salesflow::contract::Contract;
use salesflow::load::{self, LoadError, ReviewedLoad, Warehouse};
use salesflow::read::ReadError;

#[derive(Parser)]
#[command(
    name = "salesflow",
    version,
    about = "Stream retail sales CSV files into a trustworthy PostgreSQL warehouse",
    long_about = "Stream retail sales CSV files into a trustworthy PostgreSQL warehouse.\n\n\
        Every row read ends as exactly one of: loaded (new sale), updated (same SaleID, \
        changed content), unchanged, duplicate (repeated later in the same file; the last \
        occurrence wins) or rejected (quarantined in raw.sales_rejects with reason codes).",
    after_help = "Exit codes: 0 ok; 1 failure; 2 usage or settings error (bad arguments, a \
        path that matches no file, an invalid contract, no or an invalid database URL, a \
        login, database or TLS setting the server refuses, a certificate that does not verify); \
        3 data-quality problem (reject rate over \
        --max-reject-rate, a file that is not a sales feed: empty, missing columns, a corrupt \
        gzip, or a load the quality gate holds back); 4 database unreachable or connection lost \
        (worth a retry). `salesflow exit-codes --json` prints them for programs.\n\n\
        Connection, as with libpq: --database-url or DATABASE_URL (a URL or key=value \
        string), completed by PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and the password \
        file (PGPASSFILE, else ~/.pgpass). TLS: sslmode disable, allow, prefer (the default), \
        require, verify-ca or verify-full, with sslrootcert, sslcert and sslkey, in the URL or \
        as PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY; a certificate or TLS setting the \
        server refuses exits 2. Where the role salesflow_loader exists and the user is a \
        member, salesflow works as that role (SET ROLE). Passwords never appear in output."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    /// Log more (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    Ingest(ingest::Args),
    Check(check::Args),
    Generate(generate::Args),
    Status(status::Args),
    Rejects(rejects::Args),
    Replay(replay::Args),
    Report(report::Args),
    Accept(accept::Args),
    Gate(gate::GateArgs),
    Publish(gate::PublishArgs),
    Sniff(sniff::Args),
    Discover(discover::Args),
    ExitCodes(exit::Args),
}

/// Options shared by the commands that use the database.
#[derive(clap::Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL, e.g. postgresql://user@host:5432/db (PG* variables fill gaps).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl DatabaseArgs {
    /// Connects and brings the schema up to date.
    pub fn open(&self) -> Result<Warehouse, LoadError> {
        if let Some(url) = &self.database_url
            && given_on_command_line()
            && load::url_has_password(url)
        {
            tracing::warn!(
                "the password in --database-url is visible to other users of this machine \
                 (ps, shell history): put it in PGPASSWORD, or in ~/.pgpass (or the file \
                 PGPASSFILE names), or give the URL in DATABASE_URL"
            );
        }
        let config = load::connection_config(self.database_url.as_deref())?;
        let mut warehouse = Warehouse::connect(&config)?;
        let applied = warehouse.migrate()?;
        let as_loader = warehouse.take_loader_role()?;
        tracing::debug!(
            target_db = warehouse.target(),
            applied,
            as_loader,
            "connected"
        );
        Ok(warehouse)
    }
}

/// Whether `--database-url` itself is on the command line (not read from DATABASE_URL).
fn given_on_command_line() -> bool {
    std::env::args_os().any(|arg| {
        arg.to_str()
            .is_some_and(|arg| arg == "--database-url" || arg.starts_with("--database-url="))
    })
}

/// A load's file and reject rate, e.g. `sales.csv, 1 of 1005 rows rejected = 0.10%`.
pub fn describe_load(load: &ReviewedLoad) -> String {
    let rate = 100.0 * salesflow::report::reject_rate(load.rows_read, load.rows_rejected);
    format!(
        "{}, {} of {} rows rejected = {rate:.2}%",
        load.source_path, load.rows_rejected, load.rows_read
    )
}

/// Options shared by the commands that read sales files.
#[derive(clap::Args)]
pub struct ContractArgs {
    /// Data contract (TOML) to validate against, instead of the built-in sales contract.
    #[arg(long, value_name = "FILE")]
    contract: Option<PathBuf>,
}

impl ContractArgs {
    pub fn load(&self) -> anyhow::Result<Contract> {
        Ok(match &self.contract {
            Some(path) => Contract::from_file(path)?,
            None => Contract::default_sales(),
        })
    }
}

/// The files that PATH arguments name (read::expand_paths), with a warning when there is
/// none: `nothing_to` says what the command would have done ("load", "check").
pub fn files_to_read(paths: &[String], nothing_to: &str) -> Result<Vec<PathBuf>, ReadError> {
    let files = salesflow::read::expand_paths(paths)?;
    if files.is_empty() {
        tracing::warn!(
            ?paths,
            "no *.csv or *.csv.gz file found: nothing to {nothing_to}"
        );
    }
    Ok(files)
}

/// A progress bar over stored bytes, drawn only when stderr is a terminal.
pub fn progress_bar(total_bytes: u64, label: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total_bytes);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(label.to_string());
    bar
}

fn init_logging(format: LogFormat, verbose: u8) {
    let default = match verbose {
        0 => "salesflow=info",
        1 => "salesflow=debug",
        _ => "salesflow=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.with_target(false).init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Writes `--report-json FILE`, when it was given.
pub fn write_json_report(
    path: Option<&Path>,
    reports: &[salesflow::report::FileReport],
) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::write(path, salesflow::report::to_json(reports))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format, cli.verbose);
    let result = match cli.command {
        Command::Ingest(args) => ingest::run(args),
        Command::Check(args) => check::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Status(args) => status::run(args),
        Command::Rejects(args) => rejects::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Report(args) => report::run(args),
        Command::Accept(args) => accept::run(args),
        Command::Gate(args) => gate::run_gate(args),
        Command::Publish(args) => gate::run_publish(args),
        Command::Sniff(args) => sniff::run(args),
        Command::Discover(args) => discover::run(args),
        Command::ExitCodes(args) => exit::run(args),
    };
    ExitCode::from(result.unwrap_or_else(|error| exit::fail(&error)))
}
