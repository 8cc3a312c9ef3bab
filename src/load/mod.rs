//! The PostgreSQL side: connection, migrations, the load ledger, locking, COPY into a
//! landing table and the set-based merge into `raw.sales`.
//!
//! One file is one transaction. Loads are serialized by a session advisory lock held
//! from the ledger entry to the commit, so load ids (and `loaded_at`) increase in commit
//! order: downstream incremental models can take "rows of loads after the last one I
//! saw" without ever missing a load that committed late. A loader that dies releases the
//! lock with its connection; the next one to take the lock marks its ledger row failed.
//!
//! This module knows nothing of CSV syntax: it receives typed sales and rejects.

mod connection;
mod copy;
mod lock;
mod merge;
mod migrate;
mod rejects;

use std::fmt;
use std::time::SystemTime;

use chrono::{Datelike, NaiveDate};
use postgres::{Client, Transaction};

pub use connection::{ConnectionSettings, SslMode, connection_config, url_has_password};
pub use copy::{RowKind, RowWriter};
pub use migrate::{LOADER_ROLE, READER_ROLE, TRANSFORMER_ROLE};
pub use rejects::{LoadRejects, ReasonCount, RejectedRow};

use crate::report::Counts;

/// Errors of the PostgreSQL side. Each message includes its cause in full (the server's
/// message, or the I/O error), so the cause is not also returned by `source()`: printing an
/// error with its chain never repeats a line.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no database configured: set DATABASE_URL (or --database-url, or PGHOST etc.)")]
    NotConfigured,
    #[error(
        "invalid database URL: {0} (expected postgresql://user[:password]@host[:port]/database, \
         with optional ?sslmode=... parameters, or libpq key=value pairs)"
    )]
    InvalidUrl(String),
    #[error("cannot connect to PostgreSQL at {target}: {}", describe_error(.cause))]
    Unreachable {
        target: String,
        cause: postgres::Error,
    },
    /// The server asks for a password and none was given (URL, PGPASSWORD, password file).
    #[error(
        "cannot log in to PostgreSQL at {target}: the server asks for a password and none was \
         given (set PGPASSWORD, or put it in ~/.pgpass or the file PGPASSFILE names)"
    )]
    PasswordMissing { target: String },
    /// TLS could not be set up: `retryable` when the network broke the handshake, else the
    /// settings or the certificates are at fault.
    #[error("cannot connect to PostgreSQL at {target} with sslmode={mode}: {problem}")]
    Tls {
        target: String,
        mode: SslMode,
        problem: String,
        retryable: bool,
    },
    #[error("{context}: {}", describe_error(.cause))]
    Database {
        context: &'static str,
        cause: postgres::Error,
    },
    #[error("{0}")]
    Migration(String),
    /// Writing COPY data failed: the connection broke underneath it.
    #[error("streaming rows to COPY: {0}")]
    Copy(std::io::Error),
    /// `accept` named a load that cannot be accepted.
    #[error("load {load_id} cannot be accepted: {why}")]
    NotAcceptable { load_id: i64, why: String },
    /// A command named a load that the ledger does not have.
    #[error("load {load_id}: the ledger has no such load")]
    NoSuchLoad { load_id: i64 },
    /// `accept --revoke` named a load whose acceptance cannot be revoked.
    #[error("the acceptance of load {load_id} cannot be revoked: {why}")]
    NotRevocable { load_id: i64, why: String },
}

impl LoadError {
    fn database(context: &'static str, cause: postgres::Error) -> LoadError {
        LoadError::Database { context, cause }
    }

    /// True when the failure is the database being down or the connection lost, which
    /// a retry later may fix (exit code 4).
    pub fn is_unreachable(&self) -> bool {
        match self {
            LoadError::Unreachable { cause, .. } => !is_refused_login(cause),
            LoadError::Tls { retryable, .. } => *retryable,
            LoadError::Copy(_) => true,
            LoadError::Database { cause, .. } => {
                cause.is_closed() || is_io(cause) || is_server_going_away(cause)
            }
            _ => false,
        }
    }

