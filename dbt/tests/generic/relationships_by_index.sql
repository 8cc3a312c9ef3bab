{#- Every non-NULL `column_name` value has a row with that `field` value in `to` (dbt's
    `relationships`). When the column leads a valid, non-partial btree index of the tested
    table, its values are read as its distinct values, one index probe each (a loose index
    scan, macros/loose_index_scan.sql), instead of reading every row: on a 5M-row fct_sales,
    a few hundred probes instead of a full scan. Fails on exactly the data that fails dbt's
    `relationships`, and then returns each missing value once, not once per child row.
    Without such an index (or on a filtered subquery) it runs dbt's own query. -#}
{% test relationships_by_index(model, column_name, to, field) %}
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

select from_field
from child
left join parent
    on child.from_field = parent.to_field
where parent.to_field is null

    {%- else %}
{{ dbt.default__test_relationships(model, column_name, to, field) }}
    {%- endif %}
{% endtest %}
