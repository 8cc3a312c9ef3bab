"""
**sales_pipeline**: landing files → `salesflow ingest` → dbt → quality gate → `salesflow_marts`.

    discover_files -> ingest (mapped: one task per new file, pool salesflow_ingest)
      -> dbt_staging -> dbt_dimensions -> dbt_facts_marts -> quality_gate -> publish_marts
      -> quality_report (a teardown: after every run, passed or failed)

Files under `<landing>/<feed>/` are judged by the feed's contract, `<contracts>/<feed>.toml`.
The salesflow binary finds the new files, loads them, judges the loads not yet published
(`salesflow gate`) and records the publication; dbt builds one layer per task. A held-back
load stays unpublished until `salesflow accept LOAD_ID --reason ...`. Settings and design:
`airflow/README.md`; the steps live in the `salesflow_pipeline` package beside this file.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from airflow.sdk import Asset, Param, dag, task, teardown

# The steps' package sits beside this file. The DAG processor and the workers put the bundle's
# directory on sys.path; a plain DagBag (`airflow dags list-import-errors --local`) does not.
if str(Path(__file__).parent) not in sys.path:
    sys.path.append(str(Path(__file__).parent))

# Standard library only at their top: importing them costs the parse nothing.
from salesflow_pipeline import dbt, discovery, gate, report, settings  # noqa: E402
from salesflow_pipeline.ingest import ingest_file  # noqa: E402

DAG_ID = "sales_pipeline"
# The marts as one Asset: downstream DAGs use `schedule=[MARTS_ASSET]` (or
# `Asset(name="salesflow_marts")`) to run after every published refresh.
MARTS_ASSET = Asset(
    name="salesflow_marts",
    uri="salesflow://warehouse/marts",
    group="salesflow",
    extra={
        "schema": "marts",
        "tables": "dim_product,dim_retailer,dim_date,fct_sales,sales_monthly",
    },
)

# dbt failures are mostly deterministic (a failing test): one retry covers a database blip.
DBT_TASK_ARGS = {
    "retries": settings.dbt_retries(),
    "retry_delay": timedelta(seconds=30),
    "execution_timeout": timedelta(hours=1),
}


@dag(
    dag_id=DAG_ID,
    description="Landing CSV files -> salesflow ingest -> dbt warehouse -> quality gate -> marts Asset",
    schedule=settings.schedule(),
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,  # two runs would discover the same files; the binary would skip, but why race
    tags=["salesflow"],
    doc_md=__doc__,
    params={
        "landing_dir": Param(None, type=["null", "string"], description="SALESFLOW_LANDING_DIR"),
        "max_reject_rate": Param(
            None,
            type=["null", "number"],
            minimum=0,
            maximum=1,
            description="Gate threshold 0..1 (SALESFLOW_MAX_REJECT_RATE, else the contract's)",
        ),
    },
    default_args={"owner": "salesflow", "retries": 0},
)
def sales_pipeline():
    @task(retries=2, retry_delay=timedelta(seconds=20), retry_exponential_backoff=2.0)
    def discover_files(params=None) -> list[dict]:
        """`salesflow discover`: the new files, each with its feed and contract."""
        return discovery.discover(settings.landing_dir(params.get("landing_dir")))

    @task(
        pool=settings.ingest_pool(),
        max_active_tis_per_dagrun=settings.ingest_concurrency(),
        retries=settings.ingest_retries(),
        retry_delay=timedelta(seconds=settings.ingest_retry_delay_seconds()),
        retry_exponential_backoff=2.0,
        max_retry_delay=timedelta(minutes=15),
        execution_timeout=timedelta(hours=2),
        map_index_template="{{ salesflow_file }}",
    )
    def ingest(file: dict) -> dict:
        """Load one file with the salesflow binary; returns the load it reported."""
        from airflow.sdk import get_current_context

        # the label of this mapped instance in the UI (map_index_template)
        where = [file.get("feed"), file["name"]]
        get_current_context()["salesflow_file"] = "/".join(filter(None, where))
        return ingest_file(file)

    # Loads that succeeded are built even when another file of the run failed (that file is
    # retried, or held, by the next run); the failed load still fails the run (quality_gate is
    # upstream_failed), so the Asset is not published. No new file: skipped.
    @task(trigger_rule="all_done_min_one_success", **DBT_TASK_ARGS)
    def dbt_staging() -> int:
        """dbt build of the staging layer; returns the newest succeeded load before it, the
        last one this run's marts may be published for."""
        through_load_id = gate.newest_succeeded_load_id()
        dbt.build_layer("staging")
        return through_load_id

    @task(**DBT_TASK_ARGS)
    def dbt_dimensions():
        """dbt build of the SCD2 dimensions, with their tests."""
        dbt.build_layer("dimensions")

    @task(**DBT_TASK_ARGS)
    def dbt_facts_marts():
        """dbt build of the fact table and the marts, with the reconciliation tests."""
        dbt.build_layer("marts")

    @task
    def quality_gate(through_load_id: int, params=None) -> dict:
        """`salesflow gate`: fails the run when a load not yet published is held back."""
        return gate.judge(
            through_load_id, settings.gate_max_reject_rate(params.get("max_reject_rate"))
        )

    @task(outlets=[MARTS_ASSET])
    def publish_marts(passed: dict, params=None) -> None:
        """`salesflow publish`, then the marts Asset event (for the DAGs scheduled on it)."""
        from airflow.sdk import get_current_context

        context = get_current_context()
        threshold = settings.gate_max_reject_rate(params.get("max_reject_rate"))
        published = gate.publish(passed, f"airflow {DAG_ID} {context['run_id']}", threshold)
        context["outlet_events"][MARTS_ASSET].extra = gate.asset_extra(published)

    # A teardown runs whatever happened upstream, and the run's state is not its own: a run
    # whose gate failed stays failed after its report is written.
    @teardown
    def quality_report(run_id=None, params=None) -> str:
        """`salesflow report`: the data-quality page (SALESFLOW_REPORT_DIR), passed or failed."""
        threshold = settings.gate_max_reject_rate(params.get("max_reject_rate"))
        return str(report.write_report(run_id, threshold))

    files = discover_files()
    loads = ingest.expand(file=files)
    staging, dimensions, marts = dbt_staging(), dbt_dimensions(), dbt_facts_marts()
    gate_verdict = quality_gate(staging)
    # The gate also waits for every ingest task: a file that failed fails the run.
    loads >> staging >> dimensions >> marts >> gate_verdict
    loads >> gate_verdict
    publish_marts(gate_verdict) >> quality_report()


sales_pipeline()
