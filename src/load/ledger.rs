//! The load ledger, `salesflow.loads`: one row per file load attempt, opened before the
//! load, finished with its counts or its failure, and read back by `status`.

use postgres::{Client, Transaction};

use super::review::{LoadAcceptance, ReviewedLoad, acceptance_columns};
use super::{LoadError, LoadRequest, Warehouse, lock};
use crate::report::Counts;

impl Warehouse {
    /// Marks the ledger rows of loads whose process died as failed. Safe to call any
    /// time: it only acts when no load is running (it needs the load lock).
    pub fn sweep_abandoned_loads(&mut self) -> Result<u64, LoadError> {
        let db = |source| LoadError::database("checking for abandoned loads", source);
        if !lock::try_loads(&mut self.client).map_err(db)? {
            return Ok(0);
        }
        let swept = mark_abandoned(&mut self.client);
        lock::release_loads(&mut self.client).map_err(db)?;
        swept
    }

    /// Recent ledger rows, newest first; only those of `status` when given.
    pub fn recent_loads(
        &mut self,
        limit: i64,
        status: Option<&str>,
    ) -> Result<Vec<LedgerRow>, LoadError> {
        let rows = self
            .client
            .query(
                &format!(
                    "select l.load_id, source_path, file_sha256, file_bytes, status, rows_read,
                            rows_loaded, rows_updated, rows_unchanged, rows_duplicate,
                            rows_rejected, rows_superseded, kind, replays,
                            {started_at} as started_at,
                            extract(epoch from coalesce(finished_at, clock_timestamp())
                                - started_at)::float8 as seconds,
                            error, failure, {file_modified_at} as file_modified_at,
                            feed, contract_sha256, c.name as contract_name, header,
                            {acceptance}
                     from salesflow.loads l
                     left join salesflow.contracts c on c.sha256 = l.contract_sha256
                     -- the standing acceptance, else the last one revoked
                     left join lateral (
                         select accepted_at, accepted_by, reason,
                                revoked_at, revoked_by, revoke_reason
                         from salesflow.load_acceptances
                         where load_id = l.load_id
                         order by revoked_at is null desc, acceptance_id desc limit 1
                     ) a on true
                     where $2::text is null or l.status = $2
                     order by l.load_id desc limit $1",
                    started_at = utc_text("started_at"),
                    file_modified_at = utc_text("file_modified_at"),
                    acceptance = acceptance_columns(),
                ),
                &[&limit, &status],
            )
            .map_err(|source| LoadError::database("reading the load ledger", source))?;
        Ok(rows
            .iter()
            .map(|row| LedgerRow {
                load_id: row.get("load_id"),
                source_path: row.get("source_path"),
                file_sha256: row.get("file_sha256"),
                file_bytes: row.get("file_bytes"),
                status: row.get("status"),
                counts: Counts::from_ledger_row(row),
                started_at: row.get("started_at"),
                seconds: row.get("seconds"),
                error: row.get("error"),
                failure: row.get("failure"),
                file_modified_at: row.get("file_modified_at"),
                acceptance: LoadAcceptance::from_row(row),
                feed: row.get("feed"),
                contract_sha256: row.get("contract_sha256"),
                contract_name: row.get("contract_name"),
                header: row.get("header"),
                kind: row.get("kind"),
                replays: row.get("replays"),
            })
            .collect())
    }
}

impl Counts {
    /// The counts of a `salesflow.loads` row (`rows_read` ... `rows_superseded`).
    fn from_ledger_row(row: &postgres::Row) -> Counts {
        let count = |column| row.get::<_, i64>(column) as u64;
        Counts {
            read: count("rows_read"),
            loaded: count("rows_loaded"),
            updated: count("rows_updated"),
            unchanged: count("rows_unchanged"),
            duplicate: count("rows_duplicate"),
            rejected: count("rows_rejected"),
            superseded: count("rows_superseded"),
        }
    }
}

/// Why a load failed, as the ledger's `failure` column keeps it for programs (the
/// orchestrator does not retry the same bytes after a failure that would repeat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// Not a sales feed: the same bytes fail again.
    InvalidFile,
    /// Rolled back over the reject limit: the same bytes fail again under that limit.
    RejectRateExceeded,
    /// Anything else (I/O, the database, a loader that died): a retry may pass.
    Error,
}

