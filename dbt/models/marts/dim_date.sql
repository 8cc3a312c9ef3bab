{#- A generated calendar: every day of the whole years that the sales cover (from 1 January
    of the year of the earliest sale to 31 December of the year of the latest). -#}
{{ config(indexes=[{'columns': ['date_day'], 'unique': True}]) }}

with bounds as (
    select
        date_trunc('year', min(first_seen))::date as first_day,
        (date_trunc('year', max(last_seen)) + interval '1 year - 1 day')::date as last_day
    from {{ ref('base_sales__attribute_history') }}
    where kind = 'retailer'  -- every sale is in exactly one retailer combination
),

days as (
    select series.day::date as date_day
    from bounds
    cross join lateral
        generate_series(bounds.first_day, bounds.last_day, interval '1 day') as series (day)
)

select
    date_day,
    (extract(year from date_day) * 10000 + extract(month from date_day) * 100
        + extract(day from date_day))::integer as date_key,
    extract(year from date_day)::integer as year,
    extract(quarter from date_day)::integer as quarter,
    extract(month from date_day)::integer as month,
    trim(to_char(date_day, 'Month')) as month_name,
    date_trunc('month', date_day)::date as month_start,
    extract(day from date_day)::integer as day_of_month,
    extract(isodow from date_day)::integer as day_of_week,
    trim(to_char(date_day, 'Day')) as day_name,
    extract(week from date_day)::integer as iso_week,
    extract(isodow from date_day) in (6, 7) as is_weekend
from days
