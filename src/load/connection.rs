//! Where and how to connect, the libpq way: a URL or `key=value` string, the `PG*`
//! variables, the password file, and TLS with libpq's `sslmode` values.
//!
//! TLS comes from OpenSSL (`postgres-openssl`). `sslmode` means what it means to libpq:
//! `disable` never uses TLS; `allow` and `prefer` use it when the server offers it, without
//! checking the certificate; `require` insists on it, still without checking (unless a root
//! certificate is given, when it checks the chain, as libpq does); `verify-ca` checks that a
//! CA of `sslrootcert` signed the server's certificate; `verify-full` also checks that the
//! certificate names the host connected to. A client certificate is sent from `sslcert` and
//! `sslkey`. Unset, the files are looked for where libpq looks (`~/.postgresql/`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslVerifyMode};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509, X509VerifyResult};
use postgres::{Client, NoTls};
use postgres_openssl::MakeTlsConnector;

use super::{LoadError, describe_error};

/// A connection's settings: the server, user and database, and how TLS is used.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    config: postgres::Config,
    tls: TlsSettings,
}

impl ConnectionSettings {
    /// The settings tokio-postgres itself applies (host, port, user, password, database).
    pub fn config(&self) -> &postgres::Config {
        &self.config
    }

    /// The `sslmode` asked for.
    pub fn ssl_mode(&self) -> SslMode {
        self.tls.mode
    }

    /// "user@host:port/dbname": where this connects, without the password.
    pub fn target(&self) -> String {
        describe_target(&self.config)
    }

    /// Opens the connection. A TLS failure that settings must fix (a certificate refused, a
    /// server without TLS under `require`, an unreadable certificate file) is a configuration
    /// error; one that the network caused may pass on a retry.
    pub fn connect(&self) -> Result<Client, LoadError> {
        let target = self.target();
        let unreachable = |cause: postgres::Error| {
            // tokio-postgres' words when the server asks for a password it was not given.
            if cause.to_string() == "invalid configuration"
                && source_chain(&cause).any(|source| source.to_string() == "password missing")
            {
                return LoadError::PasswordMissing {
                    target: target.clone(),
                };
            }
            LoadError::Unreachable {
                target: target.clone(),
                cause,
            }
        };
        let tls_error = |problem: String, retryable: bool| LoadError::Tls {
            target: target.clone(),
            mode: self.tls.mode,
            problem,
            retryable,
        };
        let mut config = self.config.clone();
        if self.tls.mode == SslMode::Disable {
            config.ssl_mode(postgres::config::SslMode::Disable);
            return config.connect(NoTls).map_err(unreachable);
        }
        config.ssl_mode(if self.tls.demands_tls() {
            postgres::config::SslMode::Require
        } else {
            postgres::config::SslMode::Prefer
        });
        let (connector, verify_error) = self
            .tls
            .connector()
            .map_err(|problem| tls_error(problem, false))?;
        config.connect(connector).map_err(|cause| {
            match self.tls.handshake_problem(&cause, &verify_error, &target) {
                Some((problem, retryable)) => tls_error(problem, retryable),
                None => unreachable(cause),
            }
        })
    }
}

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = LoadError;

    fn from_str(text: &str) -> Result<SslMode, LoadError> {
        Ok(match text {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(LoadError::InvalidUrl(format!(
                    "invalid sslmode \"{other}\": expected disable, allow, prefer, require, \
                     verify-ca or verify-full"
                )));
            }
        })
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        })
    }
}

/// Where the trusted CAs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RootCert {
    /// A PEM file of CA certificates: only those are trusted.
    File(PathBuf),
    /// `sslrootcert=system`: the operating system's trusted CAs.
    System,
}

/// The TLS side of the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TlsSettings {
    mode: SslMode,
    root_cert: Option<RootCert>,
    /// Where the root certificate was looked for when none was found, for the message.
    root_cert_default: Option<PathBuf>,
    client_cert: Option<(PathBuf, PathBuf)>,
}

