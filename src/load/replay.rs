//! Replays (`salesflow replay`): the quarantined rows of earlier loads judged again under
//! another contract, and those that now pass merged as their file would have merged them.
//!
//! **Which word on a sale is newer.** Every version of a sale represents one line of one
//! file: its *origin*, (load id of the file's load, line). A file's load is the origin of
//! what it writes; a replay writes its own load id in `load_id` (so that dbt's incremental
//! build takes the rows in like any other load's) and the replayed load in `origin_load_id`,
//! with the row's line of that file in `source_line`. `raw.sale_keys` keeps the origin of the
//! word that stands on each sale, also when a later file sent the sale again unchanged (it
//! wrote nothing, but it said the same thing later). Origins compare by load id, then line:
//! a replayed row of load 3 loses to a word from load 5 (`superseded`) and to a later line
//! of load 3's own file (`duplicate`, as the file's load counted it), and beats a word from
//! load 2 (`updated`, or `unchanged` when the content is the same). A file's load is always
//! the newest word: it is never held back by a replay.
//!
//! Rows that pass (whatever their outcome) leave the quarantine and are kept in
//! `raw.sales_replays` with their outcome, text and former reasons; rows that fail again stay
//! in the quarantine with their reasons and fields judged again, and get a `rejected` outcome
//! row. A second replay under the same contract therefore finds only rows that fail again,
//! and changes nothing but its own ledger and outcome rows.
//!
//! This module knows nothing of CSV syntax: the caller's [`Rejudge`] turns a quarantined
//! record's text into a sale or a reject.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use chrono::NaiveDate;
use postgres::Transaction;

use super::copy::{self, RowKind, RowWriter};
use super::ledger::{Ledger, mark_abandoned};
use super::merge::{
    REJECT_FIELD_COLUMNS, SALES_COLUMNS, Step, existing_partitions, next_month, partition_name,
};
use super::{LoadError, Warehouse, lock};
use crate::contract::Contract;
use crate::report::Counts;

/// Judges quarantined records again: the part that knows the CSV syntax and the contract.
pub trait Rejudge {
    /// Reads the header a load's file had; the error says why the contract cannot.
    fn bind(&mut self, header: &[String]) -> Result<(), String>;
    /// Judges one record of the last header bound (its text as the quarantine kept it, and its
    /// line in the file) and encodes it into `rows`, as a sale or a reject.
    fn judge(&mut self, line: u64, raw_record: &str, rows: &mut RowWriter);
}

/// What to replay.
#[derive(Debug, Clone)]
pub struct ReplayRequest<'a> {
    /// The loads whose quarantined rows are judged again.
    pub loads: &'a [i64],
    /// The contract that judges them (`salesflow.loads.contract_sha256` of the replay).
    pub contract: &'a Contract,
    /// Do everything in a transaction that is rolled back; write no ledger row.
    pub dry_run: bool,
}

/// How a replay ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOutcome {
    /// The replay's own load id (None for a dry run).
    pub load_id: Option<i64>,
    /// The loads replayed, in load order, without repeats.
    pub loads: Vec<i64>,
    pub counts: Counts,
}

/// Quarantined rows are read and judged this many at a time.
const BATCH_ROWS: i32 = 10_000;

impl Warehouse {
    /// Replays the quarantine of `request.loads` under `request.contract`, in one transaction
    /// under the load lock, recorded in the ledger as a load of kind `replay`.
    pub fn replay(
        &mut self,
        request: &ReplayRequest<'_>,
        judge: &mut dyn Rejudge,
    ) -> Result<ReplayOutcome, LoadError> {
        let db = |context| move |source| LoadError::database(context, source);
        lock::take_loads(&mut self.client).map_err(db("waiting for the load lock"))?;
        let result = self.replay_locked(request, judge);
        let released = lock::release_loads(&mut self.client);
        let result = result?;
        released.map_err(db("releasing the load lock"))?;
        Ok(result)
    }

