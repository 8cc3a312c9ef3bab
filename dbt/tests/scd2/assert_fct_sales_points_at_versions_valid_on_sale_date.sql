{#- Every fact finds its dimension rows: the product and retailer versions it points at exist,
    belong to its own product / retailer, and are valid on its sale date (the unknown member
    only for a missing natural key). Checks the rows of the latest build (every row on a
    full build; var test_scope=all: always). -#}
select
    f.sale_id,
    f.sale_date,
    f.product_id,
    f.product_key,
    p.product_id as version_product_id,
    p.valid_from as product_valid_from,
    p.valid_to as product_valid_to,
    f.retailer_id,
    f.retailer_key,
    r.retailer_id as version_retailer_id,
    r.valid_from as retailer_valid_from,
    r.valid_to as retailer_valid_to
from {{ ref('fct_sales') }} as f
left join {{ ref('dim_product') }} as p on f.product_key = p.product_key
left join {{ ref('dim_retailer') }} as r on f.retailer_key = r.retailer_key
where
    {%- if var('test_scope', 'batch') != 'all' %}
    f.dbt_updated_at = {{ salesflow.latest_build_literal(ref('fct_sales')) }} and  -- noqa: CV05
    {%- endif %}
    (
        p.product_key is null
        or p.product_id is distinct from f.product_id
        or not (f.sale_date >= p.valid_from and f.sale_date < p.valid_to)
        or r.retailer_key is null
        or r.retailer_id is distinct from f.retailer_id
        or not (f.sale_date >= r.valid_from and f.sale_date < r.valid_to)
    )
