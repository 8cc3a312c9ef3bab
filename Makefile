# salesflow: the entry point. The README documents `make demo` (the pipeline on the reference
# data) and `make test` (every test). Targets that need PostgreSQL use $DATABASE_URL when it is
# set, else the project's own cluster (scripts/pg-local, created and started on demand), which
# speaks TLS: the dbt and Airflow suites reach it with sslmode=verify-full.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

CARGO ?= cargo
BIN := $(or $(CARGO_TARGET_DIR),target)/release/salesflow
WITH_DB := scripts/lib/with-db
TOOLS := .venv-tools/bin
# `cargo test`, not nextest by default: nextest runs each test in its own process, which
# breaks in-process serialisation that database tests may rely on. Opt in with
# `make test RUST_TEST='cargo nextest run --release --locked'`.
RUST_TEST ?= $(CARGO) test --release --locked
# Every shell script we ship, found by its shebang (new ones are linted without edits here).
SHELL_SCRIPTS = $(shell grep -lsE '^#!.*[/ ](ba)?sh$$' scripts/* scripts/lib/* .ci/* bench/*)
# Suites written alongside the Rust code; each runs once it exists (a file present but not
# executable fails loudly rather than being skipped).
SUITES := $(wildcard scripts/test-dbt scripts/test-airflow)

.PHONY: help build lint fmt test demo bench db db-stop psql

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-8s %s\n", $$1, $$2 }'

build: ## build the release binary target/release/salesflow
	$(CARGO) build --release --locked

lint: ## rustfmt, clippy (warnings are errors), ruff, shellcheck and sqlfluff (dbt SQL, no database)
	$(CARGO) fmt --all --check
	$(CARGO) clippy --all-targets --locked -- -D warnings
	scripts/ensure-venv .venv-tools requirements/tools.lock
	$(TOOLS)/ruff check .
	$(TOOLS)/ruff format --check .
	$(TOOLS)/shellcheck $(SHELL_SCRIPTS)
	scripts/lint-sql

fmt: ## rewrite Rust and Python code into the lint's format (and apply ruff's safe fixes)
	$(CARGO) fmt --all
	scripts/ensure-venv .venv-tools requirements/tools.lock
	$(TOOLS)/ruff check --fix .
	$(TOOLS)/ruff format .

test: ## every test: lint, Rust unit and integration tests on PostgreSQL, dbt, Airflow
	@scripts/lib/run-steps "make test" \
	    lint "$(MAKE) lint" \
	    build "$(MAKE) build" \
	    "rust tests" "scripts/ensure-chromium && $(WITH_DB) $(RUST_TEST)" \
	    $(foreach suite,$(SUITES),"$(notdir $(suite))" "$(WITH_DB) --tls $(suite)")

demo: build ## the pipeline on data/generated-sales-data.csv: ingest, load summary, dbt marts
	$(WITH_DB) $(BIN) ingest data/generated-sales-data.csv
	$(WITH_DB) $(BIN) status
	$(if $(wildcard scripts/demo-dbt),$(WITH_DB) scripts/demo-dbt)

bench: ## ingest benchmark against psql \copy (BENCH_ROWS="1000000 5000000" by default)
	bench/ingest-bench

db: ## start the project's PostgreSQL cluster and print its DATABASE_URL
	@scripts/pg-local start
	@scripts/pg-local url

db-stop: ## stop the project's PostgreSQL cluster
	scripts/pg-local stop

psql: ## psql session on DATABASE_URL (or the project's cluster)
	@$(WITH_DB) bash -c 'exec psql "$$DATABASE_URL"'
