{#- sales_monthly before the product names: (month, product_key, channel, currency) with
    quantity, revenue and sales. Adds this build's change set to its previous state;
    recomputes from fct_sales on a full build or when its state does not match the fact's.
    README, "The incremental fact". -#}
{{ config(pre_hook="set local parallel_tuple_cost = 0.01") }}
-- depends_on: {{ ref('int_sales_batch') }}
-- depends_on: {{ ref('int_sales_changes') }}
{%- set currency = "coalesce(currency, '" ~ var('feed_currency') ~ "')" -%}
{%- set prev = load_relation(this) -%}
{%- set additive = false -%}
{#- A previous state without currencies predates them: recompute. -#}
{%- if execute and prev is not none and not flags.FULL_REFRESH
      and 'currency' in adapter.get_columns_in_relation(prev) | map(attribute='name') | list -%}
    {%- set check -%}
        select
            b.batch_mode = 'incremental'
            and (select max(fct_version) from {{ prev }}) is not distinct from b.fct_version_before
            and (
                (select max(dbt_updated_at) from {{ ref('fct_sales') }}) = b.batch_started_at
                or (
                    (select max(dbt_updated_at) from {{ ref('fct_sales') }}) is not distinct from b.fct_version_before
                    and not exists (select 1 from {{ ref('int_sales_changes') }})
                )
            )
        from {{ ref('int_sales_batch') }} as b
    {%- endset -%}
    {%- set additive = run_query(check).columns[0].values()[0] -%}
{%- endif -%}
{%- if execute -%}
    {{ log('int_sales_monthly_cells: ' ~ ('adding the change set' if additive else 'recomputing from fct_sales'), info=false) }}
{%- endif %}

{%- if additive %}

with changes as (
    select
        date_trunc('month', sale_date)::date as month,
        product_key,
        channel,
        {{ currency }} as currency,
        case when change_kind = 'insert' then 1 else -1 end as sign,
        quantity,
        line_amount
    from {{ ref('int_sales_changes') }}
),

combined as (
    select month, product_key, channel, currency, quantity::bigint, revenue, sales_count
    from {{ prev }}

    union all

    select
        month,
        product_key,
        channel,
        currency,
        sum(sign * quantity)::bigint,
        sum(sign * line_amount),
        sum(sign)::bigint
    from changes
    group by month, product_key, channel, currency
)

select
    month,
    product_key,
    channel,
    currency,
    sum(quantity)::bigint as quantity,
    sum(revenue)::numeric(18, 2) as revenue,
    sum(sales_count)::bigint as sales_count,
    (select max(dbt_updated_at) from {{ ref('fct_sales') }}) as fct_version
from combined
group by month, product_key, channel, currency
having sum(sales_count) <> 0

{%- else %}

select
    date_trunc('month', facts.sale_date)::date as month,
    facts.product_key,
    facts.channel,
    coalesce(facts.currency, '{{ var('feed_currency') }}') as currency,
    sum(facts.quantity)::bigint as quantity,
    sum(facts.line_amount)::numeric(18, 2) as revenue,
    count(*)::bigint as sales_count,
    (select max(latest.dbt_updated_at) from {{ ref('fct_sales') }} as latest) as fct_version
from {{ ref('fct_sales') }} as facts
group by 1, 2, 3, 4

{%- endif %}
