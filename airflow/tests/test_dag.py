"""The DAG's shape and its steps (the salesflow_pipeline package), without running the
pipeline.

Parsing tests need no database. The step tests (discovery, the ingest exit-code policy, the
quality gate and the publication) run against a fresh database on the test server, whose
ledger the real binary creates; the gate and the publication are the binary's (`salesflow
gate`, `salesflow publish`), ingest's exit-code policy is checked with a stand-in for the
binary. The end-to-end tests (test_e2e.py) run the whole DAG with the real binary and dbt.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import DAGS, REPO, last_run_states
from salesflow_pipeline import connection, dbt, discovery, gate, ingest, process

DAG_ID = "sales_pipeline"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


@pytest.fixture(scope="module")
def dag(dagbag):
    return dagbag.dags[DAG_ID]


# ---------------------------------------------------------------------------- parsing


def test_dagbag_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert DAG_ID in dagbag.dags


def test_task_graph_follows_the_data(dag):
    upstream = {t.task_id: set(t.upstream_task_ids) for t in dag.tasks}
    assert upstream == {
        "discover_files": set(),
        "ingest": {"discover_files"},
        "dbt_staging": {"ingest"},
        "dbt_dimensions": {"dbt_staging"},
        "dbt_facts_marts": {"dbt_dimensions"},
        "quality_gate": {"dbt_facts_marts", "dbt_staging", "ingest"},
        "publish_marts": {"quality_gate"},
        "quality_report": {"publish_marts"},
    }


def test_ingest_is_mapped_pooled_and_retried_with_backoff(dag):
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    ingest = dag.get_task("ingest")
    assert isinstance(ingest, MappedOperator)
    assert ingest.pool == "salesflow_ingest"
    assert ingest.retries >= 3
    assert ingest.retry_exponential_backoff >= 2
    assert ingest.max_retry_delay is not None
    assert ingest.max_active_tis_per_dagrun >= 1
    # dbt layers and the gate are not mapped; the gate never retries (a data verdict is final)
    assert not isinstance(dag.get_task("dbt_staging"), MappedOperator)
    assert dag.get_task("quality_gate").retries == 0
    # loads that succeeded are built even when another file of the run failed
    assert dag.get_task("dbt_staging").trigger_rule == "all_done_min_one_success"
    assert dag.get_task("dbt_dimensions").trigger_rule == "all_success"


def test_marts_asset_is_published_only_by_the_last_task(dag):
    outlets = {t.task_id: [o.name for o in t.outlets] for t in dag.tasks if t.outlets}
    assert outlets == {"publish_marts": ["salesflow_marts"]}


def test_dag_settings(dag):
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert set(dag.params.keys()) == {"landing_dir", "max_reject_rate"}
    assert dag.params["landing_dir"] is None  # default comes from SALESFLOW_LANDING_DIR at run time


def test_parse_is_fast_does_no_work_and_reads_settings_from_the_environment():
    """Parsing the DAG file must not hash files, connect to a database or run processes; the
    few settings read at parse time come from the environment (here: pool and schedule)."""
    probe = textwrap.dedent(
        f"""
        import subprocess, sys, time
        from airflow.dag_processing.dagbag import DagBag  # airflow itself: not the DAG's cost
        def forbidden(*a, **k):
            raise AssertionError("subprocess at parse time")
        subprocess.Popen = forbidden
        t = time.perf_counter()
        bag = DagBag(dag_folder={str(DAGS)!r})
        took = time.perf_counter() - t
        assert not bag.import_errors, bag.import_errors
        assert "psycopg" not in sys.modules, "psycopg imported at parse time"
        dag = bag.dags["sales_pipeline"]
        print(took, dag.get_task("ingest").pool, type(dag.timetable).__name__)
        """
    )
    env = dict(os.environ, SALESFLOW_INGEST_POOL="loads", SALESFLOW_SCHEDULE="none")
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    took, pool, timetable = out.stdout.split()[-3:]
    assert float(took) < 1.0, f"DAG parse took {float(took):.2f} s"
    assert (pool, timetable) == ("loads", "NullTimetable")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pathspec's, inside Airflow
def test_only_the_dag_file_is_parsed_as_one():
    """.airflowignore keeps the DAG processor out of the salesflow_pipeline package, in either
    syntax of [core] dag_ignore_file_syntax."""
    from airflow._shared.module_loading.file_discovery import find_path_from_directory

    for syntax in ("glob", "regexp"):
        found = find_path_from_directory(str(DAGS), ".airflowignore", syntax)
        python = sorted(Path(p).name for p in found if p.endswith(".py"))
        assert python == ["sales_pipeline.py"], syntax


def test_dag_file_has_no_import_errors_per_airflow_cli():
    """`airflow dags list-import-errors --local` exits 1 on import errors, 0 when clean."""
    airflow = str(Path(sys.executable).parent / "airflow")
    if not (
        Path(os.environ["AIRFLOW_HOME"]) / "airflow.db"
    ).exists():  # normally set up by the runs above
        subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True, timeout=300)
    proc = subprocess.run(
        [airflow, "dags", "list-import-errors", "--local"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sales_pipeline" not in proc.stdout


# ---------------------------------------------------------------------------- helpers


def test_connection_from_airflow_connection_or_database_url(monkeypatch):

    monkeypatch.setenv("DATABASE_URL", "postgresql://fallback@db.example/fallback")
    for conn in ("WAREHOUSE", "LOADER", "TRANSFORMER"):
        monkeypatch.delenv(f"AIRFLOW_CONN_SALESFLOW_{conn}", raising=False)
    assert connection.database_url() == "postgresql://fallback@db.example/fallback"
    assert connection.database_url("transformer") == "postgresql://fallback@db.example/fallback"

    monkeypatch.setenv(
        "AIRFLOW_CONN_SALESFLOW_WAREHOUSE",
        "postgresql://sales%40corp:s3cr%2Ft@wh.example:5433/sales?sslmode=verify-full"
        "&sslrootcert=%2Fetc%2Fca.crt&sslcert=%2Fc.crt&sslkey=%2Fc.key&cursor=dictcursor",
    )
    url = connection.database_url()
    # libpq URL, Airflow-only extras dropped, special characters kept quoted
    assert url == (
        "postgresql://sales%40corp:s3cr%2Ft@wh.example:5433/sales?sslmode=verify-full"
        "&sslrootcert=%2Fetc%2Fca.crt&sslcert=%2Fc.crt&sslkey=%2Fc.key"
    )
    assert (
        connection.database_url("transformer") == url
    )  # no connection of its own: the warehouse's
    env = connection.child_env(url)
    # the children get the password in PGPASSWORD, not in the URL
    assert env["DATABASE_URL"] == url.replace(":s3cr%2Ft@", "@")
    assert {k: env[k] for k in env if k.startswith("PG")} == {
        "PGHOST": "wh.example",
        "PGPORT": "5433",
        "PGUSER": "sales@corp",
        "PGPASSWORD": "s3cr/t",
        "PGDATABASE": "sales",
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": "/etc/ca.crt",
        "PGSSLCERT": "/c.crt",
        "PGSSLKEY": "/c.key",
    }
    assert "s3cr" not in connection.redact(url)


def test_each_role_has_a_connection_of_its_own(monkeypatch):
    """Ingest and the ledger queries connect as the loader, dbt as the transformer; either
    falls back to the warehouse's connection."""

    monkeypatch.setenv("AIRFLOW_CONN_SALESFLOW_WAREHOUSE", "postgresql://wh@db.example/sales")
    monkeypatch.setenv("AIRFLOW_CONN_SALESFLOW_TRANSFORMER", "postgresql://dbt:pw@db.example/sales")
    monkeypatch.delenv("AIRFLOW_CONN_SALESFLOW_LOADER", raising=False)
    assert connection.database_url("transformer") == "postgresql://dbt:pw@db.example/sales"
    assert connection.database_url("loader") == "postgresql://wh@db.example/sales"
    monkeypatch.setenv("SALESFLOW_LOADER_CONN_ID", "etl_loader")
    monkeypatch.setenv("AIRFLOW_CONN_ETL_LOADER", "postgresql://etl@db.example/sales")
    assert connection.database_url("loader") == "postgresql://etl@db.example/sales"
    assert connection.database_url() == "postgresql://etl@db.example/sales"


