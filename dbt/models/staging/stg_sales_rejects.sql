-- Rows of the feed that the loader quarantined, one per rejected input row.
select
    load_id,
    source_line,
    raw_record,
    reasons,
    message,
    rejected_at
from {{ source('raw', 'sales_rejects') }}
