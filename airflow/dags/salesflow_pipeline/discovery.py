"""Discovery: the files of the landing directory that the ledger (salesflow.loads) has no
succeeded load of, and those it *holds* (their bytes failed on data quality).

The binary has no discovery command, so discovery reads the ledger itself, as the loader; the
ledger's schema stays the binary's: on a ledger older than these queries, the binary brings
it up to date first, and on a refused connection its exit code says whether the
settings are wrong (fail at once) or the server is down (retry).
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from salesflow_pipeline import connection, exit_codes, fail, process, settings

log = logging.getLogger("salesflow.sales_pipeline")

# Failures after which the same bytes fail again (salesflow.loads.failure).
DATA_QUALITY_FAILURES = ("invalid_file", "reject_rate_exceeded")


def sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def modified_at(stat: os.stat_result) -> datetime:
    """The modification time as the ledger keeps it: a UTC timestamp, to the microsecond
    (truncated, as the binary stores it)."""
    return datetime.fromtimestamp(0, UTC) + timedelta(microseconds=stat.st_mtime_ns // 1000)


def _connect(url: str):
    """A connection to the warehouse; fails at once when the binary, given the same settings,
    says they are wrong (exit USAGE: a login, database or certificate the server refuses)."""
    import psycopg

    try:
        return psycopg.connect(
            url, connect_timeout=10, application_name="airflow-sales_pipeline", autocommit=True
        )
    except psycopg.OperationalError as exc:
        detail = str(exc).strip()
        if connection.password(url):
            detail = detail.replace(connection.password(url), "***")
        message = f"cannot connect to the warehouse {connection.redact(url)}: {detail}"
    code, _ = process.salesflow(
        ["status", "--limit", "1"], url, "salesflow status (the connection's settings)"
    )
    if code == exit_codes.USAGE:
        fail(message + " (fix the connection settings; not retried)")
    raise RuntimeError(message + f" (salesflow status: exit {code}; retrying)")


def _migrate(url: str) -> None:
    """Has the binary create or migrate the ledger (any salesflow command does)."""
    code, _ = process.salesflow(["status", "--limit", "1"], url, "salesflow status (the ledger)")
    if code != exit_codes.OK:
        raise RuntimeError(f"salesflow status failed (exit {code}); see its output above")


def _ledger_rows(conn, url: str, query: str, params: list) -> list:
    """The rows of a ledger query: none on a fresh database (the binary creates the ledger at
    its first load); on a ledger older than the query, the binary migrates it first."""
    import psycopg

    try:
        return conn.execute(query, params).fetchall()
    except psycopg.errors.UndefinedTable:
        return []
    except psycopg.errors.UndefinedColumn as exc:
        log.info("the ledger is older than this query (%s): migrating it", str(exc).splitlines()[0])
    _migrate(url)
    return conn.execute(query, params).fetchall()


def _held(last_failure: tuple) -> dict | None:
    """Why a file whose bytes last failed as `last_failure` is held, or None when loading it
    again may pass. An invalid file fails again; one rolled back over the per-file reject
    limit fails again while the limit in force is below its reject rate."""
    load_id, failure, read, rejected, error, failed_at = last_failure
    if failure not in DATA_QUALITY_FAILURES:
        return None
    if failure == "reject_rate_exceeded":
        value = settings.ingest_max_reject_rate()
        try:
            limit = float(value) if value else None
        except ValueError:
            fail(f"SALESFLOW_INGEST_MAX_REJECT_RATE={value!r} is not a fraction between 0 and 1")
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
        fail(f"landing directory {landing} does not exist (set SALESFLOW_LANDING_DIR)")
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
    url = connection.database_url()
    with _connect(url) as conn:
        # The sha256 of files the ledger saw with this path, size and modification time: loaded,
        # or failed for good. Any other file is hashed.
        seen_before = _ledger_rows(
            conn,
            url,
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
                (resolved[path], stat.st_size, modified_at(stat)), (None, False)
            )
            if loaded:
                log.info("already loaded (ledger), unchanged since: %s", path.name)
                continue
            sha = sha or sha256(path)
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
            url,
            "select distinct on (file_sha256) file_sha256, status = 'succeeded',"
            " load_id, failure, rows_read, rows_rejected, error, finished_at"
            " from salesflow.loads"
            " where status in ('succeeded', 'failed') and file_sha256 = any(%s)"
            " order by file_sha256, status = 'succeeded' desc, load_id desc",
            [[f["sha256"] for f in files]],
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
    cap = settings.max_files_per_run()
    if len(new) > cap:
        log.warning("%d new files; loading %d now, the rest in the next runs", len(new), cap)
        new = new[:cap]
    log.info("%d new file(s) to ingest: %s", len(new), ", ".join(f["name"] for f in new) or "-")
    return new