/// Where the connector's verify callback records why it refused the server's certificate.
type VerifyErrorSlot = Arc<Mutex<Option<X509VerifyResult>>>;

/// The URL parameters that the TLS connector handles, not tokio-postgres.
const TLS_PARAMS: [&str; 4] = ["sslmode", "sslrootcert", "sslcert", "sslkey"];

impl TlsSettings {
    /// From the URL's parameters, else the `PGSSL*` variables, else libpq's defaults.
    fn from_params(
        params: &[(String, String)],
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<TlsSettings, LoadError> {
        let param = |name: &str, var: &str| {
            params
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
                .filter(|value| !value.is_empty())
                .or_else(|| env(var))
        };
        let mode = match param("sslmode", "PGSSLMODE") {
            Some(mode) => mode.parse()?,
            None => SslMode::Prefer,
        };
        let home_file =
            |name: &str| env("HOME").map(|home| Path::new(&home).join(".postgresql").join(name));
        let root_default = home_file("root.crt");
        let root_cert = match param("sslrootcert", "PGSSLROOTCERT") {
            Some(system) if system == "system" => Some(RootCert::System),
            Some(path) => Some(RootCert::File(path.into())),
            None => root_default
                .clone()
                .filter(|path| path.is_file())
                .map(RootCert::File),
        };
        let explicit_cert = param("sslcert", "PGSSLCERT");
        let explicit_key = param("sslkey", "PGSSLKEY");
        let cert = explicit_cert
            .clone()
            .map(PathBuf::from)
            .or_else(|| home_file("postgresql.crt").filter(|path| path.is_file()));
        let key = explicit_key
            .map(PathBuf::from)
            .or_else(|| home_file("postgresql.key"));
        let client_cert = match (cert, key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (Some(_), None) => {
                return Err(LoadError::InvalidUrl(
                    "sslcert is set but sslkey is not: a client certificate needs its key".into(),
                ));
            }
            (None, _) => None,
        };
        Ok(TlsSettings {
            mode,
            root_cert,
            root_cert_default: root_default,
            client_cert,
        })
    }

    /// Whether the connection fails rather than go on without TLS.
    fn demands_tls(&self) -> bool {
        matches!(
            self.mode,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull
        )
    }

    /// Whether the server's certificate chain is checked. libpq checks it under `require`
    /// too when a root certificate is there, for compatibility with its older versions.
    fn verifies_chain(&self) -> bool {
        match self.mode {
            SslMode::VerifyCa | SslMode::VerifyFull => true,
            SslMode::Require => self.root_cert.is_some(),
            SslMode::Disable | SslMode::Allow | SslMode::Prefer => false,
        }
    }

    /// The OpenSSL connector for these settings, and where it records why it refused the
    /// server's certificate. Errors are messages about the settings.
    fn connector(&self) -> Result<(MakeTlsConnector, VerifyErrorSlot), String> {
        let openssl = |what: &'static str| {
            move |error: openssl::error::ErrorStack| format!("{what}: {error}")
        };
        let mut builder =
            SslConnector::builder(SslMethod::tls_client()).map_err(openssl("setting up TLS"))?;
        let verify_error = Arc::new(Mutex::new(None));
        if self.verifies_chain() {
            match &self.root_cert {
                Some(RootCert::File(path)) => {
                    let pem = std::fs::read(path).map_err(|error| {
                        format!(
                            "cannot read the root certificate sslrootcert={}: {error}",
                            path.display()
                        )
                    })?;
                    let certs = X509::stack_from_pem(&pem).map_err(|error| {
                        format!(
                            "sslrootcert={} holds no PEM certificate: {error}",
                            path.display()
                        )
                    })?;
                    // Only these CAs, not the system's as well: libpq trusts the file alone.
                    let mut store = X509StoreBuilder::new().map_err(openssl("setting up TLS"))?;
                    for cert in certs {
                        store
                            .add_cert(cert)
                            .map_err(openssl("reading sslrootcert"))?;
                    }
                    builder.set_cert_store(store.build());
                }
                Some(RootCert::System) => {} // the builder trusts the system's CAs already
                None => {
                    let default = self
                        .root_cert_default
                        .as_deref()
                        .map_or("~/.postgresql/root.crt".into(), |path| {
                            path.display().to_string()
                        });
                    return Err(format!(
                        "sslmode={} checks the server's certificate, but there is no root \
                         certificate: set sslrootcert (the CA's PEM file) or PGSSLROOTCERT, put \
                         it in {default}, use sslrootcert=system for the system's trusted CAs, \
                         or choose a sslmode that does not check (require)",
                        self.mode
                    ));
                }
            }
            let slot = Arc::clone(&verify_error);
            builder.set_verify_callback(SslVerifyMode::PEER, move |passed, context| {
                if !passed {
                    *slot.lock().unwrap_or_else(|poison| poison.into_inner()) =
                        Some(context.error());
                }
                passed
            });
        } else {
            builder.set_verify(SslVerifyMode::NONE);
        }
        if let Some((cert, key)) = &self.client_cert {
            check_key_permissions(key)?;
            builder
                .set_certificate_chain_file(cert)
                .map_err(|error| format!("cannot use sslcert={}: {error}", cert.display()))?;
            builder
                .set_private_key_file(key, SslFiletype::PEM)
                .map_err(|error| format!("cannot use sslkey={}: {error}", key.display()))?;
            builder.check_private_key().map_err(|error| {
                format!(
                    "sslkey={} is not the key of sslcert={}: {error}",
                    key.display(),
                    cert.display()
                )
            })?;
        }
        let mut connector = MakeTlsConnector::new(builder.build());
        if self.mode != SslMode::VerifyFull {
            connector.set_callback(|connection, _| {
                connection.set_verify_hostname(false);
                Ok(())
            });
        }
        Ok((connector, verify_error))
    }

