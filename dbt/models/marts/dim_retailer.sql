{#- Retailers, SCD type 2 in business time (macros/scd2_versions.sql), plus the unknown member
    (retailer_key -1) for sales without a retailer id. Online retailers have no location:
    that is their complete form. README, "SCD2 in business time". -#}
{{ config(
    indexes=[
        {'columns': ['retailer_key'], 'unique': True},
        {'columns': ['retailer_id', 'valid_from']},
    ]
) }}

with days as (
    {{ salesflow.scd2_evidence('retailer', 'retailer_id', ['retailer_name', 'channel', 'location'],
                               'sale_date is not null and channel is not null') }}
),

versions as (
    {{ salesflow.scd2_versions(
        'select retailer_id, retailer_name, channel, location, sale_date, sales, rejects from days',
        'retailer_id', ['retailer_name', 'channel', 'location'], 'retailer_key',
        complete="retailer_name is not null and channel is not null
                  and (location is not null or channel = 'Online')") }}
)

select
    retailer_key,
    retailer_id,
    retailer_name,
    channel,
    location,
    valid_from,
    valid_to,
    is_current,
    version_number::integer as version_number
from versions

union all

select
    -1 as retailer_key,
    null::bigint as retailer_id,
    'Unknown retailer' as retailer_name,
    'Unknown' as channel,
    null::text as location,
    {{ salesflow.start_of_time() }} as valid_from,
    {{ salesflow.end_of_time() }} as valid_to,
    true as is_current,
    1 as version_number
