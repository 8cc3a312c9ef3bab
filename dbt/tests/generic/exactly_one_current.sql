{#- SCD2: each member (`partition_by`) has exactly one current version. -#}
{% test exactly_one_current(model, partition_by, current_flag='is_current') %}
select {{ partition_by }}, count(*) filter (where {{ current_flag }}) as current_versions
from {{ model }}
group by {{ partition_by }}
having count(*) filter (where {{ current_flag }}) <> 1
{% endtest %}