    fn replay_locked(
        &mut self,
        request: &ReplayRequest<'_>,
        judge: &mut dyn Rejudge,
    ) -> Result<ReplayOutcome, LoadError> {
        let db = |context| move |source| LoadError::database(context, source);
        mark_abandoned(&mut self.client)?;
        let loads: Vec<i64> = request
            .loads
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let headers = self.replayable_headers(&loads, judge)?;
        let load_id = if request.dry_run {
            None
        } else {
            Some(
                open_ledger(&mut self.client, request.contract, &loads)
                    .map_err(db("writing the load ledger"))?,
            )
        };
        let replayed = replay_rows(&mut self.client, load_id, &loads, &headers, judge);
        if let (Err(error), Some(load_id)) = (&replayed, load_id) {
            Ledger::record_error(&mut self.client, load_id, &error.to_string());
        }
        Ok(ReplayOutcome {
            load_id,
            loads,
            counts: replayed?,
        })
    }

    /// The header of each file's load in `loads`, after checking that each can be replayed and
    /// that the contract reads its header. A replay's own load id may be named: its rows were
    /// never quarantined under it, so it has nothing to replay.
    fn replayable_headers(
        &mut self,
        loads: &[i64],
        judge: &mut dyn Rejudge,
    ) -> Result<BTreeMap<i64, Vec<String>>, LoadError> {
        let rows = self
            .client
            .query(
                "select load_id, status, kind, header from salesflow.loads
                 where load_id = any($1)",
                &[&loads],
            )
            .map_err(|source| LoadError::database("reading the load ledger", source))?;
        let mut headers = BTreeMap::new();
        for &load_id in loads {
            let Some(row) = rows
                .iter()
                .find(|row| row.get::<_, i64>("load_id") == load_id)
            else {
                return Err(LoadError::NoSuchLoad { load_id });
            };
            let not_replayable = |why: String| LoadError::NotReplayable { load_id, why };
            let status: String = row.get("status");
            if status != "succeeded" {
                return Err(not_replayable(format!(
                    "it is {status}: nothing of it was written, its rejects included"
                )));
            }
            if row.get::<_, String>("kind") == "replay" {
                continue;
            }
            let Some(header) = row.get::<_, Option<Vec<String>>>("header") else {
                return Err(not_replayable(
                    "the ledger has no header for it (loaded before schema version 10): load \
                     its file again instead (ingest --force)"
                        .into(),
                ));
            };
            judge.bind(&header).map_err(|why| {
                not_replayable(format!("the contract cannot read its file's header: {why}"))
            })?;
            headers.insert(load_id, header);
        }
        Ok(headers)
    }
}

/// Records the replay in the ledger, running, with the contract that judges it.
fn open_ledger(
    client: &mut postgres::Client,
    contract: &Contract,
    loads: &[i64],
) -> Result<i64, postgres::Error> {
    client.execute(
        "insert into salesflow.contracts (sha256, name, text) values ($1, $2, $3)
         on conflict (sha256) do nothing",
        &[&contract.sha256, &contract.name, &contract.text],
    )?;
    let names: Vec<String> = loads.iter().map(ToString::to_string).collect();
    let source_path = format!(
        "replay of load{} {}",
        if loads.len() == 1 { "" } else { "s" },
        names.join(", ")
    );
    Ok(client
        .query_one(
            "insert into salesflow.loads
               (source_path, file_sha256, file_bytes, status, contract_sha256, kind, replays)
             values ($1, '', 0, 'running', $2, 'replay', $3)
             returning load_id",
            &[&source_path, &contract.sha256, &loads],
        )?
        .get(0))
}

