-- salesflow schema, version 8: acceptances can be revoked, and stay on record when they are.
-- Applied by `salesflow` itself (see src/load/migrate.rs); never run by hand.
--
-- An operator who accepted the wrong load, or learns that the vendor's explanation was wrong,
-- must be able to take the acceptance back before the quality gate publishes the load
-- (`salesflow accept LOAD_ID --revoke --reason ...`). Deleting the row would erase who accepted
-- it and why; a revoked acceptance keeps its row with who revoked it, when and why, and the
-- load may be accepted again later (a new row). At most one acceptance of a load stands (is
-- not revoked). A published load's acceptance cannot be revoked: the publication would stay.
alter table salesflow.load_acceptances
    drop constraint load_acceptances_pkey,
    add column acceptance_id bigint generated always as identity primary key,
    add column revoked_at    timestamptz,
    add column revoked_by    text,
    add column revoke_reason text,
    add constraint load_acceptances_revocation_is_complete check (
        (revoked_at is null and revoked_by is null and revoke_reason is null)
        or (revoked_at is not null and revoked_by is not null and revoke_reason <> '')
    );

create unique index load_acceptances_standing_idx
    on salesflow.load_acceptances (load_id) where revoked_at is null;

comment on table salesflow.load_acceptances is
    'Loads over the quality gate''s reject threshold that an operator accepted for publication, '
    'with revoked acceptances kept on record. At most one acceptance of a load stands.';
comment on column salesflow.load_acceptances.revoked_at is
    'When the acceptance was revoked (salesflow accept --revoke); NULL while it stands.';
comment on column salesflow.load_acceptances.revoked_by is
    'Who revoked it: --by of salesflow accept --revoke, else the database role.';
comment on column salesflow.load_acceptances.revoke_reason is
    'Why the acceptance was revoked.';
