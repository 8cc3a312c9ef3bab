-- salesflow schema, version 12: replays, the quarantine judged again under another contract.
-- Applied by `salesflow` itself (see src/load/migrate.rs); never run by hand.
--
-- `salesflow replay LOAD_ID...` re-judges the rows that loads quarantined, with the header their
-- file had (version 10) and the current contract. A replay is a load of its own in the ledger:
-- its rows in raw.sales carry its load id, so that dbt's incremental build takes them in like
-- those of any other load. A sale's version says which file it represents (its origin), so that
-- a replay never replaces what a later file said about the same sale.
--
-- Every column added to an existing table is nullable or has a constant default: adding it
-- changes only the catalog, no table rewrite.

-- The ledger: what kind of load a row is, which loads a replay re-judged, and a sixth outcome.
alter table salesflow.loads
    add column kind text not null default 'file' check (kind in ('file', 'replay')),
    add column replays bigint[],
    add column rows_superseded bigint not null default 0,
    add constraint loads_replays_only_for_replays
        check ((kind = 'replay') = (replays is not null));

comment on column salesflow.loads.kind is
    'file: a file''s load (salesflow ingest); replay: quarantined rows of earlier loads judged '
    'again (salesflow replay), with source_path naming them, file_sha256 empty and file_bytes 0.';
comment on column salesflow.loads.replays is
    'The loads whose quarantined rows a replay judged again; NULL for a file''s load.';
comment on column salesflow.loads.rows_superseded is
    'Rows of a replay that now pass but lose to a later file''s word on the same sale; always 0 '
    'for a file''s load. rows_read = rows_loaded + rows_updated + rows_unchanged + '
    'rows_duplicate + rows_superseded + rows_rejected.';

-- Which file a version of a sale represents. NULL: the file of the load that wrote it
-- (load_id, source_line), as for every file's load. A replay writes the replayed load here and
-- the row's line of that load's file in source_line.
alter table raw.sales add column origin_load_id bigint;

comment on column raw.sales.origin_load_id is
    'The load whose file this version comes from, when a replay (load_id) wrote it; NULL when '
    'it is the file of load_id itself. source_line is a line of that file.';

-- The word on a sale that stands: the load whose file last said something usable about it, and
-- on which line. NULL: load_id and the stored version's source_line. A later file that sends
-- the sale again unchanged moves it forward without writing a version.
alter table raw.sale_keys
    add column origin_load_id bigint,
    add column origin_line bigint;

comment on column raw.sale_keys.origin_load_id is
    'The load whose file last gave the stored content (written or confirmed unchanged); NULL: '
    'load_id. A replay of an older load never replaces it.';
comment on column raw.sale_keys.origin_line is
    'The line of that file; NULL: the stored version''s source_line.';

-- The outcome of every row a replay judged, keyed by the replay, the replayed load and the row's
-- line in that load's file. A row that passes leaves the quarantine (raw.sales_rejects) and is
-- kept here with its text and the reasons it had been quarantined for; a row that fails again
-- stays in the quarantine with its reasons judged again.
create table raw.sales_replays (
    replay_load_id bigint      not null,
    load_id        bigint      not null,
    source_line    bigint      not null,
    sale_id        bigint,
    outcome        text        not null
                   check (outcome in ('loaded', 'updated', 'unchanged', 'duplicate',
                                      'superseded', 'rejected')),
    reasons_before text[]      not null,
    reasons        text[]      not null default '{}',
    raw_record     text        not null,
    replayed_at    timestamptz not null default now(),
    primary key (replay_load_id, load_id, source_line)
);
create index sales_replays_load_id_idx on raw.sales_replays (load_id, source_line);

comment on table raw.sales_replays is
    'One row per quarantined row a replay judged again: the replay (replay_load_id), the load '
    'that quarantined it and its line in that file, what became of it, the reasons it had '
    'before and, when it failed again, the reasons it has now.';
comment on column raw.sales_replays.outcome is
    'loaded, updated, unchanged (now a sale, merged as the file would have merged it); '
    'duplicate (a later line of the same file has the last word on the sale); superseded (a '
    'later file''s word on the sale stands); rejected (still quarantined).';

-- The least-privilege roles, where they are set up already: the table belongs to the loader,
-- like the rest of raw (migration 9 hands over what exists when it runs later), and the
-- transformer reads it.
do $$
begin
    if exists (select from pg_roles where rolname = 'salesflow_loader')
       and exists (select from pg_roles where rolname = 'salesflow_transformer')
       and pg_has_role(current_user, 'salesflow_loader', 'member') then
        alter table raw.sales_replays owner to salesflow_loader;
        grant select on raw.sales_replays to salesflow_transformer;
    end if;
end
$$;
