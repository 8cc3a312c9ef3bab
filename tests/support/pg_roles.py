"""Helpers shared by the Python test suites (the dbt suite in tests/warehouse and the Airflow
suite in airflow/tests, each in its own virtualenv): roles on the test server."""

from __future__ import annotations

import psycopg
from psycopg import sql


def ensure_group_role(url: str, name: str) -> None:
    """A NOLOGIN group role, made when missing (tests running in parallel may race for it)."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                sql.SQL(
                    "do $$ begin if not exists (select from pg_roles where rolname = {}) then"
                    " create role {} nologin; end if; end $$"
                ).format(sql.Literal(name), sql.Identifier(name))
            )
    except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
        pass