    /// True when the connection settings are at fault: none given, a URL that does not
    /// parse, or a server that refuses the login (unknown role, wrong password, no
    /// `pg_hba.conf` entry) or has no such database. Changing the settings fixes it, a
    /// retry does not (exit code 2).
    pub fn is_configuration(&self) -> bool {
        match self {
            LoadError::NotConfigured
            | LoadError::InvalidUrl(_)
            | LoadError::PasswordMissing { .. } => true,
            LoadError::Unreachable { cause, .. } => is_refused_login(cause),
            LoadError::Tls { retryable, .. } => !retryable,
            _ => false,
        }
    }
}

fn is_io(error: &postgres::Error) -> bool {
    std::error::Error::source(error).is_some_and(|source| source.is::<std::io::Error>())
}

/// The server ended the session, or is starting or stopping: a shutdown or restart
/// ("terminating connection due to administrator command"), or a lost connection. Not
/// `database_dropped` or `protocol_violation`, which a retry does not fix.
fn is_server_going_away(error: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    error.code().is_some_and(|code| {
        [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::IDLE_SESSION_TIMEOUT,
            SqlState::CONNECTION_EXCEPTION,
            SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
            SqlState::CONNECTION_DOES_NOT_EXIST,
            SqlState::SQLSERVER_REJECTED_ESTABLISHMENT_OF_SQLCONNECTION,
            SqlState::CONNECTION_FAILURE,
        ]
        .contains(code)
    })
}

fn is_refused_login(error: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    error.code().is_some_and(|code| {
        [
            SqlState::INVALID_AUTHORIZATION_SPECIFICATION,
            SqlState::INVALID_PASSWORD,
            SqlState::INVALID_CATALOG_NAME,
        ]
        .contains(code)
    })
}

/// A PostgreSQL error in full. `postgres::Error` displays only its kind ("db error",
/// "error connecting to server"); what happened is in its source: the server's message
/// (with its DETAIL and HINT) or the I/O error.
fn describe_error(error: &postgres::Error) -> String {
    match (error.as_db_error(), std::error::Error::source(error)) {
        (Some(server), _) => server.to_string(),
        (None, Some(cause)) => format!("{error}: {cause}"),
        (None, None) => error.to_string(),
    }
}

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
}

/// One file to load.
#[derive(Debug, Clone)]
pub struct LoadRequest<'a> {
    pub source_path: &'a str,
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

/// Why a load failed, as the ledger's `failure` column keeps it for programs (the
/// orchestrator does not retry the same bytes after a failure that would repeat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// Not a sales feed: the same bytes fail again.
    InvalidFile,
    /// Rolled back over the reject limit: the same bytes fail again under that limit.
    RejectRateExceeded,
    /// Anything else (I/O, the database, a loader that died): a retry may pass.
    Error,
}

