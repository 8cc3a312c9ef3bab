"""The sales_pipeline DAG's run-time steps, one module per job.

The DAG file (``sales_pipeline.py``) declares the tasks; these modules do their work:
``settings`` (the environment and its defaults), ``connection`` (Airflow connections to libpq
URLs and the child's environment), ``process`` (running a command into the task log),
``discovery``, ``ingest``, ``dbt``, ``gate`` (the quality gate and the publication, both in
the salesflow binary) and ``exit_codes`` (the binary's exit codes, generated from it).

Parse time stays cheap: every module imports only the standard library at the top; psycopg,
subprocess and hashing are imported inside the functions that run in tasks.
`airflow/dags/.airflowignore` keeps the DAG processor from parsing these modules as DAG files.
"""

from __future__ import annotations


def fail(message: str):
    """Fail the task without retrying (retrying cannot fix a configuration or data problem)."""
    try:
        from airflow.sdk.exceptions import AirflowFailException
    except ImportError:  # pragma: no cover - older 3.x
        from airflow.exceptions import AirflowFailException
    raise AirflowFailException(message)
