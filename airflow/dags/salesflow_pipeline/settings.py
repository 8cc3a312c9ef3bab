"""The pipeline's settings: environment variables of the scheduler and workers, and their
defaults (airflow/README.md, "Configuration", lists them). Defaults for a checkout are
relative to the repository this package sits in (<repo>/airflow/dags/salesflow_pipeline)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def path(env: str, default: Path) -> Path:
    value = os.environ.get(env)
    return Path(value).expanduser() if value else default


def schedule() -> str | None:
    """SALESFLOW_SCHEDULE: a cron expression (default every 5 minutes), or none for manual runs."""
    value = os.environ.get("SALESFLOW_SCHEDULE", "*/5 * * * *").strip()
    return None if value.lower() in ("", "none", "manual") else value


def salesflow_bin() -> Path:
    return path("SALESFLOW_BIN", REPO / "target" / "release" / "salesflow")


def dbt_executable() -> Path:
    return path("SALESFLOW_DBT", REPO / "scripts" / "dbt")


def dbt_project_dirs() -> tuple[str, str] | None:
    """(--project-dir, --profiles-dir) for a plain dbt executable, or None (scripts/dbt
    knows its project)."""
    project_dir = os.environ.get("SALESFLOW_DBT_PROJECT_DIR")
    if not project_dir:
        return None
    return project_dir, os.environ.get("SALESFLOW_DBT_PROFILES_DIR", project_dir)


def dbt_selection(layer: str, select: str, exclude: str) -> tuple[list[str], list[str]]:
    """A dbt layer's --select and --exclude: SALESFLOW_DBT_<LAYER>_SELECT / _EXCLUDE, else the
    DAG's defaults."""
    key = layer.upper()
    return (
        os.environ.get(f"SALESFLOW_DBT_{key}_SELECT", select).split(),
        os.environ.get(f"SALESFLOW_DBT_{key}_EXCLUDE", exclude).split(),
    )


def landing_dir(param: str | None = None) -> Path:
    """The run's landing_dir param, else SALESFLOW_LANDING_DIR, else <repo>/.local/landing."""
    if param:
        return Path(param)
    return path("SALESFLOW_LANDING_DIR", REPO / ".local" / "landing")


def contracts_dir() -> Path:
    """SALESFLOW_CONTRACTS_DIR: the feeds' contracts, <feed>.toml for the files under
    <landing>/<feed>/ (default <repo>/contracts)."""
    return path("SALESFLOW_CONTRACTS_DIR", REPO / "contracts")


def max_files_per_run() -> int:
    return env_int("SALESFLOW_MAX_FILES_PER_RUN", 500)


def ingest_max_reject_rate() -> str | None:
    """SALESFLOW_INGEST_MAX_REJECT_RATE, the binary's per-file --max-reject-rate; unset by
    default (the gate judges the run instead)."""
    return os.environ.get("SALESFLOW_INGEST_MAX_REJECT_RATE") or None


def gate_max_reject_rate(param: float | None = None) -> str | None:
    """The gate's threshold when the run sets one: its max_reject_rate param, else
    SALESFLOW_MAX_REJECT_RATE. None leaves it to the contract (quality_gate.max_reject_rate)."""
    if param is not None:
        return str(param)
    return os.environ.get("SALESFLOW_MAX_REJECT_RATE") or None


# Read when the DAG file is parsed: task arguments.
def ingest_pool() -> str:
    return os.environ.get("SALESFLOW_INGEST_POOL", "salesflow_ingest")


def ingest_concurrency() -> int:
    return env_int("SALESFLOW_INGEST_CONCURRENCY", 2)


def ingest_retries() -> int:
    return env_int("SALESFLOW_INGEST_RETRIES", 4)


def ingest_retry_delay_seconds() -> int:
    return env_int("SALESFLOW_INGEST_RETRY_DELAY_SECONDS", 30)


def dbt_retries() -> int:
    return env_int("SALESFLOW_DBT_RETRIES", 1)


def report_dir() -> Path:
    """SALESFLOW_REPORT_DIR: where the data-quality pages go (default <repo>/.local/reports)."""
    return path("SALESFLOW_REPORT_DIR", REPO / ".local" / "reports")
