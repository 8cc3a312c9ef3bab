{#- The warehouse matches the raw layer: fct_sales has as many rows as raw.sales and the same
    sum(line_amount) = sum(price).
    - incremental build: over the loads of its batch, straight from raw.sales (few rows, found
      by the BRIN indexes on load_id). On the fact side those rows are among the rows the build
      wrote (dbt_updated_at, indexed; fct_sales has no load_id index): a row of the batch's
      loads that the build did not write is missing from the count, so it still fails;
    - full build: over everything, with the raw side from base_sales__attribute_history (its
      retailer rows cover every sale: count and amount computed straight from raw.sales in
      this build, without a second pass over millions of rows);
    - var test_scope=all: over everything, straight from raw.sales.
    Returns a row when they differ. -#}
-- depends_on: {{ ref('base_sales__attribute_history') }}
{%- set b = salesflow.batch_info() -%}
{%- set everything = var('test_scope', 'batch') == 'all' or b.mode == 'full' -%}
{%- set after = 0 if everything else b.from_load_id %}

with raw_side as (
    {%- if b.mode == 'full' and var('test_scope', 'batch') != 'all' %}
    select coalesce(sum(sales_count), 0) as row_count, coalesce(sum(sales_amount), 0) as amount
    from {{ ref('base_sales__attribute_history') }}
    where kind = 'retailer' and through_load_id = {{ b.to_load_id }}
    {%- else %}
    select count(*) as row_count, coalesce(sum(price), 0) as amount
    from {{ source('raw', 'sales') }}
    where load_id > {{ after }} and load_id <= {{ b.to_load_id }}
    {%- endif %}
),

fct_side as (
    select count(*) as row_count, coalesce(sum(line_amount), 0) as amount
    from {{ ref('fct_sales') }}
    {%- if not everything %}
    where dbt_updated_at = {{ salesflow.latest_build_literal(ref('fct_sales')) }}  -- noqa: CV05
      and load_id > {{ after }} and load_id <= {{ b.to_load_id }}
    {%- endif %}
)

select
    raw_side.row_count as raw_rows,
    fct_side.row_count as fct_rows,
    raw_side.amount as raw_amount,
    fct_side.amount as fct_amount
from raw_side cross join fct_side
where raw_side.row_count <> fct_side.row_count
   or raw_side.amount <> fct_side.amount