impl Failure {
    pub(super) fn ledger_code(self) -> &'static str {
        match self {
            Failure::InvalidFile => "invalid_file",
            Failure::RejectRateExceeded => "reject_rate_exceeded",
            Failure::Error => "error",
        }
    }
}

/// What the ledger says of a load reviewed by `accept` or `rejects`.
pub(super) struct LedgerEntry {
    pub(super) status: String,
    /// The class of a failed load's failure (see `LedgerRow::failure`).
    pub(super) failure: Option<String>,
    pub(super) load: ReviewedLoad,
}

/// The ledger's entry for a load; None when the ledger has no such load.
pub(super) fn ledger_entry(
    transaction: &mut Transaction<'_>,
    load_id: i64,
) -> Result<Option<LedgerEntry>, LoadError> {
    let row = transaction
        .query_opt(
            "select status, failure, source_path, rows_read, rows_rejected
             from salesflow.loads where load_id = $1",
            &[&load_id],
        )
        .map_err(|source| LoadError::database("reading the load ledger", source))?;
    Ok(row.map(|row| LedgerEntry {
        status: row.get("status"),
        failure: row.get("failure"),
        load: ReviewedLoad {
            load_id,
            source_path: row.get("source_path"),
            rows_read: row.get::<_, i64>("rows_read") as u64,
            rows_rejected: row.get::<_, i64>("rows_rejected") as u64,
        },
    }))
}

/// A ledger row, as `salesflow status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LedgerRow {
    pub load_id: i64,
    pub source_path: String,
    pub file_sha256: String,
    pub file_bytes: i64,
    /// When the file was last modified, as its load began (ISO 8601 in UTC, to the second;
    /// None for loads recorded before schema version 6).
    pub file_modified_at: Option<String>,
    pub status: String,
    pub counts: Counts,
    /// ISO 8601 in UTC, e.g. `2026-11-26T08:00:31Z` (the logs' time zone).
    pub started_at: String,
    pub seconds: f64,
    pub error: Option<String>,
    /// The class of a failure: `invalid_file` and `reject_rate_exceeded` fail again on the
    /// same bytes, `error` may pass when retried (None for older failures).
    pub failure: Option<String>,
    /// Set when an operator accepted the load at the quality gate (`salesflow accept`): the
    /// standing acceptance, else the last one revoked.
    pub acceptance: Option<LoadAcceptance>,
    /// The feed the file came from (`ingest --feed`), when one was named.
    pub feed: Option<String>,
    /// The SHA-256 of the contract that judged the load (`salesflow.contracts`; None for
    /// loads before schema version 10).
    pub contract_sha256: Option<String>,
    /// The name of that contract.
    pub contract_name: Option<String>,
    /// The fields of the file's header line (succeeded loads from schema version 10 on).
    pub header: Option<Vec<String>>,
    /// `file` (`salesflow ingest`) or `replay` (`salesflow replay`).
    pub kind: String,
    /// The loads whose quarantined rows a replay judged again (None for a file's load).
    pub replays: Option<Vec<i64>>,
}

/// A timestamptz column as ISO 8601 text in UTC, e.g. `2026-11-26T08:00:31Z` (the logs'
/// time zone, whatever the session's).
pub(super) fn utc_text(column: &str) -> String {
    format!("to_char({column} at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
}

pub(super) fn mark_abandoned(client: &mut Client) -> Result<u64, LoadError> {
    let swept = client
        .execute(
            "update salesflow.loads
             set status = 'failed', finished_at = clock_timestamp(), failure = 'error',
                 error = 'abandoned: the loading process ended (killed or disconnected) before it finished; nothing of it was committed'
             where status = 'running'",
            &[],
        )
        .map_err(|source| LoadError::database("checking for abandoned loads", source))?;
    if swept > 0 {
        tracing::warn!(swept, "marked abandoned loads as failed");
    }
    Ok(swept)
}

pub(super) struct Ledger<'r> {
    request: &'r LoadRequest<'r>,
}