/// The replay's transaction: judge, classify, merge, record; committed with the ledger's
/// counts, or rolled back for a dry run (`load_id` None).
fn replay_rows(
    client: &mut postgres::Client,
    load_id: Option<i64>,
    loads: &[i64],
    headers: &BTreeMap<i64, Vec<String>>,
    judge: &mut dyn Rejudge,
) -> Result<Counts, LoadError> {
    let db = |context| move |source| LoadError::database(context, source);
    let mut transaction = client
        .transaction()
        .map_err(db("starting the transaction"))?;
    // Rows of a dry run carry load id 0, which no real load has; they are rolled back.
    let replay_id = load_id.unwrap_or(0);
    transaction
        .batch_execute(&format!(
            "create temp table replay_sales (like raw.sales including defaults) on commit drop;
             alter table replay_sales alter column load_id set default {replay_id};
             create temp table replay_rejects on commit drop as
               select load_id, {reject_columns} from raw.sales_rejects with no data;",
            reject_columns = copy::REJECT_COLUMNS,
        ))
        .map_err(db("creating the replay's tables"))?;
    let read = judge_quarantine(&mut transaction, loads, headers, judge)?;
    let counts = merge_replayed(&mut transaction, replay_id, read)?;
    debug_assert!(counts.is_balanced());
    match load_id {
        Some(load_id) => {
            Ledger::finish(&mut transaction, load_id, &counts, None)
                .map_err(db("writing the load ledger"))?;
            transaction.commit().map_err(db("committing the replay"))?;
        }
        None => transaction
            .rollback()
            .map_err(db("rolling back the dry run"))?,
    }
    Ok(counts)
}

/// Reads the loads' quarantined rows in batches, judges each again and stages the results:
/// sales in `replay_sales`, rejects in `replay_rejects`. Returns how many rows it read.
fn judge_quarantine(
    transaction: &mut Transaction<'_>,
    loads: &[i64],
    headers: &BTreeMap<i64, Vec<String>>,
    judge: &mut dyn Rejudge,
) -> Result<u64, LoadError> {
    let db = |context| move |source| LoadError::database(context, source);
    let file_loads: Vec<i64> = headers.keys().copied().collect();
    debug_assert!(file_loads.iter().all(|load| loads.contains(load)));
    let portal = transaction
        .bind(
            "select load_id, source_line, raw_record from raw.sales_rejects
             where load_id = any($1) order by load_id, source_line",
            &[&file_loads],
        )
        .map_err(db("reading the quarantine"))?;
    let mut rows = RowWriter::default();
    let mut sales: Vec<u8> = Vec::new();
    let mut rejects: Vec<u8> = Vec::new();
    let mut bound: Option<i64> = None;
    let mut read = 0;
    loop {
        let batch = transaction
            .query_portal(&portal, BATCH_ROWS)
            .map_err(db("reading the quarantine"))?;
        if batch.is_empty() {
            break;
        }
        sales.clear();
        rejects.clear();
        for row in &batch {
            let origin: i64 = row.get("load_id");
            if bound != Some(origin) {
                // Checked before the transaction: every replayed load's header binds.
                judge
                    .bind(&headers[&origin])
                    .map_err(|why| LoadError::NotReplayable {
                        load_id: origin,
                        why,
                    })?;
                bound = Some(origin);
            }
            let line: i64 = row.get("source_line");
            judge.judge(line as u64, row.get("raw_record"), &mut rows);
            read += 1;
            let (kind, encoded) = rows.row();
            let buffer = match kind {
                RowKind::Sale { .. } => &mut sales,
                RowKind::Reject => &mut rejects,
            };
            buffer.extend_from_slice(itoa::Buffer::new().format(origin).as_bytes());
            buffer.push(b'\t');
            buffer.extend_from_slice(encoded);
        }
        for (table, columns, data) in [
            (
                "replay_sales",
                format!("origin_load_id, {}", copy::LANDING_COLUMNS),
                &sales,
            ),
            (
                "replay_rejects",
                format!("load_id, {}", copy::REJECT_COLUMNS),
                &rejects,
            ),
        ] {
            if data.is_empty() {
                continue;
            }
            let mut writer = transaction
                .copy_in(&format!("copy {table} ({columns}) from stdin"))
                .map_err(db("starting COPY of replayed rows"))?;
            writer.write_all(data).map_err(LoadError::Copy)?;
            writer
                .finish()
                .map_err(db("finishing COPY of replayed rows"))?;
        }
    }
    Ok(read)
}

