{#- The fact's columns and their types, in order (the change set carries the same ones). -#}
{% macro fct_sales_column_types() -%}
    {{ return([
        ('sale_id', 'bigint'), ('sale_date', 'date'), ('product_key', 'bigint'),
        ('retailer_key', 'bigint'), ('product_id', 'bigint'), ('retailer_id', 'bigint'),
        ('channel', 'text'), ('quantity', 'integer'), ('unit_price', 'numeric(14, 4)'), ('line_amount', 'numeric(12, 2)'),
        ('currency', 'text'), ('product_id_source', 'text'), ('load_id', 'bigint'),
    ]) }}
{%- endmacro %}
