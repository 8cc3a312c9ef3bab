"""Shared set-up of the Airflow tests.

The Airflow settings are fixed here, before anything imports airflow: the tests get their own
AIRFLOW_HOME (.local/airflow-test, git-ignored), never the developer's or a deployment's.
Database tests create a fresh database on the server of DATABASE_URL (or of the project's
own cluster, `scripts/pg-local`, over TLS verified against its CA, when DATABASE_URL is unset)
and drop it afterwards.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "airflow" / "dags"

os.environ["AIRFLOW_HOME"] = os.environ.get("SALESFLOW_TEST_AIRFLOW_HOME") or str(
    REPO / ".local" / "airflow-test"
)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
# each test says which database it means, and as whom
for _conn in ("WAREHOUSE", "LOADER", "TRANSFORMER"):
    os.environ.pop(f"AIRFLOW_CONN_SALESFLOW_{_conn}", None)
Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)

# The DAG's package, and the helpers the Python suites share (tests/support).
for _path in (DAGS, REPO / "tests" / "support"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))


def with_database(url: str, dbname: str) -> str:
    """Another database on the same server; user and query (TLS settings) are kept."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


@pytest.fixture(scope="session")
def server_url() -> str:
    """A URL of the PostgreSQL server the tests may create databases on."""
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    subprocess.run([str(REPO / "scripts" / "pg-local"), "start"], check=True, stdout=sys.stderr)
    return subprocess.run(
        [str(REPO / "scripts" / "pg-local"), "url-tls"], check=True, capture_output=True, text=True
    ).stdout.strip()


def create_database(server_url: str) -> tuple[str, str]:
    """A new, empty database on the test server: (name, url)."""
    import psycopg

    name = f"salesflow_af_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return name, with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def make_database(server_url):
    """Factory: new, empty databases on the test server, dropped at teardown."""
    created: list[str] = []

    def make() -> str:
        name, url = create_database(server_url)
        created.append(name)
        return url

    yield make
    for name in created:
        drop_database(server_url, name)


@pytest.fixture
def use_database(monkeypatch):
    """Point the DAG's helpers at `url` (as DATABASE_URL; no Airflow connection defined)."""

    def use(url: str) -> str:
        monkeypatch.setenv("DATABASE_URL", url)
        for conn in ("WAREHOUSE", "LOADER", "TRANSFORMER"):
            monkeypatch.delenv(f"AIRFLOW_CONN_SALESFLOW_{conn}", raising=False)
        return url

    return use


def airflow_db() -> sqlite3.Connection:
    """The Airflow metadata DB of the tests' AIRFLOW_HOME (SQLite), read-only."""
    return sqlite3.connect(
        f"file:{Path(os.environ['AIRFLOW_HOME']) / 'airflow.db'}?mode=ro", uri=True
    )


def last_run_states() -> dict[str, list[str]]:
    """task_id -> states of its instances (in map order) in the latest sales_pipeline run."""
    with airflow_db() as db:
        run_id = db.execute(
            "select run_id from dag_run where dag_id = 'sales_pipeline' order by id desc limit 1"
        ).fetchone()[0]
        rows = db.execute(
            "select task_id, state from task_instance where dag_id = 'sales_pipeline'"
            " and run_id = ? order by task_id, map_index",
            [run_id],
        ).fetchall()
    states: dict[str, list[str]] = {}
    for task_id, state in rows:
        states.setdefault(task_id, []).append(state)
    return states
