{#- load_id of the latest succeeded load (None when there is none, and while parsing). -#}
{% macro latest_succeeded_load() %}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set value = run_query("select max(load_id) from salesflow.loads where status = 'succeeded'").columns[0].values()[0] -%}
    {{ return(value | int if value is not none else none) }}
{% endmacro %}
