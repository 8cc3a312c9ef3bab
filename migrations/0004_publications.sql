-- salesflow schema, version 4: the marts publications of the orchestrator.
-- Applied by `salesflow` itself (see src/load/migrate.rs); never run by hand.
--
-- The Airflow DAG's quality gate judges every succeeded load after the last one published, not
-- only the loads of its own run: a load that failed the gate (or that a run never saw, after a
-- timeout, a retry or a failed file) must not reach the published marts with the next run
-- unjudged. The watermark lives here, beside the ledger it refers to, rather than in Airflow's
-- metadata: a new or rebuilt warehouse starts with no publication, whatever Airflow remembers.
create table salesflow.publications (
    publication_id  bigint generated always as identity primary key,
    through_load_id bigint      not null,
    published_at    timestamptz not null default now(),
    published_by    text        not null
);

comment on table salesflow.publications is
    'One row per publication of the marts by the orchestrator: every succeeded load up to '
    'through_load_id was judged by the quality gate and published.';
comment on column salesflow.publications.through_load_id is
    'The highest load id the publication covers; the next quality gate judges the loads after it.';
comment on column salesflow.publications.published_by is
    'Who published, e.g. the Airflow DAG run id.';
