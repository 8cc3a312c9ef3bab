"""
sales_pipeline: landing files -> ``salesflow ingest`` -> dbt (staging -> dimensions -> facts/marts)
-> quality gate -> ``salesflow_marts`` Asset.

Task graph (the data flow of the README's "Orchestration: Airflow")::

    discover_files -> ingest (mapped, one task instance per file, pool `salesflow_ingest`)
      -> dbt_staging -> dbt_dimensions -> dbt_facts_marts -> quality_gate -> publish_marts (Asset)

Design choices
--------------
* **The Rust binary does the loading.** ``ingest`` only runs ``salesflow ingest FILE`` in a
  subprocess; the binary owns parsing, validation, the one-transaction-per-file merge, the
  ledger and the sha256 skip. The database URL goes to the child through the environment
  (``DATABASE_URL``, its password in ``PGPASSWORD``), never on a command line (a password
  there would show in ``ps``) and never in a log line.
* **Discovery is cheap and idempotent.** It lists ``*.csv`` / ``*.csv.gz`` in the landing
  directory (dot files and partial names such as ``x.csv.part`` are ignored: writers should
  write elsewhere and ``rename`` into the landing directory), hashes them and drops those whose
  sha256 already has a ``succeeded`` row in ``salesflow.loads``. A file whose path, size and
  modification time are those of a load in the ledger is not hashed again (the quick check
  of rsync and make): a run hashes only new or changed files. Files are never moved or
  deleted: the ledger is the single source of truth for "already loaded", so a file re-sent
  under a new name is skipped, and a file whose load failed is retried by the next run unless
  the ledger says the same bytes fail again (see *held files* below). No new file means zero
  mapped ``ingest`` instances: every later task is skipped and the run succeeds doing
  nothing.
* **Retries only where they help.** ``ingest`` retries with exponential backoff (database down:
  exit code 4; any other crash: 1) because the binary guarantees a failed or killed load left
  nothing behind and a rerun loads the file exactly once. A usage or settings error (2: e.g. a
  connection whose database or role does not exist) or a data-quality failure (3: an invalid
  file, or a per-file reject threshold) is not transient and fails at once
  (``AirflowFailException``).
  The DAG's own queries fail at once too when the server refuses the login or has no such
  database. A command outlived by its task (``execution_timeout``) is terminated with it.
  One file failing for good does not hold back the others: dbt builds what did load
  (``dbt_staging`` has trigger rule ``all_done_min_one_success``), the run still ends failed
  and publishes nothing, and the next run fails on the file again until it is fixed. When a
  run fails at a dbt test, clear its failed tasks to rebuild: a later run without new files
  does nothing.
* **Held files.** A file that failed on data quality (the ledger's ``failure``: invalid_file,
  or reject_rate_exceeded while ``SALESFLOW_INGEST_MAX_REJECT_RATE`` is still below its reject
  rate) is *held*: later runs do not read it or add failed loads to the ledger for it, but its
  ingest task still fails at once with the ledger's error and load id, so every run stays
  failed until the file is fixed (any write changes its bytes or modification time) or
  removed. A file that failed otherwise (a read error, a lost connection, a killed loader) is
  retried.
* **A pool bounds concurrent loads** (``salesflow_ingest``, create it with
  ``airflow pools set salesflow_ingest 2 "salesflow loads"``; the scheduler does not run tasks
  of a pool that does not exist). Loads are safe to run concurrently (the binary locks), the
  pool keeps them from crowding the database and the workers. ``max_active_tis_per_dagrun``
  bounds a single run as well.
* **dbt: one ``dbt build`` task per layer, not astronomer-cosmos.** Three tasks, staging ->
  dimensions -> facts/marts, each ``dbt build --select <layer>`` (models *and* their tests, so a
  broken staging layer stops before the marts are touched). Cosmos would give one Airflow task
  per model, but it must know the dbt graph when the DAG is *parsed*: either ``dbt ls`` at every
  parse (about +3 s per parse on this machine, and the dbt virtualenv on every scheduler and
  DAG processor) or a ``manifest.json`` that has to be built and shipped with the DAG and kept
  in sync with the dbt project. Per-model tasks would also multiply the fixed cost of a dbt
  process (3.4-5.2 s each on the 2-core development machine, about as much as running all 58
  nodes of a build without new data). Three layers pay it three times, for a grid that shows which layer
  failed (one ``dbt build`` would stop at a failing test too). Per-layer
  ``dbt build`` keeps parsing instant, keeps dbt in its own virtualenv (only its executable
  path is configured), and still shows in the grid which layer failed; dbt's own log in the
  task log names the model or test. ``--indirect-selection buildable`` makes each layer run the
  tests whose parents are built by then (a fact-to-dimension relationship test runs with the
  facts, not before them). The layer selections are configurable (see below).
* **Quality gate after dbt.** Rejected rows are quarantined by the binary, not loaded, so the
  warehouse is consistent with ``raw.sales`` whatever the reject rate; the gate decides
  whether the result may be *published*. It fails when any succeeded load after the last
  publication (``salesflow.publications``, written by ``publish_marts``) rejected more than
  ``max_reject_rate`` (default 5 %) of its rows, lists the files and their top reject reasons,
  and then ``publish_marts`` does not run: downstream DAGs scheduled on the
  ``salesflow_marts`` Asset are not triggered. Judging every unpublished load, not just this
  run's, keeps a load that failed the gate from being published by the next run; a run with a
  ``max_reject_rate`` above its rate accepts and publishes it, and so does any run once an
  operator accepted that load (``salesflow accept``). An acceptance revoked before the
  publication (``salesflow accept --revoke``) no longer counts: ``publish_marts`` checks the
  acceptances the gate relied on again, under lock, and fails rather than publish a load whose
  acceptance was revoked in between.
* **No heavy work at parse time.** The module imports only ``airflow.sdk`` and the standard
  library at the top; psycopg, hashing and subprocesses happen inside tasks.

Configuration (environment of the scheduler/workers; DAG run params override two of them)
--------------------------------------------------------------------------------------------
``SALESFLOW_BIN``            the salesflow binary (default: ``<repo>/target/release/salesflow``
                             when this file sits in the salesflow repository)
``SALESFLOW_DBT``            dbt executable or wrapper; it gets dbt arguments (default:
                             ``<repo>/scripts/dbt``, which knows the project and the venv)
``SALESFLOW_DBT_PROJECT_DIR`` when set, ``--project-dir``/``--profiles-dir`` are passed (for a
                             plain ``dbt`` executable; ``SALESFLOW_DBT_PROFILES_DIR`` overrides
                             the profiles dir)
``SALESFLOW_LANDING_DIR``    landing directory (default ``<repo>/.local/landing``); param
                             ``landing_dir`` overrides it per run
``SALESFLOW_MAX_REJECT_RATE`` gate threshold, fraction 0..1 (default 0.05); param
                             ``max_reject_rate`` overrides it per run
``SALESFLOW_CONN_ID``        Airflow connection of the warehouse (default
                             ``salesflow_warehouse``, e.g. ``AIRFLOW_CONN_SALESFLOW_WAREHOUSE=
                             postgresql://user:pw@host:5432/db``); when it is not defined,
                             ``DATABASE_URL`` is used. Extras ``sslmode``, ``sslrootcert``,
                             ``sslcert``, ``sslkey`` set up TLS
``SALESFLOW_LOADER_CONN_ID`` / ``SALESFLOW_TRANSFORMER_CONN_ID`` per-role connections (default
                             ``salesflow_loader`` / ``salesflow_transformer``): ingest and the
                             ledger, gate and publication queries use the first, dbt the second;
                             either falls back to ``SALESFLOW_CONN_ID``
``SALESFLOW_INGEST_POOL``    pool of the ingest tasks (default ``salesflow_ingest``)
``SALESFLOW_INGEST_CONCURRENCY`` max parallel loads within one run (default 2)
``SALESFLOW_INGEST_MAX_REJECT_RATE`` when set, passed to the binary as ``--max-reject-rate``
                             (the file's transaction is rolled back over it); unset by default,
                             the gate judges the run instead
``SALESFLOW_MAX_FILES_PER_RUN`` cap on files per run (default 500; the rest wait for the next)
``SALESFLOW_INGEST_RETRIES`` / ``SALESFLOW_DBT_RETRIES`` retries of ingest (default 4, delay 30 s
                             doubling up to 15 min) and of each dbt layer (default 1)
``SALESFLOW_SCHEDULE``       cron expression, or ``none`` for manual runs (default every 5 min)
``SALESFLOW_DBT_STAGING_SELECT`` / ``_DIMENSIONS_SELECT`` / ``_MARTS_SELECT`` and
``..._EXCLUDE``              dbt selection of each layer (defaults below)
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from airflow.sdk import Asset, Param, dag, task

log = logging.getLogger("salesflow.sales_pipeline")

DAG_ID = "sales_pipeline"
# The marts as one Asset: downstream DAGs use `schedule=[MARTS_ASSET]` (or
# `Asset(name="salesflow_marts")`) to run after every published refresh.
MARTS_ASSET = Asset(
    name="salesflow_marts",
    uri="salesflow://warehouse/marts",
    group="salesflow",
    extra={
        "schema": "marts",
        "tables": "dim_product,dim_retailer,dim_date,fct_sales,sales_monthly",
    },
)

# This file lives in <repo>/airflow/dags/; defaults for a checkout are relative to <repo>.
_REPO = Path(__file__).resolve().parents[2]

# dbt layers: layer -> (default --select, default --exclude). Staging (sources, base and stg
# models, and the sales with their product ids resolved, models/intermediate/sales) first;
# then the SCD2 dimensions dim_*; then everything else in the marts (the incremental fact,
# its intermediate models in models/intermediate/incremental, sales_monthly) with the
# reconciliation tests. The tests check that the three layers cover every node of the dbt
# project exactly once.
DBT_LAYERS = {
    "staging": ("path:models/staging path:models/intermediate/sales", ""),
    "dimensions": ("path:models/marts,dim_*", ""),
    "marts": ("path:models/marts path:models/intermediate/incremental", "dim_*"),
}
# Passed to every layer's `dbt build`. `buildable`: a layer runs the tests whose parents are all
# built by then. Unit tests check the SQL against fixed inputs, not the data: they belong to CI
# (the project's test suite runs them), not to every load, as dbt recommends.
DBT_BUILD_FLAGS = ("--indirect-selection", "buildable", "--exclude-resource-type", "unit_test")

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


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _schedule() -> str | None:
    value = os.environ.get("SALESFLOW_SCHEDULE", "*/5 * * * *").strip()
    return None if value.lower() in ("", "none", "manual") else value


# --------------------------------------------------------------------------- helpers (run time)


def _fail(message: str):
    """Fail the task without retrying (retrying cannot fix a configuration or data problem)."""
    try:
        from airflow.sdk.exceptions import AirflowFailException
    except ImportError:  # pragma: no cover - older 3.x
        from airflow.exceptions import AirflowFailException
    raise AirflowFailException(message)


def _setting_path(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    return Path(value).expanduser() if value else default


def _database_url(purpose: str = "loader") -> str:
    """The warehouse's libpq URL for `purpose`: "loader" (ingest, the ledger, gate and
    publication queries) or "transformer" (dbt). The Airflow connection of that role
    (SALESFLOW_LOADER_CONN_ID / SALESFLOW_TRANSFORMER_CONN_ID, default salesflow_<purpose>),
    else the warehouse's (SALESFLOW_CONN_ID), else DATABASE_URL."""
    conn_ids = (
        os.environ.get(f"SALESFLOW_{purpose.upper()}_CONN_ID", f"salesflow_{purpose}"),
        os.environ.get("SALESFLOW_CONN_ID", "salesflow_warehouse"),
    )
    for conn_id in conn_ids:
        url = _connection_url(conn_id)
        if url:
            return url
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    _fail(
        f"No warehouse connection: define the Airflow connection {conn_ids[0]!r} or"
        f" {conn_ids[1]!r} (e.g. AIRFLOW_CONN_SALESFLOW_WAREHOUSE=postgresql://user:pw@host:5432/db)"
        " or set DATABASE_URL"
    )