def write_fake_salesflow(tmp_path: Path, exit_code: int) -> Path:
    """A stand-in for the binary: records its argv and environment, exits with exit_code."""
    fake = tmp_path / "salesflow"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"json.dump({{'argv': sys.argv, 'database_url': os.environ.get('DATABASE_URL')}}, "
        f"open({str(tmp_path / 'call.json')!r}, 'w'))\n"
        "print('fake salesflow: hello from', sys.argv[1])\n"
        f"sys.exit({exit_code})\n"
    )
    fake.chmod(0o755)
    return fake


@pytest.mark.parametrize(
    ("exit_code", "retried"),
    [(4, True), (1, True), (2, False), (3, False)],
    ids=[
        "db-unreachable-retries",
        "other-failure-retries",
        "usage-fails-at-once",
        "dq-breach-fails-at-once",
    ],
)
def test_ingest_exit_codes(tmp_path, monkeypatch, make_database, use_database, exit_code, retried):
    from airflow.sdk.exceptions import AirflowFailException

    url = use_database(make_database())
    monkeypatch.setenv("SALESFLOW_BIN", str(write_fake_salesflow(tmp_path, exit_code)))
    data = tmp_path / "a.csv"
    data.write_text("SaleID\n1\n")
    monkeypatch.setenv("SALESFLOW_INGEST_MAX_REJECT_RATE", "0.1")
    with pytest.raises(Exception) as caught:
        ingest.ingest_file(
            {"path": str(data), "name": "a.csv", "feed": "acme", "contract": "/c/acme.toml"}
        )
    assert isinstance(caught.value, AirflowFailException) is (not retried), caught.value
    assert f"(exit {exit_code})" in str(caught.value)  # failed on the exit code, not on later steps
    call = json.loads((tmp_path / "call.json").read_text())
    assert call["argv"][1:3] == ["ingest", str(data)]
    assert "--report-json" in call["argv"]
    assert call["argv"][5:9] == ["--feed", "acme", "--contract", "/c/acme.toml"]
    assert call["argv"][-2:] == ["--max-reject-rate", "0.1"]
    assert call["database_url"] == url  # the connection travels in the environment ...
    assert not any(url in arg or "postgresql://" in arg for arg in call["argv"])  # ... not in argv


