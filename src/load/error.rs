//! Errors of the PostgreSQL side, and what they mean for the caller: worth a retry (the
//! server down, the connection lost) or a matter of settings.

use super::SslMode;

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
    /// `replay` named a load whose quarantine cannot be judged again (not succeeded, no
    /// header recorded, or a header the contract cannot read).
    #[error("load {load_id} cannot be replayed: {why}")]
    NotReplayable { load_id: i64, why: String },
    /// `accept --revoke` named a load whose acceptance cannot be revoked.
    #[error("the acceptance of load {load_id} cannot be revoked: {why}")]
    NotRevocable { load_id: i64, why: String },
}

impl LoadError {
    pub(super) fn database(context: &'static str, cause: postgres::Error) -> LoadError {
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
pub(super) fn describe_error(error: &postgres::Error) -> String {
    match (error.as_db_error(), std::error::Error::source(error)) {
        (Some(server), _) => server.to_string(),
        (None, Some(cause)) => format!("{error}: {cause}"),
        (None, None) => error.to_string(),
    }
}
