"""Writes airflow/dags/salesflow_pipeline/exit_codes.py from the salesflow binary's own table
(`salesflow exit-codes --json`), so that the DAG reads the binary's exit codes by name.

Usage: python3 airflow/gen_exit_codes.py [SALESFLOW_BIN]   (default: target/release/salesflow)

airflow/tests/test_exit_codes.py fails while the module differs from what this writes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODULE = REPO / "airflow" / "dags" / "salesflow_pipeline" / "exit_codes.py"

HEADER = '''"""The salesflow binary's exit codes, by name.

Generated from `salesflow exit-codes --json`: do not edit. After the binary's table changes,
regenerate it with

    python3 airflow/gen_exit_codes.py [SALESFLOW_BIN]

(airflow/tests/test_exit_codes.py fails while this module differs from the binary's table).
"""

from __future__ import annotations
'''


def table(binary: str) -> list[dict]:
    """The binary's table: [{code, name, meaning}], in code order."""
    out = subprocess.run(
        [binary, "exit-codes", "--json"], check=True, capture_output=True, text=True, timeout=60
    )
    return sorted(json.loads(out.stdout), key=lambda row: row["code"])


def render(rows: list[dict]) -> str:
    lines = [HEADER]
    for row in rows:
        lines.append(f"# {row['meaning']}")
        lines.append(f"{row['name']} = {int(row['code'])}")
    lines.append("")
    lines.append("NAMES = {")
    lines += [f"    {row['name']}: {json.dumps(row['name'])}," for row in rows]
    lines.append("}")
    lines.append("MEANINGS = {")
    lines += [f"    {row['name']}: {json.dumps(row['meaning'])}," for row in rows]
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    binary = sys.argv[1] if len(sys.argv) > 1 else str(REPO / "target" / "release" / "salesflow")
    MODULE.write_text(render(table(binary)))
    print(f"wrote {MODULE.relative_to(REPO)}")


if __name__ == "__main__":
    main()
