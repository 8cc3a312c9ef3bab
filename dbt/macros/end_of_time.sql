{#- The open end of the current version's validity window (windows are half-open:
    valid_from <= date < valid_to). -#}
{% macro end_of_time() -%} date '9999-12-31' {%- endmacro %}
