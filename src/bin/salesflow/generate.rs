//! `salesflow generate`: synthetic sales files.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;
use salesflow::generate::{GenerateOptions, generate};

use crate::exit;

/// Write synthetic sales in the reference schema, deterministic per seed. A name
/// ending in .gz is gzip-compressed.
#[derive(clap::Args)]
pub struct Args {
    /// Number of sales rows.
    #[arg(long)]
    rows: u64,
    /// Share of rows (0..1) carrying one defect (bad numbers, dates, quotes, ...).
    #[arg(long, default_value_t = 0.0, value_parser = crate::ingest::parse_rate)]
    defect_rate: f64,
    /// Random seed: the same seed gives the same file.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// First SaleID (ids increase by one per row).
    #[arg(long, default_value_t = 1)]
    first_sale_id: i64,
    /// First sale date.
    #[arg(long, default_value = "2022-01-01")]
    first_date: NaiveDate,
    /// Number of days sales are spread over.
    #[arg(long, default_value_t = 1095)]
    days: i64,
    /// Output file.
    #[arg(short, long)]
    output: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let options = GenerateOptions {
        rows: args.rows,
        seed: args.seed,
        defect_rate: args.defect_rate,
        first_sale_id: args.first_sale_id,
        first_date: args.first_date,
        days: args.days,
    };
    let file = File::create(&args.output)
        .with_context(|| format!("creating {}", args.output.display()))?;
    let gzip = args.output.extension().is_some_and(|ext| ext == "gz");
    let context = || format!("writing {}", args.output.display());
    if gzip {
        let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        generate(&options, &mut encoder).with_context(context)?;
        encoder.finish().with_context(context)?.flush()?;
    } else {
        generate(&options, file).with_context(context)?;
    }
    tracing::info!(rows = args.rows, path = %args.output.display(), "generated");
    Ok(exit::OK)
}