def _connection_url(conn_id: str) -> str | None:
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


def _redact(url: str) -> str:
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


def _connect(url: str):
    import psycopg

    try:
        return psycopg.connect(
            url, connect_timeout=10, application_name="airflow-sales_pipeline", autocommit=True
        )
    except psycopg.OperationalError as exc:
        detail = str(exc).strip()
        if _password(url):
            detail = detail.replace(_password(url), "***")
        message = f"cannot connect to the warehouse {_redact(url)}: {detail}"
        # libpq gives no SQLSTATE for a refused connection, only the server's message. A login
        # or database the server refuses is a settings error that a retry cannot fix (the
        # salesflow binary exits 2 on the same); a server that is down is what retries are for.
        if any(refusal in detail for refusal in SETTINGS_REFUSALS):
            _fail(message + " (fix the connection settings; not retried)")
        raise RuntimeError(message) from None


# libpq's URL parameters for TLS and the variables it reads them from.
PG_SSL_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
}


def _pg_env(url: str) -> dict[str, str]:
    """Child environment carrying the connection: DATABASE_URL without the password, which
    goes in PGPASSWORD, plus the PG* variables (a plain dbt profile reads PGHOST, ...; the
    salesflow binary and scripts/dbt read DATABASE_URL and PGPASSWORD). Environment
    variables, unlike arguments, are not visible to other users."""
    from urllib.parse import parse_qs, unquote, urlsplit

    env = dict(os.environ)
    for key in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", *PG_SSL_ENV.values()):
        env.pop(key, None)
    parts = urlsplit(url)
    env["DATABASE_URL"] = url
    if parts.password is not None:
        userinfo, _, hostport = parts.netloc.rpartition("@")
        netloc = userinfo.partition(":")[0] + "@" + hostport
        env["DATABASE_URL"] = parts._replace(netloc=netloc).geturl()
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    host = parts.hostname or query.get("host")
    if host:
        env["PGHOST"] = host
    if parts.port:
        env["PGPORT"] = str(parts.port)
    if parts.username:
        env["PGUSER"] = unquote(parts.username)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    if parts.path.strip("/"):
        env["PGDATABASE"] = unquote(parts.path.strip("/"))
    for param, variable in PG_SSL_ENV.items():
        if param in query:
            env[variable] = query[param]
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env["DBT_USE_COLORS"] = "false"  # a task log is no terminal
    return env


