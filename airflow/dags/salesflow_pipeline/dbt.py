"""dbt: one `dbt build` per layer of the warehouse, as the transformer."""

from __future__ import annotations

import os

from salesflow_pipeline import connection, fail, process, settings

# Passed to every layer's `dbt build`. `buildable`: a layer runs the tests whose parents are all
# built by then. Unit tests check the SQL against fixed inputs, not the data: they belong to CI
# (the project's test suite runs them), not to every load, as dbt recommends.
BUILD_FLAGS = ("--indirect-selection", "buildable", "--exclude-resource-type", "unit_test")


def build_layer(layer: str, select: str, exclude: str = "") -> None:
    """`dbt build` (models and their tests) of one layer: `select` and `exclude` are the DAG's
    defaults (DBT_LAYERS), SALESFLOW_DBT_<LAYER>_SELECT / _EXCLUDE override them."""
    selected, excluded = settings.dbt_selection(layer, select, exclude)
    dbt = settings.dbt_executable()
    if not os.access(dbt, os.X_OK):
        fail(f"dbt executable {dbt} not found or not executable: set SALESFLOW_DBT")
    cmd = [str(dbt), "build", "--select", *selected]
    if excluded:
        cmd += ["--exclude", *excluded]
    cmd += BUILD_FLAGS
    dirs = settings.dbt_project_dirs()
    if dirs:
        cmd += ["--project-dir", dirs[0], "--profiles-dir", dirs[1]]
    url = connection.database_url("transformer")
    code = process.run(cmd, connection.child_env(url), f"dbt {layer}", connection.password(url))
    if code != 0:
        raise RuntimeError(
            f"dbt build of the {layer} layer failed (exit code {code}); see the dbt output above"
        )
