{#- Whether `relation` has a valid, non-partial btree index whose first key column is
    `column_name`; with unique_alone=true, a unique index on that column alone. False for a
    filtered subquery (a string) and while parsing. Used by the generic tests unique_by_index
    and relationships_by_index to let PostgreSQL's own structures answer. -#}
{% macro has_btree_index(relation, column_name, unique_alone=false) %}
    {%- if not execute or relation is string or relation.identifier is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set sql -%}
        select exists (
            select 1
            from pg_index i
            join pg_class t on t.oid = i.indrelid
            join pg_namespace n on n.oid = t.relnamespace
            join pg_class ix on ix.oid = i.indexrelid
            join pg_am am on am.oid = ix.relam
            join pg_attribute a on a.attrelid = t.oid and a.attnum = i.indkey[0]
            where n.nspname = '{{ relation.schema }}' and t.relname = '{{ relation.identifier }}'
              and am.amname = 'btree' and i.indisvalid and i.indpred is null
              and a.attname = '{{ column_name }}'
              {%- if unique_alone %}
              and i.indisunique and i.indnkeyatts = 1
              {%- endif %})
    {%- endset -%}
    {{ return(run_query(sql).columns[0].values()[0]) }}
{% endmacro %}
