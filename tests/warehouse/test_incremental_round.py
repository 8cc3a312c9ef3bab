"""The incremental round: the reference file, a build, then tests/fixtures/warehouse/second-round.csv
(a brand change from 2024-02-29, re-sent sales with a new price and a new date, late sales from
2023, a sale without product id) and an incremental build. Then a full refresh must give the
same fct_sales and sales_monthly."""

import datetime as dt

import pytest
from conftest import FIXTURES, REFERENCE_CSV, differences, money, snapshot

CHANGE = dt.date(2024, 2, 29)  # first sale of the Smartphone under BrandZ


@pytest.fixture(scope="module")
def rounds(warehouse):
    warehouse.ingest(REFERENCE_CSV)
    warehouse.dbt("build")
    first = {
        "keys": dict(
            warehouse.rows(
                "select product_id, product_key from marts.dim_product where product_id is not null"
            )
        ),
    }
    proc = warehouse.ingest(FIXTURES / "second-round.csv")
    first["ingest_output"] = proc.stdout
    warehouse.dbt("build")
    return warehouse, first


def test_loader_saw_the_round_as_designed(rounds):
    wh, _ = rounds
    assert wh.one(
        "select rows_read, rows_loaded, rows_updated, rows_unchanged, rows_rejected "
        "from salesflow.loads where load_id = 2"
    ) == (9, 6, 2, 1, 0)
    assert wh.one(
        "select batch_mode, from_load_id, to_load_id, has_updates from staging.int_sales_batch"
    ) == ("incremental", 1, 2, True)


def test_totals(rounds):
    wh, _ = rounds
    # 1004 + 6 new; 1,753,300.00 - 300.00 (sale 1 re-priced) + 5,600.00 (new sales)
    assert wh.one(
        "select count(*), count(distinct sale_id), sum(line_amount) from marts.fct_sales"
    ) == (1010, 1010, money("1758600.00"))
    assert wh.one("select count(*), sum(price) from raw.sales") == wh.one(
        "select count(*), sum(line_amount) from marts.fct_sales"
    )


def test_brand_change_makes_a_second_version(rounds):
    wh, _ = rounds
    versions = wh.rows(
        "select brand, valid_from, valid_to, is_current, version_number from marts.dim_product "
        "where product_id = 3 order by valid_from"
    )
    assert versions == [
        ("BrandC", dt.date(2024, 1, 29), CHANGE, False, 1),
        ("BrandZ", CHANGE, dt.date(9999, 12, 31), True, 2),
    ]


def test_facts_before_and_after_the_change_point_at_the_right_version(rounds):
    wh, first = rounds
    by_brand = dict(
        wh.rows(
            """
        select p.brand || case when f.sale_date < %s then ' before' else ' after' end, count(*)
        from marts.fct_sales f join marts.dim_product p using (product_key)
        where f.product_id = 3 group by 1""",
            (CHANGE,),
        )
    )
    # every Smartphone fact before the change is BrandC (the reference file's 183), every one
    # from it on BrandZ (the three new sales)
    assert by_brand == {"BrandC before": 183, "BrandZ after": 3}


def test_version_keys_are_stable(rounds):
    wh, first = rounds
    # the first version of each product keeps its key, although late sales moved valid_from
    now = dict(
        wh.rows(
            "select product_id, product_key from marts.dim_product "
            "where product_id is not null and version_number = 1"
        )
    )
    assert now == first["keys"]
    assert wh.one("select valid_from from marts.dim_product where product_id = 1") == dt.date(
        2023, 12, 15
    )


def test_resent_sale_has_its_new_amount_exactly_once(rounds):
    wh, _ = rounds
    assert wh.rows("select line_amount, unit_price from marts.fct_sales where sale_id = 1") == [
        (money("4200.00"), money("1400.0000"))
    ]
    assert wh.one("select load_id from marts.fct_sales where sale_id = 1") == 2


def test_resent_sale_moves_to_its_new_month(rounds):
    wh, _ = rounds
    assert wh.rows("select sale_date, line_amount from marts.fct_sales where sale_id = 4") == [
        (dt.date(2024, 3, 2), money("3000.00"))
    ]


def test_late_sales_are_in_the_fact_and_the_monthly_mart(rounds):
    wh, _ = rounds
    assert wh.rows(
        "select sale_id, sale_date, line_amount from marts.fct_sales where sale_date < '2024-01-01' "
        "order by sale_id"
    ) == [
        (2004, dt.date(2023, 12, 15), money("1500.00")),
        (2005, dt.date(2023, 11, 30), money("600.00")),
    ]
    assert wh.rows(
        "select month, product_id, product_name, channel, quantity, revenue, sales_count "
        "from marts.sales_monthly where month < '2024-01-01' order by month"
    ) == [
        (dt.date(2023, 11, 1), 4, "Desk Chair", "Offline", 2, money("600.00"), 1),
        (dt.date(2023, 12, 1), 1, "Laptop", "Online", 1, money("1500.00"), 1),
    ]
    assert wh.one("select min(date_day) from marts.dim_date") == dt.date(2023, 1, 1)


