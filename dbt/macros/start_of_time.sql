{#- The start of the unknown member's validity window (it covers every date). -#}
{% macro start_of_time() -%} date '1900-01-01' {%- endmacro %}
