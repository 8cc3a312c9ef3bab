"""Ingest: one file through `salesflow ingest`, whose exit code decides between retrying and
failing at once, and whose JSON report gives the load and its counts."""

from __future__ import annotations

import logging
from pathlib import Path

from salesflow_pipeline import connection, exit_codes, fail, process, settings

log = logging.getLogger("salesflow.sales_pipeline")


def _fail_held(path: Path, held: dict):
    how_to_release = "fix the file and write it again, or remove it, or fix its feed's contract"
    if held["failure"] == "reject_rate_exceeded":
        how_to_release += ", or raise SALESFLOW_INGEST_MAX_REJECT_RATE over its reject rate"
    fail(
        f"{path.name}: held, not loaded again: load {held['load_id']} of the same bytes"
        f" failed on data quality ({held['failure']}) at {held['failed_at']}:"
        f" {held['error']}. To release it, {how_to_release}."
    )


def ingest_file(file: dict) -> dict:
    """Run `salesflow ingest` on one file (a `discovery.discover` entry); map its exit code to
    retry / fail; return the load as the binary reports it."""
    import json
    import tempfile

    binary = process.binary()
    path = Path(file["path"])
    if not path.is_file():
        fail(f"{path} disappeared from the landing directory")
    if file.get("contract_error"):
        fail(f"{path.name}: not loaded: {file['contract_error']}. Fix the contract or remove it.")
    if file.get("held"):
        _fail_held(path, file["held"])

    url = connection.database_url()
    with tempfile.TemporaryDirectory(prefix="salesflow-ingest-") as scratch:
        # The binary's JSON report names the load it made and its counts.
        report_path = Path(scratch) / "report.json"
        cmd = [binary, "ingest", str(path), "--report-json", str(report_path)]
        if file.get("feed"):
            cmd += ["--feed", file["feed"]]
        if file.get("contract"):
            cmd += ["--contract", file["contract"]]
        per_file = settings.ingest_max_reject_rate()
        if per_file:
            cmd += ["--max-reject-rate", per_file]
        code = process.run(cmd, connection.child_env(url), "ingest", connection.password(url))
        if code == exit_codes.USAGE:
            fail(
                f"salesflow rejected its arguments or settings (exit {code}): {' '.join(cmd)};"
                " its error is in the output above"
            )
        if code == exit_codes.DATA_QUALITY:
            # an unusable file (e.g. no recognisable header) or, with --max-reject-rate, too
            # many rejects: the load was rolled back and the same bytes would fail again
            fail(
                f"{path.name}: data-quality failure (exit {code}): the file is invalid or over"
                " the reject threshold; nothing was loaded. Fix or remove the file; see the"
                " output above."
            )
        if code == exit_codes.DATABASE_UNREACHABLE:
            raise RuntimeError(f"the database is unreachable (exit {code}); retrying with backoff")
        if code != exit_codes.OK:
            raise RuntimeError(
                f"salesflow ingest failed (exit {code}); a failed load leaves nothing behind,"
                " retrying"
            )
        report = json.loads(report_path.read_text())["files"][0]

    counts = report.get("counts", {})
    load = {
        "name": file["name"],
        "load_id": report["load_id"],
        "status": report.get("status"),
        **{f"rows_{key}": value for key, value in counts.items()},
        "reject_rate": report.get("reject_rate"),
    }
    log.info(
        "%s: load %s %s, %s",
        path.name,
        load["load_id"],
        load["status"],
        ", ".join(f"{key} {value}" for key, value in counts.items()),
    )
    return load
