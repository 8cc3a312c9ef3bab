"""dbt: one `dbt build` per layer of the warehouse, as the transformer."""

from __future__ import annotations

import os

from salesflow_pipeline import connection, fail, process, settings

# The layers, in build order: layer -> (default --select, default --exclude). Staging (sources,
# base and stg models, and the sales with their product ids resolved, models/intermediate/sales)
# first; then the SCD2 dimensions dim_*; then everything else in the marts (the incremental
# fact, its intermediate models in models/intermediate/incremental, sales_monthly) with the
# reconciliation tests. The tests check that the layers cover every node of the project once.
LAYERS = {
    "staging": ("path:models/staging path:models/intermediate/sales", ""),
    "dimensions": ("path:models/marts,dim_*", ""),
    "marts": ("path:models/marts path:models/intermediate/incremental", "dim_*"),
}

# Passed to every layer's `dbt build`. `buildable`: a layer runs the tests whose parents are all
# built by then. Unit tests check the SQL against fixed inputs, not the data: they belong to CI
# (the project's test suite runs them), not to every load, as dbt recommends.
BUILD_FLAGS = ("--indirect-selection", "buildable", "--exclude-resource-type", "unit_test")


def build_layer(layer: str) -> None:
    """`dbt build` (models and their tests) of one layer: its selection in LAYERS, unless
    SALESFLOW_DBT_<LAYER>_SELECT / _EXCLUDE override it."""
    selected, excluded = settings.dbt_selection(layer, *LAYERS[layer])
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
