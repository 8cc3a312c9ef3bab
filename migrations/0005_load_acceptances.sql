-- salesflow schema, version 5: operators' acceptances of loads over the quality threshold.
-- Applied by `salesflow` itself (see src/load/migrate.rs); never run by hand.
--
-- The orchestrator's quality gate holds back every load that rejected more than its threshold
-- of rows. Someone who has looked at the quarantine and decided the load is fine to publish
-- records it here with `salesflow accept LOAD_ID --reason ...`: the gate then publishes that
-- load, and only that one, without raising the threshold for the others. Who and why stay
-- beside the ledger row.
create table salesflow.load_acceptances (
    load_id     bigint      primary key references salesflow.loads (load_id),
    accepted_at timestamptz not null default now(),
    accepted_by text        not null,
    reason      text        not null check (reason <> '')
);

comment on table salesflow.load_acceptances is
    'Loads over the quality gate''s reject threshold that an operator accepted for publication.';
comment on column salesflow.load_acceptances.accepted_by is
    'Who accepted: --by of salesflow accept, else the database role.';
comment on column salesflow.load_acceptances.reason is
    'Why the load may be published despite its rejects.';
