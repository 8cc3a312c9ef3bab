"""salesflow_pipeline/exit_codes.py is generated from the binary's own table
(`salesflow exit-codes --json`, by airflow/gen_exit_codes.py): it must not drift from it."""

from __future__ import annotations

import os
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "airflow"))
import gen_exit_codes  # noqa: E402


def test_exit_codes_module_is_the_binarys_table():
    binary = os.environ.get("SALESFLOW_BIN") or str(REPO / "target" / "release" / "salesflow")
    table = gen_exit_codes.table(binary)
    assert {row["name"] for row in table} >= {"OK", "USAGE", "DATA_QUALITY"}
    assert gen_exit_codes.MODULE.read_text() == gen_exit_codes.render(table), (
        "salesflow_pipeline/exit_codes.py differs from `salesflow exit-codes --json`:"
        " run python3 airflow/gen_exit_codes.py"
    )

    from salesflow_pipeline import exit_codes

    for row in table:
        assert getattr(exit_codes, row["name"]) == row["code"]
        assert exit_codes.MEANINGS[row["code"]] == row["meaning"]