def salesflow_bin() -> str:
    """The real binary (SALESFLOW_BIN, default target/release/salesflow)."""
    return os.environ.get("SALESFLOW_BIN") or str(REPO / "target" / "release" / "salesflow")


def migrate_ledger(url: str, through_version: int | None = None) -> None:
    """The ledger as the binary creates it (it migrates at every command), or the one a binary
    that knew only the migrations up to `through_version` left behind: those scripts applied
    and recorded in salesflow.schema_migrations, with their checksums, as it records them."""
    import hashlib

    import psycopg

    if through_version is None:
        done = subprocess.run(
            [salesflow_bin(), "status", "--limit", "1"],
            env={**os.environ, "DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return
    scripts = sorted((REPO / "migrations").glob("*.sql"))[:through_version]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "create schema if not exists salesflow;"
            " create table salesflow.schema_migrations (version integer primary key,"
            " name text not null, sha256 text not null,"
            " applied_at timestamptz not null default now())"
        )
        for version, script in enumerate(scripts, start=1):
            conn.execute(script.read_text())
            conn.execute(
                "insert into salesflow.schema_migrations (version, name, sha256)"
                " values (%s, %s, %s)",
                [version, script.stem, hashlib.sha256(script.read_bytes()).hexdigest()],
            )


def schema_version(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("select max(version) from salesflow.schema_migrations").fetchone()[0]


def publish(url: str, through_load_id: int) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into salesflow.publications (through_load_id, published_by) values (%s, 'test')",
            [through_load_id],
        )


def accept(url: str, load_id: int) -> None:
    """What `salesflow accept LOAD_ID` records (tested with the binary in test_e2e)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into salesflow.load_acceptances (load_id, accepted_by, reason)"
            " values (%s, 'test', 'reviewed')",
            [load_id],
        )


def revoke(url: str, load_id: int) -> None:
    """What `salesflow accept LOAD_ID --revoke` records (tested with the binary in
    tests/ingest.rs)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "update salesflow.load_acceptances set revoked_at = now(), revoked_by = 'test',"
            " revoke_reason = 'wrong load' where load_id = %s and revoked_at is null",
            [load_id],
        )


