-- One row per sale of stg_sales, with a product id missing in the feed resolved from the
-- product name (and brand) where exactly one product id is known for it; otherwise it stays
-- NULL and the fact points at the unknown product (-1). See the README, "Product ids".
{{ config(materialized='view') }}

-- (product_name, brand) -> product_id and product_name -> product_id, learnt from the rows
-- that carried an id; only names with exactly one known id
with id_by_name_and_brand as (
    select product_name, brand, min(product_id) as product_id
    from {{ ref('base_sales__attribute_history') }}
    where kind = 'product'
    group by product_name, brand
    having count(distinct product_id) = 1
),

id_by_name as (
    select product_name, min(product_id) as product_id
    from {{ ref('base_sales__attribute_history') }}
    where kind = 'product'
    group by product_name
    having count(distinct product_id) = 1
),

with_feed_id as (
    select
        *,
        product_id as resolved_product_id,
        'feed' as product_id_source
    from {{ ref('stg_sales') }}
    where product_id is not null
),

without_feed_id as (
    select
        sales.*,
        coalesce(by_brand.product_id, by_name.product_id) as resolved_product_id,
        case when coalesce(by_brand.product_id, by_name.product_id) is null
             then 'unresolved' else 'product_name' end as product_id_source
    from {{ ref('stg_sales') }} as sales
    left join id_by_name_and_brand as by_brand
        on sales.product_name = by_brand.product_name
        and sales.brand = by_brand.brand
    left join id_by_name as by_name
        on sales.product_name = by_name.product_name
        and sales.brand is null
    where sales.product_id is null
),

sales as (
    select * from with_feed_id
    union all
    select * from without_feed_id
)

select
    sale_id,
    sale_date,
    resolved_product_id as product_id,
    product_id as feed_product_id,
    product_id_source,
    product_name,
    brand,
    category,
    retailer_id,
    retailer_name,
    channel,
    location,
    quantity,
    unit_price,
    line_amount,
    currency,
    dq_flags,
    load_id,
    source_line,
    loaded_at
from sales
