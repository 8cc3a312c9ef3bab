{#- Sales facts, one row per sale (sale_id), with the keys of the product and retailer
    versions valid on the sale date. Incremental: upserts the 'insert' rows of
    int_sales_changes on sale_id; a full build joins all the sales to the dimensions. The
    indexes, hooks and their costs: README, "The incremental fact" and "Indexes". -#}
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
    select resolved.*
    from {{ ref('int_sales_product_id_resolved') }} as resolved
    where resolved.load_id <= (select batch.to_load_id from {{ ref('int_sales_batch') }} as batch)
)

select
    keyed.*,
    '{{ run_started_at }}'::timestamptz as dbt_updated_at
from ({{ salesflow.with_dimension_keys('sales') }}) as keyed

{%- endif %}
