{#- Body of base_sales__attribute_history: every combination of product attributes
    (product_id, product_name, brand, category) among rows with a product id, and every
    combination of retailer attributes (retailer_id, retailer_name, channel, location) seen in
    raw.sales, with the first and last sale date it was seen on, its number of sales and their
    amount. Both from one pass over the rows.

    Quarantined rows (raw.sales_rejects) are evidence too: the loader keeps the fields of a
    reject that passed their own checks, so a sale rejected for, say, quantity -1 still shows
    that its product and retailer exist under those attributes on that date. A reject counts
    for the product when its product id and sale date are valid, for the retailer when its
    retailer id, channel and sale date are; it adds to rejects_count, never to sales_count or
    sales_amount (those stay the figures of raw.sales, which the fact is reconciled with).

    Materialized as a table that is rebuilt on every run from its previous state plus the rows
    of the loads that arrived since (through_load_id is the high-water mark), so a run reads
    only the new rows however big raw.sales is. It recomputes from all rows on a full refresh,
    on the first run, and when one of the new loads updated earlier sales (an update can take
    evidence away, which a min/max merge cannot undo): the result is the same either way. -#}
{% macro attribute_history() %}
    {%- set prev = load_relation(this) -%}
    {%- set upto = salesflow.safe_load_watermark() -%}
    {%- set mode = 'full' -%}
    {%- set after = 0 -%}
    {#- A previous state without rejects_count predates reject evidence: recompute. -#}
    {%- if execute and prev is not none and not flags.FULL_REFRESH
          and 'rejects_count' in adapter.get_columns_in_relation(prev) | map(attribute='name') | list -%}
        {%- set after_value = run_query('select max(through_load_id) from ' ~ prev).columns[0].values()[0] -%}
        {%- if after_value is not none -%}
            {%- set after = after_value | int -%}
            {%- if after > upto -%}{%- set upto = after -%}{%- endif -%}
            {%- if not salesflow.loads_have_updates(after, upto) -%}
                {%- set mode = 'incremental' -%}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    {%- if execute -%}
        {{ log(this.identifier ~ ': ' ~ mode ~ ' (' ~ (after if mode == 'incremental' else 0) ~ ' < load_id <= ' ~ upto ~ ')', info=false) }}
    {%- endif -%}
    {%- set product = ['product_id', 'product_name', 'brand', 'category'] -%}
    {%- set retailer = ['retailer_id', 'retailer_name', 'channel', 'location'] -%}
    {%- set all_columns = (product + retailer) | join(', ') %}
{#- The same grouping over the new rows of both inputs; only the measures differ (rejects are
    evidence, never sales) and rejects need a valid sale date. Two steps: a plain GROUP BY of
    the (product, retailer) attribute pairs, which PostgreSQL runs in parallel workers (a few
    thousand groups from millions of rows), then the GROUPING SETS over those pairs.
    PostgreSQL cannot run GROUPING SETS in parallel: straight over 5M rows it took 5.7-7.6 s,
    the two steps 3.8-4.2 s. -#}
{%- set inputs = [
    ('new_sale_combinations', source('raw', 'sales'),
     'count(*) as sales_count, sum(price) as sales_amount, 0::bigint as rejects_count', ''),
    ('new_reject_combinations', source('raw', 'sales_rejects'),
     '0::bigint as sales_count, 0::numeric as sales_amount, count(*) as rejects_count',
     'and sale_date is not null'),
] %}
with
{%- for name, relation, measures, condition in inputs %}
{{ name }}_pairs as (
    select
        {{ all_columns }},
        min(sale_date) as first_seen,
        max(sale_date) as last_seen,
        {{ measures }}
    from {{ relation }}
    where load_id <= {{ upto }}
      {%- if mode == 'incremental' %}
      and load_id > {{ after }}
      {%- endif %}
      {{ condition }}
    group by {{ all_columns }}
),

{{ name }} as (
    select
        case when grouping(product_id, product_name, brand, category) = 0
             then 'product' else 'retailer' end as kind,
        {{ all_columns }},
        min(first_seen) as first_seen,
        max(last_seen) as last_seen,
        sum(sales_count)::bigint as sales_count,
        sum(sales_amount) as sales_amount,
        sum(rejects_count)::bigint as rejects_count
    from {{ name }}_pairs
    group by grouping sets (({{ product | join(', ') }}), ({{ retailer | join(', ') }}))
),
{% endfor %}
combined as (
    select * from new_sale_combinations
    -- the product combinations of rows without a product id are not evidence of a product
    where not (kind = 'product' and product_id is null)

    union all

    select * from new_reject_combinations
    where (kind = 'product' and product_id is not null)
       or (kind = 'retailer' and retailer_id is not null and channel is not null)
    {%- if mode == 'incremental' %}

    union all

    select kind, {{ all_columns }}, first_seen, last_seen, sales_count, sales_amount, rejects_count
    from {{ prev }}
    {%- endif %}
)

select
    kind,
    {{ all_columns }},
    min(first_seen) as first_seen,
    max(last_seen) as last_seen,
    sum(sales_count)::bigint as sales_count,
    sum(sales_amount)::numeric(18, 2) as sales_amount,
    sum(rejects_count)::bigint as rejects_count,
    {{ upto }}::bigint as through_load_id
from combined
group by kind, {{ all_columns }}
{% endmacro %}