def test_sale_without_product_id_is_resolved_from_its_name(rounds):
    wh, _ = rounds
    assert wh.one(
        "select product_id, product_id_source from marts.fct_sales where sale_id = 2006"
    ) == (6, "product_name")


def test_sales_monthly_equals_an_aggregation_of_raw(rounds):
    wh, _ = rounds
    # computed straight from raw.sales: names of the product version valid on the sale date,
    # the sale's channel, revenue = sum(price)
    expected = wh.rows("""
        select date_trunc('month', s.sale_date)::date, p.product_id, p.product_name, s.channel,
               sum(s.quantity), sum(s.price), count(*)
        from raw.sales s
        join marts.dim_product p
          on p.product_id = coalesce(s.product_id, case when s.sale_id in (1001) then 5 when s.sale_id = 2006 then 6 end)
         and s.sale_date >= p.valid_from and s.sale_date < p.valid_to
        group by 1, 2, 3, 4 order by 1, 2, 3, 4""")
    actual = wh.rows(
        "select month, product_id, product_name, channel, quantity, revenue, sales_count "
        "from marts.sales_monthly order by 1, 2, 3, 4"
    )
    assert actual == expected
    assert wh.rows(
        "select month, revenue from marts.sales_monthly where product_id = 3 and month = '2024-02-01' "
        "and channel = 'Online' order by product_name"
    )  # both names exist in Feb: one name here


def test_full_refresh_equals_the_incremental_path(rounds):
    wh, _ = rounds
    snapshot(wh, "incremental")
    wh.dbt("build", "--full-refresh")
    assert wh.one("select batch_mode from staging.int_sales_batch") == "full"
    assert wh.one("select count(*) from public.fct_sales_incremental") == 1010
    assert (
        differences(
            wh,
            "public.fct_sales_incremental",
            "(select sale_id, sale_date, product_key, retailer_key, product_id, retailer_id, channel, "
            "quantity, unit_price, line_amount, currency, product_id_source, load_id "
            "from marts.fct_sales)",
        )
        == 0
    )
    assert differences(wh, "public.sales_monthly_incremental", "marts.sales_monthly") == 0


@pytest.fixture(scope="module")
def third_round(rounds):
    wh, _ = rounds
    coffee_maker_march = (
        "select currency, revenue, sales_count from marts.sales_monthly where product_id = 2 "
        "and month = '2024-02-01' and channel = 'Offline' order by currency"
    )
    usd_before = wh.rows(coffee_maker_march)
    wh.ingest(FIXTURES / "third-round.csv")
    wh.dbt("build")
    return wh, usd_before, wh.rows(coffee_maker_march)


def test_amounts_in_another_currency_are_never_added_to_the_feeds(third_round):
    _, usd_before, after = third_round
    assert [currency for currency, _, _ in usd_before] == ["USD"]
    assert after == [("EUR", money("80.00"), 1), *usd_before]


def test_a_repaired_id_is_resolved_again_when_its_name_becomes_ambiguous(third_round):
    wh, _, _ = third_round
    assert wh.one(
        "select product_id, product_key, product_id_source from marts.fct_sales where sale_id = 1001"
    ) == (None, -1, "unresolved")
    assert wh.one(
        "select product_id, product_id_source from marts.fct_sales where sale_id = 3001"
    ) == (9, "feed")
    assert wh.rows(
        "select product_id, product_name, channel, revenue, sales_count from marts.sales_monthly "
        "where month = '2024-02-01' and product_id is null"
    ) == [(None, "Unknown product", "Offline", money("800.00"), 1)]


def test_full_refresh_still_equals_the_incremental_path(third_round):
    wh, _, _ = third_round
    snapshot(wh, "third_round")
    wh.dbt("build", "--full-refresh")
    assert (
        differences(
            wh,
            "public.fct_sales_third_round",
            "(select sale_id, sale_date, product_key, retailer_key, product_id, retailer_id, channel, "
            "quantity, unit_price, line_amount, currency, product_id_source, load_id "
            "from marts.fct_sales)",
        )
        == 0
    )
    assert differences(wh, "public.sales_monthly_third_round", "marts.sales_monthly") == 0
