{#- A stable surrogate key for one version of a dimension member: a 63-bit positive integer
    derived from md5 of the natural key and the version's attributes. The same inputs give
    the same key on every run, on a full refresh and on any machine (unlike row_number()
    over a set that changes), and a version keeps its key when late data moves its
    valid_from. `row(...)::text` keeps NULL and '' apart. -#}
{% macro version_key(columns) -%}
    (('x' || substr(md5(row({{ columns | join(', ') }})::text), 1, 16))::bit(64)::bigint
        & 9223372036854775807)
{%- endmacro %}
