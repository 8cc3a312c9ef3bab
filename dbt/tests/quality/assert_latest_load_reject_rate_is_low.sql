{#- Warns when the latest succeeded load rejected more than var('reject_rate_warn_threshold')
    of the rows it read (default 5%): the feed may have changed shape. A warning, not an
    error: the rejected rows are quarantined in raw.sales_rejects, the rest is good. -#}
{{ config(severity='warn') }}

select loads.load_id, loads.source_path, loads.rows_read, loads.rows_rejected, loads.reject_rate
from {{ ref('stg_loads') }} as loads
where loads.load_id = (
    select max(succeeded.load_id) from {{ ref('stg_loads') }} as succeeded
    where succeeded.status = 'succeeded'
)
  and loads.reject_rate > {{ var('reject_rate_warn_threshold') }}