def add_load(
    url: str, source: str, sha: str, status: str, read: int = 0, rejected: int = 0, reasons=()
) -> int:
    """A load as the binary records it: a succeeded one with its `rejected` rows in quarantine
    (the reasons given, one per row, else quantity_not_positive), where the gate counts them."""
    import psycopg

    if status == "succeeded":
        reasons = list(reasons) or ["quantity_not_positive"] * rejected
        assert len(reasons) == rejected

    with psycopg.connect(url, autocommit=True) as conn:
        load_id = conn.execute(
            "insert into salesflow.loads (source_path, file_sha256, file_bytes, status, rows_read, rows_loaded,"
            " rows_rejected) values (%s, %s, 1, %s, %s, %s, %s) returning load_id",
            [source, sha, status, read, read - rejected, rejected],
        ).fetchone()[0]
        for i, reason in enumerate(reasons):
            conn.execute(
                "insert into raw.sales_rejects (load_id, source_line, raw_record, reasons, message)"
                " values (%s, %s, 'x', %s, 'm')",
                [load_id, i + 2, [reason]],
            )
    return load_id


def test_discover_lists_new_files_with_their_feeds_and_contracts(
    tmp_path, monkeypatch, make_database, use_database
):
    """Discovery is the binary's (`salesflow discover`, tested in tests/discover.rs): the task
    hands it the settings and returns its list."""
    use_database(make_database())
    landing, contracts = tmp_path / "landing", tmp_path / "contracts"
    (landing / "acme").mkdir(parents=True)
    contracts.mkdir()
    (landing / "b.csv").write_text("SaleID\n2\n")
    (landing / "a.csv").write_text("SaleID\n1\n")
    (landing / "acme" / "x.csv").write_text("SaleID\n3\n")
    shutil.copy(REPO / "contracts" / "sales.toml", contracts / "acme.toml")
    monkeypatch.setenv("SALESFLOW_CONTRACTS_DIR", str(contracts))

    found = discovery.discover(landing)
    assert [(f["feed"], f["name"]) for f in found] == [
        (None, "a.csv"),
        (None, "b.csv"),
        ("acme", "x.csv"),
    ]
    assert found[0]["contract"] is None
    assert found[2]["contract"] == str(contracts / "acme.toml")
    assert all(len(f["sha256"]) == 64 and Path(f["path"]).is_absolute() for f in found)
    monkeypatch.setenv("SALESFLOW_MAX_FILES_PER_RUN", "1")  # the rest wait for the next run
    assert [f["name"] for f in discovery.discover(landing)] == ["a.csv"]


def test_a_held_file_or_a_broken_feed_contract_fails_its_task_without_loading(
    tmp_path, monkeypatch, make_database, use_database
):
    from airflow.sdk.exceptions import AirflowFailException

    url = use_database(make_database())
    landing, contracts = tmp_path / "landing", tmp_path / "contracts"
    (landing / "broken").mkdir(parents=True)
    contracts.mkdir()
    invalid = landing / "invalid.csv"
    invalid.write_text("no header here\n")
    (landing / "broken" / "b.csv").write_text("SaleID\n1\n")
    (contracts / "broken.toml").write_text("not = a contract")
    monkeypatch.setenv("SALESFLOW_CONTRACTS_DIR", str(contracts))
    loaded = subprocess.run(
        [salesflow_bin(), "ingest", str(invalid)],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        timeout=120,
    )
    assert loaded.returncode == 3, loaded.stderr

    found = {f["name"]: f for f in discovery.discover(landing)}
    held = found["invalid.csv"]["held"]
    assert held["failure"] == "invalid_file"
    assert "the contract of feed broken" in found["b.csv"]["contract_error"]

    # Their tasks fail at once with the reason, without running the binary.
    monkeypatch.setenv("SALESFLOW_BIN", str(write_fake_salesflow(tmp_path, 0)))
    with pytest.raises(AirflowFailException) as caught:
        ingest.ingest_file(found["invalid.csv"])
    message = str(caught.value)
    assert (
        f"invalid.csv: held, not loaded again: load {held['load_id']} of the same bytes" in message
    )
    assert "invalid_file" in message
    with pytest.raises(
        AirflowFailException, match="b.csv: not loaded: the contract of feed broken"
    ):
        ingest.ingest_file(found["b.csv"])
    assert not (tmp_path / "call.json").exists()


