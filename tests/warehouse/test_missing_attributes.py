"""Sales that lack an attribute (a blank brand, an Offline sale without its location) are no
new SCD2 version: the reference file, a build, tests/fixtures/warehouse/blank-attributes.csv
and an incremental build, then a full refresh that must give the same warehouse."""

import datetime as dt

import pytest
from conftest import FIXTURES, REFERENCE_CSV, differences, snapshot

DIMENSIONS = ("dim_product", "dim_retailer")


@pytest.fixture(scope="module")
def built(warehouse):
    warehouse.ingest(REFERENCE_CSV)
    warehouse.dbt("build")
    before = {
        dim: warehouse.rows(f"select * from marts.{dim} where {dim[4:]}_id in (1, 2, 3) order by 1")
        for dim in DIMENSIONS
    }
    warehouse.ingest(FIXTURES / "blank-attributes.csv")
    warehouse.dbt("build")
    return warehouse, before


def test_a_blank_attribute_opens_no_version(built):
    wh, before = built
    for dim in DIMENSIONS:
        after = wh.rows(f"select * from marts.{dim} where {dim[4:]}_id in (1, 2, 3) order by 1")
        assert after == before[dim], dim
    assert wh.one("select count(*) from marts.dim_product where product_id = 1") == 1


def test_sales_that_lack_an_attribute_point_at_the_version_of_their_date(built):
    wh, _ = built
    laptop = wh.one("select product_key from marts.dim_product where product_id = 1")
    new_york = wh.one("select retailer_key from marts.dim_retailer where retailer_id = 2")
    assert wh.one("select product_key, retailer_key from marts.fct_sales where sale_id = 2001") == (
        laptop,
        new_york,
    )
    # Every Laptop sale, the 168 after 2024-02-01 included, is on the one Laptop version.
    assert wh.one(
        "select count(*), count(distinct product_key) from marts.fct_sales where product_id = 1"
    ) == (205, 1)


def test_a_member_first_seen_without_an_attribute_starts_at_that_sale(built):
    wh, _ = built
    assert wh.rows(
        "select product_name, brand, valid_from, is_current from marts.dim_product "
        "where product_id = 20"
    ) == [("Gizmo", "GZ", dt.date(2024, 2, 10), True)]
    assert wh.one(
        "select count(distinct f.product_key), min(d.brand) from marts.fct_sales as f "
        "join marts.dim_product as d using (product_key) where f.sale_id in (2002, 2003)"
    ) == (1, "GZ")


def test_a_member_never_seen_complete_keeps_its_blank(built):
    wh, _ = built
    assert wh.rows(
        "select product_name, brand, category from marts.dim_product where product_id = 21"
    ) == [("Widget", None, "Gadgets")]


def test_a_rejected_sale_without_attributes_opens_no_version(built):
    wh, _ = built
    assert wh.one("select count(*) from raw.sales_rejects where sale_id = 2005") == 1
    assert wh.one("select count(*) from marts.dim_retailer where retailer_id = 3") == 1


def test_full_refresh_equals_the_incremental_path(built):
    wh, _ = built
    snapshot(wh, "blank_attributes")
    dims = {dim: wh.rows(f"select * from marts.{dim} order by 1") for dim in DIMENSIONS}
    wh.dbt("build", "--full-refresh")
    for dim in DIMENSIONS:
        assert wh.rows(f"select * from marts.{dim} order by 1") == dims[dim], dim
    assert (
        differences(
            wh,
            "public.fct_sales_blank_attributes",
            "(select sale_id, sale_date, product_key, retailer_key, product_id, retailer_id, "
            "channel, quantity, unit_price, line_amount, currency, product_id_source, load_id "
            "from marts.fct_sales)",
        )
        == 0
    )
    assert differences(wh, "public.sales_monthly_blank_attributes", "marts.sales_monthly") == 0
