{#- The body of a recursive CTE `name(column)` that lists the distinct non-NULL values of
    `column` in `relation` in ascending order, one probe each of an index led by `column` (a
    loose index scan: PostgreSQL 15 has no skip scan). A few hundred probes instead of reading
    every row of a multi-million-row fact. Its last row is NULL: callers filter it out. -#}
{% macro loose_index_scan(name, relation, column) %}
    (select {{ column }} from {{ relation }}
     where {{ column }} is not null
     order by {{ column }} limit 1)
    union all
    select (select m.{{ column }} from {{ relation }} as m
            where m.{{ column }} > previous.{{ column }}
            order by m.{{ column }} limit 1)
    from {{ name }} as previous
    where previous.{{ column }} is not null
{%- endmacro %}
