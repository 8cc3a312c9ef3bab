-- dim_date has every day between its first and its last, whole years.
select min(date_day) as first_day, max(date_day) as last_day, count(*) as days
from {{ ref('dim_date') }}
having count(*) > 0
   and (count(*) <> max(date_day) - min(date_day) + 1
        or extract(doy from min(date_day)) <> 1
        or max(date_day) <> (date_trunc('year', max(date_day)) + interval '1 year - 1 day')::date)