/// Classifies the rows that now pass against the newest word on their sales, merges the
/// winners into `raw.sales` and `raw.sale_keys`, records every row's outcome and updates the
/// quarantine. Returns the counts.
fn merge_replayed(
    transaction: &mut Transaction<'_>,
    replay_id: i64,
    read: u64,
) -> Result<Counts, LoadError> {
    let mut step = Step { transaction };
    // Each passing row against (1) later lines of its own file in this replay, passing or
    // failing again with a sale id, (2) rows of later loads passing in this replay, (3) the
    // word that stands on its sale: origin (load, line) of raw.sale_keys, NULL meaning the
    // load that wrote the stored version and that version's line.
    step.run(
        "classifying replayed rows",
        "create temp table replay_judged on commit drop as
         with ranked as (
             select s.*,
                    exists (select 1 from replay_sales l
                            where l.sale_id = s.sale_id and l.origin_load_id = s.origin_load_id
                              and l.source_line > s.source_line)
                    or exists (select 1 from replay_rejects r
                               where r.sale_id = s.sale_id and r.load_id = s.origin_load_id
                                 and r.source_line > s.source_line) as later_in_file,
                    exists (select 1 from replay_sales l
                            where l.sale_id = s.sale_id
                              and l.origin_load_id > s.origin_load_id) as later_load_replayed,
                    k.sale_date as old_sale_date, k.row_hash as old_row_hash,
                    coalesce(k.origin_load_id, k.load_id) as old_origin,
                    coalesce(k.origin_line, old.source_line) as old_line
             from replay_sales s
             left join raw.sale_keys k on k.sale_id = s.sale_id
             left join raw.sales old on old.sale_id = k.sale_id and old.sale_date = k.sale_date
         )
         select *,
                case
                    when later_in_file then 'duplicate'
                    when later_load_replayed then 'superseded'
                    when old_row_hash is null then 'loaded'
                    when (old_origin, old_line) > (origin_load_id, source_line) then
                        case when old_origin = origin_load_id then 'duplicate'
                             else 'superseded' end
                    when old_row_hash = row_hash then 'unchanged'
                    else 'updated'
                end as outcome
         from ranked",
        &[],
    )?;
    let counted = step.query_one(
        "counting the outcomes",
        "select count(*) filter (where outcome = 'loaded') as loaded,
                count(*) filter (where outcome = 'updated') as updated,
                count(*) filter (where outcome = 'unchanged') as unchanged,
                count(*) filter (where outcome = 'duplicate') as duplicate,
                count(*) filter (where outcome = 'superseded') as superseded,
                (select count(*) from replay_rejects) as rejected
         from replay_judged",
        &[],
    )?;
    let count = |column| counted.get::<_, i64>(column) as u64;
    let counts = Counts {
        read,
        loaded: count("loaded"),
        updated: count("updated"),
        unchanged: count("unchanged"),
        duplicate: count("duplicate"),
        superseded: count("superseded"),
        rejected: count("rejected"),
    };

    if counts.loaded + counts.updated > 0 {
        create_missing_partitions(&mut step)?;
    }
    if counts.updated > 0 {
        step.run(
            "removing the old versions of updated sales",
            "delete from raw.sales s using replay_judged j
             where j.outcome = 'updated' and s.sale_id = j.sale_id and s.sale_date = j.old_sale_date",
            &[],
        )?;
        step.run(
            "updating sale keys",
            "update raw.sale_keys k
             set sale_date = j.sale_date, row_hash = j.row_hash, load_id = j.load_id,
                 origin_load_id = j.origin_load_id, origin_line = j.source_line
             from replay_judged j
             where k.sale_id = j.sale_id and j.outcome = 'updated'",
            &[],
        )?;
    }
    if counts.loaded + counts.updated > 0 {
        step.run(
            "inserting new and updated sales",
            &format!(
                "insert into raw.sales ({SALES_COLUMNS}, origin_load_id)
                 select {SALES_COLUMNS}, origin_load_id from replay_judged
                 where outcome in ('loaded', 'updated')"
            ),
            &[],
        )?;
    }
    if counts.loaded > 0 {
        step.run(
            "inserting sale keys",
            "insert into raw.sale_keys
               (sale_id, sale_date, row_hash, load_id, origin_load_id, origin_line)
             select sale_id, sale_date, row_hash, load_id, origin_load_id, source_line
             from replay_judged where outcome = 'loaded'",
            &[],
        )?;
    }
    if counts.unchanged > 0 {
        step.run(
            "recording the newest word on unchanged sales",
            "update raw.sale_keys k
             set origin_load_id = j.origin_load_id, origin_line = j.source_line
             from replay_judged j
             where k.sale_id = j.sale_id and j.outcome = 'unchanged'",
            &[],
        )?;
    }
    step.run(
        "recording the outcomes",
        &format!(
            "insert into raw.sales_replays
               (replay_load_id, load_id, source_line, sale_id, outcome, reasons_before, reasons,
                raw_record)
             select {replay_id}, q.load_id, q.source_line, o.sale_id, o.outcome, q.reasons,
                    o.reasons, q.raw_record
             from (select origin_load_id as load_id, source_line, sale_id, outcome,
                          '{{}}'::text[] as reasons
                   from replay_judged
                   union all
                   select load_id, source_line, sale_id, 'rejected', reasons
                   from replay_rejects) o
             join raw.sales_rejects q on q.load_id = o.load_id and q.source_line = o.source_line"
        ),
        &[],
    )?;
    step.run(
        "taking passing rows out of the quarantine",
        "delete from raw.sales_rejects q using replay_judged j
         where q.load_id = j.origin_load_id and q.source_line = j.source_line",
        &[],
    )?;
    let fields: Vec<&str> = REJECT_FIELD_COLUMNS.split(", ").collect();
    let assignments: Vec<String> = fields.iter().map(|c| format!("{c} = r.{c}")).collect();
    let old: Vec<String> = fields.iter().map(|c| format!("q.{c}")).collect();
    let new: Vec<String> = fields.iter().map(|c| format!("r.{c}")).collect();
    step.run(
        "judging the quarantine again",
        &format!(
            "update raw.sales_rejects q
             set reasons = r.reasons, message = r.message, {assignments}
             from replay_rejects r
             where q.load_id = r.load_id and q.source_line = r.source_line
               and (q.reasons, q.message, {old}) is distinct from (r.reasons, r.message, {new})",
            assignments = assignments.join(", "),
            old = old.join(", "),
            new = new.join(", "),
        ),
        &[],
    )?;
    Ok(counts)
}

/// Creates the partitions of `raw.sales` that the months of the rows to insert lack.
fn create_missing_partitions(step: &mut Step<'_, '_>) -> Result<(), LoadError> {
    let db = |context| move |source| LoadError::database(context, source);
    let existing = existing_partitions(step)?;
    let months: Vec<NaiveDate> = step
        .transaction
        .query(
            "select distinct date_trunc('month', sale_date)::date::text from replay_judged
             where outcome in ('loaded', 'updated')",
            &[],
        )
        .map_err(db("listing the replay's months"))?
        .iter()
        .filter_map(|row| NaiveDate::parse_from_str(row.get(0), "%Y-%m-%d").ok())
        .collect();
    for month in months {
        let partition = partition_name(month);
        if existing.contains(&partition) {
            continue;
        }
        step.batch(
            "creating a month's partition",
            &format!(
                "create table {partition} partition of raw.sales
                   for values from ('{month}') to ('{next}')",
                next = next_month(month)
            ),
        )?;
    }
    Ok(())
}
