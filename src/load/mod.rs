//! The PostgreSQL side: connection, migrations, the load ledger, locking, COPY into a
//! landing table and the set-based merge into `raw.sales`.
//!
//! One file is one transaction. Loads are serialized by a session advisory lock held
//! from the ledger entry to the commit, so load ids (and `loaded_at`) increase in commit
//! order: downstream incremental models can take "rows of loads after the last one I
//! saw" without ever missing a load that committed late. A loader that dies releases the
//! lock with its connection; the next one to take the lock marks its ledger row failed.
//!
//! This module knows nothing of CSV syntax: it receives typed sales and rejects. Its parts:
//! `connection` (libpq settings and TLS), `error`, `migrate` (versioned schema and roles),
//! `ledger` (`salesflow.loads`), `review` (acceptances at the quality gate), `rejects` (the
//! quarantine read back), `replay` (the quarantine judged again), `history` (a range of loads
//! for the data-quality page), `lock`, `copy` (COPY encoding) and `merge`; here, a file's load.

mod connection;
mod copy;
mod discover;
mod error;
mod gate;
mod history;
mod key_spool;
mod ledger;
mod lock;
mod merge;
mod migrate;
mod rejects;
mod replay;
mod review;

use std::fmt;
use std::time::SystemTime;

use chrono::{Datelike, NaiveDate};
use postgres::Client;

pub use connection::{ConnectionSettings, SslMode, connection_config, url_has_password};
pub use copy::{RowKind, RowWriter};
pub use discover::{ContentVerdict, FailedLoad, SeenFile, micros_since_epoch};
pub use error::LoadError;
use error::describe_error;
pub use gate::{GateVerdict, JudgedLoad, Publication, PublishOutcome, Verdict};
pub use history::{
    AcceptanceRecord, FlagCount, LoadHistory, LoadRange, LoadRecord, LoadReject, PublicationRecord,
};
pub use ledger::LedgerRow;
use ledger::{Failure, Ledger, mark_abandoned};
pub use migrate::{LOADER_ROLE, READER_ROLE, TRANSFORMER_ROLE};
pub use rejects::{LoadRejects, ReasonCount, RejectedRow};
pub use replay::{Rejudge, ReplayOutcome, ReplayRequest};
pub use review::{Acceptance, AcceptanceRevocation, LoadAcceptance, ReviewedLoad, Revocation};

use crate::report::Counts;

/// What the row source learned while reading one file's rows.
#[derive(Debug, Default, Clone)]
pub struct Streamed {
    pub rows_read: u64,
    pub rows_rejected: u64,
    /// True when the sale ids of the file's rows (valid ones, and rejects whose id parsed)
    /// came strictly increasing, so the file cannot contain duplicates and the merge can
    /// skip its de-duplication sort.
    pub ids_strictly_increasing: bool,
    /// The smallest and largest valid sale ids, if any row was valid.
    pub sale_id_range: Option<(i64, i64)>,
    /// The fields of the file's header line (`salesflow.loads.header`).
    pub header: Vec<String>,
}

/// One file to load.
#[derive(Debug, Clone)]
pub struct LoadRequest<'a> {
    pub source_path: &'a str,
    /// The feed the file came from (`salesflow.loads.feed`).
    pub feed: Option<&'a str>,
    /// The contract that judges the file's rows (`salesflow.loads.contract_sha256`).
    pub contract: &'a crate::contract::Contract,
    pub sha256: &'a str,
    pub bytes: u64,
    /// When the file was last modified (`salesflow.loads.file_modified_at`).
    pub modified: Option<SystemTime>,
    /// Load even if a load of the same bytes already succeeded.
    pub force: bool,
    /// Do everything in a transaction that is rolled back; write no ledger row.
    pub dry_run: bool,
    /// Roll the file back when rejected / read exceeds this.
    pub max_reject_rate: Option<f64>,
}

/// How a file's load ended, when the database did its part.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadOutcome {
    /// Merged and committed (or, for a dry run, merged and rolled back).
    Loaded {
        load_id: Option<i64>,
        counts: Counts,
    },
    /// The same bytes were already loaded by `previous_load_id`.
    Skipped { load_id: i64, previous_load_id: i64 },
    /// Too many rejects: rolled back.
    RejectRateExceeded {
        load_id: Option<i64>,
        counts: Counts,
        rate: f64,
        limit: f64,
    },
}

/// A file whose input failed while it was streamed (unreadable, no usable header): its
/// transaction was rolled back, and its ledger row, if it has one (not a dry run), says
/// failed with the error.
#[derive(Debug)]
pub struct InputFailed<E> {
    pub load_id: Option<i64>,
    pub error: E,
}

/// An error of a load's input, which knows whether loading the same bytes again can pass.
pub trait InputProblem: fmt::Display {
    /// True when the bytes themselves are at fault (not a sales feed, a corrupt gzip): the
    /// same file fails the same way every time.
    fn is_invalid_file(&self) -> bool;
}

/// A file's rows, pulled one at a time by the loader. Pulled, not pushed: the loader
/// sends each row to the table it belongs to, and starting a new month's table or
/// flushing rejects means pausing the COPY stream in between, which only the holder of
/// the transaction can do.
pub trait RowSource {
    type Error: InputProblem;
    /// Encodes the next row into `rows`; false after the last row.
    fn next_row(&mut self, rows: &mut RowWriter) -> Result<bool, Self::Error>;
    /// What was learned about the rows, once they are all read.
    fn streamed(&self) -> Streamed;
}