    /// When `error` is a failed TLS handshake: what went wrong, for people, and whether a
    /// retry may pass (the network broke it, not the settings).
    fn handshake_problem(
        &self,
        error: &postgres::Error,
        verify_error: &Mutex<Option<X509VerifyResult>>,
        target: &str,
    ) -> Option<(String, bool)> {
        // tokio-postgres' own words for its TLS error kind.
        if error.to_string() != "error performing TLS handshake" {
            return None;
        }
        let io_failure = source_chain(error)
            .filter_map(|source| source.downcast_ref::<openssl::ssl::Error>())
            .any(|ssl| ssl.io_error().is_some());
        if io_failure {
            return Some((describe_error(error), true));
        }
        let refused = *verify_error
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let host = target.split_once('@').map_or(target, |(_, rest)| rest);
        let host = host.rsplit_once(':').map_or(host, |(host, _)| host);
        let root = match &self.root_cert {
            Some(RootCert::File(path)) => format!("sslrootcert={}", path.display()),
            Some(RootCert::System) => "the system's trusted CAs".into(),
            None => "no root certificate".into(),
        };
        let problem = match refused {
            Some(result) if is_name_mismatch(result) => format!(
                "the server's certificate does not name the host {host} ({}); connect by a \
                 name the certificate holds, or use sslmode=verify-ca to check only the CA",
                result.error_string()
            ),
            Some(result) => format!(
                "the server's certificate is not trusted: {} (checked against {root})",
                result.error_string()
            ),
            None if source_chain(error)
                .any(|source| source.to_string() == "server does not support TLS") =>
            {
                format!(
                    "the server does not support TLS (its ssl setting is off), and \
                     sslmode={} does not connect without it",
                    self.mode
                )
            }
            None => describe_error(error),
        };
        Some((problem, false))
    }
}

/// The certificate names another host than the one connected to.
fn is_name_mismatch(result: X509VerifyResult) -> bool {
    // X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_EMAIL_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
    matches!(result.as_raw(), 62..=64)
}