impl Failure {
    fn ledger_code(self) -> &'static str {
        match self {
            Failure::InvalidFile => "invalid_file",
            Failure::RejectRateExceeded => "reject_rate_exceeded",
            Failure::Error => "error",
        }
    }
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

    pub fn migrate(&mut self) -> Result<usize, LoadError> {
        migrate::migrate(&mut self.client)
    }

    /// Works as `salesflow_loader` from now on, when the user is a member of it (see
    /// [`migrate::take_loader_role`]); returns whether it does.
    pub fn take_loader_role(&mut self) -> Result<bool, LoadError> {
        migrate::take_loader_role(&mut self.client)
            .map_err(|source| LoadError::database("taking the salesflow_loader role", source))
    }

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

    /// Records that an operator accepts a succeeded load for publication despite its
    /// rejects (`salesflow.load_acceptances`): the orchestrator's quality gate then does
    /// not hold it against the reject threshold. `by` defaults to the database role. A load
    /// accepted before keeps its first acceptance (returned with `new: false`). A load that a
    /// publication already covers is refused: the gate never judges it again.
    pub fn accept_load(
        &mut self,
        load_id: i64,
        reason: &str,
        by: Option<&str>,
    ) -> Result<Acceptance, LoadError> {
        let db = |context| move |source| LoadError::database(context, source);
        let not_acceptable = |why: String| LoadError::NotAcceptable { load_id, why };
        if reason.trim().is_empty() {
            return Err(not_acceptable("the reason is empty".into()));
        }
        let mut transaction = self
            .client
            .transaction()
            .map_err(db("starting the transaction"))?;
        let Some(LedgerEntry { status, load, .. }) = ledger_entry(&mut transaction, load_id)?
        else {
            return Err(not_acceptable("the ledger has no such load".into()));
        };
        if status != "succeeded" {
            return Err(not_acceptable(format!(
                "it is {status}, so it wrote no rows to publish"
            )));
        }
        let standing = transaction
            .query_opt(
                "select from salesflow.load_acceptances where load_id = $1 and revoked_at is null",
                &[&load_id],
            )
            .map_err(db("reading the acceptance"))?;
        if standing.is_none()
            && let Some(publication) = covering_publication(&mut transaction, load_id)?
        {
            return Err(not_acceptable(format!(
                "{publication} already published it, so an acceptance would change nothing"
            )));
        }
        let inserted = transaction
            .query_opt(
                "insert into salesflow.load_acceptances (load_id, accepted_by, reason)
                 values ($1, coalesce($2, session_user), $3)
                 on conflict (load_id) where revoked_at is null do nothing
                 returning load_id",
                &[&load_id, &by, &reason.trim()],
            )
            .map_err(db("recording the acceptance"))?;
        let accepted = transaction
            .query_one(
                &format!(
                    "select {} from salesflow.load_acceptances a
                     where load_id = $1 and revoked_at is null",
                    acceptance_columns()
                ),
                &[&load_id],
            )
            .map_err(db("reading the acceptance"))?;
        transaction
            .commit()
            .map_err(db("committing the acceptance"))?;
        Ok(Acceptance {
            load,
            accepted: LoadAcceptance::from_row(&accepted, 0)
                .expect("the standing acceptance was just read"),
            new: inserted.is_some(),
        })
    }

    /// Revokes the standing acceptance of a load (`salesflow accept --revoke`): the quality
    /// gate holds the load against the reject threshold again. The acceptance keeps its row,
    /// with who revoked it (`by`, default the database role), when and why. A load that a
    /// publication of the marts already covers is refused: revoking cannot unpublish it.
    ///
    /// The acceptance's row stays locked until the commit, and the orchestrator's publication
    /// locks the acceptances it relies on: a revocation racing a publication either comes
    /// first (and the publication fails) or sees the publication (and is refused).
    pub fn revoke_acceptance(
        &mut self,
        load_id: i64,
        reason: &str,
        by: Option<&str>,
    ) -> Result<Revocation, LoadError> {
        let db = |context| move |source| LoadError::database(context, source);
        let not_revocable = |why: String| LoadError::NotRevocable { load_id, why };
        if reason.trim().is_empty() {
            return Err(not_revocable("the reason is empty".into()));
        }
        let mut transaction = self
            .client
            .transaction()
            .map_err(db("starting the transaction"))?;
        let Some(LedgerEntry { load, .. }) = ledger_entry(&mut transaction, load_id)? else {
            return Err(not_revocable("the ledger has no such load".into()));
        };
        let standing = transaction
            .query_opt(
                "select acceptance_id from salesflow.load_acceptances
                 where load_id = $1 and revoked_at is null for update",
                &[&load_id],
            )
            .map_err(db("reading the acceptance"))?;
        let Some(standing) = standing else {
            return Err(not_revocable("it has no standing acceptance".into()));
        };
        let acceptance_id: i64 = standing.get(0);
        if let Some(publication) = covering_publication(&mut transaction, load_id)? {
            return Err(not_revocable(format!(
                "{publication} already published it, and revoking cannot unpublish it"
            )));
        }
        let revoked = transaction
            .query_one(
                &format!(
                    "update salesflow.load_acceptances a
                     set revoked_at = now(), revoked_by = coalesce($2, session_user),
                         revoke_reason = $3
                     where acceptance_id = $1
                     returning {}",
                    acceptance_columns()
                ),
                &[&acceptance_id, &by, &reason.trim()],
            )
            .map_err(db("revoking the acceptance"))?;
        transaction
            .commit()
            .map_err(db("committing the revocation"))?;
        Ok(Revocation {
            load,
            acceptance: LoadAcceptance::from_row(&revoked, 0)
                .expect("the revoked acceptance was just written"),
        })
    }

    /// Recent ledger rows, newest first.
    pub fn recent_loads(&mut self, limit: i64) -> Result<Vec<LedgerRow>, LoadError> {
        let rows = self
            .client
            .query(
                &format!(
                    "select l.load_id, source_path, file_sha256, file_bytes, status, rows_read,
                            rows_loaded, rows_updated, rows_unchanged, rows_duplicate,
                            rows_rejected, {started_at},
                            extract(epoch from coalesce(finished_at, clock_timestamp())
                                - started_at)::float8,
                            error, failure, {file_modified_at}, {acceptance}
                     from salesflow.loads l
                     -- the standing acceptance, else the last one revoked
                     left join lateral (
                         select accepted_at, accepted_by, reason,
                                revoked_at, revoked_by, revoke_reason
                         from salesflow.load_acceptances
                         where load_id = l.load_id
                         order by revoked_at is null desc, acceptance_id desc limit 1
                     ) a on true
                     order by l.load_id desc limit $1",
                    started_at = utc_text("started_at"),
                    file_modified_at = utc_text("file_modified_at"),
                    acceptance = acceptance_columns(),
                ),
                &[&limit],
            )
            .map_err(|source| LoadError::database("reading the load ledger", source))?;
        Ok(rows
            .iter()
            .map(|row| LedgerRow {
                load_id: row.get(0),
                source_path: row.get(1),
                file_sha256: row.get(2),
                file_bytes: row.get(3),
                status: row.get(4),
                counts: Counts {
                    read: row.get::<_, i64>(5) as u64,
                    loaded: row.get::<_, i64>(6) as u64,
                    updated: row.get::<_, i64>(7) as u64,
                    unchanged: row.get::<_, i64>(8) as u64,
                    duplicate: row.get::<_, i64>(9) as u64,
                    rejected: row.get::<_, i64>(10) as u64,
                },
                started_at: row.get(11),
                seconds: row.get(12),
                error: row.get(13),
                failure: row.get(14),
                file_modified_at: row.get(15),
                acceptance: LoadAcceptance::from_row(row, 16),
            })
            .collect())
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
                // The connection may be gone; the next loader then marks it failed.
                if let Err(ledger_error) = Ledger::fail(
                    &mut self.client,
                    load_id,
                    Failure::Error,
                    None,
                    &error.to_string(),
                ) {
                    tracing::warn!(
                        ledger_error = %describe_error(&ledger_error),
                        load_id,
                        "could not record the failure in the ledger"
                    );
                }
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

/// A load that an operator accepts at the quality gate, or whose acceptance they revoke.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReviewedLoad {
    pub load_id: i64,
    pub source_path: String,
    pub rows_read: u64,
    pub rows_rejected: u64,
}

