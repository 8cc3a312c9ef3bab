{#- The evidence for scd2_versions of the members of one kind ('product' or 'retailer') of
    base_sales__attribute_history: (natural key, attributes, sale_date, sales, rejects).

    A member sold under a single combination of attributes (or, never sold, rejected under a
    single one) needs no more than its combinations and their first sale dates: one row each.
    The others are followed day by day: their rows in raw.sales and raw.sales_rejects (through
    the history's high-water mark, which the BRIN on load_id bounds). raw.sales has no index
    on the natural keys: a product or retailer sells every day, so its rows lie on most pages
    of a month, and such an index sends a scan to nearly every page anyway (bench/README.md).
    The history itself stays one row per combination, a few hundred rows that
    int_sales_product_id_resolved's id lookup reads cheaply.
    `reject_condition`: which rejects are evidence (as in the history). `more_sales`, when
    given, names a relation of more sales in the same columns (dim_product's sales whose id was
    repaired from the name): they count in choosing whom to follow and are part of the result. -#}
{% macro scd2_evidence(kind, natural_key, attributes, reject_condition, more_sales=none) %}
    {%- set history = ref('base_sales__attribute_history') -%}
    {%- set columns = ([natural_key] + attributes) | join(', ') %}
    with followed as (
        select {{ natural_key }}
        from (
            select {{ columns }}, sales_count > 0 as sold
            from {{ history }}
            where kind = '{{ kind }}' and {{ natural_key }} is not null
            {%- if more_sales is not none %}
            union
            select {{ columns }}, true from {{ more_sales }}
            {%- endif %}
        ) as combinations
        group by {{ natural_key }}
        having count(*) filter (where sold) > 1 or (not bool_or(sold) and count(*) > 1)
    )

    select {{ columns }}, first_seen as sale_date, sales_count as sales, rejects_count as rejects
    from {{ history }}
    where kind = '{{ kind }}' and {{ natural_key }} is not null
      and {{ natural_key }} not in (select {{ natural_key }} from followed)

    union all

    {%- for relation, measures, condition in [
            (source('raw', 'sales'), 'count(*) as sales, 0 as rejects', 'true'),
            (source('raw', 'sales_rejects'), '0 as sales, count(*) as rejects', reject_condition)] %}
    select {{ columns }}, sale_date, {{ measures }}
    from {{ relation }}
    where {{ natural_key }} in (select {{ natural_key }} from followed)
      and load_id <= (select max(through_load_id) from {{ history }})
      and {{ condition }}
    group by {{ columns }}, sale_date
    {{- '\n\n    union all\n' if not loop.last }}
    {%- endfor %}
    {%- if more_sales is not none %}

    union all

    select {{ columns }}, sale_date, sales, rejects from {{ more_sales }}
    {%- endif %}
{% endmacro %}
