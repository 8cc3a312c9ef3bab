-- salesflow schema, version 10: which contract judged each load, and the file's header.
-- Applied by `salesflow` itself (see src/load/migrate.rs); never run by hand.
--
-- After a contract changes, two loads of the same feed can come out differently: the ledger
-- says which rules judged which load. Each distinct contract text is kept once, by its
-- SHA-256; a load keeps the hash, and the header its file had, so that its quarantined rows
-- can be judged again later under another contract.
create table salesflow.contracts (
    sha256        text        primary key,
    name          text        not null,
    text          text        not null,
    first_used_at timestamptz not null default now()
);

comment on table salesflow.contracts is
    'Every contract text that judged a load, kept once: its SHA-256, its name and the TOML.';

alter table salesflow.loads
    add column contract_sha256 text references salesflow.contracts (sha256),
    add column header text[];

comment on column salesflow.loads.contract_sha256 is
    'The contract that judged the load (salesflow.contracts); NULL for loads before version 10.';
comment on column salesflow.loads.header is
    'The fields of the file''s header line, as read (NULL when the file had none it could read).';

-- The least-privilege roles, where they are set up already (migration 9 grants the same when
-- it runs later).
do $$
begin
    if exists (select from pg_roles where rolname = 'salesflow_loader')
       and exists (select from pg_roles where rolname = 'salesflow_transformer') then
        grant select, insert on salesflow.contracts to salesflow_loader;
        grant select on salesflow.contracts to salesflow_transformer;
    end if;
end
$$;
