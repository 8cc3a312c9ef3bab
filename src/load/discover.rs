//! What the ledger knows of files waiting in a landing directory (see [`crate::discover`]).

use std::time::{SystemTime, UNIX_EPOCH};

use super::ledger::{Failure, utc_text};
use super::{LoadError, Warehouse};

/// The failures after which the same bytes fail again.
const DATA_QUALITY_FAILURES: [Failure; 2] = [Failure::InvalidFile, Failure::RejectRateExceeded];

/// A file the ledger saw at a path, with a size and modification time, that either loaded
/// or failed on data quality: while the file has not changed, its bytes are known.
#[derive(Debug, Clone)]
pub struct SeenFile {
    pub source_path: String,
    pub bytes: u64,
    /// Microseconds since the Unix epoch, as the ledger keeps the time (to the microsecond).
    pub modified_micros: i64,
    pub sha256: String,
    pub loaded: bool,
}

/// The ledger's last word on a file's bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum ContentVerdict {
    /// A load of these bytes succeeded.
    Loaded,
    /// The latest load of these bytes failed (and none succeeded).
    Failed(FailedLoad),
}

/// A load that failed, as discovery needs it to decide whether to hold its file back.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FailedLoad {
    pub load_id: i64,
    /// `invalid_file`, `reject_rate_exceeded`, `error` (None for older failures).
    pub failure: Option<String>,
    pub rows_read: u64,
    pub rows_rejected: u64,
    pub error: Option<String>,
    /// ISO 8601 in UTC.
    pub failed_at: Option<String>,
    /// The contract that judged the load (None for loads before contracts were recorded).
    pub contract_sha256: Option<String>,
}

impl FailedLoad {
    /// Whether the same bytes fail again, whatever the limits (a file that is not a sales
    /// feed).
    pub fn invalid_file(&self) -> bool {
        self.failure.as_deref() == Some(Failure::InvalidFile.ledger_code())
    }

    /// Whether the load was rolled back over the per-file reject limit.
    pub fn over_reject_limit(&self) -> bool {
        self.failure.as_deref() == Some(Failure::RejectRateExceeded.ledger_code())
    }
}

/// A modification time as the ledger keeps it: microseconds since the epoch, truncated.
pub fn micros_since_epoch(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_micros() as i64,
        Err(before) => -(before.duration().as_micros() as i64),
    }
}

impl Warehouse {
    /// The files the ledger saw at these paths that loaded or failed on data quality.
    pub fn files_seen_at(&mut self, paths: &[String]) -> Result<Vec<SeenFile>, LoadError> {
        let failures: Vec<&str> = DATA_QUALITY_FAILURES.map(Failure::ledger_code).to_vec();
        let rows = self
            .client
            .query(
                "select source_path, file_bytes, file_sha256, status = 'succeeded' as loaded,
                        (extract(epoch from file_modified_at) * 1000000)::bigint as modified
                 from salesflow.loads
                 where (status = 'succeeded' or failure = any($1))
                   and file_modified_at is not null and source_path = any($2)",
                &[&failures, &paths],
            )
            .map_err(|source| LoadError::database("reading the load ledger", source))?;
        Ok(rows
            .iter()
            .map(|row| SeenFile {
                source_path: row.get("source_path"),
                bytes: row.get::<_, i64>("file_bytes") as u64,
                modified_micros: row.get("modified"),
                sha256: row.get("file_sha256"),
                loaded: row.get("loaded"),
            })
            .collect())
    }

    /// Per SHA-256 (lowercase hex, as the ledger keeps it) that the ledger has a finished
    /// load of: loaded, or else its latest failure.
    pub fn content_verdicts(
        &mut self,
        sha256s: &[String],
    ) -> Result<Vec<(String, ContentVerdict)>, LoadError> {
        let rows = self
            .client
            .query(
                &format!(
                    "select distinct on (file_sha256) file_sha256,
                            status = 'succeeded' as loaded, load_id, failure, rows_read,
                            rows_rejected, error, {failed_at} as failed_at, contract_sha256
                     from salesflow.loads
                     where status in ('succeeded', 'failed') and file_sha256 = any($1)
                     order by file_sha256, status = 'succeeded' desc, load_id desc",
                    failed_at = utc_text("finished_at"),
                ),
                &[&sha256s],
            )
            .map_err(|source| LoadError::database("reading the load ledger", source))?;
        Ok(rows
            .iter()
            .map(|row| {
                let verdict = if row.get("loaded") {
                    ContentVerdict::Loaded
                } else {
                    ContentVerdict::Failed(FailedLoad {
                        load_id: row.get("load_id"),
                        failure: row.get("failure"),
                        rows_read: row.get::<_, i64>("rows_read") as u64,
                        rows_rejected: row.get::<_, i64>("rows_rejected") as u64,
                        error: row.get("error"),
                        failed_at: row.get("failed_at"),
                        contract_sha256: row.get("contract_sha256"),
                    })
                };
                (row.get("file_sha256"), verdict)
            })
            .collect())
    }
}
