"""End to end: the whole DAG, in-process (scripts/airflow-dag-test -> `airflow dags test`), with
the real salesflow binary and the real dbt project, against a fresh database on the server of
DATABASE_URL. The runs build on each other and run in file order:

1. landing = the reference CSV + a second file -> both loaded, marts built, Asset published;
2. no new file -> nothing hashed, nothing ingested, nothing rebuilt, the run succeeds;
3. a file with 30 % rejects -> loaded and built, the quality gate fails the run, the Asset is
   not published, and the warehouse stays consistent with raw.sales;
4. a clean file -> its run fails at the gate on the unaccepted load of run 3; once an operator
   accepts that load, the next run publishes both;
5. a file that is not a sales feed -> its ingest fails; the next run fails again on it, held,
   without reading it or adding a failed load to the ledger.

The binary is built with `cargo build --release` when missing. Set SALESFLOW_SKIP_E2E=1 to skip
these tests while developing (the README's test command never sets it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import REPO, airflow_db, create_database, drop_database, last_run_states

pytestmark = pytest.mark.skipif(
    os.environ.get("SALESFLOW_SKIP_E2E") == "1", reason="SALESFLOW_SKIP_E2E=1"
)

REFERENCE = REPO / "data" / "generated-sales-data.csv"
REFERENCE_ROWS_READ, REFERENCE_ROWS_LOADED, REFERENCE_REJECTED = 1005, 1004, 1
REFERENCE_REVENUE = Decimal("1753300.00")
# The DAG's tasks, in the order the data flows through them.
TASKS = (
    "discover_files",
    "ingest",
    "dbt_staging",
    "dbt_dimensions",
    "dbt_facts_marts",
    "quality_gate",
    "publish_marts",
    "quality_report",
)
HEADER = "SaleID,ProductID,ProductName,Brand,Category,RetailerID,RetailerName,Channel,Location,Quantity,Price,Date"
PRODUCTS = [  # id, name, brand, category, unit price: as in the reference feed
    (1, "Laptop", "BrandA", "Electronics", 1500),
    (2, "Coffee Maker", "BrandB", "Appliances", 100),
    (3, "Smartphone", "BrandC", "Electronics", 800),
    (4, "Desk Chair", "BrandD", "Furniture", 300),
    (5, "Blender", "BrandE", "Appliances", 200),
]
RETAILERS = [
    (1, "TechGear", "Online", ""),
    (2, "HomeEssentials", "Offline", "New York"),
    (3, "GadgetWorld", "Offline", "San Francisco"),
]


def second_file() -> tuple[str, int, Decimal]:
    """20 new sales (ids 5001-5020): March 2024, plus three late ones from December 2023."""
    lines, revenue = [HEADER], Decimal(0)
    for i in range(20):
        pid, name, brand, category, unit = PRODUCTS[i % len(PRODUCTS)]
        rid, rname, channel, location = RETAILERS[i % len(RETAILERS)]
        qty = 1 + i % 4
        date = f"2023-12-{15 + i}" if i < 3 else f"2024-03-{1 + i:02d}"
        lines.append(
            f"{5001 + i},{pid},{name},{brand},{category},{rid},{rname},{channel},{location},{qty},{unit * qty},{date}"
        )
        revenue += unit * qty
    return "\n".join(lines) + "\n", 20, revenue


def bad_file() -> tuple[str, int, int, Decimal]:
    """10 sales (ids 6001-6010), 3 of them rejected by the default rules: 30 % > 5 %."""
    lines, revenue = [HEADER], Decimal(0)
    for i in range(10):
        pid, name, brand, category, unit = PRODUCTS[i % len(PRODUCTS)]
        rid, rname, channel, location = RETAILERS[i % len(RETAILERS)]
        qty = 2
        if i == 3:
            qty = 0  # quantity <= 0: reject
        elif i == 5:
            qty = -2  # negative quantity: reject
        elif i == 7:
            channel = "Phone"  # not Online/Offline: reject
        else:
            revenue += unit * qty
        lines.append(
            f"{6001 + i},{pid},{name},{brand},{category},{rid},{rname},{channel},{location},{qty},{unit * abs(qty)},2024-03-20"
        )
    return "\n".join(lines) + "\n", 10, 3, revenue


@pytest.fixture(scope="module")
def binary() -> Path:
    path = Path(os.environ.get("SALESFLOW_BIN") or REPO / "target" / "release" / "salesflow")
    if not os.access(path, os.X_OK):
        if path != REPO / "target" / "release" / "salesflow":
            pytest.fail(f"SALESFLOW_BIN={path} is not an executable")
        subprocess.run(
            ["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True, timeout=1200
        )
    return path


@pytest.fixture(scope="module")
def warehouse(server_url):
    name, url = create_database(server_url)
    yield url
    drop_database(server_url, name)


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("landing")
    shutil.copy(REFERENCE, path / "generated-sales-data.csv")
    (path / "sales-2024-03.csv").write_text(second_file()[0])
    return path


@pytest.fixture(scope="module")
def run_dag(binary, warehouse, tmp_path_factory):
    """Runs scripts/airflow-dag-test on a landing dir; returns (exit code, output, task states)."""
    dbt_dirs = tmp_path_factory.mktemp("dbt")

    def run(landing_dir: Path, **settings: str):
        env = dict(os.environ)
        env.update(
            DATABASE_URL=warehouse,
            AIRFLOW_CONN_SALESFLOW_WAREHOUSE=warehouse,
            SALESFLOW_BIN=str(binary),
            SALESFLOW_INGEST_RETRIES="1",  # a failing load should not make the test wait minutes
            SALESFLOW_INGEST_RETRY_DELAY_SECONDS="5",
            SALESFLOW_DBT_RETRIES="0",
            # dbt's target/ and logs/ of this test only: other dbt runs on the same checkout
            # (a developer, another suite) must not share its partial-parse state and manifest
            DBT_TARGET_PATH=str(dbt_dirs / "target"),
            DBT_LOG_PATH=str(dbt_dirs / "logs"),
        )
        env.pop("SALESFLOW_LANDING_DIR", None)
        env.update(settings)
        started = time.monotonic()
        proc = subprocess.run(
            [str(REPO / "scripts" / "airflow-dag-test"), str(landing_dir)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        output = proc.stdout + proc.stderr
        print(output)
        print(f"airflow-dag-test exit {proc.returncode} in {time.monotonic() - started:.1f} s")
        return proc.returncode, output, last_run_states()

    return run


def asset_events() -> list[str]:
    if not (Path(os.environ["AIRFLOW_HOME"]) / "airflow.db").exists():
        return []  # first use: scripts/airflow-dag-test has not set AIRFLOW_HOME up yet
    with airflow_db() as db:
        return [
            r[0]
            for r in db.execute(
                "select e.extra from asset_event e join asset a on a.id = e.asset_id"
                " where a.name = 'salesflow_marts' order by e.id"
            )
        ]


def query(url: str, sql: str, *params):
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def ledger(url: str):
    return query(
        url,
        "select source_path, status, rows_read, rows_loaded, rows_rejected, load_id"
        " from salesflow.loads order by load_id",
    )


def warehouse_totals(url: str):
    """(raw rows, raw revenue, fact rows, fact revenue, monthly revenue)."""
    return query(
        url,
        """
        select (select count(*) from raw.sales), (select sum(price) from raw.sales),
               (select count(*) from marts.fct_sales), (select sum(line_amount) from marts.fct_sales),
               (select sum(revenue) from marts.sales_monthly)""",
    )[0]


def tail(output: str, n: int = 4000) -> str:
    """For assertion messages: the lines that say what failed (dbt FAIL/ERROR, exceptions),
    then the end of the output. The whole output is printed (pytest shows it on failure)."""
    keys = ("FAIL", "ERROR", "Error:", "Exception:", "exit code", "Database Error")
    important = [line[-300:] for line in output.splitlines() if any(k in line for k in keys)]
    return "\n".join(important[-40:]) + "\n...\n" + output[-n:]


def test_first_run_loads_both_files_and_publishes_the_marts(run_dag, landing, warehouse):
    events_before = len(asset_events())
    rc, output, states = run_dag(landing)
    assert rc == 0, tail(output)
    assert states == {
        "discover_files": ["success"],
        "ingest": ["success", "success"],
        "dbt_staging": ["success"],
        "dbt_dimensions": ["success"],
        "dbt_facts_marts": ["success"],
        "quality_gate": ["success"],
        "publish_marts": ["success"],
        "quality_report": ["success"],
    }, tail(output)

    _, second_rows, second_revenue = second_file()
    loads = ledger(warehouse)
    # the two mapped ingest tasks may run in either order, and load ids follow that order
    assert sorted((Path(p).name, s, read, loaded, rej) for p, s, read, loaded, rej, _ in loads) == [
        (
            "generated-sales-data.csv",
            "succeeded",
            REFERENCE_ROWS_READ,
            REFERENCE_ROWS_LOADED,
            REFERENCE_REJECTED,
        ),
        ("sales-2024-03.csv", "succeeded", second_rows, second_rows, 0),
    ]
    rows = REFERENCE_ROWS_LOADED + second_rows
    revenue = REFERENCE_REVENUE + second_revenue
    assert warehouse_totals(warehouse) == (rows, revenue, rows, revenue, revenue)
    # the late sales (December 2023, before anything else) reached the fact and the monthly mart
    assert query(
        warehouse, "select count(*) from marts.fct_sales where sale_date < '2024-01-01'"
    ) == [(3,)]
    assert query(
        warehouse, "select count(*) > 0 from marts.sales_monthly where month::text < '2024'"
    ) == [(True,)]
    assert query(warehouse, "select count(*) from raw.sales_rejects") == [(REFERENCE_REJECTED,)]

    events = asset_events()
    assert len(events) == events_before + 1
    assert all(str(load_id) in events[-1] for *_, load_id in loads)


def test_second_run_without_new_files_does_nothing(run_dag, landing, warehouse):
    loads_before, totals_before, events_before = (
        ledger(warehouse),
        warehouse_totals(warehouse),
        asset_events(),
    )
    rc, output, states = run_dag(landing)
    assert rc == 0, tail(output)
    assert states["discover_files"] == ["success"]
    # Nothing to load, build or judge; the report is written after every run.
    assert states == {
        **{task: ["skipped"] for task in TASKS},
        "discover_files": ["success"],
        "quality_report": ["success"],
    }, tail(output)
    assert ledger(warehouse) == loads_before  # not even a "skipped" ledger row: nothing was run
    # Both files were recognised by path, size and modification time, without being read.
    assert output.count("already loaded, unchanged since") == 2, tail(output)
    assert warehouse_totals(warehouse) == totals_before
    assert asset_events() == events_before


def test_file_over_reject_threshold_fails_at_the_gate_and_keeps_the_warehouse_consistent(
    run_dag, landing, warehouse
):
    content, read, rejected, good_revenue = bad_file()
    (landing / "sales-bad.csv").write_text(content)
    rows_before, revenue_before, *_ = warehouse_totals(warehouse)
    events_before = asset_events()

    rc, output, states = run_dag(landing)
    assert rc != 0, tail(output)
    assert states == {
        "discover_files": ["success"],
        "ingest": ["success"],
        "dbt_staging": ["success"],
        "dbt_dimensions": ["success"],
        "dbt_facts_marts": ["success"],
        "quality_gate": ["failed"],
        "publish_marts": ["upstream_failed"],
        "quality_report": ["success"],
    }, tail(output)
    assert "quality gate: reject rate over 5%" in output and "sales-bad.csv" in output

    path, status, rows_read, rows_loaded, rows_rejected, load_id = ledger(warehouse)[-1]
    assert (Path(path).name, status, rows_read, rows_loaded, rows_rejected) == (
        "sales-bad.csv",
        "succeeded",
        read,
        read - rejected,
        rejected,
    )
    assert query(
        warehouse, "select count(*) from raw.sales_rejects where load_id = %s", load_id
    ) == [(rejected,)]
    # consistent: the good rows are in raw and in the marts, the rejects in neither; the
    # marts were rebuilt but not published
    rows, revenue = rows_before + read - rejected, revenue_before + good_revenue
    assert warehouse_totals(warehouse) == (rows, revenue, rows, revenue, revenue)
    assert query(
        warehouse, "select count(*) from marts.fct_sales where sale_id between 6001 and 6010"
    ) == [(7,)]
    assert asset_events() == events_before


def small_file(first_sale_id: int) -> str:
    """Two clean sales, from `first_sale_id` on."""
    pid, name, brand, category, unit = PRODUCTS[0]
    rid, rname, channel, location = RETAILERS[0]
    return (
        "\n".join(
            [HEADER]
            + [
                f"{sale_id},{pid},{name},{brand},{category},{rid},{rname},{channel},{location},1,{unit},2024-04-02"
                for sale_id in (first_sale_id, first_sale_id + 1)
            ]
        )
        + "\n"
    )


def test_a_load_that_failed_the_gate_is_published_only_with_a_standing_acceptance(
    run_dag, landing, warehouse, binary
):
    events_before = asset_events()
    bad_load_id = ledger(warehouse)[-1][-1]

    # A clean file arrives: its run judges the earlier run's breach again instead of publishing it.
    (landing / "sales-2024-04a.csv").write_text(small_file(7001))
    rc, output, states = run_dag(landing)
    assert rc != 0, tail(output)
    assert (states["ingest"], states["quality_gate"]) == (["success"], ["failed"]), tail(output)
    assert f"sales-bad.csv (load {bad_load_id})" in output
    assert "salesflow accept LOAD_ID" in output
    assert asset_events() == events_before

    def salesflow(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [binary, *args],
            env={**os.environ, "DATABASE_URL": warehouse},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done

    # An operator looks at the load's rejects, accepts it with the binary, then thinks better
    # of it and revokes the acceptance: the next run's gate holds the load back again.
    rejects = salesflow("rejects", str(bad_load_id), "--json")
    rejected_lines = [row["source_line"] for row in json.loads(rejects.stdout)["rejects"]]
    assert rejected_lines == [
        line
        for (line,) in query(
            warehouse,
            "select source_line from raw.sales_rejects where load_id = %s order by 1",
            bad_load_id,
        )
    ]
    accepted = salesflow("accept", str(bad_load_id), "--reason", "rejects reviewed", "--by", "e2e")
    assert f"load {bad_load_id} (" in accepted.stdout and "accepted by e2e" in accepted.stdout
    revoked = salesflow(
        "accept", str(bad_load_id), "--revoke", "--reason", "wrong load", "--by", "e2e"
    )
    assert "is revoked by e2e" in revoked.stdout
    (landing / "sales-2024-04b.csv").write_text(small_file(7101))
    rc, output, states = run_dag(landing)
    assert rc != 0, tail(output)
    assert states["quality_gate"] == ["failed"], tail(output)
    assert f"sales-bad.csv (load {bad_load_id})" in output
    assert asset_events() == events_before

    # Accepted again (after a look at the rejects): the next run publishes every load since
    # the last publication at the usual threshold, the bad one included, and says which loads
    # were published by acceptance.
    salesflow("accept", str(bad_load_id), "--reason", "rejects reviewed again", "--by", "e2e")
    (landing / "sales-2024-04c.csv").write_text(small_file(7201))
    rc, output, states = run_dag(landing)
    assert rc == 0, tail(output)
    assert states["publish_marts"] == ["success"], tail(output)
    events = asset_events()
    assert len(events) == len(events_before) + 1
    last_load_id = ledger(warehouse)[-1][-1]
    published = json.loads(events[-1])
    assert published["through_load_id"] == last_load_id
    assert bad_load_id in published["load_ids"]
    assert published["accepted_load_ids"] == [bad_load_id]
    assert query(warehouse, "select max(through_load_id) from salesflow.publications") == [
        (last_load_id,)
    ]


def test_an_invalid_file_fails_its_run_and_is_held_until_it_changes(run_dag, landing, warehouse):
    events_before = asset_events()
    invalid = landing / "sales-invalid.csv"
    invalid.write_text("Sale,Product\n1,2\n")  # not the feed's header

    rc, output, states = run_dag(landing)
    assert rc != 0 and states["ingest"] == ["failed"], tail(output)
    assert "data-quality failure (exit 3)" in output, tail(output)
    failed = query(
        warehouse,
        "select load_id, status, failure from salesflow.loads where source_path = %s",
        str(invalid.resolve()),
    )
    assert [row[1:] for row in failed] == [("failed", "invalid_file")]

    # The next run fails again and says why, without reading the file or adding to the ledger.
    loads_before = ledger(warehouse)
    rc, output, states = run_dag(landing)
    assert rc != 0 and states["ingest"] == ["failed"], tail(output)
    assert f"sales-invalid.csv: held, not loaded again: load {failed[0][0]}" in output
    assert "header lacks the contract's column(s)" in output, tail(output)
    assert ledger(warehouse) == loads_before
    assert asset_events() == events_before
    invalid.unlink()  # removed: later runs do not see it


def european_file() -> tuple[bytes, int, Decimal]:
    """12 sales (ids 8001-8012) as a European vendor exports them: Windows-1252, `;` between
    fields, decimal commas with thousands dots, day-first dates."""
    lines, revenue = [HEADER.replace(",", ";")], Decimal(0)
    for i in range(12):
        qty = 1 + i % 3
        price = f"{1500 * qty:,}.00".replace(",", " ").replace(".", ",").replace(" ", ".")
        lines.append(
            f"{8001 + i};6;Café Maker;BrandB;Appliances;2;HomeEssentials;Offline;New York;"
            f"{qty};{price};{13 + i}.05.2024"
        )
        revenue += 1500 * qty
    return ("\n".join(lines) + "\n").encode("cp1252"), 12, revenue


def test_each_feed_is_loaded_under_its_own_contract(run_dag, landing, warehouse, binary, tmp_path):
    """Two feeds in folders of the landing directory: one with the contract `salesflow sniff`
    proposed for it, one whose contract is broken. The broken feed's file fails its task and
    the run; the other feed loads, with its values read as its contract says."""
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (landing / "acme").mkdir()
    (landing / "zeta").mkdir()
    content, rows, revenue = european_file()
    acme_file = landing / "acme" / "acme-2024-05.csv"
    acme_file.write_bytes(content)
    (landing / "zeta" / "zeta-2024-05.csv").write_text(small_file(8101))
    sniffed = subprocess.run(
        [binary, "sniff", str(acme_file)], capture_output=True, timeout=60, check=True
    )
    (contracts / "acme.toml").write_bytes(sniffed.stdout)
    (contracts / "zeta.toml").write_text("[format]\ndelimiter = 'too long'\n")

    rc, output, states = run_dag(landing, SALESFLOW_CONTRACTS_DIR=str(contracts))
    assert rc != 0, tail(output)
    assert sorted(states["ingest"]) == ["failed", "success"], tail(output)
    assert "zeta-2024-05.csv: not loaded: the contract of feed zeta" in output, tail(output)
    assert states["quality_gate"] == ["upstream_failed"], tail(output)
    [(feed, contract_sha256, read, loaded)] = query(
        warehouse,
        "select feed, contract_sha256, rows_read, rows_loaded from salesflow.loads"
        " where source_path = %s",
        str(acme_file.resolve()),
    )
    assert (feed, read, loaded) == ("acme", rows, rows)
    assert contract_sha256 == hashlib.sha256(sniffed.stdout).hexdigest()
    assert query(
        warehouse,
        "select min(product_name), min(sale_date)::text, sum(price) from raw.sales"
        " where sale_id between 8001 and 8012",
    ) == [("Café Maker", "2024-05-13", revenue)]
    assert query(
        warehouse,
        "select sum(line_amount) from marts.fct_sales where sale_id between 8001 and 8012",
    ) == [(revenue,)]

    # The contract fixed (removed: the built-in contract judges the feed): the file loads.
    (contracts / "zeta.toml").unlink()
    rc, output, states = run_dag(landing, SALESFLOW_CONTRACTS_DIR=str(contracts))
    assert rc == 0 and states["ingest"] == ["success"], tail(output)
    assert query(warehouse, "select feed from salesflow.loads order by load_id desc limit 1") == [
        ("zeta",)
    ]


def test_dbt_layers_cover_every_node_exactly_once(tmp_path):
    """The DAG's three `dbt build` layers, as dbt itself selects them, together build every
    model and run every data test of the dbt project, each once (a model added in a new
    folder, or a snapshot, would otherwise be silently left out of the pipeline). Unit tests
    are left to the test suite, in every layer."""
    from salesflow_pipeline import dbt as dbt_steps

    dbt = os.environ.get("SALESFLOW_DBT") or str(REPO / "scripts" / "dbt")
    env = {
        **os.environ,
        "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgresql://localhost/unused",
    }

    def ls(*selection: str) -> set[str]:
        # one after the other on one target path: the first parses, the others reuse it
        cmd = [
            dbt,
            "ls",
            "--quiet",
            "--resource-type",
            "all",
            "--output",
            "json",
            "--output-keys",
            "unique_id resource_type",
            "--target-path",
            str(tmp_path / "target"),
            *selection,
        ]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{cmd}: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        return {r["unique_id"] for r in rows if r["resource_type"] not in ("source", "exposure")}

    everything = ls("--exclude-resource-type", "unit_test")
    layers = []
    for select, exclude in dbt_steps.LAYERS.values():
        args = ["--select", *select.split()] + (["--exclude", *exclude.split()] if exclude else [])
        layers.append(ls(*args, *dbt_steps.BUILD_FLAGS))
    assert everything, "dbt ls listed nothing"
    assert not any(node.startswith("unit_test.") for node in everything)
    assert any(node.startswith("model.") for node in everything)
    missing = everything - set().union(*layers)
    assert not missing, f"in no layer of the DAG: {sorted(missing)}"
    assert sum(len(layer) for layer in layers) == len(everything), "a node is built by two layers"
