{#- SCD type 2 in business time, derived from the sales history.

    `days` is a query of (natural key, attributes, sale date, sales, rejects): a combination
    of attributes seen on a sale date in `sales` loaded rows and `rejects` quarantined ones (a
    combination and day may come in several rows; they add up). Loaded sales decide a
    member's versions; quarantined rows count only for a member that has no loaded sale (a
    product seen only on rejected rows is still known), so a rejected row with a typo never
    outvotes or splits the versions of the sales. A member with a single combination may come as one row, on
    its first sale date (macros/scd2_evidence.sql). A version is a run of sale days on which the
    member was seen with the same attributes: it is valid from the first day of the run until
    the next run begins (half-open windows: valid_from <= date < valid_to; the current version
    ends at 9999-12-31). A combination that comes back
    (A -> B -> A) is a new version, so every sale points at a version with its own
    attributes. When two combinations are seen on the same day, the day belongs to the one
    with more rows (then the smaller attribute values): versions are per day, so the sales of
    the other point at that one. Because the versions are a function of the sales alone, a
    full refresh rebuilds exactly the same rows and keys.

    A missing value is not a change: `complete` is a condition on the attributes that says a
    combination has all its values (e.g. a brand). When a member has complete combinations,
    only those make versions; the days of the others only say that the member existed then:
    the first version starts at the member's first sale of any kind, and a sale that lacks an
    attribute points at the version valid on its date. Without this, one row with a blank
    brand would open a version with brand NULL, and the product's later sales would point at
    it. A member that has no complete combination keeps them all.

    Keys (macros/version_key.sql): a hash of the natural key and the attributes; from the second run
    of the same attributes on (A -> B -> A), also of its occurrence number. A version keeps
    its key when late data moves its valid_from. -#}
{% macro scd2_versions(days, natural_key, attributes, key_name, complete) %}
    {%- set attribute_list = attributes | join(', ') %}
    {%- set e_attributes, smallest_first, same_attributes = [], [], [] -%}
    {%- for a in attributes -%}
        {%- do e_attributes.append('e.' ~ a) -%}
        {%- do smallest_first.append(a ~ ' nulls first') -%}
        {%- do same_attributes.append('e.' ~ a ~ ' is not distinct from c.' ~ a) -%}
    {%- endfor %}
    with all_evidence as (
        select
            {{ natural_key }}, {{ attribute_list }}, sale_date, sales, rejects,
            coalesce({{ complete }}, false) as is_complete,
            bool_or(sales > 0) over (partition by {{ natural_key }}) as member_has_sales
        from ({{ days }}) as days
    ),

    -- the rows that decide: the loaded sales, or the rejects of a member without any
    evidence as (
        select *
        from (
            select {{ natural_key }}, {{ attribute_list }}, sale_date, is_complete,
                   case when member_has_sales then sales else rejects end as evidence
            from all_evidence
        ) as deciding
        where evidence > 0
    ),

    combinations as (
        select
            {{ natural_key }}, {{ attribute_list }},
            bool_or(is_complete) as is_complete,
            min(sale_date) as first_day
        from evidence
        group by {{ natural_key }}, {{ attribute_list }}
    ),

    members as (
        select
            {{ natural_key }},
            min(first_day) as member_first_seen,
            bool_or(is_complete) as has_complete,
            count(*) filter (where is_complete) as complete_combinations,
            count(*) as all_combinations
        from combinations
        group by {{ natural_key }}
    ),

    usable_combinations as (
        select
            c.*,
            m.member_first_seen,
            case when m.has_complete then m.complete_combinations else m.all_combinations end
                as member_combinations
        from combinations as c
        join members as m using ({{ natural_key }})
        where c.is_complete or not m.has_complete
    ),

    -- The usual case: a member seen with one combination has one version, from its first
    -- sale. The others are followed day by day.
    single_versions as (
        select {{ natural_key }}, {{ attribute_list }}, member_first_seen as first_day,
               member_first_seen, 1::bigint as occurrence
        from usable_combinations
        where member_combinations = 1
    ),

    -- the combination of each member and day: the one with the most rows that day
    daily as (
        select distinct on ({{ natural_key }}, sale_date)
            {{ natural_key }}, {{ attribute_list }}, sale_date, member_first_seen
        from (
            select
                e.{{ natural_key }}, {{ e_attributes | join(', ') }}, e.sale_date,
                c.member_first_seen, sum(e.evidence) as evidence
            from evidence as e
            join usable_combinations as c
              on c.{{ natural_key }} = e.{{ natural_key }} and {{ same_attributes | join(' and ') }}
            where c.member_combinations > 1
            group by e.{{ natural_key }}, {{ e_attributes | join(', ') }}, e.sale_date,
                     c.member_first_seen
        ) as day_evidence
        order by {{ natural_key }}, sale_date, evidence desc, {{ smallest_first | join(', ') }}
    ),

    -- runs of days with the same attributes
    runs as (
        select
            *,
            count(*) filter (where changed) over (
                partition by {{ natural_key }} order by sale_date) as run_number
        from (
            select
                *,
                (row({{ attribute_list }})::text is distinct from lag(row({{ attribute_list }})::text)
                    over (partition by {{ natural_key }} order by sale_date)) as changed
            from daily
        ) as marked
    ),

    run_versions as (
        select
            {{ natural_key }}, {{ attribute_list }},
            min(sale_date) as first_day,
            min(member_first_seen) as member_first_seen,
            row_number() over (
                partition by {{ natural_key }}, {{ attribute_list }} order by min(sale_date))
                as occurrence
        from runs
        group by {{ natural_key }}, {{ attribute_list }}, run_number
    ),

    versions as (
        select * from single_versions
        union all
        select * from run_versions
    )

    select
        case when occurrence = 1
             then {{ salesflow.version_key([natural_key] + attributes) }}
             else {{ salesflow.version_key([natural_key] + attributes + ['occurrence']) }}
        end as {{ key_name }},
        {{ natural_key }},
        {{ attributes | join(',\n        ') }},
        valid_from,
        valid_to,
        version_number,
        valid_to = {{ salesflow.end_of_time() }} as is_current
    from (
        select
            *,
            case when row_number() over member_versions = 1 then member_first_seen
                 else first_day end as valid_from,
            coalesce(
                lead(first_day) over member_versions,
                {{ salesflow.end_of_time() }}) as valid_to,
            row_number() over member_versions as version_number
        from versions
        window member_versions as (partition by {{ natural_key }} order by first_day)
    ) as versioned
{% endmacro %}
