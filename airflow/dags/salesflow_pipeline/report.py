"""The data-quality page: `salesflow report` writes one self-contained HTML file (each load's
outcomes, its reject rate against the quality gate's threshold, reject reasons and repair flags
per load, acceptances, revocations and publications, the newest quarantined rows) into
SALESFLOW_REPORT_DIR, one file per run plus latest.html, for people to open after a run."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from salesflow_pipeline import connection, exit_codes, fail, process, settings

log = logging.getLogger("salesflow.sales_pipeline")


def report_path(run_id: str) -> Path:
    """<SALESFLOW_REPORT_DIR>/report-<run id>.html, the run id made safe for a file name."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("._") or "run"
    return settings.report_dir() / f"report-{safe}.html"


def write_report(run_id: str, max_reject_rate: str | float | None = None, loads: int = 30) -> Path:
    """Write the data-quality page of the newest `loads` loads for the run `run_id` with
    `salesflow report`, and copy it to latest.html beside it; returns the run's page.
    `max_reject_rate` is the gate's threshold when the run set one (None: the contract's, as
    the gate has it). Fails the task on a usage error, retries when the database is
    unreachable."""
    import os
    import shutil

    path = report_path(run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    what = "salesflow report"
    args = ["report", "-o", str(path), "--loads", str(loads)]
    if max_reject_rate is not None:
        args += ["--max-reject-rate", str(max_reject_rate)]
    code, written = process.salesflow(args, connection.database_url(), what)
    if code == exit_codes.USAGE:
        fail(f"{what} rejected its arguments or settings (exit {code}); its error is above")
    if code == exit_codes.DATABASE_UNREACHABLE:
        raise RuntimeError(f"{what}: the database is unreachable (exit {code})")
    if code != exit_codes.OK or not path.is_file():
        raise RuntimeError(f"{what} failed (exit {code}); its error is above")
    latest = path.with_name("latest.html")
    aside = path.with_name(f".latest.html.{os.getpid()}")
    shutil.copyfile(path, aside)
    os.replace(aside, latest)
    written = written or {}
    log.info(
        "data-quality page of loads %s-%s: %s (also %s)",
        written.get("first_load_id"),
        written.get("last_load_id"),
        path,
        latest,
    )
    return path