fn source_chain<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(std::error::Error::source(error), |source| source.source())
}

/// libpq refuses a private key that others may read; so does salesflow.
fn check_key_permissions(key: &Path) -> Result<(), String> {
    let metadata = std::fs::metadata(key)
        .map_err(|error| format!("cannot read sslkey={}: {error}", key.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mode = metadata.permissions().mode();
        let allowed = if metadata.uid() == 0 { 0o640 } else { 0o600 };
        if mode & 0o777 & !allowed != 0 {
            return Err(format!(
                "the private key sslkey={} has group or world access (mode {:o}): it must be \
                 u=rw (0600) or less, or u=rw,g=r (0640) or less if owned by root",
                key.display(),
                mode & 0o777
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = metadata;
    Ok(())
}

/// Splits the TLS parameters out of a URL (`?sslmode=...&...`) or a `key=value` string:
/// the rest, for tokio-postgres, and the parameters.
fn take_tls_params(url: &str) -> Result<(String, Vec<(String, String)>), LoadError> {
    let mut taken = Vec::new();
    if url.starts_with("postgresql://") || url.starts_with("postgres://") {
        let Some((base, query)) = url.split_once('?') else {
            return Ok((url.to_string(), taken));
        };
        let mut kept = Vec::new();
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode(key)?;
            if TLS_PARAMS.contains(&key.as_str()) {
                taken.push((key, percent_decode(value)?));
            } else {
                kept.push(pair);
            }
        }
        let rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return Ok((rest, taken));
    }
    let mut rest = String::new();
    for (key, value, raw) in conninfo_pairs(url)? {
        if TLS_PARAMS.contains(&key.as_str()) {
            taken.push((key, value));
        } else {
            rest.push_str(raw);
            rest.push(' ');
        }
    }
    Ok((rest.trim_end().to_string(), taken))
}

fn percent_decode(text: &str) -> Result<String, LoadError> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| LoadError::InvalidUrl("a URL parameter is not UTF-8 once decoded".into()))
}

/// The `key = value` pairs of a libpq connection string (values may be single-quoted, with
/// `\'` and `\\` escapes): (key, value, the pair's text as written).
fn conninfo_pairs(text: &str) -> Result<Vec<(String, String, &str)>, LoadError> {
    let invalid = || {
        LoadError::InvalidUrl(
            "the connection string could not be parsed (details withheld: it may contain a \
             password)"
                .into(),
        )
    };
    let bytes = text.as_bytes();
    let mut pairs = Vec::new();
    let mut at = 0;
    let skip_spaces = |mut at: usize| {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        at
    };
    loop {
        at = skip_spaces(at);
        if at == bytes.len() {
            return Ok(pairs);
        }
        let start = at;
        while at < bytes.len() && bytes[at] != b'=' && !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let key = text[start..at].to_string();
        at = skip_spaces(at);
        if bytes.get(at) != Some(&b'=') || key.is_empty() {
            return Err(invalid());
        }
        at = skip_spaces(at + 1);
        // A value runs to the closing quote, or unquoted to the next space; a backslash
        // takes the next character as it is.
        let quoted = bytes.get(at) == Some(&b'\'');
        if quoted {
            at += 1;
        }
        let mut value = String::new();
        let mut chars = text[at..].char_indices();
        let mut closed = !quoted;
        let mut end = text.len();
        while let Some((offset, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, next)) = chars.next() {
                        value.push(next);
                    }
                }
                '\'' if quoted => {
                    closed = true;
                    end = at + offset + 1;
                    break;
                }
                c if !quoted && c.is_whitespace() => {
                    end = at + offset;
                    break;
                }
                c => value.push(c),
            }
        }
        if !closed {
            return Err(invalid());
        }
        at = end;
        pairs.push((key, value, &text[start..at]));
    }
}

