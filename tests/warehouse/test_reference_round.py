"""The reference feed through the whole pipeline: ingest, then dbt build, then the numbers the
issue fixes (1004 facts, 1,753,300.00, sale 1001 -> Blender, the product dimension)."""

import json

import pytest
from conftest import REFERENCE_CSV, REPO, money


@pytest.fixture(scope="module")
def built(warehouse):
    warehouse.ingest(REFERENCE_CSV)
    warehouse.dbt("build")
    return warehouse


def test_fact_has_every_loaded_sale_once(built):
    assert built.one("select count(*), count(distinct sale_id) from marts.fct_sales") == (
        1004,
        1004,
    )


def test_revenue_is_the_sum_of_line_amounts(built):
    assert built.one("select sum(line_amount) from marts.fct_sales") == money("1753300.00")
    # the feed's Price is the line amount: revenue is never price * quantity
    assert built.one("select sum(price) from raw.sales") == money("1753300.00")
    assert built.one("select sum(price * quantity) from raw.sales") != money("1753300.00")
    assert built.one("select sum(revenue) from marts.sales_monthly") == money("1753300.00")


def test_fact_reconciles_with_raw(built):
    assert built.one("select count(*), sum(price) from raw.sales") == built.one(
        "select count(*), sum(line_amount) from marts.fct_sales"
    )


def test_unit_price_is_line_amount_over_quantity(built):
    # sale 1: 3 laptops for 4500.00 (the feed's Price is the line amount)
    assert built.one(
        "select quantity, unit_price, line_amount from marts.fct_sales where sale_id = 1"
    ) == (3, money("1500.0000"), money("4500.00"))


def test_sale_1001_is_resolved_to_the_blender_from_its_name(built):
    row = built.one("""
        select f.product_id, f.product_id_source, p.product_id, p.product_name, p.brand
        from marts.fct_sales f join marts.dim_product p using (product_key)
        where f.sale_id = 1001""")
    assert row == (5, "product_name", 5, "Blender", "BrandE")
    # the raw layer keeps what the feed said
    assert built.one("select product_id, dq_flags from raw.sales where sale_id = 1001") == (
        None,
        ["product_id:missing"],
    )


def test_dim_product_has_the_sold_products_and_the_unknown_member(built):
    products = built.rows(
        "select product_id, product_name, brand, is_current from marts.dim_product "
        "where product_key <> -1 order by product_id"
    )
    assert products == [
        (1, "Laptop", "BrandA", True),
        (2, "Coffee Maker", "BrandB", True),
        (3, "Smartphone", "BrandC", True),
        (4, "Desk Chair", "BrandD", True),
        (5, "Blender", "BrandE", True),
        (6, "Desk Lamp", "BrandF", True),
        (7, "Office Desk", "BrandG", True),
        (8, "Coffee Machine", "BrandH", True),
    ]
    assert built.one(
        "select product_id, product_name from marts.dim_product where product_key = -1"
    ) == (None, "Unknown product")
    # Product 7 (Office Desk) is in the feed only on sale 1003, which the loader rejects
    # (quantity -1). The reject keeps its valid fields, so the product exists from that date
    # on, with no sales.
    assert built.one("select count(*) from raw.sales where product_id = 7") == 0
    assert built.one(
        "select valid_from::text, valid_to::text from marts.dim_product where product_id = 7"
    ) == ("2024-03-05", "9999-12-31")
    assert (
        built.one(
            "select count(*) from marts.fct_sales f join marts.dim_product p"
            " using (product_key) where p.product_id = 7"
        )
        == 0
    )


def test_every_fact_points_at_a_version_valid_on_its_date(built):
    assert (
        built.one("""
        select count(*) from marts.fct_sales f
        join marts.dim_product p using (product_key)
        join marts.dim_retailer r using (retailer_key)
        where f.sale_date >= p.valid_from and f.sale_date < p.valid_to
          and f.sale_date >= r.valid_from and f.sale_date < r.valid_to
          and p.product_id = f.product_id and r.retailer_id = f.retailer_id""")
        == 1004
    )


