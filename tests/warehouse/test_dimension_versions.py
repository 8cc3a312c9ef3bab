"""The SCD2 dimensions' versions (tests/fixtures/warehouse/README.md): the reference file and a
build, then incremental builds after blank-attributes.csv (sales that lack an attribute open no
version), comebacks.csv (attributes that come back open a version each time),
late-comeback.csv (a late sale splits a run) and rejected-evidence.csv (quarantined rows do not
decide the versions of a member with sales); then a full refresh must give the same
warehouse."""

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


D = dt.date
END = dt.date(9999, 12, 31)
# Sales whose own attributes differ from those of the version they point at: a fact must
# point at a version of its own attributes, unless its day belongs to other attributes (two
# combinations on one day: sale 4007) or the sale lacks an attribute.
MISMATCHED_FACTS = """
    select f.sale_id
    from marts.fct_sales as f
    join raw.sales as s using (sale_id)
    join marts.dim_product as p using (product_key)
    join marts.dim_retailer as r using (retailer_key)
    where f.product_id_source = 'feed' and s.brand is not null
      and ((s.product_name, s.brand, s.category) is distinct from (p.product_name, p.brand, p.category)
        or (s.retailer_name, s.channel, s.location)
            is distinct from (r.retailer_name, r.channel, r.location))
      and not (s.channel = 'Offline' and s.location is null)
    order by 1
"""


@pytest.fixture(scope="module")
def comebacks(built):
    wh, _ = built
    wh.ingest(FIXTURES / "comebacks.csv")
    wh.dbt("build")
    keys = dict(
        wh.rows("select valid_from, product_key from marts.dim_product where product_id = 30")
    )
    return wh, keys


def test_attributes_that_come_back_open_a_version_each_time(comebacks):
    wh, keys = comebacks
    assert wh.rows(
        "select brand, valid_from, valid_to, version_number, is_current from marts.dim_product "
        "where product_id = 30 order by valid_from"
    ) == [
        ("TabCo", D(2024, 2, 1), D(2024, 2, 12), 1, False),
        ("TabNew", D(2024, 2, 12), END, 2, True),
    ]
    assert wh.rows(
        "select channel, location, valid_from, valid_to from marts.dim_retailer "
        "where retailer_id = 40 order by valid_from"
    ) == [
        ("Offline", "Paris", D(2024, 2, 2), D(2024, 2, 6)),
        ("Online", None, D(2024, 2, 6), D(2024, 2, 10)),
        ("Offline", "Paris", D(2024, 2, 10), END),
    ]
    assert (
        wh.one("select count(distinct retailer_key) from marts.dim_retailer where retailer_id = 40")
        == 3
    )


def test_every_sale_points_at_a_version_of_its_own_attributes(comebacks):
    wh, _ = comebacks
    assert [sale_id for (sale_id,) in wh.rows(MISMATCHED_FACTS)] == [4007]


def test_a_day_seen_with_two_combinations_belongs_to_the_one_with_more_rows(comebacks):
    wh, _ = comebacks
    assert wh.rows("select brand, valid_from from marts.dim_product where product_id = 31") == [
        ("P2", D(2024, 2, 12))
    ]
    assert (
        wh.one(
            "select count(distinct product_key) from marts.fct_sales where sale_id in (4007, 4008, 4009)"
        )
        == 1
    )


@pytest.fixture(scope="module")
def late_comeback(comebacks):
    wh, keys = comebacks
    wh.ingest(FIXTURES / "late-comeback.csv")
    wh.dbt("build")
    return wh, keys


def test_a_late_sale_splits_a_run_and_the_facts_move_with_it(late_comeback):
    wh, keys_before = late_comeback
    versions = wh.rows(
        "select brand, valid_from, valid_to, product_key from marts.dim_product "
        "where product_id = 30 order by valid_from"
    )
    assert [row[:3] for row in versions] == [
        ("TabCo", D(2024, 2, 1), D(2024, 2, 5)),
        ("TabNew", D(2024, 2, 5), D(2024, 2, 9)),
        ("TabCo", D(2024, 2, 9), D(2024, 2, 12)),
        ("TabNew", D(2024, 2, 12), END),
    ]
    # The first TabCo run keeps its key; every run has a key of its own.
    assert versions[0][3] == keys_before[D(2024, 2, 1)]
    assert len({row[3] for row in versions}) == 4
    # Sales 4003 (TabCo, 02-09) and 4010 (TabNew, 02-12) were re-keyed by the incremental build.
    assert wh.rows(
        "select f.sale_id, p.brand, p.valid_from from marts.fct_sales as f "
        "join marts.dim_product as p using (product_key) where f.product_id = 30 order by 1"
    ) == [
        (4001, "TabCo", D(2024, 2, 1)),
        (4002, "TabNew", D(2024, 2, 5)),
        (4003, "TabCo", D(2024, 2, 9)),
        (4010, "TabNew", D(2024, 2, 12)),
    ]
    assert [sale_id for (sale_id,) in wh.rows(MISMATCHED_FACTS)] == [4007]


@pytest.fixture(scope="module")
def rejected_evidence(late_comeback):
    wh, _ = late_comeback
    wh.ingest(FIXTURES / "rejected-evidence.csv")
    wh.dbt("build")
    return wh


def test_rejected_rows_never_decide_the_versions_of_a_sold_member(rejected_evidence):
    wh = rejected_evidence
    assert wh.one("select count(*) from raw.sales_rejects where sale_id between 6001 and 6099") == 4
    assert wh.rows(
        "select product_id, product_name, valid_from from marts.dim_product "
        "where product_id in (401, 402) order by 1"
    ) == [(401, "Alpha401", D(2024, 3, 1)), (402, "Gamma402", D(2024, 3, 2))]
    assert wh.rows("select channel, location from marts.dim_retailer where retailer_id = 60") == [
        ("Online", None)
    ]
    assert [sale_id for (sale_id,) in wh.rows(MISMATCHED_FACTS)] == [4007]


def test_full_refresh_equals_the_incremental_path(rejected_evidence):
    wh = rejected_evidence
    snapshot(wh, "versions")
    dims = {dim: wh.rows(f"select * from marts.{dim} order by 1") for dim in DIMENSIONS}
    wh.dbt("build", "--full-refresh")
    for dim in DIMENSIONS:
        assert wh.rows(f"select * from marts.{dim} order by 1") == dims[dim], dim
    assert (
        differences(
            wh,
            "public.fct_sales_versions",
            "(select sale_id, sale_date, product_key, retailer_key, product_id, retailer_id, "
            "channel, quantity, unit_price, line_amount, currency, product_id_source, load_id "
            "from marts.fct_sales)",
        )
        == 0
    )
    assert differences(wh, "public.sales_monthly_versions", "marts.sales_monthly") == 0
