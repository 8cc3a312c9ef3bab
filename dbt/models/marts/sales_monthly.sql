{#- Monthly sales by product and channel: one row per (month, product_id, product_name,
    channel, currency), from the monthly cells (a few rows per month) and the product names.
    revenue = sum of line amounts, never across currencies. -#}
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
join {{ ref('dim_product') }} as products on cells.product_key = products.product_key
group by 1, 2, 3, 4, 5