impl<'r> Ledger<'r> {
    pub(super) fn new(request: &'r LoadRequest<'r>) -> Ledger<'r> {
        Ledger { request }
    }

    pub(super) fn succeeded_before(
        &self,
        client: &mut impl postgres::GenericClient,
    ) -> Result<Option<i64>, postgres::Error> {
        Ok(client
            .query_opt(
                "select max(load_id) from salesflow.loads
                 where file_sha256 = $1 and status = 'succeeded' having count(*) > 0",
                &[&self.request.sha256],
            )?
            .map(|row| row.get(0)))
    }

    /// Records the load attempt, with the contract that judges it (kept once per text).
    pub(super) fn open(&self, client: &mut Client, status: &str) -> Result<i64, postgres::Error> {
        let finished = if status == "running" { None } else { Some(()) };
        let contract = self.request.contract;
        client.execute(
            "insert into salesflow.contracts (sha256, name, text) values ($1, $2, $3)
             on conflict (sha256) do nothing",
            &[&contract.sha256, &contract.name, &contract.text],
        )?;
        Ok(client
            .query_one(
                "insert into salesflow.loads
                   (source_path, file_sha256, file_bytes, file_modified_at, status, finished_at,
                    contract_sha256, feed)
                 values ($1, $2, $3, $4, $5, case when $6 then clock_timestamp() end, $7, $8)
                 returning load_id",
                &[
                    &self.request.source_path,
                    &self.request.sha256,
                    &(self.request.bytes as i64),
                    &self.request.modified,
                    &status,
                    &finished.is_some(),
                    &contract.sha256,
                    &self.request.feed,
                ],
            )?
            .get(0))
    }

    /// Marks the load succeeded with its counts and, for a file, the header it had.
    pub(super) fn finish(
        transaction: &mut Transaction<'_>,
        load_id: i64,
        counts: &Counts,
        header: Option<&[String]>,
    ) -> Result<(), postgres::Error> {
        Self::update(
            transaction,
            load_id,
            "succeeded",
            Some(counts),
            None,
            header,
        )
    }

    /// Marks the load failed with an error a retry may fix, when the connection still allows:
    /// else the next loader marks it failed (`mark_abandoned`).
    pub(super) fn record_error(client: &mut Client, load_id: i64, error: &str) {
        if let Err(ledger_error) = Self::fail(client, load_id, Failure::Error, None, error) {
            tracing::warn!(
                ledger_error = %super::describe_error(&ledger_error),
                load_id,
                "could not record the failure in the ledger"
            );
        }
    }

    pub(super) fn fail(
        client: &mut Client,
        load_id: i64,
        failure: Failure,
        counts: Option<&Counts>,
        error: &str,
    ) -> Result<(), postgres::Error> {
        Self::update(
            client,
            load_id,
            "failed",
            counts,
            Some((failure, error)),
            None,
        )
    }

    fn update(
        client: &mut impl postgres::GenericClient,
        load_id: i64,
        status: &str,
        counts: Option<&Counts>,
        failure: Option<(Failure, &str)>,
        header: Option<&[String]>,
    ) -> Result<(), postgres::Error> {
        let counts = counts.cloned().unwrap_or_default();
        let n = |value: u64| value as i64;
        client.execute(
            "update salesflow.loads
             set status = $2, rows_read = $3, rows_loaded = $4, rows_updated = $5,
                 rows_unchanged = $6, rows_duplicate = $7, rows_rejected = $8,
                 rows_superseded = $12, finished_at = clock_timestamp(), failure = $9,
                 error = $10, header = coalesce($11, header)
             where load_id = $1",
            &[
                &load_id,
                &status,
                &n(counts.read),
                &n(counts.loaded),
                &n(counts.updated),
                &n(counts.unchanged),
                &n(counts.duplicate),
                &n(counts.rejected),
                &failure.map(|(failure, _)| failure.ledger_code()),
                // PostgreSQL's text cannot hold a NUL, which a binary file's message may quote.
                &failure.map(|(_, error)| error.replace('\0', "\\0")),
                &header,
                &n(counts.superseded),
            ],
        )?;
        Ok(())
    }
}
