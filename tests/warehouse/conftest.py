"""Fixtures for the warehouse tests: real PostgreSQL, the real `salesflow` binary, real dbt.

Each test module gets a database of its own, created on the server of DATABASE_URL (which
scripts/test-dbt sets, from scripts/pg-local when the caller has none) and dropped afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

REPO = Path(__file__).resolve().parents[2]
# The helpers the Python suites share.
if str(REPO / "tests" / "support") not in sys.path:
    sys.path.insert(0, str(REPO / "tests" / "support"))
REFERENCE_CSV = REPO / "data" / "generated-sales-data.csv"
FIXTURES = REPO / "tests" / "fixtures" / "warehouse"
DBT = REPO / "scripts" / "dbt"


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        pytest.exit(
            "DATABASE_URL is not set: run the warehouse tests through scripts/test-dbt",
            returncode=2,
        )
    return url


def _with_database(url: str, database: str) -> str:
    """The URL of another database on the same server: user and query (sslmode, sslrootcert,
    ...) are kept."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def _salesflow_bin() -> Path:
    path = Path(os.environ.get("SALESFLOW_BIN", REPO / "target" / "release" / "salesflow"))
    if not path.is_absolute():
        path = REPO / path
    if not os.access(path, os.X_OK):
        pytest.exit(
            f"salesflow binary {path} not found: build it (cargo build --release) or set SALESFLOW_BIN",
            returncode=2,
        )
    return path


class Warehouse:
    """One throwaway database with helpers to load files, run dbt and query."""

    def __init__(self, url: str):
        self.url = url

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE")
        }
        env["DATABASE_URL"] = self.url
        return env

    def ingest(self, *files: Path) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(_salesflow_bin()), "ingest", *map(str, files)],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, (
            f"salesflow ingest failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
        return proc

    def dbt(self, *args: str, expect_ok: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(DBT), *args], env=self.env(), capture_output=True, text=True, timeout=900
        )
        if expect_ok:
            assert proc.returncode == 0, (
                f"dbt {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
            )
        return proc

    def rows(self, query: str, params=None) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def one(self, query: str, params=None):
        rows = self.rows(query, params)
        assert len(rows) == 1, f"expected one row, got {len(rows)}: {query}"
        return rows[0] if len(rows[0]) > 1 else rows[0][0]

    def execute(self, query: str, params=None) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(query, params)


@pytest.fixture(scope="module")
def warehouse(request) -> Warehouse:
    """A fresh, empty database for the test module (dropped at its end)."""
    server = _server_url()
    name = f"sf_wh_{request.module.__name__.split('.')[-1].removeprefix('test_')[:20]}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        yield Warehouse(_with_database(server, name))
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


FACT_COLUMNS = (
    "sale_id, sale_date, product_key, retailer_key, product_id, retailer_id, channel, quantity, "
    "unit_price, line_amount, currency, product_id_source, load_id"
)


def snapshot(wh: Warehouse, table: str) -> None:
    """Copies the fact (without dbt_updated_at, which says when a row was written) and the
    monthly mart into public.<name>_snapshot, to compare with what a later build makes."""
    wh.execute(f"drop table if exists public.fct_sales_{table}, public.sales_monthly_{table}")
    wh.execute(
        f"create table public.fct_sales_{table} as select {FACT_COLUMNS} from marts.fct_sales"
    )
    wh.execute(f"create table public.sales_monthly_{table} as select * from marts.sales_monthly")


def differences(wh: Warehouse, left: str, right: str) -> int:
    """Rows in one relation and not the other (both ways, duplicates counted)."""
    lhs, rhs = f"select * from {left} as l", f"select * from {right} as r"
    return wh.one(
        f"select count(*) from (({lhs} except all {rhs}) union all ({rhs} except all {lhs})) as d"
    )


def money(value: str) -> Decimal:
    return Decimal(value)
