{#- The change set of this build: 'insert' rows are the new versions of fact rows (upserted
    into fct_sales), 'delete' rows the fact rows they replace. Empty on a full build.
    README, "The incremental fact". -#}
-- depends_on: {{ ref('int_sales_product_id_resolved') }}
-- depends_on: {{ ref('dim_product') }}
-- depends_on: {{ ref('dim_retailer') }}
{%- set b = salesflow.batch_info() -%}
{#- fct_sales as the previous build left it (None before its first build): not a ref(), which
    would be a cycle, since fct_sales is built from this model. -#}
{%- set fct = adapter.get_relation(database=this.database, schema='marts', identifier='fct_sales')
      if execute else none -%}
{%- set cols = salesflow.fct_sales_column_types() | map(attribute=0) | list -%}

{%- if b.mode != 'incremental' or fct is none %}

with no_sales as (
    select * from {{ ref('int_sales_product_id_resolved') }} where false
)

select 'insert'::text as change_kind, keyed.*
from ({{ salesflow.with_dimension_keys('no_sales') }}) as keyed

{%- else %}

with recursive

window_sales as (
    select * from {{ ref('int_sales_product_id_resolved') }}
    where load_id > {{ b.from_load_id }} and load_id <= {{ b.to_load_id }}
),

repaired_sales as (
    select * from {{ ref('int_sales_product_id_resolved') }}
    where feed_product_id is null and load_id <= {{ b.from_load_id }}
),

keyed_window as (
    {{ salesflow.with_dimension_keys('window_sales') }}
),

keyed_repaired as (
    {{ salesflow.with_dimension_keys('repaired_sales') }}
),

{%- for dim, key, nat in [('dim_product', 'product_key', 'product_id'),
                          ('dim_retailer', 'retailer_key', 'retailer_id')] %}

-- facts whose {{ dim }} version no longer covers their sale date
{{ key }}_out_of_window as (
    select f.sale_id
    from {{ ref(dim) }} as d
    cross join lateral (
        select f.sale_id from {{ fct }} as f
        where f.{{ key }} = d.{{ key }} and f.sale_date < d.valid_from
        union all
        select f.sale_id from {{ fct }} as f
        where f.{{ key }} = d.{{ key }} and f.sale_date >= d.valid_to
    ) as f
),

-- the distinct {{ key }}s of the fact, by a loose index scan (one probe per key)
fact_{{ key }}s({{ key }}) as (
    {{- salesflow.loose_index_scan('fact_' ~ key ~ 's', fct, key) }}
),

-- facts pointing at a version that no longer exists
{{ key }}_gone as (
    select f.sale_id
    from fact_{{ key }}s as k
    join {{ fct }} as f on f.{{ key }} = k.{{ key }}
    where k.{{ key }} is not null
      and not exists (select 1 from {{ ref(dim) }} as d where d.{{ key }} = k.{{ key }})
),
{%- endfor %}

rekey_ids as (
    select sale_id from product_key_out_of_window
    union
    select sale_id from product_key_gone
    union
    select sale_id from retailer_key_out_of_window
    union
    select sale_id from retailer_key_gone
),

-- (lateral lookups below: one probe of fct_sales' unique sale_id index per row. The 'limit 1'
-- (sale_id is unique, so it changes no result) keeps PostgreSQL from turning the lateral
-- subquery into a plain join, which with dbt's work_mem it plans as a hash of the whole fact:
-- 5 s on 5M rows, even when there is nothing to look up.)
rekey_sales as (
    select f.*
    from rekey_ids as k
    cross join lateral (select * from {{ fct }} as f where f.sale_id = k.sale_id limit 1) as f
    where not exists (select 1 from window_sales as w where w.sale_id = k.sale_id)
      and not exists (select 1 from repaired_sales as r where r.sale_id = k.sale_id)
),

keyed_rekey as (
    {{ salesflow.with_dimension_keys('rekey_sales') }}
),

pairs as (
    {%- if b.has_updates %}
    -- some loads of the batch updated earlier sales: look up what the fact holds for them
    select n.*, {% for c in cols %}o.{{ c }} as old_{{ c }}{{ ', ' if not loop.last }}{% endfor %}
    from keyed_window as n
    left join lateral (select * from {{ fct }} as f where f.sale_id = n.sale_id limit 1) as o on true
    {%- else %}
    -- the loads of the batch only added sales (the ledger counts no updates): all are new
    select n.*, {% for name, type in salesflow.fct_sales_column_types() %}null::{{ type }} as old_{{ name }}{{ ', ' if not loop.last }}{% endfor %}
    from keyed_window as n
    {%- endif %}

    union all

    select n.*, {% for c in cols %}o.{{ c }} as old_{{ c }}{{ ', ' if not loop.last }}{% endfor %}
    from (select * from keyed_repaired union all select * from keyed_rekey) as n
    left join lateral (select * from {{ fct }} as f where f.sale_id = n.sale_id limit 1) as o on true
),

changed as (
    select *
    from pairs
    where old_sale_id is null
       or ({{ cols | join(', ') }})
          is distinct from ({% for c in cols %}old_{{ c }}{{ ', ' if not loop.last }}{% endfor %})
)

select 'insert'::text as change_kind, {{ salesflow.fct_sales_columns() }}
from changed

union all

select 'delete'::text as change_kind, {{ salesflow.fct_sales_columns('old_') }}
from changed
where old_sale_id is not null

{%- endif %}
