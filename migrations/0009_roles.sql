-- salesflow schema, version 9: least-privilege group roles.
-- Applied by `salesflow` itself (see src/load/migrate.rs); never run by hand. The migration
-- runs only where the migrating user may create the roles (superuser or CREATEROLE) or they
-- exist already and it is a member of each; elsewhere salesflow says what an administrator
-- must run, and applies it on its next start after that.
--
-- Three NOLOGIN roles, which administrators grant to login users (README, "Connecting to a
-- production database"). Roles belong to the server, not to one database: the roles are
-- created once, and the grants below are made in each warehouse database.
--   salesflow_loader       ingest, accept, status: owns the raw layer (attaching a month's
--                          partition needs ownership of raw.sales) and writes the ledger.
--   salesflow_transformer  dbt build: reads raw and the ledger, owns staging and marts.
--   salesflow_reader       dashboards and analysts: reads the marts, nothing else.
-- salesflow and dbt take their role with SET ROLE, so that what they create belongs to the
-- group role, not to whichever member created it.
do $$
declare
    role record;
begin
    for role in
        select * from (values
            ('salesflow_loader',
             'salesflow ingest, accept, status: owns the raw layer, writes the load ledger'),
            ('salesflow_transformer',
             'dbt build: reads raw and the ledger, owns the staging and marts schemas'),
            ('salesflow_reader', 'reads the marts only')
        ) as roles (name, description)
    loop
        if not exists (select from pg_roles where rolname = role.name) then
            begin
                execute format('create role %I nologin', role.name);
                execute format('comment on role %I is %L', role.name, role.description);
            exception when duplicate_object or unique_violation then
                null;  -- the migration of another database on this server made it meanwhile
            end;
        end if;
        -- Handing objects over to a role needs membership in it (a superuser has it already).
        if not pg_has_role(current_user, role.name, 'member') then
            execute format('grant %I to %I', role.name, current_user);
        end if;
    end loop;
end
$$;

-- Each layer's schema and what is in it go to the role that writes it: raw to the loader (it
-- creates the new month partitions, so they are its too); staging and marts to the
-- transformer, created here so that it owns them without the right to create schemas in the
-- database (relations dbt built before the roles existed are handed over).
create schema if not exists staging;
create schema if not exists marts;
alter schema raw owner to salesflow_loader;
alter schema staging owner to salesflow_transformer;
alter schema marts owner to salesflow_transformer;
do $$
declare
    relation record;
begin
    for relation in
        select c.oid::regclass as name,
               case c.relkind when 'v' then 'view' when 'm' then 'materialized view'
                              else 'table' end as kind,
               pg_get_userbyid(n.nspowner) as owner
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('raw', 'staging', 'marts') and c.relkind in ('r', 'p', 'v', 'm')
    loop
        execute format('alter %s %s owner to %I', relation.kind, relation.name, relation.owner);
    end loop;
end
$$;

-- The transformer reads raw, including the partitions the loader creates later.
grant usage on schema raw to salesflow_transformer;
grant select on all tables in schema raw to salesflow_transformer;
alter default privileges for role salesflow_loader in schema raw
    grant select on tables to salesflow_transformer;

-- The ledger stays with the schema's owner (the migrating user): the loader writes it (loads,
-- acceptances, publications, contracts), but not the schema's bookkeeping; the transformer
-- reads it (dbt's load window, stg_loads).
grant usage on schema salesflow to salesflow_loader, salesflow_transformer;
grant select on all tables in schema salesflow to salesflow_loader, salesflow_transformer;
grant insert, update on all tables in schema salesflow to salesflow_loader;
revoke insert, update on salesflow.schema_migrations from salesflow_loader;
grant usage on all sequences in schema salesflow to salesflow_loader;

-- The reader reads the marts, including those dbt builds later.
grant usage on schema marts to salesflow_reader;
grant select on all tables in schema marts to salesflow_reader;
alter default privileges for role salesflow_transformer in schema marts
    grant select on tables to salesflow_reader;
