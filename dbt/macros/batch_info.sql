{#- The current batch (one row of int_sales_batch) as a dict; mode 'none' while parsing. -#}
{% macro batch_info() %}
    {%- set batch = ref('int_sales_batch') -%}  {#- outside the branch: parsing sees the dependency -#}
    {%- if not execute -%}
        {{ return({'mode': 'none', 'from_load_id': 0, 'to_load_id': 0, 'has_updates': false}) }}
    {%- endif -%}
    {%- set sql -%}
        select batch_mode, from_load_id, to_load_id, has_updates,
               fct_version_before::text as fct_version_before, batch_started_at::text as batch_started_at
        from {{ batch }}
    {%- endset -%}
    {%- set row = run_query(sql).rows[0] -%}
    {{ return({'mode': row[0], 'from_load_id': row[1] | int, 'to_load_id': row[2] | int,
               'has_updates': row[3], 'fct_version_before': row[4], 'batch_started_at': row[5]}) }}
{% endmacro %}
