{#- Products, SCD type 2 in business time (macros/scd2_versions.sql), plus the unknown member
    (product_key -1) for sales whose product id is missing and could not be resolved from the
    name. README, "SCD2 in business time". -#}
{{ config(
    indexes=[
        {'columns': ['product_key'], 'unique': True},
        {'columns': ['product_id', 'valid_from']},
    ]
) }}

with through as (
    select max(through_load_id) as load_id from {{ ref('base_sales__attribute_history') }}
),

-- sales whose id was repaired from the name are evidence of the product too (few rows: the
-- filter on feed_product_id reaches raw.sales' partial index of missing product ids)
repaired as (
    select
        resolved.product_id, resolved.product_name, resolved.brand, resolved.category,
        resolved.sale_date, count(*) as sales, 0 as rejects
    from {{ ref('int_sales_product_id_resolved') }} as resolved
    where resolved.feed_product_id is null
      and resolved.product_id is not null
      and resolved.load_id <= (select through.load_id from through)
    group by
        resolved.product_id, resolved.product_name, resolved.brand, resolved.category,
        resolved.sale_date
),

days as (
    {{ salesflow.scd2_evidence('product', 'product_id', ['product_name', 'brand', 'category'],
                               'sale_date is not null', more_sales='repaired') }}
),

versions as (
    {{ salesflow.scd2_versions(
        'select product_id, product_name, brand, category, sale_date, sales, rejects from days',
        'product_id', ['product_name', 'brand', 'category'], 'product_key',
        complete='product_name is not null and brand is not null and category is not null') }}
)

select
    product_key,
    product_id,
    product_name,
    brand,
    category,
    valid_from,
    valid_to,
    is_current,
    version_number::integer as version_number
from versions

union all

select
    -1 as product_key,
    null::bigint as product_id,
    'Unknown product' as product_name,
    'Unknown' as brand,
    'Unknown' as category,
    {{ salesflow.start_of_time() }} as valid_from,
    {{ salesflow.end_of_time() }} as valid_to,
    true as is_current,
    1 as version_number
