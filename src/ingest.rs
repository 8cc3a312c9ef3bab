//! One file through the whole flow: read, clean, stage, merge, with a report of where
//! every row went. Used by `salesflow ingest` (with a database) and `salesflow check`
//! (without one).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::clean::{Cleaner, Reject};
use crate::contract::{Contract, HeaderError};
use crate::load::{
    self, InputFailed, LoadError, LoadOutcome, LoadRequest, RowWriter, Streamed, Warehouse,
};
use crate::read::{self, Header, Item, RecordReader};
use crate::report::{Counts, FileReport, FileStatus};

/// Why a file could not be read as a sales feed at all (as opposed to some bad rows).
/// The messages do not name the file: the report, the log line and the ledger row that
/// carry one also carry the file's path.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read the file: {0}")]
    Open(io::Error),
    #[error("read failed at line {line}: {cause}")]
    Read { line: u64, cause: io::Error },
    #[error("{0}")]
    Header(HeaderError),
    #[error("writing staged rows failed: {0}")]
    Stage(io::Error),
}

#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    pub force: bool,
    pub dry_run: bool,
    pub max_reject_rate: Option<f64>,
}

/// Receives the stored bytes consumed so far, from time to time.
pub type Progress<'p> = &'p mut dyn FnMut(u64);

/// Counts of reject reasons and flags, kept while streaming.
#[derive(Default)]
struct Tallies {
    reject_reasons: BTreeMap<String, u64>,
    flags: BTreeMap<String, u64>,
}

fn tally(map: &mut BTreeMap<String, u64>, code: &str) {
    match map.get_mut(code) {
        Some(count) => *count += 1,
        None => {
            map.insert(code.to_string(), 1);
        }
    }
}

/// Reads `path`, cleans every record and writes staged rows to `sink`.
fn stream_file<W: Write>(
    contract: &Contract,
    path: &Path,
    sink: &mut RowWriter<W>,
    tallies: &mut Tallies,
    progress: Progress<'_>,
) -> Result<Streamed, InputError> {
    let source = read::open(path).map_err(InputError::Open)?;
    let consumed = source.consumed.clone();
    let mut reader = RecordReader::new(source.reader, contract.max_record_lines);
    let read_error = |line, cause| InputError::Read { line, cause };
    let header = match reader.read_header().map_err(|e| read_error(1, e))? {
        Some(Header::Names { names, .. }) => names,
        Some(Header::UnbalancedQuote { line }) => {
            return Err(InputError::Header(HeaderError::UnbalancedQuote { line }));
        }
        None => return Err(InputError::Header(HeaderError::Empty)),
    };
    let binding = contract
        .bind_header(header.iter().map(String::as_str))
        .map_err(InputError::Header)?;
    let cleaner = Cleaner::new(contract, binding);

    let mut streamed = Streamed {
        ids_strictly_increasing: true,
        ..Streamed::default()
    };
    let mut last_id: Option<i64> = None;
    let mut last_line = 1;
    let mut code = String::new();
    loop {
        let item = match reader.next_item() {
            Ok(Some(item)) => item,
            Ok(None) => break,
            Err(error) => return Err(read_error(last_line + 1, error)),
        };
        streamed.rows_read += 1;
        if streamed.rows_read % 16_384 == 0 {
            progress(consumed.load(Ordering::Relaxed));
        }
        let (line, outcome) = match &item {
            Item::Record(record) => (record.line, cleaner.clean(record)),
            Item::Unframed { line, .. } => (*line, Err(Reject::unbalanced_quote())),
        };
        last_line = line;
        // A reject whose sale id parsed takes part in "the last occurrence wins" too.
        let sale_id = match &outcome {
            Ok(sale) => Some(sale.sale_id),
            Err(reject) => reject.fields.sale_id,
        };
        if let Some(sale_id) = sale_id {
            if last_id.is_some_and(|last| sale_id <= last) {
                streamed.ids_strictly_increasing = false;
            }
            last_id = Some(sale_id);
        }
        match outcome {
            Ok(sale) => {
                streamed.months.insert(load::month_of(sale.sale_date));
                streamed.sale_id_range = Some(match streamed.sale_id_range {
                    None => (sale.sale_id, sale.sale_id),
                    Some((low, high)) => (low.min(sale.sale_id), high.max(sale.sale_id)),
                });
                for flag in &sale.flags {
                    code.clear();
                    let _ = write!(code, "{flag}");
                    tally(&mut tallies.flags, &code);
                }
                sink.sale(line, &sale).map_err(InputError::Stage)?;
            }
            Err(reject) => {
                streamed.rows_rejected += 1;
                for reason in &reject.reasons {
                    tally(&mut tallies.reject_reasons, reason);
                }
                let raw = match &item {
                    Item::Record(record) => record.raw,
                    Item::Unframed { raw, .. } => raw,
                };
                sink.reject(line, raw, &reject).map_err(InputError::Stage)?;
            }
        }
    }
    progress(consumed.load(Ordering::Relaxed));
    Ok(streamed)
}

