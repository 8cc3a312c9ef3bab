{#- `column_name` is unique. When it is the only key of a valid, unique, non-partial index of
    the tested table, PostgreSQL itself guarantees that no two rows share a value, for every
    row and at all times, so the test checks the catalog for that index instead of grouping
    the whole table (on a 5M-row fct_sales that is seconds on every full build). Without such
    an index (or on a filtered subquery) it runs dbt's own `unique` query. Fails on exactly
    the data that fails dbt's `unique`. -#}
{% test unique_by_index(model, column_name) %}
    {%- if salesflow.has_btree_index(model, column_name, unique_alone=true) %}
-- {{ column_name }} is unique by a unique index of {{ model }}
select null::text as unique_field, 0 as n_records where false
    {%- else %}
{{ dbt.default__test_unique(model, column_name) }}
    {%- endif %}
{% endtest %}
