# syntax=docker/dockerfile:1
# salesflow for Docker users: Apache Airflow (with the sales_pipeline DAG), the salesflow binary
# and dbt in one image, each in its own place:
#   /opt/salesflow/target/release/salesflow   the Rust binary (built in the first stage)
#   /opt/salesflow/.venv-airflow              Airflow 3.3, from requirements/airflow.lock
#   /opt/salesflow/.venv-dbt                  dbt-core + dbt-postgres, from requirements/dbt.lock
#   /opt/salesflow/{dbt,airflow,scripts}      the dbt project, the DAG, the dbt wrapper
# The layout mirrors a checkout of the repository, so the DAG's and scripts' defaults hold.
# Used by docker-compose.yml (PostgreSQL warehouse + Airflow); see airflow/README.md.

ARG PYTHON_VERSION=3.11

# ---- 1. the salesflow binary -------------------------------------------------------------
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY contracts ./contracts
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,id=salesflow-target \
    cargo build --release --locked \
    && install -D -m 0755 target/release/salesflow /out/salesflow

# ---- 2. Airflow + dbt + the binary ----------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    AIRFLOW_HOME=/opt/airflow \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    PATH=/opt/salesflow/.venv-airflow/bin:$PATH
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 50000 --gid 0 airflow
WORKDIR /opt/salesflow

# Virtualenvs first: they change less often than the code.
COPY scripts/ensure-venv ./scripts/ensure-venv
COPY requirements/airflow.lock requirements/dbt.lock ./requirements/
RUN scripts/ensure-venv .venv-airflow requirements/airflow.lock \
    && scripts/ensure-venv .venv-dbt requirements/dbt.lock

COPY scripts ./scripts
COPY contracts ./contracts
COPY migrations ./migrations
COPY data ./data
COPY dbt ./dbt
COPY airflow ./airflow
COPY --from=build /out/salesflow ./target/release/salesflow

# dbt writes target/ and logs/ into its project; Airflow its logs into AIRFLOW_HOME/logs, which
# the compose file mounts as a named volume: created here, the volume starts out owned by
# airflow (a mount point missing from the image would be root's, and tasks could not log).
RUN mkdir -p "$AIRFLOW_HOME/logs" /data/landing \
    && chown -R airflow:0 "$AIRFLOW_HOME" /data/landing dbt \
    && chmod -R g+rwX "$AIRFLOW_HOME" /data/landing dbt \
    && ./target/release/salesflow --help >/dev/null

ENV SALESFLOW_BIN=/opt/salesflow/target/release/salesflow \
    SALESFLOW_DBT=/opt/salesflow/scripts/dbt \
    SALESFLOW_LANDING_DIR=/data/landing \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/salesflow/airflow/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False

USER airflow
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["airflow", "standalone"]
