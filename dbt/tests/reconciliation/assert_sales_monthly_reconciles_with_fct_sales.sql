{#- sales_monthly adds up to fct_sales month by month (revenue, quantity, number of sales).
    Needs a pass over the whole fact: runs on full builds and with var test_scope=all; an
    incremental build's monthly figures are checked by the warehouse tests
    (tests/warehouse) and by the next full build. -#}
-- depends_on: {{ ref('sales_monthly') }}
-- depends_on: {{ ref('fct_sales') }}
{%- set b = salesflow.batch_info() -%}
{%- if var('test_scope', 'batch') == 'all' or b.mode == 'full' %}

with monthly as (
    select month, sum(revenue) as revenue, sum(quantity) as quantity, sum(sales_count) as sales_count
    from {{ ref('sales_monthly') }}
    group by month
),

facts as (
    select
        date_trunc('month', sale_date)::date as month,
        sum(line_amount) as revenue,
        sum(quantity) as quantity,
        count(*) as sales_count
    from {{ ref('fct_sales') }}
    group by 1
)

select *
from monthly
full outer join facts using (month)
where monthly.revenue is distinct from facts.revenue
   or monthly.quantity is distinct from facts.quantity
   or monthly.sales_count is distinct from facts.sales_count

{%- else %}

select 1 as skipped where false

{%- endif %}
