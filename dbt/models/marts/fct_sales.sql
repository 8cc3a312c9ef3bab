{#- Sales facts, one row per sale (sale_id), with the keys of the product and retailer
    versions valid on the sale date.

    Incremental: merged on sale_id (strategy 'upsert', macros/get_incremental_upsert_sql.sql: INSERT ...
    ON CONFLICT (sale_id) DO UPDATE, one unique-index probe per changed row). A full build
    joins all of staging to the dimensions in one set-based pass (hash joins on the natural
    key with the date range as a join filter; no DISTINCT, no window functions). An
    incremental build merges the 'insert' rows of int_sales_changes: the sales of the loads
    that arrived since the last build (selected by load_id, so late-arriving and re-sent
    sales are taken in), plus re-keyed and re-resolved rows. Every row written by a build
    gets that build's dbt_updated_at; the tests of this model check those rows (the whole
    table on a full build; var test_scope=all: always).

    Indexes (created with the table; kept up to date by the merges):
    - sale_id (unique): the upsert's conflict target; enforces one row per sale
    - (product_key, sale_date), (retailer_key, sale_date): product / retailer queries with or
      without a date range; also how a build finds facts that a new dimension version re-keys
    - sale_date (BRIN): date-range queries; a full build writes the fact in month order (it
      reads raw.sales partition by partition), so a block-range index is small, cheap to
      build and selective
    - dbt_updated_at: the rows of the latest build (tests, sales_monthly's consistency check)
    Not indexed: load_id. No build reads the fact by load (int_sales_batch keeps the
    high-water mark), and "what did load N bring" is an audit query that a parallel scan
    answers in under a second; the index cost 1.4-1.8 s of every full build.

    VACUUM (ANALYZE) after a full build commits (outside the transaction, as VACUUM must be):
    1.2-1.8 s on 5M rows, against 0.4-0.5 s for the ANALYZE alone. Without it, the 5M inserts
    send autovacuum over the whole table a minute later, and an incremental build that comes
    meanwhile waits for it: its ANALYZE below queued 1 s (deadlock_timeout) behind autovacuum
    before PostgreSQL cancelled the vacuum, which then started over. The vacuum also sets the
    visibility map (index-only scans for the key tests) and the hint bits the first scans
    after a bulk write would otherwise set.

    ANALYZE: an incremental build analyzes dbt_updated_at alone, from a 3,000-row sample
    (30 ms on 5M rows): the tests select this build's rows by it, and with the statistics of
    the last full build (one value) PostgreSQL estimated them at 1 row of 50,000 and planned
    nested loops (a relationships test: 0.6 s instead of 16 ms).

    parallel_tuple_cost: a full build passes every row of the join through the leader that
    writes the table, which the default cost (0.1 per row) prices so high that PostgreSQL
    plans it serially. With the hash joins done by parallel workers the build's SELECT takes
    about half the time (5M rows on 2 cores: 5.3-7.6 s against 8.9-14.4 s).

    parallel_leader_participation = off (full build only): the leader alone writes the new
    table, and every row it spends joining is a row it does not write while the workers wait
    on a full queue. Writing the 5M-row join to a table: 6.4-7.5 s without the leader's help,
    7.7-8.2 s with it (3 runs each). An incremental build's select is small: no change there. -#}
-- depends_on: {{ ref('int_sales_changes') }}
{{ config(
    materialized='incremental',
    unique_key='sale_id',
    incremental_strategy='upsert',
    on_schema_change='fail',
    indexes=[
        {'columns': ['sale_id'], 'unique': True},
        {'columns': ['product_key', 'sale_date']},
        {'columns': ['retailer_key', 'sale_date']},
        {'columns': ['sale_date'], 'type': 'brin'},
        {'columns': ['dbt_updated_at']},
    ],
    pre_hook="set local parallel_tuple_cost = 0.01{% if not is_incremental() %}; set local parallel_leader_participation = off{% endif %}",
    post_hook=[
        "{% if is_incremental() %}set local default_statistics_target = 10; analyze {{ this }} (dbt_updated_at){% endif %}",
        {"sql": "{% if not is_incremental() %}vacuum (analyze) {{ this }}{% endif %}", "transaction": False},
    ]
) }}

{%- if is_incremental() %}
{%- set b = salesflow.batch_info() -%}
{%- set current_version = run_query('select max(dbt_updated_at)::text from ' ~ this).columns[0].values()[0] if execute -%}
{%- set batch_applies = b.mode == 'incremental' and current_version == b.fct_version_before -%}
{%- if execute and not batch_applies -%}
    {{ log("fct_sales: int_sales_changes was computed against another state of fct_sales "
           ~ "(batch " ~ b.mode ~ ", fact version " ~ current_version ~ " vs " ~ b.fct_version_before
           ~ "); nothing merged. Build it together with its parents: dbt build -s +fct_sales", info=true) }}
{%- endif %}

select
    {{ salesflow.fct_sales_columns() }},
    '{{ run_started_at }}'::timestamptz as dbt_updated_at
from {{ ref('int_sales_changes') }}
where change_kind = 'insert'
{%- if not batch_applies %}
  and false
{%- endif %}

{%- else %}

with sales as (
    select *
    from {{ ref('stg_sales') }}
    where load_id <= (select to_load_id from {{ ref('int_sales_batch') }})
)

select
    keyed.*,
    '{{ run_started_at }}'::timestamptz as dbt_updated_at
from ({{ salesflow.with_dimension_keys('sales') }}) as keyed

{%- endif %}