def test_repaired_rows(built):
    # 1002: "100USD" -> 100.00 USD, location "None" -> NULL; 1005: 2024/02/28 -> 2024-02-28
    assert built.one("select line_amount, currency from marts.fct_sales where sale_id = 1002") == (
        money("100.00"),
        "USD",
    )
    assert built.one("select location from marts.dim_retailer where retailer_id = 1") is None
    assert (
        str(built.one("select sale_date from marts.fct_sales where sale_id = 1005")) == "2024-02-28"
    )


def test_sales_monthly_matches_the_fact(built):
    assert built.rows("""
        select date_trunc('month', f.sale_date)::date, f.product_id, f.channel,
               sum(f.quantity), sum(f.line_amount), count(*)
        from marts.fct_sales f group by 1, 2, 3 order by 1, 2, 3""") == built.rows(
        "select month, product_id, channel, quantity, revenue, sales_count "
        "from marts.sales_monthly order by 1, 2, 3"
    )


def test_dim_date_covers_the_sales(built):
    assert built.one("select min(date_day), max(date_day), count(*) from marts.dim_date")[2] == 366
    assert (
        built.one(
            "select count(*) from marts.fct_sales f left join marts.dim_date d "
            "on d.date_day = f.sale_date where d.date_day is null"
        )
        == 0
    )


def test_models_land_in_staging_and_marts(built):
    schemas = built.rows(
        "select distinct table_schema from information_schema.tables "
        "where table_schema not in ('pg_catalog', 'information_schema', 'raw', 'salesflow', 'public') "
        "order by 1"
    )
    assert schemas == [("marts",), ("staging",)]
    assert {
        r[0]
        for r in built.rows(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        )
    } == {"dim_product", "dim_retailer", "dim_date", "fct_sales", "sales_monthly"}


def test_second_build_without_new_loads_changes_nothing(built):
    before = built.one("select max(dbt_updated_at), count(*) from marts.fct_sales")
    keys = built.rows(
        "select product_key, product_id, valid_from from marts.dim_product order by 1"
    )
    built.dbt("build")
    assert built.one("select max(dbt_updated_at), count(*) from marts.fct_sales") == before
    assert (
        built.rows("select product_key, product_id, valid_from from marts.dim_product order by 1")
        == keys
    )
    assert built.one(
        "select batch_mode, from_load_id, to_load_id from staging.int_sales_batch"
    ) == ("incremental", 1, 1)


def test_full_refresh_rebuilds_the_same_keys(built):
    keys = built.rows(
        "select product_key, product_id, product_name, brand, category, valid_from, valid_to "
        "from marts.dim_product order by 1"
    )
    built.dbt("build", "--full-refresh")
    assert (
        built.rows(
            "select product_key, product_id, product_name, brand, category, valid_from, valid_to "
            "from marts.dim_product order by 1"
        )
        == keys
    )
    assert built.one("select batch_mode from staging.int_sales_batch") == "full"


def test_docs_generate_and_every_model_and_column_is_described(built):
    proc = built.dbt("docs", "generate")
    assert "Catalog written" in proc.stdout
    target = REPO / "dbt" / "target"
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    missing = []
    for uid, node in manifest["nodes"].items():
        if node["resource_type"] != "model" or node["package_name"] != "salesflow":
            continue
        if not node["description"].strip():
            missing.append(f"{node['name']}: no description")
        documented = {name for name, col in node["columns"].items() if col["description"].strip()}
        built_columns = {name.lower() for name in catalog["nodes"][uid]["columns"]}
        missing += [
            f"{node['name']}.{c}: no description" for c in sorted(built_columns - documented)
        ]
    for uid, source in manifest["sources"].items():
        if not source["description"].strip():
            missing.append(f"{uid}: no description")
    assert missing == []
