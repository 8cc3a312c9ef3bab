-- salesflow schema, version 6: the modification time of each loaded file.
-- Applied by `salesflow` itself (see src/load/migrate.rs); never run by hand.
--
-- Files stay in the landing directory after they are loaded, and the orchestrator looks at
-- all of them on every run. Hashing every byte of every file each time grows with the
-- directory. With the time the file was last modified when its load began, a file whose
-- path, size and modification time match a succeeded load need not be hashed again: the
-- quick check of rsync and make. Any write to the file changes its modification time.
-- NULL for loads recorded before this version (those files are hashed as before).
alter table salesflow.loads add column file_modified_at timestamptz;

comment on column salesflow.loads.file_modified_at is
    'Modification time of the file when its load began (microseconds; NULL before schema version 6).';
