"""The dbt tests have teeth: break the warehouse on purpose and the build's tests fail."""

import json
import re

import pytest
from conftest import REFERENCE_CSV, REPO


@pytest.fixture(scope="module")
def built(warehouse):
    warehouse.ingest(REFERENCE_CSV)
    warehouse.dbt("build")
    return warehouse


def run_results() -> list[dict]:
    """The results of the last dbt call (dbt/target/run_results.json)."""
    return json.loads((REPO / "dbt" / "target" / "run_results.json").read_text())["results"]


def failing_tests(proc) -> set[str]:
    """Names of the tests that dbt reports as failed ("... FAIL 3 test_name .... [FAIL 3 in 0.1s]")."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)
    return set(re.findall(r" of \d+ FAIL \d+ (\S+)", plain))


def test_reconciliation_catches_a_fact_that_drifted_from_raw(built):
    built.execute("update marts.fct_sales set line_amount = line_amount + 1 where sale_id = 17")
    try:
        proc = built.dbt(
            "test", "--vars", "{test_scope: all}", "--select", "fct_sales", expect_ok=False
        )
        assert proc.returncode != 0
        assert {
            "assert_fct_sales_reconciles_with_raw_sales",
            "fct_sales_amounts_are_consistent",
        } <= failing_tests(proc)
    finally:
        built.execute("update marts.fct_sales set line_amount = line_amount - 1 where sale_id = 17")


def test_scd2_tests_catch_overlapping_versions(built):
    built.execute("""insert into marts.dim_product
        select 42, product_id, product_name, 'Other', category, valid_from + 1, valid_to, false, 2
        from marts.dim_product where product_id = 1""")
    try:
        proc = built.dbt("test", "--select", "dim_product", expect_ok=False)
        assert proc.returncode != 0
        failed = failing_tests(proc)
        assert any(
            name.startswith("salesflow_no_overlapping_windows_dim_product") for name in failed
        ), failed
    finally:
        built.execute("delete from marts.dim_product where product_key = 42")


def test_keys_test_catches_a_fact_on_the_wrong_version(built):
    built.execute(
        "update marts.fct_sales set product_key = (select product_key from marts.dim_product "
        "where product_id = 2) where sale_id = 1"
    )
    try:
        proc = built.dbt(
            "test",
            "--vars",
            "{test_scope: all}",
            "--select",
            "assert_fct_sales_points_at_versions_valid_on_sale_date",
            expect_ok=False,
        )
        assert proc.returncode != 0
        assert "assert_fct_sales_points_at_versions_valid_on_sale_date" in failing_tests(proc)
    finally:
        built.execute(
            "update marts.fct_sales set product_key = (select product_key from marts.dim_product "
            "where product_id = 1) where sale_id = 1"
        )


def test_unique_by_index_counts_duplicates_when_no_unique_index_guarantees_them(built):
    # with its unique index, fct_sales.sale_id is unique by construction and the test checks
    # the catalog (tests/generic/unique_by_index.sql); without it, it counts, and finds the
    # duplicate
    test = "salesflow_unique_by_index_fct_sales_sale_id"
    index = built.one("""
        select i.indexrelid::regclass::text from pg_index i
        join pg_class t on t.oid = i.indrelid
        join pg_namespace n on n.oid = t.relnamespace and n.nspname = 'marts'
        join pg_attribute a on a.attrelid = t.oid and a.attnum = i.indkey[0]
        where t.relname = 'fct_sales' and i.indisunique and a.attname = 'sale_id'""")
    assert built.dbt("test", "--select", test).returncode == 0
    built.execute(f"drop index {index}")
    built.execute("insert into marts.fct_sales select * from marts.fct_sales where sale_id = 2")
    proc = built.dbt("test", "--select", test, expect_ok=False)
    assert proc.returncode != 0
    assert test in failing_tests(proc)


def test_relationships_by_index_catches_a_fact_whose_key_has_no_dimension_row(built):
    # product_key leads an index of fct_sales, so the test reads the distinct keys by index
    # probes (tests/generic/relationships_by_index.sql); it must still find the orphan
    test = "fct_sales_product_key_has_a_dim_product_row"
    original = built.one("select product_key from marts.fct_sales where sale_id = 3")
    built.execute("update marts.fct_sales set product_key = 424242 where sale_id = 3")
    try:
        proc = built.dbt("test", "--select", test, expect_ok=False)
        assert proc.returncode != 0
        assert test in failing_tests(proc)
        (compiled,) = [r["compiled_code"] for r in run_results()]
        assert "with recursive child_values(product_key)" in compiled, compiled
    finally:
        built.execute("update marts.fct_sales set product_key = %s where sale_id = 3", (original,))


def test_contract_test_finds_rows_that_break_the_loaders_contract(built):
    # the latest load is checked row by row; lineage is checked only with test_scope=all (a
    # row of the latest succeeded load has it by construction)
    test = "assert_raw_sales_latest_load_meets_contract"
    quantity, channel = built.one("select quantity, channel from raw.sales where sale_id = 5")
    load_id = built.one("select load_id from raw.sales where sale_id = 6")
    built.execute("update raw.sales set quantity = 0, channel = 'Phone' where sale_id = 5")
    built.execute("update raw.sales set load_id = 424242 where sale_id = 6")
    try:
        for scope, failures in (("batch", 1), ("all", 2)):
            proc = built.dbt(
                "test", "--vars", f"{{test_scope: {scope}}}", "--select", test, expect_ok=False
            )
            assert proc.returncode != 0, scope
            assert test in failing_tests(proc), scope
            (result,) = run_results()
            assert result["failures"] == failures, (scope, result["failures"])
    finally:
        built.execute(
            "update raw.sales set quantity = %s, channel = %s where sale_id = 5",
            (quantity, channel),
        )
        built.execute("update raw.sales set load_id = %s where sale_id = 6", (load_id,))
    assert built.dbt("test", "--vars", "{test_scope: all}", "--select", test).returncode == 0
