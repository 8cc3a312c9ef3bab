{#- Monthly sales by product and channel: the business summary. Grain: one row per (month,
    product_id, product_name, channel, currency); the name is that of the product version valid
    on the sale dates (a product renamed mid-month has a row for each name), the channel that
    of the sales. revenue = sum of line amounts (the feed's Price is the line amount; never
    price * quantity), in one currency: amounts in different currencies are never added. Sales whose product is unknown are under product_id NULL, 'Unknown product'.
    Built from the monthly cells (a few rows per month), so it costs nothing on big facts. -#}
{{ config(indexes=[{'columns': ['month']}, {'columns': ['product_id', 'month']}]) }}

select
    cells.month,
    products.product_id,
    products.product_name,
    cells.channel,
    cells.currency,
    sum(cells.quantity)::bigint as quantity,
    sum(cells.revenue)::numeric(18, 2) as revenue,
    sum(cells.sales_count)::bigint as sales_count
from {{ ref('int_sales_monthly_cells') }} as cells
join {{ ref('dim_product') }} as products on products.product_key = cells.product_key
group by 1, 2, 3, 4, 5
