"""End to end as in production: the whole DAG (scripts/airflow-dag-test, real binary, real dbt)
connects through two Airflow connections, one per role, as two login users that must give a
password (members of salesflow_password_login, which scripts/pg-local's pg_hba.conf makes log
in with scram-sha-256): the loader (ingest, the ledger, gate and publication queries) and the
transformer (dbt). The connections carry the TLS settings of the test server's URL (with the
project's cluster: sslmode=verify-full and its CA) as extras, one in Airflow's JSON form, the
other as a URI.

While the DAG runs, a thread lists the command lines of every process (`ps -eo args`) every
50 ms: neither password may ever appear there, nor in the run's output (with the task logs) and in dbt's log.

Set SALESFLOW_SKIP_E2E=1 to skip these tests while developing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import threading
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import psycopg
import pytest
from pg_roles import ensure_group_role
from psycopg import sql
from test_e2e import REFERENCE, TASKS, asset_events, binary, run_dag, tail, warehouse  # noqa: F401

pytestmark = pytest.mark.skipif(
    os.environ.get("SALESFLOW_SKIP_E2E") == "1", reason="SALESFLOW_SKIP_E2E=1"
)


@pytest.fixture(scope="module")
def role_users(warehouse, binary):  # noqa: F811
    """Two login users with passwords: {"loader": (name, password), "transformer": ...}.
    The warehouse is migrated first by its owner (the roles' grants are made per database),
    as an administrator does before handing it to least-privilege users."""
    migrated = subprocess.run(
        [str(binary), "status"],
        env={**os.environ, "DATABASE_URL": warehouse},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr
    users = {}
    with psycopg.connect(warehouse, autocommit=True) as conn:
        for role in ("loader", "transformer"):
            ensure_group_role(warehouse, "salesflow_password_login")
            name = f"sf_af_{role}_{secrets.token_hex(4)}"
            password = f"pw-{role}-{secrets.token_hex(12)}"
            conn.execute(
                sql.SQL("create role {} login password {}").format(
                    sql.Identifier(name), sql.Literal(password)
                )
            )
            conn.execute(
                sql.SQL("grant {}, salesflow_password_login to {}").format(
                    sql.Identifier(f"salesflow_{role}"), sql.Identifier(name)
                )
            )
            users[role] = (name, password)
    yield users
    with psycopg.connect(warehouse, autocommit=True) as conn:
        for name, _ in users.values():
            conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))


def connections(url: str, users: dict, **tls: str) -> dict[str, str]:
    """AIRFLOW_CONN_SALESFLOW_LOADER (JSON) and _TRANSFORMER (URI), with the server URL's query
    (sslmode, sslrootcert) as extras, overridden by `tls`; nothing else reaches the warehouse."""
    parts = urlsplit(url)
    extras = {k: v[-1] for k, v in parse_qs(parts.query).items()} | tls
    login, password = users["loader"]
    loader = {
        "conn_type": "postgres",
        "host": parts.hostname,
        "port": parts.port,
        "login": login,
        "password": password,
        "schema": parts.path.lstrip("/"),
        "extra": extras,
    }
    login, password = users["transformer"]
    transformer = (
        f"postgresql://{quote(login, safe='')}:{quote(password, safe='')}@{parts.hostname}"
        f":{parts.port}{parts.path}?{urlencode(extras)}"
    )
    return {
        "AIRFLOW_CONN_SALESFLOW_LOADER": json.dumps(loader),
        "AIRFLOW_CONN_SALESFLOW_TRANSFORMER": transformer,
        # no fallback to the owner's connection: an undefined one, and a URL that connects nowhere
        "SALESFLOW_CONN_ID": "salesflow_not_defined",
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nowhere",
    }


class CommandLines(threading.Thread):
    """Samples `ps -eo args` every 50 ms; keeps the lines that contain any of `secrets`."""

    def __init__(self, *secrets: str):
        super().__init__(daemon=True)
        self.secrets, self.leaks, self.samples = secrets, [], 0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True)
            self.samples += 1
            self.leaks += [
                line for line in ps.stdout.splitlines() if any(s in line for s in self.secrets)
            ]
            self.done.wait(0.05)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.join()


def test_the_dag_runs_as_the_loader_and_the_transformer_with_hidden_passwords(
    run_dag,  # noqa: F811
    warehouse,  # noqa: F811
    role_users,
    tmp_path,
):
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy(REFERENCE, landing / "generated-sales-data.csv")
    passwords = [password for _, password in role_users.values()]
    events_before = len(asset_events())

    with CommandLines(*passwords) as ps:
        rc, output, states = run_dag(landing, **connections(warehouse, role_users))
    assert ps.samples > 20, ps.samples  # it really watched the run
    assert ps.leaks == [], ps.leaks
    # `airflow dags test` writes the task logs (the tasks' and their commands' output) to
    # its own output
    assert "quality gate passed" in output and "dbt staging: " in output, tail(output)
    for password in passwords:
        assert password not in output
    # nor in dbt's own log (run_dag's DBT_LOG_PATH, next to this test's tmp_path)
    dbt_logs = [p for p in tmp_path.parent.glob("dbt*/logs/**/*") if p.is_file()]
    assert dbt_logs
    for password in passwords:
        assert not any(password in p.read_text(errors="replace") for p in dbt_logs)

    assert rc == 0, tail(output)
    assert states == {task: ["success"] for task in TASKS}, tail(output)
    assert len(asset_events()) == events_before + 1
    with psycopg.connect(warehouse) as conn:
        assert conn.execute(
            "select status, rows_loaded from salesflow.loads order by load_id"
        ).fetchall() == [("succeeded", 1004)]
        assert conn.execute("select count(*) from marts.fct_sales").fetchone() == (1004,)
        assert conn.execute("select count(*) from salesflow.publications").fetchone() == (1,)
        owners = conn.execute(
            "select distinct tableowner from pg_tables where schemaname = 'marts'"
        ).fetchall()
        assert owners == [("salesflow_transformer",)]


def test_a_connection_whose_ca_did_not_sign_the_server_fails_at_once(
    run_dag,  # noqa: F811
    warehouse,  # noqa: F811
    role_users,
    tmp_path,
):
    if parse_qs(urlsplit(warehouse).query).get("sslmode") != ["verify-full"]:
        pytest.skip("the test server's URL does not ask for verify-full")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=another CA", "-keyout", "ca.key", "-out", "ca.crt"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copy(REFERENCE, landing / "a.csv")
    settings = connections(warehouse, role_users, sslrootcert=str(tmp_path / "ca.crt"))
    rc, output, states = run_dag(landing, **settings)
    assert rc != 0, tail(output)
    assert states["discover_files"] == ["failed"], tail(output)
    assert "certificate is not trusted" in output and "not retried" in output, tail(output)
