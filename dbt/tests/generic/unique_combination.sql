{#- The combination of `columns` is unique; NULLs compare equal (GROUP BY semantics), so a
    grain with a nullable member (e.g. the unknown product) is still checked. -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