/// Whether a connection URL or string carries a password (which `ps` would show when it is
/// given on a command line).
pub fn url_has_password(url: &str) -> bool {
    if let Some(rest) = url
        .strip_prefix("postgresql://")
        .or_else(|| url.strip_prefix("postgres://"))
    {
        let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
        let in_user_info = authority
            .rsplit_once('@')
            .is_some_and(|(user_info, _)| user_info.contains(':'));
        let query = rest.split_once('?').map_or("", |(_, query)| query);
        return in_user_info || query.split('&').any(|pair| pair.starts_with("password="));
    }
    conninfo_pairs(url).is_ok_and(|pairs| pairs.iter().any(|(key, _, _)| key == "password"))
}

/// The password for this connection from the password file (`PGPASSFILE`, else
/// `~/.pgpass`), as libpq finds it: the first line whose host, port, database and user
/// match, `*` matching anything. A file that others may read is ignored, with a warning.
fn password_from_file(
    config: &postgres::Config,
    env: &impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let path = env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| Path::new(&home).join(".pgpass")))?;
    let metadata = std::fs::metadata(&path).ok()?;
    if !metadata.is_file() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                "the password file has group or world access and is ignored; its \
                 permissions should be u=rw (0600) or less"
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        // A socket directory matches `localhost`, as with libpq's default socket.
        Some(postgres::config::Host::Unix(_)) | None => "localhost".into(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default();
    let dbname = config.get_dbname().unwrap_or(user);
    pgpass_lookup(&text, [&host, &port, dbname, user])
}

/// The password of the first line of a password file that matches `[host, port, dbname,
/// user]`.
fn pgpass_lookup(text: &str, wanted: [&str; 4]) -> Option<String> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let fields = pgpass_fields(line);
            if fields.len() < 5 {
                return None;
            }
            let matches = wanted
                .iter()
                .zip(&fields)
                .all(|(wanted, field)| field == "*" || field == wanted);
            // A password may itself hold unescaped colons: it is the rest of the line.
            matches.then(|| fields[4..].join(":"))
        })
}

/// A password file line's fields, split at unescaped colons, `\:` and `\\` unescaped.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    fields.last_mut().expect("never empty").push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => fields.last_mut().expect("never empty").push(c),
        }
    }
    fields
}

/// Where and how to connect: `DATABASE_URL` (or `--database-url`), completed by the standard
/// `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`,
/// `PGSSLCERT` and `PGSSLKEY` variables and by the password file (`PGPASSFILE`, else
/// `~/.pgpass`), as libpq does.
pub fn connection_config(url: Option<&str>) -> Result<ConnectionSettings, LoadError> {
    connection_config_with(url, |name| {
        std::env::var(name).ok().filter(|value| !value.is_empty())
    })
}

