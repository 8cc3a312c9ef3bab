-- salesflow schema, version 1.
-- Applied by `salesflow` itself (see src/load/migrate.rs); never run by hand.

create schema if not exists salesflow;
create schema if not exists raw;

-- The ledger: one row per attempt to load one file.
create table salesflow.loads (
    load_id        bigint generated always as identity primary key,
    source_path    text        not null,
    file_sha256    text        not null,
    file_bytes     bigint      not null,
    status         text        not null
                   check (status in ('running', 'succeeded', 'failed', 'skipped')),
    rows_read      bigint      not null default 0,
    rows_loaded    bigint      not null default 0,
    rows_updated   bigint      not null default 0,
    rows_unchanged bigint      not null default 0,
    rows_duplicate bigint      not null default 0,
    rows_rejected  bigint      not null default 0,
    started_at     timestamptz not null default now(),
    finished_at    timestamptz,
    error          text
);
-- "Has this exact file been loaded already?" is asked before every load.
create index loads_succeeded_sha256_idx on salesflow.loads (file_sha256) where status = 'succeeded';

-- Typed, deduplicated sales; one partition per month of sale_date, created by the loader.
create table raw.sales (
    sale_id       bigint        not null,
    product_id    bigint,
    product_name  text,
    brand         text,
    category      text,
    retailer_id   bigint,
    retailer_name text,
    channel       text          not null,
    location      text,
    quantity      integer       not null,
    price         numeric(12,2) not null,  -- the line amount (unit price x quantity)
    currency      text,
    sale_date     date          not null,
    dq_flags      text[]        not null default '{}',
    load_id       bigint        not null,  -- salesflow.loads.load_id of the load that wrote this version
    source_line   bigint        not null,
    row_hash      bigint        not null,  -- content hash of the business columns, for change detection
    loaded_at     timestamptz   not null default now(),
    primary key (sale_id, sale_date)
) partition by range (sale_date);

create index sales_product_id_idx  on raw.sales (product_id);
create index sales_retailer_id_idx on raw.sales (retailer_id);
-- Rows are appended in load order, so a BRIN index serves "rows of loads after N"
-- (dbt's incremental selection) at almost no maintenance cost.
create index sales_load_id_brin    on raw.sales using brin (load_id);

-- sale_id must be unique across all partitions; PostgreSQL cannot enforce that on a
-- partitioned table, so the loader maintains this key table in the same transaction.
-- It also makes the merge's "is this sale new / changed?" lookup a single index probe.
create table raw.sale_keys (
    sale_id   bigint primary key,
    sale_date date   not null,
    row_hash  bigint not null,
    load_id   bigint not null
);

-- Quarantine: every row that could not become a sale, with why.
create table raw.sales_rejects (
    load_id     bigint      not null,
    source_line bigint      not null,
    raw_record  text        not null,
    reasons     text[]      not null,
    message     text        not null,
    rejected_at timestamptz not null default now()
);
create index sales_rejects_load_id_idx on raw.sales_rejects (load_id);