/// What the ledger says of a load reviewed by `accept` or `rejects`.
struct LedgerEntry {
    status: String,
    /// The class of a failed load's failure (see `LedgerRow::failure`).
    failure: Option<String>,
    load: ReviewedLoad,
}

/// The ledger's entry for a load; None when the ledger has no such load.
fn ledger_entry(
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
        status: row.get(0),
        failure: row.get(1),
        load: ReviewedLoad {
            load_id,
            source_path: row.get(2),
            rows_read: row.get::<_, i64>(3) as u64,
            rows_rejected: row.get::<_, i64>(4) as u64,
        },
    }))
}

/// The first publication of the marts that covers a load, described as
/// `publication 3 (through load 7, at 2026-11-26T08:00:31Z by airflow ...)`; None while the
/// load is unpublished.
fn covering_publication(
    transaction: &mut Transaction<'_>,
    load_id: i64,
) -> Result<Option<String>, LoadError> {
    let publication = transaction
        .query_opt(
            &format!(
                "select publication_id, through_load_id, {published_at}, published_by
                 from salesflow.publications where through_load_id >= $1
                 order by publication_id limit 1",
                published_at = utc_text("published_at"),
            ),
            &[&load_id],
        )
        .map_err(|source| LoadError::database("reading the publications", source))?;
    Ok(publication.map(|row| {
        let (publication_id, through, at, by): (i64, i64, String, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        format!("publication {publication_id} (through load {through}, at {at} by {by})")
    }))
}

/// A load accepted for publication despite its rejects, as `salesflow accept` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Acceptance {
    #[serde(flatten)]
    pub load: ReviewedLoad,
    #[serde(flatten)]
    pub accepted: LoadAcceptance,
    /// False when the load had been accepted before: that acceptance stands.
    pub new: bool,
}

