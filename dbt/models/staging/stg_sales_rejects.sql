-- Rows of the feed that the loader quarantined, one per rejected input row, with the values of
-- the fields that parsed and passed their own checks (NULL where a field was missing or itself
-- invalid, and throughout for record-level rejects such as unbalanced_quote). Renamed like
-- stg_sales (price is the line amount); nothing is repaired or derived here.
select
    load_id,
    source_line,
    raw_record,
    reasons,
    message,
    rejected_at,
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
    price as line_amount,
    currency
from {{ source('raw', 'sales_rejects') }}
