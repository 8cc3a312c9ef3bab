"""A replay reaches the marts: rows quarantined for a date format the contract lacked are
replayed under a contract that has it, and the next incremental build takes them in (they carry
the replay's load id), one of them replacing a version an earlier file stored. fct_sales then
reconciles to the cent with raw.sales, as a full refresh does."""

import subprocess
from pathlib import Path

import pytest
from conftest import REPO, _salesflow_bin, money

HEADER = (
    "SaleID,ProductID,ProductName,Brand,Category,RetailerID,RetailerName,Channel,Location,"
    "Quantity,Price,Date"
)


def sale(sale_id: int, quantity: int, price: str, date: str) -> str:
    return f"{sale_id},1,Laptop,BrandA,Electronics,1,TechGear,Online,,{quantity},{price},{date}"


def write(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "\n" + "\n".join(lines) + "\n")
    return path


def reconciles(wh) -> None:
    assert wh.one("select count(*), sum(price) from raw.sales") == wh.one(
        "select count(*), sum(line_amount) from marts.fct_sales"
    )
    assert (
        wh.one(
            "select count(*) from raw.sales s join marts.fct_sales f using (sale_id) "
            "where (s.price, s.sale_date, s.load_id) <> (f.line_amount, f.sale_date, f.load_id)"
        )
        == 0
    )


@pytest.fixture(scope="module")
def replayed(warehouse, tmp_path_factory):
    wh = warehouse
    tmp = tmp_path_factory.mktemp("replay")
    wh.ingest(
        write(
            tmp / "first.csv",
            [sale(1, 1, "100.00", "2024-03-01"), sale(2, 1, "200.00", "2024-03-02")],
        )
    )
    # Sale 2 again with a new price, and sale 3 new, both dated day first: rejected.
    wh.ingest(
        write(
            tmp / "second.csv",
            [
                sale(2, 2, "222.22", "02.03.2024"),
                sale(3, 3, "333.33", "03.04.2024"),
                sale(4, 1, "44.00", "2024-03-04"),
            ],
        )
    )
    wh.dbt("build")
    text = (REPO / "contracts" / "sales.toml").read_text()
    fixed = text.replace('formats = ["%Y-%m-%d", ', 'formats = ["%Y-%m-%d", "%d.%m.%Y", ', 1)
    assert fixed != text
    contract = tmp / "fixed.toml"
    contract.write_text(fixed)
    proc = subprocess.run(
        [str(_salesflow_bin()), "replay", "2", "--contract", str(contract)],
        env=wh.env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"salesflow replay failed:\n{proc.stdout}\n{proc.stderr}"
    wh.dbt("build")
    return wh


def test_the_replay_is_a_load_with_its_counts(replayed):
    assert replayed.one(
        "select kind, replays, rows_read, rows_loaded, rows_updated, rows_superseded, "
        "rows_rejected from salesflow.loads where load_id = 3"
    ) == ("replay", [2], 2, 1, 1, 0, 0)


def test_the_incremental_build_takes_the_replayed_rows_in(replayed):
    wh = replayed
    assert wh.one(
        "select batch_mode, from_load_id, to_load_id, has_updates from staging.int_sales_batch"
    ) == ("incremental", 2, 3, True)
    assert wh.rows(
        "select sale_id, line_amount, load_id from marts.fct_sales order by sale_id"
    ) == [
        (1, money("100.00"), 1),
        (2, money("222.22"), 3),
        (3, money("333.33"), 3),
        (4, money("44.00"), 2),
    ]
    reconciles(wh)


def test_a_full_refresh_gives_the_same_fact(replayed):
    wh = replayed
    before = wh.rows(
        "select sale_id, line_amount, sale_date, load_id from marts.fct_sales order by 1"
    )
    wh.dbt("build", "--full-refresh")
    after = wh.rows(
        "select sale_id, line_amount, sale_date, load_id from marts.fct_sales order by 1"
    )
    assert after == before
    reconciles(wh)