/// Validates a file without a database: what `salesflow check` reports. Duplicates
/// within the file are not known here (that takes the merge), so rows are counted as
/// loaded or rejected.
pub fn check_file(contract: &Contract, path: &Path, progress: Progress<'_>) -> FileReport {
    let started = Instant::now();
    let mut report = FileReport::new(path.display().to_string());
    let mut tallies = Tallies::default();
    let mut sink = RowWriter::new(io::sink());
    match stream_file(contract, path, &mut sink, &mut tallies, progress) {
        Ok(streamed) => {
            report.status = FileStatus::Validated;
            report.counts = Counts {
                read: streamed.rows_read,
                loaded: streamed.rows_read - streamed.rows_rejected,
                rejected: streamed.rows_rejected,
                ..Counts::default()
            };
        }
        Err(error) => record_input_error(&mut report, &error),
    }
    finish_report(&mut report, tallies, started);
    report
}

/// Loads one file. Problems of the file (unreadable, no usable header) end up in the
/// report as a failed file; the error is for the database failing.
pub fn ingest_file(
    warehouse: &mut Warehouse,
    contract: &Contract,
    path: &Path,
    options: &IngestOptions,
    progress: Progress<'_>,
) -> Result<FileReport, LoadError> {
    let started = Instant::now();
    let mut report = FileReport::new(path.display().to_string());
    let digest = match read::digest_file(path) {
        Ok(digest) => digest,
        Err(error) => {
            record_input_error(&mut report, &InputError::Open(error));
            return Ok(report);
        }
    };
    report.sha256 = Some(digest.sha256.clone());
    report.bytes = digest.bytes;
    // The ledger outlives the working directory the command ran in: it keeps where the
    // file was, not how it was typed.
    let source_path = std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string();
    let request = LoadRequest {
        source_path: &source_path,
        sha256: &digest.sha256,
        bytes: digest.bytes,
        force: options.force,
        dry_run: options.dry_run,
        max_reject_rate: options.max_reject_rate,
    };
    let mut tallies = Tallies::default();
    let outcome = warehouse.load_file(&request, |sink| {
        stream_file(contract, path, sink, &mut tallies, progress)
    })?;
    match outcome {
        Ok(LoadOutcome::Loaded { load_id, counts }) => {
            report.status = if options.dry_run {
                FileStatus::Validated
            } else {
                FileStatus::Succeeded
            };
            report.load_id = load_id;
            report.counts = counts;
        }
        Ok(LoadOutcome::Skipped {
            load_id,
            previous_load_id,
        }) => {
            report.status = FileStatus::Skipped;
            report.load_id = Some(load_id);
            tracing::info!(
                path = %report.path,
                previous_load_id,
                "skipped: the same file was already loaded (use --force to load it again)"
            );
        }
        Ok(LoadOutcome::RejectRateExceeded {
            load_id,
            counts,
            rate,
            limit,
        }) => {
            report.status = FileStatus::RejectRateExceeded;
            report.load_id = load_id;
            report.counts = counts;
            report.error = Some(format!(
                "reject rate {:.2}% is over --max-reject-rate {:.2}%: the file was rolled back",
                rate * 100.0,
                limit * 100.0
            ));
        }
        Err(InputFailed { load_id, error }) => {
            report.load_id = load_id;
            record_input_error(&mut report, &error);
        }
    }
    finish_report(&mut report, tallies, started);
    Ok(report)
}

/// A file that is not a sales feed (empty, without the contract's columns, a corrupt or
/// truncated gzip) is invalid: reading it again cannot help. One that could not be read
/// for another reason (permissions, an I/O error) failed.
fn record_input_error(report: &mut FileReport, error: &InputError) {
    report.status = match error {
        InputError::Header(_) => FileStatus::Invalid,
        InputError::Read { cause, .. }
            if matches!(
                cause.kind(),
                io::ErrorKind::InvalidData
                    | io::ErrorKind::InvalidInput
                    | io::ErrorKind::UnexpectedEof
            ) =>
        {
            FileStatus::Invalid
        }
        _ => FileStatus::Failed,
    };
    report.error = Some(error.to_string());
}

fn finish_report(report: &mut FileReport, tallies: Tallies, started: Instant) {
    // A file that failed loaded nothing and counts nothing: the reasons and flags seen
    // before the failure would contradict its counts.
    if !matches!(report.status, FileStatus::Failed | FileStatus::Invalid) {
        report.reject_reasons = tallies.reject_reasons;
        report.flags = tallies.flags;
    }
    report.reject_rate = report.counts.reject_rate();
    report.seconds = started.elapsed().as_secs_f64();
}
