"""The warehouse connection: Airflow connection -> libpq URL, one per role; the environment
that carries it to a child process (the password in PGPASSWORD, never in argv); redaction for
messages."""

from __future__ import annotations

import logging
import os

from salesflow_pipeline import fail

log = logging.getLogger("salesflow.sales_pipeline")

LIBPQ_URL_PARAMS = {
    # Connection extras that are libpq / rust-postgres URL parameters; anything else in an
    # Airflow connection's extras (cursor, iam, ...) is Airflow's own and is not passed on.
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
    "application_name",
    "options",
    "target_session_attrs",
    "keepalives",
    "keepalives_idle",
    "hostaddr",
    "host",
    "channel_binding",
    "load_balance_hosts",
}

# libpq's URL parameters for TLS and the variables it reads them from.
PG_SSL_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
}


def database_url(purpose: str = "loader") -> str:
    """The warehouse's libpq URL for `purpose`: "loader" (ingest, discovery, the gate and the
    publication) or "transformer" (dbt). The Airflow connection of that role
    (SALESFLOW_LOADER_CONN_ID / SALESFLOW_TRANSFORMER_CONN_ID, default salesflow_<purpose>),
    else the warehouse's (SALESFLOW_CONN_ID), else DATABASE_URL."""
    conn_ids = (
        os.environ.get(f"SALESFLOW_{purpose.upper()}_CONN_ID", f"salesflow_{purpose}"),
        os.environ.get("SALESFLOW_CONN_ID", "salesflow_warehouse"),
    )
    for conn_id in conn_ids:
        url = connection_url(conn_id)
        if url:
            return url
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    fail(
        f"No warehouse connection: define the Airflow connection {conn_ids[0]!r} or"
        f" {conn_ids[1]!r} (e.g. AIRFLOW_CONN_SALESFLOW_WAREHOUSE=postgresql://user:pw@host:5432/db)"
        " or set DATABASE_URL"
    )


def connection_url(conn_id: str) -> str | None:
    """The libpq URL of an Airflow connection, or None when it is not defined."""
    from urllib.parse import quote, urlencode

    try:
        from airflow.sdk import Connection

        conn = Connection.get(conn_id)
    except Exception as exc:  # not defined (AirflowNotFoundException) or no secrets backend
        log.info("Airflow connection %r not available (%s)", conn_id, type(exc).__name__)
        return None
    if conn is None:
        return None
    params = {}
    extras = conn.extra_dejson if conn.extra else {}
    for key, value in extras.items():
        if key in LIBPQ_URL_PARAMS and isinstance(value, (str, int)):
            params[key] = str(value)
    host = conn.host or ""
    if host.startswith("/"):  # a unix socket directory
        params["host"], host = host, ""
    auth = ""
    if conn.login:
        auth = quote(conn.login, safe="")
        if conn.password:
            auth += ":" + quote(conn.password, safe="")
        auth += "@"
    netloc = auth + host + (f":{conn.port}" if conn.port else "")
    url = f"postgresql://{netloc}/{quote(conn.schema or '', safe='')}"
    return url + ("?" + urlencode(params) if params else "")


def password(url: str) -> str:
    from urllib.parse import unquote, urlsplit

    try:
        return unquote(urlsplit(url).password or "")
    except ValueError:
        return ""


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        if parts.password:
            netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
            return parts._replace(netloc=netloc).geturl()
    except ValueError:
        return "<unparsable url>"
    return url


# The libpq variables a URL sets, in the order `pg_variables` gives them.
PG_VARIABLES = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", *PG_SSL_ENV.values())


def pg_variables(url: str) -> dict[str, str]:
    """The libpq variables (PGHOST ... PGSSLKEY) that a postgresql:// URL sets: user and
    password percent-decoded, parameters from its query where the URL's parts leave them
    open. Variables the URL does not set are left out. The one conversion of the project:
    the DAG's children and scripts/dbt both use it (standard library only)."""
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    found = {
        "PGHOST": parts.hostname or query.get("host", ""),
        "PGPORT": str(parts.port or query.get("port", "") or ""),
        "PGUSER": unquote(parts.username or "") or query.get("user", ""),
        "PGPASSWORD": unquote(parts.password or "") or query.get("password", ""),
        "PGDATABASE": unquote(parts.path.strip("/")) or query.get("dbname", ""),
        **{variable: query.get(param, "") for param, variable in PG_SSL_ENV.items()},
    }
    return {name: value for name, value in found.items() if value}


def child_env(url: str) -> dict[str, str]:
    """Child environment carrying the connection: DATABASE_URL without the password, which
    goes in PGPASSWORD, plus the PG* variables (a plain dbt profile reads PGHOST, ...; the
    salesflow binary and scripts/dbt read DATABASE_URL and PGPASSWORD). Environment
    variables, unlike arguments, are not visible to other users."""
    from urllib.parse import urlsplit

    env = {key: value for key, value in os.environ.items() if key not in PG_VARIABLES}
    parts = urlsplit(url)
    env["DATABASE_URL"] = url
    if parts.password is not None:
        userinfo, _, hostport = parts.netloc.rpartition("@")
        netloc = userinfo.partition(":")[0] + "@" + hostport
        env["DATABASE_URL"] = parts._replace(netloc=netloc).geturl()
    env.update(pg_variables(url))
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env["DBT_USE_COLORS"] = "false"  # a task log is no terminal
    return env
