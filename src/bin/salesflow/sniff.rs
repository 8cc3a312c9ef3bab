//! `salesflow sniff`: a contract proposed for a new feed, from a sample of one of its files.

use std::io::{BufRead, Read};
use std::path::PathBuf;

use anyhow::Context;

use crate::exit;

/// Propose a contract for a new feed from a sample of one of its files.
///
/// Reads the first --rows rows of FILE (gzip too), works out its encoding, delimiter, which
/// header field is which column, and how it writes amounts and dates, and prints a complete
/// contract on stdout: the built-in one with those choices, each with its evidence as a
/// comment. Review it, commit it (as contracts/<feed>.toml for the Airflow DAG's feed
/// directories) and load with `--contract`. What the sample cannot decide (too few rows, two
/// date orders that both fit) is marked COULD NOT DECIDE and left at the built-in choice. A
/// file that the built-in contract reads as it is needs no contract of its own: sniff says so
/// on stderr and prints the built-in contract.
#[derive(clap::Args)]
pub struct Args {
    /// The file to sample (.csv or .csv.gz).
    file: PathBuf,
    /// How many data rows to look at.
    #[arg(long, default_value_t = 1000)]
    rows: usize,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let source = salesflow::read::open(&args.file, encoding_rs::UTF_8)
        .with_context(|| format!("opening {}", args.file.display()))?;
    // The header and `rows` lines, as bytes: the encoding is what is being found out.
    let mut sample = Vec::new();
    let mut reader = source.reader;
    for _ in 0..=args.rows {
        if reader
            .by_ref()
            .take(1 << 20)
            .read_until(b'\n', &mut sample)
            .with_context(|| format!("reading {}", args.file.display()))?
            == 0
        {
            break;
        }
    }
    let sniffed = salesflow::sniff::sniff(&sample, args.rows);
    let name = args.file.file_name().map_or_else(
        || args.file.display().to_string(),
        |name| name.to_string_lossy().into(),
    );
    if sniffed.fits_the_built_in_contract() {
        tracing::info!(
            "{name} fits the built-in contract as it is: it needs no contract of its own"
        );
    }
    print!("{}", sniffed.contract_toml(&name));
    Ok(exit::OK)
}
