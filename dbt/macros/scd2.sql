{#- SCD type 2 in business time, derived from the sales history.

    `combinations` is a query with one row per (natural key, attributes) combination and the
    first date it was seen in a sale (first_seen). Each combination is one version of the
    member: it is valid from the first sale date on which it was seen until the next version
    of the same member begins (half-open windows: valid_from <= date < valid_to; the current
    version ends at 9999-12-31). Ties (two combinations first seen on the same day) are broken
    by the attribute values, so the result is deterministic; the earlier one then has an
    empty window (valid_to = valid_from) and no sale points at it. Because the versions are a
    function of the sales alone, a full refresh rebuilds exactly the same rows and keys.

    A missing value is not a change: `complete` is a condition on the attributes that says a
    combination has all its values (e.g. a brand). When a member has complete combinations,
    only those are versions; the others (a sale without its brand) only say that the member
    existed then: the first version starts at the member's first sale of any kind, and a sale
    that lacks an attribute points at the version valid on its date. Without this, one row
    with a blank brand would open a new version with brand NULL, and every later sale of the
    product would point at it. A member that has no complete combination keeps them all. -#}
{% macro scd2_versions(combinations, natural_key, attributes, key_name, complete) %}
    {%- set order_by = ['first_seen'] -%}
    {%- for a in attributes -%}{%- do order_by.append(a ~ ' nulls first') -%}{%- endfor %}
    select
        {{ key_name }},
        {{ natural_key }},
        {{ attributes | join(',\n        ') }},
        valid_from,
        valid_to,
        version_number,
        valid_to = {{ salesflow.end_of_time() }} as is_current
    from (
        select
            {{ salesflow.version_key([natural_key] + attributes) }} as {{ key_name }},
            {{ natural_key }},
            {{ attributes | join(',\n            ') }},
            case when row_number() over versions = 1 then member_first_seen else first_seen end
                as valid_from,
            coalesce(
                lead(first_seen) over versions,
                {{ salesflow.end_of_time() }}) as valid_to,
            row_number() over versions as version_number
        from (
            select
                *,
                min(first_seen) over member as member_first_seen,
                bool_or(is_complete) over member as member_has_complete
            from (
                select *, coalesce({{ complete }}, false) as is_complete
                from ({{ combinations }}) as combinations
            ) as combinations
            window member as (partition by {{ natural_key }})
        ) as evidence
        where is_complete or not member_has_complete
        window versions as (partition by {{ natural_key }} order by {{ order_by | join(', ') }})
    ) as versioned
{% endmacro %}
