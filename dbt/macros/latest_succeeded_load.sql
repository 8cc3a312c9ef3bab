{#- load_id of the latest succeeded load of the ledger (None when there is none, and while
    parsing). -#}
{% macro latest_succeeded_load() %}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set sql -%}
        select max(load_id) from {{ source('salesflow', 'loads') }} where status = 'succeeded'
    {%- endset -%}
    {%- set value = run_query(sql).columns[0].values()[0] -%}
    {{ return(value | int if value is not none else none) }}
{% endmacro %}