def test_a_refused_connection_fails_at_once_and_a_down_server_is_retried(
    tmp_path, server_url, use_database
):
    from airflow.sdk.exceptions import AirflowFailException
    from conftest import with_database

    (tmp_path / "a.csv").write_text("SaleID\n1\n")
    use_database(with_database(server_url, "salesflow_no_such_database"))
    with pytest.raises(AirflowFailException, match="rejected its settings"):
        discovery.discover(tmp_path)
    use_database("postgresql://salesflow@127.0.0.1:1/salesflow")  # nothing listens on port 1
    with pytest.raises(RuntimeError, match=r"exit 4\).*retrying"):
        discovery.discover(tmp_path)


def test_discover_fails_clearly_without_landing_dir(tmp_path, caplog, make_database, use_database):
    from airflow.sdk.exceptions import AirflowFailException

    use_database(make_database())
    with pytest.raises(AirflowFailException, match="rejected its settings"):
        discovery.discover(tmp_path / "missing")
    assert f"landing directory {tmp_path / 'missing'} does not exist" in caplog.text


def test_quality_gate_judges_every_load_after_the_last_publication(make_database, use_database):
    from airflow.sdk.exceptions import AirflowFailException

    url = use_database(make_database())
    migrate_ledger(url)
    good = add_load(
        url,
        "/landing/ref.csv",
        "a" * 64,
        "succeeded",
        read=1005,
        rejected=1,
        reasons=["quantity_not_positive"],
    )
    empty = add_load(url, "/landing/empty.csv", "b" * 64, "succeeded", read=0)
    add_load(url, "/landing/again.csv", "c" * 64, "skipped", read=50, rejected=50)

    summary = gate.judge(gate.newest_succeeded_load_id(), 0.05)
    assert summary["load_ids"] == [good, empty]  # skipped loads wrote nothing to judge
    assert (summary["rows_read"], summary["rows_rejected"]) == (1005, 1)
    assert summary["through_load_id"] == empty

    bad = add_load(
        url,
        "/landing/bad.csv",
        "d" * 64,
        "succeeded",
        read=10,
        rejected=3,
        reasons=["quantity_not_positive", "quantity_not_positive", "channel_invalid"],
    )
    late = add_load(url, "/landing/late.csv", "e" * 64, "succeeded", read=10)
    publish(url, empty)
    # A load committed after dbt started is left to the next gate: it may not be in the marts.
    assert gate.judge(bad, 0.30)["load_ids"] == [bad]
    # The breach is found among several loads, whichever run made them.
    with pytest.raises(AirflowFailException) as caught:
        gate.judge(late, 0.05)
    message = str(caught.value)
    assert "bad.csv" in message and "3/10" in message and "ref.csv" not in message
    assert "quantity_not_positive x2" in message and "channel_invalid x1" in message
    assert "salesflow accept LOAD_ID" in message
    # Until accepted it fails every gate, not just its own run's.
    with pytest.raises(AirflowFailException, match="bad.csv"):
        gate.judge(late, 0.05)
    # A run with a higher threshold accepts every load of the window.
    raised = gate.judge(late, 0.30)  # 30 % is not *over* 30 %
    assert raised["load_ids"] == [bad, late] and raised["accepted_load_ids"] == []
    # An operator's acceptance (salesflow accept) accepts that load alone, at the usual threshold.
    accept(url, bad)
    accepted = gate.judge(late, 0.05)
    assert accepted["load_ids"] == [bad, late] and accepted["through_load_id"] == late
    assert accepted["accepted_load_ids"] == [bad]
    # A revoked acceptance (salesflow accept --revoke) no longer counts; accepted again, it does.
    revoke(url, bad)
    with pytest.raises(AirflowFailException, match="bad.csv"):
        gate.judge(late, 0.05)
    accept(url, bad)
    assert gate.judge(late, 0.05)["accepted_load_ids"] == [bad]
    worse = add_load(url, "/landing/worse.csv", "f" * 64, "succeeded", read=10, rejected=5)
    with pytest.raises(AirflowFailException) as caught:
        gate.judge(worse, 0.05)
    assert "worse.csv" in str(caught.value) and "bad.csv" not in str(caught.value)
    publish(url, late)
    assert gate.judge(late, 0.05)["load_ids"] == []
    assert gate.judge(late, 0.05)["through_load_id"] == late


