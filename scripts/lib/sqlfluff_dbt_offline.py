"""sqlfluff's command line, with its dbt templater compiling as dbt parses: no database.

The dbt templater compiles each file with dbt, which would connect to the warehouse (to fill
its relation cache, and for every `run_query`, `load_relation` or `is_incremental()`). Here dbt
renders the files as it does while parsing the project: `execute` is false, so the macros skip
the queries they guard with it, and adapter methods give their parse-time answers
(`get_relation`: None, so `is_incremental()` is false). SQL inside `{% if execute %}`
branches, and the incremental branches of models, is therefore not what gets linted.

Usage (from dbt/, with the .venv-dbt interpreter): python sqlfluff_dbt_offline.py lint [ARGS...]
"""

import sys

from dbt.adapters.base.impl import BaseAdapter
from dbt.context import providers


def _no_relations_cache(self, *args, **kwargs) -> None:
    """The relation cache is filled by querying the warehouse: left empty."""


providers.RuntimeProvider.execute = False
providers.RuntimeProvider.DatabaseWrapper = providers.ParseDatabaseWrapper
BaseAdapter.set_relations_cache = _no_relations_cache

from sqlfluff.cli.commands import cli  # noqa: E402 (after the patches)

if __name__ == "__main__":
    sys.exit(cli())
