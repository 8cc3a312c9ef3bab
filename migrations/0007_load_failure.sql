-- salesflow schema, version 7: why a failed load failed, as a class a program can act on.
-- Applied by `salesflow` itself (see src/load/migrate.rs); never run by hand.
--
-- A failed load's `error` is written for people. The orchestrator needs to know whether
-- loading the same bytes again can succeed: a file that is not a sales feed, or that was
-- rolled back over the per-file reject limit, fails the same way every time; a read error,
-- a lost connection or a killed loader may not. Without the class, every run re-reads such
-- a file and adds another failed row to the ledger.
--   invalid_file          not a sales feed: empty, without the contract's columns, or a
--                         corrupt or truncated gzip
--   reject_rate_exceeded  rolled back: more rejects than --max-reject-rate allowed (the
--                         row counts of the attempt are kept)
--   error                 anything else (I/O, the database, a loader that died): may pass
--                         when retried
-- NULL for loads that did not fail, and for failures recorded before this version.
alter table salesflow.loads
    add column failure text
        check (failure in ('invalid_file', 'reject_rate_exceeded', 'error')),
    add constraint loads_failure_only_when_failed
        check (failure is null or status = 'failed');

comment on column salesflow.loads.failure is
    'Class of a failed load: invalid_file or reject_rate_exceeded (the same bytes fail again), error (a retry may pass); NULL otherwise and before schema version 7.';

-- "Did these bytes fail for good last time?" is asked for every new file the orchestrator sees.
create index loads_failed_sha256_idx on salesflow.loads (file_sha256) where status = 'failed';
