{#- dbt's `unique` test, with one shortcut: when the column is the only key of a valid, unique,
    non-partial index on the tested table, PostgreSQL itself guarantees that no two rows share
    a value, for every row and at all times, so the test checks the catalog for that index
    instead of grouping the whole table (on the 5M-row fct_sales that is seconds on every full
    build). Without such an index (or on a filtered subquery) it runs dbt's own query.
    Active through the `dispatch` config in dbt_project.yml. -#}
{% macro default__test_unique(model, column_name) %}
    {%- if salesflow.has_btree_index(model, column_name, unique_alone=true) %}
-- {{ column_name }} is unique by a unique index of {{ model }}
select null::text as unique_field, 0 as n_records where false
    {%- else %}
{{ dbt.default__test_unique(model, column_name) }}
    {%- endif %}
{% endmacro %}
