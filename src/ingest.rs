//! One file through the whole flow: read, clean, land, merge, with a report of where
//! every row went. Used by `salesflow ingest` (with a database) and `salesflow check`
//! (without one).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufRead};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::clean::{Cleaner, Reject};
use crate::contract::{Contract, HeaderError};
use crate::load::{
    InputFailed, InputProblem, LoadError, LoadOutcome, LoadRequest, RowSource, RowWriter, Streamed,
    Warehouse,
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
}

#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// The feed the files come from (`salesflow.loads.feed`), when one is named.
    pub feed: Option<String>,
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

/// A file's rows, read and cleaned one at a time: the loader pulls them.
struct FileRows<'a> {
    reader: RecordReader<Box<dyn BufRead + Send>>,
    cleaner: Cleaner<'a>,
    consumed: Arc<AtomicU64>,
    tallies: &'a mut Tallies,
    progress: Progress<'a>,
    streamed: Streamed,
    /// The sale id of the last row that had one: are ids strictly increasing?
    last_id: Option<i64>,
    /// The last line read, for the line number of a read error.
    last_line: u64,
    /// Reused to spell a flag's code for its tally.
    code: String,
}

impl<'a> FileRows<'a> {
    /// Opens `path` and binds its header to the contract.
    fn open(
        contract: &'a Contract,
        path: &Path,
        tallies: &'a mut Tallies,
        progress: Progress<'a>,
    ) -> Result<FileRows<'a>, InputError> {
        let source = read::open(path, contract.dialect.encoding).map_err(InputError::Open)?;
        let mut reader =
            RecordReader::new(source.reader, contract.max_record_lines, &contract.dialect);
        let header = match reader
            .read_header()
            .map_err(|cause| InputError::Read { line: 1, cause })?
        {
            Some(Header::Names { names, .. }) => names,
            Some(Header::UnbalancedQuote { line }) => {
                return Err(InputError::Header(HeaderError::UnbalancedQuote { line }));
            }
            None => return Err(InputError::Header(HeaderError::Empty)),
        };
        let binding = contract
            .bind_header(header.iter().map(String::as_str))
            .map_err(InputError::Header)?;
        Ok(FileRows {
            reader,
            cleaner: Cleaner::new(contract, binding),
            consumed: source.consumed,
            tallies,
            progress,
            streamed: Streamed {
                ids_strictly_increasing: true,
                header,
                ..Streamed::default()
            },
            last_id: None,
            last_line: 1,
            code: String::new(),
        })
    }
}

impl FileRows<'_> {
    /// Reads, cleans and tallies the next row; encodes it for COPY into `rows` when given
    /// (`salesflow check` copies nothing). False at the end of the file.
    fn read_row(&mut self, rows: Option<&mut RowWriter>) -> Result<bool, InputError> {
        let item = match self.reader.next_item() {
            Ok(Some(item)) => item,
            Ok(None) => {
                (self.progress)(self.consumed.load(Ordering::Relaxed));
                return Ok(false);
            }
            Err(cause) => {
                return Err(InputError::Read {
                    line: self.last_line + 1,
                    cause,
                });
            }
        };
        let streamed = &mut self.streamed;
        streamed.rows_read += 1;
        if streamed.rows_read % 16_384 == 0 {
            (self.progress)(self.consumed.load(Ordering::Relaxed));
        }
        let (line, outcome) = match &item {
            Item::Record(record) => (record.line, self.cleaner.clean(record)),
            Item::Unframed { line, .. } => (*line, Err(Reject::unbalanced_quote())),
        };
        self.last_line = line;
        // A reject whose sale id parsed takes part in "the last occurrence wins" too.
        let sale_id = match &outcome {
            Ok(sale) => Some(sale.sale_id),
            Err(reject) => reject.fields.sale_id,
        };
        if let Some(sale_id) = sale_id {
            if self.last_id.is_some_and(|last| sale_id <= last) {
                streamed.ids_strictly_increasing = false;
            }
            self.last_id = Some(sale_id);
        }
        match outcome {
            Ok(sale) => {
                streamed.sale_id_range = Some(match streamed.sale_id_range {
                    None => (sale.sale_id, sale.sale_id),
                    Some((low, high)) => (low.min(sale.sale_id), high.max(sale.sale_id)),
                });
                for flag in &sale.flags {
                    self.code.clear();
                    let _ = write!(self.code, "{flag}");
                    tally(&mut self.tallies.flags, &self.code);
                }
                if let Some(rows) = rows {
                    rows.sale(line, &sale);
                }
            }
            Err(reject) => {
                streamed.rows_rejected += 1;
                for reason in &reject.reasons {
                    tally(&mut self.tallies.reject_reasons, reason);
                }
                if let Some(rows) = rows {
                    let raw = match &item {
                        Item::Record(record) => record.raw,
                        Item::Unframed { raw, .. } => raw,
                    };
                    rows.reject(line, raw, &reject);
                }
            }
        }
        Ok(true)
    }
}

impl RowSource for FileRows<'_> {
    type Error = InputError;

    fn next_row(&mut self, rows: &mut RowWriter) -> Result<bool, InputError> {
        self.read_row(Some(rows))
    }

    fn streamed(&self) -> Streamed {
        self.streamed.clone()
    }
}

/// Reads and cleans every row of `path`, without a database.
fn read_all(
    contract: &Contract,
    path: &Path,
    tallies: &mut Tallies,
    progress: Progress<'_>,
) -> Result<Streamed, InputError> {
    let mut rows = FileRows::open(contract, path, tallies, progress)?;
    while rows.read_row(None)? {}
    Ok(rows.streamed())
}

/// Validates a file without a database: what `salesflow check` reports. Duplicates
/// within the file are not known here (that takes the merge), so rows are counted as
/// loaded or rejected.
pub fn check_file(contract: &Contract, path: &Path, progress: Progress<'_>) -> FileReport {
    let started = Instant::now();
    let mut report = FileReport::new(path.display().to_string());
    let mut tallies = Tallies::default();
    match read_all(contract, path, &mut tallies, progress) {
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
        feed: options.feed.as_deref(),
        contract,
        sha256: &digest.sha256,
        bytes: digest.bytes,
        modified: digest.modified,
        force: options.force,
        dry_run: options.dry_run,
        max_reject_rate: options.max_reject_rate,
    };
    let mut tallies = Tallies::default();
    let outcome = warehouse.load_file(&request, || {
        FileRows::open(contract, path, &mut tallies, progress)
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
/// for another reason (permissions, an I/O error) failed, and may pass when retried.
impl InputProblem for InputError {
    fn is_invalid_file(&self) -> bool {
        match self {
            InputError::Header(_) => true,
            InputError::Read { cause, .. } => matches!(
                cause.kind(),
                io::ErrorKind::InvalidData
                    | io::ErrorKind::InvalidInput
                    | io::ErrorKind::UnexpectedEof
            ),
            InputError::Open(_) => false,
        }
    }
}

fn record_input_error(report: &mut FileReport, error: &InputError) {
    report.status = if error.is_invalid_file() {
        FileStatus::Invalid
    } else {
        FileStatus::Failed
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
