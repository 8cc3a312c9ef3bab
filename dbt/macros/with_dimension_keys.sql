{#- Sales rows (`sales`: a CTE or relation with sale_id, sale_date, product_id, retailer_id,
    ...) with the surrogate keys of the dimension versions valid on their sale date; -1 (the
    unknown member) when the natural key is missing or, defensively, when no version covers
    the date. A hash join on the natural key with the date range as a join filter: each sale
    meets only the few versions of its own product and retailer. -#}
{% macro with_dimension_keys(sales) %}
    select
        s.sale_id::bigint as sale_id,
        s.sale_date::date as sale_date,
        coalesce(p.product_key, -1)::bigint as product_key,
        coalesce(r.retailer_key, -1)::bigint as retailer_key,
        s.product_id::bigint as product_id,
        s.retailer_id::bigint as retailer_id,
        s.channel::text as channel,
        s.quantity::integer as quantity,
        s.unit_price::numeric(14, 4) as unit_price,
        s.line_amount::numeric(12, 2) as line_amount,
        s.currency::text as currency,
        s.product_id_source::text as product_id_source,
        s.load_id::bigint as load_id
    from {{ sales }} as s
    left join {{ ref('dim_product') }} as p
        on p.product_id = s.product_id
        and s.sale_date >= p.valid_from and s.sale_date < p.valid_to
    left join {{ ref('dim_retailer') }} as r
        on r.retailer_id = s.retailer_id
        and s.sale_date >= r.valid_from and s.sale_date < r.valid_to
{% endmacro %}
