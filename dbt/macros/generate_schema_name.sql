{#- Models land in the schema named by their +schema config, exactly (`staging`, `marts`),
    not dbt's default `<target schema>_<custom schema>`. Models without one go to the
    target's schema (marts in profiles.yml). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