fn connection_config_with(
    url: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<ConnectionSettings, LoadError> {
    // tokio-postgres knows only sslmode=disable|prefer|require and none of the certificate
    // parameters: they are taken out of the URL here and applied to the TLS connector.
    let (url, tls_params) = match url {
        Some(url) => {
            let (rest, params) = take_tls_params(url)?;
            (Some(rest), params)
        }
        None => (None, Vec::new()),
    };
    let url = url.as_deref();
    // Read only where the URL leaves the port open, as libpq does.
    let port = || -> Result<Option<u16>, LoadError> {
        env("PGPORT")
            .map(|port| {
                port.parse()
                    .map_err(|_| LoadError::InvalidUrl(format!("PGPORT \"{port}\" is not a port")))
            })
            .transpose()
    };
    let mut config = match url {
        Some(url) => {
            // The URL parser puts 5432 on a host without a port; PGPORT must fill that gap.
            let completed = match url_with_port(url) {
                Some(with_port) => port()?.map(with_port),
                None => None,
            };
            postgres::Config::from_str(completed.as_deref().unwrap_or(url))
                .map_err(|error| LoadError::InvalidUrl(redacted_error(&error)))?
        }
        None => postgres::Config::new(),
    };
    if config.get_hosts().is_empty() {
        match env("PGHOST") {
            Some(host) => {
                config.host(&host);
            }
            None if url.is_none() => return Err(LoadError::NotConfigured),
            None => {
                config.host("localhost");
            }
        }
    }
    if config.get_ports().is_empty() {
        if let Some(port) = port()? {
            config.port(port);
        }
    }
    if config.get_user().is_none() {
        let user = env("PGUSER")
            .or_else(|| env("USER"))
            .unwrap_or_else(|| "postgres".into());
        config.user(&user);
    }
    if config.get_password().is_none() {
        if let Some(password) = env("PGPASSWORD") {
            config.password(password);
        }
    }
    if config.get_dbname().is_none() {
        if let Some(dbname) = env("PGDATABASE") {
            config.dbname(&dbname);
        }
    }
    if config.get_password().is_none() {
        if let Some(password) = password_from_file(&config, &env) {
            config.password(password);
        }
    }
    config.application_name("salesflow");
    let tls = TlsSettings::from_params(&tls_params, &env)?;
    Ok(ConnectionSettings { config, tls })
}

/// When `url` is a `postgresql://` URL that names hosts but no port (neither after a host
/// nor as a `port=` parameter): a function that puts a port after each of its hosts.
fn url_with_port(url: &str) -> Option<impl FnOnce(u16) -> String> {
    let scheme_end = ["postgresql://", "postgres://"]
        .iter()
        .find(|scheme| url.starts_with(*scheme))?
        .len();
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let hosts_start = authority.rfind('@').map_or(0, |at| at + 1);
    let (user_info, hosts) = authority.split_at(hosts_start);
    let names_port = |host: &str| match host.strip_prefix('[') {
        Some(ipv6) => ipv6.contains("]:"),
        None => host.contains(':'),
    };
    let query = tail.split_once('?').map_or("", |(_, query)| query);
    if hosts.is_empty()
        || hosts.split(',').any(names_port)
        || query.split('&').any(|pair| pair.starts_with("port="))
    {
        return None;
    }
    Some(move |port: u16| {
        let hosts: Vec<String> = hosts
            .split(',')
            .map(|host| format!("{host}:{port}"))
            .collect();
        format!("{}{user_info}{}{tail}", &url[..scheme_end], hosts.join(","))
    })
}

/// Parse errors of a URL may quote it; never show one that could hold a password.
fn redacted_error(error: &postgres::Error) -> String {
    let text = describe_error(error);
    if text.contains('@') || text.contains("password") {
        "the URL could not be parsed (details withheld: it may contain a password)".into()
    } else {
        text
    }
}

/// "user@host:port/dbname": a connection's description without its password.
fn describe_target(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        Some(postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "?".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        config.get_user().unwrap_or("?"),
        config
            .get_dbname()
            .unwrap_or(config.get_user().unwrap_or("?"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_description_never_contains_the_password() {
        let config =
            connection_config(Some("postgresql://ann:s3cret@db.example:6543/sales")).unwrap();
        let target = config.target();
        assert_eq!(target, "ann@db.example:6543/sales");
        assert!(!target.contains("s3cret"));
    }

    #[test]
    fn unparsable_url_errors_do_not_echo_it() {
        let error = connection_config(Some("postgresql://ann:s3cret@db:notaport/x")).unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }

    fn config_with_env(url: &str, vars: &[(&str, &str)]) -> ConnectionSettings {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        connection_config_with(Some(url), |name| {
            vars.iter()
                .find(|(var, _)| var == name)
                .map(|(_, value)| value.clone())
        })
        .unwrap()
    }

    #[test]
    fn pgport_fills_a_url_that_names_no_port() {
        let port = [("PGPORT", "6543")];
        let ports = |url| config_with_env(url, &port).config().get_ports().to_vec();
        assert_eq!(ports("postgresql://ann@db.example/sales"), [6543]);
        assert_eq!(ports("postgres://db.example?sslmode=disable"), [6543]);
        assert_eq!(ports("postgresql://ann:pw@a,b/sales"), [6543, 6543]);
        assert_eq!(ports("postgresql://[::1]/sales"), [6543]);
        assert_eq!(ports("postgresql://ann@/sales"), [6543]);
        // A port in the URL wins, as with libpq.
        assert_eq!(ports("postgresql://ann@db.example:5433/sales"), [5433]);
        assert_eq!(ports("postgresql://[::1]:5433/sales"), [5433]);
        assert!(!ports("postgresql://db.example/sales?port=5433").contains(&6543));
        assert_eq!(ports("host=db.example dbname=sales"), [6543]);
        // Without PGPORT, the default.
        let ports = config_with_env("postgresql://db.example/sales", &[])
            .config()
            .get_ports()
            .to_vec();
        assert_eq!(ports, [5432]);
        let config = config_with_env("postgresql://ann@db.example/sales", &port);
        assert_eq!(config.target(), "ann@db.example:6543/sales");
    }

    #[test]
    fn a_bad_pgport_matters_only_where_it_is_used() {
        let bad = [("PGPORT", "x")];
        let explicit = config_with_env("postgresql://db.example:5433/sales", &bad);
        assert_eq!(explicit.config().get_ports(), [5433]);
        let error = connection_config_with(Some("postgresql://db.example/sales"), |name| {
            (name == "PGPORT").then(|| "x".to_string())
        })
        .unwrap_err();
        assert!(
            error.to_string().contains("PGPORT \"x\" is not a port"),
            "{error}"
        );
        assert!(error.is_configuration());
    }

    fn settings(url: &str, vars: &[(&str, &str)]) -> Result<ConnectionSettings, LoadError> {
        connection_config_with(Some(url), |name| {
            vars.iter()
                .find(|(var, _)| *var == name)
                .map(|(_, value)| value.to_string())
        })
    }

    #[test]
    fn tls_parameters_leave_the_url_and_others_stay() {
        let (rest, params) = take_tls_params(
            "postgresql://ann@db/sales?sslmode=verify-full&connect_timeout=5\
             &sslrootcert=%2Fetc%2Fca%20dir%2Fca.crt&sslcert=c.crt&sslkey=c.key",
        )
        .unwrap();
        assert_eq!(rest, "postgresql://ann@db/sales?connect_timeout=5");
        assert_eq!(
            params,
            [
                ("sslmode".into(), "verify-full".into()),
                ("sslrootcert".into(), "/etc/ca dir/ca.crt".into()),
                ("sslcert".into(), "c.crt".into()),
                ("sslkey".into(), "c.key".into()),
            ]
        );
        let (rest, _) = take_tls_params("postgres://db/sales?sslmode=require").unwrap();
        assert_eq!(rest, "postgres://db/sales");
    }

    #[test]
    fn tls_parameters_leave_a_key_value_string() {
        let (rest, params) = take_tls_params(
            "host=db sslmode = verify-ca sslrootcert='/a b/ca.crt' password='it\\'s' dbname=x",
        )
        .unwrap();
        assert_eq!(rest, "host=db password='it\\'s' dbname=x");
        assert_eq!(
            params,
            [
                ("sslmode".into(), "verify-ca".into()),
                ("sslrootcert".into(), "/a b/ca.crt".into()),
            ]
        );
        let parsed = settings(&rest, &[]).unwrap();
        assert_eq!(parsed.config().get_password(), Some(&b"it's"[..]));
        assert!(take_tls_params("host='db").is_err());
    }

    #[test]
    fn sslmode_comes_from_the_url_then_pgsslmode_then_prefer() {
        let mode = |url: &str, vars: &[(&str, &str)]| settings(url, vars).unwrap().ssl_mode();
        assert_eq!(mode("postgresql://db/x", &[]), SslMode::Prefer);
        assert_eq!(
            mode("postgresql://db/x", &[("PGSSLMODE", "require")]),
            SslMode::Require
        );
        assert_eq!(
            mode(
                "postgresql://db/x?sslmode=disable",
                &[("PGSSLMODE", "require")]
            ),
            SslMode::Disable
        );
        assert_eq!(
            mode("host=db sslmode=verify-full", &[]),
            SslMode::VerifyFull
        );
        let error = settings("postgresql://db/x?sslmode=verify", &[]).unwrap_err();
        assert!(error.is_configuration(), "{error}");
        assert!(
            error.to_string().contains("invalid sslmode \"verify\""),
            "{error}"
        );
    }

    #[test]
    fn require_checks_the_chain_only_when_a_root_certificate_is_given() {
        let tls = |url: &str, vars: &[(&str, &str)]| settings(url, vars).unwrap().tls;
        let home = [("HOME", "/nonexistent")];
        assert!(!tls("postgresql://db/x?sslmode=require", &home).verifies_chain());
        let with_root = tls(
            "postgresql://db/x?sslmode=require",
            &[("HOME", "/nonexistent"), ("PGSSLROOTCERT", "/etc/ca.crt")],
        );
        assert!(with_root.verifies_chain());
        assert_eq!(
            with_root.root_cert,
            Some(RootCert::File("/etc/ca.crt".into()))
        );
        let system = tls(
            "postgresql://db/x?sslmode=verify-full&sslrootcert=system",
            &home,
        );
        assert_eq!(system.root_cert, Some(RootCert::System));
        let client = tls(
            "postgresql://db/x?sslcert=/c/me.crt",
            &[("PGSSLKEY", "/c/me.key")],
        );
        assert_eq!(
            client.client_cert,
            Some(("/c/me.crt".into(), "/c/me.key".into()))
        );
    }

    #[test]
    fn a_password_is_seen_in_urls_and_key_value_strings() {
        assert!(url_has_password("postgresql://ann:pw@db/x"));
        assert!(url_has_password("postgresql://ann@db/x?password=pw"));
        assert!(url_has_password("host=db password=pw"));
        assert!(!url_has_password("postgresql://ann@db/x"));
        assert!(!url_has_password("postgresql://db/x?sslmode=require"));
        assert!(!url_has_password("host=db user=ann"));
    }

    #[test]
    fn the_password_file_matches_like_libpq() {
        let file = "# host:port:database:user:password\n\
                    db.example:5432:sales:ann:first\n\
                    *:*:*:ann:any\\:colon\n\
                    other:*:*:*:x:y\n";
        let lookup = |wanted| pgpass_lookup(file, wanted);
        assert_eq!(
            lookup(["db.example", "5432", "sales", "ann"]).as_deref(),
            Some("first")
        );
        assert_eq!(
            lookup(["db.example", "6543", "sales", "ann"]).as_deref(),
            Some("any:colon")
        );
        assert_eq!(lookup(["other", "1", "d", "bob"]).as_deref(), Some("x:y"));
        assert_eq!(lookup(["db.example", "5432", "sales", "bob"]), None);
    }

    #[cfg(unix)]
    #[test]
    fn the_password_file_fills_only_a_missing_password_and_only_when_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "db.example:*:sales:ann:from-file\n").unwrap();
        let file = path.to_str().unwrap();
        let password = |url: &str, vars: &[(&str, &str)]| {
            settings(url, vars)
                .unwrap()
                .config()
                .get_password()
                .map(|password| String::from_utf8(password.to_vec()).unwrap())
        };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let vars = [("PGPASSFILE", file)];
        let url = "postgresql://ann@db.example/sales";
        assert_eq!(password(url, &vars).as_deref(), Some("from-file"));
        assert_eq!(
            password("postgresql://ann:given@db.example/sales", &vars).as_deref(),
            Some("given")
        );
        assert_eq!(
            password(url, &[("PGPASSFILE", file), ("PGPASSWORD", "env")]).as_deref(),
            Some("env")
        );
        assert_eq!(password("postgresql://bob@db.example/sales", &vars), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(password(url, &vars), None);
    }
}
