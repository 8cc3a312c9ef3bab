"""Discovery: `salesflow discover` lists the files of the landing directory that the ledger
has no succeeded load of, each with its feed (a folder of the landing directory) and the
contract that judges it, and those it *holds* (their bytes failed on data quality under the
same contract)."""

from __future__ import annotations

import logging
from pathlib import Path

from salesflow_pipeline import exit_codes, fail, process, settings
from salesflow_pipeline.connection import database_url

log = logging.getLogger("salesflow.sales_pipeline")


def discover(landing: Path) -> list[dict]:
    """The new files of `landing`, as `salesflow discover --json` lists them: top-level files
    first, then each feed folder's, by name; at most SALESFLOW_MAX_FILES_PER_RUN."""
    args = [
        "discover",
        str(landing),
        "--contracts-dir",
        str(settings.contracts_dir()),
        "--max-files",
        str(settings.max_files_per_run()),
    ]
    per_file = settings.ingest_max_reject_rate()
    if per_file:
        args += ["--max-reject-rate", per_file]
    code, found = process.salesflow(args, database_url(), "salesflow discover")
    if code == exit_codes.USAGE:
        fail(
            f"salesflow discover rejected its settings (exit {code}): fix them (not retried);"
            " its error is in the output above"
        )
    if code != exit_codes.OK or found is None:
        raise RuntimeError(f"salesflow discover failed (exit {code}); retrying")
    for file in found["files"]:
        where = f"{file['feed']}/{file['name']}" if file["feed"] else file["name"]
        if file["contract_error"]:
            log.error("%s will fail: %s", where, file["contract_error"])
        elif file["held"]:
            held = file["held"]
            log.warning(
                "held: %s failed on data quality (%s) in load %s at %s and has not changed: %s",
                where,
                held["failure"],
                held["load_id"],
                held["failed_at"],
                held["error"],
            )
    if found["deferred"]:
        log.warning("%d more new file(s): loading them in the next runs", found["deferred"])
    names = ", ".join(f["name"] for f in found["files"]) or "-"
    log.info("%d new file(s) to ingest: %s", len(found["files"]), names)
    return found["files"]
