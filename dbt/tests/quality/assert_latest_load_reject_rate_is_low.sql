{#- Warns when the latest succeeded load rejected more than var('reject_rate_warn_threshold')
    of the rows it read (default 5%): the feed may have changed shape. A warning, not an
    error: the rejected rows are quarantined in raw.sales_rejects, the rest is good. -#}
{{ config(severity='warn') }}

select load_id, source_path, rows_read, rows_rejected, reject_rate
from {{ ref('stg_loads') }}
where load_id = (select max(load_id) from {{ ref('stg_loads') }} where status = 'succeeded')
  and reject_rate > {{ var('reject_rate_warn_threshold') }}