/// A revoked acceptance, as `salesflow accept --revoke` reports it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Revocation {
    #[serde(flatten)]
    pub load: ReviewedLoad,
    #[serde(flatten)]
    pub acceptance: LoadAcceptance,
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
}

/// Who accepted a load at the quality gate, when and why; and whether that was revoked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoadAcceptance {
    /// ISO 8601 in UTC.
    pub accepted_at: String,
    pub accepted_by: String,
    pub reason: String,
    /// Set when the acceptance was revoked (`salesflow accept --revoke`): it no longer stands.
    pub revoked: Option<AcceptanceRevocation>,
}

/// Who revoked an acceptance, when and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AcceptanceRevocation {
    /// ISO 8601 in UTC.
    pub revoked_at: String,
    pub revoked_by: String,
    pub reason: String,
}

impl LoadAcceptance {
    /// The acceptance in the columns of `acceptance_columns()` from `first` on; None when
    /// they are NULL (a load without acceptance, from an outer join).
    fn from_row(row: &postgres::Row, first: usize) -> Option<LoadAcceptance> {
        let accepted_at: String = row.get::<_, Option<String>>(first)?;
        Some(LoadAcceptance {
            accepted_at,
            accepted_by: row.get(first + 1),
            reason: row.get(first + 2),
            revoked: row.get::<_, Option<String>>(first + 3).map(|revoked_at| {
                AcceptanceRevocation {
                    revoked_at,
                    revoked_by: row.get(first + 4),
                    reason: row.get(first + 5),
                }
            }),
        })
    }
}

/// The columns of an acceptance (alias `a`), as `LoadAcceptance::from_row` reads them.
fn acceptance_columns() -> String {
    format!(
        "{}, a.accepted_by, a.reason, {}, a.revoked_by, a.revoke_reason",
        utc_text("a.accepted_at"),
        utc_text("a.revoked_at")
    )
}

/// A timestamptz column as ISO 8601 text in UTC, e.g. `2026-11-26T08:00:31Z` (the logs'
/// time zone, whatever the session's).
fn utc_text(column: &str) -> String {
    format!("to_char({column} at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
}

fn mark_abandoned(client: &mut Client) -> Result<u64, LoadError> {
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

struct Ledger<'r> {
    request: &'r LoadRequest<'r>,
}

impl<'r> Ledger<'r> {
    fn new(request: &'r LoadRequest<'r>) -> Ledger<'r> {
        Ledger { request }
    }

    fn succeeded_before(
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

    fn open(&self, client: &mut Client, status: &str) -> Result<i64, postgres::Error> {
        let finished = if status == "running" { None } else { Some(()) };
        Ok(client
            .query_one(
                "insert into salesflow.loads
                   (source_path, file_sha256, file_bytes, file_modified_at, status, finished_at)
                 values ($1, $2, $3, $4, $5, case when $6 then clock_timestamp() end)
                 returning load_id",
                &[
                    &self.request.source_path,
                    &self.request.sha256,
                    &(self.request.bytes as i64),
                    &self.request.modified,
                    &status,
                    &finished.is_some(),
                ],
            )?
            .get(0))
    }

    fn finish(
        transaction: &mut Transaction<'_>,
        load_id: i64,
        counts: &Counts,
    ) -> Result<(), postgres::Error> {
        Self::update(transaction, load_id, "succeeded", Some(counts), None)
    }

    fn fail(
        client: &mut Client,
        load_id: i64,
        failure: Failure,
        counts: Option<&Counts>,
        error: &str,
    ) -> Result<(), postgres::Error> {
        Self::update(client, load_id, "failed", counts, Some((failure, error)))
    }

    fn update(
        client: &mut impl postgres::GenericClient,
        load_id: i64,
        status: &str,
        counts: Option<&Counts>,
        failure: Option<(Failure, &str)>,
    ) -> Result<(), postgres::Error> {
        let counts = counts.cloned().unwrap_or_default();
        let n = |value: u64| value as i64;
        client.execute(
            "update salesflow.loads
             set status = $2, rows_read = $3, rows_loaded = $4, rows_updated = $5,
                 rows_unchanged = $6, rows_duplicate = $7, rows_rejected = $8,
                 finished_at = clock_timestamp(), failure = $9, error = $10
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
                &failure.map(|(_, error)| error),
            ],
        )?;
        Ok(())
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