def _run(cmd: list[str], env: dict[str, str], what: str, secret: str) -> int:
    """Run cmd, streaming its output into the task log line by line; returns the exit code."""
    import subprocess

    log.info("%s: %s", what, " ".join(cmd))
    with subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        bufsize=1,
    ) as proc:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                line = line.rstrip("\n")
                if secret and secret in line:  # defence in depth: the tools redact already
                    line = line.replace(secret, "***")
                log.info("%s", line)
            return proc.wait()
        except BaseException:
            # execution_timeout (AirflowTaskTimeout) or the task being killed: the child must
            # not outlive the task, or a load could commit after its task was given up on.
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            raise


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _modified_at(stat: os.stat_result) -> datetime:
    """The modification time as the ledger keeps it: a UTC timestamp, to the microsecond
    (truncated, as the binary stores it)."""
    return datetime.fromtimestamp(0, UTC) + timedelta(microseconds=stat.st_mtime_ns // 1000)


def _password(url: str) -> str:
    from urllib.parse import unquote, urlsplit

    try:
        return unquote(urlsplit(url).password or "")
    except ValueError:
        return ""


# Server messages (libpq) meaning the connection settings are wrong, not the server down.
SETTINGS_REFUSALS = (
    "authentication failed",  # password, scram, peer, ident
    "no pg_hba.conf entry",
    "does not exist",  # FATAL: database "x" / role "x" does not exist
    "no password supplied",
    "certificate verify failed",  # the server's certificate is not signed by sslrootcert
    "SSL was required",  # sslmode=require or stricter, and the server has no TLS
)

LEDGER_COLUMNS = (
    "load_id",
    "source_path",
    "file_sha256",
    "status",
    "rows_read",
    "rows_loaded",
    "rows_updated",
    "rows_unchanged",
    "rows_duplicate",
    "rows_rejected",
    "error",
)


def _dbt_layer(layer: str) -> None:
    select_default, exclude_default = DBT_LAYERS[layer]
    key = layer.upper()
    select = os.environ.get(f"SALESFLOW_DBT_{key}_SELECT", select_default).split()
    exclude = os.environ.get(f"SALESFLOW_DBT_{key}_EXCLUDE", exclude_default).split()
    dbt = _setting_path("SALESFLOW_DBT", _REPO / "scripts" / "dbt")
    if not os.access(dbt, os.X_OK):
        _fail(f"dbt executable {dbt} not found or not executable: set SALESFLOW_DBT")
    cmd = [str(dbt), "build", "--select", *select]
    if exclude:
        cmd += ["--exclude", *exclude]
    cmd += DBT_BUILD_FLAGS
    project_dir = os.environ.get("SALESFLOW_DBT_PROJECT_DIR")
    if project_dir:
        cmd += [
            "--project-dir",
            project_dir,
            "--profiles-dir",
            os.environ.get("SALESFLOW_DBT_PROFILES_DIR", project_dir),
        ]
    url = _database_url("transformer")
    code = _run(cmd, _pg_env(url), f"dbt {layer}", _password(url))
    if code != 0:
        raise RuntimeError(
            f"dbt build of the {layer} layer failed (exit code {code}); see the dbt output above"
        )


# --------------------------------------------------------------------------- the steps
# Module-level so that tests can exercise them without a DAG run.


# Failures after which the same bytes fail again (salesflow.loads.failure, schema version 7).
DATA_QUALITY_FAILURES = ("invalid_file", "reject_rate_exceeded")


def _ledger_rows(conn, query: str, params: list, older_schema_query: str | None = None) -> list:
    """Rows of a ledger query: none on a fresh database (the binary creates the ledger at its
    first load), and those of `older_schema_query` on a ledger the binary has not migrated yet
    (it does at its next load)."""
    import psycopg

    try:
        # Inside a transaction this is a savepoint, so that the older query can still run.
        with conn.transaction():
            return conn.execute(query, params).fetchall()
    except psycopg.errors.UndefinedTable:
        return []
    except psycopg.errors.UndefinedColumn:
        return conn.execute(older_schema_query, params).fetchall() if older_schema_query else []


def _per_file_reject_limit() -> float | None:
    value = os.environ.get("SALESFLOW_INGEST_MAX_REJECT_RATE")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        _fail(f"SALESFLOW_INGEST_MAX_REJECT_RATE={value!r} is not a fraction between 0 and 1")


def _held(last_failure: tuple) -> dict | None:
    """Why a file whose bytes last failed as `last_failure` is held, or None when loading it
    again may pass. An invalid file fails again; one rolled back over the per-file reject
    limit fails again while the limit in force is below its reject rate."""
    load_id, failure, read, rejected, error, failed_at = last_failure
    if failure not in DATA_QUALITY_FAILURES:
        return None
    if failure == "reject_rate_exceeded":
        limit = _per_file_reject_limit()
        rate = rejected / read if read else 0.0  # as the binary computes it
        if limit is None or rate <= limit:
            return None
    return {
        "load_id": load_id,
        "failure": failure,
        "error": error,
        "failed_at": failed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def discover(landing: Path) -> list[dict]:
    """Files in `landing` whose sha256 has no succeeded load in the ledger, oldest name first.

    A file whose path, size and modification time are those of a load in the ledger is not
    hashed again (the ledger's ``file_modified_at`` and ``file_sha256``): loaded files stay in
    the landing directory, and hashing all of them on every run would grow with it. Any write
    changes the modification time, and such a file is hashed and judged by its content.

    A file whose bytes last failed on data quality (``failure`` invalid_file, or
    reject_rate_exceeded under the per-file limit still in force) is *held*: it is returned
    with a ``held`` entry, and its ingest task fails with the ledger's error without loading
    it again, rather than re-reading the file and adding a failed load to the ledger on every
    run.
    """
    if not landing.is_dir():
        _fail(f"landing directory {landing} does not exist (set SALESFLOW_LANDING_DIR)")
    candidates = sorted(
        p
        for p in landing.iterdir()
        if p.is_file()
        and not p.name.startswith(".")
        and p.name.lower().endswith((".csv", ".csv.gz"))
    )
    if not candidates:
        log.info("0 candidate file(s) in %s", landing)
        return []

    resolved = {path: str(path.resolve()) for path in candidates}
    with _connect(_database_url()) as conn:
        # The sha256 of files the ledger saw with this path, size and modification time: loaded,
        # or failed for good. Any other file is hashed.
        seen_before = _ledger_rows(
            conn,
            "select source_path, file_bytes, file_modified_at, file_sha256,"
            " status = 'succeeded' from salesflow.loads"
            " where (status = 'succeeded' or failure = any(%s))"
            " and file_modified_at is not null and source_path = any(%s)",
            [list(DATA_QUALITY_FAILURES), list(resolved.values())],
        )
        known = {(path, size, modified): (sha, ok) for path, size, modified, sha, ok in seen_before}

        files, seen = [], {}
        for path in candidates:
            stat = path.stat()
            sha, loaded = known.get(
                (resolved[path], stat.st_size, _modified_at(stat)), (None, False)
            )
            if loaded:
                log.info("already loaded (ledger), unchanged since: %s", path.name)
                continue
            sha = sha or _sha256(path)
            if sha in seen:
                log.info("%s has the same content as %s: loading it once", path.name, seen[sha])
                continue
            seen[sha] = path.name
            files.append(
                {
                    "path": resolved[path],
                    "name": path.name,
                    "sha256": sha,
                    "bytes": stat.st_size,
                }
            )
        log.info("%d candidate file(s) to check by content in %s", len(files), landing)
        if not files:
            return []
        # Per sha256: a succeeded load if there is one, else the latest failure.
        verdicts = _ledger_rows(
            conn,
            "select distinct on (file_sha256) file_sha256, status = 'succeeded',"
            " load_id, failure, rows_read, rows_rejected, error, finished_at"
            " from salesflow.loads"
            " where status in ('succeeded', 'failed') and file_sha256 = any(%s)"
            " order by file_sha256, status = 'succeeded' desc, load_id desc",
            [[f["sha256"] for f in files]],
            older_schema_query="select distinct file_sha256, true from salesflow.loads"
            " where status = 'succeeded' and file_sha256 = any(%s)",
        )
    loaded = {row[0].lower() for row in verdicts if row[1]}
    last_failure = {row[0].lower(): row[2:] for row in verdicts if not row[1]}
    new = []
    for f in files:
        if f["sha256"] in loaded:
            log.info("already loaded (ledger): %s", f["name"])
            continue
        held = _held(last_failure[f["sha256"]]) if f["sha256"] in last_failure else None
        if held:
            f["held"] = held
            log.warning(
                "held: %s failed on data quality (%s) in load %s at %s and has not changed: %s",
                f["name"],
                held["failure"],
                held["load_id"],
                held["failed_at"],
                held["error"],
            )
        new.append(f)
    cap = _env_int("SALESFLOW_MAX_FILES_PER_RUN", 500)
    if len(new) > cap:
        log.warning("%d new files; loading %d now, the rest in the next runs", len(new), cap)
        new = new[:cap]
    log.info("%d new file(s) to ingest: %s", len(new), ", ".join(f["name"] for f in new) or "-")
    return new


def ingest_file(file: dict) -> dict:
    """Run `salesflow ingest` on one file; map its exit code to retry / fail; return the ledger row."""
    binary = _setting_path("SALESFLOW_BIN", _REPO / "target" / "release" / "salesflow")
    if not os.access(binary, os.X_OK):
        _fail(f"salesflow binary {binary} not found or not executable: set SALESFLOW_BIN")
    path = Path(file["path"])
    if not path.is_file():
        _fail(f"{path} disappeared from the landing directory")
    held = file.get("held")
    if held:
        how_to_release = "fix the file and write it again, or remove it"
        if held["failure"] == "reject_rate_exceeded":
            how_to_release += ", or raise SALESFLOW_INGEST_MAX_REJECT_RATE over its reject rate"
        _fail(
            f"{path.name}: held, not loaded again: load {held['load_id']} of the same bytes"
            f" failed on data quality ({held['failure']}) at {held['failed_at']}:"
            f" {held['error']}. To release it, {how_to_release}."
        )

    import json
    import tempfile

    url = _database_url()
    with tempfile.TemporaryDirectory(prefix="salesflow-ingest-") as scratch:
        # The binary's JSON report names the load it made: no guessing from the ledger.
        report_path = Path(scratch) / "report.json"
        cmd = [str(binary), "ingest", str(path), "--report-json", str(report_path)]
        per_file = os.environ.get("SALESFLOW_INGEST_MAX_REJECT_RATE")
        if per_file:
            cmd += ["--max-reject-rate", per_file]
        code = _run(cmd, _pg_env(url), "ingest", _password(url))
        if code == 2:
            _fail(
                f"salesflow rejected its arguments or settings (exit 2): {' '.join(cmd)};"
                " its error is in the output above"
            )
        if code == 3:
            # an unusable file (e.g. no recognisable header) or, with --max-reject-rate, too
            # many rejects: the load was rolled back and the same bytes would fail again
            _fail(
                f"{path.name}: data-quality failure (exit 3): the file is invalid or over the"
                " reject threshold; nothing was loaded. Fix or remove the file; see the output"
                " above."
            )
        if code == 4:
            raise RuntimeError("the database is unreachable (exit 4); retrying with backoff")
        if code != 0:
            raise RuntimeError(
                f"salesflow ingest failed (exit {code}); a failed load leaves nothing behind,"
                " retrying"
            )
        load_id = json.loads(report_path.read_text())["files"][0]["load_id"]

    with _connect(url) as conn:
        row = conn.execute(
            f"select {', '.join(LEDGER_COLUMNS)} from salesflow.loads where load_id = %s",
            [load_id],
        ).fetchone()
    load = dict(zip(LEDGER_COLUMNS, row, strict=True))
    load["name"] = file["name"]
    log.info(
        "%s: load %s %s, read %s, loaded %s, updated %s, unchanged %s, duplicate %s, rejected %s",
        path.name,
        load["load_id"],
        load["status"],
        load["rows_read"],
        load["rows_loaded"],
        load["rows_updated"],
        load["rows_unchanged"],
        load["rows_duplicate"],
        load["rows_rejected"],
    )
    return load


def last_succeeded_load_id() -> int:
    """The newest succeeded load: taken before dbt builds, it bounds what the gate may publish
    (a load that commits while dbt runs may not be in the marts)."""
    with _connect(_database_url()) as conn:
        return conn.execute(
            "select coalesce(max(load_id), 0) from salesflow.loads where status = 'succeeded'"
        ).fetchone()[0]


def judge_loads(threshold: float, through_load_id: int) -> dict:
    """The quality gate: fails (no retry) when a succeeded load after the last publication of
    the marts (salesflow.publications), up to `through_load_id` (the newest load when dbt
    started), rejected more than `threshold` of the rows it read.

    It judges every such load, not only those of this run: a load that failed the gate stays
    unpublished, and a later run (with other files) fails on it again rather than publishing it
    unjudged; so do loads this run's tasks never reported (a task retried after a timeout, a
    file that changed while it was loaded, another run's load). Skipped and failed loads wrote
    nothing to judge. A load an operator accepted (`salesflow accept`, recorded in
    salesflow.load_acceptances) is published whatever its rate, unless the acceptance was
    revoked (`salesflow accept --revoke`)."""
    with _connect(_database_url()) as conn:
        after = conn.execute(
            "select coalesce(max(through_load_id), 0) from salesflow.publications"
        ).fetchone()[0]
        through = max(through_load_id, after)
        ledger = _ledger_rows(
            conn,
            "select l.load_id, source_path, rows_read, rows_rejected, a.accepted_by, a.reason"
            " from salesflow.loads l left join salesflow.load_acceptances a"
            "  on a.load_id = l.load_id and a.revoked_at is null"  # the standing acceptance
            " where l.load_id > %s and l.load_id <= %s and status = 'succeeded'"
            " order by l.load_id",
            [after, through],
            # before schema 8 an acceptance could not be revoked (one row per load at most)
            older_schema_query="select load_id, source_path, rows_read, rows_rejected,"
            " a.accepted_by, a.reason"
            " from salesflow.loads left join salesflow.load_acceptances a using (load_id)"
            " where load_id > %s and load_id <= %s and status = 'succeeded' order by load_id",
        )
        reasons = dict(
            conn.execute(
                "select load_id, string_agg(reason || ' x' || n, ', ' order by n desc, reason) from ("
                "  select load_id, reason, count(*) as n"
                "  from raw.sales_rejects, unnest(reasons) as reason"
                "  where load_id > %s and load_id <= %s group by load_id, reason) r"
                " group by load_id",
                [after, through],
            ).fetchall()
        )
    load_ids = [row[0] for row in ledger]
    summary = {
        "after_load_id": after,
        "through_load_id": through,
        "load_ids": load_ids,
        "rows_read": 0,
        "rows_rejected": 0,
        "reject_rate": 0.0,
        "threshold": threshold,
        "accepted_load_ids": [],
    }
    log.info(
        "judging the %d succeeded load(s) after load %s (the last published) through load %s",
        len(load_ids),
        after,
        through,
    )
    breaches = []
    for load_id, source, read, rejected, accepted_by, accepted_why in ledger:
        name = Path(source).name
        rate = rejected / read if read else 0.0
        summary["rows_read"] += read
        summary["rows_rejected"] += rejected
        why = f" [{reasons[load_id]}]" if load_id in reasons else ""
        log.info(
            "load %s %s: %d of %d rows rejected (%.2f%%)%s",
            load_id,
            name,
            rejected,
            read,
            100 * rate,
            why,
        )
        if rate > threshold and accepted_by is not None:
            log.info(
                "load %s is over the threshold, accepted by %s: %s",
                load_id,
                accepted_by,
                accepted_why,
            )
            summary["accepted_load_ids"].append(load_id)
        elif rate > threshold:
            breaches.append(
                f"{name} (load {load_id}): {rejected}/{read} rows rejected = {100 * rate:.2f}%{why}"
            )
    if summary["rows_read"]:
        summary["reject_rate"] = summary["rows_rejected"] / summary["rows_read"]
    if breaches:
        _fail(
            f"quality gate: reject rate over {100 * threshold:g}% in {len(breaches)} load(s): "
            + "; ".join(breaches)
            + ". The rows are quarantined in raw.sales_rejects (`salesflow rejects LOAD_ID` shows"
            " them); the marts are consistent with raw.sales"
            " but are not published, and later runs fail here too until the load is accepted:"
            " `salesflow accept LOAD_ID --reason ...`, then clear this task (or a run with the"
            " max_reject_rate param above its rate publishes it)."
        )
    log.info(
        "quality gate passed: %d of %d rows rejected, threshold %g per load",
        summary["rows_rejected"],
        summary["rows_read"],
        threshold,
    )
    return summary


def record_publication(summary: dict, published_by: str) -> None:
    """Records the publication of the loads the quality gate passed (`summary`), so that the
    next gate judges the loads after them; fails (no retry) instead when the acceptance of a
    load the gate passed as accepted was revoked since (`salesflow accept --revoke`).

    The acceptances stay locked (FOR SHARE) until the publication commits, and a revocation
    locks the acceptance it revokes: a revocation that comes first is seen here, one that comes
    later waits, then finds the load published and is refused."""
    accepted = summary["accepted_load_ids"]
    with _connect(_database_url()) as conn, conn.transaction():
        standing = accepted and {
            row[0]
            for row in _ledger_rows(
                conn,
                "select load_id from salesflow.load_acceptances"
                " where load_id = any(%s) and revoked_at is null for share",
                [accepted],
                # before schema 8 an acceptance could not be revoked
                older_schema_query="select load_id from salesflow.load_acceptances"
                " where load_id = any(%s) for share",
            )
        }
        revoked = [load_id for load_id in accepted if load_id not in standing]
        if revoked:
            _fail(
                f"not published: the acceptance of load(s) {', '.join(map(str, revoked))} was"
                " revoked after the quality gate passed them (salesflow accept --revoke). The"
                " marts are consistent with raw.sales but stay unpublished; the next run's gate"
                " judges those loads again."
            )
        conn.execute(
            "insert into salesflow.publications (through_load_id, published_by) values (%s, %s)",
            [summary["through_load_id"], published_by],
        )


# --------------------------------------------------------------------------- the DAG

# dbt failures are mostly deterministic (a failing test): one retry covers a database blip.
DBT_TASK_ARGS = {
    "retries": _env_int("SALESFLOW_DBT_RETRIES", 1),
    "retry_delay": timedelta(seconds=30),
    "execution_timeout": timedelta(hours=1),
}


@dag(
    dag_id=DAG_ID,
    description="Landing CSV files -> salesflow ingest -> dbt warehouse -> quality gate -> marts Asset",
    schedule=_schedule(),
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # two runs would discover the same files; the binary would skip, but why race
    tags=["salesflow"],
    doc_md=__doc__,
    params={
        "landing_dir": Param(
            None,
            type=["null", "string"],
            description="Landing directory for this run (default: SALESFLOW_LANDING_DIR)",
        ),
        "max_reject_rate": Param(
            None,
            type=["null", "number"],
            minimum=0,
            maximum=1,
            description="Quality gate threshold 0..1 (default: SALESFLOW_MAX_REJECT_RATE or 0.05)",
        ),
    },
    default_args={"owner": "salesflow", "retries": 0},
)
def sales_pipeline():
    @task(retries=2, retry_delay=timedelta(seconds=20), retry_exponential_backoff=2.0)
    def discover_files(params=None) -> list[dict]:
        """New files in the landing directory: those whose sha256 has no succeeded load."""
        landing = params.get("landing_dir") or _setting_path(
            "SALESFLOW_LANDING_DIR", _REPO / ".local" / "landing"
        )
        return discover(Path(landing))

    @task(
        pool=os.environ.get("SALESFLOW_INGEST_POOL", "salesflow_ingest"),
        max_active_tis_per_dagrun=_env_int("SALESFLOW_INGEST_CONCURRENCY", 2),
        retries=_env_int("SALESFLOW_INGEST_RETRIES", 4),
        retry_delay=timedelta(seconds=_env_int("SALESFLOW_INGEST_RETRY_DELAY_SECONDS", 30)),
        retry_exponential_backoff=2.0,
        max_retry_delay=timedelta(minutes=15),
        execution_timeout=timedelta(hours=2),
        map_index_template="{{ salesflow_file }}",
    )
    def ingest(file: dict) -> dict:
        """Load one file with the salesflow binary; returns its ledger row."""
        from airflow.sdk import get_current_context

        # the label of this mapped instance in the UI (map_index_template)
        get_current_context()["salesflow_file"] = file["name"]
        return ingest_file(file)

    # Loads that succeeded are built even when another file of the run failed (that file is
    # retried, or held, by the next run); the failed load still fails the run (quality_gate is
    # upstream_failed), so the Asset is not published. No new file: skipped.
    @task(trigger_rule="all_done_min_one_success", **DBT_TASK_ARGS)
    def dbt_staging() -> int:
        """dbt build (models + tests) of the staging layer; returns the newest succeeded load
        before it, the last one this run's marts may be published for."""
        through_load_id = last_succeeded_load_id()
        _dbt_layer("staging")
        return through_load_id

    @task(**DBT_TASK_ARGS)
    def dbt_dimensions():
        """dbt build of the SCD2 dimensions (and snapshots, if any), with their tests."""
        _dbt_layer("dimensions")

    @task(**DBT_TASK_ARGS)
    def dbt_facts_marts():
        """dbt build of the fact table and the marts, with their tests and the reconciliation tests."""
        _dbt_layer("marts")

    @task
    def quality_gate(through_load_id: int, params=None) -> dict:
        """Fail the run when a load not yet published rejected more than max_reject_rate of its rows."""
        threshold = params.get("max_reject_rate")
        if threshold is None:
            threshold = float(os.environ.get("SALESFLOW_MAX_REJECT_RATE", "0.05"))
        return judge_loads(float(threshold), through_load_id)

    @task(outlets=[MARTS_ASSET])
    def publish_marts(summary: dict) -> None:
        """Record the publication (the next gate judges the loads after it) and emit the marts
        Asset event (downstream DAGs scheduled on it run next)."""
        from airflow.sdk import get_current_context

        context = get_current_context()
        record_publication(summary, f"airflow {DAG_ID} {context['run_id']}")
        context["outlet_events"][MARTS_ASSET].extra = {
            "through_load_id": summary["through_load_id"],
            "load_ids": summary["load_ids"],
            "rows_read": summary["rows_read"],
            "rows_rejected": summary["rows_rejected"],
            "accepted_load_ids": summary["accepted_load_ids"],
        }
        log.info("published %s for loads %s", MARTS_ASSET.name, summary["load_ids"])

    files = discover_files()
    loads = ingest.expand(file=files)
    staging, dimensions, marts = dbt_staging(), dbt_dimensions(), dbt_facts_marts()
    gate = quality_gate(staging)
    # The gate also waits for every ingest task: a file that failed fails the run.
    loads >> staging >> dimensions >> marts >> gate
    loads >> gate
    publish_marts(gate)


sales_pipeline()
