{#- Whether any succeeded load in (after_load_id, upto_load_id] updated sales that were
    loaded before (same sale_id, new content). Updates can take evidence away from an
    accumulated history (an attribute combination, an earliest date), which a min/max merge
    cannot undo: the history models then recompute from all rows. -#}
{% macro loads_have_updates(after_load_id, upto_load_id) %}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set sql -%}
        select exists (
            select 1 from {{ source('salesflow', 'loads') }}
            where load_id > {{ after_load_id }} and load_id <= {{ upto_load_id }}
              and status = 'succeeded' and rows_updated > 0)
    {%- endset -%}
    {{ return(run_query(sql).columns[0].values()[0]) }}
{% endmacro %}
