-- One row per sale of raw.sales, renamed and typed. The feed's Price is the line amount:
-- line_amount = price and unit_price = price / quantity (never price * quantity).
select
    sale_id,
    sale_date,
    product_id,
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
from {{ source('raw', 'sales') }}
