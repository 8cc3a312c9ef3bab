{#- The batch of this build, one row: fct_sales takes in the loads with
    from_load_id < load_id <= to_load_id ('full' on the first build and on --full-refresh).
    README, "The incremental fact". -#}
{#- fct_sales as the previous build left it (None before its first build): not a ref(), which
    would be a cycle, since fct_sales is built from this model. -#}
{%- set fct = adapter.get_relation(database=this.database, schema='marts', identifier='fct_sales')
      if execute else none -%}
{%- set full = flags.FULL_REFRESH or fct is none -%}
{%- set prev = load_relation(this) -%}
{%- set from_sql = '(select coalesce(max(load_id), 0) from ' ~ fct ~ ')' if fct is not none else '0' -%}
{%- if execute and not full and prev is not none
      and 'window_has_rows' in adapter.get_columns_in_relation(prev) | map(attribute='name') | list -%}
    {%- set check -%}
        select b.to_load_id
        from {{ prev }} as b
        cross join (select max(dbt_updated_at) as version from {{ fct }}) as f
        where f.version = b.batch_started_at
           or (f.version is not distinct from b.fct_version_before and not b.window_has_rows)
    {%- endset -%}
    {%- set known = run_query(check).columns[0].values() -%}
    {%- if known | length == 1 -%}
        {%- set from_sql = known[0] ~ '::bigint' -%}
    {%- endif -%}
{%- endif %}

with through as (
    select max(through_load_id) as load_id from {{ ref('base_sales__attribute_history') }}
),

window_bounds as (
    select
        {%- if full %}
        0::bigint as from_load_id,
        null::timestamptz as fct_version_before,
        {%- else %}
        {{ from_sql }} as from_load_id,
        (select max(dbt_updated_at) from {{ fct }}) as fct_version_before,
        {%- endif %}
        (select coalesce(load_id, 0) from through)::bigint as through_load_id
)

select
    '{{ run_started_at }}'::timestamptz as batch_started_at,
    '{{ "full" if full else "incremental" }}'::text as batch_mode,
    from_load_id,
    greatest(from_load_id, through_load_id) as to_load_id,
    fct_version_before,
    exists(
        select 1 from {{ source('raw', 'sales') }} as sales
        where sales.load_id > window_bounds.from_load_id
          and sales.load_id <= window_bounds.through_load_id
    ) as window_has_rows,
    exists(
        select 1 from {{ ref('stg_loads') }} as loads
        where loads.load_id > window_bounds.from_load_id
          and loads.load_id <= window_bounds.through_load_id
          and loads.status = 'succeeded'
          and loads.rows_updated > 0
    ) as has_updates,
    (
        select count(*) from {{ ref('stg_loads') }} as loads
        where loads.load_id > window_bounds.from_load_id
          and loads.load_id <= window_bounds.through_load_id
          and loads.status = 'succeeded'
    ) as loads_in_batch
from window_bounds
