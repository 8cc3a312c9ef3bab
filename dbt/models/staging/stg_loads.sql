-- The load ledger: one row per attempt to load one file, with its outcome counts.
select
    load_id,
    source_path,
    file_sha256,
    file_bytes,
    status,
    rows_read,
    rows_loaded,
    rows_updated,
    rows_unchanged,
    rows_duplicate,
    rows_rejected,
    rows_superseded,
    kind,
    started_at,
    finished_at,
    finished_at - started_at as duration,
    error,
    failure
from {{ source('salesflow', 'loads') }}
