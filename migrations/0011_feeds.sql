-- salesflow schema, version 11: the feed a load came from.
-- Applied by `salesflow` itself (see src/load/migrate.rs); never run by hand.
--
-- Several vendors share one landing directory, each in a folder of its own judged by its own
-- contract (`salesflow ingest --feed NAME`; the DAG names the feed after the folder). The feed
-- says where a load's file came from, next to the contract that judged it.
alter table salesflow.loads add column feed text;

comment on column salesflow.loads.feed is
    'The feed the file came from (ingest --feed: the landing folder the DAG found it in); NULL when none was named.';
