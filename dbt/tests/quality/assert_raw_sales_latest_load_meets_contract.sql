{#- The raw layer keeps the loader's contract (contracts/, DESIGN "Data quality policy"), checked
    in one pass over the rows of the latest succeeded load (every row with var
    test_scope=all): a sale id and date, quantity > 0, price (the line amount) >= 0, channel
    Online or Offline, lineage to a succeeded load of the ledger. Returns the offending rows
    with what is wrong. -#}
{%- set latest = salesflow.latest_succeeded_load() %}

with checked as (
    select
        s.sale_id,
        s.load_id,
        s.source_line,
        array_remove(array[
            case when s.sale_id is null then 'sale_id:missing' end,
            case when s.sale_date is null then 'sale_date:missing' end,
            case when not s.quantity > 0 then 'quantity:not_positive' end,
            case when not s.price >= 0 then 'price:negative' end,
            case when s.channel is null or s.channel not in ('Online', 'Offline') then 'channel:unknown' end,
            case when l.load_id is null then 'load_id:not_a_succeeded_load' end
        ], null) as problems
    from {{ source('raw', 'sales') }} as s
    left join {{ source('salesflow', 'loads') }} as l
        on l.load_id = s.load_id and l.status = 'succeeded'
    {%- if var('test_scope', 'batch') != 'all' %}
    where s.load_id = {{ latest if latest is not none else 'null' }}
    {%- endif %}
)

select * from checked where cardinality(problems) > 0
