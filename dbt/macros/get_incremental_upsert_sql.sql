{#- Incremental strategy 'upsert': a merge on the unique key done as
        insert into <target> select * from <new rows>
        on conflict (<unique_key>) do update set <every other column> = excluded.<column>
    Each new row probes the target's unique index. dbt's 'merge' and 'delete+insert' join the
    new rows to the whole target instead, and PostgreSQL hashes all of it: on a 5M-row
    fct_sales that costs seconds for a few thousand changed rows. Needs a unique index on
    exactly unique_key (fct_sales has one). Used with incremental_strategy='upsert'. -#}
{% macro get_incremental_upsert_sql(arg_dict) %}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- if key is not string -%}
        {{ exceptions.raise_compiler_error("the upsert strategy needs a single-column unique_key") }}
    {%- endif -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='name') | list -%}
    {%- set quoted = arg_dict['dest_columns'] | map(attribute='quoted') | list %}
    insert into {{ target }} ({{ quoted | join(', ') }})
    select {{ quoted | join(', ') }}
    from {{ source }}
    on conflict ({{ adapter.quote(key) }}) do update set
    {%- for column in columns if column != key %}
        {{ adapter.quote(column) }} = excluded.{{ adapter.quote(column) }}{{ ',' if not loop.last }}
    {%- endfor %}
{% endmacro %}
