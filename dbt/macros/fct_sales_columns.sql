{#- The fact's columns, each cast to its type; `prefix` is prepended to the source column
    names (e.g. 'old_'). -#}
{% macro fct_sales_columns(prefix='') -%}
    {%- for name, type in salesflow.fct_sales_column_types() -%}
        {{ prefix ~ name }}::{{ type }} as {{ name }}{{ ',\n    ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
