{#- The latest dbt_updated_at of `relation` as a SQL literal ('null' when empty or parsing). -#}
{% macro latest_build_literal(relation) %}
    {%- if not execute -%}{{ return('null') }}{%- endif -%}
    {%- set value = run_query('select max(dbt_updated_at)::text from ' ~ relation).columns[0].values()[0] -%}
    {{ return("'" ~ value ~ "'::timestamptz" if value is not none else 'null') }}
{% endmacro %}
