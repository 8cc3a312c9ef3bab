{#- dbt's `relationships` test, with one shortcut: when the child column leads a valid,
    non-partial btree index of the tested table, the child values are read as its distinct
    values, one index probe each (macros/loose_index_scan.sql), instead of reading every row.
    On the 5M-row fct_sales, product_key and retailer_key lead the (key, sale_date) indexes: a
    few hundred probes instead of two full scans on every full build. The test fails on
    exactly the same data; it then returns each missing value once, not once per child row.
    Without such an index (or on a filtered subquery) it runs dbt's own query. Active through
    the `dispatch` config in dbt_project.yml. -#}
{% macro default__test_relationships(model, column_name, to, field) %}
    {%- if salesflow.has_btree_index(model, column_name) %}

with recursive child_values({{ column_name }}) as (
    {{- salesflow.loose_index_scan('child_values', model, column_name) }}
),

child as (
    select {{ column_name }} as from_field
    from child_values
    where {{ column_name }} is not null
),

parent as (
    select {{ field }} as to_field
    from {{ to }}
)

select
    from_field

from child
left join parent
    on child.from_field = parent.to_field

where parent.to_field is null

    {%- else %}
{{ dbt.default__test_relationships(model, column_name, to, field) }}
    {%- endif %}
{% endmacro %}
