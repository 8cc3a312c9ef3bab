{#- One row per sale in raw.sales: renamed and typed for analysis, plus the documented
    repairs (nothing else):
    - line_amount = price (the feed's Price is already the line amount; never price * quantity)
    - unit_price  = price / quantity, rounded to var('unit_price_scale') decimals
    - product_id  = the feed's product id, or, where the feed left it blank, the one product id
      known for the same product name (and brand, when the row has one). When no id or more
      than one is known, it stays NULL and the fact points at the unknown product (-1).
    A view over two branches, rows with a product id (plain projection) and rows without one
    (the lookup): filters on load_id or feed_product_id reach raw.sales' indexes in both, and
    the big branch has nothing per row that would keep PostgreSQL from hash joins and
    parallel scans. -#}
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
    from {{ source('raw', 'sales') }}
    where product_id is not null
),

without_feed_id as (
    select
        sales.*,
        coalesce(by_brand.product_id, by_name.product_id) as resolved_product_id,
        case when coalesce(by_brand.product_id, by_name.product_id) is null
             then 'unresolved' else 'product_name' end as product_id_source
    from {{ source('raw', 'sales') }} as sales
    left join id_by_name_and_brand as by_brand
        on by_brand.product_name = sales.product_name
        and by_brand.brand = sales.brand
    left join id_by_name as by_name
        on by_name.product_name = sales.product_name
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
    round(price / nullif(quantity, 0), {{ var('unit_price_scale') }}) as unit_price,
    price as line_amount,
    currency,
    dq_flags,
    load_id,
    source_line,
    loaded_at
from sales
