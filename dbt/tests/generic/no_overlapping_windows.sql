{#- SCD2 integrity: within each `partition_by` group, the half-open validity windows
    [lower, upper) of the rows neither overlap nor leave a gap (each window ends where the
    next begins), and each window is well-formed (lower <= upper). Rows whose partition key
    is NULL (an unknown member) are ignored. -#}
{% test no_overlapping_windows(model, partition_by, lower, upper, allow_gaps=false) %}
with ordered as (
    select
        {{ partition_by }} as member,
        {{ lower }} as lower_bound,
        {{ upper }} as upper_bound,
        lead({{ lower }}) over (partition by {{ partition_by }} order by {{ lower }}, {{ upper }}) as next_lower
    from {{ model }}
    where {{ partition_by }} is not null
)
select *
from ordered
where lower_bound > upper_bound
   or next_lower < upper_bound
   {%- if not allow_gaps %}
   or next_lower > upper_bound
   {%- endif %}
{% endtest %}