def publications(url: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(
            "select through_load_id, published_by from salesflow.publications order by 1"
        ).fetchall()


def test_a_publication_is_refused_when_an_acceptance_the_gate_passed_is_revoked(
    make_database, use_database
):
    from airflow.sdk.exceptions import AirflowFailException

    url = use_database(make_database())
    migrate_ledger(url)
    bad = add_load(url, "/landing/bad.csv", "a" * 64, "succeeded", read=10, rejected=3)
    accept(url, bad)
    passed = gate.judge(bad, 0.05)
    assert passed["accepted_load_ids"] == [bad]

    # Revoked between the gate and the publication: nothing is published.
    revoke(url, bad)
    with pytest.raises(AirflowFailException, match=rf"acceptance of load\(s\) {bad} was revoked"):
        gate.publish(passed, "run 1", 0.05)
    assert publications(url) == []
    # Accepted again (a new acceptance), the same verdict is published.
    accept(url, bad)
    gate.publish(passed, "run 2", 0.05)
    assert publications(url) == [(bad, "run 2")]


def test_gate_and_publication_migrate_a_ledger_from_before_revocations(make_database, use_database):
    """A ledger of schema 7 (at most one acceptance per load, none revocable), as an older
    binary left it: the gate's binary migrates it first, then judges and publishes as usual."""
    url = use_database(make_database())
    migrate_ledger(url, through_version=7)
    bad = add_load(url, "/landing/bad.csv", "a" * 64, "succeeded", read=10, rejected=3)
    accept(url, bad)
    passed = gate.judge(bad, 0.05)
    assert schema_version(url) > 7
    assert passed["load_ids"] == passed["accepted_load_ids"] == [bad]
    gate.publish(passed, "run 1", 0.05)
    assert publications(url) == [(bad, "run 1")]


def test_discover_has_the_binary_migrate_a_ledger_older_than_its_queries(
    tmp_path, make_database, use_database
):
    """Schema 5 has neither the files' modification times nor the failures' classes that
    discovery reads: the binary brings the ledger up to date first."""
    import hashlib

    url = use_database(make_database())
    migrate_ledger(url, through_version=5)
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "loaded.csv").write_text("SaleID\n1\n")
    (landing / "new.csv").write_text("SaleID\n2\n")
    sha = hashlib.sha256((landing / "loaded.csv").read_bytes()).hexdigest()
    add_load(url, "/elsewhere/loaded.csv", sha, "succeeded", read=1)
    assert [f["name"] for f in discovery.discover(landing)] == ["new.csv"]
    assert schema_version(url) > 7


def test_dbt_layer_fails_when_dbt_fails(tmp_path, monkeypatch, use_database):

    use_database("postgresql://nobody@127.0.0.1:1/none")
    fake_dbt = tmp_path / "dbt"
    fake_dbt.write_text("#!/bin/sh\necho 'dbt: 1 of 3 FAIL'\nexit 1\n")
    fake_dbt.chmod(0o755)
    monkeypatch.setenv("SALESFLOW_DBT", str(fake_dbt))
    with pytest.raises(RuntimeError, match="staging layer failed \\(exit code 1\\)"):
        dbt.build_layer("staging")


