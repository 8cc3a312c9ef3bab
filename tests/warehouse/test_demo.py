"""The README's pipeline command, `make demo`, on a fresh database: it ingests the reference
file, shows the load ledger, builds the warehouse with dbt and prints the business summary
from the marts. Run as a user runs it, so that the command the README promises cannot break
unnoticed."""

from __future__ import annotations

import re
import subprocess
from decimal import Decimal

from conftest import REPO


def test_make_demo_runs_the_whole_pipeline_and_summarises_the_marts(warehouse):
    proc = subprocess.run(
        ["make", "--no-print-directory", "demo"],
        cwd=REPO,
        env=warehouse.env(),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    out = proc.stdout
    assert proc.returncode == 0, (
        f"make demo failed ({proc.returncode}):\n{out[-6000:]}\n{proc.stderr[-3000:]}"
    )

    # The ingest summary and the ledger.
    assert re.search(r"generated-sales-data\.csv\s+succeeded\s+1\s+1005\s+1004\s", out), out
    assert "generated-sales-data.csv rejects: quantity_positive 1" in out
    assert re.search(r"\n\s+1\s+succeeded\s", out.split("(newest first)", 1)[1]), out
    # dbt: every model and test passed.
    assert re.search(r"Done\. PASS=\d+ WARN=0 ERROR=0", out), out

    # The business summary adds up to the warehouse: revenue by month and channel.
    section = out.split("== Revenue by month and channel", 1)[1].split("== Top products", 1)[0]
    rows = [
        [cell.strip() for cell in line.split("|")]
        for line in section.splitlines()
        if re.match(r"\s*\d{4}-\d{2}\s*\|", line)
    ]
    assert {row[0] for row in rows} == {"2024-01", "2024-02", "2024-03"}, section
    assert sum(int(row[2]) for row in rows) == 1004
    assert sum(Decimal(row[4].replace(",", "")) for row in rows) == Decimal("1753300.00")
    assert "1004 sales, 1,753,300.00 USD revenue" in out
    assert warehouse.one("select count(*) from marts.fct_sales") == 1004
