{#- Fails on rows where the column is negative (or, with strictly_positive, zero). NULLs pass:
    combine with not_null where they must not occur. -#}
{% test non_negative(model, column_name, strictly_positive=false) %}
select {{ column_name }}
from {{ model }}
where {{ column_name }} {{ '<= 0' if strictly_positive else '< 0' }}
{% endtest %}
