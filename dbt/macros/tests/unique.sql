{#- dbt's `unique` test, with one shortcut: when the column is the only key of a valid, unique,
    non-partial index on the tested table, PostgreSQL itself guarantees that no two rows share
    a value, for every row and at all times, so the test checks the catalog for that index
    instead of grouping the whole table (on the 5M-row fct_sales that is seconds on every full
    build). Without such an index (or on a filtered subquery) it runs dbt's own query.
    Active through the `dispatch` config in dbt_project.yml. -#}
{% macro default__test_unique(model, column_name) %}
    {%- if salesflow.has_unique_index(model, column_name) %}
-- {{ column_name }} is unique by a unique index of {{ model }}
select null::text as unique_field, 0 as n_records where false
    {%- else %}
{{ dbt.default__test_unique(model, column_name) }}
    {%- endif %}
{% endmacro %}

{% macro has_unique_index(relation, column_name) %}
    {%- if not execute or relation is string or relation.identifier is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set sql -%}
        select exists (
            select 1
            from pg_index i
            join pg_class t on t.oid = i.indrelid
            join pg_namespace n on n.oid = t.relnamespace
            join pg_attribute a on a.attrelid = t.oid and a.attnum = i.indkey[0]
            where n.nspname = '{{ relation.schema }}' and t.relname = '{{ relation.identifier }}'
              and i.indisunique and i.indisvalid and i.indpred is null
              and i.indnkeyatts = 1 and a.attname = '{{ column_name }}')
    {%- endset -%}
    {{ return(run_query(sql).columns[0].values()[0]) }}
{% endmacro %}