/// A connection to the warehouse.
pub struct Warehouse {
    client: Client,
    target: String,
}

impl Warehouse {
    pub fn connect(settings: &ConnectionSettings) -> Result<Warehouse, LoadError> {
        let target = settings.target();
        let mut client = settings.connect()?;
        // Sized for one file's staging and merge; local to this session.
        client
            .batch_execute(
                "set work_mem = '256MB'; set maintenance_work_mem = '512MB'; \
                 set temp_buffers = '256MB'",
            )
            .map_err(|source| LoadError::database("configuring the session", source))?;
        Ok(Warehouse { client, target })
    }

    /// "user@host:port/dbname", without the password.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// A read-only transaction that sees one snapshot of the database, for reports that read
    /// several tables.
    fn snapshot(&mut self) -> Result<postgres::Transaction<'_>, LoadError> {
        self.client
            .build_transaction()
            .read_only(true)
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .start()
            .map_err(|source| LoadError::database("starting the transaction", source))
    }

    pub fn migrate(&mut self) -> Result<usize, LoadError> {
        migrate::migrate(&mut self.client)
    }

    /// Works as `salesflow_loader` from now on, when the user is a member of it (see
    /// [`migrate::take_loader_role`]); returns whether it does.
    pub fn take_loader_role(&mut self) -> Result<bool, LoadError> {
        migrate::take_loader_role(&mut self.client)
            .map_err(|source| LoadError::database("taking the salesflow_loader role", source))
    }

    /// Loads one file: `open` opens its rows (inside the file's transaction, so that an
    /// unreadable file gets a failed ledger row like any other input error).
    ///
    /// The outer error is the database's; the inner one is the input's (from `open` or
    /// the rows), after which the transaction is rolled back and the ledger row marked
    /// failed.
    pub fn load_file<E: InputProblem, S: RowSource<Error = E>>(
        &mut self,
        request: &LoadRequest<'_>,
        open: impl FnOnce() -> Result<S, E>,
    ) -> Result<Result<LoadOutcome, InputFailed<E>>, LoadError> {
        let db = |context| move |source| LoadError::database(context, source);
        lock::take_loads(&mut self.client).map_err(db("waiting for the load lock"))?;
        let result = self.load_file_locked(request, open);
        let released = lock::release_loads(&mut self.client);
        let result = result?;
        released.map_err(db("releasing the load lock"))?;
        Ok(result)
    }

    fn load_file_locked<E: InputProblem, S: RowSource<Error = E>>(
        &mut self,
        request: &LoadRequest<'_>,
        open: impl FnOnce() -> Result<S, E>,
    ) -> Result<Result<LoadOutcome, InputFailed<E>>, LoadError> {
        let db = |context| move |source| LoadError::database(context, source);
        mark_abandoned(&mut self.client)?;
        let ledger = Ledger::new(request);
        if !request.dry_run && !request.force {
            if let Some(previous_load_id) = ledger
                .succeeded_before(&mut self.client)
                .map_err(db("reading the load ledger"))?
            {
                let load_id = ledger
                    .open(&mut self.client, "skipped")
                    .map_err(db("writing the load ledger"))?;
                return Ok(Ok(LoadOutcome::Skipped {
                    load_id,
                    previous_load_id,
                }));
            }
        }
        let load_id = if request.dry_run {
            None
        } else {
            Some(
                ledger
                    .open(&mut self.client, "running")
                    .map_err(db("writing the load ledger"))?,
            )
        };
        let merged = merge::merge_file(&mut self.client, request, load_id, open);
        match (&merged, load_id) {
            (Ok(Ok(_)), _) | (_, None) => {}
            (Ok(Err(input_error)), Some(load_id)) => {
                let failure = if input_error.is_invalid_file() {
                    Failure::InvalidFile
                } else {
                    Failure::Error
                };
                Ledger::fail(
                    &mut self.client,
                    load_id,
                    failure,
                    None,
                    &input_error.to_string(),
                )
                .map_err(db("writing the load ledger"))?;
            }
            (Err(error), Some(load_id)) => {
                Ledger::record_error(&mut self.client, load_id, &error.to_string())
            }
        }
        let merged = merged?;
        if let (
            Ok(LoadOutcome::RejectRateExceeded {
                counts,
                rate,
                limit,
                ..
            }),
            Some(load_id),
        ) = (&merged, load_id)
        {
            Ledger::fail(
                &mut self.client,
                load_id,
                Failure::RejectRateExceeded,
                Some(counts),
                &format!(
                    "reject rate {:.2}% is over the limit of {:.2}%: rolled back",
                    rate * 100.0,
                    limit * 100.0
                ),
            )
            .map_err(db("writing the load ledger"))?;
        }
        Ok(merged.map_err(|error| InputFailed { load_id, error }))
    }
}

/// The first day of a date's month: the partition it belongs to.
pub fn month_of(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("day 1 exists")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_of_is_the_first_day() {
        let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(month_of(date), NaiveDate::from_ymd_opt(2024, 2, 1).unwrap());
    }
}