def test_run_hides_the_password_and_stops_its_child_with_the_task(tmp_path, monkeypatch):
    """A task stopped mid-command (execution_timeout raises inside the task) must not leave
    the command running: a load could commit after its task was given up on."""
    import time

    class Stopped(Exception):
        pass

    logged = []

    def info(message, *args):
        logged.append(message % args)
        if "***" in logged[-1]:
            raise Stopped  # what AirflowTaskTimeout does, at this point of the task

    monkeypatch.setattr(process.log, "info", info)
    pid_file = tmp_path / "pid"
    # The secret travels in the environment, as the connection does; the output repeats it.
    command = ["sh", "-c", f'echo $$ > {pid_file}; echo "connecting with $PW"; exec sleep 60']
    started = time.monotonic()
    with pytest.raises(Stopped):
        process.run(command, dict(os.environ, PW="s3cret"), "test", "s3cret")
    assert time.monotonic() - started < 30
    assert not any("s3cret" in line for line in logged), logged
    with pytest.raises(ProcessLookupError):  # terminated and reaped
        os.kill(int(pid_file.read_text()), 0)


def test_one_failing_file_does_not_hold_back_the_others(tmp_path, make_database):
    """A whole DAG run (scripts/airflow-dag-test) with stand-ins for `salesflow ingest` and
    dbt: one file fails for good (exit 2), the other loads; dbt builds, the run fails, nothing
    is published. The ledger's other commands are the real binary's; test_e2e.py runs the
    real thing."""
    url = make_database()
    migrate_ledger(url)
    fake = tmp_path / "salesflow"
    fake.write_text(
        f"#!{sys.executable}\nREAL = {salesflow_bin()!r}\n"
        + textwrap.dedent(
            """
            import hashlib, json, os, sys
            import psycopg
            if sys.argv[1] != "ingest":  # the ledger's commands: the real binary's
                os.execv(REAL, [REAL, *sys.argv[1:]])
            path = sys.argv[2]
            if "bad" in path:
                print("salesflow: usage error", file=sys.stderr)
                sys.exit(2)
            sha = hashlib.sha256(open(path, "rb").read()).hexdigest()
            with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
                load_id = conn.execute(
                    "insert into salesflow.loads (source_path, file_sha256, file_bytes, status,"
                    " rows_read, rows_loaded) values (%s, %s, 1, 'succeeded', 1, 1)"
                    " returning load_id",
                    [path, sha],
                ).fetchone()[0]
            report = sys.argv[sys.argv.index("--report-json") + 1]
            counts = dict(read=1, loaded=1, updated=0, unchanged=0, duplicate=0, rejected=0)
            with open(report, "w") as f:
                json.dump({"files": [{"load_id": load_id, "status": "succeeded",
                                      "counts": counts, "reject_rate": 0.0}]}, f)
            """
        )
    )
    dbt_calls = tmp_path / "dbt-calls"
    fake_dbt = tmp_path / "dbt"
    fake_dbt.write_text(f'#!/bin/sh\necho "$*" >> {dbt_calls}\n')
    for f in (fake, fake_dbt):
        f.chmod(0o755)
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a-good.csv").write_text("SaleID\n1\n")
    (landing / "b-bad.csv").write_text("SaleID\n2\n")

    env = dict(os.environ, DATABASE_URL=url, AIRFLOW_CONN_SALESFLOW_WAREHOUSE=url)
    env.update(SALESFLOW_BIN=str(fake), SALESFLOW_DBT=str(fake_dbt), SALESFLOW_INGEST_RETRIES="0")
    proc = subprocess.run(
        [str(REPO / "scripts" / "airflow-dag-test"), str(landing)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode != 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert last_run_states() == {
        "discover_files": ["success"],
        "ingest": ["success", "failed"],
        "dbt_staging": ["success"],
        "dbt_dimensions": ["success"],
        "dbt_facts_marts": ["success"],
        "quality_gate": ["upstream_failed"],
        "publish_marts": ["upstream_failed"],
        "quality_report": ["success"],
    }, proc.stdout[-8000:] + proc.stderr[-3000:]
    assert len(dbt_calls.read_text().splitlines()) == 3
